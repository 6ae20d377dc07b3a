"""TransNAS-Bench-101 micro (cell-level) space: 4,096 cells on a fixed 5-module skeleton.

Official string ``64-41414-a_bc_def`` (README of ``yawen-d/TransNASBench``): base channels
64, skeleton ``41414`` (modules: channels×2 & resolution÷2, normal, ×2&÷2, normal, ×2&÷2;
two cells per module) and a cell of 4 nodes: node1 = op_a(node0), node2 = op_b(node0) +
op_c(node1), node3 = op_d(node0) + op_e(node1) + op_f(node2); the cell's output is node3.
Op codes: 0 none, 1 skip connect, 2 ReLU-Conv1×1-BN, 3 ReLU-Conv3×3-BN. In the first cell
of a ``4`` module the edges leaving node0 change channels and stride (a skip becomes a
factorized reduce, as in the benchmark). NASLib's key is the tuple ``(a, b, c, d, e, f)``
(data bundle SOURCES.md). Tasks, heads and the skeleton are in :mod:`.transnas`.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from . import transnas as tn
from .ops import ReLUConvBN
from .protocol import CanonicalString, as_arch, tuple_field

NAME = "transnas_micro"
OPS: tuple[str, ...] = ("none", "skip_connect", "conv_1x1", "conv_3x3")
#: (target node, source node) for each of the six edges, in string order a, b, c, d, e, f
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
SKELETON = "41414"
PREFIX = f"{tn.BENCH_C}-{SKELETON}-"
NUM_ARCHS = len(OPS) ** len(EDGES)  # 4,096
TASKS = tn.TASKS
MAP_ROWS_PER_SAMPLE = tn.MAP_ROWS_PER_SAMPLE

_OP_LIST = ", ".join(f"{i} {o}" for i, o in enumerate(OPS))
_CELL = re.compile(r"^([0-3])_([0-3]{2})_([0-3]{3})$")


@dataclass(frozen=True, order=True)
class Arch(CanonicalString):
    """An immutable micro cell: one op code (0..3) per edge, in ``EDGES`` order."""

    ops: tuple[int, ...]

    def __post_init__(self) -> None:
        tuple_field(self, "ops", "a TransNAS micro Arch")
        if len(self.ops) != len(EDGES):
            raise ValueError(f"a TransNAS micro cell has {len(EDGES)} edges, got {len(self.ops)} ops: {self.ops}")
        for op in self.ops:
            if not isinstance(op, int) or isinstance(op, bool) or not 0 <= op < len(OPS):
                raise ValueError(f"TransNAS micro op codes are 0..3 ({_OP_LIST}); got {op!r} in {self.ops}")



def format_arch(arch: Arch) -> str:
    """``64-41414-a_bc_def``."""
    a, b, c, d, e, f = arch.ops
    return f"{PREFIX}{a}_{b}{c}_{d}{e}{f}"


def parse(text: str) -> Arch:
    """Parse ``64-41414-1_02_333``, the bare cell ``1_02_333`` or NASLib's ``(1, 0, 2, 3, 3, 3)``."""
    if not isinstance(text, str):
        raise TypeError(f"transnas_micro: expected an arch string, got {type(text).__name__}")
    s = text.strip()
    if s.startswith("("):
        return parse_naslib(s)
    cell = s
    if "-" in s:
        parts = s.split("-")
        if len(parts) != 3:
            raise ValueError(f"TransNAS micro arch {text!r} must look like '{PREFIX}1_02_333'")
        if f"{parts[0]}-{parts[1]}-" != PREFIX:
            raise ValueError(f"TransNAS micro arch {text!r} must start with {PREFIX!r} (base channels 64, skeleton "
                             f"{SKELETON}); a string like '64-1234-basic' is a macro arch (space transnas_macro)")
        cell = parts[2]
    m = _CELL.match(cell)
    if not m:
        raise ValueError(f"TransNAS micro cell {cell!r} in {text!r} must look like 'a_bc_def' with op codes 0..3 "
                         f"({_OP_LIST}), e.g. '1_02_333'")
    return Arch(tuple(int(ch) for ch in "".join(m.groups())))


