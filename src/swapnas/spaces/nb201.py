"""NAS-Bench-201 (NATS-Bench topology) space: arch values, parsing, sampling and networks.

An architecture is a cell of 4 nodes; node j sums op(node i) over i < j. The six
edges, in string order, are 1←0, 2←0, 2←1, 3←0, 3←1, 3←2, each with one of
``OPS``. The canonical string is ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from .. import patterns as _swap
from ..size_prior import count_flops
from .ops import AvgPool2d, ReLUConvBN, ResNetBasicBlock, Zero
from .protocol import CanonicalString, as_arch, tuple_field

NAME = "nb201"
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (target node, source node) for each of the six edges, in string order
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NUM_ARCHS = len(OPS) ** len(EDGES)  # 15,625

_TOKEN = re.compile(r"([a-z0-9_]+)~([0-9]+)")  # ASCII digits, matched whole (fullmatch)


@dataclass(frozen=True, order=True)
class Arch(CanonicalString):
    """An immutable NB201 cell: one op name per edge, in ``EDGES`` order."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        tuple_field(self, "ops", "an NB201 Arch")
        if len(self.ops) != len(EDGES):
            raise ValueError(f"an NB201 arch has {len(EDGES)} edges, got {len(self.ops)} ops: {self.ops}")
        for op in self.ops:
            if op not in OPS:
                raise ValueError(f"unknown NB201 op {op!r}; valid ops: {', '.join(OPS)}")



def format_arch(arch: Arch) -> str:
    """``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
    it = iter(arch.ops)
    nodes = ["|" + "|".join(f"{next(it)}~{i}" for i in range(j)) + "|" for j in (1, 2, 3)]
    return "+".join(nodes)


def parse(text: str) -> Arch:
    """Parse the canonical string, or NASLib's key ``(i, j, k, l, m, n)`` (:func:`parse_naslib`; since session 54, as
    TransNAS's spaces read theirs: a ``--truth`` file of NASLib's keys was told they were TransNAS micro archs); no
    ``eval``; errors quote the bad part."""
    if not isinstance(text, str):
        raise TypeError(f"nb201: expected an arch string, got {type(text).__name__}")
    if text.lstrip().startswith("("):
        return parse_naslib(text)
    nodes = text.strip().split("+")
    if len(nodes) != 3:
        raise ValueError(f"NB201 arch {text!r} must have 3 node groups joined by '+', found {len(nodes)}")
    ops: list[str] = []
    for j, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|") and len(group) > 2):
            raise ValueError(f"NB201 node group {group!r} in {text!r} must look like '|op~0|…|'")
        tokens = group[1:-1].split("|")
        if len(tokens) != j:
            raise ValueError(f"NB201 node group {group!r} in {text!r} must have {j} edge(s), found {len(tokens)}")
        for i, token in enumerate(tokens):
            m = _TOKEN.fullmatch(token)
            if not m:
                raise ValueError(f"NB201 edge {token!r} in {text!r} must look like 'op~{i}'")
            op, src = m.group(1), m.group(2)
            if src.lstrip("0").rjust(1, "0") != str(i):  # no int(): 5,000 digits would raise
                raise ValueError(f"NB201 edge {token!r} in {text!r}: input node must be {i}, found {src}")
            if op not in OPS:
                raise ValueError(f"unknown NB201 op {op!r} in edge {token!r} of {text!r}; valid ops: {', '.join(OPS)}")
            ops.append(op)
    return Arch(tuple(ops))


#: NASLib's NB201 encoding (the keys of its zc_nasbench201.json; the bundle's ``naslib_op_indices`` column): one
#: op index per edge, ops numbered as here, edges in its order (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) of its
#: 1-based nodes, i.e. our ``EDGES`` 0, 1, 3, 2, 4, 5
NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_EDGE_ORDER: tuple[int, ...] = (0, 1, 3, 2, 4, 5)
_NASLIB_KEY = re.compile(r"\(\s*" + r"\s*,\s*".join(["([0-4])"] * len(EDGES)) + r"\s*\)")


def to_naslib(arch: Arch) -> str:
    """NASLib's key of ``arch``: its op indices as a tuple's text, e.g. ``"(0, 2, 3, 2, 3, 1)"``."""
    return str(tuple(NASLIB_OPS.index(arch.ops[e]) for e in NASLIB_EDGE_ORDER))


def parse_naslib(text: str) -> Arch:
    """The arch of a NASLib key (:func:`to_naslib`'s inverse); errors quote the key."""
    m = _NASLIB_KEY.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"NASLib NB201 key {text!r} must look like '(i, j, k, l, m, n)' with op indices 0-4")
    ops = [""] * len(EDGES)
    for pos, edge in enumerate(NASLIB_EDGE_ORDER):
        ops[edge] = NASLIB_OPS[int(m.group(pos + 1))]
    return Arch(tuple(ops))


