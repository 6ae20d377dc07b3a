"""Session 58: items left as found by session 57 and the session's audits (each test fails on the code before its
change)."""

from __future__ import annotations

import argparse
import codecs
import csv
import errno
import io
import dataclasses
import json
import multiprocessing.util
import os
import pickle
import random
import signal
import sqlite3
import stat
import sys
import threading
from contextlib import closing
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import pytest
import torch
from torch import nn

import swapnas
from swapnas import cli, results
from swapnas import export as export_module
from swapnas import store_merge
from swapnas.cli import commands as cli_commands
from swapnas.cli.args import EXIT_ERROR, EXIT_INTERRUPTED
from swapnas.out_checks import OWN_FILES, out_folder
from swapnas.executors import check_socket_folder
from swapnas.export import export, special
from swapnas.progress import LOG_INTERVAL, bar_interval
from swapnas.proxies import get_proxy
from swapnas.scoring import Protocol
from swapnas.spaces import nb201
from swapnas.store import Record, ScoreKey, ScoreStore
from swapnas.store_files import StoreError, is_sqlite
from swapnas.store_merge import merge_stores
from swapnas.store_tools import salvage_store
from swapnas.stops import STOP_SIGNALS, as_command, quiet_start_interrupt
from swapnas.swap_checks import META_WEIGHTS
from tests.script_tools import load_perf
from tests.test_validation import run_cli


def _meta_net() -> nn.Module:
    with torch.device("meta"):
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten())


@pytest.mark.filterwarnings("ignore::swapnas.patterns.SaturationWarning")  # a tiny net's count is at its ceiling
def test_swap_score_refuses_weights_or_inputs_on_the_meta_device_with_the_way_out() -> None:
    x = torch.randn(4, 3, 8, 8)
    with pytest.raises(ValueError) as err:  # was torch's "Tensor on device meta is not on the expected device cpu!"
        swapnas.swap_score(_meta_net(), x)
    assert str(err.value) == f"swap_score cannot score Sequential: {META_WEIGHTS}"
    assert "model.to_empty(device='cpu')" in META_WEIGHTS
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    with pytest.raises(ValueError, match=r"^swap_score: the inputs are on the meta device and hold no values; pass "
                                         r"real tensors$"):  # was "Tensor.item() cannot be called on meta tensors"
        swapnas.swap_score(net, x.to("meta"))
    assert swapnas.swap_score(net, x) > 0  # the same net with real inputs scores
    with pytest.raises(ValueError, match="on the meta device"):  # one meta buffer is enough
        net.register_buffer("mask", torch.empty(2, device="meta"))
        swapnas.swap_score(net, x)


def test_score_says_the_meta_device_once() -> None:
    with pytest.raises(swapnas.UnsupportedModel) as err:
        swapnas.score(_meta_net(), torch.randn(4, 3, 8, 8), proxies="swap")
    assert str(err.value).count("hold no values") == 1
    assert str(err.value).endswith("then load its weights")


# --- the store tools on large stores (a helper's audit: 1.5M rows took 2–3.5 GiB in export, merge and salvage) ---

def _key(arch: str, proxy: str = "swap", fp: str = "fp1") -> ScoreKey:
    return ScoreKey("nb201", arch, proxy, fp, 0, 16, 1, '{"C": 16}')


def _random_store(path: Path, rng: random.Random, n: int) -> dict[tuple, tuple]:
    """A store of up to ``n`` random rows over a small key space (so sources overlap); its rows by key."""
    rows: dict[tuple, tuple] = {}
    with ScoreStore(path) as s:
        s.add_protocol("fp1", {"dataset": "cifar10"})
        for _ in range(n):
            key = _key(f"a{rng.randrange(12)}", rng.choice(["swap", "params"]))
            ok = rng.random() < 0.7
            rec = Record("ok", float(rng.randrange(3)), 0.0, [], 0.1, None, None) if ok else \
                Record("failed", None, None, [], 0.1, None, "RuntimeError: x")
            s.put(key, rec)
        for r in s.rows():
            rows[tuple(r[c] for c in ScoreStore.COLUMNS[:8])] = (r["status"], r["value"])
    return rows


