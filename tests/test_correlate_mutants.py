"""``swapnas.correlation`` (the module behind `swapnas correlate`) pinned field by field: the survivors of its
mutation run (docs/reliability.md, session 34).

A hand-made benchmark of 12 archs and a ``score_archs`` stand-in with fixed records (a failure of each per-arch
proxy, a record without seconds) drive ``run_correlation``; every expected figure is worked out here: ρ and τ by
scipy.stats on the archs that did not fail, the set-level values by hand, the picked archs by
``random.Random(seed).sample``. ``write_outputs`` is read back file by file.
"""

from __future__ import annotations

import csv
import importlib
import json
import logging
import random
import types

import numpy as np
import pytest
import torch
from scipy import stats as sps

from swapnas.correlation import (
    _filled,
    _saturated,
    run_correlation,
    set_level_records,
    write_outputs,
)
from swapnas.patterns import SATURATION
from swapnas.proxies import get_proxy
from swapnas.proxies.registry import register_set
from swapnas.results import CorrelateRun, ProxyResult
from swapnas.scoring import Protocol, with_bases
from swapnas.stats import BOOTSTRAP_RESAMPLES, correlate
from swapnas.store import Record, ScoreStore
from tests.score_tools import fake_scores

corr = importlib.import_module("swapnas.correlation")
ARCHS = [f"arch{i:02d}" for i in range(12)]
ACC = [71.0, 65.5, 80.2, 77.7, 60.1, 90.3, 85.0, 70.4, 66.6, 88.8, 74.4, 79.9]
PARAMS = [2.0, 0.5, 1.1, 1.9, 0.3, 3.1, 0.9, float("nan"), 2.2, 2.9, 1.4, 1.2]
CEILING = 2.0**18  # jigsaw: 9 rows per sample, batch of 2 -> S = 18
SWAP = [3.0e4, 1.0e4, 9.0e4, 7.0e4, CEILING, None, SATURATION * CEILING, 4.0e4, 2.0e4, 5.0e3,
        SATURATION * CEILING - 1, 6.0e4]
NTK = [9.0, 12.0, 3.0, 5.0, 15.0, 1.0, 2.0, None, 11.0, 4.0, 7.0, 6.0]  # lower is better
FAILS = {"swap": "swap: out of memory", "te_nas_ntk": "ntk: singular"}
SECONDS = {"swap": 0.5, "te_nas_ntk": 0.25}
SEED, N = 2, 9  # Random(2).sample picks arch02 (no seconds), arch05 (swap failed) and arch07 (ntk failed)


class FakeBench:
    """The benchmark's four reads, each refusing a task it does not have."""
    name, space, tasks = "fakebench", "transnas_micro", ("jigsaw",)

    def _has(self, task: str) -> None:
        assert task in self.tasks, f"asked for task {task!r}"

    def archs_for(self, task: str) -> list:
        self._has(task)
        return list(ARCHS)

    def accuracies(self, archs: list, task: str) -> np.ndarray:
        self._has(task)
        return np.array([ACC[ARCHS.index(a)] for a in archs])

    def params_m(self, arch: str, task: str) -> float:
        self._has(task)
        return PARAMS[ARCHS.index(arch)]

    def truth_text(self, task: str) -> str:
        self._has(task)
        return "fake accuracy"


def _record(name: str, arch: str) -> Record:
    value = (SWAP if name == "swap" else NTK)[ARCHS.index(arch)]
    if value is None:
        return Record("failed", None, None, [], SECONDS[name], None, FAILS[name])
    return Record("ok", value, 0.0, [value], None if arch == "arch02" else SECONDS[name], None, None)


@pytest.fixture
def calls(monkeypatch, scratch_registry) -> list:
    """Registers ``corr_diff`` (swap − ntk, a failed ntk filled) and replaces score_archs; the calls it got."""
    register_set("corr_diff", ("swap", "te_nas_ntk"), lambda parts: parts[0] - parts[1], description="test",
                 fill_failed=("te_nas_ntk",))
    seen: list = []

    def score_archs(archs, space, proxies, *args, bases=False):
        seen.append((list(archs), space, [p.name for p in proxies], *args))
        args[-1].update(reused=2, partly=1)
        assert bases  # (the Ψ a derived proxy is made of, for its SATURATED line)
        return {p.name: [_record(p.name, a) for a in archs] for p in with_bases(proxies)}
    monkeypatch.setattr(corr, "score_archs", score_archs)
    return seen


def _run(**kw) -> CorrelateRun:
    protocol = Protocol("transnas_micro", "jigsaw", batch_size=2, seed=SEED)
    return run_correlation(bench=FakeBench(), task="jigsaw", proxies=kw.pop("proxies", "swap,te_nas_ntk,corr_diff"),
                           n_archs=N, protocol=protocol, batch=types.SimpleNamespace(note="the batch"),
                           store=kw.pop("store", ScoreStore(":memory:")), device="cpu", **kw)


