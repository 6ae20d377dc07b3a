"""Session 57: items session 56's audit left as found (each test fails on the code before its change)."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from swapnas import cli, executors
from swapnas.cli import search_command
from swapnas.cli.args import EXIT_ERROR, unit_triple
from swapnas.executors import PoolExecutor, ScoreTask
from swapnas.fit_check import not_applicable, refuse_small_inputs
from swapnas.grid import GridColumn, markdown, run_grid
from swapnas.proxies import get_proxy, resolve
from swapnas.scoring import protocol_changes
from swapnas.search.driver import fitness_mismatch
from swapnas.session import configure
from swapnas.store import ScoreStore
from swapnas.store_tools import StoreError, given_as
from swapnas.train import run as train_run
from swapnas.train.recipe import TrainConfig

from tests.pool_tools import StandInPool
from tests.tiny_tasks import tiny_nb201_task

CPU = torch.device("cpu")


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# --- train: --momentum of 1 or more, --lr-gamma under the cosine schedule ------------------------------------------

def test_momentum_of_one_or_more_is_refused_and_just_below_is_taken() -> None:
    for momentum in (1.0, 5.0):
        with pytest.raises(ValueError, match=r"--momentum in \[0, 1\)"):
            TrainConfig(momentum=momentum)
    assert TrainConfig(momentum=0.999).momentum == 0.999


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> list:
    """run_train's checks only: the network check, the data and the training are recorders."""
    seen: list = []
    monkeypatch.setattr(train_run, "check_network", lambda config, recipe: seen.append(config))
    monkeypatch.setattr(train_run, "load_data", lambda *a, **kw: "DATA")
    monkeypatch.setattr(train_run, "train", lambda *a, **kw: {"trained": True})
    return seen


def test_lr_gamma_is_refused_under_the_cosine_schedule_and_taken_under_the_step_one(no_training: list,
                                                                                     tmp_path: Path) -> None:
    genotype = str(__import__("swapnas.spaces", fromlist=["get_space"]).get_space("darts").sample(random.Random(0)))
    with pytest.raises(ValueError, match=r"--lr-gamma 0.9 applies to the step schedule only, and the cifar10 recipe's "
                                         r"schedule is cosine: add --schedule step, or leave --lr-gamma out"):
        train_run.run_train(genotype, recipe="cifar10", out=tmp_path, lr_gamma=0.9)
    assert no_training == []  # refused before the network check
    assert train_run.run_train(genotype, recipe="cifar10", out=tmp_path, lr_gamma=0.9, schedule="step")["trained"]
    assert train_run.run_train(genotype, recipe="imagenet", out=tmp_path, lr_gamma=0.9)["trained"]  # imagenet: step
    assert train_run.run_train(genotype, recipe="cifar10", out=tmp_path, lr_gamma=None)["trained"]  # not given
    assert [(c.schedule, c.lr_gamma) for c in no_training] == [("step", 0.9), ("step", 0.9), ("cosine", 0.97)]


# --- a value that starts with '-' --------------------------------------------------------------------------------

def test_a_value_that_starts_with_a_minus_gets_the_equals_form_named(capsys, tmp_path: Path) -> None:
    argv = ["correlate", "--space", "nb201", "--out", str(tmp_path / "o"), "--shard", "-1/2"]
    code, _, err = _cli(argv, capsys)
    assert code == EXIT_ERROR
    assert "argument --shard: expected one argument (a value that starts with '-' reads as an option: write " \
           "--shard=VALUE)" in err
    code, out, _ = _cli(["--json", *argv], capsys)
    assert code == EXIT_ERROR and "write --shard=VALUE" in json.loads(out)["error"]
    code, _, err = _cli(["correlate", "--space", "nb201", "--out", str(tmp_path / "o"), "--shard=-1/2"], capsys)
    assert code == EXIT_ERROR and "--shard I/K needs 0 <= I < K (got -1/2)" in err and "reads as an option" not in err


# --- a search resumed with another --dataset ----------------------------------------------------------------------

def _description(**kw: object) -> dict:
    base = {"space": "nb201", "dataset": "cifar10", "batch_size": 16, "repeats": 1, "seed": 0, "init": "gaussian",
            "bn_train": True, "net": {"C": 16, "N": 1}, "batch_digest": "b1", "inputs": "real", "fingerprint": "fp"}
    return {**base, **kw}


