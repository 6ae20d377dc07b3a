"""A user's CSV ground truth (benchmarks/csv_truth): each refusal whole, the accuracy column's fallback, and the
parameter count's fast path and build path (session 40's mutation run: docs/reliability.md)."""

from __future__ import annotations

import random

import torch

from swapnas.benchmarks import csv_truth
from swapnas.benchmarks.csv_truth import CsvBenchmark
from swapnas.patterns import count_params_k
from swapnas.spaces import darts, flexibert

from .message_tools import refusal

A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
B = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
DARTS = str(darts.sample(random.Random(0)))


def _csv(tmp_path, *lines: str):
    path = tmp_path / "truth.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_each_refusal_of_a_file_whole(tmp_path):
    missing = tmp_path / "nothing.csv"
    assert refusal(FileNotFoundError, lambda: CsvBenchmark(missing, "nb201", "cifar10")) == (
        f"--truth {missing}: no such file (a CSV with an arch column and an accuracy column)")
    header = _csv(tmp_path, "arch,acc")
    assert refusal(ValueError, lambda: CsvBenchmark(header, "nb201", "cifar10")) == (
        f"--truth {header}: no data rows under its header line (arch,acc)")
    empty = tmp_path / "empty.csv"  # session 50: an empty file was said to have no rows "under a header line"
    empty.write_text("")
    assert refusal(ValueError, lambda: CsvBenchmark(empty, "nb201", "cifar10")) == (
        f"--truth {empty} is empty: give a header line (e.g. arch,accuracy) and one row per arch")


def test_each_refusal_of_a_column_whole(tmp_path):
    path = _csv(tmp_path, "name,acc,params", f"{A},91.0,1.2", "not an arch,90.0,0.8")
    # session 50: the column that comes closest, and its first row that is no arch, are named
    why = csv_truth._parse_error(csv_truth.get_space("nb201").parse, "not an arch")
    assert why is not None and csv_truth._parse_error(csv_truth.get_space("nb201").parse, A) is None
    assert refusal(ValueError, lambda: CsvBenchmark(path, "nb201", "cifar10")) == (
        f"--truth {path}: no column holds nb201 archs in every row; column 'name' does in 1 of 2, but line 3 holds "
        f"'not an arch' ({why}); fix or remove that row (or name the arch column with --arch-column)")
    assert refusal(ValueError, lambda: CsvBenchmark(path, "nb201", "cifar10", arch_column="name")) == (
        f"--arch-column name: line 3 of --truth {path} holds 'not an arch', not an arch of nb201 ({why}); fix or "
        "remove that row")
    none = tmp_path / "none.csv"
    none.write_text("name,acc\nx,91.0\ny,90.0\n")
    assert refusal(ValueError, lambda: CsvBenchmark(none, "nb201", "cifar10")) == (
        f"--truth {none}: no column holds nb201 archs (columns: name, acc); name it with --arch-column")
    assert refusal(ValueError, lambda: CsvBenchmark(path, "nb201", "cifar10", arch_column="cell")) == (
        f"--arch-column cell: no such column in --truth {path} (columns: name, acc, params)")
    words = _csv(tmp_path, "arch,note", f"{A},good", f"{B},bad")
    assert refusal(ValueError, lambda: CsvBenchmark(words, "nb201", "cifar10")) == (
        f"--truth {words}: no numeric accuracy column (numeric columns: none); name it with --accuracy-column")
    assert refusal(ValueError, lambda: CsvBenchmark(words, "nb201", "cifar10", accuracy_column="note")) == (
        f"--accuracy-column note: no such numeric column in --truth {words} (numeric columns: none)")
    percent = _csv(tmp_path, "arch,my_accuracy,gpu_hours", f"{A},91.01%,1.2", f"{B},87.5%,0.8")
    assert refusal(ValueError, lambda: CsvBenchmark(percent, "nb201", "cifar10")) == (  # session 53: gpu_hours taken
        f"the accuracy column my_accuracy: line 2 of --truth {percent} holds '91.01%', not a finite number; no cell "
        "of it reads as a number: write plain numbers (91.01, not 91.01% or 91,01), or name the accuracy column with "
        "--accuracy-column (numeric columns: gpu_hours)")
    semicolons = _csv(tmp_path, "arch;acc", f"{A};91.0", f"{B};90.0")
    assert refusal(ValueError, lambda: CsvBenchmark(semicolons, "nb201", "cifar10")) == (
        f"--truth {semicolons}: its header is one column, 'arch;acc', split by ';': give a comma-separated CSV "
        "(arch,accuracy)")
    darts = _csv(tmp_path, "genotype,acc", f"\"{DARTS}\",91.0", f"\"{DARTS}\",90.0")
    assert refusal(ValueError, lambda: CsvBenchmark(darts, "nb201", "cifar10")) == (
        f"--truth {darts}: no column holds nb201 archs (columns: genotype, acc); these look like darts archs: give "
        "--space darts")
    bad = _csv(tmp_path, "arch,val_acc,params", f"{A},91.0,1.2", f"{B},nan,0.8")  # not params, silently
    assert refusal(ValueError, lambda: CsvBenchmark(bad, "nb201", "cifar10")) == (
        f"the accuracy column val_acc: line 3 of --truth {bad} holds 'nan', not a finite number; fix or remove that "
        "row")
    two = _csv(tmp_path, "arch,acc,params", f"{A},91.0,1.2", f"{B},90.0,0.8")
    assert refusal(ValueError, lambda: CsvBenchmark(two, "nb201", "cifar10", accuracy_column="size")) == (
        f"--accuracy-column size: no such numeric column in --truth {two} (numeric columns: acc, params)")


