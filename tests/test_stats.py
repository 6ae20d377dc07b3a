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
