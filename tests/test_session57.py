"""Session 57: items session 56's audit left as found (each test fails on the code before its change)."""

from __future__ import annotations

import json
import math
import logging
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from swapnas import cli
from swapnas.cli import search_command
from swapnas.cli.args import EXIT_ERROR, unit_triple
from swapnas.executors import PoolExecutor, ScoreTask
from swapnas.fit_check import not_applicable, refuse_small_inputs
from swapnas.grid import GridColumn, markdown, run_grid
from swapnas.proxies import get_proxy
from swapnas.scoring import protocol_changes
from swapnas.search.driver import fitness_mismatch
from swapnas.session import configure
from swapnas.store import ScoreStore
from swapnas.store_files import StoreError, given_as
from swapnas.train import run as train_run
from swapnas.train.recipe import TrainConfig

from tests.pool_tools import stand_in_pool
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
                                         r"schedule is cosine: give --schedule step, or leave --lr-gamma out"):
        train_run.run_train(genotype, recipe="cifar10", out=tmp_path, lr_gamma=0.9)
    assert no_training == []  # refused before the network check
    assert train_run.run_train(genotype, recipe="cifar10", out=tmp_path, lr_gamma=0.9, schedule="step")["trained"]
    assert train_run.run_train(genotype, recipe="imagenet", out=tmp_path, lr_gamma=0.9)["trained"]  # imagenet: step
    with pytest.raises(ValueError, match=r"and --schedule is cosine: give --schedule step"):
        train_run.run_train(genotype, recipe="imagenet", out=tmp_path, lr_gamma=0.9, schedule="cosine")
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
    code, _, err = _cli(["correlate", "--space", "nb201", "--out", str(tmp_path / "o"), "--store"], capsys)
    assert code == EXIT_ERROR and "argument --store: expected one argument" in err and "reads as an option" not in err
    code, _, err = _cli(["correlate", "--space", "nb201", "--out", str(tmp_path / "o"), "--store", "--archs", "3"],
                        capsys)
    assert code == EXIT_ERROR and "argument --store: expected one argument" in err and "reads as an option" not in err
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
        "the input batch (its images: --image-root, --batch-size, --score-seed) 'b1' (now 'b2')"
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
    no_protocol = {k: v for k, v in saved.items() if k != "protocol"}  # a hand-edited state: said, not a KeyError
    assert "the scoring protocol None (now 'bbbb')" in fitness_mismatch(Path("s"), no_protocol, mine, protocols)
    damaged = {**saved, "protocol": ["not", "a", "digest"]}  # a hand-edited state: said, not a TypeError
    assert "the scoring protocol ['not', 'a', 'digest'] (now 'bbbb')" in fitness_mismatch(Path("s"), damaged, mine,
                                                                                           protocols)


# --- --out or --store inside the data bundle ------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["--out", "--store", "env"])
def test_out_or_store_inside_the_data_bundle_is_refused_and_nothing_is_written(where: str, tmp_path: Path, capsys,
                                                                               monkeypatch, data_dir: Path) -> None:
    bundle = tmp_path / "bundle"  # the real bundle's files, linked from folders of its own: nothing reaches it
    for part in data_dir.iterdir():
        if part.is_dir():
            (bundle / part.name).mkdir(parents=True)
            for file in part.iterdir():
                (bundle / part.name / file.name).symlink_to(file.resolve())
    linked = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*"))
    inside, outside = bundle / "nb201" / "run", tmp_path / "run"
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
    assert sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*")) == linked and not outside.exists()


