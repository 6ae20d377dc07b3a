"""Helpers for the tests that compute a network from its own parts (the spaces' mutation tests, session 48)."""

from __future__ import annotations

import torch
from torch import nn


def fastpath_flag() -> bool | None:
    """PyTorch's fast-path flag of attention (torch >= 2.3); None in torch 2.2, which has none (swapnas keeps the fast
    path off there with a torch-function mode: ``size_prior.unfused_attention``)."""
    mha = getattr(torch.backends, "mha", None)
    return mha.get_fastpath_enabled() if mha is not None else None


def randomise_batchnorm(module: nn.Module) -> None:
    """Every affine BatchNorm2d in ``module`` given a scale and shift away from (1, 0), and running statistics away
    from (0, 1), so that a normalisation applied twice, left out or misplaced changes the output."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.5, 0.5)
            if m.running_mean is not None and m.running_var is not None:
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)


def size(module: nn.Module) -> int:
    """The module's parameter count, summed here."""
    return sum(p.numel() for p in module.parameters())
