"""NAS-Bench-101 cells: specs (adjacency matrix + ops), validity, pruning, strings and hashing.

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

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from .nb101_net import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT, Matrix
from .protocol import CanonicalString

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
class Arch(CanonicalString):
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
        raise TypeError(f"nb101: expected an arch string, got {type(text).__name__}")
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
    try:
        return Arch(tuple(matrix), tuple(ops))
    except ValueError as exc:  # the cell's rule, with the string it came from
        raise ValueError(f"NB101 arch {text!r}: {exc}") from None


def _naslib_ints(key: str | Sequence[int]) -> list[int]:
    if not isinstance(key, str):
        return [int(v) for v in key]
    s = key.strip()
    if not (s.startswith("(") and s.endswith(")")):
        raise ValueError(f"NASLib NB101 key {key!r} must be a tuple string '(0, 1, …)'")
    values = []
    for part in s[1:-1].split(","):
        part = part.strip()
        if not (part.isascii() and part.isdigit() and len(part) <= 9):  # int() of 5,000 digits would raise
            raise ValueError(f"NASLib NB101 key {key!r}: entry {part!r} is not a non-negative integer "
                             "(0/1 or an op id)")
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
    try:
        return Arch(matrix, tuple(ops))
    except ValueError as exc:  # the cell's rule, with the key it came from
        raise ValueError(f"NASLib NB101 key {key!r}: {exc}") from None


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
