"""Tests written against the survivors of a mutation run of session 57's changes (hand-made mutants of the new and
changed lines; each test names the mutant it kills). Fast and deterministic: no network, nothing written outside
tmp_path."""

from __future__ import annotations

import json
import re
import sqlite3
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from swapnas import cli
from swapnas.cli.args import EXIT_ERROR

CPU = torch.device("cpu")


def _cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))


# --- fit_check.refuse_small_inputs ------------------------------------------------------------------------------------

def test_refuse_small_inputs_builds_the_network_of_the_protocol(monkeypatch) -> None:
    """Mutant: ``mod.build(arch, num_classes=...)`` without ``**protocol.net`` (the space's default network tried,
    not the one scored: another --net can take other sizes)."""
    from swapnas.fit_check import refuse_small_inputs
    built: list[dict] = []

    def build(arch: object, num_classes: int, **net: object) -> nn.Module:
        built.append({"num_classes": num_classes, **net})
        return nn.Identity()
    monkeypatch.setattr("swapnas.fit_check.get_space", lambda name: SimpleNamespace(sample=lambda rng: "a",
                                                                                    build=build))
    batch = SimpleNamespace(inputs=torch.zeros(4, 3, 8, 8), num_classes=7)
    refuse_small_inputs("fake", SimpleNamespace(net={"C": 4, "N": 1}), batch, "--resolution 8")
    assert built == [{"num_classes": 7, "C": 4, "N": 1}]


# --- grid: a column whose metrics none apply; a set-level metric not applicable ---------------------------------------

def test_a_grid_column_with_nothing_applicable_reuses_nothing(small_bundle: Path, tmp_path: Path) -> None:
    """Mutant: ``run.reused if proxy_list else 0`` → ``run.reused`` (every arch counted as read back from the store,
    since nothing was to be scored: grid.md said the column was resumed)."""
    from swapnas.grid import run_grid
    from swapnas.store import ScoreStore
    with ScoreStore(tmp_path / "s.sqlite") as store:
        col, _ = run_grid([("flexibert", "glue"), ("nb301", "cifar10")], proxies="swap", n_archs=3, seed=0, repeats=1,
                          store=store, device=CPU, data_dir=small_bundle, progress=False)  # (a grid where nothing
    assert col.results == [] and list(col.not_applicable or {}) == ["swap"]  # applies is refused: session 61)
    assert (col.reused_archs, col.partly_reused_archs) == (0, 0)


def test_the_parts_of_a_set_level_metric_not_applicable_stay_hidden(small_bundle: Path, tmp_path: Path) -> None:
    """Mutant: the column's ``hidden`` parts from the applicable proxies (``proxy_list``) instead of those asked for:
    az_nas not applicable in flexibert, its parts lost their hiding and got rows of their own."""
    from swapnas.grid import metric_names, run_grid
    from swapnas.store import ScoreStore
    with ScoreStore(tmp_path / "s.sqlite") as store:
        cols = run_grid([("flexibert", "glue")], proxies="params,az_nas", n_archs=3, seed=0, repeats=1, store=store,
                        device=CPU, data_dir=small_bundle, progress=False)
    assert cols[0].hidden == ["az_nas_complexity", "az_nas_expressivity", "az_nas_progressivity",
                              "az_nas_trainability"]
    assert "az_nas" in (cols[0].not_applicable or {})
    assert metric_names(cols) == ["params", "az_nas"]


def _na_column(why: str):
    from swapnas.grid import GridColumn
    rows = [{"proxy": "params", "spearman": 0.5, "n": 10, "failures": 0, "seconds_per_arch": 0.1, "errors": []}]
    return GridColumn("flexibert", "glue", "gt", {"net": {}, "batch_size": 16, "repeats": 1, "init": "gaussian",
                                                  "seed": 0}, "", 10, 1.0, rows, not_applicable={"swap": why})


