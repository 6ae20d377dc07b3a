"""What opening a score store costs: the integrity check (PRAGMA quick_check) that ScoreStore runs on
open, on a store of N scores written here. Prints the median seconds of ``ScoreStore(path)`` open +
close over 5 opens, and of a bare sqlite3 connect for comparison.

    python perf/store_open.py [--scores 15000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from swapnas.store import Record, ScoreKey, ScoreStore


def _median(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scores", type=int, default=15000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scores.sqlite"
        with ScoreStore(path) as store:
            rec = Record("ok", 1.0, 0.0, [1.0, 1.0, 1.0, 1.0], 0.1, None, None)
            for i in range(args.scores):
                store.put(ScoreKey("nb201", f"arch{i}", "swap@1", "fp", 0, 16, 4, "{}"), rec)
        size_mb = path.stat().st_size / 1e6
        ours = _median(lambda: ScoreStore(path).close())
        bare = _median(lambda: sqlite3.connect(path).close())
    print(f"{args.scores} scores, {size_mb:.1f} MB: ScoreStore open+close {ours * 1e3:.1f} ms "
          f"(bare sqlite3 connect {bare * 1e3:.2f} ms)")


if __name__ == "__main__":
    main()
