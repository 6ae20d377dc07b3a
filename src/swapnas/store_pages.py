"""The rows of a damaged store read straight from its table leaf pages, salvage's second pass.

``swapnas store salvage`` reads the scores through SQLite, by rowid, down the table's b-tree: a damaged interior
page hides every leaf below it (session 62's audit: the zeroed root page of a store's scores table, and all 48 rows,
intact on their leaf pages, were "lost"). This module reads each page of the file that is a table b-tree leaf (page
type 13) and decodes its cells as SQLite's file format defines them (sqlite.org/fileformat2.html: varints, the
record header's serial types, overflow chains), skipping the pages the freelist names (freed pages may hold rows
that were replaced). It reads a copy with the store's ``-wal`` checkpointed in where one holds pages
(:func:`leaf_image`), and salvage keeps the records that have a score row's columns (:func:`score_like`) and
that the first pass did not read.
"""

from __future__ import annotations

import mmap
import shutil
import sqlite3
import struct
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

from .store import ScoreStore
from .store_files import COLUMN_KINDS, values_problem

_MAGIC = b"SQLite format 3\x00"
_TABLE_LEAF = 13
_LEAF_HEADER = 8
#: bytes of each integer serial type 1..6
_INT_BYTES = (1, 2, 3, 4, 6, 8)


def varint(buf: bytes | mmap.mmap, i: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``buf[i]``: its value and the index after it (1 to 9 bytes; the ninth gives all
    8 bits). An IndexError where the buffer ends first."""
    value = 0
    for k in range(8):
        byte = buf[i + k]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, i + k + 1
    return (value << 8) | buf[i + 8], i + 9


def record(payload: bytes) -> list | None:
    """The values of one record (a row): its header's serial types, then the values (NULL, big-endian integers,
    float64, 0 and 1, blobs, UTF-8 text); None where the bytes do not make a whole record."""
    size, i = varint(payload, 0)
    if not 0 < size <= len(payload):
        return None
    types = []
    while i < size:
        kind, i = varint(payload, i)
        types.append(kind)
    values: list = []
    j = size
    for kind in types:
        if kind in (10, 11):  # reserved
            return None
        n = (_INT_BYTES[kind - 1] if 1 <= kind <= 6 else 8 if kind == 7 else (kind - 12) // 2 if kind >= 12 else 0)
        if j + n > len(payload):
            return None
        raw = payload[j:j + n]
        j += n
        values.append(None if kind == 0 else int.from_bytes(raw, "big", signed=True) if kind <= 6 else
                      struct.unpack(">d", raw)[0] if kind == 7 else kind - 8 if kind in (8, 9) else
                      bytes(raw).decode("utf-8") if kind % 2 else bytes(raw))
    return values


def _payload(mem: mmap.mmap, cell: int, usable: int, page_size: int, pages: int) -> bytes | None:
    """A table leaf cell's payload, its overflow pages followed; None where the chain breaks off."""
    total, i = varint(mem, cell)
    _, i = varint(mem, i)  # the rowid: the copy is given rowids of its own
    most = usable - 35
    if total <= most:
        return bytes(mem[i:i + total])
    least = (usable - 12) * 32 // 255 - 23
    local = least + (total - least) % (usable - 4)
    local = local if local <= most else least
    out = bytearray(mem[i:i + local])
    nxt, seen = int.from_bytes(mem[i + local:i + local + 4], "big"), set()
    while len(out) < total and 0 < nxt <= pages and nxt not in seen:
        seen.add(nxt)
        start = (nxt - 1) * page_size
        out += mem[start + 4:start + 4 + min(usable - 4, total - len(out))]
        nxt = int.from_bytes(mem[start:start + 4], "big")
    return bytes(out) if len(out) == total else None