def test_run_correlation_scores_the_seeded_pick_and_hands_score_archs_every_setting(calls) -> None:
    store, executor = ScoreStore(":memory:"), types.SimpleNamespace(name="local")
    run = _run(store=store, executor=executor)
    picked = random.Random(SEED).sample(ARCHS, N)
    assert run.archs == picked and run.accuracy == [ACC[ARCHS.index(a)] for a in picked]
    archs, space, names, protocol, batch, given_store, device, retry, progress, desc, ex, _counts = calls[0]
    assert (archs, space, names) == (picked, "transnas_micro", ["swap", "te_nas_ntk", "corr_diff"])
    assert (protocol.seed, batch.note, given_store, device) == (SEED, "the batch", store, torch.device("cpu"))  # (67:
    # a device's name resolved once, so that the run records the device it scored on)
    assert (retry, progress, desc, ex) == (False, True, "fakebench/jigsaw", executor)  # the defaults
    _run(retry_failed=True, progress=False)
    assert calls[1][7:9] == (True, False)
    assert (run.reused, run.partly_reused, run.device, run.batch_note) == (2, 1, "cpu", "the batch")
    assert run.bootstrap == {"resamples": BOOTSTRAP_RESAMPLES, "seed": SEED,
                             "interval": "percentile 95 %, paired resamples",
                             "draws": "numpy.random.default_rng(seed).integers over the archs with a score, in the "
                                      "order of archs"}
    assert 0.0 <= run.wall_seconds < 60.0 and run.ground_truth == "fake accuracy"
    assert run.protocol == protocol.describe()
    params = [PARAMS[ARCHS.index(a)] for a in picked]
    assert run.params_m == [None if np.isnan(v) else v for v in params] and None in run.params_m


def test_run_correlation_on_ray_workers_says_so(calls) -> None:
    assert _run(executor=types.SimpleNamespace(name="ray")).device == "cpu on Ray workers"
    assert _run().device == "cpu"


def _expected(values: list, hib: bool, picked: list) -> tuple:
    """(ρ, τ, n, failures, the Correlation) over the archs whose value is not None, computed independently."""
    ok = [i for i, v in enumerate(values) if v is not None]
    x = np.array([values[i] for i in ok], dtype=float) * (1 if hib else -1)
    acc = np.array([ACC[ARCHS.index(picked[i])] for i in ok])
    params = np.array([PARAMS[ARCHS.index(picked[i])] for i in ok])
    c = correlate(np.array([values[i] for i in ok], dtype=float), acc, params, hib, BOOTSTRAP_RESAMPLES, SEED)
    return sps.spearmanr(x, acc)[0], sps.kendalltau(x, acc)[0], len(ok), len(values) - len(ok), c


def test_run_correlation_results_per_proxy(calls) -> None:
    run = _run()
    picked = run.archs
    i7 = picked.index("arch07")
    ntk_worst = max(NTK[ARCHS.index(a)] for a in picked if NTK[ARCHS.index(a)] is not None)
    swap = [SWAP[ARCHS.index(a)] for a in picked]
    ntk = [NTK[ARCHS.index(a)] for a in picked]
    diff = [None if s is None else s - (ntk_worst if i == i7 else ntk[i]) for i, s in enumerate(swap)]
    assert run.scores == {"swap": swap, "te_nas_ntk": ntk, "corr_diff": diff}
    seconds = {"swap": [0.5] * 7, "te_nas_ntk": [0.25] * 7, "corr_diff": [0.75] * 7 + [0.0]}  # arch02: none / 0
    for r, values, hib in zip(run.results, (swap, ntk, diff), (True, False, True)):
        rho, tau, n, failures, c = _expected(values, hib, picked)
        assert (r.proxy, r.key, r.space, r.dataset) == (r.proxy, get_proxy(r.proxy).key, "fakebench", "jigsaw")
        assert (r.n, r.failures, r.higher_is_better) == (n, failures, hib)
        assert r.spearman == pytest.approx(rho, abs=1e-12) and r.kendall == pytest.approx(tau, abs=1e-12)
        np.testing.assert_equal((r.spearman_ci, r.top10_spearman, r.top10_n),
                                (c.spearman_ci, c.top10_spearman, c.top10_n))  # NaN equals NaN here
        assert r.spearman_given_params == pytest.approx(c.spearman_given_params, abs=1e-12)
        assert np.isfinite(r.spearman_given_params)
        assert r.seconds_per_arch == pytest.approx(np.mean(seconds[r.proxy]), abs=1e-12)
    assert [r.proxy for r in run.results] == ["swap", "te_nas_ntk", "corr_diff"]
    assert run.results[0].errors == ["swap: out of memory"] and run.results[1].errors == ["ntk: singular"]
    assert run.results[2].errors == ["part failed: swap: swap: out of memory"]
    # Ψ at or above 95 % of 2**18 (arch06 exactly at it, arch04 at the ceiling; arch10 just below): two
    assert [run.results[k].saturated for k in range(3)] == [2, 0, 0]


