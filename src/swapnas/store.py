"""SQLite score store: one row per (space, arch, proxy, protocol, seed, S, repeats, net).

Each score is committed as soon as it is computed, so a crash, Ctrl-C or kill
loses at most the architecture in flight; a rerun skips what is stored.
Failures are rows too (status 'failed' with the error message).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
"""


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
        return (self.space, self.arch, self.proxy, self.protocol, self.seed, self.batch_size, self.repeats, self.net)


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
    """A score store backed by one SQLite file (``":memory:"`` for a throwaway one)."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        if self.path != ":memory:":
            # WAL, no fsync per commit: a crash of the process loses no committed score (a power
            # cut may lose the last few); a commit costs ~0.04 ms instead of ~1 ms
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ScoreStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_protocol(self, fingerprint: str, description: dict) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO protocols VALUES (?, ?)", (fingerprint, json.dumps(description, sort_keys=True))
        )
        self._db.commit()

    def put(self, key: ScoreKey, record: Record, device: str = "") -> None:
        """Write one score (or failure) and commit at once."""
        self._db.execute(
            "INSERT OR REPLACE INTO scores VALUES (?,?,?,?,?,?,?,?, ?,?,?,?,?,?, ?,?,?)",
            (*key.as_tuple(), record.status, record.value, record.std, json.dumps(record.values),
             record.seconds, record.peak_mem_bytes, record.error, device, time.time()),
        )
        self._db.commit()

    def get(self, key: ScoreKey) -> Record | None:
        row = self._db.execute(
            "SELECT status, value, std, values_json, seconds, peak_mem_bytes, error FROM scores WHERE "
            "space=? AND arch=? AND proxy=? AND protocol=? AND seed=? AND batch_size=? AND repeats=? AND net=?",
            key.as_tuple(),
        ).fetchone()
        if row is None:
            return None
        return Record(row[0], row[1], row[2], json.loads(row[3] or "[]"), row[4], row[5], row[6])

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])

    #: the columns :meth:`rows` yields, in order
    COLUMNS = ("space", "arch", "proxy", "protocol", "seed", "batch_size", "repeats", "net", "status", "value", "std",
               "values_json", "seconds", "peak_mem_bytes", "error", "device", "created")

    def rows(self) -> list[dict]:
        """Every stored score (failures included) as a dict of :attr:`COLUMNS`, in a stable order."""
        cur = self._db.execute(f"SELECT {', '.join(self.COLUMNS)} FROM scores ORDER BY space, proxy, protocol, "
                               "seed, batch_size, repeats, net, arch")
        return [dict(zip(self.COLUMNS, row)) for row in cur]

    def protocols(self) -> dict[str, dict]:
        """Fingerprint → the protocol's description, for every protocol in the store."""
        return {fp: json.loads(d) for fp, d in self._db.execute("SELECT fingerprint, description FROM protocols")}
