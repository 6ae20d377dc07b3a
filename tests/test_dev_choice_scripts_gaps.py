"""What the existing tests left out of four scripts that chose defaults on dev data (docs/protocol.md,
docs/generated/dev/): scripts/choose_stage2_net.py (sim_table, made_by, DevRun, choose across several dev sets with
the normalised gain, main), scripts/stage2_ensemble_dev.py (rows with its weights, main), scripts/swap_variants_dev.py
(--fitness, the fitness from stored bases, scans / table / joint, run_variants, main, layer_logmean and the 2^S
ceiling) and scripts/lswag_layers_dev.py (bin_of, the cache, choose, split_rows, write_interval, main). The scoring
is replaced by fakes; golden values come from plain loops over the same draws (np.random.default_rng(0), the draws
the scripts document) and from small cases worked by hand."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from swapnas.benchmarks.nb201 import GroundTruth
from swapnas.benchmarks.nb301 import DartsSwapBenchmark, NB301Benchmark
from tests.script_tools import load_script, naive_spearman, run_main

NAN = float("nan")
#: the ground truths `swapnas correlate` writes for the dev runs (docs/protocol.md, label hygiene): NB201's
#: (CIFAR-10 validation accuracy, 200 epochs) and the two DARTS dev benchmarks'
DEV_TRUTH = GroundTruth("cifar10").describe()
DARTS_TRUTH = {"nb301": NB301Benchmark.protocol, "darts_swap": DartsSwapBenchmark.protocol}


def _std(v: list[float]) -> float:
    """Population standard deviation, by a loop."""
    m = sum(v) / len(v)
    return math.sqrt(sum((x - m) ** 2 for x in v) / len(v))


def _top5(a: list[float]) -> list[bool]:
    """a >= its 0.95 quantile, interpolated linearly between the order statistics (numpy's default method)."""
    s = sorted(a)
    pos = 0.95 * (len(s) - 1)
    lo = int(pos)
    q = s[lo] + (pos - lo) * (s[lo + 1] - s[lo])
    return [x >= q for x in a]


def _naive_paired(acc: list[float], f1: list[float], f2: dict[int, float], k: int, budget: int, draws: int,
                  pick=None) -> tuple[float, float, int, float]:
    """One loop over the documented draws (np.random.default_rng(0), one subset of ``budget`` per draw): the short
    list is the K fittest by f1 (ties in the subset's order), a draw whose short list leaves f2 is left out (K > 1),
    the pick is the highest f2 (the first of equals) or ``pick``'s position. Returns the pick's mean accuracy, its
    share in the top 5 %, the draws left out, and K = 1's mean accuracy (the short list's first) on the kept draws."""
    top5 = _top5(acc)
    rng = np.random.default_rng(0)
    picks, firsts, missed = [], [], 0
    for _ in range(draws):
        sub = [int(i) for i in rng.choice(len(acc), budget, replace=False)]
        short = sorted(sub, key=lambda i: -f1[i])[:k]
        if k > 1 and any(i not in f2 for i in short):
            missed += 1
            continue
        if k == 1:
            best = short[0]
        elif pick is None:
            best = short[0]
            for i in short[1:]:
                if f2[i] > f2[best]:
                    best = i
        else:
            best = short[pick([f1[i] for i in short], [f2[i] for i in short])]
        picks.append(best)
        firsts.append(short[0])
    if not picks:
        return NAN, NAN, missed, NAN
    mean = sum(acc[i] for i in picks) / len(picks)
    return mean, sum(top5[i] for i in picks) / len(picks), missed, sum(acc[i] for i in firsts) / len(firsts)


# ==== choose_stage2_net.py ===========================================================================================

def _naive_sim_rows(acc: list[float], f1: list[float], f2s: dict[str, dict[int, float]], idx: list[int],
                    budget: float, draws: int) -> tuple[list[str], dict, float, dict]:
    """The rows of the simulated searches over the archs ``idx`` (in that order), with K = 3, 5, 10, 20 and
    max(21, round(budget · len(idx))) archs per draw."""
    a, g1 = [acc[j] for j in idx], [f1[j] for j in idx]
    n = max(21, round(budget * len(idx)))
    pos = {j: p for p, j in enumerate(idx)}
    rows, means, base = [], {}, {}
    for label, f2 in f2s.items():
        g2 = {pos[j]: v for j, v in f2.items() if j in pos}
        cells, kept = [], []
        for k in (3, 5, 10, 20):
            m, t, out, b = _naive_paired(a, g1, g2, k, n, draws)
            cells.append(f"{m:.3f} / {t:.3f} / {m - b:+.3f}")
            means[label, k], base[label, k] = m, b
            kept.append(str(draws - out))
        rows.append(f"| {label} | " + " | ".join(cells) + " | " + " / ".join(kept) + " |")
    return rows, means, _naive_paired(a, g1, {}, 1, n, draws)[0], base


def _naive_choice(names: list[str], accs: dict[str, list[float]], means: dict, base: dict) -> tuple | None:
    """The key with the highest worst (mean − K = 1 on its kept draws) / std of the dev set's accuracy (no division
    for one dev set), the first of equals; None unless that worst gain is > 0. A NaN mean never gains."""
    best, best_score = None, -math.inf
    for key in means[names[0]]:
        gains = []
        for r in names:
            g = (means[r][key] - base[r][key]) / (_std(accs[r]) if len(names) > 1 else 1.0)
            gains.append(g if math.isfinite(g) else -math.inf)
        if best is None or min(gains) > best_score:
            best, best_score = key, min(gains)
    return best if best_score > 0 else None


def test_sim_table_rows_means_and_baselines_against_a_loop_over_the_same_draws() -> None:
    """sim_table maps the run's arch indices to positions in ``idx`` (here a shuffled subset of 50 of 60 archs, so a
    wrong mapping or order changes every draw), leaves out f2 entries outside ``idx``, and compares each K > 1 with
    K = 1 on the draws that K kept: the 'top 45' candidate scored only the 45 fittest, so its long short lists leave
    the scored set and its baseline differs from K = 1 over all draws."""
    s2 = load_script("choose_stage2_net", "gaps_s2a")
    rng = np.random.default_rng(5)
    acc = rng.normal(90.0, 3.0, 60)
    f1 = acc + rng.normal(0.0, 3.0, 60)
    f1[7] = -np.inf  # a failed stage-1 score: the last of any short list
    idx = rng.permutation(60)[:50]
    order = sorted(range(60), key=lambda i: -f1[i])
    f2s = {"every arch": {i: float(acc[i] + rng.normal(0.0, 1.0)) for i in range(60)},
           "top 45": {i: float(acc[i] + rng.normal(0.0, 1.0)) for i in order[:45]}}
    run = SimpleNamespace(acc=acc, f1=f1)
    for budget in (0.5, 0.1):  # 25 archs per draw; 5 → the floor of 21 (K = 20 needs a 21st)
        rows, means, k1, base = s2.sim_table(run, f2s, idx, budget, 60)
        want_rows, want_means, want_k1, want_base = _naive_sim_rows(acc.tolist(), f1.tolist(), f2s, idx.tolist(),
                                                                    budget, 60)
        assert rows == want_rows
        assert k1 == pytest.approx(want_k1, abs=1e-12)
        assert list(means) == list(want_means) and list(base) == list(want_base)
        for key in want_means:
            assert means[key] == pytest.approx(want_means[key], abs=1e-12)
            assert base[key] == pytest.approx(want_base[key], abs=1e-12)
        kept20 = int(rows[1].split(" | ")[-1].split(" / ")[-1].rstrip(" |"))
        assert 0 < kept20 < 60 and base["top 45", 20] != pytest.approx(k1)  # the paired baseline is not K = 1 overall
    head = s2.HEAD
    assert head[0] == ("| stage 2 | K=3: acc / P(top 5 %) / gain | K=5: acc / P(top 5 %) / gain | K=10: acc / "
                       "P(top 5 %) / gain | K=20: acc / P(top 5 %) / gain | draws kept (K=3/5/10/20) |")
    assert head[1] == "|---|---|---|---|---|---|"


def test_choose_divides_each_gain_by_its_dev_sets_accuracy_std() -> None:
    """Two dev sets: a has accuracies [0, 20] (std 10), b [0, 2] (std 1). x gains +1.0 on a and +0.5 on b (worst raw
    gain 0.5, worst normalised min(0.1, 0.5) = 0.1); y gains +3.0 and +0.3 (worst raw 0.3, normalised
    min(0.3, 0.3) = 0.3). The raw rule would take x, the documented one y."""
    s2 = load_script("choose_stage2_net", "gaps_s2b")
    runs = [SimpleNamespace(name="a", acc=np.array([0.0, 20.0])), SimpleNamespace(name="b", acc=np.array([0.0, 2.0]))]
    means = {"a": {("x", 3): 81.0, ("y", 3): 83.0}, "b": {("x", 3): 93.5, ("y", 3): 93.3}}
    k1 = {"a": 80.0, "b": 93.0}
    assert s2.choose(runs, means, k1) == ("y", 3)
    # per-key baselines (K = 1 on the draws each key kept): y's higher mean on a is measured against a higher base
    # there (83.0 − 82.5 = 0.5 → 0.05), below x's 0.1
    base = {"a": {("x", 3): 80.0, ("y", 3): 82.5}, "b": {("x", 3): 93.0, ("y", 3): 93.0}}
    assert s2.choose(runs, means, base) == ("x", 3)
    # no gain at all (worst gain exactly 0) is no choice
    flat = {"a": {("x", 3): 80.0}, "b": {("x", 3): 93.4}}
    assert s2.choose(runs, flat, k1) is None
    # one dev set: the gain itself, even where the accuracies have no spread (dividing by its std 0 would leave none)
    one = [SimpleNamespace(name="c", acc=np.array([5.0, 5.0]))]
    assert s2.choose(one, {"c": {("x", 3): 80.1, ("y", 5): 80.3}}, {"c": 80.0}) == ("y", 5)


def _stage2_args(**change) -> argparse.Namespace:
    args = dict(runs=["nb201=runs/a/results.json"], data_dir="../shared/data", store="runs/dev.sqlite",
                out="docs/x.md", fitness="best", only=None, top=None, budget=0.2, draws=2000)
    return argparse.Namespace(**(args | change))


def test_made_by_names_only_the_flags_that_differ_from_their_defaults() -> None:
    s2 = load_script("choose_stage2_net", "gaps_s2c")
    head = "Made by `python scripts/choose_stage2_net.py "
    assert s2.made_by(_stage2_args()) == (head + "nb201=runs/a/results.json --data-dir ../shared/data "
                                          "--store runs/dev.sqlite --out docs/x.md`.")
    args = _stage2_args(runs=["darts_swap=a.json", "nb301=b.json"], fitness="swap_darts", only=[4, 11], top=300,
                        budget=0.25, draws=500)
    assert s2.made_by(args) == (head + "darts_swap=a.json nb301=b.json --data-dir ../shared/data --store "
                                "runs/dev.sqlite --out docs/x.md --fitness swap_darts --only 4,11 --top 300 "
                                "--budget 0.25 --draws 500`.")
    # --top 0 was given (it means all archs), so it is named; --only 0 is a candidate's position, named too
    assert s2.made_by(_stage2_args(top=0, only=[0])).endswith(" --only 0 --top 0`.")


#: the doc of a DARTS dev run (any number of archs; the ground truth of the dev benchmark ``bench``) at a fake fitness
#: protocol: C=8, 5 cells, S=16, R=1
def _darts_doc(name: str, acc: list[float], fit: list[float | None], bench: str = "nb301") -> dict:
    return {"protocol": {"space": "darts", "dataset": "cifar10", "seed": 0, "net": {"C": 8, "layers": 5},
                         "batch_size": 16, "repeats": 1, "init": "default"},
            "ground_truth": DARTS_TRUTH[bench],
            "archs": [f"{name}{i}" for i in range(len(acc))], "accuracy": acc, "scores": {"fit": fit}}


def _stage2_fakes(s2, monkeypatch: pytest.MonkeyPatch, values: dict, seconds: dict | None = None) -> list[tuple]:
    """Fakes for what choose_stage2_net imported: every configure returns the fitness protocol with the overrides
    given; score_archs returns records of ``values[(net items, S, R)][arch]`` (None: a failed record; a pair: the
    record's ok and value) and ``seconds[arch]``."""
    calls: list[tuple] = []

    def configure(space, task, fitness, net=None, batch_size=None, repeats=None, data_dir=None):
        prot = SimpleNamespace(net={"C": 8, "layers": 5, **(net or {})}, batch_size=batch_size or 16,
                               repeats=repeats or 1, init="default")
        return prot, "batch", [SimpleNamespace(name="fit")]

    def score_archs(archs, space, proxies, protocol, batch, store, device, desc):
        key = (tuple(sorted(protocol.net.items())), protocol.batch_size, protocol.repeats)
        calls.append((key, tuple(archs), store, device, desc))
        pairs = [v if isinstance(v, tuple) else (v is not None, v) for v in (values[key][a] for a in archs)]
        recs = [SimpleNamespace(ok=ok, value=v, seconds=(seconds or {}).get(a)) for a, (ok, v) in zip(archs, pairs)]
        return {proxies[0].name: recs}

    for name, fake in (("get_benchmark", lambda name, data_dir: SimpleNamespace(space="darts")),
                       ("configure", configure), ("score_archs", score_archs),
                       ("get_space", lambda space: SimpleNamespace(parse=lambda s: s)),
                       ("resolve_device", lambda d: f"device {d}"), ("ScoreStore", lambda p: f"store {p}")):
        monkeypatch.setattr(s2, name, fake)
    return calls


def test_devrun_reads_the_runs_fitness_and_refuses_another_protocol(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s2 = load_script("choose_stage2_net", "gaps_s2d")
    _stage2_fakes(s2, monkeypatch, {})
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_darts_doc("nb301", [90.0, 91.0, 92.0], [1.5, None, 0.5])))
    run = s2.DevRun("nb301", str(path), "data")
    assert (run.name, run.space, run.task, run.proxy) == ("nb301", "darts", "cifar10", "fit")
    assert run.f1.tolist() == [1.5, -math.inf, 0.5]  # a failed fitness ranks last
    assert run.acc.tolist() == [90.0, 91.0, 92.0]
    for change in ({"repeats": 4}, {"batch_size": 20}, {"init": "kaiming"}, {"net": {"C": 16, "layers": 5}}):
        doc = _darts_doc("nb301", [90.0, 91.0], [1.0, 2.0])
        doc["protocol"].update(change)
        path.write_text(json.dumps(doc))
        with pytest.raises(SystemExit, match=r"is not a run of `best` \(fit\) at the darts fitness protocol"):
            s2.DevRun("nb301", str(path), "data")
    doc = _darts_doc("nb301", [90.0, 91.0], [1.0, 2.0])
    doc["scores"] = {"swap": [1.0, 2.0]}  # the run did not score the fitness
    path.write_text(json.dumps(doc))
    with pytest.raises(SystemExit, match="is not a run of `swap_darts`"):
        s2.DevRun("nb301", str(path), "data", fitness="swap_darts")