def test_a_proxy_list_is_taken_as_given(calls) -> None:
    run = _run(proxies=[get_proxy("te_nas_ntk")])
    assert [r.proxy for r in run.results] == ["te_nas_ntk"] and calls[0][2] == ["te_nas_ntk"]


def test_no_seconds_anywhere_gives_nan(calls, monkeypatch) -> None:
    monkeypatch.setattr(corr, "score_archs", fake_scores([float(i) for i in range(N)], seconds=None))
    assert np.isnan(_run(proxies="swap").results[0].seconds_per_arch)


class OneRowBench(FakeBench):
    """A space without ``MAP_ROWS_PER_SAMPLE`` (one row per sample)."""
    space, tasks = "nb201", ("cifar10",)


def test_six_failures_keep_five_messages_and_one_row_per_sample(monkeypatch) -> None:
    """NB201 has no ``MAP_ROWS_PER_SAMPLE``: a batch of 2 gives Ψ's ceiling 2**2 = 4."""
    values = [4.0, 3.8, 3.7, 2.0, 1.0, 3.0, *(f"error {k}" for k in range(6))]
    monkeypatch.setattr(corr, "score_archs", fake_scores(values))
    run = run_correlation(bench=OneRowBench(), task="cifar10", proxies="swap", n_archs=None,
                          protocol=Protocol("nb201", "cifar10", batch_size=2), batch=types.SimpleNamespace(note=""),
                          store=ScoreStore(":memory:"), device="cpu", progress=False)
    r = run.results[0]
    assert (r.n, r.failures, r.saturated) == (6, 6, 2)  # 4.0 and 3.8 >= 0.95 * 4 = 3.8; 3.7 below
    assert r.errors == [f"error {k}" for k in range(5)]  # ties alphabetically, the first five


def test_filled_gives_the_worst_value_of_its_direction() -> None:
    v = np.array([3.0, np.nan, 1.0, 7.0])
    assert _filled(v, higher_is_better=True) == 1 and v.tolist() == [3.0, 1.0, 1.0, 7.0]
    v = np.array([3.0, np.nan, 1.0, np.nan])
    assert _filled(v, higher_is_better=False) == 2 and v.tolist() == [3.0, 3.0, 1.0, 3.0]
    full, empty = np.array([1.0, 2.0]), np.array([np.nan, np.nan])
    assert _filled(full, True) == 0 and _filled(empty, True) == 0 and np.isnan(empty).all()


def test_saturated_counts_from_95_percent_of_the_ceiling_for_psi_only() -> None:
    values = [SATURATION * 16, 16.0, SATURATION * 16 - 1e-9, 1.0, 16.0]
    records = {n: [Record("ok", v, 0.0, [v], 0.1, None, None) for v in values]
               for n in ("swap", "swap_ext", "swap_fn", "params")}
    ok = np.array([True, True, True, True, False])  # the last arch not scored by the proxy counted
    assert [_saturated(get_proxy(n), records, ok, 4) for n in ("swap", "swap_ext", "swap_fn", "params")] == [2, 2, 2, 0]
    assert _saturated(get_proxy("swap_reg"), records, ok, 4) == 2  # its Ψ, swap's


def _parts(swap: list, ntk: list, seconds: list) -> dict[str, list[Record]]:
    def rec(v, s):
        return Record("failed", None, None, [], s, None, "boom") if v is None else Record("ok", v, 0.0, [v], s,
                                                                                          None, None)
    return {"swap": [rec(v, s) for v, s in zip(swap, seconds)],
            "te_nas_ntk": [rec(v, s) for v, s in zip(ntk, seconds)]}