def test_a_not_applicable_reason_is_kept_up_to_160_characters() -> None:
    """Mutant: ``_short(..., 160)`` → ``_short(..., 100)`` (the reason cut well before the documented width)."""
    from swapnas.grid import markdown
    whole = ("cannot score Encoder: it counts nn.ReLU activation patterns " * 3)[:150]
    assert f"- flexibert/glue swap: not applicable: {whole}\n" in markdown([_na_column(whole)]) + "\n"
    long = "word " * 60
    (line,) = [ln for ln in markdown([_na_column(long)]).splitlines() if "not applicable" in ln]
    said = line.split("not applicable: ", 1)[1]
    assert said.endswith(" …") and 150 <= len(said) <= 160


# --- out_checks._refuse_in_bundle ------------------------------------------------------------------------------------

def _bundle_like(small_bundle: Path, tmp_path: Path) -> Path:
    """Empty folders named as the bundle's own (nothing under the committed bundle is touched)."""
    bundle = tmp_path / "bundle"
    for part in small_bundle.iterdir():
        if part.is_dir():
            (bundle / part.name).mkdir(parents=True)
    return bundle


def test_out_in_each_of_the_bundles_own_folders_is_refused(small_bundle: Path, tmp_path: Path) -> None:
    """Mutant: a folder dropped from BUNDLE_FOLDERS ("images"): --out there was taken."""
    from swapnas.out_checks import out_folder
    bundle = _bundle_like(small_bundle, tmp_path)
    folders = sorted(p.name for p in bundle.iterdir())
    assert "images" in folders and len(folders) == 7
    for name in folders:
        with pytest.raises(ValueError, match=re.escape(f"--out {bundle / name / 'x'} is inside the data bundle")):
            out_folder(SimpleNamespace(out=str(bundle / name / "x"), data_dir=str(bundle), store=None,
                                       command="correlate"))


def test_out_directly_in_the_bundles_top_folder_is_taken_where_a_store_is_not(small_bundle: Path,
                                                                              tmp_path: Path) -> None:
    """Mutant: ``(flag == "--store" and where.parent == bundle)`` → ``(where.parent == bundle)`` (a run's folder
    beside the bundle's folders, `--data-dir .` in a project, refused)."""
    from swapnas.out_checks import out_folder
    bundle = _bundle_like(small_bundle, tmp_path)
    args = SimpleNamespace(out=str(bundle / "runs"), data_dir=str(bundle), store=None, command="correlate")
    assert out_folder(args) == bundle / "runs"
    with pytest.raises(ValueError, match=re.escape(f"--store {bundle / 's.sqlite'} is inside the data bundle")):
        out_folder(SimpleNamespace(out=str(bundle / "runs"), data_dir=str(bundle), store=str(bundle / "s.sqlite"),
                                   command="correlate"))


# --- cli._Parser.error's hint ----------------------------------------------------------------------------------------

def test_the_equals_hint_is_for_the_flag_missing_its_value_only(capsys, tmp_path: Path) -> None:
    """Mutant: ``w == flag[1]`` dropped (any flag followed by a '-' value, here ``--out -1``, which argparse took,
    gave the hint to the --store that lacks its value)."""
    with pytest.raises(SystemExit) as info:
        cli.main(["correlate", "--space", "nb201", "--out", "-1", "--store"])
    err = capsys.readouterr().err
    assert info.value.code == EXIT_ERROR
    assert "argument --store: expected one argument" in err and "reads as an option" not in err


# --- gaussian_init: a parametrized bias -------------------------------------------------------------------------------

class _Negated(nn.Module):
    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return -t

    def right_inverse(self, t: torch.Tensor) -> torch.Tensor:
        return -t


def test_gaussian_init_zeroes_a_parametrized_bias_through_its_parametrization() -> None:
    """Mutants: the ``is_parametrized(m, "bias")`` branch skipped (``m.bias.zero_()`` on the computed tensor:
    nothing changed), and ``zeros_like`` → ``ones_like``."""
    from swapnas.scoring import gaussian_init
    conv = nn.Conv2d(3, 4, 3)
    nn.init.constant_(conv.bias, 0.5)
    nn.utils.parametrize.register_parametrization(conv, "bias", _Negated())
    assert conv.bias.abs().min() > 0
    gaussian_init(conv, torch.Generator().manual_seed(0))
    assert torch.equal(conv.bias, torch.zeros(4))


