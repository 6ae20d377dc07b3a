"""DARTS cell genotypes (also NAS-Bench-301): values, parsing, sampling, mutation, crossover.

A genotype has a normal and a reduction cell. Each cell has 2 inputs (nodes 0, 1)
and 4 intermediate nodes (2..5); intermediate node k (0-based among the four)
takes two edges, each ``(op, input)`` with input in ``0 .. k + 1``. The cell
output concatenates ``*_concat`` (default nodes 2, 3, 4, 5).

This module holds the arch value only; the networks are built by :func:`.darts_net.build`
(and :func:`.darts_imagenet.build_imagenet`), the space's module is :mod:`.darts`.
"""

from __future__ import annotations

import ast
import random
import re
import warnings
from dataclasses import dataclass

from .protocol import tuple_field

OPS: tuple[str, ...] = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
#: NASLib's NB301 op indices (no 'none')
NASLIB_OPS: tuple[str, ...] = OPS[1:]
EDGES_PER_CELL = 8
DEFAULT_CONCAT = (2, 3, 4, 5)

Cell = tuple[tuple[str, int], ...]


def _check_cell(cell: Cell, which: str) -> None:
    if len(cell) != EDGES_PER_CELL:
        raise ValueError(f"a DARTS {which} cell has {EDGES_PER_CELL} (op, input) edges, got {len(cell)}: {cell}")
    for i, edge in enumerate(cell):
        if not (isinstance(edge, tuple) and len(edge) == 2):
            raise ValueError(f"DARTS {which} edge {i} must be an (op, input) pair, got {edge!r}")
        op, src = edge
        if op not in OPS:
            raise ValueError(f"unknown DARTS op {op!r} in {which} edge {i}; valid ops: {', '.join(OPS)}")
        if not isinstance(src, int) or isinstance(src, bool) or not 0 <= src < i // 2 + 2:  # True would key as 'True'
            raise ValueError(f"DARTS {which} edge {i} ({op!r}, {src!r}) belongs to node {i // 2 + 2}, "
                             f"so its input must be in 0..{i // 2 + 1}")


@dataclass(frozen=True)
class Genotype:
    """An immutable DARTS genotype."""

    normal: Cell
    reduce: Cell
    normal_concat: tuple[int, ...] = DEFAULT_CONCAT
    reduce_concat: tuple[int, ...] = DEFAULT_CONCAT

    def __post_init__(self) -> None:
        for name in ("normal", "reduce", "normal_concat", "reduce_concat"):  # the DARTS repo's lists and range()
            tuple_field(self, name, "a DARTS Genotype")
        _check_cell(self.normal, "normal")
        _check_cell(self.reduce, "reduce")
        for name, concat in (("normal_concat", self.normal_concat), ("reduce_concat", self.reduce_concat)):
            if not concat or any(not isinstance(n, int) or not 2 <= n <= 5 for n in concat):
                raise ValueError(f"{name} must list intermediate nodes in 2..5, got {concat}")

    def __str__(self) -> str:
        return format_genotype(self)

    @property
    def key(self) -> str:
        """The string as written (``str(self)``): the store and cache key, as in every space."""
        return format_genotype(self)

    @property
    def iso_key(self) -> str:
        """Canonical string: each node's two edges sorted, so swapped inputs give one key.

        Not a full isomorphism test; two cases of one network get different keys: (1) a permutation
        of intermediate nodes that do not feed each other (nodes 2 and 3 on the cell inputs only,
        swapped along with every reference to them); (2) the input of a ``none`` edge, which does
        not matter. ``sample`` never writes ``none``, but :func:`mutate` can change only a ``none``
        edge's input (genotypes with ``none``: 190 of ``darts_swap``) and so give the same network
        under a new key. The store keys on the string as written, so neither changes a score; the
        search (which never proposes an arch whose key it has seen) may score such a twin again.
        """
        return format_genotype(canonical(self))


