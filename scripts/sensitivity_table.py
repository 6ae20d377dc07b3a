"""Markdown table of the protocol study: one row per `swapnas correlate` run.

    python scripts/sensitivity_table.py runs/c10_*/results.json
"""

from __future__ import annotations

import json
import sys


def _f(v: float | None) -> str:
    """Three decimals; "nan" for a statistic results.json stores as null (undefined: top-10 % ρ at S = 8)."""
    return "nan" if v is None else f"{v:.3f}"


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
        print(f"| {c} | {n} | {s} | {rep} | {_f(r['spearman'])} | [{_f(lo)}, {_f(hi)}] | {_f(r['kendall'])} | "
              f"{_f(r['top10_spearman'])} | {r['n']} | {_f(r['seconds_per_arch'])} | `{path.split('/')[-2]}` |")


if __name__ == "__main__":
    main(sys.argv[1:])
