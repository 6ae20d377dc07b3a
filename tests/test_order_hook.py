"""The SWAPNAS_TEST_ORDER hook of tests/conftest.py (scripts/test_order_check.sh reorders the suite with it)."""

from __future__ import annotations

import random

import pytest

from tests.conftest import _reorder

from .message_tools import exact


def test_reverse_and_seeded_shuffle() -> None:
    items = list(range(10))
    _reorder(items, "reverse")
    assert items == list(range(9, -1, -1))
    items, expected = list(range(10)), list(range(10))
    random.Random(7).shuffle(expected)
    _reorder(items, "shuffle:7")
    assert items == expected and sorted(items) == list(range(10)) and items != list(range(10))


@pytest.mark.parametrize("order", ["backwards", "shuffle:", "shuffle:x", "shuffle:-1"])
def test_an_unknown_order_is_refused_by_name(order: str) -> None:
    with pytest.raises(pytest.UsageError, match=exact(f"SWAPNAS_TEST_ORDER={order!r}: give 'reverse' or "
                                                      "'shuffle:SEED' (e.g. shuffle:1)")):
        _reorder([1, 2], order)
