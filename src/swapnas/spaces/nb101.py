"""NAS-Bench-101 space: cell specs (adjacency matrix + ops), parsing, hashing, sampling, networks.

A cell is a DAG of at most 7 vertices in topological order: vertex 0 is the input,
the last vertex the output, and each vertex in between holds one of ``OPS``. The
adjacency matrix is strictly upper-triangular (``matrix[i][j] = 1`` is an edge i→j).

Benchmark rules (NAS-Bench-101, Ying et al. 2019), applied here:

- **Pruning**: a vertex that is not on any input→output path is removed
  (:func:`prune`); a cell whose output cannot be reached from its input is invalid.
- **Validity**: at most 7 vertices and at most 9 edges, counted on the pruned cell
  (the benchmark checks the pruned spec, so a sampled 7×7 matrix may hold more edges
  in vertices that pruning removes).
- **Identity**: isomorphic cells are the same benchmark entry; :func:`graph_hash` is
  the benchmark's fingerprint.

An :class:`Arch` may hold an unpruned matrix: NASLib's NAS-Bench-Suite-Zero keys are
the raw 7×7 matrices it sampled (500 keys, 301 distinct pruned cells, each key with
its own stored accuracy), and :func:`parse_naslib` keeps them so that every key stays
a distinct value. :func:`sample`, :func:`mutate` and :func:`prune` return pruned archs;
:func:`build`, :func:`count_params` and :func:`graph_hash` always work on the pruned cell.

Canonical string (:func:`format_arch`)::

    nb101:<row 0>.<row 1>. … .<row n-1>|<op codes>

rows are the matrix rows as 0/1 digits, and the op codes one character per vertex:
``I`` input, ``1`` conv1x1-bn-relu, ``3`` conv3x3-bn-relu, ``M`` maxpool3x3, ``O``
output. Example (the benchmark's first hash, ``00005c14…``)::

    nb101:0100110.0010000.0001001.0000010.0000010.0000001.0000000|I3M331O
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .. import swap as _swap

NAME = "nb101"
INPUT, OUTPUT = "input", "output"
CONV1X1, CONV3X3, MAXPOOL3X3 = "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3"
OPS: tuple[str, ...] = (CONV1X1, CONV3X3, MAXPOOL3X3)
MAX_VERTICES = 7
MAX_EDGES = 9
#: NASLib's op ids in its 56-tuple keys (checked on the data: id 0 is always the first
#: vertex, id 1 always the last, and with 2/3/4 = maxpool/1×1/3×3 our network size
#: equals NASLib's stored ``params`` for all 500 keys).
NASLIB_OPS: tuple[str, ...] = (INPUT, OUTPUT, MAXPOOL3X3, CONV1X1, CONV3X3)
#: Vertex labels of the benchmark's graph hash (its op list is conv3x3, conv1x1, maxpool).
HASH_LABELS: dict[str, int] = {INPUT: -1, OUTPUT: -2, CONV3X3: 0, CONV1X1: 1, MAXPOOL3X3: 2}
#: One-character op codes of the canonical string.
CODES: dict[str, str] = {INPUT: "I", OUTPUT: "O", CONV1X1: "1", CONV3X3: "3", MAXPOOL3X3: "M"}
_OP_OF_CODE = {c: op for op, c in CODES.items()}
PREFIX = "nb101:"

Matrix = tuple[tuple[int, ...], ...]


# ----------------------------------------------------------------------------- validity and pruning


def _as_matrix(matrix: Sequence[Sequence[int]]) -> Matrix:
    """``matrix`` as a tuple of tuples of 0/1 ints (accepts lists, tuples and numpy arrays)."""
    rows = []
    for i, row in enumerate(matrix):
        vals = []
        for j, v in enumerate(row):
            if v not in (0, 1) or isinstance(v, str):
                raise ValueError(f"NB101 adjacency entry [{i}][{j}] = {v!r} must be 0 or 1")
            vals.append(int(v))
        rows.append(tuple(vals))
    return tuple(rows)


def _check_structure(matrix: Matrix, ops: tuple[str, ...]) -> None:
    """Everything but connectivity and the edge limit; errors say what to change."""
    n = len(matrix)
    if not 2 <= n <= MAX_VERTICES:
        raise ValueError(f"an NB101 cell has 2 to {MAX_VERTICES} vertices (input, up to 5 ops, output), "
                         f"got a {n}-row matrix")
    for i, row in enumerate(matrix):
        if len(row) != n:
            raise ValueError(f"the NB101 adjacency matrix must be square: row {i} has {len(row)} entries, expected {n}")
    for i in range(n):
        for j in range(i + 1):
            if matrix[i][j]:
                raise ValueError(f"NB101 edge {i}→{j} goes backwards: the matrix must be strictly upper-triangular "
                                 "(vertices in topological order, edges only from a lower to a higher index)")
    if len(ops) != n:
        raise ValueError(f"an NB101 cell with {n} vertices needs {n} ops, got {len(ops)}: {list(ops)}")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise ValueError(f"NB101 ops must start with {INPUT!r} and end with {OUTPUT!r}, got {list(ops)}")
    for op in ops[1:-1]:
        if op not in OPS:
            raise ValueError(f"unknown NB101 op {op!r}; valid ops between input and output: {', '.join(OPS)}")


def _on_path(matrix: Matrix) -> list[int]:
    """Vertices on some input→output path, in order (empty when the output is unreachable)."""
    n = len(matrix)
    fwd, bwd = [False] * n, [False] * n
    fwd[0] = bwd[n - 1] = True
    for j in range(1, n):  # topological order: predecessors come first
        fwd[j] = any(fwd[i] and matrix[i][j] for i in range(j))
    for i in range(n - 2, -1, -1):
        bwd[i] = any(bwd[j] and matrix[i][j] for j in range(i + 1, n))
    if not fwd[n - 1]:
        return []
    return [v for v in range(n) if fwd[v] and bwd[v]]


def _pruned(matrix: Matrix, ops: tuple[str, ...]) -> tuple[Matrix, tuple[str, ...]]:
    keep = _on_path(matrix)
    if not keep:
        raise ValueError("NB101 cell is invalid: the output vertex cannot be reached from the input "
                         "(no input→output path); add an edge on a path from vertex 0 to the last vertex")
    return tuple(tuple(matrix[i][j] for j in keep) for i in keep), tuple(ops[v] for v in keep)


def _num_edges(matrix: Matrix) -> int:
    return sum(map(sum, matrix))


@dataclass(frozen=True, order=True)
class Arch:
    """An immutable, valid NB101 cell: adjacency matrix (tuple of 0/1 tuples) and op names.

    The matrix may be unpruned (as NASLib stores it); validity is the benchmark's:
    ≤ 7 vertices, strictly upper-triangular, input first and output last, the output
    reachable from the input, and ≤ 9 edges after pruning.

    Example:
        >>> a = Arch(((0, 1, 1), (0, 0, 1), (0, 0, 0)), ("input", "conv3x3-bn-relu", "output"))
        >>> str(a)
        'nb101:011.001.000|I3O'
    """

    matrix: Matrix
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "matrix", _as_matrix(self.matrix))
        object.__setattr__(self, "ops", tuple(self.ops))
        _check_structure(self.matrix, self.ops)
        edges = _num_edges(_pruned(self.matrix, self.ops)[0])
        if edges > MAX_EDGES:
            raise ValueError(f"NB101 allows at most {MAX_EDGES} edges after pruning, this cell has {edges}: "
                             "remove edges")

    def __str__(self) -> str:
        return format_arch(self)

    @property
    def key(self) -> str:
        """The canonical string: the store and cache key."""
        return format_arch(self)

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return _num_edges(self.matrix)

    @property
    def is_pruned(self) -> bool:
        return len(_on_path(self.matrix)) == len(self.ops)


def is_valid(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> bool:
    """Whether ``Arch(matrix, ops)`` would succeed (the benchmark's ``is_valid``)."""
    try:
        Arch(matrix, tuple(ops))  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def prune(arch: Arch | tuple[Sequence[Sequence[int]], Sequence[str]]) -> Arch:
    """The cell without the vertices that are on no input→output path (the benchmark's rule).

    Accepts an :class:`Arch` or a raw ``(matrix, ops)`` pair; raises ``ValueError``
    when the output cannot be reached from the input.
    """
    if isinstance(arch, Arch):
        matrix, ops = arch.matrix, arch.ops
    else:
        matrix, ops = _as_matrix(arch[0]), tuple(arch[1])
        _check_structure(matrix, ops)
    return Arch(*_pruned(matrix, ops))


# ----------------------------------------------------------------------------- strings


def format_arch(arch: Arch) -> str:
    """``nb101:<rows as 0/1 digits, joined by '.'>|<one op code per vertex>``."""
    rows = ".".join("".join(map(str, row)) for row in arch.matrix)
    return PREFIX + rows + "|" + "".join(CODES[op] for op in arch.ops)


def parse(text: str) -> Arch:
    """Parse the canonical string or a NASLib key string (no ``eval``); errors quote the bad part."""
    if not isinstance(text, str):
        raise TypeError(f"an NB101 arch string must be str, got {type(text).__name__}")
    s = text.strip()
    if s.startswith("("):
        return parse_naslib(s)
    if not s.startswith(PREFIX):
        raise ValueError(f"NB101 arch {text!r} must look like 'nb101:<rows>|<op codes>' "
                         "(e.g. 'nb101:011.001.000|I3O') or be a NASLib tuple '(0, 1, …)'")
    body = s[len(PREFIX):]
    if body.count("|") != 1:
        raise ValueError(f"NB101 arch {text!r} must have exactly one '|' between the matrix rows and the op codes")
    rows_text, codes = body.split("|")
    rows = rows_text.split(".")
    matrix = []
    for row in rows:
        if not row or set(row) - {"0", "1"}:
            raise ValueError(f"NB101 matrix row {row!r} in {text!r} must be a string of 0/1 digits")
        matrix.append(tuple(int(c) for c in row))
    ops = []
    for c in codes:
        if c not in _OP_OF_CODE:
            raise ValueError(f"unknown NB101 op code {c!r} in {codes!r} of {text!r}; codes: "
                             + ", ".join(f"{k}={v}" for k, v in _OP_OF_CODE.items()))
        ops.append(_OP_OF_CODE[c])
    return Arch(tuple(matrix), tuple(ops))


def _naslib_ints(key: str | Sequence[int]) -> list[int]:
    if not isinstance(key, str):
        return [int(v) for v in key]
    s = key.strip()
    if not (s.startswith("(") and s.endswith(")")):
        raise ValueError(f"NASLib NB101 key {key!r} must be a tuple string '(0, 1, …)'")
    values = []
    for part in s[1:-1].split(","):
        part = part.strip()
        if not part.isdigit():
            raise ValueError(f"NASLib NB101 key {key!r}: entry {part!r} is not a non-negative integer")
        values.append(int(part))
    return values


def parse_naslib(key: str | Sequence[int]) -> Arch:
    """An arch from a NASLib key: the n×n matrix flattened row-major, then n op ids (n = 7).

    Op ids index ``NASLIB_OPS``. The matrix is kept as stored (unpruned), so each of
    NASLib's keys is a distinct :class:`Arch`; use :func:`prune` for the cell itself.
    """
    values = _naslib_ints(key)
    n = next((k for k in range(2, MAX_VERTICES + 1) if k * k + k == len(values)), None)
    if n is None:
        raise ValueError(f"NASLib NB101 key {key!r} has {len(values)} entries; expected n*n + n "
                         "(n×n matrix then n op ids), 56 for 7 vertices")
    ops = []
    for v in values[n * n:]:
        if v >= len(NASLIB_OPS):
            raise ValueError(f"NASLib NB101 key {key!r}: op id {v} out of range; ids: "
                             + ", ".join(f"{i}={o}" for i, o in enumerate(NASLIB_OPS)))
        ops.append(NASLIB_OPS[v])
    matrix = tuple(tuple(values[i * n:(i + 1) * n]) for i in range(n))
    return Arch(matrix, tuple(ops))


def _padded(arch: Arch) -> tuple[Matrix, tuple[str, ...]]:
    """The cell with isolated conv3x3 vertices inserted before the output, up to 7 vertices.

    This is NASLib's convention for specs with fewer than 7 vertices.
    """
    n, extra = arch.num_vertices, MAX_VERTICES - arch.num_vertices
    rows = [list(row[:-1]) + [0] * extra + [row[-1]] for row in arch.matrix[:-1]]
    rows += [[0] * MAX_VERTICES for _ in range(extra + 1)]
    ops = arch.ops[:-1] + (CONV3X3,) * extra + (OUTPUT,)
    assert len(rows) == MAX_VERTICES and n + extra == MAX_VERTICES
    return tuple(map(tuple, rows)), ops


def to_naslib(arch: Arch) -> str:
    """NASLib's key string for ``arch`` (7×7; smaller cells padded as NASLib does)."""
    matrix, ops = _padded(arch)
    values = [v for row in matrix for v in row] + [NASLIB_OPS.index(op) for op in ops]
    return "(" + ", ".join(map(str, values)) + ")"


# ----------------------------------------------------------------------------- identity


def graph_hash(arch: Arch) -> str:
    """The benchmark's fingerprint of the pruned cell (equal for isomorphic cells).

    Each vertex starts as the MD5 of its (out-degree, in-degree, op label); then, as
    many rounds as there are vertices, each vertex becomes the MD5 of its sorted
    in-neighbour hashes, its sorted out-neighbour hashes and its own hash. The
    fingerprint is the MD5 of the sorted vertex hashes. Labels: input −1, output −2,
    conv3x3 0, conv1x1 1, maxpool 2. Matches the benchmark's stored hash
    (e.g. ``00005c142e6f48ac74fdcf73e3439874``, see tests/test_nb101.py).
    """
    matrix, ops = _pruned(arch.matrix, arch.ops)
    n = len(ops)
    ins = [sum(matrix[i][v] for i in range(n)) for v in range(n)]
    outs = [sum(matrix[v]) for v in range(n)]

    def md5(text: str) -> str:
        return hashlib.md5(text.encode("utf-8")).hexdigest()

    hashes = [md5(str((outs[v], ins[v], HASH_LABELS[ops[v]]))) for v in range(n)]
    for _ in range(n):
        hashes = [
            md5("".join(sorted(hashes[w] for w in range(n) if matrix[w][v])) + "|"
                + "".join(sorted(hashes[w] for w in range(n) if matrix[v][w])) + "|" + hashes[v])
            for v in range(n)
        ]
    return md5(str(sorted(hashes)))


def iso_key(arch: Arch) -> str:
    """Isomorphism-aware key: the benchmark's graph hash of the pruned cell."""
    return graph_hash(arch)


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


# ----------------------------------------------------------------------------- network

#: The benchmark's BatchNorm settings (TF momentum 0.997 → PyTorch 1 − 0.997; epsilon 1e-5).
BN_MOMENTUM = 0.003
BN_EPS = 1e-5


class ConvBNReLU(nn.Sequential):
    """Conv (no bias) → BatchNorm → ReLU: the benchmark's conv ops, projections and stem."""

    def __init__(self, c_in: int, c_out: int, kernel: int):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=False),
        )


