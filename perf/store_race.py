"""Processes racing on one score store: do any of them fail with 'database is locked'?

Session 23 saw one CI run fail a test where two searches share a fresh store. This script tries the two
suspects: ``--trials`` times, ``--procs`` processes open one *fresh* store at the same instant (a start time
they all wait for) and each writes a protocol, a code digest and a score; then ``--procs`` processes write
``--writes`` scores each into one store at once. It prints how many processes failed, and the first error.

    OMP_NUM_THREADS=1 python perf/store_race.py --trials 40 --procs 3 --writes 3000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = """
import sys, time
from swapnas.store import Record, ScoreKey, ScoreStore
path, who, start, n = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
while time.time() < start:
    pass
try:
    with ScoreStore(path) as s:
        s.add_protocol("fp", {"made": "up"})
        s.code_changed("swap@1", "digest-" + who)
        for i in range(n):
            key = ScoreKey("nb201", f"arch-{who}-{i}", "swap", "fp", 0, 16, 1, "{}")
            s.put(key, Record("ok", float(i), 0.0, [], 0.0, None, None))
    print("ok")
except Exception as exc:
    print(f"FAILED after {time.time() - start:.2f} s: {exc}")
"""


def race(path: Path, procs: int, writes: int) -> list[str]:
    """Each process's last line, all started together on ``path``."""
    start = time.time() + 1.5  # after every interpreter has started
    ps = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(i), str(start), str(writes)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(procs)]
    return [(p.communicate()[0].strip().splitlines() or ["no output"])[-1] for p in ps]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=40, help="fresh stores opened by all processes at once")
    ap.add_argument("--procs", type=int, default=3)
    ap.add_argument("--writes", type=int, default=3000, help="scores per process in the concurrent-write trial")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        opens = [line for t in range(args.trials) for line in race(Path(tmp, f"fresh{t}.sqlite"), args.procs, 1)]
        writes = race(Path(tmp, "shared.sqlite"), args.procs, args.writes)
    for what, lines in ((f"fresh store opened at once, {args.trials} trials", opens),
                        (f"{args.writes} scores written at once", writes)):
        bad = [line for line in lines if line != "ok"]
        print(f"{what}: {len(bad)} of {len(lines)} processes failed" + (f"; first: {bad[0]}" if bad else ""))


if __name__ == "__main__":
    main()
