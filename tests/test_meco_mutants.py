"""Tests written against the survivors of session 36's mutation run of ``swapnas.proxies.meco``, the first with the
metric's own body mutated (``scripts/undecorate.py``: mutmut skips decorated functions, so every ``@register``
body had been outside the runs). Expected values come from ``numpy.corrcoef`` and ``numpy.linalg.eigvalsh``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from swapnas.proxies.meco import channel_correlation, meco, meco_all

from .message_tools import exact
from .test_proxies import unlabelled


def _lambda_min(fmap: torch.Tensor) -> float:
    """λ_min of the channels' Pearson correlation by numpy (constant channels as 0)."""
    rows = fmap.double().reshape(fmap.shape[0], -1).numpy()
    return float(np.linalg.eigvalsh(np.corrcoef(rows))[0])


class Maps(nn.Module):
    """A conv on a (S, 3, 4, 4) input, a ReLU on its 4-D map and a ReLU on a 3-D (S, 4, 16) view of it; the maps
    are kept for the reference values."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.relu4, self.relu3 = nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.c = self.conv(x)
        self.r4 = self.relu4(self.c - 0.1)
        self.r3 = self.relu3(self.c.flatten(2) + 0.1)
        return self.r4.sum() + self.r3.sum()


@pytest.fixture
def inputs() -> torch.Tensor:
    return torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(1))


def test_one_conv_one_sample_by_default_and_the_samples_averaged(inputs) -> None:
    model = Maps()
    first = meco(model, unlabelled(inputs, 10))
    assert first == pytest.approx(_lambda_min(model.c[0].detach()), abs=1e-9)
    both = meco(model, unlabelled(inputs, 10), samples=2)
    want = (_lambda_min(model.c[0].detach()) + _lambda_min(model.c[1].detach())) / 2
    assert both == pytest.approx(want, abs=1e-9) and both != pytest.approx(first)


def test_relu_reads_4d_maps_only_and_all_reads_3d_ones_too(inputs) -> None:
    model = Maps()
    relu = meco(model, unlabelled(inputs, 10), layers="relu")
    assert relu == pytest.approx(_lambda_min(model.r4[0].detach()), abs=1e-9)
    value = meco_all(model, unlabelled(inputs, 10))
    maps = [model.c[0], model.r4[0], model.r3[0]]  # the model's 0-D output adds nothing
    assert value == pytest.approx(sum(_lambda_min(m.detach()) for m in maps), abs=1e-9)
    assert meco_all(model, unlabelled(inputs, 10), samples=2) == pytest.approx(
        meco(model, unlabelled(inputs, 10), samples=2, layers="all"), abs=1e-12)
    assert meco_all(model, unlabelled(inputs, 10), samples=2) != pytest.approx(value)


class Tokens(nn.Module):
    """Only 3-D maps, and a module whose output is a tuple (not a tensor)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear, self.pair = nn.Linear(4, 8), Pair()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.h = self.linear(x)
        return self.pair(self.h)[0]


class Pair(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, x


def test_all_counts_3d_token_maps_and_skips_outputs_that_are_not_tensors() -> None:
    x = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(2))  # 3 tokens of 8 features: full rank
    model = Tokens()
    value = meco_all(model, unlabelled(x, 10))
    one = _lambda_min(model.h[0].detach())
    # the linear's map and the model's output; the pair's tuple adds nothing
    assert one > 1e-3 and value == pytest.approx(2 * one, abs=1e-9)


def test_each_refusal_in_full(inputs) -> None:
    with pytest.raises(ValueError, match=exact("meco: layers must be one of ['all', 'conv', 'relu'] (got 'bn')")):
        meco(Maps(), unlabelled(inputs, 10), layers="bn")
    with pytest.raises(ValueError, match=exact("meco: samples must be >= 1 (got 0)")):
        meco(Maps(), unlabelled(inputs, 10), samples=0)
    flat = nn.Sequential(nn.Flatten(), nn.Linear(48, 2))
    with pytest.raises(ValueError, match=exact("meco: no conv layer with a 4-D output ran in the forward pass")):
        meco(flat, unlabelled(inputs, 10))
    with pytest.raises(ValueError, match=exact("meco: no relu layer with a 4-D output ran in the forward pass")):
        meco(flat, unlabelled(inputs, 10), layers="relu")
    with pytest.raises(ValueError, match=exact("meco: no module with a 3-D or larger output ran in the forward "
                                               "pass")):
        meco_all(flat, unlabelled(inputs, 10))


class Raises(nn.Module):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.conv, self.message = nn.Conv2d(3, 2, 1), message

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.conv(x)
        raise ValueError(self.message)


def test_a_one_sample_batchnorm_error_is_explained_and_any_other_error_passes_through(inputs) -> None:
    bn = nn.Sequential(nn.Conv2d(3, 2, 4), nn.BatchNorm2d(2)).train()  # a 1x1 map of one sample
    with pytest.raises(ValueError, match=exact("meco scores 1 sample(s) (the paper's one data); a train-mode "
                                               "BatchNorm cannot normalise a 1x1 map of one sample: use larger "
                                               "inputs, or samples=2+")):
        meco(bn, unlabelled(inputs, 10))
    with pytest.raises(ValueError, match=exact("something else")):
        meco(Raises("something else"), unlabelled(inputs, 10))


def test_small_channels_are_correlated_not_zeroed() -> None:
    fmap = 1e-3 * torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(3))  # every channel's norm < 1
    rows = fmap.double().reshape(3, -1).numpy()
    assert np.allclose(channel_correlation(fmap).numpy(), np.corrcoef(rows), atol=1e-12)
