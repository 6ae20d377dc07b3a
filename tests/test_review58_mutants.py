"""The review of session 58 by mutation: a test for each hand-made mutant of the session's new and changed lines
that the existing tests left alive (mutants58.md names them; each test says which it kills)."""

from __future__ import annotations

import argparse
import codecs
import errno
import io
import json
import multiprocessing.util
import os
import random
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
import torch
from tqdm.auto import tqdm as real_tqdm

import swapnas
from swapnas import cli, session, store_merge
from swapnas.cli.args import EXIT_ERROR
from swapnas.executors import PoolExecutor, check_socket_folder
from swapnas.export import export
from swapnas.progress import LOG_INTERVAL, bar_interval
from swapnas.search import EAConfig, Evolution, driver
from swapnas.spaces import get_space, nb201
from swapnas.stops import as_command
from swapnas.store import Record, ScoreKey, ScoreStore
from swapnas.store_files import StoreError
from swapnas.store_merge import merge_stores
from swapnas.store_tools import _scan, salvage_store
from tests.pool_tools import stand_in_pool
from tests.test_export_mutants import _put
from tests.test_session58 import _Broken, _refusal
from tests.test_validation import run_cli
from tests.tiny_tasks import tiny_nb201_task

NB201 = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"


def _ok(value: float, seconds: float = 0.5) -> Record:
    return Record("ok", value, 0.0, [value], seconds, None, None)


def _key(arch: str = NB201, protocol: str = "fp1", space: str = "nb201", proxy: str = "swap@1",
         batch_size: int = 8) -> ScoreKey:
    return ScoreKey(space, arch, proxy, protocol, 0, batch_size, 1, '{"C": 4}')


_store = _put  # a store of these rows and protocols (tests/test_export_mutants.py)


# --- store.py ---

def test_rows_of_one_setting_come_in_arch_order_whatever_order_they_were_stored_in(tmp_path: Path) -> None:
    """Kills st6 (iter_rows' ORDER BY without its last column, arch): the rows came in the order they were stored."""
    store = _store(tmp_path / "s.sqlite", [(_key(arch), _ok(float(i))) for i, arch in enumerate(["c", "a", "b"])])
    with ScoreStore(store, read_only=True) as s:
        assert [r["arch"] for r in s.iter_rows()] == ["a", "b", "c"]
        assert [r["arch"] for r in s.iter_rows(status="ok")] == ["a", "b", "c"]  # (SQLite then scans the table)
        assert [r["arch"] for r in s.iter_rows("fp1", "ok")] == ["a", "b", "c"]
    text = export(store, tmp_path / "s.csv", "csv", protocol="fp1").read_text(encoding="utf-8")
    assert [line.split(",")[1] for line in text.splitlines()[1:]] == ["a", "b", "c"]


def test_distinct_is_sorted_whatever_order_the_rows_were_stored_in(tmp_path: Path) -> None:
    """Kills st9 (distinct without its ORDER BY): the fingerprints came in the order of the first row of each."""
    store = _store(tmp_path / "s.sqlite", [(_key("a", protocol="zz"), _ok(1.0)), (_key("b", protocol="yy"), _ok(2.0)),
                                           (_key("c", protocol="xx", batch_size=4), _ok(3.0))])
    with ScoreStore(store, read_only=True) as s:
        assert s.distinct("protocol") == [("xx",), ("yy",), ("zz",)]
        assert s.distinct("batch_size", "protocol") == [(4, "xx"), (8, "yy"), (8, "zz")]


# --- store_files.py ---

