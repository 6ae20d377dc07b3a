"""Model size as a baseline metric."""

from __future__ import annotations

from torch import nn

from ..data import Batch
from ..swap import count_params_k
from .registry import register


@register("params", version="1")
def params(model: nn.Module, batch: Batch) -> float:
    """Number of parameters of the scored network (auxiliary heads excluded)."""
    return count_params_k(model) * 1e3
