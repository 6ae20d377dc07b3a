"""DARTS genotypes beyond ``Genotype``'s methods (session 38): the cell check, the canonical form, the string and
NASLib forms with every refusal whole, and the draws of sampling, mutation and crossover against the same draws made
here (``swapnas.spaces.darts_genotype``; its mutation run, session 48)."""

from __future__ import annotations

import random
import warnings

import pytest

from swapnas.spaces import darts_genotype as dg

from .message_tools import refusal
from .test_darts_genotype import DARTS_V2

OPS_LIST = ("none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, "
            "dil_conv_5x5")
V2 = dg.parse(DARTS_V2)
V2_NASLIB = ("[[(0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)], "
             "[(0, 0), (1, 0), (2, 2), (1, 0), (0, 0), (2, 2), (2, 2), (1, 0)]]")


def test_the_modules_constants() -> None:
    assert dg.OPS == ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                      "dil_conv_3x3", "dil_conv_5x5")
    assert dg.NASLIB_OPS == dg.OPS[1:] and (dg.EDGES_PER_CELL, dg.DEFAULT_CONCAT) == (8, (2, 3, 4, 5))


@pytest.mark.parametrize(("edit", "message"), [
    ({7: ("skip_connect", 0, 1)}, "DARTS normal edge 7 must be an (op, input) pair, got ('skip_connect', 0, 1)"),
    ({3: ["skip_connect", 0]}, "DARTS normal edge 3 must be an (op, input) pair, got ['skip_connect', 0]"),
    ({2: ("conv", 0)}, f"unknown DARTS op 'conv' in normal edge 2; valid ops: {OPS_LIST}"),
    ({0: ("skip_connect", 2)}, "DARTS normal edge 0 ('skip_connect', 2) belongs to node 2, so its input must be in "
                               "0..1"),
    ({1: ("skip_connect", -1)}, "DARTS normal edge 1 ('skip_connect', -1) belongs to node 2, so its input must be in "
                                "0..1"),
    ({5: ("skip_connect", 4)}, "DARTS normal edge 5 ('skip_connect', 4) belongs to node 4, so its input must be in "
                               "0..3"),
    ({7: ("skip_connect", 5)}, "DARTS normal edge 7 ('skip_connect', 5) belongs to node 5, so its input must be in "
                               "0..4"),
    ({4: ("skip_connect", True)}, "DARTS normal edge 4 ('skip_connect', True) belongs to node 4, so its input must be "
                                  "in 0..3"),
    ({6: ("skip_connect", 1.0)}, "DARTS normal edge 6 ('skip_connect', 1.0) belongs to node 5, so its input must be "
                                 "in 0..4"),
])
def test_a_bad_edge_is_refused_whole(edit: dict, message: str) -> None:
    cell = list(V2.normal)
    for i, edge in edit.items():
        cell[i] = edge
    assert refusal(ValueError, lambda: dg._check_cell(tuple(cell), "normal")) == message


