"""The registry snapshot the tests that register their own proxies rely on (tests/registry_tools.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from swapnas.proxies import get_proxy, register
from swapnas.proxies.registry import _REGISTRY, ALIASES, register_alias
from tests.registry_tools import registry_snapshot


def test_a_snapshot_removes_what_was_added_and_restores_what_was_replaced_or_removed() -> None:
    before, aliases_before = dict(_REGISTRY), dict(ALIASES)
    swap = _REGISTRY["swap"]
    with registry_snapshot():
        register("snapshot_test_added")(lambda model, batch: 1.0)
        register_alias("snapshot_test_alias", "snapshot_test_added")
        _REGISTRY["swap"] = replace(swap, version="999")
        del _REGISTRY["params"]
        assert get_proxy("snapshot_test_alias").name == "snapshot_test_added"
    assert _REGISTRY == before and ALIASES == aliases_before
    assert _REGISTRY["swap"] is swap and "snapshot_test_added" not in _REGISTRY


def test_a_snapshot_restores_the_registry_when_the_block_raises() -> None:
    before = dict(_REGISTRY)
    with pytest.raises(RuntimeError, match="inside"), registry_snapshot():
        register("snapshot_test_raises")(lambda model, batch: 1.0)
        raise RuntimeError("inside")
    assert _REGISTRY == before
    with registry_snapshot():  # the name is free again: had it stayed, this would raise "registered twice"
        register("snapshot_test_raises")(lambda model, batch: 2.0)