def vertex_channels(c_in: int, c_out: int, matrix: Matrix) -> list[int]:
    """Channels of each vertex of a pruned cell (the benchmark's rule).

    The output's ``c_out`` channels are split among the vertices that feed it (the
    first ``c_out mod k`` of them get one more); every other op vertex takes the largest
    channel count among its successors (a vertex feeding narrower vertices is truncated).
    """
    n = len(matrix)
    ch = [0] * n
    ch[0], ch[n - 1] = c_in, c_out
    if n == 2:
        return ch
    feeders = [v for v in range(1, n - 1) if matrix[v][n - 1]]
    base, extra = divmod(c_out, len(feeders))
    for k, v in enumerate(feeders):
        ch[v] = base + (1 if k < extra else 0)
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            ch[v] = max(ch[w] for w in range(v + 1, n - 1) if matrix[v][w])
    return ch


def _vertex_op(op: str, c: int) -> nn.Module:
    if op == CONV1X1:
        return ConvBNReLU(c, c, 1)
    if op == CONV3X3:
        return ConvBNReLU(c, c, 3)
    return nn.MaxPool2d(3, stride=1, padding=1)


class Cell(nn.Module):
    """One NB101 module (the benchmark's cell) for a pruned spec."""

    def __init__(self, arch: Arch, c_in: int, c_out: int):
        super().__init__()
        self.matrix, self.ops = _pruned(arch.matrix, arch.ops)
        n = len(self.ops)
        self.channels = vertex_channels(c_in, c_out, self.matrix)
        # a 1×1 projection of the cell input into every vertex the input feeds (the output included)
        self.proj = nn.ModuleDict({str(v): ConvBNReLU(c_in, self.channels[v], 1)
                                   for v in range(1, n) if self.matrix[0][v]})
        self.vertex_ops = nn.ModuleDict({str(v): _vertex_op(self.ops[v], self.channels[v]) for v in range(1, n - 1)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, m, ch = len(self.ops), self.matrix, self.channels
        values: list[torch.Tensor | None] = [x] + [None] * (n - 1)
        for v in range(1, n - 1):
            terms = [values[u][:, : ch[v]] for u in range(1, v) if m[u][v]]  # type: ignore[index]
            if m[0][v]:
                terms.append(self.proj[str(v)](x))
            values[v] = self.vertex_ops[str(v)](sum(terms[1:], terms[0]))
        feeders = [values[u] for u in range(1, n - 1) if m[u][n - 1]]
        if not feeders:
            return self.proj[str(n - 1)](x)
        out = torch.cat(feeders, dim=1) if len(feeders) > 1 else feeders[0]
        if m[0][n - 1]:
            out = out + self.proj[str(n - 1)](x)
        return out


class Network(nn.Module):
    """The NB101 network: 3×3 conv stem, ``stacks`` stacks of ``cells`` cells, head.

    Between stacks a 2×2 max-pool (stride 2) halves the resolution and the channel
    count doubles (the first cell of the stack widens); the head is a global average
    pool and a linear classifier.
    """

    def __init__(self, arch: Arch, C: int = 128, stacks: int = 3, cells: int = 3, num_classes: int = 10):
        super().__init__()
        self.arch = arch
        self.stem = ConvBNReLU(3, C, 3)
        layers: list[nn.Module] = []
        c_prev = c = C
        for s in range(stacks):
            if s > 0:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))  # TF 'same' padding
                c *= 2
            for _ in range(cells):
                layers.append(Cell(arch, c_prev, c))
                c_prev = c
        self.cells = nn.Sequential(*layers)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.cells(self.stem(x))).flatten(1))


