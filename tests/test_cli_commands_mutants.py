"""The subcommands' bodies (``swapnas.cli.commands``), from their mutation run (session 46): arguments parsed by the
real parser, the heavy calls (scoring, benchmarks, executors) replaced by recorders, and then what each command
passes on, prints, writes and returns, and every refusal written out whole."""

from __future__ import annotations

import argparse
import importlib
import json
import random
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from swapnas.cli import build_parser, commands, executor_options
from swapnas.cli.args import EXIT_ERROR, EXIT_FAILED_ARCHS, EXIT_OK, DefaultArchs
from swapnas.spaces import SPACES
from swapnas.store_tools import Salvage, StoreCheck

from .message_tools import exact, refusal


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


class Recorder:
    """A stand-in that records its calls (positional and keyword) and returns ``value``."""

    def __init__(self, value: Any = None) -> None:
        self.calls: list[tuple[tuple, dict]] = []
        self.value = value

    def __call__(self, *a: Any, **kw: Any) -> Any:
        self.calls.append((a, kw))
        return self.value(*a, **kw) if callable(self.value) else self.value

    @property
    def one(self) -> tuple[tuple, dict]:
        assert len(self.calls) == 1, self.calls
        return self.calls[0]


# --- default_workers -----------------------------------------------------------------------------------------------

def test_default_workers_one_per_usable_core_on_cpu_and_the_environment_overrides(monkeypatch) -> None:
    monkeypatch.setattr(executor_options, "usable_cores", lambda: 7)
    monkeypatch.delenv("SWAPNAS_WORKERS", raising=False)
    assert executor_options.default_workers(torch.device("cpu")) == 7
    monkeypatch.setenv("SWAPNAS_WORKERS", "")  # empty: as if unset
    assert executor_options.default_workers(torch.device("cpu")) == 7
    for text, n in (("1", 1), ("3", 3), ("12", 12)):
        monkeypatch.setenv("SWAPNAS_WORKERS", text)
        assert executor_options.default_workers(torch.device("cpu")) == n
    monkeypatch.setenv("SWAPNAS_WORKERS", "5")
    assert executor_options.default_workers(torch.device("cuda")) == 1  # a GPU: one worker, whatever the environment
    assert executor_options.default_workers(torch.device("mps")) == 1
    for bad in ("0", "-2", "x", "1.5", "1025"):  # (session 67: the ceiling of --workers; " 2" is 2, as the pad's)
        monkeypatch.setenv("SWAPNAS_WORKERS", bad)
        assert refusal(ValueError, lambda: executor_options.default_workers(torch.device("cpu"))) == \
            f"$SWAPNAS_WORKERS must be an integer in 1..1024, the scoring processes (got {bad!r})"


# --- executor_of ---------------------------------------------------------------------------------------------------

@pytest.fixture
def executors(monkeypatch) -> SimpleNamespace:
    """make_executor, torch.set_num_threads, keep_freed_memory and pad_mib as recorders."""
    rec = SimpleNamespace(make=Recorder("EXECUTOR"), threads=Recorder(), keep=Recorder(True), pad=Recorder(0))
    monkeypatch.setattr(executor_options, "make_executor", rec.make)
    monkeypatch.setattr(commands.torch, "set_num_threads", rec.threads)
    monkeypatch.setattr(importlib.import_module("swapnas.cli"), "keep_freed_memory", rec.keep)
    monkeypatch.setattr(executor_options, "pad_mib", rec.pad)
    monkeypatch.setattr(executor_options, "usable_cores", lambda: 6)
    monkeypatch.delenv("SWAPNAS_WORKERS", raising=False)
    return rec


def test_local_executor_gets_the_workers_threads_and_prefetch_asked_for(executors) -> None:
    got = executor_options.executor_of(_args("correlate", "--out", "o", "--device", "cpu", "--threads", "3"))
    assert got == ("EXECUTOR", torch.device("cpu"))
    assert executors.make.one == (("local",), {"prefetch": 0, "workers": 6, "threads": 3})
    assert executors.threads.one == ((3,), {})
    # the heap pad is the command line process's (cli._main), not the job's: search_arch's caller keeps its own
    assert not executors.keep.calls and len(executors.pad.calls) == 1
    executors.make.calls.clear()
    executor_options.executor_of(_args("correlate", "--out", "o", "--device", "cpu", "--workers", "2"))
    assert executors.make.one == (("local",), {"prefetch": 0, "workers": 2, "threads": 1})
    executors.make.calls.clear()
    executor_options.executor_of(_args("correlate", "--out", "o", "--device", "cpu", "--prefetch", "4"))
    assert executors.make.one == (("local",), {"prefetch": 4, "workers": 1, "threads": 1})  # prefetch: one worker
    executors.make.calls.clear()
    executor_options.executor_of(_args("correlate", "--out", "o", "--device", "cpu", "--prefetch", "4", "--workers",
                                       "3"))
    assert executors.make.one == (("local",), {"prefetch": 4, "workers": 3, "threads": 1})


