"""The NAS-Bench-101 space (:class:`~swapnas.spaces.protocol.Space`): sampling, mutation, the
network and its size, the scoring defaults. Cells (validity, pruning, strings, the graph hash)
live in :mod:`.nb101_cell`, the network in :mod:`.nb101_net`; both are re-exported here.
"""

from __future__ import annotations

import functools
import random

import torch

from .. import patterns as _swap
from .nb101_cell import (
    CODES,
    HASH_LABELS,
    MAX_EDGES,
    MAX_VERTICES,
    NASLIB_OPS,
    OPS,
    PREFIX,
    Arch,
    _pruned,
    format_arch,
    graph_hash,
    is_valid,
    iso_key,
    parse,
    parse_naslib,
    prune,
    to_naslib,
)
from .nb101_net import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAXPOOL3X3,
    OUTPUT,
    Cell,
    Matrix,
    Network,
    vertex_channels,
)
from .protocol import as_arch

NAME = "nb101"


# ----------------------------------------------------------------------------- sampling and mutation


def _random_raw(rng: random.Random) -> tuple[Matrix, tuple[str, ...]]:
    n = MAX_VERTICES
    matrix = tuple(tuple(int(j > i and rng.random() < 0.5) for j in range(n)) for i in range(n))
    ops = (INPUT,) + tuple(rng.choice(OPS) for _ in range(n - 2)) + (OUTPUT,)
    return matrix, ops


def sample(rng: random.Random) -> Arch:
    """A random valid cell, pruned: the benchmark's (and NASLib's) sampling rule.

    Each of the 21 upper-triangular entries is an edge with probability 1/2 and each of
    the 5 op vertices gets a uniform op; draws are repeated until the cell is valid.
    This is uniform over valid 7×7 specs, not over the distinct (pruned) cells.
    """
    while True:
        matrix, ops = _random_raw(rng)
        if is_valid(matrix, ops):
            return prune(Arch(matrix, ops))


def _random_slots(n: int, rng: random.Random) -> list[int]:
    """Positions of a pruned cell's n vertices inside a 7-vertex spec (ends fixed)."""
    inner = sorted(rng.sample(range(1, MAX_VERTICES - 1), n - 2))
    return [0] + inner + [MAX_VERTICES - 1]


def _spread(arch: Arch, rng: random.Random) -> tuple[list[list[int]], list[str]]:
    """``arch`` as a 7-vertex spec: its vertices at random positions, the others isolated."""
    slots = _random_slots(arch.num_vertices, rng)
    matrix = [[0] * MAX_VERTICES for _ in range(MAX_VERTICES)]
    ops = [INPUT] + [rng.choice(OPS) for _ in range(MAX_VERTICES - 2)] + [OUTPUT]
    for a, sa in enumerate(slots):
        ops[sa] = arch.ops[a]
        for b, sb in enumerate(slots):
            matrix[sa][sb] = arch.matrix[a][b]
    return matrix, ops


def mutate(arch: Arch, rng: random.Random, max_steps: int = 10_000) -> Arch:
    """A valid pruned cell that differs from ``arch`` (different graph hash).

    One step flips one edge or changes one op of the cell laid out on 7 vertices
    (its pruned vertices in random slots, the others isolated). A step that yields
    an invalid cell is undone; a valid step that leaves the pruned network unchanged
    up to isomorphism (e.g. an edge to an isolated vertex) is kept and another step
    follows. Most cells change in one step; a cell with no op vertex needs two.
    """
    target = graph_hash(arch)
    matrix, ops = _spread(arch, rng)
    edges = [(i, j) for i in range(MAX_VERTICES) for j in range(i + 1, MAX_VERTICES)]
    for _ in range(max_steps):
        m2, o2 = [row[:] for row in matrix], ops[:]
        k = rng.randrange(len(edges) + MAX_VERTICES - 2)
        if k < len(edges):
            i, j = edges[k]
            m2[i][j] = 1 - m2[i][j]
        else:
            v = k - len(edges) + 1
            o2[v] = rng.choice([o for o in OPS if o != o2[v]])
        if not is_valid(m2, o2):
            continue
        matrix, ops = m2, o2
        child = prune(Arch(m2, tuple(o2)))  # type: ignore[arg-type]
        if graph_hash(child) != target:
            return child
    raise RuntimeError(f"mutate found no valid different cell for {arch} in {max_steps} steps")


