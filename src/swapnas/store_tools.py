"""``swapnas store check`` and ``salvage``: a score store's health, and every readable score of a damaged one copied
into a fresh store (``merge``: :mod:`swapnas.store_merge`).

Salvage reads the ``scores`` table in rowid order with a cursor; where a damaged page stops the
cursor it steps over the damaged stretch rowid by rowid (a point lookup fails only inside the
damaged page) and goes on from the next row that reads whole. A garbage header (the first 100
bytes) is rebuilt on a copy, trying every page size. The primary-key index, which holds every
score's key, counts what could not be read (``lost``): rerunning the command that made them
scores those again.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .scoring import PER_SCORE, fingerprinted
from .store import ScoreStore, description, local_minute, unrecorded_names
from .store_files import (StoreError, blob_text, connect_read_only, connect_reader, existing_store, json_or_text,
                          rows_of_another_kind, rows_of_unreadable_values, stored_time, without_wal)
from .store_pages import leaf_image, leaf_rows, score_like

_SQLITE_MAGIC = b"SQLite format 3\x00"
_PK_INDEX = "sqlite_autoindex_scores_1"
_HEADER_BYTES = 100


@dataclass
class StoreCheck:
    """What ``swapnas store check`` found: ``problems`` is empty for a healthy store."""

    path: str
    size_bytes: int
    problems: list[str]
    scores: int | None = None
    failed: int | None = None
    #: fingerprint → what it covers (:func:`~swapnas.scoring.fingerprinted`: dataset, inputs, init, BN mode, …);
    #: a description SQLite returns but JSON cannot read is kept as ``{"unreadable": text}``
    protocols: dict[str, dict] = field(default_factory=dict)
    #: (protocol fingerprint, space, seed, batch size, repeats, network, scores): the settings scores were stored
    #: under (the space, network, seed, batch size and repeats are not in a fingerprint, they are in every
    #: score's key: nb201 and darts scores on CIFAR-10 share one)
    settings: list[tuple] = field(default_factory=list)
    #: ``name@version`` (or ``net:space@version``) → when the code its scores were made by was recorded
    codes: dict[str, str] = field(default_factory=dict)
    #: the names scores were stored under before the store recorded code (:func:`swapnas.store.unrecorded_names`)
    unrecorded: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict:
        """The report as ``store check --json`` writes it: each setting an object of named fields, its network a JSON
        object where it reads as one (session 69: bare positions, the network a string inside the JSON)."""
        rows = [(*map(blob_text, s[:5]), json_or_text(s[5]), *map(blob_text, s[6:])) for s in self.settings]
        return {**asdict(self), "settings": [dict(zip(SETTING_FIELDS, row)) for row in rows], "ok": self.ok}


SETTING_FIELDS = ("protocol", "space", "seed", "batch_size", "repeats", "net", "scores")  # a settings row's, in order


@dataclass
class Salvage:
    """What ``swapnas store salvage`` copied: ``lost`` is None where the index could not count them."""

    source: str
    out: str
    recovered: int
    lost: int | None
    protocols: int
    damaged_stretches: int
    header_rebuilt: int | None = None  # the page size, when the header was rebuilt
    from_pages: int = 0  # scores read from the table's leaf pages past damaged pages above them (since session 62)


def _try(db: sqlite3.Connection, sql: str, default: object = None) -> object:
    """The first column of the first row of ``sql``, or ``default`` where SQLite cannot read it."""
    try:
        row = db.execute(sql).fetchone()
    except sqlite3.DatabaseError:
        return default
    return default if row is None else row[0]


def _score_columns(db: sqlite3.Connection) -> tuple[str, ...]:
    """The columns of the file's ``scores`` table (none: no such table); a swapnas store's are ``ScoreStore.COLUMNS``."""
    return tuple(row[1] for row in db.execute("PRAGMA table_info(scores)"))


def _long_enough(p: Path) -> Path:
    """``p``, or a ValueError where it is shorter than an SQLite header: SQLite reads a 1-byte file as a sound empty
    database (``check``), and salvage called an empty file "an SQLite file without a scores table" (session 62)."""
    size = p.stat().st_size
    if size < _HEADER_BYTES:
        what = "an empty file" if size == 0 else (
            f"{size} byte{'s' * (size > 1)} long, shorter than an SQLite header ({_HEADER_BYTES} bytes)")
        raise ValueError(f"{p} is {what}, not a swapnas score store (nothing to check or salvage)")
    return p


def check_store(path: str | os.PathLike) -> StoreCheck:
    """Full ``PRAGMA integrity_check`` (every page, every index entry), score and failure counts, and
    the protocols of the store at ``path``, read-only. A sound store is then opened and closed once by
    :func:`~swapnas.store_files.connect_reader`, so the check leaves no ``-shm`` / ``-wal`` beside it (the last
    connection to close removes them; a damaged store is left as it was found)."""
    p = _long_enough(existing_store(path))
    report = StoreCheck(str(p), p.stat().st_size, [])
    try:
        db = connect_read_only(p)
        found = [line for r in db.execute("PRAGMA integrity_check(20)") for line in r[0].splitlines()]
        report.problems = [line for line in found if line != "ok"]
    except sqlite3.DatabaseError as exc:
        report.problems = [str(exc)]
        return report
    with _closing(db):
        columns = _score_columns(db) if not report.problems else ()
        if not report.problems and columns != ScoreStore.COLUMNS:
            tables = _try(db, "SELECT count(*) FROM sqlite_master")
            raise ValueError(f"{p} is a sound SQLite database but not a swapnas score store (it has "
                             f"{'a scores table with other columns' if columns else 'no scores table'})"
                             f"{without_wal(p, tables if isinstance(tables, int) else 1)}")
        report.scores = _try(db, "SELECT count(*) FROM scores NOT INDEXED")  # type: ignore[assignment]
        report.failed = _try(db, "SELECT count(*) FROM scores NOT INDEXED WHERE status = 'failed'")  # type: ignore
        try:
            report.protocols = {fp: fingerprinted(description(d)) for fp, d in db.execute(
                "SELECT fingerprint, description FROM protocols")}
        except sqlite3.DatabaseError as exc:
            report.problems.append(f"protocols table: {exc}")
        try:
            report.settings = db.execute("SELECT protocol, space, seed, batch_size, repeats, net, count(*) FROM scores "
                                         "NOT INDEXED GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6").fetchall()
        except sqlite3.DatabaseError as exc:
            report.problems.append(f"scores table: {exc}")
        recorded, _ = _scan(db, "proxy_code", ("proxy", "created"))
        report.codes = {str(n): local_minute(stored_time(t)) for n, t in recorded}
        if not report.problems:
            report.unrecorded = unrecorded_names(db, report.codes)
            report.problems += _unreadable_rows(db)
    if report.ok:  # sound: one reader's open and close removes the -shm/-wal the read-only check left (session 55)
        connect_reader(p).close()
    return report


def _unreadable_rows(db: sqlite3.Connection) -> list[str]:
    """A problem for the score rows the store's readers do not take: a column of another kind than a score's, values
    that are not a JSON list (session 68: `check` said ok of a store that a run reusing them then called damaged, or
    that ended `merge` and `export` in tracebacks; salvage leaves them out)."""
    kinds, n = rows_of_another_kind(db), rows_of_unreadable_values(db)
    return [f"{k} score{'s' * (k != 1)} with {what} (`swapnas store salvage` leaves {'it' if k == 1 else 'them'} out)"
            for k, what in ((kinds, "a column of another kind than a score's (text for a number, bytes for a name)"),
                            (n, "values that are not a readable JSON list")) if k]


@contextmanager
def _closing(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    try:
        yield db
    finally:
        db.close()


def _top_rowid(db: sqlite3.Connection, table: str) -> int:
    """The largest rowid: from the table, else from the primary-key index, else a bound from the file size."""
    top = _try(db, f"SELECT max(rowid) FROM {table}")
    if top is None and table == "scores":
        top = _try(db, f"SELECT max(rowid) FROM (SELECT rowid FROM scores INDEXED BY {_PK_INDEX})")
    if top is None:
        top = _try(db, "PRAGMA page_count", 0) * 64  # type: ignore[operator]
    return int(top or 0)  # type: ignore[call-overload]


#: the most rowids :func:`_step_over` steps over one at a time (a damaged stretch without a readable index)
_MAX_STEPS = 1 << 20


def _index_rowids(db: sqlite3.Connection, table: str) -> np.ndarray | None:
    """``table``'s rowids as its primary-key index holds them, in order (None where it cannot be read whole; every
    table of a store has one: the review of session 67, a crafted rowid in ``proxy_code``)."""
    try:
        rows = db.execute(f"SELECT rowid FROM {table} INDEXED BY sqlite_autoindex_{table}_1")
        return np.sort(np.fromiter((r for (r,) in rows), dtype=np.int64))
    except sqlite3.DatabaseError:
        return None


def _step_over(db: sqlite3.Connection, table: str, cols: str, start: int,
               top: int, known: np.ndarray | None = None) -> tuple[int, tuple | None, bool]:
    """The first rowid >= ``start`` whose row reads whole, that row, and whether a damaged stretch was
    stepped over (one rowid at a time, or from one rowid of ``known``, the index's, to the next: session 67, a
    rowid of 9e18 beside a damaged page was stepped towards one at a time; gaps in healthy pages are jumped);
    (top + 1, None, …) if none."""
    rowid, damaged, stepped = start, False, 0
    while rowid <= top and stepped < _MAX_STEPS:  # (no index: a crafted top is not stepped towards for ever)
        try:
            row = db.execute(f"SELECT rowid, {cols} FROM {table} WHERE rowid = ?", (rowid,)).fetchone()
            nxt = None if row else db.execute(f"SELECT rowid FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT 1",
                                               (rowid,)).fetchone()
        except sqlite3.DatabaseError:
            at = int(np.searchsorted(known, rowid, side="right")) if known is not None else 0
            rowid, damaged = (rowid + 1 if known is None else int(known[at]) if at < len(known) else top + 1), True
            stepped += known is None
            continue
        if row is not None:
            return rowid, row, damaged
        if nxt is None:  # read to the end without damage: no more rows
            break
        rowid = nxt[0]
    return top + 1, None, damaged


def _scan(db: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> tuple[list[tuple], int]:
    """Every readable row of ``table`` (``columns``), in rowid order, and how many damaged stretches
    were stepped over (:func:`_scan_rows` as a list)."""
    stretches: list[int] = []
    rows = list(_scan_rows(db, table, columns, stretches))
    return rows, sum(stretches)


def _scan_rows(db: sqlite3.Connection, table: str, columns: tuple[str, ...],
               stretches: list[int]) -> Iterator[tuple]:
    """Every readable row of ``table`` (``columns``), in rowid order, read as they are used (session 58: salvage held
    every row of a store, 1.7 GiB for 1.5M rows); each damaged stretch stepped over appends its count to
    ``stretches``. Rowids start at 1, and a row that reads as one below the next expected (a zeroed cell reads
    as rowid 0) is damage, not a row: until session 52 it sent the scan back to rowid 1, over and over, until the
    memory ran out (a store whose tail was zeroed, as after a power loss)."""
    if _try(db, f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'") != 1:
        return
    cols, top = ", ".join(columns), _top_rowid(db, table)
    known: np.ndarray | None = None  # (read at the first damage only)
    start, looked = 1, False
    while True:
        try:
            for row in db.execute(f"SELECT rowid, {cols} FROM {table} WHERE rowid >= ? ORDER BY rowid", (start,)):
                if row[0] < start:
                    continue
                start = row[0] + 1
                yield row[1:]
            return
        except sqlite3.DatabaseError:  # (the error may come one row early: sqlite3 steps ahead)
            if not looked:  # (once, at the first damage)
                known, looked = _index_rowids(db, table), True
            start, row, damaged = _step_over(db, table, cols, start, top, known)
            stretches.append(damaged)
            if row is None:
                return
            yield row[1:]
            start += 1


def _header(page_size: int, pages: int) -> bytes:
    """A valid 100-byte SQLite header (rollback journal, UTF-8, schema format 4, empty freelist)."""
    return (_SQLITE_MAGIC + struct.pack(">HBBBBBB", 1 if page_size == 65536 else page_size, 1, 1, 0, 64, 32, 32)
            + struct.pack(">12I", 1, pages, 0, 0, 1, 4, 0, 0, 1, 0, 0, 0)
            + bytes(20) + struct.pack(">II", 1, sqlite3.sqlite_version_info[0] * 1_000_000
                                      + sqlite3.sqlite_version_info[1] * 1000 + sqlite3.sqlite_version_info[2]))


def _rebuild_header(src: Path, work: Path) -> tuple[sqlite3.Connection, int] | None:
    """A read-only connection to a copy of ``src`` with a rebuilt header, and its page size; None if
    no page size makes the schema readable. The first page size under which the whole scores table reads is
    taken, else the first under which the schema reads: a wrong one can read the schema (page 1 starts at byte
    0 under every page size) and then no score. A page size the file's own header still gives (a file cut short,
    its header whole) is tried first and taken once the schema reads under it. At most two copies are kept on disk
    at a time."""
    size = src.stat().st_size
    fallback: tuple[sqlite3.Connection, int, Path] | None = None
    declared = _declared_page_size(src)
    for page_size in dict.fromkeys((declared, 4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)):
        if page_size is None or size < page_size:
            continue
        copy, pages = work / f"header_{page_size}.sqlite", -(-size // page_size)
        shutil.copyfile(src, copy)
        with open(copy, "r+b") as f:  # a file cut mid-page (an interrupted copy): its last page counts, SQLite reads
            f.write(_header(page_size, pages))  # the missing part as zeros (until session 52 such a file was refused)
        db = sqlite3.connect(copy.resolve().as_uri() + "?mode=ro", uri=True)
        if _try(db, "SELECT count(*) FROM sqlite_master WHERE name = 'scores'") == 1:
            if page_size == declared or _try(db, "SELECT count(*) FROM scores NOT INDEXED") is not None:
                if fallback is not None:
                    _drop(fallback[0], fallback[2])
                return db, page_size
            if fallback is None:
                fallback = (db, page_size, copy)
                continue
        _drop(db, copy)
    return None if fallback is None else fallback[:2]


def _declared_page_size(src: Path) -> int | None:
    """The page size in ``src``'s header where the header still starts with SQLite's magic and gives a valid one."""
    with open(src, "rb") as f:
        head = f.read(18)
    if len(head) < 18 or not head.startswith(_SQLITE_MAGIC):
        return None
    size = struct.unpack(">H", head[16:18])[0]
    size = 65536 if size == 1 else size
    return size if 512 <= size <= 65536 and size & (size - 1) == 0 else None


def _drop(db: sqlite3.Connection, copy: Path) -> None:
    db.close()
    copy.unlink(missing_ok=True)


def _open_source(src: Path, work: Path) -> tuple[sqlite3.Connection, int | None]:
    """A read-only connection to ``src`` (to a copy with a rebuilt header if its own is damaged), and
    the rebuilt header's page size (None if not rebuilt)."""
    try:
        db = connect_read_only(src)
    except sqlite3.DatabaseError:
        db = None
    tables = None if db is None else _try(db, "SELECT count(*) FROM sqlite_master WHERE name = 'scores'")
    if tables == 1:
        assert db is not None
        try:
            columns = _score_columns(db)
        except sqlite3.DatabaseError:  # a damaged schema: the scan steps over what it cannot read
            columns = ScoreStore.COLUMNS
        if columns != ScoreStore.COLUMNS:  # another program's table of that name: nothing of ours to salvage
            db.close()
            raise StoreError(f"{src} is not a swapnas score store (its scores table has the columns "
                             f"{', '.join(columns) or 'none'}, not {', '.join(ScoreStore.COLUMNS)})")
        return db, None
    anything = None if db is None else _try(db, "SELECT count(*) FROM sqlite_master")
    if db is not None:
        db.close()
    if tables == 0:
        raise StoreError(f"{src} is an SQLite file without a scores table: not a swapnas score store"
                         f"{without_wal(src, anything if isinstance(anything, int) else 1)}")
    rebuilt = _rebuild_header(src, work)
    if rebuilt is None:
        raise StoreError(f"no page of {src} can be read as a score store (its header or its schema's pages are "
                         "damaged, or the file is cut short before them): "
                         "no score can be recovered; restore it from a backup, or start a fresh store with "
                         "--store NEW.sqlite")
    return rebuilt


