"""lswag_grad, lswag and lswag_ext: L-SWAG's layer-wise gradient term Λ and its product with SWAP's Ψ.

Reference: S. Casarin, S. Escalera, O. Lanz, "L-SWAG: Layer-Sample Wise Activation with
Gradients information for Zero-Shot NAS on Vision Transformers", CVPR 2025, Eq. (1):
L-SWAG = Λ · Ψ with Λ = Σ_{l=l̂}^{L̂} log Σ_{w∈θ_l} 1/√Var(|∂L/∂w|) (ZiCo's term with the mean
gradient replaced by 1) and Ψ the sample-wise activation pattern count.

The paper picks the layer interval [l̂, L̂] per benchmark from the spikes of the gradient
statistics over 1000 archs and reads the chosen percentiles off plots of ρ (its Fig. 2, the
values in its supplement); the interval therefore depends on the benchmark's labels. Here it is the
options ``start`` / ``stop`` (percent of depth), by default the whole network, and Ψ is SWAP's
count over every ReLU (the paper counts the activations up to L̂: the same with the default
interval); ``lswag_ext`` takes ``swap_ext`` instead, for GELU networks (the paper's ViTs).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..data import Batch
from . import swap  # noqa: F401  (registers Ψ, a base of lswag)
from .registry import register
from ._common import require_finite
from .zico import split_gradients


def inverse_std_term(grads: torch.Tensor) -> float | None:
    """log Σ_θ 1/std(|g_θ|) over the layer's weights with std > 0 (std across the splits,
    population); None when no weight's |g| varies."""
    std = grads.abs().std(dim=0, unbiased=False)
    keep = std > 0
    if not bool(keep.any()):
        return None
    return math.log((1.0 / std[keep]).sum().item())


def in_interval(index: int, depth: int, start: float, stop: float) -> bool:
    """Whether layer ``index`` (0-based of ``depth``) lies at ``start`` ≤ 100·index/depth < ``stop``."""
    return start <= 100.0 * index / depth < stop


@register("lswag_grad", higher_is_better=True, needs_grad=True, needs_labels=True, input_kind="data", version="1",
          splits=2, start=0.0, stop=100.0)
def lswag_grad(model: nn.Module, batch: Batch, splits: int = 2, start: float = 0.0, stop: float = 100.0) -> float:
    """L-SWAG's Λ: Σ_l log Σ_{θ∈l} 1/std(|∂L/∂θ|) across mini-batch splits (Casarin et al., CVPR 2025).

    Definition: the gradients are ZiCo's (:func:`zico.split_gradients`: the batch cut into ``splits``
    contiguous parts, one loss and one gradient per Conv/Linear weight θ per part). std(|g_θ|) is the
    population standard deviation of the gradient's magnitude across the parts. Per layer l the term
    is log Σ_{θ∈l} 1/std(|g_θ|) over the weights whose |g| varies (the others are left out; a layer
    with none is left out). Λ sums the layers whose position in module order lies in
    [``start``, ``stop``) percent of the depth (default: every layer). Higher is better.

    Raises:
        ValueError: fewer samples than splits, an empty interval, a gradient that is not finite (NaN/inf), or
            no kept layer's gradient varies.
    """
    if splits < 2 or batch.inputs.shape[0] < splits:
        raise ValueError(f"lswag_grad needs splits >= 2 and at least that many samples (splits={splits}, "
                         f"batch={batch.inputs.shape[0]})")
    if not 0.0 <= start < stop <= 100.0:
        raise ValueError(f"lswag_grad needs 0 <= start < stop <= 100 (percent of depth); got start={start}, stop={stop}")
    grads = split_gradients(model, batch, splits)
    require_finite(grads, "lswag_grad")
    kept = [g for i, g in enumerate(grads) if in_interval(i, len(grads), start, stop)]
    terms = [t for t in (inverse_std_term(g) for g in kept) if t is not None]
    if not terms:
        raise ValueError(f"lswag_grad: no layer in [{start}, {stop}) % of the depth has a gradient whose magnitude "
                         "varies across the mini-batch splits")
    return float(sum(terms))


@register("lswag", base=("lswag_grad", "swap"), version="1")
def lswag(values: tuple[float, float], model: nn.Module) -> float:
    """L-SWAG = Λ · Ψ (Casarin et al., CVPR 2025, Eq. 1): ``lswag_grad`` times SWAP's count, whole network."""
    grad, psi = values
    return grad * psi


@register("lswag_ext", base=("lswag_grad", "swap_ext"), version="1")
def lswag_ext(values: tuple[float, float], model: nn.Module) -> float:
    """L-SWAG with SWAP over every sign-preserving activation (``swap_ext``: GELU, SiLU, … beside ReLU; linear and
    token maps too): Λ · Ψ_ext, the paper's form for GELU networks such as Transformers."""
    grad, psi = values
    return grad * psi
