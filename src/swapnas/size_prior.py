"""Network sizes (parameters, FLOPs) and the regularised SWAP-Score's size prior: Ψ' = Ψ · exp(−(Θ − μ)² / σ),
Θ the scored network's size."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params_k(model: nn.Module, exclude: str = "auxiliary") -> float:
    """Parameters of ``model`` in THOUSANDS, skipping names containing ``exclude``."""
    return sum(p.numel() for n, p in model.named_parameters() if exclude not in n) / 1e3


def count_flops(model: nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one forward pass of ``x`` (no gradient) as ``FlopCounterMode`` counts them: 2 per multiply-add of
    matmuls and convolutions, element-wise ops ignored. The model's train/eval mode is the caller's."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return int(counter.get_total_flops())


def size_prior(theta_k: float, mu: float, sigma: float) -> float:
    """f(Θ) = exp(−(Θ − μ)² / σ), Θ and μ in thousands of parameters.

    σ is not squared and there is no factor 2: f = 1/e at |Θ − μ| = √σ.
    """
    if not (math.isfinite(mu) and math.isfinite(sigma)):
        raise ValueError(f"mu and sigma must be finite numbers (got mu={mu}, sigma={sigma})")
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0 (got {sigma}); it is the width of the size prior")
    return math.exp(-((theta_k - mu) ** 2) / sigma)


#: Label-free size-prior rule (chosen on NB201 CIFAR-10 labels only, docs/results.md): μ sits at
#: PRIOR_CENTRE of the space's scored-net size range and √σ spans PRIOR_WIDTH of it.
PRIOR_CENTRE = 0.8
PRIOR_WIDTH = 1.0


def prior_from_range(lo_k: float, hi_k: float, centre: float = PRIOR_CENTRE,
                     width: float = PRIOR_WIDTH) -> tuple[float, float]:
    """μ = lo + centre·(hi − lo), σ = (width·(hi − lo))² from a space's size range (thousands)."""
    if not hi_k > lo_k:
        raise ValueError(f"the size range must have hi > lo (got lo={lo_k}, hi={hi_k} thousand params)")
    return lo_k + centre * (hi_k - lo_k), (width * (hi_k - lo_k)) ** 2


def regularise(score: float, model: nn.Module, mu: float, sigma: float) -> float:
    """Regularised SWAP-Score Ψ' = Ψ · exp(−(Θ − μ)² / σ).

    Θ is the parameter count of ``model`` in thousands, excluding any auxiliary
    head; μ (thousands of parameters) and σ (thousands², unsquared) set the
    target size and the width of the prior.
    """
    return score * size_prior(count_params_k(model), mu, sigma)
