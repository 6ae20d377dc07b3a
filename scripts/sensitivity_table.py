"""Markdown table of the protocol study: one row per `swapnas correlate` run.

    python scripts/sensitivity_table.py runs/c10_*/results.json
"""

from __future__ import annotations

import json
import sys


def main(paths: list[str]) -> None:
    rows = []
    for path in paths:
        doc = json.loads(open(path).read())
        p = doc["protocol"]
        r = {x["proxy"]: x for x in doc["results"]}["swap"]
        rows.append((p["net"]["C"], p["net"]["N"], p["batch_size"], p["repeats"], r, path))
    rows.sort(key=lambda t: t[:4])
    print("| C | N | S | R | SWAP ρ | 95% CI | τ | top-10% ρ | n | s/arch | run |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for c, n, s, rep, r, path in rows:
        lo, hi = r["spearman_ci"]
        print(f"| {c} | {n} | {s} | {rep} | {r['spearman']:.3f} | [{lo:.3f}, {hi:.3f}] | {r['kendall']:.3f} | "
              f"{r['top10_spearman']:.3f} | {r['n']} | {r['seconds_per_arch']:.3f} | `{path.split('/')[-2]}` |")


if __name__ == "__main__":
    main(sys.argv[1:])
