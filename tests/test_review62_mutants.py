"""Review of session 62 by mutation: tests that pin changed lines no other test pinned. Each test names the
one-line mutants (of the session's diff, c46f827..) it kills; golden values come from SQLite's own reading of the
same file, or from the inputs the test builds."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from swapnas.store import Record, ScoreKey, ScoreStore
from swapnas import store_pages
from swapnas.store_pages import leaf_rows, record, varint


def _connect(path: Path):
    """A connection closed at the block's end (sqlite3's own context manager only commits)."""
    return closing(sqlite3.connect(path, isolation_level=None))


def _sqlite_rows(path: Path, sql: str = "SELECT * FROM t") -> list:
    with _connect(path) as db:
        return sorted(db.execute(sql).fetchall(), key=repr)


def _table(path: Path, page_size: int, rows: list[tuple], columns: str = "a, b") -> Path:
    with _connect(path) as db:
        db.execute(f"PRAGMA page_size = {page_size}")
        db.execute(f"CREATE TABLE t ({columns})")
        db.execute("BEGIN")
        db.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(rows[0]))})", rows)
        db.execute("COMMIT")
    return path


def _cells_of_root(path: Path, table: str = "t") -> tuple[int, int]:
    """The page size and the root page of ``table``."""
    with _connect(path) as db:
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        return db.execute("PRAGMA page_size").fetchone()[0], root


# --------------------------------------------------------------------------------------------- store_pages.record


def test_a_record_of_nulls_zeros_and_ones_alone_is_its_header() -> None:
    """Kills P05 (``0 < size <= len(payload)`` made ``<``): a record whose values take no bytes (NULL, the constants
    0 and 1: serial types 0, 8, 9) is all header, its size the payload's; such rows were dropped."""
    assert record(bytes([2, 0])) == [None]
    assert record(bytes([4, 8, 9, 0])) == [0, 1, None]
    assert record(bytes([5, 8, 9, 0])) is None  # (a header longer than the payload: not a record)


def test_a_record_with_a_reserved_serial_type_is_not_a_record() -> None:
    """Kills P06 (only 10 called reserved): SQLite's file format reserves serial types 10 and 11; 11 read as an odd
    (text) type gave an empty string where the bytes are not a record."""
    assert record(bytes([2, 10])) is None and record(bytes([2, 11])) is None
    assert record(bytes([2, 13])) == [""]  # (13: the empty text)


def test_rows_of_constants_alone_are_read_as_sqlite_reads_them(tmp_path) -> None:
    """Kills P05 through the file: rows of NULL, 0 and 1 are on the leaf page as header-only records."""
    path = _table(tmp_path / "t.sqlite", 1024, [(None, 0, 1), (1, 1, None), (0, None, 0)], "a, b, c")
    assert sorted(leaf_rows(path, 1024, lambda v: len(v) == 3), key=repr) == _sqlite_rows(path)


# --------------------------------------------------------------------------------------------- overflow payloads


def test_payloads_around_the_overflow_thresholds_and_long_chains_read_as_sqlite_reads_them(tmp_path) -> None:
    """Kills P14 (``most = usable - 36``), P15 (``total < most``), P18 (``local < most``), P21 (an overflow page's
    next pointer not followed) and P17/P16: texts of every length about where a cell starts to overflow (usable - 35
    bytes of payload) and where the local part would exceed it, and texts over several overflow pages, each read back
    as SQLite reads them."""
    texts = [(i, "x" * n) for i, n in enumerate([*range(960, 1010), *range(1950, 2060, 3), 5000, 12000, 40000])]
    path = _table(tmp_path / "t.sqlite", 1024, texts)
    got = sorted(leaf_rows(path, 1024, lambda v: len(v) == 2), key=repr)
    assert got == _sqlite_rows(path) and len(got) == len(texts)


