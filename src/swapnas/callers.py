"""Where a warning should point: the first frame outside swapnas (and the torch and standard-library code it runs
under), i.e. the user's line that called ``swap_score``, ``score``, ``rank`` or a command, however deep the package's
own calls between them go; and, where no user's line exists (the command line, a scoring worker), one plain line."""

from __future__ import annotations

import multiprocessing
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, TypeVar

from .errors import printable
from .progress import say

#: the package's folder: a warning made there (or of a category defined there) is swapnas's own
PACKAGE = str(Path(__file__).resolve().parent)
T = TypeVar("T")

#: modules whose frames are ours or run ours (a ``with`` block's helpers, a ``functools`` wrapper, torch's dispatch)
_INSIDE = ("swapnas", "torch", "contextlib", "functools")


def user_stacklevel() -> int:
    """The ``stacklevel`` for :func:`warnings.warn`, called right where the warning is made, that names the first
    frame whose module is not one of :data:`_INSIDE` (1: the frame that calls ``warnings.warn``)."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and str(frame.f_globals.get("__name__", "")).split(".")[0] in _INSIDE:
        frame, level = frame.f_back, level + 1
    return level


def brief_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    """:data:`warnings.showwarning` for the command line and the scoring workers: swapnas's own warnings as one
    ``swapnas: warning: …`` line (their place, the ``swapnas`` script or the worker pool's file, says nothing to the
    user), other libraries' as Python shows them."""
    if category.__module__.split(".")[0] == "swapnas" or str(filename).startswith(PACKAGE):
        kind = "" if category is UserWarning else f"{category.__name__}: "
        # on a line of its own, bars or not (session 66); a scoring worker cannot clear the driver's bar: a new line
        lead = "\n" if multiprocessing.parent_process() is not None else ""
        say(f"{lead}swapnas: warning: {kind}{printable(str(message))}", file)  # (a name from a file: session 67)
    else:  # Python's own format
        say(warnings.formatwarning(message, category, filename, lineno, line).rstrip("\n"), file)


def with_brief_warnings(run: Callable[[], T]) -> T:
    """``run()`` with :func:`brief_warning` showing the warnings (Python's own handler restored after)."""
    with warnings.catch_warnings():
        warnings.showwarning = brief_warning
        return run()
