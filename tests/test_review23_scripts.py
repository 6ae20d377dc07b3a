"""Review 23 of the reporting / research scripts behind the documented figures (compare_runs.py, sensitivity_table.py,
flexibert_table.py, and the dev guards of the scripts that choose: tune_size_prior.py, lswag_layers_dev.py,
swap_variants_dev.py). Golden values come from plain loops here."""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.script_tools import load_script, naive_spearman


def _script(name: str):
    return load_script(name, "review23s")


DEV_TRUTH = "NB201 valid accuracy (%), 200 epochs, mean over seeds; cifar10-valid: …"


def _nb201_run(truth: str, dataset: str = "cifar10", n: int = 1000, seed: int = 0) -> dict:
    """A correlate results.json of NB201 swap scores (synthetic values, real arch strings)."""
    from swapnas.spaces import nb201
    rng = random.Random(1)
    archs = [str(nb201.sample(rng)) for _ in range(n)]
    return {"protocol": {"space": "nb201", "dataset": dataset, "seed": seed, "net": {"C": 16, "N": 1}},
            "ground_truth": truth, "archs": archs, "accuracy": [rng.uniform(10, 94) for _ in archs],
            "scores": {"swap": [rng.uniform(1e3, 6e4) for _ in archs]}}


# --- compare_runs.py: the proof that a refactor changes nothing -----------------------------------------------------

def _search_doc(**changes) -> dict:
    doc = {"best": "A", "fitness": 1.5, "evaluations": 2, "history": [{"arch": "A", "fitness": 1.5},
                                                                    {"arch": "B", "fitness": 1.0}],
           "refine": None, "fitness_proxy": "swap_nb201@1[w=1]", "params_m": 1.073466, "macs_m": 153.27,
           "mu": None, "sigma": None, "size_mapping": None, "constraints": {"max_params_m": None, "max_macs_m": 500.0},
           "extra": {"test_accuracy": 94.37}, "config": {"cycles": 40}, "cycles": 40, "seed": 0, "space": "nb201",
           "dataset": "cifar10", "wall_seconds": 64.7, "provenance": {"command": "x"}}
    return doc | changes


def _compare(tmp_path: Path, a: dict, b: dict, capsys) -> tuple[int, str]:
    mod = _script("compare_runs")
    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_text(json.dumps(a))
    pb.write_text(json.dumps(b))
    sys_argv = sys.argv
    sys.argv = ["compare_runs.py", str(pa), str(pb)]
    try:
        rc = mod.main()
    finally:
        sys.argv = sys_argv
    return rc, capsys.readouterr().out


@pytest.mark.parametrize("field,value", [("params_m", 1.2), ("macs_m", 160.0), ("fitness_proxy", "swap_nb201@2[w=1]"),
                                         ("mu", 300.0), ("extra", {"test_accuracy": 93.0}),
                                         ("constraints", {"max_params_m": None, "max_macs_m": 400.0})])
def test_compare_runs_search_sees_a_changed_reported_field(tmp_path, capsys, field, value) -> None:
    """Before: only best, fitness, evaluations, history and refine were compared, so a refactor that changed the
    reported final size (0c4d4e5: parameters without a build), the MACs or the fitness's key said IDENTICAL."""
    rc, out = _compare(tmp_path, _search_doc(), _search_doc(**{field: value}), capsys)
    assert rc == 1 and out.splitlines()[-1] == "DIFFERENT" and f"DIFFERENT  {field}" in out  # extra: key by key


def test_compare_runs_search_identical_and_timing_ignored(tmp_path, capsys) -> None:
    rc, out = _compare(tmp_path, _search_doc(), _search_doc(wall_seconds=1.0, provenance={"command": "y"}), capsys)
    assert rc == 0 and out.splitlines()[-1] == "IDENTICAL"


def test_compare_runs_field_of_a_newer_output_is_not_a_difference(tmp_path, capsys) -> None:
    old = _search_doc()
    del old["macs_m"], old["constraints"]  # a run written before these fields existed
    rc, out = _compare(tmp_path, old, _search_doc(), capsys)
    assert rc == 0 and "not compared  macs_m" in out and "not compared  constraints" in out


