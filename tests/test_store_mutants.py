"""What mutation testing of ``swapnas.store`` found untested (session 30,
``MUTATION_SKIP='executors|ray|review21_exec|leftovers22|ctrl_c_workers' bash scripts/mutation_check.sh store``).

Every SQLite error the tests raised also said what it was in its text ("database is locked", "disk is full"), so
the classification by SQLite's error name (``sqlite_errorname``) could be dropped unnoticed, and the messages were
matched in part. The read-only open's fallback was tried only with a 64-byte ``-wal`` (``> 0`` → ``> 1``
survived) and never in a folder without a ``-wal`` (``and`` → ``or`` survived: it stats a missing file), so the
immutable URI itself was never opened. (Dropping ``uri=True`` survives too, and is equivalent here: this SQLite
build reads ``file:`` names as URIs anyway.) ``insert_rows`` failing part-way was never tried (the rows stay
uncommitted).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from swapnas import store as store_mod
from swapnas.store import UNRECORDED, Record, ScoreKey, ScoreStore, StoreError, _is_lock_conflict
from swapnas.store_files import connect_read_only

OK = Record("ok", 5.0, 0.0, [5.0], 0.1, None, None)


def _key(arch: str) -> ScoreKey:
    return ScoreKey("nb201", arch, "swap@1", "f", 0, 8, 1, "{}")


def _named(name: str, cls: type[sqlite3.DatabaseError] = sqlite3.OperationalError) -> sqlite3.DatabaseError:
    """An SQLite error known by its name only (its text says nothing of what it was)."""
    exc = cls("boom")
    exc.sqlite_errorname = name  # type: ignore[attr-defined]
    return exc


# ---------------------------------------------------------------- the read-only open

def test_a_read_only_open_reads_the_scores_still_in_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as writer:
        for arch in "abc":
            writer.put(_key(arch), OK)
        assert Path(f"{path}-wal").stat().st_size > 0        # not yet merged into the file
        db = connect_read_only(path)                           # mode=ro reads the -wal; immutable would refuse
        assert db.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 3
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            db.execute("DELETE FROM scores")
        db.close()
    # no file made from the URI as a name (on an SQLite build that does not read file: names as URIs by default)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]


class _NoShm:
    """The mode=ro connection of a WAL store whose folder cannot hold a -shm file: it opens, its first read fails."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def execute(self, *args: object) -> None:
        raise sqlite3.OperationalError("unable to open database file")

    def __getattr__(self, name: str) -> object:
        return getattr(self._db, name)


def _no_shm(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sqlite3.connect
    monkeypatch.setattr(store_mod.sqlite3, "connect",
                        lambda db, *a, **k: real(db, *a, **k) if "immutable" in str(db) else _NoShm(real(db, *a, **k)))


@pytest.mark.parametrize("wal", [None, b""])
def test_a_read_only_folder_without_wal_scores_opens_immutable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               wal: bytes | None) -> None:
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as writer:
        writer.put(_key("a"), OK)
    merged = sqlite3.connect(path)
    merged.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    merged.close()
    Path(f"{path}-wal").unlink(missing_ok=True)
    if wal is not None:
        Path(f"{path}-wal").write_bytes(wal)               # an empty -wal holds no score
    _no_shm(monkeypatch)
    db = connect_read_only(path)
    assert db.execute("SELECT arch FROM scores").fetchall() == [("a",)]
    db.close()


def test_a_single_byte_in_the_wal_refuses_the_immutable_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(Replaces test_store_sharing's check of a 64-byte -wal, matched in part.)"""
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"")
    Path(f"{path}-wal").write_bytes(b"\0")
    _no_shm(monkeypatch)
    with pytest.raises(StoreError) as info:
        connect_read_only(path)
    assert str(info.value) == (f"the score store {path} has scores in s.sqlite-wal (not yet merged into the file) "
                               "and its folder is read-only, so they cannot be read: copy the store with its -wal "
                               "file to a writable folder and pass --store COPY")


# ---------------------------------------------------------------- errors by SQLite's error name

