"""Ground-truth tables: arch → metrics, each with its protocol."""

from __future__ import annotations

import os

from .nb201 import GroundTruth, NB201Benchmark

BENCHMARKS = {"nb201": NB201Benchmark}


def get_benchmark(space: str, data_dir: str | os.PathLike | None = None) -> NB201Benchmark:
    try:
        cls = BENCHMARKS[space]
    except KeyError:
        raise ValueError(f"no ground truth for space {space!r}; available: {', '.join(BENCHMARKS)}") from None
    return cls(data_dir)


__all__ = ["BENCHMARKS", "GroundTruth", "NB201Benchmark", "get_benchmark"]