def all_archs() -> Iterator[Arch]:
    """All 15,625 archs in product order (the benchmark's index order is in the NB201 table)."""
    for ops in itertools.product(OPS, repeat=len(EDGES)):
        yield Arch(ops)


def sample(rng: random.Random) -> Arch:
    """A uniformly random arch."""
    return Arch(tuple(rng.choice(OPS) for _ in EDGES))


def mutate(arch: Arch, rng: random.Random) -> Arch:
    """Change the op of one random edge to a different op."""
    ops = list(arch.ops)
    e = rng.randrange(len(ops))
    ops[e] = rng.choice([o for o in OPS if o != ops[e]])
    return Arch(tuple(ops))


def crossover(a: Arch, b: Arch, rng: random.Random) -> Arch:
    """Uniform crossover: each edge's op comes from ``a`` or ``b`` with probability 1/2."""
    return Arch(tuple(x if rng.random() < 0.5 else y for x, y in zip(a.ops, b.ops)))


def cell_edges(arch: Arch) -> dict[str, list[tuple[str, str, str]]]:
    """For drawing: ``{"cell": [(source node, target node, op), …]}`` without 'none' edges."""
    return {"cell": [(str(src), str(dst), op) for (dst, src), op in zip(EDGES, arch.ops) if op != "none"]}


def iso_key(arch: Arch) -> str:
    """Isomorphism-aware key, in the NAS-Bench-201 convention (6,466 classes).

    Each node is written as the sorted '+'-join of its incoming terms: ``#`` for
    'none' or any op of a node that is exactly ``#``, the input node's string for a skip connection, ``(input)@op``
    otherwise; node 0 is ``0``. The key is the output node's string, and it
    equals the benchmark's ``isomorph_unique_str`` column for every arch.
    Equal keys mean the same expression tree of operations, not always the same network: a node
    reached twice through skips counts as one term, so a cell whose two paths share one learned op
    gets the key of a cell with two separate copies of it (e.g. ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+
    |none~0|nor_conv_1x1~1|avg_pool_3x3~2|`` and ``|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|
    nor_conv_1x1~1|avg_pool_3x3~2|``: 0.344 and 0.587 M parameters, CIFAR-10 validation accuracy 87.63 and
    88.67). The benchmark's column merges them too (568 of its 6,466 classes hold more than one
    ``params_M_c10``); the search's deduplication inherits the convention.
    The convention also SPLITS networks that compute the same function: an op on a node whose terms
    are all zero (e.g. ``#+#``) is zero too, but only a node spelt exactly ``#`` counts as zero, so
    ``|none~0|+|none~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|`` (key ``#+(#+#)@avg_pool_3x3+0``)
    and the same cell with ``none~2`` (``#+#+0``) are one network with two keys. Writing every all-zero
    node as ``#`` would give 5,390 classes instead of 6,466 (394 of them split). The key stays the
    benchmark's column, so the search may score such a twin again.
    """
    nodes = ["0"]
    for j in (1, 2, 3):
        items = []
        for (dst, src), op in zip(EDGES, arch.ops):
            if dst != j:
                continue
            if op == "none" or nodes[src] == "#":  # an op of a zero node is zero
                items.append("#")
            elif op == "skip_connect":
                items.append(nodes[src])
            else:
                items.append(f"({nodes[src]})@{op}")
        nodes.append("+".join(sorted(items)))
    return nodes[3]


# ----------------------------------------------------------------------------- network


def _edge_op(op: str, c: int) -> nn.Module:
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1, 0)
    if op == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1, 1)
    return AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class Cell(nn.Module):
    """One NB201 cell; 'none' edges are left out, as in the benchmark's network."""

    def __init__(self, arch: Arch, c: int):
        super().__init__()
        self.edges = nn.ModuleDict()
        self.wiring: list[tuple[int, int, str]] = []
        for (dst, src), op in zip(EDGES, arch.ops):
            if op != "none":
                name = f"{dst}<-{src}"
                self.edges[name] = _edge_op(op, c)
                self.wiring.append((dst, src, name))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in (1, 2, 3):
            inputs = [self.edges[name](nodes[src]) for dst, src, name in self.wiring if dst == j]
            nodes.append(sum(inputs[1:], inputs[0]) if inputs else x.mul(0.0))
        return nodes[3]


