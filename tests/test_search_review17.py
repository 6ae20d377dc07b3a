"""The search (review findings, session 17), each pinned by the test that failed before its fix.

- ``--fitness swap_reg`` with a second stage on another network kept the first network's μ/σ.
- ``--refine K`` did nothing, silently, when the second stage's protocol equalled the first's.
- ``--mu`` without ``--sigma`` (or the reverse) with swap_reg took the other from another rule.
- The constraint error named ``--max-flops`` (the flag is ``--max-macs``); a ``--max-params`` below
  every final network was found only after ~1000 sampled archs.
- History entries' ``cycle`` was one behind the snapshots'.
- EAConfig's errors named no flag, and ``--population 3`` alone failed on the default K = 5.
- result.json's ``wall_seconds`` counted only the last process of a resumed search.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time

import pytest
import torch

from swapnas.cli import build_parser
from swapnas.proxies import get_proxy
from swapnas.search import EAConfig, Evolution, final_net, run_search
from swapnas.search import driver
from swapnas.search.driver import Fitness, evolve
from swapnas.search.final import range_prior
from swapnas.search.fitness import choose_fitness, size_prior
from swapnas.session import scoring_net
from swapnas.spaces import nb201
from swapnas.store import Record, ScoreStore

TINY = EAConfig(population=4, sample=2, mutations=2, cycles=1)


def _score(archs: list) -> list[Record]:
    return [Record("ok", float(int(hashlib.sha256(str(a).encode()).hexdigest()[:6], 16)), 0.0, [], 0.0, None, None)
            for a in archs]


class _Stop(Exception):
    pass


def _common(small_bundle, tmp_path) -> dict:
    return dict(config=TINY, seed=0, device=torch.device("cpu"), data_dir=str(small_bundle), progress=False,
                out=tmp_path / "out")


# ----------------------------------------------------------------------------- 2: swap_reg's second stage


def test_swap_reg_second_stage_on_another_network_gets_its_own_prior(small_bundle, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(driver, "final_macs", lambda *a: 0.0)  # FlopCounterMode's first use imports torch._dynamo
    with ScoreStore(tmp_path / "s.sqlite") as store:
        res = run_search("nb201", "cifar10", store=store, fitness="swap_reg", net={"C": 4}, repeats=1, refine=3,
                         refine_repeats=1, refine_net={"N": 2}, **_common(small_bundle, tmp_path))
    first = range_prior(nb201, {"C": 4, "N": 1}, 10, nb201.SEARCH_PRIOR)[:2]
    second = range_prior(nb201, {"C": 4, "N": 2}, 10, nb201.SEARCH_PRIOR)[:2]
    assert (res.mu, res.sigma) == pytest.approx(first)
    assert (res.refine["mu"], res.refine["sigma"]) == pytest.approx(second)  # was the first network's
    assert res.refine["net"] == {"C": 4, "N": 2}
    rows = sqlite3.connect(tmp_path / "s.sqlite").execute("SELECT DISTINCT proxy, net FROM scores").fetchall()
    keys = {json.loads(net)["N"]: proxy for proxy, net in rows}
    swap_reg = get_proxy("swap_reg")
    assert keys == {1: swap_reg.configure(mu=res.mu, sigma=res.sigma).key,
                    2: swap_reg.configure(mu=res.refine["mu"], sigma=res.refine["sigma"]).key}


def test_explicit_mu_sigma_are_kept_for_the_second_stage(small_bundle, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(driver, "final_macs", lambda *a: 0.0)
    with ScoreStore(tmp_path / "s.sqlite") as store:
        res = run_search("nb201", "cifar10", store=store, fitness="swap_reg", net={"C": 4}, repeats=1, refine=3,
                         refine_repeats=1, refine_net={"N": 2}, mu=50.0, sigma=400.0, **_common(small_bundle, tmp_path))
    assert (res.refine["mu"], res.refine["sigma"]) == (50.0, 400.0)


# ----------------------------------------------------------------------------- 3: an idle --refine


@pytest.mark.parametrize("fitness", ["params", "swap_reg"])
def test_refine_equal_to_the_first_stage_warns_before_the_search(small_bundle, tmp_path, monkeypatch, caplog,
                                                                  fitness) -> None:
    def stop(*args, **kwargs):
        raise _Stop

    monkeypatch.setattr(driver, "evolve", stop)  # the warning must come before the search runs
    with ScoreStore(":memory:") as store, caplog.at_level(logging.WARNING), pytest.raises(_Stop):
        run_search("nb201", "cifar10", store=store, fitness=fitness, refine=5, **_common(small_bundle, tmp_path))
    text = caplog.text
    assert "--refine 5 does nothing" in text and "--refine-repeats" in text and "--refine-net" in text
    caplog.clear()
    with ScoreStore(":memory:") as store, caplog.at_level(logging.WARNING), pytest.raises(_Stop):
        run_search("nb201", "cifar10", store=store, fitness=fitness, refine=5, refine_net={"N": 2},
                   **_common(small_bundle, tmp_path))
    assert "does nothing" not in caplog.text


# ----------------------------------------------------------------------------- 4: half a prior


@pytest.mark.parametrize("mu, sigma", [(200.0, None), (None, 500.0)])
@pytest.mark.parametrize("fitness", ["swap_reg", "best"])
def test_mu_without_sigma_is_refused_for_every_fitness(mu, sigma, fitness) -> None:
    chosen, _ = choose_fitness("nb201", fitness)
    net = scoring_net("nb201", "cifar10", {}, nb201.SCORING_DEFAULTS["net"])
    with pytest.raises(ValueError, match="give both --mu and --sigma"):
        size_prior("nb201", chosen, net, final_net("nb201", "cifar10"), mu=mu, sigma=sigma, target_params=None,
                   tolerance=0.1, prior=None)


# ----------------------------------------------------------------------------- 5: constraints


def test_no_feasible_arch_names_the_real_flags() -> None:
    with pytest.raises(ValueError) as err:
        Evolution(nb201, EAConfig(), seed=0, feasible=lambda a: False, max_tries=50).ask()
    assert "--max-macs" in str(err.value) and "--max-flops" not in str(err.value)


def test_max_params_below_every_final_network_is_refused_at_once(small_bundle, tmp_path) -> None:
    with ScoreStore(":memory:") as store, pytest.raises(ValueError) as err:
        run_search("nb201", "cifar10", store=store, fitness="params", max_params=0.01,
                   **_common(small_bundle, tmp_path))
    assert "--max-params 0.01M is below the smallest final network" in str(err.value)
    assert "0.073" in str(err.value)  # the range, so the user can pick a limit
    assert not (tmp_path / "out").exists()  # refused before OUT was made


# ----------------------------------------------------------------------------- 6: cycle labels


def test_history_cycle_is_the_cycle_that_made_the_arch() -> None:
    ea = Evolution(nb201, EAConfig(population=4, sample=2, mutations=2, cycles=3), seed=0)
    while not ea.done:
        archs = ea.ask()
        ea.tell(archs, [r.value for r in _score(archs)])
    assert [h["cycle"] for h in ea.history[:4]] == [0] * 4  # the initial population
    for snap in ea.snapshots:  # each snapshot's new evaluations carry its cycle
        made = [h for h in ea.history if h["evaluation"] <= snap["evaluations"]]
        assert max(h["cycle"] for h in made) == snap["cycle"]
    assert {h["cycle"] for h in ea.history[4:]} == {1, 2, 3}


# ----------------------------------------------------------------------------- 9: EA settings


def test_ea_config_errors_name_the_flags() -> None:
    with pytest.raises(ValueError, match=r"--sample K must be in 1\.\.population=3 \(got 5\): lower --sample or raise "
                                         "--population"):
        EAConfig(population=3, sample=5)
    with pytest.raises(ValueError, match="--population must be >= 2"):
        EAConfig(population=1)
    with pytest.raises(ValueError, match="--mutations"):
        EAConfig(mutations=0)


@pytest.mark.parametrize("argv, sample", [(["--population", "3"], 3), (["--population", "30"], 5),
                                          (["--sample", "2", "--population", "3"], 2),
                                          (["--population", "3", "--sample", "2"], 2), ([], 5)])
def test_population_alone_lowers_the_default_tournament(argv, sample) -> None:
    args = build_parser().parse_args(["search", "--out", "x", *argv])
    assert args.sample == sample
    EAConfig(args.population, args.sample, args.mutations, args.cycles, args.crossover)  # valid


# ----------------------------------------------------------------------------- 11: wall seconds


def test_wall_seconds_of_a_resumed_search_count_every_process(tmp_path) -> None:
    fit = Fitness(get_proxy("params"), nb201, {}, 10)
    ea = Evolution(nb201, EAConfig(population=4, sample=2, mutations=2, cycles=3), 0)
    state = tmp_path / "state.json"
    evolve(ea, _score, fit, state, {}, max_evals=4, progress=False)
    saved = json.loads(state.read_text())
    saved["seconds"] = 100.0  # as if the first process had run for 100 s
    state.write_text(json.dumps(saved))
    resumed = Evolution(nb201, EAConfig(population=4, sample=2, mutations=2, cycles=3), 0)
    before = driver._resume(resumed, state, {})
    assert before == 100.0
    spent = evolve(resumed, _score, fit, state, {}, progress=False, seconds_before=before)
    assert 100.0 < json.loads(state.read_text())["seconds"] <= 100.0 + spent  # up to the last saved cycle
    assert resumed.cycle == 3


def test_the_second_stages_seconds_are_saved_once_and_reread_for_the_same_stage(tmp_path) -> None:
    # session 49: each run added its own second stage's seconds, so a rerun of a finished search (its stage read from
    # the store in a fraction of the time) rewrote result.json and report.md with a shorter wall time
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"fitness": {}, "ea": {}, "seconds": 24.5}))
    assert driver._saved_seconds(state, "stage A", 9.5) == 9.5
    assert json.loads(state.read_text()) == {"fitness": {}, "ea": {}, "seconds": 24.5,
                                             "stage2": {"key": "stage A", "seconds": 9.5}}
    assert driver._saved_seconds(state, "stage A", 0.3) == 9.5  # the rerun: the time it took, unchanged
    assert json.loads(state.read_text())["stage2"] == {"key": "stage A", "seconds": 9.5}
    assert driver._saved_seconds(state, "stage B", 4.0) == 4.0  # another stage: its own time, saved
    assert json.loads(state.read_text())["stage2"] == {"key": "stage B", "seconds": 4.0}
    for bad in (True, "9.5", None):  # not a number of seconds: timed again
        state.write_text(json.dumps({"seconds": 1.0, "stage2": {"key": "stage B", "seconds": bad}}))
        assert driver._saved_seconds(state, "stage B", 2.0) == 2.0


def test_a_rerun_of_a_finished_search_reports_its_wall_time_unchanged(small_bundle, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(driver, "final_macs", lambda *a: 0.0)  # FlopCounterMode's first use imports torch._dynamo
    real, calls = driver.second_stage, []

    def second_stage(*args, **kwargs):  # the first run's stage scores its short list: 0.5 s; the rerun reads it
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(driver, "second_stage", second_stage)
    with ScoreStore(tmp_path / "s.sqlite") as store:
        kw = dict(store=store, fitness="params", refine=3, refine_net={"N": 2}, **_common(small_bundle, tmp_path))
        first = run_search("nb201", "cifar10", **kw)
        again = run_search("nb201", "cifar10", **kw)
    saved = json.loads((tmp_path / "out" / "state.json").read_text())
    assert saved["stage2"]["seconds"] >= 0.5 and again.best == first.best and len(calls) == 2
    assert again.wall_seconds == pytest.approx(first.wall_seconds, abs=0.1)  # not 0.5 s shorter


# ----------------------------------------------------------------------------- 7: exporting a search's store


def test_naslib_export_of_a_search_store_names_what_differs(tmp_path, capsys) -> None:
    """A search's own store holds both stages under one fingerprint (other net and repeats): the advice
    was "export from a store that holds one setting (each run's own --store)", which that store is."""
    from swapnas.cli import main
    from swapnas.store import ScoreKey

    store = tmp_path / "s.sqlite"
    arch = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
    with ScoreStore(store) as s:
        for net, repeats in (('{"C": 16, "N": 1}', 1), ('{"C": 16, "N": 2}', 4)):
            s.put(ScoreKey("nb201", arch, "swap_nb201@1", "fp1", 0, 16, repeats, net),
                  Record("ok", float(repeats), 0.0, [float(repeats)], 0.5, None, None))
    assert main(["export", str(store), "--format", "naslib-zc", "--out", str(tmp_path / "zc.json")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert 'differ in repeats (1 / 4) and net ({"C": 16, "N": 1} / {"C": 16, "N": 2})' in err
    assert "a search's two stages under one S, or runs of other --repeats, share one" in err
    assert "--protocol cannot choose" in err
    assert "--format csv, which keeps every row with its repeats and net columns" in err
    assert "each run's own --store" not in err
    assert not (tmp_path / "zc.json").exists()


# ----------------------------------------------------------------------------- 9, 10: --help


def _help(command: str) -> dict[str, str]:
    """Each option's line(s) in `swapnas COMMAND --help`, by its flag."""
    import argparse

    from swapnas.cli.args import HelpFormatter

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    fmt = HelpFormatter(command, width=10_000)
    return {a.option_strings[-1]: " ".join(fmt._format_action(a).split()) for a in sub._actions if a.option_strings}


