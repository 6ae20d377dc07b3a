"""What mutation testing of ``swapnas.patterns`` found untested (session 29,
``bash scripts/mutation_check.sh patterns``).

The error raised when no hooked activation fired was only checked for a few phrases, so most of its wording could
change unnoticed: the separators of the names it lists (which break the code it tells the user to run), the
singular/plural, which sentence each kind of model gets, and the ``input_dims`` test behind the advice
(``{2, 3, 4} <= dims`` mutated to ``{3, 3, 4}``). Here the whole message is compared for one model of each kind, and
every call the message suggests is run; so is the message for a map without the samples on dim 0. Where tensors
are made (``pack_patterns``' shifts, the presence table and its weights) ``device=None`` survived, and so did a table
for 19 samples at most or none at all (the packed path counts the same): on the meta device nothing may land on the
CPU, and the table is used up to 20 samples exactly.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Any, cast

import pytest
import torch
from torch import nn

import swapnas
from swapnas.patterns import SATURATION, _DistinctPatterns, _warn_if_saturated, pack_patterns, saturation_once

FUNCTIONS = ("Activations called as functions (F.relu, torch.relu, F.gelu, …) are hooked with functions=True "
             "(the proxy swap_fn)")
FUNCTIONS_NARROW = FUNCTIONS + ", with input_dims=(2, 3, 4) for linear and token maps."
NOTHING = "SWAP has no activation to count{}: score it with a proxy that needs none (params, grad_norm, synflow, …)."
RNN = " (an nn.LSTM/GRU/RNN computes its gates inside its kernel, where no hook reaches)"


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every model's init and every input here is drawn after this seed: Ψ is the same on every run and order."""
    torch.manual_seed(0)


def _head(dims: str, found: str, functions: bool = False, hooked: str = "ReLU") -> str:
    kind = "module or function" if functions else "module"
    return f"no hooked activation fired: the model called no {hooked} {kind} with a {dims}-D input; {found}."


def _x4() -> torch.Tensor:
    return torch.randn(8, 3, 6, 6, generator=torch.Generator().manual_seed(0))