def test_local_executor_on_a_gpu_defaults_to_one_worker(executors, monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(executor_options, "resolve_device", lambda name: seen.append(name) or torch.device("cuda"))
    got = executor_options.executor_of(_args("correlate", "--out", "o", "--device", "cuda"))
    assert seen == ["cuda"] and got == ("EXECUTOR", torch.device("cuda"))
    assert executors.make.one[1]["workers"] == 1


def test_the_malloc_pad_is_checked_before_any_executor_is_made(executors, monkeypatch) -> None:
    def bad() -> int:
        raise ValueError("pad refused")
    monkeypatch.setattr(executor_options, "pad_mib", bad)
    for argv in (("--device", "cpu"), ("--executor", "ray", "--device", "cpu")):
        args = _args("correlate", "--out", "o", *argv)
        assert refusal(ValueError, lambda: executor_options.executor_of(args)) == "pad refused"
    assert not executors.make.calls and not executors.threads.calls


@pytest.mark.parametrize(("argv", "named"), [
    (("--address", "auto"), "--address"),
    (("--ray-cpus", "2"), "--ray-cpus"),
    (("--ray-gpus", "0"), "--ray-gpus"),
    (("--ray-gpus", "1", "--address", "h:1", "--ray-cpus", "4"), "--address, --ray-cpus, --ray-gpus"),
])
def test_ray_options_are_refused_with_the_local_executor(executors, argv, named) -> None:
    args = _args("correlate", "--out", "o", "--device", "cpu", *argv)
    verb = "applies" if "," not in named else "apply"  # session 53: "--ray-cpus only apply"
    assert refusal(ValueError, lambda: executor_options.executor_of(args)) == f"{named} only {verb} with --executor ray"
    assert not executors.make.calls


def test_ray_executor_sizes_its_gpus_from_the_device(executors, monkeypatch) -> None:
    monkeypatch.setattr(commands.torch.cuda, "is_available", lambda: False)
    got = executor_options.executor_of(_args("correlate", "--out", "o", "--executor", "ray", "--device", "cpu",
                                     "--address", "h:6379", "--ray-cpus", "3"))
    assert got == ("EXECUTOR", torch.device("cpu"))
    assert executors.make.one == (("ray",), {"address": "h:6379", "num_cpus": 3, "num_gpus_per_task": 0.0})
    assert not executors.threads.calls and not executors.keep.calls  # Ray's workers set their own
    for device, cuda_here, want in (("cuda", False, 1.0), ("cuda:1", False, 1.0), ("auto", True, 1.0),
                                    ("auto", False, 0.0)):
        executors.make.calls.clear()
        monkeypatch.setattr(commands.torch.cuda, "is_available", lambda c=cuda_here: c)
        got = executor_options.executor_of(_args("correlate", "--out", "o", "--executor", "ray", "--device", device))
        assert executors.make.one == (("ray",), {"address": None, "num_cpus": None, "num_gpus_per_task": want})
        assert got[1] == torch.device("cuda" if want else "cpu")
    executors.make.calls.clear()
    got = executor_options.executor_of(_args("correlate", "--out", "o", "--executor", "ray", "--device", "cuda",
                                     "--ray-gpus", "0.5"))
    assert executors.make.one[1]["num_gpus_per_task"] == 0.5 and got[1] == torch.device("cuda")


@pytest.mark.parametrize(("argv", "message"), [
    (("--workers", "2"), "--workers applies to --executor local (Ray sizes its own workers: --ray-cpus)"),
    (("--prefetch", "1"), "--prefetch applies to --executor local (each Ray worker builds its own networks)"),
    (("--device", "cuda", "--ray-gpus", "0"), "--device cuda with --executor ray needs --ray-gpus > 0"),
    (("--device", "cuda:0", "--ray-gpus", "0"), "--device cuda with --executor ray needs --ray-gpus > 0"),
    (("--device", "cpu", "--ray-gpus", "1"), "--ray-gpus > 0 scores on cuda; drop --device cpu"),
])
def test_ray_executor_refusals(executors, argv, message) -> None:
    args = _args("correlate", "--out", "o", "--executor", "ray", *argv)
    assert refusal(ValueError, lambda: executor_options.executor_of(args)) == message
    assert not executors.make.calls


def test_ray_with_no_gpus_and_the_cpu_device_is_accepted(executors) -> None:
    got = executor_options.executor_of(_args("correlate", "--out", "o", "--executor", "ray", "--device", "cpu",
                                     "--ray-gpus", "0"))
    assert got[1] == torch.device("cpu") and executors.make.one[1]["num_gpus_per_task"] == 0


def _executor_parts(parts: SimpleNamespace) -> None:
    """``executor_plan`` and ``make_executor`` as recorders; ``parts.held``: the OUT folders held when it is made."""
    from swapnas import files

    parts.held = []
    parts.executor_plan = Recorder(("KIND", {"o": 1}, torch.device("cpu")))
    parts.make_executor = Recorder(lambda *a, **kw: parts.held.extend(str(Path(k).parent) for k in files._HELD)
                                   or parts.executor)


# --- _net_overrides, show_progress, print_report ------------------------------------------------------------------

def test_net_overrides_merge_the_shortcuts_into_net() -> None:
    assert commands._net_overrides(_args("correlate", "--out", "o")) == {}
    args = _args("correlate", "--out", "o", "--net", "N=3,k=1", "--channels", "24", "--cells", "3")
    assert commands._net_overrides(args) == {"N": 3, "k": 1, "C": 24}
    assert args.net == {"N": 3, "k": 1}  # the parsed --net itself is left as given
    assert commands._net_overrides(_args("correlate", "--out", "o", "--space", "darts_swap", "--channels", "4",
                                         "--net", "layers=2")) == {"layers": 2, "C": 4}
    args = _args("correlate", "--out", "o", "--space", "darts_swap", "--cells", "2")
    assert refusal(ValueError, lambda: commands._net_overrides(args)) == (
        "--cells is an nb201 shortcut; for darts_swap set the network with --net KEY=VALUE (the darts network's keys: "
        "C, layers, auxiliary, stem, drop_path_prob, affine_ops, reductions, pool_bn)")


def test_show_progress_is_off_with_any_of_the_quiet_flags() -> None:
    assert commands.show_progress(_args("correlate", "--out", "o")) is True
    assert commands.show_progress(_args("correlate", "--out", "o", "--no-progress")) is False
    assert commands.show_progress(_args("-q", "correlate", "--out", "o")) is False
    assert commands.show_progress(_args("--json", "correlate", "--out", "o")) is False
    # a namespace without quiet/json (the search command's own) still works
    assert commands.show_progress(argparse.Namespace(no_progress=False)) is True
    assert commands.show_progress(argparse.Namespace(no_progress=True)) is False


def test_print_report_text_files_quiet_and_json(tmp_path, capsys) -> None:
    doc = tmp_path / "r.json"
    doc.write_text('{"a": 1}')
    commands.print_report(_args("correlate", "--out", "o"), "TEXT", [Path("x/a.md"), "b"], doc)
    assert capsys.readouterr().out == "TEXT\nwrote x/a.md, b\n"
    commands.print_report(_args("correlate", "--out", "o"), "", ["b"], doc)  # no text: only the files
    assert capsys.readouterr().out == "wrote b\n"
    commands.print_report(_args("-q", "correlate", "--out", "o"), "TEXT", ["b", "c"], doc)
    assert capsys.readouterr().out == "wrote b, c\n"
    commands.print_report(_args("--json", "correlate", "--out", "o"), "TEXT", ["b"], doc)
    assert capsys.readouterr().out == '{"a": 1}\n'
    commands.print_report(_args("--json", "correlate", "--out", "o"), "TEXT", [Path("p/q"), "b"])
    assert json.loads(capsys.readouterr().out) == {"written": ["p/q", "b"]}
    commands.print_report(argparse.Namespace(), "T", ["z"])  # no quiet/json attributes: the plain report
    assert capsys.readouterr().out == "T\nwrote z\n"


# --- _shard_done, _exit_for, _failed_scores -----------------------------------------------------------------------

def test_shard_done_line_and_json(capsys) -> None:
    commands._shard_done(_args("correlate", "--out", "o", "--shard", "1/3"), "40 archs", {"archs": 40}, 2,
                         "s.sqlite", "the table")
    assert capsys.readouterr().out == ("scored shard 1/3: 40 archs, 2 failed scores, in s.sqlite; rerun without "
                                       "--shard for the table\n")
    commands._shard_done(_args("--json", "correlate", "--out", "o", "--shard", "0/2"), "40 archs", {"archs": 40}, 0,
                         "s.sqlite", "the table")
    out = capsys.readouterr().out
    assert json.loads(out) == {"shard": [0, 2], "archs": 40, "failed_scores": 0, "store": "s.sqlite"}
    assert list(json.loads(out)) == ["shard", "archs", "failed_scores", "store"]
    commands._shard_done(argparse.Namespace(shard=(2, 4)), "3 columns", {"columns": 3}, 1, "t", "the grid")
    assert capsys.readouterr().out == ("scored shard 2/4: 3 columns, 1 failed scores, in t; rerun without --shard "
                                       "for the grid\n")  # a namespace without --json: the line


#: what a failure's exit line adds without --retry-failed (session 68)
RETRY = "; stored failures are reused: once the cause is fixed, --retry-failed scores them again"


def test_exit_for_failures(capsys) -> None:
    args = _args("correlate", "--out", "o")
    assert commands._exit_for(args, 0, "why") == EXIT_OK
    assert capsys.readouterr().err == ""
    assert commands._exit_for(args, 3, "see x") == EXIT_FAILED_ARCHS
    assert capsys.readouterr().err == (f"swapnas: 3 arch score(s) failed (see x); exit {EXIT_FAILED_ARCHS} "
                                       "(--allow-failures: exit 0" + RETRY + ")\n")
    assert commands._exit_for(_args("correlate", "--out", "o", "--allow-failures"), 3, "see x") == EXIT_OK
    assert capsys.readouterr().err == ""
    assert commands._exit_for(argparse.Namespace(), 1, "w") == EXIT_FAILED_ARCHS  # no --allow-failures attribute
    assert EXIT_OK == 0 and EXIT_FAILED_ARCHS not in (0, 1, 2)


def test_failed_scores_leave_out_a_set_level_metrics_own_row() -> None:
    rows = [SimpleNamespace(proxy="swap", failures=2), SimpleNamespace(proxy="te_nas", failures=5),
            SimpleNamespace(proxy="te_nas_ntk", failures=5), SimpleNamespace(proxy="params", failures=1)]
    assert commands._failed_scores(rows) == 2 + 5 + 1
    assert commands._failed_scores([]) == 0


# --- out_folder, store_for -----------------------------------------------------------------------------------------

def test_out_folder_accepts_a_new_or_existing_folder(tmp_path) -> None:
    for out in (tmp_path, tmp_path / "new", tmp_path / "a" / "b"):
        assert commands.out_folder(_args("correlate", "--out", str(out))) == out
    assert not (tmp_path / "new").exists()  # checked, not made


def test_out_folder_refusals(tmp_path, monkeypatch) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert refusal(ValueError, lambda: commands.out_folder(_args("correlate", "--out", str(f)))) == \
        f"--out {f} is a file; give a folder for the outputs (it is created if missing)"
    below = f / "sub"
    assert refusal(ValueError, lambda: commands.out_folder(_args("correlate", "--out", str(below)))) == \
        f"--out {below}: {f} is a file, so the folder cannot be made; give another folder"
    long = tmp_path / ("n" * 300)
    assert refusal(ValueError, lambda: commands.out_folder(_args("correlate", "--out", str(long)))) == \
        f"--out {long}: File name too long; give another folder for the outputs"

    def unwritable(dir: Path) -> None:
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(tempfile, "TemporaryFile", unwritable)
    assert refusal(ValueError, lambda: commands.out_folder(_args("correlate", "--out", str(tmp_path)))) == \
        f"--out {tmp_path}: it is not writable (Permission denied); give a folder you can write"
    new = tmp_path / "x" / "y"
    assert refusal(ValueError, lambda: commands.out_folder(_args("correlate", "--out", str(new)))) == \
        f"--out {new}: the folder {tmp_path} is not writable (Permission denied); give a folder you can write"


def test_out_folder_tries_a_real_write_in_the_nearest_existing_folder(tmp_path, monkeypatch) -> None:
    seen = []
    real = tempfile.TemporaryFile
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda dir: seen.append(Path(dir)) or real(dir=dir))
    commands.out_folder(_args("correlate", "--out", str(tmp_path / "a" / "b")))
    commands.out_folder(_args("correlate", "--out", str(tmp_path)))
    assert seen == [tmp_path, tmp_path]


