"""Start-up time: ``import swapnas`` and ``swapnas --help``, median of ``--runs`` fresh interpreters each.

``--src DIR`` times another checkout's ``src`` (e.g. a ``git worktree`` of an older commit) in the same
run, alternating with this one, so that drift in the machine's speed hits both alike.

    python perf/startup.py [--runs 7] [--src /tmp/old/src]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "src"
JOBS = {"import swapnas": ["-c", "import swapnas"], "swapnas --help": ["-m", "swapnas", "--help"]}


def seconds(src: Path, args: list[str]) -> float:
    env = os.environ | {"PYTHONPATH": str(src)}
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--src", type=Path, help="another checkout's src folder, timed beside this one")
    args = parser.parse_args()
    sources = {"this checkout": HERE} | ({f"{args.src}": args.src} if args.src else {})
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
