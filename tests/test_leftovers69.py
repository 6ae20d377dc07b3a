"""Session 69: items earlier sessions left as found, closed (each test failed on the code as found, ddcabe7)."""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import pytest
import torch

from swapnas.data import load_batch
from swapnas.proxies import get_proxy
from swapnas.proxies.code import NetworkCodeWarning, ProxyCodeWarning
from swapnas.scoring import Protocol
from swapnas.session import score_archs
from swapnas.store import ScoreStore

from .message_tools import refusal
from .test_review59_mutants import _failed
from .test_session59 import _ShortOfMemory, ok_record


class _Pool(_ShortOfMemory):
    """The fake executor as a pool of ``workers`` processes (what PoolExecutor records)."""

    def __init__(self, records, workers: int) -> None:  # type: ignore[no-untyped-def]
        super().__init__(records)
        self.workers = workers


@pytest.mark.parametrize("workers", [None, 1, 2])
def test_the_out_of_memory_warning_advises_fewer_workers_only_where_there_are_several(
        workers: int | None, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The warning advised "or with fewer --workers" at --workers 1 (no pool) too, where no fewer can be given."""
    records = {"a": _failed("MemoryError: could not allocate"), "b": ok_record}
    executor = _ShortOfMemory(records) if workers is None else _Pool(records, workers)
    protocol = Protocol("nb201", "cifar10", 2, repeats=1, seed=0, net={"C": 4, "N": 1})
    batch = load_batch("cifar10", 2, inputs="synthetic", seed=0)
    with ScoreStore(tmp_path / "s.sqlite") as store, caplog.at_level("WARNING", logger="swapnas"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyCodeWarning)
        warnings.simplefilter("ignore", NetworkCodeWarning)
        score_archs(["a", "b"], "nb201", [get_proxy("params")], protocol, batch, store, torch.device("cpu"),
                    progress=False, executor=executor)
    said = caplog.text
    assert "1 score(s) ran out of memory (MemoryError: could not allocate): they count as failed" in said
    assert said.rstrip().endswith("or batch (--batch-size)" + (", or with fewer --workers" if workers == 2 else ""))


def test_synthetic_inputs_say_describe_in_the_number_of_the_options_named() -> None:
    """"--mean, --std describe(s) real images": the verb now agrees with the options named."""
    assert "--mean, --std describe real images and would be ignored" in refusal(
        ValueError, lambda: load_batch("cifar10", 2, inputs="synthetic", mean=(0.5,) * 3, std=(0.2,) * 3))
    assert "--std describes real images and would be ignored" in refusal(
        ValueError, lambda: load_batch("cifar10", 2, inputs="synthetic", std=(0.2,) * 3))


@pytest.mark.parametrize(("space", "network", "named"), [
    ("nb301", "darts", "C, layers, auxiliary, stem, drop_path_prob, affine_ops, reductions, pool_bn"),
    ("nb101", "nb101", "C, stacks, cells"),
    ("transnas_micro", "transnas_micro", "C, resolution"),  # (its task is --dataset's: the review)
])
def test_cells_outside_nb201_names_the_keys_of_the_network_to_set(space: str, network: str, named: str) -> None:
    """"--cells is an nb201 shortcut; for nb301 set the network with --net" named no key to set."""
    from swapnas.cli import commands
    from swapnas.spaces import get_space, net_options

    args = argparse.Namespace(net={}, channels=None, cells=3, space=space)
    said = refusal(ValueError, lambda: commands._net_overrides(args))
    keys = net_options(get_space(network))
    assert ", ".join(keys) == named  # (the mutation run: the list was read from net_options alone)
    assert said == (f"--cells is an nb201 shortcut; for {space} set the network with --net KEY=VALUE (the {network} "
                    f"network's keys: {', '.join(keys)})")


def test_other_code_is_read_only_where_something_was_reused(tmp_path: Path) -> None:
    """The three callers' own "anything reused?" tests are one argument: 0 reused records nothing, even where the
    store records other code; any count, or none given, reads the store."""
    from swapnas.code_changes import other_code

    with ScoreStore(tmp_path / "s.sqlite") as store:
        store.accept_code("params@1", "0" * 16)
        params = [get_proxy("params")]
        assert other_code(store, params, "nb201", "1", reused=0) == {}
        assert list(other_code(store, params, "nb201", "1", reused=1)) == ["params@1"]
        assert other_code(store, params, "nb201", "1") == other_code(store, params, "nb201", "1", reused=3)


def _result(fitness: str, mu: float | None, sigma: float | None):  # type: ignore[no-untyped-def]
    from swapnas.search.result import SearchResult

    best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    return SearchResult(space="nb201", dataset="cifar10", best=best, fitness=1.0, params_m=1.5, macs_m=220.0,
                        evaluations=2, cycles=1, wall_seconds=1.0, seed=0, config={}, protocol={}, mu=mu, sigma=sigma,
                        size_mapping=None, constraints={"max_params_m": None, "max_macs_m": None},
                        history=[{"evaluation": 1, "cycle": 0, "arch": best, "fitness": 1.0}],
                        snapshots=[{"evaluations": 1, "cycle": 0, "best": 1.0, "population_mean": 1.0,
                                    "population_min": 1.0}], fitness_proxy=fitness)


@pytest.mark.parametrize(("fitness", "mu", "label", "title"), [
    ("swap_prog@1", 800.0, "fitness: swap_prog − (Θ − μ)²/σ",
     "; size prior mu=800 sigma=250, Θ in thousands of params"),
    ("te_nas_ntk@1", None, "fitness: te_nas_ntk negated (lower is better)", ""),
    ("nwot@1", None, "fitness: nwot", ""),
    ("swap_reg@1", 800.0, "fitness: swap_reg", ""),  # its prior is the metric's own: its name says it
])
def test_the_search_curve_label_names_the_size_prior_the_fitness_adds(
        fitness: str, mu: float | None, label: str, title: str, tmp_path: Path) -> None:
    """A fitness with --mu/--sigma (or --target-params) is the metric plus ln f(Θ) = −(Θ−μ)²/σ; the curve's y label
    said the metric alone, so a reader took the drawn values for the metric's (its μ and σ go in the title: the
    review, the label with them was cut at both ends of the PNG)."""
    import matplotlib.pyplot as plt

    from swapnas import report
    from swapnas.search.driver import fitness_label, write_result

    result = _result(fitness, mu, None if mu is None else 250.0)
    assert fitness_label(result) == (label, title)
    drawn: list[tuple[str, str]] = []
    real = report.search_curve

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        drawn.append((args[4], args[3]))
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as m:
        m.setattr("swapnas.search.driver.search_curve", spy)
        write_result(result, tmp_path)
    plt.close("all")
    assert drawn == [(label, f"nb201/cifar10 seed 0{title}")]