# --- search: a resumed search with another dataset names the flag --------------------------------------------------

def test_run_search_names_the_protocols_part_that_differs_on_resume(small_bundle: Path, tmp_path: Path) -> None:
    """Mutants: run_search's ``_resume`` without the protocols (None), or with the store's only (the running
    search's own protocol is not stored yet): the refusal named two digests, not --dataset."""
    from swapnas.search.driver import run_search
    from swapnas.search.evolution import EAConfig
    from swapnas.store import ScoreStore
    common = {"config": EAConfig(population=4, sample=2, mutations=2, cycles=1), "seed": 0, "device": CPU,
              "net": {"C": 4, "N": 1}, "batch_size": 8, "repeats": 1, "data_dir": str(small_bundle),
              "progress": False, "fitness": "params", "refine": 0, "out": tmp_path / "out"}
    with ScoreStore(tmp_path / "s.sqlite") as store:
        run_search("nb201", "cifar10", store=store, **common)
        with pytest.raises(ValueError, match=re.escape("another fitness or constraints: --dataset 'cifar10' (now "
                                                       "'cifar100'); use another --out folder")):
            run_search("nb201", "cifar100", store=store, **common)


def test_fitness_mismatch_falls_back_to_the_digests_when_this_searchs_protocol_is_unknown() -> None:
    """Mutant: ``and mine.get(k) in known`` dropped (a KeyError when the saved protocol is known and this one not)."""
    from swapnas.search.driver import fitness_mismatch
    saved = {"proxy": "swap@1", "protocol": "aaaa"}
    mine = {"proxy": "swap@1", "protocol": "bbbb"}
    why = fitness_mismatch(Path("s"), saved, mine, {"aaaa": {"dataset": "cifar10"}})
    assert "the scoring protocol 'aaaa' (now 'bbbb')" in why


# --- api: _copy's re-raised errors, _baked, rank's refusals -----------------------------------------------------------

class _Uncopyable(nn.Module):
    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.net, self.exc = _cnn(), exc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def __deepcopy__(self, memo: dict) -> nn.Module:
        raise self.exc


@pytest.mark.parametrize("exc", [MemoryError("no memory"), torch.cuda.OutOfMemoryError("CUDA out of memory")],
                         ids=["MemoryError", "OutOfMemoryError"])
def test_a_copy_out_of_memory_is_raised_as_it_is(exc: BaseException) -> None:
    """Mutants: MemoryError dropped from _copy's re-raised kinds; the ``OutOfMemoryError`` name check dropped (each
    was said as a model that cannot be copied)."""
    import swapnas
    with pytest.raises(type(exc)) as info:
        swapnas.score(_Uncopyable(exc), torch.randn(4, 3, 8, 8), "params")
    assert info.value is exc and not isinstance(info.value, swapnas.UnsupportedModel)


def test_a_baked_copy_holds_no_parametrization_tensors() -> None:
    """Mutant: ``del module._modules["parametrizations"]`` dropped (the copy kept weight_norm's original0/1 beside
    the plain weight: params counted them twice)."""
    import swapnas
    from swapnas.api import _initialised
    normed = _cnn()
    nn.utils.parametrizations.weight_norm(normed[0])
    copy = _initialised(normed, "none", 0, 0)
    assert sorted(n for n, _ in copy.named_parameters()) == ["0.bias", "0.weight", "3.bias", "3.weight"]
    x = torch.randn(4, 3, 8, 8)
    assert swapnas.score(normed, x, "params")["params"] == swapnas.score(_cnn(), x, "params")["params"]


def test_a_parametrized_buffer_with_a_learnable_parametrization_stays_a_buffer() -> None:
    """Mutant: ``parameters(recurse=False)`` → ``recurse=True`` (the parametrization's own parameter made the baked
    buffer a parameter)."""
    from swapnas.api import _initialised

    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.tensor(2.0))

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return t * self.scale
    bn = nn.BatchNorm2d(8)
    nn.utils.parametrize.register_parametrization(bn, "running_mean", Scaled())
    made = _initialised(nn.Sequential(nn.Conv2d(3, 8, 3), bn), "none", 0, 0)
    assert "running_mean" in dict(made[1].named_buffers())
    assert "running_mean" not in dict(made[1].named_parameters())


