"""Session 52, interrupted and damaged stores (docs/reliability.md, "Session 52"): each test failed on the code
before its fix (the first ran until the memory was gone)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from swapnas import store_tools
from swapnas.store import ScoreStore
from swapnas.store_tools import salvage_store

from .test_store_tools_mutants import _store_with_page_size


class _ZeroedCells:
    """A connection to a table as SQLite read ztail.sqlite of session 52's run: a leaf whose cells were zeroed
    yields rows of rowid 0 (cell pointers kept, cells gone) and the scan fails one row later (sqlite3 steps ahead)."""

    def __init__(self, first_zeroed: bool = False) -> None:
        self.order = [(1, "a"), (2, "b"), (0, None), (0, None), (3, "c"), (4, "d")]  # as the b-tree gives them
        if first_zeroed:  # the first leaf's first cells zeroed: no row before them
            self.order = [(0, None), *self.order]
        self.bad, self.calls = {3}, 0

    def execute(self, sql: str, params: tuple = ()) -> Any:
        self.calls += 1
        if self.calls > 200:
            raise AssertionError("the scan does not end")
        if "sqlite_master" in sql or "max(rowid)" in sql:
            return _Rows([(1,) if "sqlite_master" in sql else (4,)])
        if "INDEXED BY" in sql:  # (session 67: salvage reads the index's rowids at a damage; here it is damaged too)
            raise sqlite3.DatabaseError("database disk image is malformed")
        if "rowid = ?" in sql:
            if params[0] in self.bad:
                raise sqlite3.DatabaseError("database disk image is malformed")
            return _Rows([r for r in self.order if r[0] == params[0]][:1])
        if "rowid > ?" in sql:
            return _Rows(sorted(r for r in self.order if r[0] > params[0])[:1])
        return self._from(params[0])

    def _from(self, start: int) -> Iterator[tuple]:
        seek = next((i for i, r in enumerate(self.order) if r[0] >= start), len(self.order))
        for i, row in enumerate(self.order[seek:], seek):
            if i + 1 < len(self.order) and self.order[i + 1][0] in self.bad:  # stepping ahead reads the bad one
                raise sqlite3.DatabaseError("database disk image is malformed")
            yield row


class _Rows(list):
    def fetchone(self) -> tuple | None:
        return self[0] if self else None


def test_zeroed_cells_read_as_rowid_0_do_not_send_the_scan_back_to_the_start() -> None:
    """A zeroed cell read as rowid 0 set the next rowid to 1: the scan read the table again and again (23.7 GB of
    rows, then the OOM killer; correlate's own error message had advised this salvage)."""
    for first in (False, True):
        rows, stretches = store_tools._scan(_ZeroedCells(first), "scores", ("v",))  # type: ignore[arg-type]
        assert rows == [("a",), ("b",), ("d",)] and stretches == 1


def test_a_store_whose_tail_is_zeroed_is_salvaged_once(tmp_path) -> None:
    src = tmp_path / "s.sqlite"
    rows = _store_with_page_size(src, 4096, 300)
    data = bytearray(src.read_bytes())
    page = data.find(b"arch-0150-") // 4096
    assert data[page * 4096] == 0x0D  # a table leaf: its cell pointers stay, the cells they point at are zeroed
    cut = page * 4096 + 800  # from the middle of that page on: zeros, as a power loss leaves them
    data[cut:] = bytes(len(data) - cut)
    src.write_bytes(bytes(data))
    report = salvage_store(src, tmp_path / "new.sqlite")
    with ScoreStore(tmp_path / "new.sqlite") as new:
        got = new.rows()
    assert got == [r for r in rows if r in got] and len(got) == report.recovered  # no row twice, each one stored
    assert 0 < report.recovered < 300 and report.damaged_stretches >= 1


def test_rows_read_whole_but_unreadable_as_scores_are_counted_lost(tmp_path) -> None:
    """A page whose back was zeroed gave rows of NULLs that the new store refused: "888 recovered, 0 lost"."""
    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, 4096, 200)
    data = bytearray(src.read_bytes())
    page = data.find(b"arch-0100-") // 4096
    data[(page + 1) * 4096 - 1000:(page + 1) * 4096] = bytes(1000)  # its last cells: rows of NULLs, no read error
    src.write_bytes(bytes(data))
    report = salvage_store(src, tmp_path / "new.sqlite")
    assert report.damaged_stretches == 0 and report.lost is not None and report.lost > 0
    assert report.recovered + report.lost == 200


