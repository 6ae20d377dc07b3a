"""The DARTS cell space (also NAS-Bench-301): the space interface over genotype and network.

Arch values, parsing and variation live in :mod:`darts_genotype`, the network in
:mod:`darts_net`; this module gives them the interface every space has
(:class:`~swapnas.spaces.protocol.SearchableSpace`).
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from .. import patterns as _swap
from . import darts_macs
from .darts_genotype import (
    NASLIB_OPS,
    OPS,
    Genotype,
    canonical,
    crossover,
    format_genotype,
    mutate,
    parse,
    parse_naslib,
    sample,
    to_naslib,
)
from .darts_imagenet import build_imagenet
from .darts_net import NETS, Network, build

NAME = "darts"
Arch = Genotype
format_arch = format_genotype

#: The scoring protocol shipped as default for DARTS / NB301 archs: a small network that holds
#: both cell types (5 cells: normal, reduce, normal, reduce, normal) with the stem, chosen a
#: priori (not on NB301 labels); ``NETS["swap_proxy"]`` is the authors' choice, selectable by
#: ``--net`` (see docs/grid.md for both).
SCORING_DEFAULTS: dict = {"net": {"C": 8, "layers": 5}, "batch_size": 16, "repeats": 1}

#: The recommended fitness (``best``) on DARTS and its protocol, chosen on the DARTS dev sets
#: (NB301 and darts_swap) by the worst ρ over both: the scored network above (best worst-case ρ of
#: eight candidates, docs/generated/dev/darts_scored_net.md) with PyTorch's default init, and ``swap_darts``
#: (the best worst-case ρ of the joint weight grid in docs/generated/dev/darts_fitness.md; ``swap_expr``,
#: the greedy path's end, is dominated by it on both dev sets) until session 10, ``swap_fisher`` since
#: (the same rule over thirteen more metrics, docs/generated/dev/darts_fitness_more.md). ``refine``: the
#: search re-scores its 20 fittest archs on C=16 (5 cells) at S = 20 (session 10, the rule of NB201's
#: second stage on both DARTS dev sets, docs/generated/dev/darts_stage2_fisher.md; a small gain on both; 8 cells
#: and R=2 checked in session 22, neither ahead on both: darts_stage2_deeper.md).
FITNESS_PROTOCOL: dict = {"proxy": "swap_fisher", "net": {"C": 8, "layers": 5}, "batch_size": 16, "repeats": 1,
                          "init": "default", "former": ("swap_darts", "swap_expr"),
                          "refine": {"k": 20, "repeats": 1, "net": {"C": 16}, "batch_size": 20}}


def _uniform(op: str) -> Genotype:
    cell = tuple((op, i) for i in (0, 1, 0, 1, 0, 1, 0, 1))
    return Genotype(cell, cell)


def smallest_arch() -> Genotype:
    """The genotype whose network has the fewest parameters and multiply-adds: ``max_pool_3x3`` on every edge
    (each edge's op adds its own; the search's ``--max-macs`` check)."""
    return _uniform("max_pool_3x3")


def largest_arch() -> Genotype:
    """The genotype whose network has the most parameters: ``sep_conv_5x5`` on every edge (each edge's op adds its
    own); with :func:`smallest_arch` the exact size range of any final network (the ImageNet one too)."""
    return _uniform("sep_conv_5x5")


def param_range_k(num_classes: int = 10, **net: Any) -> tuple[float, float]:
    """Smallest and largest size (thousands of params) of the scored net over the DARTS space.

    Each edge's op adds its own parameters independently of the others, so the cell of only
    ``max_pool_3x3`` (no parameters) is the smallest and the cell of only ``sep_conv_5x5`` the
    largest: two meta-device builds give the exact range.
    """
    with torch.device("meta"):
        lo, hi = (_swap.count_params_k(build(g, num_classes=num_classes, **net))
                  for g in (smallest_arch(), _uniform("sep_conv_5x5")))
    return lo, hi


#: The final (trained) network per dataset: DARTS's CIFAR-10 evaluation network (C=36, 20 cells)
#: and the ImageNet mobile setting (C=48, 14 cells, its own stem: ``build_imagenet``); the scored
#: batch for imagenet is the 64 px stand-in (data.DATASETS).
FINAL_NETS: dict[str, dict] = {
    "cifar10": {"net": {"C": 36, "layers": 20, "num_classes": 10}, "resolution": 32},
    "imagenet": {"net": {"C": 48, "layers": 14, "num_classes": 1000}, "resolution": 224, "builder": build_imagenet},
}


def default_size_prior(net: dict, num_classes: int = 10) -> tuple[float, float]:
    """Label-free μ, σ for ``swap_reg``: the shared rule (:func:`patterns.prior_from_range`) on this space's range."""
    return _swap.prior_from_range(*param_range_k(num_classes, **net))


def cell_edges(g: Genotype) -> dict[str, list[tuple[str, str, str]]]:
    """For drawing: per cell, ``(source, target, op)`` edges; inputs c_{k-2}, c_{k-1}, nodes 0-3, output."""
    names = ["c_{k-2}", "c_{k-1}", "0", "1", "2", "3"]
    out = {}
    for which, cell, concat in (("normal", g.normal, g.normal_concat), ("reduce", g.reduce, g.reduce_concat)):
        edges = [(names[src], names[2 + i // 2], op) for i, (op, src) in enumerate(cell)]
        edges += [(names[n], "c_{k}", "") for n in concat]
        out[which] = edges
    return out


def final_flops(arch: Genotype | str, final: dict) -> int | None:
    """FLOPs of ``final``'s network for ``arch`` without building it (:mod:`darts_macs`: the reference count minus
    its edges plus this arch's edges, each op counted once); None where that does not apply (other concat lists,
    unhashable options, ``affine_ops=False``): ``search.final.final_macs`` then counts the whole network."""
    plan = _plan(final)
    return None if plan is None else plan.flops(parse(arch) if isinstance(arch, str) else arch)


def final_params(arch: Genotype | str, final: dict) -> int | None:
    """Parameters of ``final``'s network for ``arch`` (auxiliary head excluded) without building it; None where
    :func:`final_flops` is None (``search.final.final_size`` then builds it)."""
    plan = _plan(final)
    return None if plan is None else plan.params(parse(arch) if isinstance(arch, str) else arch)


def _plan(final: dict) -> darts_macs.Layout | None:
    if final["net"].get("affine_ops", True) is False:  # the layout counts edge ops with affine BatchNorms
        return None
    try:
        return _final_layout(final.get("builder", build), tuple(sorted(final["net"].items())), final["resolution"])
    except TypeError:  # an unhashable network option
        return None


@functools.lru_cache(maxsize=8)
def _final_layout(builder: Any, net: tuple, resolution: int) -> darts_macs.Layout:
    return darts_macs.layout(lambda g: builder(g, **dict(net)), smallest_arch(),
                             torch.empty(1, 3, resolution, resolution))


def iso_key(g: Genotype) -> str:
    """Canonical string: each node's two edges in sorted order (not a full isomorphism test: see
    :attr:`Genotype.iso_key`)."""
    return g.iso_key


__all__ = [
    "FINAL_NETS", "NAME", "NASLIB_OPS", "build_imagenet", "largest_arch", "SCORING_DEFAULTS", "cell_edges", "default_size_prior", "final_flops", "final_params", "param_range_k", "smallest_arch", "NETS", "OPS", "Arch", "Genotype", "Network", "build", "canonical", "crossover",
    "format_arch", "iso_key", "mutate", "parse", "parse_naslib", "sample", "to_naslib",
]
