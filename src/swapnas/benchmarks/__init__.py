"""Ground-truth tables: arch → metric per task, each with its protocol.

Every benchmark class has the same interface (:class:`Benchmark`): ``name``, the search
``space`` its archs belong to, its ``tasks``, and per task the archs with ground truth,
their accuracies, the protocol text and the benchmark network's size. To add a benchmark,
write a class with that interface and list it in ``BENCHMARKS``.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Protocol

import numpy as np

from .nb201 import GroundTruth, NB201Benchmark


class Benchmark(Protocol):
    name: str
    space: str
    tasks: tuple[str, ...]

    def archs_for(self, task: str) -> list: ...
    def accuracies(self, archs: list, task: str) -> np.ndarray: ...
    def truth_text(self, task: str) -> str: ...
    def params_m(self, arch: Any, task: str) -> float: ...


#: benchmark name → "module:class" (imported on first use)
BENCHMARKS: dict[str, str] = {
    "nb101": "nb101:NB101Benchmark",
    "nb201": "nb201:NB201Benchmark",
    "nb301": "nb301:NB301Benchmark",
    "darts_swap": "nb301:DartsSwapBenchmark",
    "transnas_micro": "transnas:TransNASMicroBenchmark",
    "transnas_macro": "transnas:TransNASMacroBenchmark",
    "flexibert": "flexibert:FlexiBERTBenchmark",
}


def benchmark_class(name: str) -> type[Any]:
    try:
        module, cls = BENCHMARKS[name].split(":")
    except KeyError:
        raise ValueError(f"no ground truth for {name!r}; benchmarks: {', '.join(BENCHMARKS)}") from None
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def get_benchmark(name: str, data_dir: str | os.PathLike | None = None, metric: str = "valid",
                  epochs: int = 200, flags: bool = False) -> Benchmark:
    """The benchmark ``name`` read from ``data_dir`` (else ``$SWAPNAS_DATA``).

    ``metric`` (valid / test) and ``epochs`` (200 / 12) choose NB201's ground truth; the other
    benchmarks hold one ground truth per task (validation), so they accept only the defaults (``flags``: the refusal
    names them as the command's ``--metric``/``--epochs``, session 65).
    """
    cls = benchmark_class(name)
    if name == "nb201":
        return cls(data_dir, metric=metric, epochs=epochs)
    asked = [f"--{k} {v}" if flags else f"{k}={v!r}"
             for k, v, default in (("metric", metric, "valid"), ("epochs", epochs, 200)) if v != default]
    if asked:  # only what differs from the default is named (both were, until session 51)
        raise ValueError(f"{name} stores only validation accuracy (one schedule); {' and '.join(asked)} "
                         f"exist{'s' if len(asked) == 1 else ''} only for nb201")
    return cls(data_dir)


__all__ = ["BENCHMARKS", "Benchmark", "GroundTruth", "NB201Benchmark", "benchmark_class", "get_benchmark"]
