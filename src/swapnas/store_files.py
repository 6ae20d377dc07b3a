"""A score store's file: the SQLite connection that opens it for writing (:func:`connect`), for reading only
(:func:`connect_reader`, :func:`connect_read_only`), and what a file that cannot be a store is (:func:`not_a_store`).
:mod:`swapnas.store` keeps the scores in it."""

from __future__ import annotations

import errno
import json
import math
import os
import sqlite3
from pathlib import Path
from typing import Any


def without_wal(path: str | os.PathLike, tables: set[str] | int) -> str:
    """What an SQLite file with no ``tables`` may be: a store's main file copied without its ``-wal`` file, where a
    store keeps its schema and scores until its first checkpoint (session 52); '' for a file with tables."""
    if tables:
        return ""
    return (f"; it has no table at all, as a store's main file has none until its first checkpoint: if it was copied "
            f"from a store whose run was killed or still running, copy {Path(path).name}-wal beside it too")


class StoreError(ValueError):
    """A score store that cannot be used as asked (damaged, read-only, disk full, locked); the
    message names the file and what to do."""


#: seconds a store waits for a lock another process holds (SQLite's busy timeout; opening also retries for as long)
LOCK_WAIT_S = 60.0


def is_text(head: bytes) -> bool:
    """Whether a file's first bytes are UTF-8 text without a NUL (a character cut at their end allowed)."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return b"\0" not in head and exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return b"\0" not in head


def text_first_line(head: bytes) -> str | None:
    """The first line of a file whose first bytes ``head`` are a text file's (a CSV, JSON: UTF-8, no NUL, not SQLite's
    header), else None (an SQLite file, even one with a damaged header, holds NUL bytes in its first page)."""
    if len(head) < 100 or head.startswith(b"SQLite format 3\0") or not is_text(head):
        return None
    return head.split(b"\n", 1)[0].rstrip(b"\r")[:60].decode("utf-8", "replace")


def existing_store(path: str | os.PathLike) -> Path:
    """``path``, a file that may be a score store: not a text file (:func:`text_first_line`)."""
    p = Path(path)
    if p.is_dir():  # (session 61: "no score store at" a folder)
        give = f"give {p / 'scores.sqlite'}, the store in it" if (p / "scores.sqlite").is_file() else \
            "give the store's file (the --store of a correlate/grid/search run, default OUT/scores.sqlite)"
        raise StoreError(f"{p} is a folder, not a score store: {give}")
    if not p.is_file():
        raise StoreError(f"no score store at {p} (the --store of a correlate/grid/search run, default "
                         "OUT/scores.sqlite)")
    with p.open("rb") as f:
        head = f.read(4096)
    if (first := text_first_line(head)) is not None:
        raise StoreError(f"{p} is a text file (its first line: {first!r}), not a swapnas score store: give the "
                         "store's path (the --store of a correlate/grid/search run, default OUT/scores.sqlite)")
    return p


def not_a_store(path: str | os.PathLike) -> str | None:
    """Why the existing file at ``path`` cannot be a score store, even a damaged one (a text file, or one shorter than
    an SQLite header), or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    if not head:  # SQLite makes a new store of an empty file
        return None
    if len(head) < 100:
        return f"{len(head)} byte{'s' * (len(head) > 1)} long, shorter than an SQLite header"
    first = text_first_line(head)
    return None if first is None else f"a text file, its first line {first!r}"


