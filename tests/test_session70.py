"""Session 70: the scoring processes' torch threads in every scoring command's provenance (each test failed on the
code as found, def439e: correlate, grid and search recorded no thread count, though a CPU score's last bits can
depend on it; train alone did, since session 68)."""
from __future__ import annotations

import argparse
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

import swapnas
from swapnas.search.result import SearchResult
from swapnas.proxies import get_proxy, resolve

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


# ----------------------------------------------------------------------------- stored seconds (helper `costs`)

SLOW = 0.6  # seconds a stand-in build takes (a pass of these tiny networks takes milliseconds: room under load)
CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|"


def _slow_build(arch, **kw):  # type: ignore[no-untyped-def]
    from swapnas.spaces import nb201

    time.sleep(SLOW)
    return nb201.build(arch, **kw)


def _score(proxies, build=_slow_build):  # type: ignore[no-untyped-def]
    from swapnas.bundle import Batch
    from swapnas.scoring import Protocol, score_arch

    g = torch.Generator().manual_seed(0)
    batch = Batch(torch.randn(8, 3, 16, 16, generator=g), torch.randint(0, 10, (8,), generator=g), 10, "cifar10",
                  "test", 8)
    protocol = Protocol(space="nb201", dataset="cifar10", batch_size=8, repeats=2, net={"C": 4, "N": 1})
    return score_arch(CELL, build, proxies if isinstance(proxies, list) else resolve(proxies), batch, protocol,
                      torch.device("cpu"))


def test_a_metrics_stored_seconds_do_not_depend_on_the_metrics_scored_beside_it() -> None:
    """The arch's network is built once for all its metrics (NetPool): the first metric that built it was timed with
    the build, the others not (a 0.3 s build: l2_norm alone 0.64 s, after swap 0.006 s). Every metric's seconds are
    now its passes', the builds left out."""
    alone = _score("l2_norm")["l2_norm"].seconds
    beside = _score("swap,l2_norm")
    assert alone < SLOW / 2 and beside["l2_norm"].seconds < SLOW / 2 and beside["swap"].seconds < SLOW / 2
    swap_prog = _score("swap_prog")  # a derived metric: its bases' passes and its own step, no build in any
    assert swap_prog["swap_prog"].seconds == pytest.approx(
        swap_prog["swap"].seconds + swap_prog["az_nas_progressivity"].seconds, abs=SLOW / 2)


def test_a_failed_derived_metrics_seconds_include_its_bases() -> None:
    """export.py: "a derived proxy's [seconds] includes its bases'": a derived metric whose base failed had 0.0."""
    def failing_build(arch, **kw):  # type: ignore[no-untyped-def]
        time.sleep(SLOW)
        raise RuntimeError("this arch cannot be built")

    out = _score([get_proxy("swap_reg").configure(mu=100.0, sigma=100.0)], failing_build)
    assert not out["swap"].ok and out["swap"].seconds >= SLOW  # (a failure: the wall time until it failed)
    assert not out["swap_reg"].ok and out["swap_reg"].seconds >= out["swap"].seconds


def test_the_grids_plan_counts_the_scores_it_stores(small_bundle: Path, tmp_path: Path, capsys) -> None:
    """"1 column x 1 proxy … = at most 2 scores", then 4 rows stored (swap_reg and its base swap per arch)."""
    store = tmp_path / "s.sqlite"
    code, _, err = run_cli(["grid", "--benchmarks", "nb301", "--proxies", "swap_reg", "--archs", "2", "--seed",
                            "0", "--data-dir", str(small_bundle), "--store", str(store), "--out", str(tmp_path / "g"),
                            "--no-progress"], capsys)
    assert code == 0, err
    (rows,) = sqlite3.connect(store).execute("SELECT COUNT(*) FROM scores").fetchone()
    assert rows == 4 and "x 1 proxy, archs per column: nb301 2 = at most 4 scores (2 stored per arch: derived " \
                          "metrics' bases, not set-level ones)" in err
    from swapnas.grid import grid_plan  # te_nas: its two parts stored, not itself (the review: "3 per arch", 2 stored)

    assert "x 3 proxies, archs per column: nb201 5 = at most 10 scores (2 stored per arch" in grid_plan(
        [("nb201", "cifar10")], 3, 5, {}, per_arch=2)


