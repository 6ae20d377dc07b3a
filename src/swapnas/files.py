"""Output files: atomic writes (a crash, Ctrl-C or power loss leaves the previous file whole) and the lock that
keeps a second job off an output folder."""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import IO, Any, BinaryIO

try:
    import fcntl
except ImportError:  # no flock (Windows): msvcrt's lock instead
    fcntl = None  # type: ignore[assignment]
try:  # Windows' byte-range lock (typeshed declares the module for win32 only, hence the import by name)
    msvcrt: Any = importlib.import_module("msvcrt")
except ImportError:
    msvcrt = None
#: the byte msvcrt locks: far past the pid and job written at the start, which Windows' mandatory lock would hide
#: from the process that is refused and names them
_FAR_BYTE = 2**20
#: OUT/.lock files this process holds → the thread holding each and its job (re-entrant within that thread only)
_HELD: dict[str, tuple[int, str]] = {}


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
    except OSError as exc:  # named: a full disk said "No space left on device" and no file (session 59)
        tmp.unlink(missing_ok=True)
        if exc.filename in (None, str(tmp)) and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_figure(fig: Any, path: Path) -> Path:
    """A matplotlib figure into ``path`` (its format from the suffix), atomically (:func:`write_atomic`): a full
    disk left the previous run's plot truncated (session 59)."""
    write_atomic(Path(path), lambda f: fig.savefig(f, format=Path(path).suffix[1:]))
    return Path(path)


def write_text(path: Path, text: str) -> None:
    """``text`` into ``path`` as UTF-8, atomically (:func:`write_atomic`); a name the file system gave in another
    encoding, held in ``text`` as surrogates (a command line under ``LC_ALL=C``), is written back as its own bytes
    (session 56: such an --out ended correlate, grid, search and conformance with "surrogates not allowed", naming
    no file, and left a 0-byte report.md)."""
    write_atomic(Path(path), lambda f: f.write(text.encode("utf-8", "surrogateescape")))


def outputs_lock(out: Path, what: str, shard: object = None) -> AbstractContextManager:
    """:func:`out_lock` for a run of ``swapnas correlate`` or ``grid`` that writes its outputs in OUT, so a second one
    on it fails at once (session 52: two correlates into one OUT both exited 0, each file from one of them); a shard
    (``shard`` given) writes no outputs and shards share an OUT by design (docs/results.md): no lock."""
    return nullcontext() if shard is not None else out_lock(out, what)


def refuse_taken(out: Path, what: str) -> None:
    """Refuse OUT at once when another job holds its lock: called as a command starts, before its inputs are loaded,
    so a second job on one OUT is told in the time of torch's import, not after its start-up (session 56: ~10 s).
    Makes nothing: the lock itself is taken by :func:`out_lock` once the inputs are checked."""
    path = Path(out) / ".lock"
    try:
        if _holder(path, out, what) is not None or (fcntl is None and msvcrt is None) or not path.is_file():
            return
        f = open(path, encoding="utf-8")
    except OSError:  # a name too long, a folder not readable: the command's own check of --out says what it is
        return
    with f:
        if not _locked(f):
            raise ValueError(_taken(f, out, what))
        if fcntl is None:
            _far_byte(f, msvcrt.LK_UNLCK)  # (flock's goes with the file)


def _holder(path: Path, out: Path, what: str) -> int | None:
    """The thread of this process that holds the lock file ``path`` (None: none does); refused when it is not the
    calling thread."""
    holder, job = _HELD.get(str(path.resolve()), (None, what))
    if holder is not None and holder != threading.get_ident():
        raise ValueError(f"another swapnas {job} is using {out} (another thread of this process, pid {os.getpid()});"
                         " wait for it or use another --out")
    return holder


def _lock_file(path: Path) -> IO[str]:
    """``path`` opened to read and append, made if missing; a link is refused, not followed (session 67: an OUT
    received from elsewhere with ``.lock`` linked to a file outside it had that file emptied)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o666)
    except OSError as exc:
        if not path.is_symlink():
            raise
        raise ValueError(f"{path} is a link (to {os.readlink(path)}), not a lock file: remove it (`rm {path}`) and "
                         "run again") from exc
    if os.fstat(fd).st_nlink > 1:  # a hard link: another name of a file outside OUT, perhaps (the review of 67)
        os.close(fd)
        raise ValueError(f"{path} is a hard link (the file has other names), not a lock file: remove it (`rm {path}`) "
                         "and run again")
    return open(fd, "a+", encoding="utf-8")


def _taken(f: IO[str], out: Path, what: str) -> str:
    """The refusal of an OUT whose open lock file ``f`` another job holds, naming that job and its pid."""
    f.seek(0)
    pid, _, job = f.read().strip().partition(" ")  # a lock file of before session 52 holds the pid alone
    return f"another swapnas {job or what} is using {out} (pid {pid or 'unknown'}); wait for it or use another --out"


def _locked(f: IO[str]) -> bool:
    """Lock the open lock file ``f`` for this process without waiting; False if another process holds it. POSIX:
    ``flock`` on the file; Windows: ``msvcrt.locking`` of one byte far past its text (until session 54 OUT was not
    locked there at all, so two jobs could write one OUT, each file from one of them)."""
    if fcntl is not None:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    try:
        _far_byte(f, msvcrt.LK_NBLCK)
    except OSError:
        return False
    finally:
        f.seek(0)
    return True


def _far_byte(f: IO[str], mode: int) -> None:
    """``msvcrt.locking`` of :data:`_FAR_BYTE` in ``mode`` (it locks from the file's position)."""
    os.lseek(f.fileno(), _FAR_BYTE, os.SEEK_SET)
    msvcrt.locking(f.fileno(), mode, 1)


@contextmanager
def out_lock(out: Path, what: str = "search") -> Iterator[None]:
    """Hold ``OUT/.lock`` (:func:`_locked`) while a job (``what``: search, train, correlate, grid) runs, so a
    second one on the same OUT fails at once; the OS releases it when the process ends, even when killed.
    Re-entrant in the thread that holds it; another thread of the process (two ``search_arch`` calls) is refused
    as another process is. The refusal names the job that holds OUT (the lock file holds its pid and job). A job
    that fails before it writes anything into an OUT it made leaves no OUT behind (session 61: a refused search left
    a folder holding only ``.lock``)."""
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    path = out / ".lock"
    key = str(path.resolve())
    holder = _holder(path, out, what)
    if (fcntl is None and msvcrt is None) or holder is not None:
        yield
        return
    with _lock_file(path) as f:
        if not _locked(f):
            raise ValueError(_taken(f, out, what)) from None
        f.truncate(0)
        f.write(f"{os.getpid()} {what}")
        f.flush()
        _HELD[key] = (threading.get_ident(), what)
        try:
            yield
        except BaseException:
            with contextlib.suppress(OSError):  # (Windows keeps an open file: the folder stays; one removed under the
                if made and [p.name for p in out.iterdir()] == [".lock"]:  # job: its own error stands)
                    path.unlink()  # nothing written: the folder goes too (another job opening .lock in the
                    out.rmdir()  # moment between would find no OUT: accepted)
            raise
        finally:
            _HELD.pop(key, None)
            if fcntl is None:  # msvcrt's lock given back before the file closes (Windows may free a closed one late)
                _far_byte(f, msvcrt.LK_UNLCK)