def test_out_beside_the_bundles_own_folders_is_taken(tmp_path: Path, monkeypatch) -> None:
    from swapnas.out_checks import out_folder
    (tmp_path / "nb201").mkdir()
    monkeypatch.chdir(tmp_path)  # a project folder that holds the bundle: `--data-dir .`
    args = SimpleNamespace(out="runs/x", data_dir=".", store=None, command="correlate")
    assert out_folder(args) == Path("runs/x")
    for out, store in (("nb201/x", None), (".", None), ("runs/x", "s.sqlite"), ("runs/x", "nb201/s.sqlite")):
        with pytest.raises(ValueError, match="is inside the data bundle"):
            out_folder(SimpleNamespace(out=out, data_dir=".", store=store, command="correlate"))
    assert out_folder(SimpleNamespace(out="runs/x", data_dir=".", store="runs/s.sqlite", command="correlate"))


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
    return stand_in_pool(monkeypatch)


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
    (tmp_path / "o2").mkdir(exist_ok=True)  # (a job that failed before writing leaves no OUT: session 61)
    (tmp_path / "o2" / "state.json").write_text("{}")  # a search resumed: its population is scored already
    caplog.clear()
    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError, match="stopped here"):
        search_command.search_run(parser.parse_args(["search", "--space", "nb201", "--population", "4", "--out",
                                                     str(tmp_path / "o2"), "--max-evals", "2", "--device", "cpu"]))
    assert "--max-evals 2 is below" not in caplog.text


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
    assert torch.equal(torch.random.get_rng_state(), state)  # nothing drawn: meta passes only


class _MetaShy(nn.Module):
    """A network whose pass needs real tensors (``.item()``) or an op the meta device lacks."""

    def __init__(self, fail: type[Exception] | None) -> None:
        super().__init__()
        self.fail = fail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_meta and self.fail is not None:
            raise self.fail("no meta kernel")
        return x * float(x.sum().item() >= 0)


@pytest.mark.parametrize("fail", [RuntimeError, NotImplementedError, ValueError])
def test_a_network_that_fails_on_the_meta_device_at_any_size_is_not_refused(fail: type[Exception],
                                                                            monkeypatch) -> None:
    sides: list[int] = []

    class Shy(_MetaShy):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            sides.append(x.shape[-1])
            return super().forward(x)
    space = SimpleNamespace(sample=lambda rng: "arch", build=lambda arch, num_classes, **net: Shy(fail))
    monkeypatch.setattr("swapnas.fit_check.get_space", lambda name: space)
    refuse_small_inputs("fake", SimpleNamespace(net={}), _batch_of(1), "--resolution 1")
    refuse_small_inputs("fake", SimpleNamespace(net={}), _batch_of(20), "--resolution 20")
    assert sides == [1, 64, 20, 80]  # each failure tried at the larger size, which fails too: not the size's fault
    refuse_small_inputs("fake", SimpleNamespace(net={}), SimpleNamespace(inputs=torch.zeros(4, 16), num_classes=2),
                        "--resolution 1")  # not images: nothing to try
    assert sides == [1, 64, 20, 80]


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


# --- the Python API audit (a helper's ~380 cases) ------------------------------------------------------------------

def _cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))


@pytest.mark.filterwarnings("ignore::swapnas.patterns.SaturationWarning")
def test_weight_norm_layers_are_scored_as_the_plain_weights_they_compute() -> None:
    import swapnas
    torch.manual_seed(0)
    normed = _cnn()
    for i in (0, 3):
        nn.utils.parametrizations.weight_norm(normed[i])
    plain = _cnn()
    with torch.no_grad():
        for i in (0, 3):
            plain[i].weight.copy_(normed[i].weight)
            plain[i].bias.copy_(normed[i].bias)
    before = {k: v.clone() for k, v in normed.state_dict().items()}
    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 10, (16,))
    for kw in ({"seed": 0}, {"seed": 7}, {"init": "none"}):  # drawn through weight_norm: g·v/‖v‖, the draw ± rounding
        got = swapnas.score(normed, (x, y), ["swap", "synflow", "snip"], **kw)
        assert got == pytest.approx(swapnas.score(plain, (x, y), ["swap", "synflow", "snip"], **kw), rel=1e-6)
        assert got["synflow"] > 0 and got["snip"] > 0  # 0.0 until session 57: no gradient reached the weights
    assert swapnas.score(normed, x, seed=0) != swapnas.score(normed, x, seed=7)  # redrawn: the seeds differ
    assert type(normed[0]).__name__ == "ParametrizedConv2d"  # the caller's model: as it was
    assert all(torch.equal(before[k], v) for k, v in normed.state_dict().items())


