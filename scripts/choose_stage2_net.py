"""Which scored network should the NB201 search's second stage use? Chosen on dev data only.

The search's second stage re-scores its K fittest archs under a costlier protocol and returns the
best of them (``docs/search.md``). ``choose_refine.py`` only tried more repeats of the same small
network. This script tries larger scored networks and larger batches too, on the NB201 CIFAR-10
dev sample (docs/protocol.md): it takes the ``--top`` fittest dev archs by the R = 1 fitness (the
archs a short list can hold), scores the space's ``best`` on them under each candidate protocol
(into ``--store``; stored scores are reused), and simulates ``--draws`` searches as
``choose_refine.py`` does: a random subset of ``--budget`` dev archs, its K fittest by stage 1,
the pick by stage 2. A draw whose short list reaches below the scored top is counted in the
``out of top`` column and its pick is left out of the means. Every figure is in-sample.

    python scripts/choose_stage2_net.py runs/nb201_anchors/anchors_cifar10/results.json \\
        --data-dir ../shared/data --store runs/dev.sqlite --out docs/generated/dev/nb201_stage2.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from swapnas.session import configure, resolve_device, score_archs
from swapnas.spaces import nb201
from swapnas.store import ScoreStore

#: (label, scored-network overrides, S, R): the fitness network with more repeats, then larger networks.
#: S grows with the hooked neurons V so that Ψ stays about as far below its ceiling as at C=16, N=1,
#: S=16 (V ≈ 127k, Ψ ≈ 0.6 · 2^16): S = 20 for V ≈ 210k–470k (Ψ ≈ 0.63–0.74 · 2^20 on the three
#: fittest dev archs); at S = 32 every neuron has a pattern of its own (Ψ ≈ 0.97 V) and Ψ cannot rank.
CANDIDATES = (
    ("C=16,N=1, S=16, R=4 (session 8's stage 2)", {}, 16, 4),
    ("C=16,N=1, S=16, R=8", {}, 16, 8),
    ("C=16,N=2, S=20, R=1", {"N": 2}, 20, 1),
    ("C=32,N=1, S=20, R=1", {"C": 32}, 20, 1),
    ("C=16,N=5, S=20, R=1 (the benchmark's depth)", {"N": 5}, 20, 1),
)
KS = (1, 3, 5, 10, 20)


def stage2_values(archs: list[str], net: dict, s: int, r: int, data_dir: str, store: ScoreStore) -> tuple[np.ndarray, float]:
    protocol, batch, proxies = configure("nb201", "cifar10", "best", net=net, batch_size=s, repeats=r,
                                         data_dir=data_dir)
    recs = score_archs([nb201.parse(a) for a in archs], "nb201", proxies, protocol, batch, store,
                       resolve_device("cpu"), desc=f"{net} S={s} R={r}")
    own = recs[proxies[0].name]
    vals = np.array([rec.value if rec.ok and rec.value is not None else -np.inf for rec in own])
    return vals, float(np.median([rec.seconds or 0.0 for rec in own]))  # a derived record's seconds include its bases'


def simulate(acc: np.ndarray, f1: np.ndarray, f2: dict[int, float], k: int, budget: int, draws: int,
             top5: np.ndarray) -> tuple[float, float, int]:
    rng = np.random.default_rng(0)  # the same draws for every candidate and K
    picks, missed = [], 0
    for _ in range(draws):
        sub = rng.choice(len(acc), budget, replace=False)
        short = sub[np.argsort(-f1[sub], kind="stable")[:k]]
        if k > 1 and any(int(i) not in f2 for i in short):
            missed += 1
            continue
        picks.append(short[int(np.argmax([f2[int(i)] for i in short]))] if k > 1 else short[0])
    if not picks:
        return float("nan"), float("nan"), missed
    picks_a = np.array(picks)
    return float(acc[picks_a].mean()), float(top5[picks_a].mean()), missed


def sim_rows(acc: np.ndarray, f1: np.ndarray, f2s: dict[str, dict[int, float]], idx: np.ndarray, budget: int,
             draws: int) -> tuple[list[str], dict[tuple[str, int], float]]:
    """Table rows (one per candidate) of the simulated searches over the dev archs ``idx``, and the mean
    accuracy of the pick per (candidate, K)."""
    a, g1 = acc[idx], f1[idx]
    top5 = a >= np.quantile(a, 0.95)
    where = {int(j): n for n, j in enumerate(idx)}
    rows, means = [], {}
    for label, f2 in f2s.items():
        g2 = {where[j]: v for j, v in f2.items() if j in where}
        cells, missed = [], 0
        for k in KS[1:]:
            m, t, out = simulate(a, g1, g2, k, budget, draws, top5)
            cells.append(f"{m:.3f} / {t:.3f}")
            means[label, k], missed = m, max(missed, out)
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {missed} |")
    return rows, means


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage1", help="results.json of `best` at R=1 on the NB201 CIFAR-10 dev sample")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--out", required=True, help="markdown table to write")
    ap.add_argument("--proxy", default="swap_prog")
    ap.add_argument("--top", type=int, default=1000, help="stage 2 is scored on the TOP fittest dev archs (default: all)")
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--draws", type=int, default=2000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    doc = json.load(open(args.stage1))
    p = doc["protocol"]
    if (p["space"], p["dataset"], p["repeats"], p["seed"]) != ("nb201", "cifar10", 1, 0) or len(doc["archs"]) != 1000:
        raise SystemExit(f"{args.stage1} is not the NB201 CIFAR-10 dev sample at R=1 (see docs/protocol.md)")
    acc = np.array(doc["accuracy"])
    f1 = np.array([-np.inf if v is None else v for v in doc["scores"][args.proxy]])
    order = np.argsort(-f1, kind="stable")[:args.top]
    store = ScoreStore(args.store)
    f2s, cost = {}, []
    for label, net, s, r in CANDIDATES:
        vals, secs = stage2_values([doc["archs"][i] for i in order], net, s, r, args.data_dir, store)
        f2s[label] = {int(j): float(v) for j, v in zip(order, vals)}
        cost.append(f"| {label} | {secs:.2f} | {stats.spearmanr(vals, acc[order]).statistic:.3f} |")
    everything = np.arange(len(acc))
    rows, means = sim_rows(acc, f1, f2s, everything, args.budget, args.draws)
    k1 = simulate(acc, f1, {}, 1, args.budget, args.draws, acc >= np.quantile(acc, 0.95))[0]
    label, k = max(means, key=means.get)
    head = "| stage 2 | " + " | ".join(f"K={k}: acc / P(top 5 %)" for k in KS[1:]) + " | out of top |"
    rule = "|---|" + "---|" * len(KS[1:]) + "---|"
    halves = []
    for h in (0, 1):  # a consistency check on two disjoint halves of the dev archs (not a choice)
        hrows, hmeans = sim_rows(acc, f1, f2s, everything[everything % 2 == h], args.budget // 2, args.draws)
        h1 = simulate(acc[everything % 2 == h], f1[everything % 2 == h], {}, 1, args.budget // 2, args.draws,
                      np.zeros(len(acc) // 2, bool))[0]
        halves += [f"Dev archs with index % 2 = {h} (500 archs, searches of {args.budget // 2}; K = 1: {h1:.3f}):",
                   "", head, rule, *hrows, ""]
    text = [f"NB201 CIFAR-10 dev sample (1000 archs, seed 0; every figure in-sample). Stage 1: `{args.proxy}` at "
            f"its fitness protocol (C=16, N=1, S=16, R=1). Stage 2 scores `best` under each candidate on the "
            f"{args.top} fittest dev archs by stage 1 ({'all of them' if args.top >= len(acc) else 'a short list can hold no other'}). {args.draws} simulated searches of {args.budget} evaluations each (the same "
            "draws for every row): a random subset of the dev archs, its K fittest by stage 1, the pick by stage 2. "
            "Mean validation accuracy of the pick / P(top 5 %), the share of picks in the dev top 5 %; `out of top`: "
            f"draws whose short list left the scored top (left out). K = 1 (no second stage): {k1:.3f}.", "",
            "Made by `python scripts/choose_stage2_net.py " + " ".join(
                [args.stage1, "--data-dir", args.data_dir, "--store", args.store, "--out", args.out]) + "`.", "",
            head, rule, *rows, "", f"**Chosen** (the highest mean accuracy of the pick): {label}, K = {k} "
            f"({means[label, k]:.3f}).", "", *halves,
            f"Cost and ρ over the {args.top} (seconds per arch: the stored records' median, from runs on a shared "
            f"machine; stage 1's ρ over them: {stats.spearmanr(f1[order], acc[order]).statistic:.3f}):", "",
            f"| stage 2 | s/arch | ρ over the {args.top} |", "|---|---|---|", *cost,
            "", "The two halves are a consistency check, not a choice: on the odd half no second stage beats K = 1."]
    Path(args.out).write_text("\n".join(text) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
