"""Helpers for the tests that compute a network from its own parts (the spaces' mutation tests, session 48)."""

from __future__ import annotations

from torch import nn


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