def test_search_dataset_help_names_every_searchable_space() -> None:
    from swapnas.spaces import get_space, searchable_spaces

    text = _help("search")["--dataset"]
    for space in searchable_spaces():
        assert f"{space}: {', '.join(get_space(space).FINAL_NETS)}" in text  # flexibert: glue was left out


@pytest.mark.parametrize("command, flag, shown", [
    *[(c, "--seed", "(default: 0)") for c in ("correlate", "grid", "search", "conformance", "train")],
    ("search", "--score-seed", "(default: 0)"),
    *[("search", f, "default: no limit)") for f in ("--max-evals", "--max-seconds", "--max-params", "--max-macs")],
    ("search", "--mu", "default: swap_reg: the space's rule"), ("search", "--sigma", "default: swap_reg: the space's"),
    ("search", "--data-dir", "~/.local/share/swapnas/data"), ("train", "--epochs", "--epochs N "),
    ("train", "--channels", "--channels C "), ("train", "--lr", "--lr X "),
])
def test_help_shows_each_default(command, flag, shown) -> None:
    assert shown in _help(command)[flag] + " "


def test_help_shows_every_set_default_and_leaks_no_internal_name() -> None:
    for command in ("correlate", "grid", "search", "conformance", "train", "export"):
        for flag, text in _help(command).items():
            assert "CFG_" not in text and "(default: {})" not in text, (command, text)


