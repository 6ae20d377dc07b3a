"""Two processes opening one new store at once (the CI flake of sessions 23 and 26).

SQLite's busy timeout does not cover a statement that reads before it writes: the change to WAL mode
takes a read lock and then asks for the write lock, and gets SQLITE_BUSY at once when another
connection holds the write lock. A second process opening a fresh store while the first was setting
it up failed "after 0.0 s of the up to 60 s SQLite waits". Opening now tries again until the lock is
free or the wait is over."""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

import swapnas.store as store_module
from swapnas.store import Record, ScoreKey, ScoreStore, StoreError


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another process's connection in the middle of a write on a new (rollback-journal) file."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_opening_a_new_store_waits_for_a_writer_instead_of_failing_at_once(tmp_path: Path) -> None:
    path = tmp_path / "scores.sqlite"
    other = _hold_write_lock(path)
    threading.Timer(0.4, other.rollback).start()
    start = time.monotonic()
    with ScoreStore(path) as store:  # before: StoreError "... locked ... after 0.0 s"
        waited = time.monotonic() - start
        key = ScoreKey("s", "a", "p", "f", 0, 8, 1, "n")
        store.put(key, Record("ok", 1.0, 0.0, [1.0], 0.1, None, None))
        assert store.get(key).value == 1.0
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    assert waited >= 0.3


def test_opening_gives_up_when_the_lock_is_held_past_the_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "LOCK_WAIT_S", 0.3)
    path = tmp_path / "scores.sqlite"
    other = _hold_write_lock(path)
    start = time.monotonic()
    with pytest.raises(StoreError, match=r"was locked by another process \(database is locked, after 0\.[3-9] s of "
                                         r"the up to 0\.3 s SQLite waits\)"):
        ScoreStore(path)
    assert time.monotonic() - start >= 0.3
    other.rollback()
    other.close()
    with ScoreStore(path) as store:  # the file is usable once the other process is done
        assert store.count() == 0


def test_a_store_error_that_is_no_lock_conflict_is_not_retried(tmp_path: Path) -> None:
    path = tmp_path / "scores.sqlite"
    path.write_bytes(b"not a database" * 100)
    start = time.monotonic()
    with pytest.raises(StoreError, match="damaged|not a swapnas score store"):
        ScoreStore(path)
    assert time.monotonic() - start < 5
