"""Correlation statistics against naive formulas."""

from __future__ import annotations

import numpy as np
import pytest

from swapnas.stats import correlate


def _ranks(v: np.ndarray) -> np.ndarray:
    r = np.empty(len(v))
    r[np.argsort(v)] = np.arange(len(v))
    return r


def test_spearman_and_direction() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    y = x + rng.normal(size=300)
    c = correlate(x, y)
    naive = np.corrcoef(_ranks(x), _ranks(y))[0, 1]
    assert c.spearman == pytest.approx(naive, abs=1e-12)
    assert c.spearman_ci[0] < c.spearman < c.spearman_ci[1]
    # lower-is-better metrics are negated, never abs()-ed
    assert correlate(-x, y, higher_is_better=False).spearman == pytest.approx(c.spearman)
    assert correlate(-x, y).spearman == pytest.approx(-c.spearman)


def test_top10_uses_the_best_tenth_by_truth() -> None:
    y = np.arange(100.0)
    x = np.concatenate([np.arange(90.0), np.arange(10.0)[::-1] + 90])  # best 10 in reverse order
    assert correlate(x, y).top10_spearman == pytest.approx(-1.0)


def test_partial_on_params_removes_a_pure_size_effect() -> None:
    rng = np.random.default_rng(1)
    size = rng.normal(size=2000)
    skill = rng.normal(size=2000)
    acc = size + skill
    size_only = size + 0.05 * rng.normal(size=2000)  # knows size, nothing else
    informed = size + skill  # knows what size does not explain
    a, b = correlate(size_only, acc, params=size), correlate(informed, acc, params=size)
    assert a.spearman > 0.6 and abs(a.spearman_given_params) < 0.1
    assert b.spearman_given_params > 0.9


def test_partial_of_the_control_itself_is_nan_not_rounding_noise() -> None:
    """Regression (review, session 15): a proxy that ranks exactly as #params (the `params` row of every
    run) has nothing left once #params is removed; the residuals are ~1e-13, and ρ of them was noise."""
    rng = np.random.default_rng(0)
    size = rng.random(1000)
    acc = size + rng.random(1000)
    for same_ranks in (size, 3 * size + 1, np.exp(size)):
        assert np.isnan(correlate(same_ranks, acc, params=size).spearman_given_params)
    # ties in the control leave real residuals: a number
    coarse = np.round(size, 1)
    c = correlate(size, acc, params=coarse).spearman_given_params
    assert np.isfinite(c) and abs(c) < 0.2


def test_constant_scores_give_nan_not_a_number() -> None:
    c = correlate(np.ones(50), np.arange(50.0))
    assert np.isnan(c.spearman) and np.isnan(c.kendall) and c.n == 50


def test_top10_of_a_saturated_score_is_nan_without_warning() -> None:
    import warnings

    y = np.arange(100.0)
    x = np.minimum(np.arange(100.0), 80.0)  # the best tenth all share the ceiling value
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = correlate(x, y)
    assert np.isnan(c.top10_spearman) and c.spearman > 0.9


def _naive_bootstrap_ci(x: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> tuple[float, float]:
    """One scipy.stats.spearmanr per resample, the same resamples (one rng.integers call each)."""
    import warnings

    from scipy import stats

    rng = np.random.default_rng(seed)
    rhos = []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        for _ in range(n_boot):
            idx = rng.integers(0, len(x), len(x))
            rhos.append(stats.spearmanr(x[idx], y[idx])[0])
    rhos = np.array(rhos)[np.isfinite(rhos)]
    if len(rhos) < n_boot // 2:
        return float("nan"), float("nan")
    return float(np.percentile(rhos, 2.5)), float(np.percentile(rhos, 97.5))


@pytest.mark.parametrize("n,ties", [(7, True), (60, False), (300, True), (1000, False)])
def test_bootstrap_ci_is_bit_identical_to_one_spearmanr_per_resample(n: int, ties: bool) -> None:
    from scipy import stats

    from swapnas.stats import _bootstrap_ci, _resample_ranks

    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    y = x + rng.normal(size=n)
    if ties:
        x, y = np.round(x, 1), np.round(y)
    idx = rng.integers(0, n, (5, n))
    assert np.array_equal(_resample_ranks(x, idx), stats.rankdata(x[idx], axis=1))
    assert _bootstrap_ci(x, y, 200, seed=3) == _naive_bootstrap_ci(x, y, 200, seed=3)
    assert correlate(x, y).spearman_ci == _naive_bootstrap_ci(x, y, 1000, seed=0)


def test_bootstrap_ci_of_mostly_constant_resamples_is_nan() -> None:
    from swapnas.stats import _bootstrap_ci

    x, y = np.array([1.0, 2.0, 2.0, 2.0]), np.array([1.0, 1.0, 1.0, 3.0])
    assert np.isnan(_bootstrap_ci(x, y, 200, seed=1)).all() and np.isnan(_naive_bootstrap_ci(x, y, 200, 1)).all()


def test_bootstrap_ci_in_chunks_of_resamples_is_unchanged(monkeypatch) -> None:
    """Memory is bounded by ranking a few resamples at a time; the chunking changes no bit."""
    from swapnas import stats as st

    rng = np.random.default_rng(9)
    x = np.round(rng.normal(size=120), 1)
    y = x + rng.normal(size=120)
    whole = st._bootstrap_ci(x, y, 300, seed=4)
    monkeypatch.setattr(st, "_CHUNK_VALUES", 7 * 120 + 5)  # 7 resamples per chunk, a short last chunk
    assert st._bootstrap_ci(x, y, 300, seed=4) == whole == _naive_bootstrap_ci(x, y, 300, seed=4)