def test_out_folder_of_a_relative_path_writes_in_the_working_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    seen = []
    real = tempfile.TemporaryFile
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda dir: seen.append(Path(dir)) or real(dir=dir))
    assert commands.out_folder(_args("correlate", "--out", "rel/out")) == Path("rel/out")
    assert seen == [Path(".")]


def test_store_for_is_the_given_store_or_the_one_in_out(tmp_path) -> None:
    with commands.store_for(_args("correlate", "--out", str(tmp_path))) as store:
        assert Path(store.path) == tmp_path / "scores.sqlite"
    given = tmp_path / "mine.sqlite"
    with commands.store_for(_args("correlate", "--out", str(tmp_path / "x"), "--store", str(given))) as store:
        assert Path(store.path) == given


# --- _benchmark ------------------------------------------------------------------------------------------------------

def test_benchmark_of_a_registered_benchmark_passes_its_split_and_schedule(monkeypatch) -> None:
    got = Recorder("BENCH")
    monkeypatch.setattr(commands, "get_benchmark", got)
    assert commands._benchmark(_args("correlate", "--out", "o", "--data-dir", "D")) == "BENCH"
    assert got.one == (("nb201", "D", "valid", 200), {"flags": True})
    got.calls.clear()
    commands._benchmark(_args("correlate", "--out", "o", "--space", "nb301", "--metric", "test", "--epochs", "12"))
    assert got.one == (("nb301", None, "test", 12), {"flags": True})


@pytest.mark.parametrize(("argv", "given"), [
    (("--arch-column", "a"), "--arch-column a"),
    (("--accuracy-column", "b"), "--accuracy-column b"),
    (("--arch-column", "a", "--accuracy-column", "b"), "--arch-column a and --accuracy-column b"),
])
def test_benchmark_refuses_column_names_without_truth(argv, given) -> None:
    args = _args("correlate", "--out", "o", "--space", "nb101", *argv)
    assert refusal(ValueError, lambda: commands._benchmark(args)) == (
        f"{given}: these name columns of your own ground truth, --truth FILE.csv; give --truth, or leave them out "
        "for the nb101 benchmark's own")


def test_benchmark_refuses_a_space_without_one_and_truth_on_a_benchmark_name() -> None:
    args = _args("correlate", "--out", "o", "--space", "darts")
    assert refusal(ValueError, lambda: commands._benchmark(args)).startswith(  # a benchmark added later: after these
        "darts is a space without a benchmark of its own: give --truth FILE.csv, or one of the benchmarks nb101, "
        "nb201, nb301, darts_swap, transnas_micro, transnas_macro, flexibert")
    args = _args("correlate", "--out", "o", "--space", "nb301", "--truth", "t.csv")
    assert refusal(ValueError, lambda: commands._benchmark(args)) == (
        f"--truth needs --space to name a space ({', '.join(SPACES)}), not 'nb301'")
    assert list(SPACES)[:6] == ["nb101", "nb201", "darts", "transnas_micro", "transnas_macro", "flexibert"]
    for argv in (("--metric", "test"), ("--epochs", "12")):  # session 53: ignored without a word
        args = _args("correlate", "--out", "o", "--space", "nb201", "--truth", "t.csv", *argv)
        assert refusal(ValueError, lambda: commands._benchmark(args)) == (
            "--metric and --epochs pick the nb201 benchmark's own ground truth; with --truth the file's accuracy "
            "column is the ground truth: leave them out")


def test_benchmark_from_truth_reads_the_csv_with_the_spaces_first_dataset(monkeypatch) -> None:
    got = Recorder("CSV")
    monkeypatch.setattr(commands, "CsvBenchmark", got)
    cases = [(("--space", "nb201"), ("t.csv", "nb201", "cifar10", None, None)),
             (("--space", "darts", "--arch-column", "g", "--accuracy-column", "acc"),
              ("t.csv", "darts", "cifar10", "g", "acc")),
             (("--space", "transnas_micro"), ("t.csv", "transnas_micro", "class_object", None, None)),
             (("--space", "flexibert"), ("t.csv", "flexibert", "glue", None, None)),
             (("--space", "nb201", "--dataset", "cifar100"), ("t.csv", "nb201", "cifar100", None, None))]
    for argv, want in cases:
        got.calls.clear()
        assert commands._benchmark(_args("correlate", "--out", "o", "--truth", "t.csv", *argv)) == "CSV"
        assert got.one == (want, {})
    # a space module naming neither final networks nor tasks: cifar10
    for module in (SimpleNamespace(), SimpleNamespace(FINAL_NETS={}, TASKS=None)):
        monkeypatch.setattr(commands, "get_space", lambda name, m=module: m)
        got.calls.clear()
        commands._benchmark(_args("correlate", "--out", "o", "--truth", "t.csv", "--space", "nb101"))
        assert got.one == (("t.csv", "nb101", "cifar10", None, None), {})
    monkeypatch.setattr(commands, "get_space", lambda name: SimpleNamespace(FINAL_NETS={}, TASKS=["t1", "t2"]))
    got.calls.clear()
    commands._benchmark(_args("correlate", "--out", "o", "--truth", "t.csv", "--space", "nb101"))
    assert got.one == (("t.csv", "nb101", "t1", None, None), {})


# --- _own_images -----------------------------------------------------------------------------------------------------

def test_own_images_are_the_options_given_with_image_root() -> None:
    assert commands._own_images(_args("correlate", "--out", "o")) == {}
    assert commands._own_images(_args("correlate", "--out", "o", "--image-root", "r")) == {}
    got = commands._own_images(_args("correlate", "--out", "o", "--image-root", "r", "--num-classes", "3",
                                     "--resolution", "8", "--mean", "0.1,0.2,0.3", "--std", "1,2,3"))
    assert got == {"num_classes": 3, "resolution": 8, "mean": (0.1, 0.2, 0.3), "std": (1.0, 2.0, 3.0)}
    assert list(got) == ["num_classes", "resolution", "mean", "std"]
    assert commands._own_images(_args("correlate", "--out", "o", "--image-root", "r", "--resolution", "4")) == \
        {"resolution": 4}