def test_a_repeated_arch_and_an_unknown_task_are_refused_whole(tmp_path):
    path = _csv(tmp_path, "arch,acc,task", f"{A},91.0,cifar10", f"{A},90.0,cifar10")
    assert refusal(ValueError, lambda: CsvBenchmark(path, "nb201", "cifar10")) == (
        f"--truth {path}: {A} appears twice for task cifar10, on lines 2 and 3; keep one row per arch (e.g. its mean "
        "accuracy)")
    bench = CsvBenchmark(_csv(tmp_path, "arch,acc,task", f"{A},91.0,cifar10", f"{B},70.0,cifar100"), "nb201",
                         "cifar10")
    assert bench.tasks == ("cifar10", "cifar100")
    assert refusal(ValueError, lambda: bench.archs_for("svhn")) == (
        "csv:truth.csv has ground truth only for cifar10, cifar100 (got task 'svhn')")


def test_without_an_acc_column_the_last_numeric_column_is_the_accuracy(tmp_path):
    bench = CsvBenchmark(_csv(tmp_path, "row,arch,params,score,note", f"1,{A},1.2,91.5,x", f"2,{B},0.8,88.25,y"),
                         "nb201", "cifar10")
    assert (bench.arch_column, bench.accuracy_column) == ("arch", "score")
    assert bench.accuracies([A, B], "cifar10").tolist() == [91.5, 88.25]


def test_darts_params_come_without_a_build_where_the_space_counts_them(tmp_path, monkeypatch):
    geno = darts.sample(random.Random(0))
    bench = CsvBenchmark(_csv(tmp_path, "arch,acc", f'"{darts.format_arch(geno)}",91.0'), "darts", "cifar10")
    want = darts.final_params(geno, darts.FINAL_NETS["cifar10"])
    assert want is not None

    def no_count(model):
        raise AssertionError("built and counted a network that final_params counts without one")

    monkeypatch.setattr(csv_truth, "count_params_k", no_count)
    assert bench.params_m(geno, "cifar10") == want / 1e3 / 1e3


def test_the_build_path_uses_the_tasks_builder_and_network(tmp_path, monkeypatch):
    """Where the fast count gives nothing (None), the final network of the task is built: ImageNet's own builder
    and settings, not the CIFAR network."""
    geno = darts.sample(random.Random(1))
    bench = CsvBenchmark(_csv(tmp_path, "arch,acc", f'"{darts.format_arch(geno)}",75.0'), "darts", "imagenet")
    monkeypatch.setattr(darts, "final_params", lambda arch, final: None)
    with torch.device("meta"):
        want = count_params_k(darts.build_imagenet(geno, **darts.FINAL_NETS["imagenet"]["net"])) / 1e3
    assert bench.params_m(geno, "imagenet") == want


