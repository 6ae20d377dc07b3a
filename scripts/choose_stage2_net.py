"""Choose the search's second stage (its scored network, S, R and K) on dev data only.

The search's second stage re-scores its K fittest archs under a costlier protocol and returns the
best of them (``docs/search.md``). For each dev run given (a ``swapnas correlate --proxies best``
run of a dev set at the space's fitness protocol, docs/protocol.md; any other run is refused), this
script scores ``best`` under each candidate protocol on the ``--top`` fittest archs of the run (all by default; into
``--store``, stored scores are reused) and simulates ``--draws`` searches: a random subset of
``--budget`` × the dev set's archs, its K fittest by the run's fitness (stage 1), the pick by
stage 2 (the same draws for every row). A draw whose short list leaves the scored top is left out
(``kept``: the draws that remain, per K), and each K > 1 is compared with K = 1 *on the same kept
draws* (K = 1's pick of a draw is the first of its short list): leaving out the draws whose short
list reaches below the scored top keeps the draws with fitter archs, and a comparison with K = 1 over
all draws would credit stage 2 with that. Each dev set's archs are also split into two halves (index
parity) as a consistency check. Every figure is in-sample.

The choice: the candidate and K with the highest *worst* gain over K = 1 (on the kept draws) across
the dev sets, each gain divided by the std of that dev set's accuracies (one dev set: the highest
gain); none when no candidate gains on every dev set.

    python scripts/choose_stage2_net.py nb201=runs/nb201_anchors/anchors_cifar10/results.json \\
        --data-dir ../shared/data --store runs/dev.sqlite --out docs/generated/dev/nb201_stage2.md
    python scripts/choose_stage2_net.py darts_swap=runs/best2_darts_swap/results.json \\
        nb301=runs/best2_nb301/results.json --data-dir ../shared/data --store runs/dev.sqlite \\
        --fitness swap_darts --out docs/generated/dev/darts_stage2.md   # session 9, the DARTS best of then
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from swapnas.benchmarks import get_benchmark
from swapnas.devices import resolve_device
from swapnas.session import configure, score_archs
from swapnas.spaces import get_space
from swapnas.store import ScoreStore

# the dev-run rule (docs/protocol.md, label hygiene); scripts/ is on sys.path when run as a script
from choose_fitness import check_dev

#: (label, scored-network overrides, S, R) per space: the fitness network with more repeats, then
#: larger networks. S grows with the hooked neurons V so that Ψ stays about as far below its ceiling
#: as on the fitness network (NB201: C=16, N=1, S=16, V ≈ 127k, Ψ ≈ 0.6 · 2^16; S = 20 for
#: V ≈ 210k–470k, Ψ ≈ 0.63–0.74 · 2^20 on the three fittest dev archs; at S = 32 every neuron has a
#: pattern of its own, Ψ ≈ 0.97 V, and Ψ cannot rank). DARTS: the fitness network (C=8, 5 cells,
#: S=16) is at 0.85–0.91 of 2^16 on the three fittest NB301 archs; C=8, 8 cells and C=16, 5 cells
#: at S = 20 are at 0.50–0.58 of 2^20; the authors' one-cell network is the third candidate.
CANDIDATES = {
    "nb201": (
        ("C=16,N=1, S=16, R=4 (session 8's stage 2)", {}, 16, 4),
        ("C=16,N=1, S=16, R=8", {}, 16, 8),
        ("C=16,N=2, S=20, R=1", {"N": 2}, 20, 1),
        ("C=32,N=1, S=20, R=1", {"C": 32}, 20, 1),
        ("C=16,N=5, S=20, R=1 (the benchmark's depth)", {"N": 5}, 20, 1),
        # session 21: around the chosen C=16, N=2, S=20 (more inits, one more cell, wider, larger batch)
        ("C=16,N=2, S=20, R=2", {"N": 2}, 20, 2),
        ("C=16,N=2, S=20, R=4", {"N": 2}, 20, 4),
        ("C=16,N=3, S=20, R=1", {"N": 3}, 20, 1),
        ("C=24,N=2, S=20, R=1", {"C": 24, "N": 2}, 20, 1),
        ("C=16,N=2, S=24, R=1", {"N": 2}, 24, 1),
        ("C=16,N=4, S=20, R=1", {"N": 4}, 20, 1),  # session 21: N = 3 led the first five; N from 2 to 5 in full
        # session 22: around the chosen C=16, N=5, S=20 (two inits, a larger batch, wider). Rule stated before the
        # run: one replaces it only if its pick is ahead on the whole dev sample AND on both halves
        ("C=16,N=5, S=20, R=2", {"N": 5}, 20, 2),
        ("C=16,N=5, S=24, R=1", {"N": 5}, 24, 1),
        ("C=24,N=5, S=20, R=1", {"C": 24, "N": 5}, 20, 1),
    ),
    "darts": (
        ("C=8, 5 cells, S=16, R=4", {}, 16, 4),
        ("C=8, 8 cells, S=20, R=1", {"layers": 8}, 20, 1),
        ("C=16, 5 cells, S=20, R=1", {"C": 16}, 20, 1),
        ("C=3, 1 cell, no stem, S=16, R=8 (the authors' network)", {"C": 3, "layers": 1, "stem": False}, 16, 8),
        # session 22: deeper than the chosen C=16, 5 cells (NB201's stage gained with depth), and two inits of it.
        # Rule stated before the run: one replaces C=16, 5 cells only if it is ahead of it on both dev sets
        ("C=16, 8 cells, S=20, R=1", {"C": 16, "layers": 8}, 20, 1),
        ("C=16, 5 cells, S=20, R=2", {"C": 16}, 20, 2),
    ),
}
KS = (1, 3, 5, 10, 20)
#: a second stage's choice from its short list: (stage-1 values, stage-2 values) -> the position picked
Pick = Callable[[np.ndarray, np.ndarray], int]


class DevRun:
    """One dev set: its archs, accuracy and stage-1 fitness (from a ``correlate`` run of ``best``)."""

    def __init__(self, bench_name: str, path: str, data_dir: str, fitness: str = "best") -> None:
        doc = json.load(open(path))
        check_dev(doc, path)
        self.name, self.bench = bench_name, get_benchmark(bench_name, data_dir)
        self.space, self.task = self.bench.space, doc["protocol"]["dataset"]
        self.fitness = fitness
        protocol, _, (proxy,) = configure(self.space, self.task, fitness, data_dir=data_dir)
        if {k: doc["protocol"][k] for k in ("net", "batch_size", "repeats", "init", "seed")} != \
                {"net": protocol.net, "batch_size": protocol.batch_size, "repeats": protocol.repeats,
                 "init": protocol.init, "seed": 0} or proxy.name not in doc["scores"]:
            raise SystemExit(f"{path} is not a run of `{fitness}` ({proxy.name}) at the {self.space} fitness protocol")
        self.proxy, self.archs, self.acc = proxy.name, doc["archs"], np.array(doc["accuracy"])
        self.f1 = np.array([-np.inf if v is None else v for v in doc["scores"][proxy.name]])

    def stage2(self, top: int, net: dict, s: int, r: int, data_dir: str, store: ScoreStore) -> tuple[dict, float, float]:
        """Stage-2 fitness of the ``top`` fittest archs {index: value}, the median stored seconds, ρ over them."""
        order = np.argsort(-self.f1, kind="stable")[:top]
        protocol, batch, proxies = configure(self.space, self.task, self.fitness, net=net, batch_size=s, repeats=r,
                                             data_dir=data_dir)
        mod = get_space(self.space)
        recs = score_archs([mod.parse(self.archs[i]) for i in order], self.space, proxies, protocol, batch, store,
                           resolve_device("cpu"), desc=f"{self.name} {net} S={s} R={r}")[proxies[0].name]
        vals = np.array([rec.value if rec.ok and rec.value is not None else -np.inf for rec in recs])
        secs = float(np.median([rec.seconds or 0.0 for rec in recs]))  # a derived record's seconds include its bases'
        return {int(j): float(v) for j, v in zip(order, vals)}, secs, float(stats.spearmanr(vals, self.acc[order]).statistic)


def simulate_paired(acc: np.ndarray, f1: np.ndarray, f2: dict[int, float], k: int, budget: int, draws: int,
                    top5: np.ndarray, pick: Pick | None = None) -> tuple[float, float, int, float, float]:
    """Mean accuracy of the pick, its share in the top 5 %, the draws left out, and K = 1's mean accuracy
    and top-5 % share *on the same kept draws* (the baseline a K > 1 row is compared with). ``pick`` chooses
    from a short list given its stage-1 and stage-2 values (the position in the list); default: the
    highest stage-2 value, the first of equals."""
    rng = np.random.default_rng(0)  # the same draws for every candidate and K
    picks, firsts, missed = [], [], 0
    for _ in range(draws):
        sub = rng.choice(len(acc), budget, replace=False)
        short = sub[np.argsort(-f1[sub], kind="stable")[:k]]
        if k > 1 and any(int(i) not in f2 for i in short):
            missed += 1
            continue
        if k > 1:  # K = 1 has no second stage: f2 may be empty ({} for the baseline)
            v2 = np.array([f2[int(i)] for i in short])
            picks.append(short[int(np.argmax(v2)) if pick is None else pick(f1[short], v2)])
        else:
            picks.append(short[0])
        firsts.append(short[0])  # K = 1's pick of this draw (the stable sort's first)
    if not picks:
        return float("nan"), float("nan"), missed, float("nan"), float("nan")
    picks_a, firsts_a = np.array(picks), np.array(firsts)
    return (float(acc[picks_a].mean()), float(top5[picks_a].mean()), missed,
            float(acc[firsts_a].mean()), float(top5[firsts_a].mean()))


def simulate(acc: np.ndarray, f1: np.ndarray, f2: dict[int, float], k: int, budget: int, draws: int,
             top5: np.ndarray) -> tuple[float, float, int]:
    """Mean accuracy of the pick, its share in the top 5 %, and the draws left out (compare a K > 1 with
    K = 1 only through :func:`simulate_paired`, on the same kept draws)."""
    return simulate_paired(acc, f1, f2, k, budget, draws, top5)[:3]


def sim_table(run: DevRun, f2s: dict[str, dict[int, float]], idx: np.ndarray, budget: float,
              draws: int) -> tuple[list[str], dict[tuple[str, int], float], float, dict[tuple[str, int], float]]:
    """Rows (one per candidate) of the simulated searches over the archs ``idx`` of ``run``, the mean
    accuracy of the pick per (candidate, K), K = 1's over all draws, and K = 1's per (candidate, K) on
    the draws that (candidate, K) kept (its baseline)."""
    a, g1 = run.acc[idx], run.f1[idx]
    n = max(KS[-1] + 1, round(budget * len(idx)))
    top5 = a >= np.quantile(a, 0.95)
    where = {int(j): i for i, j in enumerate(idx)}
    rows, means, base = [], {}, {}
    for label, f2 in f2s.items():
        g2 = {where[j]: v for j, v in f2.items() if j in where}
        cells, kept = [], []
        for k in KS[1:]:
            m, t, out, b, _ = simulate_paired(a, g1, g2, k, n, draws, top5)
            cells.append(f"{m:.3f} / {t:.3f} / {m - b:+.3f}")
            means[label, k], base[label, k] = m, b
            kept.append(str(draws - out))
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {' / '.join(kept)} |")
    return rows, means, simulate(a, g1, {}, 1, n, draws, top5)[0], base


HEAD = ("| stage 2 | " + " | ".join(f"K={k}: acc / P(top 5 %) / gain" for k in KS[1:])
        + " | draws kept (K=" + "/".join(map(str, KS[1:])) + ") |",
        "|---|" + "---|" * len(KS[1:]) + "---|")


def choose(runs: list[DevRun], means: dict[str, dict], k1: dict[str, float | dict]) -> tuple[str, int] | None:
    """The (candidate, K) with the highest worst normalised gain over K = 1; None if none gains on every set.
    ``k1[run]``: K = 1's mean accuracy, one float (every key drew the same draws) or per key (K = 1 on the
    draws that key kept). A key without a kept draw on a set (mean NaN) has no gain there: it is never chosen."""
    keys = next(iter(means.values())).keys()

    def gain(r: DevRun, key: tuple[str, int]) -> float:
        b = k1[r.name][key] if isinstance(k1[r.name], dict) else k1[r.name]
        g = (means[r.name][key] - b) / (r.acc.std() if len(runs) > 1 else 1.0)
        return g if np.isfinite(g) else -np.inf

    score = {key: min(gain(r, key) for r in runs) for key in keys}
    best = max(score, key=score.get)
    return best if score[best] > 0 else None


def made_by(args: argparse.Namespace) -> str:
    """The command that wrote the table (the flags that differ from their defaults)."""
    return "Made by `python scripts/choose_stage2_net.py " + " ".join(
        [*args.runs, "--data-dir", args.data_dir, "--store", args.store, "--out", args.out,
         *(["--fitness", args.fitness] if args.fitness != "best" else []),
         *(["--only", ",".join(map(str, args.only))] if args.only else []),
         *(["--top", str(args.top)] if args.top is not None else []),
         *(["--budget", f"{args.budget:g}"] if args.budget != 0.2 else []),
         *(["--draws", str(args.draws)] if args.draws != 2000 else [])]) + "`."


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", metavar="BENCH=RESULTS.json", help="dev runs of `best`, e.g. nb301=runs/x/results.json")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--out", required=True, help="markdown table to write")
    ap.add_argument("--top", type=int, default=None, help="score stage 2 on the TOP fittest archs of each run (default: all)")
    ap.add_argument("--budget", type=float, default=0.2, help="a simulated search's evaluations, as a share of the dev set")
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--fitness", default="best", help="the fitness the runs scored (default best; e.g. swap_darts, the "
                    "DARTS best until session 10, for session 9's table)")
    ap.add_argument("--only", type=lambda t: [int(x) for x in t.split(",")], default=None, metavar="I,I",
                    help="score only these candidates of the space (0-based positions in CANDIDATES)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    runs = [DevRun(*item.split("=", 1), args.data_dir, args.fitness) for item in args.runs]
    space = runs[0].space
    store = ScoreStore(args.store)
    text = [f"Second-stage candidates on the {space} dev runs (every figure in-sample). Stage 1: `best` at the "
            "space's fitness protocol; stage 2 scores `best` under each candidate. Simulated searches: "
            f"{args.draws} random subsets of {args.budget:.0%} of the dev set's archs (the same draws for every row), "
            "their K fittest by stage 1, the pick by stage 2; mean accuracy of the pick / P(top 5 %), the share of "
            "picks in the dev set's top 5 % / gain: the mean accuracy of the pick minus K = 1's on the same kept "
            "draws; `draws kept`: the draws whose short list stayed within the scored archs (the others are left "
            "out of that cell and of its K = 1 baseline).",
            "", made_by(args), ""]
    candidates = [c for i, c in enumerate(CANDIDATES[space]) if args.only is None or i in args.only]
    means, k1, base, halves, cost, half_means = {}, {}, {}, [], [], []
    for run in runs:
        f2s = {}
        for label, net, s, r in candidates:
            f2s[label], secs, rho = run.stage2(args.top or len(run.archs), net, s, r, args.data_dir, store)
            cost.append(f"| {run.name} | {label} | {secs:.2f} | {rho:.3f} |")
        everything = np.arange(len(run.archs))
        rows, means[run.name], k1[run.name], base[run.name] = sim_table(run, f2s, everything, args.budget,
                                                                         args.draws)
        text += [f"**{run.name}** ({len(run.archs)} archs, accuracy std {run.acc.std():.2f}; K = 1, no second "
                 f"stage, all {args.draws} draws: {k1[run.name]:.3f}):", "", *HEAD, *rows, ""]
        for h in (0, 1):
            idx = everything[everything % 2 == h]
            hrows, hmeans, hk1, hbase = sim_table(run, f2s, idx, args.budget, args.draws)
            half_means.append((f"{run.name} half {h}", hmeans, hbase))
            halves += [f"{run.name}, archs with index % 2 = {h} ({len(idx)} archs; K = 1, all draws: {hk1:.3f}):", "",
                       *HEAD, *hrows, ""]
    chosen = choose(runs, means, base)
    rule = ("the highest gain over K = 1 on the same kept draws" if len(runs) == 1 else
            "the highest worst gain over K = 1 (on the same kept draws) across the dev sets, each in units of its "
            "accuracy std")
    text += [f"**Chosen** ({rule}): " + ("none (no candidate gains on every dev set)" if chosen is None else
             f"{chosen[0]}, K = {chosen[1]} (" + ", ".join(
                 f"{r.name} {means[r.name][chosen]:.3f} vs K = 1 {base[r.name][chosen]:.3f}" for r in runs) + ")."),
             "", "Consistency check on two disjoint halves of each dev set (not a choice):", "", *halves,
             *([] if chosen is None else ["The chosen stage against K = 1 (same kept draws) on each half: " + "; ".join(
                 f"{name} {hm[chosen]:.3f} vs {hb[chosen]:.3f}" for name, hm, hb in half_means) + ".", ""]),
             "Cost and ρ of stage 2 over the scored archs (seconds per arch: the stored records' median, from runs "
             "on a shared machine):", "", "| dev set | stage 2 | s/arch | ρ |", "|---|---|---|---|", *cost]
    Path(args.out).write_text("\n".join(text) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
