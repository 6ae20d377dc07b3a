"""Multiply-adds and parameters of a DARTS final network without building it: the same counts, far sooner.

``search.final.final_macs`` counts a final network's multiply-adds with ``FlopCounterMode`` over one forward
pass on the meta device: 0.7-1 s per DARTS arch on a CPU (20 cells of many small modules), paid for every
arch a ``--max-macs`` search proposes (session 23). The count is a sum over the network's modules, and in a
DARTS network only the cells' edge ops depend on the genotype: the stem, the cells' preprocessing, the
heads and the classifier depend only on the channels, which are fixed while the cells concatenate the same
nodes (DARTS: nodes 2-5). So

    MACs(arch) = base + Σ over cells Σ over the cell's 8 edges  MACs(op, C of the cell, stride, input size)

where ``base`` is the count of one reference genotype minus its own edges, and each edge op is counted once
by ``FlopCounterMode`` on its own (cached by op, channels, stride and input size). The cells' channels and
input sizes are read from the reference network's forward pass (hooks), once per final network. A genotype
whose concat lists differ from the reference's gets ``None`` here and the full count there. Equality with
the full count is tested on random genotypes of both final networks (CIFAR and ImageNet). Parameters the
same way (``Layout.params``: they do not depend on input sizes), for ``--max-params`` (0.14 s per build before).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..size_prior import count_flops
from .darts_genotype import Genotype
from .darts_net import Cell, make_op


@functools.lru_cache(maxsize=4096)
def edge_flops(op: str, c: int, stride: int, h: int, w: int) -> tuple[int, int, int]:
    """FLOPs of one edge op on a (1, c, h, w) input, and its output's height and width."""
    with torch.device("meta"):
        module = make_op(op, c, stride).eval()
        x = torch.empty(1, c, h, w)
        flops = count_flops(module, x)
        with torch.no_grad():
            out = module(x)
    return flops, int(out.shape[-2]), int(out.shape[-1])


@functools.lru_cache(maxsize=256)
def edge_params(op: str, c: int, stride: int) -> int:
    """Parameters of one edge op on c channels."""
    with torch.device("meta"):
        return sum(p.numel() for p in make_op(op, c, stride).parameters())


def count_params(model: nn.Module) -> int:
    """Parameters of ``model`` outside an auxiliary head (``size_prior.count_params_k``'s rule, as a count)."""
    return sum(p.numel() for n, p in model.named_parameters() if "auxiliary" not in n)


def cell_flops(edges: tuple[tuple[str, int], ...], c: int, reduction: bool, size: tuple[int, int]) -> int:
    """FLOPs of a cell's edge ops; ``size``: its preprocessed inputs' height and width."""
    sizes = [size, size]
    total = 0
    for k in range(0, len(edges), 2):
        node = size
        for op, src in edges[k:k + 2]:
            flops, h, w = edge_flops(op, c, 2 if reduction and src < 2 else 1, *sizes[src])
            total += flops
            node = (h, w)
        sizes.append(node)
    return total


@dataclass(frozen=True)
class Layout:
    """What of a final network does not depend on the genotype: per cell (reduction, C, input size), the
    concat lists, and the FLOPs and parameters outside the edge ops."""

    cells: tuple[tuple[bool, int, tuple[int, int]], ...]
    concat: tuple[tuple[int, ...], tuple[int, ...]]
    base: int
    params_base: int = 0

    def _fits(self, g: Genotype) -> bool:
        return (tuple(g.normal_concat), tuple(g.reduce_concat)) == self.concat

    def flops(self, g: Genotype) -> int | None:
        if not self._fits(g):
            return None
        return self.base + sum(cell_flops(tuple(g.reduce if red else g.normal), c, red, size)
                               for red, c, size in self.cells)

    def params(self, g: Genotype) -> int | None:
        """Parameters (auxiliary head excluded); None for other concat lists."""
        if not self._fits(g):
            return None
        return self.params_base + sum(edge_params(op, c, 2 if red and src < 2 else 1)
                                      for red, c, _ in self.cells for op, src in (g.reduce if red else g.normal))


def layout(build: Callable[[Genotype], nn.Module], ref: Genotype, x: torch.Tensor) -> Layout:
    """The layout of the networks ``build`` makes, read from ``ref``'s on the meta device (``x``: one input)."""
    with torch.device("meta"):
        model = build(ref).eval()
    seen: dict[int, tuple[int, tuple[int, int]]] = {}
    hooks = []
    cells = [m for m in model.modules() if isinstance(m, Cell)]
    for cell in cells:
        def record(_m: nn.Module, _in: tuple, out: torch.Tensor, key: int = id(cell)) -> None:
            seen[key] = (int(out.shape[1]), (int(out.shape[-2]), int(out.shape[-1])))
        hooks.append(cell.preprocess1.register_forward_hook(record))
    try:
        total = count_flops(model, x.to("meta"))
    finally:
        for h in hooks:
            h.remove()
    shape = tuple((cell.reduction, *seen[id(cell)]) for cell in cells)
    own = Layout(shape, (tuple(ref.normal_concat), tuple(ref.reduce_concat)), 0)
    edges, edge_params_ = own.flops(ref), own.params(ref)
    assert edges is not None and edge_params_ is not None
    return Layout(own.cells, own.concat, total - edges, count_params(model) - edge_params_)
