"""Spearman rho between two `swapnas conformance` runs of our own implementation.

Run the same archs with two seeds (different init draws and input batch), then:

    python scripts/seed_agreement.py runs/conf_seed0/conformance.json runs/conf_seed1/conformance.json

A metric whose two independent runs agree to rho = r cannot be expected to agree with
another implementation (other init, other batch) much above r.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from scipy import stats


def main(a_path: str, b_path: str) -> None:
    a, b = (json.loads(open(p).read()) for p in (a_path, b_path))
    pos = {arch: i for i, arch in enumerate(b["archs"])}
    common = [(i, pos[arch]) for i, arch in enumerate(a["archs"]) if arch in pos]
    print(f"{len(common)} common archs; seeds {a['protocol']['seed']} vs {b['protocol']['seed']}")
    names = sorted(set(a["scores"]) & set(b["scores"]))
    width = max([10, *map(len, names)])
    print(f"{'metric':<{width}} {'n':>4} {'rho(seed a, seed b)':>20}")
    for name in names:
        x = np.array([a["scores"][name][i] for i, _ in common], dtype=float)
        y = np.array([b["scores"][name][j] for _, j in common], dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        print(f"{name:<{width}} {int(ok.sum()):>4} {stats.spearmanr(x[ok], y[ok])[0]:>20.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
