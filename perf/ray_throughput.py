"""Archs per second of an NB201 sweep, end to end: in this process vs on Ray workers.

Both runs score the same archs under the same protocol (default: the scored network
C=16 N=1, S=16 synthetic inputs, R=1, proxy swap) into a fresh temporary store each, with
``score_archs``; the Ray run starts a local Ray instance of ``--ray-cpus`` CPUs (one task per
CPU, one torch thread per task), and its end-to-end time includes starting Ray. The local run
uses ``--local-threads`` torch threads (default: torch's default, i.e. all cores). Prints
archs/s of each and whether the two stores hold the same scores.

    python perf/ray_throughput.py [--archs 1000] [--ray-cpus N] [--local-threads T]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import torch

from swapnas.executors import RayExecutor
from swapnas.session import configure, score_archs
from swapnas.spaces import nb201
from swapnas.store import ScoreStore


def _rows(path: Path) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT arch, proxy, status, value, values_json FROM scores ORDER BY arch, proxy").fetchall()
    finally:
        db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", type=int, default=1000, help="NB201 archs drawn with seed 0 (default 1000)")
    ap.add_argument("--ray-cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
    ap.add_argument("--local-threads", type=int, default=None, help="torch threads of the local run (default: torch's)")
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--cells", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--proxies", default="swap")
    ap.add_argument("--chunk-size", type=int, default=1, help="archs per Ray task (default 1)")
    args = ap.parse_args()

    protocol, batch, proxies = configure(
        "nb201", "cifar10", args.proxies, batch_size=args.batch_size, repeats=args.repeats,
        net={"C": args.channels, "N": args.cells}, inputs="synthetic",
    )
    archs = random.Random(0).sample(list(nb201.all_archs()), args.archs)
    cpu = torch.device("cpu")
    if args.local_threads:
        torch.set_num_threads(args.local_threads)
    print(f"NB201 sweep: {args.archs} archs, C={args.channels} N={args.cells} S={args.batch_size} "
          f"R={args.repeats}, proxies {args.proxies}, synthetic inputs, cpu")

    with tempfile.TemporaryDirectory() as tmp:
        local_path, ray_path = Path(tmp, "local.sqlite"), Path(tmp, "ray.sqlite")
        t0 = time.perf_counter()
        with ScoreStore(local_path) as store:
            score_archs(archs, "nb201", proxies, protocol, batch, store, cpu, progress=False)
        local_s = time.perf_counter() - t0
        print(f"local ({torch.get_num_threads()} torch threads): {local_s:7.1f} s  {args.archs / local_s:7.1f} archs/s")

        t0 = time.perf_counter()
        with RayExecutor(num_cpus=args.ray_cpus, chunk_size=args.chunk_size) as ex:
            import ray

            cpus = int(ray.cluster_resources().get("CPU", 0))
            t1 = time.perf_counter()
            with ScoreStore(ray_path) as store:
                score_archs(archs, "nb201", proxies, protocol, batch, store, cpu, progress=False, executor=ex)
            t2 = time.perf_counter()
        ray_s, score_s = t2 - t0, t2 - t1
        print(f"ray ({cpus} CPUs, 1 thread/task):  {ray_s:7.1f} s  {args.archs / ray_s:7.1f} archs/s end to end "
              f"(Ray start {t1 - t0:.1f} s; scoring alone {args.archs / score_s:.1f} archs/s)")
        same = _rows(local_path) == _rows(ray_path)
        print(f"speed-up {local_s / ray_s:.2f}x end to end, {local_s / score_s:.2f}x scoring alone; "
              f"stores identical: {same}")


if __name__ == "__main__":
    main()