class Network(nn.Module):
    """The NB201 network: stem, 3 stages of N cells with residual reductions, head."""

    def __init__(self, arch: Arch, C: int = 16, N: int = 5, num_classes: int = 10):
        super().__init__()
        self.arch = arch
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        c_prev = C
        for stage, c in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                layers.append(ResNetBasicBlock(c_prev, c, 2))
            layers.extend(Cell(arch, c) for _ in range(N))
            c_prev = c
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(out).flatten(1))


@functools.lru_cache(maxsize=256)
def _params_uniform(op: str, C: int, N: int, num_classes: int) -> int:
    """Parameters of the network whose six edges all hold ``op`` (built on the meta device)."""
    with torch.device("meta"):
        return sum(p.numel() for p in Network(Arch((op,) * len(EDGES)), C=C, N=N, num_classes=num_classes).parameters())


def count_params(arch: Arch | str, C: int = 16, N: int = 5, num_classes: int = 10) -> int:
    """Parameters of ``build(arch, C, N, num_classes)``, without building it.

    Every edge maps C channels to C channels in every cell, so an op adds the same number of
    parameters wherever it sits, and a network's size is the all-``none`` network's plus one
    per-edge share per op: ``(uniform(op) - uniform(none)) / 6``. Six cached builds per
    (C, N, num_classes) cover the space (tested against a build for 100 random archs).
    """
    if isinstance(arch, str):
        arch = parse(arch)
    return _params_uniform("none", C, N, num_classes) + sum(_edge_share(op, C, N, num_classes) for op in arch.ops)


@functools.lru_cache(maxsize=256)
def _edge_share(op: str, C: int, N: int, num_classes: int) -> int:
    """Parameters one edge holding ``op`` adds to the network (the same on every edge)."""
    extra = _params_uniform(op, C, N, num_classes) - _params_uniform("none", C, N, num_classes)
    if extra % len(EDGES):
        raise AssertionError(f"{op} adds {extra} parameters over {len(EDGES)} edges: not the same on every edge")
    return extra // len(EDGES)


@functools.lru_cache(maxsize=256)
def _flops_uniform(op: str, resolution: int, C: int = 16, N: int = 5, num_classes: int = 10) -> int:
    """FLOPs (FlopCounterMode's count) of one image through the network whose six edges all hold ``op``."""
    with torch.device("meta"):
        net = Network(Arch((op,) * len(EDGES)), C=C, N=N, num_classes=num_classes).eval()
        return count_flops(net, torch.empty(1, 3, resolution, resolution))


