"""Tests written against the survivors of session 36's mutation run of ``swapnas.proxies.fisher``, the first with
its body mutated (``scripts/undecorate.py``). The reference is Fisher's definition worked out by hand for one Linear
layer under the batch's own loss."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from swapnas.data import Batch
from swapnas.proxies.fisher import fisher

from .message_tools import exact


def test_fisher_uses_the_batchs_loss_not_always_cross_entropy() -> None:
    """One Linear layer, a = y = model(x): Δ = Σ_c 1/(2N) Σ_n (a_nc ∂L/∂a_nc)², with L the mean squared error,
    ∂L/∂y = 2 (y − t) / (N·C)."""
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    x, t = torch.randn(5, 4), torch.randn(5, 3)
    with torch.no_grad():
        y = model(x).double()
    g = 2 * (y - t.double()) / y.numel()
    want = float(0.5 * (y * g).pow(2).mean(dim=0).sum())
    got = fisher(model, Batch(x, t, 3, "t", "t", 0, loss="mse"))
    assert got == pytest.approx(want, rel=1e-5)
    ce = fisher(model, Batch(x, torch.zeros(5, dtype=torch.long), 3, "t", "t", 0))
    assert ce != pytest.approx(got, rel=1e-3)


def test_a_model_without_conv_or_linear_is_refused_in_full() -> None:
    batch = Batch(torch.randn(2, 3), torch.zeros(2, dtype=torch.long), 3, "t", "t", 0)
    with pytest.raises(ValueError, match=exact("fisher: no Conv/Linear layer ran in the forward pass")):
        fisher(nn.Sequential(nn.ReLU()), batch)
