"""Choose the NB201 size-prior constants of swap_reg on CIFAR-10 labels only.

mu = lo + c * (hi - lo), sigma = (w * (hi - lo))**2, with lo / hi the smallest and
largest scored-network size in the space (thousands of params, no labels). This script
reads the swap scores of a CIFAR-10 `swapnas correlate` run, prints Spearman rho of
swap_reg for a grid of (c, w) and the argmax, which is what `nb201.PRIOR_CENTRE` /
`nb201.PRIOR_WIDTH` ship. Without ``--oracle`` the run must be the dev run (docs/protocol.md, label
hygiene: CIFAR-10 validation accuracy of the 1000-arch seed-0 sample); no other labels are read.

    python scripts/tune_size_prior.py runs/c10_C16_N1_S16_R4/results.json
    python scripts/tune_size_prior.py --oracle runs/nb201_cifar100/results.json   # analysis only

``--oracle`` runs the same grid on another dataset's labels: an upper bound for what
any size prior could add there, never a way to choose defaults.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from scipy import stats

from swapnas.spaces import nb201
from choose_fitness import dev_problems  # scripts/ is on sys.path when run as a script

CENTRES = np.round(np.arange(0.3, 1.51, 0.1), 2)
WIDTHS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0, 1.5, 2.0)


def main(path: str, oracle: bool = False) -> None:
    doc = json.loads(open(path).read())
    prot = doc["protocol"]
    problems = [] if oracle else dev_problems(doc)
    if problems:
        raise SystemExit(f"{path} is not the dev run (docs/protocol.md, label hygiene): it needs "
                         f"{', '.join(problems)} (--oracle for analysis)")
    net = prot["net"]
    swap = np.array(doc["scores"]["swap"], dtype=float)
    acc = np.array(doc["accuracy"])
    theta = np.array([nb201.count_params(a, **net) / 1e3 for a in doc["archs"]])
    lo, hi = nb201.param_range_k(**net)
    print(f"{path}: n={len(acc)}, scored net {net}, size range {lo:.1f}..{hi:.1f} thousand params; "
          f"rho(swap)={stats.spearmanr(swap, acc)[0]:.4f}")
    print("c \\ w " + " ".join(f"{w:>6}" for w in WIDTHS))
    best = (-2.0, 0.0, 0.0)
    for c in CENTRES:
        row = []
        for w in WIDTHS:
            reg = swap * np.exp(-((theta - (lo + c * (hi - lo))) ** 2) / (w * (hi - lo)) ** 2)
            rho = float(stats.spearmanr(reg, acc)[0])
            row.append(rho)
            best = max(best, (rho, c, w))
        print(f"{c:<5} " + " ".join(f"{r:6.3f}" for r in row))
    rho, c, w = best
    label = "ORACLE, peeks at these labels" if oracle else "CIFAR-10, in-sample"
    print(f"argmax: PRIOR_CENTRE={c}, PRIOR_WIDTH={w} -> rho={rho:.4f} ({label}); "
          f"mu={lo + c * (hi - lo):.1f}, sigma={(w * (hi - lo)) ** 2:.1f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[-1], oracle="--oracle" in args)