def test_rank_refuses_a_string_of_models_by_its_type() -> None:
    """Mutant: ``str`` dropped from the refused iterables (a string read as models, one per character)."""
    import swapnas
    with pytest.raises(TypeError, match=re.escape("rank takes several models (a dict of name: model or a list), "
                                                  "not str")):
        swapnas.rank("ab", torch.randn(4, 3, 8, 8), "params")  # type: ignore[arg-type]


def test_rank_refuses_a_frozenset_of_proxies() -> None:
    """Mutant: ``(set, frozenset)`` → ``set`` (a frozenset's order changes from run to run as a set's does)."""
    import swapnas
    with pytest.raises(TypeError, match=re.escape("rank ranks by the first proxy, and a set has no first one "
                                                  "(['l2_norm', 'params']): give a list")):
        swapnas.rank([_cnn(), _cnn()], torch.randn(4, 3, 8, 8), frozenset({"params", "l2_norm"}))


# --- stats -----------------------------------------------------------------------------------------------------------

def test_compare_spearman_needs_one_resample_and_takes_a_list_of_signs() -> None:
    """Mutants: compare_spearman's least n_boot 1 → 0; ``(tuple, list)`` → ``tuple`` (a list of two bools
    refused)."""
    from swapnas.stats import compare_spearman
    x, y = np.arange(8.0), np.arange(8.0)
    with pytest.raises(ValueError, match=re.escape("n_boot is the number of bootstrap resamples, an integer 1 or more "
                                                   "(got 0)")):
        compare_spearman(x, x, y, n_boot=0)
    as_list = compare_spearman(x, -x, y, higher_is_better=[True, False], n_boot=20)
    assert as_list == compare_spearman(x, -x, y, higher_is_better=(True, False), n_boot=20)


def test_correlate_says_that_zero_resamples_gives_no_interval() -> None:
    """Mutant: the note "; 0 gives no interval" dropped from correlate's n_boot refusal."""
    from swapnas.stats import correlate
    with pytest.raises(ValueError) as info:
        correlate(np.arange(8.0), np.arange(8.0), n_boot=-1)
    assert str(info.value) == ("n_boot is the number of bootstrap resamples, an integer 0 or more (got -1); 0 gives no "
                               "interval")


# --- size_prior.regularise -------------------------------------------------------------------------------------------

def test_regularise_refuses_a_mu_that_is_not_a_number() -> None:
    """Mutant: ``mu`` dropped from regularise's checked arguments (True taken as μ = 1)."""
    import swapnas
    with pytest.raises(TypeError, match=re.escape("regularise's mu is a number, not True")):
        swapnas.regularise(5, _cnn(), mu=True, sigma=2.0)  # type: ignore[arg-type]


# --- swap_checks -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dims", [(0,), (True,)], ids=["zero", "bool"])
def test_swap_score_refuses_a_rank_below_one_or_a_bool(dims: tuple) -> None:
    """Mutants: ``d >= 1`` → ``d >= 0``; ``not isinstance(d, bool)`` dropped."""
    from swapnas.patterns import swap_score
    with pytest.raises(TypeError, match=re.escape(f"input_dims are tensor ranks, integers >= 1, e.g. (4,) for conv "
                                                  f"maps or (2, 3, 4) (got {dims!r})")):
        swap_score(_cnn(), torch.randn(4, 3, 8, 8), input_dims=dims)


