"""Tests written against the survivors of session 38's mutation run of ``Genotype``'s methods
(``swapnas.spaces.darts_genotype``; docs/reliability.md, "Session 38"): each refusal of a bad genotype compared
whole, naming the cell or the concat list at fault, and the concat lists' bounds (empty, a node beyond 5, a
non-integer).
"""

from __future__ import annotations

import pytest

from swapnas.spaces.darts_genotype import Genotype

from .message_tools import exact

GOOD = (("sep_conv_3x3", 0), ("skip_connect", 1)) * 4


@pytest.mark.parametrize(("fields", "message"), [
    ({"normal": "cells"}, "a DARTS Genotype: normal must be a tuple or list, got str 'cells'"),
    ({"reduce_concat": 5}, "a DARTS Genotype: reduce_concat must be a tuple or list, got int 5"),
    ({"normal": GOOD[:7]}, f"a DARTS normal cell has 8 (op, input) edges, got 7: {GOOD[:7]}"),
    ({"reduce": GOOD[:6] + (("conv_7x7", 0), ("skip_connect", 1))},
     "unknown DARTS op 'conv_7x7' in reduce edge 6; valid ops: none, max_pool_3x3, avg_pool_3x3, skip_connect, "
     "sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5"),
    ({"normal_concat": ()}, "normal_concat must list intermediate nodes in 2..5, got ()"),
    ({"reduce_concat": (2, 3, 6)}, "reduce_concat must list intermediate nodes in 2..5, got (2, 3, 6)"),
    ({"normal_concat": (2, 3, 7)}, "normal_concat must list intermediate nodes in 2..5, got (2, 3, 7)"),
    ({"reduce_concat": (2, "3")}, "reduce_concat must list intermediate nodes in 2..5, got (2, '3')"),
])
def test_a_bad_genotype_is_refused_whole(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=exact(message)):
        Genotype(**{"normal": GOOD, "reduce": GOOD, **fields})


def test_every_node_2_to_5_may_be_concatenated() -> None:
    g = Genotype(GOOD, GOOD, [5, 2], range(2, 6))
    assert (g.normal_concat, g.reduce_concat) == ((5, 2), (2, 3, 4, 5))
