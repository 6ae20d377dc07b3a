"""zen: Zen-score, the Gaussian-perturbation expressivity of the pre-pooling feature map.

Reference: M. Lin, P. Wang, Z. Sun, H. Chen, X. Sun, Q. Qian, H. Li, R. Jin,
"Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition", ICCV 2021.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..data import Batch
from ._common import forward_hooks, global_pool_input, require_finite, require_float_inputs
from .registry import register


def _bn_variance(module: _BatchNorm, x: torch.Tensor) -> torch.Tensor:
    """Per-channel variance the BN layer divides by in this forward (plus its eps)."""
    if module.training or module.running_var is None:
        dims = [d for d in range(x.dim()) if d != 1]
        var = x.double().var(dim=dims, unbiased=False)
    else:
        var = module.running_var.double()
    return var + module.eps


@register("zen", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="random", version="1",
          requires=("global_pool", "float_inputs"),
          alpha=0.01, seed=0)
def zen(model: nn.Module, batch: Batch, alpha: float = 0.01, seed: int = 0) -> float:
    """Zen-score log E‖f(x) − f(x + αε)‖_F + Σ_i log σ̄_i, Gaussian x, ε (Lin et al., ICCV 2021).

    Definition: x and ε are standard normal with the batch's shape, drawn from
    a local generator seeded by ``seed`` (mixup-free; the batch's images are not
    used). f is the feature map entering the model's last global average pool
    (``nn.AdaptiveAvgPool2d(1)``); Δ is the mean over samples of the Frobenius
    norm ‖f(x_s) − f(x_s + α ε_s)‖_F, α = 0.01. For every BatchNorm layer i run
    on x, σ̄_i = sqrt(Σ_j σ²_ij / m) over its m channels, σ²_ij the variance the
    layer normalises channel j by (batch variance in train mode, running
    variance in eval mode) plus its eps. Zen-score = log Δ + Σ_i log σ̄_i.
    Higher is better.

    Raises:
        ValueError: the model has no global average pool, feature maps or BatchNorm variances that are
            not finite (NaN/inf), or Δ = 0.
    """
    g = torch.Generator().manual_seed(seed)
    require_float_inputs(batch.inputs, "zen", "feeds N(0, 1) float inputs and their perturbation")
    x = torch.randn(batch.inputs.shape, generator=g, dtype=torch.float32)  # the same draws whatever the default dtype
    eps = torch.randn(batch.inputs.shape, generator=g, dtype=torch.float32)
    x, eps = (t.to(device=batch.inputs.device, dtype=batch.inputs.dtype) for t in (x, eps))
    variances: list[torch.Tensor] = []

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        variances.append(_bn_variance(module, args[0].detach()))  # type: ignore[arg-type]  # hooked: BatchNorms only

    with torch.no_grad():
        with forward_hooks(model, (_BatchNorm,), hook):
            clean = global_pool_input(model, x).detach().clone()
        noisy = global_pool_input(model, x + alpha * eps)
    require_finite([clean, noisy, *variances], "zen", "feature maps")
    delta = (clean.double() - noisy.double()).flatten(1).norm(dim=1).mean().item()
    if not delta > 0:
        raise ValueError(f"zen: the feature map does not change under input perturbation (Δ = {delta})")
    return math.log(delta) + sum(0.5 * math.log(v.mean().item()) for v in variances)
