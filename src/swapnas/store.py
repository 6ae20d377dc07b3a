"""SQLite score store: one row per (space, arch, proxy, protocol, seed, S, repeats, net).

Each score is committed as soon as it is computed, so a crash, Ctrl-C or kill loses at most the architecture in
flight; a rerun skips what is stored. Failures are rows too (status 'failed' with the error message).

Faults are :class:`StoreError` (a ``ValueError``: the CLI prints it and exits 2) naming the file
and what to do: a damaged file (found on open by ``PRAGMA quick_check``, or by any later read), a
read-only file or folder (opened read-only: what is stored can be read, a write is refused), a full
disk (every score committed before is kept; rerun to resume), a store locked too long.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Protocol

from .store_files import (LOCK_WAIT_S, StoreError, connect, connect_reader, damaged_advice, misused, not_a_store,
                          out_of_file_handles, stored_record, stored_time, without_wal)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    space TEXT NOT NULL, arch TEXT NOT NULL, proxy TEXT NOT NULL, protocol TEXT NOT NULL,
    seed INTEGER NOT NULL, batch_size INTEGER NOT NULL, repeats INTEGER NOT NULL, net TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    value REAL, std REAL, values_json TEXT, seconds REAL, peak_mem_bytes INTEGER,
    error TEXT, device TEXT, created REAL NOT NULL,
    PRIMARY KEY (space, arch, proxy, protocol, seed, batch_size, repeats, net)
);
CREATE TABLE IF NOT EXISTS protocols (fingerprint TEXT PRIMARY KEY, description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS proxy_code (proxy TEXT PRIMARY KEY, digest TEXT NOT NULL, created REAL NOT NULL);
"""

#: :meth:`ScoreStore.code_changed`'s answer for a name whose scores were made before the store recorded code
UNRECORDED = -1.0

#: above this size the open skips ``PRAGMA quick_check`` (it reads every page: about 2 ms per MB, so
#: 10 ms for 15k scores, 0.5 s at this size) and only reads the schema; later reads still catch damage
QUICK_CHECK_MAX_BYTES = 256 * 2**20


@dataclass(frozen=True)
class ScoreKey:
    space: str
    arch: str
    proxy: str
    protocol: str
    seed: int
    batch_size: int
    repeats: int
    net: str

    def as_tuple(self) -> tuple:
        """The key's values in the order of the store's key columns (the fields' order)."""
        return tuple(getattr(self, c) for c in _KEY_COLUMNS)


def local_minute(t: float) -> str:
    """A stored time (Unix seconds, e.g. when a code was recorded) as the user's local ``YYYY-MM-DD HH:MM+HH:MM``
    (session 67: with its offset from UTC, so that a --json report says the same moment under every ``TZ``)."""
    try:
        return datetime.fromtimestamp(t).astimezone().isoformat(sep=" ", timespec="minutes")
    except (OverflowError, OSError, ValueError):  # (session 68: a time past time_t ended `store check` in a traceback)
        return f"an unreadable time ({t!r})"


#: a record's status: a score, or a failure with its message (the table's CHECK)
STATUSES = ("ok", "failed")
_KEY_COLUMNS = tuple(f.name for f in fields(ScoreKey))  # the table's key columns: ScoreKey's fields, in order
#: write a score, replacing a stored one unless that is a success and this a failure (two runs sharing a
#: store may score one arch at once: the one that failed, e.g. out of GPU memory, must not undo the other)
_VALUE_COLUMNS = ("status", "value", "std", "values_json", "seconds", "peak_mem_bytes", "error", "device", "created")
#: (two statements, one transaction: SQLite's UPSERT needs 3.24, and clusters still run older libraries)
_INSERT_NEW = f"INSERT OR IGNORE INTO scores VALUES ({','.join('?' * (len(_KEY_COLUMNS) + len(_VALUE_COLUMNS)))})"
_KEY_MATCH = " AND ".join(f"{c} = ?" for c in _KEY_COLUMNS)  # one row by its key, the key's values in order
_REPLACE_UNLESS_LOSING_A_SCORE = (
    f"UPDATE scores SET {', '.join(f'{c} = ?' for c in _VALUE_COLUMNS)} "
    f"WHERE {_KEY_MATCH} AND (status <> 'ok' OR ? = 'ok')")
_STATUS_OF = f"SELECT status, value FROM scores WHERE {_KEY_MATCH}"
_GET = f"SELECT status, value, std, values_json, seconds, peak_mem_bytes, error FROM scores WHERE {_KEY_MATCH}"
_SCORE_OVER_FAILURE = _REPLACE_UNLESS_LOSING_A_SCORE.replace("(status <> 'ok' OR ? = 'ok')", "status <> 'ok'")


