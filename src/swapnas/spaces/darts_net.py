"""The DARTS evaluation network for a genotype (also the NAS-Bench-301 network family).

Layout (Liu et al., ICLR 2019): a 3×3 conv stem with 3C channels, then ``layers``
cells; the cells at 1/3 and 2/3 of the depth are reduction cells (stride 2,
channels doubled). Each cell preprocesses its two inputs to C channels (a
factorized reduction when the previous cell reduced), applies the genotype's
ops, sums each node's two edges and concatenates the ``concat`` nodes. Optional
auxiliary head after the second reduction; drop-path on non-identity edges in
training.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .darts_genotype import Genotype, parse
from .ops import AvgPool2d, MaxPool2d, ReLUConvBN, Zero
from .protocol import as_arch


class DilConv(nn.Sequential):
    """ReLU → depthwise k×k (dilated) conv → pointwise 1×1 conv → BN."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, padding: int, dilation: int,
                 affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, k, stride, padding, dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two stacked undilated DilConv blocks, the first carrying the stride."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, padding: int, affine: bool = True):
        super().__init__(DilConv(c_in, c_in, k, stride, padding, 1, affine),
                         DilConv(c_in, c_out, k, 1, padding, 1, affine))


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1×1 convs, concatenated, then BN."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True):
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))  # odd sizes keep the same output shape
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def make_op(name: str, c: int, stride: int, affine: bool = True, pool_bn: bool = False) -> nn.Module:
    """One of the eight DARTS ops on C channels (``affine``: learnable BatchNorm scale and shift; ``pool_bn``: each
    pool followed by a BatchNorm without scale/shift, as NASLib's NB301 network has it)."""
    if name == "none":
        return Zero(stride)
    if name in ("avg_pool_3x3", "max_pool_3x3"):
        pool = (AvgPool2d(3, stride=stride, padding=1, count_include_pad=False) if name == "avg_pool_3x3"
                else MaxPool2d(3, stride=stride, padding=1))
        return nn.Sequential(pool, nn.BatchNorm2d(c, affine=False)) if pool_bn else pool
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine)
    if name in ("sep_conv_3x3", "sep_conv_5x5"):
        k = int(name[-1])
        return SepConv(c, c, k, stride, k // 2, affine)
    if name in ("dil_conv_3x3", "dil_conv_5x5"):
        k = int(name[-1])
        return DilConv(c, c, k, stride, k - 1, 2, affine)
    raise ValueError(f"unknown DARTS op {name!r}")


def drop_path(x: torch.Tensor, p: float) -> torch.Tensor:
    """Zero whole samples with probability p, rescaling the rest by 1/(1 − p)."""
    keep = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(1.0 - p)
    return x / (1.0 - p) * keep


class Cell(nn.Module):
    def __init__(self, genotype: Genotype, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool,
                 affine_ops: bool = True, pool_bn: bool = False):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0)
        edges = genotype.reduce if reduction else genotype.normal
        self.concat = genotype.reduce_concat if reduction else genotype.normal_concat
        self.inputs = [src for _, src in edges]
        self.edge_ops = nn.ModuleList(
            make_op(op, c, 2 if reduction and src < 2 else 1, affine_ops, pool_bn) for op, src in edges
        )
        self.multiplier = len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(0, len(self.edge_ops), 2):
            node = 0
            for op, src in zip(self.edge_ops[k : k + 2], self.inputs[k : k + 2]):
                h = op(states[src])
                if self.training and drop_prob > 0 and not isinstance(op, nn.Identity):
                    h = drop_path(h, drop_prob)
                node = node + h
            states.append(node)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """The DARTS auxiliary classifier: ReLU → avg-pool 5 → 1×1 conv to 128 → BN → ReLU →
    2×2 conv to 768 → BN → ReLU → linear.

    CIFAR (input 8×8): pool stride 3. ImageNet (7×7 at 224 px): pool stride 2 and
    ``global_pool=True``, a final global average pool (a no-op at 7×7, where the 2×2 conv
    already gives 1×1) so the head also accepts larger maps such as 14×14.
    """

    def __init__(self, c: int, num_classes: int, pool_stride: int = 3, global_pool: bool = False):
        super().__init__()
        self.features = nn.Sequential(
            # not in place: when the head's cell is the last one (CIFAR layers 2-3, ImageNet 1-3) its output
            # also feeds the main classifier, which must not see it ReLU'd in training mode only
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=pool_stride, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=True),
            *([nn.AdaptiveAvgPool2d(1)] if global_pool else []),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def reduction_cells(layers: int, reductions: str | int = "auto") -> tuple[int, ...]:
    """Indices of the reduction cells: ``"auto"`` the DARTS rule (``layers//3`` and ``2*layers//3``),
    ``"none"`` no reduction cell, else the indices joined by ``+`` (``"1"``, ``"1+3"``) or one int."""
    if reductions == "auto":
        return (layers // 3, 2 * layers // 3)
    if reductions == "none":
        return ()
    try:
        idx = tuple(int(i) for i in str(reductions).split("+"))
    except ValueError:
        idx = (-1,)
    if not all(0 <= i < layers for i in idx):
        raise ValueError(f"reductions={reductions!r}: give 'auto', 'none' or cell indices in 0..{layers - 1} "
                         "joined by '+' (e.g. reductions=1+3)")
    return idx


def stack_cells(genotype: Genotype, layers: int, c_pp: int, c_p: int, C: int, reduction_prev: bool,
                affine: bool = True, reductions: str | int = "auto",
                pool_bn: bool = False) -> tuple[nn.ModuleList, int, int | None]:
    """The DARTS cell stack: reduction cells (by default at ``layers//3`` and ``2*layers//3``,
    see :func:`reduction_cells`) double the channels.

    Returns the cells, the last cell's output channels and the channels at the auxiliary
    head's position (after cell ``2*layers//3``).
    """
    cells = nn.ModuleList()
    c_curr, c_aux = C, None
    at = reduction_cells(layers, reductions)
    for i in range(layers):
        reduction = i in at
        if reduction:
            c_curr *= 2
        cell = Cell(genotype, c_pp, c_p, c_curr, reduction, reduction_prev, affine, pool_bn)
        cells.append(cell)
        reduction_prev = reduction
        c_pp, c_p = c_p, cell.multiplier * c_curr
        if i == 2 * layers // 3:
            c_aux = c_p
    return cells, c_p, c_aux


def run_cells(net: Any, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Run ``net.cells`` from the stem outputs; logits, plus the auxiliary logits in training mode.

    ``net`` has ``cells``, ``drop_path_prob``, ``aux_index``, ``auxiliary_head`` (or None),
    ``global_pooling`` and ``classifier``.
    """
    aux = None
    for i, cell in enumerate(net.cells):
        s0, s1 = s1, cell(s0, s1, net.drop_path_prob)
        if i == net.aux_index and net.auxiliary_head is not None and net.training:
            aux = net.auxiliary_head(s1)
    logits = net.classifier(net.global_pooling(s1).flatten(1))
    return (logits, aux) if aux is not None else logits


class Network(nn.Module):
    """The DARTS network: stem (3C channels), ``layers`` cells, global pool, linear head.

    ``stem=False`` feeds the image to the first cell as both inputs (the SWAP
    authors' small scoring network). ``drop_path_prob`` applies in training mode.
    ``affine_ops=False`` gives the edge ops' BatchNorms no scale/shift: with C=32,
    layers=8 that is the NAS-Bench-301 network whose size NASLib stores. ``pool_bn=True`` follows each pool with
    a BatchNorm without scale/shift (no parameters), as NASLib's NB301 network does (``swapnas conformance``).
    """

    def __init__(self, genotype: Genotype, C: int = 36, layers: int = 20, num_classes: int = 10,
                 auxiliary: bool = False, stem: bool = True, drop_path_prob: float = 0.0,
                 affine_ops: bool = True, reductions: str | int = "auto", pool_bn: bool = False):
        super().__init__()
        self.drop_path_prob = drop_path_prob
        c_curr = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)) \
            if stem else nn.Identity()
        c_in = c_curr if stem else 3
        self.cells, c_p, c_aux = stack_cells(genotype, layers, c_in, c_in, C, False, affine_ops, reductions, pool_bn)
        self.aux_index = 2 * layers // 3
        self.auxiliary_head = AuxiliaryHead(c_aux, num_classes) if auxiliary and c_aux else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        s0 = s1 = self.stem(x)
        return run_cells(self, s0, s1)


#: Named network configurations for ``build(genotype, **NETS[name])``.
NETS: dict[str, dict] = {
    "eval_cifar": {"C": 36, "layers": 20},  # the DARTS CIFAR-10 evaluation network
    "nb301": {"C": 32, "layers": 8, "affine_ops": False},  # NAS-Bench-301's training network (NASLib's params)
    # The SWAP authors' scoring network: 3 initial channels, one cell, no stem (the image is
    # both cell inputs). With one cell, the reduction rule (cells at layers//3 and
    # 2*layers//3) makes that cell a reduction cell.
    "swap_proxy": {"C": 3, "layers": 1, "stem": False},
}


def build(genotype: Genotype | str, C: int = 36, layers: int = 20, num_classes: int = 10,
          auxiliary: bool = False, stem: bool = True, drop_path_prob: float = 0.0,
          affine_ops: bool = True, reductions: str | int = "auto", pool_bn: bool = False) -> Network:
    """The DARTS network for ``genotype`` (defaults: the CIFAR-10 evaluation network, 36 channels, 20 cells).

    ``reductions`` places the reduction cells (:func:`reduction_cells`; default the DARTS rule).
    """
    genotype = as_arch(genotype, Genotype, parse, "darts")
    return Network(genotype, C=C, layers=layers, num_classes=num_classes, auxiliary=auxiliary, stem=stem,
                   drop_path_prob=drop_path_prob, affine_ops=affine_ops, reductions=reductions, pool_bn=pool_bn)
