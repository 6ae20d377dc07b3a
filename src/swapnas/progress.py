"""How often a progress bar is redrawn: tqdm's 0.1 s on a terminal, every 30 s where stderr is a file or a pipe (a
log, CI, ``nohup``): session 58 found a 60-arch run writing 44 redraws on one line of a log, about 7 a second."""

from __future__ import annotations

import sys

#: seconds between redraws of a bar whose stderr is not a terminal
LOG_INTERVAL = 30.0


def bar_interval() -> float:
    """``mininterval`` for a tqdm bar on stderr."""
    try:
        terminal = bool(sys.stderr.isatty())
    except (AttributeError, ValueError, OSError):  # none, closed, or not a real stream
        terminal = False
    return 0.1 if terminal else LOG_INTERVAL


__all__ = ["LOG_INTERVAL", "bar_interval"]
