"""What mutation testing of ``swapnas.size_prior`` found untested (session 29,
``bash scripts/mutation_check.sh size_prior``).

The size prior was only checked at |Θ − μ| = 2, where (Θ − μ)² and 2·(Θ − μ) agree, so squaring replaced by doubling
survived; ``regularise`` was only checked where the prior is 1, so Ψ / prior survived; an empty size range (hi = lo)
and the range error's message were never tried.
"""

from __future__ import annotations

import math

import pytest
from torch import nn

from swapnas.size_prior import prior_from_range, regularise, size_prior


@pytest.mark.parametrize(("theta", "mu", "sigma", "expected"), [
    (4.0, 1.0, 9.0, math.exp(-1.0)),      # (4 − 1)² / 9 = 1, where doubling gives 6 / 9
    (1.0, 4.0, 9.0, math.exp(-1.0)),      # the same distance below μ: the prior is symmetric (Θ >= 0: session 65)
    (11.0, 1.0, 25.0, math.exp(-4.0)),    # (10)² / 25 = 4
    (1.5, 1.0, 0.5, math.exp(-0.5)),      # a distance under 1: 0.25 / 0.5
])
def test_size_prior_squares_the_distance(theta: float, mu: float, sigma: float, expected: float) -> None:
    assert size_prior(theta, mu, sigma) == pytest.approx(expected, rel=1e-12)


def test_regularise_multiplies_by_the_prior() -> None:
    model = nn.Linear(99, 10)                   # 99·10 + 10 = 1000 parameters = 1.0 thousand
    assert sum(p.numel() for p in model.parameters()) == 1000
    mu, sigma = 3.0, 4.0                        # prior = exp(−(1 − 3)² / 4) = exp(−1)
    assert regularise(10.0, model, mu, sigma) == pytest.approx(10.0 * math.exp(-1.0), rel=1e-12)
    assert regularise(0.0, model, mu, sigma) == 0.0


def test_regularise_skips_the_auxiliary_head() -> None:
    model = nn.Module()
    model.body = nn.Linear(99, 10)              # 1.0 thousand
    model.auxiliary_head = nn.Linear(999, 1000)  # 1.0 million, not counted
    assert regularise(2.0, model, 1.0, 1.0) == pytest.approx(2.0)


@pytest.mark.parametrize(("lo", "hi"), [(5.0, 5.0), (6.0, 5.0)])
def test_prior_from_range_needs_hi_above_lo(lo: float, hi: float) -> None:
    with pytest.raises(ValueError, match=rf"hi > lo \(got lo={lo}, hi={hi} thousand params\)"):
        prior_from_range(lo, hi)


def test_prior_from_range_centre_and_width() -> None:
    mu, sigma = prior_from_range(10.0, 20.0, centre=0.25, width=0.5)
    assert (mu, sigma) == (12.5, 25.0)          # 10 + 0.25·10, (0.5·10)²
    assert size_prior(mu + 5.0, mu, sigma) == pytest.approx(math.exp(-1.0))   # 1/e at √σ from μ
