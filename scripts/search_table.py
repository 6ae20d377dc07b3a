"""Table of the NB201 search study from `scripts/search_nb201.py`'s summary.json.

    python scripts/search_table.py runs/search_nb201/summary.json --data-dir ../shared/data
    python scripts/search_table.py runs/a/summary.json runs/b/summary.json --data-dir ../shared/data   # one study

Per dataset, the test accuracy (mean ± std over seeds) of: the SWAP-NAS arch; random search
with the same fitness and the same number of evaluations (as run by search_nb201.py); random
search that picks the best of the same random archs by the benchmark's 200-epoch validation
accuracy (the classic baseline: it needs every sampled arch trained); and a random arch.
Then the found archs on every NB201 dataset (the NAS-Bench-201 paper's table: the arch found on one
dataset, evaluated on all three; test accuracy, mean ± std over seeds, and the ranks).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from swapnas.benchmarks import get_benchmark
from swapnas.spaces import nb201


def random_archs(n: int, seed: int) -> list[nb201.Arch]:
    """The same draw as search_nb201.random_search: n archs distinct up to isomorphism."""
    rng, seen, out = random.Random(seed), set(), []
    while len(out) < n:
        a = nb201.sample(rng)
        if nb201.iso_key(a) not in seen:
            seen.add(nb201.iso_key(a))
            out.append(a)
    return out


def mean_std(values: list) -> str:
    """``mean ± std`` (two decimals) of the values that are not None; "—" when none are (``--no-random`` runs)."""
    x = np.array([v for v in values if v is not None], dtype=float)
    return f"{x.mean():.2f} ± {x.std():.2f}" if len(x) else "—"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("summary", nargs="+", help="summary.json files; their runs are read as one study")
    ap.add_argument("--data-dir", required=True)
    args = ap.parse_args()
    runs = [r for path in args.summary for r in json.loads(Path(path).read_text())["runs"]]
    valid = get_benchmark("nb201", args.data_dir, metric="valid")
    test = get_benchmark("nb201", args.data_dir, metric="test")
    print("| dataset | SWAP-NAS | random search, same fitness | random search by validation accuracy (trains "
          "every arch) | random arch | optimum | evaluations | found arch's test rank (of 15,625) |")
    print("|---|---|---|---|---|---|---|---|")
    for ds in dict.fromkeys(r["dataset"] for r in runs):
        rows = [r for r in runs if r["dataset"] == ds]
        by_valid, any_arch = [], []
        for r in rows:
            archs = random_archs(r["evaluations"], r["seed"])
            v = valid.accuracies(archs, ds)
            t = test.accuracies(archs, ds)
            by_valid.append(t[int(np.argmax(v))])
            any_arch.append(t.mean())
        ranks = sorted({r["ea_test_rank"] for r in rows})
        print(f"| {ds} ({len(rows)} seeds) | **{mean_std([r['ea_test'] for r in rows])}** | "
              f"{mean_std([r['rs_test'] for r in rows])} | {mean_std(by_valid)} | {np.mean(any_arch):.2f} | "
              f"{rows[0]['optimum']:.2f} | {np.mean([r['evaluations'] for r in rows]):.0f} | "
              f"{', '.join(map(str, ranks))} |")
    print()
    print(on_every_dataset(runs, test))


def on_every_dataset(runs: list[dict], test) -> str:
    """Markdown: per searched dataset, its found archs' test accuracy (mean ± std) and distinct test ranks on every
    NB201 dataset; rows of summaries without the found arch (``best``) are left out."""
    lines = ["| searched on | " + " | ".join(f"{d}: test acc / ranks" for d in test.tasks) + " |",
             "|---" * (len(test.tasks) + 1) + "|"]
    for ds in dict.fromkeys(r["dataset"] for r in runs if r.get("best")):
        archs = [nb201.parse(r["best"]) for r in runs if r["dataset"] == ds and r.get("best")]
        cells = []
        for task in test.tasks:
            acc, col = test.accuracies(archs, task), test.column(test.truth(task).column)
            ranks = sorted({int((col > a).sum()) + 1 for a in acc})
            cells.append(f"{mean_std(list(acc))} / {', '.join(map(str, ranks))}")
        lines.append(f"| {ds} ({len(archs)} seeds) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