def _naive_merge(into: dict, sources: list[dict]) -> tuple[dict, tuple[int, int, int, int]]:
    """The merge rule written out on dicts: new keys added, a failure gives way to a score, a score stays (counted
    in differing when the source's score has another value)."""
    out, added, replaced, kept, differing = dict(into), 0, 0, 0, 0
    for src in sources:
        for key, (status, value) in src.items():
            had = out.get(key)
            if had is None:
                out[key], added = (status, value), added + 1
            elif had[0] != "ok" and status == "ok":
                out[key], replaced = (status, value), replaced + 1
            else:
                kept += 1
                differing += had[0] == "ok" and status == "ok" and had[1] != value
    return out, (added, replaced, kept, differing)


@pytest.mark.parametrize("seed", range(6))
def test_merge_streams_the_rows_and_follows_the_rule_written_out(tmp_path: Path, seed: int,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    into = _random_store(tmp_path / "into.sqlite", rng, 10)
    sources = [_random_store(tmp_path / f"s{i}.sqlite", rng, 15) for i in range(3)]
    want, counts = _naive_merge(into, sources)
    monkeypatch.setattr(ScoreStore, "rows", lambda self: pytest.fail("merge read every row into a list"))
    m = merge_stores([tmp_path / f"s{i}.sqlite" for i in range(3)], tmp_path / "into.sqlite")
    assert (m.added, m.replaced, m.kept, m.differing) == counts
    with closing(sqlite3.connect(tmp_path / "into.sqlite")) as db:
        got = {tuple(r[:8]): (r[8], r[9]) for r in db.execute("SELECT * FROM scores")}
    assert got == want


def test_a_source_that_cannot_be_read_to_the_end_is_named_and_into_keeps_what_it_had(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Iterator[tuple]:
        yield ("row",)
        raise sqlite3.DatabaseError("database disk image is malformed")

    with pytest.raises(StoreError) as err:
        list(store_merge._read(broken(), tmp_path / "src.sqlite"))
    assert str(err.value).startswith(f"the source store {tmp_path / 'src.sqlite'} could not be read to the end "
                                     "(database disk image is malformed); nothing of it was merged: restore it")
    assert str(err.value).endswith("then merge the salvaged store")
    rng = random.Random(9)
    before = _random_store(tmp_path / "into.sqlite", rng, 10)
    _random_store(tmp_path / "s.sqlite", rng, 30)
    calls = [0]

    def failing(self: ScoreStore, key: tuple) -> None:  # the third lookup fails, half-way through the source
        calls[0] += 1
        if calls[0] == 3:
            raise StoreError("stand-in failure")
        return ScoreStore.__dict__["_real_status_of"](self, key)

    monkeypatch.setattr(ScoreStore, "_real_status_of", ScoreStore.status_of, raising=False)
    monkeypatch.setattr(ScoreStore, "status_of", failing)
    with pytest.raises(StoreError, match="stand-in failure"):
        merge_stores([tmp_path / "s.sqlite"], tmp_path / "into.sqlite")
    with closing(sqlite3.connect(tmp_path / "into.sqlite")) as db:
        assert {tuple(r[:8]): (r[8], r[9]) for r in db.execute("SELECT * FROM scores")} == before


def _two_protocol_store(path: Path) -> Path:
    with ScoreStore(path) as s:
        for fp, dataset in (("fp1", "cifar10"), ("fp2", "cifar100")):
            s.add_protocol(fp, {"dataset": dataset})
            for i in range(4):
                s.put(_key(f"a{i}", fp=fp), Record("ok", float(i), 0.0, [float(i)], 0.1, None, None))
            s.put(_key("a9", "params", fp), Record("failed", None, None, [], 0.1, None, "RuntimeError: x"))
    return path


def test_export_streams_the_rows_filters_in_sql_and_writes_the_file_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _two_protocol_store(tmp_path / "s.sqlite")
    with closing(sqlite3.connect(store)) as db:  # what the csv holds, read independently: fp2's rows in key order
        want = db.execute(f"SELECT {', '.join(ScoreStore.COLUMNS)} FROM scores WHERE protocol = 'fp2' ORDER BY "
                          "space, proxy, protocol, seed, batch_size, repeats, net, arch").fetchall()
    monkeypatch.setattr(ScoreStore, "rows", lambda self: pytest.fail("export read every row into a list"))
    export(store, tmp_path / "s.csv", "csv", protocol="cifar100")
    with open(tmp_path / "s.csv", newline="", encoding="utf-8") as f:
        got = list(csv.DictReader(f))
    assert [tuple(r[c] for c in ScoreStore.COLUMNS) for r in got] == [tuple("" if v is None else str(v) for v in row)
                                                                     for row in want]
    assert {r["dataset"] for r in got} == {"cifar100"}
    export(store, tmp_path / "zc.json", "naslib-zc", protocol="fp1")
    doc = json.loads((tmp_path / "zc.json").read_text(encoding="utf-8"))
    assert set(doc) == {"provenance", "nb201"} and set(doc["nb201"]) == {"cifar10"}

    def half(f: IO[str], rows: Iterable[dict], protocols: dict) -> None:
        f.write("arch,value\n")
        raise StoreError("stand-in failure half-way")

    monkeypatch.setattr(export_module, "_csv", half)
    with pytest.raises(StoreError):
        export(store, tmp_path / "new.csv", "csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "s.sqlite", "zc.json"]  # no part of new.csv


def test_iter_rows_filters_by_protocol_and_status_and_distinct_names_its_columns(tmp_path: Path) -> None:
    with ScoreStore(_two_protocol_store(tmp_path / "s.sqlite"), read_only=True) as s:
        assert [(r["arch"], r["status"]) for r in s.iter_rows("fp1", "failed")] == [("a9", "failed")]
        assert len(list(s.iter_rows(status="ok"))) == 8 and len(list(s.iter_rows("fp2"))) == 5
        assert s.distinct("protocol") == [("fp1",), ("fp2",)]
        assert s.status_of(_key("a2").as_tuple()) == ("ok", 2.0) and s.status_of(_key("zz").as_tuple()) is None
        with pytest.raises(ValueError, match="the scores table has no column 'bogus'"):
            s.distinct("protocol", "bogus")
        rows = s.iter_rows()
        next(rows)
    with pytest.raises(StoreError, match=r"was closed before this read: read it \(e.g. the rows of iter_rows\) "
                                         r"inside `with ScoreStore\(...\)`"):  # was "… is damaged …; restore it"
        next(rows)


def test_salvage_streams_into_a_store_named_only_when_whole_and_leaves_a_name_taken_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _two_protocol_store(tmp_path / "s.sqlite")
    monkeypatch.setattr(ScoreStore, "rows", lambda self: pytest.fail("salvage read every row into a list"))
    report = salvage_store(store, tmp_path / "new.sqlite")
    assert (report.recovered, report.lost) == (10, 0)
    with closing(sqlite3.connect(store)) as a, closing(sqlite3.connect(tmp_path / "new.sqlite")) as b:
        assert sorted(a.execute("SELECT * FROM scores")) == sorted(b.execute("SELECT * FROM scores"))
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("s.sqlite")) == ["new.sqlite"]
    real_link = os.link

    def taken_meanwhile(src: Path, dst: Path) -> None:  # another process makes OUT while the salvage runs
        Path(dst).write_text("theirs", encoding="utf-8")
        real_link(src, dst)

    monkeypatch.setattr(os, "link", taken_meanwhile)
    with pytest.raises(StoreError, match=r"was made by another process while this salvage ran, and is left as it is"):
        salvage_store(store, tmp_path / "other.sqlite")
    assert (tmp_path / "other.sqlite").read_text(encoding="utf-8") == "theirs"
    monkeypatch.setattr(os, "link", real_link)

    def failing(self: ScoreStore, rows: Iterable[tuple], *args: object, **kwargs: object) -> None:
        next(iter(rows))
        raise KeyboardInterrupt

    monkeypatch.setattr(ScoreStore, "insert_rows", failing)
    with pytest.raises(KeyboardInterrupt):  # stopped part-way: nothing under the new name, nor its work folder
        salvage_store(store, tmp_path / "again.sqlite")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("s.sqlite")) == [
        "new.sqlite", "other.sqlite"]


def test_a_protocols_key_follows_a_change_of_its_net_and_its_fingerprint_survives_copies() -> None:
    net = {"C": 16, "N": 1}
    p = Protocol("nb201", "cifar10", 16, net=net, batch_digest="b")
    first, proxy = p.fingerprint, get_proxy("swap")
    assert p.key("a", proxy).net == '{"C": 16, "N": 1}'
    net["C"] = 8  # the dict is the caller's: the key follows it (a cached one kept C=16, the review of session 58)
    assert p.key("a", proxy).net == '{"C": 8, "N": 1}' and p.key("a", proxy).protocol == first
    assert pickle.loads(pickle.dumps(p)).fingerprint == first
    assert dataclasses.replace(p, dataset="cifar100").fingerprint == Protocol(
        "nb201", "cifar100", 16, batch_digest="b").fingerprint != first


def test_the_store_scale_script_makes_the_rows_it_says_and_tells_differing_outputs_apart(
        tmp_path: Path) -> None:
    script = load_perf("store_scale")
    rng = random.Random(0)
    archs = list(dict.fromkeys(str(nb201.sample(rng)) for _ in range(7)))
    made = script.make_store(tmp_path / "s.sqlite", archs, [0, 1], ("params", "swap"), seed=0)
    assert made == len(archs) * 2 * 2 == 28
    with ScoreStore(tmp_path / "s.sqlite", read_only=True) as s:
        rows = s.rows()
        assert len({r["protocol"] for r in rows}) == 2 and {r["seed"] for r in rows} == {0, 1}
        assert {r["proxy"] for r in rows} == {"params@1", "swap@1"}
        assert all(len(json.loads(r["values_json"])) == 2 for r in rows if r["status"] == "ok")
    for tag in ("a", "b"):
        (tmp_path / tag).mkdir()
        export(tmp_path / "s.sqlite", tmp_path / tag / "scores.csv", "csv")
        export(tmp_path / "s.sqlite", tmp_path / tag / "zc.json", "naslib-zc", protocol=rows[0]["protocol"])
        for name in ("merged.sqlite", "salvaged.sqlite"):
            salvage_store(tmp_path / "s.sqlite", tmp_path / tag / name)
        (tmp_path / tag / "check.out").write_text('{"scores": 28}', encoding="utf-8")  # (since session 59)
    assert script.same_outputs(tmp_path, "a", "b") == []
    (tmp_path / "b" / "check.out").write_text('{"scores": 27}', encoding="utf-8")
    assert script.same_outputs(tmp_path, "a", "b") == ["store check's report"]
    (tmp_path / "b" / "check.out").write_text('{"scores": 28}', encoding="utf-8")
    (tmp_path / "b" / "scores.csv").write_text("other", encoding="utf-8")
    with closing(sqlite3.connect(tmp_path / "b" / "salvaged.sqlite")) as db:
        db.execute("UPDATE scores SET value = value + 1 WHERE rowid = 1")
        db.commit()
    assert script.same_outputs(tmp_path, "a", "b") == ["scores.csv", "salvaged.sqlite"]


@pytest.mark.parametrize("argv, mine", [
    (["correlate", "--space", "darts_swap", "--proxies", "params", "--archs", "3"], "report.md"),
    (["search", "--space", "nb201", "--cycles", "1", "--population", "3", "--sample", "2"], "result.json"),
    (["grid", "--benchmarks", "nb201", "--tasks", "cifar10", "--proxies", "params", "--archs", "3"], "grid.md"),
])
def test_a_file_of_the_users_that_a_run_would_replace_is_refused_and_a_run_of_its_own_goes_on(
        argv: list[str], mine: str, small_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "paper"
    out.mkdir()
    (out / mine).write_text("my own notes\n", encoding="utf-8")
    code, _, err = run_cli([*argv, "--data-dir", str(small_bundle), "--out", str(out), "--no-progress"], capsys)
    own = OWN_FILES[argv[0]]
    assert code == 2 and err.strip().endswith(
        f"--out {out} holds {mine}, which `swapnas {argv[0]}` writes, but no {own} of an earlier {argv[0]} run: it "
        f"looks like a file of your own, which the run would replace; give another folder, or move {mine} away")
    assert (out / mine).read_text(encoding="utf-8") == "my own notes\n" and sorted(os.listdir(out)) == [mine]
    (out / own).write_text("{}", encoding="utf-8")  # an earlier run of the command: its own files are replaced
    assert _refusal(argv[0], out) is None
    if argv[0] == "grid":  # a shard writes none of them
        (out / own).unlink()
        assert _refusal("grid", out, shard=(0, 2)) is None


def _refusal(command: str, out: Path, shard: tuple[int, int] | None = None) -> str | None:
    """out_folder's refusal of OUT for ``command`` (None: taken)."""
    try:
        out_folder(argparse.Namespace(command=command, out=str(out), shard=shard))
    except ValueError as exc:
        return str(exc)
    return None


def test_export_writes_into_a_link_a_pipe_or_a_device_as_it_is_and_keeps_a_files_permissions(tmp_path: Path) -> None:
    store = _two_protocol_store(tmp_path / "s.sqlite")
    target = tmp_path / "real.csv"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o640)
    (tmp_path / "link.csv").symlink_to(target)
    export(store, tmp_path / "link.csv", "csv")  # was: the link replaced by a plain file, the target left old
    assert (tmp_path / "link.csv").is_symlink() and target.read_text(encoding="utf-8").startswith("space,arch,")
    export(store, target, "csv", protocol="fp1")
    assert os.stat(target).st_mode & 0o777 == 0o640  # was 0644 (+ umask) after the atomic replace
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert special(fifo) and not is_sqlite(fifo)  # is_sqlite opened it and waited for a writer (/dev/stdout hung)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    export(store, fifo, "csv")
    reader.join(10)
    assert got and got[0].startswith(b"space,arch,") and got[0].count(b"\n") == 11 and stat.S_ISFIFO(
        os.stat(fifo).st_mode)


def test_an_out_holding_swapnas_outputs_without_the_commands_own_file_is_taken(tmp_path: Path) -> None:
    finished = tmp_path / "search"  # a finished search whose state.json the user deleted to restart it
    finished.mkdir()
    (finished / "result.json").write_text(json.dumps({"provenance": {"swapnas": "0.1.0"}, "best": "x"}))
    (finished / "report.md").write_text("# Search: nb201 / cifar10, seed 0\n\nMade by `swapnas search …` (swapnas "
                                        "0.1.0, git abc, torch 2.13.0+cpu).\n", encoding="utf-8")
    assert _refusal("search", finished) is None
    (finished / "result.json").write_text('{"best": "x"}')  # JSON without swapnas's provenance: the user's
    (finished / "report.md").unlink()  # (beside a report of ours it is the run's, since session 59)
    assert "holds result.json, which `swapnas search` writes" in (_refusal("search", finished) or "")
    run = tmp_path / "correlate"
    run.mkdir()
    (run / "results.tex").write_text("% made by: swapnas correlate --space nb201\n\\begin{tabular}{lr}\n")
    assert _refusal("correlate", run) is None
    (run / "results.csv").write_text("arch,accuracy\n")  # no mark of its maker, beside one of ours: the run's
    assert _refusal("correlate", run) is None  # (session 59; alone it is refused: tests/test_session59.py)
    trained = tmp_path / "train"  # a training interrupted in its first epoch: its checkpoint only
    trained.mkdir()
    (trained / "checkpoint.pt").write_bytes(b"")
    assert _refusal("train", trained) is None
    (trained / "result.json").write_text("[]")
    assert "holds result.json, which `swapnas train` writes, but no history.json" in (_refusal("train", trained) or "")


# --- shell environments (a helper's audit of pipes, closed streams, signals, locales, TMPDIR, umask, '~') ---

class _Broken(io.StringIO):
    """A stream whose writes fail as a pipe without a reader does (or a full disk: ``error``)."""

    def __init__(self, error: OSError | None = None) -> None:
        super().__init__()
        self.error = error or BrokenPipeError(errno.EPIPE, "Broken pipe")

    def write(self, text: str) -> int:
        raise self.error

    def flush(self) -> None:
        raise self.error


def test_a_failing_stderr_drops_what_it_cannot_write_and_a_missing_one_is_the_null_device() -> None:
    err = cli._Unbreakable(_Broken())
    assert err.write("progress 3/30\r") == len("progress 3/30\r")  # was a BrokenPipeError: exit 0, no results
    err.flush()
    assert err.closed is False  # the rest is the stream's own
    gone = cli._Unbreakable(None)  # 2>&-: sys.stderr is None, and tqdm stopped the run at its start
    assert gone.write("x") == 1 and gone.name == os.devnull


def test_stdouts_own_failure_is_said_as_such_and_json_does_not_fail_twice(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    full = cli._Watched(_Broken(OSError(errno.ENOSPC, "No space left on device")))
    monkeypatch.setattr(sys, "stdout", full)
    assert cli.main(["--json", "proxies"]) == EXIT_ERROR  # was a chained traceback (the error's JSON failed too)
    assert capsys.readouterr().err == "swapnas: error: standard output cannot be written (No space left on device)\n"
    assert isinstance(full.failed, OSError) and sys.stdout is not full  # let go: Python's exit does not flush it again
    monkeypatch.setattr(sys, "stdout", cli._Watched(io.StringIO()))
    assert cli.main(["--json", "proxies"]) == 0 and '"proxies"' in sys.stdout.getvalue()


def test_sighup_stops_a_command_as_sigterm_does_and_its_handler_is_put_back(monkeypatch: pytest.MonkeyPatch) -> None:
    assert signal.SIGHUP in STOP_SIGNALS and signal.SIGTERM in STOP_SIGNALS
    seen: dict[int, object] = {}

    def body(args: argparse.Namespace) -> int:
        seen.update({s: signal.getsignal(s) for s in STOP_SIGNALS})
        signal.raise_signal(signal.SIGHUP)  # the terminal closed: was exit 129 with no word, workers left running
        return 0

    monkeypatch.setattr(cli_commands, "proxies", body)
    before = {s: signal.signal(s, signal.SIG_DFL) for s in STOP_SIGNALS}  # (under nohup SIGHUP is ignored: left so)
    try:
        assert cli.main(["proxies"]) == EXIT_INTERRUPTED
        assert seen == {s: cli._stop for s in STOP_SIGNALS}
        assert all(signal.getsignal(s) == signal.SIG_DFL for s in STOP_SIGNALS)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # nohup's: the command leaves an ignored SIGHUP ignored
        seen.clear()
        monkeypatch.setattr(cli_commands, "proxies", lambda args: seen.update(
            {s: signal.getsignal(s) for s in STOP_SIGNALS}) or 0)
        assert cli.main(["proxies"]) == 0 and seen[signal.SIGHUP] == signal.SIG_IGN
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def test_a_ctrl_c_while_the_command_starts_is_one_line_and_a_library_import_is_left_alone(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["/usr/bin/python", "-c"])
    monkeypatch.setattr(sys, "orig_argv", ["python", "-c", "import swapnas"], raising=False)
    before = sys.excepthook
    assert not as_command()
    quiet_start_interrupt()
    assert sys.excepthook is before  # a notebook's Ctrl-C during `import swapnas` stays Python's
    monkeypatch.setattr(sys, "orig_argv", ["python3", "-X", "utf8", "-m", "swapnas", "proxies"], raising=False)
    assert as_command()
    monkeypatch.setattr(sys, "argv", ["/venv/bin/swapnas", "correlate"])
    monkeypatch.setattr(sys, "orig_argv", ["/venv/bin/python", "/venv/bin/swapnas", "correlate"], raising=False)
    assert as_command()
    calls: list[type] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: calls.append(kind))
    quiet_start_interrupt()
    sys.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)
    sys.excepthook(ValueError, ValueError("x"), None)
    assert capsys.readouterr().err == "swapnas: interrupted while starting; nothing was run\n"
    assert calls == [ValueError]  # anything else goes to the hook before


