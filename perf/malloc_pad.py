"""The README job with and without the scoring processes' heap pad (``swapnas.malloc``).

Runs ``swapnas correlate`` (the README's main job: NB201, CIFAR-100, swap / swap_reg / params, 1000
archs, default workers, an in-memory store) alternately with ``SWAPNAS_MALLOC_PAD_MIB=0`` (glibc's
default) and with the default pad, ``--rounds`` times each, and prints per run the wall time and, over
the command and its worker processes, user and system CPU seconds, minor page faults and the largest
resident set of one process. Checks that every run's scores are identical.

    python perf/malloc_pad.py --data-dir ../shared/data [--archs 1000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from swapnas.malloc import TOP_PAD_MIB


_WRAP = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
wall = time.perf_counter() - start
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "user": u.ru_utime, "sys": u.ru_stime, "minflt": u.ru_minflt, "maxrss_mib": u.ru_maxrss / 1024}))
"""


def run(data_dir: str, archs: int, pad: int, out: Path) -> dict[str, float]:
    cmd = [sys.executable, "-m", "swapnas", "-q", "correlate", "--space", "nb201", "--dataset", "cifar100",
           "--proxies", "swap,swap_reg,params", "--archs", str(archs), "--seed", "0", "--data-dir", data_dir,
           "--store", ":memory:", "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "SWAPNAS_WORKERS"} | {
        "SWAPNAS_MALLOC_PAD_MIB": str(pad)}  # default workers: the README job's
    # a fresh parent per run, so that its children's largest resident set is this run's alone
    done = subprocess.run([sys.executable, "-c", _WRAP, *cmd], env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def scores(out: Path) -> list[tuple[str, ...]]:
    with open(out / "results.csv", newline="") as f:
        return sorted(tuple(row) for row in csv.reader(f))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("SWAPNAS_DATA", "../shared/data"))
    parser.add_argument("--archs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rows, seen = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for pad in (0, TOP_PAD_MIB):
                out = Path(tmp) / f"r{r}_pad{pad}"
                rows.append((pad, run(args.data_dir, args.archs, pad, out)))
                seen.append(scores(out))
    print(f"README job, {args.archs} archs, default workers; pad 0 = glibc's default")
    print("| pad (MiB) | wall s | user s | sys s | minor faults | max RSS of one process (MiB) |")
    print("|---|---|---|---|---|---|")
    for pad, m in rows:
        print(f"| {pad} | {m['wall']:.1f} | {m['user']:.1f} | {m['sys']:.1f} | {m['minflt']:,.0f} | {m['maxrss_mib']:.0f} |")
    for pad in (0, TOP_PAD_MIB):
        walls = [m["wall"] for p, m in rows if p == pad]
        print(f"pad {pad}: median wall {statistics.median(walls):.1f} s")
    ratio = statistics.median(m["wall"] for p, m in rows if p == 0) / statistics.median(
        m["wall"] for p, m in rows if p == TOP_PAD_MIB)
    print(f"speed-up of the pad: {ratio:.2f}x; scores identical in every run: {all(s == seen[0] for s in seen)}")


if __name__ == "__main__":
    main()
