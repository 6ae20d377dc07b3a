"""The SWAP-NAS evolutionary search: ask/tell core, determinism, dedup, resume, size control."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
import torch

from swapnas.cli import main
from swapnas.search import final_net, final_size, target_prior
from swapnas.search import EAConfig, Evolution
from swapnas.spaces import darts, nb201
from swapnas.patterns import count_params_k

CFG = EAConfig(population=8, sample=3, mutations=4, cycles=10, crossover=0.5)


def fake_fitness(arch) -> float:
    """A deterministic, arch-dependent fitness (conv count plus a hash-based tie-breaker)."""
    h = int(hashlib.sha256(str(arch).encode()).hexdigest()[:6], 16) / 16**6
    return sum(op.startswith("nor_conv") for op in arch.ops) + h


def run_ea(seed: int, cfg: EAConfig = CFG, stop_after: int | None = None, ea: Evolution | None = None) -> Evolution:
    ea = ea or Evolution(nb201, cfg, seed)
    steps = 0
    while not ea.done and (stop_after is None or steps < stop_after):
        archs = ea.ask()
        ea.tell(archs, [fake_fitness(a) for a in archs])
        steps += 1
    return ea


def test_same_seed_same_trajectory_and_different_seed_differs() -> None:
    a, b, c = run_ea(0), run_ea(0), run_ea(1)
    assert a.history == b.history and a.snapshots == b.snapshots
    assert [h["arch"] for h in a.history] != [h["arch"] for h in c.history]
    assert len(a.history) <= CFG.max_evaluations and a.cycle == CFG.cycles


def test_never_scores_an_isomorphic_arch_twice_and_keeps_the_best() -> None:
    ea = run_ea(3, EAConfig(population=10, sample=4, mutations=6, cycles=30))
    keys = [nb201.iso_key(nb201.parse(h["arch"])) for h in ea.history]
    assert len(keys) == len(set(keys))
    assert len(ea.population) == 10
    # remove-the-worst: the population is never worse than the initial one at its worst
    init = sorted(h["fitness"] for h in ea.history[:10])
    assert min(f for _, f in ea.population) >= init[0]
    assert ea.best[1] == max(h["fitness"] for h in ea.history)
    means = [s["population_mean"] for s in ea.snapshots]
    assert means[-1] > means[0]


def test_state_round_trip_resumes_identically() -> None:
    whole = run_ea(5)
    part = run_ea(5, stop_after=4)
    state = json.loads(json.dumps(part.state_dict()))  # through JSON, as saved on disk
    resumed = Evolution(nb201, CFG, 5)
    resumed.load_state_dict(state)
    run_ea(5, ea=resumed)
    assert resumed.history == whole.history and resumed.snapshots == whole.snapshots
    with pytest.raises(ValueError, match=r"made with --seed 5 \(now 6\)"):
        Evolution(nb201, CFG, 6).load_state_dict(state)


@pytest.mark.parametrize("stop_after", [3, None])  # an interrupted search, and a finished one
def test_a_larger_cycles_extends_a_saved_search_to_the_longer_searchs_trajectory(stop_after: int | None) -> None:
    longer = EAConfig(population=8, sample=3, mutations=4, cycles=16, crossover=0.5)
    whole = run_ea(5, longer)
    part = run_ea(5, stop_after=stop_after)
    state = json.loads(json.dumps(part.state_dict()))
    extended = Evolution(nb201, longer, 5)
    extended.load_state_dict(state)
    run_ea(5, ea=extended)
    assert extended.cycle == 16 and len(extended.history) > len(part.history)
    assert extended.history == whole.history and extended.snapshots == whole.snapshots
    assert extended.state_dict()["config"]["cycles"] == 16  # saved from now on with the new budget


def test_a_saved_search_cannot_be_shortened_or_resumed_with_other_settings() -> None:
    state = json.loads(json.dumps(run_ea(5, stop_after=6).state_dict()))  # at cycle 5
    shorter = EAConfig(population=8, sample=3, mutations=4, cycles=4, crossover=0.5)
    with pytest.raises(ValueError) as info:
        Evolution(nb201, shorter, 5).load_state_dict(state)
    assert str(info.value) == ("the saved search has run 5 cycles, more than --cycles 4: a search cannot be shortened; "
                               "give --cycles 5 or more (more extends it), or use another --out folder")
    same = Evolution(nb201, EAConfig(population=8, sample=3, mutations=4, cycles=5, crossover=0.5), 5)
    same.load_state_dict(state)  # exactly the saved cycle: complete
    assert same.done
    other = EAConfig(population=8, sample=2, mutations=4, cycles=10, crossover=0.25)
    with pytest.raises(ValueError) as other_info:
        Evolution(nb201, other, 6).load_state_dict(state)
    assert str(other_info.value) == (
        "the saved search state was made with --seed 5 (now 6), --sample 3 (now 2), --crossover 0.5 (now 0.25); use "
        "another --out folder or the same settings (--cycles may grow, to extend a search; the second stage's --refine "
        "options and the --max-evals/--max-seconds limits may change too)")


def test_ask_tell_contract_and_config_errors() -> None:
    ea = Evolution(nb201, CFG, 0)
    archs = ea.ask()
    assert len(archs) == CFG.population
    with pytest.raises(RuntimeError, match="tell"):
        ea.ask()
    with pytest.raises(ValueError, match="exactly the archs"):
        ea.tell(archs[:-1], [1.0] * (len(archs) - 1))
    ea.tell(archs, [float("nan")] + [1.0] * (len(archs) - 1))  # a failed score ranks last
    assert ea.history[0]["fitness"] == float("-inf")
    with pytest.raises(ValueError, match="sample K"):
        EAConfig(population=4, sample=5)
    with pytest.raises(ValueError, match="crossover"):
        EAConfig(crossover=1.5)


def test_constraint_is_never_violated() -> None:
    final = final_net("nb201", "cifar10")
    limit = 0.5
    ea = Evolution(nb201, CFG, 0, feasible=lambda a: final_size(nb201, a, final) <= limit)
    run_ea(0, ea=ea)
    assert all(final_size(nb201, nb201.parse(h["arch"]), final) <= limit for h in ea.history)


def test_feasibility_is_asked_once_per_arch_and_the_run_is_unchanged() -> None:
    # session 23: a tight limit rejects most of a parent's few neighbours, which mutate() draws again and again
    # (up to max_tries per cycle), and each check could build a network; now each distinct arch is checked once
    final = final_net("nb201", "cifar10")
    calls: list[str] = []

    def counted(a: nb201.Arch) -> bool:
        calls.append(str(a))
        return final_size(nb201, a, final) <= 0.3

    ea = run_ea(0, ea=Evolution(nb201, CFG, 0, feasible=counted))
    assert len(calls) == len(set(calls)) and len(calls) > len(ea.history)  # rejected archs were proposed too

    class Forgetful(Evolution):  # the same EA asking feasible() every time, as before session 23
        def _is_feasible(self, arch: nb201.Arch) -> bool:
            return bool(self.feasible(arch))

    again = run_ea(0, ea=Forgetful(nb201, CFG, 0, feasible=lambda a: final_size(nb201, a, final) <= 0.3))
    assert again.history == ea.history and again.snapshots == ea.snapshots


def test_darts_space_runs_with_crossover() -> None:
    ea = Evolution(darts, EAConfig(population=4, sample=2, mutations=2, cycles=3, crossover=1.0), 0)
    while not ea.done:
        archs = ea.ask()
        ea.tell(archs, [float(str(a).count("sep_conv")) for a in archs])
    assert len(ea.history) >= 4 and darts.parse(str(ea.best[0])) == ea.best[0]


def test_target_prior_maps_monotonically() -> None:
    final = final_net("nb201", "cifar10")
    net = nb201.SCORING_DEFAULTS["net"]
    mu_small, sigma_small, info = target_prior(nb201, net, final, 0.4, n=60)
    mu_big, _, _ = target_prior(nb201, net, final, 1.2, n=60)
    assert mu_big > mu_small > 0 and sigma_small == pytest.approx((0.1 * mu_small) ** 2)
    assert info["r2"] > 0.99  # the proxy and final NB201 nets differ only in cells per stage
    with pytest.raises(ValueError, match="outside this space.s range"):
        target_prior(nb201, net, final, 0.001, n=60)


SMALL = ["--population", "6", "--sample", "3", "--mutations", "3", "--cycles", "3", "--repeats", "1",
         "--net", "C=4", "--device", "cpu", "--no-progress"]


@pytest.mark.slow  # > 5 s
@pytest.mark.bundle  # the NB201 table (all 15,625 rows): the found arch's rank and the test optimum
def test_search_cli_resumes_without_rescoring(data_dir, tmp_path, capsys) -> None:
    out = tmp_path / "s"
    args = ["search", "--space", "nb201", "--dataset", "cifar10", "--data-dir", str(data_dir), "--out", str(out),
            *SMALL]
    assert main([*args, "--max-evals", "6"]) == 0  # stops after the initial population (a "crash")
    first = json.loads((out / "result.json").read_text())
    assert first["evaluations"] == 6
    db = sqlite3.connect(out / "scores.sqlite")
    rows = db.execute("SELECT arch, proxy, created FROM scores ORDER BY 1, 2").fetchall()
    assert main(args) == 0  # resumes from state.json
    again = json.loads((out / "result.json").read_text())
    assert again["history"][:6] == first["history"] and again["cycles"] == 3
    after = db.execute("SELECT arch, proxy, created FROM scores ORDER BY 1, 2").fetchall()
    assert set(rows) <= set(after)  # nothing re-scored
    assert main([*args, "--mu", "100", "--sigma", "1000"]) == 2  # another fitness: refuse to resume
    assert "another fitness" in capsys.readouterr().err
    # a one-shot run from scratch gives the same trajectory
    out2 = tmp_path / "s2"
    assert main(["search", "--space", "nb201", "--dataset", "cifar10", "--data-dir", str(data_dir),
                 "--out", str(out2), *SMALL]) == 0
    assert json.loads((out2 / "result.json").read_text())["history"] == again["history"]
    text = capsys.readouterr().out
    assert "NB201 cifar10: valid" in text and "regret" in text
    assert "the same arch on the other NB201 datasets: cifar100 test " in text and ", imagenet16-120 test " in text
    # NB201's default second stage on the user's C=4 network: all 15 evaluated archs (K = 20 > 15)
    assert ("Second stage: the 15 fittest re-scored on C=4,N=5, S=20, R=1; returned the arch the first stage "
            "ranked #") in text
    assert "Second stage: the 15 fittest" in (out2 / "report.md").read_text()
    for name in ("search_curve.png", "cell.png"):
        assert (out / name).stat().st_size > 5000
    extra = again["extra"]
    assert 1 <= extra["test_rank"] <= 15625 and extra["test_optimum"] == pytest.approx(94.37, abs=0.01)


def test_search_cli_errors(small_bundle, tmp_path, capsys) -> None:
    assert main(["search", "--space", "darts", "--dataset", "cifar100", "--data-dir", str(small_bundle),
                 "--out", str(tmp_path), *SMALL]) == 2
    assert "no final network defined" in capsys.readouterr().err
    assert main(["search", "--target-params", "1.0M", "--mu", "3", "--data-dir", str(small_bundle),
                 "--out", str(tmp_path), *SMALL]) == 2
    assert "either --target-params or --mu/--sigma" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["search", "--target-params", "big", "--out", str(tmp_path)])
    assert exit_.value.code == 2
    assert "argument --target-params: expected a size in millions like 4.0M or 4.0, not 'big'" in \
        capsys.readouterr().err
    assert main(["search", "--fitness", "te_nas", "--data-dir", str(small_bundle), "--out", str(tmp_path), *SMALL]) == 2
    assert "set-level proxy" in capsys.readouterr().err
    assert main(["search", "--prior", "1", "0.3", "--data-dir", str(small_bundle), "--out", str(tmp_path), *SMALL]) == 2
    assert "--prior sets swap_reg's size rule" in capsys.readouterr().err


@pytest.mark.slow  # about 20 s: two searches with best and its second stage
def test_search_fitness_choice_and_size_prior_on_best(small_bundle, tmp_path) -> None:
    """Default fitness is ``best`` under the fitness protocol; swap_reg is the paper's; a size prior on
    ``best`` is ln f(Θ) added to the stored value."""
    from swapnas.search import run_search
    from swapnas.search import EAConfig
    from swapnas.store import ScoreStore

    cfg = EAConfig(population=4, sample=2, mutations=2, cycles=1)
    common = dict(config=cfg, seed=0, device=torch.device("cpu"), data_dir=str(small_bundle), progress=False,
                  net={"C": 4})
    with ScoreStore(tmp_path / "s.sqlite") as store:
        best = run_search("nb201", "cifar10", store=store, out=tmp_path / "a", **common)
        assert best.fitness_proxy.startswith("swap_nb201@") and best.mu is None
        assert best.protocol["init"] == "default" and best.protocol["repeats"] == 1
        paper = run_search("nb201", "cifar10", store=store, out=tmp_path / "b", fitness="swap_reg", **common)
        assert paper.fitness_proxy.startswith("swap_reg@") and paper.protocol["init"] == "gaussian"
        sized = run_search("nb201", "cifar10", store=store, out=tmp_path / "c", mu=10.0, sigma=4.0, **common)
    plain = {h["arch"]: h["fitness"] for h in best.history}
    both = [h for h in sized.history if h["arch"] in plain]
    # the same seed draws the same initial population: its 4 archs at least are compared (the loop ran empty
    # if the sized search drew other archs)
    assert [h["arch"] for h in sized.history[:4]] == [h["arch"] for h in best.history[:4]] and len(both) >= 4
    for h in both:
        with torch.device("meta"):
            theta = count_params_k(nb201.build(h["arch"], num_classes=10, C=4, N=1))
        assert h["fitness"] == pytest.approx(plain[h["arch"]] - (theta - 10.0) ** 2 / 4.0)


@pytest.mark.slow  # runs and kills a subprocess
@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_killed_search_resumes_without_rescoring(data_dir, tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "k"
    args = ["search", "--space", "nb201", "--dataset", "cifar10", "--data-dir", str(data_dir), "--out", str(out),
            "--population", "6", "--sample", "3", "--mutations", "3", "--cycles", "12", "--repeats", "1",
            "--net", "C=4", "--device", "cpu", "--no-progress", "--fitness", "swap"]  # one pass per arch: the
    # resume path is the same for every fitness, and `best` with its second stage made this test take a minute
    proc = subprocess.Popen([sys.executable, "-m", "swapnas.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    state = out / "state.json"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if state.is_file() and json.loads(state.read_text())["ea"]["cycle"] >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the search finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = json.loads(state.read_text())["ea"]
    db = sqlite3.connect(out / "scores.sqlite")
    before = db.execute("SELECT arch, proxy, created FROM scores").fetchall()
    assert main(args) == 0
    done = json.loads((out / "result.json").read_text())
    assert done["history"][: len(killed["history"])] == killed["history"] and done["cycles"] == 12
    after = set(db.execute("SELECT arch, proxy, created FROM scores").fetchall())
    assert set(before) <= after  # every score stored before the kill was reused, none re-scored


def test_second_stage_rescores_the_shortlist(small_bundle, tmp_path) -> None:
    import math
    from dataclasses import replace

    from swapnas.search import run_search
    from swapnas.search.driver import stage_text
    from swapnas.search import EAConfig
    from swapnas.store import ScoreStore

    cfg = EAConfig(population=4, sample=2, mutations=2, cycles=1)
    with ScoreStore(tmp_path / "s.sqlite") as store:
        res = run_search("nb201", "cifar10", config=cfg, seed=0, store=store, out=tmp_path / "r",
                         device=torch.device("cpu"), data_dir=str(small_bundle), progress=False, net={"C": 4},
                         refine=3, refine_repeats=2)
    shortlist = res.refine["shortlist"]
    top3 = sorted(res.history, key=lambda h: -h["fitness"])[:3]
    assert [c["arch"] for c in shortlist] == [h["arch"] for h in top3]
    # NB201's own second stage (5 cells per stage, S = 20) with the repeats asked for, on the first stage's C = 4
    assert (res.refine["repeats"], res.refine["batch_size"], res.refine["net"]) == (2, 20, {"C": 4, "N": 5})
    db = sqlite3.connect(tmp_path / "s.sqlite")
    rows = db.execute("SELECT net, batch_size, COUNT(*) FROM scores WHERE repeats = 2 AND proxy LIKE 'swap_nb201%' "
                      "GROUP BY net, batch_size").fetchall()
    assert rows == [(json.dumps({"C": 4, "N": 5}), 20, 3)]  # the second stage's scores are stored (a rerun reuses them)
    winner = max(shortlist, key=lambda c: c["refined"])
    assert res.best == winner["arch"] and res.fitness == winner["refined"]
    rank = [c["arch"] for c in shortlist].index(res.best) + 1
    assert stage_text(res) == (f"Second stage: the 3 fittest re-scored on C=4,N=5, S=20, R=2; returned the arch the "
                               f"first stage ranked #{rank} (first-stage fitness {shortlist[rank - 1]['fitness']:.6g}; "
                               f"the first stage's best {shortlist[0]['fitness']:.6g}): the fitness shown is its "
                               "second-stage value")
    failed = replace(res, refine={**res.refine, "shortlist": [{**c, "refined": math.nan} for c in shortlist]})
    assert stage_text(failed).endswith("returned the first stage's best (every re-score failed)")
    reg = replace(res, refine={**res.refine, "mu": 539.9, "sigma": 85058.0})  # swap_reg's own prior is named
    assert ", R=2, its size prior mu=539.9, sigma=85058; returned" in str(stage_text(reg))
    # the refined values are the stored second-stage scores, not the first stage's
    stored = dict(db.execute("SELECT arch, value FROM scores WHERE repeats = 2 AND proxy LIKE 'swap_nb201%'").fetchall())
    assert {c["arch"]: c["refined"] for c in shortlist} == {a: pytest.approx(v) for a, v in stored.items()}


def test_second_stage_defaults_and_overrides() -> None:
    from swapnas.search.driver import SecondStage, choose_fitness

    proxy, stage = choose_fitness("nb201", "best")
    assert proxy.name == "swap_nb201"
    assert stage == SecondStage(k=20, repeats=1, net={"N": 5}, batch_size=20)  # nb201.FITNESS_PROTOCOL
    _, stage = choose_fitness("nb201", "best", refine=5, refine_net={"C": 8})
    assert stage == SecondStage(k=5, repeats=1, net={"C": 8}, batch_size=20)
    proxy, stage = choose_fitness("nb201", "swap_reg")  # the paper's fitness: no second stage unless asked for
    assert proxy.name == "swap_reg" and stage == SecondStage(k=0, repeats=4)
    _, stage = choose_fitness("darts", "best")
    assert stage == SecondStage(k=20, repeats=1, net={"C": 16}, batch_size=20)  # darts.FITNESS_PROTOCOL, session 10
    _, stage = choose_fitness("darts", "best", refine=3)
    assert stage == SecondStage(k=3, repeats=1, net={"C": 16}, batch_size=20)
    _, stage = choose_fitness("darts", "swap_darts")  # a former best: no second stage unless asked for
    assert stage == SecondStage(k=0, repeats=4)


def test_second_stage_is_skipped_when_its_protocol_equals_the_first(small_bundle, tmp_path) -> None:
    from swapnas.search import run_search
    from swapnas.store import ScoreStore

    cfg = EAConfig(population=4, sample=2, mutations=2, cycles=1)
    with ScoreStore(tmp_path / "s.sqlite") as store:
        res = run_search("nb201", "cifar10", config=cfg, seed=0, store=store, out=tmp_path / "r",
                         device=torch.device("cpu"), data_dir=str(small_bundle), progress=False, net={"C": 4},
                         refine=3, refine_repeats=1, refine_net={}, refine_batch_size=16)
    assert res.refine is None
    top = max(res.history, key=lambda h: h["fitness"])
    assert (res.best, res.fitness) == (top["arch"], top["fitness"])


def _stage2_script():
    from tests.script_tools import load_script

    return load_script("choose_stage2_net")


def test_stage2_dev_simulation_against_a_plain_loop() -> None:
    """scripts/choose_stage2_net.py (docs/generated/dev/nb201_stage2.md, darts_stage2.md): its simulated
    searches equal a plain loop over the same draws, and the choice rule prefers the stage that gains
    on every dev set."""
    import numpy as np

    mod = _stage2_script()
    rng = np.random.default_rng(1)
    acc = rng.normal(90, 2, 60)
    f1 = acc + rng.normal(0, 3, 60)  # stage 1: noisy
    f2 = {i: float(acc[i] + rng.normal(0, 0.5)) for i in range(60)}  # stage 2: less noisy
    top5 = acc >= np.quantile(acc, 0.95)
    for k in (1, 3, 10):
        mean, share, missed = mod.simulate(acc, f1, f2, k, 20, 50, top5)
        draws, picks = np.random.default_rng(0), []
        for _ in range(50):
            sub = draws.choice(60, 20, replace=False)
            ranked = sorted(sub.tolist(), key=lambda i: (-f1[i], list(sub).index(i)))[:k]
            picks.append(max(ranked, key=lambda i: f2[i]) if k > 1 else ranked[0])
        assert mean == pytest.approx(acc[picks].mean()) and share == pytest.approx(top5[picks].mean())
        assert missed == 0
    # an arch outside the scored set in a short list drops the draw
    assert mod.simulate(acc, f1, {0: 1.0}, 3, 20, 50, top5)[2] == 50

    class Run:  # the two fields `choose` reads
        def __init__(self, name, std):
            self.name, self.acc = name, np.array([0.0, 2 * std])

    runs = [Run("a", 1.0), Run("b", 0.1)]
    k1 = {"a": 80.0, "b": 93.0}
    means = {"a": {("x", 3): 80.5, ("y", 3): 81.0}, "b": {("x", 3): 93.01, ("y", 3): 92.99}}
    assert mod.choose(runs, means, k1) == ("x", 3)  # y gains more on a but loses on b
    means["b"][("x", 3)] = 92.9
    assert mod.choose(runs, means, k1) is None  # nothing gains on every dev set


def test_refine_help_reads_each_spaces_second_stage(capsys, monkeypatch) -> None:
    """The --refine* help names the defaults of FITNESS_PROTOCOL['refine'], so it cannot drift from them."""
    from swapnas.cli import main
    from swapnas.spaces import nb201

    monkeypatch.setitem(nb201.FITNESS_PROTOCOL, "refine", {"k": 7, "repeats": 3, "net": {"C": 24, "N": 2}, "batch_size": 18})
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "nb201 7, darts 20" in text and "nb201 3, darts 1" in text
    assert "nb201 C=24,N=2, darts C=16" in text and "nb201 18, darts 20" in text
