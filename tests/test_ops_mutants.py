"""The spaces' shared building blocks (``swapnas.spaces.ops``), from their mutation run (session 47): each block's
layers and their settings written out, the pooling's two paths (which one runs, and the same output from both), the
zero op's shape, and the NB201 reduction block's sum."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from swapnas.spaces import ops


def _conv(conv: nn.Module, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int = 1,
          groups: int = 1) -> None:
    """``conv`` is a bias-free ``nn.Conv2d`` with these settings (also the DARTS network's tests)."""
    assert type(conv) is nn.Conv2d and conv.bias is None and conv.groups == groups
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation) == \
        (c_in, c_out, (kernel, kernel), (stride, stride), (padding, padding), (dilation, dilation))


def _relu_conv_bn(block: nn.Module, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                  dilation: int = 1) -> None:
    assert type(block) is ops.ReLUConvBN and len(block) == 3
    relu, conv, bn = block
    assert type(relu) is nn.ReLU and relu.inplace is False
    _conv(conv, c_in, c_out, kernel, stride, padding, dilation)
    assert type(bn) is nn.BatchNorm2d and bn.num_features == c_out and bn.affine


def test_relu_conv_bn_is_the_three_layers_with_their_settings() -> None:
    _relu_conv_bn(ops.ReLUConvBN(3, 5, 3, 2, 1, 2), 3, 5, 3, 2, 1, 2)
    _relu_conv_bn(ops.ReLUConvBN(4, 6, 1), 4, 6, 1, 1, 0, 1)  # the defaults: stride 1, no padding, no dilation


def test_relu_conv_bn_leaves_its_input_alone() -> None:
    x = torch.randn(2, 3, 5, 5)
    before = x.clone()
    ops.ReLUConvBN(3, 4, 3, 1, 1)(x)
    assert torch.equal(x, before)  # not an in-place ReLU


class _Seen(nn.AvgPool2d):
    """Records whether the input it pools is channels-last."""

    seen: list = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _Seen.seen.append(x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
                          and not x.is_contiguous())
        return super().forward(x)


class _Spy(ops._ChannelsLastOnCPU, _Seen):
    pass


def _path(x: torch.Tensor, grad: bool = True) -> bool:
    """True when the channels-last path ran for ``x``."""
    _Seen.seen = []
    with torch.set_grad_enabled(grad):
        _Spy(2, 2)(x)
    return _Seen.seen == [True]


def test_the_pooling_takes_the_channels_last_path_only_without_a_gradient_on_a_cpu_batch() -> None:
    x = torch.randn(2, 3, 6, 6)
    assert _path(x) and _path(x, grad=False)
    assert _path(x.requires_grad_(), grad=False)  # no gradient is recorded under no_grad
    assert not _path(torch.randn(2, 3, 6, 6, requires_grad=True))  # a gradient flows: the plain path
    assert not _path(torch.randn(3, 6, 6))  # an unbatched image: the plain path
    assert not _path(torch.randn(2, 3, 6, 6, device="meta"))  # not on the CPU


@pytest.mark.parametrize("pool", [(ops.AvgPool2d, nn.AvgPool2d), (ops.MaxPool2d, nn.MaxPool2d)])
@pytest.mark.parametrize("settings", [(2, 2, 0), (3, 1, 1), (3, 2, 1)])
def test_the_pooling_output_is_torchs_bit_for_bit_in_nchw(pool, settings) -> None:
    ours, theirs = pool[0](*settings), pool[1](*settings)
    x = torch.randn(3, 5, 9, 7)
    with torch.no_grad():
        got = ours(x)
    assert torch.equal(got, theirs(x)) and got.is_contiguous()
    unbatched = torch.randn(5, 9, 7)
    assert torch.equal(ours(unbatched), theirs(unbatched))
    g = torch.randn(2, 5, 9, 7, requires_grad=True)
    assert torch.equal(ours(g), theirs(g)) and ours(g).requires_grad


@pytest.mark.parametrize(("stride", "shape"), [(1, (2, 3, 5, 7)), (2, (2, 3, 3, 4)), (3, (2, 3, 2, 3))])
def test_the_zero_op_is_a_zero_map_of_the_strided_shape(stride: int, shape: tuple) -> None:
    x = torch.randn(2, 3, 5, 7) + 10
    out = ops.Zero(stride)(x)
    assert out.shape == shape and torch.equal(out, torch.zeros(shape)) and ops.Zero(stride).stride == stride
    assert ops.Zero().stride == 1 and ops.Zero()(x).shape == x.shape


def test_the_zero_op_keeps_the_graph() -> None:
    x = torch.randn(1, 2, 4, 4, requires_grad=True)
    ops.Zero(2)(x).sum().backward()
    assert x.grad is not None and torch.equal(x.grad, torch.zeros_like(x))


@pytest.mark.parametrize(("c_in", "c_out", "stride", "shortcut"), [
    (4, 8, 2, "pool"), (4, 8, 1, "conv"), (6, 6, 1, "identity"), (6, 6, 2, "pool")])
def test_the_nb201_reduction_block(c_in: int, c_out: int, stride: int, shortcut: str) -> None:
    torch.manual_seed(0)
    block = ops.ResNetBasicBlock(c_in, c_out, stride)
    _relu_conv_bn(block.conv_a, c_in, c_out, 3, stride, 1)
    _relu_conv_bn(block.conv_b, c_out, c_out, 3, 1, 1)
    down = block.downsample
    if shortcut == "pool":
        assert type(down) is nn.Sequential and len(down) == 2
        pool, conv = down
        assert type(pool) is nn.AvgPool2d and (pool.kernel_size, pool.stride, pool.padding) == (2, 2, 0)
        _conv(conv, c_in, c_out, 1, 1, 0)
    elif shortcut == "conv":
        _relu_conv_bn(down, c_in, c_out, 1, 1, 0)
    else:
        assert type(down) is nn.Identity
    x = torch.randn(2, c_in, 8, 8)
    block.eval()
    assert torch.allclose(block(x), down(x) + block.conv_b(block.conv_a(x)))
    assert block(x).shape == (2, c_out, 8 // stride, 8 // stride)
