"""Session 65 audit of parity between the typed Python API and the command line (each test failed on the code as
found): the OUT checks of run_train, run_search, write_outputs and export; run_correlation's flags' checks (best, the
task, unfit proxies, swap_reg's prior, n_archs); whole numbers and seeds by name (Protocol, EAConfig, run_search,
run_train); run_search's own checks of the command; run_grid's list of names; run_conformance's "auto";
search_arch's negative floats in prior."""

from __future__ import annotations

import json
import os
import sqlite3
import warnings
from pathlib import Path

import pytest
import torch

GENOTYPE = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
#: the errors the command line turns into a clear exit 2 (cli._main) and the API documents
CLEAN = (ValueError, TypeError, KeyError, FileNotFoundError)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _tiny_train(out, **kw):
    from swapnas.train.run import run_train
    args = dict(out=out, synthetic=8, epochs=1, C=4, layers=2, batch_size=4, workers=0, max_steps=1,
                progress=False, lines=False, device="cpu")
    args.update(kw)
    return run_train(GENOTYPE, **args)


def _tiny_search(tmp_path, data_dir, **kw):
    from swapnas.search.driver import run_search
    from swapnas.search.evolution import EAConfig
    from swapnas.store import ScoreStore
    args = dict(config=EAConfig(population=2, sample=2, mutations=1, cycles=0), seed=0, out=tmp_path / "s",
                device=torch.device("cpu"), data_dir=data_dir, progress=False, fitness="params")
    args.update(kw)
    with ScoreStore(tmp_path / "s.sqlite") as store:
        return run_search("nb201", "cifar10", store=store, **args)


def _correlate(tmp_path, data_dir, configured="params", task="cifar10", **kw):
    from swapnas.benchmarks import get_benchmark
    from swapnas.correlation import run_correlation
    from swapnas.session import configure
    from swapnas.store import ScoreStore
    bench = get_benchmark("nb201", data_dir)
    protocol, batch, proxies = configure("nb201", "cifar10", configured, seed=0, batch_size=8, repeats=1,
                                         data_dir=data_dir)
    args = dict(bench=bench, task=task, proxies=proxies, n_archs=3, protocol=protocol, batch=batch,
                device=torch.device("cpu"), progress=False)
    args.update(kw)
    with ScoreStore(tmp_path / "c.sqlite") as store:
        return run_correlation(store=store, **args)


