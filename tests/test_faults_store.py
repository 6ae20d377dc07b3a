"""Store faults and concurrent searches: a damaged, read-only or full store and a busy or damaged
search folder each give a clear error (exit 2, the file named, what to do, no traceback), and no
score saved before the fault is lost (docs/reliability.md)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from swapnas.cli import main
from swapnas.search.driver import _save, out_lock
from swapnas.store import Record, ScoreKey, ScoreStore, StoreError
from tests.process_helpers import lock_holder

PAGE = 4096  # SQLite's default page size, the stores' page size


def _correlate(small_bundle: Path, out: Path, store: Path, archs: int = 6) -> list[str]:
    return ["correlate", "--space", "nb301", "--proxies", "swap,params", "--archs", str(archs), "--batch-size", "8",
            "--data-dir", str(small_bundle), "--out", str(out), "--store", str(store), "--device", "cpu",
            "--no-progress"]


def _search(small_bundle: Path, out: Path, *extra: str, cycles: int = 2, space: str = "darts") -> list[str]:
    return ["search", "--space", space, "--dataset", "cifar10", "--fitness", "swap", "--population", "4",
            "--sample", "2", "--mutations", "2", "--cycles", str(cycles), "--repeats", "1", "--net", "C=4",
            "--refine", "0", "--device", "cpu", "--no-progress", "--data-dir", str(small_bundle), "--out", str(out),
            *extra]


def _fake_store(path: Path, n: int, tag: str = "x") -> None:
    """``n`` made-up scores (long arch strings: a few per page, like DARTS genotypes)."""
    with ScoreStore(path) as store:
        store.add_protocol("p0", {"made": "up"})
        for i in range(n):
            key = ScoreKey("fake", f"{tag}-arch-{i:05d}-" + "op" * 150, "swap", "p0", 0, 8, 1, "C=4")
            store.put(key, Record("ok", float(i), 0.0, [float(i)], 0.01, None, None))


def _rows(path: Path) -> dict[tuple, dict]:
    with ScoreStore(path) as store:
        return {tuple(r[c] for c in ScoreStore.COLUMNS[:8]): r for r in store.rows()}


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return "\n".join(line for line in err.splitlines() if line.startswith("swapnas: error:"))


def _damage_page(path: Path, needle: str, page_type: int) -> int:
    """Overwrite the whole page holding ``needle`` whose b-tree page type is ``page_type`` (0x0D table
    leaf, 0x0A index leaf) with garbage; the page's number."""
    data = path.read_bytes()
    at = data.find(needle.encode())
    while at >= 0:
        page = at // PAGE
        if page > 0 and data[page * PAGE] == page_type:
            with open(path, "r+b") as f:
                f.seek(page * PAGE)
                f.write(b"\xab" * PAGE)
            return page + 1
        at = data.find(needle.encode(), at + 1)
    raise AssertionError(f"no page of type {page_type:#x} holds {needle!r}")


# --- a damaged store ------------------------------------------------------------------------------------


def test_garbage_header_refused_by_correlate_and_search_then_salvaged(small_bundle, tmp_path, capsys) -> None:
    store = tmp_path / "scores.sqlite"
    _fake_store(store, 60)
    before = _rows(store)
    with open(store, "r+b") as f:
        f.write(b"not a database at all! " * 4)
    damaged = store.read_bytes()
    assert main(_correlate(small_bundle, tmp_path / "c", store)) == 2
    correlate_error = _error(capsys)
    for text in (str(store), "is damaged", "restore it from a backup", "--store NEW.sqlite",
                 f"swapnas store salvage {store} --out NEW.sqlite"):
        assert text in correlate_error
    assert main(_search(small_bundle, tmp_path / "s", "--store", str(store))) == 2
    assert _error(capsys) == correlate_error  # search refuses it exactly as correlate does
    assert store.read_bytes() == damaged  # never written to
    assert main(["store", "check", str(store)]) == 2
    assert "DAMAGED" in capsys.readouterr().out
    new = tmp_path / "salvaged.sqlite"
    assert main(["store", "salvage", str(store), "--out", str(new)]) == 0
    out = capsys.readouterr().out
    assert "60 scores recovered, 0 lost" in out and "header was rebuilt (page size 4096)" in out
    assert _rows(new) == before
    with ScoreStore(new) as salvaged:
        assert salvaged.protocols() == {"p0": {"made": "up"}}