def is_sqlite(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an existing plain file that starts with SQLite's header (a pipe or a device, such as
    ``/dev/stdout``, is not read: reading its own stdout hung ``swapnas export --out /dev/stdout``, session 58)."""
    if not Path(path).is_file():
        return False
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:  # missing, a folder, unreadable: the caller says what is wrong with it
        return False


def misused(path: str | os.PathLike, text: str) -> str:
    """What to do when a store was used after its close or from another thread than the one that opened it (SQLite's
    ProgrammingError; session 66: the second was called damage, with the advice to throw the store away)."""
    if "thread" in text:
        return (f"the score store {path} was opened in another thread, and SQLite connections stay in the thread that "
                "made them (the file is sound): open it, `with ScoreStore(...)`, in the thread that uses it (one per "
                "thread: they may share the file)")
    return f"the score store {path} was closed before this read: read it (e.g. the rows of iter_rows) inside " \
        "`with ScoreStore(...)`"


FRESH_STORE = "start a fresh store with --store NEW.sqlite, "  # (given_as drops it for a store given as an argument)


def damaged_advice(path: str | os.PathLike, fresh: bool = True) -> str:
    """What to do with a damaged store at ``path`` (``fresh``: a scoring command's, which may start a fresh one; not
    `store check` or `accept-code`'s, session 66)."""
    fresh_store = FRESH_STORE * fresh
    return (f"restore it from a backup, {fresh_store}or copy every readable score into a new store with "
            f"`swapnas store salvage {path} --out NEW.sqlite`")


#: the SQLite kinds (``typeof``) each column of a score row may hold, as a swapnas store writes them (NULL where
#: allowed); :func:`~swapnas.store_pages.score_like` checks a row read from a page by them too
COLUMN_KINDS = {**dict.fromkeys(("space", "arch", "proxy", "protocol", "net", "status"), ("text",)),
                **dict.fromkeys(("seed", "batch_size", "repeats"), ("integer",)),
                **dict.fromkeys(("value", "std", "seconds"), ("real", "integer", "null")),
                "values_json": ("text", "null"), "peak_mem_bytes": ("integer", "null"), "error": ("text", "null"),
                "device": ("text", "null"), "created": ("real", "integer")}
#: the SQL condition of a score row with a column of another kind than :data:`COLUMN_KINDS` allows
_WRONG_KIND = " OR ".join(f"typeof({c}) NOT IN ({', '.join(map(repr, kinds))})" for c, kinds in COLUMN_KINDS.items())


def rows_of_another_kind(db: sqlite3.Connection) -> int:
    """The score rows of the store ``db`` with a column of another kind than :data:`COLUMN_KINDS` allows (session
    68's fuzzing: a text value or time, a BLOB key, written by another tool or damaged cells that still read, ended
    runs, `store merge` and `export` in tracebacks; `store check` called the store ok)."""
    return int(db.execute(f"SELECT count(*) FROM scores NOT INDEXED WHERE {_WRONG_KIND}").fetchone()[0])


def another_kind_error(path: str | os.PathLike, n: int | None = None) -> StoreError:
    """The error of a store with ``n`` rows its readers do not take (:func:`rows_of_another_kind`,
    :func:`rows_of_unreadable_values`; None: not counted)."""
    rows = "score rows" if n is None else f"{n} score row{'s' * (n != 1)}"
    return StoreError(f"the score store {path} holds {rows} that its readers do not take (a column of another kind "
                      "than a score's, text for a number or bytes for a name, or values that are not a JSON list: "
                      f"written by another tool, or damaged); {damaged_advice(path, fresh=False)} (it leaves "
                      f"{'it' if n == 1 else 'them'} out)")


def stored_time(t: object) -> float:
    """A stored time (Unix seconds) as a float; NaN where it is none (session 68: a text time said only "could not
    convert string to float")."""
    try:
        return float(t)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def stored_record(row: tuple, path: str | os.PathLike) -> tuple:
    """A stored (status, value, std, values_json, seconds, peak_mem_bytes, error) with its values read; a StoreError
    where a column holds another kind than a score's (session 68: a text value said only "could not convert string to
    float: 'abc'", a text time ended a correlate in numpy's traceback after every score was reused)."""
    status, value, std, values, seconds, peak, error = row
    numbers = all(v is None or type(v) in (int, float) for v in (value, std, seconds))
    if not numbers or not (peak is None or type(peak) is int) or not (error is None or isinstance(error, str)):
        raise another_kind_error(path)
    return status, value, std, stored_values(values, path), seconds, peak, error


def values_problem(text: object) -> str:
    """Why a score row's ``values_json`` is not the JSON list its reader takes ("" where it is; none, or empty, reads
    as ``[]``): the one rule of the reader, `store check`, salvage and merge (session 68's review: check called an
    empty one damaged, which the reader took)."""
    return _read_json(text or "[]", list)[1]


def rows_of_unreadable_values(db: sqlite3.Connection) -> int:
    """The score rows of the store ``db`` whose values :func:`values_problem` refuses, among those of the right kinds
    (one row is not counted twice beside :func:`rows_of_another_kind`: the second review)."""
    return sum(1 for (v,) in db.execute("SELECT values_json FROM scores NOT INDEXED WHERE typeof(values_json) = 'text' "
                                        f"AND NOT ({_WRONG_KIND})") if values_problem(v))


def stored_values(text: str | None, path: str | os.PathLike) -> list:
    """A score row's ``values_json`` read back; a StoreError naming the store where it is no JSON list (session 67's
    review: one nested past Python's limit ended a correlate in a RecursionError traceback; session 68: a JSON object
    was taken, and salvage kept such rows, which it now leaves out)."""
    values, problem = _read_json(text or "[]", list)
    if problem:
        raise StoreError(f"the score store {path} is damaged (a score's values are not readable: {problem}); "
                         f"{damaged_advice(path, fresh=False)}")
    return values


def json_problem(text: object, kind: type) -> str:
    """Why ``text`` is not the JSON of a ``kind`` (its error's name, or the kind it holds); "" where it is one."""
    return _read_json(text, kind)[1]


def _read_json(text: object, kind: type) -> tuple[Any, str]:
    """``text`` read as JSON, and "" or why it is not the JSON of a ``kind``."""
    try:
        value = json.loads(text)  # type: ignore[arg-type]
    except (TypeError, ValueError, RecursionError) as exc:
        return None, type(exc).__name__
    return value, "" if isinstance(value, kind) else f"a JSON {type(value).__name__}, not a {kind.__name__}"


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection (``mode=ro`` URI). A WAL store in a read-only folder cannot get its
    ``-shm`` file made: it is then opened ``immutable`` (no locking; a ``-wal`` left by a crash is not read)."""
    uri = path.resolve().as_uri() + "?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=LOCK_WAIT_S)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        db.close()
        wal = Path(f"{path}-wal")
        if wal.is_file() and wal.stat().st_size > 0:  # immutable would silently skip the scores it holds
            raise StoreError(f"the score store {path} has scores in {wal.name} (not yet merged into the file) and its "
                             "folder is read-only, so they cannot be read: copy the store with its -wal file to a "
                             "writable folder and pass --store COPY") from None
        return sqlite3.connect(uri + "&immutable=1", uri=True)
    except BaseException:  # a file that is no database: closed (session 66: a kept error held it open)
        db.close()
        raise


def connect(path: Path) -> tuple[sqlite3.Connection, str]:
    """The connection and, for a store that must be opened read-only, why ("" when writable)."""
    if path.is_dir():
        raise StoreError(f"the score store {path} is a folder; give a file, e.g. --store {path / 'scores.sqlite'}")
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file where a folder of the path should be: named (it was "(File exists)")
            blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
            why = f"{blocker} is a file, not a folder" if blocker is not None else exc.strerror
            raise StoreError(f"cannot create the score store {path} ({why}); give a --store in a "
                             "writable folder") from exc
        if not os.access(path.parent, os.W_OK):
            raise StoreError(f"cannot create the score store {path}: the folder {path.parent} is not writable; "
                             "give a --store in a writable folder")
        if path.is_symlink():
            raise StoreError(f"the score store {path} is a link to {os.readlink(path)}, which does not exist; "
                             "fix the link or give another --store")
        _made_as_any_file(path)
        return sqlite3.connect(path, timeout=LOCK_WAIT_S), ""
    if not os.access(path, os.R_OK):
        raise StoreError(f"cannot read the score store {path} (permission denied); fix its permissions or give "
                         "another --store")
    why = unwritable(path)
    return (connect_read_only(path), why) if why else (sqlite3.connect(path, timeout=LOCK_WAIT_S), "")


def _made_as_any_file(path: Path) -> None:
    """Make the new store's file as every other output is made, 0666 less the umask: SQLite makes it 0644, so a
    shared project's group (umask 002) could read the store but not resume into it (session 58)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except FileExistsError:  # made meanwhile (another run): SQLite opens it as it is
        pass


def unwritable(path: Path) -> str:
    """Why the existing store at ``path`` cannot be written, "" where it can: the file, or the folder it lives in,
    where SQLite makes its ``-wal`` and ``-shm`` files (a link's target's folder, not the link's)."""
    folder = path.resolve().parent
    return ("the file is not writable" if not os.access(path, os.W_OK) else
            f"its folder {folder} is not writable" if not os.access(folder, os.W_OK) else "")


def connect_reader(path: Path) -> sqlite3.Connection:
    """A connection to the existing store at ``path`` that writes no row. Where the store can be written it is a
    plain one with ``PRAGMA query_only``: the last connection to close removes a WAL store's ``-shm`` and ``-wal``
    files, which a ``mode=ro`` connection cannot (until session 54 every export left them beside the store);
    elsewhere, or where that connection cannot read (SQLite cannot make its files), :func:`connect_read_only`."""
    if not unwritable(path):
        db = sqlite3.connect(path, timeout=LOCK_WAIT_S)
        try:
            db.execute("PRAGMA query_only = ON")
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:  # e.g. a -shm it cannot make; a file that is no database is DatabaseError
            db.close()
        except BaseException:  # (closed, then raised: session 66, a kept error held the file open)
            db.close()
            raise
    return connect_read_only(path)


def out_of_file_handles(spare: int = 3) -> bool:
    """Whether the process cannot open ``spare`` more files (SQLite's store, -wal and -shm files) for want of file
    handles: its open-file limit, ``ulimit -n``, reached (session 60: "unable to open database file" named no cause)."""
    held: list[int] = []
    try:
        for _ in range(spare):
            held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError as exc:
        return exc.errno in (errno.EMFILE, errno.ENFILE)
    finally:
        for fd in held:
            os.close(fd)
    return False


def given_as(exc: StoreError, flag: str | None) -> StoreError:
    """``exc`` for a store given by ``flag`` (``--into``), or as an argument (None), not by a run's ``--store`` (what
    names a run's store, "the --store of a correlate/grid/search run", stays: session 57)."""
    run = "the --store of a correlate/grid/search run"
    text = str(exc).replace(run, "\0")
    text = text.replace("a --store", "an --into") if flag == "--into" else text
    text = text.replace("--store", flag) if flag else text.replace("another --store", "another store").replace(
        ", or a new path for a new one", "").replace(FRESH_STORE, "")  # a source must exist (session 61; 67: and
    # a fresh store is no cure for a damaged source, nor for accept-code's store)
    return StoreError(text.replace("\0", run))


def json_or_text(text: object) -> object:
    """A stored JSON text (a network's options) as what it holds; text that is not JSON as it is; bytes (damage) as
    :func:`blob_text`."""
    try:
        return json.loads(text) if isinstance(text, str) else blob_text(text)
    except ValueError:
        return text


def blob_text(value: object) -> object:
    """Bytes (a damaged store's cell) as SQLite writes a blob, ``x'00ff'``, which JSON can hold; other values as
    they are (the review of session 69: ``store check --json`` ended in a TypeError on such a cell)."""
    return f"x'{value.hex()}'" if isinstance(value, bytes) else value
