"""How often a progress bar is redrawn: tqdm's 0.1 s on a terminal, every 30 s where stderr is a file or a pipe (a
log, CI, ``nohup``): session 58 found a 60-arch run writing 44 redraws on one line of a log, about 7 a second.
Every bar of the package is a :class:`Bar` (``tqdm.auto``) or a :class:`PlainBar` (``tqdm``), each under a thread lock
of its own."""

from __future__ import annotations

import logging
import sys
import threading
import warnings
from typing import TextIO

from tqdm import TqdmWarning
from tqdm import tqdm as _tqdm

with warnings.catch_warnings():  # (in a Jupyter kernel without ipywidgets, not a dependency, tqdm.auto warned
    warnings.simplefilter("ignore", TqdmWarning)  # "IProgress not found" on `import swapnas`, before any bar, and
    from tqdm.auto import tqdm as _auto_tqdm  # falls back to the text bar: session 66)


class Bar(_auto_tqdm):
    """``tqdm.auto``'s bar under a thread lock of its own: tqdm's default lock makes a ``multiprocessing.RLock``,
    which fixes the process's start method, so a caller's later ``multiprocessing.set_start_method("spawn")`` raised
    RuntimeError after any bar of the package, even a disabled one (session 64, left then; mended in session 65). The
    bars are drawn by the main process only, so a thread lock is all they need."""

    _lock = threading.RLock()

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **_drawable(kwargs))


class PlainBar(_tqdm):
    """``tqdm``'s text bar (no notebook widget) under a thread lock of its own, as :class:`Bar`."""

    _lock = threading.RLock()

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **_drawable(kwargs))


def _drawable(kwargs: dict) -> dict:
    """A bar's arguments, the bar disabled where it has no stream to draw on (``sys.stderr`` is None under pythonw or
    an embedding interpreter: session 66, ``rank(progress=True)`` ended in tqdm's AttributeError)."""
    return {**kwargs, "disable": True} if kwargs.get("file") is None and sys.stderr is None else kwargs


#: seconds between redraws of a bar whose stderr is not a terminal
LOG_INTERVAL = 30.0


def bar_interval() -> float:
    """``mininterval`` for a tqdm bar on stderr: a terminal's, or a Jupyter kernel's stream's (not a TTY, but drawn
    live: session 66, a notebook's bars were redrawn every 30 s), else a log's."""
    try:
        terminal = bool(sys.stderr.isatty()) or type(sys.stderr).__module__.startswith("ipykernel")
    except (AttributeError, ValueError, OSError):  # none, closed, or not a real stream
        terminal = False
    return 0.1 if terminal else LOG_INTERVAL


def say(text: str, file: TextIO | None = None) -> None:
    """``text`` as a line of its own on ``file`` (stderr): this process's bars on it are cleared first and drawn again
    after (session 66: a warning or a log line said while scoring was glued to the end of a bar's line)."""
    PlainBar.write(text, file=file or sys.stderr)


class BarSafeHandler(logging.StreamHandler):
    """The command line's log handler: each record said by :func:`say`."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            say(self.format(record), self.stream)
        except Exception:  # noqa: BLE001 - as logging's own handlers do
            self.handleError(record)


__all__ = ["LOG_INTERVAL", "Bar", "BarSafeHandler", "PlainBar", "bar_interval", "say"]
