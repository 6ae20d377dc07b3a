"""Markdown table of all metrics on several datasets from `swapnas correlate` runs of many metrics (the all-metrics
table of docs/results.md names its proxies; `--proxies all` now also holds `best`, whose protocol differs: give
`--init` and `--repeats` with it).

    python scripts/grid_table.py runs/grid_cifar10/results.json runs/grid_cifar100/results.json \
        runs/grid_imagenet16-120/results.json
"""

from __future__ import annotations

import json
import math
import sys


def num(v: float | None) -> str:
    """A ρ, τ or s/arch with three decimals; nan where results.json holds null (a metric that failed on every arch)."""
    return "nan" if v is None else f"{v:.3f}"


def cell_rho(cell: str) -> float:
    """The ρ of a table cell (bold or not); a nan ρ ranks below every number, so it is never bold and sorts last."""
    v = float(cell.split(" | ")[0].strip("*"))
    return -math.inf if math.isnan(v) else v


def main(paths: list[str]) -> None:
    runs = [json.loads(open(p).read()) for p in paths]
    names = [r["proxy"] for r in runs[0]["results"]]
    for path, run in zip(paths, runs):
        missing = [n for n in names if n not in {x["proxy"] for x in run["results"]}]
        if missing:
            raise SystemExit(f"{path} has no results of {', '.join(missing)} (scored in {paths[0]}): give runs of "
                             "the same proxies")
    heads = [run["protocol"]["dataset"] for run in runs]
    print("| metric | " + " | ".join(f"{h} ρ | {h} τ | n (fail) | s/arch" for h in heads) + " |")
    print("|---|" + "---|---|---|---|" * len(runs))
    rows = []
    for name in names:
        cells = []
        for run in runs:
            r = {x["proxy"]: x for x in run["results"]}[name]
            cells.append(f"{num(r['spearman'])} | {num(r['kendall'])} | {r['n']} ({r['failures']}) | "
                         f"{num(r['seconds_per_arch'])}")
        rows.append((name, cells))
    # best rho per dataset in bold
    for j in range(len(runs)):
        best = max(rows, key=lambda t: cell_rho(t[1][j]))
        if cell_rho(best[1][j]) > -math.inf:
            first, rest = best[1][j].split(" | ", 1)
            best[1][j] = f"**{first}** | {rest}"
    for name, cells in sorted(rows, key=lambda t: -cell_rho(t[1][-1])):
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
