"""Session 69 audit of the public API's docstrings, claim by claim, against behaviour (each test failed on the code
as found, ddcabe7): the saturation advice where the neuron count binds, top_k_precision with a NaN score,
regularise's type, compare_spearman's checks, and docstrings that left out what their values and units are."""
from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import swapnas
from swapnas import SaturationWarning, swap_score


def _neuron_bound_warning(channels: int = 8, side: int = 8) -> str:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, channels, 3), nn.ReLU())  # swap_score's own example: N = 8·6·6 = 288
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        swap_score(net, torch.randn(16, 3, side, side))  # S = 16: 2**16 >> N, Ψ = the neuron count
    (w,) = [r for r in rec if issubclass(r.category, SaturationWarning)]
    return str(w.message)


def test_neuron_bound_saturation_advises_fewer_samples_and_not_a_smaller_network() -> None:
    """Ψ at N < 2**S: the warning advised "fewer samples … or a smaller scored network", but every smaller network
    stays at its own smaller ceiling (4, 2 and 1 channels warn too)."""
    for channels, side in ((4, 8), (2, 6), (1, 5)):
        assert "fewer samples" in _neuron_bound_warning(channels, side)
    message = _neuron_bound_warning()
    assert "use fewer samples (S = 8, where 2**S meets the 288 hooked neurons; " in message
    assert message.endswith("and a smaller scored network only lowers that count)")


def test_swap_scores_ceiling_paragraph_names_both_sides_of_the_ceiling() -> None:
    """It said "Use more samples (S = 32, 64 …) or a smaller scored network": its own example at S = 16 saturates at
    N = 288, where S = 32 or 64 or a smaller network still warns."""
    doc = " ".join((inspect.getdoc(swap_score) or "").split())
    ceiling = doc[doc.index("Ceiling:"):doc.index("Example")]
    assert "Where 2**S is the smaller" in ceiling and "Where N is the smaller" in ceiling
    assert "use fewer samples, near S = log2(N)" in ceiling


def test_top_k_precision_leaves_out_a_nan_score_as_correlate_does() -> None:
    from swapnas.stats import top_k_precision

    assert top_k_precision([np.nan, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0], 0.5) == 0.5  # was 0.0
    assert top_k_precision([2.0, 1.0, 0.0], [1.0, 2.0, 3.0], 0.5) == 0.5  # the same archs without it
    assert top_k_precision([1.0, 2.0, 3.0], [1.0, np.inf, 3.0], 1 / 3) == 1.0
    with pytest.raises(ValueError, match="at least one arch whose score and truth are both finite"):
        top_k_precision([np.nan], [1.0], 0.5)
    with pytest.raises(TypeError, match="score must be numbers"):
        top_k_precision("abc", [1.0, 2.0, 3.0], 0.5)


def test_regularise_returns_a_python_float_for_a_numpy_score() -> None:
    value = swapnas.regularise(np.float32(3.0), nn.Linear(10, 100), mu=1.0, sigma=1.0)
    assert type(value) is float
    assert value == 3.0 * math.exp(-((1.1 - 1.0) ** 2) / 1.0)  # (1100 params = 1.1 k; float64, not float32)


def test_compare_spearman_refuses_what_is_no_numbers_naming_the_argument() -> None:
    for name, args in (("a", ("abc", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0])),
                       ("b", ([1.0, 2.0, 3.0], ["x"] * 3, [1.0, 2.0, 3.0])),
                       ("truth", ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], {"a": 1}))):
        with pytest.raises(TypeError, match=f"^{name} must be numbers, one per arch"):
            swapnas.compare_spearman(*args)


def test_batch_docstring_describes_token_batches_and_every_field() -> None:
    doc = inspect.getdoc(swapnas.Batch) or ""
    batch = swapnas.load_batch("cola", 2, resolution=8)
    assert tuple(batch.inputs.shape) == (2, 8) and not batch.inputs.is_floating_point()
    assert "token ids\n(S, L)" in doc or "token ids (S, L)" in doc.replace("\n", " ")
    for field in ("``source``", "``n_real``", "``note``", "``dataset``"):
        assert field in doc, field


def test_run_search_docstring_says_the_units_of_its_sizes() -> None:
    from swapnas.search import run_search

    doc = " ".join((inspect.getdoc(run_search) or "").split())
    assert "sizes in millions (``max_params``, ``target_params``: the final network's parameters; ``max_macs``: its " \
           "multiply-adds)" in doc
    assert "``mu``: thousands of the scored network's parameters, ``sigma``: thousands²" in doc


def test_correlate_and_compare_spearman_document_n_boot_and_seed() -> None:
    for fn in (swapnas.correlate, swapnas.compare_spearman):
        doc = inspect.getdoc(fn) or ""
        assert "``n_boot``" in doc and "``seed``" in doc, fn.__name__
    assert math.isnan(swapnas.correlate([1.0, 2.0, 3.0], [3.0, 1.0, 2.0], n_boot=0).spearman_ci[0])


def test_ray_executor_and_ea_config_document_every_argument() -> None:
    from swapnas.executors import RayExecutor
    from swapnas.search.evolution import EAConfig

    ray_doc = inspect.getdoc(RayExecutor) or ""
    for name in inspect.signature(RayExecutor.__init__).parameters:
        if name not in ("self", "address"):
            assert f"``{name}``" in ray_doc, name
    ea_doc = inspect.getdoc(EAConfig) or ""
    for name in ("population", "sample", "mutations", "cycles", "crossover"):
        assert f"``{name}``" in ea_doc, name
    with pytest.raises(ValueError, match="--sample K must be in 1..population=4"):
        EAConfig(population=4)  # what the docstring now says