def test_a_space_without_a_fast_count_is_built(tmp_path):
    """FlexiBERT has final networks (a "net" entry) but no final_params: its count comes from a build."""
    arch = flexibert.sample(random.Random(0))
    text = flexibert.format_arch(arch)
    bench = CsvBenchmark(_csv(tmp_path, "arch,glue", f'"{text}",70.0'), "flexibert", "glue")
    assert not hasattr(flexibert, "final_params")
    with torch.device("meta"):
        want = count_params_k(flexibert.build(arch, **flexibert.FINAL_NETS["glue"]["net"])) / 1e3
    assert bench.params_m(arch, "glue") == want
    assert "1 archs of flexibert in the file, task glue" in bench.truth_text("glue")


def test_the_csvs_tasks_are_named_when_one_is_taken_or_names_no_dataset(tmp_path, small_bundle, capsys):
    # session 50: a CSV with two tasks was correlated on its first without a word, and a task of the file that
    # names no dataset got "unknown dataset 'mydata'" without saying where the name came from
    from tests.test_validation import run_cli

    two = _csv(tmp_path, "arch,acc,task", f"{A},91.0,cifar10", f"{B},90.0,cifar10", f"{A},71.0,cifar100",
               f"{B},70.0,cifar100")
    base = ["correlate", "--space", "nb201", "--proxies", "params", "--data-dir", str(small_bundle), "--no-progress",
            "--truth"]
    code, _, err = run_cli([*base, str(two), "--out", str(tmp_path / "a")], capsys)
    assert code == 0 and err.startswith(f"swapnas: warning: --truth {two} has the tasks cifar10, cifar100: this run "
                                        "correlates the first, cifar10; give --dataset to choose another\n")
    code, _, err = run_cli([*base, str(two), "--dataset", "cifar100", "--out", str(tmp_path / "b")], capsys)
    assert code == 0 and "has the tasks" not in err
    mine = tmp_path / "mine.csv"
    mine.write_text(f"arch,acc,task\n{A},91.0,mydata\n{B},90.0,mydata\n")
    code, _, err = run_cli([*base, str(mine), "--out", str(tmp_path / "c")], capsys)
    assert code == 2 and err.startswith("swapnas: error: unknown dataset 'mydata'; choose one of ")
    assert err.endswith(f" (the task 'mydata' comes from the task column of --truth {mine}: a task names the dataset "
                        "whose images score the archs: rename it in the file)\n")
    plain = tmp_path / "plain.csv"  # no task column: the dataset is --dataset's, and its own error is left alone
    plain.write_text(f"arch,acc\n{A},91.0\n{B},90.0\n")
    code, _, err = run_cli([*base, str(plain), "--dataset", "mydata", "--out", str(tmp_path / "d")], capsys)
    assert code == 2 and "task column" not in err and "unknown dataset 'mydata'" in err


def test_fewer_than_three_archs_are_said_to_give_no_statistic(tmp_path, small_bundle, capsys, caplog):
    # session 50: a 2-row CSV exited 0 with every statistic NaN and no word why
    import logging

    from tests.test_validation import run_cli
    base = ["correlate", "--space", "nb201", "--proxies", "params", "--data-dir", str(small_bundle), "--no-progress",
            "--truth"]
    with caplog.at_level(logging.WARNING, logger="swapnas.correlation"):
        code, _, _ = run_cli([*base, str(_csv(tmp_path, "arch,acc", f"{A},91.0", f"{B},90.0")), "--out",
                              str(tmp_path / "a")], capsys)
    assert code == 0 and [r.getMessage() for r in caplog.records] == [
        "csv:truth.csv/cifar10: 2 archs: a rank correlation needs at least 3, so every statistic will be NaN"]
    caplog.clear()
    c = "|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"
    with caplog.at_level(logging.WARNING, logger="swapnas.correlation"):
        code, _, _ = run_cli([*base, str(_csv(tmp_path, "arch,acc", f"{A},91.0", f"{B},90.0", f"{c},80.0")),
                              "--out", str(tmp_path / "b")], capsys)
    assert code == 0 and not caplog.records