def test_devrun_stage2_scores_the_top_fittest_and_ranks_failures_last(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Archs by fitness: 3 (9.0), then 0 and 5 (both 7.0; the earlier first), 2, 4, 1 (failed). The top 4 are
    3, 0, 5, 2; stage 2 fails on 5 (a failed record) and gives 0 no value (a record marked ok): both −inf."""
    s2 = load_script("choose_stage2_net", "gaps_s2e")
    key = ((("C", 16), ("layers", 8)), 20, 2)
    values = {key: {"g0": (True, None), "g1": 1.0, "g2": 4.0, "g3": 3.0, "g4": 0.0, "g5": (False, 2.0)}}
    calls = _stage2_fakes(s2, monkeypatch, values, {"g0": 2.0, "g3": 1.0, "g5": None, "g2": 4.0})
    acc = [80.0, 70.0, 95.0, 90.0, 60.0, 85.0]
    path = tmp_path / "results.json"
    doc = _darts_doc("g", acc, [7.0, None, 3.0, 9.0, 1.0, 7.0], "darts_swap")
    path.write_text(json.dumps(doc))
    run = s2.DevRun("darts_swap", str(path), "data")
    f2, secs, rho = run.stage2(4, {"C": 16, "layers": 8}, 20, 2, "data", "the store")
    assert list(f2) == [3, 0, 5, 2]
    assert f2 == {3: 3.0, 0: -math.inf, 5: -math.inf, 2: 4.0}
    assert calls == [(key, ("g3", "g0", "g5", "g2"), "the store", "device cpu",
                      "darts_swap {'C': 16, 'layers': 8} S=20 R=2")]
    assert secs == 1.5  # median of 1.0, 2.0, 0 (no seconds), 4.0
    assert rho == pytest.approx(naive_spearman([3.0, -math.inf, -math.inf, 4.0], [90.0, 80.0, 85.0, 95.0]), abs=1e-12)


#: the DARTS candidates --only 0,2 selects: (label, the scored network it overrides, S, R)
ONLY_0_2 = (("C=8, 5 cells, S=16, R=4", {}, 16, 4), ("C=16, 5 cells, S=20, R=1", {"C": 16}, 20, 1))


def _key(net: dict, s: int, r: int) -> tuple:
    return tuple(sorted({"C": 8, "layers": 5, **net}.items())), s, r


def _stage2_world(tmp_path: Path, sign: float, noises: tuple[float, float] = (1.5, 0.5)) -> tuple[dict, dict, dict,
                                                                                                  dict]:
    """Two DARTS dev runs (60 and 44 archs, accuracy std about 0.6 and 5), a noisy stage 1, and a stage 2 per
    candidate that is ``sign`` × (accuracy + noise · std): by default the second candidate is the less noisy; one
    record fails on each run."""
    rng = np.random.default_rng(12)
    docs, values, seconds, paths = {}, {}, {}, {}
    for name, n, sd in (("nb301", 60, 0.6), ("darts_swap", 44, 5.0)):
        acc = rng.normal(90.0, sd, n)
        fit = (acc + rng.normal(0.0, 2.0 * sd, n)).tolist()
        fit[3] = None
        docs[name] = _darts_doc(name, acc.tolist(), fit, name)
        paths[name] = tmp_path / name / "results.json"
        paths[name].parent.mkdir()
        paths[name].write_text(json.dumps(docs[name]))
        for (_, net, s, r), noise in zip(ONLY_0_2, noises):
            table = values.setdefault(_key(net, s, r), {})
            for i, a in enumerate(acc):
                table[f"{name}{i}"] = float(sign * (a + rng.normal(0.0, noise * sd)))
            table[f"{name}5"] = None
        for i in range(n):
            seconds[f"{name}{i}"] = None if i % 9 == 0 else round(0.1 * (i % 7) + 0.05, 2)
    return docs, values, seconds, paths


def _naive_stage2(doc: dict, values: dict, seconds: dict, top: int) -> tuple[dict, list[str]]:
    """Per candidate: stage 2 over the ``top`` fittest archs, and the cost rows."""
    f1 = [-math.inf if v is None else v for v in doc["scores"]["fit"]]
    order = sorted(range(len(f1)), key=lambda i: -f1[i])[:top]
    name = doc["archs"][0][:-1]
    f2s, cost = {}, []
    for label, net, s, r in ONLY_0_2:
        table = values[_key(net, s, r)]
        vals = [-math.inf if table[doc["archs"][i]] is None else table[doc["archs"][i]] for i in order]
        f2s[label] = dict(zip(order, vals))
        secs = sorted(seconds[doc["archs"][i]] or 0.0 for i in order)
        median = (secs[len(secs) // 2 - 1] + secs[len(secs) // 2]) / 2  # top is even
        rho = naive_spearman(vals, [doc["accuracy"][i] for i in order])
        cost.append(f"| {name} | {label} | {median:.2f} | {rho:.3f} |")
    return f2s, cost


def test_main_tables_every_candidate_and_chooses_by_the_worst_normalised_gain(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    s2 = load_script("choose_stage2_net", "gaps_s2f")
    docs, values, seconds, paths = _stage2_world(tmp_path, 1.0)
    calls = _stage2_fakes(s2, monkeypatch, values, seconds)
    out = tmp_path / "stage2.md"
    argv = [f"nb301={paths['nb301']}", f"darts_swap={paths['darts_swap']}", "--data-dir", "data", "--store",
            "dev.sqlite", "--out", str(out), "--only", "0,2", "--top", "40", "--budget", "0.4", "--draws", "40"]
    run_main(s2, monkeypatch, *argv)
    printed = capsys.readouterr().out
    assert out.read_text() == printed
    lines = printed.splitlines()
    # each run's candidates, in --only order, on its 40 fittest archs, into the store given
    assert [(c[0], len(c[1]), c[2]) for c in calls] == [(_key(net, s, r), 40, "store dev.sqlite")
                                                        for _ in range(2) for _, net, s, r in ONLY_0_2]
    assert "40 random subsets of 40% of the dev set's archs" in lines[0]
    assert lines[1:4] == ["", "Made by `python scripts/choose_stage2_net.py " + " ".join(argv) + "`.", ""]
    head = ["| stage 2 | K=3: acc / P(top 5 %) / gain | K=5: acc / P(top 5 %) / gain | K=10: acc / P(top 5 %) / "
            "gain | K=20: acc / P(top 5 %) / gain | draws kept (K=3/5/10/20) |", "|---|---|---|---|---|---|"]
    want, means, base, k1s, halves, half_means, costs = [], {}, {}, {}, [], [], []
    for name in ("nb301", "darts_swap"):
        doc = docs[name]
        acc, f1 = doc["accuracy"], [-math.inf if v is None else v for v in doc["scores"]["fit"]]
        f2s, cost = _naive_stage2(doc, values, seconds, 40)
        costs += cost
        rows, means[name], k1, base[name] = _naive_sim_rows(acc, f1, f2s, list(range(len(acc))), 0.4, 40)
        k1s[name] = {key: k1 for key in means[name]}
        want += [f"**{name}** ({len(acc)} archs, accuracy std {_std(acc):.2f}; K = 1, no second stage, all 40 "
                 f"draws: {k1:.3f}):", "", *head, *rows, ""]
        for h in (0, 1):
            idx = list(range(h, len(acc), 2))
            hrows, hmeans, hk1, hbase = _naive_sim_rows(acc, f1, f2s, idx, 0.4, 40)
            half_means.append((f"{name} half {h}", hmeans, hbase))
            halves += [f"{name}, archs with index % 2 = {h} ({len(idx)} archs; K = 1, all draws: {hk1:.3f}):", "",
                       *head, *hrows, ""]
    accs = {n: docs[n]["accuracy"] for n in docs}
    chosen = _naive_choice(["nb301", "darts_swap"], accs, means, base)
    assert chosen is not None
    # these data make both parts of the rule matter: by the worst raw gain, or against K = 1 over all draws (not
    # over the draws each key kept), another (candidate, K) would have won
    worst_raw = {key: min(means[n][key] - base[n][key] for n in docs) for key in means["nb301"]}
    assert max(worst_raw, key=worst_raw.get) != chosen
    assert _naive_choice(["nb301", "darts_swap"], accs, means, k1s) not in (chosen, None)
    want += [f"**Chosen** (the highest worst gain over K = 1 (on the same kept draws) across the dev sets, each in "
             f"units of its accuracy std): {chosen[0]}, K = {chosen[1]} (" + ", ".join(
                 f"{n} {means[n][chosen]:.3f} vs K = 1 {base[n][chosen]:.3f}" for n in ("nb301", "darts_swap")) + ").",
             "", "Consistency check on two disjoint halves of each dev set (not a choice):", "", *halves,
             "The chosen stage against K = 1 (same kept draws) on each half: " + "; ".join(
                 f"{n} {hm[chosen]:.3f} vs {hb[chosen]:.3f}" for n, hm, hb in half_means) + ".", "",
             "Cost and ρ of stage 2 over the scored archs (seconds per arch: the stored records' median, from runs "
             "on a shared machine):", "", "| dev set | stage 2 | s/arch | ρ |", "|---|---|---|---|", *costs]
    assert lines[4:] == want


def test_main_with_one_dev_set_and_no_gain_chooses_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A stage 2 of −accuracy picks the worst of every short list: it never gains, so nothing is chosen
    and the halves get no 'chosen stage' line; with one dev set the rule is the gain itself."""
    s2 = load_script("choose_stage2_net", "gaps_s2g")
    _, values, seconds, paths = _stage2_world(tmp_path, -1.0, (0.0, 0.0))
    _stage2_fakes(s2, monkeypatch, values, seconds)
    out = tmp_path / "stage2.md"
    run_main(s2, monkeypatch, f"nb301={paths['nb301']}", "--data-dir", "d", "--store", "s", "--out", str(out),
          "--only", "0,2", "--draws", "30")
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == (f"Made by `python scripts/choose_stage2_net.py nb301={paths['nb301']} --data-dir d --store s "
                        f"--out {out} --only 0,2 --draws 30`.")
    chosen = [x for x in lines if x.startswith("**Chosen**")]
    assert chosen == ["**Chosen** (the highest gain over K = 1 on the same kept draws): none (no candidate gains on "
                      "every dev set)"]
    assert not any(x.startswith("The chosen stage") for x in lines)
    gains = [cell.split(" / ")[2] for x in lines if x.startswith("| C=") for cell in x.split(" | ")[1:5]]
    assert len(gains) == 2 * 3 * 4 and all(g.startswith("-") for g in gains)


# ==== stage2_ensemble_dev.py =========================================================================================

def _naive_ensemble_rows(acc: list[float], f1: list[float], f2: dict[int, float], idx: list[int], draws: int,
                         ks: tuple[int, ...], rules: dict) -> list[str]:
    a, g1 = [acc[j] for j in idx], [f1[j] for j in idx]
    pos = {j: p for p, j in enumerate(idx)}
    g2 = {pos[j]: v for j, v in f2.items() if j in pos}
    n = max(max(ks) + 1, round(0.2 * len(idx)))
    out = []
    for w in (0.0, 0.25, 0.5, 1.0, 2.0, 4.0):
        g = {i: w * g1[i] + v for i, v in g2.items()}
        cells = [_naive_paired(a, g1, g, k, n, draws) for k in ks]
        out.append(f"| {w:g} · f1 + f2 | " + " | ".join(f"{c[0]:.3f} ({draws - c[2]})" for c in cells) + " |")
    for label, pick in rules.items():
        cells = [_naive_paired(a, g1, g2, k, n, draws, pick) for k in ks]
        out.append(f"| {label} | " + " | ".join(f"{c[0]:.3f} ({draws - c[2]})" for c in cells) + " |")
    return out


def _first(v1, v2) -> int:
    """A rule that keeps the short list's first (stage 1's pick)."""
    return 0


def _lowest_stage2(v1, v2) -> int:
    return int(np.argmin(v2))


def test_ensemble_rows_weigh_stage_one_in_and_run_each_rule_on_the_same_draws() -> None:
    """w · f1 + f2 for each weight (w = 0: stage 2 alone), then each rule, over a shuffled subset of the archs with
    f2 on the 60 fittest only (long short lists leave it). A rule that keeps the short list's first must give K = 1's
    mean on the kept draws."""
    ens = load_script("stage2_ensemble_dev", "gaps_ens_a")
    rng = np.random.default_rng(20)
    acc = rng.normal(90.0, 3.0, 70)
    f1 = acc + rng.normal(0.0, 2.0, 70)
    order = sorted(range(70), key=lambda i: -f1[i])
    f2 = {i: float(acc[i] + rng.normal(0.0, 2.0)) for i in order[:60]}
    idx = rng.permutation(70)[:55]
    run = SimpleNamespace(acc=acc, f1=f1)
    rules = {"first": _first, "lowest stage 2": _lowest_stage2}
    for ks in ((3, 5), (10, 21)):  # 21 and 22 archs per draw (20 % of 55 is 11)
        got = ens.rows(run, f2, idx, 50, ks, rules)
        assert got == _naive_ensemble_rows(acc.tolist(), f1.tolist(), f2, idx.tolist(), 50, ks, rules)
        assert len({r.split(" | ", 1)[1] for r in got[:6]}) > 1  # the weights change the picks
    assert 0 < int(got[0].rsplit("(", 1)[1].split(")")[0]) < 50  # K = 21: some draws kept, some left out
    a, g1, pos = acc[idx].tolist(), f1[idx].tolist(), {j: p for p, j in enumerate(idx.tolist())}
    g2 = {pos[j]: v for j, v in f2.items() if j in pos}
    m, _, out, base = _naive_paired(a, g1, g2, 5, 11, 50)  # K = 5 alone: 11 archs per draw (20 % of 55)
    first = ens.rows(run, f2, idx, 50, (5,), {"first": _first})[-1]
    assert first == f"| first | {base:.3f} ({50 - out}) |" and f"{base:.3f}" != f"{m:.3f}"


class _FakeDevRun:
    """The 1000-arch NB201 dev run, its stage 1 and a stage 2 on the ``top`` fittest, as DevRun gives them."""

    calls: list[tuple] = []

    def __init__(self, bench: str, path: str, data_dir: str) -> None:
        rng = np.random.default_rng(46)
        self.archs = [f"a{i}" for i in range(1000)]
        self.acc = rng.normal(88.0, 4.0, 1000)
        self.f1 = self.acc + rng.normal(0.0, 3.0, 1000)
        self.f2_all = self.acc + rng.normal(0.0, 1.5, 1000)
        _FakeDevRun.calls.append(("init", bench, path, data_dir))

    def stage2(self, top, net, s, r, data_dir, store):
        _FakeDevRun.calls.append(("stage2", top, net, s, r, data_dir, store))
        order = np.argsort(-self.f1, kind="stable")[:top]
        return {int(j): float(self.f2_all[j]) for j in order}, 0.0, 0.0


@pytest.mark.parametrize("weights_only", [False, True])
def test_ensemble_main_tables_the_whole_sample_and_its_halves(
        weights_only: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    ens = load_script("stage2_ensemble_dev", "gaps_ens_b")
    _FakeDevRun.calls = []
    rules = {"first (fake)": _first, "lowest stage 2 (fake)": _lowest_stage2}
    for name, fake in (("DevRun", _FakeDevRun), ("ScoreStore", lambda p: f"store {p}"), ("RULES", rules)):
        monkeypatch.setattr(ens, name, fake)
    out = tmp_path / "ens.md"
    run_main(ens, monkeypatch, "dev.json", "--data-dir", "data", "--store", "s.sqlite", "--top", "150", "--draws", "25",
          "--cells", "5", "--ks", "5,20", *(["--weights-only"] if weights_only else []), "--out", str(out))
    printed = capsys.readouterr().out
    assert out.read_text() + "\n" == printed
    assert _FakeDevRun.calls[0] == ("init", "nb201", "dev.json", "data")
    assert _FakeDevRun.calls[1] == ("stage2", 150, {"N": 5}, 20, 1, "data", "store s.sqlite")
    run = _FakeDevRun("nb201", "again", "data")
    order = sorted(range(1000), key=lambda i: -run.f1[i])[:150]
    f2 = {i: float(run.f2_all[i]) for i in order}
    stage = "" if weights_only else "Second stage: `best` on C=16, N=5, S=20, R=1. "
    want = [f"{stage}Mean dev accuracy of the simulated searches' pick (25 draws of 20 % of the archs, the draws of "
            "scripts/choose_stage2_net.py; the first row is the default second stage; in brackets the draws kept: a "
            "draw whose short list reaches below the 150 archs with a second-stage score is left out). Run: "
            "`dev.json`.", ""]
    for label, idx in (("all 1000", range(1000)), ("index % 2 = 0", range(0, 1000, 2)),
                       ("index % 2 = 1", range(1, 1000, 2))):
        want += [f"**{label}**:", "", "| second stage | K=5 | K=20 |", "|---|---|---|",
                 *_naive_ensemble_rows(run.acc.tolist(), run.f1.tolist(), f2, list(idx), 25, (5, 20),
                                       {} if weights_only else rules), ""]
    assert printed.splitlines() == want


# ==== swap_variants_dev.py ===========================================================================================

def test_parse_fitness_and_the_fitness_each_space_takes() -> None:
    sv = load_script("swap_variants_dev", "gaps_sv_a")
    assert sv.parse_fitness("swap") == {None: "swap"}
    documented = sv.parse_fitness(sv.DOCUMENTED_FITNESS)
    assert documented == {"nb201": "swap_prog", "darts": "swap_darts"}
    assert sv.parse_fitness(" nb201 = swap_prog , swap ,") == {"nb201": "swap_prog", None: "swap"}
    with pytest.raises(KeyError, match="unknown proxy 'swap_progg'"):
        sv.parse_fitness("nb201=swap_progg")
    assert sv.fitness_name("darts", documented) == "swap_darts"
    assert sv.fitness_name("darts", {"darts": "swap", None: "params"}) == "swap"
    assert sv.fitness_name("nb201", {"darts": "swap", None: "params"}) == "params"
    from swapnas.session import best_for
    assert sv.fitness_name("flexibert", documented) == best_for("flexibert")


def test_fitness_from_the_runs_stored_bases() -> None:
    sv = load_script("swap_variants_dev", "gaps_sv_b")
    doc = {"scores": {"swap": [100.0, 250.0, 40.0], "az_nas_progressivity": [0.5, -1.0, 2.0],
                      "az_nas_expressivity": [3.0, 1.0, 2.0], "params": [1e5, 2e5, 5e4]}}
    assert sv._fitness(doc, "swap").tolist() == [100.0, 250.0, 40.0]
    # swap_prog = ln Ψ + 1.5 · progressivity; swap_darts = ln Ψ + ln expressivity + 0.25 · progressivity
    # + 0.5 · ln params (src/swapnas/proxies/best.py's terms, written out)
    assert sv._fitness(doc, "swap_prog").tolist() == pytest.approx(
        [math.log(100.0) + 0.75, math.log(250.0) - 1.5, math.log(40.0) + 3.0], abs=1e-12)
    assert sv._fitness(doc, "swap_darts").tolist() == pytest.approx(
        [math.log(s) + math.log(e) + 0.25 * p + 0.5 * math.log(q) for s, e, p, q in
         zip(*(doc["scores"][b] for b in ("swap", "az_nas_expressivity", "az_nas_progressivity", "params")))],
        abs=1e-12)
    short = {"scores": {"swap": [1.0], "zico": [2.0]}}
    with pytest.raises(SystemExit, match=r"^r\.json: no stored scores of az_nas_expressivity, az_nas_progressivity, "
                                         r"params \(bases of fitness swap_darts\); the run has swap, zico\. Choose "
                                         r"another --fitness \(documented: nb201=swap_prog,darts=swap_darts\)"):
        sv._fitness(short, "swap_darts", "r.json")
    with pytest.raises(SystemExit, match=r"no stored scores of az_nas_progressivity \(base of fitness swap_prog\)"):
        sv._fitness(short, "swap_prog")
    with pytest.raises(SystemExit, match=r"^the run: no stored scores of fitness params; the run has swap, zico"):
        sv._fitness(short, "params")
    with pytest.raises(SystemExit, match="te_nas: a set-level proxy"):
        sv._fitness(short, "te_nas")


@pytest.mark.parametrize("fitness", ["swap_prog", "swap"])
def test_fitness_with_a_failed_stored_score_is_refused_by_name(fitness: str) -> None:
    """A run records a failed score as null. swap_prog's bases went into the log-linear sum as None (a TypeError, no
    word of which arch or base); a stored fitness became nan and made every ρ of the table nan, silently."""
    sv = load_script("swap_variants_dev", "gaps_sv_h")
    doc = {"scores": {"swap": [100.0, None, 40.0, None], "az_nas_progressivity": [0.5, -1.0, None, 1.0]}}
    bases = "swap on 2 archs, az_nas_progressivity on 1 archs" if fitness == "swap_prog" else "swap on 2 archs"
    with pytest.raises(SystemExit, match=rf"^r\.json: no value of {bases} \(failed scores\) for fitness {fitness}: "
                                         "rescore them or choose another --fitness$"):
        sv._fitness(doc, fitness, "r.json")


def _z(v: list[float]) -> list[float]:
    m, sd = sum(v) / len(v), _std(v)
    return [(x - m) / sd for x in v]


W_GRID = (-0.5, -0.2, -0.1, -0.05, 0.05, 0.1, 0.2, 0.5)
VARIANT_NAMES = ("swap", "layer_logsum", "layer_logmean", "layer_norm", "union_entropy", "layer_entropy", "maps")


def _naive_scan(acc: list[float], base: list[float], var: dict[str, list[float]]) -> dict[str, dict]:
    out = {}
    for k in VARIANT_NAMES:
        z = _z(var[k])
        out[k] = {None: naive_spearman(var[k], acc), 0.0: naive_spearman(base, acc),
                  **{w: naive_spearman([b + w * y for b, y in zip(base, z)], acc) for w in W_GRID}}
    return out


def _naive_table(name: str, n: int, scan: dict) -> list[str]:
    lines = [f"### {name} ({n} archs; `best` on the stored components: ρ {scan['swap'][0.0]:.3f})", "",
             "| variant | ρ alone | best + w · z(variant): best ρ (w) | ρ at w = ±0.1 |", "|---|---|---|---|"]
    for k in VARIANT_NAMES:
        top = W_GRID[0]
        for w in W_GRID:  # the first of equal ρ
            if scan[k][w] > scan[k][top]:
                top = w
        lines.append(f"| {k} | {scan[k][None]:.3f} | {scan[k][top]:.3f} ({top:+g}) | {scan[k][-0.1]:.3f} / "
                     f"{scan[k][0.1]:.3f} |")
    return lines + [""]


def _naive_joint(space: str, names: list[str], scans: list[dict]) -> list[str]:
    lines = [f"### {space}: one w for all {len(names)} dev runs, by the worst ρ (w = 0: `best` as it is)", "",
             f"| variant | w | worst ρ | {' | '.join(names)} |", "|---|---|---|" + "---|" * len(names)]
    for k in VARIANT_NAMES:
        top = 0.0
        for w in (0.0, *W_GRID):
            if min(sc[k][w] for sc in scans) > min(sc[k][top] for sc in scans):
                top = w
        per = [sc[k][top] for sc in scans]
        lines.append(f"| {k} | {top:+g} | {min(per):.3f} | " + " | ".join(f"{r:.3f}" for r in per) + " |")
    return lines + [""]


def _variant_world(n: int, seed: int) -> tuple[list[float], list[float], dict[str, list[float]]]:
    """Accuracy, a fitness and seven variants: some variants carry what the fitness misses (+), some hurt (−)."""
    rng = np.random.default_rng(seed)
    acc = rng.normal(90.0, 3.0, n)
    miss = rng.normal(0.0, 3.0, n)
    base = acc + miss + rng.normal(0.0, 1.0, n)
    var = {k: (acc * c + miss * m + rng.normal(0.0, 2.0, n)).tolist()
           for k, c, m in zip(VARIANT_NAMES, (1, 0, -1, 2, 0, 1, 0.3), (0, -1, 1, -2, 0, 1, -0.5))}
    return acc.tolist(), base.tolist(), var


def test_scans_table_and_joint_against_naive_rho() -> None:
    """ρ alone, ρ of best, ρ of best + w · z(variant) per w of the grid; the table's best w (w = 0 not offered),
    the joint table's w by the worst ρ over the runs (w = 0 offered)."""
    sv = load_script("swap_variants_dev", "gaps_sv_c")
    scans, tables = [], []
    for seed in (1, 2):
        acc, base, var = _variant_world(30, seed)
        scan = sv.scans({"accuracy": acc}, {k: np.array(v) for k, v in var.items()}, np.array(base))
        want = _naive_scan(acc, base, var)
        assert list(scan) == list(VARIANT_NAMES)
        for k in VARIANT_NAMES:
            assert list(scan[k]) == [None, 0.0, *W_GRID]
            assert [scan[k][w] for w in scan[k]] == pytest.approx([want[k][w] for w in scan[k]], abs=1e-12)
        assert sv.table(f"run{seed}", 30, scan) == _naive_table(f"run{seed}", 30, want)
        tables.append(_naive_table("x", 30, want))
        scans.append(scan)
    joint = sv.joint("darts", ["run1", "run2"], scans)
    assert joint == _naive_joint("darts", ["run1", "run2"], scans)
    # the data choose different weights, and the joint rule keeps w = 0 for some variant and not for another
    assert len({row.split(" | ")[3] for t in tables for row in t[4:-1]}) > 2
    assert len({row.split(" | ")[1] for row in joint[4:-1]}) > 1


def test_scans_of_a_constant_variant_add_nothing() -> None:
    """A variant with no spread (z undefined) is a zero term: every w gives best's own ρ."""
    sv = load_script("swap_variants_dev", "gaps_sv_d")
    acc, base, var = _variant_world(12, 3)
    var["maps"] = [5.0] * 12
    with pytest.warns(Warning):  # scipy: ρ of a constant input is undefined
        scan = sv.scans({"accuracy": acc}, {k: np.array(v) for k, v in var.items()}, np.array(base))
    assert math.isnan(scan["maps"][None])
    rho_best = naive_spearman(base, acc)
    assert [scan["maps"][w] for w in (0.0, *W_GRID)] == pytest.approx([rho_best] * 9, abs=1e-12)


def test_run_variants_checks_the_recomputed_swap_against_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    sv = load_script("swap_variants_dev", "gaps_sv_e")
    built: list[tuple] = []
    per_arch = {f"x{i}": {k: float(10 * i + j) for j, k in enumerate(VARIANT_NAMES)} for i in range(3)}
    prot = SimpleNamespace(space="darts")
    batch = SimpleNamespace(num_classes=10, inputs="the inputs")
    monkeypatch.setattr(sv, "stored_run", lambda protocol, data_dir: (prot, batch))
    monkeypatch.setattr(sv, "get_space", lambda space: SimpleNamespace(build="build", parse=lambda a: f"parsed {a}"))

    def build_scored_net(build, arch, protocol, classes, seed, device):
        built.append((build, arch, protocol, classes, seed, str(device)))
        return arch.split()[1]

    monkeypatch.setattr(sv, "build_scored_net", build_scored_net)
    monkeypatch.setattr(sv, "arch_variants", lambda model, inputs: per_arch[model])
    doc = {"protocol": {"space": "darts"}, "archs": ["x0", "x1", "x2"], "scores": {"swap": [0.0, 10.0, 20.0]}}
    out = sv.run_variants(doc, "data")
    assert list(out) == list(VARIANT_NAMES)
    assert out["maps"].tolist() == [6.0, 16.0, 26.0] and out["swap"].tolist() == [0.0, 10.0, 20.0]
    assert built == [("build", f"parsed x{i}", prot, 10, 0, "cpu") for i in range(3)]
    doc["scores"]["swap"] = [0.0, 10.0, 21.0]
    with pytest.raises(SystemExit) as exc:
        sv.run_variants(doc, "data")
    assert str(exc.value) == ("the recomputed SWAP differs from the run's stored swap (first at x2: 20 against 21): "
                              "not the run's protocol")
    doc["scores"]["swap"] = [0.0, None, None]  # a failed score: refused before any network is built
    built.clear()
    with pytest.raises(SystemExit) as exc:
        sv.run_variants(doc, "data")
    assert str(exc.value) == "the run's swap failed on 2 archs (first x1): rescore them first" and built == []


def test_swap_variants_main_tables_each_run_and_one_weight_per_space(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """An NB201 dev run (1000 archs; the documented fitness there: swap_prog) and two DARTS dev runs (swap_darts):
    a table per run, and one joint table, for DARTS only (NB201 has one run)."""
    sv = load_script("swap_variants_dev", "gaps_sv_f")
    rng = np.random.default_rng(9)
    swap, prog = rng.uniform(1e3, 6e4, 1000).tolist(), rng.normal(0.0, 1.0, 1000).tolist()
    acc201 = [math.log(s) + 1.5 * p + float(rng.normal(0.0, 1.0)) for s, p in zip(swap, prog)]
    nb201 = {"protocol": {"space": "nb201", "dataset": "cifar10", "seed": 0},
             "ground_truth": DEV_TRUTH,
             "archs": [f"n{i}" for i in range(1000)], "accuracy": acc201,
             "scores": {"swap": swap, "az_nas_progressivity": prog}}
    paths = [tmp_path / "dev_nb201" / "results.json"]
    variants = {"n": {k: rng.normal(size=1000) for k in VARIANT_NAMES}}
    darts_base = {}
    for name, seed, tag in (("dev_darts_swap", 4, "s"), ("dev_nb301", 5, "b")):
        acc, base, var = _variant_world(25, seed)
        r = np.random.default_rng(seed)
        scores = {"swap": r.uniform(100.0, 900.0, 25).tolist(), "az_nas_expressivity": r.uniform(1.0, 5.0, 25).tolist(),
                  "az_nas_progressivity": r.normal(size=25).tolist(), "params": r.uniform(1e5, 9e5, 25).tolist()}
        darts_base[name] = [math.log(s) + math.log(e) + 0.25 * p + 0.5 * math.log(q) for s, e, p, q in zip(
            *(scores[b] for b in ("swap", "az_nas_expressivity", "az_nas_progressivity", "params")))]
        variants[tag] = {k: np.array(v) for k, v in var.items()}
        doc = {"protocol": {"space": "darts", "dataset": "cifar10", "seed": 0},
               "ground_truth": DARTS_TRUTH[name.removeprefix("dev_")],
               "archs": [f"{tag}{i}" for i in range(25)], "accuracy": acc, "scores": scores}
        paths.append(tmp_path / name / "results.json")
        paths[-1].parent.mkdir()
        paths[-1].write_text(json.dumps(doc))
    paths[0].parent.mkdir()
    paths[0].write_text(json.dumps(nb201))
    seen: list[str] = []

    def run_variants(doc: dict, data_dir: str) -> dict:
        seen.append(doc["archs"][0])
        return variants[doc["archs"][0][0]]

    monkeypatch.setattr(sv, "run_variants", run_variants)
    out = tmp_path / "variants.md"
    assert run_main(sv, monkeypatch, *map(str, paths), "--data-dir", "data", "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert out.read_text() + "\n" == printed
    assert seen == ["n0", "s0", "b0"]  # every run's variants, in the order given
    lines = printed.splitlines()
    assert lines[:2] == ["SWAP variants on dev data (`python scripts/swap_variants_dev.py` with the runs below); "
                         "every figure is in-sample. z(variant): the variant standardised over the run's archs.", ""]
    rho201 = naive_spearman([math.log(s) + 1.5 * p for s, p in zip(swap, prog)], acc201)
    assert lines[2] == f"### `{paths[0]}` (1000 archs; `best` on the stored components: ρ {rho201:.3f})"
    assert [x.split(" | ")[0] for x in lines[6:13]] == [f"| {k}" for k in VARIANT_NAMES]
    want, scans = [], []
    for path, name, tag in zip(paths[1:], ("dev_darts_swap", "dev_nb301"), "sb"):
        doc = json.loads(path.read_text())
        scan = _naive_scan(doc["accuracy"], darts_base[name], {k: v.tolist() for k, v in variants[tag].items()})
        want += _naive_table(f"`{path}`", 25, scan)
        scans.append(scan)
    want += _naive_joint("darts", ["dev_darts_swap", "dev_nb301"], scans)
    assert lines[14:] == want


def test_arch_variants_layer_logmean_and_the_two_to_the_s_ceiling() -> None:
    """Two samples (S = 2: at most 4 patterns): a conv map of 4 × 3 × 3 = 36 neurons (ceiling 2^S = 4) and one of
    3 × 1 × 1 = 3 neurons (ceiling 3, fewer neurons than patterns). Counted with Python sets."""
    sv = load_script("swap_variants_dev", "gaps_sv_g")
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 3, 3), nn.ReLU())
    x = torch.randn(2, 3, 5, 5)
    with torch.no_grad():
        h1 = model[1](model[0](x))
        h2 = model[3](model[2](h1))
    psi = [len({tuple(bool(v) for v in col) for col in (h > 0).reshape(2, -1).t().tolist()}) for h in (h1, h2)]
    got = sv.arch_variants(model, x)
    assert got["maps"] == 2.0
    assert got["layer_logmean"] == pytest.approx((math.log(psi[0]) + math.log(psi[1])) / 2, abs=1e-12)
    assert got["layer_norm"] == pytest.approx((psi[0] / 4 + psi[1] / 3) / 2, abs=1e-12)
    assert psi[0] > 1 and psi[1] > 1


# ==== lswag_layers_dev.py ============================================================================================

def test_bin_of_is_the_papers_depth_percentile_bin() -> None:
    """Eq. 6 with 10 bins: bin = ⌊100 · l / D / 10⌋ = ⌊10 l / D⌋ (integers), at most 9. By hand: of 25 layers, 0–2
    are in bin 0 (8 %), 3 in bin 1 (12 %), 24 in bin 9 (96 %); of 3 layers, bins 0, 3 and 6 (0, 33, 67 %)."""
    ly = load_script("lswag_layers_dev", "gaps_ly_a")
    assert [ly.bin_of(i, 25) for i in (0, 2, 3, 24)] == [0, 0, 1, 9]
    assert [ly.bin_of(i, 3) for i in range(3)] == [0, 3, 6]
    assert [ly.bin_of(i, 10) for i in range(10)] == list(range(10))
    for depth in range(1, 61):
        assert [ly.bin_of(i, depth) for i in range(depth)] == [min(9, 10 * i // depth) for i in range(depth)]


def _lswag_world(n: int, seed: int) -> dict[str, np.ndarray]:
    """Per-bin Λ (positive; arch 1 has no layer term in bins 7–9, arch 4 failed: NaN) and cumulative Ψ; the accuracy
    follows the early bins' Λ and Ψ, plus noise."""
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0.5, 2.0, (n, 10))
    psi = np.cumsum(rng.uniform(10.0, 100.0, (n, 10)), axis=1)
    acc = np.log(lam[:, :4].sum(1)) + 0.3 * np.log(psi[:, 5]) + rng.normal(0.0, 0.15, n)
    lam[1, 7:] = 0.0
    lam[4] = np.nan
    psi[4] = np.nan
    return {"lam": lam, "psi": psi, "acc": acc}


IVS = [(a, b) for a in range(10) for b in range(a, 10)]


def _naive_rho(d: dict, a: int, b: int, idx) -> float:
    """ρ over the archs ``idx`` (all: None) of ln Ψ_≤b + ln Σ_{a..b} Λ, −inf where that sum is 0, a failed arch out."""
    keep = [i for i in (range(len(d["acc"])) if idx is None else idx) if not math.isnan(d["lam"][i, 0])]
    vals = []
    for i in keep:
        s = sum(float(d["lam"][i, j]) for j in range(a, b + 1))
        vals.append(math.log(d["psi"][i, b]) + math.log(s) if s > 0 else -math.inf)
    return naive_spearman(vals, [float(d["acc"][i]) for i in keep])


def _naive_lswag_choice(runs: list[dict], idx: list) -> tuple[tuple[int, int], float]:
    best, score = None, -math.inf
    for iv in IVS:
        worst = min(_naive_rho(d, *iv, i) for d, i in zip(runs, idx))
        if worst > score:
            best, score = iv, worst
    return best, score


def _naive_split_rows(runs: list[dict], seeds: list[int]) -> list[str]:
    rows = ["| seed | chosen on | interval | worst ρ there | worst ρ on the other half | whole network there |",
            "|---|---|---|---|---|---|"]
    for seed in seeds:
        rng = np.random.default_rng(seed)
        orders = [rng.permutation(len(d["acc"])).tolist() for d in runs]
        halves = {"A": [o[:len(o) // 2] for o in orders], "B": [o[len(o) // 2:] for o in orders]}
        for name, other in (("A", "B"), ("B", "A")):
            iv, there = _naive_lswag_choice(runs, halves[name])
            held = min(_naive_rho(d, *iv, i) for d, i in zip(runs, halves[other]))
            whole = min(_naive_rho(d, 0, 9, i) for d, i in zip(runs, halves[other]))
            rows.append(f"| {seed} | {name} | {iv} | {there:.3f} | {held:.3f} | {whole:.3f} |")
    return rows


def test_lswag_choose_and_split_rows_against_naive_rho() -> None:
    ly = load_script("lswag_layers_dev", "gaps_ly_b")
    runs = [_lswag_world(24, 1), _lswag_world(31, 2)]
    iv, worst = ly.choose(runs, [None, None])
    want_iv, want_worst = _naive_lswag_choice(runs, [None, None])
    assert (iv, worst) == (want_iv, pytest.approx(want_worst, abs=1e-12))
    assert iv != (0, 9)  # the signal sits in the early bins
    halves = [list(range(0, 24, 3)), list(range(1, 31, 2))]
    iv_h, worst_h = ly.choose(runs, halves)
    want_iv_h, want_worst_h = _naive_lswag_choice(runs, halves)
    assert iv_h == want_iv_h and worst_h == pytest.approx(want_worst_h, abs=1e-12)
    rows = ly.split_rows(runs, [0, 3])
    assert rows == _naive_split_rows(runs, [0, 3])
    assert len({r.split(" | ")[2] for r in rows[2:]}) > 1  # the halves choose different intervals


def _lswag_doc(lam: dict[str, list[float]], psi: dict[str, list[float]], acc: list[float], failed: set[str]) -> dict:
    """An NB301 dev run of lswag_grad (Λ over all bins; None where ``failed``) and lswag (Λ · Ψ's last bin)."""
    archs = list(lam)
    grad = [None if a in failed else sum(lam[a]) for a in archs]
    return {"protocol": {"space": "darts", "dataset": "cifar10", "seed": 0}, "ground_truth": DARTS_TRUTH["nb301"],
            "archs": archs, "accuracy": acc, "scores": {
                "lswag_grad": grad, "lswag": [None if g is None else g * psi[a][-1] for g, a in zip(grad, archs)]}}


def _bins_fakes(ly, monkeypatch: pytest.MonkeyPatch, lam: dict, psi: dict) -> list[str]:
    scored: list[str] = []
    prot = SimpleNamespace(space="darts")
    monkeypatch.setattr(ly, "stored_run", lambda protocol, data_dir: (prot, SimpleNamespace(num_classes=10,
                                                                                             inputs="inputs")))
    monkeypatch.setattr(ly, "get_space", lambda space: SimpleNamespace(build="build", parse=lambda a: a))
    monkeypatch.setattr(ly, "build_scored_net", lambda build, arch, p, classes, seed, device: arch)

    def lam_bins(model, batch):
        scored.append(model)
        return np.array(lam[model])

    monkeypatch.setattr(ly, "lam_bins", lam_bins)
    monkeypatch.setattr(ly, "psi_bins", lambda model, inputs: np.array(psi[model]))
    return scored


def test_bins_of_run_scores_once_then_reads_its_cache_and_rescores_another_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    ly = load_script("lswag_layers_dev", "gaps_ly_c")
    lam = {f"g{i}": [0.1 * (i + 1) * (j + 1) for j in range(10)] for i in range(4)}
    psi = {f"g{i}": [float(10 * (j + 1) + i) for j in range(10)] for i in range(4)}
    scored = _bins_fakes(ly, monkeypatch, lam, psi)
    path = tmp_path / "run" / "results.json"
    path.parent.mkdir()
    path.write_text(json.dumps(_lswag_doc(lam, psi, [90.0, 91.0, 92.0, 93.0], {"g2"})))
    d = ly.bins_of_run(str(path), "data")
    assert scored == ["g0", "g1", "g3"]  # the arch whose lswag_grad failed in the run is not scored
    assert np.isnan(d["lam"][2]).all() and np.isnan(d["psi"][2]).all()
    assert d["lam"][3].tolist() == lam["g3"] and d["psi"][0].tolist() == psi["g0"]
    cache = dict(np.load(path.parent / "lswag_bins.npz"))
    assert np.array_equal(cache["lam"], d["lam"], equal_nan=True) and cache["acc"].tolist() == [90.0, 91.0, 92.0, 93.0]
    again = ly.bins_of_run(str(path), "data")  # read from the cache: nothing scored again
    assert scored == ["g0", "g1", "g3"] and np.array_equal(again["psi"], d["psi"], equal_nan=True)
    assert capsys.readouterr().out == ""
    # another run (other accuracies) in the same folder: the cache is not its own
    path.write_text(json.dumps(_lswag_doc(lam, psi, [90.0, 91.0, 92.0, 94.0], {"g2"})))
    ly.bins_of_run(str(path), "data")
    assert scored == ["g0", "g1", "g3"] * 2
    assert "does not match" in capsys.readouterr().out


def test_cache_fits_only_the_runs_accuracies_and_stored_lswag_grad() -> None:
    ly = load_script("lswag_layers_dev", "gaps_ly_d")
    lam = np.array([[1.0] * 10, [np.nan] * 10, [2.0] * 10])
    doc = {"accuracy": [1.0, 2.0, 3.0], "scores": {"lswag_grad": [10.0, None, 20.0]}}
    cached = {"lam": lam, "acc": np.array([1.0, 2.0, 3.0])}
    assert ly._cache_fits(cached, doc)
    assert not ly._cache_fits(cached | {"acc": np.array([1.0, 2.0])}, doc)
    assert not ly._cache_fits(cached | {"acc": np.array([1.0, 2.0, 3.5])}, doc)
    assert not ly._cache_fits({"lam": lam}, doc)
    assert not ly._cache_fits(cached, {"accuracy": doc["accuracy"], "scores": {"lswag_grad": [10.0, None, 20.1]}})
    assert not ly._cache_fits(cached, {"accuracy": doc["accuracy"], "scores": {"lswag_grad": [10.0, 5.0, 20.0]}})


@pytest.mark.parametrize("wrong", ["lswag_grad", "lswag"])
def test_bins_of_run_refuses_bins_that_disagree_with_the_runs_stored_values(
        wrong: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ly = load_script("lswag_layers_dev", "gaps_ly_e")
    lam = {f"g{i}": [0.5 + i] * 10 for i in range(3)}
    psi = {f"g{i}": [float(j + 1) for j in range(10)] for i in range(3)}
    _bins_fakes(ly, monkeypatch, lam, psi)
    doc = _lswag_doc(lam, psi, [1.0, 2.0, 3.0], set())
    doc["scores"][wrong][1] *= 1.001
    path = tmp_path / "run" / "results.json"
    path.parent.mkdir()
    path.write_text(json.dumps(doc))
    match = r"^g1: Λ 15\.0 differs from the run's stored lswag_grad" if wrong == "lswag_grad" else \
        "Λ · Ψ differs from the run's stored lswag: not the run's protocol"
    with pytest.raises(SystemExit, match=match):
        ly.bins_of_run(str(path), "data")
    assert not (path.parent / "lswag_bins.npz").exists()


def test_write_interval_writes_the_intervals_lambda_and_psi_beside_the_run(tmp_path: Path) -> None:
    ly = load_script("lswag_layers_dev", "gaps_ly_f")
    path = tmp_path / "dev_run" / "results.json"
    path.parent.mkdir()
    doc = {"protocol": {"space": "darts"}, "archs": ["a", "b", "c"], "accuracy": [1.0, 2.0, 3.0], "scores": {}}
    path.write_text(json.dumps(doc))
    lam = np.array([[float(j) for j in range(10)], [1.0] * 2 + [0.0] * 8, [np.nan] * 10])
    psi = np.array([[float(10 * j) for j in range(10)], [5.0] * 10, [np.nan] * 10])
    out = ly.write_interval(str(path), {"lam": lam, "psi": psi}, (2, 4))
    assert out == str(tmp_path / "dev_run_iv" / "results.json")
    got = json.loads(Path(out).read_text())
    # arch a: Λ over bins 2..4 = 2 + 3 + 4, Ψ_≤4 = 40; b: no layer term there (None), Ψ 5; c failed: None, None
    assert got["scores"] == {"lswag_grad_iv": [9.0, None, None], "swap_iv": [40.0, 5.0, None]}
    assert got["interval_bins"] == [2, 4]
    assert {k: got[k] for k in ("protocol", "archs", "accuracy")} == {k: doc[k] for k in ("protocol", "archs",
                                                                                         "accuracy")}


def test_lswag_main_tables_each_run_the_choice_and_the_split_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    ly = load_script("lswag_layers_dev", "gaps_ly_g")
    worlds = {"dev_darts_swap_lswag": _lswag_world(24, 1), "dev_nb301_lswag": _lswag_world(31, 2)}
    paths = []
    for name, d in worlds.items():
        paths.append(tmp_path / name / "results.json")
        paths[-1].parent.mkdir()
        paths[-1].write_text(json.dumps({"protocol": {"space": "darts"}, "accuracy": d["acc"].tolist(), "scores": {},
                                         "archs": [f"x{i}" for i in range(len(d["acc"]))]}))
    monkeypatch.setattr(ly, "bins_of_run", lambda path, data_dir: worlds[Path(path).parent.name])
    out = tmp_path / "layers.md"
    run_main(ly, monkeypatch, *map(str, paths), "--data-dir", "data", "--out", str(out), "--split-seeds", "1,2",
             "--write")
    printed = capsys.readouterr().out
    assert out.read_text() == printed
    runs = list(worlds.values())
    want = ["L-SWAG's layer interval on dev data (`python scripts/lswag_layers_dev.py " + " ".join(map(str, paths)) +
            "`); every figure is in-sample. Interval (a, b): Λ over depth bins a..b, Ψ over bins 0..b (10 bins).", "",
            "| dev run | whole network (0, 9) | best interval there | its ρ |", "|---|---|---|---|"]
    for name, d in worlds.items():
        per = {iv: _naive_rho(d, *iv, None) for iv in IVS}
        top = IVS[0]
        for iv in IVS:
            if per[iv] > per[top]:
                top = iv
        want.append(f"| {name} | {per[(0, 9)]:.3f} | {top} | {per[top]:.3f} |")
    iv, worst = _naive_lswag_choice(runs, [None, None])
    want += ["", f"**Chosen** (best worst ρ over the runs): interval {iv}, worst ρ {worst:.3f} (" + ", ".join(
        f"{n} {_naive_rho(d, *iv, None):.3f}" for n, d in worlds.items()) + ").", "",
             "Split-half check (each interval chosen on a random half of every run, read on the other half):", "",
             *_naive_split_rows(runs, [1, 2]), "",
             "Written for choose_fitness.py: " + ", ".join(
                 f"`{tmp_path / (n + '_iv') / 'results.json'}`" for n in worlds)]
    assert printed.splitlines() == want
    for name, d in worlds.items():
        got = json.loads((tmp_path / (name + "_iv") / "results.json").read_text())
        assert got["interval_bins"] == list(iv)
        assert got["scores"]["swap_iv"][0] == d["psi"][0, iv[1]]