def _overflow_pages(path: Path) -> list[int]:
    """The overflow chain of the one row of table t (its root a leaf), in order."""
    page_size, root = _cells_of_root(path)
    raw = path.read_bytes()
    head = (root - 1) * page_size
    assert raw[head] == 13 and int.from_bytes(raw[head + 3:head + 5], "big") == 1
    cell = head + int.from_bytes(raw[head + 8:head + 10], "big")
    total, i = varint(raw, cell)
    _, i = varint(raw, i)
    usable, most = page_size, page_size - 35
    least = (usable - 12) * 32 // 255 - 23
    local = least + (total - least) % (usable - 4)
    local = local if local <= most else least
    chain, nxt = [], int.from_bytes(raw[i + local:i + local + 4], "big")
    while nxt:
        chain.append(nxt)
        nxt = int.from_bytes(raw[(nxt - 1) * page_size:(nxt - 1) * page_size + 4], "big")
    return chain


def test_an_overflow_chain_that_loops_back_is_not_read_as_a_row(tmp_path) -> None:
    """Kills P19 (the chain's pages seen not kept): a damaged next pointer that points back into the chain gave a
    row of the right length made of the chain's pages read again (a score row whose text is wrong); it is passed
    over, and the rows beside it are read."""
    path = _table(tmp_path / "t.sqlite", 1024, [(1, "".join(f"{k:05d}" for k in range(1000)))])
    chain = _overflow_pages(path)
    assert len(chain) >= 4 and sorted(leaf_rows(path, 1024, lambda v: len(v) == 2)) == _sqlite_rows(path)
    raw = bytearray(path.read_bytes())
    second = (chain[1] - 1) * 1024
    raw[second:second + 4] = chain[0].to_bytes(4, "big")  # the second page's next: the first again
    path.write_bytes(bytes(raw))
    assert list(leaf_rows(path, 1024, lambda v: len(v) == 2)) == []


# --------------------------------------------------------------------------------------------- leaf_rows


def test_a_file_shorter_than_a_page_has_no_rows(tmp_path) -> None:
    """Kills P29 (the size check dropped: mmap of an empty file raises ValueError)."""
    empty, short = tmp_path / "e", tmp_path / "s"
    empty.write_bytes(b"")
    short.write_bytes(b"SQLite format 3\x00" + bytes(200))
    assert list(leaf_rows(empty, 4096, lambda v: True)) == [] and list(leaf_rows(short, 4096, lambda v: True)) == []


def test_the_schema_on_page_1_is_read_past_the_file_header(tmp_path) -> None:
    """Kills P31 (page 1's b-tree header read at byte 0, not 100): page 1 is a table leaf (the schema table) whose
    header follows the 100-byte file header; its rows are records like any other."""
    path = _table(tmp_path / "t.sqlite", 1024, [(1, "a")])
    schema = sorted(leaf_rows(path, 1024, lambda v: len(v) == 5), key=repr)
    assert schema == _sqlite_rows(path, "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master")
    assert schema[0][:2] == ("table", "t")


def test_a_cell_whose_text_is_not_utf8_is_passed_over_and_the_rest_read(tmp_path) -> None:
    """Kills P36 (UnicodeDecodeError, a ValueError, not caught): the salvage's second pass ended in a traceback at
    the first row whose text bytes changed, the very damage it reads past."""
    path = _table(tmp_path / "t.sqlite", 1024, [(i, f"row {i}") for i in range(20)])
    with _connect(path) as db:
        db.execute("UPDATE t SET b = CAST(x'66ff6f' AS TEXT) WHERE a = 7")
    got = sorted(leaf_rows(path, 1024, lambda v: len(v) == 2))
    assert got == [(i, f"row {i}") for i in range(20) if i != 7]