def test_a_lock_conflict_is_known_by_its_name_or_its_text() -> None:
    for name in ("SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT", "SQLITE_LOCKED", "SQLITE_LOCKED_SHAREDCACHE"):
        assert _is_lock_conflict(_named(name)), name
    assert _is_lock_conflict(sqlite3.OperationalError("database is locked"))
    assert not _is_lock_conflict(_named("SQLITE_IOERR")) and not _is_lock_conflict(sqlite3.OperationalError("boom"))
    assert not _is_lock_conflict(_named(None))  # type: ignore[arg-type]  # (sqlite_errorname may be None)


@pytest.fixture
def store(tmp_path: Path):
    with ScoreStore(tmp_path / "s.sqlite") as s:
        s.put(_key("a"), OK)
        yield s


def test_the_errors_known_by_name_say_what_to_do(store: ScoreStore) -> None:
    p = store.path
    assert str(store._error(_named("SQLITE_FULL"))) == (
        f"the disk holding the score store {p} is full (1 score saved in it, all kept); free space on that disk, or "
        "move the store with its -wal file and pass --store, then rerun the same command: it resumes from the "
        "stored scores")
    assert str(store._error(_named("SQLITE_READONLY_DBMOVED"))) == (
        f"the score store {p} is read-only (the file system refused the write): its 1 score can be read but no new "
        "score can be saved; copy it (with its -wal file, if any) somewhere writable and pass --store COPY, or give "
        "--store NEW.sqlite for a fresh store")
    assert str(store._error(_named("SQLITE_BUSY"))) == (
        f"the score store {p} was locked by another process (boom, after 0.0 s of the up to 60 s SQLite waits); "
        "rerun when that process is done, or use another --store")
    assert str(store._error(_named("SQLITE_IOERR"))) == (  # the limit named since session 59
        f"cannot use the score store {p} (boom: a failing or full disk, or the process's file-size limit, "
        "`ulimit -f`); check the file and its disk, or give another --store (the scores saved in it are kept)")
    assert str(store._error(_named("SQLITE_CANTOPEN"))) == (
        f"cannot use the score store {p} (boom); check the file and its disk, or give another --store (the scores "
        "saved in it are kept)")
    for name in ("SQLITE_CORRUPT", "SQLITE_CORRUPT_INDEX", "SQLITE_NOTADB"):
        assert str(store._error(_named(name))) == (
            f"the score store {p} is damaged (boom); restore it from a backup, start a fresh store with --store "
            f"NEW.sqlite, or copy every readable score into a new store with `swapnas store salvage {p} --out "
            "NEW.sqlite`"), name
    damaged = str(store._error(_named("SQLITE_ERROR", sqlite3.DatabaseError)))   # not an OperationalError
    assert damaged.startswith(f"the score store {p} is damaged")


def test_the_count_in_a_message_is_plural_or_left_out(store: ScoreStore) -> None:
    store.put(_key("b"), OK)
    assert "(2 scores saved in it, all kept)" in str(store._error(_named("SQLITE_FULL")))
    store.close()                                            # count() fails: the message still comes
    assert "(scores saved in it, all kept)" in str(store._error(_named("SQLITE_FULL")))


# ---------------------------------------------------------------- insert_rows

def test_insert_rows_on_a_read_only_store_says_why(store: ScoreStore) -> None:
    row = next(iter(store.rows()))
    store.close()
    with ScoreStore(store.path, read_only=True) as reader, pytest.raises(StoreError) as info:
        reader.insert_rows([tuple(row.values())])
    assert str(info.value).startswith(f"the score store {store.path} is read-only (opened for reading): its 1 score")


def test_insert_rows_failing_part_way_keeps_none_of_its_rows(store: ScoreStore) -> None:
    rows = [(*tuple(r.values())[:1], "b", *tuple(r.values())[2:]) for r in store.rows()]
    assert [r[1] for r in rows] == ["b"]
    with pytest.raises(StoreError, match="damaged"):         # a protocol pair of three values: the bindings fail
        store.insert_rows(rows, protocols=[("fp", "{}", "extra")])  # type: ignore[list-item]
    store.put(_key("c"), OK)                                 # a later commit must not carry the failed rows
    assert sorted(r["arch"] for r in store.rows()) == ["a", "c"]


