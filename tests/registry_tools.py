"""Tests that register proxies of their own: the registry is put back exactly as it was afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from swapnas.proxies.registry import _REGISTRY, ALIASES


@contextmanager
def registry_snapshot() -> Iterator[None]:
    """Within the block, register or replace proxies and aliases freely; on leaving it (also on an error),
    the registry and the aliases hold exactly what they held on entering: names added are gone, names
    replaced or removed are back."""
    saved, saved_aliases = dict(_REGISTRY), dict(ALIASES)
    try:
        yield
    finally:
        _REGISTRY.clear()
        _REGISTRY.update(saved)
        ALIASES.clear()
        ALIASES.update(saved_aliases)
