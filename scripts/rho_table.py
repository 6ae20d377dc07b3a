"""Spearman ρ of one-proxy ``correlate`` runs as a table (rows and columns named by the caller) with the worst ρ per row.

    python scripts/rho_table.py "C=8,5 cells, S=16|darts_swap=runs/best10_darts_swap/results.json" \\
        "C=8,5 cells, S=16|nb301=runs/best10_nb301/results.json"

Each argument is ``ROW|COLUMN=results.json``; the table has one row per ROW, one column per COLUMN
(each run's Spearman ρ as ``correlate`` stored it in results.json) and the worst over the row.
"""

from __future__ import annotations

import json
import math
import sys


def rho(path: str) -> tuple[str, float, int]:
    """The run's own statistics (``results`` of results.json: ρ with the proxy's sign, over its n scored archs)."""
    doc = json.load(open(path))
    if len(doc["results"]) != 1:
        raise SystemExit(f"{path}: expected a run of one proxy, found {[r['proxy'] for r in doc['results']]}")
    (res,) = doc["results"]
    # a ρ correlate could not compute (a constant score, every arch failed) is null in results.json
    return res["proxy"], math.nan if res["spearman"] is None else float(res["spearman"]), int(res["n"])


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
        prev = worst.get(row, 1.0)
        worst[row] = math.nan if math.isnan(r) or math.isnan(prev) else min(prev, r)  # min(x, nan) would hide a nan
        cols += [col] if col not in cols else []
    print("Spearman ρ of each run against its ground truth (made by scripts/rho_table.py; dev labels are in-sample)")
    print()
    print("| row | " + " | ".join(cols) + " | worst |")
    print("|---|" + "---|" * (len(cols) + 1))
    for row, c in cells.items():
        print(f"| {row} | " + " | ".join(c.get(k, "—") for k in cols) + f" | {worst[row]:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
