"""Session 59: items left as found by sessions 57 and 58 and the session's audits (each test fails on the code
before its change)."""

from __future__ import annotations

import argparse
from collections import Counter
import dataclasses
import errno
import io
import os
import re
import random
import sqlite3
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import swapnas

from swapnas import cli, code_changes, executors, results
from swapnas import export as export_module
from swapnas import store_merge
from swapnas.memory_failures import out_of_memory
from swapnas.store_merge import merge_stores
from swapnas.api import auto_proxy
from swapnas.cli.args import EXIT_ERROR
from swapnas.out_checks import out_folder
from swapnas.patterns import SaturationWarning
from swapnas.proxies import get_proxy
from swapnas.requirements import UnsupportedModel
from swapnas.proxies.code import NetworkCodeWarning, ProxyCodeWarning
from swapnas.scoring import Protocol
from swapnas.data import Batch
from swapnas.executors import Executor
from swapnas.files import save_figure, write_atomic
from swapnas.session import score_archs, scoring_net
from swapnas.store import Record, ScoreStore
from swapnas.store_tools import check_store, salvage_store
from swapnas.store_files import StoreError


@pytest.mark.parametrize("given, built", [(1e1, 10), (16.0, 16), (10, 10)])
def test_a_whole_float_given_to_an_integer_network_option_is_that_integer(given: object, built: int) -> None:
    net = scoring_net("nb201", "cifar10", {"C": given})
    assert net["C"] == built and type(net["C"]) is int


def test_a_fractional_value_for_an_integer_network_option_is_still_refused_as_given() -> None:
    with pytest.raises(ValueError, match=r"--net C=10\.5: .*C takes an integer \(default 16\), not 10\.5"):
        scoring_net("nb201", "cifar10", {"C": 10.5})


def test_a_new_version_of_a_proxy_or_network_says_its_scores_are_made_anew_not_reused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    params = get_proxy("params")
    with ScoreStore(tmp_path / "s.sqlite") as store:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            code_changes.warn_changed_code(store, [params], "nb201", "1")  # records params@1 and net:nb201@1
        with pytest.warns(ProxyCodeWarning, match=r"proxy 'params': .* was used with its version 1; this swapnas "
                                                  r"gives its definition version 2, so its scores are made anew"):
            code_changes.warn_changed_code(store, [dataclasses.replace(params, version="2")])
        with pytest.warns(NetworkCodeWarning, match=r"space 'nb201': .* version 1; .* its networks version 7"):
            code_changes.warn_changed_network(store, "nb201", "7")
        monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())  # a later run: both versions recorded, no word
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            code_changes.warn_changed_code(store, [dataclasses.replace(params, version="2")], "nb201", "7")


