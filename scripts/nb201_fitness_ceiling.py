"""What any size prior can give the NB201 search: the fitness maximum's test accuracy per prior.

The EA finds the maximum of its fitness on every seed (docs/search.md), so the search's result
is the arch that maximises swap_reg. This script reads every SWAP score a store holds for the
search's protocol (the archs of earlier searches and correlation runs), and for a grid of size
priors (centre c, width w on the scored net's size range) prints the test accuracy of the
best-scoring stored arch per dataset. It also compares SWAP of the ten best cells (by test
accuracy, among the stored ones) with SWAP of the fitness maximum, and counts how many of them
carry the input->output skip connection. Analysis only: it reads every dataset's labels.

    python scripts/nb201_fitness_ceiling.py --store runs/nb201.sqlite --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import sqlite3

import numpy as np

from swapnas.benchmarks import get_benchmark
from swapnas.session import configure
from swapnas.spaces import nb201

DATASETS = ("cifar10", "cifar100", "imagenet16-120")
CENTRES = (0.8, 0.9, 0.95, 0.99, 1.0)
WIDTHS = (0.01, 0.1, 0.3, 1.0)
SKIP_EDGE = 3  # edge 0 -> 3 in NB201's edge order (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2)


def stored_swap(store: str, dataset: str, data_dir: str) -> tuple[list, np.ndarray, dict]:
    protocol, _, proxies = configure("nb201", dataset, "swap", data_dir=data_dir)
    key = protocol.key("", proxies[0])
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT arch, value FROM scores WHERE space=? AND proxy=? AND protocol=? AND seed=? "
            "AND batch_size=? AND repeats=? AND net=? AND status='ok'",
            (key.space, key.proxy, key.protocol, key.seed, key.batch_size, key.repeats, key.net)).fetchall()
    if not rows:
        raise SystemExit(f"{store} holds no swap scores for nb201/{dataset} with the search protocol "
                         f"{protocol.describe()}; run scripts/search_nb201.py first")
    return [nb201.parse(a) for a, _ in rows], np.array([v for _, v in rows]), protocol.net


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default="runs/nb201.sqlite")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    bench = get_benchmark("nb201", args.data_dir, metric="test")
    print("| dataset | archs scored | c \\ w | " + " | ".join(f"w={w}" for w in WIDTHS) + " |")
    print("|---|---|---|" + "---|" * len(WIDTHS))
    notes = []
    for ds in DATASETS:
        archs, swap, net = stored_swap(args.store, ds, args.data_dir)
        classes = {"cifar10": 10, "cifar100": 100}.get(ds, 120)
        theta = np.array([nb201.count_params(a, num_classes=classes, **net) / 1e3 for a in archs])
        lo, hi = nb201.param_range_k(num_classes=classes, **net)
        acc = bench.accuracies(archs, ds)
        for c in CENTRES:
            cells = []
            for w in WIDTHS:
                fit = swap * np.exp(-((theta - (lo + c * (hi - lo))) ** 2) / (w * (hi - lo)) ** 2)
                cells.append(f"{acc[int(np.argmax(fit))]:.2f}")
            print(f"| {ds} | {len(archs)} | c={c} | " + " | ".join(cells) + " |")
        top = np.argsort(-acc)[:10]
        best = int(np.argmax(swap))
        skip = sum(archs[i].ops[SKIP_EDGE] == "skip_connect" for i in top)
        notes.append(f"{ds}: the 10 best stored cells (test {acc[top].min():.2f}-{acc[top].max():.2f}) have "
                     f"SWAP {swap[top].mean():.0f} on average, {swap[top].mean() / swap[best]:.1%} of the SWAP "
                     f"maximum ({swap[best]:.0f}, test {acc[best]:.2f}); {skip}/10 have the 0->3 skip edge")
    print()
    for n in notes:
        print("- " + n)


if __name__ == "__main__":
    main()
