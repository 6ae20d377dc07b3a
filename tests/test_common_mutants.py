"""Tests written against the survivors of session 35's mutation run of ``swapnas.proxies._common``, the helpers the
metrics share (docs/reliability.md, "Session 35"): the loss's defaults, temperature and token logits, the ReLU codes'
refusals, the input Jacobian of a network whose output ignores its input, the correlation's clipping and its list of
constant rows, and every message in full.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from swapnas.proxies._common import (
    batch_loss,
    global_pool_input,
    input_jacobian,
    layer_weights,
    output_loss,
    relu_codes,
    require_finite,
    require_float_inputs,
    row_correlation,
)

from .message_tools import exact

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FLOAT_HINT = ("On such a model use one that reads activations or weights, e.g. swap_ext, l2_norm, zico, vkdnw_layers "
              "or params (docs/transformers.md)")


def test_the_loss_defaults_to_cross_entropy_and_divides_by_the_temperature() -> None:
    g = torch.Generator().manual_seed(0)
    logits, labels = torch.randn(4, 3, generator=g), torch.tensor([0, 2, 1, 2])
    assert torch.equal(output_loss(logits, labels), F.cross_entropy(logits, labels))
    assert torch.allclose(output_loss(logits, labels, "ce", 2.0), F.cross_entropy(logits / 2.0, labels))
    tokens, token_labels = torch.randn(2, 3, 5, generator=g), torch.tensor([[0, 1, 2, -100, 1], [2, 2, 0, 1, -100]])
    assert torch.equal(output_loss(tokens, token_labels), F.cross_entropy(tokens, token_labels))  # (S, classes, L)
    model = nn.Linear(3, 3)
    x = torch.randn(4, 3, generator=g)
    assert torch.equal(batch_loss(model, x, labels), F.cross_entropy(model(x), labels))
    assert torch.allclose(batch_loss(model, x, labels, "ce", 4.0), F.cross_entropy(model(x) / 4.0, labels))


def test_layer_weights_of_a_model_without_conv_or_linear() -> None:
    with pytest.raises(ValueError, match=exact("the model has no Conv/Linear layer: there are no weights to score")):
        layer_weights(nn.Sequential(nn.BatchNorm1d(3), nn.ReLU()))


class OneReLU(nn.Module):
    def __init__(self, used: bool = True) -> None:
        super().__init__()
        self.fc, self.act, self.used = nn.Linear(2, 3), nn.ReLU(), used

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        return self.act(y) if self.used else y


def test_relu_codes_of_one_relu_and_their_refusals() -> None:
    model = OneReLU()
    x = torch.tensor([[1.0, -1.0], [0.5, 2.0]])
    with torch.no_grad():
        expected = model.fc(x) > 0
    assert torch.equal(relu_codes(model, x), expected)  # a single ReLU is enough
    with pytest.raises(ValueError, match=exact("an nn.ReLU output holds 3 NaN value(s): the activations overflowed "
                                               "(or the inputs hold NaN), so the units have no binary code")):
        relu_codes(model, torch.tensor([[float("nan"), 0.0], [0.5, 2.0]]))
    with pytest.raises(ValueError, match=exact("the model has no nn.ReLU module: there are no activation codes")):
        relu_codes(nn.Linear(2, 3), x)
    with pytest.raises(ValueError, match=exact("no nn.ReLU module ran in the forward pass: there are no activation "
                                               "codes")):
        relu_codes(OneReLU(used=False), x)


class Ignores(nn.Module):
    """Its output depends on its weight but not on its input."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w.sum() * torch.ones(x.shape[0], 1)


def test_input_jacobian_refusals_in_full() -> None:
    with pytest.raises(ValueError, match=exact(
            "this metric: the outputs do not depend on the inputs (no path from the input to the output, e.g. a cell "
            "whose edges are all 'none'), so the input gradient is undefined")):
        input_jacobian(Ignores(), torch.randn(2, 3))
    with pytest.raises(ValueError, match=exact(
            "jacob_cov is not applicable to a model whose inputs are integer ids (torch.int64, e.g. token ids into "
            f"nn.Embedding): it differentiates the outputs with respect to the inputs. {FLOAT_HINT}")):
        input_jacobian(nn.Linear(3, 1), torch.zeros(2, 3, dtype=torch.int64), "jacob_cov")
    with pytest.raises(ValueError, match=exact(
            "m is not applicable to a model whose inputs are integer ids (torch.int32, e.g. token ids into "
            f"nn.Embedding): it needs a reason. {FLOAT_HINT}")):
        require_float_inputs(torch.zeros(2, dtype=torch.int32), "m", "needs a reason")


def test_row_correlation_is_clipped_to_its_range() -> None:
    v = np.array([-0.652, -0.175, 1.664, 0.659, -1.641])  # its unit vector's square sums to 1 + 2⁻⁵² here
    centred = v - v.mean()
    unit = centred / np.sqrt((centred**2).sum())
    assert unit @ unit > 1.0 and unit @ -unit < -1.0  # what the clip is for
    corr = row_correlation(np.stack([v, v, -v]), "m")
    assert corr.max() == 1.0 and corr.min() == -1.0


def test_row_correlation_names_the_first_eight_constant_rows() -> None:
    rows = np.vstack([np.arange(3.0), np.full((10, 3), 2.0), np.ones((1, 3)) * [[0.0, 1.0, 0.0]]])
    with pytest.raises(ValueError, match=exact("m: row(s) [1, 2, 3, 4, 5, 6, 7, 8] are constant, so their correlation "
                                               "is undefined")):
        row_correlation(rows, "m")


def test_global_pool_and_finite_messages_in_full() -> None:
    with pytest.raises(ValueError, match=exact("Sequential has no global average pool (nn.AdaptiveAvgPool2d with "
                                               "output size 1); this metric needs the feature map before global "
                                               "pooling")):
        global_pool_input(nn.Sequential(nn.Conv2d(3, 2, 1)), torch.randn(1, 3, 4, 4))

    class Unpooled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = nn.AdaptiveAvgPool2d(1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean((2, 3))

    with pytest.raises(ValueError, match=exact("the nn.AdaptiveAvgPool2d(1) of Unpooled did not run in the forward "
                                               "pass; this metric needs the feature map before global pooling")):
        global_pool_input(Unpooled(), torch.randn(1, 3, 4, 4))
    with pytest.raises(ValueError, match=exact("snip: the gradients are not finite (NaN/inf: the network overflows at "
                                               "this init, or the inputs are not finite)")):
        require_finite([torch.ones(2), torch.tensor([float("inf")])], "snip")