def test_freed_pages_named_by_a_second_freelist_trunk_are_left_out(tmp_path, monkeypatch) -> None:
    """Kills P32 (freed pages read), P27 (only the first trunk page of the freelist read) and P26 (a trunk's leaf
    numbers read from its count on): with more freed pages than one trunk page names ((page size - 8) / 4 = 126 at
    512 bytes), the deleted rows on the freed pages came back as live rows. ``secure_delete`` is set off: SQLite
    builds that default it on (Debian's) zero freed pages, and then no freelist is needed to leave them out (the
    freelist half of session 62's test_leaf_rows_equal_what_sqlite_reads… passes without it there)."""
    path = _table(tmp_path / "t.sqlite", 512, [(i, f"{i:04d}" + "y" * 200) for i in range(900)])
    with _connect(path) as db:
        db.execute("PRAGMA secure_delete = 0")
        assert db.execute("PRAGMA secure_delete").fetchone()[0] == 0  # (freed pages keep their cells)
        db.execute("DELETE FROM t WHERE a >= 100")
        assert db.execute("PRAGMA freelist_count").fetchone()[0] > 2 * 126
    with monkeypatch.context() as m:  # the freed pages' cells are there to be misread
        m.setattr(store_pages, "_freelist", lambda *a: set())
        assert len(list(leaf_rows(path, 512, lambda v: len(v) == 2))) > 500
    got = sorted(leaf_rows(path, 512, lambda v: len(v) == 2), key=repr)
    assert got == _sqlite_rows(path) and len(got) == 100


# --------------------------------------------------------------------------------------------- salvage's second pass


def _score_store(path: Path, n: int = 400) -> Path:
    with ScoreStore(path) as store:
        for i in range(n):
            key = ScoreKey("nb201", f"|arch {i}|" + "x" * 40, "swap@1", "fp", i % 3, 16, 1, '{"C": 16, "N": 1}')
            store.put(key, Record("ok", i * 1.5, 0.0, [], 0.25, i, None))
    return path


def _zero_page(path: Path, name: str) -> None:
    with _connect(path) as db:
        db.execute("PRAGMA journal_mode = DELETE")
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    raw = bytearray(path.read_bytes())
    raw[(root - 1) * page_size:root * page_size] = bytes(page_size)
    path.write_bytes(bytes(raw))


def test_salvage_of_a_store_whose_key_index_alone_is_damaged(tmp_path) -> None:
    """Kills T08 (``indexed is None`` dropped from the second pass's condition: ``int(None)``, a TypeError, where
    the primary-key index cannot be counted and the table read whole)."""
    from swapnas.store_tools import salvage_store

    path = _score_store(tmp_path / "s.sqlite")
    want = _sqlite_rows(path, "SELECT * FROM scores")
    _zero_page(path, "sqlite_autoindex_scores_1")
    report = salvage_store(path, tmp_path / "new.sqlite")
    assert _sqlite_rows(tmp_path / "new.sqlite", "SELECT * FROM scores") == want
    assert report.recovered == 400 and report.from_pages == 0


def test_salvage_reads_the_leaf_pages_at_the_stores_own_page_size(tmp_path) -> None:
    """Kills T12 (the second pass read pages of 4096 bytes, SQLite's default, whatever the store's): a store of
    1024-byte pages with its scores table's root zeroed gives back every row."""
    from swapnas.store_tools import salvage_store

    path = _score_store(tmp_path / "s.sqlite")
    with _connect(path) as db:
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute("PRAGMA page_size = 1024")
        db.execute("VACUUM")
        assert db.execute("PRAGMA page_size").fetchone()[0] == 1024
    want = _sqlite_rows(path, "SELECT * FROM scores")
    _zero_page(path, "scores")
    report = salvage_store(path, tmp_path / "new.sqlite")
    assert _sqlite_rows(tmp_path / "new.sqlite", "SELECT * FROM scores") == want
    assert report.from_pages == 400 and report.lost == 0


_ROW = {"space": "nb201", "arch": "a", "proxy": "swap@1", "protocol": "fp", "seed": 0, "batch_size": 16, "repeats": 1,
        "net": "{}", "status": "ok", "value": 1.5, "std": 0.0, "values_json": "[]", "seconds": 0.25,
        "peak_mem_bytes": None, "error": None, "device": "cpu", "created": 1.7e9}


