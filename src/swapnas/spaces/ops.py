"""Building blocks shared by the search spaces' networks."""

from __future__ import annotations

import torch
from torch import nn


class ReLUConvBN(nn.Sequential):
    """ReLU → Conv (no bias) → BatchNorm, the NAS-Bench-201 / DARTS convolution op."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation, bias=False),
            nn.BatchNorm2d(c_out),
        )


class _ChannelsLastOnCPU:
    """Pooling computed on a channels-last copy of a CPU input when no gradient flows through it
    (every forward-only score, e.g. SWAP): PyTorch's channels-last CPU pooling kernels are faster
    on one thread than the NCHW ones (3.6× avg, 4.8× max including the two copies,
    ``perf/post_scoring.py``) and sum each window in the same order, so the output
    is bit-identical (tested on random shapes and strides); the output is NCHW as before. With a
    gradient, on other devices or other ranks, the plain path runs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4 and x.device.type == "cpu" and not (torch.is_grad_enabled() and x.requires_grad):
            return super().forward(x.contiguous(memory_format=torch.channels_last)).contiguous()  # type: ignore[misc]
        return super().forward(x)  # type: ignore[misc]


class AvgPool2d(_ChannelsLastOnCPU, nn.AvgPool2d):
    """``nn.AvgPool2d``, faster in forward-only CPU passes (same output)."""


class MaxPool2d(_ChannelsLastOnCPU, nn.MaxPool2d):
    """``nn.MaxPool2d``, faster in forward-only CPU passes (same output)."""


class Zero(nn.Module):
    """The 'none' op: a zero map of the right shape."""

    def __init__(self, stride: int = 1):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class ResNetBasicBlock(nn.Module):
    """NAS-Bench-201 reduction block: two ReLUConvBN 3×3 plus an avg-pool + 1×1 shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        if stride == 2:
            self.downsample: nn.Module = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False),
            )
        elif c_in != c_out:
            self.downsample = ReLUConvBN(c_in, c_out, 1, 1, 0)
        else:
            self.downsample = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))
