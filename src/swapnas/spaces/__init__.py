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
import inspect
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from ..errors import listed
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
    for base in protocol.__mro__:  # the protocol itself first: its annotated members (NAME, …) are not in dir()
        names += [n for n in getattr(base, "__annotations__", {}) if n not in names and not n.startswith("_")]
    return sorted(n for n in set(names) if not hasattr(module, n))


class SpaceError(ValueError, TypeError):
    """A registered space that cannot be used: its module does not import, or lacks a member (a ValueError, so
    the CLI prints it and exits 2; a TypeError too, as it was)."""


def get_space(name: str) -> ModuleType:
    """The module of space ``name``; it must have every member of :class:`Space`."""
    try:
        path = SPACES[name]
    except KeyError:
        raise ValueError(f"unknown space {name!r}; available: {', '.join(SPACES)}") from None
    try:
        module = importlib.import_module(path)
    except Exception as exc:  # a wrong path, or any error while the module runs (NameError, SyntaxError, …)
        raise SpaceError(f"space {name!r} is registered as {path!r}, which cannot be imported "
                         f"({type(exc).__name__}: {exc}); fix its line in swapnas.spaces.SPACES or the module") from exc
    if not isinstance(module, Space):
        raise SpaceError(f"space {name!r} ({path}) lacks {', '.join(missing_members(module, Space))} "
                         "(see swapnas.spaces.protocol.Space)")
    if module.NAME != name:  # the store keys and reports use the registry's name, the module's own code its NAME
        raise SpaceError(f"space {name!r} ({path}) has NAME {module.NAME!r}: its line in swapnas.spaces.SPACES must "
                         f"use the same name ({module.NAME!r}: {path!r})")
    _check_defaults(name, path, module)
    return module


def _check_defaults(name: str, path: str, module: ModuleType) -> None:
    """SpaceError where ``SCORING_DEFAULTS`` lacks a key every job reads, or its ``net`` names an option ``build``
    does not take (session 53: a newcomer's space met a KeyError traceback in the middle of a run, or every arch
    stored as a failure)."""
    defaults = module.SCORING_DEFAULTS
    where = f"space {name!r} ({path}): SCORING_DEFAULTS"
    missing = [k for k in ("net", "batch_size", "repeats") if not isinstance(defaults, Mapping) or k not in defaults]
    if missing:
        raise SpaceError(f"{where} lacks {', '.join(map(repr, missing))}: it holds the scored network's build options, "
                         "the batch size and the repeats per arch, e.g. {'net': {}, 'batch_size': 16, 'repeats': 1}")
    if not isinstance(defaults["net"], Mapping):
        raise SpaceError(f"{where}['net'] is {defaults['net']!r}: it takes the scored network's build options as a "
                         "dict, e.g. {'C': 16} ({} for none)")
    takes = inspect.signature(module.build).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in takes.values()):
        if unknown := [k for k in defaults["net"] if k not in takes]:
            raise SpaceError(f"{where}['net'] has {', '.join(map(repr, unknown))}, which its build() does not take "
                             f"(it takes {', '.join(list(takes)[1:]) or 'the arch alone'})")


def searchable_spaces() -> list[str]:
    """The registered spaces ``swapnas search`` runs on (those that are a :class:`SearchableSpace`); a space
    that cannot be imported is left out here (:func:`get_space` and :func:`searchable_space` say why)."""
    out = []
    for name in SPACES:
        try:
            if isinstance(get_space(name), SearchableSpace):
                out.append(name)
        except SpaceError:
            pass
    return out


def searchable_space(name: str) -> ModuleType:
    """The module of space ``name`` if ``swapnas search`` runs on it, else a :class:`SpaceError` naming what it
    lacks."""
    module = get_space(name)
    if not isinstance(module, SearchableSpace):
        missing = missing_members(module, SearchableSpace)
        plain = {"FINAL_NETS": "final networks", "cell_edges": "cell drawing", "crossover": "crossover"}
        words = [plain.get(m, m) for m in missing]
        raise SpaceError(f"space {name!r} cannot be searched: it defines no "
                         f"{listed(words, 'or')} (it lacks "
                         f"{', '.join(missing)}: see swapnas.spaces.protocol.SearchableSpace); its archs can be scored "
                         "and correlated; searchable: " + ", ".join(searchable_spaces()))
    return module


