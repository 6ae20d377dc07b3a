"""Session 64 audit of the public Python API beyond score/rank/swap_score (each test failed on the code as found):
batches in float32 whatever the caller's default dtype, a device given as a string, `~` in search_arch's out, a
result.json given to run_train as a Path, names of proxies in a list, and small argument checks."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import swapnas
from swapnas.scoring import default_dtype
from tests.conftest import SMALL_BUNDLE

DATA = str(SMALL_BUNDLE)
TINY_SEARCH = dict(population=3, cycles=1, mutations=1, refine=0, fitness="params", workers=1, no_progress=True,
                   quiet=True)


@pytest.fixture
def float64_default():
    with default_dtype(torch.float64):
        yield


def _failed_rows(store_path: Path) -> list[tuple]:
    with sqlite3.connect(store_path) as c:
        return c.execute("select arch, proxy, error from scores where status = 'failed'").fetchall()


@pytest.mark.parametrize("dataset", ["cifar10", "imagenet16-120", "class_object"])
def test_load_batch_is_float32_whatever_the_callers_default_dtype(float64_default, dataset):
    """Real batches came back float64 under a float64 default (mean/std made in the default dtype)."""
    batch = swapnas.load_batch(dataset, 4, data_dir=DATA)
    assert batch.inputs.dtype == torch.float32
    torch.set_default_dtype(torch.float32)
    assert torch.equal(batch.inputs, swapnas.load_batch(dataset, 4, data_dir=DATA).inputs)  # the same values


def test_run_grid_under_a_float64_default_scores_every_arch(float64_default, tmp_path, data_dir):
    """Was: n 0, failures 4 ("expected scalar type Double but found Float"), stored as failures."""
    from swapnas.grid import run_grid
    from swapnas.store import ScoreStore

    with ScoreStore(tmp_path / "s.sqlite") as store:
        cols = run_grid([("nb201", "cifar10")], proxies="swap", n_archs=4, seed=0, repeats=1, store=store,
                        device=torch.device("cpu"), data_dir=str(data_dir), progress=False)
    row = cols[0].results[0]
    assert row["failures"] == 0 and row["n"] == 4, row["errors"]


def test_a_str_device_and_proxy_names_in_a_list_are_taken_by_run_correlation(tmp_path, data_dir):
    """device="cpu" stored every arch of a structural proxy as failed ("'str' object has no attribute 'type'"), which
    no later call retried; proxies=["params"] (names in a list) raised AttributeError."""
    from swapnas.benchmarks import get_benchmark
    from swapnas.correlation import run_correlation
    from swapnas.session import configure
    from swapnas.store import ScoreStore

    bench = get_benchmark("nb201", str(data_dir))
    protocol, batch, _ = configure("nb201", "cifar10", "params", seed=0, data_dir=str(data_dir))
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as store:
        run = run_correlation(bench=bench, task="cifar10", proxies=["params"], n_archs=5, protocol=protocol,
                              batch=batch, store=store, device="cpu", progress=False)  # type: ignore[arg-type]
    assert _failed_rows(path) == []
    assert [(r.proxy, r.n, r.failures) for r in run.results] == [("params", 5, 0)]


def test_search_arch_expands_a_leading_tilde_in_out_as_the_command_does(tmp_path, monkeypatch):
    """Was: ./~/s/result.json (the command expands it since session 58)."""
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    swapnas.search_arch("nb201", "cifar10", out="~/s", data_dir=DATA, **TINY_SEARCH)
    assert not (cwd / "~").exists()
    assert (home / "s" / "result.json").is_file()


def test_run_train_takes_a_path_to_a_search_result(tmp_path):
    """Was: TypeError "darts: expected an arch or its string, got PosixPath" (a str worked)."""
    from swapnas.spaces import darts
    from swapnas.train.run import run_train

    result = tmp_path / "result.json"
    result.write_text(json.dumps({"space": "darts", "best": str(darts.sample(random.Random(0)))}))
    out = run_train(result, out=tmp_path / "t", synthetic=8, epochs=1, C=4, layers=2, batch_size=4, workers=0,
                    device="cpu", progress=False, max_steps=1, amp=False)
    assert out["genotype"] == json.loads(result.read_text())["best"]


def test_run_search_takes_a_str_out(tmp_path):
    """Was: AttributeError: 'str' object has no attribute 'exists'."""
    from swapnas.search.driver import run_search
    from swapnas.search.evolution import EAConfig
    from swapnas.store import ScoreStore

    (tmp_path / "b").mkdir()
    with ScoreStore(tmp_path / "b.sqlite") as store:
        r = run_search("nb201", "cifar10", store=store, out=str(tmp_path / "b"),
                       config=EAConfig(population=3, sample=2, mutations=1, cycles=1), seed=0,
                       device=torch.device("cpu"), data_dir=DATA, progress=False, fitness="params", refine=0)
    assert r.evaluations == 4 and (tmp_path / "b" / "state.json").is_file()


def test_size_prior_refuses_a_nan_size_and_names_a_bad_argument():
    with pytest.raises(ValueError, match="theta_k"):
        swapnas.size_prior(float("nan"), 100.0, 1000.0)  # was: nan, silently
    with pytest.raises(TypeError, match="theta_k"):
        swapnas.size_prior("1", 100.0, 1000.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sigma"):
        swapnas.size_prior(1.0, 100.0, "1000")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mu"):
        swapnas.size_prior(1.0, True, 1000.0)
    assert swapnas.size_prior(np.float32(100.0), 100, 1000) == 1.0  # numpy and int numbers are numbers


def test_compare_spearman_takes_numpy_bools_as_correlate_does():
    a, b, y = [1.0, 2, 3, 4, 5], [5.0, 4, 3, 2, 1], [1.0, 2, 3, 4, 6]
    assert swapnas.correlate(a, y, higher_is_better=np.True_).spearman == pytest.approx(1.0)
    d = swapnas.compare_spearman(a, b, y, higher_is_better=np.True_, n_boot=20)  # was: ValueError
    assert d.difference == pytest.approx(2.0)
    with pytest.raises(ValueError, match="higher_is_better"):
        swapnas.compare_spearman(a, b, y, higher_is_better=1, n_boot=20)  # type: ignore[arg-type]


def test_load_batch_refuses_a_dataset_that_is_not_a_string_by_name():
    with pytest.raises(TypeError, match=r"^load_batch: dataset is a name such as 'cifar10'"):
        swapnas.load_batch(None, 4, data_dir=DATA)  # type: ignore[arg-type]


def test_auto_proxy_of_one_cnn_module_is_its_own():
    """One model instead of a list: its layers were iterated as models, and the answer was swap_fn."""
    from swapnas.api import auto_proxy

    cnn = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    assert auto_proxy([cnn]) == auto_proxy(cnn) == "swap"