def _failures_stored(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM scores WHERE status != 'ok'").fetchone()[0]


# ---------------------------------------------------------------------------------------------------------------
# 1. The typed writers skip the command's OUT checks: another command's outputs replaced, '' = the current folder
# ---------------------------------------------------------------------------------------------------------------

def _fake_search_out(folder: Path) -> str:
    folder.mkdir(parents=True)
    doc = json.dumps({"provenance": {"swapnas": "0.1.0"}, "space": "nb201", "best": "the search's answer"})
    (folder / "state.json").write_text('{"ea": {}}', encoding="utf-8")
    (folder / "result.json").write_text(doc, encoding="utf-8")
    (folder / "report.md").write_text("# Search: nb201\n\nMade by `swapnas search` (swapnas 0.1.0)\n", encoding="utf-8")
    return doc


def test_run_train_refuses_a_search_out_instead_of_replacing_its_result_json(tmp_path):
    """CLI: `swapnas train --out <search OUT>` exits 2 ("holds the outputs of `swapnas search`"); run_train replaced
    the search's result.json with the training result."""
    out = tmp_path / "search_out"
    doc = _fake_search_out(out)
    with pytest.raises(ValueError, match="search"):
        _tiny_train(out)
    assert (out / "result.json").read_text(encoding="utf-8") == doc


def test_write_outputs_of_a_correlation_refuses_a_search_out_instead_of_replacing_its_report(tmp_path, data_dir):
    from swapnas.correlation import write_outputs
    run = _correlate(tmp_path, data_dir)
    out = tmp_path / "search_out"
    _fake_search_out(out)
    before = (out / "report.md").read_text(encoding="utf-8")
    with pytest.raises(ValueError):
        write_outputs(run, out)
    assert (out / "report.md").read_text(encoding="utf-8") == before


def test_export_refuses_to_replace_a_file_of_a_correlate_out(tmp_path):
    """CLI: `swapnas export … --out OUT/results.csv` of a correlate run exits 2; swapnas.export.export replaced it."""
    from swapnas.export import export
    from swapnas.store import ScoreStore
    with ScoreStore(tmp_path / "scores.sqlite"):
        pass
    out = tmp_path / "corr"
    out.mkdir()
    (out / "results.json").write_text(json.dumps({"provenance": {"swapnas": "0.1.0"}}), encoding="utf-8")
    (out / "results.csv").write_text("arch,accuracy,swap\nA,90.0,12.0\n", encoding="utf-8")
    with pytest.raises(ValueError):
        export(tmp_path / "scores.sqlite", out / "results.csv")
    assert (out / "results.csv").read_text(encoding="utf-8") == "arch,accuracy,swap\nA,90.0,12.0\n"


def test_run_train_with_an_empty_out_refuses_instead_of_writing_into_the_current_folder(tmp_path, monkeypatch):
    """CLI: --out '' is "expected a path, not an empty string"; run_train(out='') wrote checkpoint.pt, history.json,
    result.json and .lock into the current folder."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError):
        _tiny_train("")
    assert sorted(os.listdir(tmp_path)) == []


def test_run_search_with_an_empty_out_refuses_instead_of_writing_into_the_current_folder(tmp_path, monkeypatch,
                                                                                          data_dir):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(ValueError):
        _tiny_search(tmp_path, data_dir, out="")
    assert sorted(os.listdir(work)) == []


# ---------------------------------------------------------------------------------------------------------------
# 2. run_correlation: what the command's configure / refuse_unfit do is skipped: stored failures, another metric
# ---------------------------------------------------------------------------------------------------------------

def test_run_correlation_refuses_a_proxy_no_network_of_the_space_can_take_before_storing_failures(tmp_path,
                                                                                                  data_dir):
    """CLI: `correlate --space flexibert --proxies swap` exits 2 before any arch ("No network of flexibert has what
    swap needs"); run_correlation scored every arch and stored a NoActivationError failure for each."""
    from swapnas.benchmarks import get_benchmark
    from swapnas.correlation import run_correlation
    from swapnas.session import configure
    from swapnas.store import ScoreStore
    bench = get_benchmark("flexibert", data_dir)
    task = bench.tasks[0]
    protocol, batch, proxies = configure("flexibert", task, "swap", data_dir=data_dir, batch_size=4, repeats=1)
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as store, pytest.raises(ValueError, match="swap"):
        run_correlation(bench=bench, task=task, proxies=proxies, n_archs=3, protocol=protocol, batch=batch,
                        store=store, device=torch.device("cpu"), progress=False)
    assert _failures_stored(path) == 0


def test_run_correlation_best_is_the_spaces_recommended_fitness_as_on_the_command_line(tmp_path, data_dir):
    """CLI: `correlate --space nb201 --proxies best` scores swap_nb201 (session.resolve_for); run_correlation(
    proxies="best") scored the registry alias's swap_darts (the session-15 grid bug, in run_correlation)."""
    from swapnas.session import best_for
    try:
        run = _correlate(tmp_path, data_dir, proxies="best")
    except ValueError:
        return  # refused (e.g. "configure best"): also fine, it is not scored as another metric
    assert [r.proxy for r in run.results] == [best_for("nb201")]


def test_run_correlation_swap_reg_without_a_prior_is_refused_not_stored_as_failures(tmp_path, data_dir):
    """CLI: configure gives swap_reg the space's size prior; run_correlation(proxies="swap_reg") stored "swap_reg
    needs mu and sigma" as a failure for every arch."""
    path = tmp_path / "c.sqlite"
    try:
        run = _correlate(tmp_path, data_dir, proxies="swap_reg")
    except ValueError:
        assert not path.exists() or _failures_stored(path) == 0
        return
    assert all(r.failures == 0 for r in run.results)


def test_run_correlation_refuses_a_task_other_than_the_protocols_dataset(tmp_path, data_dir):
    """run_correlation(task="cifar100") with a protocol configured for cifar10 correlated 10-class networks scored on
    CIFAR-10 images with CIFAR-100 accuracies, without a word (the CLI cannot: --dataset sets both)."""
    with pytest.raises(ValueError):
        _correlate(tmp_path, data_dir, task="cifar100")


def test_run_correlation_without_a_proxy_is_refused(tmp_path, data_dir):
    """CLI: "--proxies needs at least one proxy name"; run_correlation(proxies="") / [] returned a run with no
    result (write_outputs then wrote an empty report)."""
    for empty in ("", []):
        with pytest.raises(ValueError):
            _correlate(tmp_path, data_dir, proxies=empty)


@pytest.mark.parametrize("n", [2.5, True, "3"])
def test_run_correlation_n_archs_must_be_an_int_named_as_the_python_argument(tmp_path, data_dir, n):
    """2.5 / "3" raised random.py's TypeError ("can't multiply sequence by non-int"), True scored one arch."""
    with pytest.raises(CLEAN, match="n_archs"):
        _correlate(tmp_path, data_dir, n_archs=n)


# ---------------------------------------------------------------------------------------------------------------
# 3. Numbers the command line refuses that reach deep code through the typed functions
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("repeats", [2.5, True])
def test_protocol_repeats_must_be_an_int(repeats):
    """--repeats 2.5 is refused; configure(repeats=2.5) built a Protocol whose swap scores were stored as failures
    ("'float' object cannot be interpreted as an integer") and whose params crashed in scoring.py; True was stored
    as repeats=true."""
    from swapnas.scoring import Protocol
    with pytest.raises(CLEAN):
        Protocol("nb201", "cifar10", 8, repeats=repeats)


def test_configure_refuses_a_seed_beyond_the_commands_range(data_dir):
    """--seed 2**64 is "expected a seed in 0..2**63-1"; configure took it and every run_* then died with SQLite's
    OverflowError in store.py."""
    from swapnas.session import configure
    with pytest.raises(ValueError):
        configure("nb201", "cifar10", "params", seed=2**64, batch_size=8, repeats=1, data_dir=data_dir)


@pytest.mark.parametrize("seed", [-1, 1.5, 2**64])
def test_run_train_refuses_a_seed_the_command_refuses_before_training(tmp_path, seed):
    """-1 trained (CLI: refused), 1.5 and 2**64 raised torch's RuntimeError / "Overflow when unpacking long long"."""
    with pytest.raises(CLEAN, match="seed"):
        _tiny_train(tmp_path / "t", seed=seed)


def test_run_train_refuses_data_root_and_synthetic_together(tmp_path):
    """CLI: --data-root and --synthetic are mutually exclusive; run_train ignored data_root without a word."""
    with pytest.raises(ValueError):
        _tiny_train(tmp_path / "t", data_root=str(tmp_path / "cifar"))


@pytest.mark.parametrize("kw", [{"max_steps": 1.5}, {"synthetic": 2.5}, {"eval_every": 1.5}, {"workers": -1}])
def test_run_train_refuses_non_integer_or_negative_counts_by_name(tmp_path, kw):
    (name, value), = kw.items()
    with pytest.raises(CLEAN, match=name):
        _tiny_train(tmp_path / "t", **kw)


# ---------------------------------------------------------------------------------------------------------------
# 4. run_search: the command's _search_checks are not run
# ---------------------------------------------------------------------------------------------------------------

def test_run_search_refuses_a_prior_width_that_is_not_positive(tmp_path, data_dir):
    """CLI: "--prior CENTRE WIDTH: WIDTH must be > 0"; run_search(prior=(0.8, -1.0)) squared the width and ran as
    WIDTH 1."""
    with pytest.raises(ValueError, match="(?i)width|prior"):
        _tiny_search(tmp_path, data_dir, fitness="swap_reg", prior=(0.8, -1.0), batch_size=8, repeats=1)


def test_run_search_refuses_a_tolerance_without_a_target(tmp_path, data_dir):
    with pytest.raises(ValueError, match="tolerance"):
        _tiny_search(tmp_path, data_dir, tolerance=5.0)


@pytest.mark.parametrize("kw", [{"refine": 1, "refine_repeats": 3}, {"refine": 2, "refine_repeats": 0},
                                {"refine": 2, "refine_batch_size": 0}, {"refine": -1}, {"refine": 2.5}])
def test_run_search_refuses_second_stage_settings_it_would_ignore_or_crash_on(tmp_path, data_dir, kw):
    """CLI: refine flags without a second stage, --refine-repeats 0, --refine-batch-size 0 and --refine -1 are
    refused; run_search silently ran without a second stage (refine=2.5: TypeError in fitness.py after the EA)."""
    with pytest.raises((ValueError, TypeError)):  # (TypeError: a float for a whole number)
        _tiny_search(tmp_path, data_dir, **kw)


@pytest.mark.parametrize("kw", [{"max_params": float("nan")}, {"max_seconds": float("nan")}, {"max_evals": 0},
                                {"seed": -1}, {"seed": 1.5}])
def test_run_search_refuses_values_the_command_refuses(tmp_path, data_dir, kw):
    """max_params=nan and seed=-1 / 1.5 ran (known since session 64), max_seconds=nan ran without a limit,
    max_evals=0 scored nothing and said "nothing evaluated yet"."""
    (name, _), = kw.items()
    with pytest.raises((ValueError, TypeError), match=name.replace("_", "[-_]")):
        _tiny_search(tmp_path, data_dir, **kw)


@pytest.mark.parametrize("field,value", [("population", 2.5), ("mutations", 1.5), ("cycles", 0.5), ("cycles", True),
                                         ("sample", 1.5), ("crossover", True)])
def test_eaconfig_counts_must_be_ints(field, value):
    """EAConfig(population=2.5) ran a search of 4 evaluations, sample=1.5 raised random.py's TypeError mid-search
    (the CLI's positive_int refuses them)."""
    from swapnas.search.evolution import EAConfig
    with pytest.raises(CLEAN):
        EAConfig(**{"population": 4, "sample": 2, **{field: value}})


def test_run_search_without_a_dataset_is_the_spaces_first_or_a_clear_error(tmp_path, data_dir):
    """CLI: no --dataset is the space's first final network; run_search(dataset=None) raised AttributeError."""
    from swapnas.search.driver import run_search
    from swapnas.search.evolution import EAConfig
    from swapnas.store import ScoreStore
    with ScoreStore(tmp_path / "s.sqlite") as store:
        try:
            run_search("nb201", None, config=EAConfig(population=2, sample=2, mutations=1, cycles=0), seed=0,
                       store=store, out=tmp_path / "s", device=torch.device("cpu"), data_dir=data_dir,
                       progress=False, fitness="params")
        except AttributeError as exc:
            pytest.fail(f"AttributeError: {exc}")
        except CLEAN:
            pass


# ---------------------------------------------------------------------------------------------------------------
# 5. search_arch: a whole negative float in a list option reads as a flag
# ---------------------------------------------------------------------------------------------------------------

def test_search_arch_passes_a_whole_negative_float_in_prior_as_the_command_does(tmp_path, monkeypatch):
    """`swapnas search --prior -1 0.5` and search_arch(prior=(-1, 0.5)) take CENTRE -1; search_arch(prior=(-1.0,
    0.5)) raised "argument --prior: expected 2 arguments" (np.format_float_positional(-1.0) is "-1.", which argparse
    does not read as a number)."""
    import swapnas
    import swapnas.cli.search_command as sc
    seen = {}

    def fake(args):
        seen["prior"] = args.prior
        return "result", []

    monkeypatch.setattr(sc, "search_run", fake)
    for prior in [(-1.0, 0.5), (0.5, 2.0), (-10.0, 1.0)]:
        assert swapnas.search_arch("nb201", "cifar10", out=str(tmp_path / "o"), fitness="swap_reg",
                                   prior=prior) == "result"
        assert list(seen["prior"]) == list(prior)


# ---------------------------------------------------------------------------------------------------------------
# 6. run_grid and run_conformance
# ---------------------------------------------------------------------------------------------------------------

def test_run_grid_takes_proxy_names_in_a_list_as_run_correlation_does(tmp_path, data_dir):
    """run_correlation(proxies=["params"]) works since session 64; run_grid(proxies=["params"]) raised
    AttributeError: 'list' object has no attribute 'strip' (grid.py:138)."""
    from swapnas.grid import run_grid
    from swapnas.store import ScoreStore
    with ScoreStore(tmp_path / "g.sqlite") as store:
        try:
            cols = run_grid([("nb201", "cifar10")], proxies=["params"], n_archs=3, seed=0, repeats=1, store=store,
                            device=torch.device("cpu"), data_dir=data_dir, progress=False)
        except AttributeError as exc:
            pytest.fail(f"AttributeError: {exc}")
        except TypeError:
            return
    assert [r["proxy"] for r in cols[0].results] == ["params"]


def test_run_conformance_takes_device_auto_as_the_command_does(tmp_path, data_dir):
    """CLI default --device auto; run_conformance(device="auto") raised torch's bare RuntimeError ("Expected one of
    cpu, cuda, …"), and device="cuda" on a machine without CUDA torch's AssertionError."""
    from swapnas.conformance import run_conformance
    from swapnas.store import ScoreStore
    with ScoreStore(tmp_path / "c.sqlite") as store:
        run = run_conformance(space="nb201", dataset="cifar10", proxies="params", n_archs=3, store=store,
                              device="auto", data_dir=data_dir, progress=False)
    assert [r.proxy for r in run.results] == ["params"]