def test_protocol_changes_name_each_part_with_its_flag_and_the_batch_only_alone() -> None:
    was = _description()
    assert protocol_changes(was, _description(dataset="cifar100", batch_digest="b2")) == \
        "--dataset 'cifar10' (now 'cifar100')"
    assert protocol_changes(was, _description(batch_digest="b2")) == \
        "the input batch (--image-root, the data's images) 'b1' (now 'b2')"
    assert protocol_changes(was, _description(classes=5, init="default", seed=4, net={"C": 8})) == \
        "--init 'gaussian' (now 'default'), --num-classes None (now 5)"  # seed, net: not fingerprinted
    assert protocol_changes(was, was) == ""


def test_a_search_resumed_with_another_dataset_names_the_flag_not_the_digest() -> None:
    saved = {"proxy": "swap@1", "protocol": "aaaa", "net": "{}"}
    mine = {"proxy": "swap@1", "protocol": "bbbb", "net": "{}"}
    protocols = {"aaaa": _description(), "bbbb": _description(dataset="cifar100", batch_digest="b2")}
    why = fitness_mismatch(Path("OUT/state.json"), saved, mine, protocols)
    assert why == ("OUT/state.json holds a search with another fitness or constraints: --dataset 'cifar10' (now "
                   "'cifar100'); use another --out folder or the same settings")
    # a protocol not in the store (another --store than the first run's): its digest, as before
    assert "the scoring protocol 'aaaa' (now 'bbbb')" in fitness_mismatch(Path("s"), saved, mine, {"bbbb": {}})
    assert "the scoring protocol 'aaaa' (now 'bbbb')" in fitness_mismatch(Path("s"), saved, mine)
    damaged = {**saved, "protocol": ["not", "a", "digest"]}  # a hand-edited state: said, not a TypeError
    assert "the scoring protocol ['not', 'a', 'digest'] (now 'bbbb')" in fitness_mismatch(Path("s"), damaged, mine,
                                                                                           protocols)


# --- --out or --store inside the data bundle ------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["--out", "--store", "env"])
def test_out_or_store_inside_the_data_bundle_is_refused_and_nothing_is_written(where: str, tmp_path: Path, capsys,
                                                                               monkeypatch, data_dir: Path) -> None:
    bundle = tmp_path / "bundle"  # the real bundle's folders, linked: nothing can reach the real one
    bundle.mkdir()
    for part in data_dir.iterdir():
        (bundle / part.name).symlink_to(part.resolve())
    linked = sorted(p.name for p in bundle.iterdir())
    inside, outside = bundle / "runs" / "run", tmp_path / "run"
    argv = ["correlate", "--space", "nb201", "--proxies", "params", "--archs", "3", "--no-progress"]
    if where == "env":
        monkeypatch.setenv("SWAPNAS_DATA", str(bundle))
        argv += ["--out", str(inside)]
    else:
        argv += ["--data-dir", str(bundle), "--out", str(inside if where == "--out" else outside)]
        argv += ["--store", str(inside / "s.sqlite")] if where == "--store" else []
    code, _, err = _cli(argv, capsys)
    flag, what = ("--store", "file") if where == "--store" else ("--out", "folder")
    assert code == EXIT_ERROR
    assert f"{flag} {inside / 's.sqlite' if where == '--store' else inside} is inside the data bundle " \
           f"{bundle.resolve()}, which swapnas only reads: give a {what} outside it" in err
    assert sorted(p.name for p in bundle.iterdir()) == linked and not outside.exists()


# --- grid: a metric no network of a column can take ---------------------------------------------------------------

def test_not_applicable_names_each_proxy_and_a_set_level_ones_part(small_bundle: Path) -> None:
    protocol, batch, proxies = configure("flexibert", "glue", "swap,params,az_nas", data_dir=small_bundle)
    kept, why = not_applicable("flexibert", proxies, protocol, batch)
    assert [p.name for p in kept] == ["params", "az_nas_complexity"]  # az_nas's FLOPs part can be scored
    assert why["swap"].startswith("cannot score Encoder: it counts nn.ReLU activation patterns")
    assert why["az_nas"].startswith("ranks with az_nas_expressivity, which cannot score Encoder: it reads 4-D")
    protocol, batch, proxies = configure("nb201", "cifar10", "swap,params", data_dir=small_bundle)
    assert not_applicable("nb201", proxies, protocol, batch) == (proxies, {})


