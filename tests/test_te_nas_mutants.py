"""TE-NAS on networks small enough to work out by hand: the NTK's condition number, its singular case, and the
number of linear regions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from swapnas.proxies.te_nas import linear_regions, ntk_condition_number


def _linear(weight: list[list[float]]) -> nn.Linear:
    layer = nn.Linear(len(weight[0]), len(weight), bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
    return layer


def test_the_condition_number_is_the_ratio_of_the_ntks_extreme_eigenvalues() -> None:
    # f(x) = w·x, so G = X and the NTK is X Xᵀ = diag(1, 0.25): κ = 4 (its smallest eigenvalue is below 1)
    kappa = ntk_condition_number(_linear([[0.3, -0.7]]), torch.tensor([[1.0, 0.0], [0.0, 0.5]]))
    assert kappa == pytest.approx(4.0, rel=1e-12)


def test_a_singular_ntk_is_refused_with_its_smallest_eigenvalue() -> None:
    # the second sample is all zeros: its gradient row is zero, so the NTK diag(1, 0) has eigenvalue exactly 0
    with pytest.raises(ValueError) as err:
        ntk_condition_number(_linear([[0.3, -0.7]]), torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    assert str(err.value) == "te_nas: the NTK is singular (smallest eigenvalue 0), its condition number is infinite"


def test_linear_regions_count_distinct_patterns_of_samples_not_of_units() -> None:
    # units x > 0, x > 1.5, x > 2.5 at x = 1 and 2: samples (1,0,0) and (1,1,0) are 2 patterns; units would be 3
    layer = nn.Linear(1, 3)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.copy_(torch.tensor([0.0, -1.5, -2.5]))
    model = nn.Sequential(layer, nn.ReLU())
    assert linear_regions(model, torch.tensor([[1.0], [2.0]])) == 2
    assert linear_regions(model, torch.tensor([[1.0], [2.0], [2.2], [3.0]])) == 3