@pytest.mark.parametrize("inputs", [
    (torch.randn(4, 3, 8, 8), torch.randint(0, 10, (4, 1))),  # labels of another shape: not a pair of (x, labels)
    (torch.randn(4, 3, 8, 8), torch.randint(0, 10, (4,)), torch.randint(0, 10, (4,))),  # three tensors
], ids=["2-D labels", "three"])
def test_swap_score_names_a_pair_only_for_x_and_a_vector_of_labels(inputs: tuple) -> None:
    """Mutants: ``inputs[1].dim() == 1`` dropped; ``len(inputs) == 2`` → ``>= 2``."""
    from swapnas.patterns import swap_score
    with pytest.raises(TypeError) as info:
        swap_score(_cnn(), inputs)
    assert "labels" not in str(info.value) and "forward() takes 2 positional arguments" in str(info.value)


def test_swap_score_names_the_dtype_of_float_inputs_only() -> None:
    """Mutant: ``inputs.is_floating_point()`` dropped (integer inputs told to be cast to the weights' dtype)."""
    from swapnas.patterns import swap_score
    with pytest.raises(RuntimeError) as info:
        swap_score(_cnn().double(), torch.randint(0, 5, (4, 3, 8, 8)))
    assert "pass x.to" not in str(info.value)


# --- store: scores made before code records, under a proxy with options -----------------------------------------------

def _old_store(path: Path) -> Path:
    from swapnas.store import Record, ScoreKey, ScoreStore
    with ScoreStore(path) as store:
        store.put(ScoreKey("nb201", "a", "swap_reg@1[mu=1,sigma=2]", "fp", 0, 8, 1, "{}"),
                  Record("ok", 1.0, 0.0, [1.0], 0.1, None, None))
    with sqlite3.connect(path) as db:  # as a store of before code records: no table
        db.execute("DROP TABLE proxy_code")
    return path


def test_a_proxy_with_options_scored_before_code_records_is_unrecorded(tmp_path: Path) -> None:
    """Mutants: ``substr(proxy, 1, len(name) + 1)`` → ``len(name)`` (a proxy stored with options never matched its
    name: its old scores were stamped with the running code); ``p.partition("[")[0]`` → ``p`` (the options kept in
    the names listed)."""
    from swapnas.store import UNRECORDED, ScoreStore
    path = _old_store(tmp_path / "old.sqlite")
    with ScoreStore(path, read_only=True) as store:
        assert store.unrecorded_code() == ["net:nb201@1", "swap_reg@1"]
        assert store.code_changed("swap_reg@1", "x") == UNRECORDED
        assert store.code_changed("swap_reg", "x") is None  # a prefix without its version is another name


# --- code_changes' and store_tools' messages --------------------------------------------------------------------------

def test_the_warning_on_scores_made_before_code_records_says_what_cannot_be_told(tmp_path: Path) -> None:
    """Mutant: "(whether its function made them cannot be told)" dropped from the warning."""
    from swapnas import code_changes
    from swapnas.proxies import get_proxy
    from swapnas.store import Record, ScoreKey, ScoreStore
    path = tmp_path / "old.sqlite"
    with ScoreStore(path) as store:
        store.put(ScoreKey("nb201", "a", "params@1", "fp", 0, 8, 1, "{}"), Record("ok", 1.0, 0.0, [1.0], 0.1, None,
                                                                                None))
        store.accept_code("net:nb201@1", "dddd")  # only the proxy's scores are unrecorded
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM proxy_code WHERE proxy = 'params@1'")
    code_changes._CODE_CHECKED.clear()
    with ScoreStore(path) as store, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code_changes.warn_changed_code(store, [get_proxy("params")])
    said = [str(w.message) for w in caught]
    assert said and said[0].startswith(f"proxy 'params': the scores in {path} were made before swapnas recorded code "
                                       "beside scores (whether its function made them cannot be told), under the same "
                                       "version 1, so those scores are reused as they are.")


def test_check_names_accept_code_for_scores_made_before_code_records(tmp_path: Path) -> None:
    """Mutant: the line's "(a run warns … `swapnas store accept-code` records the code that runs now)" dropped."""
    from swapnas.store_tools import check_store, check_text
    path = _old_store(tmp_path / "old.sqlite")
    (line,) = [ln for ln in check_text(check_store(path)).splitlines() if "before the store recorded code" in ln]
    assert line == ("  scores made before the store recorded code: net:nb201@1, swap_reg@1 (a run warns that what made "
                    "them cannot be compared; `swapnas store accept-code` records the code that runs now)")