def canonical(g: Genotype) -> Genotype:
    """The same genotype with each node's two edges in sorted (input, op) order."""
    def cell(c: Cell) -> Cell:
        out: list[tuple[str, int]] = []
        for k in range(0, EDGES_PER_CELL, 2):
            out.extend(sorted(c[k : k + 2], key=lambda e: (e[1], e[0])))
        return tuple(out)

    return Genotype(cell(g.normal), cell(g.reduce), g.normal_concat, g.reduce_concat)


def format_genotype(g: Genotype) -> str:
    """``Genotype(normal=[('sep_conv_3x3', 0), …], normal_concat=[2, 3, 4, 5], reduce=[…], reduce_concat=[…])``."""
    def cell(c: Cell) -> str:
        return "[" + ", ".join(f"('{op}', {src})" for op, src in c) + "]"

    return (f"Genotype(normal={cell(g.normal)}, normal_concat={list(g.normal_concat)}, "
            f"reduce={cell(g.reduce)}, reduce_concat={list(g.reduce_concat)})")


_FIELD = re.compile(r"(normal_concat|reduce_concat|normal|reduce)\s*=\s*")
_RANGE = re.compile(r"range\(\s*([0-9]{1,2})\s*,\s*([0-9]{1,2})\s*\)")  # fullmatch; bounds of node numbers only


def _literal(text: str, what: str, source: str) -> object:
    """A Python literal (lists, tuples, strings, ints only: ``ast.literal_eval`` runs no code)."""
    m = _RANGE.fullmatch(text)
    if m:
        return list(range(int(m.group(1)), int(m.group(2))))
    try:
        with warnings.catch_warnings():  # "invalid escape sequence '\o'" in a user's string: no warning
            warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
            return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):  # '{[]}', deep or long nesting
        raise ValueError(f"cannot read {what} {text!r} in {source!r}") from None


def _split_fields(body: str, source: str) -> dict[str, str]:
    """Split ``normal=[…], normal_concat=[…], …`` at top-level commas."""
    fields: dict[str, str] = {}
    depth, start, parts = 0, 0, []
    for i, ch in enumerate(body):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    for part in (p.strip() for p in parts if p.strip()):
        m = _FIELD.match(part)
        if not m:
            raise ValueError(f"unexpected part {part!r} in DARTS genotype {source!r}; "
                             "expected normal=, normal_concat=, reduce=, reduce_concat=")
        if m.group(1) in fields:
            raise ValueError(f"field {m.group(1)!r} given twice in {source!r}")
        fields[m.group(1)] = part[m.end():].strip()
    return fields


def parse(text: str) -> Genotype:
    """Parse the usual ``Genotype(normal=[…], normal_concat=…, reduce=[…], reduce_concat=…)`` string.

    Never evaluates code: fields are split by hand and read with ``ast.literal_eval``;
    ``range(a, b)`` is accepted for the concat lists.
    """
    if not isinstance(text, str):
        raise TypeError(f"darts: expected an arch (genotype) string, got {type(text).__name__}")
    s = text.strip()
    if not (s.startswith("Genotype(") and s.endswith(")")):
        raise ValueError(f"DARTS genotype {text!r} must look like 'Genotype(normal=[...], ...)'")
    fields = _split_fields(s[len("Genotype("):-1], text)
    for need in ("normal", "reduce"):
        if need not in fields:
            raise ValueError(f"DARTS genotype {text!r} has no {need}= field")
    cells = {}
    for name in ("normal", "reduce"):
        value = _literal(fields[name], name, text)
        if not isinstance(value, list) or not all(isinstance(e, tuple) for e in value):
            raise ValueError(f"{name} in {text!r} must be a list of (op, input) tuples")
        cells[name] = tuple(value)
    concats = {}
    for name in ("normal_concat", "reduce_concat"):
        value = _literal(fields[name], name, text) if name in fields else list(DEFAULT_CONCAT)
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{name} in {text!r} must be a list of node numbers")
        concats[name] = tuple(value)
    try:
        return Genotype(cells["normal"], cells["reduce"], concats["normal_concat"], concats["reduce_concat"])
    except ValueError as exc:  # the genotype's rule, with the string it came from
        raise ValueError(f"DARTS genotype {text!r}: {exc}") from None