def test_grid_reports_a_metric_a_column_cannot_take_as_not_applicable_without_scoring_it(small_bundle: Path,
                                                                                        tmp_path: Path) -> None:
    store = ScoreStore(tmp_path / "s.sqlite")
    cols = run_grid([("flexibert", "glue")], proxies="swap,params", n_archs=4, seed=0, repeats=1, store=store,
                    device=CPU, data_dir=small_bundle, progress=False)
    (col,) = cols
    assert [r["proxy"] for r in col.results] == ["params"] and all(r["failures"] == 0 for r in col.results)
    assert list(col.not_applicable or {}) == ["swap"]
    assert {r["proxy"] for r in store.rows()} == {"params@1"}  # swap: not one arch scored
    text = markdown(cols)
    assert "| swap | — | — |" in text  # the row stays, empty
    assert "- flexibert/glue swap: not applicable: cannot score Encoder: it counts nn.ReLU activation patterns" in text
    old = GridColumn(**{k: v for k, v in json.loads(json.dumps(col.__dict__)).items() if k != "not_applicable"})
    assert "not applicable" not in markdown([old]) and "| swap |" not in markdown([old])  # a grid.json of before


# --- the pool starts no process that would have nothing to do ------------------------------------------------------

@pytest.fixture
def pool_class(monkeypatch):
    monkeypatch.setattr(executors, "ProcessPoolExecutor", StandInPool)
    monkeypatch.setattr(StandInPool, "made", [])
    monkeypatch.setattr(StandInPool, "killers", set())
    monkeypatch.setattr(StandInPool, "runs", [])
    monkeypatch.setattr(executors, "_POOL_TASK", {})
    return StandInPool


def test_the_pool_has_one_process_per_chunk_at_most_and_grows_for_a_larger_call(pool_class) -> None:
    protocol, batch, _, archs = tiny_nb201_task("params", batch_size=4, repeats=1, n_archs=8, seed=0)
    task = ScoreTask("nb201", (get_proxy("params"),), batch, protocol)
    with PoolExecutor(3, chunk_size=2) as pool:
        assert len(dict(pool.score(task, CPU, [(a, {}) for a in archs[:2]]))) == 2
        assert [p.args[0] for p in pool_class.made] == [1]  # one chunk: one process, not three
        assert [fn for fn, _ in pool_class.made[0].submitted].count(int) == 1
        assert len(dict(pool.score(task, CPU, [(a, {}) for a in archs[:3]]))) == 3
        assert [p.args[0] for p in pool_class.made] == [1, 2] and pool_class.made[0].shut == (True, True)
        assert len(dict(pool.score(task, CPU, [(a, {}) for a in archs]))) == 8  # four chunks: the three workers
        assert [p.args[0] for p in pool_class.made] == [1, 2, 3]
        assert len(dict(pool.score(task, CPU, [(a, {}) for a in archs[:1]]))) == 1  # smaller: the pool is kept
        assert [p.args[0] for p in pool_class.made] == [1, 2, 3]


# --- --mean in [0, 1] -------------------------------------------------------------------------------------------------

def test_mean_takes_pixels_in_zero_one_only() -> None:
    import argparse
    assert unit_triple("0,1,0.5") == (0.0, 1.0, 0.5)
    for text in ("5,5,5", "0.5,0.5,-0.1", "125,122,114"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"expected three numbers in \[0, 1\] \(a mean per "
                                                             r"channel of pixels in \[0, 1\]; divide 0..255 values"):
            unit_triple(text)


# --- --max-evals below --population --------------------------------------------------------------------------------

