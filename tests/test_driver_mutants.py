"""The search driver's pieces, each on its own: the state file, the budget loop, the refusals, the notes.

Written against the survivors of mutation testing ``swapnas.search.driver`` (session 32, docs/reliability.md): its
functions were reached mostly through whole searches, which check the arch returned and match messages in part.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import re
import sqlite3
import time
from contextlib import closing
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from swapnas.benchmarks import get_benchmark
from swapnas.executor_local import LocalExecutor
from swapnas.proxies import get_proxy
from swapnas.search import EAConfig, Evolution
from swapnas.search.driver import (FITNESS_FLAGS, _feasible, _resume, _save, check_failures, check_started, evolve,
                                   flexibert_extras, prior_text, run_search, search_notes)
from swapnas.search.final import final_macs, final_net, final_size, range_prior
from swapnas.scoring import with_bases
from swapnas.spaces import flexibert as fb
from swapnas.spaces import nb201
from swapnas.store import Record, ScoreStore
from tests.search_tools import search_result

CFG = EAConfig(population=4, sample=2, mutations=2, cycles=3)
FIT_ID = {"proxy": "probe@1", "size_prior": [1.0, 2.0]}


def _value(arch) -> float:
    return int(hashlib.sha256(str(arch).encode()).hexdigest()[:6], 16) / 16**6


def _score(archs: list) -> list[Record]:
    return [Record("ok", _value(a), 0.0, [_value(a)], 0.0, None, None) for a in archs]


class _Fitness:
    """What :func:`evolve` asks of a fitness: a record's value."""

    def value(self, arch, rec: Record) -> float:
        return rec.value if rec.ok else math.nan


def _damaged(path: Path) -> str:
    return f"the search state {path} is damaged ("


def test_save_names_the_state_and_what_to_do_when_it_cannot_write(tmp_path) -> None:
    (tmp_path / "file").write_text("")
    path = tmp_path / "file" / "state.json"  # its folder is a file
    with pytest.raises(ValueError) as err:
        _save(path, {"a": 1})
    assert str(err.value) == (f"cannot write the search state {path} (Not a directory); every score so far is in "
                              "the store: free space or fix the folder, then rerun the same command to resume from "
                              "the last saved cycle")
    _save(tmp_path / "state.json", {"a": [1, 2]})
    assert json.loads((tmp_path / "state.json").read_text()) == {"a": [1, 2]}


def _ran(cycles: int = 1) -> Evolution:
    ea = Evolution(nb201, CFG, 0)
    for _ in range(cycles):
        archs = ea.ask()
        ea.tell(archs, [_value(a) for a in archs])
    return ea


def test_resume_loads_a_saved_state_and_its_seconds(tmp_path) -> None:
    path = tmp_path / "state.json"
    assert _resume(Evolution(nb201, CFG, 0), path, FIT_ID) == 0.0  # no state: a new search
    saved = _ran(2)
    path.write_text(json.dumps({"fitness": FIT_ID, "ea": saved.state_dict(), "seconds": 7}))
    ea = Evolution(nb201, CFG, 0)
    seconds = _resume(ea, path, FIT_ID)
    assert seconds == 7.0 and isinstance(seconds, float) and ea.history == saved.history and ea.cycle == saved.cycle == 1
    path.write_text(json.dumps({"fitness": FIT_ID, "ea": saved.state_dict()}))  # written before seconds were kept
    assert _resume(Evolution(nb201, CFG, 0), path, FIT_ID) == 0.0