@pytest.mark.parametrize("page_type, loses", [(0x0D, True), (0x0A, False)], ids=["table_leaf", "index_leaf"])
def test_damaged_middle_page_refused_and_salvaged(tmp_path, capsys, page_type, loses) -> None:
    store = tmp_path / "scores.sqlite"
    _fake_store(store, 300)
    before = _rows(store)
    page = _damage_page(store, "x-arch-00150-", page_type)
    assert 2 < page < store.stat().st_size // PAGE
    with pytest.raises(StoreError, match="is damaged .*swapnas store salvage"):
        ScoreStore(store)
    new = tmp_path / "salvaged.sqlite"
    assert main(["--json", "store", "salvage", str(store), "--out", str(new)]) == 0
    report = json.loads(capsys.readouterr().out)
    recovered = _rows(new)
    assert all(before[k] == row for k, row in recovered.items())  # every recovered score is the stored one
    assert report["recovered"] == len(recovered) and report["recovered"] + report["lost"] == 300
    assert (report["lost"] > 0) == loses and report["lost"] < 30  # one page of rows at most
    assert main(["store", "salvage", str(store), "--out", str(new)]) == 2  # never overwrites
    assert "exists" in _error(capsys)


def test_unreadable_schema_page_says_nothing_can_be_recovered(tmp_path, capsys) -> None:
    store = tmp_path / "scores.sqlite"
    _fake_store(store, 20)
    with open(store, "r+b") as f:
        f.write(os.urandom(PAGE))
    assert main(["store", "salvage", str(store), "--out", str(tmp_path / "new.sqlite")]) == 2
    assert "no score can be recovered" in _error(capsys)


@pytest.mark.slow
def test_damaged_store_salvaged_and_resumed_loses_only_the_damaged_page(small_bundle, tmp_path, capsys) -> None:
    """A real correlate store with a damaged page holding some of its scores: correlate refuses it,
    salvage keeps every readable score, the rerun on the salvaged store scores only the lost ones and
    gives the same results."""
    store = tmp_path / "scores.sqlite"
    assert main(_correlate(small_bundle, tmp_path / "c1", store)) == 0
    rho = ("proxy", "n", "failures", "spearman", "kendall", "spearman_ci")
    first = [{k: r[k] for k in rho} for r in json.loads((tmp_path / "c1" / "results.json").read_text())["results"]]
    _fake_store(store, 200)
    before = _rows(store)
    real = [k for k in before if k[0] == "darts"]
    _damage_page(store, real[5][1], 0x0D)
    capsys.readouterr()
    assert main(_correlate(small_bundle, tmp_path / "c2", store)) == 2
    assert f"the score store {store} is damaged" in _error(capsys)
    new = tmp_path / "salvaged.sqlite"
    assert main(["store", "salvage", str(store), "--out", str(new)]) == 0
    recovered = _rows(new)
    lost_real = [k for k in real if k not in recovered]
    assert lost_real and set(recovered) < set(before)
    assert main(_correlate(small_bundle, tmp_path / "c3", new)) == 0
    after = _rows(new)
    assert all(after[k] == row for k, row in recovered.items())  # kept as they were: not scored again
    assert set(real) <= set(after) and all(after[k]["value"] == before[k]["value"] for k in lost_real)
    again = json.loads((tmp_path / "c3" / "results.json").read_text())["results"]
    assert [{k: r[k] for k in rho} for r in again] == first


def test_not_a_store_and_a_folder_are_refused_untouched(tmp_path) -> None:
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE scores (a, b)")
    db.commit()
    db.close()
    data = other.read_bytes()
    with pytest.raises(StoreError, match="not a swapnas score store"):
        ScoreStore(other)
    assert other.read_bytes() == data
    with pytest.raises(StoreError, match="is a folder; give a file"):
        ScoreStore(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="cannot create the score store"):
        ScoreStore(tmp_path / "file" / "scores.sqlite")