def test_spectral_norm_and_a_parametrized_buffer_are_scored_as_the_module_computes_them() -> None:
    import swapnas
    from swapnas.api import _initialised
    from swapnas.scoring import gaussian_init
    normed = _cnn()
    nn.utils.parametrizations.spectral_norm(normed[0])
    copy = _initialised(normed, "gaussian", 0, 0)  # drawn through the parametrization (draw / σ), then made plain
    reference = _cnn()
    nn.utils.parametrizations.spectral_norm(reference[0])
    gaussian_init(reference, torch.Generator().manual_seed(0))
    assert type(copy[0]) is nn.Conv2d and isinstance(copy[0].weight, nn.Parameter)
    w, r = copy[0].weight.detach(), reference[0].weight.detach()  # the same draw; σ from each one's power iteration
    assert torch.allclose(w / w.norm(), r / r.norm(), atol=1e-6)
    assert torch.linalg.matrix_norm(copy[0].weight.flatten(1), 2) < 2  # normalised, not raw N(0, 1) (about 9)

    class Negated(nn.Module):
        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return -t
    bn = nn.BatchNorm2d(8)
    nn.utils.parametrize.register_parametrization(bn, "running_mean", Negated())
    model = nn.Sequential(nn.Conv2d(3, 8, 3), bn, nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    made = _initialised(model, "none", 0, 0)
    assert "running_mean" in dict(made[1].named_buffers()) and "running_mean" not in dict(made[1].named_parameters())
    assert swapnas.score(model, (torch.randn(4, 3, 8, 8), torch.arange(4)), ["snip"])["snip"] > 0


def test_gaussian_init_draws_a_parametrized_weight_through_its_parametrization() -> None:
    from swapnas.scoring import gaussian_init
    normed, plain = nn.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3)
    nn.utils.parametrizations.weight_norm(normed)
    gaussian_init(normed, torch.Generator().manual_seed(3))
    gaussian_init(plain, torch.Generator().manual_seed(3))
    assert torch.allclose(normed.weight, plain.weight, atol=1e-6) and not normed.bias.any()
    with pytest.raises(TypeError, match=r"gaussian_init draws from a torch.Generator, e\.g\. .*not 0"):
        gaussian_init(plain, 0)  # type: ignore[arg-type]


def test_a_model_that_cannot_be_copied_is_an_unsupported_model_not_a_pickle_error() -> None:
    import threading

    import swapnas
    model = _cnn()
    model.lock = threading.Lock()  # type: ignore[assignment]
    with pytest.raises(swapnas.UnsupportedModel, match=r"cannot be copied \(copy\.deepcopy: TypeError: cannot pickle "):
        swapnas.score(model, torch.randn(4, 3, 8, 8), "params")
    rows = swapnas.rank({"locked": model, "plain": _cnn()}, torch.randn(4, 3, 8, 8), "params")
    assert [r["model"] for r in rows] == ["plain", "locked"] and "cannot be copied" in rows[1]["error"]


@pytest.mark.parametrize(("models", "message"), [
    (nn.Sequential(_cnn(), _cnn()), "not one Sequential, whose layers it would rank"),
    ({"a": "cnn"}, "rank takes torch.nn.Module models; not one: a (str)"),
    ([_cnn(), None], "not one: model_1 (NoneType)"),
    (5, "rank takes several models (a dict of name: model or a list), not int"),
])
def test_rank_refuses_what_is_not_several_models(models: object, message: str) -> None:
    import swapnas
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        swapnas.rank(models, torch.randn(4, 3, 8, 8), "params")  # type: ignore[arg-type]


def test_rank_takes_module_dicts_and_lists_and_refuses_an_unordered_set_of_proxies() -> None:
    import swapnas
    small, big = _cnn(), nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 36, 10))
    x = torch.randn(4, 3, 8, 8)
    assert [r["model"] for r in swapnas.rank(nn.ModuleDict({"s": small, "b": big}), x, "params")] == ["b", "s"]
    assert [r["model"] for r in swapnas.rank(nn.ModuleList([small, big]), x, "params")] == ["model_1", "model_0"]
    with pytest.raises(TypeError, match=r"rank ranks by the first proxy, and a set has no first one \(\['l2_norm', "
                                        r"'params'\]\): give a list"):
        swapnas.rank([small, big], x, {"params", "l2_norm"})
    assert swapnas.rank([small, big], x, {"params"})[0]["model"] == "model_1"  # one name: nothing to order


