"""Session 54: near names for a misspelt dataset, and hand-written ``--truth`` files with spaces after the commas."""

from __future__ import annotations

from pathlib import Path

import pytest

from swapnas.benchmarks.csv_truth import CsvBenchmark
from swapnas.data import dataset_info
from swapnas.errors import did_you_mean

A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
B = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


@pytest.mark.parametrize(("name", "said"), [
    ("CIFAR-100", "; did you mean 'cifar100' or 'cifar10'?"),
    (" Cifar10 ", "; did you mean 'cifar10' or 'cifar100'?"),
    ("imagenet16", "; did you mean 'imagenet' or 'imagenet16-120'?"),
    ("mnist", ""),
])
def test_did_you_mean_names_the_two_nearest_choices_case_and_spaces_aside(name: str, said: str) -> None:
    assert did_you_mean(name, ("cifar10", "cifar100", "imagenet16-120", "imagenet")) == said
    assert did_you_mean("SST", ("sst2", "mnli", "Sst")) == "; did you mean 'Sst' or 'sst2'?"  # choices keep their case


def test_an_unknown_dataset_is_named_with_the_near_ones() -> None:
    with pytest.raises(ValueError) as info:
        dataset_info("CIFAR-100")
    assert str(info.value) == ("unknown dataset 'CIFAR-100'; did you mean 'cifar100' or 'cifar10'?; choose one of "
                               "cifar10, cifar100, imagenet16-120, imagenet")


def test_a_truth_file_with_spaces_after_its_commas_is_read_as_written(tmp_path: Path) -> None:
    """Until session 54 the column " task" was not the task column (every row went to --dataset) and " 91.5" stayed
    a cell with a space (float() read it, so only the names were lost)."""
    path = tmp_path / "t.csv"
    path.write_text(f"arch , task, val_acc\n{A}, cifar100 , 91.5\n {B},cifar100,80\n")
    bench = CsvBenchmark(path, "nb201", "cifar10")
    assert (bench.has_task_column, bench.tasks, bench.arch_column, bench.accuracy_column) == (
        True, ("cifar100",), "arch", "val_acc")
    assert bench.accuracies([A, B], "cifar100").tolist() == [91.5, 80.0]


def test_nb201_reads_naslibs_keys_and_a_truth_file_of_them_names_the_look_alike_space(tmp_path: Path, caplog) -> None:
    """A NASLib user's --truth file of NB201 keys was told "these look like transnas_micro archs: give --space
    transnas_micro", which then scored TransNAS networks against NB201 accuracies without a word."""
    from swapnas.spaces import nb201

    c = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"  # no op index 4
    d = "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|skip_connect~2|"
    a, b, e = nb201.parse(A), nb201.parse(c), nb201.parse(d)
    assert nb201.parse(nb201.to_naslib(a)) == a and nb201.parse(" " + nb201.to_naslib(b)) == b
    assert nb201.to_naslib(a) == "(2, 2, 0, 4, 2, 0)" and nb201.to_naslib(b) == "(2, 1, 3, 0, 1, 0)"
    path = tmp_path / "naslib.csv"
    path.write_text(f"arch,val_accuracy\n\"{nb201.to_naslib(b)}\",91.5\n\"{nb201.to_naslib(e)}\",80\n")
    with caplog.at_level("WARNING", logger="swapnas"):
        bench = CsvBenchmark(path, "nb201", "cifar10")
    assert bench.accuracies([c, d], "cifar10").tolist() == [91.5, 80.0]
    assert [r.getMessage() for r in caplog.records] == [
        f"--truth {path}: its archs are NASLib keys, read as nb201 archs (--space nb201); transnas_micro's NASLib keys "
        "look alike: if the file holds transnas_micro archs, give --space transnas_micro"]
    caplog.clear()  # a key with op index 4, which no TransNAS micro arch has: no warning
    path.write_text(f"arch,val_accuracy\n\"{nb201.to_naslib(a)}\",91.5\n\"{nb201.to_naslib(e)}\",80\n")
    with caplog.at_level("WARNING", logger="swapnas"):
        assert CsvBenchmark(path, "nb201", "cifar10").accuracies([A, d], "cifar10").tolist() == [91.5, 80.0]
    assert caplog.records == []


