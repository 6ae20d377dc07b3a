"""``swapnas.search_arch``: ``swapnas search`` as a Python function that returns the result.

The options are the command's (``swapnas search --help``), written as keywords with ``_`` for ``-``, and go
through the command's own parser: the same defaults, checks and conversions (sizes in millions, ``net`` as a dict
or ``"K=V,…"``), the same outputs in ``out`` and the same resume. Nothing is imported from the command line until
the function is called, so ``import swapnas`` stays as light as it was.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from .search import SearchResult

#: what the command's parse gives beside the options: set by search_arch's own arguments or by the parser
_NOT_OPTIONS = frozenset({"command", "func", "out", "space", "dataset"})


class _RaisingParser(argparse.ArgumentParser):
    """An argument parser whose errors raise ``ValueError`` (the command line's print usage and exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(f"swapnas.search_arch: {message}")


def _tokens(key: str, value: Any) -> list[str]:
    """One keyword as the command line's tokens: None or False leaves it out (the default), True is a bare flag,
    a mapping ``K=V,…`` (``net``, ``refine_net``), a list or tuple several values (``prior``)."""
    flag = "--" + key.replace("_", "-")
    if value is None or value is False:
        return []
    if value is True:
        return [flag]
    if isinstance(value, Mapping):
        return [flag, ",".join(f"{k}={v}" for k, v in value.items())]
    if isinstance(value, (list, tuple)):
        return [flag, *map(str, value)]
    return [flag, str(value)]


def search_arch(space: str = "nb201", dataset: str = "cifar10", *, out: str | os.PathLike,
                **options: Any) -> SearchResult:
    """Run (or resume) ``swapnas search`` and return its :class:`~swapnas.search.SearchResult`.

    ``out`` is the command's ``--out`` (``result.json``, ``state.json``, plots, ``report.md``; the score store
    ``scores.sqlite`` unless ``store=`` names another); rerunning the same call resumes from its state. ``options``
    are the command's options with ``_`` for ``-``: ``seed=1``, ``fitness="swap_reg"``, ``max_params=5.0`` (millions,
    or ``"5M"``), ``net={"C": 16}``, ``prior=(0.8, 0.5)``, ``workers=2``, ``data_dir="../shared/data"``,
    ``no_progress=True``. Bad input raises what the command reports as such (exit 2), with the same message:
    ``ValueError`` for a bad value, ``KeyError`` for an unknown proxy, ``FileNotFoundError`` for missing data; an
    unknown option raises ``TypeError``. Ctrl-C raises ``KeyboardInterrupt`` with every finished score in the store.

    Example::

        result = swapnas.search_arch("nb201", "cifar10", out="runs/s0", data_dir="../shared/data")
        result.best, result.params_m, result.extra["test_accuracy"]   # NB201: the found arch's ground truth
    """
    from .cli import build_parser  # here, not at import: the command line imports every job
    from .cli.search_command import search_run

    parser = build_parser(_RaisingParser)
    known = set(vars(parser.parse_args(["search", "--out", os.fspath(out)]))) - _NOT_OPTIONS
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"swapnas.search_arch() got unknown option(s) {', '.join(unknown)}; it takes swapnas search's "
                        f"options with _ for -: {', '.join(sorted(known))}")
    argv = ["search", "--space", space, "--dataset", dataset, "--out", os.fspath(out)]
    for key, value in options.items():
        argv += _tokens(key, value)
    return search_run(parser.parse_args(argv))[0]