def test_correlate_refuses_a_sign_that_is_not_a_bool_and_resampling_arguments_by_name() -> None:
    import numpy as np

    from swapnas.stats import compare_spearman, correlate
    x, y = np.arange(8.0), np.arange(8.0)
    assert correlate(x, y, higher_is_better=np.bool_(True), n_boot=np.int64(10)).spearman == 1.0
    assert correlate(x, y, higher_is_better=0, n_boot=0).spearman == -1.0  # a registry's 0 / 1: taken
    for sign in (None, "False", 2):
        with pytest.raises(TypeError, match="higher_is_better is True or False"):
            correlate(x, y, higher_is_better=sign)  # type: ignore[arg-type]
    for kw, said in (({"n_boot": 2.5}, "an integer 0 or more (got 2.5)"), ({"n_boot": True}, "(got True)"),
                     ({"seed": "a"}, "seed is the bootstrap's seed, an integer 0 or more (got 'a')"),
                     ({"seed": -1}, "(got -1)")):
        with pytest.raises(ValueError, match=said.replace("(", r"\(").replace(")", r"\)")):
            correlate(x, y, **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"higher_is_better is a bool, or a pair of them .*not None"):
        compare_spearman(x, y, y, higher_is_better=None)  # type: ignore[arg-type]


def test_size_helpers_refuse_what_would_count_nothing_or_compute_nonsense() -> None:
    import swapnas
    from swapnas.size_prior import count_params_k
    model = _cnn()
    assert swapnas.regularise(100, model, mu=3.0, sigma=4.0) == pytest.approx(
        100 * math.exp(-((count_params_k(model) - 3.0) ** 2) / 4.0))
    with pytest.raises(ValueError, match="exclude is a part of the names of the parameters not counted"):
        count_params_k(model, exclude="")
    with pytest.raises(ValueError, match=r"has lazy modules \(nn\.LazyLinear …\), whose sizes a first pass sets"):
        count_params_k(nn.Sequential(nn.LazyLinear(3)))
    cases = [(("1", model, 1.0, 2.0), TypeError, "regularise's score is a number, not '1'"),
             (({"swap": 3}, model, 1.0, 2.0), TypeError, r"pass score\(\.\.\.\)\['swap'\]"),
             ((math.nan, model, 1.0, 2.0), ValueError, "a count >= 0, not nan"),
             ((-1, model, 1.0, 2.0), ValueError, "a count >= 0, not -1"),
             ((5, model, 1.0, True), TypeError, "regularise's sigma is a number, not True"),
             ((5, "cnn", 1.0, 2.0), TypeError, "counts the parameters of a torch.nn.Module, not str")]
    for args, kind, said in cases:
        with pytest.raises(kind, match=said):
            swapnas.regularise(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kw", "said"), [
    ({"restore_buffers": "no"}, "restore_buffers is True or False, not 'no'"),
    ({"functions": 1}, "functions is True or False, not 1"),
    ({"activations": ()}, "activations are nn.Module classes, one or more"),
    ({"activations": ("relu",)}, r"activations are nn.Module classes, one or more, .*\(got \('relu',\)\)"),
    ({"input_dims": ("4",)}, r"input_dims are tensor ranks, integers >= 1, .*\(got \('4',\)\)"),
    ({"input_dims": ()}, "input_dims are tensor ranks"),
])
def test_swap_score_refuses_options_it_would_misread(kw: dict, said: str) -> None:
    from swapnas.patterns import swap_score
    with pytest.raises(TypeError, match=said):
        swap_score(_cnn(), torch.randn(4, 3, 8, 8), **kw)


def test_swap_score_names_an_x_y_pair_given_as_its_inputs() -> None:
    from swapnas.patterns import swap_score
    x, y = torch.randn(4, 3, 8, 8), torch.randint(0, 10, (4,))
    with pytest.raises(TypeError, match=r"these look like an \(x, labels\) pair: pass the inputs alone, "
                                        r"swap_score\(model, x\)"):
        swap_score(_cnn(), (x, y))
    with pytest.raises(TypeError) as info:  # two float inputs: not a pair of labels, the model's own words only
        swap_score(_cnn(), (x, x[:, 0, 0, 0]))
    assert "labels" not in str(info.value)