def test_a_short_row_under_arch_column_is_named_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text(f"acc,arch\n80\n91,{A}\n")
    with pytest.raises(ValueError, match=f"^--arch-column arch: line 2 of --truth {path} holds None, not an arch"):
        CsvBenchmark(path, "nb201", "cifar10", arch_column="arch")


def test_naslibs_failure_marker_is_a_missing_score_not_a_score() -> None:
    """NASLib writes -1e8 where jacov or epe_nas failed (14 records of its NB201 file); conformance ranked it as a
    score, far below every other."""
    import math

    from swapnas.conformance import _stored

    score, seconds = _stored({"score": -1e8, "time": 0.25})
    assert math.isnan(score) and seconds == 0.25
    assert _stored({"score": -1e8 + 1, "time": 0.25}) == (-1e8 + 1, 0.25) and _stored(-330.5)[0] == -330.5


def test_a_search_refused_for_other_constraints_names_each_flag(tmp_path: Path) -> None:
    """The refusal said "--max-params/--max-macs [None, None] (now [3.5, None])"."""
    from swapnas.search.driver import fitness_mismatch

    saved = {"proxy": "swap@1", "constraints": [None, None]}
    assert fitness_mismatch(tmp_path / "state.json", saved, {"proxy": "swap@1", "constraints": [3.5, None]}) == (
        f"{tmp_path / 'state.json'} holds a search with another fitness or constraints: --max-params None (now 3.5); "
        "use another --out folder or the same settings")
    assert fitness_mismatch(tmp_path / "s", saved, {"proxy": "swap@1", "constraints": [None, 120.0]}).startswith(
        f"{tmp_path / 's'} holds a search with another fitness or constraints: --max-macs None (now 120.0);")
    assert fitness_mismatch(tmp_path / "s", {"proxy": "swap@1", "constraints": [1.0]}, {"proxy": "swap@1"}) == (
        f"{tmp_path / 's'} holds a search with another fitness or constraints: --max-params/--max-macs [1.0] (now "
        "None); use another --out folder or the same settings")  # a state of another shape: shown as it is


def test_prefetch_that_cannot_build_ahead_says_so_once(caplog) -> None:
    """``--prefetch 2 --proxies snip`` was accepted and did nothing, without a word (a README reader's finding)."""
    import torch

    from swapnas.executor_local import LocalExecutor, ScoreTask

    from .tiny_tasks import tiny_nb201_task

    protocol, batch, proxies, archs = tiny_nb201_task("snip,swap", batch_size=8, repeats=1, n_archs=2, seed=3)
    executor = LocalExecutor(prefetch=2)
    task = ScoreTask("nb201", tuple(proxies), batch, protocol)
    with caplog.at_level("WARNING", logger="swapnas"):
        for arch in archs:  # two calls, one warning
            assert len(list(executor.score(task, torch.device("cpu"), [(arch, {})]))) == 1
    assert [r.getMessage() for r in caplog.records] == [
        "--prefetch builds networks ahead only where every metric keeps the model it scores (swap and its variants, "
        "params, …); snip changes it, so each arch's network is built as it is scored: to build ahead, score it in a "
        "run of its own (one store keeps both runs' scores)"]
    caplog.clear()
    protocol, batch, proxies, archs = tiny_nb201_task("swap", batch_size=8, repeats=1, n_archs=2, seed=3)
    with caplog.at_level("WARNING", logger="swapnas"):
        task = ScoreTask("nb201", tuple(proxies), batch, protocol)
        assert len(list(LocalExecutor(prefetch=2).score(task, torch.device("cpu"), [(a, {}) for a in archs]))) == 2
    assert caplog.records == []