@pytest.mark.parametrize("argv", [("--num-classes", "3"), ("--resolution", "8"), ("--mean", "0,0,0"),
                                  ("--std", "1,1,1")])
def test_own_images_options_need_image_root(argv) -> None:
    args = _args("correlate", "--out", "o", *argv)
    assert refusal(ValueError, lambda: commands._own_images(args)) == \
        "--num-classes, --resolution, --mean and --std describe your own images: give --image-root"


def test_own_images_std_must_be_positive_in_every_channel() -> None:
    args = _args("correlate", "--out", "o", "--image-root", "r")
    args.std = (1.0, 0.0, 2.0)  # the parser's triple type takes any float; the command checks the sign
    assert refusal(ValueError, lambda: commands._own_images(args)) == \
        "--std must be > 0 in every channel (got (1.0, 0.0, 2.0))"
    args.std = (1.0, -0.5, 2.0)
    assert refusal(ValueError, lambda: commands._own_images(args)) == \
        "--std must be > 0 in every channel (got (1.0, -0.5, 2.0))"
    args.std = (0.001, 1.0, 2.0)
    assert commands._own_images(args) == {"std": (0.001, 1.0, 2.0)}


# --- _own_fitness, train_overrides -----------------------------------------------------------------------------------

def test_own_fitness_is_the_spaces_recommended_proxy_or_none(monkeypatch) -> None:
    assert [commands._own_fitness(s) for s in ("nb201", "darts", "flexibert", "nb101")] == \
        ["swap_nb201", "swap_fisher", "swap_ext_layers", None]

    def broken(name: str) -> None:
        raise commands.SpaceError("no such module")
    monkeypatch.setattr(commands, "get_space", broken)
    assert commands._own_fitness("nb201") is None


def test_train_overrides_are_the_config_fields_given() -> None:
    assert commands.train_overrides(_args("train", "--genotype", "g", "--out", "o")) == {}
    args = _args("train", "--genotype", "g", "--out", "o", "--epochs", "3", "--lr", "0.5")
    assert commands.train_overrides(args) == {"epochs": 3, "lr": 0.5}
    assert commands.train_overrides(argparse.Namespace(cfg_epochs=0)) == {"epochs": 0}  # a zero is given, not None


# --- export_store, store ---------------------------------------------------------------------------------------------

def test_export_store_passes_its_arguments_and_reports_the_file(monkeypatch, tmp_path, capsys) -> None:
    path = tmp_path / "zc.json"
    path.write_text('{"zc": 1}')
    got = Recorder(path)
    monkeypatch.setattr(commands, "export", got)
    assert commands.export_store(_args("export", "s.sqlite", "--out", "o.csv")) == EXIT_OK
    assert got.one == (("s.sqlite", "o.csv", "csv", None), {})
    assert capsys.readouterr().out == f"wrote {path}\n"
    got.calls.clear()
    assert commands.export_store(_args("--json", "export", "s.sqlite", "--out", "o", "--format", "naslib-zc",
                                       "--protocol", "abc")) == EXIT_OK
    assert got.one == (("s.sqlite", "o", "naslib-zc", "abc"), {})
    assert capsys.readouterr().out == '{"zc": 1}\n'  # --json: the naslib-zc file itself
    commands.export_store(_args("--json", "export", "s.sqlite", "--out", "o"))
    assert json.loads(capsys.readouterr().out) == {"written": [str(path)]}  # a CSV is not JSON: the paths


def _check(problems: list[str]):
    return StoreCheck(path="s", size_bytes=10, problems=problems, scores=4, failed=1)


def test_store_check_prints_its_report_and_a_damaged_store_raises(monkeypatch, capsys) -> None:
    seen = Recorder()
    monkeypatch.setattr(commands, "check_store", lambda path: seen(path) or _check([]))
    monkeypatch.setattr(commands, "check_text", lambda r: f"CHECK {r.path} {r.ok}")
    assert commands.store(_args("store", "check", "s.sqlite")) == EXIT_OK
    assert seen.one == (("s.sqlite",), {}) and capsys.readouterr().out == "CHECK s True\n"
    assert commands.store(_args("-q", "store", "check", "s.sqlite")) == EXIT_OK
    assert capsys.readouterr().out == ""  # --quiet: a healthy check prints nothing
    assert commands.store(_args("--json", "store", "check", "s.sqlite")) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["scores"] == 4 and doc["problems"] == [] and doc["path"] == "s"
    monkeypatch.setattr(commands, "check_store", lambda path: _check(["bad page"]))
    with pytest.raises(commands.StoreError, match=exact(
            f"the score store s.sqlite is damaged; {commands.damaged_advice('s.sqlite', fresh=False)}")):
        commands.store(_args("store", "check", "s.sqlite"))
    assert capsys.readouterr().out == "CHECK s False\n"
    assert commands.store(_args("--json", "store", "check", "s.sqlite")) == EXIT_ERROR  # one document (session 56)
    assert json.loads(capsys.readouterr().out)["ok"] is False
    salvage = Salvage(source="s", out="t", recovered=3, lost=1, protocols=1, damaged_stretches=2)
    got = Recorder(salvage)
    monkeypatch.setattr(commands, "salvage_store", got)
    monkeypatch.setattr(commands, "salvage_text", lambda s: f"SALVAGED {s.recovered}")
    for argv in (("store",), ("-q", "store")):  # salvage prints its report even with --quiet
        got.calls.clear()
        assert commands.store(_args(*argv, "salvage", "s.sqlite", "--out", "t.sqlite")) == EXIT_OK
        assert got.one == (("s.sqlite", "t.sqlite"), {}) and capsys.readouterr().out == "SALVAGED 3\n"
    commands.store(_args("--json", "store", "salvage", "s.sqlite", "--out", "t.sqlite"))
    doc = json.loads(capsys.readouterr().out)
    assert doc["recovered"] == 3 and "ok" not in doc  # a salvage has no verdict


# --- correlate -------------------------------------------------------------------------------------------------------

class FakeExecutor:
    threads = 2  # its workers' torch threads, which the grid's provenance records (session 70)

    def __init__(self) -> None:
        self.entered = self.exited = 0

    def __enter__(self) -> FakeExecutor:
        self.entered += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self.exited += 1


def _proxy(name: str, options: dict | None = None) -> SimpleNamespace:
    return SimpleNamespace(name=name, options=options or {}, key=f"{name}@1" + ("[o=1]" if options else ""))