def test_compare_runs_benchmark_figure_of_a_newer_output_is_not_a_difference(tmp_path, capsys) -> None:
    """Session 25 added ``extra["datasets"]`` (the arch on every NB201 dataset): before, ``extra`` was compared as
    one dict, so every new search differed from its pre-session-25 run. A figure both hold is still compared."""
    new = _search_doc(extra={"test_accuracy": 94.37, "datasets": {"cifar100": {"test_accuracy": 73.5}}})
    rc, out = _compare(tmp_path, _search_doc(), new, capsys)
    assert rc == 0 and "not compared  extra datasets" in out and "identical  extra test_accuracy" in out
    changed = _search_doc(extra={"test_accuracy": 93.0, "datasets": {}})
    rc, out = _compare(tmp_path, _search_doc(), changed, capsys)
    assert rc == 1 and "DIFFERENT  extra test_accuracy" in out


def test_compare_runs_correlate_sees_a_changed_proxy_key(tmp_path, capsys) -> None:
    def doc(key: str) -> dict:
        res = {"proxy": "swap", "key": key, "spearman": 0.8, "kendall": 0.6, "spearman_ci": [0.7, 0.9],
               "top10_spearman": None, "spearman_given_params": 0.5, "n": 3, "failures": 0}
        return {"archs": ["a", "b", "c"], "accuracy": [1.0, 2.0, 3.0], "scores": {"swap": [1.0, 2.0, 3.0]},
                "results": [res]}
    assert _compare(tmp_path, doc("swap@1"), doc("swap@1"), capsys)[0] == 0
    rc, out = _compare(tmp_path, doc("swap@1"), doc("swap@2"), capsys)
    assert rc == 1 and "DIFFERENT  swap key:" in out


# --- sensitivity_table.py: the documented command on the S = 8 run -------------------------------------------------

def test_sensitivity_table_prints_nan_for_an_undefined_statistic(tmp_path, capsys) -> None:
    """results.json stores an undefined ρ as null; the table crashed (TypeError) on the S = 8 run, whose top-10 % ρ
    is undefined; docs/results.md's row shows nan."""
    run = tmp_path / "c10_C16_N1_S8_R4" / "results.json"
    run.parent.mkdir()
    res = {"proxy": "swap", "spearman": 0.1791, "spearman_ci": [0.1214, 0.2281], "kendall": 0.1464,
           "top10_spearman": None, "n": 1000, "seconds_per_arch": 0.1071}
    run.write_text(json.dumps({"protocol": {"net": {"C": 16, "N": 1}, "batch_size": 8, "repeats": 4},
                               "results": [res]}))
    _script("sensitivity_table").main([str(run)])
    assert capsys.readouterr().out.splitlines()[-1] == (
        "| 16 | 1 | 8 | 4 | 0.179 | [0.121, 0.228] | 0.146 | nan | 1000 | 0.107 | `c10_C16_N1_S8_R4` |")


# --- flexibert_table.py: a row names its protocol --------------------------------------------------------------------

def test_flexibert_table_names_the_layer_layout(tmp_path) -> None:
    """The two layouts' runs printed the same protocol text (runs/flexibert/all_layout_*.json)."""
    def run(net: dict) -> str:
        p = tmp_path / f"{len(net)}.json"
        p.write_text(json.dumps({"protocol": {"net": {"sizes": "authors", "resolution": 16, **net}, "batch_size": 32,
                                              "init": "default", "inputs": "real"}, "half": "all", "n": 491,
                                 "rho": {"glue": {"swap_ext": 0.693, "params": 0.652}},
                                 "swap_ext_seconds_median": 0.25, "swap_ext_peak_mib_max": 72.0}))
        return str(p)
    rows = _script("flexibert_table").runs_table([run({"layout": "flexibert"}), run({})]).splitlines()[2:]
    assert rows[0].startswith("| authors, S=32, L=16, init default, real, layout flexibert | all |")
    assert rows[1].startswith("| authors, S=32, L=16, init default, real | all |")


# --- scripts that choose: dev ground truth only (docs/protocol.md, label hygiene) ------------------------------------

NOT_DEV = [("test accuracy", dict(truth="NB201 test accuracy (%), 200 epochs, mean over seeds")),
           ("another sample", dict(truth=DEV_TRUTH, seed=1)),
           ("the full space", dict(truth=DEV_TRUTH, n=1200))]


@pytest.mark.parametrize("what,kw", NOT_DEV, ids=[w for w, _ in NOT_DEV])
def test_tune_size_prior_refuses_a_cifar10_run_that_is_not_dev(tmp_path, what, kw) -> None:
    """Before: only the dataset was checked, so CIFAR-10 test labels or another sample chose the prior constants."""
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_nb201_run(**kw)))
    with pytest.raises(SystemExit, match="not the dev run"):
        _script("tune_size_prior").main(str(path))