def salvage_store(src: str | os.PathLike, out: str | os.PathLike) -> Salvage:
    """Copy every readable score and protocol of the store ``src`` into a new store ``out`` (which must
    not exist); ``src`` is only read."""
    source, dest = _long_enough(existing_store(src)), Path(out)
    if dest.exists():
        raise StoreError(f"--out {dest} exists; salvage writes a new store only: give a new file name")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        work = tempfile.TemporaryDirectory(dir=dest.parent, prefix=".salvage.")
    except OSError as exc:
        raise StoreError(f"--out {dest}: cannot write there ({exc.strerror or exc}); give a path in a folder you "
                         "can write") from None
    damage: list[int] = []
    with work as tmp:
        db, page_size = _open_source(source, Path(tmp))
        built = Path(tmp) / "salvaged.sqlite"  # made whole beside OUT, then given its name: no part-made store there
        try:
            with _closing(db), ScoreStore(built) as new:  # the scores stream from the source into the new store
                protocols, more = _scan(db, "protocols", ("fingerprint", "description"))
                codes, _ = _scan(db, "proxy_code", ("proxy", "digest", "created"))
                rows = (r for r in _scan_rows(db, "scores", ScoreStore.COLUMNS, damage) if score_like(list(r)))
                new.insert_rows(rows, protocols, codes=codes)  # (session 68: rows no reader takes were kept)
                indexed = _try(db, f"SELECT count(*) FROM (SELECT rowid FROM scores INDEXED BY {_PK_INDEX})")
                pages = 0
                if sum(damage) or more or indexed is None or int(indexed) > new.count():  # type: ignore[call-overload]
                    size = page_size or int(_try(db, "PRAGMA page_size", 4096))  # type: ignore[call-overload]
                    if (image := leaf_image(source, Path(tmp))) is not None:  # rows read first are kept (a key once)
                        pages = new.insert_rows(leaf_rows(image, size, score_like))[0]
                recovered, kept = new.count(), len(new.protocols())
        except StoreError as exc:  # (session 59: it named the work folder's file, removed as the error was said)
            raise StoreError(f"--out {dest}: the salvaged store could not be written ({exc.__cause__ or exc}; a full "
                             "disk, or the process's file-size limit, `ulimit -f`): nothing was named "
                             f"{dest.name}; free space, or give an --out on another disk") from exc
        _name(built, dest)
    stretches = sum(damage)
    # the primary-key index counts the rows that were stored (rows read whole but unreadable as scores, such as
    # zeroed cells, are lost too: session 52 said "0 lost" for them); without it, a scan with no damage lost none
    lost = (max(int(indexed) - recovered, 0) if indexed is not None  # type: ignore[call-overload]
            else None if stretches else 0)
    return Salvage(str(source), str(dest), recovered, lost, kept, stretches + more, page_size, pages)