@pytest.mark.parametrize("flags, message", [
    (["--prior", "0.9", "0.5"], "--prior"),
    (["--mu", "300"], "give both --mu and --sigma"),
    (["--fitness", "params", "--max-params", "0.01M"], "below the smallest final network"),
])
def test_size_flags_are_refused_before_out_or_the_store_exist(flags, message, small_bundle, tmp_path, capsys) -> None:
    from swapnas.cli import main

    out = tmp_path / "out"
    code = main(["search", "--space", "nb201", "--dataset", "cifar10", "--data-dir", str(small_bundle),
                 "--out", str(out), "--no-progress", *flags])
    assert code == 2 and message in capsys.readouterr().err
    assert not out.exists()  # no OUT, no .lock, no empty scores.sqlite


def test_an_out_of_range_target_leaves_no_empty_store(small_bundle, tmp_path, capsys) -> None:
    from swapnas.cli import main

    out = tmp_path / "out"
    code = main(["search", "--space", "nb201", "--dataset", "cifar10", "--target-params", "50M",
                 "--data-dir", str(small_bundle), "--out", str(out), "--no-progress"])
    assert code == 2 and "outside this space's range: 0.073306-1.531546M" in capsys.readouterr().err
    assert not out.exists()  # refused before the store (and OUT) were made