def test_provenance_records_the_folder_the_commands_relative_paths_are_relative_to(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(results.Path, "home", classmethod(lambda cls: tmp_path / "elsewhere"))
    assert results.provenance()["cwd"] == str(tmp_path)
    monkeypatch.setattr(results.Path, "cwd", classmethod(lambda cls: (_ for _ in ()).throw(FileNotFoundError(2, "x"))))
    assert "cwd" not in results.provenance() and results.provenance()["command"]


def test_a_correlate_folder_whose_results_json_was_deleted_is_taken_and_a_users_csv_alone_is_not(
        tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.csv").write_text("arch,accuracy,params\na,1.0,2.0\n")
    args = argparse.Namespace(command="correlate", out=str(run), shard=None, data_dir=None, store=None)
    with pytest.raises(ValueError, match="holds results.csv, which `swapnas correlate` writes"):
        out_folder(args)
    (run / "report.md").write_text("# NAS-Bench-201\n\nMade by `swapnas correlate --space nb201` (swapnas 1.0)\n")
    assert out_folder(args) == run  # the report is ours: the run's folder, its results.csv with it


def test_a_folder_name_too_long_for_the_file_system_is_refused_before_anything_runs(tmp_path: Path) -> None:
    most = os.pathconf(tmp_path, "PC_NAME_MAX")  # 255 on most file systems
    out = tmp_path / "new" / ("a" * (most + 1)) / "run"
    args = argparse.Namespace(command="correlate", out=str(out), shard=None, data_dir=None, store=None)
    with pytest.raises(ValueError, match=rf"the folder name a{{40}}… is {most + 1} bytes, more than the {most} "):
        out_folder(args)
    assert not (tmp_path / "new").exists()
    assert out_folder(argparse.Namespace(**{**vars(args), "out": str(tmp_path / "new" / ("a" * most))}))


def test_an_error_names_the_store_as_keeping_scores_only_when_it_was_made(tmp_path: Path) -> None:
    args = argparse.Namespace(command="correlate", out=str(tmp_path), store=None)
    assert cli._kept_scores(args) == ""  # no store made yet: nothing is kept
    (tmp_path / "scores.sqlite").write_bytes(b"")
    assert cli._kept_scores(args) == f"the store {tmp_path / 'scores.sqlite'}"
    assert cli._kept_scores(argparse.Namespace(command="export", out=str(tmp_path), store=None)) == ""


def test_a_pool_whose_shared_locks_cannot_be_made_says_where_and_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_semaphores(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(executors, "ProcessPoolExecutor", no_semaphores)
    with pytest.raises(ValueError, match=r"--workers 2: the worker processes' shared locks cannot be made"
                                         r"( in /dev/shm, which must be writable)? \(Read-only file system\); "
                                         r"use --workers 1"):
        executors.PoolExecutor(2)._ensure_pool()


def test_store_check_counts_scores_failures_settings_and_unrecorded_names_as_a_naive_count_does(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    rng, rows = random.Random(0), []
    with ScoreStore(path) as store:
        for seed in (0, 1):
            protocol = Protocol("nb201", "cifar10", 8, repeats=1, seed=seed, net={"C": 4, "N": 1})
            store.add_protocol(protocol.fingerprint, protocol.describe())
            for arch in ("a", "b", "c"):
                for name in ("params", "swap", "flops"):
                    failed = rng.random() < 0.3
                    rows.append((*protocol.key(arch, get_proxy(name)).as_tuple(), "failed" if failed else "ok",
                                 None if failed else 1.0, None, "[]", 0.1, None, None, "cpu", 1.0))
        store.insert_rows(rows)
        store.accept_code("swap@1", "digest")
    report = check_store(path)
    assert report.ok and report.scores == len(rows) == 18
    assert report.failed == sum(r[8] == "failed" for r in rows) > 0
    naive = Counter(tuple(r[i] for i in (3, 0, 4, 5, 6, 7)) for r in rows)  # protocol, space, seed, batch, repeats, net
    assert report.settings == sorted((*s, n) for s, n in naive.items())
    assert report.unrecorded == ["flops@1", "net:nb201@1", "params@1"]  # swap@1 recorded


def _compiled(module: nn.Module) -> nn.Module:
    try:
        return torch.compile(module)  # type: ignore[return-value]  # (wraps it; nothing compiles until a call)
    except RuntimeError as exc:  # a Python that dynamo does not support
        pytest.skip(f"torch.compile: {exc}")


def test_a_compiled_model_or_submodule_scores_as_its_eager_module() -> None:
    torch.manual_seed(0)
    eager = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(8, 10))
    x, y = torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,))
    names = ["swap", "vkdnw", "fisher", "synflow"]
    want = swapnas.score(eager, (x, y), names)
    assert want["vkdnw"] != 0.0
    nested = nn.Sequential(_compiled(eager[:3]), *eager[3:])
    for model in (_compiled(eager), nested):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SaturationWarning)
            assert swapnas.score(model, (x, y), names) == want  # (was vkdnw 0.0; after fisher, no hook fired)
    assert type(nested[0]).__name__ == "OptimizedModule"  # the caller's model keeps its compiled part
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaturationWarning)
        assert swapnas.swap_score(_compiled(eager), x) == swapnas.swap_score(eager, x)


def test_auto_counts_a_transformer_encoders_function_activations_beside_an_activation_module() -> None:
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, activation="gelu", batch_first=True)
    vit = nn.Sequential(nn.TransformerEncoder(layer, 2, enable_nested_tensor=False), nn.Linear(16, 16), nn.GELU())
    assert auto_proxy([vit]) == "swap_fn"  # (was swap_ext: the encoder's GELUs went uncounted)
    x = torch.randn(8, 5, 16)
    got = swapnas.score(vit, x)
    assert list(got) == ["swap_fn"] and got["swap_fn"] > swapnas.score(vit, x, "swap_ext")["swap_ext"]
    moduled = nn.TransformerEncoderLayer(16, 2, 32, activation=nn.GELU(), batch_first=True)  # a module: hooked
    assert auto_proxy([nn.Sequential(moduled, nn.Linear(16, 4))]) == "swap_ext"


