"""Where a warning should point: the first frame outside swapnas (and the torch and standard-library code it runs
under), i.e. the user's line that called ``swap_score``, ``score``, ``rank`` or a command, however deep the package's
own calls between them go."""

from __future__ import annotations

import sys

#: modules whose frames are ours or run ours (a ``with`` block's helpers, a ``functools`` wrapper, torch's dispatch)
_INSIDE = ("swapnas", "torch", "contextlib", "functools")


def user_stacklevel() -> int:
    """The ``stacklevel`` for :func:`warnings.warn`, called right where the warning is made, that names the first
    frame whose module is not one of :data:`_INSIDE` (1: the frame that calls ``warnings.warn``)."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and str(frame.f_globals.get("__name__", "")).split(".")[0] in _INSIDE:
        frame, level = frame.f_back, level + 1
    return level