def build(arch: Arch | str, num_classes: int = 10, C: int = 128, stacks: int = 3, cells: int = 3) -> Network:
    """The NB101 network for ``arch``; the defaults are the benchmark's (108-epoch) network.

    Example:
        >>> net = build("nb101:011.001.000|I3O", C=16, cells=1)
        >>> net(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    if isinstance(arch, str):
        arch = parse(arch)
    return Network(arch, C=C, stacks=stacks, cells=cells, num_classes=num_classes)


@functools.lru_cache(maxsize=8192)
def _params_pruned(arch: Arch, num_classes: int, C: int, stacks: int, cells: int) -> int:
    with torch.device("meta"):
        net = Network(arch, C=C, stacks=stacks, cells=cells, num_classes=num_classes)
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
#: (which its AZ-NAS part needs), set a priori: NB101 has no dev ground truth (docs/protocol.md).
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

    The shared rule unchanged (:func:`swap.prior_from_range`, constants chosen on NB201
    CIFAR-10, not retuned on NB101) with lo/hi from :func:`param_range_k` (a fixed
    500-cell sample of the space).
    """
    return _swap.prior_from_range(*param_range_k(num_classes=num_classes, **net))


__all__ = [
    "CODES", "HASH_LABELS", "MAX_EDGES", "MAX_VERTICES", "NAME", "NASLIB_OPS", "OPS", "SCORING_DEFAULTS",
    "Arch", "Cell", "Network", "build", "count_params", "default_size_prior", "format_arch", "graph_hash",
    "is_valid", "iso_key", "mutate", "param_range_k", "parse", "parse_naslib", "prune", "sample", "to_naslib",
    "vertex_channels",
]
