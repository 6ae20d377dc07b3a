"""Whole-space NB201 sweep: our SWAP path end to end vs an authors'-style scorer, same run.

    python perf/nb201_sweep.py --device cuda --prefetch 4     # all 15,625 archs, S=64, 1 init
    python perf/nb201_sweep.py --device cpu --archs 50 --authors-archs 20   # a quick CPU check

Ours: the package's own path end to end (`session.score_archs` into a fresh SQLite store):
per arch, build the benchmark network (C=16, N=5), N(0,1) init with the arch's seed, move to
the device, `swap_score` (exact) on S real CIFAR-10 images, one committed store row;
``--prefetch K`` builds the next K archs' networks in a thread meanwhile (throughput mode); ``--workers N``
scores in N spawned processes sharing the device instead (the CLI's ``--workers``; the pool's start is timed).
Authors' style (as described in the spec): the same network and init, hooks that keep the
float sign maps, concatenate per sample, transpose and `torch.unique(dim=0)`. Both give the
same number (checked on every arch both score). Prints wall time, ms per arch and the ratio.

The archs are drawn with random.Random(0): a sample, or for the whole space a permutation, so that the
authors'-style subset (the first ``--authors-archs`` of them) is a random draw, not the first archs of the
product order (which all have 'none' on the first two edges). ``--budget S`` scores in chunks of
``CHUNK`` archs and stops before a chunk that would end past S seconds, printing the rate over the archs
scored (for a run under ``timeout``, which would otherwise end it without a figure).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from swapnas.cli.args import positive_int
from swapnas.executors import make_executor
from swapnas.scoring import build_scored_net
from swapnas.session import configure, score_archs
from swapnas.spaces import nb201
from swapnas.store import ScoreStore


def authors_style(model: nn.Module, x: torch.Tensor) -> int:
    maps: list[torch.Tensor] = []

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if args[0].dim() == 4:
            maps.append((output.detach() > 0).float().reshape(output.shape[0], -1))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return int(torch.unique(torch.cat(maps, dim=1).t(), dim=0).shape[0])


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


#: archs per ``score_archs`` call under ``--budget`` (the clock is read between calls)
CHUNK = 250


def sweep_archs(n: int) -> list:
    """``n`` NB201 archs in random.Random(0) order (for ``n`` < 15,625 the sample the docs' runs used)."""
    archs = list(nb201.all_archs())
    return random.Random(0).sample(archs, min(n, len(archs)))


def _next_chunk(done: int, elapsed: float, warm: tuple[int, float], args: argparse.Namespace) -> int:
    """How many archs to score next under ``--budget`` (0: stop). One process: ``CHUNK`` while the chunk would end
    within the budget at the rate so far. A pool (``--workers`` > 1): the first chunk, 2 archs per worker, holds the
    pool's start, so a probe of 8 per worker follows it, and chunks of ``CHUNK`` go on at the rate after the first."""
    if args.workers == 1:
        return CHUNK if elapsed * (done + CHUNK) / done <= args.budget else 0
    if done == warm[0]:
        return 8 * args.workers if elapsed < args.budget else 0
    return CHUNK if elapsed + (elapsed - warm[1]) / (done - warm[0]) * CHUNK <= args.budget else 0


def score_ours(archs: list, proxies: list, protocol, batch, store, device: torch.device,
               args: argparse.Namespace) -> tuple[list, float, tuple[int, float]]:
    """Our swap records of the first archs, all of them unless ``args.budget`` > 0 stops the chunks, the seconds
    they took, and (archs, seconds) of the first chunk: with ``--workers`` > 1 that chunk is 2 archs per worker and
    its time holds the pool's start, so the rate after it is the steady state."""
    executor = make_executor("local", prefetch=args.prefetch, workers=args.workers)
    size = (2 * args.workers if args.workers > 1 else CHUNK) if args.budget > 0 else max(len(archs), 1)
    recs: list = []
    elapsed = 0.0
    warm = (0, 0.0)
    sync(device)
    t0 = time.perf_counter()  # a pool's start (its processes, their CUDA contexts) is counted in
    try:
        while len(recs) < len(archs) and size:
            chunk = archs[len(recs):len(recs) + size]
            recs += score_archs(chunk, "nb201", proxies, protocol, batch, store, device, progress=args.progress,
                                executor=executor)["swap"]
            sync(device)
            elapsed = time.perf_counter() - t0
            if warm[0] == 0:
                warm = (len(recs), elapsed)
            if args.budget > 0:
                size = _next_chunk(len(recs), elapsed, warm, args)
    finally:
        executor.close()
    return recs, elapsed, warm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--archs", type=positive_int, default=nb201.NUM_ARCHS)
    ap.add_argument("--authors-archs", type=int, default=300, help="archs also scored the authors' way")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--prefetch", type=int, default=0, help="archs built ahead by a thread (throughput mode)")
    ap.add_argument("--workers", type=int, default=1,
                    help="scoring processes sharing the device (a pool; 1: in this process, where --prefetch applies)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of this process (the CLI's default, 1)")
    ap.add_argument("--cells", type=int, default=5, help="cells per stage N (5: the benchmark network)")
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--budget", type=float, default=0,
                    help="seconds: score in chunks, stop before one that would end past this (0: score all)")
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    archs = sweep_archs(args.archs)
    protocol, batch, proxies = configure("nb201", "cifar10", "swap", batch_size=args.batch_size, repeats=1,
                                         net={"C": 16, "N": args.cells}, data_dir=args.data_dir)
    x = batch.inputs.to(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    name += f", {torch.get_num_threads()} threads"
    print(f"device {name} | torch {torch.__version__} | S={args.batch_size}, 1 init, NB201 C=16 N={args.cells} | "
          f"{len(archs)} archs (ours, prefetch {args.prefetch}, workers {args.workers}), "
          f"{min(args.authors_archs, len(archs))} (authors' style)"
          + (f" | budget {args.budget:g} s" if args.budget > 0 else ""))
    with tempfile.TemporaryDirectory() as tmp, ScoreStore(Path(tmp) / "sweep.sqlite") as store:
        recs, t_ours, (n_warm, t_warm) = score_ours(archs, proxies, protocol, batch, store, device, args)
    failed = [r.error for r in recs if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} arch(s) failed, e.g. {failed[0]}")
    ours = [int(r.value) for r in recs]
    n_auth = min(args.authors_archs, len(ours))
    t0 = time.perf_counter()
    theirs = []
    for a in archs[:n_auth]:
        model = build_scored_net(nb201.build, a, protocol, 10, 0, device)
        theirs.append(authors_style(model, x))
    sync(device)
    t_auth = time.perf_counter() - t0
    same = sum(o == t for o, t in zip(ours, theirs))
    per_ours, per_auth = 1e3 * t_ours / len(ours), 1e3 * t_auth / max(n_auth, 1)
    print(f"ours: {t_ours:.1f} s for {len(ours)} archs = {per_ours:.2f} ms/arch ({len(ours) / t_ours:.1f} archs/s)")
    if args.workers > 1 and len(ours) > n_warm:
        print(f"pool start and the first {n_warm} archs: {t_warm:.1f} s; after them {len(ours) - n_warm} archs at "
              f"{(len(ours) - n_warm) / (t_ours - t_warm):.1f} archs/s")
    if len(ours) < len(archs):
        print(f"budget reached: {len(ours)} of {len(archs)} archs scored; all {len(archs)} at this rate would take "
              f"~{t_ours * len(archs) / len(ours):.0f} s")
    if n_auth:
        print(f"authors' style: {t_auth:.1f} s for {n_auth} archs = {per_auth:.2f} ms/arch")
        print(f"speed-up per arch: {per_auth / per_ours:.2f}x | identical scores on {same}/{n_auth} archs")
        if same < n_auth:  # the speed-up compares two ways of computing one number: a mismatch voids it
            raise SystemExit(f"the two scorers differ on {n_auth - same} of {n_auth} archs")


if __name__ == "__main__":
    main()