@pytest.fixture
def correlate_parts(monkeypatch, tmp_path) -> SimpleNamespace:
    """A correlate run whose benchmark, configuration, scoring, outputs and texts are recorders."""
    per_task = {"cifar10": [f"a{i}" for i in range(50)], "cifar100": [f"c{i}" for i in range(60)]}
    bench = SimpleNamespace(name="nb201", space="nb201", tasks=["cifar10", "cifar100"], archs_for=per_task.__getitem__)
    parts = SimpleNamespace(bench=bench, executor=FakeExecutor(), out=tmp_path / "out",
                            proxies=[_proxy("swap"), _proxy("swap_reg", {"o": 1}), _proxy("params")])
    parts.get_benchmark = Recorder(bench)
    parts.configure = Recorder(("PROTOCOL", "BATCH", parts.proxies))
    parts.run = SimpleNamespace(protocol="P", ground_truth="G", wall_seconds=1.26, reused=3, archs=["x"] * 10,
                                partly_reused=1, scores={}, results=[SimpleNamespace(proxy="swap", failures=0),
                                                          SimpleNamespace(proxy="params", failures=0)])
    parts.run_correlation = Recorder(parts.run)

    def outputs(run: Any, out: Path) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text('{"doc": 1}')
        return [out / "results.json", out / "results.csv", out / "report.md", out / "results.tex",
                out / "scatter_swap.png", out / "scatter_params.png"]
    parts.write_outputs = Recorder(outputs)
    parts.score_archs = Recorder(lambda archs, *a, **kw: {
        "swap": [SimpleNamespace(ok=i != 0) for i, _ in enumerate(archs)],
        "params": [SimpleNamespace(ok=True) for _ in archs]})
    _executor_parts(parts)
    parts.refuse_unfit = Recorder(None)
    parts.refuse_small_inputs = Recorder(None)
    for name in ("get_benchmark", "configure", "run_correlation", "write_outputs", "score_archs", "executor_plan",
                 "make_executor", "refuse_unfit", "refuse_small_inputs"):
        monkeypatch.setattr(commands, name, getattr(parts, name))
    monkeypatch.setattr(commands, "protocol_text", lambda p, g: f"PROTO {p} {g}")
    monkeypatch.setattr(commands, "reused_text", lambda reused, n, partly: f" (reused {reused}/{n}/{partly})")
    monkeypatch.setattr(commands, "results_table", lambda results: f"TABLE {len(results)}")
    monkeypatch.setattr(commands, "failure_lines", lambda results: ["FAIL-A", f"FAIL-B {len(results)}"])
    monkeypatch.setattr(commands, "constant_lines", lambda results, scores: [f"CONST {len(results)}"])
    return parts


def test_correlate_passes_every_option_on_and_prints_the_report(correlate_parts, capsys) -> None:
    p = correlate_parts
    out = p.out
    args = _args("correlate", "--out", str(out), "--proxies", "swap,swap_reg,params", "--dataset", "cifar100",
                 "--seed", "3", "--batch-size", "8", "--repeats", "2", "--net", "C=8", "--cells", "2", "--init",
                 "default", "--inputs", "synthetic", "--data-dir", "D", "--image-root", "R", "--fill", "error",
                 "--mu", "1.5", "--sigma", "2.5", "--resolution", "16", "--archs", "40", "--retry-failed",
                 "--no-progress")
    assert commands.correlate(args) == EXIT_OK
    assert p.get_benchmark.one == (("nb201", "D", "valid", 200), {"flags": True})
    assert p.refuse_unfit.one == (("nb201", p.proxies, "PROTOCOL", "BATCH", "--proxies"), {})
    assert p.refuse_small_inputs.one == (("nb201", "PROTOCOL", "BATCH", "--resolution 16"), {})
    assert p.configure.one == (("nb201", "cifar100", "swap,swap_reg,params"), {
        "seed": 3, "batch_size": 8, "repeats": 2, "net": {"C": 8, "N": 2}, "init": "default", "inputs": "synthetic",
        "data_dir": "D", "image_root": "R", "fill": "error", "mu": 1.5, "sigma": 2.5, "images": {"resolution": 16}})
    assert p.executor_plan.one == ((args,), {}) and p.make_executor.one == (("KIND",), {"o": 1})
    assert p.held == [str(out)]  # Ray starts once OUT is held (session 53: a later run could take OUT meanwhile)
    (a, kw), = p.run_correlation.calls
    assert a == () and kw.pop("store").path == str(out / "scores.sqlite")
    assert kw == {"bench": p.bench, "task": "cifar100", "proxies": p.proxies, "n_archs": 40, "protocol": "PROTOCOL",
                  "batch": "BATCH", "device": torch.device("cpu"), "retry_failed": True, "progress": False,
                  "executor": p.executor}
    assert p.executor.entered == p.executor.exited == 1
    assert p.write_outputs.one == ((p.run, out), {})
    assert not p.score_archs.calls
    assert capsys.readouterr().out == (
        "PROTO P G\nswap_reg: swap_reg@1[o=1]\ndevice cpu | wall 1.3 s (reused 3/10/1)\n\nTABLE 2\nFAIL-A\nFAIL-B 2\n"
        "CONST 2\n\n"
        f"wrote {out / 'results.json'}, {out / 'results.csv'}, {out / 'report.md'}, {out / 'results.tex'}, "
        f"2 plot(s) in {out}: "
        f"scatter_swap.png, scatter_params.png, scores in {out / 'scores.sqlite'}\n")


def test_correlate_defaults_ray_store_json_and_failures(correlate_parts, capsys, tmp_path) -> None:
    p = correlate_parts
    store = tmp_path / "given.sqlite"
    args = _args("correlate", "--out", str(p.out), "--store", str(store), "--executor", "ray")
    p.run.results[0].failures = 2
    assert commands.correlate(args) == EXIT_FAILED_ARCHS
    assert p.configure.one[0][1] == "cifar10"  # the benchmark's first task
    kw = p.run_correlation.one[1]
    assert kw["task"] == "cifar10" and kw["store"].path == str(store) and kw["n_archs"] == 1000
    assert isinstance(kw["n_archs"], DefaultArchs) and kw["retry_failed"] is False and kw["progress"] is True
    captured = capsys.readouterr()
    assert "device cpu on Ray workers | wall 1.3 s" in captured.out
    assert captured.out.endswith(f", scores in {store}\n")
    assert captured.err == (f"swapnas: 2 arch score(s) failed (report.md and results.json give their messages); "
                            f"exit {EXIT_FAILED_ARCHS} (--allow-failures: exit 0" + RETRY + ")\n")
    args = _args("--json", "correlate", "--out", str(p.out), "--proxies", "swap", "--archs", "all")
    p.run.results[0].failures = 0
    p.run_correlation.calls.clear()
    assert commands.correlate(args) == EXIT_OK
    assert p.run_correlation.one[1]["n_archs"] is None
    assert capsys.readouterr().out == '{"doc": 1}\n'


def test_correlate_refusals_come_before_anything_is_scored(correlate_parts, tmp_path) -> None:
    p = correlate_parts
    out = str(p.out)
    for argv, message in [
        (("--mu", "1"), "--mu/--sigma set swap_reg's size prior, and --proxies swap,params has no swap_reg: add "
                        "swap_reg, or leave them out"),
        (("--sigma", "1"), "--mu/--sigma set swap_reg's size prior, and --proxies swap,params has no swap_reg: add "
                           "swap_reg, or leave them out"),
        (("--dataset", "imagenet16-120"), "nb201 has no task 'imagenet16-120'; its tasks: cifar10, cifar100"),
        (("--archs", "51"), "--archs 51: only 50 archs in nb201 cifar10; use --archs all (or a number up to 50)"),
    ]:
        args = _args("correlate", "--out", out, "--proxies", "swap,params", *argv)
        assert refusal(ValueError, lambda: commands.correlate(args)) == message
    args = _args("correlate", "--out", out, "--proxies", "swap,params", "--archs", "50", "--mu", "1", "--proxies",
                 "swap_reg")
    assert commands.correlate(args) == EXIT_OK  # 50 of 50 archs; --mu with swap_reg
    assert not p.score_archs.calls and len(p.run_correlation.calls) == 1


