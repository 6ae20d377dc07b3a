"""Search spaces: the registry ``SPACES`` and :func:`get_space`.

Each space is a module with the members of :class:`~swapnas.spaces.protocol.Space`
(``NAME``, ``SCORING_DEFAULTS``, ``parse``, ``format_arch``, ``sample``, ``mutate``,
``iso_key``, ``build``, ``param_range_k``, ``default_size_prior``); a space that
``swapnas search`` runs on also has those of :class:`~swapnas.spaces.protocol.SearchableSpace`
(``crossover``, ``cell_edges``, ``FINAL_NETS``). To add a space, write such a module and add
one line to ``SPACES``: ``"name": "package.module"``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from . import darts, nb201
from .protocol import SearchableSpace, Space

#: space name → the module that implements it (imported on first use)
SPACES: dict[str, str] = {
    "nb101": "swapnas.spaces.nb101",
    "nb201": "swapnas.spaces.nb201",
    "darts": "swapnas.spaces.darts",
    "transnas_micro": "swapnas.spaces.transnas_micro",
    "transnas_macro": "swapnas.spaces.transnas_macro",
    "flexibert": "swapnas.spaces.flexibert",
}


def missing_members(module: object, protocol: type) -> list[str]:
    """The members of ``protocol`` (:class:`Space` or :class:`SearchableSpace`) that ``module`` lacks."""
    names = [n for n in dir(protocol) if not n.startswith("_")]
    names += [n for n in getattr(protocol, "__annotations__", {}) if n not in names]
    for base in protocol.__mro__:
        names += [n for n in getattr(base, "__annotations__", {}) if n not in names and not n.startswith("_")]
    return sorted(n for n in set(names) if not hasattr(module, n))


def get_space(name: str) -> ModuleType:
    """The module of space ``name``; it must have every member of :class:`Space`."""
    try:
        path = SPACES[name]
    except KeyError:
        raise ValueError(f"unknown space {name!r}; available: {', '.join(SPACES)}") from None
    module = importlib.import_module(path)
    if not isinstance(module, Space):
        raise TypeError(f"space {name!r} ({path}) lacks {', '.join(missing_members(module, Space))} "
                        "(see swapnas.spaces.protocol.Space)")
    return module


def searchable_spaces() -> list[str]:
    """The registered spaces ``swapnas search`` runs on (those that are a :class:`SearchableSpace`)."""
    return [name for name in SPACES if isinstance(get_space(name), SearchableSpace)]


__all__ = ["SPACES", "SearchableSpace", "Space", "darts", "get_space", "missing_members", "nb201", "searchable_spaces"]
