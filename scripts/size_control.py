"""Size control: the same search with different --target-params; the found final-network size.

    python scripts/size_control.py --space nb201 --dataset cifar10 --targets 0.4,0.8,1.2 \
        --data-dir ../shared/data --store runs/nb201.sqlite --out runs/size_nb201
    python scripts/size_control.py --space darts --dataset cifar10 --targets 2.5,3.5,4.5 \
        --data-dir ../shared/data --store runs/darts.sqlite --out runs/size_darts

Prints a markdown table: target, μ/σ of the proxy net, found size, multiply-adds, fitness,
evaluations, seconds (and NB201 test accuracy).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from swapnas.search import EAConfig, nb201_extras, run_search, write_result
from swapnas.store import ScoreStore


def _targets(text: str) -> list[float]:
    """``0.4,0.8`` -> [0.4, 0.8], read before any search runs (a bad entry used to stop the study after the earlier
    searches)."""
    try:
        values = [float(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give sizes in millions of parameters, e.g. 0.4,0.8,1.2") from None
    if not all(v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be > 0 million parameters")
    return values


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--space", required=True)
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--targets", required=True, type=_targets, help="comma-separated final sizes in millions")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fitness", default="swap_reg", help="the search's fitness (default swap_reg: --target-params sets "
                    "its size prior's μ and σ, the table's columns; the search's own default, best, changed since "
                    "the documented table was made)")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rows = []
    with ScoreStore(args.store) as store:
        for target in args.targets:
            out = Path(args.out) / f"target_{target}M"
            res = run_search(args.space, args.dataset, config=EAConfig(), seed=args.seed, store=store, out=out,
                             device=torch.device("cpu"), target_params=target, data_dir=args.data_dir,
                             progress=False, fitness=args.fitness)
            if args.space == "nb201":
                res.extra = nb201_extras(res, args.data_dir)
            write_result(res, out)
            rows.append((target, res))
            print(f"target {target}M -> {res.params_m:.3f}M: {res.best}", flush=True)
    acc = " test acc |" if args.space == "nb201" else ""
    print(f"\n| target (M) | μ (k) | σ (k²) | found size (M) | multiply-adds (M) | fitness | evaluations | s |{acc}")
    print("|---|---|---|---|---|---|---|---|" + ("---|" if acc else ""))
    for target, r in rows:
        extra = f" {r.extra['test_accuracy']:.2f} |" if acc else ""
        print(f"| {target} | {r.mu:.1f} | {r.sigma:.1f} | {r.params_m:.3f} | {r.macs_m:.1f} | {r.fitness:.4g} | "
              f"{r.evaluations} | {r.wall_seconds:.0f} |{extra}")


if __name__ == "__main__":
    main()