def build(arch: Arch | str, num_classes: int = 10, C: int = 128, stacks: int = 3, cells: int = 3) -> Network:
    """The NB101 network for ``arch``; the defaults are the benchmark's (108-epoch) network.

    Example:
        >>> net = build("nb101:011.001.000|I3O", C=16, cells=1)
        >>> net(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    arch = as_arch(arch, Arch, parse, "nb101")
    return Network(arch, *_pruned(arch.matrix, arch.ops), C=C, stacks=stacks, cells=cells, num_classes=num_classes)


@functools.lru_cache(maxsize=8192)
def _params_pruned(arch: Arch, num_classes: int, C: int, stacks: int, cells: int) -> int:
    with torch.device("meta"):
        net = Network(arch, *_pruned(arch.matrix, arch.ops), C=C, stacks=stacks, cells=cells, num_classes=num_classes)
        return sum(p.numel() for p in net.parameters())


def count_params(arch: Arch | str, num_classes: int = 10, C: int = 128, stacks: int = 3, cells: int = 3) -> int:
    """Parameters of ``build(arch, …)`` (meta device, cached by the pruned cell).

    With the defaults this is the benchmark's ``trainable_parameters``.
    """
    if isinstance(arch, str):
        arch = parse(arch)
    return _params_pruned(prune(arch), num_classes, C, stacks, cells)


# ----------------------------------------------------------------------------- scoring defaults

#: A reduced net for training-free scoring (C=16, one cell per stack); configurable per run.
SCORING_DEFAULTS: dict = {"net": {"C": 16, "stacks": 3, "cells": 1}, "batch_size": 16, "repeats": 1}

#: The recommended fitness (``best``) here: the scored network above with PyTorch's default init
#: (which its AZ-NAS parts need). NB101 has no dev ground truth (docs/protocol.md), so ``best`` is the
#: alias's target: the fitness with the best worst-case ρ over every other space's dev sets.
FITNESS_PROTOCOL: dict = {**SCORING_DEFAULTS, "init": "default"}
#: Size of the fixed arch sample behind :func:`param_range_k` and its seed.
RANGE_SAMPLE, RANGE_SEED = 500, 0


@functools.lru_cache(maxsize=32)
def param_range_k(num_classes: int = 10, C: int = 128, stacks: int = 3, cells: int = 3) -> tuple[float, float]:
    """Smallest and largest parameter count (thousands) of the NB101 net over a fixed sample.

    The space is too large to enumerate here, so the range is taken over the
    ``RANGE_SAMPLE`` = 500 cells drawn by ``sample(random.Random(RANGE_SEED))`` (the
    same rule NASLib used to draw its 500 archs); no labels and no data file are used.
    """
    rng = random.Random(RANGE_SEED)
    sizes = [count_params(sample(rng), num_classes, C, stacks, cells) for _ in range(RANGE_SAMPLE)]
    return min(sizes) / 1e3, max(sizes) / 1e3


def default_size_prior(net: dict, num_classes: int = 10) -> tuple[float, float]:
    """Label-free μ, σ for ``swap_reg`` on the scored net ``net`` (thousands of params).

    The shared rule unchanged (:func:`patterns.prior_from_range`, constants chosen on NB201
    CIFAR-10, not retuned on NB101) with lo/hi from :func:`param_range_k` (a fixed
    500-cell sample of the space).
    """
    return _swap.prior_from_range(*param_range_k(num_classes=num_classes, **net))


__all__ = [
    "CONV1X1", "CONV3X3", "INPUT", "MAXPOOL3X3", "OUTPUT", "PREFIX", "Matrix", "CODES", "HASH_LABELS", "MAX_EDGES", "MAX_VERTICES", "NAME", "NASLIB_OPS", "OPS", "SCORING_DEFAULTS",
    "Arch", "Cell", "Network", "build", "count_params", "default_size_prior", "format_arch", "graph_hash",
    "is_valid", "iso_key", "mutate", "param_range_k", "parse", "parse_naslib", "prune", "sample", "to_naslib",
    "vertex_channels",
]