def test_store_check_reports_counts_and_protocols(tmp_path, capsys) -> None:
    store = tmp_path / "scores.sqlite"
    _fake_store(store, 5)
    with ScoreStore(store) as s:
        s.put(ScoreKey("fake", "bad", "swap", "p0", 0, 8, 1, "C=4"), Record("failed", None, None, [], 0.1, None, "x"))
    assert main(["store", "check", str(store)]) == 0
    out = capsys.readouterr().out
    assert f"{store}: ok | 6 scores (1 failed) | 1 protocol |" in out and "protocol p0:" in out
    assert main(["store", "check", str(tmp_path / "none.sqlite")]) == 2
    assert "no score store at" in _error(capsys)


# --- a read-only store ------------------------------------------------------------------------------------


def _make_read_only(monkeypatch, store: Path) -> None:
    """chmod the store and its folder read-only; as root (chmod does not stop root) make ``os.access``
    say so instead: the store then opens through SQLite's read-only URI all the same."""
    if os.geteuid() != 0:
        store.chmod(0o444)
        store.parent.chmod(0o555)
        return
    real = os.access
    denied = {store.resolve(), store.parent.resolve()}

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and Path(path).resolve() in denied:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def test_read_only_store_reads_and_refuses_writes(tmp_path, monkeypatch) -> None:
    store = tmp_path / "ro" / "scores.sqlite"
    _fake_store(store, 3)
    _make_read_only(monkeypatch, store)
    try:
        with ScoreStore(store) as ro:
            assert ro.read_only and ro.count() == 3 and ro.protocols() == {"p0": {"made": "up"}}
            ro.add_protocol("p0", {"made": "up"})  # already there: nothing to write
            key, rec = ScoreKey("fake", "new", "swap", "p0", 0, 8, 1, "C=4"), Record("ok", 1.0, 0.0, [], 0.1, None, None)
            for write in (lambda: ro.add_protocol("p1", {}), lambda: ro.put(key, rec)):
                with pytest.raises(StoreError, match=f"the score store {store} is read-only .*its 3 scores can be"):
                    write()
    finally:
        store.parent.chmod(0o755)
        store.chmod(0o644)


@pytest.mark.slow
def test_read_only_store_prints_its_table_and_refuses_new_scores(small_bundle, tmp_path, monkeypatch, capsys) -> None:
    store = tmp_path / "ro" / "scores.sqlite"
    assert main(_correlate(small_bundle, tmp_path / "c1", store)) == 0
    table = capsys.readouterr().out.split("proxy ")[1].split("wrote ")[0]
    _make_read_only(monkeypatch, store)
    try:
        data = store.read_bytes()
        with ScoreStore(store) as ro:
            assert ro.read_only and ro.count() == 12
        assert main(_correlate(small_bundle, tmp_path / "c2", store)) == 0  # complete: the table, as before
        assert capsys.readouterr().out.split("proxy ")[1].split("wrote ")[0] == table
        assert main(_correlate(small_bundle, tmp_path / "c3", store, archs=8)) == 2  # two archs are missing
        err = _error(capsys)
        for text in (f"the score store {store} is read-only", "12 scores can be read", "--store COPY",
                     "--store NEW.sqlite"):
            assert text in err
        assert store.read_bytes() == data
    finally:
        store.parent.chmod(0o755)
        store.chmod(0o644)
    monkeypatch.undo()
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(data)
    assert main(_correlate(small_bundle, tmp_path / "c4", copy, archs=8)) == 0
    assert {k: r for k, r in _rows(copy).items() if k in _rows(store)} == _rows(store)


# --- a full disk and other write faults -------------------------------------------------------------------


