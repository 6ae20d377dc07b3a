"""te_nas: TE-NAS trainability (NTK condition number) and expressivity (linear regions).

Reference: W. Chen, X. Gong, Z. Wang, "Neural Architecture Search on ImageNet
in Four GPU Hours: A Theoretically Inspired Perspective", ICLR 2021.

The paper measures two indicators per architecture: the condition number κ of
the neural tangent kernel (lower is better) and the number R of linear regions
(higher is better), and combines them by RANK across the candidate set. Here:
``te_nas_ntk`` (κ) and ``te_nas_lr`` (R) are per-arch proxies, stored like any
other, and ``te_nas`` is the set-level rank combination −(rank_asc(κ) +
rank_desc(R)) over the scored candidates (higher is better; ties get average
ranks). A ``te_nas`` value therefore depends on the candidate set, as in the paper.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..data import Batch
from ._common import relu_codes, require_finite
from .registry import register, register_set


def ntk_condition_number(model: nn.Module, inputs: torch.Tensor) -> float:
    """κ = λ_max / λ_min of the empirical NTK Θ = G Gᵀ, G_i = ∂(Σ_k f_k(x_i))/∂θ over all parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    out = model(inputs)
    if out.shape[0] < 2:  # a 1×1 NTK: κ = 1 for every network (session 57)
        raise ValueError(f"te_nas: the NTK of {out.shape[0]} sample(s) has a condition number of 1 for any network: "
                         "give a batch of 2 or more samples")
    rows = []
    for i in range(out.shape[0]):
        grads = torch.autograd.grad(out[i].sum(), params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads)]))
    g = torch.stack(rows).double()
    require_finite([g], "te_nas_ntk")
    eig = torch.linalg.eigvalsh(g @ g.T)
    lo, hi = eig[0].item(), eig[-1].item()
    if not lo > 0:
        raise ValueError(f"te_nas: the NTK is singular (smallest eigenvalue {lo:.3g}), "
                         "its condition number is infinite")
    return hi / lo


def linear_regions(model: nn.Module, inputs: torch.Tensor) -> int:
    """Number of distinct ReLU activation patterns (all units concatenated) among the inputs."""
    codes = relu_codes(model, inputs)
    return int(torch.unique(codes.to(torch.uint8), dim=0).shape[0])


@register("te_nas_ntk", higher_is_better=False, needs_grad=True, needs_labels=False, input_kind="data", version="1")
def te_nas_ntk(model: nn.Module, batch: Batch) -> float:
    """TE-NAS trainability: condition number κ of the empirical NTK (lower is better).

    κ = λ_max/λ_min of the S×S empirical NTK Θ(x_i, x_j) = ⟨∂F(x_i)/∂θ,
    ∂F(x_j)/∂θ⟩ over all trainable parameters, with F the sum of the network's
    outputs (one backward per sample, BatchNorm as the caller left it).

    Raises:
        ValueError: the gradients are not finite (NaN/inf), or the NTK is singular.
    """
    return ntk_condition_number(model, batch.inputs)


@register("te_nas_lr", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data", version="1",
          requires=("relu",))
def te_nas_lr(model: nn.Module, batch: Batch) -> float:
    """TE-NAS expressivity: distinct ReLU activation patterns (linear regions) over the batch.

    R ≤ S: with real images and small batches R often saturates at S, and the
    combined ``te_nas`` ranking is then decided by κ.

    Raises:
        ValueError: the model has no ReLU that runs.
    """
    return float(linear_regions(model, batch.inputs))


def rank_sum(parts: list[np.ndarray]) -> np.ndarray:
    """−(rank of κ ascending + rank of R descending), average ranks for ties (higher is better)."""
    from scipy.stats import rankdata  # here, not at the top: scipy.stats alone takes ~1 s to import
    kappa, regions = parts
    return -(rankdata(kappa) + rankdata(-regions))


register_set(
    "te_nas", ("te_nas_ntk", "te_nas_lr"), rank_sum, version="2",
    description="TE-NAS rank sum of NTK condition number and linear regions over the candidate set (Chen et al., ICLR 2021).",
)
