"""plain: the first-order Taylor saliency ∂L/∂θ ⊙ θ, signed, summed over the network.

Reference: M. C. Mozer, P. Smolensky, "Skeletonization: A Technique for Trimming
the Fat from a Network via Relevance Assessment", NeurIPS 1989; used as the
``plain`` proxy by Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS",
ICLR 2021.
"""

from __future__ import annotations

from torch import nn

from ..data import Batch
from ._common import loss_grads
from .registry import register


@register("plain", higher_is_better=True, needs_grad=True, needs_labels=True, input_kind="data", version="1")
def plain(model: nn.Module, batch: Batch) -> float:
    """Plain saliency Σ ∂L/∂θ ⊙ θ over Conv/Linear weights, no absolute value (Mozer & Smolensky, 1989).

    Definition: S(θ) = ∂L/∂θ ⊙ θ per weight (signed), L the mean loss (``batch.loss``: cross-entropy for classification)
    of the batch; the proxy is the sum over all Conv/Linear weights (biases
    excluded), as in Abdelfattah et al. (ICLR 2021). Registered as higher is
    better, the convention of that paper for all saliency sums.
    """
    weights, grads = loss_grads(model, batch)
    return float(sum((w.detach() * g.detach()).double().sum() for w, g in zip(weights, grads)))