def test_a_store_cut_mid_page_is_salvaged_as_one_cut_at_the_page_before(tmp_path) -> None:
    """A store cut off mid-page (an interrupted copy) was "its header and schema page are damaged"."""
    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, 4096, 300)
    whole = src.read_bytes()
    at_page = tmp_path / "page.sqlite"
    at_page.write_bytes(whole[:12 * 4096])
    src.write_bytes(whole[:12 * 4096 + 1500])
    mid, clean = salvage_store(src, tmp_path / "a.sqlite"), salvage_store(at_page, tmp_path / "b.sqlite")
    assert mid.recovered >= clean.recovered > 0
    with sqlite3.connect(tmp_path / "b.sqlite") as b, sqlite3.connect(tmp_path / "a.sqlite") as a:
        assert set(b.execute("SELECT arch FROM scores")) <= set(a.execute("SELECT arch FROM scores"))


def test_a_cut_store_keeps_the_page_size_its_header_gives(tmp_path) -> None:
    """Cut mid-page, a store of a real run's shape (NB201 archs, three proxies, 900 rows) read as a whole scores table
    under a wrong page size too (32768: 24 "scores" of garbage), and that one was taken over the header's 4096."""
    import random

    from swapnas.spaces import nb201
    from swapnas.store import Record, ScoreKey

    src, rng = tmp_path / "s.sqlite", random.Random(0)
    with ScoreStore(src) as store:
        store.add_protocol("p0", {"made": "up"})
        for i in range(300):
            arch = str(nb201.sample(rng))
            for proxy in ("swap", "swap_reg", "params"):
                store.put(ScoreKey("nb201", arch, proxy, "p0", 0, 16, 1, "C=16,N=1"),
                          Record("ok", float(i), 0.1, [float(i)], 0.01, None, None))
    whole = src.read_bytes()
    assert len(whole) > 56 * 4096
    src.write_bytes(whole[:55 * 4096 + 100])
    report = salvage_store(src, tmp_path / "new.sqlite")
    assert report.header_rebuilt == 4096 and report.recovered > 600


def test_a_store_s_main_file_copied_without_its_wal_is_named_so(tmp_path) -> None:
    """After a kill -9, a store's schema and scores are only in FILE-wal until the first checkpoint; a shard copied
    without it was "not a swapnas score store (it has no scores table …)" to merge, check and salvage alike."""
    from swapnas.store_merge import merge_stores
    from swapnas.store_tools import check_store

    main = tmp_path / "shard.sqlite"
    sqlite3.connect(main).execute("PRAGMA journal_mode=WAL").close()  # what the copy holds: a header, no table
    hint = ("; it has no table at all, as a store's main file has none until its first checkpoint: if it was copied "
            "from a store whose run was killed or still running, copy shard.sqlite-wal beside it too")
    for call in (lambda: check_store(main), lambda: salvage_store(main, tmp_path / "new.sqlite"),
                 lambda: merge_stores([main], tmp_path / "merged.sqlite")):
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value).split(" (it has")[0].startswith(str(main)) and hint in str(err.value)
    # another program's database gets no such hint: tests/test_store_tools_mutants.py pins its message whole