def test_conformance_archs_beyond_naslibs_leave_no_empty_store(data_dir, tmp_path, capsys) -> None:
    from swapnas.cli import main

    out = tmp_path / "out"
    code = main(["conformance", "--space", "nb201", "--dataset", "cifar10", "--archs", "999999",
                 "--data-dir", str(data_dir), "--out", str(out), "--no-progress"])
    assert code == 2 and "archs in NASLib's nb201/cifar10 file" in capsys.readouterr().err
    assert not out.exists()


def test_a_resumed_search_says_where_it_resumes(tmp_path) -> None:
    # session 49: only the progress bar's start said that a search went on from a saved state
    from swapnas.cli.search_command import resume_line

    config = EAConfig(population=4, sample=2, mutations=2, cycles=3)
    assert resume_line(tmp_path, config, 0) is None  # nothing saved
    ea = Evolution(nb201, config, 0)
    evolve(ea, _score, Fitness(get_proxy("params"), nb201, {}, 10), tmp_path / "state.json", {}, max_evals=4,
           progress=False)
    assert resume_line(tmp_path, config, 0) == (f"resuming the search saved in {tmp_path / 'state.json'} at cycle "
                                                f"{ea.cycle} of 3 ({len(ea.history)} evaluations) unless its "
                                                "scoring protocol differs (checked next)")
    # another seed or population: refused here, before the search's setup, with the reason the EA would give
    with pytest.raises(ValueError, match=r"^the saved search state was made with --seed 0 \(now 1\); use another"):
        resume_line(tmp_path, config, 1)
    with pytest.raises(ValueError, match=r"made with --population 4 \(now 5\); use another --out folder"):
        resume_line(tmp_path, EAConfig(population=5, sample=2, mutations=2, cycles=3), 0)
    assert resume_line(tmp_path, EAConfig(population=4, sample=2, mutations=2, cycles=5), 0) == (
        f"extending the search saved in {tmp_path / 'state.json'} from 3 to 5 cycles (at cycle {ea.cycle}, "
        f"{len(ea.history)} evaluations) unless its scoring protocol differs (checked next)")
    evolve(ea, _score, Fitness(get_proxy("params"), nb201, {}, 10), tmp_path / "state.json", {}, progress=False)
    # session 50: a search stopped in its second stage was said to be "complete", and its stage then ran again
    assert resume_line(tmp_path, config, 0) == (f"the search saved in {tmp_path / 'state.json'} finished its cycles "
                                                f"({len(ea.history)} evaluations): its second stage, if any, runs now "
                                                "(scores stored before are read back)")
    driver._saved_seconds(tmp_path / "state.json", "stage", 1.0)  # what a finished second stage saves
    assert resume_line(tmp_path, config, 0) == (f"the search saved in {tmp_path / 'state.json'} is complete "
                                                f"({len(ea.history)} evaluations): its answer is read back "
                                                "unless the fitness or constraints differ (checked next)")
    (tmp_path / "state.json").write_text("{damaged")
    assert resume_line(tmp_path, config, 0) is None  # the search names the damage itself