class _DictOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.body(x)}


def test_synflow_on_a_model_returning_a_dict_names_the_output_not_the_inputs_dtype() -> None:
    with pytest.raises(UnsupportedModel) as got:
        swapnas.score(_DictOut(), torch.randn(4, 3, 8, 8), "synflow")
    text = str(got.value)
    assert "its forward fails" not in text and "pass x.to(" not in text  # (was blamed on float32 vs float64)
    assert "synflow needs the model to return its output tensor (logits), and it returns a dict" in text


def test_the_dtype_hint_is_said_once() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).to(torch.float64)
    with pytest.raises(UnsupportedModel) as got:
        swapnas.score(model, torch.randn(4, 3, 8, 8), "swap")
    assert str(got.value).count("pass x.to(torch.float64)") == 1


class _ShortOfMemory(Executor):
    """Scores every arch as ``records`` says (a fake executor: the driver's store writes are what is tested)."""

    name = "fake"

    def __init__(self, records: dict[str, Record]) -> None:
        self.records, self.sent = records, []

    def device_for(self, device: torch.device) -> torch.device:
        return device

    def score(self, task, device, items):  # type: ignore[no-untyped-def]
        for arch, known in items:
            self.sent.append((arch, dict(known)))
            yield arch, {p.name: self.records[arch] for p in task.proxies}


_OOM = [("RuntimeError: [enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried "
         "to allocate 8388608 bytes. Error code 12 (Cannot allocate memory)"), "MemoryError: ",
        "OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
        "base proxy 'swap' failed: torch.OutOfMemoryError: CUDA out of memory"]


@pytest.mark.parametrize("error", _OOM)
def test_a_score_that_ran_out_of_memory_is_not_stored_and_is_scored_again(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, error: str) -> None:
    protocol = Protocol("nb201", "cifar10", 2, repeats=1, seed=0, net={"C": 4, "N": 1})
    batch = Batch(torch.zeros(2, 3, 4, 4), torch.zeros(2, dtype=torch.int64), 10, "cifar10", "test", 2)
    short = Record("failed", None, None, [], 0.1, None, error)
    died = Record("failed", None, None, [], 0.1, None, "its scoring process died each of the 2 time(s) it was scored "
                  "alone (killed by the system, e.g. out of memory, or crashed): BrokenProcessPool: …")
    proxies = [get_proxy("params")]
    with ScoreStore(tmp_path / "s.sqlite") as store:
        store.put(protocol.key("c", proxies[0]), short)  # a store of before session 59 kept such failures
        executor = _ShortOfMemory({"a": short, "b": died, "c": ok_record})
        with caplog.at_level("WARNING", logger="swapnas"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ProxyCodeWarning)  # (the row put above has no recorded code)
            warnings.simplefilter("ignore", NetworkCodeWarning)
            got = score_archs(["a", "b", "c"], "nb201", proxies, protocol, batch, store, torch.device("cpu"),
                              progress=False, executor=executor)
        assert [r.status for r in got["params"]] == ["failed", "failed", "ok"]  # this run counts it failed
        assert store.get(protocol.key("a", proxies[0])) is None  # not stored: a rerun scores it again
        assert store.get(protocol.key("b", proxies[0])) == died  # a process the system killed: the arch's failure
        assert store.get(protocol.key("c", proxies[0])) == ok_record  # the stored one scored again, not reused
        assert [arch for arch, _ in executor.sent] == ["a", "b", "c"] and executor.sent[2][1] == {}
        assert "1 score(s) ran out of memory" in caplog.text and "are not stored, so a rerun scores them again" \
            in caplog.text


ok_record = Record("ok", 1.0, 0.0, [1.0], 0.1, None, None)


