"""Simulated one-stage searches on dev sets: how good an arch each fitness would pick.

For every ``correlate`` run given (``LABEL=results.json``; dev sets only, docs/protocol.md; any other
run is refused) and every proxy in it, draw ``--draws`` random subsets of ``--budget`` × the run's archs (the archs a
search would have evaluated; the same draws for every proxy of a run, seed 0, as
``scripts/choose_stage2_net.py`` draws them) and report the mean accuracy of each subset's fittest arch
and how often it lies in the run's top 5 % by accuracy (a lower-is-better proxy is negated first).
Failed scores count as the worst fitness.
Every figure is in-sample when the fitness was chosen on the same dev set.

    python scripts/simulated_picks.py darts_swap=runs/best2_darts_swap/results.json \\
        darts_swap=runs/best10_darts_swap/results.json nb301=runs/best2_nb301/results.json \\
        nb301=runs/best10_nb301/results.json
"""

from __future__ import annotations

import argparse
import json

import numpy as np

# scripts/ is on sys.path when this file runs as a script
from choose_fitness import check_dev
from choose_stage2_net import simulate


def rows(label: str, path: str, budget: float, draws: int) -> list[str]:
    doc = json.load(open(path))
    check_dev(doc, path)
    acc = np.array(doc["accuracy"], dtype=float)
    top5 = acc >= np.quantile(acc, 0.95)
    sign = {r["proxy"]: 1.0 if r.get("higher_is_better", True) else -1.0 for r in doc["results"]}
    out = []
    for proxy, vals in doc["scores"].items():
        f1 = np.array([-np.inf if v is None else sign.get(proxy, 1.0) * v for v in vals], dtype=float)
        mean, share, _ = simulate(acc, f1, {}, 1, max(1, round(budget * len(acc))), draws, top5)
        out.append(f"| {label} | `{path}` | {proxy} | {len(acc)} | {mean:.2f} | {share:.3f} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", metavar="LABEL=RESULTS.json")
    ap.add_argument("--budget", type=float, default=0.2, help="a simulated search's evaluations, as a share of the dev set")
    ap.add_argument("--draws", type=int, default=2000)
    args = ap.parse_args()
    lines = [f"Simulated searches: {args.draws} random subsets of {args.budget:.0%} of each dev set, the fittest arch "
             "of each (mean accuracy; share in the set's top 5 %). In-sample for a fitness chosen on the set.", "",
             "| dev set | run | fitness | archs | mean accuracy of the pick | in top 5 % |", "|---|---|---|---|---|---|"]
    for spec in args.runs:
        label, sep, path = spec.partition("=")
        if not sep:
            raise SystemExit(f"{spec!r}: expected LABEL=results.json")
        lines += rows(label, path, args.budget, args.draws)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
