"""grasp: the Gradient Signal Preservation saliency summed over the network.

Reference: C. Wang, G. Zhang, R. Grosse, "Picking Winning Tickets Before
Training by Preserving Gradient Flow", ICLR 2020; used as a NAS proxy by
Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import torch
from torch import nn

from ..data import Batch
from ._common import batch_loss, layer_weights
from .registry import register


def _math_attention(fn: Callable[..., float]) -> Callable[..., float]:
    """``fn`` run with ``scaled_dot_product_attention`` on its math kernel, the one that back-propagates twice (session
    60: grasp failed on every Hugging Face attention model with "derivative for
    aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented"). Only attention kernels differ,
    so no score of a network without attention changes; its code digest is ``fn``'s (``inspect`` unwraps it)."""
    @functools.wraps(fn)
    def run(*args: object, **kwargs: object) -> float:
        attention = getattr(torch.nn, "attention", None)
        kernel = getattr(attention, "sdpa_kernel", None)  # (torch 2.3 on; 2.2: the default kernels)
        with kernel(getattr(attention, "SDPBackend").MATH) if kernel else contextlib.nullcontext():
            return fn(*args, **kwargs)
    return run


@register("grasp", higher_is_better=True, needs_grad=True, needs_labels=True, input_kind="data", version="1",
          requires=("no_attention",),
          temperature=1.0)
@_math_attention
def grasp(model: nn.Module, batch: Batch, temperature: float = 1.0) -> float:
    """GraSP saliency Σ −θ ⊙ (H g) over Conv/Linear weights (Wang et al., ICLR 2020).

    Definition: L is the mean loss (``batch.loss``: cross-entropy for classification) of ``model(x) / temperature`` on the
    batch, g = ∂L/∂θ (held constant) and H the Hessian of L, so
    H g = ∂(gᵀ ∂L/∂θ)/∂θ (a Hessian-vector product by double back-propagation).
    The per-weight score is S(θ) = −θ ⊙ H g and the proxy is its sum over all
    Conv/Linear weights (biases excluded), as in Abdelfattah et al. (ICLR 2021).
    ``temperature`` defaults to 1 (no logit scaling). Higher is better.
    """
    weights = layer_weights(model)
    loss = batch_loss(model, batch.inputs, batch.targets, batch.loss, temperature)
    g = [None if gr is None else gr.detach() for gr in torch.autograd.grad(loss, weights, allow_unused=True)]
    loss = batch_loss(model, batch.inputs, batch.targets, batch.loss, temperature)
    grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    gtg = sum((gi * gr).sum() for gi, gr in zip(g, grads) if gi is not None and gr is not None)
    if not isinstance(gtg, torch.Tensor):
        raise ValueError("grasp: the loss does not depend on any Conv/Linear weight")
    hg = torch.autograd.grad(gtg, weights, allow_unused=True)
    # a weight outside the loss's graph has g = 0 and H g = 0: it adds nothing
    return float(sum((-w.detach() * h).double().sum() for w, h in zip(weights, hg) if h is not None))