def test_a_failed_output_write_names_its_file_and_leaves_the_previous_one_whole(tmp_path: Path) -> None:
    path = tmp_path / "scatter.png"
    path.write_bytes(b"the previous run's plot")

    def full(f: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as got:
        write_atomic(path, full)
    assert got.value.errno == errno.ENOSPC and got.value.filename == str(path)  # (was no file named)
    assert path.read_bytes() == b"the previous run's plot" and sorted(tmp_path.iterdir()) == [path]

    class Figure:
        def savefig(self, f: io.BufferedWriter, format: str) -> None:
            f.write(b"half a ")
            raise OSError(errno.EFBIG, "File too large")

    with pytest.raises(OSError, match="File too large"):
        save_figure(Figure(), path)
    assert path.read_bytes() == b"the previous run's plot"  # (savefig(path) left it cut)


def cli_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, exc: OSError, **given: object) -> str:
    """What the command line says on stderr when a command (``given``: its parsed arguments) raises ``exc``."""
    def failing(args: argparse.Namespace) -> int:
        raise exc

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.setattr(parser, "parse_args", lambda argv: argparse.Namespace(verbose=False, func=failing, **given))
    assert cli._main([]) == EXIT_ERROR
    return capsys.readouterr().err


def test_a_file_size_limit_is_named_as_such(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    err = cli_error(monkeypatch, capsys, OSError(errno.EFBIG, "File too large", "o/results.csv"), command="export",
                    out="o")
    assert "o/results.csv: File too large (larger than the process's file-size limit, `ulimit -f`" in err



def _small_store(path: Path) -> Path:
    protocol = Protocol("nb201", "cifar10", 8, repeats=1, seed=0, net={"C": 4, "N": 1})
    with ScoreStore(path) as store:
        store.add_protocol(protocol.fingerprint, protocol.describe())
        for arch in ("a", "b"):
            store.put(protocol.key(arch, get_proxy("params")), ok_record)
    return path


@pytest.mark.parametrize("error, fix", [(errno.EFBIG, "free space on its disk or raise the process's file-size limit"),
                                        (errno.ENOSPC, "free space on its disk or raise"),
                                        (errno.EROFS, "give a file in a writable folder"),
                                        (errno.EACCES, "give a file in a writable folder"),  # (from the mutation run:)
                                        (errno.EPERM, "give a file in a writable folder"),
                                        (errno.EDQUOT, "free space on its disk or raise"),
                                        (errno.EISDIR, "give another file")])
def test_the_store_tools_say_a_full_disk_or_a_size_limit_with_the_right_way_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int, fix: str) -> None:
    source = _small_store(tmp_path / "s.sqlite")

    def refused(path: Path, write: object) -> None:
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(export_module, "write_atomic", refused)
    with pytest.raises(ValueError, match=re.escape(f"cannot write it ({os.strerror(error)}); {fix}")):
        export_module.export(source, tmp_path / "e.csv")


def test_merge_names_into_and_salvage_names_its_out_when_their_disk_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _small_store(tmp_path / "s.sqlite")

    def disk_io(self: ScoreStore, *args: object, **kwargs: object) -> None:
        raise self._error(sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(ScoreStore, "insert_rows", disk_io)
    with pytest.raises(StoreError) as got:
        merge_stores([source], tmp_path / "m.sqlite")
    assert "or give another --into" in str(got.value) and "--store" not in str(got.value)
    assert "file-size limit, `ulimit -f`" in str(got.value)
    with pytest.raises(StoreError, match=r"--out .*v\.sqlite: the salvaged store could not be written \(.*disk I/O "
                                         r"error.*\): nothing was named v\.sqlite"):
        salvage_store(source, tmp_path / "v.sqlite")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".salvage") or p.name == "v.sqlite"]


def test_too_many_open_files_says_the_limit_and_the_way_out(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture) -> None:
    for workers, offered in ((None, True), (2, True), (1, False)):  # --workers 1 offered where it is not given
        err = cli_error(monkeypatch, capsys, OSError(errno.EMFILE, "Too many open files"), command="correlate",
                        out=None, workers=workers)
        assert "Too many open files (the process's limit on open files: raise it, `ulimit -n 4096`" in err
        assert ("or use --workers 1)" in err) is offered
    assert "or use --workers 1" not in cli_error(monkeypatch, capsys, OSError(errno.EMFILE, "x"), command="export",
                                                 out="o")  # (the review: export has no --workers)


