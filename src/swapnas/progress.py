"""How often a progress bar is redrawn: tqdm's 0.1 s on a terminal, every 30 s where stderr is a file or a pipe (a
log, CI, ``nohup``): session 58 found a 60-arch run writing 44 redraws on one line of a log, about 7 a second.
Every bar of the package is a :class:`Bar` (``tqdm.auto``) or a :class:`PlainBar` (``tqdm``), each under a thread lock
of its own."""

from __future__ import annotations

import sys
import threading

from tqdm import tqdm as _tqdm
from tqdm.auto import tqdm as _auto_tqdm


class Bar(_auto_tqdm):
    """``tqdm.auto``'s bar under a thread lock of its own: tqdm's default lock makes a ``multiprocessing.RLock``,
    which fixes the process's start method, so a caller's later ``multiprocessing.set_start_method("spawn")`` raised
    RuntimeError after any bar of the package, even a disabled one (session 64, left then; mended in session 65). The
    bars are drawn by the main process only, so a thread lock is all they need."""

    _lock = threading.RLock()


class PlainBar(_tqdm):
    """``tqdm``'s text bar (no notebook widget) under a thread lock of its own, as :class:`Bar`."""

    _lock = threading.RLock()

#: seconds between redraws of a bar whose stderr is not a terminal
LOG_INTERVAL = 30.0


def bar_interval() -> float:
    """``mininterval`` for a tqdm bar on stderr."""
    try:
        terminal = bool(sys.stderr.isatty())
    except (AttributeError, ValueError, OSError):  # none, closed, or not a real stream
        terminal = False
    return 0.1 if terminal else LOG_INTERVAL


__all__ = ["LOG_INTERVAL", "Bar", "PlainBar", "bar_interval"]
