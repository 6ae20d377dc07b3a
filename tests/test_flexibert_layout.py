"""FlexiBERT's ``flexibert`` layer layout (the FlexiBERT / SWAP authors' code, session 15): an LT mixer feeds
the FF stack with no dense / residual / LayerNorm after it, the DCT is unnormalised (scipy's ``norm=None``),
and DSC's separable convolution is initialised N(0, init_std) with a zero bias. ``v1`` stays as it was."""

from __future__ import annotations

import pytest
import torch
from scipy import fft as sfft

from swapnas.spaces import flexibert as fb
from swapnas.spaces.flexibert_net import _dct_matrix
from tests.test_flexibert import OPS, hand_count


def _hand_count_flexibert(arch: fb.Arch, sizes: str) -> int:
    """The v1 hand count less, per LT layer, the dense (H·H + H) and LayerNorm (2H) after the mixer."""
    H = arch.hidden if sizes == "design" else 256
    return hand_count(arch, sizes) - sum(H * H + H + 2 * H for la in arch.layers if la.op == "LT")


@pytest.mark.parametrize("op,param", OPS)
def test_flexibert_layout_has_the_hand_counted_size(op: str, param: str) -> None:
    arch = fb.Arch(128, (fb.Layer(op, param, 2, 512, 3), fb.Layer(op, param, 2, 1024, 1)))
    for sizes in ("design", "authors"):
        net = fb.build(arch, sizes=sizes, layout="flexibert")
        n = sum(p.numel() for p in net.parameters())
        assert n == _hand_count_flexibert(arch, sizes) == fb.count_params(arch, sizes=sizes, layout="flexibert")
        assert fb.count_params(arch, sizes=sizes) == hand_count(arch, sizes)  # v1 unchanged


def test_unnormalised_dct_is_scipys_norm_none_and_the_lt_layer_feeds_the_ff_stack() -> None:
    x = torch.randn(6, 5, dtype=torch.float64)
    expect = sfft.dct(sfft.dct(x.numpy(), type=2, norm=None, axis=0), type=2, norm=None, axis=1)
    got = _dct_matrix(6, ortho=False).double() @ x @ _dct_matrix(5, ortho=False).double().T
    assert torch.allclose(got, torch.from_numpy(expect), rtol=1e-5, atol=1e-5)
    torch.manual_seed(0)
    net = fb.build("h128|LT.DCT.h2.f512x1|SA.SDP.h2.f512x1", sizes="design", layout="flexibert").eval()
    layer, x = net.layers[0], torch.randn(1, 5, 128)
    y = layer.mixer(x)
    assert torch.allclose(layer(x), layer.norm2(y + layer.ff(y)), atol=1e-6)
    assert not hasattr(layer, "mixer_out") and hasattr(net.layers[1], "mixer_out")


def test_dsc_separable_conv_init_follows_the_layout() -> None:
    torch.manual_seed(0)
    arch = "h256|DSC.9.h4.f1024x1|DSC.5.h2.f1024x1"
    authors = fb.build(arch, sizes="design", layout="flexibert").layers[0].mixer
    assert abs(float(authors.depthwise.weight.std()) - 0.02) < 0.004
    assert abs(float(authors.pointwise.weight.std()) - 0.02) < 0.002 and not authors.pointwise.bias.any()
    v1 = fb.build(arch, sizes="design").layers[0].mixer
    assert float(v1.depthwise.weight.std()) > 0.1  # PyTorch's default init, as before


def test_unknown_layout_is_named() -> None:
    with pytest.raises(ValueError, match="unknown FlexiBERT layer layout 'authors'; choose one of v1, flexibert"):
        fb.build("h128|SA.SDP.h2.f512x1|SA.SDP.h2.f512x1", layout="authors")
