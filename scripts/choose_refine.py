"""Choose the search's second stage (``--refine K --refine-repeats R``) on dev data only.

Simulates searches on the NB201 CIFAR-10 dev sample: ``--draws`` random subsets of ``--budget``
archs (a search's evaluations) of the dev archs, the same draws for every K (since session 49); in each,
stage 1 keeps the K fittest by the fitness at R=1, stage 2 picks the best of them by the fitness at R=R2;
the table gives the mean validation accuracy of the pick (K = 1 is no second stage). In-sample by
construction.

    python scripts/choose_refine.py runs/dev_nb201_c10_best_R1/results.json runs/dev_nb201_c10_best_R4/results.json
"""

from __future__ import annotations

import argparse
import json

import numpy as np
# scripts/ is on sys.path when this file runs as a script
from choose_fitness import check_dev


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage1", help="results.json of the fitness at R=1 on the dev sample")
    ap.add_argument("stage2", help="results.json of the same fitness with more repeats, same archs")
    ap.add_argument("--proxy", default="swap_prog")
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--draws", type=int, default=2000)
    args = ap.parse_args()
    a, b = (json.load(open(p)) for p in (args.stage1, args.stage2))
    for doc, path in ((a, args.stage1), (b, args.stage2)):  # (session 65: it read any pair of runs)
        check_dev(doc, path)
    if a["archs"] != b["archs"]:
        raise SystemExit("the two runs hold different archs")
    acc = np.array(a["accuracy"])
    if not 1 <= args.budget <= len(acc) or args.draws < 1:
        raise SystemExit(f"--budget must be 1 … {len(acc)} (the runs' archs; got {args.budget}) and --draws >= 1 "
                         f"(got {args.draws})")
    f1, f2 = (np.array([-np.inf if v is None else v for v in d["scores"][args.proxy]]) for d in (a, b))
    rng = np.random.default_rng(0)
    print(f"dev: {len(acc)} archs, {args.draws} simulated searches of {args.budget} evaluations (in-sample)")
    print("| K | mean valid acc of the pick | P(pick in dev top 5%) |")
    print("|---|---|---|")
    top5 = acc >= np.quantile(acc, 0.95)
    draws = [rng.choice(len(acc), args.budget, replace=False) for _ in range(args.draws)]
    for k in (1, 3, 5, 10, 20):  # the same draws for every K (until session 49 each K drew its own)
        picks = []
        for sub in draws:
            short = sub[np.argsort(-f1[sub], kind="stable")[:k]]
            picks.append(short[np.argmax(f2[short])])
        picks = np.array(picks)
        print(f"| {k} | {acc[picks].mean():.3f} | {top5[picks].mean():.3f} |")


if __name__ == "__main__":
    main()
