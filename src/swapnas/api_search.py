"""``swapnas.search_arch``: ``swapnas search`` as a Python function that returns the result.

The options are the command's (``swapnas search --help``), written as keywords with ``_`` for ``-``, and go
through the command's own parser: the same defaults, checks and conversions (sizes in millions, ``net`` as a dict
or ``"K=V,…"``), the same outputs in ``out`` and the same resume. Nothing is imported from the command line until
the function is called, so ``import swapnas`` stays as light as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import multiprocessing
import os
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import torch

if TYPE_CHECKING:
    from .search import SearchResult

#: what the command's parse gives beside the options: set by search_arch's own arguments or by the parser
_NOT_OPTIONS = frozenset({"command", "func", "out", "space", "dataset"})


class _RaisingParser(argparse.ArgumentParser):
    """An argument parser whose errors raise ``ValueError`` (the command line's print usage and exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(f"swapnas.search_arch: {message}")


def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Every option of ``swapnas search`` by its flag: the search subcommand's and the global ones."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {**parser._option_string_actions, **sub.choices["search"]._option_string_actions}


def _tokens(actions: dict[str, argparse.Action], key: str, value: Any) -> list[str]:
    """One keyword as the command line's tokens. A flag (``no_progress``) takes True (given) or False (left out);
    an option with a value takes None (its default) or a value: a mapping as ``K=V,…`` (``net``, ``refine_net``),
    a list or tuple as several values (``prior``), anything else as ``--flag=value`` (so a value that starts with
    ``-`` is not read as an option). A bool for an option with a value, or a non-bool for a flag, raises
    ``TypeError`` naming the option (``refine=False`` would otherwise leave the default second stage on)."""
    flag = "--" + key.replace("_", "-")
    action = actions[flag]
    if action.nargs == 0:  # store_true
        if not isinstance(value, bool):
            raise TypeError(f"swapnas.search_arch: {key} is a flag: pass True or False (got {value!r})")
        return [flag] if value else []
    if isinstance(value, bool):
        raise TypeError(f"swapnas.search_arch: {key} takes a value ({flag} {action.metavar or action.dest.upper()}),"
                        f" not {value!r}; pass None (or leave it out) for the default")
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [f"{flag}={','.join(f'{k}={v}' for k, v in value.items())}"]
    if isinstance(value, (list, tuple)):  # several values: a float keeps its digits without an exponent's '-', and
        # without a trailing '.', which argparse reads as an option in '-1.' (session 65: prior=(-1.0, 0.5) refused)
        return [flag, *(np.format_float_positional(v, trim="-") if isinstance(v, float) else str(v) for v in value)]
    return [f"{flag}={value}"]


def search_arch(space: str = "nb201", dataset: str | None = None, *, out: str | os.PathLike,
                **options: Any) -> SearchResult:
    """Run (or resume) ``swapnas search`` and return its :class:`~swapnas.search.SearchResult`.

    ``out`` is the command's ``--out`` (``result.json``, ``state.json``, plots, ``report.md``; the score store
    ``scores.sqlite`` unless ``store=`` names another); rerunning the same call resumes from its state, and with a
    larger ``cycles=`` extends it (finished or not) to the search with that budget. ``options``
    are the command's options with ``_`` for ``-``: ``seed=1``, ``fitness="swap_reg"``, ``max_params=5.0`` (millions,
    or ``"5M"``), ``net={"C": 16}``, ``prior=(0.8, 0.5)``, ``workers=2``, ``data_dir="../shared/data"``,
    ``no_progress=True``; ``verbose=True`` logs the package's debug lines for the call, as ``-v``. Bad input raises
    what the command reports as such (exit 2), with the same message:
    ``ValueError`` for a bad value, ``swapnas.errors.NotFound`` (a ``KeyError``) for an unknown proxy,
    ``FileNotFoundError`` for missing data; an unknown option, a bool for an option that takes a value
    (``refine=False``), a non-bool for a flag or a ``space``, ``dataset`` or ``out`` of another type raises
    ``TypeError``. The caller's torch thread count is given back; OUT is locked against other processes and threads.
    Ctrl-C raises ``KeyboardInterrupt`` with every finished score in the store. In a script, call it under
    ``if __name__ == "__main__":`` (the scoring workers are spawned processes that import the script again), or pass
    ``workers=1``.

    Example::

        result = swapnas.search_arch("nb201", "cifar10", out="runs/s0", data_dir="../shared/data")
        result.best, result.params_m, result.extra["test_accuracy"]   # NB201: the found arch's ground truth
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):  # (multiprocessing's own test of it)
        raise RuntimeError("swapnas.search_arch was called while a spawned worker process imported your script again "
                           'to start: call it under `if __name__ == "__main__":` (every worker process imports the '
                           "script that started it), or pass workers=1")
    # here, not at import: the command line imports every job
    from .cli import _home_expanded, build_parser
    from .cli.search_command import search_run
    from .results import run_as
    from .scoring import float32_default

    for name, value, what in (("space", space, "a space name such as 'nb201'"),
                              ("dataset", dataset, "a dataset or task name such as 'cifar10', or None for the space's "
                               "default")):
        if not isinstance(value, str) and not (name == "dataset" and value is None):
            raise TypeError(f"swapnas.search_arch: {name} must be {what}, not {value!r}")
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"swapnas.search_arch: out must be the output folder, a str or os.PathLike (the command's "
                        f"--out), not {out!r}")
    parser = build_parser(_RaisingParser)
    known = set(vars(parser.parse_args(["search", "--out", os.fspath(out)]))) - _NOT_OPTIONS
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"swapnas.search_arch() got unknown option(s) {', '.join(unknown)}; it takes swapnas search's "
                        f"options with _ for -: {', '.join(sorted(known))}")
    argv = ["search", "--space", space, *(["--dataset", dataset] if dataset is not None else []), "--out",
            os.fspath(out)]
    actions = _actions(parser)  # argparse has no public lookup of an option by its flag
    argv += [token for key, value in options.items() for token in _tokens(actions, key, value)]
    threads = torch.get_num_threads()  # the command sets --threads (default 1) in this process: give it back
    try:
        args = _home_expanded(parser.parse_args(argv))  # `~` as the command (session 64); notes as log records:
        args.from_python = True
        with run_as(argv, "swapnas.search_arch"), float32_default(), _debug_logging(args.verbose):
            return search_run(args)[0]  # (run_as: the command its outputs record)
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def _debug_logging(verbose: bool) -> Iterator[None]:
    """``verbose=True``: the ``swapnas`` loggers at DEBUG for the call, as the command's ``-v`` (session 65: it changed
    nothing), on stderr unless the caller's logging has a handler for them already; put back after."""
    logger = logging.getLogger("swapnas")
    if not verbose:
        yield
        return
    level, handler = logger.level, None if logger.hasHandlers() else logging.StreamHandler(sys.stderr)
    if handler is not None:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.setLevel(level)
        if handler is not None:
            logger.removeHandler(handler)
