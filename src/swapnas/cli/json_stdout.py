"""With ``--json``, stdout carries the command's one JSON document and nothing else: whatever else is written there
while the command runs (a proxy's or a model's ``print()``, a library's message, a worker process's or a child
program's output) goes to stderr (session 63: a line a proxy printed came before the document, and a script's
``json.loads`` of stdout failed)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import stat
import sys
from collections.abc import Iterator

#: the documents given by the commands now running with their stdout on stderr (innermost last)
_held: list[list[str]] = []
#: the copies of the real stdout's file descriptor while descriptor 1 writes to stderr (innermost last)
_real: list[int] = []
#: the names of the standard output, which while it is moved name stderr's descriptor
STDOUT_NAMES = ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")
#: a process's descriptor 1 by its number or as the thread's (this process's: it is what inside the block is stderr)
_OTHER_PROC = re.compile(r"/+proc/+(\d+|thread-self)/+fd/+1")


def print_json(text: str) -> None:
    """``text``, one JSON document, on the command's stdout: at once, or inside :func:`stdout_to_stderr` when it
    ends."""
    if _held:
        _held[-1].append(text)
    else:
        _printed(text)


@contextlib.contextmanager
def stdout_to_stderr(on: bool) -> Iterator[None]:
    """While the block runs (``on``), Python's ``sys.stdout`` is stderr, and so is file descriptor 1 where stdout is
    it (the worker processes and child programs started inside inherit it); at its end, even an interrupted one,
    what was written meanwhile is flushed to stderr, stdout is back and the documents :func:`print_json` was given
    are printed on it."""
    if not on or sys.stdout is None:
        yield
        return
    stream, moved = sys.stdout, list[int]()
    documents: list[str] = []
    _held.append(documents)
    try:
        _move_fd1(moved)  # (inside the try: an interrupt right after the move still puts it back)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _held.pop()
        for saved in moved:
            with contextlib.suppress(ValueError):
                _real.remove(saved)
            for written in (sys.stderr, stream, sys.__stdout__):  # buffered writes, through any handle, out first
                _flushed(written)
            _flush_c_stdio()
            os.dup2(saved, 1)
            os.close(saved)
        for text in documents:
            _printed(text)


def _printed(text: str) -> None:
    if sys.stdout is None:  # (session 63: `swapnas --json proxies >&-` exited 0, its document lost)
        raise ValueError("the standard output is closed (`>&-`): the JSON document of --json has nowhere to go")
    print(text, flush=True)


def _move_fd1(moved: list[int]) -> None:
    """File descriptor 1 made to write where 2 does, its copy put in ``moved`` (and :data:`_real`) first, so that an
    interrupt at any point leaves what is needed to put it back (the second review of session 63); nothing moved
    where ``sys.stdout`` is not descriptor 1 (a test's capture) or either descriptor is closed."""
    try:
        if sys.stdout.fileno() != 1:
            return
        _flushed(sys.stdout)
        _flush_c_stdio()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # (io.UnsupportedOperation is an OSError and a ValueError)
        return
    moved.append(saved)
    _real.append(saved)
    try:
        os.dup2(2, 1)
    except OSError:  # (the finally puts the copy back over an unmoved descriptor: no harm)
        pass


def _flushed(stream: object) -> None:
    """What ``stream`` holds written out before its descriptor moves (a failing flush is said by the command's own
    handling of stdout, later)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        stream.flush()  # type: ignore[attr-defined]


def _flush_c_stdio() -> None:
    """C's stdio buffers written out (a C library's ``printf`` is buffered where stdout is not a terminal): before
    descriptor 1 moves, and before it comes back (the review of session 63: a ``printf`` came after the document)."""
    with contextlib.suppress(Exception):  # (no C library to load, e.g. on Windows: nothing to flush)
        ctypes.CDLL(None).fflush(None)


def refuse_out_on_stdout(out: str) -> None:
    """With --json, an export's ``--out`` that is the standard output itself (by name, or the file it is redirected
    to), or another device or pipe, is refused (session 63: ``--json export --out /dev/stdout`` put the table where
    the document goes, ``--out /dev/null`` printed no document)."""
    if out == "-":  # (session 68: export's own message advised /dev/stdout, which this then refused)
        raise ValueError("--out - is the standard output, and with --json the standard output holds the command's "
                         "JSON document: give --out a file, or leave --json out")
    try:
        found = os.stat(out)
    except OSError:  # a new file (or one the export's own checks name)
        return
    try:
        stdout = os.fstat(_real[-1] if _real else 1)  # (inside stdout_to_stderr, descriptor 1 is stderr's)
        itself = (found.st_dev, found.st_ino) == (stdout.st_dev, stdout.st_ino)
    except OSError:
        itself = False
    proc = _OTHER_PROC.fullmatch(out)
    itself = itself or re.sub("/+", "/", os.path.normpath(out)) in STDOUT_NAMES or \
        proc is not None and proc[1] in (str(os.getpid()), "thread-self")
    if itself or not stat.S_ISREG(found.st_mode) and not stat.S_ISDIR(found.st_mode):
        raise ValueError(f"--out {out} is {'the standard output' if itself else 'a device or a pipe'}, and with "
                         "--json the standard output holds the command's JSON document: give --out a file, or leave "
                         "--json out")