class _Faulty:
    """An sqlite3 connection whose score writes raise ``exc`` once ``room`` of them were made."""

    def __init__(self, db: sqlite3.Connection, exc: Exception, room: int):
        self._db, self.exc, self.room = db, exc, room

    def execute(self, sql: str, *args):
        if sql.startswith("INSERT OR IGNORE INTO scores"):  # ScoreStore.put (insert_rows uses executemany)
            if self.room <= 0:
                raise self.exc
            self.room -= 1
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._db, name)


def _fill_disk_after(monkeypatch, room: int) -> None:
    real, full = sqlite3.connect, sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: _Faulty(real(*a, **k), full, room))


def test_full_disk_in_correlate_keeps_every_saved_score_and_resumes(small_bundle, tmp_path, monkeypatch,
                                                                   capsys) -> None:
    store = tmp_path / "scores.sqlite"
    _fill_disk_after(monkeypatch, 5)
    assert main(_correlate(small_bundle, tmp_path / "c", store)) == 2
    err = _error(capsys)
    for text in (f"the disk holding the score store {store} is full", "(5 scores saved in it, all kept)", "free space",
                 "rerun the same command"):
        assert text in err
    monkeypatch.undo()
    saved = _rows(store)
    assert len(saved) == 5
    assert main(_correlate(small_bundle, tmp_path / "c", store)) == 0
    after = _rows(store)
    assert len(after) == 12 and all(after[k] == row for k, row in saved.items())  # kept, not scored again


@pytest.mark.parametrize("exc, says", [
    (sqlite3.OperationalError("database or disk is full"), "is full (1 score saved in it, all kept)"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "is read-only (the file system refused"),
    (sqlite3.OperationalError("database is locked"), "locked by another process (database is locked, after 0.0 s of "
                                                      "the up to 60 s SQLite waits)"),
    (sqlite3.DatabaseError("database disk image is malformed"), "is damaged (database disk image is malformed)"),
    (sqlite3.OperationalError("disk I/O error"), "cannot use the score store"),
], ids=["full", "read_only", "locked", "corrupt", "io"])
def test_every_sqlite_write_error_is_a_store_error(tmp_path, exc, says) -> None:
    path = tmp_path / "scores.sqlite"
    with ScoreStore(path) as store:
        store._db = _Faulty(store._db, exc, 1)
        key = ScoreKey("s", "a", "p", "f", 0, 8, 1, "n")
        store.put(key, Record("ok", 1.0, 0.0, [1.0], 0.1, None, None))
        with pytest.raises(StoreError, match=str(path)) as info:
            store.put(ScoreKey("s", "b", "p", "f", 0, 8, 1, "n"), Record("ok", 2.0, 0.0, [2.0], 0.1, None, None))
        assert says in str(info.value)
        assert store.get(key).value == 1.0


@pytest.mark.slow
def test_full_disk_in_search_resumes_to_the_uninterrupted_result(small_bundle, tmp_path, monkeypatch, capsys) -> None:
    store = tmp_path / "scores.sqlite"
    _fill_disk_after(monkeypatch, 5)
    assert main(_search(small_bundle, tmp_path / "s", "--store", str(store))) == 2
    assert f"the disk holding the score store {store} is full (5 scores saved in it, all kept)" in _error(capsys)
    monkeypatch.undo()
    saved = _rows(store)
    assert main(_search(small_bundle, tmp_path / "s", "--store", str(store))) == 0
    assert all(_rows(store)[k] == row for k, row in saved.items())
    assert main(_search(small_bundle, tmp_path / "fresh", "--store", str(tmp_path / "fresh.sqlite"))) == 0
    resumed, fresh = (json.loads((tmp_path / d / "result.json").read_text()) for d in ("s", "fresh"))
    assert resumed["history"] == fresh["history"] and resumed["best"] == fresh["best"]


# --- concurrent searches and the search state --------------------------------------------------------------

def test_second_search_on_a_busy_out_fails_at_once(small_bundle, tmp_path, capsys) -> None:
    out = tmp_path / "s"
    out.mkdir()
    with lock_holder(out / ".lock") as holder:
        t0 = time.perf_counter()
        assert main(_search(small_bundle, out)) == 2
        assert time.perf_counter() - t0 < 30
        assert f"another swapnas search is using {out} (pid {holder.pid}); wait for it or use another --out" \
            in _error(capsys)
        assert not (out / "scores.sqlite").exists() and not (out / "state.json").exists()
    with out_lock(out):  # a killed search leaves no lock behind
        assert (out / ".lock").read_text() == f"{os.getpid()} search"


