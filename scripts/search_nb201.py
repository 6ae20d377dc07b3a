"""NB201 SWAP-NAS over several seeds against random search with the same number of evaluations.

    python scripts/search_nb201.py --data-dir ../shared/data --store runs/nb201.sqlite --out runs/search_nb201

For each dataset and seed: one `swapnas search` (default EA; ``--fitness``, default ``best`` under
its fitness protocol; ``swap_reg`` with the default NB201 size prior is the paper's), then random search:
the same number of distinct random archs (seeded by the same seed), the best by the same fitness. Prints a
markdown table of the found archs' test accuracy (mean ± std over seeds) and writes summary.json. Scores
come from / go to --store, so reruns are cheap and an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from swapnas.benchmarks import get_benchmark
from swapnas.cli.args import net_options
from swapnas.search import nb201_extras, run_search, write_result
from swapnas.scoring import score_arch
from swapnas.search import EAConfig
from swapnas.session import configure
from swapnas.spaces import nb201
from swapnas.store import ScoreStore
from search_table import mean_std  # scripts/ is on sys.path when run as a script

DATASETS = ("cifar10", "cifar100", "imagenet16-120")


def random_search(n: int, seed: int, fitness) -> tuple[nb201.Arch, float]:
    """The fittest of ``n`` random cells of distinct isomorphism classes (drawn with ``random.Random(seed)``; the
    first of equally fit ones, and the first drawn when none could be scored: fitness -inf)."""
    if n < 1:
        raise ValueError(f"random search needs n >= 1 cells (got {n})")
    rng, seen, best = random.Random(seed), set(), None
    while len(seen) < n:
        a = nb201.sample(rng)
        if nb201.iso_key(a) in seen:
            continue
        seen.add(nb201.iso_key(a))
        f = fitness(a)
        if best is None or f > best[1]:
            best = (a, f)
    return best


def summary_table(runs: list[dict], datasets: list[str], fitness: str) -> list[str]:
    """The markdown table of the study's runs (``summary.json``'s rows): per dataset, the searches' and random
    searches' test accuracy (mean ± population std), the optimum, the mean evaluations and the mean test rank."""
    lines = [f"| dataset | search test acc, fitness {fitness} (mean ± std) | random search, same evaluations | "
             "optimum | evaluations | mean rank of the found arch (test) |", "|---|---|---|---|---|---|"]
    for ds in datasets:
        rows = [r for r in runs if r["dataset"] == ds]
        lines.append(f"| {ds} | {mean_std([r['ea_test'] for r in rows])} | {mean_std([r['rs_test'] for r in rows])} | "
                     f"{rows[0]['optimum']:.2f} | {np.mean([r['evaluations'] for r in rows]):.0f} | "
                     f"{np.mean([r['ea_test_rank'] for r in rows]):.0f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--prior", type=float, nargs=2, default=None, metavar=("CENTRE", "WIDTH"),
                    help="swap_reg only: size-prior rule of the search (default: the space's SEARCH_PRIOR)")
    ap.add_argument("--fitness", default="best", help="best (default) or swap_reg (the paper's SWAP-NAS)")
    ap.add_argument("--refine", type=int, default=None, help="second stage K (default: the fitness protocol's)")
    ap.add_argument("--refine-repeats", type=int, default=None, help="second stage R (default: the fitness protocol's)")
    ap.add_argument("--refine-net", type=net_options, default=None, metavar="K=V,…",
                    help="second stage network changes ('' = none; default: the fitness protocol's)")
    ap.add_argument("--refine-batch-size", type=int, default=None,
                    help="second stage S (default: the fitness protocol's)")
    ap.add_argument("--cycles", type=int, default=EAConfig().cycles,
                    help="EA cycles (default 40, the search's; 80: session 23's budget study, not adopted)")
    ap.add_argument("--no-random", action="store_true",
                    help="skip the random search with the same fitness (it scores as many new archs as the search)")
    args = ap.parse_args()
    prior = tuple(args.prior) if args.prior else None
    device, out, config = torch.device("cpu"), Path(args.out), EAConfig(cycles=args.cycles)
    summary: dict = {"config": asdict(config), "prior": prior, "fitness": args.fitness, "refine": args.refine,
                     "refine_repeats": args.refine_repeats, "refine_net": args.refine_net,
                     "refine_batch_size": args.refine_batch_size,
                     "runs": []}
    test = get_benchmark("nb201", args.data_dir, metric="test")
    with ScoreStore(args.store) as store:
        for ds in args.datasets.split(","):
            for seed in range(args.seeds):
                run_out = out / f"{ds}_seed{seed}"
                res = run_search("nb201", ds, config=config, seed=seed, store=store, out=run_out, device=device,
                                 data_dir=args.data_dir, progress=False, prior=prior, fitness=args.fitness,
                                 refine=args.refine, refine_repeats=args.refine_repeats, refine_net=args.refine_net,
                                 refine_batch_size=args.refine_batch_size)
                # random search: the same fitness (same protocol and size prior as the EA's)
                protocol, batch, proxies = configure("nb201", ds, args.fitness, data_dir=args.data_dir,
                                                     mu=res.mu, sigma=res.sigma)
                proxy = proxies[0]

                def fitness(a: nb201.Arch) -> float:
                    rec = score_arch(a, nb201.build, [proxy], batch, protocol, device, store)[proxy.name]
                    return rec.value if rec.ok else float("-inf")

                res.extra = nb201_extras(res, args.data_dir)
                write_result(res, run_out)
                rs_arch, rs_test = None, None
                if not args.no_random:
                    rs_arch, _ = random_search(res.evaluations, seed, fitness)
                    rs_test = test.accuracy(rs_arch, test.truth(ds))
                row = {"dataset": ds, "seed": seed, "fitness": res.fitness_proxy, "evaluations": res.evaluations,
                       "best": res.best, "mu": res.mu,
                       "sigma": res.sigma,
                       "ea_test": res.extra["test_accuracy"], "ea_valid": res.extra["valid_accuracy"],
                       "ea_test_rank": res.extra["test_rank"], "ea_seconds": res.wall_seconds,
                       "rs_best": None if rs_arch is None else str(rs_arch), "rs_test": rs_test,
                       "optimum": res.extra["test_optimum"]}
                summary["runs"].append(row)
                print(json.dumps(row), flush=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print()
    print("\n".join(summary_table(summary["runs"], args.datasets.split(","), args.fitness)))


if __name__ == "__main__":
    main()
