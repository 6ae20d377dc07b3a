"""The DARTS ImageNet (mobile setting) evaluation network for a genotype.

Layout (Liu et al., ICLR 2019, ImageNet evaluation network), for 224×224 inputs:

- ``stem0``: Conv 3×3 (3 → C/2, stride 2) → BN → ReLU → Conv 3×3 (C/2 → C, stride 2) → BN  (56×56)
- ``stem1``: ReLU → Conv 3×3 (C → C, stride 2) → BN                                       (28×28)
- ``layers`` cells (the cells of :mod:`darts_net`); the first cell takes ``s0 = stem0(x)`` and
  ``s1 = stem1(s0)`` and so preprocesses ``s0`` with a factorized reduction
  (``reduction_prev=True``); the cells at ``layers // 3`` and ``2 * layers // 3`` are reduction
  cells (stride 2, channels doubled): 28 → 14 → 7.
- optional auxiliary head on the output of cell ``2 * layers // 3`` (7×7 at 224 px; the DARTS code
  comments "14×14", but its head is applied after the second reduction, as here); global average
  pool → linear (1000 classes).

The mobile setting is C=48, layers=14 (DARTS-V2: 4.7 M parameters in the paper, auxiliary head
excluded; this module gives 4.72 M).
"""

from __future__ import annotations

import torch
from torch import nn

from .darts_genotype import Genotype, parse
from .darts_net import AuxiliaryHead, run_cells, stack_cells
from .protocol import as_arch


class NetworkImageNet(nn.Module):
    """The DARTS ImageNet network: two stride-2 stems, ``layers`` cells, global pool, linear head.

    ``drop_path_prob`` (an attribute the trainer may change between epochs) applies in training
    mode. In training mode with ``auxiliary=True`` the forward returns ``(logits, aux_logits)``,
    else the logits.
    """

    def __init__(self, genotype: Genotype, C: int = 48, layers: int = 14, num_classes: int = 1000,
                 auxiliary: bool = False, drop_path_prob: float = 0.0):
        super().__init__()
        if C % 2:
            raise ValueError(f"the ImageNet stem halves C, so C must be even (got {C})")
        if layers < 1:
            raise ValueError(f"layers must be >= 1 (got {layers})")
        self.drop_path_prob = drop_path_prob
        self.stem0 = nn.Sequential(
            nn.Conv2d(3, C // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C // 2), nn.ReLU(inplace=True),
            nn.Conv2d(C // 2, C, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C),
        )
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=False),  # not in place: stem0(x) is also s0 of the first cell
            nn.Conv2d(C, C, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C),
        )
        # reduction_prev: s0 (stem0) has twice the resolution of s1 (stem1)
        self.cells, c_p, c_aux = stack_cells(genotype, layers, C, C, C, True)
        self.aux_index = 2 * layers // 3
        self.auxiliary_head = AuxiliaryHead(c_aux, num_classes, pool_stride=2, global_pool=True) if auxiliary and c_aux else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stem0(x)
        return run_cells(self, s0, self.stem1(s0))


def build_imagenet(genotype: Genotype | str, C: int = 48, layers: int = 14, num_classes: int = 1000,
                   auxiliary: bool = False, drop_path_prob: float = 0.0) -> NetworkImageNet:
    """The DARTS ImageNet network for ``genotype`` (defaults: the mobile setting, 48 channels, 14 cells)."""
    genotype = as_arch(genotype, Genotype, parse, "darts")
    return NetworkImageNet(genotype, C=C, layers=layers, num_classes=num_classes, auxiliary=auxiliary,
                           drop_path_prob=drop_path_prob)
