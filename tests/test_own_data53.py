"""Session 53's researcher with data of their own (docs/reliability.md, "Session 53"): what a run of one's own ground
truth or a TransNAS task says that it did not."""

from __future__ import annotations

import logging

import torch

from swapnas.benchmarks.csv_truth import CsvBenchmark
from swapnas.correlation import run_correlation
from swapnas.data import load_batch
from swapnas.session import configure
from swapnas.store import ScoreStore

from .test_csv_truth_mutants import A, B
from .test_leftovers22 import _quick_scores

C = "|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_a_ground_truth_the_same_for_every_arch_is_warned_about(tmp_path, small_bundle, monkeypatch, caplog) -> None:
    """Every statistic came out NaN without a word (two archs did get "needs at least 3")."""
    _quick_scores(monkeypatch)
    path = tmp_path / "const.csv"
    path.write_text(f"arch,acc\n{A},80\n{B},80\n{C},80\n")
    bench = CsvBenchmark(path, "nb201", "cifar10")
    protocol, batch, proxies = configure("nb201", "cifar10", "params", data_dir=str(small_bundle))
    with ScoreStore(":memory:") as store, caplog.at_level(logging.WARNING):
        run = run_correlation(bench=bench, task="cifar10", proxies=proxies, n_archs=None, protocol=protocol,
                              batch=batch, store=store, device=torch.device("cpu"), progress=False)
    assert run.results[0].n == 3
    assert [r.getMessage() for r in caplog.records if "ground truth" in r.getMessage()] == [
        "csv:const.csv/cifar10: every arch has the same ground truth (80): a rank correlation needs some to differ, so "
        "every statistic will be NaN"]


def test_a_dataset_column_is_said_to_be_unread(tmp_path, caplog) -> None:
    path = tmp_path / "ds.csv"
    path.write_text(f"arch,acc,dataset\n{A},80,cifar100\n{B},81,cifar100\n")
    with caplog.at_level(logging.WARNING):
        bench = CsvBenchmark(path, "nb201", "cifar10")
    assert bench.tasks == ("cifar10",)
    assert [r.getMessage() for r in caplog.records] == [
        f"--truth {path}: its 'dataset' column is not read (the task of each row is a column named 'task'); every "
        "row is scored on --dataset cifar10"]


def test_a_transnas_batch_s_targets_are_said_on_the_console_where_a_metric_reads_them(data_dir, caplog) -> None:
    """docs/spaces.md: the NOTE goes to the console as a warning when a scored metric reads the labels; for TransNAS
    tasks it went to report.md alone."""
    with caplog.at_level(logging.INFO, logger="swapnas"):
        batch = load_batch("room_layout", 4, data_dir=data_dir, labels=True)
        load_batch("room_layout", 4, data_dir=data_dir, labels=False)
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert said == [(logging.WARNING, batch.note)] and "(synthetic)" in batch.note
