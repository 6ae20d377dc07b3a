"""The README job (NB201 CIFAR-100, swap,swap_reg,params, 1000 archs, seed 0) five ways, in one run:

  today   the code of commit 4b8bd01 with its defaults (one process, torch's default thread count):
          the package as it was when issue 13 measured the job at 2 min 23 s ("faster than today")
  before  --workers 1 --threads C : today's code with the old default settings (one process,
          torch's default thread count): what the settings alone gain
  single  --workers 1 --threads 1 : one process, one thread (what the two figures above scale from)
  quiet   (defaults)              : one single-thread worker per core (the new default)
  loaded  (defaults)              : the same while one other CPU-bound process spins on the machine

Each run is the real `swapnas correlate` command in a fresh output folder (fresh store) and a
fresh process (``today``: that commit's ``src`` unpacked by ``git archive`` into the output folder
and put first on PYTHONPATH); the script prints wall seconds, the ratios the README quotes, and
whether the five results.json hold identical scores and correlations.

    python perf/workers.py [--archs 1000] [--data-dir ../shared/data] [--out runs/perf_workers]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

from swapnas.executors import usable_cores


def _spin() -> None:
    while True:
        pass


#: the commit issue 13 measured the README job on (its README: "2 min 23 s on a 2-core CPU")
TODAY = "4b8bd01"


def _today_src(out: Path) -> Path:
    """That commit's ``src`` folder, unpacked from this repository's history into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", TODAY, "src"], check=True, capture_output=True,
                             cwd=Path(__file__).resolve().parent.parent).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    # compiled before the clock starts, as an installed package's modules are
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(out / "src")], check=True)
    return out / "src"


def _run(name: str, extra: list[str], args: argparse.Namespace, src: Path | None = None) -> tuple[float, dict]:
    out = Path(args.out) / name
    module = "swapnas.cli" if src is not None else "swapnas"  # that commit had no swapnas/__main__.py
    cmd = [sys.executable, "-m", module, "correlate", "--space", "nb201", "--dataset", "cifar100",
           "--proxies", "swap,swap_reg,params", "--archs", str(args.archs), "--seed", "0",
           "--data-dir", args.data_dir, "--out", str(out), "--no-progress", *extra]
    for leftover in ("scores.sqlite", "scores.sqlite-wal", "scores.sqlite-shm"):  # an earlier invocation's store:
        (out / leftover).unlink(missing_ok=True)  # its scores would be read back, not timed (session 70)
    env = {k: v for k, v in os.environ.items() if k not in ("SWAPNAS_WORKERS", "OMP_NUM_THREADS")}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src.resolve()), *filter(None, [env.get("PYTHONPATH")])])
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    doc = json.loads((out / "results.json").read_text())
    # keyed by proxy: commit 4b8bd01 lists results as swap, params, swap_reg, today's code in the order asked
    return wall, {"scores": doc["scores"], "results": {r["proxy"]: {k: r[k] for k in ("spearman", "kendall",
                                                                                       "spearman_ci")}
                                                       for r in doc["results"]}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archs", type=int, default=1000)
    ap.add_argument("--data-dir", default=os.environ.get("SWAPNAS_DATA", "../shared/data"))
    ap.add_argument("--out", default="runs/perf_workers")
    args = ap.parse_args()
    cores = usable_cores()
    walls, docs = {}, {}
    src = _today_src(Path(args.out) / "today_code")
    walls["today"], docs["today"] = _run("today", [], args, src)
    walls["before"], docs["before"] = _run("before", ["--workers", "1", "--threads", str(cores)], args)
    walls["single"], docs["single"] = _run("single", ["--workers", "1", "--threads", "1"], args)
    walls["quiet"], docs["quiet"] = _run("quiet", [], args)
    spinner = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
    spinner.start()
    try:
        walls["loaded"], docs["loaded"] = _run("loaded", [], args)
    finally:
        spinner.terminate()
    print(f"{cores} usable cores, {args.archs} archs, README job (nb201 cifar100 swap,swap_reg,params)")
    for name, w in walls.items():
        print(f"  {name:<7} {w:7.1f} s")
    print(f"new default vs today ({TODAY}), quiet machine: {walls['today'] / walls['quiet']:.2f}x faster")
    print(f"new default vs old default settings, quiet machine: {walls['before'] / walls['quiet']:.2f}x faster")
    print(f"new default, loaded vs quiet: {walls['loaded'] / walls['quiet']:.2f}x slower")
    print(f"from one thread: {cores} threads in one process {walls['single'] / walls['before']:.2f}x, "
          f"{cores} single-thread workers {walls['single'] / walls['quiet']:.2f}x; the most the workers can gain "
          f"over the old default is about {cores} / {walls['single'] / walls['before']:.2f} = "
          f"{cores * walls['before'] / walls['single']:.2f}x")
    same = all(doc == docs["today"] for doc in docs.values())
    print(f"scores and correlations identical in all five runs: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
