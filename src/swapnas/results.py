"""What a correlation run returns: one :class:`ProxyResult` per proxy inside a :class:`CorrelateRun`."""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass, field

import torch

from ._version import __version__


@dataclass
class ProxyResult:
    proxy: str
    key: str
    space: str
    dataset: str
    n: int
    failures: int
    spearman: float
    kendall: float
    spearman_ci: tuple[float, float]
    top10_spearman: float
    spearman_given_params: float
    seconds_per_arch: float
    higher_is_better: bool
    errors: list[str] = field(default_factory=list)
    #: archs whose SWAP-Score Ψ is at >= 95 % of its 2**S ceiling (``swap`` only; 0 otherwise)
    saturated: int = 0


@dataclass
class CorrelateRun:
    protocol: dict
    ground_truth: str
    batch_note: str
    results: list[ProxyResult]
    scores: dict[str, list[float | None]]
    accuracy: list[float]
    archs: list[str]
    wall_seconds: float



def provenance() -> dict:
    """Who made an output file: swapnas, torch and Python versions, the command line, the time (UTC)."""
    return {"swapnas": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "command": " ".join(["swapnas" if sys.argv[0].endswith("swapnas") else sys.argv[0], *sys.argv[1:]]),
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