def _freelist(mem: mmap.mmap, page_size: int, pages: int) -> set[int]:
    """The pages the header's freelist names (its trunk pages and their leaves); none where the header is not
    SQLite's."""
    if mem[:16] != _MAGIC:
        return set()
    free: set[int] = set()
    trunk = int.from_bytes(mem[32:36], "big")
    while 0 < trunk <= pages and trunk not in free:
        free.add(trunk)
        start = (trunk - 1) * page_size
        count = min(int.from_bytes(mem[start + 4:start + 8], "big"), (page_size - 8) // 4)
        free.update(int.from_bytes(mem[start + 8 + 4 * k:start + 12 + 4 * k], "big") for k in range(count))
        trunk = int.from_bytes(mem[start:start + 4], "big")
    return free


def leaf_rows(path: str | Path, page_size: int, wanted: Callable[[list], bool]) -> Iterator[tuple]:
    """Every record on the table leaf pages of the SQLite file ``path`` (pages of ``page_size`` bytes) that
    ``wanted`` accepts, in file order; a cell that does not decode is passed over."""
    with open(path, "rb") as f:
        if f.seek(0, 2) < page_size:
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mem:
            pages = len(mem) // page_size
            usable = page_size - (mem[20] if mem[:16] == _MAGIC else 0)
            free = _freelist(mem, page_size, pages)
            for page in range(1, pages + 1):
                start = (page - 1) * page_size
                head = start + (100 if page == 1 else 0)
                if page in free or mem[head] != _TABLE_LEAF:
                    continue
                for k in range(int.from_bytes(mem[head + 3:head + 5], "big")):
                    pointer = int.from_bytes(mem[head + _LEAF_HEADER + 2 * k:head + _LEAF_HEADER + 2 * k + 2], "big")
                    if not _LEAF_HEADER <= pointer < page_size:
                        continue
                    try:
                        payload = _payload(mem, start + pointer, usable, page_size, pages)
                        values = None if payload is None else record(payload)
                    except (IndexError, ValueError, struct.error):  # (UnicodeDecodeError is a ValueError)
                        continue
                    if values is not None and wanted(values):
                        yield tuple(values)


def leaf_image(source: Path, work: Path) -> Path | None:
    """The file salvage's leaf pass reads: ``source``, or where a ``-wal`` beside it holds pages, a copy with them
    checkpointed in (the main file's own pages are then older versions: the review of session 62 found 114 of 400
    rows salvaged with their old values); None where that cannot be done (no leaf pass: those rows are reported
    lost, the safe answer)."""
    wal = Path(f"{source}-wal")
    if not wal.is_file() or wal.stat().st_size == 0:
        return source
    copy = work / "with_wal.sqlite"
    shutil.copyfile(source, copy)
    shutil.copyfile(wal, Path(f"{copy}-wal"))
    try:
        with closing(sqlite3.connect(copy)) as db:
            busy, log, done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.DatabaseError:
        return None
    return copy if busy == 0 and 0 <= log == done else None  # (-1: not read as a WAL store, its -wal not applied)


def score_like(values: list) -> bool:
    """Whether a record read from a leaf page (:func:`leaf_rows`), or a row of a damaged store's table, has the
    columns of a score row and their kinds (:data:`~swapnas.store_files.COLUMN_KINDS`, the SQL checks' too; the
    protocols and code tables have 2 and 3 columns), its ``values_json`` a JSON list, as the store's reader takes."""
    if len(values) != len(ScoreStore.COLUMNS):
        return False
    row = dict(zip(ScoreStore.COLUMNS, values))
    return (all(type(row[c]) in types for c, types in _CELL_TYPES.items())
            and row["status"] in ("ok", "failed")  # (session 68: salvage kept values no reader takes, and advised
            and not values_problem(row["values_json"]))  # salvage again)


#: the Python types a record's cell of each SQLite kind reads as (a real with no fraction is stored as an integer)
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {"text": (str,), "integer": (int,), "real": (int, float),
                                               "null": (type(None),)}
#: each score column → the Python types its cells may read as (:data:`~swapnas.store_files.COLUMN_KINDS`)
_CELL_TYPES = {c: tuple(t for kind in kinds for t in _PYTHON_TYPES[kind]) for c, kinds in COLUMN_KINDS.items()}


__all__ = ["leaf_image", "leaf_rows", "record", "score_like", "varint"]
