"""Rank-correlation statistics between proxy scores and ground truth (scipy.stats)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Correlation:
    n: int
    spearman: float
    kendall: float
    spearman_ci: tuple[float, float]
    top10_spearman: float
    spearman_given_params: float


def _partial_spearman(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Spearman ρ(x, y) after removing the rank-linear effect of z from both."""
    rx, ry, rz = (stats.rankdata(v) for v in (x, y, z))
    design = np.column_stack([np.ones_like(rz), rz])
    res = [r - design @ np.linalg.lstsq(design, r, rcond=None)[0] for r in (rx, ry)]
    if np.std(res[0]) == 0 or np.std(res[1]) == 0:
        return float("nan")
    return float(stats.pearsonr(res[0], res[1])[0])


def correlate(
    scores: np.ndarray, truth: np.ndarray, params: np.ndarray | None = None,
    higher_is_better: bool = True, n_boot: int = 1000, seed: int = 0,
) -> Correlation:
    """ρ, τ, bootstrap 95% CI of ρ, top-10% ρ and ρ given #params.

    ``higher_is_better=False`` negates the scores, so a good metric has ρ > 0;
    no ``abs()`` is ever taken.
    """
    x = np.asarray(scores, dtype=float) * (1.0 if higher_is_better else -1.0)
    y = np.asarray(truth, dtype=float)
    n = len(x)
    if n < 3:
        nan = float("nan")
        return Correlation(n, nan, nan, (nan, nan), nan, nan)
    rho = float(stats.spearmanr(x, y)[0])
    tau = float(stats.kendalltau(x, y)[0])
    ci = stats.bootstrap(
        (x, y), lambda a, b: stats.spearmanr(a, b)[0], paired=True, vectorized=False,
        n_resamples=n_boot, confidence_level=0.95, method="percentile", rng=np.random.default_rng(seed),
    ).confidence_interval
    top = y >= np.quantile(y, 0.9)
    top_rho = float(stats.spearmanr(x[top], y[top])[0]) if top.sum() >= 3 else float("nan")
    given = _partial_spearman(x, y, np.asarray(params, float)) if params is not None else float("nan")
    return Correlation(n, rho, tau, (float(ci.low), float(ci.high)), top_rho, given)
