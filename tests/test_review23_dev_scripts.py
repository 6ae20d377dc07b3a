"""Review 23 of the scripts that chose the defaults on dev data (docs/generated/dev/): choose_fitness.py,
choose_stage2_net.py, simulated_picks.py, choose_scored_net.py. Golden values come from plain loops here."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from swapnas.benchmarks.nb201 import GroundTruth
from swapnas.benchmarks.nb301 import DartsSwapBenchmark, NB301Benchmark
from tests.script_tools import load_script, naive_spearman

#: the ground truth `swapnas correlate` writes for the NB201 dev run (CIFAR-10 validation accuracy, 200 epochs)
DEV_TRUTH = GroundTruth("cifar10").describe()


def _script(name: str):
    return load_script(name, "review23")


# --- choose_fitness.py: every candidate is judged on the same archs --------------------------------------------------

def test_choose_fitness_ranks_a_failed_score_last_instead_of_dropping_the_arch() -> None:
    """A component that fails on some dev archs was judged on the others only, so its candidates' ρ came from fewer
    (and different) archs than the rest: here b fails on the 10 best archs and is perfect elsewhere, so dropping the
    failures gave it ρ = 1 and made it the pick, though a search can never return a failed arch (fitness.py ranks
    only finite fitness). Failures now rank last, as in the search, for every candidate."""
    cf = _script("choose_fitness")
    rng = np.random.default_rng(3)
    acc = rng.permutation(40).astype(float)
    a = acc + rng.normal(0.0, 8.0, 40)
    b = np.where(acc >= 30, np.nan, acc)
    run = {"acc": acc, "scores": {"a": a, "b": b}}
    transform = {"a": "lin", "b": "lin"}
    want_b = naive_spearman([-math.inf if math.isnan(v) else float(v) for v in b], acc.tolist())
    want_a = naive_spearman(a.tolist(), acc.tolist())
    assert cf.worst([run], {"b": 1.0}, transform)[0] == pytest.approx(want_b, abs=1e-12)
    assert cf.worst([run], {"a": 1.0}, transform)[0] == pytest.approx(want_a, abs=1e-12)
    assert want_b < want_a  # so a, not the failing b, is the better fitness


def test_choose_fitness_log_of_zero_ranks_last_too() -> None:
    """ln 0 = −inf is the lowest fitness, not a dropped arch."""
    cf = _script("choose_fitness")
    acc = np.arange(20, dtype=float)
    v = np.arange(20, dtype=float) + 1.0
    v[[3, 15]] = 0.0
    run = {"acc": acc, "scores": {"v": v}}
    want = naive_spearman([math.log(x) if x > 0 else -math.inf for x in v], acc.tolist())
    assert cf.rho(run, cf.value(run, {"v": 1.0}, {"v": "log"})) == pytest.approx(want, abs=1e-12)


# --- choose_stage2_net.py: a cell with no kept draw cannot win -------------------------------------------------------

@pytest.mark.parametrize("nan_run", ["a", "b"])
def test_stage2_choice_ignores_a_candidate_without_kept_draws(nan_run: str) -> None:
    """A (candidate, K) whose draws were all left out on one dev set has mean NaN there. min() and max() over NaN
    depend on the order: with the NaN on the second set x won on the first set's gain alone; on the first set the NaN
    stuck as the maximum and nothing was chosen. A candidate must gain on every set, so such a cell never wins."""
    s2 = _script("choose_stage2_net")
    runs = [SimpleNamespace(name="a", acc=np.array([0.0, 2.0])), SimpleNamespace(name="b", acc=np.array([0.0, 0.2]))]
    k1 = {"a": 80.0, "b": 93.0}
    means = {"a": {("x", 20): 81.0, ("y", 3): 80.2}, "b": {("x", 20): 93.5, ("y", 3): 93.01}}
    means[nan_run][("x", 20)] = float("nan")
    assert s2.choose(runs, means, k1) == ("y", 3)
    means[nan_run][("y", 3)] = float("nan")
    assert s2.choose(runs, means, k1) is None
    one = [runs[0]]
    assert s2.choose(one, {"a": {("x", 20): float("nan"), ("y", 3): 80.2}}, {"a": 80.0}) == ("y", 3)


# --- label hygiene: the choice scripts read dev ground truth only ----------------------------------------------------

def _run(tmp_path: Path, name: str, **change) -> Path:
    """A results.json shaped as `swapnas correlate` writes it, by default the NB201 CIFAR-10 dev run."""
    doc = {"protocol": {"space": "nb201", "dataset": "cifar10", "seed": 0, "net": {"C": 16, "N": 1}, "batch_size": 16,
                        "repeats": 1, "init": "default"},
           "ground_truth": DEV_TRUTH,
           "archs": [f"a{i}" for i in range(1000)], "accuracy": [float(i % 97) for i in range(1000)],
           "results": [{"proxy": "swap", "higher_is_better": True}],
           "scores": {"swap": [float(i % 13 + 1) for i in range(1000)]}}
    for key, value in change.items():
        if key in doc["protocol"]:
            doc["protocol"][key] = value
        else:
            doc[key] = value
    path = tmp_path / name / "results.json"
    path.parent.mkdir()
    path.write_text(json.dumps(doc))
    return path


NOT_DEV = {
    "test_accuracy": {"ground_truth": "NB201 test accuracy (%), 200 epochs, mean over seeds; cifar10: trained on "
                                      "train+valid, evaluated on ori-test"},
    "cifar100": {"dataset": "cifar100", "ground_truth": "NB201 valid accuracy (%), 200 epochs, mean over seeds; "
                                                        "cifar100: the x-valid half of ori-test"},
    "12_epochs": {"ground_truth": "NB201 valid accuracy (%), 12 epochs, mean over seeds; cifar10-valid: …"},
    "other_sample": {"seed": 1},
    "more_archs": {"archs": [f"a{i}" for i in range(2000)], "accuracy": [1.0] * 2000,
                   "scores": {"swap": [1.0] * 2000}},
    "nb101": {"space": "nb101", "dataset": "cifar10", "ground_truth": "NB101 test accuracy"},
}


@pytest.mark.parametrize("case", sorted(NOT_DEV))
def test_choice_scripts_refuse_runs_outside_the_dev_sets(tmp_path: Path, case: str) -> None:
    """docs/protocol.md: only NB201 CIFAR-10 validation accuracy (200 epochs) of the 1000-arch seed-0 sample, NB301,
    darts_swap (and the FlexiBERT dev half) may steer a choice. The scripts read whatever run they were given."""
    cf, s2, sp = _script("choose_fitness"), _script("choose_stage2_net"), _script("simulated_picks")
    good, bad = _run(tmp_path, "dev"), _run(tmp_path, "bad", **NOT_DEV[case])
    assert len(cf.load([str(good)])) == 1
    for call in (lambda: cf.load([str(bad)]), lambda: cf.load([f"{good}+{bad}"]),
                 lambda: s2.DevRun("nb201", str(bad), "/nonexistent"),
                 lambda: sp.rows("nb201", str(bad), 0.2, 10)):
        with pytest.raises(SystemExit, match="not a dev run"):
            call()


def test_choose_fitness_accepts_darts_and_flexibert_dev_runs(tmp_path: Path) -> None:
    cf = _script("choose_fitness")
    darts = _run(tmp_path, "darts", space="darts", net={"C": 8, "layers": 5}, archs=[f"g{i}" for i in range(725)],
                 accuracy=[90.0 + i % 7 for i in range(725)], scores={"swap": [1.0 + i % 5 for i in range(725)]},
                 ground_truth=NB301Benchmark.protocol)
    darts_swap = _run(tmp_path, "darts_swap", space="darts", net={"C": 8, "layers": 5},
                      archs=[f"s{i}" for i in range(300)], accuracy=[90.0 + i % 7 for i in range(300)],
                      scores={"swap": [1.0 + i % 5 for i in range(300)]}, ground_truth=DartsSwapBenchmark.protocol)
    flexi = _run(tmp_path, "flexi", space="flexibert", dataset="glue", archs=[f"t{i}" for i in range(245)],
                 accuracy=[70.0 + i % 7 for i in range(245)], scores={"swap": [1.0 + i % 5 for i in range(245)]},
                 ground_truth="FlexiBERT-500 GLUE score (mean of the eight tasks) after ELECTRA-style pre-training")
    assert len(cf.load([str(darts), str(darts_swap), str(flexi)])) == 3
    other_task = _run(tmp_path, "rte", space="flexibert", dataset="rte", archs=[f"t{i}" for i in range(245)],
                      accuracy=[1.0] * 245, scores={"swap": [1.0] * 245}, ground_truth="FlexiBERT-500 RTE accuracy (%)")
    with pytest.raises(SystemExit, match="not a dev run"):
        cf.load([str(other_task)])


def test_choose_scored_net_scores_only_the_dev_sets() -> None:
    """--dev and --archs could route the choice to any benchmark or to NB201 archs outside the 1000-arch sample."""
    sn = _script("choose_scored_net")
    assert sn.dev_sets("darts", None, None) == [("nb301", None), ("darts_swap", None)]
    assert sn.dev_sets("nb201", None, None) == [("nb201", 1000)]
    assert sn.dev_sets("darts", "darts_swap", 100) == [("darts_swap", 100)]
    for space, dev, archs in (("darts", "nb101", None), ("nb201", None, 2000), ("nb201", None, 500),
                              ("darts", "transnas_micro", None)):
        with pytest.raises(SystemExit, match="not a dev set"):
            sn.dev_sets(space, dev, archs)