def test_a_rerun_of_a_finished_search_with_target_params_keeps_its_wall_time(small_bundle: Path, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The second stage's seconds were saved (session 49) so that a rerun of a finished search rewrites the same
    figures; the --target-params mapping was timed again by every process and added (1.25, 1.69, 2.03 s)."""
    from swapnas.search import EAConfig, driver, run_search
    from swapnas.store import ScoreStore

    monkeypatch.setattr(driver, "final_macs", lambda *a: 0.0)  # (as tests/test_search_review17.py)
    real, calls = driver.size_prior, []

    def size_prior(*args, **kwargs):  # type: ignore[no-untyped-def]  # the first run's mapping takes 0.5 s longer
        mu, sigma, mapping = real(*args, **kwargs)
        calls.append(1)
        return mu, sigma, {**mapping, "seconds": mapping["seconds"] + 0.5 * (len(calls) == 1)}

    monkeypatch.setattr(driver, "size_prior", size_prior)
    with ScoreStore(tmp_path / "s.sqlite") as store:
        kw = dict(store=store, fitness="swap_reg", target_params=0.5, net={"C": 4}, repeats=1, refine=0,
                  config=EAConfig(population=4, sample=2, mutations=2, cycles=1), seed=0, device=torch.device("cpu"),
                  data_dir=str(small_bundle), progress=False, out=tmp_path / "out")
        first = run_search("nb201", "cifar10", **kw)
        again = run_search("nb201", "cifar10", **kw)
    assert first.size_mapping is not None and again.best == first.best and len(calls) == 2
    assert again.size_mapping == first.size_mapping and again.wall_seconds == pytest.approx(first.wall_seconds,
                                                                                            abs=0.1)


def test_the_search_bar_redraws_at_its_interval_in_a_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bar redraws every 30 s where stderr is not a terminal (session 58); the search's set_postfix redrew after
    every cycle: a 20-minute search wrote one line per cycle into its log."""
    import io
    import re
    import sys

    from swapnas.search import EAConfig, Evolution
    from swapnas.search.driver import Fitness, evolve
    from swapnas.spaces import nb201
    from swapnas.store import Record

    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    fit = Fitness(get_proxy("params"), nb201, {}, 10)
    ea = Evolution(nb201, EAConfig(population=4, sample=2, mutations=2, cycles=8), 0)

    def score(archs):  # type: ignore[no-untyped-def]
        return [Record("ok", float(len(str(a))), 0.0, [], 0.0, None, None) for a in archs]

    evolve(ea, score, fit, tmp_path / "state.json", {}, progress=True)
    draws = [d for d in re.split(r"[\r\n]", log.getvalue()) if "cycle" in d]
    assert 1 <= len(draws) <= 3, draws  # the first draw, the last, the close (was one more per cycle)


def test_naslibs_seconds_are_its_mean_over_the_archs_compared() -> None:
    """conformance's "naslib s/arch" was NASLib's mean time over every arch of its file (725), beside our mean over
    the archs compared: with 5 archs, l2_norm 0.155 s where NASLib's own mean over those 5 is 0.117 s."""
    import numpy as np

    from swapnas.conformance import NaslibScores

    times = np.array([1.0, 2.0, np.nan, 4.0, 8.0])
    ns = NaslibScores("nb201", "cifar10", Path("zc.json"), [], [], np.zeros(5), {}, {}, {"l2_norm": 3.75}, [],
                      {"l2_norm": times})
    assert ns.seconds_over("l2_norm", [0, 3]) == 2.5 and ns.seconds_over("l2_norm", [2, 4]) == 8.0
    assert np.isnan(ns.seconds_over("l2_norm", [2]))  # none stored for the archs compared


@pytest.mark.bundle
def test_conformance_reports_naslibs_seconds_over_its_archs(data_dir: Path, tmp_path: Path) -> None:
    import numpy as np

    from swapnas.conformance import load_naslib, run_conformance
    from swapnas.store import ScoreStore

    with ScoreStore(tmp_path / "s.sqlite") as store:
        run = run_conformance(space="nb201", dataset="cifar10", proxies="l2_norm", n_archs=3, store=store,
                              device="cpu", data_dir=str(data_dir), net={"C": 4, "N": 1}, progress=False)
    raw = json.loads(load_naslib("nb201", "cifar10", str(data_dir)).path.read_text())["cifar10"]
    (row,) = run.results
    assert row.naslib_seconds_per_arch == pytest.approx(np.mean([raw[k]["l2_norm"]["time"] for k in run.naslib_keys]))


def stale_store_runs(folder: Path, play: Callable[[Path], object]) -> tuple[list[bool], Callable[..., None]]:
    """An earlier invocation's store in ``folder``, and a stand-in for ``subprocess.run`` that records, for each
    command, whether a store was in its --out as it started, then plays it (``play(out)``)."""
    folder.mkdir(parents=True)
    (folder / "scores.sqlite").write_bytes(b"an earlier invocation's store")
    seen: list[bool] = []

    def run(cmd, **kw):  # type: ignore[no-untyped-def]
        out = Path(cmd[cmd.index("--out") + 1])
        seen.append((out / "scores.sqlite").exists())
        play(out)

    return seen, run


def test_perf_workers_times_each_run_on_a_fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its docstring: "each run … in a fresh output folder (fresh store)"; a second invocation with the same --out
    timed five commands that read every score back from the first one's OUT/NAME/scores.sqlite."""
    from .script_tools import load_perf

    workers = load_perf("workers")
    out = tmp_path / "perf"
    seen, run = stale_store_runs(out / "single", lambda target: (target / "results.json").write_text(
        json.dumps({"scores": {}, "results": []})))
    monkeypatch.setattr(workers.subprocess, "run", run)
    workers._run("single", ["--workers", "1", "--threads", "1"], argparse.Namespace(out=str(out), archs=3,
                                                                                   data_dir="x"))
    assert seen == [False]


# ----------------------------------------------------------------------------- the search's second stage (helper `evo`)

def _tiny_search(tmp_path: Path, **options: object) -> SearchResult:
    return swapnas.search_arch("nb201", "cifar10", out=tmp_path / "out", store=str(tmp_path / "s.sqlite"),
                               data_dir=DATA, device="cpu", workers=1, no_progress=True, seed=2, fitness="swap_reg",
                               **options)


def test_refine_k_records_the_archs_re_scored(tmp_path: Path) -> None:
    """outputs.md: ``refine.k`` is "archs re-scored"; with fewer evaluations than --refine it said --refine's K."""
    result = _tiny_search(tmp_path, population=4, cycles=0, refine=6, refine_net={"N": 2}, refine_repeats=1)
    assert result.refine is not None and result.refine["k"] == len(result.refine["shortlist"]) == 4


def test_a_given_mu_sigma_on_a_second_stage_of_another_network_is_warned_of(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """--mu 300 --sigma 20000 (thousands of the N=1 network's parameters) applied as given to the stage's N=5
    networks (700-1100 k parameters): f(Θ) ≈ e^-20 and the stage picked the smallest network, without a word."""
    with caplog.at_level("WARNING", logger="swapnas"):
        _tiny_search(tmp_path, population=4, cycles=0, mu=300.0, sigma=20000.0, refine=4, refine_net={"N": 2},
                     refine_repeats=1)
    (said,) = [r.getMessage() for r in caplog.records if "--mu/--sigma" in r.getMessage()]
    assert "applied as given to the second stage's network (C=16,N=2), not the first stage's (C=16,N=1)" in said


def test_the_report_calls_a_fitness_the_second_stages_only_where_it_re_scored_one() -> None:
    """Every re-score failed: the first stage's arch and fitness are returned, under "fitness (second stage, below)"."""
    from swapnas.results import provenance
    from swapnas.search.driver import search_report

    best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"

    def header(refined: float) -> str:
        refine = {"k": 1, "repeats": 1, "batch_size": 20, "net": {"C": 16, "N": 5},
                  "shortlist": [{"arch": best, "fitness": 13.02, "refined": refined}]}
        result = SearchResult("nb201", "cifar10", best, 13.02, 1.073, 153.3, 5, 0, 1.0, 0,
                              {"population": 5, "sample": 5, "mutations": 5, "cycles": 0, "crossover": 0.5}, {}, None,
                              None, None, {"max_params_m": None, "max_macs_m": None},
                              [{"evaluation": 1, "cycle": 0, "arch": best, "fitness": 13.02}],
                              [{"evaluations": 1, "cycle": 0, "best": 13.02, "population_mean": 13.02,
                                "population_min": 13.02}], fitness_proxy="swap_nb201@1", refine=refine)
        return next(line for line in search_report(result, provenance("cpu")).splitlines()
                    if line.startswith("| returned arch"))

    assert "second stage" not in header(float("-inf")) and "fitness (second stage, below)" in header(14.5)


def test_max_seconds_help_says_when_it_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    """`--max-seconds 2` ran 17.6 s: the initial population is scored whole and the second stage after; its help said
    only "stop after this many seconds"."""
    from swapnas.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    at = text.index("--max-seconds MAX_SECONDS ")
    assert "checked between cycles" in text[at:at + 300] and "second stage runs after it" in text[at:at + 300]



# ----------------------------------------------------------------------------- numbers as printed (helper `digits`)

def test_a_refused_size_lies_visibly_outside_the_printed_range() -> None:
    """"--max-params 0.0733M is below the smallest final network of this space (0.073M; its range is
    0.073-1.532M)": 0.0733 is not below 0.073 as printed; "--target-params 1.5316M is outside … 0.073-1.532M"
    neither."""
    from swapnas.search.final import check_max_params, check_target_params, final_net
    from swapnas.spaces import nb201

    final = final_net("nb201", "cifar10")
    with pytest.raises(ValueError, match=r"\(0\.073306M; its range is 0\.073306-1\.531546M\)"):
        check_max_params(nb201, final, 0.0733)
    for outside in (0.0733, 1.5316):
        with pytest.raises(ValueError, match=r"outside this space's range: 0\.073306-1\.531546M for"):
            check_target_params(nb201, final, outside)


def test_a_fitness_is_written_the_same_way_everywhere() -> None:
    """The second stage's line wrote 4 digits (43966 and 43971 both "4.397e+04": the line's point, that the returned
    arch was not the first stage's best, was lost), the printout and report.md 6 ("1.23457e+06")."""
    from swapnas.search.driver import fitness_text, stage_text

    assert [fitness_text(v) for v in (43966.0, 43971.0, 15.147912, 1234567.4, -2e6, float("-inf"))] == [
        "43966", "43971", "15.1479", "1234567", "-2000000", "-inf"]
    refine = {"k": 2, "repeats": 1, "batch_size": 20, "net": {"C": 16, "N": 5},
              "shortlist": [{"arch": "a", "fitness": 43971.0, "refined": 1.0}, {"arch": "b", "fitness": 43966.0,
                                                                               "refined": 2.0}]}
    result = SearchResult("nb201", "cifar10", "b", 2.0, 1.0, 1.0, 2, 0, 1.0, 0, {}, {}, None, None, None, {}, [], [],
                          refine=refine)
    assert "ranked #2 (first-stage fitness 43966; the first stage's best 43971)" in str(stage_text(result))