# ---------------------------------------------------------------- opening: the messages and the read-only reasons

def _denied(monkeypatch: pytest.MonkeyPatch, denied: set[tuple[str, int]]) -> None:
    """os.access as for a user without the (path, mode) pairs in ``denied`` (the tests run as root)."""
    real = store_mod.os.access
    monkeypatch.setattr(store_mod.os, "access", lambda p, mode: (str(p), mode) not in denied and real(p, mode))


def test_the_messages_on_opening_are_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def message(path: Path) -> str:
        with pytest.raises(StoreError) as info:
            ScoreStore(path)
        return str(info.value)

    assert message(tmp_path) == (f"the score store {tmp_path} is a folder; give a file, e.g. --store "
                                 f"{tmp_path}/scores.sqlite")
    (tmp_path / "plain").write_text("")
    assert message(tmp_path / "plain" / "s.sqlite") == (
        f"cannot create the score store {tmp_path}/plain/s.sqlite ({tmp_path}/plain is a file, not a folder); give a "
        "--store in a writable folder")
    (tmp_path / "link.sqlite").symlink_to(tmp_path / "gone.sqlite")
    assert message(tmp_path / "link.sqlite") == (
        f"the score store {tmp_path}/link.sqlite is a link to {tmp_path}/gone.sqlite, which does not exist; fix the "
        "link or give another --store")
    with ScoreStore(tmp_path / "s.sqlite") as s:
        s.put(_key("a"), OK)
    _denied(monkeypatch, {(str(tmp_path), store_mod.os.W_OK), (str(tmp_path / "s.sqlite"), store_mod.os.R_OK)})
    assert message(tmp_path / "new.sqlite") == (f"cannot create the score store {tmp_path}/new.sqlite: the folder "
                                                f"{tmp_path} is not writable; give a --store in a writable folder")
    assert message(tmp_path / "s.sqlite") == (f"cannot read the score store {tmp_path}/s.sqlite (permission denied); "
                                              "fix its permissions or give another --store")


def test_a_store_opens_read_only_saying_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "deep" / "er" / "s.sqlite"             # missing folders are made
    with ScoreStore(path) as s:
        assert s.read_only == ""
        s.put(_key("a"), OK)
    with monkeypatch.context() as m:
        _denied(m, {(str(path), store_mod.os.W_OK)})
        with ScoreStore(path) as s:
            assert s.read_only == "the file is not writable" and s.count() == 1
    _denied(monkeypatch, {(str(path.parent), store_mod.os.W_OK)})
    with ScoreStore(path) as s:
        assert s.read_only == f"its folder {path.parent} is not writable" and s.get(_key("a")) == OK


def test_an_in_memory_store_is_writable_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with ScoreStore(":memory:") as s:
        assert s.read_only == "" and s.read_only is not None
        s.put(_key("a"), OK)
        assert s.count() == 1
    assert list(tmp_path.iterdir()) == []


def test_preloaded_records_give_what_they_hold_and_keep_nothing_put() -> None:
    records = store_mod.PreloadedRecords({_key("a"): OK})
    assert records.get(_key("a")) == OK and records.get(_key("b")) is None
    records.put(_key("b"), OK)
    assert records.get(_key("b")) is None


# ---------------------------------------------------------------- a read-only store's protocols and code digests

def test_a_read_only_store_compares_code_digests_and_records_none(store: ScoreStore) -> None:
    assert store.code_changed("toy@1", "d1") is None              # first seen: recorded
    assert store.code_changed("toy@1", "d1") is None
    store.add_protocol("fp", {"b": 1, "a": 2})
    path = store.path
    store.close()
    with ScoreStore(path, read_only=True) as reader:
        assert reader.code_changed("toy@1", "d1") is None
        changed = reader.code_changed("toy@1", "d2")               # the time d1 was recorded
        assert changed is not None and changed > 0
        assert reader.code_changed("toy@1", "d2") == changed      # nothing recorded: still d1
        assert reader.code_changed("other@1", "d") is None
        reader.add_protocol("fp", {"b": 1, "a": 2})                 # one it holds: accepted
        with pytest.raises(StoreError) as info:
            reader.add_protocol("fp2", {})
        assert str(info.value).startswith(f"the score store {path} is read-only (opened for reading): its 1 score")
        assert reader.protocols() == {"fp": {"a": 2, "b": 1}}
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT description FROM protocols").fetchone()[0] == '{"a": 2, "b": 1}'  # keys sorted
    raw.execute("DROP TABLE proxy_code")                            # a store made before digests were recorded
    raw.commit()
    raw.close()
    with ScoreStore(path, read_only=True) as reader:
        assert reader.code_changed("toy@1", "d2") is None  # no score under it
        assert reader.code_changed("swap@1", "d2") == UNRECORDED  # its score: made before code was recorded