@pytest.mark.parametrize("proxy", ["jacob_cov", "te_nas_ntk"])
def test_correlation_metrics_refuse_one_sample(proxy: str) -> None:
    import swapnas
    x, y = torch.randn(2, 3, 8, 8), torch.randint(0, 10, (2,))
    with pytest.raises(swapnas.UnsupportedModel, match="2 or more samples"):
        swapnas.score(_cnn(), (x[:1], y[:1]), [proxy])
    assert math.isfinite(swapnas.score(_cnn(), (x, y), [proxy])[proxy])


def test_list_proxies_takes_a_pattern_only() -> None:
    import swapnas
    assert "swap" in swapnas.list_proxies("swap*")
    with pytest.raises(TypeError, match=r"list_proxies takes a glob pattern such as 'swap\*'"):
        swapnas.list_proxies(None)  # type: ignore[arg-type]


# --- old stores (a helper's run of four older revisions' stores) --------------------------------------------------

def test_scores_stored_before_code_was_recorded_are_not_stamped_with_the_running_code(tmp_path: Path) -> None:
    import sqlite3
    import warnings

    from swapnas import code_changes
    from swapnas.code_changes import accept_code, accept_text, warn_changed_code
    from swapnas.store import UNRECORDED, Record, ScoreKey
    from swapnas.store_tools import check_store, check_text
    path = tmp_path / "old.sqlite"
    with ScoreStore(path) as store:
        store.put(ScoreKey("nb201", "a", "params@1", "fp", 0, 8, 1, "{}"), Record("ok", 1.0, 0.0, [1.0], 0.1, None,
                                                                                None))
    with sqlite3.connect(path) as db:  # as a store of before code records: no table
        db.execute("DROP TABLE proxy_code")
    code_changes._CODE_CHECKED.clear()
    with ScoreStore(path) as store, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_changed_code(store, [get_proxy("params"), get_proxy("swap")], "nb201", "1")
        assert store.code_changed("params@1", "x") == UNRECORDED and store.recorded_code().keys() == {"swap@1"}
    said = [str(w.message) for w in caught]
    assert len(said) == 2 and all("were made before swapnas recorded code beside scores" in s for s in said)
    assert said[0].startswith("space 'nb201': the scores in") and said[1].startswith("proxy 'params': the scores in")
    assert "scores made before the store recorded code: net:nb201@1, params@1" in check_text(check_store(path))
    report = accept_code(path)
    assert sorted(report.accepted) == ["net:nb201@1", "params@1"] and report.unchanged == ["swap@1"]
    assert "params@1: its scores, made before swapnas recorded code beside scores, are recorded as made by the " \
           "code that runs now" in accept_text(report)
    code_changes._CODE_CHECKED.clear()
    with ScoreStore(path) as store, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_changed_code(store, [get_proxy("params")], "nb201", "1")
    assert caught == [] and "scores made before" not in check_text(check_store(path))


def test_compare_runs_compares_grids_and_refuses_another_file(tmp_path: Path) -> None:
    import subprocess
    import sys
    col = {"benchmark": "nb201", "task": "cifar10", "n_archs": 5, "results": [
        {"proxy": "swap", "spearman": 0.5, "kendall": 0.4, "spearman_ci": [0.1, 0.9], "top10_spearman": None,
         "spearman_given_params": 0.2, "n": 5, "failures": 0, "key": "swap@1"}]}
    other = json.loads(json.dumps(col))
    other["results"][0]["spearman"] = 0.6
    for name, doc in (("a", {"columns": [col]}), ("b", {"columns": [col]}), ("c", {"columns": [other]}),
                      ("d", {"something": 1})):
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))

    def run(a: str, b: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "scripts/compare_runs.py", str(tmp_path / f"{a}.json"),
                               str(tmp_path / f"{b}.json")], capture_output=True, text=True,
                              cwd=Path(__file__).parents[1])
    same, differs, neither = run("a", "b"), run("a", "c"), run("d", "d")
    assert same.returncode == 0 and same.stdout.splitlines()[-1] == "IDENTICAL"
    assert "identical  nb201/cifar10 n_archs: 5" in same.stdout
    assert differs.returncode == 1 and "DIFFERENT  nb201/cifar10 swap spearman: 0.5" in differs.stdout
    assert neither.returncode == 1 and "this file holds none of them" in neither.stderr


