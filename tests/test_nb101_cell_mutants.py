"""NAS-Bench-101 cells (``swapnas.spaces.nb101_cell``) beyond ``Arch``'s checks (session 39), from their mutation run
(session 48): matrices read and refused whole, the paths that pruning keeps worked out by hand, the string and NASLib
forms written out with every refusal whole, NASLib's padding of small cells, and the benchmark's graph hash against
the same algorithm written here from its description (and the benchmark's first stored hash)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from swapnas.spaces import nb101_cell as cell
from swapnas.spaces.nb101_cell import Arch
from swapnas.spaces.nb101_net import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT

from .message_tools import refusal
from .test_nb101 import GOLDEN_HASH, GOLDEN_MATRIX, GOLDEN_OPS, INCEPTION, INCEPTION_STORED

I, C1, C3, MP, O = INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, OUTPUT
SMALL = Arch(((0, 1, 1), (0, 0, 1), (0, 0, 0)), (I, C3, O))
#: vertex 1 a dead end, vertex 2 unreachable from the input, vertex 3 on the path
DEAD = ((0, 1, 0, 1, 0), (0, 0, 0, 0, 0), (0, 0, 0, 1, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
DEAD_OPS = (I, C1, MP, C3, O)


def test_the_cell_constants() -> None:
    assert cell.OPS == (C1, C3, MP) and (cell.MAX_VERTICES, cell.MAX_EDGES, cell.PREFIX) == (7, 9, "nb101:")
    assert cell.NASLIB_OPS == (I, O, MP, C1, C3)
    assert cell.HASH_LABELS == {I: -1, O: -2, C3: 0, C1: 1, MP: 2}
    assert cell.CODES == {I: "I", O: "O", C1: "1", C3: "3", MP: "M"}
    assert cell._OP_OF_CODE == {"I": I, "O": O, "1": C1, "3": C3, "M": MP}


def test_a_matrix_is_read_as_tuples_of_0_1_ints() -> None:
    got = cell._as_matrix(np.array([[0, 1], [0, 0]]))
    assert got == ((0, 1), (0, 0)) and all(type(v) is int for row in got for v in row)
    assert cell._as_matrix([[False, True], [0.0, 0]]) == ((0, 1), (0, 0))
    for bad, shown in ((2, "2"), ("1", "'1'"), (-1, "-1"), (0.5, "0.5"), (None, "None")):
        assert refusal(ValueError, lambda: cell._as_matrix([[0, 1], [0, bad]])) == \
            f"NB101 adjacency entry [1][1] = {shown} must be 0 or 1"


@pytest.mark.parametrize(("matrix", "ops", "message"), [
    ((), (), "an NB101 cell has 2 to 7 vertices (input, up to 5 ops, output), got a 0-row matrix"),
    (((0,),), (I,), "an NB101 cell has 2 to 7 vertices (input, up to 5 ops, output), got a 1-row matrix"),
    (tuple((0,) * 8 for _ in range(8)), (I,) + (C3,) * 6 + (O,),
     "an NB101 cell has 2 to 7 vertices (input, up to 5 ops, output), got a 8-row matrix"),
    (((0, 1), (0,)), (I, O), "the NB101 adjacency matrix must be square: row 1 has 1 entries, expected 2"),
    (((0, 1, 0), (0, 1, 1), (0, 0, 0)), (I, C3, O),
     "NB101 edge 1→1 goes backwards: the matrix must be strictly upper-triangular (vertices in topological order, "
     "edges only from a lower to a higher index)"),
    (((0, 1, 1), (0, 0, 1), (1, 0, 0)), (I, C3, O),
     "NB101 edge 2→0 goes backwards: the matrix must be strictly upper-triangular (vertices in topological order, "
     "edges only from a lower to a higher index)"),
    (((0, 1), (0, 0)), (I, C3, O), "an NB101 cell with 2 vertices needs 2 ops, got 3: ['input', 'conv3x3-bn-relu', "
                                   "'output']"),
    (((0, 1), (0, 0)), (I, I), "NB101 ops must start with 'input' and end with 'output', got ['input', 'input']"),
    (((0, 1), (0, 0)), (O, O), "NB101 ops must start with 'input' and end with 'output', got ['output', 'output']"),
    (((0, 1, 1), (0, 0, 1), (0, 0, 0)), (I, O, O),
     "unknown NB101 op 'output'; valid ops between input and output: conv1x1-bn-relu, conv3x3-bn-relu, maxpool3x3"),
])
def test_a_bad_structure_is_refused_whole(matrix: tuple, ops: tuple, message: str) -> None:
    assert refusal(ValueError, lambda: cell._check_structure(matrix, ops)) == message
    assert not cell.is_valid(matrix, ops)


def test_the_vertices_on_a_path() -> None:
    assert cell._on_path(DEAD) == [0, 3, 4]
    assert cell._on_path(((0, 1), (0, 0))) == [0, 1]
    assert cell._on_path(((0, 1, 0), (0, 0, 0), (0, 0, 0))) == []  # the output unreachable
    assert cell._on_path(((0, 0, 1), (0, 0, 1), (0, 0, 0))) == [0, 2]  # 1 fed by nothing
    assert cell._on_path(((0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0))) == [0, 1, 2, 3]
    assert cell._on_path(GOLDEN_MATRIX) == list(range(7))
    assert cell._pruned(DEAD, DEAD_OPS) == (((0, 1, 0), (0, 0, 1), (0, 0, 0)), (I, C3, O))
    assert refusal(ValueError, lambda: cell._pruned(((0, 0), (0, 0)), (I, O))) == (
        "NB101 cell is invalid: the output vertex cannot be reached from the input (no input→output path); add an "
        "edge on a path from vertex 0 to the last vertex")
    assert cell._num_edges(DEAD) == 5 and cell._num_edges(GOLDEN_MATRIX) == 9


def test_a_cells_properties_and_pruning() -> None:
    raw = Arch(DEAD, DEAD_OPS)
    assert (raw.num_vertices, raw.num_edges, raw.is_pruned) == (5, 5, False)
    pruned = cell.prune(raw)
    assert pruned == Arch(((0, 1, 0), (0, 0, 1), (0, 0, 0)), (I, C3, O)) and pruned.is_pruned
    assert (pruned.num_vertices, pruned.num_edges) == (3, 2)
    assert cell.prune(([list(r) for r in DEAD], list(DEAD_OPS))) == pruned and cell.prune(pruned) == pruned
    assert refusal(ValueError, lambda: cell.prune(([[0, 1], [0, 0]], [I, C3]))) == \
        "NB101 ops must start with 'input' and end with 'output', got ['input', 'conv3x3-bn-relu']"
    assert cell.is_valid(DEAD, DEAD_OPS) and cell.is_valid([[0, 1], [0, 0]], [I, O])


def test_the_edge_limit_counts_the_pruned_cell() -> None:
    # nine edges on input→output paths and one into vertex 5, a dead end: valid; one more on a path: refused
    m = [[0] * 7 for _ in range(7)]
    for v in (1, 2, 3, 4):
        m[0][v] = m[v][6] = 1
    m[0][6] = m[1][5] = 1
    assert cell._num_edges(m) == 10 and cell.is_valid(m, [I] + [C3] * 5 + [O])
    assert Arch(m, (I,) + (C3,) * 5 + (O,)).num_edges == 10
    m[2][4] = 1
    assert refusal(ValueError, lambda: Arch(m, (I,) + (C3,) * 5 + (O,))) == \
        "NB101 allows at most 9 edges after pruning, this cell has 10: remove edges"


def test_the_string_form_written_out() -> None:
    golden = Arch(GOLDEN_MATRIX, GOLDEN_OPS)
    text = "nb101:0100110.0010000.0001001.0000010.0000010.0000001.0000000|I3M331O"
    assert cell.format_arch(golden) == text and cell.parse(text) == golden
    assert cell.format_arch(SMALL) == "nb101:011.001.000|I3O" == str(SMALL)
    assert cell.parse("  nb101:011.001.000|I3O\n") == SMALL
    assert cell.parse(cell.to_naslib(golden)) == golden  # a NASLib tuple is read too


@pytest.mark.parametrize(("text", "message"), [
    ("011.001.000|I3O", "NB101 arch '011.001.000|I3O' must look like 'nb101:<rows>|<op codes>' (e.g. "
                        "'nb101:011.001.000|I3O') or be a NASLib tuple '(0, 1, …)'"),
    ("nb101:011.001.000", "NB101 arch 'nb101:011.001.000' must have exactly one '|' between the matrix rows and the "
                          "op codes"),
    ("nb101:011|001.000|I3O", "NB101 arch 'nb101:011|001.000|I3O' must have exactly one '|' between the matrix rows "
                              "and the op codes"),
    ("nb101:011.0x1.000|I3O", "NB101 matrix row '0x1' in 'nb101:011.0x1.000|I3O' must be a string of 0/1 digits"),
    ("nb101:011..000|I3O", "NB101 matrix row '' in 'nb101:011..000|I3O' must be a string of 0/1 digits"),
    ("nb101:011.001.000|I5O", "unknown NB101 op code '5' in 'I5O' of 'nb101:011.001.000|I5O'; codes: "
                              "I=input, O=output, 1=conv1x1-bn-relu, 3=conv3x3-bn-relu, M=maxpool3x3"),
    ("nb101:011.001.010|I3O", "NB101 arch 'nb101:011.001.010|I3O': NB101 edge 2→1 goes backwards: the matrix must "
                              "be strictly upper-triangular (vertices in topological order, edges only from a lower "
                              "to a higher index)"),
])
def test_a_bad_string_is_refused_whole(text: str, message: str) -> None:
    assert refusal(ValueError, lambda: cell.parse(text)) == message


def test_a_string_that_is_not_a_string() -> None:
    assert refusal(TypeError, lambda: cell.parse(None)) == "nb101: expected an arch string, got NoneType"  # type: ignore[arg-type]
    assert refusal(TypeError, lambda: cell.parse(7)) == "nb101: expected an arch string, got int"  # type: ignore[arg-type]


def test_the_naslib_key_of_a_small_cell_is_padded_as_naslib_pads() -> None:
    # isolated 3×3 convolutions go in before the output; the output's column keeps its edges
    matrix, ops = cell._padded(SMALL)
    assert matrix == ((0, 1, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 0, 1)) + ((0,) * 7,) * 5
    assert ops == (I, C3, C3, C3, C3, C3, O)
    key = cell.to_naslib(SMALL)
    assert key == "(" + ", ".join(map(str, [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1] + [0] * 35
                                      + [0, 4, 4, 4, 4, 4, 1])) + ")"
    assert cell._padded(Arch(GOLDEN_MATRIX, GOLDEN_OPS)) == (GOLDEN_MATRIX, GOLDEN_OPS)
    assert cell.prune(cell.parse_naslib(key)) == SMALL


def test_naslib_keys_read_back() -> None:
    golden = Arch(GOLDEN_MATRIX, GOLDEN_OPS)
    values = [v for row in GOLDEN_MATRIX for v in row] + [0, 4, 2, 4, 4, 3, 1]
    assert cell.to_naslib(golden) == "(" + ", ".join(map(str, values)) + ")"
    assert cell.parse_naslib(values) == golden == cell.parse_naslib(tuple(np.array(values)))
    assert cell.parse_naslib(" ( " + " ,".join(map(str, values)) + " ) ") == golden
    assert cell.parse_naslib("(0, 1, 0, 0, 0, 1)") == Arch(((0, 1), (0, 0)), (I, O))  # n = 2: 4 + 2 entries
    assert cell._naslib_ints("(000000001, 0)") == [1, 0]


@pytest.mark.parametrize(("key", "message"), [
    ("0, 1, 0, 0, 0, 1", "NASLib NB101 key '0, 1, 0, 0, 0, 1' must be a tuple string '(0, 1, …)'"),
    ("(0, 1, 0, 0, 0, 1", "NASLib NB101 key '(0, 1, 0, 0, 0, 1' must be a tuple string '(0, 1, …)'"),
    ("(0, 1, -1, 0, 0, 1)", "NASLib NB101 key '(0, 1, -1, 0, 0, 1)': entry '-1' is not a non-negative integer "
                            "(0/1 or an op id)"),
    ("(0, 1, 0, 0, 0, 1000000000)", "NASLib NB101 key '(0, 1, 0, 0, 0, 1000000000)': entry '1000000000' is not a "
                                    "non-negative integer (0/1 or an op id)"),
    ("(0, 1, ٣, 0, 0, 1)", "NASLib NB101 key '(0, 1, ٣, 0, 0, 1)': entry '٣' is not a non-negative integer "
                           "(0/1 or an op id)"),
    ("(0, 1, 0, 0, 0)", "NASLib NB101 key '(0, 1, 0, 0, 0)' has 5 entries; expected n*n + n (n×n matrix then n op "
                        "ids), 56 for 7 vertices"),
    ("(0, 0)", "NASLib NB101 key '(0, 0)' has 2 entries; expected n*n + n (n×n matrix then n op ids), 56 for 7 "
               "vertices"),  # one vertex (1 + 1 entries) is no cell
    ([], "NASLib NB101 key [] has 0 entries; expected n*n + n (n×n matrix then n op ids), 56 for 7 vertices"),
    ("(" + ", ".join(["0"] * 72) + ")", "NASLib NB101 key '(" + ", ".join(["0"] * 72) + ")' has 72 entries; "
                                        "expected n*n + n (n×n matrix then n op ids), 56 for 7 vertices"),
    ("(0, 1, 0, 0, 0, 5)", "NASLib NB101 key '(0, 1, 0, 0, 0, 5)': op id 5 out of range; ids: 0=input, 1=output, "
                           "2=maxpool3x3, 3=conv1x1-bn-relu, 4=conv3x3-bn-relu"),
    ("(0, 1, 0, 0, 1, 1)", "NASLib NB101 key '(0, 1, 0, 0, 1, 1)': NB101 ops must start with 'input' and end with "
                           "'output', got ['output', 'output']"),
])
def test_a_bad_naslib_key_is_refused_whole(key: str | list, message: str) -> None:
    assert refusal(ValueError, lambda: cell.parse_naslib(key)) == message


def _naive_hash(matrix: tuple, ops: tuple) -> str:
    """The benchmark's fingerprint as its paper describes it, on a pruned cell given as numpy arrays."""
    m = np.array(matrix)
    n = len(ops)
    labels = {"input": -1, "output": -2, "conv3x3-bn-relu": 0, "conv1x1-bn-relu": 1, "maxpool3x3": 2}

    def md5(s: str) -> str:
        return hashlib.md5(s.encode()).hexdigest()

    h = [md5(str((int(m[v].sum()), int(m[:, v].sum()), labels[ops[v]]))) for v in range(n)]
    for _ in range(n):
        new = []
        for v in range(n):
            ins = "".join(sorted(h[u] for u in np.flatnonzero(m[:, v])))
            outs = "".join(sorted(h[w] for w in np.flatnonzero(m[v])))
            new.append(md5(ins + "|" + outs + "|" + h[v]))
        h = new
    return md5(str(sorted(h)))


def test_the_graph_hash_against_the_algorithm_and_the_benchmark() -> None:
    golden = Arch(GOLDEN_MATRIX, GOLDEN_OPS)
    assert cell.graph_hash(golden) == GOLDEN_HASH == _naive_hash(GOLDEN_MATRIX, GOLDEN_OPS) == cell.iso_key(golden)
    assert cell.graph_hash(INCEPTION) == cell.graph_hash(INCEPTION_STORED)
    for arch in (SMALL, Arch(((0, 1), (0, 0)), (I, O)), INCEPTION, Arch(((0, 1, 0), (0, 0, 1), (0, 0, 0)), (I, MP, O)),
                 Arch(((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0)), (I, C1, MP, O))):
        assert cell.graph_hash(arch) == _naive_hash(arch.matrix, arch.ops), arch
    raw = Arch(DEAD, DEAD_OPS)  # hashed as its pruned cell
    assert cell.graph_hash(raw) == _naive_hash(((0, 1, 0), (0, 0, 1), (0, 0, 0)), (I, C3, O))
