"""Markdown table of all metrics on several datasets from `swapnas correlate` runs of many metrics (the all-metrics
table of docs/results.md names its proxies; `--proxies all` now also holds `best`, whose protocol differs: give
`--init` and `--repeats` with it).

    python scripts/grid_table.py runs/grid_cifar10/results.json runs/grid_cifar100/results.json \
        runs/grid_imagenet16-120/results.json
"""

from __future__ import annotations

import json
import sys


def main(paths: list[str]) -> None:
    runs = [json.loads(open(p).read()) for p in paths]
    names = [r["proxy"] for r in runs[0]["results"]]
    heads = [run["protocol"]["dataset"] for run in runs]
    print("| metric | " + " | ".join(f"{h} ρ | {h} τ | n (fail) | s/arch" for h in heads) + " |")
    print("|---|" + "---|---|---|---|" * len(runs))
    rows = []
    for name in names:
        cells = []
        for run in runs:
            r = {x["proxy"]: x for x in run["results"]}[name]
            cells.append(f"{r['spearman']:.3f} | {r['kendall']:.3f} | {r['n']} ({r['failures']}) | "
                         f"{r['seconds_per_arch']:.3f}")
        rows.append((name, cells))
    # best rho per dataset in bold
    for j in range(len(runs)):
        best = max(rows, key=lambda t: float(t[1][j].split(" | ")[0]))
        first, rest = best[1][j].split(" | ", 1)
        best[1][j] = f"**{first}** | {rest}"
    for name, cells in sorted(rows, key=lambda t: -float(t[1][-1].split(" | ")[0].strip("*"))):
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
