"""DARTS genotype values: parsing (no eval), NASLib keys, sampling, mutation, crossover."""

from __future__ import annotations

import json
import random

import pytest

from swapnas.spaces import darts_genotype as dg

DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
    "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


def test_parse_format_round_trip() -> None:
    g = dg.parse(DARTS_V2)
    assert dg.format_genotype(g) == DARTS_V2
    assert dg.parse(str(g)) == g
    assert g.normal[7] == ("dil_conv_3x3", 2) and g.reduce_concat == (2, 3, 4, 5)
    # range() concat and double quotes, as other code writes them
    alt = DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)").replace("'", '"')
    assert dg.parse(alt) == g


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("normal=[]", "must look like 'Genotype"),
        (DARTS_V2.replace("'sep_conv_3x3', 0", "'conv_9x9', 0", 1), "'conv_9x9'"),
        (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "node 5, so its input must be in 0..4"),
        (DARTS_V2.replace("('skip_connect', 0), ('skip_connect', 0)", "('skip_connect', 0)"), "8 \\(op, input\\)"),
        (DARTS_V2.replace("normal_concat", "__import__('os').system('x') or normal_concat"), "unexpected part"),
        ("Genotype(normal=__import__('os'), reduce=[])", "cannot read normal"),
    ],
)
def test_malformed_genotypes_are_rejected_with_the_bad_part(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        dg.parse(text)


def test_naslib_keys_round_trip(small_bundle) -> None:
    keys = list(json.loads((small_bundle / "nb301" / "naslib_zc_nasbench301.json").read_text())["cifar10"])
    assert len(keys) == len(set(keys)) == 30  # the small bundle keeps NASLib's first 30 NB301 keys
    for k in keys:
        g = dg.parse_naslib(k)
        assert dg.to_naslib(g) == k
        assert dg.parse(str(g)) == g
    with pytest.raises(ValueError, match="outside 0..6"):
        dg.parse_naslib("[[(0, 7)] * 8, []]".replace("] * 8", "]"))


def test_key_ignores_the_order_of_a_nodes_two_edges() -> None:
    g = dg.parse(DARTS_V2)
    normal = list(g.normal)
    normal[0], normal[1] = normal[1], normal[0]
    swapped = dg.Genotype(tuple(normal), g.reduce)
    assert swapped != g and swapped.iso_key == g.iso_key and swapped.key == str(swapped) != g.key


def test_sample_mutate_crossover_stay_valid_and_seeded() -> None:
    a = dg.sample(random.Random(0))
    assert a == dg.sample(random.Random(0))
    rng = random.Random(1)
    for _ in range(200):
        m = dg.mutate(a, rng)  # Genotype() validates every edge
        diff = sum(x != y for x, y in zip(m.normal + m.reduce, a.normal + a.reduce))
        assert diff == 1
        for k in range(0, 8, 2):  # a node's two inputs stay distinct
            assert m.normal[k][1] != m.normal[k + 1][1] and m.reduce[k][1] != m.reduce[k + 1][1]
    b = dg.sample(random.Random(2))
    child = dg.crossover(a, b, random.Random(3))
    for k in range(0, 8, 2):
        assert child.normal[k : k + 2] in (a.normal[k : k + 2], b.normal[k : k + 2])


def test_crossover_keeps_the_first_parents_concat() -> None:
    """Regression (review, session 15): crossover fell back to the default concat (2, 3, 4, 5), so a
    user-seeded genotype with another concat changed under crossover with itself."""
    a = dg.sample(random.Random(0))
    a = dg.Genotype(a.normal, a.reduce, (2, 3), (4, 5))
    assert dg.crossover(a, a, random.Random(1)) == a
    child = dg.crossover(a, dg.sample(random.Random(2)), random.Random(3))
    assert (child.normal_concat, child.reduce_concat) == ((2, 3), (4, 5))