# --- store merge ------------------------------------------------------------------------------------------------------

def test_merge_does_not_call_a_source_s_recorded_code_unknown(tmp_path: Path) -> None:
    """Mutant: the source's recorded names not passed to ``unrecorded_names`` (a source that records swap@1, as INTO
    does, had its swap@1 scores said to be made before stores recorded code)."""
    from swapnas.store import Record, ScoreKey, ScoreStore
    from swapnas.store_merge import merge_stores, merge_text
    source, into = tmp_path / "source.sqlite", tmp_path / "into.sqlite"
    with ScoreStore(source) as store:
        store.put(ScoreKey("nb201", "a", "swap@1", "fp", 0, 8, 1, "{}"), Record("ok", 1.0, 0.0, [1.0], 0.1, None,
                                                                              None))
        store.accept_code("swap@1", "dddd")
        store.accept_code("net:nb201@1", "eeee")
    with ScoreStore(into) as store:
        store.accept_code("swap@1", "dddd")
        store.accept_code("net:nb201@1", "eeee")
    merged = merge_stores([source], into)
    assert merged.unknown_code == [] and merged.other_code == [] and "before stores recorded" not in merge_text(merged)


# --- search: the message of a resumed search whose cycles are done ---------------------------------------------------

def test_resume_line_of_a_search_whose_cycles_are_done_says_if_any(tmp_path: Path) -> None:
    """Mutant: ", if any," dropped from "its second stage, if any, runs now" (a search without one was told it)."""
    from swapnas.cli.search_command import resume_line
    from swapnas.search.evolution import EAConfig
    config = EAConfig(population=4, sample=2, mutations=2, cycles=3, crossover=0.0)
    state = {"fitness": {"size_prior": None}, "ea": {"cycle": 3, "history": [1] * 7, "seed": 0, "config": {
        "population": 4, "sample": 2, "mutations": 2, "cycles": 3, "crossover": 0.0}}}
    (tmp_path / "state.json").write_text(json.dumps(state))
    assert resume_line(tmp_path, config, 0) == (
        f"the search saved in {tmp_path / 'state.json'} finished its cycles (7 evaluations): its second stage, if "
        "any, runs now (scores stored before are read back)")


def test_fitness_mismatch_names_the_digests_when_the_known_protocols_differ_in_nothing_fingerprinted() -> None:
    """Mutant: the ``or`` fallback after protocol_changes dropped (two fingerprints whose stored descriptions agree, a
    store of an older fingerprint rule, said nothing: "constraints: ; use another")."""
    from swapnas.search.driver import fitness_mismatch
    same = {"dataset": "cifar10", "init": "gaussian", "fingerprint": "x"}
    why = fitness_mismatch(Path("s"), {"protocol": "aaaa"}, {"protocol": "bbbb"}, {"aaaa": same, "bbbb": same})
    assert why == ("s holds a search with another fitness or constraints: the scoring protocol 'aaaa' (now 'bbbb'); "
                   "use another --out folder or the same settings")


def test_max_evals_equal_to_the_population_is_not_said(monkeypatch, caplog, tmp_path: Path) -> None:
    """Mutant: ``args.max_evals < config.population`` → ``<=`` (--max-evals 4 with --population 4 scores the
    population whole, as asked: no warning)."""
    import logging

    from swapnas.cli import search_command

    def stop(*a: object, **kw: object) -> None:
        raise RuntimeError("stopped here")
    monkeypatch.setattr(search_command, "run_search", stop)
    monkeypatch.setattr(search_command, "_search_checks", lambda args: "swap@1")
    argv = ["search", "--space", "nb201", "--population", "4", "--out", str(tmp_path / "o"), "--device", "cpu",
            "--workers", "1", "--max-evals", "4"]
    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError, match="stopped here"):
        search_command.search_run(cli.build_parser().parse_args(argv))
    assert "is below --population" not in caplog.text