@dataclass(frozen=True)
class Record:
    status: str
    value: float | None
    std: float | None
    values: list[float]
    seconds: float | None
    peak_mem_bytes: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class RecordStore(Protocol):
    """What scoring reads and writes records through: :class:`ScoreStore` (SQLite) and
    :class:`PreloadedRecords` (an executor worker's read-only view of the driver's store)."""

    def get(self, key: ScoreKey) -> Record | None: ...
    def put(self, key: ScoreKey, record: Record, device: str = "") -> None: ...


class PreloadedRecords:
    """A read-only :class:`RecordStore` of records the driver read from its store for one arch:
    ``get`` returns them and ``put`` drops its record (the driver, the store's only writer,
    writes what the worker returns)."""

    def __init__(self, known: dict[ScoreKey, Record]):
        self._known = known

    def get(self, key: ScoreKey) -> Record | None:
        return self._known.get(key)

    def put(self, key: ScoreKey, record: Record, device: str = "") -> None:
        pass


class ScoreStore:
    """A score store backed by one SQLite file (``":memory:"`` for a throwaway one).

    A damaged file raises :class:`StoreError` on open; a file or folder this process cannot write
    opens read-only (``read_only`` says why): reads work, a write raises :class:`StoreError`.
    """

    def __init__(self, path: str | os.PathLike, read_only: bool = False):
        self.path = str(path)
        self.read_only = ""
        if self.path == ":memory:":
            self._db = sqlite3.connect(self.path)
        elif read_only:  # a reader (export, merge's sources; store check opens its own): no row is written
            if not Path(self.path).is_file():
                raise StoreError(f"no score store at {self.path}")
            with self._guard():  # a file that is not SQLite fails here when opened read-only
                self._db, self.read_only = connect_reader(Path(self.path)), "opened for reading"
        else:
            with self._guard():
                self._db, self.read_only = connect(Path(self.path))
        try:
            with self._guard():
                self._open_waiting()
        except BaseException:
            self._db.close()
            raise

    def _open_waiting(self) -> None:
        """:meth:`_open`, tried again for up to :data:`LOCK_WAIT_S` while another process holds a lock it needs.
        SQLite's busy wait does not cover every conflict: a statement that reads before it writes (the change to WAL
        mode does) gets SQLITE_BUSY at once when another connection holds the write lock, so two processes opening
        one new store at the same moment could fail without waiting."""
        start = time.monotonic()
        while True:
            try:
                self._open()
                return
            except sqlite3.OperationalError as exc:
                if not _is_lock_conflict(exc) or time.monotonic() - start >= LOCK_WAIT_S:
                    raise
                with suppress(sqlite3.Error):  # (a rollback after a failed write)
                    self._db.rollback()
                time.sleep(random.uniform(0.01, 0.05))

    def __repr__(self) -> str:
        return f"ScoreStore({self.path!r}" + (f", {self.read_only}" if self.read_only else "") + ")"

    def _open(self) -> None:
        if self.path != ":memory:" and os.path.getsize(self.path) <= QUICK_CHECK_MAX_BYTES:
            problems = [row[0] for row in self._db.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(" ".join("; ".join(problems).split()))
        columns = tuple(row[1] for row in self._db.execute("PRAGMA table_info(scores)"))
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if (columns or self.read_only or tables - {"protocols"}) and columns != self.COLUMNS:
            raise StoreError(f"{self.path} is not a swapnas score store (it has no scores table with the columns "
                             f"{', '.join(self.COLUMNS)}){without_wal(self.path, tables)}; give another --store")
        if not self.read_only:
            if self.path != ":memory:":
                # WAL, no fsync per commit: a crash of the process loses no committed score (a power
                # cut may lose the last few); a commit costs ~0.04 ms instead of ~1 ms
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.commit()

    @contextmanager
    def _guard(self, saving: bool = False) -> Iterator[None]:
        """SQLite errors as :class:`StoreError` naming the file and what to do."""
        start = time.monotonic()
        try:
            yield
        except BaseException as exc:  # a Ctrl-C between a write and its commit too (session 66: it left a write lock)
            if saving:
                with suppress(sqlite3.Error):  # (a rollback after a failed write)
                    self._db.rollback()
            if isinstance(exc, sqlite3.DatabaseError):
                raise self._error(exc, time.monotonic() - start) from exc
            raise

    def _error(self, exc: sqlite3.DatabaseError, waited: float = 0.0) -> StoreError:
        name, text = getattr(exc, "sqlite_errorname", "") or "", str(exc).lower()
        if isinstance(exc, sqlite3.ProgrammingError) and ("closed" in text or "thread" in text):  # misuse, not damage
            return StoreError(misused(self.path, text))
        if name == "SQLITE_FULL" or "disk is full" in text:
            return StoreError(f"the disk holding the score store {self.path} is full ({self._saved()} saved in it, "
                              "all kept); free space on that disk, or move the store with its -wal file and pass "
                              "--store, then rerun the same command: it resumes from the stored scores")
        if name.startswith("SQLITE_READONLY") or "readonly" in text:
            return self._read_only_error("the file system refused the write")
        if _is_lock_conflict(exc):
            # SQLite waits up to LOCK_WAIT_S for a lock, but reports some conflicts at once: the time says which
            return StoreError(f"the score store {self.path} was locked by another process ({exc}, after {waited:.1f} s "
                              f"of the up to {LOCK_WAIT_S:g} s SQLite waits); rerun when that process is done, or use "
                              "another --store")
        if isinstance(exc, sqlite3.OperationalError) and not name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) \
                and "could not decode" not in text:  # a row's text bytes changed: damage (session 62: "cannot use")
            cause = ": a failing or full disk, or the process's file-size limit, `ulimit -f`" * (
                name.startswith("SQLITE_IOERR") or "disk i/o error" in text)
            kept = " (the scores saved in it are kept)" * os.path.isfile(self.path)
            if (name.startswith("SQLITE_CANTOPEN") or "unable to open" in text) and out_of_file_handles():
                return StoreError(f"cannot open the score store {self.path} ({exc}): the process has as many files "
                                  f"open as its limit allows; raise it, `ulimit -n 4096`, and rerun{kept}")
            return StoreError(f"cannot use the score store {self.path} ({exc}{cause}); check the file and its disk, or "
                              f"give another --store{kept}")
        if (why := not_a_store(self.path)) is not None:  # e.g. a CSV given as --store: nothing to salvage
            return StoreError(f"{self.path} is not a swapnas score store ({why}): give the path of a store (the "
                              "--store of a correlate/grid/search run), or a new path for a new one")
        return StoreError(f"the score store {self.path} is damaged ({exc}); {damaged_advice(self.path)}")

    def _saved(self) -> str:
        try:
            n = self.count()
            return f"{n} score{'' if n == 1 else 's'}"
        except StoreError:
            return "scores"

    def _read_only_error(self, why: str) -> StoreError:
        return StoreError(f"the score store {self.path} is read-only ({why}): its {self._saved()} can be read but "
                          "no new score can be saved; copy it (with its -wal file, if any) somewhere writable and "
                          "pass --store COPY, or give --store NEW.sqlite for a fresh store")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ScoreStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_protocol(self, fingerprint: str, description: dict) -> None:
        """Record a protocol's description (a read-only store accepts one it already holds)."""
        if self.read_only:
            with self._guard():
                if self._db.execute("SELECT 1 FROM protocols WHERE fingerprint=?", (fingerprint,)).fetchone():
                    return
            raise self._read_only_error(self.read_only)
        with self._guard(saving=True):
            self._db.execute("INSERT OR IGNORE INTO protocols VALUES (?, ?)",
                             (fingerprint, json.dumps(description, sort_keys=True)))
            self._db.commit()

    def code_changed(self, proxy: str, digest: str, legacy: str | None = None) -> float | None:
        """Compare ``digest`` (:func:`~swapnas.proxies.code.code_digest`) with the code recorded for ``proxy``
        (``name@version``): the time the other digest was recorded if they differ, else None; :data:`UNRECORDED` where
        the store holds scores under ``proxy`` and no code (nothing is recorded then). A digest is recorded where none
        is (the first scores' code); another is kept until :meth:`accept_code` replaces it (until session 55 the first
        run that warned did, and later runs were quiet about the old code's scores). A read-only store records nothing.
        A record equal to ``legacy`` (the running code's digest as recorded until session 62) is the running code's."""
        with self._guard(saving=not self.read_only):
            row = self._db.execute("SELECT digest, created FROM proxy_code WHERE proxy=?", (proxy,)).fetchone() \
                if self._has_code_table() else None
            if row is None and self._scored_unrecorded(proxy):  # made before stores recorded code: not the running
                return UNRECORDED  # code's, as until session 57, when the first later run recorded its own for them
            if not self.read_only and row is None:  # two runs may start at once: the first one's row stands
                # (a writable store made before digests were recorded got the table when opened)
                self._db.execute("INSERT OR IGNORE INTO proxy_code VALUES (?, ?, ?)", (proxy, digest, time.time()))
                self._db.commit()
                row = self._db.execute("SELECT digest, created FROM proxy_code WHERE proxy=?", (proxy,)).fetchone()
            if row is not None and row[0] != digest and row[0] == legacy:  # (keeping the time it was recorded)
                if not self.read_only:  # (only that record: an accept-code meanwhile stands; the review)
                    self._db.execute("UPDATE proxy_code SET digest=? WHERE proxy=? AND digest=?",
                                     (digest, proxy, legacy))
                    self._db.commit()
                return None
        return stored_time(row[1]) if row is not None and row[0] != digest else None  # (a text time: the review)

    def _scored_unrecorded(self, name: str) -> bool:
        """Scores under ``name`` (``proxy@version``, ``net:space@1``) that no recorded code stands beside (read until
        one is found; a name met without scores is recorded then, so a store is read whole once per new name). A
        network of another version than 1 is in the protocol's fingerprint: its scores are not told apart here, and it
        is never unrecorded."""
        if name.startswith("net:"):
            space, _, version = name[4:].rpartition("@")
            if version != "1":
                return False
            return self._db.execute("SELECT 1 FROM scores WHERE space = ? LIMIT 1", (space,)).fetchone() is not None
        # swap@1, or swap_reg@1[mu=…,sigma=…] with options
        return self._db.execute("SELECT 1 FROM scores WHERE proxy = ? OR substr(proxy, 1, ?) = ? LIMIT 1",
                                (name, len(name) + 1, name + "[")).fetchone() is not None

    def unrecorded_code(self) -> list[str]:
        """The names (``swap@1``, ``net:nb201@1``) the store holds scores under without recorded code: scores made
        before swapnas recorded it (:meth:`code_changed` answers :data:`UNRECORDED` for them)."""
        recorded = self.recorded_code()
        with self._guard():
            return unrecorded_names(self._db, recorded)

    def recorded_code(self) -> dict[str, tuple[str, float]]:
        """Each ``name@version`` (proxies) or ``net:space@version`` (networks) the store records: (digest, time)."""
        with self._guard():
            if not self._has_code_table():
                return {}
            return {name: (digest, stored_time(t)) for name, digest, t in self._db.execute(
                "SELECT proxy, digest, created FROM proxy_code")}

    def accept_code(self, name: str, digest: str) -> None:
        """Record ``digest`` as the code of ``name``'s stored scores (``swapnas store accept-code``: the user says
        the change left the values alone)."""
        with self._guard(saving=True):
            if self.read_only:
                raise StoreError(f"the score store {self.path} is read-only ({self.read_only}): the code it records "
                                 "cannot change; make it writable, or copy it (with its -wal file, if any) and accept "
                                 "the code in the copy")
            self._db.execute("INSERT OR REPLACE INTO proxy_code VALUES (?, ?, ?)", (name, digest, time.time()))
            self._db.commit()

    def _has_code_table(self) -> bool:
        return self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'proxy_code'"
                                ).fetchone() is not None

    def put(self, key: ScoreKey, record: Record, device: str = "") -> None:
        """Write one score (or failure) and commit at once."""
        if self.read_only:
            raise self._read_only_error(self.read_only)
        # the table's constraints would drop such a row without a word (INSERT OR IGNORE ignores them too)
        if record.status not in STATUSES:
            raise ValueError(f"a score record's status is one of {', '.join(STATUSES)}, not {record.status!r}; "
                             f"nothing was saved for {key.arch}")
        empty = [f.name for f in fields(ScoreKey) if getattr(key, f.name) is None]
        if empty:
            raise ValueError(f"a score key needs every field; None in {', '.join(empty)} (nothing was saved)")
        with self._guard(saving=True):
            values = (record.status, record.value, record.std, json.dumps(record.values), record.seconds,
                      record.peak_mem_bytes, record.error, device, time.time())
            if self._db.execute(_INSERT_NEW, (*key.as_tuple(), *values)).rowcount == 0:  # stored before
                self._db.execute(_REPLACE_UNLESS_LOSING_A_SCORE, (*values, *key.as_tuple(), record.status))
            self._db.commit()

    def insert_rows(self, rows: Iterable[tuple], protocols: Iterable[tuple[str, str]] = (),
                    over_failures: bool = False, codes: Iterable[tuple[str, str, float]] = ()) -> tuple[int, int]:
        """Copy raw rows (:attr:`COLUMNS` order), (fingerprint, description JSON) pairs and recorded codes (name,
        digest, time: :meth:`recorded_code`) in one transaction, keeping what is stored (``swapnas store salvage``)
        but, with ``over_failures``, a stored failure whose row here is a score (``swapnas store merge``); rows SQLite
        rejects are skipped. The rows added and the failures replaced."""
        if self.read_only:
            raise self._read_only_error(self.read_only)
        added = replaced = 0
        n = len(_KEY_COLUMNS)
        ok = n + _VALUE_COLUMNS.index("status")
        with self._guard(saving=True):
            for row in rows:
                added += self._db.execute(_INSERT_NEW, row).rowcount
                if over_failures and row[ok] == "ok":  # the stored one a failure: the score takes its place
                    replaced += self._db.execute(_SCORE_OVER_FAILURE, (*row[n:], *row[:n])).rowcount
            self._db.executemany("INSERT OR IGNORE INTO protocols VALUES (?, ?)", protocols)
            self._db.executemany("INSERT OR IGNORE INTO proxy_code VALUES (?, ?, ?)", codes)
            self._db.commit()
        return added, replaced

    def get(self, key: ScoreKey) -> Record | None:
        with self._guard():
            row = self._db.execute(_GET, key.as_tuple()).fetchone()
        if row is None:
            return None
        return Record(*stored_record(row, self.path))

    def status_of(self, key: tuple) -> tuple[str, float | None] | None:
        """The (status, value) stored under a raw key (the key columns of :attr:`COLUMNS`, in order); None if none."""
        with self._guard():
            return self._db.execute(_STATUS_OF, key).fetchone()

    def count(self) -> int:
        with self._guard():
            return int(self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])

    #: the columns :meth:`rows` yields, in order
    COLUMNS = _KEY_COLUMNS + _VALUE_COLUMNS

    def rows(self) -> list[dict]:
        """Every stored score (failures included) as a dict of :attr:`COLUMNS`, in a stable order."""
        return list(self.iter_rows())

    def iter_rows(self, protocol: str | None = None, status: str | None = None) -> Generator[dict, None, None]:
        """:meth:`rows` read as they are used (session 58: a list of 1.5M rows took 2 GiB), those of one protocol
        fingerprint or of one status only if given. The store must stay open while they are read; one read that
        stops early is closed (``contextlib.closing``), or the store's files are let go only when it is collected."""
        where = " AND ".join(f"{c} = ?" for c, v in (("protocol", protocol), ("status", status)) if v is not None)
        with self._guard():
            cur = self._db.execute(f"SELECT {', '.join(self.COLUMNS)} FROM scores {'WHERE ' + where if where else ''} "
                                   "ORDER BY space, proxy, protocol, seed, batch_size, repeats, net, arch",
                                   [v for v in (protocol, status) if v is not None])
            for row in cur:
                yield dict(zip(self.COLUMNS, row))

    def distinct(self, *columns: str) -> list[tuple]:
        """The distinct combinations of ``columns`` (of :attr:`COLUMNS`) among the stored scores, sorted."""
        if unknown := set(columns) - set(self.COLUMNS):
            raise ValueError(f"the scores table has no column {sorted(unknown)[0]!r}")
        cols = ", ".join(columns)
        with self._guard():
            return self._db.execute(f"SELECT DISTINCT {cols} FROM scores ORDER BY {cols}").fetchall()

    def protocols(self) -> dict[str, dict]:
        """Fingerprint → the protocol's description, for every protocol in the store (:func:`description`)."""
        with self._guard():
            return {fp: description(d) for fp, d in self._db.execute("SELECT fingerprint, description FROM protocols")}


def unrecorded_names(db: sqlite3.Connection, recorded: Iterable[str]) -> list[str]:
    """The ``proxy@version`` and ``net:space@1`` names of ``db``'s scores that ``recorded`` lacks (options dropped)."""
    proxies = {p.partition("[")[0] for (p,) in db.execute("SELECT DISTINCT proxy FROM scores") if isinstance(p, str)}
    spaces = {f"net:{s}@1" for (s,) in db.execute("SELECT DISTINCT space FROM scores") if isinstance(s, str)}
    return sorted((proxies | spaces) - set(recorded))


def description(text: object) -> dict:
    """A stored protocol description read back; ``{"unreadable": text}`` where it is not a JSON object (a damaged or
    hand-edited row: the tools that read descriptions report it instead of stopping)."""
    try:
        doc = json.loads(text)  # type: ignore[arg-type]
    except (TypeError, ValueError, RecursionError):
        return {"unreadable": text}
    return doc if isinstance(doc, dict) else {"unreadable": text}


def _is_lock_conflict(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite refused ``exc``'s statement because another connection held a lock."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc).lower()