def parse_naslib(text: str) -> Genotype:
    """Parse NASLib's compact NB301 key ``[[(input, op_index)×8], [(input, op_index)×8]]``.

    Op indices follow :data:`NASLIB_OPS` (max_pool_3x3 … dil_conv_5x5, no 'none').
    """
    value = _literal(text.strip(), "NASLib key", text)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(c, list) for c in value)):
        raise ValueError(f"NASLib NB301 key {text!r} must be [[normal edges], [reduce edges]]")
    cells = []
    for edges in value:
        cell = []
        for edge in edges:
            if not (isinstance(edge, tuple) and len(edge) == 2
                    and all(isinstance(v, int) and not isinstance(v, bool) for v in edge)):
                raise ValueError(f"NASLib edge {edge!r} in {text!r} must be (input, op_index)")
            src, op = edge
            if not 0 <= op < len(NASLIB_OPS):
                raise ValueError(f"NASLib op index {op} in {text!r} is outside 0..{len(NASLIB_OPS) - 1}")
            cell.append((NASLIB_OPS[op], src))
        cells.append(tuple(cell))
    try:
        return Genotype(cells[0], cells[1])
    except ValueError as exc:  # the genotype's rule, with the key it came from
        raise ValueError(f"NASLib NB301 key {text!r}: {exc}") from None


def to_naslib(g: Genotype) -> str:
    """NASLib's compact key for ``g`` (no 'none' ops, default concat)."""
    if "none" in {op for op, _ in g.normal + g.reduce}:
        raise ValueError("NASLib's NB301 keys have no 'none' op")
    if (g.normal_concat, g.reduce_concat) != (DEFAULT_CONCAT, DEFAULT_CONCAT):
        raise ValueError(f"NASLib's NB301 keys concatenate every intermediate node {DEFAULT_CONCAT}; this genotype "
                         f"concatenates {g.normal_concat} / {g.reduce_concat}, which the key cannot hold")
    cells = [", ".join(f"({src}, {NASLIB_OPS.index(op)})" for op, src in c) for c in (g.normal, g.reduce)]
    return f"[[{cells[0]}], [{cells[1]}]]"


def _random_cell(rng: random.Random) -> Cell:
    edges = []
    for k in range(4):
        for src in rng.sample(range(k + 2), 2):  # two distinct inputs, as in DARTS' derived cells
            edges.append((rng.choice(NASLIB_OPS), src))
    return tuple(edges)


def sample(rng: random.Random) -> Genotype:
    """A random genotype: per node, two distinct inputs, ops other than 'none'."""
    return Genotype(_random_cell(rng), _random_cell(rng))


def mutate(g: Genotype, rng: random.Random) -> Genotype:
    """Change one random edge of one random cell: its op, or its input (kept distinct from its sibling)."""
    which = rng.choice(("normal", "reduce"))
    cell = list(getattr(g, which))
    i = rng.randrange(EDGES_PER_CELL)
    op, src = cell[i]
    sibling_src = cell[i ^ 1][1]
    inputs = [s for s in range(i // 2 + 2) if s not in (src, sibling_src)]
    if inputs and rng.random() < 0.5:
        cell[i] = (op, rng.choice(inputs))
    else:
        cell[i] = (rng.choice([o for o in NASLIB_OPS if o != op]), src)
    if which == "normal":
        return Genotype(tuple(cell), g.reduce, g.normal_concat, g.reduce_concat)
    return Genotype(g.normal, tuple(cell), g.normal_concat, g.reduce_concat)


def crossover(a: Genotype, b: Genotype, rng: random.Random) -> Genotype:
    """Uniform crossover by node: each of the 8 nodes (4 per cell) comes whole from one parent; the
    concatenated nodes are the first parent's (``crossover(a, a, rng) == a``)."""
    def cell(x: Cell, y: Cell) -> Cell:
        out: list[tuple[str, int]] = []
        for k in range(0, EDGES_PER_CELL, 2):
            out.extend((x if rng.random() < 0.5 else y)[k : k + 2])
        return tuple(out)

    return Genotype(cell(a.normal, b.normal), cell(a.reduce, b.reduce), a.normal_concat, a.reduce_concat)
