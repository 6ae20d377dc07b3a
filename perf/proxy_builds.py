"""One build per arch for all its proxies (scoring.NetPool) against one build per proxy, in one run.

For each (space, proxies) below, scores the same archs both ways, one after the other per arch (which goes first
alternates), into no store, and checks that every value is identical; prints the median time per arch of each and
their ratio.

    python perf/proxy_builds.py [--archs 20] [--data-dir DIR] [--device cpu]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import warnings

import torch

from swapnas import scoring
from swapnas.cli.args import positive_int
from swapnas.net_pool import NetPool
from swapnas.scoring import build_scored_net, score_arch
from swapnas.session import configure
from swapnas.spaces import get_space

CASES = [  # (space, proxies, what it is)
    ("darts", "best", "the DARTS search's fitness"),
    ("nb201", "best", "the NB201 search's fitness"),
    ("nb201", "swap,synflow,snip,grasp,fisher,grad_norm,jacob_cov,nwot,zen", "nine grid metrics"),
]


DEFAULT_MIN = scoring.POOL_MIN_PROXIES


def _timed(arch, space, proxies, batch, protocol, device, pool: bool) -> tuple[float, dict]:
    scoring.POOL_MIN_PROXIES = DEFAULT_MIN if pool else 1 << 30
    t = time.perf_counter()
    out = score_arch(arch, space.build, proxies, batch, protocol, device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t, {k: r.values for k, r in out.items()}


def _pool_costs(arch, space, protocol, batch, device, n: int = 10) -> tuple[float, float, float]:
    """Median ms of a build (with init and move), of a snapshot (``NetPool.keep``) and of putting it back
    (``NetPool.take``) for one arch's network."""
    build, keep, take = [], [], []

    cuda = torch.device(device).type == "cuda"

    def sync() -> None:  # the copies run asynchronously on a GPU: wait for them before reading the clock
        if cuda:
            torch.cuda.synchronize(device)

    for _ in range(n):
        sync()
        t = time.perf_counter()
        model = build_scored_net(space.build, arch, protocol, batch.num_classes, 0, device)
        sync()
        build.append(time.perf_counter() - t)
        pool = NetPool()
        t = time.perf_counter()
        pool.keep(0, model)
        sync()
        keep.append(time.perf_counter() - t)
        t = time.perf_counter()
        assert pool.take(0) is model
        sync()
        take.append(time.perf_counter() - t)
    return tuple(1e3 * statistics.median(v) for v in (build, keep, take))  # type: ignore[return-value]


def _case(name: str, which: str, label: str, args: argparse.Namespace, device: torch.device) -> None:
    """One row: ``which`` proxies of ``name`` scored both ways on the same archs, values checked equal."""
    space = get_space(name)
    protocol, batch, proxies = configure(name, "cifar10", which, data_dir=args.data_dir)
    batch = batch.to(device)
    rng = random.Random(0)
    archs = [space.sample(rng) for _ in range(args.archs)]
    _timed(archs[0], space, proxies, batch, protocol, device, True)  # warm-up
    pooled, plain = [], []
    for i, a in enumerate(archs):  # who goes first alternates too (a second run of an arch finds warm caches)
        first = _timed(a, space, proxies, batch, protocol, device, i % 2 == 0)
        second = _timed(a, space, proxies, batch, protocol, device, i % 2 == 1)
        (t1, v1), (t2, v2) = (first, second) if i % 2 == 0 else (second, first)
        if v1 != v2:
            raise SystemExit(f"{name} {which}: the pool changed a score of {a}: {v1} vs {v2}")
        pooled.append(t1)
        plain.append(t2)
    p, q = 1e3 * statistics.median(pooled), 1e3 * statistics.median(plain)
    costs = _pool_costs(archs[0], space, protocol, batch, device)
    print(f"{name:<6} {label:<28} {p:>20.1f} {q:>21.1f} {q / p:>6.2f}x"
          + "".join(f" {c:>{w}.2f}" for c, w in zip(costs, (9, 12, 12))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", type=positive_int, default=20)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the CLI's default, 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    warnings.simplefilter("ignore")
    print(f"device {device}, {torch.get_num_threads()} threads | torch {torch.__version__} | {args.archs} archs "
          "(random.Random(0)) per case, both ways per arch, which first alternating; medians per arch")
    print(f"{'space':<6} {'proxies':<28} {'one build (pool) ms':>20} {'a build per proxy ms':>21} {'ratio':>6}"
          f" {'build ms':>9} {'snapshot ms':>12} {'put back ms':>12}")
    try:
        for name, which, label in CASES:
            _case(name, which, label, args, device)
    finally:
        scoring.POOL_MIN_PROXIES = DEFAULT_MIN


if __name__ == "__main__":
    main()
