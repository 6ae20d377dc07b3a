"""Search spaces. Each space module exposes parse, format_arch, sample, mutate, iso_key and build."""

from __future__ import annotations

from types import ModuleType

from . import darts, nb201

SPACES: dict[str, ModuleType] = {"nb201": nb201, "darts": darts}


def get_space(name: str) -> ModuleType:
    try:
        return SPACES[name]
    except KeyError:
        raise ValueError(f"unknown space {name!r}; available: {', '.join(SPACES)}") from None


__all__ = ["SPACES", "darts", "get_space", "nb201"]
