"""Cell shape on the two DARTS dev sets: what the genotype alone says, and whether it helps ``best``.

Session 23. The two DARTS dev sets (docs/protocol.md: NB301 and darts_swap) disagree on every network
score (``darts_conflict.md``). This script asks whether they disagree on the *cell shape* too, with
features read from the genotype alone (no network, no data): the normal cell's number of convolutions,
skips, pools and ``none`` edges, its depth (the longest chain of non-``none`` edges from a cell input to
a node) and its conv depth (the same chain counting convolutions only), and how many edges leave an
intermediate node rather than a cell input. The reduce cell is left out: darts_swap's archs use the
normal cell for both, so a reduce feature would count the same edges twice there.

It reads the ``best`` runs of both sets (``swapnas correlate --space darts_swap|nb301 --proxies best
--archs all``; their commands in docs/generated/dev/README.md, ``darts_stage2_deeper.md``'s row) and
prints (1) each feature's ρ on each set and (2) the worst ρ over both sets of ``best``'s rank plus
w × the feature's rank (both standardised), for w on choose_fitness.py's grid.

The rule, written before the first run: a cell-shape term would be proposed for DARTS ``best`` only if,
chosen on one half of each dev set (feature and w with the highest worst ρ over the two halves), it
raises the worst ρ on the *other* halves over ``best`` alone by at least 0.01, in both directions of
each of five random splits (seeds 0-4). Dev labels only; every figure is in-sample.

    python scripts/darts_cell_shape.py darts_swap=runs/best22_darts_swap/results.json \\
        nb301=runs/best22_nb301/results.json --out docs/generated/dev/darts_cell_shape.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import stats

from choose_fitness import check_dev  # scripts/ is on sys.path when run as a script
from swapnas.spaces import darts

CONVS = ("sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
POOLS = ("max_pool_3x3", "avg_pool_3x3")
GRID = (-2.0, -1.0, -0.5, -0.25, -0.1, 0.1, 0.25, 0.5, 1.0, 2.0)  # choose_fitness.py's
MIN_GAIN = 0.01


def chain_depth(edges: tuple[tuple[str, int], ...], counts: tuple[str, ...] | None) -> int:
    """Longest chain from a cell input (nodes 0, 1) to an intermediate node, over edges that are not ``none``;
    each edge adds 1 (``counts`` None) or 1 only if its op is in ``counts``. Node k + 2 takes edges 2k, 2k + 1."""
    depth = [0, 0]
    for k in range(len(edges) // 2):
        live = [(op, j) for op, j in edges[2 * k:2 * k + 2] if op != "none"]
        depth.append(max((depth[j] + (counts is None or op in counts) for op, j in live), default=0))
    return max(depth[2:])


def cell_shape(genotype: str) -> dict[str, float]:
    edges = tuple(darts.parse(genotype).normal)
    ops = [op for op, _ in edges]
    return {"convs": sum(op in CONVS for op in ops), "skips": ops.count("skip_connect"),
            "pools": sum(op in POOLS for op in ops), "nones": ops.count("none"),
            "depth": chain_depth(edges, None), "conv_depth": chain_depth(edges, CONVS),
            "from_nodes": sum(j >= 2 for op, j in edges if op != "none")}


def zrank(x: np.ndarray) -> np.ndarray:
    """Standardised ranks; a constant feature (NB301 has no ``none`` edge) is all zeros, so it adds nothing."""
    r = stats.rankdata(x)
    return (r - r.mean()) / r.std() if r.std() > 0 else np.zeros(len(r))


def rho(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman ρ; NaN for a constant x (printed as such; ``worst`` never sees one, as zrank has no NaN)."""
    return float(stats.spearmanr(x, y)[0]) if np.ptp(x) > 0 else float("nan")


def load(spec: str) -> tuple[str, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    name, path = spec.split("=", 1)
    doc = json.loads(Path(path).read_text())
    check_dev(doc, path)  # the rule below may propose a term: dev runs only
    (fitness,) = doc["scores"].values()
    shapes = [cell_shape(a) for a in doc["archs"]]
    feats = {k: np.array([s[k] for s in shapes], dtype=float) for k in shapes[0]}
    return name, np.array(doc["accuracy"], dtype=float), np.array(fitness, dtype=float), feats


def worst(sets: list[tuple[np.ndarray, np.ndarray, np.ndarray]], w: float) -> float:
    """Worst ρ over the sets of zrank(fitness) + w · zrank(feature); each set is (accuracy, fitness, feature)."""
    return min(rho(zrank(f) + w * zrank(x) if w else f, acc) for acc, f, x in sets)


def split_check(data: list, names: list[str]) -> list[str]:
    rows = ["| seed | chosen on | feature, w | worst ρ `best` (other half) | with the term | gain |", "|---|---|---|---|---|---|"]
    gains = []
    for seed in range(5):
        halves = []
        for _, acc, _, _ in data:
            p = np.random.default_rng(seed).permutation(len(acc))
            halves.append((p[: len(p) // 2], p[len(p) // 2:]))
        for a, b in ((0, 1), (1, 0)):
            def part(h: int, k: str) -> list:
                return [(acc[hv[h]], f[hv[h]], ft[k][hv[h]]) for (_, acc, f, ft), hv in zip(data, halves)]
            k, w = max(((k, w) for k in names for w in GRID), key=lambda kw: worst(part(a, kw[0]), kw[1]))
            base, new = worst(part(b, k), 0.0), worst(part(b, k), w)
            gains.append(new - base)
            rows.append(f"| {seed} | half {a} | {k}, {w:+g} | {base:.3f} | {new:.3f} | {new - base:+.3f} |")
    verdict = "proposed" if min(gains) >= MIN_GAIN else "not proposed"
    return rows + ["", f"Smallest held-out gain {min(gains):+.3f} (rule: ≥ {MIN_GAIN} in all ten): **{verdict}**."]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs=2, help="NAME=results.json of the `best` run on each DARTS dev set")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    data = [load(s) for s in args.runs]
    names = list(data[0][3])
    out = ["# DARTS dev sets: the cell shape", "",
           "Made by `python scripts/darts_cell_shape.py` (its docstring: the features, the runs it reads and the "
           "rule). Dev labels only; every figure is in-sample. Normal cell only.", "",
           "## 1. ρ of each feature and of `best`", "",
           "| dev set | n | `best` | " + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
    for name, acc, f, ft in data:
        out.append(f"| {name} | {len(acc)} | {rho(f, acc):.3f} | " + " | ".join(f"{rho(ft[k], acc):+.3f}" for k in names)
                   + " |")
    out += ["", "## 2. Worst ρ over both sets: zrank(`best`) + w · zrank(feature)", "",
            "| feature | " + " | ".join(f"w={w:+g}" for w in GRID) + " | w=0 |", "|---|" + "---|" * (len(GRID) + 1)]
    for k in names:
        sets = [(acc, f, ft[k]) for _, acc, f, ft in data]
        out.append(f"| {k} | " + " | ".join(f"{worst(sets, w):.3f}" for w in GRID) + f" | {worst(sets, 0.0):.3f} |")
    out += ["", "## 3. The rule: chosen on one half of each set, judged on the other", ""] + split_check(data, names)
    text = "\n".join(out) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
