"""Session 67 audit of untrusted files and strings (each test but one failed on the code as found; the plain-pickle
one guards what must keep working): a downloaded image folder's pickle ran code, an OUT's .lock link overwrote a file
outside OUT, salvage stepped towards a crafted rowid for ever, JSON nested past Python's limit gave tracebacks, a
decompression bomb gave a traceback, control characters from a store or a CSV reached the terminal, a stored message
rendered as a link or image in report.md. Crafted inputs are made under tmp_path; the CLI ones use the committed small
bundle (tests/data/bundle)."""
from __future__ import annotations

import builtins
import pickle
import random
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import swapnas
from swapnas.bundle import DataFileError

SMALL_BUNDLE = Path(swapnas.__file__).resolve().parents[2] / "tests" / "data" / "bundle"
ESC = "\x1b]0;PWNED\x07\x1b[2J"  # an OSC title change and a clear-screen


# --------------------------------------------------------------------------- 1. code execution: --image-root pickles

class _Evil:
    """Unpickles as ``builtins.open(marker, "w")``: creates a file (a stand-in for os.system)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (builtins.open, (str(self.marker), "w"))


def test_an_image_root_pickle_runs_no_code(tmp_path):
    """`correlate --image-root DIR` and `train --data-root DIR` read DIR/cifar-10-batches-py/* with pickle.load: a
    downloaded folder whose pickle names a callable runs it (os.system in the audit's reproduction). A restricted
    unpickler (dict/list/str/bytes/int + numpy's array reconstruction only) should refuse it as a DataFileError."""
    from swapnas.data import read_pickle
    marker = tmp_path / "PWNED"
    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps({"data": _Evil(marker), "labels": [0]}))
    with pytest.raises(DataFileError):
        read_pickle(path, ("data", "labels"))
    assert not marker.exists(), "unpickling an --image-root file ran code (builtins.open created a file)"


def test_a_plain_cifar_style_pickle_still_reads(tmp_path):
    """The companion of the test above (passes now): a real CIFAR-style pickle (numpy array, list, bytes) reads."""
    from swapnas.data import read_pickle
    path = tmp_path / "test_batch"
    doc = {"batch_label": b"testing batch 1 of 1", "data": np.zeros((2, 3072), np.uint8), "labels": [0, 1],
           "filenames": [b"a.png", b"b.png"]}
    path.write_bytes(pickle.dumps(doc, protocol=2))
    got = read_pickle(path, ("data", "labels"))
    assert got["labels"] == [0, 1] and got["data"].shape == (2, 3072)


# --------------------------------------------------------------------------- 2. file overwrite outside OUT: OUT/.lock

def test_a_lock_file_that_is_a_link_does_not_overwrite_its_target(tmp_path):
    """out_lock opens OUT/.lock with "a+" (following a symlink), truncates it and writes "PID job": an OUT folder
    received from elsewhere (a colleague's run to resume) with `.lock -> ~/.bashrc` empties that file. Every
    correlate, grid, search and train takes this lock."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    _lock_through_a_link(tmp_path, victim, "search")
    assert victim.read_text() == "precious\n", "a link OUT/.lock made swapnas overwrite a file outside OUT"


def test_a_dangling_lock_link_creates_no_file_outside_out(tmp_path):
    target = tmp_path / "elsewhere" / "made.txt"
    target.parent.mkdir()
    _lock_through_a_link(tmp_path, target, "correlate")
    assert not target.exists(), "a dangling link OUT/.lock made swapnas create a file outside OUT"


def _lock_through_a_link(tmp_path: Path, target: Path, job: str) -> None:
    """``out_lock`` of an OUT whose .lock links to ``target``: refused with a ValueError naming the link."""
    from swapnas.files import out_lock
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").symlink_to(target)
    with pytest.raises(ValueError, match="is a link"), out_lock(out, job):
        pass


# --------------------------------------------------------------------------- 3. hang: salvage of a crafted store

_SALVAGE_STORE = textwrap.dedent("""
    import sqlite3, sys
    from swapnas.store import ScoreStore
    path = sys.argv[1]
    ScoreStore(path).close()
    db = sqlite3.connect(path)
    row = ("nb201", "a", "params@1", "fp", 0, 16, 1, "{}", "ok", 1.0, 0.0, "[1.0]", 0.1, 0, None, "cpu", 1.0)
    q = ",".join("?" * 17)
    db.executemany(f"INSERT INTO scores VALUES ({q})", [(row[0], f"a{i}", *row[2:]) for i in range(3000)])
    db.execute("INSERT INTO scores (rowid, space, arch, proxy, protocol, seed, batch_size, repeats, net, status, "
               "value, std, values_json, seconds, peak_mem_bytes, error, device, created) "
               f"VALUES (9000000000000000000, {q})", ("nb201", "big", *row[2:]))
    db.commit()
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'scores'").fetchone()[0]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with open(path, "r+b") as f:  # the table's root (interior) page damaged; the primary-key index is whole
        f.seek((root - 1) * size)
        f.write(b"\\xff" * 64)
""")


def test_salvage_of_a_store_with_a_huge_rowid_and_a_damaged_root_ends(tmp_path):
    """store_tools._step_over steps one rowid at a time up to max(rowid) read from the intact index: a crafted
    store (one row at rowid 9e18, the table's root page damaged) keeps `swapnas store salvage` busy for ever
    (killed after 120 s in the audit; the stack is in _step_over). It should end in seconds (e.g. jump through
    the index's rowids, or bound the steps) or refuse."""
    src, dest = tmp_path / "s.sqlite", tmp_path / "new.sqlite"
    subprocess.run([sys.executable, "-c", _SALVAGE_STORE, str(src)], check=True, timeout=60)
    try:
        subprocess.run([sys.executable, "-m", "swapnas", "store", "salvage", str(src), "--out", str(dest)],
                       capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("`swapnas store salvage` of a crafted store did not end in 30 s")


# --------------------------------------------------------------------------- 4. tracebacks: deep JSON, image bombs

DEEP = "[" * 100_000 + "]" * 100_000


def test_a_deeply_nested_state_json_is_a_damaged_state_not_a_recursion_error(tmp_path):
    from swapnas.search.state import _resume
    path = tmp_path / "state.json"
    path.write_text(DEEP)
    with pytest.raises(ValueError, match="damaged"):
        _resume(None, path, {})  # type: ignore[arg-type]


def test_a_deeply_nested_genotype_file_is_a_value_error(tmp_path):
    from swapnas.train.recipe import load_genotype
    path = tmp_path / "result.json"
    path.write_text(DEEP)
    with pytest.raises(ValueError):
        load_genotype(str(path))


def test_a_deeply_nested_results_json_in_out_is_not_ours_not_a_recursion_error(tmp_path):
    """A correlate into an OUT holding such a results.json ended in a RecursionError traceback."""
    from swapnas.out_checks import _ours
    path = tmp_path / "results.json"
    path.write_text(DEEP)
    assert _ours(path) is False


def test_a_deeply_nested_protocol_description_in_a_store_is_unreadable_not_a_recursion_error():
    """`swapnas store check` of a store whose protocols row holds it ended in a RecursionError traceback."""
    from swapnas.store import description
    assert "unreadable" in description(DEEP)


def test_a_deeply_nested_bundle_json_is_a_data_file_error(tmp_path):
    from swapnas.bundle import read_json
    path = tmp_path / "naslib_zc.json"
    path.write_text(DEEP)
    with pytest.raises(DataFileError):
        read_json(path)


def test_a_decompression_bomb_in_an_image_folder_is_a_data_file_error(tmp_path, monkeypatch):
    """PIL refuses a > 2 x MAX_IMAGE_PIXELS image with DecompressionBombError, an Exception that is neither OSError
    nor ValueError: `correlate --image-root` with a 20000 x 20000 1-bit PNG (48 kB) in a class folder ended in that
    traceback (exit 1). The limit is lowered here so that a small image stands for the bomb."""
    from swapnas.data import _image
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    path = tmp_path / "bomb.png"
    Image.new("1", (100, 100)).save(path)
    with pytest.raises(DataFileError, match="bomb.png"):
        _image(path, 32)


# --------------------------------------------------------------------------- 7. control characters from files

def test_store_check_prints_no_escape_sequences_from_the_store(tmp_path, capsys):
    """`swapnas store check` prints a store's proxy names and protocol fingerprints raw: a colleague's store can
    retitle the terminal, clear it, or hide text. Control characters should be shown escaped (e.g. repr)."""
    from swapnas.cli import main
    from swapnas.store import ScoreStore
    path = tmp_path / "s.sqlite"
    ScoreStore(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO proxy_code VALUES (?, ?, ?)", (f"evil{ESC}@1", "deadbeef", 1.0))
    db.execute("INSERT INTO protocols VALUES (?, ?)", (f"ffff{ESC}", "{}"))
    db.commit()
    db.close()
    main(["store", "check", str(path)])
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\x07" not in out + err


def test_a_truth_csv_header_prints_no_escape_sequences(tmp_path, capsys):
    """A --truth CSV's column names go raw into the error message (here: "several columns look like accuracies")."""
    from swapnas.cli import main
    from swapnas.spaces import nb201
    rng = random.Random(0)
    lines = [f"arch,acc_a{ESC},acc_b"] + [f"{nb201.sample(rng)},{i},{i}" for i in range(6)]
    csv = tmp_path / "truth.csv"
    csv.write_text("\n".join(lines) + "\n")
    code = main(["correlate", "--space", "nb201", "--truth", str(csv), "--archs", "5", "--proxies", "params",
                 "--data-dir", str(SMALL_BUNDLE), "--out", str(tmp_path / "out"), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "\x1b" not in out + err and "\x07" not in out + err


def test_a_stored_failure_message_prints_no_escape_sequences(capsys):
    """A correlate on a store with a failed row printed "FAILED params (…; their message): " + the stored error raw
    on the terminal and into report.md: both lines, the console's through print_report, report.md's through md_text."""
    import argparse
    from types import SimpleNamespace

    from swapnas.cli.commands import print_report
    from swapnas.report import failure_lines, md_text

    failed = SimpleNamespace(proxy="params", failures=1, errors=[f"boom{ESC}"])
    print_report(argparse.Namespace(json=False, quiet=False), "\n".join(failure_lines([failed])), [])
    printed = capsys.readouterr().out
    assert "boom" in printed and "\x1b" not in printed and "\x07" not in printed
    assert "\x1b" not in "".join(failure_lines([failed], md_text))


def test_report_markdown_does_not_render_links_or_images_of_stored_text():
    """md_text escapes `<`, `*`, `_`, backticks and pipes but not `[`/`!`: a stored failure message
    `![x](http://evil.example/p.png)` renders as a remote image (a beacon) in report.md on GitHub or an editor."""
    markdown_it = pytest.importorskip("markdown_it")
    from swapnas.report import md_text
    text = md_text("![x](http://evil.example/p.png) [y](http://e.x)")
    html = markdown_it.MarkdownIt("commonmark").render("- " + text)
    assert "<img" not in html and "<a " not in html and "![x](http://evil.example/p.png)" in html, html
