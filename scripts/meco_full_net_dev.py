"""A lead, not a default: ``swap_nb201`` plus w · ln ``meco_all`` scored on the FULL NB201 network (C=16, N=5).

``best`` is a combination of bases scored on one network (NB201: C=16, N=1). MeCo as its authors' code reads it
(``meco_all``) ranks the NB201 dev sample far better on the full network (``scripts/meco_conformance.sh``) than on
that one. This reads two dev runs on the same 1000 archs (NB201 CIFAR-10 validation accuracy, the dev set of
docs/protocol.md; every figure in-sample except the held-out column) and asks whether such a term would add to
``swap_nb201``: its dev ρ per weight, and the weight chosen on random halves read on the other half.

    python scripts/meco_full_net_dev.py runs/dev19_nb201_c10_R1_default/results.json \\
        runs/meco19_conf_c10_valid/results.json --out docs/generated/dev/nb201_meco_all_full_net.md
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
# scripts/ is on sys.path when this file runs as a script
from choose_fitness import check_dev
from choose_stage2_net import simulate
from scipy.stats import spearmanr

WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
KS = (3, 5, 10, 20)
#: swap_nb201's terms (src/swapnas/proxies/best.py): base -> (transform, weight)
SWAP_NB201 = {"swap": ("log", 1.0), "az_nas_progressivity": ("lin", 1.816), "meco": ("log", 0.1),
              "az_nas_trainability": ("lin", 8.216e-07), "fisher": ("log", -0.1), "l2_norm": ("log", 0.25)}


def rho(x: np.ndarray, y: np.ndarray) -> float:
    return float(spearmanr(x, y)[0])


def pick_table(acc: np.ndarray, base: np.ndarray, term: np.ndarray, draws: int) -> list[str]:
    """Simulated two-stage searches: stage 1 ``base``, stage 2 ``base + w·term`` (or ``term`` alone)."""
    top5 = acc >= np.quantile(acc, 0.95)
    budget = round(0.2 * len(acc))
    k1 = simulate(acc, base, {}, 1, budget, draws, top5)[0]
    lines = [f"Simulated searches ({draws} random 20 % subsets, the draws of scripts/choose_stage2_net.py), "
             f"stage 1 swap_nb201, K = 1 (no second stage): {k1:.3f}. Mean dev accuracy of the pick:", "",
             "| second stage | " + " | ".join(f"K={k}" for k in KS) + " |", "|---" * (len(KS) + 1) + "|"]
    stages = [(f"swap_nb201 + {w:g} · ln meco_all (full net)", base + w * term) for w in WEIGHTS[1:]]
    for label, f2 in stages + [("ln meco_all (full net) alone", term)]:
        vals = dict(enumerate(map(float, f2)))
        lines.append(f"| {label} | " + " | ".join(f"{simulate(acc, base, vals, k, budget, draws, top5)[0]:.3f}"
                                                   for k in KS) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fitness_run", help="results.json of the fitness-protocol run with swap_nb201's bases")
    ap.add_argument("full_net_run", help="results.json of a meco_all run on the full network, same archs")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    a, b = (json.loads(Path(p).read_text()) for p in (args.fitness_run, args.full_net_run))
    for doc, path in ((a, args.fitness_run), (b, args.full_net_run)):  # (session 65: any CIFAR-10 pair was read)
        check_dev(doc, path)
    if a["archs"] != b["archs"] or a["protocol"]["dataset"] != "cifar10" or a["ground_truth"] != b["ground_truth"]:
        raise SystemExit("the two runs must hold the same archs and the same (dev) ground truth")
    acc = np.array(a["accuracy"], dtype=float)
    s = {k: np.array([np.nan if v is None else v for v in vals], dtype=float) for k, vals in a["scores"].items()}
    with np.errstate(divide="ignore", invalid="ignore"):
        base = sum(w * (np.log(s[k]) if t == "log" else s[k]) for k, (t, w) in SWAP_NB201.items())
        term = np.log(np.array([np.nan if v is None else v for v in b["scores"]["meco_all"]], dtype=float))
    bad = [f"{name} on {int((~np.isfinite(v)).sum())} archs"
           for name, v in (("swap_nb201", base), ("ln meco_all", term)) if not np.isfinite(v).all()]
    if bad:  # a nan would make every ρ nan and each half's weight max()'s first, 0, silently
        raise SystemExit(f"no finite value of {' and '.join(bad)} (a failed or non-positive score): rescore them")
    lines = [f"Runs: `{args.fitness_run}` (swap_nb201's bases, {a['protocol']['net']}), `{args.full_net_run}` "
             f"(meco_all, {b['protocol']['net']}); ground truth: {a['ground_truth']}. In-sample unless held out.", "",
             "| w | ρ of swap_nb201 + w · ln meco_all (full net) |", "|---|---|"]
    lines += [f"| {w:g} | {rho(base + w * term, acc):.4f} |" for w in WEIGHTS]
    lines += ["", "Weight chosen on one random half, read on the other:", "",
              "| seed | half | w | held-out ρ | swap_nb201 there |", "|---|---|---|---|---|"]
    wins = 0
    for seed in range(args.seeds):
        idx = list(range(len(acc)))
        random.Random(seed).shuffle(idx)
        halves = (np.array(idx[:len(idx) // 2]), np.array(idx[len(idx) // 2:]))
        for h, (x, y) in enumerate((halves, halves[::-1])):
            w = max(WEIGHTS, key=lambda v: rho((base + v * term)[x], acc[x]))
            new, old = rho((base + w * term)[y], acc[y]), rho(base[y], acc[y])
            wins += new > old
            lines.append(f"| {seed} | {'AB'[h]} | {w:g} | {new:.4f} | {old:.4f} |")
    lines += ["", f"held out, the term wins on {wins} of {2 * args.seeds} halves", ""]
    lines += pick_table(acc, base, term, args.draws)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