def test_tune_size_prior_reads_the_dev_run_and_oracle_reads_any(tmp_path, capsys) -> None:
    mod = _script("tune_size_prior")
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_nb201_run(DEV_TRUTH)))
    mod.main(str(path))
    assert "argmax: PRIOR_CENTRE=" in capsys.readouterr().out
    path.write_text(json.dumps(_nb201_run("NB201 test accuracy (%)", dataset="cifar100", n=50)))
    mod.main(str(path), oracle=True)
    assert "ORACLE" in capsys.readouterr().out


def test_lswag_layers_dev_refuses_a_run_that_is_not_dev(tmp_path) -> None:
    path = tmp_path / "run" / "results.json"
    path.parent.mkdir()
    path.write_text(json.dumps(_nb201_run("NB201 test accuracy (%)", n=20)))
    with pytest.raises(SystemExit, match="not a dev run"):
        _script("lswag_layers_dev").bins_of_run(str(path), "unused")
    assert not (path.parent / "lswag_bins.npz").exists()


def test_swap_variants_dev_refuses_a_run_that_is_not_dev(tmp_path, monkeypatch) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_nb201_run(DEV_TRUTH, dataset="cifar100", n=20)))
    monkeypatch.setattr(sys, "argv", ["swap_variants_dev.py", str(path), "--out", str(tmp_path / "out.md")])
    with pytest.raises(SystemExit, match="not a dev run"):
        _script("swap_variants_dev").main()


def test_lswag_interval_without_layer_terms_ranks_the_arch_last_instead_of_dropping_it() -> None:
    """An interval whose bins hold no Λ term for an arch was NaN there, so that interval's ρ left the arch out and
    intervals were compared on different archs (here the dropped archs are the best ones: ρ 1.0 on the rest)."""
    mod = _script("lswag_layers_dev")
    acc = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    lam = np.ones((6, mod.BINS))
    lam[:, 9] = [1.0, 2.0, 3.0, 4.0, 0.0, 0.0]  # the two best archs have no layer in bin 9
    lam[2] = np.nan  # a failed lswag_grad: left out of every interval alike
    d = {"lam": lam, "psi": np.full((6, mod.BINS), 100.0), "acc": acc}
    keep = [0, 1, 3, 4, 5]
    values = [math.log(100.0) + math.log(v) if v > 0 else -1e9 for v in lam[keep, 9]]
    assert mod.rho(mod.interval_value(d, 9, 9), acc) == pytest.approx(naive_spearman(values, list(acc[keep])))
    assert mod.rho(mod.interval_value(d, 9, 9), acc) < 0.5
    whole = [math.log(100.0) + math.log(lam[i].sum()) for i in keep]
    assert mod.rho(mod.interval_value(d, 0, 9), acc) == pytest.approx(naive_spearman(whole, list(acc[keep])))


# --- model_zoo.py: the neurons it reports are the maps swap_score counts -------------------------------------------

def test_model_zoo_counts_an_activation_repeated_on_one_tensor_once() -> None:
    # the review's doubt, settled after it: neurons() hooked without skip_repeats, so a model applying an equal
    # activation twice to the same tensor reported twice the neurons swap_score counts (and a ceiling too high)
    import torch
    from torch import nn

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.act = nn.Conv2d(3, 4, 1), nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.conv(x)
            return self.act(h) + self.act(h)  # the same map twice: one set of patterns

    x = torch.randn(5, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    assert _script("model_zoo").neurons(Twice(), x, "swap_fn") == 4 * 6 * 6  # one map of C × H × W per sample


def test_model_zoo_counts_the_neurons_of_the_pass_the_reported_proxy_makes() -> None:
    # session 24: neurons() counted swap_fn's pass even where "auto" had picked swap or swap_ext, so the ceiling of
    # a CNN with a functional ReLU in its head was too high for the Ψ beside it
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.act, self.fc = nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Linear(4 * 6 * 6, 5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.relu(self.fc(self.act(self.conv(x)).flatten(1)))  # a module ReLU on a map, a function on a vector

    model, x = Head(), torch.randn(5, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    mod = _script("model_zoo")
    counts = {proxy: mod.neurons(model, x, proxy) for proxy in ("swap", "swap_ext", "swap_fn")}
    assert counts == {"swap": 144, "swap_ext": 144, "swap_fn": 149}  # 4 × 6 × 6 map; + the 5 linear outputs
    import swapnas
    # auto sees only nn.ReLU modules and a conv: swap, whose ceiling must use 144 neurons (149 before the fix)
    assert list(swapnas.score(model, x, init="none")) == ["swap"]