def test_resume_refuses_another_fitness_and_names_a_damaged_state(tmp_path) -> None:
    path, state = tmp_path / "state.json", _ran().state_dict()
    path.write_text(json.dumps({"fitness": {"proxy": "other"}, "ea": state}))
    with pytest.raises(ValueError) as err:
        _resume(Evolution(nb201, CFG, 0), path, FIT_ID)
    shown = ", ".join(f"{FITNESS_FLAGS[k]} {('other' if k == 'proxy' else None)!r} (now {v!r})"
                      for k, v in FIT_ID.items())
    assert str(err.value) == (f"{path} holds a search with another fitness or constraints: {shown}; "
                              "use another --out folder or the same settings")
    path.write_text(json.dumps({"fitness": {**FIT_ID, "size_prior": [9, 9], "old": 1}, "ea": state}))
    with pytest.raises(ValueError) as err:
        _resume(Evolution(nb201, CFG, 0), path, FIT_ID)
    assert str(err.value) == (f"{path} holds a search with another fitness or constraints: the size prior (--mu/--sigma, "
                              "--target-params, --prior) [9, 9] (now [1.0, 2.0]), old 1 (now None); use another --out "
                              "folder or the same settings")
    path.write_text(json.dumps({"fitness": None, "ea": state}))
    with pytest.raises(ValueError, match=r"constraints: None; use another"):
        _resume(Evolution(nb201, CFG, 0), path, FIT_ID)
    for doc, why in (("{", "JSONDecodeError"), ("[]", "AttributeError"), ('{"fitness": 1}', "KeyError: 'ea'"),
                     (json.dumps({"fitness": FIT_ID, "ea": {}}), "KeyError: 'config'"),
                     (json.dumps({"fitness": FIT_ID, "ea": state, "seconds": True}), "seconds True is not"),
                     (json.dumps({"fitness": FIT_ID, "ea": state, "seconds": "3"}), "seconds '3' is not"),
                     (json.dumps({"fitness": FIT_ID, "ea": state, "seconds": -1.0}), "seconds -1.0 is not"),
                     (json.dumps({"fitness": FIT_ID, "ea": state, "seconds": math.nan}), "seconds nan is not")):
        path.write_text(doc)
        with pytest.raises(ValueError) as err:
            _resume(Evolution(nb201, CFG, 0), path, FIT_ID)
        kind = "ValueError" if why.startswith("seconds") else why.split(":")[0]
        assert str(err.value).startswith(_damaged(path) + kind) and why in str(err.value), doc
        assert str(err.value).endswith(
            "); it holds only the search's progress (every score is in the store): delete it to restart the search "
            "(same settings: the same trajectory, every stored score reused), or restore it from a backup"), doc


def test_evolve_saves_every_cycle_with_the_seconds_of_every_process(tmp_path) -> None:
    path, ea = tmp_path / "state.json", Evolution(nb201, CFG, 0)
    seconds = evolve(ea, _score, _Fitness(), path, FIT_ID, progress=False, seconds_before=100.0)
    saved = json.loads(path.read_text())
    assert ea.done and ea.cycle == CFG.cycles and saved["ea"] == json.loads(json.dumps(ea.state_dict()))
    assert saved["fitness"] == FIT_ID and 100.0 < saved["seconds"] <= 100.0 + seconds
    assert [h["fitness"] for h in ea.history] == [_value(h["arch"]) for h in ea.history]


def test_evolve_stops_at_its_budgets(tmp_path) -> None:
    ea = Evolution(nb201, CFG, 0)
    seconds = evolve(ea, _score, _Fitness(), tmp_path / "a.json", FIT_ID, progress=False, max_evals=4)
    assert len(ea.history) == 4 and ea.cycle == 0  # the initial population reached the budget
    saved = json.loads((tmp_path / "a.json").read_text())["seconds"]
    assert isinstance(seconds, float) and 0 < saved <= seconds  # no earlier process: its seconds alone
    ea = Evolution(nb201, CFG, 0)
    evolve(ea, _score, _Fitness(), tmp_path / "b.json", FIT_ID, progress=False, max_evals=5)
    assert len(ea.history) == 6 and ea.cycle == 1  # the cycle under way is finished, no other starts
    ea = Evolution(nb201, CFG, 0)
    seconds = evolve(ea, _score, _Fitness(), tmp_path / "c.json", FIT_ID, progress=False, max_seconds=0.0)
    assert isinstance(seconds, float) and not ea.history and not (tmp_path / "c.json").exists()
    ea = Evolution(nb201, CFG, 0)
    evolve(ea, _score, _Fitness(), tmp_path / "d.json", FIT_ID, progress=False, max_seconds=60.0)
    assert ea.done


