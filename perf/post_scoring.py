"""The README job's serial work after scoring, before and after session 7's two changes.

  params   #params of the benchmark network for the job's 1000 archs (NB201 CIFAR-100):
           one meta-device build per cell op multiset (the old ``count_params``) against the
           per-edge shares of six uniform networks (the new one); the counts must agree.
  ci       the bootstrap 95 % CI of Spearman rho (1000 resamples, n = 1000): one
           ``scipy.stats.spearmanr`` per resample (the old ``_bootstrap_ci``) against the
           counted ranks and one ``np.corrcoef`` per resample (the new one); bit-identical.

  pool     one 3x3 pooling op of the NB201 search network's size (16 x 16 x 32 x 32, no grad):
           torch's NCHW ``nn.AvgPool2d`` / ``nn.MaxPool2d`` against the channels-last ops of
           ``swapnas.spaces.ops`` (same outputs); per call, median of 7 blocks of 50 calls.

All run in this process on one thread; the job runs ``ci`` once per proxy (3 in the README job).

    OMP_NUM_THREADS=1 python perf/post_scoring.py [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import torch
from scipy import stats

from swapnas.benchmarks import get_benchmark
from swapnas.session import pick_archs
from swapnas.spaces import nb201, ops
from swapnas.stats import _bootstrap_ci


def _old_params(archs: list, num_classes: int) -> list[int]:
    cache: dict[tuple[str, ...], int] = {}
    out = []
    for a in archs:
        ops = tuple(sorted(a.ops))
        if ops not in cache:
            with torch.device("meta"):
                cache[ops] = sum(p.numel() for p in nb201.Network(nb201.Arch(ops), num_classes=num_classes).parameters())
        out.append(cache[ops])
    return out


def _old_ci(x: np.ndarray, y: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    rhos = np.empty(n_boot)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        for b in range(n_boot):
            idx = rng.integers(0, len(x), len(x))
            rhos[b] = stats.spearmanr(x[idx], y[idx])[0]
    rhos = rhos[np.isfinite(rhos)]
    return float(np.percentile(rhos, 2.5)), float(np.percentile(rhos, 97.5))


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def _per_call_ms(module: torch.nn.Module, x: torch.Tensor) -> float:
    blocks = []
    with torch.no_grad():
        module(x)
        for _ in range(7):
            t0 = time.perf_counter()
            for _ in range(50):
                module(x)
            blocks.append((time.perf_counter() - t0) / 50 * 1e3)
    return float(np.median(blocks))


def _pools() -> None:
    x = torch.randn(16, 16, 32, 32, generator=torch.Generator().manual_seed(0))
    pairs = {"avg": (torch.nn.AvgPool2d(3, 1, 1, count_include_pad=False), ops.AvgPool2d(3, 1, 1, count_include_pad=False)),
             "max": (torch.nn.MaxPool2d(3, 1, 1), ops.MaxPool2d(3, 1, 1))}
    for name, (plain, ours) in pairs.items():
        with torch.no_grad():
            same = torch.equal(plain(x), ours(x))
        a, b = _per_call_ms(plain, x), _per_call_ms(ours, x)
        print(f"{name} pool 3x3, 16x16x32x32: NCHW {a:.2f} ms, channels-last {b:.2f} ms ({a / b:.1f}x), same output: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("SWAPNAS_DATA", "../shared/data"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    bench = get_benchmark("nb201", args.data_dir)
    archs = pick_archs(bench.archs_for("cifar100"), 1000, 0)
    t_old, old = _timed(_old_params, archs, 100)
    t_new, new = _timed(lambda: [nb201.count_params(a, num_classes=100) for a in archs])
    print(f"params, 1000 archs: build per op multiset {t_old:.2f} s, per-edge shares {t_new:.2f} s, "
          f"same counts: {old == new}")
    acc = bench.accuracies(archs, "cifar100")
    x = np.log(np.array(new, float)) + np.random.default_rng(0).normal(size=len(acc))  # a size-like score
    t_old, a = _timed(_old_ci, x, acc)
    t_new, b = _timed(_bootstrap_ci, x, acc, 1000, 0)
    print(f"bootstrap CI, n = 1000, 1000 resamples: spearmanr per resample {t_old:.2f} s, counted ranks "
          f"{t_new:.2f} s, identical: {a == b}")
    _pools()


if __name__ == "__main__":
    main()
