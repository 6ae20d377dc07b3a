"""scripts/darts_cell_shape.py (docs/generated/dev/darts_cell_shape.md): cell-shape features counted by hand."""

from __future__ import annotations

from types import ModuleType

import numpy as np
from scipy import stats

from tests.script_tools import load_script


def _script() -> ModuleType:
    return load_script("darts_cell_shape")


NORMAL = ("[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 2), "
          "('skip_connect', 0), ('none', 1), ('dil_conv_3x3', 3), ('max_pool_3x3', 4)]")
REDUCE = ("[('skip_connect', 0), ('skip_connect', 1), ('skip_connect', 2), ('skip_connect', 1), "
          "('skip_connect', 3), ('avg_pool_3x3', 1), ('skip_connect', 4), ('skip_connect', 0)]")


def _genotype(normal: str, reduce: str) -> str:
    return f"Genotype(normal={normal}, normal_concat=[2, 3, 4, 5], reduce={reduce}, reduce_concat=[2, 3, 4, 5])"


def test_cell_shape_matches_a_hand_count_of_the_normal_cell_only() -> None:
    # by hand: node 2 = sep(0), sep(1): depth 1, conv depth 1; node 3 = skip(0), sep(2): 2, 2; node 4 = skip(0) and
    # a none edge: 1, 0; node 5 = dil(3), pool(4): 3, 3. Edges leaving nodes >= 2: sep(2), dil(3), pool(4)
    shape = _script().cell_shape(_genotype(NORMAL, REDUCE))
    assert shape == {"convs": 4, "skips": 2, "pools": 1, "nones": 1, "depth": 3, "conv_depth": 3, "from_nodes": 3}
    # the reduce cell (a chain of 4 skips through nodes 2-5) is not read: as the normal cell it gives other features
    swapped = _script().cell_shape(_genotype(REDUCE, NORMAL))
    assert swapped == {"convs": 0, "skips": 7, "pools": 1, "nones": 0, "depth": 4, "conv_depth": 0, "from_nodes": 3}


def test_a_node_with_only_none_edges_has_depth_zero_and_breaks_the_chain() -> None:
    edges = (("sep_conv_3x3", 0), ("none", 1), ("none", 2), ("none", 0),
             ("skip_connect", 3), ("none", 0), ("dil_conv_5x5", 4), ("none", 0))
    script = _script()
    # node 3 has no live edge (depth 0), so node 4 = skip(3) is 1 and node 5 = dil(4) is 2; conv depth: 1, 0, 0, 1
    assert script.chain_depth(edges, None) == 2
    assert script.chain_depth(edges, script.CONVS) == 1


def test_a_feature_constant_on_one_set_adds_nothing_there_instead_of_a_nan_that_min_ignores() -> None:
    # found on the first run: NB301 has no `none` edge, its z-ranks were NaN, ρ NaN, and min(0.7, nan) = 0.7 read the
    # NaN set as no constraint; now the constant feature leaves that set's ρ at the fitness's own
    script = _script()
    rng = np.random.default_rng(0)
    acc = rng.normal(size=50)
    fit = acc + rng.normal(size=50)
    vary = (acc > 0).astype(float)
    sets = [(acc, fit, vary), (acc, fit, np.zeros(50))]
    own = float(stats.spearmanr(fit, acc)[0])
    with_vary = float(stats.spearmanr(script.zrank(fit) + 0.5 * script.zrank(vary), acc)[0])
    assert script.worst(sets, 0.5) == min(with_vary, own)
    assert np.isnan(script.rho(np.zeros(50), acc))
