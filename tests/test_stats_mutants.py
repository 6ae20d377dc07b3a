"""What mutation testing of ``swapnas.stats`` found untested (session 28, ``bash scripts/mutation_check.sh stats``).

Each case kills mutants of ``correlate`` that survived the statistics tests before: Kendall's τ was never compared
with a naive τ-b (τ replaced by None survived), the n < 3 and constant-input returns were never read field by
field, the n = 3 and three-arch top-10 % boundaries were never hit, and every top-10 % and partial ρ was computed on
scores that spread over more than one unit (``np.ptp(...) > 1`` survived).
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from swapnas.stats import Correlation, correlate

FIELDS = ("spearman", "kendall", "top10_spearman", "spearman_given_params")


def _naive_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's τ-b by counting pairs: (concordant − discordant) / sqrt((P − ties in x)(P − ties in y))."""
    conc = disc = tie_x = tie_y = pairs = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        pairs += 1
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        tie_x += dx == 0
        tie_y += dy == 0
        conc += dx * dy > 0
        disc += dx * dy < 0
    return float((conc - disc) / math.sqrt((pairs - tie_x) * (pairs - tie_y)))


def _all_nan(c: Correlation) -> bool:
    values = [getattr(c, f) for f in FIELDS] + list(c.spearman_ci)
    return all(isinstance(v, float) and math.isnan(v) for v in values)


@pytest.mark.parametrize("ties", [False, True])
def test_kendall_is_the_naive_tau_b(ties: bool) -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, 40).astype(float) if ties else rng.normal(size=40)
    y = x + rng.normal(size=40)
    if ties:
        y = np.round(y)
    assert correlate(x, y).kendall == pytest.approx(_naive_tau_b(x, y), abs=1e-12)
    # lower-is-better negates the scores before τ too
    assert correlate(-x, y, higher_is_better=False).kendall == pytest.approx(_naive_tau_b(x, y), abs=1e-12)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_fewer_than_three_pairs_give_nan_in_every_field(n: int) -> None:
    x, y = np.arange(float(n)), np.arange(float(n))
    c = correlate(x, y, params=np.arange(float(n)))
    assert c.n == n and _all_nan(c)


def test_three_pairs_are_enough_for_rho_and_tau() -> None:
    x, y = np.array([1.0, 3.0, 2.0]), np.array([1.0, 2.0, 3.0])
    c = correlate(x, y)
    assert c.n == 3
    assert c.spearman == pytest.approx(0.5) and c.kendall == pytest.approx(_naive_tau_b(x, y))


@pytest.mark.parametrize("constant", ["scores", "truth", "both"])
def test_a_constant_input_gives_nan_everywhere_and_no_scipy_warning(constant: str) -> None:
    varying = np.arange(30.0)
    x = np.full(30, 2.0) if constant in ("scores", "both") else varying
    y = np.full(30, 5.0) if constant in ("truth", "both") else varying
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's ConstantInputWarning would mean the constant was not caught first
        c = correlate(x, y, params=varying[::-1].copy())
    assert c.n == 30 and _all_nan(c)


def test_every_statistic_is_invariant_to_the_scale_of_the_scores() -> None:
    """Scores that spread over less than one unit (accuracies, probabilities, small proxies) rank as any other."""
    rng = np.random.default_rng(5)
    size = rng.normal(size=200)
    y = size + rng.normal(size=200)
    x = y + 0.5 * rng.normal(size=200)
    big = correlate(x, y, params=size)
    assert all(np.isfinite(getattr(big, f)) for f in FIELDS)
    for scale in (1e-3, 1e3):
        small = correlate(x * scale, y * scale, params=size * scale)
        for f in (*FIELDS, "spearman_ci", "top10_n"):
            assert getattr(small, f) == pytest.approx(getattr(big, f), abs=1e-12), f


def test_a_top_tenth_of_exactly_three_archs_is_ranked() -> None:
    y = np.arange(30.0)  # the 90th percentile leaves 27, 28, 29
    x = np.concatenate([np.arange(27.0), [29.0, 27.5, 28.0]])
    c = correlate(x, y)
    assert c.top10_n == 3
    # ranks 3, 1, 2 against 1, 2, 3: d = 2, -1, -1, so rho = 1 - 6 * 6 / (3 * (9 - 1)) = -0.5
    assert c.top10_spearman == pytest.approx(-0.5)


def test_rho_given_params_needs_only_three_archs_with_a_size() -> None:
    x = np.array([1.0, 3.0, 2.0, 4.0, 5.0])
    y = np.array([2.0, 1.0, 3.0, 5.0, 4.0])
    z = np.array([1.0, 2.0, 3.0, np.nan, np.nan])  # a size for the first three only
    c = correlate(x, y, params=z)
    assert c.n == 5 and np.isfinite(c.spearman_given_params)
    # three points leave one residual direction: the residuals of x and y are collinear, ρ is ±1
    assert abs(c.spearman_given_params) == pytest.approx(1.0)