def test_a_temporary_folder_too_long_for_the_workers_socket_or_none_is_refused_before_they_start(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(multiprocessing.util, "get_temp_dir", lambda: "/tmp/pymp-abcdefgh")
    check_socket_folder(2)  # 37 bytes: taken
    long = "/" + "T" * 80 + "/pymp-abcdefgh"  # a TMPDIR of 81 characters: hung 4 runs of 7 (socket path 108+)
    monkeypatch.setattr(multiprocessing.util, "get_temp_dir", lambda: long)
    with pytest.raises(ValueError, match=r"^--workers 2: the worker processes get the batch through a Unix socket in "
                                         r"/T{80}/pymp-abcdefgh, and its path would be 114 bytes, more than the 108 "
                                         r"the system allows; set TMPDIR to a shorter folder than .* \(e\.g\. "
                                         r"TMPDIR=/tmp\), or use --workers 1$"):
        check_socket_folder(2)
    fits = "/" + "T" * 73 + "/pymp-abcdefgh"  # 107 bytes with the NUL: the longest that fits
    monkeypatch.setattr(multiprocessing.util, "get_temp_dir", lambda: fits)
    check_socket_folder(2)

    def none() -> str:
        raise FileNotFoundError(errno.ENOENT, "No usable temporary directory found")

    monkeypatch.setattr(multiprocessing.util, "get_temp_dir", none)
    with pytest.raises(ValueError, match="no temporary folder can be made for the worker processes .*; set TMPDIR "
                                         "to a writable folder, or use --workers 1"):
        check_socket_folder(3)


def test_names_a_c_locale_left_undecoded_are_written_as_their_utf8_and_other_text_escaped() -> None:
    name = "/tmp/E2 ρτ".encode().decode("ascii", "surrogateescape")  # what Python holds under LC_ALL=C
    assert results._decoded(f"swapnas correlate --out '{name}'") == "swapnas correlate --out '/tmp/E2 ρτ'"
    assert results._decoded("bad \udcff byte") == "bad \udcff byte"  # not UTF-8: its bytes, as session 56 writes them
    codecs.register_error("swapnas_escape", cli._escape)
    assert f"{name} Σ".encode("ascii", "swapnas_escape") == b"/tmp/E2 \xcf\x81\xcf\x84 \\u03a3"


def test_a_new_store_follows_the_umask_and_a_tilde_path_is_the_home_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = os.umask(0o002)
    try:
        ScoreStore(tmp_path / "shared.sqlite").close()
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "shared.sqlite").st_mode & 0o777 == 0o664  # was 0644: the group could not write
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    args = cli._home_expanded(argparse.Namespace(out="~/runs/x", store="~", sources=["~/a.sqlite", "b"], into="c~",
                                                 data_dir="~/d"))
    assert (args.out, args.store, args.sources, args.into) == (
        f"{tmp_path}/home/runs/x", f"{tmp_path}/home", [f"{tmp_path}/home/a.sqlite", "b"], "c~")
    assert args.data_dir == "~/d"  # read (and expanded) by the bundle's own resolver


