"""scripts/search_curves.py: the NB201 search's anytime curves, against loops over a naive read of the benchmark CSV."""

from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest

from tests.script_tools import load_script


def _truth(data_dir) -> dict[str, tuple[float, float]]:
    with open(data_dir / "nb201" / "nb201_all_15625.csv", newline="") as f:
        return {r["arch_str"]: (float(r["c100_valid_200_derived"]), float(r["c100_test_200"])) for r in csv.DictReader(f)}


def test_curves_match_loops_over_the_table(data_dir, tmp_path) -> None:
    from swapnas.benchmarks import get_benchmark

    mod = load_script("search_curves", "t25c")
    truth = _truth(data_dir)
    rng = random.Random(5)
    archs = rng.sample(sorted(truth), 30)
    fitness = [rng.choice([1.0, 2.0, 3.0, None]) if i % 7 else float(i) for i in range(30)]  # ties and failures
    history = [{"arch": a, "fitness": f} for a, f in zip(archs, fitness)]
    valid = get_benchmark("nb201", str(data_dir), metric="valid")
    test = get_benchmark("nb201", str(data_dir), metric="test")
    got = mod.curves(history, 3, "cifar100", valid, test)
    rand = [str(a) for a in load_script("search_table", "t25d").random_archs(30, 3)]
    for k in range(1, 31):
        best_fit, best_valid, best_rand = None, None, None
        for i in range(k):  # the first of equals wins; a failed score (None) never beats a finite one
            f = -np.inf if fitness[i] is None else fitness[i]
            if best_fit is None or f > best_fit[0]:
                best_fit = (f, truth[archs[i]][1])
            if best_valid is None or truth[archs[i]][0] > best_valid[0]:
                best_valid = truth[archs[i]]
            if best_rand is None or truth[rand[i]][0] > best_rand[0]:
                best_rand = truth[rand[i]]
        assert got["incumbent"][k - 1] == best_fit[1]
        assert got["visited_best_valid"][k - 1] == best_valid[1]
        assert got["random_best_valid"][k - 1] == best_rand[1]

    # the whole script on a two-seed study: the table's cells are the curves' mean ± std, the figure is written
    runs = []
    for seed in (0, 1):
        run = tmp_path / f"cifar100_seed{seed}"
        run.mkdir()
        h = history[seed * 5:seed * 5 + 22]
        (run / "result.json").write_text(json.dumps({"history": h, "best": h[-1]["arch"]}))
        runs.append({"dataset": "cifar100", "seed": seed})
    (tmp_path / "summary.json").write_text(json.dumps({"runs": runs}))
    loaded = mod.load_runs([str(tmp_path / "summary.json")])
    per = {"cifar100": [(mod.curves(r["history"], row["seed"], "cifar100", valid, test),
                         truth[r["best"]][1]) for row, r in loaded]}
    text = mod.table(per)
    row = next(line for line in text.splitlines() if line.startswith("| first-stage incumbent"))
    cells = [c.strip() for c in row.split("|")[2:-1]]
    at20 = [c["incumbent"][19] for c, _ in per["cifar100"]]
    assert cells[0] == f"{np.mean(at20):.2f} ± {np.std(at20):.2f}"  # k = 20; 22 evaluations: no k = 50 column
    assert len(cells) == 3 and cells[2] == f"{np.mean([a for _, a in per['cifar100']]):.2f} ± " \
                                          f"{np.std([a for _, a in per['cifar100']]):.2f}"
    mod.figure(per, {"cifar100": 73.51}, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 10_000


def test_load_runs_names_the_missing_result(tmp_path) -> None:
    mod = load_script("search_curves", "t25e")
    (tmp_path / "summary.json").write_text(json.dumps({"runs": [{"dataset": "cifar10", "seed": 4}]}))
    with pytest.raises(FileNotFoundError, match="cifar10_seed4"):
        mod.load_runs([str(tmp_path / "summary.json")])
