"""Session 70: the scoring processes' torch threads in every scoring command's provenance (each test failed on the
code as found, def439e: correlate, grid and search recorded no thread count, though a CPU score's last bits can
depend on it; train alone did, since session 68)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import swapnas

from .test_audit64_api import DATA, TINY_SEARCH
from .test_validation import correlate_args, run_cli


@pytest.fixture
def threads_back() -> Iterator[None]:
    """The commands set this process's torch threads (--threads): put back afterwards."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_scoring_threads_are_the_workers_or_this_processs() -> None:
    from swapnas.executor_local import LocalExecutor, scoring_threads
    from swapnas.executors import PoolExecutor

    assert scoring_threads(PoolExecutor(2, threads=3)) == 3
    assert scoring_threads(None) == scoring_threads(LocalExecutor()) == torch.get_num_threads()


@pytest.mark.usefixtures("threads_back")
def test_correlate_records_the_threads_it_scored_with(small_bundle: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(correlate_args(small_bundle, tmp_path / "o", "--threads", "2"), capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "results.json").read_text())["provenance"]["threads"] == 2


@pytest.mark.usefixtures("threads_back")
def test_grid_records_the_threads_it_scored_with(small_bundle: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["grid", "--benchmarks", "nb301", "--proxies", "params", "--archs", "3", "--threads", "2",
                            "--data-dir", str(small_bundle), "--out", str(tmp_path / "g"), "--no-progress"], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "g" / "grid.json").read_text())["provenance"]["threads"] == 2


@pytest.mark.usefixtures("threads_back")
def test_search_records_the_threads_it_scored_with(tmp_path: Path) -> None:
    swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", data_dir=DATA, **{**TINY_SEARCH, "threads": 2})
    assert json.loads((tmp_path / "s" / "result.json").read_text())["provenance"]["threads"] == 2