def _as_values(**change) -> list:
    row = {**_ROW, **change}
    assert set(row) == set(ScoreStore.COLUMNS)
    return [row[c] for c in ScoreStore.COLUMNS]


@pytest.mark.parametrize("change, mutant", [
    ({"arch": 7}, "T16"), ({"net": b"{}"}, "T16"), ({"seed": "0"}, "T17"), ({"repeats": 1.0}, "T17"),
    ({"status": "maybe"}, "T18"), ({"value": "1.5"}, "T19"), ({"seconds": b"\x00"}, "T19"),
    ({"values_json": 3}, "T20"), ({"device": 0.5}, "T20"), ({"peak_mem_bytes": 1.5}, "T21"),
    ({"created": None}, "T22"), ({"created": "now"}, "T22")])
def test_a_leaf_record_is_a_score_row_only_with_each_columns_kind(change, mutant) -> None:
    """Kills T16..T22 (one of ``score_like``'s column checks dropped): a damaged cell that decodes as 17 values of
    the wrong kinds is not offered to the salvaged store as a score."""
    from swapnas.store_pages import score_like as _score_like  # (moved out of store_tools: the review)

    assert _score_like(_as_values())
    assert _score_like(_as_values(value=4154, status="failed", std=None, seconds=None, peak_mem_bytes=2 ** 40,
                                  created=1_700_000_000))  # (whole REALs are stored as integers on a page)
    assert not _score_like(_as_values(**change)), mutant


def test_salvage_text_names_a_single_score_read_from_the_leaf_pages() -> None:
    """Kills T23 (the line said from 2 scores on)."""
    from swapnas.store_tools import Salvage, salvage_text

    text = salvage_text(Salvage("a", "b", 3, 0, 1, 1, None, 1))
    assert "  1 of the scores read from the table's leaf pages, past damaged pages above them" in text
    assert "leaf pages" not in salvage_text(Salvage("a", "b", 3, 0, 1, 1, None, 0))


# --------------------------------------------------------------------------------------------- code records


def test_the_running_codes_new_form_replacing_the_older_is_committed(tmp_path) -> None:
    """Kills S04 (the UPDATE of the legacy record not committed): the store's own connection read its new form back,
    but closing rolled it back, and every later process upgraded it again."""
    import warnings

    import swapnas.code_changes as code_changes
    from swapnas.code_changes import warn_changed_code
    from swapnas.proxies import get_proxy
    from swapnas.proxies.code import code_digest, legacy_code_digest
    from tests.test_session62 import _legacy_swap_store

    swap = get_proxy("swap")
    path = _legacy_swap_store(tmp_path / "s.sqlite", legacy_code_digest(swap.fn))
    code_changes._CODE_CHECKED.discard((str(path), "swap@1"))
    with ScoreStore(path) as store, warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_changed_code(store, [swap])
    with _connect(path) as db:
        assert db.execute("SELECT digest FROM proxy_code WHERE proxy = 'swap@1'").fetchone()[0] == code_digest(swap.fn)


def test_a_source_in_the_older_form_after_one_in_the_new_merges(tmp_path) -> None:
    """Kills M03 and M04 (only INTO's / the first source's record read in now's form): shards merged in the other
    order, the one recorded in now's form first, were refused as other code (and the merge's note named it)."""
    from swapnas.proxies import get_proxy
    from swapnas.proxies.code import code_digest, legacy_code_digest
    from swapnas.store_merge import merge_stores
    from tests.test_session62 import _legacy_swap_store
    from tests.test_session55 import _store_with_codes

    swap = get_proxy("swap")
    old = _legacy_swap_store(tmp_path / "old.sqlite", legacy_code_digest(swap.fn))
    new = _store_with_codes(tmp_path / "new.sqlite", {"swap@1": code_digest(swap.fn)})
    merged = merge_stores([new, old], tmp_path / "into.sqlite")
    assert merged.added == 1 and merged.other_code == []