def test_a_bar_redraws_every_30_s_where_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    assert bar_interval() == 0.1
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert bar_interval() == LOG_INTERVAL == 30.0
    monkeypatch.setattr(sys, "stderr", None)
    assert bar_interval() == LOG_INTERVAL


def test_a_value_that_starts_with_a_minus_gets_the_equals_form_unless_it_is_an_option(
        capsys: pytest.CaptureFixture[str]) -> None:
    def said(*argv: str) -> str:
        with pytest.raises(SystemExit):
            cli.main(["correlate", "--space", "nb201", *argv])
        return capsys.readouterr().err.strip().splitlines()[-1]

    hint = " (a value that starts with '-' reads as an option: write --out=VALUE)"
    assert said("--out", "-y").endswith("argument --out: expected one argument" + hint)  # had no hint (session 58)
    assert said("--out", "-q").endswith("argument --out: expected one argument")  # -q is an option: a value missing
    assert said("--out", "--archs=3").endswith("argument --out: expected one argument")


def test_the_mutation_runs_real_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Four defects the session's mutation run found in its own code (each failed before its fix)."""
    grid = tmp_path / "grid"  # a grid whose grid.json was deleted to restart it: its grid.md is swapnas's
    grid.mkdir()
    (grid / "grid.md").write_text("Produced by: `swapnas grid --benchmarks nb201` (swapnas 0.1.0)\n\n| metric |\n")
    assert _refusal("grid", grid) is None
    store = _two_protocol_store(tmp_path / "s.sqlite")
    (tmp_path / "real.csv").write_text("")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    capsys.readouterr()
    assert cli.main(["--json", "export", str(store), "--out", str(tmp_path / "link.csv")]) == 0
    assert json.loads(capsys.readouterr().out) == {"written": [str(tmp_path / "link.csv")]}  # was nothing
    monkeypatch.setattr(sys, "stdout", cli._Watched(_Broken(OSError(errno.ENOSPC, "No space left on device"))))
    assert cli.main(["--json", "store", "check", str(tmp_path / "none.sqlite")]) == EXIT_ERROR  # was a traceback
    assert capsys.readouterr().err.count("\n") == 1
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cli._home_expanded(argparse.Namespace(truth="~/t.csv")).truth == f"{tmp_path}/t.csv"