def test_a_store_file_made_by_another_run_meanwhile_is_opened_as_it_is(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills sf5 (_made_as_any_file raising where the file exists): another run makes the new store between the
    checks and the create; this one opens it and writes into it."""
    path = tmp_path / "new.sqlite"
    real_access = os.access

    def access(p: object, mode: int, *args: object, **kwargs: object) -> bool:
        if Path(p) == tmp_path and mode == os.W_OK and not path.exists():
            path.write_bytes(b"")  # the other run's SQLite has just made it, empty
        return real_access(p, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    with ScoreStore(path) as s:
        s.put(_key(), _ok(2.5))
    monkeypatch.setattr(os, "access", real_access)
    with ScoreStore(path, read_only=True) as s:
        assert s.get(_key()).value == 2.5


# --- export.py ---

def test_one_arch_string_in_a_space_without_naslibs_encoding_keeps_its_string_beside_a_darts_one(
        tmp_path: Path) -> None:
    """Kills ex2 (the per-export key dict keyed by the arch alone): a space of the user's own ('mine', no NASLib
    encoding: the arch string is its key) holding the same string as a DARTS arch got the DARTS key."""
    darts = get_space("darts")
    g = str(darts.sample(random.Random(3)))
    store = _store(tmp_path / "s.sqlite", [(_key(g, space="darts", proxy="params@1"), _ok(1.0)),
                                           (_key(g, space="mine", proxy="params@1"), _ok(2.0))])
    doc = json.loads(export(store, tmp_path / "zc.json", "naslib-zc").read_text(encoding="utf-8"))
    assert doc["mine"] == {"protocol fp1": {g: {"params": {"score": 2.0, "time": 0.5}}}}
    naslib_key = darts.to_naslib(darts.parse(g))
    assert naslib_key != g and doc["darts"] == {"protocol fp1": {naslib_key: {"params": {"score": 1.0, "time": 0.5}}}}


def test_one_arch_scored_under_twin_fingerprints_names_each_with_the_settings_scored_under_it(tmp_path: Path) -> None:
    """Kills ex7 (the two-settings message's advice given no settings scored): twins of one dataset, told apart only
    by their batch digests, are named with the S each was scored at (as the twins test of session 50 has it)."""
    store = _store(tmp_path / "s.sqlite", [(_key(protocol="fpA"), _ok(1.0)), (_key(protocol="fpB", batch_size=16),
                                                                                _ok(2.0))],
                   {"fpA": {"dataset": "cifar10", "batch_digest": "a1"},
                    "fpB": {"dataset": "cifar10", "batch_digest": "b2"}})
    with pytest.raises(ValueError) as err:
        export(store, tmp_path / "zc.json", "naslib-zc")
    assert str(err.value).endswith(
        'choose one with --protocol: fpA (cifar10, batch_digest a1, scored at S=8, R=1, net {"C": 4}), fpB (cifar10, '
        'batch_digest b2, scored at S=16, R=1, net {"C": 4})')


def test_two_fingerprints_of_one_dataset_are_refused_in_one_naslib_file(tmp_path: Path) -> None:
    """Kills ex25 (the per-dataset check without the protocol): scores of two fingerprints of cifar10, of other
    archs, were written into one dataset of the zc file as if one setting."""
    store = _store(tmp_path / "s.sqlite",
                   [(_key("a", protocol="fpA"), _ok(1.0)), (_key("b", protocol="fpB"), _ok(2.0))],
                   {"fpA": {"dataset": "cifar10", "batch_digest": "a1"},
                    "fpB": {"dataset": "cifar10", "batch_digest": "b2"}})
    with pytest.raises(ValueError, match=r"^cifar10 of nb201 holds scores of two settings, \(protocol fpA, .*\) and "
                                         r"\(protocol fpB, .*choose one with --protocol"):
        export(store, tmp_path / "zc.json", "naslib-zc")
    assert not (tmp_path / "zc.json").exists()


def test_an_exports_special_permission_bits_are_kept_too(tmp_path: Path) -> None:
    """Kills ex19 (the mode kept as ``& 0o777``): the sticky bit of an existing export was dropped by the replace."""
    store = _store(tmp_path / "s.sqlite", [(_key(), _ok(1.0))])
    out = tmp_path / "s.csv"
    out.write_text("old", encoding="utf-8")
    os.chmod(out, 0o1640)
    if os.stat(out).st_mode & 0o7777 != 0o1640:
        pytest.skip("this file system does not keep the sticky bit of a file")
    export(store, out, "csv")
    assert os.stat(out).st_mode & 0o7777 == 0o1640 and out.read_text(encoding="utf-8").startswith("space,arch,")


# --- store_merge.py ---

class _FailingScores:
    """A source's connection whose read of the scores fails after ``good`` rows (a damaged page met part-way)."""

    def __init__(self, db: sqlite3.Connection, good: int) -> None:
        self._db, self._good = db, good

    def execute(self, sql: str, *args: object) -> object:
        cur = self._db.execute(sql, *args)
        if not sql.startswith("SELECT space, arch"):
            return cur

        def rows() -> object:
            for i, row in enumerate(cur):
                if i == self._good:
                    raise sqlite3.DatabaseError("database disk image is malformed")
                yield row
        return rows()

    def __getattr__(self, name: str) -> object:
        return getattr(self._db, name)


def test_a_source_that_fails_part_way_through_a_merge_is_named_and_into_keeps_what_it_had(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills mg10 (the source's rows not read through _read): the source's read error was said as INTO's damage."""
    into = _store(tmp_path / "into.sqlite", [(_key("a"), _ok(1.0))])
    src = _store(tmp_path / "src.sqlite", [(_key(arch), _ok(float(i))) for i, arch in enumerate("bcde")])
    real = store_merge.connect_reader
    monkeypatch.setattr(store_merge, "connect_reader", lambda path: _FailingScores(real(path), 2))
    with pytest.raises(StoreError) as err:
        merge_stores([src], into)
    assert str(err.value).startswith(f"the source store {src} could not be read to the end (database disk image is "
                                     "malformed); nothing of it was merged")
    with closing(sqlite3.connect(into)) as db:
        assert db.execute("SELECT arch, value FROM scores").fetchall() == [("a", 1.0)]


# --- store_tools.py ---

class _OneReadError:
    """A connection whose first whole-table read of ``table`` fails after one row, as sqlite3 may report an error one
    row early; a read of one rowid works."""

    def __init__(self, db: sqlite3.Connection, table: str) -> None:
        self._db, self._table, self.failed = db, table, False

    def execute(self, sql: str, *args: object) -> object:
        cur = self._db.execute(sql, *args)
        if self.failed or f"FROM {self._table} WHERE rowid >= ?" not in sql:
            return cur
        self.failed = True

        def rows() -> object:
            yield next(cur)
            raise sqlite3.DatabaseError("database disk image is malformed")
        return rows()


def test_a_read_error_the_step_over_finds_no_damage_for_counts_no_damaged_stretch(tmp_path: Path) -> None:
    """Kills tl4 (_scan counting the stretches stepped over, not the damaged ones): an error with every row read
    whole said '1 damaged stretch'."""
    path = _store(tmp_path / "s.sqlite", [], {f"fp{i}": {"dataset": "cifar10"} for i in range(3)})
    with closing(sqlite3.connect(path)) as db:
        wrapped = _OneReadError(db, "protocols")
        rows, stretches = _scan(wrapped, "protocols", ("fingerprint",))  # type: ignore[arg-type]
    assert wrapped.failed and sorted(rows) == [("fp0",), ("fp1",), ("fp2",)] and stretches == 0


def test_salvage_names_its_store_by_a_rename_where_the_file_system_has_no_links(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills tl10 (no return after the rename: the salvage ended in 'made by another process') and tl9 (the rename
    made whether or not OUT was taken meanwhile: another process's file replaced)."""
    store = _store(tmp_path / "s.sqlite", [(_key(arch), _ok(float(i))) for i, arch in enumerate("abc")])

    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    report = salvage_store(store, tmp_path / "new.sqlite")
    assert (report.recovered, report.lost) == (3, 0)
    with ScoreStore(tmp_path / "new.sqlite", read_only=True) as s:
        assert [r["arch"] for r in s.rows()] == ["a", "b", "c"]

    def taken_then_no_links(src: object, dst: object) -> None:
        Path(dst).write_text("theirs", encoding="utf-8")
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", taken_then_no_links)
    with pytest.raises(StoreError, match="was made by another process while this salvage ran, and is left as it is"):
        salvage_store(store, tmp_path / "other.sqlite")
    assert (tmp_path / "other.sqlite").read_text(encoding="utf-8") == "theirs"


# --- cli/out_checks.py ---

@pytest.mark.parametrize("command, name", [  # each command's fixed-name text outputs (their write_outputs docs)
    ("correlate", "results.csv"), ("correlate", "report.md"), ("correlate", "results.tex"),
    ("grid", "grid.md"), ("grid", "grid.tex"), ("grid", "report.md"),
    ("conformance", "conformance.md"), ("search", "result.json"), ("search", "report.md"), ("train", "result.json")])
def test_every_file_a_command_writes_is_refused_where_it_is_the_users(tmp_path: Path, command: str, name: str) -> None:
    """Kills oc1 (grid.tex), oc2 (conformance.md) and oc3 (results.tex) left out of WRITES: the user's file was
    replaced without a word."""
    (tmp_path / name).write_text("my own notes\n", encoding="utf-8")
    assert f"--out {tmp_path} holds {name}, which `swapnas {command}` writes" in (_refusal(command, tmp_path) or "")


@pytest.mark.parametrize("name, text", [
    ("result.json", '{"provenance": {"torch": "2.5.0"}, "best": "x"}'),  # another tool's provenance: oc4
    ("report.md", "# Build\n\nMade by `make all` (GNU Make 4.3).\n"),  # another tool's 'Made by': oc5
])
def test_a_file_that_reads_as_another_tools_output_is_the_users(tmp_path: Path, name: str, text: str) -> None:
    """Kills oc4 (a JSON provenance without swapnas taken as ours) and oc5 ('Made by `' or '(swapnas ' alone)."""
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert f"holds {name}, which `swapnas search` writes" in (_refusal("search", tmp_path) or "")
    (tmp_path / name).unlink()
    (tmp_path / "report.md").write_text("my notes on (swapnas 0.1.0) runs\n", encoding="utf-8")
    assert "holds report.md" in (_refusal("search", tmp_path) or "")


def test_a_latex_table_of_another_maker_is_the_users(tmp_path: Path) -> None:
    """Kills oc6 ('% made by:' taken as ours without swapnas's name)."""
    (tmp_path / "results.tex").write_text("% made by: pdflatex\n\\begin{tabular}{lr}\n", encoding="utf-8")
    assert "holds results.tex" in (_refusal("correlate", tmp_path) or "")


# --- cli/__init__.py ---

def _command(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdout: object, stderr: object) -> object:
    monkeypatch.setattr(sys, "argv", ["swapnas", *argv])
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    try:
        return cli.command()
    except SystemExit as exc:
        return exc.code


def test_command_gives_the_callers_streams_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills cl3 (stderr left wrapped after command())."""
    out, err = io.StringIO(), io.StringIO()
    assert _command(monkeypatch, ["proxies"], out, err) == 0
    assert sys.stdout is out and sys.stderr is err and "swap" in out.getvalue()
    assert _command(monkeypatch, ["no-such-command"], out, err) == EXIT_ERROR
    assert sys.stderr is err and "invalid choice" in err.getvalue()


def test_command_keeps_a_failed_stderr_let_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills cl1 (a failed stderr given back: the caller's next write, or Python's exit, fails on it) and cl9 (no
    stderr at all given back as None: the caller's next write to stderr fails)."""
    broken = _Broken()
    assert _command(monkeypatch, ["no-such-command"], io.StringIO(), broken) == EXIT_ERROR
    assert sys.stderr is not broken
    print("a later warning", file=sys.stderr)  # goes nowhere, no error
    assert _command(monkeypatch, ["proxies"], io.StringIO(), None) == 0
    assert sys.stderr is not None and sys.stderr.write("x") == 1


def test_command_says_a_full_stdout_as_stdouts_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills cl4 (command() not watching stdout): the error read '[Errno 28] No space left on device', as if a file
    of the run could not be written."""
    err = io.StringIO()
    assert _command(monkeypatch, ["--json", "proxies"], _Broken(OSError(errno.ENOSPC, "No space left on device")),
                    err) == EXIT_ERROR
    assert err.getvalue() == "swapnas: error: standard output cannot be written (No space left on device)\n"


def test_the_failing_streams_remember_a_failed_flush_and_a_closed_stream() -> None:
    """Kills cl10 (a closed stderr's ValueError let through), cl12 (_Unbreakable's failed flush not remembered) and
    cl14 (_Watched's failed flush not remembered)."""
    closed = io.StringIO()
    closed.close()
    err = cli._Unbreakable(closed)
    assert err.write("progress\r") == len("progress\r") and err.failed is True
    err = cli._Unbreakable(_Broken())
    err.flush()
    assert err.failed is True
    out = cli._Watched(_Broken(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(OSError):
        out.flush()
    assert isinstance(out.failed, OSError) and out.failed.errno == errno.ENOSPC


def test_the_escape_handler_keeps_only_undecoded_bytes_as_bytes() -> None:
    """Kills cl5 (U+DC00..U+DC7F, which no undecoded byte gives, written as a byte: U+DC41 came out as 'A') and cl6 (a
    chunk of undecoded bytes and other text: a ValueError from inside the encoder)."""
    codecs.register_error("swapnas_escape", cli._escape)
    assert "x\udc41y".encode("ascii", "swapnas_escape") == b"x\\udc41y"
    mixed = "ρ\udccf".encode("ascii", "swapnas_escape")  # no error: a mixed run of unencodable text is escaped
    assert mixed.startswith(b"\\u03c1")


def test_a_console_stream_writes_a_names_undecoded_bytes_as_they_came(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills cl8 (the streams reconfigured with backslashreplace: a name's bytes echoed as \\udccf escapes)."""
    name = "/tmp/E2 ρ".encode().decode("ascii", "surrogateescape")  # what Python holds under LC_ALL=C
    buffers = {s: io.BytesIO() for s in ("stdout", "stderr")}
    for s, buf in buffers.items():
        monkeypatch.setattr(sys, s, io.TextIOWrapper(buf, encoding="ascii", errors="strict"))
    cli._printable_anywhere()
    for s in buffers:
        getattr(sys, s).write(f"{name} Σ")
        getattr(sys, s).flush()
    assert buffers["stdout"].getvalue() == buffers["stderr"].getvalue() == "/tmp/E2 ρ \\u03a3".encode()


def test_a_tilde_in_into_and_image_root_is_the_home_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills cl22 (--into) and cl23 (--image-root) left out of the expanded paths."""
    monkeypatch.setenv("HOME", str(tmp_path))
    args = cli._home_expanded(argparse.Namespace(into="~/m.sqlite", image_root="~/imgs"))
    assert (args.into, args.image_root) == (f"{tmp_path}/m.sqlite", f"{tmp_path}/imgs")


def test_the_command_line_expands_a_quoted_tilde(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Kills cl26 (_parsed not calling _home_expanded): `store check '~/s.sqlite'` found no store."""
    monkeypatch.setenv("HOME", str(tmp_path))
    _store(tmp_path / "s.sqlite", [(_key(), _ok(1.0))])
    code, out, err = run_cli(["store", "check", "~/s.sqlite"], capsys)
    assert code == 0 and str(tmp_path / "s.sqlite") in out, (out, err)


# --- stops.py, swapnas/__init__.py ---

def test_the_command_is_told_apart_from_other_modules_and_scripts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills sp1 (the Windows script swapnas.exe not the command) and sp2 (any `python -m X` taken as the command)."""
    monkeypatch.setattr(sys, "argv", ["/venv/Scripts/swapnas.exe", "proxies"])
    monkeypatch.setattr(sys, "orig_argv", ["/venv/Scripts/swapnas.exe", "proxies"], raising=False)
    assert as_command()
    monkeypatch.setattr(sys, "argv", ["/venv/lib/pytest/__main__.py", "-q"])
    monkeypatch.setattr(sys, "orig_argv", ["python", "-m", "pytest", "-q"], raising=False)
    assert not as_command()


def test_importing_swapnas_as_the_command_says_a_ctrl_c_in_one_line() -> None:
    """Kills sp6 (swapnas/__init__.py not installing the hook): a Ctrl-C right after the import was a traceback."""
    code = ("import sys; sys.argv[0] = '/venv/bin/swapnas'; import swapnas; "
            "print(sys.excepthook is sys.__excepthook__, flush=True); raise KeyboardInterrupt")
    env = {**os.environ, "PYTHONPATH": str(Path(swapnas.__file__).parents[1])}
    p = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env, timeout=120)
    assert p.stdout == "False\n" and p.stderr == "swapnas: interrupted while starting; nothing was run\n", p.stderr


# --- executors.py ---

def test_a_socket_path_of_exactly_108_bytes_with_its_nul_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills xe3 (``>=``): Linux's sun_path holds 108 bytes, the NUL included (man 7 unix), so 107 + NUL fits."""
    monkeypatch.setattr(sys, "platform", "linux")
    folder = "/" + "T" * 74 + "/pymp-abcdefgh"
    assert len(os.path.join(folder, "listener-xxxxxxxx")) == 107
    monkeypatch.setattr(multiprocessing.util, "get_temp_dir", lambda: folder)
    check_socket_folder(2)
    monkeypatch.setattr(multiprocessing.util, "get_temp_dir", lambda: folder + "x")
    with pytest.raises(ValueError, match="its path would be 109 bytes, more than the 108"):
        check_socket_folder(2)


def test_a_non_ascii_temporary_folder_is_measured_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills xe8 (the path measured in characters): 40 'ρ' are 80 bytes, a 114-byte socket path taken as 74."""
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(multiprocessing.util, "get_temp_dir", lambda: "/" + "ρ" * 40 + "/pymp-abcdefgh")
    with pytest.raises(ValueError, match="its path would be 114 bytes, more than the 108"):
        check_socket_folder(2)


def test_windows_is_not_checked_for_unix_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills xe4 (the win32 early return dropped): a long TMPDIR on Windows refused a pool that needs no socket."""
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(multiprocessing.util, "get_temp_dir", lambda: "C:\\" + "T" * 200)
    check_socket_folder(4)


def test_the_pool_refuses_a_long_temporary_folder_before_any_worker_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills xe5 (the pool not calling check_socket_folder): the workers started, and hung on the socket."""
    pool_class = stand_in_pool(monkeypatch, "died")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(multiprocessing.util, "get_temp_dir", lambda: "/" + "T" * 100 + "/pymp-abcdefgh")
    with pytest.raises(ValueError, match="^--workers 3: the worker processes get the batch through a Unix socket"):
        PoolExecutor(3)._ensure_pool()
    assert pool_class.made == []


# --- progress.py and the bars that use it ---

def test_a_closed_stderr_gets_the_log_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills pg2 (a closed stream's ValueError from isatty let through)."""
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    assert bar_interval() == LOG_INTERVAL == 30.0


class _Bars:
    """tqdm, recording each bar's keyword arguments."""

    def __init__(self) -> None:
        self.kw: list[dict] = []

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.kw.append(kwargs)
        return real_tqdm(*args, **kwargs)


def test_the_search_and_scoring_bars_redraw_every_30_s_into_a_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Kills pg3 (the search's bar) and pg4 (the scoring bar) without the log interval: ~7 redraws a second in a log."""
    bars = _Bars()
    monkeypatch.setattr(driver, "Bar", bars)
    monkeypatch.setattr(session, "Bar", bars)

    class Fitness:
        def value(self, arch: object, rec: Record) -> float:
            return rec.value

    ea = Evolution(nb201, EAConfig(population=3, sample=2, mutations=1, cycles=1), 0)
    driver.evolve(ea, lambda archs: [_ok(float(i)) for i, _ in enumerate(archs)], Fitness(), tmp_path / "state.json",
                  {"proxy": "probe@1"}, desc="probe")
    protocol, batch, proxies, archs = tiny_nb201_task("params", batch_size=8, repeats=1, n_archs=2, seed=0)
    with ScoreStore(tmp_path / "s.sqlite") as store:
        session.score_archs(archs, "nb201", proxies, protocol, batch, store, torch.device("cpu"))
    assert [kw.get("mininterval") for kw in bars.kw] == [30.0, 30.0]  # stderr captured: not a terminal


# --- results.py, train/loop.py ---

def test_the_provenance_command_reads_a_c_locales_undecoded_name_as_its_utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills rs2 (command_line not decoding): the command of results.json held \\udccf escapes under LC_ALL=C."""
    from swapnas.results import command_line

    name = "/tmp/E2 ρτ".encode().decode("ascii", "surrogateescape")
    monkeypatch.setattr(sys, "argv", ["/venv/bin/swapnas", "correlate", "--out", name])
    assert command_line() == "swapnas correlate --out '/tmp/E2 ρτ'"
    json.dumps(command_line()).encode("utf-8")  # no lone surrogate left for a UTF-8 writer to fail on


def test_sighup_inside_a_training_batch_reaches_its_handler_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills tr1 (training holding SIGTERM only): a SIGHUP (the terminal closed) stopped a batch half-applied."""
    import signal

    from swapnas.train import loop

    calls: list = []
    old = signal.signal(signal.SIGHUP, lambda signum, frame: calls.append(signum))
    try:
        with loop._whole_batch():
            os.kill(os.getpid(), signal.SIGHUP)
            assert calls == []  # held until the batch is whole
        assert calls == [signal.SIGHUP]
    finally:
        signal.signal(signal.SIGHUP, old)
