"""The signals that stop a run as Ctrl-C does: SIGTERM (a scheduler's stop: SLURM, ``timeout``, ``kill``) and, where the
system has it, SIGHUP (the terminal closed; session 58). The command installs its handler for them
(:func:`swapnas.cli.main`), worker processes leave them to it (:mod:`swapnas.executors`), and training holds them, as
Ctrl-C, until a batch is applied whole (:mod:`swapnas.train.loop`)."""

from __future__ import annotations

import json
import os
import signal
import sys
from types import TracebackType

from .address_space import out_of_address_space

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, *((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()))


def stop_as_interrupt(signum: int, frame: object) -> None:
    """SIGTERM (a scheduler's stop: SLURM, timeout, kill) and SIGHUP end a run as Ctrl-C does: scores kept, exit 130
    (``swapnas train`` holds them, as Ctrl-C, until the batch in progress is applied whole)."""
    raise KeyboardInterrupt


def as_command() -> bool:
    """Whether this process is the ``swapnas`` command (the script, or ``python -m swapnas``)."""
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    orig = getattr(sys, "orig_argv", [])
    return script in ("swapnas", "swapnas.exe") or any(a == "-m" and b == "swapnas" for a, b in zip(orig, orig[1:]))


def quiet_start_interrupt() -> None:
    """In the ``swapnas`` command only: a Ctrl-C while it starts (importing torch, before the command's own handler
    runs) is one line, not Python's traceback of the import (session 58: 12 to 38 lines); so is a library that cannot
    be loaded under an address-space limit (session 61, :mod:`swapnas.address_space`). A library import is left
    alone."""
    if not as_command():
        return
    previous = sys.excepthook
    for sig in STOP_SIGNALS:  # SIGTERM and SIGHUP as Ctrl-C from here on (session 62: in the ~2 s of torch's import
        if signal.getsignal(sig) == signal.SIG_DFL:  # they killed the command: no word, no JSON, exit 143 / 129)
            signal.signal(sig, stop_as_interrupt)

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            print("swapnas: interrupted while starting; nothing was run", file=sys.stderr)
            if "--json" in sys.argv[1:]:  # (one JSON document whatever happened)
                print(json.dumps({"error": "interrupted while starting; nothing was run", "exit": 130}), flush=True)
            return
        if issubclass(kind, (ImportError, MemoryError)) and (why := out_of_address_space(value)):  # ulimit -v
            print(f"swapnas: {why}", file=sys.stderr)
            return
        previous(kind, value, tb)

    sys.excepthook = hook


__all__ = ["STOP_SIGNALS", "as_command", "quiet_start_interrupt", "stop_as_interrupt"]
