"""An ``--out`` that is a file is refused before anything is scored (review finding, session 15: correlate
scored every arch, then crashed with a FileExistsError traceback, exit 1)."""

from __future__ import annotations

import pytest

from swapnas.cli import main


@pytest.mark.parametrize("command", ["correlate", "grid", "search"])
def test_out_that_is_a_file_exits_2_before_scoring(small_bundle, tmp_path, capsys, command) -> None:
    out = tmp_path / "results.txt"
    out.write_text("keep me")
    store = tmp_path / "s.sqlite"
    args = {"correlate": ["correlate", "--space", "darts", "--truth", str(small_bundle / "darts" / "swap_darts_dev300.csv"),
                          "--proxies", "params", "--archs", "2"],
            "grid": ["grid", "--benchmarks", "nb301", "--proxies", "params", "--archs", "2"],
            "search": ["search", "--fitness", "params", "--cycles", "1"]}[command]
    assert main([*args, "--data-dir", str(small_bundle), "--store", str(store), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "swapnas: error:" in err and str(out) in err and "Traceback" not in err
    assert out.read_text() == "keep me" and not store.exists()  # nothing scored, nothing overwritten


@pytest.mark.parametrize("what", ["empty", "other_sqlite"])
def test_store_check_names_a_file_that_is_not_a_store_without_calling_it_damaged(tmp_path, capsys, what) -> None:
    """Regression (review, session 15): an empty file or another program's SQLite database was reported
    DAMAGED, with the advice to salvage it."""
    import sqlite3

    path = tmp_path / "x.sqlite"
    if what == "empty":
        path.write_bytes(b"")
    else:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE t (a)")
        db.close()
    assert main(["store", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not a swapnas score store" in err and "damaged" not in err and "store salvage" not in err