# --------------------------------------------------------------------------------------------- export


def test_the_provenance_names_each_datasets_metric_keys_in_naslibs_spelling(tmp_path) -> None:
    """Kills E03 (every dataset's keys listed under each dataset) and E04 (our names, not NASLib's, in
    ``settings[...]["proxies"]``)."""
    import json

    from swapnas.export import export
    from tests.test_review54_mutants import PROTOCOL

    store, out = tmp_path / "s.sqlite", tmp_path / "zc.json"
    with ScoreStore(store) as s:
        for fp, dataset in (("fa", "cifar10"), ("fb", "cifar100")):
            s.add_protocol(fp, {**PROTOCOL, "dataset": dataset, "batch_digest": fp})
        put = [("fa", "jacob_cov@1"), ("fa", "params@1"), ("fb", "synflow@2")]
        for fp, proxy in put:
            s.put(ScoreKey("nb201", "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", proxy, fp, 0, 16, 1,
                           '{"C": 16, "N": 1}'), Record("ok", 1.0, 0.0, [1.0], 0.5, None, None))
    export(store, out, "naslib-zc")
    settings = json.loads(out.read_text())["provenance"]["settings"]["nb201"]
    assert {d: v["proxies"] for d, v in settings.items()} == {
        "cifar10": {"jacov": "jacob_cov@1", "params": "params@1"}, "cifar100": {"synflow": "synflow@2"}}


def test_a_reader_that_left_is_not_called_a_write_error(tmp_path, monkeypatch) -> None:
    """Kills E11 (BrokenPipeError caught as an OSError): ``export --out /dev/stdout | head`` said "--out …: cannot
    write it (Broken pipe); give another file" (exit 2) where the CLI exits 0 as for ``swapnas proxies | head``."""
    import errno

    import swapnas.export as export_module
    from tests.test_session55 import _one_score_store

    store = _one_score_store(tmp_path / "s.sqlite")

    def broken(path, write) -> None:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(export_module, "write_atomic", broken)
    with pytest.raises(BrokenPipeError):
        export_module.export(store, tmp_path / "x.csv")


# --------------------------------------------------------------------------------------------- cli: store_in


def _store_in_args(tmp_path, **kw):
    import argparse

    out = tmp_path / "o"
    out.mkdir(parents=True, exist_ok=True)
    return argparse.Namespace(**{"store": None, "shard": None, "out": str(out), **kw})


def _put_one(store) -> None:
    store.put(ScoreKey("nb201", "a", "swap@1", "fp", 0, 16, 1, "{}"), Record("ok", 1.0, 0.0, [1.0], 0.5, None, None))


def test_store_in_keeps_a_store_that_holds_a_score_when_the_run_stops(tmp_path) -> None:
    """Kills CL04 (OUT's store removed when the run stops whether or not it holds scores): a grid that stored scores
    and then failed lost them, and the message's "every finished score is kept" was false."""
    from swapnas.cli.commands import store_in

    args = _store_in_args(tmp_path)
    with pytest.raises(ValueError, match="^later$"):
        with store_in(args) as store:
            _put_one(store)
            raise ValueError("later")
    with ScoreStore(Path(args.out) / "scores.sqlite", read_only=True) as store:
        assert store.count() == 1


def test_store_in_removes_its_empty_store_on_an_interrupt_and_raises_what_stopped_it(tmp_path) -> None:
    """Kills CL14 (only an Exception, not a KeyboardInterrupt, removed the empty store) and CL07 (the exception
    swallowed once the store was removed: the refused run went on as if it had run)."""
    from swapnas.cli.commands import store_in

    args = _store_in_args(tmp_path)
    for stop in (KeyboardInterrupt, ValueError):
        with pytest.raises(stop):
            with store_in(args):
                raise stop()
        assert sorted(p.name for p in Path(args.out).iterdir()) == []