def parse_naslib(key: str) -> Arch:
    """NASLib's key ``"(a, b, c, d, e, f)"`` (op codes in string order)."""
    try:
        return Arch(tn.parse_int_tuple(key, len(EDGES), "TransNAS micro NASLib"))
    except ValueError as exc:  # op codes out of range (or too many digits): say which key
        if repr(key) in str(exc):
            raise
        raise ValueError(f"TransNAS micro NASLib key {key!r}: {exc}") from None


def to_naslib(arch: Arch) -> str:
    """NASLib's key string, e.g. ``"(1, 0, 0, 2, 1, 0)"``."""
    return "(" + ", ".join(str(o) for o in arch.ops) + ")"


def all_archs() -> Iterator[Arch]:
    """All 4,096 cells in product order."""
    for ops in itertools.product(range(len(OPS)), repeat=len(EDGES)):
        yield Arch(ops)


def sample(rng: random.Random) -> Arch:
    """A uniformly random cell."""
    return Arch(tuple(rng.randrange(len(OPS)) for _ in EDGES))


def mutate(arch: Arch, rng: random.Random) -> Arch:
    """Change the op of one random edge to a different op."""
    ops = list(arch.ops)
    e = rng.randrange(len(ops))
    ops[e] = rng.choice([o for o in range(len(OPS)) if o != ops[e]])
    return Arch(tuple(ops))


def _cell_key(ops: tuple[int, ...], reduce: bool) -> str:
    nodes = ["0"]
    for j in (1, 2, 3):
        items = []
        for (dst, src), op in zip(EDGES, ops):
            if dst != j or op == 0 or nodes[src] == "#":
                continue
            if op == 1 and not (reduce and src == 0):
                items.append(nodes[src])
            else:
                name = "fr" if op == 1 else OPS[op]
                items.append(f"({nodes[src]})@{name}")
        nodes.append("+".join(sorted(items)) if items else "#")
    return nodes[3]


def iso_key(arch: Arch) -> str:
    """Isomorphism-aware key in the NB201 convention (:func:`swapnas.spaces.nb201.iso_key`: equal keys mean
    the same expression tree of operations; a learned op shared by two paths and two separate copies of it
    get one key, so some keys hold networks of different sizes, and the search's deduplication merges them).

    Each node is the sorted '+'-join of its non-zero incoming terms (``#`` when all are
    zero): the source node's string for a skip, ``(source)@op`` otherwise; a 'none' edge
    or an op on a ``#`` node adds nothing. The network has normal cells and, first in
    each ``4`` module, reduction cells, where a skip from node0 is a learned factorized
    reduce (``@fr``); the key is ``normal-key | reduction-key``.
    """
    return f"{_cell_key(arch.ops, False)} | {_cell_key(arch.ops, True)}"


# ----------------------------------------------------------------------------- network


def _edge_op(op: int, c_in: int, c_out: int, stride: int) -> nn.Module:
    if op == 0:
        return tn.ZeroMap(c_out, stride)
    if op == 1:
        return nn.Identity() if stride == 1 and c_in == c_out else tn.FactorizedReduce(c_in, c_out, stride)
    if op == 2:
        return ReLUConvBN(c_in, c_out, 1, stride, 0)
    return ReLUConvBN(c_in, c_out, 3, stride, 1)


