"""A store shared by two runs, another program's database, a dangling link, a WAL that cannot be read.

Each case here lost or changed data before session 16: a concurrent run's failure replaced another run's
good score; ``correlate --store`` and ``export`` added our tables to a foreign database (and switched it to
WAL); a read-only store's ``-wal`` scores were silently skipped; a dangling ``--store`` link was a traceback.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from swapnas.cli import main
from swapnas.export import export as export_store
from swapnas.store import Record, ScoreKey, ScoreStore, StoreError

KEY = ScoreKey("nb201", "a", "swap@1", "f", 0, 8, 1, "{}")
OK = Record("ok", 5.0, 0.0, [5.0], 0.1, None, None)
FAILED = Record("failed", None, None, [], 0.1, None, "CUDA out of memory")


def test_a_failure_never_replaces_a_stored_score_but_a_score_replaces_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    with ScoreStore(path) as a, ScoreStore(path) as b:  # two runs on one store
        a.put(KEY, OK)
        b.put(KEY, FAILED)  # b missed a's score, tried the arch itself and failed
        assert a.get(KEY) == OK and b.get(KEY) == OK
        other = ScoreKey(*KEY.as_tuple()[:1], "b", *KEY.as_tuple()[2:])
        a.put(other, FAILED)
        b.put(other, OK)  # a retry (or the other run) that succeeds replaces the failure
        assert a.get(other) == OK
        a.put(other, FAILED)
        assert b.get(other) == OK


def foreign_database(path: Path, ddl: str) -> Path:
    """An SQLite file another program made: one table from ``ddl``."""
    db = sqlite3.connect(path)
    db.execute(ddl)
    db.commit()
    db.close()
    return path


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_another_programs_database_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = foreign_database(tmp_path / "app.sqlite", "CREATE TABLE users (id INTEGER, name TEXT)")
    before = _md5(path)
    with pytest.raises(StoreError, match="is not a swapnas score store"):
        ScoreStore(path)
    with pytest.raises(StoreError, match="is not a swapnas score store"):
        export_store(path, tmp_path / "out.csv")
    assert _md5(path) == before and not Path(f"{path}-wal").exists()


def test_export_reads_a_store_without_writing_it(tmp_path: Path) -> None:
    path = tmp_path / "scores.sqlite"
    with ScoreStore(path) as s:
        s.put(KEY, OK)
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = _md5(path)
    export_store(path, tmp_path / "out.csv")
    assert _md5(path) == before
    assert (tmp_path / "out.csv").read_text().count("\n") == 2  # header and the one score


def test_a_dangling_store_link_is_a_clear_error(tmp_path: Path, capsys, small_bundle: Path) -> None:
    link = tmp_path / "scores.sqlite"
    link.symlink_to(tmp_path / "gone" / "x.sqlite")
    with pytest.raises(StoreError, match=r"is a link to .*gone/x.sqlite, which does not exist"):
        ScoreStore(link)
    rc = main(["correlate", "--space", "nb301", "--proxies", "params", "--archs", "3", "--batch-size", "8",
               "--data-dir", str(small_bundle), "--store", str(link), "--out", str(tmp_path / "o"), "--no-progress"])
    assert rc == 2 and "which does not exist" in capsys.readouterr().err