def test_set_level_records_field_by_field(scratch_registry, caplog) -> None:
    register_set("corr_diff", ("swap", "te_nas_ntk"), lambda parts: parts[0] - parts[1], description="test",
                 fill_failed=("te_nas_ntk",))
    p = get_proxy("corr_diff")
    with caplog.at_level(logging.WARNING):
        out = set_level_records(p, _parts([10.0, 20.0, None, 40.0, float("inf")], [1.0, None, None, 3.0, 2.0],
                                          [0.5, None, 1.0, 2.0, 0.25]))
    assert out[0] == Record("ok", 9.0, 0.0, [], 1.0, None, None)
    assert out[1] == Record("ok", 17.0, 0.0, [], 0.0, None, None)  # ntk filled with its worst (highest), 3
    assert out[2] == Record("failed", None, None, [], 2.0, None, "part failed: swap: boom; te_nas_ntk: boom")
    assert out[3] == Record("ok", 37.0, 0.0, [], 4.0, None, None)
    assert out[4] == Record("failed", None, None, [], 0.5, None, "part failed: a non-finite value")
    assert caplog.messages == ["corr_diff: te_nas_ntk failed on 2 of 5 archs; they get its worst value over the set"]


def test_set_level_records_warn_only_about_filled_parts(scratch_registry, caplog) -> None:
    register_set("corr_keep", ("swap", "te_nas_ntk"), lambda parts: parts[0] + parts[1], description="test")
    with caplog.at_level(logging.WARNING):
        out = set_level_records(get_proxy("corr_keep"), _parts([1.0, 2.0, 3.0], [4.0, None, 6.0], [1.0] * 3))
        assert [r.status for r in out] == ["ok", "failed", "ok"] and out[1].error == "part failed: te_nas_ntk: boom"
        register_set("corr_fill", ("swap", "te_nas_ntk"), lambda parts: parts[0], description="test",
                     fill_failed=("te_nas_ntk",))
        assert [r.value for r in set_level_records(get_proxy("corr_fill"), _parts([1.0, 2.0], [4.0, 5.0],
                                                                                  [1.0] * 2))] == [1.0, 2.0]
    assert caplog.messages == []  # nothing filled: no warning


PROTOCOL = Protocol("nb201", "cifar10", batch_size=4).describe()
BOOT = {"resamples": 10, "seed": 0, "interval": "percentile 95 %"}


def _small_run(params_m: list) -> CorrelateRun:
    result = ProxyResult("swap", "swap@1", "nb201", "cifar10", 3, 1, 0.5, 0.33, (0.1, 0.9), float("nan"),
                         0.25, 0.125, True, ["boom"])
    return CorrelateRun(PROTOCOL, "val acc", "note", [result], {"swap": [1.0, None, 3.0, 4.0]},
                        [90.0, 91.0, 92.0, 93.0], ["a", "b", "c", "d"], 1.5, 2, 1, "cpu", BOOT, params_m)


def test_write_outputs_writes_every_field_into_a_new_nested_folder(tmp_path) -> None:
    out = tmp_path / "new" / "deeper"
    paths = write_outputs(_small_run([1.0, None, 2.5, 3.0]), out)
    assert [p.name for p in paths] == ["results.json", "results.csv", "report.md", "results.tex", paths[4].name]
    assert len(paths) == 5 and all(p.parent == out and p.is_file() for p in paths)
    doc = json.loads((out / "results.json").read_text())
    assert list(doc) == ["provenance", "protocol", "benchmark", "ground_truth", "batch_note", "wall_seconds",
                         "reused_archs", "partly_reused_archs", "reused_from_other_code", "bootstrap", "results",
                         "archs", "accuracy", "params_m", "scores"]
    assert doc["benchmark"] == {"name": "nb201", "task": "cifar10"}
    assert doc["provenance"]["device"] == "cpu" and "python" in json.dumps(doc["provenance"]).lower()
    assert (doc["protocol"], doc["ground_truth"], doc["batch_note"], doc["wall_seconds"]) == (
        PROTOCOL, "val acc", "note", 1.5)
    assert (doc["reused_archs"], doc["partly_reused_archs"], doc["bootstrap"]) == (2, 1, BOOT)
    assert doc["results"][0]["proxy"] == "swap" and doc["results"][0]["top10_spearman"] is None
    assert (doc["archs"], doc["accuracy"]) == (["a", "b", "c", "d"], [90.0, 91.0, 92.0, 93.0])
    assert (doc["params_m"], doc["scores"]) == ([1.0, None, 2.5, 3.0], {"swap": [1.0, None, 3.0, 4.0]})
    with (out / "results.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [["arch", "accuracy", "swap", "params_m"], ["a", "90.0", "1.0", "1.0"], ["b", "91.0", "", ""],
                    ["c", "92.0", "3.0", "2.5"], ["d", "93.0", "4.0", "3.0"]]
    assert "val acc" in (out / "report.md").read_text()


def test_write_outputs_without_sizes_leaves_the_column_empty(tmp_path) -> None:
    write_outputs(_small_run([]), tmp_path)
    with (tmp_path / "results.csv").open(newline="") as f:
        assert [row[-1] for row in csv.reader(f)] == ["params_m", "", "", "", ""]