def test_a_search_stopped_before_its_first_evaluation_is_refused() -> None:
    with pytest.raises(ValueError) as err:
        check_started(Evolution(nb201, CFG, 0), 0.5)
    assert str(err.value) == ("--max-seconds 0.5 ran out before the first evaluation: nothing was evaluated, so the "
                              "search has no answer; rerun with a larger --max-seconds (it is checked before each "
                              "cycle, and the first cycle scores the whole initial population of 4 archs)")
    check_started(Evolution(nb201, CFG, 0), None)  # no time budget: nothing to refuse (the EA says why)
    check_started(_ran(), 0.5)


def test_failed_evaluations_are_refused_when_all_failed_and_said_when_some_did(caplog) -> None:
    proxy = get_proxy("swap")
    history = [{"fitness": -math.inf}, {"fitness": math.nan}]
    state = Path("runs/s 1/state.json")
    with pytest.raises(ValueError) as err:
        check_failures(history, proxy, state)
    assert str(err.value) == (f"all 2 evaluated archs failed to score with {proxy.key} (the store's records name the "
                              "error): the search has no answer; failed scores are not retried, so fix the cause, "
                              "then rerun with a new --store, and another --out or runs/s 1/state.json deleted")
    with caplog.at_level(logging.WARNING, logger="swapnas.search"):
        check_failures([*history, {"fitness": 1.0}], proxy, state)
        assert caplog.messages == [f"2 of the 3 evaluated archs failed to score with {proxy.key}: they rank last "
                                   "(the store's records name the error)"]
        caplog.clear()
        check_failures([{"fitness": 1.0}], proxy, state)
        check_failures([], proxy, state)
    assert caplog.messages == []


def test_feasible_allows_a_final_network_at_each_limit() -> None:
    final, arch = final_net("nb201", "cifar10"), nb201.parse("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|"
                                                             "avg_pool_3x3~1|nor_conv_1x1~2|")
    size, macs = final_size(nb201, arch, final), final_macs(nb201, arch, final)
    assert _feasible(nb201, final, None, None)(arch)
    assert _feasible(nb201, final, size, macs)(arch)
    assert not _feasible(nb201, final, size * 0.999, None)(arch)
    assert not _feasible(nb201, final, None, macs * 0.999)(arch)
    assert not _feasible(nb201, final, size * 0.999, macs * 2)(arch)
    assert _feasible(nb201, final, size * 2, macs)(arch)


def test_prior_text_names_the_prior_to_four_digits() -> None:
    assert prior_text(search_result()) == "none"
    assert prior_text(search_result(mu=539.91234, sigma=85058.0)) == "mu=539.9 sigma=8.506e+04"


def test_search_notes_at_their_bounds() -> None:
    assert search_notes(search_result()) == []
    assert search_notes(search_result(config={})) == []  # a config without cycles: no budget note
    assert search_notes(search_result(cycles=2)) == [
        "stopped after cycle 2 of 3 by --max-evals / --max-seconds: rerun the same command with a larger budget "
        "(or none) to continue it"]
    mapping = {"target_m": 0.5, "tolerance": 0.25}
    assert search_notes(search_result(size_mapping=mapping, params_m=0.625)) == []  # at the tolerance (exact in binary)
    assert search_notes(search_result(size_mapping=mapping, params_m=0.375)) == []
    assert search_notes(search_result(size_mapping={"target_m": 0.5}, params_m=0.5)) == []  # tolerance 0: exact
    assert search_notes(search_result(size_mapping=mapping, params_m=0.626)) == [
        "the final network's 0.626 M params miss --target-params 0.5M by more than --tolerance 0.25 (the size prior "
        "aims, it does not constrain: add --max-params for a limit)"]
    assert len(search_notes(search_result(size_mapping={"target_m": 0.5}, params_m=0.501, cycles=1))) == 2


