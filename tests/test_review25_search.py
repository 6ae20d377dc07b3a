"""Session-25 review of the search internals and the metrics: each test fails on the code before its fix
(docs/reliability.md)."""

from __future__ import annotations

import logging
import math
import random

import pytest
import torch
from torch import nn

from swapnas.cli import main
from swapnas.data import Batch
from swapnas.proxies import get_proxy
from swapnas.search.driver import SearchResult, stage_text
from swapnas.search.final import check_max_params, check_target_params, exact_m, final_size
from swapnas.search.fitness import Fitness, refine_stage
from swapnas.spaces import darts, nb201
from swapnas.store import Record

SMALL = ["--population", "4", "--sample", "1", "--mutations", "2", "--cycles", "0", "--net", "C=4", "--refine", "0",
         "--fitness", "swap", "--no-progress", "--device", "cpu"]


def test_darts_imagenet_size_range_is_exact_and_checked_before_out(tmp_path, small_bundle, capsys) -> None:
    """Before: the ImageNet final network's range was a sample of 100 archs (3.109-5.524M, narrower than the real
    one), checked only inside the search after OUT and its store were made; --max-params was not checked at all."""
    from swapnas.search.final import final_range

    final = darts.FINAL_NETS["imagenet"]
    lo, hi = final_range(darts, final)
    assert (lo, hi) == (final_size(darts, darts.smallest_arch(), final), final_size(darts, darts.largest_arch(), final))
    sizes = [final_size(darts, darts.sample(random.Random(s)), final) for s in range(20)]
    assert lo < min(sizes) and max(sizes) < hi and lo < 3.0
    check_target_params(darts, final, 3.0)  # in the real range: accepted
    with pytest.raises(ValueError, match=rf"--max-params 2M is below the smallest final network .*\({exact_m(lo)}M"):
        check_max_params(darts, final, 2.0)
    out = tmp_path / "d"
    assert main(["search", "--space", "darts", "--dataset", "imagenet", "--target-params", "1.0M", "--out", str(out),
                 "--data-dir", str(small_bundle), *SMALL, "--fitness", "swap_reg"]) == 2  # (a size prior: 69)
    err = capsys.readouterr().err
    assert f"--target-params 1.0M is outside this space's range: {exact_m(lo)}-{exact_m(hi)}M" in err
    assert not out.exists()


def test_a_target_above_the_size_limit_is_refused() -> None:
    """Before: accepted; the size prior then aimed every arch at a size the constraint forbids (fitness ~1e-8)."""
    with pytest.raises(ValueError, match=r"--target-params 1\.2M is above --max-params 0\.5M: no feasible arch"):
        check_target_params(nb201, nb201.FINAL_NETS["cifar10"], 1.2, 0.5)


def test_failed_second_stage_rescores_are_said(caplog) -> None:
    """Before: the first stage's best failing its re-score was dropped without a word."""
    history = [{"arch": str(nb201.sample(random.Random(s))), "fitness": float(10 - s)} for s in range(5)]
    fit = Fitness(proxy=get_proxy("swap"), mod=nb201, net={"C": 4, "N": 1}, num_classes=10)

    def score(archs: list) -> list[Record]:  # the fittest fails (say, out of memory on the larger network)
        return [Record("failed", None, None, [], None, None, "OOM") if i == 0 else
                Record("ok", float(i), 0.0, [float(i)], 0.1, None, None) for i in range(len(archs))]

    with caplog.at_level(logging.WARNING):
        shortlist, top = refine_stage(history, nb201, 3, score, fit)
    assert "1 of the 3 second-stage re-scores failed: those archs rank last" in caplog.text
    assert math.isnan(shortlist[0]["refined"]) and top is not None
    result = SearchResult("nb201", "cifar10", shortlist[2]["arch"], 2.0, 1.0, 1.0, 5, 0, 1.0, 0, {}, {}, None, None,
                          None, {}, [], [], refine={"k": 3, "repeats": 1, "batch_size": 20, "net": {"C": 16, "N": 5},
                                                    "shortlist": shortlist})
    assert (f"returned the arch the first stage ranked #3 (first-stage fitness {shortlist[2]['fitness']:.4g}; the "
            f"first stage's best {shortlist[0]['fitness']:.4g}): the fitness shown is its second-stage value (1 of "
            "the re-scores failed: they rank last)") in stage_text(result)


def test_sample_one_says_crossover_does_nothing(tmp_path, small_bundle, caplog) -> None:
    """Before: --sample 1 silently turned --crossover off (the two runs' histories were equal)."""
    with caplog.at_level(logging.WARNING):
        assert main(["search", "--space", "nb201", "--dataset", "cifar10", "--data-dir", str(small_bundle),
                     "--out", str(tmp_path / "s"), *SMALL]) == 0
    assert "--sample 1: a crossover takes the best two of the tournament, so --crossover 0.5 does nothing" in caplog.text


def test_the_printout_says_a_target_was_missed_and_a_budget_stopped_the_search() -> None:
    from swapnas.cli.search_command import _search_text

    mapping = {"slope_k_per_M": 1.0, "intercept_k": 0.0, "r2": 0.67, "n": 100, "final_range_m": [0.1, 1.5],
               "target_m": 0.5, "tolerance": 0.1, "seconds": 1.0}
    result = SearchResult("nb201", "cifar10", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 2.0, 0.559, 1.0, 8,
                          1, 1.0, 0, {"cycles": 40}, {}, 1.0, 1.0, mapping, {}, [], [])
    text = _search_text(result)
    assert "the final network's 0.559 M params miss --target-params 0.5M by more than --tolerance 0.1" in text
    assert "stopped after cycle 1 of 40 by --max-evals / --max-seconds: rerun the same command" in text
    result.params_m, result.cycles = 0.52, 40
    assert "miss --target-params" not in _search_text(result) and "stopped after" not in _search_text(result)


class _NaNs(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * float("nan")


@pytest.mark.parametrize("name", ["nwot", "te_nas_lr"])
def test_relu_code_metrics_refuse_nan_activations(name) -> None:
    """Before: NaN > 0 read every NaN unit as off, and nwot / te_nas_lr stored a finite "ok" score (36.66, 8.0)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), _NaNs(), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    batch = Batch(torch.randn(8, 3, 8, 8), torch.arange(8) % 10, 10, "user", "user", 8, "")
    with pytest.raises(ValueError, match=r"an nn\.ReLU output holds \d+ NaN value\(s\): the activations overflowed"):
        get_proxy(name).fn(model, batch)


def test_a_derived_proxy_needs_what_its_bases_need() -> None:
    """Before: lswag and lswag_ext said needs_grad=False, needs_labels=False, though lswag_grad needs both."""
    for name in ("lswag", "lswag_ext"):
        p = get_proxy(name)
        assert p.needs_grad and p.needs_labels and p.base is not None
