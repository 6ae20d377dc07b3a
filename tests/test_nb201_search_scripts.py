"""The NB201 search's dev and study scripts (session 49; they had no tests): scripts/choose_search_prior.py (it chose
``nb201.SEARCH_PRIOR``), scripts/choose_refine.py (docs/generated/dev/nb201_refine.md), the random search and the
table of scripts/search_nb201.py (docs/search.md's "random search, same fitness" column), and the store read and
refusals of scripts/nb201_fitness_ceiling.py and scripts/nb201_two_stage_ceiling.py. Golden values come from the
package's own network builds and size prior, and from small cases worked by hand."""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch

from swapnas.benchmarks.nb201 import GroundTruth
from swapnas.size_prior import count_params_k, size_prior
from swapnas.spaces import nb201
from tests.script_tools import load_script, naive_spearman, run_main

#: the ground truth `swapnas correlate` writes for the NB201 dev run (CIFAR-10 validation accuracy, 200 epochs)
DEV_TRUTH = GroundTruth("cifar10").describe()


def _distinct_archs(n: int, seed: int) -> list[nb201.Arch]:
    rng, seen, archs = random.Random(seed), set(), []
    while len(archs) < n:
        a = nb201.sample(rng)
        if str(a) not in seen:
            seen.add(str(a))
            archs.append(a)
    return archs


# ---- choose_search_prior.py ----

def _dev_doc(archs: list[str], swap: list[float], acc: list[float], **protocol) -> dict:
    prot = {"space": "nb201", "dataset": "cifar10", "seed": 0, "net": {"C": 16, "N": 1}, "batch_size": 16,
            "repeats": 4, "init": "gaussian", **protocol}
    return {"protocol": prot, "ground_truth": DEV_TRUTH, "archs": archs,
            "scores": {"swap": swap}, "accuracy": acc}


def test_choose_search_prior_ranks_the_dev_archs_by_the_packages_own_regularised_swap() -> None:
    script = load_script("choose_search_prior", "t49p")
    archs = _distinct_archs(14, 49)
    rng = np.random.default_rng(49)
    swap = [float(v) for v in rng.integers(1000, 60000, size=14)]
    acc = [float(v) for v in rng.uniform(60, 94, size=14)]
    # Θ of each built scored network (C=16, N=1, 10 classes), and the space's range from the two extreme cells built
    theta = [count_params_k(nb201.build(a, C=16, N=1)) for a in archs]
    lo = count_params_k(nb201.build(nb201.Arch(("none",) * 6), C=16, N=1))
    hi = count_params_k(nb201.build(nb201.Arch(("nor_conv_3x3",) * 6), C=16, N=1))
    rows = script.table(_dev_doc([str(a) for a in archs], swap, acc))
    assert [(c, w) for c, w, _, _ in rows] == [(c, w) for c in script.CENTRES for w in script.WIDTHS]
    for c, w, top10, top1 in rows:
        mu, sigma = lo + c * (hi - lo), (w * (hi - lo)) ** 2
        fitness = [s * size_prior(t, mu, sigma) for s, t in zip(swap, theta)]
        order = sorted(range(14), key=lambda i: (-fitness[i], i))
        assert top10 == pytest.approx(sum(acc[i] for i in order[:10]) / 10, abs=1e-6)
        assert top1 == acc[order[0]]
    # the grid really moves the pick: not every rule ranks the same archs first
    assert len({r[3] for r in rows}) > 1


def test_choose_search_prior_refuses_every_way_a_run_can_differ_from_the_dev_run(tmp_path: Path) -> None:
    script = load_script("choose_search_prior", "t49r")
    good = _dev_doc(["x"] * 1000, [1.0] * 1000, [1.0] * 1000)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(good))
    assert script._dev_run(str(path)) == good
    bad = _dev_doc(["x"] * 999, [1.0] * 999, [1.0] * 999, dataset="cifar100", seed=1, net={"C": 16, "N": 5})
    bad["ground_truth"] = "NB201 test accuracy (%)"
    path.write_text(json.dumps(bad))
    with pytest.raises(SystemExit) as exc:
        script._dev_run(str(path))
    assert str(exc.value) == (f"{path} is not the dev run this choice may read: it needs dataset cifar10, seed 0 "
                              "(the dev sample), 1000 archs, ground truth 'NB201 valid accuracy (%), 200 epochs,'…, "
                              "the search protocol (the space's scoring defaults)")
    for change, needs in (({"init": "default"}, "the search protocol"), ({"repeats": 1}, "the search protocol"),
                          ({"batch_size": 8}, "the search protocol"), ({"seed": 2}, r"seed 0 \(the dev sample\)$")):
        path.write_text(json.dumps(_dev_doc(["x"] * 1000, [1.0] * 1000, [1.0] * 1000, **change)))
        with pytest.raises(SystemExit, match=f"it needs {needs}"):
            script._dev_run(str(path))
    twelve = _dev_doc(["x"] * 1000, [1.0] * 1000, [1.0] * 1000)
    twelve["ground_truth"] = DEV_TRUTH.replace("200 epochs", "12 epochs")  # validation accuracy, but not the dev one
    path.write_text(json.dumps(twelve))
    with pytest.raises(SystemExit, match=r"it needs ground truth 'NB201 valid accuracy \(%\), 200 epochs,'…$"):
        script._dev_run(str(path))


