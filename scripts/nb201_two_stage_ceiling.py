"""What the NB201 search's two stages return when the EA finds the space's K fittest archs.

Analysis only (it reads every dataset's test labels and chooses nothing). For each dataset, from
the full-space run of ``best`` (``swapnas correlate --space nb201 --dataset D --proxies best
--archs all``), take the K fittest of the 15,625 archs by the first stage, score them under the
second stage of ``nb201.FITNESS_PROTOCOL`` (into ``--store``) and print the test accuracy and rank
of the first stage's maximum and of the second stage's pick. A search can do no better than its
fitness here unless its short list differs from the space's top K.

    python scripts/nb201_two_stage_ceiling.py runs/full_nb201_cifar10_best/results.json \\
        runs/full_nb201_cifar100_best/results.json runs/full_nb201_imagenet16-120_best/results.json \\
        --data-dir ../shared/data --store runs/full.sqlite
    # session 9's figures (the former best, swap_prog, under the same second stage):
    python scripts/nb201_two_stage_ceiling.py runs/full_nb201_{cifar10,cifar100,imagenet16-120}_best/results.json \
        --fitness swap_prog --data-dir ../shared/data --store runs/full.sqlite
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from swapnas.benchmarks import get_benchmark
from swapnas.search.driver import choose_fitness
from swapnas.devices import resolve_device
from swapnas.session import configure, score_archs
from swapnas.spaces import nb201
from swapnas.store import ScoreStore


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="full-space results.json of `best`, one per dataset")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--fitness", default="best", help="the fitness the runs scored (default best; e.g. swap_prog, a former "
                    "NB201 best); the second stage is always the space's")
    args = ap.parse_args()
    torch.set_num_threads(1)
    _, stage = choose_fitness("nb201", "best")  # the space's second stage, whichever fitness the runs scored
    name = choose_fitness("nb201", args.fitness)[0].name
    print(f"fitness: {name}")
    test = get_benchmark("nb201", args.data_dir, metric="test")
    print(f"second stage: the {stage.k} fittest on {stage.net}, S={stage.batch_size}, R={stage.repeats}")
    print("| dataset | first stage's maximum: test acc (rank) | second stage's pick of the space's top "
          f"{stage.k}: test acc (rank) | best test acc among those {stage.k} | optimum |")
    print("|---|---|---|---|---|")
    with ScoreStore(args.store) as store:
        for path in args.runs:
            doc = json.load(open(path))
            ds = doc["protocol"]["dataset"]
            if len(doc["archs"]) != 15625:
                raise SystemExit(f"{path} is not a full-space run (it holds {len(doc['archs'])} archs)")
            if name not in doc["scores"]:
                raise SystemExit(f"{path} holds no scores of {name} (it has {', '.join(doc['scores'])}); "
                                 "give --fitness NAME for a run of another fitness")
            f1 = np.array([-np.inf if v is None else v for v in doc["scores"][name]])
            top = [nb201.parse(doc["archs"][i]) for i in np.argsort(-f1, kind="stable")[:stage.k]]
            protocol, batch, proxies = configure("nb201", ds, name, net={**doc["protocol"]["net"], **stage.net},
                                                 batch_size=stage.batch_size, repeats=stage.repeats,
                                                 data_dir=args.data_dir)
            recs = score_archs(top, "nb201", proxies, protocol, batch, store, resolve_device("cpu"),
                               progress=False)[proxies[0].name]
            pick = top[int(np.argmax([r.value if r.ok else -np.inf for r in recs]))]
            col = test.column(test.truth(ds).column)

            def acc_rank(a: nb201.Arch) -> tuple[float, int]:
                acc = float(col[test.index_of(a)])
                return acc, int((col > acc).sum()) + 1

            a1, r1 = acc_rank(top[0])
            a2, r2 = acc_rank(pick)
            print(f"| {ds} | {a1:.2f} ({r1}) | {a2:.2f} ({r2}) | {max(acc_rank(a)[0] for a in top):.2f} | {col.max():.2f} |")


if __name__ == "__main__":
    main()