def test_correlate_shard_scores_its_slice_and_says_so(correlate_parts, capsys) -> None:
    p = correlate_parts
    args = _args("correlate", "--out", str(p.out), "--shard", "1/3", "--archs", "all", "--no-progress",
                 "--retry-failed", "--seed", "4")
    assert commands.correlate(args) == EXIT_FAILED_ARCHS  # one failed score
    (a, kw), = p.score_archs.calls
    want_archs = [f"a{i}" for i in range(50)][1::3]
    assert a[:5] == (want_archs, "nb201", p.proxies, "PROTOCOL", "BATCH")
    assert a[5].path == str(p.out / "scores.sqlite")
    assert a[6:] == (torch.device("cpu"), True, False, "shard 1/3", p.executor) and kw == {}
    assert not p.run_correlation.calls and not p.write_outputs.calls
    captured = capsys.readouterr()
    assert captured.out == (f"scored shard 1/3: {len(want_archs)} archs, 1 failed scores, in "
                            f"{p.out / 'scores.sqlite'}; rerun without --shard for the table\n")
    assert captured.err == (f"swapnas: 1 arch score(s) failed ({commands._SHARD_WHY}); exit {EXIT_FAILED_ARCHS} "
                            "(--allow-failures: exit 0)\n")  # (--retry-failed given: nothing to add)
    assert commands._SHARD_WHY == "their messages are in the store; the run without --shard reports them"
    p.score_archs.calls.clear()
    args = _args("correlate", "--out", str(p.out), "--shard", "0/2", "--archs", "10", "--seed", "4")
    commands.correlate(args)
    assert p.score_archs.one[0][0] == random.Random(4).sample([f"a{i}" for i in range(50)], 10)[0::2]


# --- grid ----------------------------------------------------------------------------------------------------------

@pytest.fixture
def grid_parts(monkeypatch, tmp_path) -> SimpleNamespace:
    parts = SimpleNamespace(executor=FakeExecutor(), out=tmp_path / "g", data=Recorder())
    parts.cols = [SimpleNamespace(results=[{"proxy": "swap", "failures": 1}, {"proxy": "params", "failures": 0}]),
                  SimpleNamespace(results=[{"proxy": "synflow", "failures": 2}])]

    def run_grid(columns: list, **kw: Any) -> list:
        if kw["shard"] is not None:
            kw["counts"]["failed"] = 4
        return parts.cols
    parts.run_grid = Recorder(run_grid)

    def write_grid(cols: list, out: Path, command: str, device: str, threads: int) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        (out / "grid.md").write_text("GRID TABLE")
        (out / "grid.json").write_text('{"grid": 1}')
        return [out / "grid.json", out / "grid.md"]
    parts.write_grid = Recorder(write_grid)
    monkeypatch.setattr(commands, "run_grid", parts.run_grid)
    monkeypatch.setattr(commands, "write_grid", parts.write_grid)
    monkeypatch.setattr(commands, "resolve_data_dir", parts.data)
    monkeypatch.setattr(commands, "command_line", lambda: "CMD")
    _executor_parts(parts)
    monkeypatch.setattr(commands, "executor_plan", parts.executor_plan)
    monkeypatch.setattr(commands, "make_executor", parts.make_executor)
    return parts


def test_grid_passes_every_option_on_and_prints_the_table(grid_parts, capsys) -> None:
    p = grid_parts
    args = _args("grid", "--out", str(p.out), "--benchmarks", "nb201", "--tasks", "cifar10,cifar100", "--proxies",
                 "swap,params", "--archs", "30", "--archs-per", "nb201=20", "--seed", "2", "--repeats", "3", "--init",
                 "gaussian", "--data-dir", "D", "--retry-failed", "--no-progress")
    assert commands.grid(args) == EXIT_FAILED_ARCHS  # 3 failed scores
    assert p.data.one == (("D",), {})
    (a, kw), = p.run_grid.calls
    assert a == ([("nb201", "cifar10"), ("nb201", "cifar100")],)
    assert kw.pop("store").path == str(p.out / "scores.sqlite")
    assert kw == {"proxies": "swap,params", "n_archs": 30, "n_archs_per": {"nb201": 20}, "seed": 2, "repeats": 3,
                  "init": "gaussian", "device": torch.device("cpu"), "data_dir": "D", "shard": None,
                  "retry_failed": True, "progress": False, "executor": p.executor, "counts": {}, "archs_given": True}
    assert p.executor.entered == p.executor.exited == 1 and p.executor_plan.one == ((args,), {})
    assert p.make_executor.one == (("KIND",), {"o": 1}) and p.held == [str(p.out)]
    assert p.write_grid.one == ((p.cols, p.out, "CMD", "cpu", 2), {})  # (session 67: the device named; 70: threads)
    captured = capsys.readouterr()
    assert captured.out == f"GRID TABLE\nwrote {p.out / 'grid.json'}, {p.out / 'grid.md'}\n"
    assert captured.err == ("swapnas: grid: 2 columns x 2 proxies, archs per column: nb201 20 = at most 80 scores "
                            "(those in the store are read back); rerun the same command to resume, or split it over "
                            "processes or machines with --shard I/K (machines without a shared --store: `swapnas store "
                            "merge` their stores)\n"  # (--no-progress: no bars announced)
                            f"swapnas: 3 arch score(s) failed (grid.md lists their messages); exit "
                            f"{EXIT_FAILED_ARCHS} (--allow-failures: exit 0)\n")  # (--retry-failed given)


def test_grid_names_ray_workers_as_where_it_scored(grid_parts) -> None:
    """grid.json's device says "on Ray workers" with the Ray executor, as correlate's results.json does (session 67's
    mutation run: nothing checked it)."""
    p = grid_parts
    commands.grid(_args("grid", "--out", str(p.out), "--benchmarks", "nb201", "--proxies", "params", "--executor",
                        "ray", "--no-progress", "--allow-failures"))
    assert p.write_grid.one == ((p.cols, p.out, "CMD", "cpu on Ray workers", 2), {})


def test_grid_defaults_json_and_allowed_failures(grid_parts, capsys) -> None:
    p = grid_parts
    assert commands.grid(_args("--json", "grid", "--out", str(p.out), "--benchmarks", "nb101", "--proxies", "swap",
                               "--allow-failures")) == EXIT_OK
    kw = p.run_grid.one[1]
    assert p.run_grid.one[0] == ([("nb101", "cifar10")],)
    assert kw["archs_given"] is False and kw["n_archs"] == 1000 and kw["progress"] is False  # --json: no bars
    assert kw["init"] is None and kw["repeats"] == 1 and kw["seed"] == 0 and kw["data_dir"] is None
    assert capsys.readouterr() == ('{"grid": 1}\n', "")  # --json: no plan line either
    assert commands.grid(_args("-q", "grid", "--out", str(p.out), "--benchmarks", "nb101", "--proxies", "swap",
                               "--allow-failures")) == EXIT_OK
    assert "grid:" not in capsys.readouterr().err


def test_grid_shard_reports_the_failures_counted(grid_parts, capsys, tmp_path) -> None:
    p = grid_parts
    store = tmp_path / "s.sqlite"
    args = _args("grid", "--out", str(p.out), "--benchmarks", "nb201", "--proxies", "swap", "--shard", "0/2",
                 "--store", str(store))
    assert commands.grid(args) == EXIT_FAILED_ARCHS
    assert p.run_grid.one[1]["shard"] == (0, 2) and not p.write_grid.calls
    captured = capsys.readouterr()
    assert captured.out == (f"scored shard 0/2: 3 columns, 4 failed scores, in {store}; rerun without --shard for "
                            "the grid\n")
    assert f"4 arch score(s) failed ({commands._SHARD_WHY})" in captured.err and "grid:" not in captured.err
    p.run_grid.calls.clear()
    p.run_grid.value = lambda columns, **kw: p.cols  # a shard that counted no failure
    args = _args("grid", "--out", str(p.out), "--benchmarks", "nb201", "--proxies", "swap", "--shard", "1/2")
    assert commands.grid(args) == EXIT_OK
    assert capsys.readouterr().out.startswith("scored shard 1/2: 3 columns, 0 failed scores, in "
                                              f"{p.out / 'scores.sqlite'};")