def net_options(module: ModuleType) -> list[str]:
    """The options (``--net`` keys) of a space's network: its ``build``'s parameters but the arch and class count, and
    the task where the space has tasks (``TASKS``: --dataset's; the review of session 69)."""
    fixed = ("arch", "genotype", "num_classes", *(("task",) if hasattr(module, "TASKS") else ()))
    return [n for n in inspect.signature(module.build).parameters if n not in fixed]


def net_version(name: str) -> str:
    """The version of space ``name``'s networks: its module's optional ``NET_VERSION`` (default "1"). A space that
    changes what its networks compute raises it, so that scores stored for the old networks are not reused
    (:class:`~swapnas.scoring.Protocol` puts a version other than "1" into the protocol's fingerprint)."""
    return str(getattr(get_space(name), "NET_VERSION", "1"))


def own_fitness(name: str) -> str | None:
    """The fitness space ``name`` recommends: its module's optional ``FITNESS_PROTOCOL["proxy"]`` (None where it names
    none: its ``best`` is then the registry's alias, chosen on no data of its own)."""
    return getattr(get_space(name), "FITNESS_PROTOCOL", {}).get("proxy")


def map_rows(name: str, task: str) -> int:
    """How many rows a hooked map holds per input sample on space ``name``'s ``task`` networks: the module's optional
    ``MAP_ROWS_PER_SAMPLE`` (TransNAS jigsaw: 9 tiles), else 1 (an unregistered space too)."""
    return int(getattr(get_space(name), "MAP_ROWS_PER_SAMPLE", {}).get(task, 1)) if name in SPACES else 1


def arch_reader(module: ModuleType) -> Callable[[str], Any]:
    """The space's ``parse``, falling back to its ``parse_naslib`` (NASLib's keys, e.g. a DARTS genotype's NB301 key,
    as ``zc_nasbench301.json`` and ``swapnas export --format naslib-zc`` write it) where it has one and the text is not
    of its own form; where neither reads it, the key's error for a text shaped like one (a tuple or list), else the
    own form's (session 64: a --truth CSV keyed as NASLib's file held "no darts archs", though the benchmark's lookups
    read those keys)."""
    naslib = getattr(module, "parse_naslib", None)
    if naslib is None:
        return module.parse

    def read(text: str) -> Any:
        try:
            return module.parse(text)
        except (ValueError, KeyError, TypeError, SyntaxError) as exc:
            try:
                return naslib(text)
            except (ValueError, KeyError, TypeError, SyntaxError) as other:  # a key's error where it looks like one:
                # NASLib's keys are tuples and lists, no own form is one (a CSV's short row gives None: not a key)
                if isinstance(text, str) and text.lstrip().startswith(("(", "[")):
                    raise ValueError(f"not an arch of its own form, and as NASLib's key: {other}") from None
                raise exc from None

    return read


def network_modules(name: str) -> list[ModuleType]:
    """The modules whose code builds space ``name``'s networks, as far as can be seen without building one: the
    space's module and every module of its package that it reaches through its names (imported classes, functions
    and modules), transitively, ordered by name, without :mod:`swapnas.spaces.protocol` (the protocol every space
    module imports, which builds nothing); :class:`~swapnas.proxies.code.NetworkCodeWarning` digests them."""
    root = get_space(name)
    package = root.__name__.rpartition(".")[0]
    seen: dict[str, ModuleType] = {}
    todo = [root]
    while todo:
        module = todo.pop()
        if module.__name__ in seen:
            continue
        seen[module.__name__] = module
        for value in vars(module).values():
            home = value if inspect.ismodule(value) else sys.modules.get(getattr(value, "__module__", None) or "")
            if (home is not None and home.__name__.startswith(package + ".") and home.__name__ not in seen
                    and home.__name__ != __name__ + ".protocol"):
                todo.append(home)
    return [seen[k] for k in sorted(seen)]


__all__ = ["SPACES", "SearchableSpace", "Space", "SpaceError", "arch_reader", "darts", "get_space", "map_rows",
           "missing_members", "nb201", "net_version", "network_modules", "own_fitness", "searchable_space",
           "searchable_spaces"]