def test_store_in_leaves_a_store_named_by_store_or_there_before(tmp_path) -> None:
    """Kills CL02 (a new ``--store`` file removed: another run may share it) and CL01 (OUT's store that was there
    before this run, scores or none, removed)."""
    from swapnas.cli.commands import store_in

    given = tmp_path / "shared.sqlite"
    with pytest.raises(ValueError):
        with store_in(_store_in_args(tmp_path, store=str(given))):
            raise ValueError("refused")
    assert given.is_file()
    args = _store_in_args(tmp_path / "again")
    with ScoreStore(Path(args.out) / "scores.sqlite"):
        pass  # an earlier run's store, empty
    with pytest.raises(ValueError):
        with store_in(args):
            raise ValueError("refused")
    assert (Path(args.out) / "scores.sqlite").is_file()


def test_a_relative_out_inside_the_bundle_is_refused(small_bundle, tmp_path, monkeypatch) -> None:
    """Kills O01 (the path compared with the bundle unresolved): ``cd BUNDLE/nb301 && swapnas export … --out
    naslib_zc_nasbench301.json`` replaced NASLib's file."""
    import shutil

    from swapnas.out_checks import refuse_file_in_bundle

    bundle = tmp_path / "bundle"
    shutil.copytree(small_bundle / "nb301", bundle / "nb301")
    shutil.copy(small_bundle / "SOURCES.md", bundle / "SOURCES.md")
    monkeypatch.setenv("SWAPNAS_DATA", str(bundle))
    monkeypatch.chdir(bundle / "nb301")
    with pytest.raises(ValueError, match="is inside the data bundle"):
        refuse_file_in_bundle("--out", "naslib_zc_nasbench301.json")
    refuse_file_in_bundle("--out", str(tmp_path / "x.json"))  # outside it: nothing said


# --------------------------------------------------------------------------------------------- train


def test_an_interrupted_train_with_a_checkpoint_names_it(monkeypatch, tmp_path, capsys) -> None:
    """Kills I04 (and I02): the interrupt's message names OUT/checkpoint.pt where the run wrote one."""
    from swapnas.cli import commands, main
    from tests.test_darts_genotype import DARTS_V2

    out = tmp_path / "o"

    def interrupted(*a, **k):
        out.mkdir()
        (out / "checkpoint.pt").write_bytes(b"state")
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "run_train", interrupted)
    assert main(["train", "--genotype", DARTS_V2, "--synthetic", "16", "--out", str(out)]) == 130
    assert capsys.readouterr().err == (f"swapnas: interrupted; the state is in {out / 'checkpoint.pt'}: rerun the "
                                       "same command to resume\n")


