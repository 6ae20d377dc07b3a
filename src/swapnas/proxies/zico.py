"""zico: ZiCo, the inverse coefficient of variation of gradients across mini-batches.

Reference: G. Li, Y. Yang, K. Bhardwaj, R. Marculescu, "ZiCo: Zero-shot NAS via
Inverse Coefficient of Variation on Gradients", ICLR 2023.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..data import Batch
from ._common import batch_loss, layer_weights, require_finite
from .registry import register


def split_gradients(model: nn.Module, batch: Batch, splits: int) -> list[torch.Tensor]:
    """Per layer, the stacked gradients (splits, *W.shape) of each mini-batch's loss."""
    weights = layer_weights(model)
    per_split: list[list[torch.Tensor]] = []
    for xs, ys in zip(batch.inputs.tensor_split(splits), batch.targets.tensor_split(splits)):
        grads = torch.autograd.grad(batch_loss(model, xs, ys, batch.loss), weights, allow_unused=True)
        per_split.append([torch.zeros_like(w) if g is None else g.detach() for w, g in zip(weights, grads)])
    return [torch.stack(layer).double() for layer in zip(*per_split)]


def layer_term(grads: torch.Tensor) -> float | None:
    """log Σ_θ mean|g_θ| / std(g_θ) over the layer's weights with std > 0; None when no weight has std > 0."""
    std = grads.std(dim=0, unbiased=False)
    keep = std > 0
    if not bool(keep.any()):
        return None
    return math.log((grads.abs().mean(dim=0)[keep] / std[keep]).sum().item())


@register("zico", higher_is_better=True, needs_grad=True, needs_labels=True, input_kind="data", version="1",
          splits=2)
def zico(model: nn.Module, batch: Batch, splits: int = 2) -> float:
    """ZiCo Σ_l log(Σ_{θ∈l} E|∂L/∂θ| / std(∂L/∂θ)) across mini-batch splits (Li et al., ICLR 2023).

    Definition: the batch is cut into ``splits`` (default 2) contiguous halves;
    each half's mean loss (``batch.loss``: cross-entropy for classification) gives one gradient per Conv/Linear weight
    θ (separate forward passes, so BatchNorm uses each half's statistics).
    Across the splits, E|g_θ| is the mean absolute gradient and std(g_θ) the
    (population) standard deviation of the gradient. Per layer l the term is
    log Σ_{θ∈l} E|g_θ| / std(g_θ); ZiCo is the sum over layers. Weights whose
    gradient does not vary across splits (std = 0, the ratio is undefined) are
    left out of the inner sum, and a layer with no such weight is left out of
    the outer sum. Higher is better.

    Raises:
        ValueError: fewer samples than splits, a gradient that is not finite (NaN/inf), or no layer has a
            varying gradient.
    """
    if splits < 2 or batch.inputs.shape[0] < splits:
        raise ValueError(f"zico needs splits >= 2 and at least that many samples (splits={splits}, "
                         f"batch={batch.inputs.shape[0]})")
    grads = split_gradients(model, batch, splits)
    require_finite(grads, "zico")
    terms = [t for t in (layer_term(g) for g in grads) if t is not None]
    if not terms:
        raise ValueError("zico: no layer's gradient varies across the mini-batch splits")
    return float(sum(terms))