def test_evolve_shows_its_steps_cycles_best_and_evaluations(tmp_path, capsys) -> None:
    ea = Evolution(nb201, CFG, 0)
    evolve(ea, _score, _Fitness(), tmp_path / "s.json", FIT_ID, desc="probe run")
    last = capsys.readouterr().err.strip().split("\r")[-1]
    assert last.startswith("probe run: 100%") and "4/4 [" in last  # the initial population, then 3 cycles
    assert re.search(r"[0-9.]+step/s|s/step", last), last
    assert last.endswith(f"best={ea.best[1]:.4g}, cycle=3/3, evals={len(ea.history)}]")  # tqdm sorts them
    resumed = _ran(2)  # the initial population and one cycle: the bar starts at 2 of 4 steps
    evolve(resumed, _score, _Fitness(), tmp_path / "r.json", FIT_ID)
    first = capsys.readouterr().err.strip().split("\r")[0]
    assert first.startswith("search:  50%") and "2/4 [" in first, first
    ea = Evolution(nb201, CFG, 0)
    evolve(ea, _score, _Fitness(), tmp_path / "t.json", FIT_ID, max_evals=4)
    assert capsys.readouterr().err.strip().split("\r")[-1].startswith("search:  25%")
    evolve(Evolution(nb201, CFG, 0), _score, _Fitness(), tmp_path / "u.json", FIT_ID, progress=False)
    assert capsys.readouterr().err == ""


def test_run_search_keeps_every_setting_in_its_result_and_its_state(small_bundle, tmp_path, capsys) -> None:
    cfg, final = EAConfig(population=4, sample=2, mutations=2, cycles=2), final_net("nb201", "cifar10")
    t0 = time.perf_counter()
    with ScoreStore(tmp_path / "s.sqlite") as store:
        res = run_search("nb201", "cifar10", config=cfg, seed=1, store=store, out=tmp_path / "out",
                         device=torch.device("cpu"), score_seed=3, mu=40.0, sigma=900.0, max_params=0.4,
                         max_macs=50.0, net={"C": 4, "N": 1}, batch_size=20, repeats=2, data_dir=str(small_bundle),
                         progress=False, fitness="swap_prog", refine=0)  # (a size prior needs a sum of logs: 69)
    wall = time.perf_counter() - t0
    with closing(sqlite3.connect(tmp_path / "s.sqlite")) as db:
        rows = db.execute("SELECT DISTINCT proxy, seed, batch_size, repeats, net FROM scores").fetchall()
    assert "%|" not in capsys.readouterr().err  # progress=False: no bar
    proxy, best = get_proxy("swap_prog"), max(res.history, key=lambda h: h["fitness"])
    keys = {p.key for p in with_bases([proxy])}  # swap_prog and the bases it is computed from
    assert set(rows) == {(k, 3, 20, 2, json.dumps({"C": 4, "N": 1})) for k in keys} and len(keys) == 3  # the scores'
    # seed, not the EA's
    assert (res.space, res.dataset, res.seed, res.config, res.fitness_proxy) == \
        ("nb201", "cifar10", 1, asdict(cfg), proxy.key)
    assert (res.protocol["seed"], res.protocol["batch_size"], res.protocol["repeats"], res.protocol["net"]) == \
        (3, 20, 2, {"C": 4, "N": 1})
    assert (res.best, res.fitness, res.evaluations, res.cycles) == (best["arch"], best["fitness"], len(res.history), 2)
    arch = nb201.parse(res.best)
    assert (res.params_m, res.macs_m) == (final_size(nb201, arch, final), final_macs(nb201, arch, final))
    assert (res.mu, res.sigma, res.size_mapping, res.refine) == (40.0, 900.0, None, None)
    assert res.constraints == {"max_params_m": 0.4, "max_macs_m": 50.0} and 0 < res.wall_seconds < wall
    archs = [nb201.parse(h["arch"]) for h in res.history]  # only archs within both limits were evaluated
    assert all(final_size(nb201, a, final) <= 0.4 and final_macs(nb201, a, final) <= 50.0 for a in archs)
    assert res.snapshots[-1]["evaluations"] == len(res.history)
    saved = json.loads((tmp_path / "out" / "state.json").read_text())
    assert saved["fitness"] == {"space": "nb201", "proxy": proxy.key, "size_prior": [40.0, 900.0],
                                "protocol": res.protocol["fingerprint"], "net": json.dumps({"C": 4, "N": 1}),
                                "batch_size": 20, "repeats": 2, "score_seed": 3, "constraints": [0.4, 50.0]}
    assert saved["ea"]["seed"] == 1 and saved["ea"]["history"] == res.history