def _search_process(small_bundle: Path, out: Path, *extra: str, cycles: int = 2,
                    space: str = "darts") -> subprocess.Popen:
    env = {**os.environ, "SWAPNAS_WORKERS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "swapnas", *_search(small_bundle, out, *extra, cycles=cycles,
                                                                       space=space)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_searches_on_one_out_the_second_refused(small_bundle, tmp_path, capsys) -> None:
    out = tmp_path / "s"
    first = _search_process(small_bundle, out, cycles=4)
    deadline = time.time() + 120
    while not ((out / ".lock").is_file() and (out / ".lock").read_text() == f"{first.pid} search"):
        assert first.poll() is None and time.time() < deadline, first.communicate()
        time.sleep(0.05)
    assert main(_search(small_bundle, out, cycles=4)) == 2
    assert f"another swapnas search is using {out} (pid {first.pid})" in _error(capsys)
    assert first.wait(timeout=300) == 0, first.communicate()[1]
    result = json.loads((out / "result.json").read_text())
    assert main(_search(small_bundle, out, cycles=4)) == 0  # free again: resumes the finished search
    assert json.loads((out / "result.json").read_text())["history"] == result["history"]


@pytest.mark.slow
def test_two_searches_with_different_outs_share_one_store(small_bundle, tmp_path, capsys) -> None:
    # NB201: sharing a store is the same in every space, and DARTS' bigger nets (and its final network's
    # MAC count, in each of four runs) made this test take ~45 s of CI
    store = tmp_path / "shared.sqlite"
    procs = [_search_process(small_bundle, tmp_path / f"s{seed}", "--store", str(store), "--seed", str(seed),
                             space="nb201") for seed in (1, 2)]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.communicate()[1]
    assert main(["store", "check", str(store)]) == 0
    rows = _rows(store)
    results = [json.loads((tmp_path / f"s{seed}" / "result.json").read_text()) for seed in (1, 2)]
    stored = {k[1] for k in rows}
    assert all(h["arch"] in stored for r in results for h in r["history"])  # every evaluation is in the store
    for seed, result in zip((1, 2), results):  # rerun: nothing new to score, the same search
        assert main(_search(small_bundle, tmp_path / f"s{seed}", "--store", str(store), "--seed", str(seed),
                            space="nb201")) == 0
        assert json.loads((tmp_path / f"s{seed}" / "result.json").read_text())["history"] == result["history"]
    assert _rows(store) == rows


@pytest.mark.parametrize("content", ['{"fitness": {"proxy": "swap@1", "size_pr', "", '{"fitness": 1}', "[]",
                                     "\udcff"], ids=["truncated", "empty", "no_state", "not_a_dict", "not_utf8"])
def test_damaged_state_json_names_the_file_and_what_to_do(small_bundle, tmp_path, capsys, content) -> None:
    out = tmp_path / "s"
    out.mkdir()
    (out / "state.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    assert main(_search(small_bundle, out)) == 2
    err = _error(capsys)
    for text in (f"the search state {out / 'state.json'} is damaged", "every score is in the store",
                 "delete it to restart the search", "restore it from a backup"):
        assert text in err
    assert (out / "state.json").read_bytes() == content.encode("utf-8", "surrogateescape")


def test_state_is_written_through_unique_temporary_files(tmp_path, monkeypatch) -> None:
    path = tmp_path / "state.json"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(50):
                _save(path, {"writer": n, "i": i, "pad": "x" * 5000})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and json.loads(path.read_text())["i"] == 49
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]  # no temporary file left

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)  # the disk fills as the temporary is flushed
    with pytest.raises(ValueError, match="cannot write the search state .*No space left on device.*rerun the same"):
        _save(path, {"new": 1})
    assert json.loads(path.read_text())["i"] == 49  # the previous state is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
