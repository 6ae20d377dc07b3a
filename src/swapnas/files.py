"""Atomic file writes: a crash, Ctrl-C or power loss leaves the previous file whole."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """``write(f)`` into a new temporary file next to ``path`` (a unique name, created exclusively), flushed to disk
    (``fsync``), then renamed over ``path`` (``os.replace``). No two writers share a temporary file; the file gets
    the permissions of any new file (0666 less the umask, applied by the system: nothing process-wide changes); a
    failed write leaves no temporary file behind."""
    path = Path(path)
    while True:
        tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:  # another writer drew the same name: draw again
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