class _Counting(LocalExecutor):
    """A local executor that counts the archs it scores, per (batch size, repeats) of the task."""

    def __init__(self) -> None:
        super().__init__()
        self.scored: dict[tuple[int, int], int] = {}

    def score(self, task, device, items):
        key = (task.protocol.batch_size, task.protocol.repeats)
        for out in super().score(task, device, items):
            self.scored[key] = self.scored.get(key, 0) + 1
            yield out


def test_run_search_with_the_papers_fitness_a_target_and_a_second_stage(small_bundle, tmp_path, capsys) -> None:
    cfg, executor = EAConfig(population=4, sample=2, mutations=2, cycles=1), _Counting()
    with ScoreStore(tmp_path / "s.sqlite") as store:
        res = run_search("nb201", "cifar10", config=cfg, seed=0, store=store, out=tmp_path / "out",
                         device=torch.device("cpu"), target_params=0.5, net={"C": 4, "N": 1},
                         batch_size=16, repeats=1, data_dir=str(small_bundle), fitness="swap_reg",
                         refine=2, refine_repeats=2, refine_batch_size=20, executor=executor)
    bars = {line.split(":")[0] for line in capsys.readouterr().err.replace("\r", "\n").split("\n") if "%|" in line}
    # no bar per cycle's scoring; the second stage's own (session 50)
    assert bars == {"size prior (--target-params)", "search nb201/cifar10", "second stage"}
    mapping = res.size_mapping
    assert mapping["target_m"] == 0.5 and mapping["tolerance"] == 0.1 and mapping["seconds"] > 0
    assert res.protocol["seed"] == 0  # the default score seed
    proxy = get_proxy("swap_reg").configure(mu=res.mu, sigma=res.sigma)
    assert res.fitness_proxy == proxy.key and res.mu == mapping["slope_k_per_M"] * 0.5 + mapping["intercept_k"]
    assert res.sigma == (0.1 * res.mu) ** 2
    assert executor.scored == {(16, 1): len(res.history), (20, 2): 2}  # both stages through the executor
    assert res.refine["batch_size"] == 20 and res.refine["repeats"] == 2
    assert [c["arch"] for c in res.refine["shortlist"]] == \
        [h["arch"] for h in sorted(res.history, key=lambda h: -h["fitness"])[:2]]
    saved = json.loads((tmp_path / "out" / "state.json").read_text())
    assert saved["fitness"]["proxy"] == proxy.key and saved["fitness"]["size_prior"] is None  # in the proxy
    # the search's seconds: the loop's (as saved), the mapping's draws and the second stage's
    assert res.wall_seconds > saved["seconds"] + mapping["seconds"]


def test_flexibert_extras_against_the_raw_scores(small_bundle) -> None:
    bench = get_benchmark("flexibert", str(small_bundle))
    records = json.loads((small_bundle / "flexibert" / "flexibert_glue_500.json").read_text())
    raw: dict[str, list[float]] = {}
    for r in records:
        raw.setdefault(str(fb.from_record(r)), []).append(r["scores"]["rte"])
    scores = {a: sum(v) / len(v) for a, v in raw.items()}
    near = bench.archs[3]
    found = fb.mutate(near, random.Random(0))
    for arch, dist in ((near, 0), (found, fb.distance(found, near))):
        out = flexibert_extras(search_result(space="flexibert", dataset="rte", best=str(arch)), str(small_bundle))
        score = scores[str(near)]
        assert out == {"in_benchmark": int(dist == 0), "benchmark_arch": str(near), "distance": dist,
                       "rte_score": score, "rank": 1 + sum(s > score for s in scores.values()),
                       "tied": sum(s == score for s in scores.values()), "of": len(scores),
                       "optimum": max(scores.values())}
    assert dist > 0 and bench.nearest(found) == (near, dist)