def _name(built: Path, dest: Path) -> None:
    """Give the closed store ``built`` the name ``dest`` unless something took that name meanwhile (a hard link,
    which fails on an existing name; a rename where the file system has no links)."""
    try:
        os.link(built, dest)
        return
    except FileExistsError:
        pass
    except OSError:  # no hard links here (some network and FAT file systems)
        if not dest.exists():
            os.replace(built, dest)
            return
    raise StoreError(f"--out {dest} was made by another process while this salvage ran, and is left as it is; "
                     "salvage again with a new file name")


def check_text(report: StoreCheck) -> str:
    """``swapnas store check``'s lines."""
    state = "ok" if report.ok else "DAMAGED"
    count = "?" if report.scores is None else f"{report.scores} scores ({report.failed} failed)"
    n = len(report.protocols)
    size = (f"{report.size_bytes / 2**10:.1f} KiB" if report.size_bytes < 1023.95 * 2**10 else  # (a small store
            f"{report.size_bytes / 2**20:.1f} MiB")  # read "0.0 MiB" until session 70; never "1024.0 KiB")
    lines = [f"{report.path}: {state} | {count} | {n} protocol{'' if n == 1 else 's'} | {size}"]
    lines += [f"  protocol {fp}: {json.dumps(desc, sort_keys=True)}" for fp, desc in sorted(report.protocols.items())]
    if report.protocols:
        lines.append(f"  ({', '.join(PER_SCORE)} are not part of a fingerprint: see the 'scored under' lines)")
    lines += [f"  scored under {fp}: {space}, seed {seed}, S={batch}, R={repeats}, net {net}: {n} scores"
              for fp, space, seed, batch, repeats, net, n in report.settings]
    if report.codes:
        codes = ", ".join(f"{n} ({t})" for n, t in sorted(report.codes.items()))
        lines.append(f"  code of the scores, recorded: {codes} (a run whose code differs warns; `swapnas store "
                     "accept-code` records new code)")
    if report.unrecorded:
        lines.append(f"  scores made before the store recorded code: {', '.join(report.unrecorded)} (a run warns that "
                     "what made them cannot be compared; `swapnas store accept-code` records the code that runs now)")
    lines += [f"  problem: {p}" for p in report.problems]
    return "\n".join(lines)


def salvage_text(s: Salvage) -> str:
    """``swapnas store salvage``'s lines."""
    lost = "an unknown number of scores lost (the key index is damaged too)" if s.lost is None else f"{s.lost} lost"
    lines = [f"salvaged {s.source} into {s.out}: {s.recovered} scores recovered, {lost}, {s.protocols} protocol"
             f"{'' if s.protocols == 1 else 's'}"]
    if s.header_rebuilt:
        lines.append(f"  its header was rebuilt (page size {s.header_rebuilt}): the file's own was damaged or the file "
                     "cut short")
    if s.damaged_stretches:
        lines.append(f"  {s.damaged_stretches} damaged stretch(es) stepped over")
    if s.from_pages:
        lines.append(f"  {s.from_pages} of the scores read from the table's leaf pages, past damaged pages above them")
    if s.lost:
        lines.append(f"  rerun the commands that made the store with --store {s.out}: they score the lost ones again")
    return "\n".join(lines)


__all__ = ["SETTING_FIELDS", "Salvage", "StoreCheck", "check_store", "check_text", "existing_store", "salvage_store",
           "salvage_text"]
