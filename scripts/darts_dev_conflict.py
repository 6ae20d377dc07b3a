"""Why no DARTS fitness reaches darts_swap ρ ≥ 0.85 without losing NB301: the two dev sets disagree.

Reads ``swapnas correlate`` runs on the two DARTS dev sets (docs/protocol.md) with the same archs
per set: the 5-cell fitness network (``A``) and the authors' one-cell network with the normal cell
only (``B``, C=3, no stem, no reduction, S=16, R=8). Prints (1) each set's accuracy range, (2) ρ of
every component inside the top fraction of each set (the search lives there), (3) the trade-off
curve ln Ψ_A + ln expressivity_A + w · ln Ψ_B, and (4) a random search over log-linear weights of
all components (seeded; each transformed component standardised by its NB301 mean and std, so one
weighting is one fitness on both sets): for each NB301 floor (0.40–0.60), the highest darts_swap ρ
among the weightings whose NB301 ρ is at or above it. Dev labels only; every figure is in-sample.
Produces docs/generated/dev/darts_conflict.md:

    for B in nb301 darts_swap; do
      swapnas correlate --space $B --proxies swap,az_nas_progressivity,az_nas_expressivity,meco,params \\
        --init default --net C=8,layers=5 --repeats 1 --archs all --seed 0 --store runs/dev.sqlite \\
        --out runs/dev_${B}_C_8_layers_5_default
      swapnas correlate --space $B --proxies swap,params --net C=3,layers=1,stem=false,reductions=none \\
        --batch-size 16 --repeats 8 --archs all --seed 0 --store runs/dev.sqlite --out runs/dev_${B}_cellnormal
    done
    python scripts/darts_dev_conflict.py --runs runs --out docs/generated/dev/darts_conflict.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import stats

SETS = ("nb301", "darts_swap")
LIN = {"az_nas_progressivity"}  # may be <= 0: enters as is


def load(runs: Path, name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    a = json.loads((runs / f"dev_{name}_C_8_layers_5_default" / "results.json").read_text())
    b = json.loads((runs / f"dev_{name}_cellnormal" / "results.json").read_text())
    if a["archs"] != b["archs"]:
        raise SystemExit(f"{name}: the two runs hold different archs; rerun both with --archs all")
    feats = {f"{k}_A": np.array(v, dtype=float) for k, v in a["scores"].items()}
    feats |= {f"{k}_B": np.array(v, dtype=float) for k, v in b["scores"].items()}
    return np.array(a["accuracy"], dtype=float), feats


def transformed(feats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: (v if k.removesuffix("_A").removesuffix("_B") in LIN else np.log(v)) for k, v in feats.items()}


def rho(x: np.ndarray, acc: np.ndarray) -> float:
    return float(stats.spearmanr(x, acc)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="runs", help="folder holding the four dev runs")
    ap.add_argument("--out", required=True)
    ap.add_argument("--draws", type=int, default=4000, help="random weight vectors in part 4")
    args = ap.parse_args()
    data = {s: load(Path(args.runs), s) for s in SETS}
    with np.errstate(divide="ignore", invalid="ignore"):
        t = {s: transformed(f) for s, (_, f) in data.items()}
    bad = [f"{s} {n} ({int((~np.isfinite(v)).sum())} archs)" for s in SETS for n, v in sorted(t[s].items())
           if not np.isfinite(v).all()]
    if bad:  # a failed score (null) or ln of one <= 0 would make every ρ it enters nan, and part 4 reach no floor
        raise SystemExit(f"no finite value on some archs: {', '.join(bad)}; rescore them (or leave those archs out "
                         "of both runs)")
    acc = {s: a for s, (a, _) in data.items()}
    names = sorted(t[SETS[0]])
    out = ["# DARTS dev sets: where they disagree", "",
           ("Made by `python scripts/darts_dev_conflict.py` (its docstring has the correlate runs). Dev labels "
            "only, every figure in-sample. `_A`: the 5-cell fitness network (C=8, S=16, R=1, default init); "
            "`_B`: the authors' one-cell network with the normal cell only (C=3, no stem, S=16, R=8, N(0,1))."), "",
           "## 1. Accuracy range", "", "| dev set | n | min | 10 % | median | 90 % | max |", "|---|---|---|---|---|---|---|"]
    for s in SETS:
        q = np.percentile(acc[s], [0, 10, 50, 90, 100])
        out.append(f"| {s} | {len(acc[s])} | " + " | ".join(f"{v:.2f}" for v in q) + " |")
    out += ["", "## 2. ρ inside the top of each set (the part a search sees)", "",
            "| dev set | archs kept | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for s in SETS:
        for q in (0, 50, 75):
            m = acc[s] >= np.percentile(acc[s], q)
            out.append(f"| {s} | top {100 - q} % ({m.sum()}) | " +
                       " | ".join(f"{rho(t[s][n][m], acc[s][m]):.3f}" for n in names) + " |")
    out += ["", "## 3. Trade-off: ln Ψ_A + ln expressivity_A + w · ln Ψ_B", "",
            "| w | nb301 ρ | darts_swap ρ | worst |", "|---|---|---|---|"]
    for w in (0, 0.25, 0.5, 1, 2, 4):
        r = [rho(t[s]["swap_A"] + t[s]["az_nas_expressivity_A"] + w * t[s]["swap_B"], acc[s]) for s in SETS]
        out.append(f"| {w} | {r[0]:.3f} | {r[1]:.3f} | {min(r):.3f} |")
    rng = np.random.default_rng(0)
    z = {s: {n: (t[s][n] - t[SETS[0]][n].mean()) / t[SETS[0]][n].std() for n in names} for s in SETS}
    best: dict[float, tuple[float, np.ndarray]] = {}
    floors = (0.40, 0.45, 0.50, 0.55, 0.60)
    for _ in range(args.draws):
        w = rng.normal(size=len(names)) * (rng.random(len(names)) < 0.5)
        if not w.any():
            continue
        r = [rho(sum(wi * z[s][n] for wi, n in zip(w, names)), acc[s]) for s in SETS]
        for f in floors:
            if r[0] >= f and r[1] > best.get(f, (-1.0, w))[0]:
                best[f] = (r[1], w)
    out += ["", (f"## 4. Random search over weights of all {len(names)} components ({args.draws} draws, seed 0, "
                 "standardised log features)"), "",
            "Highest darts_swap ρ among weightings that keep NB301 ρ at or above the floor:", "",
            "| NB301 floor | best darts_swap ρ |", "|---|---|"]
    out += [f"| {f:.2f} | {best[f][0]:.3f} |" if f in best else f"| {f:.2f} | none reached the floor |" for f in floors]
    text = "\n".join(out) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
