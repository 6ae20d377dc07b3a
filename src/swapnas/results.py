"""What a correlation run returns: one :class:`ProxyResult` per proxy inside a :class:`CorrelateRun`."""

from __future__ import annotations

from dataclasses import dataclass, field


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

