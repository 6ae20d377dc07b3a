"""``swapnas store check`` and ``salvage`` (store_tools.py): the rebuilt header against SQLite's own, a garbage header
rebuilt at every page size, the salvage and check reports whole (session 41's mutation run: docs/reliability.md)."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import pytest

from swapnas import store_tools
from swapnas.store import Record, ScoreKey, ScoreStore, StoreError
from swapnas.store_tools import Salvage, StoreCheck, check_store, check_text, salvage_store, salvage_text

PAGE_SIZES = (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)


def _sqlite_file(path: Path, page_size: int) -> bytes:
    """A database SQLite writes itself (rollback journal, one table): its 100-byte header."""
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA page_size = {page_size}")
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute("CREATE TABLE t (a)")
    db.close()
    return path.read_bytes()[:100]


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_the_rebuilt_header_reads_as_sqlites_own(tmp_path, page_size):
    theirs = _sqlite_file(tmp_path / "t.sqlite", page_size)
    pages = (tmp_path / "t.sqlite").stat().st_size // page_size
    ours = store_tools._header(page_size, pages)
    assert len(ours) == 100
    # magic, page size, rollback-journal versions, reserved bytes, payload fractions
    assert ours[:24] == theirs[:24]
    # page count, empty freelist
    assert ours[28:40] == theirs[28:40]
    # schema format 4, cache size, no auto-vacuum root, UTF-8, user version, incremental vacuum, application id,
    # the reserved zeros; the library's version number
    assert ours[44:92] == theirs[44:92] and ours[96:] == theirs[96:]
    # the page count is trusted only where the change counter equals the version-valid-for number
    assert struct.unpack(">I", ours[24:28]) == struct.unpack(">I", ours[92:96])


def _store_with_page_size(path: Path, page_size: int, n: int) -> list[tuple]:
    with ScoreStore(path) as store:
        store.add_protocol("p0", {"made": "up"})
        for i in range(n):
            store.put(ScoreKey("fake", f"arch-{i:04d}-" + "op" * 40, "swap", "p0", 0, 8, 1, "C=4"),
                      Record("ok", float(i), 0.0, [float(i)], 0.01, None, None))
        rows = store.rows()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute(f"PRAGMA page_size = {page_size}")
    db.execute("VACUUM")
    db.close()
    return rows


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_a_garbage_header_is_rebuilt_at_every_page_size(tmp_path, page_size):
    src = tmp_path / "s.sqlite"
    rows = _store_with_page_size(src, page_size, 40)
    size = src.stat().st_size
    assert size % page_size == 0 and (page_size != 512 or size % 4096)  # 4096, tried first, does not fit it
    with open(src, "r+b") as f:
        f.write(b"garbage " * 12)
    out = tmp_path / "new" / "deeper" / "s.sqlite"  # folders made as needed
    report = salvage_store(src, out)
    assert report == Salvage(str(src), str(out), 40, 0, 1, 0, page_size)
    with ScoreStore(out) as new:
        assert new.rows() == rows


def test_a_page_size_that_reads_only_the_schema_is_passed_over(tmp_path):
    # found by this file: page 1 starts at byte 0 under every page size, so 4096 (tried first) read the schema of
    # this 2048-byte-page store, and the salvage took it and recovered no score
    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, 2048, 40)
    assert src.stat().st_size % 4096 == 0
    with open(src, "r+b") as f:
        f.write(b"garbage " * 12)
    assert salvage_store(src, tmp_path / "new.sqlite").header_rebuilt == 2048


def test_the_header_search_keeps_at_most_two_copies_on_disk(tmp_path, monkeypatch):
    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, 2048, 40)  # 4096 reads its schema only (kept as the fallback), 1024 nothing
    with open(src, "r+b") as f:
        f.write(b"garbage " * 12)
    on_disk = []
    real = store_tools.shutil.copyfile

    def copyfile(a, b):
        real(a, b)
        on_disk.append(sorted(p.name for p in Path(b).parent.glob("header_*.sqlite")))

    monkeypatch.setattr(store_tools.shutil, "copyfile", copyfile)
    assert salvage_store(src, tmp_path / "new.sqlite").header_rebuilt == 2048
    assert on_disk == [["header_4096.sqlite"], ["header_1024.sqlite", "header_4096.sqlite"],
                       ["header_2048.sqlite", "header_4096.sqlite"]]


def test_with_a_damaged_table_page_too_the_first_page_size_that_reads_the_schema_is_kept(tmp_path):
    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, 4096, 200)
    data = bytearray(src.read_bytes())
    page = data.find(b"arch-0100-") // 4096
    assert page > 2 and data[page * 4096] == 0x0D  # a table leaf in the middle
    data[page * 4096:(page + 1) * 4096] = b"\xab" * 4096
    data[:96] = b"garbage " * 12
    src.write_bytes(bytes(data))
    report = salvage_store(src, tmp_path / "new.sqlite")
    assert report.header_rebuilt == 4096 and report.damaged_stretches == 1 and 150 < report.recovered < 200


def _damage_leaves(path: Path, names: tuple[str, ...]) -> set[str]:
    """Overwrite the table-leaf pages (4096 bytes) that hold each of ``names`` with garbage; the archs those pages
    held, read from the bytes before the damage (what an exact salvage must lose)."""
    data = bytearray(path.read_bytes())
    held: set[str] = set()
    for name in names:
        page = data.find(name.encode()) // 4096
        assert page > 2 and data[page * 4096] == 0x0D
        chunk = bytes(data[page * 4096:(page + 1) * 4096])
        held |= {f"arch-{i:04d}-" for i in range(1000) if f"arch-{i:04d}-".encode() in chunk}
        data[page * 4096:(page + 1) * 4096] = b"\xab" * 4096
    path.write_bytes(bytes(data))
    return held


@pytest.mark.parametrize("names", [("arch-0100-",), ("arch-0050-", "arch-0150-"), ("arch-0000-",), ("arch-0199-",)],
                         ids=["middle", "two_pages", "first", "last"])
def test_salvage_loses_exactly_the_rows_of_the_damaged_pages(tmp_path, names):
    src = tmp_path / "s.sqlite"
    rows = _store_with_page_size(src, 4096, 200)
    lost = _damage_leaves(src, names)
    assert 0 < len(lost) < 30 * len(names)  # a page holds some 26 of these rows
    out = tmp_path / "new.sqlite"
    report = salvage_store(src, out)
    assert report == Salvage(str(src), str(out), 200 - len(lost), len(lost), 1, len(names), None)
    with ScoreStore(out) as new:
        assert new.rows() == [r for r in rows if r["arch"][:10] not in lost]


def test_stepping_over_damage_jumps_the_gaps_deleted_rows_left(tmp_path):
    # the rows right after the damaged page were deleted: the step past the damage meets missing rowids, not errors
    src = tmp_path / "s.sqlite"
    rows = _store_with_page_size(src, 4096, 200)
    data = src.read_bytes()
    page = data.find(b"arch-0100-") // 4096
    last = max(i for i in range(200) if f"arch-{i:04d}-".encode() in data[page * 4096:(page + 1) * 4096])
    gone = {f"arch-{i:04d}-" for i in range(last + 1, last + 6)}
    with sqlite3.connect(src) as db:
        for name in gone:
            db.execute("DELETE FROM scores WHERE arch LIKE ?", (name + "%",))
    db.close()
    lost = _damage_leaves(src, ("arch-0100-",))
    out = tmp_path / "new.sqlite"
    report = salvage_store(src, out)
    assert (report.recovered, report.lost, report.damaged_stretches) == (200 - 5 - len(lost), len(lost), 1)
    with ScoreStore(out) as new:
        assert new.rows() == [r for r in rows if r["arch"][:10] not in lost | gone]


def test_a_store_without_a_protocols_table_is_no_damage(tmp_path):
    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, 4096, 3)
    with sqlite3.connect(src) as db:
        db.execute("DROP TABLE protocols")
    db.close()
    out = tmp_path / "new.sqlite"
    assert salvage_store(src, out) == Salvage(str(src), str(out), 3, 0, 0, 0, None)


def test_salvage_works_beside_its_output_and_reports_whole(tmp_path, monkeypatch):
    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, 4096, 5)
    seen = []
    real = store_tools._open_source

    def spy(source, work):
        seen.append(work)
        return real(source, work)

    monkeypatch.setattr(store_tools, "_open_source", spy)
    out = tmp_path / "out" / "s.sqlite"
    report = salvage_store(src, out)
    assert report == Salvage(str(src), str(out), 5, 0, 1, 0, None)
    assert seen[0].parent == out.parent and seen[0].name.startswith(".salvage.")  # on the output's disk
    assert not seen[0].exists()
    assert salvage_text(report) == f"salvaged {src} into {out}: 5 scores recovered, 0 lost, 1 protocol"


def test_salvage_text_of_a_bad_case_whole():
    s = Salvage("a.sqlite", "b.sqlite", 7, None, 2, 3, 1024)
    assert salvage_text(s) == (
        "salvaged a.sqlite into b.sqlite: 7 scores recovered, an unknown number of scores lost (the key index is "
        "damaged too), 2 protocols\n  its header was rebuilt (page size 1024): the file's own was damaged or the "
        "file cut short\n  3 damaged stretch(es) "
        "stepped over")


def test_salvage_to_a_path_it_cannot_write_says_so_whole(tmp_path):
    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, 4096, 1)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError) as info:
        salvage_store(src, tmp_path / "afile" / "x.sqlite")
    assert str(info.value) == (f"--out {tmp_path / 'afile' / 'x.sqlite'}: cannot write there (File exists); give a "
                               "path in a folder you can write")


def test_check_and_salvage_refusals_whole(tmp_path):
    with pytest.raises(StoreError) as info:
        check_store(tmp_path / "none.sqlite")
    assert str(info.value) == (f"no score store at {tmp_path / 'none.sqlite'} (the --store of a correlate/grid/search "
                               "run, default OUT/scores.sqlite)")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"x" * 50 + b"\0" * 50)  # as long as a header, binary: checked, and found to be no database
    report = check_store(junk)
    assert (report.problems, report.scores, report.size_bytes) == (["file is not a database"], None, 100)
    # session 50: a CSV given as the store was called DAMAGED, and salvage then found no page to read
    text = tmp_path / "truth.csv"
    text.write_text("arch,val_acc\r\n" + "|x~0|,91.0\r\n" * 10)
    for call in (lambda: check_store(text), lambda: salvage_store(text, tmp_path / "out.sqlite")):
        with pytest.raises(StoreError) as info:
            call()
        assert str(info.value) == (f"{text} is a text file (its first line: 'arch,val_acc'), not a swapnas score "
                                   "store: give the store's path (the --store of a correlate/grid/search run, default "
                                   "OUT/scores.sqlite)")
    assert not (tmp_path / "out.sqlite").exists()
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (a)")
    db.close()
    with pytest.raises(ValueError) as err:
        check_store(other)
    assert str(err.value) == (f"{other} is a sound SQLite database but not a swapnas score store (it has no scores "
                              "table)")
    with pytest.raises(StoreError) as info:
        salvage_store(other, tmp_path / "out.sqlite")
    assert str(info.value) == f"{other} is an SQLite file without a scores table: not a swapnas score store"
    for name, sql, has in (("cols.sqlite", "CREATE TABLE scores (a, b)", "a, b"),
                           ("index.sqlite", "CREATE TABLE t (a); CREATE INDEX scores ON t (a)", "none")):
        foreign = tmp_path / name
        with sqlite3.connect(foreign) as db:
            db.executescript(sql)
        db.close()
        with pytest.raises(StoreError) as info:
            salvage_store(foreign, tmp_path / "out.sqlite")
        assert str(info.value) == (f"{foreign} is not a swapnas score store (its scores table has the columns {has}, "
                                   f"not {', '.join(ScoreStore.COLUMNS)})")
    with pytest.raises(ValueError) as err:
        check_store(tmp_path / "cols.sqlite")
    assert str(err.value) == (f"{tmp_path / 'cols.sqlite'} is a sound SQLite database but not a swapnas score store "
                              "(it has a scores table with other columns)")
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"\xab" * 8192)
    with pytest.raises(StoreError) as info:
        salvage_store(garbage, tmp_path / "out.sqlite")
    assert str(info.value) == (f"no page of {garbage} can be read as a score store (its header or its schema's pages "
                               "are damaged, or the file is cut short before them): no score can be recovered; "
                               "restore it from a backup, or start a fresh store with --store NEW.sqlite")


def test_a_file_shorter_than_a_header_is_refused_by_its_length(tmp_path):
    for n in (0, 1, 99):  # SQLite itself reads a 1-byte file as a sound empty database
        short = tmp_path / f"short{n}.sqlite"
        short.write_bytes(b"x" * n)
        with pytest.raises(ValueError) as err:
            check_store(short)
        what = {0: "an empty file", 1: "1 byte long", 99: "99 bytes long"}[n]
        what += ", shorter than an SQLite header (100 bytes)" * (n > 0)
        assert str(err.value) == f"{short} is {what}, not a swapnas score store (nothing to check or salvage)"


def test_a_damaged_protocols_page_is_a_stretch_of_its_own(tmp_path):
    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, 4096, 40)
    data = bytearray(src.read_bytes())
    page = data.find(b'{"made": "up"}') // 4096
    data[page * 4096:(page + 1) * 4096] = b"\xab" * 4096
    src.write_bytes(bytes(data))
    out = tmp_path / "new.sqlite"
    assert salvage_store(src, out) == Salvage(str(src), str(out), 40, 0, 0, 1, None)  # every score, no protocol


def test_check_text_whole():
    report = StoreCheck("s.sqlite", 3 * 2**20 + 2**19, [], 12, 2, {"fpA": {"z": 1, "a": "b"}},
                        [("fpA", "nb201", 0, 8, 1, "{}", 12)])
    assert check_text(report) == (
        "s.sqlite: ok | 12 scores (2 failed) | 1 protocol | 3.5 MiB\n"
        '  protocol fpA: {"a": "b", "z": 1}\n'
        "  (space, net, seed, batch_size, repeats are not part of a fingerprint: see the 'scored under' lines)\n"
        "  scored under fpA: nb201, seed 0, S=8, R=1, net {}: 12 scores")
    assert check_text(StoreCheck("s.sqlite", 0, ["bad page"])) == (
        "s.sqlite: DAMAGED | ? | 0 protocols | 0.0 KiB\n  problem: bad page")
    assert check_text(StoreCheck("s.sqlite", 28_672, [])).endswith("| 28.0 KiB")  # (session 70: "0.0 MiB")
    assert check_text(StoreCheck("s.sqlite", 2**20 - 1, [])).endswith("| 1.0 MiB")  # (not "1024.0 KiB")


def test_text_is_utf8_without_a_nul_a_character_cut_at_the_end_allowed():
    from swapnas.store_files import is_text
    assert is_text(b"arch,acc\n") and is_text(("é" * 3000).encode()[:4095])  # 'é' cut in two at the end
    assert not is_text(b"ar\0ch") and not is_text(b"\xab" * 100) and not is_text(b"\xab" + b"a" * 99)
    assert not is_text(("é" * 10).encode()[:5] + b"\0")


def test_a_file_that_cannot_be_a_store_is_named_so_when_a_command_opens_it(tmp_path):
    # session 50: a CSV or a 3-byte file given as --store was "damaged", with advice to salvage it, which found nothing
    from swapnas.store_files import not_a_store
    short, text, empty = tmp_path / "short", tmp_path / "truth.csv", tmp_path / "empty.sqlite"
    short.write_bytes(b"abc")
    text.write_text("arch,acc\r\n" + "x,1\r\n" * 40)
    empty.write_bytes(b"")
    assert not_a_store(short) == "3 bytes long, shorter than an SQLite header"
    assert not_a_store(text) == "a text file, its first line 'arch,acc'"
    assert not_a_store(empty) is None and not_a_store(tmp_path / "none") is None  # SQLite makes a store of either
    for path, why in ((short, "3 bytes long, shorter than an SQLite header"),
                      (text, "a text file, its first line 'arch,acc'")):
        with pytest.raises(StoreError) as info:
            with ScoreStore(path) as store:
                store.count()
        assert str(info.value) == (f"{path} is not a swapnas score store ({why}): give the path of a store (the "
                                   "--store of a correlate/grid/search run), or a new path for a new one")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"x" * 50 + b"\0" * 5000)  # binary: a damaged store, which salvage may read
    with pytest.raises(StoreError, match=r"is damaged .*swapnas store salvage"):
        with ScoreStore(junk) as store:
            store.count()