def test_every_edge_may_take_every_input_its_node_has() -> None:
    for i in range(8):
        for src in range(i // 2 + 2):
            cell = list(V2.reduce)
            cell[i] = ("none", src)
            dg._check_cell(tuple(cell), "reduce")
    assert refusal(ValueError, lambda: dg._check_cell(V2.normal[:7], "reduce")) == \
        f"a DARTS reduce cell has 8 (op, input) edges, got 7: {V2.normal[:7]}"


def test_the_canonical_form_sorts_each_nodes_edges_by_input_then_op() -> None:
    normal = (("skip_connect", 1), ("sep_conv_3x3", 0), ("max_pool_3x3", 2), ("avg_pool_3x3", 2),
              ("none", 3), ("none", 0), ("dil_conv_5x5", 4), ("dil_conv_3x3", 4))
    g = dg.Genotype(normal, V2.reduce, (2, 5), (3,))
    c = dg.canonical(g)
    assert c.normal == (("sep_conv_3x3", 0), ("skip_connect", 1), ("avg_pool_3x3", 2), ("max_pool_3x3", 2),
                        ("none", 0), ("none", 3), ("dil_conv_3x3", 4), ("dil_conv_5x5", 4))
    assert c.reduce == (("max_pool_3x3", 0), ("max_pool_3x3", 1), ("max_pool_3x3", 1), ("skip_connect", 2),
                        ("max_pool_3x3", 0), ("skip_connect", 2), ("max_pool_3x3", 1), ("skip_connect", 2))
    assert (c.normal_concat, c.reduce_concat) == ((2, 5), (3,))
    # the input first, then the op: an op that sorts first from the higher input comes second
    flipped = (("skip_connect", 0), ("avg_pool_3x3", 1)) + V2.normal[2:]
    assert dg.canonical(dg.Genotype(flipped, flipped)).normal[:2] == (("skip_connect", 0), ("avg_pool_3x3", 1))
    assert dg.canonical(dg.Genotype(flipped[1::-1] + flipped[2:], V2.reduce)).normal[:2] == \
        (("skip_connect", 0), ("avg_pool_3x3", 1))


def test_the_string_form_written_out() -> None:
    assert dg.format_genotype(V2) == DARTS_V2 == str(V2)
    g = dg.Genotype(V2.normal, V2.reduce, (5, 2), (3,))
    assert dg.format_genotype(g).endswith("normal_concat=[5, 2], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), "
                                          "('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
                                          "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
                                          "reduce_concat=[3])")
    assert dg.parse(dg.format_genotype(g)) == g


def test_literals_are_read_without_running_code() -> None:
    assert dg._literal("range(2, 6)", "x", "s") == [2, 3, 4, 5] == dg._literal("range(2,6)", "x", "s")
    assert dg._literal("range( 3 , 5 )", "x", "s") == [3, 4] and dg._literal("range(99, 99)", "x", "s") == []
    assert dg._literal("[('a', 1)]", "x", "s") == [("a", 1)] and dg._literal("(2, 3)", "x", "s") == (2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a user's '\o' must not reach them as a SyntaxWarning
        assert dg._literal("['\\o']", "x", "s") == ["\\o"]
    for text in ("range(2, 600)", "{[]}", "__import__('os')", "[" * 2000 + "]" * 2000, "[1,"):
        assert refusal(ValueError, lambda: dg._literal(text, "normal", "SRC")) == \
            f"cannot read normal {text!r} in 'SRC'"


def test_fields_are_split_at_top_level_commas() -> None:
    assert dg._split_fields("normal=[(1, 2), (3, 4)], reduce = [1], ", "s") == \
        {"normal": "[(1, 2), (3, 4)]", "reduce": "[1]"}
    assert dg._split_fields(" normal_concat=range(2, 6),reduce_concat=[2] ", "s") == \
        {"normal_concat": "range(2, 6)", "reduce_concat": "[2]"}
    assert dg._split_fields("", "s") == {}
    assert dg._split_fields("normal=[('X', 1)], reduce=[2]", "s") == {"normal": "[('X', 1)]", "reduce": "[2]"}
    assert refusal(ValueError, lambda: dg._split_fields("normal=[1], other=2", "SRC")) == \
        "unexpected part 'other=2' in DARTS genotype 'SRC'; expected normal=, normal_concat=, reduce=, reduce_concat="
    assert refusal(ValueError, lambda: dg._split_fields("reduce=[1], reduce =[2]", "SRC")) == \
        "field 'reduce' given twice in 'SRC'"


def _v2(**replace: str) -> str:
    text = DARTS_V2
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(("text", "message"), [
    ("normal=[]", "DARTS genotype 'normal=[]' must look like 'Genotype(normal=[...], ...)'"),
    ("Genotype(normal=[]", "DARTS genotype 'Genotype(normal=[]' must look like 'Genotype(normal=[...], ...)'"),
    ("Genotype(reduce=[])", "DARTS genotype 'Genotype(reduce=[])' has no normal= field"),
    ("Genotype(normal=[])", "DARTS genotype 'Genotype(normal=[])' has no reduce= field"),
    ("Genotype(normal=(('a', 1),), reduce=[])",
     "normal in \"Genotype(normal=(('a', 1),), reduce=[])\" must be a list of (op, input) tuples"),
    ("Genotype(normal=[], reduce=[['a', 1]])", "reduce in \"Genotype(normal=[], reduce=[['a', 1]])\" must be a list of "
                                               "(op, input) tuples"),
    ("Genotype(normal=[], reduce=[], normal_concat=5)",
     "normal_concat in 'Genotype(normal=[], reduce=[], normal_concat=5)' must be a list of node numbers"),
    ("Genotype(normal=[], reduce=[], reduce_concat='2345')",
     "reduce_concat in \"Genotype(normal=[], reduce=[], reduce_concat='2345')\" must be a list of node numbers"),
    ("Genotype(normal=[], reduce=[])", "DARTS genotype 'Genotype(normal=[], reduce=[])': a DARTS normal cell has 8 "
                                       "(op, input) edges, got 0: ()"),
    ("Genotype(normal=[], other=[])", "unexpected part 'other=[]' in DARTS genotype 'Genotype(normal=[], other=[])'; "
                                      "expected normal=, normal_concat=, reduce=, reduce_concat="),
    ("Genotype(normal={[]}, reduce=[])", "cannot read normal '{[]}' in 'Genotype(normal={[]}, reduce=[])'"),
    ("Genotype(normal=[], reduce=[], reduce_concat={[]})",
     "cannot read reduce_concat '{[]}' in 'Genotype(normal=[], reduce=[], reduce_concat={[]})'"),
])
def test_a_bad_string_is_refused_whole(text: str, message: str) -> None:
    assert refusal(ValueError, lambda: dg.parse(text)) == message


def test_parsing_takes_default_and_tuple_concats() -> None:
    bare = _v2(**{", normal_concat=[2, 3, 4, 5]": "", ", reduce_concat=[2, 3, 4, 5]": ""})
    assert dg.parse(bare) == V2 and dg.parse(f"  {DARTS_V2}\n") == V2
    g = dg.parse(_v2(**{"normal_concat=[2, 3, 4, 5]": "normal_concat=(5, 2)", "reduce_concat=[2, 3, 4, 5]":
                        "reduce_concat=range(3, 5)"}))
    assert (g.normal_concat, g.reduce_concat) == ((5, 2), (3, 4))
    assert refusal(TypeError, lambda: dg.parse(7)) == "darts: expected an arch (genotype) string, got int"  # type: ignore[arg-type]


def test_the_naslib_key_written_out_and_read_back() -> None:
    assert dg.to_naslib(V2) == V2_NASLIB and dg.parse_naslib(V2_NASLIB) == V2
    assert dg.parse_naslib(f"  {V2_NASLIB}\n") == V2
    with_none = dg.Genotype((("none", 0),) + V2.normal[1:], V2.reduce)
    assert refusal(ValueError, lambda: dg.to_naslib(with_none)) == "NASLib's NB301 keys have no 'none' op"
    for concats in (((2, 3), (2, 3, 4, 5)), ((2, 3, 4, 5), (5,))):
        g = dg.Genotype(V2.normal, V2.reduce, *concats)
        assert refusal(ValueError, lambda: dg.to_naslib(g)) == (
            "NASLib's NB301 keys concatenate every intermediate node (2, 3, 4, 5); this genotype concatenates "
            f"{concats[0]} / {concats[1]}, which the key cannot hold")


_EDGES = "(0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)"


@pytest.mark.parametrize(("key", "message"), [
    (f"[[{_EDGES}]]", f"NASLib NB301 key '[[{_EDGES}]]' must be [[normal edges], [reduce edges]]"),
    (f"[[{_EDGES}], ({_EDGES})]", f"NASLib NB301 key '[[{_EDGES}], ({_EDGES})]' must be [[normal edges], [reduce "
                                  "edges]]"),
    (f"([{_EDGES}], [{_EDGES}])", f"NASLib NB301 key '([{_EDGES}], [{_EDGES}])' must be [[normal edges], [reduce "
                                  "edges]]"),
    (f"[[{_EDGES}], [{_EDGES}], []]", f"NASLib NB301 key '[[{_EDGES}], [{_EDGES}], []]' must be [[normal edges], "
                                      "[reduce edges]]"),
    ("[[(0, 3, 1)], []]", "NASLib edge (0, 3, 1) in '[[(0, 3, 1)], []]' must be (input, op_index)"),
    ("[[[0, 3]], []]", "NASLib edge [0, 3] in '[[[0, 3]], []]' must be (input, op_index)"),
    ("[[(True, 3)], []]", "NASLib edge (True, 3) in '[[(True, 3)], []]' must be (input, op_index)"),
    ("[[(0, 'a')], []]", "NASLib edge (0, 'a') in \"[[(0, 'a')], []]\" must be (input, op_index)"),
    ("[[(0, 7)], []]", "NASLib op index 7 in '[[(0, 7)], []]' is outside 0..6"),
    ("[[(0, -1)], []]", "NASLib op index -1 in '[[(0, -1)], []]' is outside 0..6"),
    (f"[[{_EDGES}], [(0, 6)]]", f"NASLib NB301 key '[[{_EDGES}], [(0, 6)]]': a DARTS reduce cell has 8 (op, input) "
                                "edges, got 1: (('dil_conv_5x5', 0),)"),
    ("[[(0, 1)", "cannot read NASLib key '[[(0, 1)' in '[[(0, 1)'"),
])
def test_a_bad_naslib_key_is_refused_whole(key: str, message: str) -> None:
    assert refusal(ValueError, lambda: dg.parse_naslib(key)) == message


def _my_cell(rng: random.Random) -> tuple:
    edges = []
    for k in range(4):
        for src in rng.sample(range(k + 2), 2):
            edges.append((rng.choice(dg.OPS[1:]), src))
    return tuple(edges)


def test_sampling_against_the_same_draws() -> None:
    for seed in range(20):
        mine, rng = random.Random(seed), random.Random(seed)
        assert dg._random_cell(rng) == _my_cell(mine) and rng.random() == mine.random()
        mine, rng = random.Random(seed), random.Random(seed)
        want = dg.Genotype(_my_cell(mine), _my_cell(mine))
        assert dg.sample(rng) == want and rng.random() == mine.random()
    cells = [dg._random_cell(random.Random(s)) for s in range(300)]
    assert {op for c in cells for op, _ in c} == set(dg.OPS[1:])
    assert {(i, src) for c in cells for i, (_, src) in enumerate(c)} == {(i, s) for i in range(8)
                                                                          for s in range(i // 2 + 2)}
    assert all(c[k][1] != c[k + 1][1] for c in cells for k in range(0, 8, 2))


def _my_mutation(g: dg.Genotype, rng: random.Random) -> dg.Genotype:
    which = rng.choice(("normal", "reduce"))
    cell = list(g.normal if which == "normal" else g.reduce)
    i = rng.randrange(8)
    op, src = cell[i]
    sibling = cell[i + 1 if i % 2 == 0 else i - 1][1]
    inputs = [s for s in range(i // 2 + 2) if s != src and s != sibling]
    if inputs and rng.random() < 0.5:
        cell[i] = (op, rng.choice(inputs))
    else:
        cell[i] = (rng.choice([o for o in dg.OPS[1:] if o != op]), src)
    if which == "normal":
        return dg.Genotype(tuple(cell), g.reduce, g.normal_concat, g.reduce_concat)
    return dg.Genotype(g.normal, tuple(cell), g.normal_concat, g.reduce_concat)


def test_mutation_against_the_same_draws() -> None:
    parents = [V2, dg.Genotype(V2.normal, V2.reduce, (2, 5), (3, 4))] + [dg.sample(random.Random(s)) for s in range(5)]
    for seed in range(200):
        g = parents[seed % len(parents)]
        mine, rng = random.Random(seed), random.Random(seed)
        child = dg.mutate(g, rng)
        assert child == _my_mutation(g, mine) and rng.random() == mine.random()
        assert (child.normal_concat, child.reduce_concat) == (g.normal_concat, g.reduce_concat)
        diffs = [(a, b) for a, b in zip(g.normal + g.reduce, child.normal + child.reduce) if a != b]
        assert len(diffs) == 1 and (diffs[0][0][0] == diffs[0][1][0]) != (diffs[0][0][1] == diffs[0][1][1])


def test_crossover_against_the_same_draws() -> None:
    other = dg.Genotype(dg.sample(random.Random(9)).normal, dg.sample(random.Random(10)).reduce, (3,), (2, 4))
    for seed in range(30):
        mine, rng = random.Random(seed), random.Random(seed)
        cells = []
        for x, y in ((V2.normal, other.normal), (V2.reduce, other.reduce)):
            out: list = []
            for k in range(0, 8, 2):
                out.extend((x if mine.random() < 0.5 else y)[k:k + 2])
            cells.append(tuple(out))
        want = dg.Genotype(cells[0], cells[1], V2.normal_concat, V2.reduce_concat)
        assert dg.crossover(V2, other, rng) == want and rng.random() == mine.random()
    child = dg.crossover(other, V2, random.Random(0))
    assert (child.normal_concat, child.reduce_concat) == ((3,), (2, 4))
    assert dg.crossover(V2, V2, random.Random(0)) == V2