def test_a_finished_search_given_more_cycles_ends_where_the_longer_search_does(small_bundle, tmp_path,
                                                                                monkeypatch) -> None:
    # session 50: a finished search could not be given more cycles (the saved state's settings had to match whole)
    monkeypatch.setattr(driver, "final_macs", lambda *a: 0.0)  # FlopCounterMode's first use imports torch._dynamo
    longer = EAConfig(population=4, sample=2, mutations=2, cycles=4)
    with ScoreStore(tmp_path / "s.sqlite") as store:
        kw = dict(store=store, fitness="params", refine=3, refine_net={"N": 2}, seed=0, device=torch.device("cpu"),
                  data_dir=str(small_bundle), progress=False)
        short = run_search("nb201", "cifar10", config=TINY, out=tmp_path / "out", **kw)
        extended = run_search("nb201", "cifar10", config=longer, out=tmp_path / "out", **kw)
        fresh = run_search("nb201", "cifar10", config=longer, out=tmp_path / "fresh", **kw)
    assert short.cycles == 1 and extended.cycles == fresh.cycles == 4
    assert extended.history[:len(short.history)] == short.history and len(extended.history) > len(short.history)
    assert (extended.best, extended.fitness, extended.history, extended.snapshots, extended.refine) == \
        (fresh.best, fresh.fitness, fresh.history, fresh.snapshots, fresh.refine)
    assert extended.config["cycles"] == 4
    saved = json.loads((tmp_path / "out" / "state.json").read_text())
    assert saved["ea"]["config"]["cycles"] == 4 and saved["ea"]["cycle"] == 4
    with ScoreStore(tmp_path / "s.sqlite") as store, pytest.raises(ValueError, match="cannot be shortened"):
        run_search("nb201", "cifar10", config=TINY, out=tmp_path / "out", **kw | {"store": store})


def test_a_search_results_repr_leaves_out_its_long_lists() -> None:
    # session 50: repr(SearchResult) ran to 5,302 characters, the second stage's short list among them
    from dataclasses import fields

    from swapnas.search import SearchResult
    assert {f.name for f in fields(SearchResult) if not f.repr} == {"history", "snapshots", "refine"}


@pytest.mark.parametrize("progress", [True, False])
def test_the_second_stage_shows_its_own_progress_bar(small_bundle, tmp_path, monkeypatch, progress) -> None:
    # session 50: after the EA's bar reached its end, the second stage ran ~10 s without a line
    monkeypatch.setattr(driver, "final_macs", lambda *a: 0.0)  # FlopCounterMode's first use imports torch._dynamo
    real, calls = driver.score_archs, []

    def score_archs(*args, **kwargs):
        calls.append((kwargs["progress"], kwargs["desc"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(driver, "score_archs", score_archs)
    with ScoreStore(tmp_path / "s.sqlite") as store:
        run_search("nb201", "cifar10", store=store, fitness="params", refine=3, refine_net={"N": 2},
                   **{**_common(small_bundle, tmp_path), "progress": progress})
    stage = (True, "second stage") if progress else (False, "")
    assert calls[-1] == stage and set(calls[:-1]) == {(False, "")}  # the EA's cycles: its own bar only