@pytest.mark.parametrize("error, short", [
    ("RuntimeError: CUDA error: out of memory", True), ("_ArrayMemoryError: Unable to allocate 8.00 GiB", True),
    ("RuntimeError: cuDNN error: CUDNN_STATUS_NOT_ENOUGH_MEMORY", True),
    ("RuntimeError: DefaultCPUAllocator: not enough memory: you tried to allocate 1 bytes.", True),
    ("base proxy 'a' failed: ValueError: x; base proxy 'b' failed: MemoryError: ", True),
    ("ValueError: the model's output holds NaN", False), ("non-finite score(s): [nan]", False),
    ("its scoring process died each of the 2 time(s) it was scored alone (killed by the system, e.g. out of memory, "
     "or crashed): BrokenProcessPool: a process terminated", False),
    ("RayTaskError: Ray worker died 3 times: OutOfMemoryError('task was killed')", False)])
def test_which_failures_are_for_want_of_memory(error: str, short: bool) -> None:
    assert out_of_memory(Record("failed", None, None, [], 0.1, None, error)) is short
    assert not out_of_memory(Record("ok", 1.0, 0.0, [1.0], 0.1, None, error))


def test_a_read_only_store_reuses_an_out_of_memory_failure_stored_before_and_runs(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    protocol = Protocol("nb201", "cifar10", 2, repeats=1, seed=0, net={"C": 4, "N": 1})
    batch = Batch(torch.zeros(2, 3, 4, 4), torch.zeros(2, dtype=torch.int64), 10, "cifar10", "test", 2)
    short = Record("failed", None, None, [], 0.1, None, "MemoryError: ")
    params = get_proxy("params")
    with ScoreStore(tmp_path / "s.sqlite") as store:
        store.add_protocol(protocol.fingerprint, protocol.describe())
        store.put(protocol.key("a", params), short)
        store.put(protocol.key("b", params), ok_record)
    with ScoreStore(tmp_path / "s.sqlite", read_only=True) as store, warnings.catch_warnings(), \
            caplog.at_level("WARNING", logger="swapnas"):
        warnings.simplefilter("ignore", ProxyCodeWarning)
        warnings.simplefilter("ignore", NetworkCodeWarning)
        got = score_archs(["a", "b"], "nb201", [params], protocol, batch, store, torch.device("cpu"),
                          progress=False, executor=_ShortOfMemory({}))
    assert got["params"] == [short, ok_record]  # (the review: it refused, "1 arch(s) still need scoring")
    # session 60: the warning said "not stored, so a rerun scores them again" of these, reused by every rerun
    assert "ran out of memory" not in caplog.text


def test_the_reviews_findings_on_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 59's review: "the scores saved in it are kept" only for a store that exists; a failed rename names the
    file, not the removed temporary one; a source named as INTO is (in another folder) stays the source's; the working
    folder under home is written ``~/…`` (EMFILE's --workers:
    test_too_many_open_files_says_the_limit_and_the_way_out)."""
    never = ScoreStore(":memory:")
    never.path = str(tmp_path / "never.sqlite")
    assert "kept" not in str(never._error(sqlite3.OperationalError("unable to open database file")))
    (tmp_path / "results.csv").mkdir()  # a folder where the file goes: the rename fails
    with pytest.raises(OSError) as got:
        write_atomic(tmp_path / "results.csv", lambda f: f.write(b"x"))
    assert got.value.filename == str(tmp_path / "results.csv")
    (tmp_path / "shards").mkdir()
    source = _small_store(tmp_path / "shards" / "m.sqlite")

    def unreadable(rows: object, path: Path) -> object:
        raise store_merge._SourceError(f"the source store {path} could not be read to the end")

    monkeypatch.setattr(store_merge, "_read", unreadable)
    with pytest.raises(StoreError, match="the source store .*shards/m.sqlite could not be read") as merged:
        merge_stores([source], tmp_path / "m.sqlite")
    assert "--into" not in str(merged.value)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    monkeypatch.chdir(tmp_path / "shards")
    assert results.provenance()["cwd"] == "~/shards"


@pytest.mark.parametrize("given", [np.int64(8), np.float64(8.0), np.float32(8.0), 8.0])
def test_a_numpy_number_for_an_integer_network_option_is_that_integer(given: object) -> None:
    net = scoring_net("nb201", "cifar10", {"C": given})
    assert net["C"] == 8 and type(net["C"]) is int  # (np.int64(8) was refused as not an integer)
    with pytest.raises(ValueError, match="C takes an integer"):
        scoring_net("nb201", "cifar10", {"C": np.float64(8.5)})
    with pytest.raises(ValueError, match="C takes an integer"):
        scoring_net("nb201", "cifar10", {"C": True})
