"""Model size as a baseline metric."""

from __future__ import annotations

from torch import nn

from ..data import Batch
from .registry import register


# reads the structure only: scored once per arch on a meta-device build, and the inputs are never used
@register("params", version="1", keeps_model=True, structural=True, multi_input=True)
def params(model: nn.Module, batch: Batch) -> float:
    """Number of parameters of the scored network (auxiliary heads excluded)."""
    return float(sum(p.numel() for n, p in model.named_parameters() if "auxiliary" not in n))
