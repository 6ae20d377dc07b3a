"""snip: connection sensitivity summed over the network.

Reference: N. Lee, T. Ajanthan, P. H. S. Torr, "SNIP: Single-shot Network
Pruning based on Connection Sensitivity", ICLR 2019; used as a NAS proxy by
Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021.
"""

from __future__ import annotations

from torch import nn

from ..data import Batch
from ._common import loss_grads
from .registry import register


@register("snip", higher_is_better=True, needs_grad=True, needs_labels=True, input_kind="data", version="1")
def snip(model: nn.Module, batch: Batch) -> float:
    """SNIP saliency Σ|∂L/∂θ ⊙ θ| over Conv/Linear weights (Lee et al., ICLR 2019).

    Definition: S(θ) = |∂L/∂θ ⊙ θ| per weight, L the mean loss (``batch.loss``: cross-entropy for classification) of the
    batch; the proxy is the sum of S over all Conv/Linear weights (biases
    excluded), as in Abdelfattah et al. (ICLR 2021). The absolute value is part
    of SNIP's definition. Higher is better.
    """
    weights, grads = loss_grads(model, batch)
    return float(sum((w.detach() * g.detach()).double().abs().sum() for w, g in zip(weights, grads)))