def _fake_rows(script, best: dict[tuple[float, float], tuple[float, float]]) -> list[tuple]:
    return [(c, w, *best.get((c, w), (80.0, 80.0))) for c in script.CENTRES for w in script.WIDTHS]


@pytest.mark.parametrize("best, chosen", [
    ({(0.6, 1.0): (90.01, 50.0), (1.0, 0.3): (90.0, 93.0)}, (0.6, 1.0)),      # the top-10 mean decides first
    ({(0.7, 0.1): (90.0, 92.0), (1.0, 0.3): (90.0, 91.0)}, (0.7, 0.1)),       # then the top-1
    ({(0.9, 0.3): (90.0, 91.0), (1.0, 0.1): (90.0, 91.0), (1.2, 1.0): (90.0, 91.0)}, (0.9, 0.3)),  # then the
    ({(0.6, 0.03): (90.0, 91.0), (1.2, 0.3): (90.0, 91.0)}, (1.2, 0.3)),      # rule nearest the former (1.0, 0.3)
])
def test_choose_search_prior_chooses_by_top10_then_top1_then_nearness_to_the_former_rule(
        best, chosen, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("choose_search_prior", "t49c")
    rows = _fake_rows(script, best)
    monkeypatch.setattr(script, "_dev_run", lambda path: {})
    monkeypatch.setattr(script, "table", lambda doc: rows)
    run_main(script, monkeypatch, "results.json")
    out = capsys.readouterr().out.splitlines()
    t10, t1 = best[chosen]
    assert out[-1] == f"chosen on dev: c={chosen[0]}, w={chosen[1]} (top-10 {t10:.2f}, top-1 {t1:.2f})"
    former = best.get((1.0, 0.3), (80.0, 80.0))
    assert out[-2] == f"former rule c=1.0, w=0.3: top-10 {former[0]:.2f}, top-1 {former[1]:.2f} (in-sample)"
    shipped = best.get(tuple(nb201.SEARCH_PRIOR), (80.0, 80.0))
    assert out[-3] == (f"shipped SEARCH_PRIOR c={nb201.SEARCH_PRIOR[0]}, w={nb201.SEARCH_PRIOR[1]}: "
                       f"top-10 {shipped[0]:.2f}, top-1 {shipped[1]:.2f} (in-sample)")
    # the grid: one line per centre, its cells in the widths' order
    line = next(s for s in out if s.startswith(f"| c={chosen[0]} |"))
    cells = line.strip("| ").split(" | ")[1:]
    assert cells[script.WIDTHS.index(chosen[1])] == f"{t10:.2f} / {t1:.2f}"
    assert len(cells) == len(script.WIDTHS)


def test_choose_search_prior_with_every_accuracy_equal_keeps_the_former_rule(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("choose_search_prior", "t49e")
    archs = _distinct_archs(12, 7)
    doc = _dev_doc([str(a) for a in archs], [float(1000 + i) for i in range(12)], [85.0] * 12)
    monkeypatch.setattr(script, "_dev_run", lambda path: doc)
    run_main(script, monkeypatch, "results.json")
    assert capsys.readouterr().out.splitlines()[-1] == "chosen on dev: c=1.0, w=0.3 (top-10 85.00, top-1 85.00)"


# ---- choose_refine.py ----

def _refine_run(path: Path, archs: list[str], scores: list, acc: list[float], proxy: str = "swap_prog") -> str:
    """A run on the NB201 dev sample (the script reads dev runs only: seed 0's 1000 archs, CIFAR-10 validation)."""
    assert len(archs) == 1000
    path.write_text(json.dumps({"protocol": {"space": "nb201", "dataset": "cifar10", "seed": 0},
                                "ground_truth": DEV_TRUTH, "archs": archs, "accuracy": acc, "scores": {proxy: scores}}))
    return str(path)


def _table(out: str) -> dict[int, tuple[str, str]]:
    rows = [line.strip("| ").split(" | ") for line in out.splitlines() if line.startswith("| ") and "K" not in line]
    return {int(k): (acc, top) for k, acc, top in rows}


def test_choose_refine_with_every_arch_in_every_draw_matches_the_picks_worked_by_hand(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("choose_refine", "t49f")
    archs = [f"a{i}" for i in range(1000)]
    # a0 … a5 worked by hand; the 994 others failed at both stages (None: -inf, never picked nor kept before a0 … a5):
    # 945 at 80 and 49 at 98, so that the dev top 5 % is those 49 and a5 (quantile 0.95 of the accuracies: 94.2)
    acc = [90.0, 91.0, 92.0, 93.0, 94.0, 99.0] + [80.0] * 945 + [98.0] * 49
    fillers = [None] * 994
    one = _refine_run(tmp_path / "r1.json", archs, [5, 4, 3, 2, 1, 0] + fillers, acc)
    two = _refine_run(tmp_path / "r2.json", archs, [0, 1, 9, None, 2, 10] + fillers, acc)
    run_main(script, monkeypatch, one, two, "--budget", "1000", "--draws", "3")
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "dev: 1000 archs, 3 simulated searches of 1000 evaluations (in-sample)"
    # stage 1 keeps a0, a1, … in that order (then fillers); stage 2 picks the best of the short list by f2 (None:
    # never): K=1 a0 (90), K=3 a2 (f2 9: 92), K=5 a2 (a3's None is -inf), K=10 and 20 a5 (f2 10: 99, the only one of
    # a0 … a5 in the top 5 %)
    assert _table(out) == {1: ("90.000", "0.000"), 3: ("92.000", "0.000"), 5: ("92.000", "0.000"),
                           10: ("99.000", "1.000"), 20: ("99.000", "1.000")}


def test_choose_refine_gives_every_k_the_same_pick_when_both_stages_agree_on_the_same_draws(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("choose_refine", "t49g")
    rng = np.random.default_rng(3)
    archs = [f"a{i}" for i in range(1000)]
    f, acc = rng.normal(size=1000).tolist(), rng.uniform(80, 95, 1000).tolist()
    one = _refine_run(tmp_path / "r1.json", archs, f, acc, "best")
    two = _refine_run(tmp_path / "r2.json", archs, f, acc, "best")
    run_main(script, monkeypatch, one, two, "--proxy", "best", "--budget", "10", "--draws", "50")
    table = _table(capsys.readouterr().out)
    # every K is judged on the same draws (until session 49 each K drew its own, and these rows differed)
    assert sorted(table) == [1, 3, 5, 10, 20] and len(set(table.values())) == 1
    # and the pick is the fittest of each draw: its mean lies between the mean and the max of the accuracies
    assert np.mean(acc) - 5 < float(table[1][0]) <= max(acc)


def test_choose_refine_refuses_runs_of_different_archs_and_a_budget_the_runs_cannot_hold(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = load_script("choose_refine", "t49h")
    archs, scores, acc = [f"a{i}" for i in range(1000)], list(range(1000)), [90.0 + i % 7 for i in range(1000)]
    one = _refine_run(tmp_path / "r1.json", archs, scores, acc)
    other = _refine_run(tmp_path / "r2.json", archs[:-1] + ["another"], scores, acc)
    with pytest.raises(SystemExit, match="^the two runs hold different archs$"):
        run_main(script, monkeypatch, one, other)
    with pytest.raises(SystemExit) as exc:
        run_main(script, monkeypatch, one, one, "--budget", "1001")
    assert str(exc.value) == "--budget must be 1 … 1000 (the runs' archs; got 1001) and --draws >= 1 (got 2000)"
    with pytest.raises(SystemExit, match=r"and --draws >= 1 \(got 0\)$"):
        run_main(script, monkeypatch, one, one, "--budget", "1000", "--draws", "0")


# ---- search_nb201.py ----

def _recorder(values) -> tuple[list[nb201.Arch], object]:
    calls: list[nb201.Arch] = []

    def fitness(a: nb201.Arch) -> float:
        calls.append(a)
        return values(a)
    return calls, fitness


def test_random_search_scores_n_cells_of_distinct_classes_and_returns_the_first_fittest() -> None:
    script = load_script("search_nb201", "t49s")
    calls, fitness = _recorder(lambda a: float(str(a).count("conv")))  # many ties
    arch, value = script.random_search(25, 3, fitness)
    assert len(calls) == 25 and len({nb201.iso_key(a) for a in calls}) == 25
    best = max(str(a).count("conv") for a in calls)
    assert value == best and arch == next(a for a in calls if str(a).count("conv") == best)
    assert calls[0] == nb201.sample(random.Random(3))  # drawn with random.Random(seed)
    again, fitness2 = _recorder(lambda a: 0.0)
    script.random_search(25, 3, fitness2)
    assert again == calls
    other, fitness3 = _recorder(lambda a: 0.0)
    script.random_search(25, 4, fitness3)
    assert other != calls


def test_random_search_returns_the_first_cell_when_none_could_be_scored_and_refuses_n_below_one() -> None:
    script = load_script("search_nb201", "t49n")
    calls, fitness = _recorder(lambda a: float("-inf"))
    arch, value = script.random_search(5, 0, fitness)
    assert arch == calls[0] and value == float("-inf")
    with pytest.raises(ValueError, match=r"^random search needs n >= 1 cells \(got 0\)$"):
        script.random_search(0, 0, fitness)


def test_search_nb201_summary_table_is_the_mean_and_population_std_per_dataset() -> None:
    script = load_script("search_nb201", "t49t")
    runs = [{"dataset": "cifar10", "ea_test": 94.37, "rs_test": 93.5, "optimum": 94.37, "evaluations": 200,
             "ea_test_rank": 1},
            {"dataset": "cifar10", "ea_test": 94.10, "rs_test": 93.9, "optimum": 94.37, "evaluations": 211,
             "ea_test_rank": 8},
            {"dataset": "cifar100", "ea_test": 72.0, "rs_test": None, "optimum": 73.51, "evaluations": 190,
             "ea_test_rank": 30}]
    lines = script.summary_table(runs, ["cifar10", "cifar100"], "best")
    assert lines[0].startswith("| dataset | search test acc, fitness best (mean ± std) |") and len(lines) == 4
    ea = f"{statistics.mean([94.37, 94.10]):.2f} ± {statistics.pstdev([94.37, 94.10]):.2f}"
    rs = f"{statistics.mean([93.5, 93.9]):.2f} ± {statistics.pstdev([93.5, 93.9]):.2f}"
    assert lines[2] == f"| cifar10 | {ea} | {rs} | 94.37 | 206 | 4 |"  # 205.5 and 4.5 round half to even
    assert lines[3] == "| cifar100 | 72.00 ± 0.00 | — | 73.51 | 190 | 30 |"


# ---- nb201_fitness_ceiling.py and nb201_two_stage_ceiling.py ----

def test_fitness_ceiling_reads_exactly_the_search_protocols_swap_scores(small_bundle: Path, tmp_path: Path) -> None:
    from swapnas.session import configure, score_archs
    from swapnas.store import ScoreStore

    script = load_script("nb201_fitness_ceiling", "t49a")
    store_path = str(tmp_path / "s.sqlite")
    archs = _distinct_archs(3, 11)
    with pytest.raises(SystemExit, match="holds no swap scores for nb201/cifar10 with the search protocol"):
        with ScoreStore(store_path):
            pass
        script.stored_swap(store_path, "cifar10", str(small_bundle))
    torch.set_num_threads(1)
    with ScoreStore(store_path) as store:
        protocol, batch, proxies = configure("nb201", "cifar10", "swap", data_dir=str(small_bundle), repeats=1)
        other = score_archs(archs[:1], "nb201", proxies, protocol, batch, store, torch.device("cpu"),
                            progress=False)["swap"]  # R = 1: not the search protocol (R = 4), never read
        protocol, batch, proxies = configure("nb201", "cifar10", "swap", data_dir=str(small_bundle))
        recs = score_archs(archs[1:], "nb201", proxies, protocol, batch, store, torch.device("cpu"),
                           progress=False)["swap"]
    got, values, net = script.stored_swap(store_path, "cifar10", str(small_bundle))
    assert other[0].ok and net == nb201.SCORING_DEFAULTS["net"]
    assert sorted(zip(map(str, got), values.tolist())) == sorted((str(a), r.value) for a, r in zip(archs[1:], recs))


def test_two_stage_ceiling_refuses_a_run_that_is_not_full_space_or_lacks_the_fitness(
        small_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = load_script("nb201_two_stage_ceiling", "t49b")
    monkeypatch.setattr(script, "get_benchmark", lambda *a, **k: None)  # the small bundle's table has 30 rows
    path = tmp_path / "results.json"
    archs = [str(a) for a in nb201.all_archs()]
    path.write_text(json.dumps({"protocol": {"dataset": "cifar10", "net": {"C": 16, "N": 1}}, "archs": archs[:3],
                                "scores": {"swap_nb201": [1.0, 2.0, 3.0]}}))
    common = ["--data-dir", str(small_bundle), "--store", str(tmp_path / "s.sqlite")]
    with pytest.raises(SystemExit, match=r"is not a full-space run \(it holds 3 archs\)$"):
        run_main(script, monkeypatch, str(path), *common)
    path.write_text(json.dumps({"protocol": {"dataset": "cifar10", "net": {"C": 16, "N": 1}}, "archs": archs,
                                "scores": {"swap": [1.0] * len(archs), "params": [1.0] * len(archs)}}))
    with pytest.raises(SystemExit) as exc:
        run_main(script, monkeypatch, str(path), *common)
    assert str(exc.value) == (f"{path} holds no scores of swap_nb201 (it has swap, params); give --fitness NAME for "
                              "a run of another fitness")


# ---- tune_size_prior.py (it chose nb201.PRIOR_CENTRE / PRIOR_WIDTH; only its dev guard had tests) ----

def test_tune_size_prior_grid_is_the_spearman_rho_of_the_packages_regularised_swap(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:


    script = load_script("tune_size_prior", "t49u")
    archs = _distinct_archs(12, 5)
    rng = np.random.default_rng(5)
    swap = [float(v) for v in rng.integers(1000, 60000, size=12)]
    acc = [float(v) for v in rng.uniform(60, 94, size=12)]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"protocol": {"dataset": "cifar100", "net": {"C": 16, "N": 1}},
                                "archs": [str(a) for a in archs], "scores": {"swap": swap}, "accuracy": acc}))
    script.main(str(path), oracle=True)
    out = capsys.readouterr().out.splitlines()
    theta = [count_params_k(nb201.build(a, C=16, N=1)) for a in archs]
    lo = count_params_k(nb201.build(nb201.Arch(("none",) * 6), C=16, N=1))
    hi = count_params_k(nb201.build(nb201.Arch(("nor_conv_3x3",) * 6), C=16, N=1))
    assert out[0] == (f"{path}: n=12, scored net {{'C': 16, 'N': 1}}, size range {lo:.1f}..{hi:.1f} thousand params; "
                      f"rho(swap)={naive_spearman(swap, acc):.4f}")
    grid = {float(line.split()[0]): [float(v) for v in line.split()[1:]] for line in out[2:-1]}
    assert sorted(grid) == pytest.approx([0.3 + 0.1 * i for i in range(13)])
    best = (-2.0, 0.0, 0.0)
    for c, row in grid.items():
        for w, got in zip(script.WIDTHS, row, strict=True):
            mu, sigma = lo + c * (hi - lo), (w * (hi - lo)) ** 2
            rho = naive_spearman([s * size_prior(t, mu, sigma) for s, t in zip(swap, theta)], acc)
            assert got == pytest.approx(rho, abs=5e-4)
            best = max(best, (round(rho, 10), c, w))  # ties: the larger c, then w (the tuple order)
    rho, c, w = best
    assert out[-1].startswith(f"argmax: PRIOR_CENTRE={c}, PRIOR_WIDTH={w} -> rho={rho:.4f} (ORACLE, peeks at these "
                              "labels); ")


# ---- simulated_picks.py (its K = 1 simulation crashed from session 46 to 49: see test_dev_table_scripts.py) ----

def test_simulated_picks_with_every_arch_in_every_draw_picks_the_fittest_and_flips_lower_is_better(
        tmp_path: Path) -> None:
    script = load_script("simulated_picks", "t49sp")
    rng = np.random.default_rng(0)
    acc = rng.uniform(80, 95, 1000)
    up, down = rng.normal(size=1000), rng.normal(size=1000)
    doc = {"protocol": {"space": "nb201", "dataset": "cifar10", "seed": 0},
           "ground_truth": DEV_TRUTH,
           "archs": [f"a{i}" for i in range(1000)],
           "accuracy": acc.tolist(), "scores": {"up": [None, *up[1:].tolist()], "down": down.tolist()},
           "results": [{"proxy": "up", "higher_is_better": True}, {"proxy": "down", "higher_is_better": False}]}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc))
    lines = script.rows("dev", str(path), 1.0, 3)  # a draw of all 1000 archs: the pick is the fittest of the set
    cut = float(np.quantile(acc, 0.95))  # the top 5 % of the dev set
    best_up = max(range(1, 1000), key=lambda i: up[i])  # the None scored -inf: never picked
    best_down = min(range(1000), key=lambda i: down[i])
    assert lines == [f"| dev | `{path}` | up | 1000 | {acc[best_up]:.2f} | {float(acc[best_up] >= cut):.3f} |",
                     f"| dev | `{path}` | down | 1000 | {acc[best_down]:.2f} | {float(acc[best_down] >= cut):.3f} |"]
