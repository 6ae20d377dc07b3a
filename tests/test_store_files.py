"""Session 54: a store opened for reading by ``export`` and merge's sources leaves no ``-wal``/``-shm`` files behind
where it may (:func:`swapnas.store_files.connect_reader`; ``store check`` and ``salvage`` read damaged files and stay
``mode=ro``), and still writes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from swapnas.cli import main
from swapnas.store import Record, ScoreKey, ScoreStore, StoreError
from swapnas.store_files import connect_reader

OK = Record("ok", 5.0, 0.0, [5.0], 0.1, None, None)


def _key(arch: str) -> ScoreKey:
    return ScoreKey("nb201", arch, "params", "f", 0, 8, 1, "{}")


def _store(path: Path, archs: str = "abc") -> None:
    with ScoreStore(path) as s:
        for arch in archs:
            s.put(_key(arch), OK)


def _denied(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """os.access as for a user who cannot write ``path`` (the tests run as root)."""
    import os
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: not (str(p) == str(path) and mode == os.W_OK) and real(p, mode))


def test_an_export_and_a_merge_leave_the_store_as_it_was_and_no_wal_files(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    _store(path)
    before = path.read_bytes()
    assert main(["-q", "export", str(path), "--out", str(tmp_path / "e.csv")]) == 0
    assert main(["-q", "store", "merge", str(path), "--into", str(tmp_path / "m.sqlite")]) == 0
    # were: s.sqlite-shm, s.sqlite-wal (store check and salvage read damaged files: they stay mode=ro)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.csv", "m.sqlite", "s.sqlite"]
    assert path.read_bytes() == before
    assert len((tmp_path / "e.csv").read_text().splitlines()) == 1 + 3
    with ScoreStore(tmp_path / "m.sqlite") as merged:
        assert merged.count() == 3


def test_a_reader_writes_nothing_even_through_its_connection(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    _store(path)
    with ScoreStore(path, read_only=True) as reader:
        assert reader.read_only == "opened for reading" and reader.count() == 3
        assert reader._db.execute("PRAGMA query_only").fetchone() == (1,)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader._db.execute("DELETE FROM scores")
        with pytest.raises(StoreError, match="is read-only \\(opened for reading\\)"):
            reader.put(_key("d"), OK)
    with ScoreStore(path) as s:
        assert s.count() == 3


def test_a_reader_beside_a_running_writer_keeps_the_writers_wal(tmp_path: Path) -> None:
    """The reader closes first: SQLite leaves the -wal to the writer, whose uncheckpointed scores stay readable."""
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as writer:
        writer.put(_key("a"), OK)
        with ScoreStore(path, read_only=True) as reader:
            assert reader.count() == 1
        assert Path(f"{path}-wal").is_file()
        writer.put(_key("b"), OK)
        with ScoreStore(path, read_only=True) as reader:
            assert reader.count() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]


@pytest.mark.parametrize("locked", ["file", "folder"])
def test_where_the_store_cannot_be_written_the_reader_is_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    locked: str) -> None:
    path = tmp_path / "s.sqlite"
    _store(path)
    _denied(monkeypatch, path if locked == "file" else tmp_path)
    db = connect_reader(path)
    try:
        assert db.execute("PRAGMA query_only").fetchone() == (0,)  # the mode=ro connection, not a query_only one
        assert db.execute("SELECT COUNT(*) FROM scores").fetchone() == (3,)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            db.execute("DELETE FROM scores")
    finally:
        db.close()


def test_a_link_to_a_store_in_a_folder_that_cannot_be_written_is_read_read_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite makes its -wal and -shm beside the link's target: the target's folder decides (the review of session
    54: a link in a writable folder to a store in a read-only one was opened plainly and could not be read)."""
    (tmp_path / "target").mkdir()
    _store(tmp_path / "target" / "s.sqlite")
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "s.sqlite"
    link.symlink_to(tmp_path / "target" / "s.sqlite")
    _denied(monkeypatch, tmp_path / "target")
    db = connect_reader(link)
    try:
        assert db.execute("PRAGMA query_only").fetchone() == (0,)  # the mode=ro connection
        assert db.execute("SELECT COUNT(*) FROM scores").fetchone() == (3,)
    finally:
        db.close()


def test_a_plain_reader_that_cannot_read_falls_back_to_read_only(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.sqlite"
    _store(path)
    real, opened = sqlite3.connect, []

    class Unreadable:
        """A plain connection whose first read fails as where SQLite cannot make its -shm file."""

        def __init__(self, db: sqlite3.Connection):
            self.db, self.closed = db, False
            opened.append(self)

        def execute(self, sql: str) -> sqlite3.Cursor:
            if sql.startswith("SELECT"):
                raise sqlite3.OperationalError("unable to open database file")
            return self.db.execute(sql)

        def close(self) -> None:
            self.closed = True
            self.db.close()

    monkeypatch.setattr(sqlite3, "connect",
                        lambda p, **kw: real(p, **kw) if kw.get("uri") else Unreadable(real(p, **kw)))
    db = connect_reader(path)
    try:
        assert opened[0].closed and db.execute("SELECT COUNT(*) FROM scores").fetchone() == (3,)
        assert db.execute("PRAGMA query_only").fetchone() == (0,)
    finally:
        db.close()
