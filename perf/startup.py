"""Start-up time: ``import swapnas`` and ``swapnas --help``, median of ``--runs`` fresh interpreters each.

``--readme-job DATA`` instead times the README's main job (default workers, a fresh store file) ``--runs``
times: the seconds from the command's start to its first stored score (the start-up: the command imports
torch, loads the benchmark and the batch, starts its worker processes, each importing torch), and to its end;
with ``--src`` alternating with the other checkout, and checking that both wrote the same ``results.csv`` columns
(each column's values; the columns' order may differ).

``--src DIR`` times another checkout's ``src`` (e.g. a ``git worktree`` of an older commit) in the same
run, alternating with this one, so that drift in the machine's speed hits both alike.

    python perf/startup.py [--runs 7] [--src /tmp/old/src]
    python perf/startup.py --readme-job ../shared/data [--runs 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "src"
JOBS = {"import swapnas": ["-c", "import swapnas"], "swapnas --help": ["-m", "swapnas", "--help"]}


def _env(src: Path) -> dict[str, str]:
    """This environment with ``src`` on the path and without SWAPNAS_WORKERS, so "default workers" means the default."""
    return {k: v for k, v in os.environ.items() if k != "SWAPNAS_WORKERS"} | {"PYTHONPATH": str(src)}


def seconds(src: Path, args: list[str]) -> float:
    env = _env(src)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def readme_job(data_dir: str, src: Path) -> tuple[float, float, str]:
    """(seconds to the first stored score, seconds to the end, results.csv's columns as sorted JSON: the column
    order may differ between versions) of one README job on a fresh store, with the code in ``src``."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp, "scores.sqlite")
        cmd = [sys.executable, "-m", "swapnas", "-q", "correlate", "--space", "nb201", "--dataset", "cifar100",
               "--proxies", "swap,swap_reg,params", "--archs", "1000", "--seed", "0", "--data-dir", data_dir,
               "--store", str(store), "--out", str(Path(tmp, "out"))]
        env = _env(src)
        start = time.time()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        end = time.time()
        with sqlite3.connect(store) as db:
            (first,) = db.execute("SELECT MIN(created) FROM scores").fetchone()
        with open(Path(tmp, "out", "results.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        table = json.dumps({c: [r[c] for r in rows] for c in rows[0]}, sort_keys=True)
        return first - start, end - start, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--src", type=Path, help="another checkout's src folder, timed beside this one")
    parser.add_argument("--readme-job", metavar="DATA", help="time the README job (data bundle DATA) instead")
    args = parser.parse_args()
    sources = {"this checkout": HERE} | ({f"{args.src}": args.src} if args.src else {})
    if args.readme_job:
        print("| run | code | s to the first stored score | s to the end |")
        print("|---|---|---|---|")
        tables = set()
        for i in range(args.runs):
            for name, src in sources.items():
                first, total, table = readme_job(args.readme_job, src)
                tables.add(table)
                print(f"| {i + 1} | {name} | {first:.1f} | {total:.1f} |", flush=True)
        print("results.csv: the same columns and values in every run" if len(tables) == 1 else
              "results.csv DIFFERS between runs")
        return
    times: dict[tuple[str, str], list[float]] = {(s, j): [] for s in sources for j in JOBS}
    for _ in range(args.runs):
        for job, argv in JOBS.items():
            for name, src in sources.items():
                times[(name, job)].append(seconds(src, argv))
    print("| code | command | median s | min s | max s |")
    print("|---|---|---|---|---|")
    for (name, job), ts in times.items():
        print(f"| {name} | `{job}` | {statistics.median(ts):.2f} | {min(ts):.2f} | {max(ts):.2f} |")


if __name__ == "__main__":
    main()