def test_run_search_budgets_resume_and_the_papers_default_prior(small_bundle, tmp_path) -> None:
    cfg = EAConfig(population=4, sample=2, mutations=2, cycles=2)
    common = dict(config=cfg, seed=0, device=torch.device("cpu"), net={"C": 4, "N": 1}, batch_size=20, repeats=1,
                  data_dir=str(small_bundle), progress=False, fitness="swap_reg", out=tmp_path / "out")
    with ScoreStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(ValueError, match="^--max-seconds 1e-09 ran out before the first evaluation"):
            run_search("nb201", "cifar10", store=store, max_seconds=1e-9, **common)  # (0: refused, session 65)
        part = run_search("nb201", "cifar10", store=store, max_evals=4, **common)
        saved_part = json.loads((tmp_path / "out" / "state.json").read_text())["seconds"]
        whole = run_search("nb201", "cifar10", store=store, **common)
        saved_whole = json.loads((tmp_path / "out" / "state.json").read_text())["seconds"]
    assert (part.evaluations, part.cycles, whole.cycles) == (4, 0, 2) and whole.history[:4] == part.history
    # a resumed search counts the earlier process's seconds, in its result and in its saved state (which the
    # result's seconds exceed only by the moments after the last save)
    assert whole.wall_seconds > part.wall_seconds and saved_part < saved_whole <= whole.wall_seconds
    assert whole.wall_seconds - saved_whole < saved_part
    assert part.mu is not None and part.sigma is not None  # swap_reg's prior from the space's rule, not the flags
    assert part.fitness_proxy == get_proxy("swap_reg").configure(mu=part.mu, sigma=part.sigma).key


@pytest.mark.parametrize("max_params, max_macs", [(0.3, None), (None, 30.0)])
def test_run_search_keeps_each_size_limit_alone(small_bundle, tmp_path, max_params, max_macs) -> None:
    final = final_net("nb201", "cifar10")
    with ScoreStore(tmp_path / "s.sqlite") as store:
        res = run_search("nb201", "cifar10", config=EAConfig(population=8, sample=2, mutations=4, cycles=2), seed=0,
                         store=store, out=tmp_path / "out", device=torch.device("cpu"), max_params=max_params,
                         max_macs=max_macs, data_dir=str(small_bundle), progress=False, fitness="params", refine=0)
    archs = [nb201.parse(h["arch"]) for h in res.history]
    assert len(archs) == 16
    if max_params is not None:
        assert max(final_size(nb201, a, final) for a in archs) <= max_params
    else:
        assert max(final_macs(nb201, a, final) for a in archs) <= max_macs


def test_run_search_hands_its_network_and_data_folder_to_every_step(small_bundle, tmp_path, monkeypatch,
                                                                    caplog) -> None:
    monkeypatch.setenv("SWAPNAS_DATA", str(tmp_path / "nowhere"))  # only the data_dir given can find the bundle
    net = {"C": 4, "N": 1}
    with ScoreStore(tmp_path / "s.sqlite") as store, caplog.at_level(logging.WARNING, logger="swapnas"):
        res = run_search("nb201", "cifar10", config=EAConfig(population=4, sample=2, mutations=2, cycles=1), seed=0,
                         store=store, out=tmp_path / "out", device=torch.device("cpu"), net=net, batch_size=16,
                         repeats=1, data_dir=str(small_bundle), progress=False, fitness="swap_reg", refine=2,
                         refine_repeats=1)
    # the space's rule over the size range of the network scored (C=4), not of the default one (C=16)
    mu, sigma, mapping = range_prior(nb201, net, 10, nb201.SEARCH_PRIOR)
    assert (res.mu, res.sigma, res.size_mapping) == (mu, sigma, mapping)
    assert range_prior(nb201, nb201.SCORING_DEFAULTS["net"], 10, nb201.SEARCH_PRIOR)[0] != mu
    # the second stage asked for scores under the first stage's network, S and R: said before the search
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["--refine 2 does nothing"]
    assert res.refine is None