def final_flops(arch: Arch | str, final: dict) -> int | None:
    """FLOPs of ``final``'s network for ``arch`` without building it (session 23; ``search.final.final_macs``).

    As :func:`count_params`: every cell holds the same op on edge e, and an edge's op sees the cell's C channels
    and resolution whichever edge it is, so each op adds the same count on every edge: the all-``none``
    network's count plus ``(uniform(op) - uniform(none)) / 6`` per edge (tested against a full count). None for
    a final network with other build options (then the whole network is counted)."""
    if isinstance(arch, str):
        arch = parse(arch)
    try:
        none = _flops_uniform("none", final["resolution"], **final["net"])
        extra = [_flops_uniform(op, final["resolution"], **final["net"]) - none for op in arch.ops]
    except TypeError:  # a build option Network does not take, or an unhashable one
        return None
    if any(e % len(EDGES) for e in extra):
        raise AssertionError("an NB201 op adds a count that is not the same on every edge")
    return none + sum(e // len(EDGES) for e in extra)


def final_params(arch: Arch | str, final: dict) -> int | None:
    """Parameters of ``final``'s network for ``arch`` without building it (:func:`count_params`); None for other
    build options (``search.final.final_size`` then builds it)."""
    try:
        return count_params(arch, **final["net"])
    except TypeError:
        return None


def build(arch: Arch | str, C: int = 16, N: int = 5, num_classes: int = 10) -> Network:
    """The NB201 network for ``arch`` (C initial channels, N cells per stage).

    With the defaults C=16, N=5 it is the benchmark's network; its parameter
    count equals the benchmark's ``params`` for every arch.

    Example:
        >>> net = build("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|")
        >>> net(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    return Network(as_arch(arch, Arch, parse, "nb201"), C=C, N=N, num_classes=num_classes)


# ----------------------------------------------------------------------------- scoring defaults

#: The scoring protocol shipped as default for NB201 (chosen in docs/results.md).
SCORING_DEFAULTS: dict = {"net": {"C": 16, "N": 1}, "batch_size": 16, "repeats": 4}

#: The protocol and proxy of the recommended fitness (``best``), chosen on the NB201 CIFAR-10 dev
#: sample only (docs/protocol.md; tables: docs/generated/dev/nb201_fitness.md, nb201_fitness_more.md; the proxy
#: ``swap_nb201`` since session 11, ``swap_prog`` until then, which keeps this protocol): the SWAP network with
#: PyTorch's default init (the AZ-NAS part needs a non-saturated classifier) and one repeat;
#: ``refine`` (the search's second stage, ``search.fitness.SecondStage``): re-score the 20 fittest archs
#: on the benchmark's own depth, 5 cells per stage, with S = 20 (session 21, chosen among eight candidates on the
#: CIFAR-10 dev sample: docs/generated/dev/nb201_stage2_depth.md; R=2, S=24 and C=24 around it, session 22,
#: gain at most 0.03: nb201_stage2_n5.md). Sessions 9-20: 2 cells per stage
#: (nb201_stage2.md, chosen for ``swap_prog``; checked for ``swap_nb201`` in nb201_stage2_nb201.md); until
#: session 8 the 3 fittest with 4 repeats (nb201_refine.md).
FITNESS_PROTOCOL: dict = {"proxy": "swap_nb201", "net": {"C": 16, "N": 1}, "batch_size": 16, "repeats": 1,
                          "init": "default", "former": ("swap_prog",),
                          "refine": {"k": 20, "repeats": 1, "net": {"N": 5}, "batch_size": 20}}
#: Size-prior rule constants, chosen on the NB201 dev sample only (CIFAR-10 validation accuracy of the
#: 1000-arch seed-0 sample) by scripts/tune_size_prior.py (see :func:`default_size_prior` and docs/results.md);
#: shared by every space.
PRIOR_CENTRE = _swap.PRIOR_CENTRE
PRIOR_WIDTH = _swap.PRIOR_WIDTH

#: The final (trained) network per dataset: the benchmark's (C=16, N=5), its classes and input size.
FINAL_NETS: dict[str, dict] = {
    "cifar10": {"net": {"C": 16, "N": 5, "num_classes": 10}, "resolution": 32},
    "cifar100": {"net": {"C": 16, "N": 5, "num_classes": 100}, "resolution": 32},
    "imagenet16-120": {"net": {"C": 16, "N": 5, "num_classes": 120}, "resolution": 16},
}
#: The search's size-prior rule for ``swap_reg`` (centre, width as fractions of the proxy net's
#: size range) when no size flag is given: chosen on the NB201 CIFAR-10 dev sample's validation accuracy
#: (the top-10 of its 1000 archs ranked by the fitness: ``scripts/choose_search_prior.py``, session 16).
#: Until session 15 it was (1.0, 0.3), chosen on CIFAR-10 search results' test accuracy (outside the dev set).
SEARCH_PRIOR: tuple[float, float] = (0.8, 0.5)


def smallest_arch() -> Arch:
    """The cell whose network has the fewest parameters and multiply-adds: every edge ``none`` (each other op
    adds its own; the search's ``--max-macs`` check)."""
    return Arch(("none",) * 6)


def param_range_k(C: int = 16, N: int = 5, num_classes: int = 10) -> tuple[float, float]:
    """Smallest and largest parameter count (thousands) of the NB201 net over the space.

    The smallest cell has no conv op and the largest has six 3×3 convs, so two
    (cached) counts give the exact range.
    """
    lo = count_params(smallest_arch(), C=C, N=N, num_classes=num_classes)
    hi = count_params(Arch(("nor_conv_3x3",) * 6), C=C, N=N, num_classes=num_classes)
    return lo / 1e3, hi / 1e3


def default_size_prior(net: dict, num_classes: int = 10) -> tuple[float, float]:
    """Label-free μ, σ for ``swap_reg`` on the scored net ``net`` (thousands of params).

    μ = lo + PRIOR_CENTRE·(hi − lo) and σ = (PRIOR_WIDTH·(hi − lo))², with lo/hi
    the space's smallest and largest scored-net size (from the space alone). The two
    constants were tuned once on CIFAR-10 labels (scripts/tune_size_prior.py) and are
    reported on CIFAR-100 and ImageNet16-120 without touching their labels.
    """
    return _swap.prior_from_range(*param_range_k(num_classes=num_classes, **net))