def test_grid_refusals_come_before_the_data_and_the_store(grid_parts) -> None:
    p = grid_parts
    args = _args("grid", "--out", str(p.out), "--proxies", "")
    assert refusal(ValueError, lambda: commands.grid(args)) == (
        "--proxies needs at least one proxy name, comma-separated, or 'all' (got ''); see `swapnas proxies`")
    args = _args("grid", "--out", str(p.out), "--benchmarks", "nb201", "--archs-per", "nb101=3")
    assert refusal(ValueError, lambda: commands.grid(args)) == \
        "--archs-per names benchmark(s) not in the grid: nb101; add them to --benchmarks (and --tasks), or leave " \
        "them out of --archs-per"
    assert not p.data.calls and not p.run_grid.calls and not p.out.exists()


# --- conformance ---------------------------------------------------------------------------------------------------

@pytest.fixture
def conformance_parts(monkeypatch, tmp_path) -> SimpleNamespace:
    parts = SimpleNamespace(out=tmp_path / "c", naslib=SimpleNamespace(archs=list(range(12)), path="N.json"))
    parts.load = Recorder(parts.naslib)
    parts.select = Recorder()
    parts.run = SimpleNamespace(results=[SimpleNamespace(proxy="swap", failures=0)])
    parts.run_conformance = Recorder(parts.run)

    def write(run: Any, out: Path) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        (out / "conformance.json").write_text('{"c": 2}')
        return [out / "conformance.json", out / "conformance.md"]
    parts.write = Recorder(write)
    parts.device = Recorder(torch.device("cpu"))
    for name, value in (("load_naslib", parts.load), ("select_proxies", parts.select),
                        ("run_conformance", parts.run_conformance), ("write_conformance", parts.write),
                        ("resolve_device", parts.device)):
        monkeypatch.setattr(commands, name, value)
    monkeypatch.setattr(commands, "header_text", lambda run, note=True: f"HEAD {len(run.results)} note={note}")
    monkeypatch.setattr(commands, "conformance_table", lambda results: f"CTABLE {len(results)}")
    monkeypatch.setattr(commands, "failure_lines", lambda results: [f"F{len(results)}"])
    return parts


def test_conformance_passes_every_option_on_and_prints_the_table(conformance_parts, capsys) -> None:
    p = conformance_parts
    args = _args("conformance", "--out", str(p.out), "--space", "nb101", "--dataset", "cifar10", "--proxies",
                 "jacov,snip", "--archs", "12", "--seed", "5", "--data-dir", "D", "--device", "cpu",
                 "--retry-failed", "--no-progress")
    assert commands.conformance(args) == EXIT_OK
    assert p.device.one == (("cpu",), {})
    assert p.load.one == (("nb101", "cifar10", "D"), {})
    assert p.select.one == ((p.naslib, "jacov,snip"), {})
    (a, kw), = p.run_conformance.calls
    assert a == () and kw.pop("store").path == str(p.out / "scores.sqlite")
    assert kw == {"space": "nb101", "dataset": "cifar10", "proxies": "jacov,snip", "n_archs": 12,
                  "device": torch.device("cpu"), "data_dir": "D", "seed": 5, "retry_failed": True, "progress": False,
                  "naslib": p.naslib}
    assert p.write.one == ((p.run, p.out), {})
    paths = f"{p.out / 'conformance.json'}, {p.out / 'conformance.md'}"
    assert capsys.readouterr().out == f"HEAD 1 note=False\n\nCTABLE 1\n{commands.CI_NOTE}\nF1\n\nwrote {paths}\n"
    p.run.results[0].failures = 2
    assert commands.conformance(_args("--json", "conformance", "--out", str(p.out))) == EXIT_FAILED_ARCHS
    captured = capsys.readouterr()
    assert captured.out == '{"c": 2}\n'
    assert "(conformance.md and conformance.json give their messages)" in captured.err
    kw = p.run_conformance.calls[-1][1]
    assert kw["n_archs"] is None and kw["progress"] is False and kw["retry_failed"] is False and kw["seed"] == 0


def test_conformance_refuses_more_archs_than_naslib_has_before_the_store(conformance_parts) -> None:
    p = conformance_parts
    args = _args("conformance", "--out", str(p.out), "--archs", "13")
    assert refusal(ValueError, lambda: commands.conformance(args)) == (
        "--archs 13: only 12 archs in NASLib's nb201/cifar10 file N.json; use --archs all (or a number up to 12)")
    assert not p.select.calls and not p.run_conformance.calls and not p.out.exists()


# --- proxies -------------------------------------------------------------------------------------------------------

HEADER = "name                 higher_better grad  labels input  version description"


def test_proxies_lists_names_needs_and_aliases(capsys) -> None:
    assert commands.proxies(_args("proxies", "swap")) == 0
    assert capsys.readouterr().out.split("\n\n")[0] == (  # then its details (tests/test_review52_mutants.py)
        f"{HEADER}\nswap                 True          False False  data   1       SWAP-Score Ψ: distinct sample-wise "
        "ReLU patterns (ICLR 2024).")
    assert commands.proxies(_args("proxies", "best")) == 0
    lines = capsys.readouterr().out.splitlines()
    # the alias's metrics, each once, then the alias (until session 49 the header stood alone above the alias)
    assert [line.split()[0] for line in lines[1:-1]] == ["swap_darts", "swap_nb201", "swap_fisher", "swap_ext_layers"]
    assert lines[3].startswith("swap_fisher          True          True  True   data   1       ")
    assert lines[-1] == ("alias best = swap_darts (per space: nb201: swap_nb201; darts: swap_fisher; flexibert: "
                         "swap_ext_layers)")
    commands.proxies(_args("proxies", "te_nas*"))
    lines = capsys.readouterr().out.splitlines()
    # te_nas needs gradients through its part te_nas_ntk; te_nas_lr does not
    assert [line[:46] for line in lines[1:]] == ["te_nas               True          True  False",
                                                 "te_nas_lr            True          False False",
                                                 "te_nas_ntk           False         True  False"]
    commands.proxies(_args("proxies", "fisher"))
    assert capsys.readouterr().out.splitlines()[1][:57] == "fisher               True          True  True   data   1 "
    commands.proxies(_args("proxies", "swap*"))
    assert "\n\n" not in capsys.readouterr().out  # a pattern: the table alone


