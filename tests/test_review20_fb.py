"""Session 20 review of the Transformer side: FlexiBERT space and network, tokens, seq-first guard, activation names."""

from __future__ import annotations

import torch

from swapnas.search.final import final_macs
from swapnas.spaces import flexibert as fb
from swapnas.spaces.flexibert_net import VOCAB, _dct_matrix

DCT_ARCH = "h256|LT.DCT.h2.f512x1|LT.DCT.h4.f512x1"


def test_a_meta_device_forward_leaves_no_meta_tensor_in_the_dct_cache() -> None:
    """final_macs runs the final network on the meta device (L = 128); the DCT matrices it cached were meta tensors,
    and every later real LT-DCT pass of that length or head size failed ("Cannot copy out of meta tensor")."""
    _dct_matrix.cache_clear()
    assert final_macs(fb, fb.parse(DCT_ARCH), fb.FINAL_NETS["glue"]) > 0
    with torch.device("meta"):
        assert _dct_matrix(64).device.type == "cpu"
    assert _dct_matrix(128).device.type == _dct_matrix(128, False).device.type == "cpu"
    torch.manual_seed(0)
    net = fb.build(DCT_ARCH, sizes="design")
    out = net(torch.randint(999, VOCAB, (2, 128)))  # L = 128 and head size 128: the entries final_macs cached
    assert out.shape == (2, 2) and torch.isfinite(out).all()