def test_a_digest_is_recorded_when_first_seen_and_replaced_only_when_accepted(store: ScoreStore, monkeypatch) -> None:
    """Session 30 left a mutant that re-recorded the digest on every call: the time reported for a change was then
    the last call's, not the time the old code was first recorded (session 36). Since session 55 a changed digest is
    not recorded by the comparison (later runs were quiet about the old code's scores), only by accept_code."""
    clock = iter([100.0, 200.0, 300.0, 400.0])
    monkeypatch.setattr(store_mod.time, "time", lambda: next(clock))
    assert store.recorded_code() == {}
    assert store.code_changed("toy@1", "d1") is None       # recorded at 100
    assert store.code_changed("toy@1", "d1") is None       # the same code: nothing recorded
    assert store.code_changed("toy@1", "d2") == 100.0      # d1 was recorded at 100 and stays
    assert store.code_changed("toy@1", "d2") == 100.0
    assert store.code_changed("other@1", "d1") is None      # recorded at 200
    store.accept_code("toy@1", "d2")                       # at 300
    assert store.code_changed("toy@1", "d2") is None
    assert store.code_changed("toy@1", "d1") == 300.0
    assert store.recorded_code() == {"toy@1": ("d2", 300.0), "other@1": ("d1", 200.0)}
    assert next(clock) == 400.0                             # three records, no more
    assert store.code_changed("swap@1", "d1") == UNRECORDED  # the fixture's score, stored before any code record
    assert "swap@1" not in store.recorded_code() and store.unrecorded_code() == ["net:nb201@1", "swap@1"]


def test_every_field_of_a_record_round_trips_and_a_read_only_put_says_why(store: ScoreStore) -> None:
    failed = Record("failed", None, None, [], 2.5, 123456789, "RuntimeError: out of memory")
    full = Record("ok", 3.0, 0.5, [2.5, 3.5], 1.25, 987654321, None)
    store.put(_key("f"), failed)
    store.put(_key("g"), full)
    assert store.get(_key("f")) == failed and store.get(_key("g")) == full and store.get(_key("zz")) is None
    path = store.path
    store.close()
    with ScoreStore(path, read_only=True) as reader, pytest.raises(StoreError) as info:
        reader.put(_key("h"), OK)
    assert str(info.value).startswith(f"the score store {path} is read-only (opened for reading): its 3 scores")


def test_a_record_the_table_would_drop_silently_is_refused_by_name(tmp_path: Path) -> None:
    # found by session 41's export tests: INSERT OR IGNORE also ignores the CHECK and NOT NULL constraints, so a
    # status other than ok/failed, or a key field left None, used to vanish without an error
    with ScoreStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(ValueError) as info:
            store.put(_key("a"), Record("error", None, None, [], 0.1, None, "boom"))
        assert str(info.value) == ("a score record's status is one of ok, failed, not 'error'; nothing was saved "
                                   "for a")
        with pytest.raises(ValueError) as info:
            store.put(ScoreKey("nb201", "a", "swap@1", None, 0, 8, None, "{}"), OK)  # type: ignore[arg-type]
        assert str(info.value) == "a score key needs every field; None in protocol, repeats (nothing was saved)"
        store.put(_key("b"), Record("failed", None, None, [], 0.1, None, "boom"))
        assert store.count() == 1 and store.get(_key("b")) == Record("failed", None, None, [], 0.1, None, "boom")
