"""Session 21 review of the command line and the Python API: each test failed on the code before its fix.

- an ``--out`` that cannot be made or written (below a file, not writable, a name too long) was found only after every
  arch was scored (correlate with ``--store`` elsewhere), or ended in an OSError traceback;
- ``swapnas export`` of a file that is not SQLite at all ended in a ``sqlite3.DatabaseError`` traceback, and an
  ``--out`` it cannot write in an OSError traceback;
- ``correlate --arch-column/--accuracy-column`` without ``--truth`` were ignored silently;
- ``search --refine-net/--refine-repeats/--refine-batch-size`` without a second stage were ignored silently (a bad
  ``--refine-net`` value too);
- the help of ``correlate --init`` and ``export --protocol`` said other than what the code does;
- (applied from the review's notes) a store that is not SQLite opened read-only ended in a ``sqlite3.DatabaseError``
  traceback; ``--arch-column``/``--accuracy-column`` naming no column of ``--truth`` were answered "name it with
  --arch-column"; ``search --refine`` did not say that K = 1 is no second stage.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from swapnas.cli import build_parser
from swapnas.proxies import get_proxy
from swapnas.session import protocol_defaults
from swapnas.spaces import SPACES
from swapnas.store import ScoreStore
from tests.test_validation import run_cli as _run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = ["--batch-size", "8", "--repeats", "1", "--device", "cpu", "--no-progress", "--workers", "1"]


def _bad(code: int, err: str, *phrases: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    for phrase in phrases:
        assert phrase in err, (phrase, err)


def _correlate(bundle: Path, out: Path | str, store: Path, *extra: str) -> list[str]:
    return ["correlate", "--space", "nb301", "--proxies", "params", "--archs", "3", *FAST, "--data-dir", str(bundle),
            "--out", str(out), "--store", str(store), *extra]


def _search(bundle: Path, out: Path, *extra: str) -> list[str]:
    return ["search", "--space", "nb201", "--population", "2", "--sample", "2", "--cycles", "0", *FAST,
            "--data-dir", str(bundle), "--out", str(out), *extra]


def test_an_out_below_a_file_is_refused_before_any_arch_is_scored(small_bundle, tmp_path, capsys) -> None:
    (tmp_path / "file").write_text("not a folder")
    store = tmp_path / "scores.sqlite"
    code, _, err = _run(_correlate(small_bundle, tmp_path / "file" / "run", store), capsys)
    _bad(code, err, "--out", "is a file, so the folder cannot be made")
    assert not store.exists()  # was: every arch scored into it, then NotADirectoryError on writing the outputs


def test_an_out_that_cannot_be_written_is_refused_before_any_arch_is_scored(small_bundle, tmp_path, capsys,
                                                                            monkeypatch) -> None:
    locked = tmp_path / "read_only"
    locked.mkdir()
    real = tempfile.TemporaryFile

    def refuse(*args: Any, dir: Any = None, **kw: Any) -> Any:  # root passes chmod, so the write is refused here
        if dir is not None and Path(dir) == locked:
            raise PermissionError(13, "Permission denied")
        return real(*args, dir=dir, **kw)

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    store = tmp_path / "scores.sqlite"
    code, _, err = _run(_correlate(small_bundle, locked / "run", store), capsys)
    _bad(code, err, f"--out {locked / 'run'}: the folder {locked} is not writable (Permission denied)")
    assert not store.exists()


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux's /sys")
def test_an_out_in_a_pseudo_file_system_is_refused_even_as_root(small_bundle, tmp_path, capsys) -> None:
    # session 22 left this: as root os.access("/sys", W_OK) is True, so the check passed and the run
    # scored every arch before failing on mkdir; a real test write is refused for every user
    store = tmp_path / "scores.sqlite"
    code, _, err = _run(_correlate(small_bundle, Path("/sys/run"), store), capsys)
    _bad(code, err, "--out /sys/run: the folder /sys is not writable")
    assert not store.exists()


def test_a_name_too_long_is_a_clear_error_not_a_traceback(small_bundle, tmp_path, capsys) -> None:
    long = tmp_path / ("x" * 300)
    code, _, err = _run(_correlate(small_bundle, long, tmp_path / "s.sqlite"), capsys)
    _bad(code, err, "--out", "File name too long")
    ScoreStore(tmp_path / "scores.sqlite").close()  # an empty store
    code, _, err = _run(["export", str(tmp_path / "scores.sqlite"), "--out", f"{long}.csv"], capsys)
    _bad(code, err, "File name too long")


def test_export_of_a_file_that_is_not_sqlite_names_it(tmp_path, capsys) -> None:
    bad = tmp_path / "notes.sqlite"
    bad.write_text("hello, not a database\n" * 20)
    code, _, err = _run(["export", str(bad), "--out", str(tmp_path / "x.csv")], capsys)
    # session 50: a text file is named as not a store (it was "damaged", with advice to salvage it)
    _bad(code, err, f"{bad} is not a swapnas score store (a text file, its first line 'hello, not a database')")
    assert not (tmp_path / "x.csv").exists()


def test_export_to_an_out_it_cannot_write_names_the_flag(tmp_path, capsys, monkeypatch) -> None:
    ScoreStore(tmp_path / "scores.sqlite").close()  # an empty store

    def refuse(path, *args, **kwargs):
        raise OSError(30, "Read-only file system", str(path))

    monkeypatch.setattr("swapnas.export.write_atomic", refuse)  # (since session 58 the file is written atomically)
    code, _, err = _run(["export", str(tmp_path / "scores.sqlite"), "--out", str(tmp_path / "x.csv")], capsys)
    _bad(code, err, f"--out {tmp_path / 'x.csv'}: cannot write it (Read-only file system)")


@pytest.mark.parametrize("flag", ["--arch-column", "--accuracy-column"])
def test_truth_columns_without_truth_are_refused(flag, small_bundle, tmp_path, capsys) -> None:
    store = tmp_path / "scores.sqlite"
    code, _, err = _run(_correlate(small_bundle, tmp_path / "run", store, flag, "genotype"), capsys)
    _bad(code, err, f"{flag} genotype", "--truth FILE.csv")
    assert not store.exists()


@pytest.mark.parametrize("extra", [["--fitness", "swap", "--refine-net", "N=2"],
                                   ["--fitness", "swap", "--refine-net", "N=two"],
                                   ["--refine", "1", "--refine-repeats", "2"],
                                   ["--refine", "0", "--refine-batch-size", "20"]])
def test_second_stage_flags_without_a_second_stage_are_refused(extra, small_bundle, tmp_path, capsys) -> None:
    out = tmp_path / "search"
    code, _, err = _run(_search(small_bundle, out, *extra), capsys)
    _bad(code, err, extra[2], "add --refine K")
    assert not out.exists()


def _help(command: str, dest: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    return next(a for a in sub._actions if a.dest == dest).help or ""


def test_correlate_init_help_names_the_spaces_whose_default_is_pytorchs() -> None:
    text = _help("correlate", "init")
    for space in SPACES:
        init = protocol_defaults(space, [get_proxy("swap")])["init"]
        assert (space in text) == (init == "default"), (space, init, text)


def test_export_protocol_help_says_it_filters_csv_too(small_bundle, tmp_path, capsys) -> None:
    assert "csv" in _help("export", "protocol")
    ScoreStore(tmp_path / "scores.sqlite").close()  # an empty store
    code, _, err = _run(["export", str(tmp_path / "scores.sqlite"), "--out", str(tmp_path / "x.csv"),
                         "--protocol", "zzz"], capsys)
    _bad(code, err, "--protocol zzz: no score of that protocol fingerprint")


def test_a_store_that_is_not_sqlite_opened_read_only_is_a_store_error(tmp_path, monkeypatch) -> None:
    """``correlate --store`` on a file that is not SQLite, in a read-only folder (here: ``os.access`` says so)."""
    from swapnas.store import StoreError

    bad = tmp_path / "notes.sqlite"
    bad.write_bytes(b"these are my notes, not a score store\n\0" * 200)  # binary: maybe a damaged store
    monkeypatch.setattr(os, "access", lambda path, mode: mode == os.R_OK)
    with pytest.raises(StoreError, match=r"notes\.sqlite is damaged \(file is not a database\).*swapnas store salvage"):
        ScoreStore(bad)
    with pytest.raises(StoreError, match=r"notes\.sqlite is damaged \(file is not a database\)"):
        ScoreStore(bad, read_only=True)
    bad.write_text("these are my notes, not a score store\n" * 200)  # text: no store at all (session 50)
    with pytest.raises(StoreError, match=r"notes\.sqlite is not a swapnas score store \(a text file, its first line"):
        ScoreStore(bad, read_only=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"arch_column": "nope"}, "--arch-column nope: no such column in --truth"),
    ({"accuracy_column": "nope"}, "--accuracy-column nope: no such numeric column in --truth"),
    ({"accuracy_column": "genotype"}, "--accuracy-column genotype: no such numeric column in --truth"),
])
def test_truth_columns_that_name_no_column_say_so(kwargs, message, tmp_path) -> None:
    from swapnas.benchmarks.csv_truth import CsvBenchmark

    csv = tmp_path / "t.csv"
    csv.write_text("genotype,acc\n|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|,91.5\n"
                   "|none~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|,80.0\n")
    assert CsvBenchmark(csv, "nb201", "cifar10").accuracy_column == "acc"  # the file itself is fine
    with pytest.raises(ValueError, match=message.replace("-", r"\-")) as info:
        CsvBenchmark(csv, "nb201", "cifar10", **kwargs)
    assert "name it with" not in str(info.value) and "columns: " in str(info.value)


def test_refine_help_says_k_1_is_no_second_stage() -> None:
    assert "0 or 1 = none" in _help("search", "refine")
