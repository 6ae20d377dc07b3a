"""The CPU peak memory a correlate run stores with each score, per metric: how many read as nothing (≤ 4 KiB) and
the spread, under this checkout's code and, with ``--src DIR``, another checkout's in the same run.

Each checkout runs ``swapnas correlate --space nb201 --dataset cifar10 --proxies PROXIES --archs N --seed S`` in a
fresh process (one torch thread, a store of its own in ``--work``), then the store's ``peak_mem_bytes`` are read.
Until session 70 the CPU peak was the resident set's growth, which misses memory served from the process's freed
heap; since, glibc's heap in use (``swapnas.memory``).

    python perf/peak_memory.py --data-dir ../shared/data --work runs/peak_memory [--src /tmp/old/src]
        [--archs 40] [--seed 3] [--proxies swap,synflow,snip,params]

``--src``: e.g. ``git worktree add /tmp/old <commit>`` and ``--src /tmp/old/src``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "src"


def run(src: Path, out: Path, args: argparse.Namespace) -> list[tuple]:
    """One correlate under ``src``; per proxy: (proxy, n, how many ≤ 4 KiB, min, median, max MiB)."""
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "swapnas", "correlate", "--space", "nb201", "--dataset", "cifar10",
                    "--proxies", args.proxies, "--archs", str(args.archs), "--seed", str(args.seed),
                    "--data-dir", args.data_dir, "--out", str(out), "--no-progress", "-q"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    rows = []
    with closing(sqlite3.connect(out / "scores.sqlite")) as db:
        for proxy in args.proxies.split(","):
            peaks = sorted(p for (p,) in db.execute("SELECT peak_mem_bytes FROM scores WHERE proxy LIKE ? || '@%'",
                                                     (proxy,)) if p is not None)
            if peaks:
                rows.append((proxy, len(peaks), sum(p <= 4096 for p in peaks), peaks[0] / 2**20,
                             peaks[len(peaks) // 2] / 2**20, peaks[-1] / 2**20))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--work", type=Path, required=True, help="a folder for the runs (emptied of earlier runs' stores)")
    ap.add_argument("--src", type=Path, help="another checkout's src, run after this one's")
    ap.add_argument("--archs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--proxies", default="swap,synflow,snip,params")
    args = ap.parse_args()
    print("| code | proxy | scores | ≤ 4 KiB | min MiB | median MiB | max MiB |\n|---|---|---|---|---|---|---|")
    for name, src in [("this", HERE)] + ([("--src", args.src.resolve())] if args.src else []):
        out = args.work / name.strip("-")
        for leftover in ("scores.sqlite", "scores.sqlite-wal", "scores.sqlite-shm"):  # (as perf/workers.py)
            (out / leftover).unlink(missing_ok=True)
        for proxy, n, nothing, low, mid, high in run(src, out, args):
            print(f"| {name} | {proxy} | {n} | {nothing} | {low:.2f} | {mid:.2f} | {high:.2f} |", flush=True)


if __name__ == "__main__":
    main()
