"""Spearman ρ of every proxy in ``correlate`` runs, one row per run, and the worst ρ per row label.

    python scripts/rho_table.py "C=8,5 cells, S=16|darts_swap=runs/best10_darts_swap/results.json" \\
        "C=8,5 cells, S=16|nb301=runs/best10_nb301/results.json"

Each argument is ``ROW|COLUMN=results.json``; the table has one row per ROW, one column per COLUMN
(the runs' scores against their ground truth, as stored in results.json) and the worst over the row.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from scipy import stats


def rho(path: str) -> tuple[str, float, int]:
    doc = json.load(open(path))
    acc = np.array(doc["accuracy"], dtype=float)
    if len(doc["scores"]) != 1:
        raise SystemExit(f"{path}: expected a run of one proxy, found {sorted(doc['scores'])}")
    ((proxy, vals),) = doc["scores"].items()
    v = np.array([np.nan if x is None else x for x in vals], dtype=float)
    ok = np.isfinite(v)
    return proxy, float(stats.spearmanr(v[ok], acc[ok]).statistic), int(ok.sum())


def main(argv: list[str]) -> None:
    cells: dict[str, dict[str, str]] = {}
    worst: dict[str, float] = {}
    cols: list[str] = []
    for spec in argv:
        row, _, rest = spec.partition("|")
        col, sep, path = rest.partition("=")
        if not sep:
            raise SystemExit(f"{spec!r}: expected ROW|COLUMN=results.json")
        proxy, r, n = rho(path)
        cells.setdefault(row, {})[col] = f"{r:.3f} ({proxy}, n={n})"
        worst[row] = min(worst.get(row, 1.0), r)
        cols += [col] if col not in cols else []
    print("Spearman ρ of each run against its ground truth (made by scripts/rho_table.py; dev labels are in-sample)")
    print()
    print("| row | " + " | ".join(cols) + " | worst |")
    print("|---|" + "---|" * (len(cols) + 1))
    for row, c in cells.items():
        print(f"| {row} | " + " | ".join(c.get(k, "—") for k in cols) + f" | {worst[row]:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
