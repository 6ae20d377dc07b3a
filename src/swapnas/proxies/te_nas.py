"""te_nas: TE-NAS trainability (NTK condition number) and expressivity (linear regions).

Reference: W. Chen, X. Gong, Z. Wang, "Neural Architecture Search on ImageNet
in Four GPU Hours: A Theoretically Inspired Perspective", ICLR 2021.

The paper measures two indicators per architecture: the condition number κ of
the neural tangent kernel (lower is better) and the number R of linear regions
(higher is better), and combines them by RANK across the candidate set
(rank(κ) + rank(R)). A function that scores one architecture at a time cannot
rank, so this proxy returns the per-architecture approximation
log R − log κ (higher is better). This log-ratio form is our documented
choice, not the paper's combination: a pair of architectures can order
differently under it than under the rank sum.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..data import Batch
from ._common import relu_codes
from .registry import register


def ntk_condition_number(model: nn.Module, inputs: torch.Tensor) -> float:
    """κ = λ_max / λ_min of the empirical NTK Θ = G Gᵀ, G_i = ∂(Σ_k f_k(x_i))/∂θ over all parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    out = model(inputs)
    rows = []
    for i in range(out.shape[0]):
        grads = torch.autograd.grad(out[i].sum(), params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads)]))
    g = torch.stack(rows).double()
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


@register("te_nas", higher_is_better=True, needs_grad=True, needs_labels=False, input_kind="data", version="1")
def te_nas(model: nn.Module, batch: Batch) -> float:
    """TE-NAS per-arch approximation log R − log κ_NTK (Chen et al., ICLR 2021); the paper ranks instead.

    Definition: κ is the condition number λ_max/λ_min of the S×S empirical NTK
    Θ(x_i, x_j) = ⟨∂F(x_i)/∂θ, ∂F(x_j)/∂θ⟩ over all trainable parameters, where
    F is the sum of the network's outputs (the usual scalar reduction of the
    multi-output NTK; one backward per sample, BatchNorm as the caller left it).
    R is the number of distinct activation patterns of all ``nn.ReLU`` units
    over the batch's samples (so R ≤ S). The value is log R − log κ: higher is
    better. The paper instead sums the ranks of κ (ascending) and R
    (descending) across the candidate set, which a per-architecture function
    cannot do; this log-ratio is our documented per-architecture approximation.
    Note R saturates at S when all samples have distinct patterns (typical for
    real images), so with small batches the score is dominated by −log κ.

    Raises:
        ValueError: the NTK is singular, or the model has no ReLU that runs.
    """
    regions = linear_regions(model, batch.inputs)
    kappa = ntk_condition_number(model, batch.inputs)
    return math.log(regions) - math.log(kappa)