def test_proxies_json_and_a_pattern_that_matches_nothing(monkeypatch, capsys) -> None:
    assert commands.proxies(_args("--json", "proxies", "fisher")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["aliases"] == [] and len(doc["proxies"]) == 1
    row = doc["proxies"][0]
    assert {k: row[k] for k in ("name", "higher_is_better", "grad", "labels", "input", "version")} == \
        {"name": "fisher", "higher_is_better": True, "grad": True, "labels": True, "input": "data", "version": "1"}
    assert row["description"].startswith("Fisher saliency")
    commands.proxies(_args("--json", "proxies", "b*"))
    doc = json.loads(capsys.readouterr().out)
    assert doc["aliases"] == [{"alias": "best", "target": "swap_darts", "per_space": {
        "nb201": "swap_nb201", "darts": "swap_fisher", "flexibert": "swap_ext_layers"}}]
    assert [r["name"] for r in doc["proxies"]] == ["swap_darts", "swap_nb201", "swap_fisher", "swap_ext_layers"]
    assert refusal(ValueError, lambda: commands.proxies(_args("proxies", "zzz*"))) == \
        "no proxy matches 'zzz*'; see `swapnas proxies`"
    monkeypatch.setattr(commands, "_own_fitness", lambda space: None)  # no space names a fitness: no per-space list
    commands.proxies(_args("proxies", "best"))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == HEADER and out[1].startswith("swap_darts ") and out[2:] == ["alias best = swap_darts"]
    commands.proxies(_args("proxies", "swap_darts"))  # a name and the alias's target: listed once, no alias line
    table = capsys.readouterr().out.split("\n\n")[0]  # then swap_darts's details
    assert [line.split()[0] for line in table.splitlines()[1:]] == ["swap_darts"]


# --- train ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def train_parts(monkeypatch, tmp_path) -> SimpleNamespace:
    parts = SimpleNamespace(out=tmp_path / "t")
    parts.result = {"test_acc": 97.123, "test_top5": 99.456, "test_n": 10000, "dataset": "CIFAR-10", "epochs": 600,
                    "max_steps": None, "params_m": 3.3456, "wall_seconds": 12.34, "device": "cpu"}

    def run_train(genotype: Any, **kw: Any) -> dict:
        kw["out"].mkdir(parents=True, exist_ok=True)
        (kw["out"] / "history.json").write_text("[]")  # as a real run: the history before the result (session 58)
        (kw["out"] / "result.json").write_text('{"r": 3}')
        return parts.result
    parts.run_train = Recorder(run_train)
    parts.load = Recorder("GENOTYPE")
    monkeypatch.setattr(commands, "run_train", parts.run_train)
    monkeypatch.setattr(commands, "load_genotype", parts.load)
    monkeypatch.setattr(commands.torch.backends.cudnn, "benchmark", False)
    return parts


def test_train_passes_every_option_on_and_prints_the_result(train_parts, capsys) -> None:
    p = train_parts
    args = _args("train", "--genotype", "g.json", "--out", str(p.out), "--data-root", "R", "--workers", "2",
                 "--device", "cpu", "--seed", "7", "--max-steps", "5", "--eval-every", "3", "--no-amp", "--epochs",
                 "2", "--no-progress")
    assert commands.train(args) == 0
    assert torch.backends.cudnn.benchmark is True
    assert p.load.one == (("g.json",), {})
    assert p.run_train.one == (("GENOTYPE",), {
        "recipe": "cifar10", "out": p.out, "data_root": "R", "synthetic": None, "workers": 2, "device": "cpu",
        "seed": 7, "progress": False, "max_steps": 5, "eval_every": 3, "amp": False, "lines": True, "epochs": 2})
    files = f"{p.out / 'result.json'}, {p.out / 'history.json'}, {p.out / 'checkpoint.pt'}"
    assert capsys.readouterr().out == (
        "final test accuracy 97.12% on 10000 CIFAR-10 test images after 600 epochs\n"
        f"3.346 M params (auxiliary head excluded), wall 12.3 s, device cpu\nwrote {files}\n")
    p.result.update(max_steps=5, dataset="ImageNet")
    commands.train(_args("-q", "train", "--genotype", "g", "--out", str(p.out), "--dataset", "imagenet",
                         "--synthetic", "8"))
    kw = p.run_train.calls[-1][1]
    assert kw["recipe"] == "imagenet" and kw["synthetic"] == 8 and kw["amp"] is True and kw["lines"] is False
    assert kw["progress"] is False and "epochs" not in kw
    assert capsys.readouterr().out == f"wrote {files}\n"
    commands.train(_args("train", "--genotype", "g", "--out", str(p.out), "--dataset", "imagenet"))
    assert capsys.readouterr().out.splitlines()[0] == (
        "final test accuracy 97.12%, top-5 99.46% on 10000 ImageNet test images after 600 epochs "
        "(partial epochs: --max-steps)")
    p.result.update(epochs=1)  # session 53: "after 1 epochs"
    commands.train(_args("train", "--genotype", "g", "--out", str(p.out), "--dataset", "imagenet"))
    assert "test images after 1 epoch (partial" in capsys.readouterr().out
    assert p.run_train.calls[-1][1]["progress"] is True and p.run_train.calls[-1][1]["lines"] is True
    commands.train(_args("--json", "train", "--genotype", "g", "--out", str(p.out)))
    assert capsys.readouterr().out == '{"r": 3}\n'
    assert p.run_train.calls[-1][1]["lines"] is False


def test_train_interrupted_says_where_the_state_is(train_parts, capsys) -> None:
    p = train_parts

    def interrupted(genotype: Any, **kw: Any) -> dict:
        raise KeyboardInterrupt
    p.run_train.value = interrupted
    argv = ["train", "--genotype", "g", "--out", str(p.out)]
    with pytest.raises(KeyboardInterrupt):  # said by the command line's handler since session 62 (--json too)
        commands.train(_args(*argv))
    from swapnas.cli import main
    assert main(argv) == 130
    assert capsys.readouterr().err == "swapnas: interrupted; no checkpoint was written\n"
    p.out.mkdir()
    (p.out / "checkpoint.pt").write_bytes(b"x")
    assert main(argv) == 130
    assert capsys.readouterr().err == (f"swapnas: interrupted; the state is in {p.out / 'checkpoint.pt'}: rerun the "
                                       "same command to resume\n")


def test_train_reads_the_genotype_before_out_is_checked_against_a_file(train_parts, tmp_path) -> None:
    p = train_parts
    f = tmp_path / "file"
    f.write_text("x")
    args = _args("train", "--genotype", "g", "--out", str(f))
    assert refusal(ValueError, lambda: commands.train(args)).startswith(f"--out {f} is a file")
    assert not p.load.calls and not p.run_train.calls


# --- what each command does with --allow-failures, --json after --shard, and namespaces without the global flags ----

def test_correlate_shard_json_on_another_task_and_allowed_failures(correlate_parts, capsys) -> None:
    p = correlate_parts
    args = _args("--json", "correlate", "--out", str(p.out), "--dataset", "cifar100", "--shard", "0/4", "--archs",
                 "all", "--allow-failures")
    assert commands.correlate(args) == EXIT_OK  # one failed score, allowed
    assert p.score_archs.one[0][0] == [f"c{i}" for i in range(60)][0::4]
    assert json.loads(capsys.readouterr().out) == {"shard": [0, 4], "archs": 15, "failed_scores": 1,
                                                   "store": str(p.out / "scores.sqlite")}
    p.run.results[1].failures = 4
    assert commands.correlate(_args("correlate", "--out", str(p.out), "--allow-failures")) == EXIT_OK
    assert capsys.readouterr().err == ""


def test_grid_shard_json_and_allowed_failures(grid_parts, capsys) -> None:
    p = grid_parts
    args = _args("--json", "grid", "--out", str(p.out), "--benchmarks", "nb201", "--proxies", "swap", "--shard",
                 "0/2", "--allow-failures")
    assert commands.grid(args) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == {"shard": [0, 2], "columns": 3, "failed_scores": 4,
                                                   "store": str(p.out / "scores.sqlite")}


def test_conformance_allowed_failures_exit_0(conformance_parts, capsys) -> None:
    p = conformance_parts
    p.run.results[0].failures = 2
    assert commands.conformance(_args("conformance", "--out", str(p.out), "--allow-failures")) == EXIT_OK
    assert capsys.readouterr().err == ""


def test_own_fitness_of_a_space_without_a_fitness_protocol(monkeypatch) -> None:
    monkeypatch.setattr(commands, "get_space", lambda name: SimpleNamespace())
    assert commands._own_fitness("nb201") is None


def test_proxies_and_train_without_the_global_flags(train_parts, capsys) -> None:
    """A namespace without --quiet/--json (a caller's own) gets the plain table and the training's lines."""
    assert commands.proxies(argparse.Namespace(pattern="swap")) == 0
    assert capsys.readouterr().out.startswith(HEADER + "\nswap ")
    args = _args("train", "--genotype", "g", "--out", str(train_parts.out))
    del args.quiet, args.json
    assert commands.train(args) == 0
    assert train_parts.run_train.one[1]["lines"] is True
    assert capsys.readouterr().out.startswith("final test accuracy 97.12% on 10000 CIFAR-10 test images")


def test_store_check_without_the_global_flags_prints_its_report(monkeypatch, capsys) -> None:
    monkeypatch.setattr(commands, "check_store", lambda path: _check([]))
    monkeypatch.setattr(commands, "check_text", lambda r: "CHECKED")
    assert commands.store(argparse.Namespace(store_action="check", store="s.sqlite")) == EXIT_OK
    assert capsys.readouterr().out == "CHECKED\n"