def test_max_evals_below_the_population_is_said(monkeypatch, caplog, tmp_path: Path) -> None:
    def stop(*a: object, **kw: object) -> None:
        raise RuntimeError("stopped here")
    monkeypatch.setattr(search_command, "run_search", stop)
    monkeypatch.setattr(search_command, "_search_checks", lambda args: "swap@1")
    parser = cli.build_parser()
    for evals, said in ((2, True), (4, False), (None, False)):
        argv = ["search", "--space", "nb201", "--population", "4", "--out", str(tmp_path / f"o{evals}"),
                "--device", "cpu", "--workers", "1"] + (["--max-evals", str(evals)] if evals else [])
        caplog.clear()
        with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError, match="stopped here"):
            search_command.search_run(parser.parse_args(argv))
        text = "--max-evals 2 is below --population 4: the initial population is scored whole (4 evaluations), " \
               "and no cycle starts"
        assert (text in caplog.text) is said


# --- --resolution too small for the network --------------------------------------------------------------------------

def _batch_of(side: int) -> SimpleNamespace:
    inputs = torch.zeros(4, 3, side, side)
    return SimpleNamespace(inputs=inputs, num_classes=10, map=lambda fn: SimpleNamespace(inputs=fn(inputs)))


def test_inputs_too_small_for_the_network_are_refused_and_large_enough_ones_pass() -> None:
    protocol = SimpleNamespace(net={"C": 4, "N": 1})
    with pytest.raises(ValueError, match=r"^--resolution 2: the nb201 network cannot take inputs \(4, 3, 2, 2\) of "
                                         r"that size \(RuntimeError: .*\); give a larger --resolution$"):
        refuse_small_inputs("nb201", protocol, _batch_of(2), "--resolution 2")
    state = torch.random.get_rng_state()
    refuse_small_inputs("nb201", protocol, _batch_of(8), "--resolution 8")
    assert torch.equal(torch.random.get_rng_state(), state)


class _MetaShy(nn.Module):
    """A network whose pass needs real tensors (``.item()``) or an op the meta device lacks."""

    def __init__(self, fail: type[Exception] | None) -> None:
        super().__init__()
        self.fail = fail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_meta and self.fail is not None:
            raise self.fail("no meta kernel")
        return x * float(x.sum().item() >= 0)


@pytest.mark.parametrize("fail", [RuntimeError, NotImplementedError])
def test_a_network_that_fails_only_on_the_meta_device_is_not_refused(fail: type[Exception], monkeypatch) -> None:
    built: list[str] = []
    space = SimpleNamespace(sample=lambda rng: "arch",
                            build=lambda arch, num_classes, **net: built.append(str(torch.empty(0).device))
                            or _MetaShy(fail))
    monkeypatch.setattr("swapnas.fit_check.get_space", lambda name: space)
    refuse_small_inputs("fake", SimpleNamespace(net={}), _batch_of(1), "--resolution 1")
    assert built == (["meta", "cpu"] if fail is RuntimeError else ["meta"])  # confirmed by a real pass, or left


def test_correlate_refuses_a_resolution_too_small_before_scoring(data_dir: Path, tmp_path: Path, capsys) -> None:
    from PIL import Image
    for label in ("a", "b"):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8), (40 * i, 80, 120)).save(tmp_path / "imgs" / label / f"{i}.png")
    argv = ["correlate", "--space", "nb201", "--dataset", "cifar10", "--proxies", "swap", "--archs", "3",
            "--image-root", str(tmp_path / "imgs"), "--data-dir", str(data_dir), "--out", str(tmp_path / "o"),
            "--no-progress", "--resolution"]
    code, _, err = _cli([*argv, "1"], capsys)
    assert code == EXIT_ERROR and "--resolution 1: the nb201 network cannot take inputs (16, 3, 1, 1)" in err
    assert not (tmp_path / "o" / "scores.sqlite").exists()


# --- merge's --into names a run's --store as a run's --store ---------------------------------------------------------

def test_a_runs_store_is_named_as_such_in_a_message_about_into() -> None:
    exc = StoreError("x is not a swapnas score store (empty): give the path of a store (the --store of a "
                     "correlate/grid/search run), or a new path for a new one; or a --store elsewhere")
    assert str(given_as(exc, "--into")) == ("x is not a swapnas score store (empty): give the path of a store (the "
                                            "--store of a correlate/grid/search run), or a new path for a new one; "
                                            "or an --into elsewhere")
    assert "(the --store of a correlate/grid/search run)" in str(given_as(exc, None))


def test_resolve_is_the_registry_resolver() -> None:  # the grid test's names resolve as the CLI's
    assert [p.name for p in resolve("swap,params")] == ["swap", "params"]