def test_a_second_correlate_or_grid_on_one_out_is_refused_and_shards_share_it(small_bundle, tmp_path, capsys) -> None:
    """Two correlates into one OUT both exited 0, results.json from one and the plots of the other; shards write no
    outputs and share an OUT by design (docs/results.md), so they still run beside a run that holds it."""
    from swapnas.cli import main

    from .process_helpers import lock_in_thread

    out = tmp_path / "run"
    with lock_in_thread(out, "correlate"):
        base = ["--data-dir", str(small_bundle), "--out", str(out), "--proxies", "params", "--no-progress"]
        assert main(["correlate", "--space", "darts_swap", "--archs", "4", "--workers", "1", *base]) == 2
        assert f"another swapnas correlate is using {out}" in capsys.readouterr().err
        assert main(["grid", "--benchmarks", "darts_swap", "--archs", "4", "--workers", "1", *base]) == 2
        assert f"another swapnas correlate is using {out}" in capsys.readouterr().err
        assert main(["correlate", "--space", "darts_swap", "--archs", "4", "--workers", "1", "--shard", "0/2",
                     *base]) == 0
        assert not (out / "results.json").exists()
    assert main(["correlate", "--space", "darts_swap", "--archs", "4", "--workers", "1", *base]) == 0
    assert (out / "results.json").exists()


def test_a_data_dir_that_is_a_file_is_called_a_file(tmp_path) -> None:
    from swapnas.bundle import resolve_data_dir

    (tmp_path / "afile").write_text("")
    with pytest.raises(FileNotFoundError, match=f"^data directory {tmp_path / 'afile'} is a file, not a folder; "):
        resolve_data_dir(tmp_path / "afile")
    with pytest.raises(FileNotFoundError, match=f"^data directory {tmp_path / 'none'} does not exist; "):
        resolve_data_dir(tmp_path / "none")


def test_merge_names_its_into_flag_when_the_target_cannot_be_made(tmp_path) -> None:
    from swapnas.store import StoreError
    from swapnas.store_merge import merge_stores

    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, 4096, 3)
    (tmp_path / "plain").write_text("")
    with pytest.raises(StoreError) as err:
        merge_stores([src], tmp_path / "plain" / "m.sqlite")
    assert str(err.value) == (f"cannot create the score store {tmp_path}/plain/m.sqlite ({tmp_path}/plain is a file, "
                              "not a folder); give an --into in a writable folder")


def test_a_rerun_with_fewer_proxies_removes_only_the_earlier_run_s_plots(small_bundle, tmp_path, capsys) -> None:
    from swapnas.cli import main

    out = tmp_path / "run"
    base = ["correlate", "--space", "darts_swap", "--archs", "4", "--workers", "1", "--data-dir", str(small_bundle),
            "--out", str(out), "--no-progress"]
    assert main([*base, "--proxies", "params,flops"]) == 0
    (out / "scatter_mine.png").write_bytes(b"a user's own file")
    assert main([*base, "--proxies", "params"]) == 0
    assert sorted(p.name for p in out.glob("scatter_*.png")) == ["scatter_mine.png", "scatter_params.png"]


def test_export_and_merge_name_their_store_arguments_not_a_run_s_store_flag(tmp_path) -> None:
    """The docs audit: a copy of a store's main file alone ended "give another --store" in export and merge, which
    take the store as an argument; a dataset in NASLib's spelling (the naslib-zc file's) picks its fingerprint."""
    from swapnas.export import export
    from swapnas.store import Record, ScoreKey, StoreError
    from swapnas.store_merge import merge_stores

    main = tmp_path / "shard.sqlite"
    sqlite3.connect(main).execute("PRAGMA journal_mode=WAL").close()
    for call in (lambda: export(main, tmp_path / "x.csv"), lambda: merge_stores([main], tmp_path / "m.sqlite")):
        with pytest.raises(StoreError) as err:
            call()
        assert str(err.value).endswith("; give another store") and "--store" not in str(err.value)
    store = tmp_path / "s.sqlite"
    with ScoreStore(store) as s:
        s.add_protocol("fpI", {"dataset": "imagenet16-120"})
        s.put(ScoreKey("nb201", "a", "swap@1", "fpI", 0, 8, 1, "{}"), Record("ok", 1.0, 0.0, [1.0], 0.1, None, None))
    for spelling in ("ImageNet16-120", "imagenet16-120"):
        assert export(store, tmp_path / "i.csv", protocol=spelling).read_text().count("\n") == 2
