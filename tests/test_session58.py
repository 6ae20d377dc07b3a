"""Session 58: items left as found by session 57 and the session's audits (each test fails on the code before its
change)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import swapnas
from swapnas.swap_checks import META_WEIGHTS


def _meta_net() -> nn.Module:
    with torch.device("meta"):
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten())


@pytest.mark.filterwarnings("ignore::swapnas.patterns.SaturationWarning")  # a tiny net's count is at its ceiling
def test_swap_score_refuses_weights_or_inputs_on_the_meta_device_with_the_way_out() -> None:
    x = torch.randn(4, 3, 8, 8)
    with pytest.raises(ValueError) as err:  # was torch's "Tensor on device meta is not on the expected device cpu!"
        swapnas.swap_score(_meta_net(), x)
    assert str(err.value) == f"swap_score cannot score Sequential: {META_WEIGHTS}"
    assert "model.to_empty(device='cpu')" in META_WEIGHTS
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    with pytest.raises(ValueError, match=r"^swap_score: the inputs are on the meta device and hold no values; pass "
                                         r"real tensors$"):  # was "Tensor.item() cannot be called on meta tensors"
        swapnas.swap_score(net, x.to("meta"))
    assert swapnas.swap_score(net, x) > 0  # the same net with real inputs scores
    with pytest.raises(ValueError, match="on the meta device"):  # one meta buffer is enough
        net.register_buffer("mask", torch.empty(2, device="meta"))
        swapnas.swap_score(net, x)


def test_score_says_the_meta_device_once() -> None:
    with pytest.raises(swapnas.UnsupportedModel) as err:
        swapnas.score(_meta_net(), torch.randn(4, 3, 8, 8), proxies="swap")
    assert str(err.value).count("hold no values") == 1
    assert str(err.value).endswith("then load its weights")