class Cell(nn.Module):
    """One micro cell; edges from node0 carry the (c_in → c_out, stride) change."""

    def __init__(self, arch: Arch, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.edges = nn.ModuleDict()
        self.wiring: list[tuple[int, int, str]] = []
        for (dst, src), op in zip(EDGES, arch.ops):
            name = f"{dst}<-{src}"
            if src == 0:
                self.edges[name] = _edge_op(op, c_in, c_out, stride)
            else:
                self.edges[name] = _edge_op(op, c_out, c_out, 1)
            self.wiring.append((dst, src, name))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in (1, 2, 3):
            inputs = [self.edges[name](nodes[src]) for dst, src, name in self.wiring if dst == j]
            nodes.append(sum(inputs[1:], inputs[0]))
        return nodes[3]


class Encoder(tn.Encoder):
    """Stem and the ``41414`` skeleton of micro cells (two per module)."""

    def __init__(self, arch: Arch, C: int = tn.BENCH_C):
        super().__init__(SKELETON, C, lambda c_in, c_out, stride: Cell(arch, c_in, c_out, stride))
        self.arch = arch


def _as_arch(arch: Arch | str) -> Arch:
    return as_arch(arch, Arch, parse, "transnas_micro")


def build(arch: Arch | str, num_classes: int | None = None, task: str = "class_object", C: int = tn.BENCH_C,
          resolution: int = 64) -> tn.TaskNet:
    """The micro encoder for ``arch`` with ``task``'s head (see :mod:`.transnas`).

    ``num_classes`` is the head's output size (default: the benchmark's, ``TASKS[task].size``);
    ``C`` the base channels (64 in the benchmark; decoders scale with C/64);
    ``resolution`` the input size the net is meant for -- recorded only, the layout
    does not depend on it, so parameter counts are resolution-free. Outputs:
    (S, num_classes) for class/regression/jigsaw, (S, num_classes, H, W) for dense tasks.
    With C=64 and NASLib's head sizes the parameter count equals NASLib's stored ``params``.

    Example:
        >>> net = build("64-41414-1_02_333", task="segmentsemantic", C=16)
        >>> net(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 17, 32, 32])
    """
    return tn.TaskNet(Encoder(_as_arch(arch), C), task, num_classes, C, resolution)


def _cell_params(ops: tuple[int, ...], c_in: int, c_out: int, stride: int) -> int:
    return sum(tn.meta_params(_edge_op, op, c_in, c_out, stride) if src == 0
               else tn.meta_params(_edge_op, op, c_out, c_out, 1)
               for (_, src), op in zip(EDGES, ops))


def count_params(arch: Arch | str, task: str = "class_object", num_classes: int | None = None,
                 C: int = tn.BENCH_C, resolution: int = 64, **_: object) -> int:
    """Parameters of ``build(arch, num_classes, task, C)``.

    Summed from the stem, the cells' edge ops and the head, each built once on the meta
    device and cached (a whole-net build takes ~15 ms; the tests check that the sum
    equals it).
    """
    ops = _as_arch(arch).ops
    plan = tn.skeleton_plan(SKELETON, C)
    body = sum(_cell_params(ops, c_in, c_out, stride) + _cell_params(ops, c_out, c_out, 1)
               for c_in, c_out, stride in plan)
    return tn.net_params(body, plan, task, num_classes, C)


# ----------------------------------------------------------------------------- scoring defaults

#: Training-free scoring on CPU: a quarter-width net (the benchmark uses C=64) at 64×64.
SCORING_DEFAULTS: dict = {"net": {"C": 16, "resolution": 64}, "batch_size": 16, "repeats": 1}

#: The recommended fitness (``best``) here: the scored network above with PyTorch's default init
#: (which its AZ-NAS parts need). TransNAS has no dev ground truth (docs/protocol.md), so ``best`` is the
#: alias's target: the fitness with the best worst-case ρ over every other space's dev sets.
FITNESS_PROTOCOL: dict = {**SCORING_DEFAULTS, "init": "default"}


def param_range_k(task: str = "class_object", num_classes: int | None = None, C: int = tn.BENCH_C,
                  **_: object) -> tuple[float, float]:
    """Smallest and largest parameter count (thousands) over the 4,096 cells.

    A cell's size is the sum of its edges' sizes and every edge is smallest as 'none'
    and largest as a 3×3 conv (a factorized reduce weighs as much as a 1×1 conv), so
    the all-none and all-conv3×3 cells give the exact range.
    """
    lo = count_params(Arch((0,) * 6), task, num_classes, C)
    hi = count_params(Arch((3,) * 6), task, num_classes, C)
    return lo / 1e3, hi / 1e3


def default_size_prior(net: dict, num_classes: int | None = None) -> tuple[float, float]:
    """Label-free μ, σ for ``swap_reg`` on the scored net (thousands of params); the NB201 rule."""
    return tn.size_prior_for(param_range_k, net, num_classes)
