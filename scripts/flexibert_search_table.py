"""Table of FlexiBERT searches: per fitness, the benchmark score of each returned arch (or of its
nearest benchmark arch, `result.json`'s ``extra``), mean ± std over seeds.

    for s in 0 1 2 3 4; do for f in best swap_ext; do
      swapnas search --space flexibert --dataset glue --fitness $f --seed $s --data-dir ../shared/data \\
          --store runs/flexibert/search.sqlite --out runs/fb_search8/${f}_s$s --no-progress
    done; done
    python scripts/flexibert_search_table.py runs/fb_search8 --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

from swapnas.benchmarks import get_benchmark


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", help="folder of search outputs named FITNESS_sSEED")
    ap.add_argument("--data-dir", default=None, help="the swapnas data bundle (default: $SWAPNAS_DATA or ../shared/data)")
    args = ap.parse_args()
    rows: dict[str, list[dict]] = defaultdict(list)
    def seed_order(path: Path) -> tuple[str, int, str]:  # FITNESS_s10 after FITNESS_s9, not after FITNESS_s1
        fitness, _, seed = path.parent.name.rpartition("_s")
        return (fitness, int(seed), "") if seed.isdigit() else (fitness, -1, seed)

    for path in sorted(Path(args.runs).glob("*_s*/result.json"), key=seed_order):
        doc = json.loads(path.read_text())
        if "extra" not in doc:
            ap.error(f"{path} has no benchmark figures ('extra'): the search ran without the data bundle")
        rows[path.parent.name.rsplit("_s", 1)[0]].append(doc)
    if not rows:
        ap.error(f"{args.runs} holds no search outputs FITNESS_sSEED/result.json (swapnas search --out)")
    print("| fitness | seeds | GLUE score (mean ± std) | per seed | nearest benchmark arch: choices differing | "
          "rank of 491 | found arch in the benchmark | search loop (s, per seed) |")
    print("|---|---|---|---|---|---|---|---|")
    for fitness, docs in rows.items():
        task = docs[0]["dataset"]
        scores = [d["extra"][f"{task}_score"] for d in docs]
        sd = statistics.pstdev(scores) if len(scores) > 1 else 0.0
        print(f"| {fitness} ({docs[0]['fitness_proxy'].split('@')[0]}) | {len(docs)} | {statistics.mean(scores):.2f} ± "
              f"{sd:.2f} | {', '.join(f'{s:.2f}' for s in scores)} | {', '.join(str(d['extra']['distance']) for d in docs)} | "
              f"{', '.join(str(d['extra']['rank']) for d in docs)} | {sum(d['extra']['in_benchmark'] for d in docs)} | "
              f"{', '.join(format(d['wall_seconds'], '.1f') for d in docs)} |")
    bench = get_benchmark("flexibert", args.data_dir)
    scores = bench.accuracies(bench.archs, task)
    print(f"\nBenchmark ({task}, {len(scores)} distinct archs): optimum {scores.max():.2f}, median "
          f"{statistics.median(scores):.2f}, mean {scores.mean():.2f}")


if __name__ == "__main__":
    main()