def test_a_resumed_run_keeps_the_earlier_outputs_until_it_writes_its_own(tmp_path, monkeypatch) -> None:
    """Kills L05 (result.json and history.json removed on a resume too, not only on a fresh start): a resume
    interrupted before its first epoch ended left OUT without the history of the epochs its checkpoint holds."""
    from swapnas.train import loop
    from tests.test_train import _run

    out = tmp_path / "o"
    _run(out, epochs=1)
    before = {name: (out / name).read_bytes() for name in ("result.json", "history.json")}
    monkeypatch.setattr(loop, "_run_epoch", lambda run, epoch: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        _run(out, epochs=2)  # resumes: one more epoch
    assert {name: (out / name).read_bytes() for name in before} == before


@pytest.mark.parametrize("link", ["__cause__", "__context__"])
def test_an_interrupt_linked_either_way_to_torch_saves_error_is_raised_as_itself(monkeypatch, link) -> None:
    """Kills L06 (only ``__context__`` read) and L07 (only ``__cause__``): the zip writer's RuntimeError may carry the
    KeyboardInterrupt as either."""
    import torch

    from swapnas.train import loop

    def save(obj, f) -> None:
        error = RuntimeError("unexpected pos")
        setattr(error, link, KeyboardInterrupt())
        raise error

    monkeypatch.setattr(torch, "save", save)
    with pytest.raises(KeyboardInterrupt):
        loop._serialised({"a": 1})


def _cifar(root: Path, name: str, **change) -> Path:
    import pickle

    import numpy as np

    from swapnas.train.data import CIFAR_FILES

    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for file in CIFAR_FILES:
        d = {"data": np.zeros((4, 3072), np.uint8), "labels": [0, 1, 2, 9]}
        if file == name:
            d.update(change)
        (folder / file).write_bytes(pickle.dumps(d))
    return root


def test_cifar_pixels_as_whole_numbers_0_to_255_of_any_integer_type_are_read() -> None:
    """Kills D05 (``min() > 0``) and D06 (``max() < 255``): int64 pixels (a pickle's list of lists) holding 0 and
    255 are CIFAR-10's bytes."""
    import numpy as np

    from swapnas.train.data import _cifar_images

    data = np.tile(np.array([0, 255, 7], np.int64), 1024)[None].repeat(2, axis=0)
    images = _cifar_images(Path("f"), data)
    assert images.dtype == np.uint8 and images.shape == (2, 3, 32, 32)
    assert images.reshape(2, -1).tolist() == data.tolist()


@pytest.mark.parametrize("data, said, mutant", [
    ("ndim3", "its data is uint8 (4, 1, 3072), not CIFAR-10's N x 3072 bytes", "D01"),
    ("neg", "its data is int64, not CIFAR-10's pixel bytes 0..255", "D07"),
    ("big", "its data is int64, not CIFAR-10's pixel bytes 0..255", "D08"),
    ("ones", "its data is float64 in [0, 1], not CIFAR-10's", "D09")])
def test_cifar_pixels_that_are_not_bytes_are_refused(tmp_path, data, said, mutant) -> None:
    """Kills D01 (a 3-D array read as N x 3072), D07 (negative pixels wrapped to 255), D08 (pixels over 255 cut to a
    byte) and D09 (floats all 1.0 not said to be in [0, 1])."""
    import numpy as np

    from swapnas.train.data import load_cifar10

    arrays = {"ndim3": np.zeros((4, 1, 3072), np.uint8),
              "neg": np.concatenate([np.full((4, 3071), -1), np.full((4, 1), 200)], axis=1),
              "big": np.full((4, 3072), 256, np.int64), "ones": np.ones((4, 3072), np.float64)}
    root = _cifar(tmp_path, "data_batch_2", data=arrays[data])
    with pytest.raises(ValueError) as got:
        load_cifar10(root)
    assert str(got.value).startswith(f"{root / 'cifar-10-batches-py' / 'data_batch_2'}: ") and said in str(got.value), \
        mutant


@pytest.mark.parametrize("labels, said, mutant", [
    ([[0], [1], [2], [3]], "4 images but labels of shape (4, 1)", "D11"),
    ([0, 1, 10, 3], "integers 0..9, found 10", "D13")])
def test_cifar_labels_of_another_shape_or_class_10_are_refused(tmp_path, labels, said, mutant) -> None:
    """Kills D11 (labels (N, 1) taken: one per image along dim 0) and D13 (class 10 taken: CIFAR-10's are 0..9)."""
    from swapnas.train.data import load_cifar10

    root = _cifar(tmp_path, "test_batch", labels=labels)
    with pytest.raises(ValueError) as got:
        load_cifar10(root)
    assert said in str(got.value), mutant


def test_a_transnas_stand_in_batch_at_the_largest_resolution_is_made(small_bundle) -> None:
    """Kills TK02 (``resolution < MAX_RESOLUTION``): 1024 px, the bound itself, is allowed."""
    from swapnas.taskonomy import MAX_RESOLUTION, task_batch

    assert MAX_RESOLUTION == 1024
    assert task_batch("class_scene", 1, data_dir=small_bundle, resolution=1024).inputs.shape == (1, 3, 1024, 1024)


def test_a_freelist_named_by_a_header_that_is_not_sqlites_is_not_trusted(tmp_path) -> None:
    """Kills P23 (the header's freelist read whatever the header is): with the file's header overwritten (the magic
    string gone, byte 32 on naming a live leaf page as the freelist's trunk), that page's rows were left out."""
    path = _table(tmp_path / "t.sqlite", 1024, [(i, f"{i:04d}" + "z" * 100) for i in range(60)])
    want = _sqlite_rows(path)
    raw = bytearray(path.read_bytes())
    assert raw[1024 * 2] == 13  # page 3: a leaf of t
    raw[:16] = bytes(16)
    raw[32:36] = (3).to_bytes(4, "big")
    path.write_bytes(bytes(raw))
    assert sorted(leaf_rows(path, 1024, lambda v: len(v) == 2), key=repr) == want


def test_pages_with_reserved_bytes_are_read_within_their_usable_size(tmp_path) -> None:
    """Kills P30 (the header's reserved bytes per page, byte 20, not taken off: overflow payloads split and read at
    the whole page size). The reserved bytes are set with the sqlite3 shell's ``.filectrl reserve_bytes`` (Python's
    sqlite3 cannot): skipped without it."""
    import shutil
    import subprocess

    if shutil.which("sqlite3") is None:
        pytest.skip("no sqlite3 shell to set a page's reserved bytes")
    path = tmp_path / "r.sqlite"
    subprocess.run(["sqlite3", str(path), "PRAGMA page_size = 1024;", ".filectrl reserve_bytes 40",
                    "CREATE TABLE t (a, b);", "VACUUM;"], check=True, capture_output=True, timeout=60)
    if path.read_bytes()[20] != 40:
        pytest.skip("this sqlite3 shell does not set reserved bytes")
    with _connect(path) as db:
        db.executemany("INSERT INTO t VALUES (?, ?)", [(i, "r" * n) for i, n in enumerate([10, 900, 960, 3000, 9000])])
    got = sorted(leaf_rows(path, 1024, lambda v: len(v) == 2), key=repr)
    assert got == _sqlite_rows(path) and len(got) == 5


def test_shards_whose_network_code_differs_merge_with_a_note(tmp_path) -> None:
    """Kills M05 (a network's record, ``net:…``, refused before the merge as a metric's is): its digest in the form
    stores recorded until session 62 differs between Python 3.11 and 3.12 for the same code, so it is left to the
    note after the merge."""
    from swapnas.store_merge import merge_stores
    from tests.test_session55 import _one_score_store, _store_with_codes

    a = _store_with_codes(_one_score_store(tmp_path / "a.sqlite"), {"net:nb201@1": "0" * 16})
    b = _store_with_codes(tmp_path / "b.sqlite", {"net:nb201@1": "1" * 16})
    merged = merge_stores([a, b], tmp_path / "into.sqlite")
    assert merged.added == 1 and merged.other_code == ["net:nb201@1"]


def test_an_out_inside_the_bundle_given_by_data_dir_is_refused(small_bundle, tmp_path, monkeypatch) -> None:
    """Kills O02 (the bundle of ``$SWAPNAS_DATA`` or the user default checked, not ``--data-dir``'s)."""
    import argparse

    from swapnas.out_checks import _refuse_in_bundle

    monkeypatch.setenv("SWAPNAS_DATA", str(tmp_path / "no bundle here"))
    args = argparse.Namespace(data_dir=str(small_bundle), store=None)
    with pytest.raises(ValueError, match="--out .* is inside the data bundle"):
        _refuse_in_bundle(args, small_bundle / "nb201" / "o")
    _refuse_in_bundle(args, tmp_path / "o")  # outside it: nothing said