def test_load_batch_refuses_an_unknown_fill_rule_whether_or_not_it_is_needed(small_bundle: Path) -> None:
    from swapnas.data import load_batch
    assert load_batch("cifar10", 4, data_dir=small_bundle, fill="error").inputs.shape[0] == 4
    with pytest.raises(ValueError, match=r"fill must be 'augment' or 'error' \(got 'bogus'\)"):
        load_batch("cifar10", 4, data_dir=small_bundle, fill="bogus")


def test_a_search_fitness_of_several_names_says_it_takes_one() -> None:
    from swapnas.search.fitness import choose_fitness
    with pytest.raises(ValueError, match=r"--fitness swap,params: the search's fitness is one proxy"):
        choose_fitness("nb201", "swap,params")


def test_merge_names_a_sources_scores_made_before_code_records_that_into_now_covers(tmp_path: Path) -> None:
    import sqlite3

    from swapnas.store import Record, ScoreKey
    from swapnas.store_merge import merge_stores, merge_text
    old, into = tmp_path / "old.sqlite", tmp_path / "into.sqlite"
    with ScoreStore(old) as store:
        store.put(ScoreKey("nb201", "a", "swap@1", "fp", 0, 8, 1, "{}"), Record("ok", 1.0, 0.0, [1.0], 0.1, None, None))
    with sqlite3.connect(old) as db:
        db.execute("DROP TABLE proxy_code")
    with ScoreStore(into) as store:
        store.accept_code("swap@1", "dddd")  # INTO records swap's code; not nb201's network
    merged = merge_stores([old], into)
    assert merged.unknown_code == ["swap@1"] and merged.added == 1
    assert (f"the sources' scores of swap@1 were made before stores recorded code: the code {into} records now "
            "stands for them, unchecked") in merge_text(merged)
    assert merge_stores([old], tmp_path / "new.sqlite").unknown_code == []  # nothing recorded there: still unrecorded
    with ScoreStore(tmp_path / "new.sqlite") as store:
        assert store.unrecorded_code() == ["net:nb201@1", "swap@1"]


def test_swap_score_names_inputs_of_another_dtype_than_the_weights() -> None:
    from swapnas.patterns import swap_score
    model = _cnn().double()
    with pytest.raises(RuntimeError, match=r"\(the inputs are torch.float32 and the weights torch.float64: pass "
                                           r"x.to\(torch.float64\)\)$"):
        swap_score(model, torch.randn(4, 3, 8, 8))
    with pytest.raises(RuntimeError) as info:  # the same dtype: the model's own error only
        swap_score(model, torch.randn(4, 3, 4, 4).double())
    assert "pass x.to" not in str(info.value)


@pytest.mark.filterwarnings("ignore::swapnas.patterns.SaturationWarning")
def test_the_readmes_swap_score_example_runs_as_written() -> None:
    """README's Python block with ``swap_score`` and ``regularise`` (no test ran the README's Python as written)."""
    import re
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    (block,) = [b for b in blocks if "swapnas.swap_score(model, x)" in b]
    names: dict = {}
    exec(compile(block, "README.md", "exec"), names)  # noqa: S102 - the documented example itself
    assert isinstance(names["psi"], int) and 1 <= names["psi"] <= 2 ** 16
    assert 0 < names["psi_reg"] <= names["psi"]


def test_gaussian_init_draws_into_the_original_of_a_parametrization_without_right_inverse() -> None:
    """The mutation run's finding: assigning to such a weight is refused by torch (a bare RuntimeError from
    ``swapnas.score``'s default init); the draw now goes into its original tensor."""
    import swapnas
    from swapnas.scoring import gaussian_init

    class Symmetric(nn.Module):
        def forward(self, w: torch.Tensor) -> torch.Tensor:
            return w.triu() + w.triu(1).transpose(-1, -2)
    layer = nn.Linear(6, 6)
    nn.utils.parametrize.register_parametrization(layer, "weight", Symmetric())
    gaussian_init(layer, torch.Generator().manual_seed(0))
    draw = torch.empty(6, 6).normal_(0.0, 1.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(layer.parametrizations.weight.original.detach(), draw)
    assert torch.equal(layer.weight.detach(), draw.triu() + draw.triu(1).T) and not layer.bias.any()
    model = nn.Sequential(layer, nn.ReLU(), nn.Linear(6, 3))
    assert swapnas.score(model, torch.randn(8, 6), ["swap_ext", "params"])["params"] == 6 * 6 + 6 + 6 * 3 + 3
