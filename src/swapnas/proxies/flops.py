"""flops: floating-point operations of one forward pass of one sample.

Reference: the FLOPs baseline of Abdelfattah et al., "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021, and Krishnakumar et al., "NAS-Bench-Suite-Zero",
NeurIPS 2022 Datasets and Benchmarks.
"""

from __future__ import annotations

from torch import nn

from ..data import Batch
from ..size_prior import count_flops
from ._common import eval_mode
from .registry import register


@register("flops", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data", version="1")
def flops(model: nn.Module, batch: Batch) -> float:
    """FLOPs of one forward pass of one sample, counted by torch's FlopCounterMode.

    Definition: ``torch.utils.flop_counter.FlopCounterMode`` total over one
    forward of ``batch.inputs[:1]`` (eval mode, no gradient; every module's
    train/eval flag is restored afterwards; PyTorch's fused attention fast path
    off and the CPU attention kernel given torch's GPU formula, so
    ``nn.MultiheadAttention`` / ``nn.TransformerEncoder`` count in full on every
    device since session 51; the spaces' networks count as before, so the version
    stays 1: flops stored for your own models with such layers are the old count). Its convention
    counts a multiply-add as 2 FLOPs for matmuls and convolutions and ignores
    element-wise ops (BatchNorm, activations, pooling, bias additions). Higher
    is better.
    """
    with eval_mode(model):
        return float(count_flops(model, batch.inputs[:1]))