def _cases() -> dict[str, tuple[nn.Module, torch.Tensor, dict[str, Any], str]]:
    """name: (model, inputs, swap_score keywords, the whole message)."""
    return {
        "signed and positive": (
            nn.Sequential(nn.Conv2d(3, 4, 3), nn.PReLU(), nn.Tanh(), nn.Sigmoid(), nn.Softplus(), nn.Hardsigmoid()),
            _x4(), {},
            " ".join([_head("4", "it has Hardsigmoid, PReLU, Sigmoid, Softplus, Tanh module(s)"),
                      "PReLU, Tanh are not hooked by default: count the sign patterns with swapnas.swap_score("
                      "model, x, activations=(nn.PReLU, nn.Tanh,), input_dims=(2, 3, 4)).",
                      "Hardsigmoid, Sigmoid, Softplus give a positive output for every input: no sign pattern to "
                      "count.", FUNCTIONS_NARROW])),
        "one signed": (
            nn.Sequential(nn.Conv2d(3, 4, 3), nn.Tanh()), _x4(), {},
            " ".join([_head("4", "it has Tanh module(s)"),
                      "Tanh is not hooked by default: count the sign patterns with swapnas.swap_score(model, x, "
                      "activations=(nn.Tanh,), input_dims=(2, 3, 4)).", FUNCTIONS_NARROW])),
        "one positive": (
            nn.Sequential(nn.Conv2d(3, 4, 3), nn.Softplus()), _x4(), {},
            " ".join([_head("4", "it has Softplus module(s)"),
                      "Softplus gives a positive output for every input: no sign pattern to count.",
                      FUNCTIONS_NARROW])),
        "extended": (
            nn.Sequential(nn.Conv2d(3, 4, 3), nn.GELU()), _x4(), {},
            " ".join([_head("4", "it has GELU module(s)"),
                      "Pass activations= (e.g. swapnas.EXTENDED_ACTIVATIONS) or input_dims=(2, 3, 4) to hook others.",
                      FUNCTIONS_NARROW])),
        "ReLU on a linear map, 3/4-D hooked": (
            nn.Sequential(nn.Flatten(), nn.Linear(108, 256), nn.ReLU()), _x4(), {"input_dims": (3, 4)},
            " ".join([_head("3/4", "it has ReLU module(s)"), "Pass input_dims=(2, 3, 4) to hook others.",
                      FUNCTIONS_NARROW])),
        "ReLU on a token map, 2/4-D hooked": (
            nn.Sequential(nn.Linear(6, 64), nn.ReLU()), torch.randn(8, 4, 6), {"input_dims": (2, 4)},
            " ".join([_head("2/4", "it has ReLU module(s)"), "Pass input_dims=(2, 3, 4) to hook others.",
                      FUNCTIONS_NARROW])),
        "ReLU on a 5-D map": (
            nn.Sequential(nn.Conv3d(1, 2, 3), nn.ReLU()), torch.randn(8, 1, 5, 5, 5), {"input_dims": (2, 3, 4)},
            " ".join([_head("2/3/4", "it has ReLU module(s)"),
                      "The proxies hook 2-, 3- and 4-D maps only; for other ranks (5-D Conv3d maps) call "
                      "swapnas.swap_score(model, x, input_dims=(5,)).", FUNCTIONS + "."])),
        "no activation, functions hooked": (
            nn.Sequential(nn.Flatten(), nn.Linear(108, 3)), _x4(), {"functions": True, "input_dims": (2, 3, 4)},
            " ".join([_head("2/3/4", "it has no activation module at all", functions=True), NOTHING.format("")])),
        "two kinds hooked, none present": (
            nn.Sequential(nn.Flatten(), nn.Linear(108, 3)), _x4(),
            {"activations": (nn.ReLU, nn.GELU), "input_dims": (2, 3, 4)},
            " ".join([_head("2/3/4", "it has no activation module at all", hooked="ReLU, GELU"), FUNCTIONS + ".",
                      "Without them, " + NOTHING.format("")])),
        "an LSTM": (
            nn.LSTM(4, 8, batch_first=True), torch.randn(8, 5, 4), {},
            " ".join([_head("4", "it has no activation module at all"), FUNCTIONS_NARROW,
                      "Without them, " + NOTHING.format(RNN)])),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_no_activation_message_whole(name: str) -> None:
    model, x, kwargs, expected = _cases()[name]
    with pytest.raises(swapnas.NoActivationError) as info:
        swapnas.swap_score(model, x, **kwargs)
    assert str(info.value) == expected


@pytest.mark.parametrize("name", ["signed and positive", "one signed", "ReLU on a 5-D map"])
def test_the_call_the_message_suggests_runs(name: str) -> None:
    model, x, kwargs, expected = _cases()[name]
    found = re.search(r"swapnas\.swap_score\(model, x, (.*?\))\)", expected)
    assert found is not None
    score = eval(f"swapnas.swap_score(model, x, {found.group(1)})",  # noqa: S307 (the message's own advice)
                 {"swapnas": swapnas, "nn": nn, "model": model, "x": x})
    assert score > 1


@pytest.mark.parametrize(("name", "fix"), [
    ("extended", {"activations": swapnas.EXTENDED_ACTIVATIONS}),
    ("ReLU on a linear map, 3/4-D hooked", {"input_dims": (2, 3, 4)}),
    ("ReLU on a token map, 2/4-D hooked", {"input_dims": (2, 3, 4)}),
])
def test_the_settings_the_message_names_work(name: str, fix: dict[str, Any]) -> None:
    model, x, kwargs, _ = _cases()[name]
    assert swapnas.swap_score(model, x, **{**kwargs, **fix}) > 1


@pytest.mark.parametrize("samples", [5, 8, 9, 16, 20, 33, 64, 70])
def test_pack_patterns_stays_on_the_input_device(samples: int) -> None:
    packed = pack_patterns(torch.empty(samples, 7, 3, device="meta"))
    words = {8: torch.uint8, 16: torch.int16, 32: torch.int32}
    expected = next((dt for bits, dt in words.items() if samples <= bits), torch.int64)
    assert packed.device.type == "meta"
    assert packed.dtype == expected
    assert packed.shape == (21, 1 if samples <= 64 else -(-samples // 64))


class _SamplesMovedOffDim0(nn.Module):
    """Moves the samples to dim 1 before its ReLU: the hooked map holds L rows on dim 0."""

    def __init__(self) -> None:
        super().__init__()
        self.linear, self.relu = nn.Linear(6, 8), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.linear(x).transpose(0, 1))


def test_a_map_without_the_samples_on_dim_0_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError) as info:
        swapnas.swap_score(_SamplesMovedOffDim0(), torch.randn(4, 5, 6), input_dims=(2, 3, 4))
    assert str(info.value) == (
        "a hooked map holds 5 rows on dim 0 and the inputs S = 4 samples: SWAP reads dim 0 of every map as the "
        "samples (or k·S tiles). Likely a batch_first=False module (PyTorch's default for nn.TransformerEncoderLayer, "
        "nn.MultiheadAttention, nn.LSTM/GRU/RNN) or samples folded into another dim: build such modules with "
        "batch_first=True and pass the inputs with the samples on dim 0, (S, L, …); to keep batch_first=False, pass "
        "(S, L, …) and transpose to (L, S, …) inside the model, before them (a model that is itself such a module, "
        "e.g. nn.TransformerEncoder(layer), goes in a wrapper module that transposes)")


@pytest.mark.parametrize(("samples", "table"), [(8, True), (20, True), (21, False), (24, False)])
def test_the_presence_table_up_to_20_samples_on_the_maps_device(samples: int, table: bool) -> None:
    """Up to TABLE_MAX_SAMPLES = 20 samples the patterns are marked in a 2**S boolean table (1 MiB at 20) made on
    the maps' device, beyond it packed rows are kept there: on the meta device nothing may land on the CPU."""
    counter = _DistinctPatterns(samples)
    counter.add(torch.empty(samples, 4, 5, 5, device="meta"))
    counter.add(torch.empty(samples, 3, device="meta"))
    assert counter.neurons == 103
    if table:
        assert counter.seen is not None and counter.weights is not None and counter.buffer is not None
        assert (counter.seen.device.type, counter.seen.dtype, counter.seen.shape) == ("meta", torch.bool, (2**samples,))
        assert (counter.weights.device.type, counter.buffer.device.type) == ("meta", "meta")
        assert counter.rows == []
    else:
        assert counter.seen is None
        assert [(r.device.type, r.shape[0]) for r in counter.rows] == [("meta", 100), ("meta", 3)]


class _TilesMidway(nn.Module):
    """Folds channel pairs into dim 0 after its first ReLU: its two ReLUs see 4 and 8 rows."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.first, self.second = nn.Conv2d(3, 4, 3), nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.first(self.conv(x))
        return self.second(y.reshape(-1, 2, *y.shape[2:]))


def test_maps_that_disagree_on_the_samples_are_refused_with_the_route() -> None:
    with pytest.raises(ValueError) as info:
        swapnas.swap_score(_TilesMidway(), _x4()[:4])
    assert str(info.value) == (
        "hooked activations disagree on the number of samples (dim 0): 4 and 8; SWAP needs one S-bit pattern per "
        "neuron, so every hooked map must hold the same samples. A model that moves patches, windows or tokens into "
        "dim 0 (MobileViT's patches, a mixture of experts' routed tokens) can be scored on the maps that keep the "
        "samples there, e.g. its conv maps alone: swap_score(model, x, activations=..., input_dims=(4,))")
    # (session 60: a mixture of experts named; the HF audit's Qwen2-MoE got advice written for MobileViT alone)


@pytest.mark.parametrize(("kwargs", "got"), [
    ({"activations": nn.ReLU}, "activations=<class 'torch.nn.modules.activation.ReLU'>, input_dims=(4,)"),
    ({"input_dims": 4}, "activations=(<class 'torch.nn.modules.activation.ReLU'>,), input_dims=4"),
])
def test_one_type_or_one_rank_is_refused_with_the_collection_to_pass(kwargs: dict[str, Any], got: str) -> None:
    with pytest.raises(TypeError) as info:
        swapnas.swap_score(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), _x4(), **kwargs)
    assert str(info.value) == ("activations and input_dims take collections: e.g. activations=(nn.ReLU,), "
                               f"input_dims=(4,) (got {got})")


class _ReluTwice(nn.Module):
    """Applies its ReLU twice to one unchanged map (as the three edges leaving one NB201 node do)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.relu = nn.Conv2d(3, 4, 3), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.relu(y) + self.relu(y)


def test_a_map_taken_twice_counts_its_neurons_once() -> None:
    """Ψ is the same either way, but the saturation ceiling min(2**S, neurons) counts the 64 neurons once: taken
    twice (skip_repeats off), Ψ = 64 would read as half of 128 and go unwarned."""
    x = torch.randn(16, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    with pytest.warns(swapnas.SaturationWarning) as caught:
        assert swapnas.swap_score(_ReluTwice(), x) == 64
    assert "ceiling min(2**S, neurons) = 64 (S = 16 samples, 64 hooked neurons)" in str(caught[0].message)


class _NanInside(nn.Module):
    """Returns a dict whose NaN map sits inside a list."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.relu = nn.Conv2d(3, 4, 3), nn.ReLU()

    def forward(self, x: torch.Tensor) -> dict[str, Any]:
        y = self.relu(self.conv(x))
        return {"maps": [y * float("nan")], "y": y}


def test_a_nan_nested_in_the_output_is_refused() -> None:
    with pytest.raises(ValueError) as info:
        swapnas.swap_score(_NanInside(), _x4()[:4])
    assert str(info.value) == (
        "the model's output holds NaN: its activations overflow at this init (a very deep network without "
        "normalisation?), and a NaN map has no sign pattern; use another init or add normalisation")


def _saturation_message(count: int, samples: int, neurons: int) -> str | None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _warn_if_saturated(count, samples, neurons)
    assert all(w.category is swapnas.SaturationWarning for w in caught) and len(caught) <= 1
    return str(caught[0].message) if caught else None


@pytest.mark.parametrize(("count", "samples", "neurons", "advice"), [
    (16, 4, 1024, "use more samples (S = 10, where 2**S meets the 1024 hooked neurons) or a smaller scored network"),
    (62, 8, 64, "nearly every hooked neuron has a pattern of its own, so Ψ only counts neurons; use fewer samples "
                "(S = 6, where 2**S meets the 64 hooked neurons; more samples only raise Ψ towards the neuron count, "
                "and a smaller scored network only lowers that count)"),
    (250, 8, 256, "2**S already meets the neuron count: use a smaller scored network or other inputs"),
])
def test_the_saturation_warning_whole(count: int, samples: int, neurons: int, advice: str) -> None:
    ceiling = min(2**samples, neurons)
    assert _saturation_message(count, samples, neurons) == (
        f"SWAP-Score {count} is {count / ceiling:.0%} of its ceiling min(2**S, neurons) = {ceiling} (S = {samples} "
        f"samples, {neurons} hooked neurons): it cannot rank such networks; {advice}")


def test_saturation_starts_at_95_percent_of_the_ceiling() -> None:
    assert SATURATION == 0.95
    assert _saturation_message(19, 8, 20) is not None   # 19 = 0.95 · 20 exactly
    assert _saturation_message(18, 8, 20) is None


def test_saturation_once_shows_each_proxys_first_warning_with_its_note() -> None:
    shown: set[str] = set()
    with saturation_once("swap", shown, note="first of many"):
        first = _saturation_message(16, 4, 1024)
        assert _saturation_message(16, 4, 1024) is None
    assert shown == {"swap"}
    assert first is not None and first.endswith("or a smaller scored network [first of many]")
    with saturation_once("swap_reg", shown):
        other = _saturation_message(16, 4, 1024)
    assert shown == {"swap", "swap_reg"}
    assert other is not None and other.endswith(" [the first for 'swap_reg' of this protocol in this process; later "
                                                "ones are not shown (a correlate or grid report's SATURATED line "
                                                "counts the archs at the 2**S ceiling; a search's report does not)]")
    with saturation_once("swap", shown):
        assert _saturation_message(16, 4, 1024) is None
    with saturation_once("swap_ext", shown, extra="; and more"):
        extended = _saturation_message(16, 4, 1024)
    assert extended is not None and extended.endswith("ceiling; a search's report does not); and more]")
    with saturation_once("swap_fn", shown, note="mine", extra="; and more"):
        assert str(_saturation_message(16, 4, 1024)).endswith(" [mine; and more]")


@pytest.mark.filterwarnings("ignore:`torch.jit.trace:DeprecationWarning")
def test_a_traced_model_and_a_non_module_are_refused_by_name() -> None:
    traced = torch.jit.trace(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), _x4(), check_trace=False)
    with pytest.raises(TypeError) as info:
        swapnas.swap_score(traced, _x4())
    assert str(info.value) == (
        "swap_score cannot score a TorchScript module (TopLevelTracedModule, from torch.jit.script or "
        "torch.jit.trace): its activations are compiled calls that no hook sees, and its weights cannot be "
        "re-initialised; score the eager module before scripting it")
    with pytest.raises(TypeError) as info:
        swapnas.swap_score(cast(Any, "net"), _x4())
    assert str(info.value) == "swap_score takes a torch.nn.Module as model, got str"


@pytest.mark.skipif(bool(os.environ.get("MUTANT_UNDER_TEST")), reason="mutmut's trampolines add stack frames")
def test_the_saturation_warning_points_at_the_callers_line() -> None:
    with pytest.warns(swapnas.SaturationWarning) as caught:
        swapnas.swap_score(_ReluTwice(), torch.randn(16, 3, 6, 6))
    assert caught[0].filename == __file__


@pytest.mark.parametrize(("inputs", "got"), [
    ([1.0, 2.0], "list (of float)"),
    ((), "tuple (of nothing)"),
    ({"x": "a", "y": torch.zeros(2)}, "dict (of Tensor, str)"),
])
def test_inputs_that_are_not_tensors_are_refused_with_what_they_hold(inputs: Any, got: str) -> None:
    with pytest.raises(TypeError) as info:
        swapnas.swap_score(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), inputs)
    assert str(info.value) == ("swap_score takes a torch.Tensor of inputs (S samples on dim 0), or a tuple/dict of "
                               f"tensors, got {got}; convert it with torch.as_tensor(…, dtype=torch.float32)")


class _Scalars(nn.Module):
    """Takes a 1-D batch of S scalars and a second input of S rows."""

    def __init__(self) -> None:
        super().__init__()
        self.linear, self.relu = nn.Linear(2, 64), nn.ReLU()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.relu(self.linear(torch.stack([x, y.sum(1)], dim=1)))


def test_a_batch_of_scalars_is_scored_and_bad_batches_are_named() -> None:
    x, y = torch.randn(8), torch.randn(8, 3)
    assert swapnas.swap_score(_Scalars(), (x, y), input_dims=(2,)) > 1   # (S,) is S samples, not an empty batch
    cases = [((x, torch.zeros(0, 3)), "swap_score needs at least one sample in inputs (got an empty batch, shape "
                                      "(0, 3))"),
             ((torch.tensor(1.0), y), "swap_score needs at least one sample in inputs (got an empty batch, shape ())"),
             ((x, y[:5]), "swap_score: the input tensors disagree on the number of samples (dim 0): [8, 5]"),
             ((x, torch.where(y > 1, torch.inf, y).index_fill(0, torch.tensor([0]), torch.nan)),
              f"swap_score: inputs hold {int(((y > 1) | (torch.arange(8) == 0)[:, None]).sum())} non-finite "
              "value(s) (NaN/inf) of 24; clean or re-normalise the batch")]
    for inputs, message in cases:
        with pytest.raises(ValueError) as info:
            swapnas.swap_score(_Scalars(), inputs, input_dims=(2,))
        assert str(info.value) == message
