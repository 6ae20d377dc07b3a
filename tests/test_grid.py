"""The benchmark interface, per-space scoring setup and `swapnas grid`."""

from __future__ import annotations

import json
import random
import sqlite3

import numpy as np
import pytest
import torch

from swapnas.benchmarks import get_benchmark
from swapnas.cli import main
from swapnas.grid import COLUMNS, markdown, select_columns
from swapnas.session import check_task, configure, scoring_net
from swapnas.spaces import darts
from swapnas.patterns import count_params_k, prior_from_range

FAST = ["--proxies", "swap,params", "--archs", "5", "--device", "cpu", "--no-progress"]


def test_columns_are_the_papers_grid() -> None:
    assert len(COLUMNS) == 1 + 3 + 1 + 1 + 7 + 7 + 9  # + flexibert: glue and its eight tasks
    assert select_columns("nb201", "all") == [("nb201", "cifar10"), ("nb201", "cifar100"), ("nb201", "imagenet16-120")]
    assert select_columns("all", "jigsaw") == [("transnas_micro", "jigsaw"), ("transnas_macro", "jigsaw")]
    with pytest.raises(ValueError, match="unknown benchmark.*nb999"):
        select_columns("nb999")
    with pytest.raises(ValueError, match=r"^no grid column matches benchmarks='nb101', tasks='jigsaw': nb101 has "
                                         r"cifar10$"):
        select_columns("nb101", "jigsaw")
    with pytest.raises(ValueError, match=r"unknown task\(s\) jigsw; did you mean 'jigsaw'\?; known: "):
        select_columns("all", "jigsw")  # (session 64: no nearest name)
    with pytest.raises(ValueError, match=r"nb301 has cifar10; darts_swap has cifar10$"):
        select_columns("nb301, darts_swap", "cifar100")


@pytest.mark.bundle  # NASLib's full NB301 file (725 archs) and the NB201 table (all 15,625 rows)
def test_benchmark_interface(data_dir) -> None:
    nb301 = get_benchmark("nb301", data_dir)
    assert nb301.space == "darts" and nb301.tasks == ("cifar10",)
    archs = nb301.archs_for("cifar10")
    assert len(archs) == 725 and nb301.accuracies(archs[:3], "cifar10").shape == (3,)
    with pytest.raises(ValueError, match="only for nb201"):
        get_benchmark("nb301", data_dir, metric="test")
    with pytest.raises(ValueError, match="ground truth only for cifar10"):
        nb301.accuracies(archs[:1], "cifar100")
    nb201 = get_benchmark("nb201", data_dir, metric="test")
    assert "ori-test" in nb201.truth_text("cifar10")
    assert nb201.accuracies(nb201.archs_for("cifar10")[:1], "cifar10")[0] == nb201.accuracy(nb201.archs[0], "cifar10")
    with pytest.raises(ValueError, match="no ground truth for 'nb999'"):
        get_benchmark("nb999", data_dir)


def test_darts_size_range_is_exact() -> None:
    net = darts.SCORING_DEFAULTS["net"]
    lo, hi = darts.param_range_k(**net)
    rng = random.Random(0)
    with torch.device("meta"):
        sizes = [count_params_k(darts.build(darts.sample(rng), **net)) for _ in range(30)]
    assert lo < min(sizes) and max(sizes) < hi
    assert darts.default_size_prior(net) == prior_from_range(lo, hi) == (lo + 0.8 * (hi - lo), (hi - lo) ** 2)


def test_configure_uses_space_defaults(small_bundle) -> None:
    bench = get_benchmark("nb301", small_bundle)
    protocol, batch, proxies = configure(bench.space, "cifar10", "swap_reg", net={"C": 4}, data_dir=small_bundle)
    assert protocol.space == "darts" and protocol.net == {"C": 4, "layers": 5}
    assert protocol.batch_size == 16 and protocol.repeats == 1 and batch.inputs.shape == (16, 3, 32, 32)
    mu, sigma = darts.default_size_prior({"C": 4, "layers": 5})
    assert proxies[0].options["mu"] == pytest.approx(mu) and proxies[0].options["sigma"] == pytest.approx(sigma)
    with pytest.raises(ValueError, match="not options of the darts network.*layers"):
        scoring_net("darts", "cifar10", {"N": 2})
    with pytest.raises(ValueError, match="nb301 has no task 'jigsaw'"):
        check_task(bench, "jigsaw")


def test_correlate_other_space_and_net_option(small_bundle, tmp_path, capsys) -> None:
    out = tmp_path / "c"
    assert main(["correlate", "--space", "nb301", "--net", "C=4,layers=2,stem=false", "--data-dir", str(small_bundle),
                 "--out", str(out), *FAST]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["protocol"]["net"] == {"C": 4, "layers": 2, "stem": False} and doc["protocol"]["space"] == "darts"
    assert {r["n"] for r in doc["results"]} == {5}
    assert main(["correlate", "--space", "nb301", "--cells", "2", "--data-dir", str(small_bundle), "--out", str(out),
                 *FAST]) == 2
    assert "--cells is an nb201 shortcut" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["correlate", "--net", "C16", "--out", str(out)])
    assert exit_.value.code == 2
    assert "argument --net: --net takes KEY=VALUE pairs joined by ',', e.g. C=16,N=2; bad item 'C16'" in \
        capsys.readouterr().err


@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_grid_writes_and_resumes(data_dir, tmp_path, capsys) -> None:
    out = tmp_path / "g"
    args = ["grid", "--benchmarks", "nb201,nb301", "--tasks", "cifar10", "--data-dir", str(data_dir),
            "--out", str(out), *FAST]
    # shards first: they only score
    for i in (0, 1):
        assert main([*args, "--shard", f"{i}/2"]) == 0
    assert not (out / "grid.json").exists()
    db = sqlite3.connect(out / "scores.sqlite")
    before = db.execute("SELECT space, arch, proxy, created FROM scores ORDER BY 1, 2, 3").fetchall()
    assert len(before) == 2 * 5 * 2
    assert main(args) == 0  # the table from the store, nothing re-scored
    assert db.execute("SELECT space, arch, proxy, created FROM scores ORDER BY 1, 2, 3").fetchall() == before
    doc = json.loads((out / "grid.json").read_text())
    cols = doc["columns"]
    assert doc["provenance"]["swapnas"] and doc["provenance"]["created_utc"]
    assert [(c["benchmark"], c["task"]) for c in cols] == [("nb201", "cifar10"), ("nb301", "cifar10")]
    assert "![grid](grid.png)" in (out / "report.md").read_text() and (out / "grid.png").is_file()
    assert all(r["n"] == 5 for c in cols for r in c["results"])
    text = (out / "grid.md").read_text()
    assert "| metric | nb201/cifar10 | nb301/cifar10 | mean |" in text and "**" in text
    assert (out / "grid.png").stat().st_size > 5000


def test_grid_markdown_marks_best_per_column() -> None:
    from swapnas.grid import GridColumn

    def col(task: str, rhos: dict) -> GridColumn:
        res = [{"proxy": p, "spearman": v, "n": 10, "failures": 0, "seconds_per_arch": 0.1, "errors": []}
               for p, v in rhos.items()]
        return GridColumn("nb201", task, "gt", {"net": {}, "batch_size": 16, "repeats": 1, "init": "gaussian",
                                                  "seed": 0}, "", 10, 1.0, res)

    text = markdown([col("cifar10", {"swap": 0.8, "params": 0.7}), col("cifar100", {"swap": 0.6, "params": 0.9})])
    rows: dict[str, str] = {}
    for line in text.splitlines():  # the first table is the rho table
        if line.startswith(("| swap", "| params")):
            rows.setdefault(line.split(" | ")[0], line)
    assert "**0.800**" in rows["| swap"] and "**0.900**" in rows["| params"]
    assert "0.700 |" in rows["| params"] and "**0.700**" not in rows["| params"]
    assert np.isclose(float(rows["| params"].split(" | ")[-1].rstrip(" |")), 0.8)


@pytest.mark.slow  # > 5 s
@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_grid_archs_per_benchmark(data_dir, tmp_path, capsys) -> None:
    out = tmp_path / "g"
    assert main(["grid", "--benchmarks", "nb201,nb301", "--tasks", "cifar10", "--archs-per", "nb301=3",
                 "--data-dir", str(data_dir), "--out", str(out), *FAST]) == 0
    cols = json.loads((out / "grid.json").read_text())["columns"]
    assert [c["n_archs"] for c in cols] == [5, 3]
    assert main(["grid", "--benchmarks", "nb201", "--archs-per", "nb999=3", "--data-dir", str(data_dir),
                 "--out", str(out), *FAST]) == 2
    assert "--archs-per names benchmark(s) not in the grid: nb999" in capsys.readouterr().err


def test_grid_markdown_explains_empty_cells() -> None:
    from swapnas.grid import GridColumn

    res = [{"proxy": "swap", "spearman": 0.5, "n": 10, "failures": 0, "seconds_per_arch": 0.1, "errors": []},
           {"proxy": "zen", "spearman": float("nan"), "n": 0, "failures": 10, "seconds_per_arch": float("nan"),
            "errors": ["ValueError: no global pool"]},
           {"proxy": "synflow", "spearman": float("nan"), "n": 10, "failures": 0, "seconds_per_arch": 0.1,
            "errors": []}]
    col = GridColumn("transnas_micro", "normal", "gt", {"net": {}, "batch_size": 16, "repeats": 1,
                                                         "init": "gaussian", "seed": 0}, "", 10, 1.0, res)
    text = markdown([col])
    assert "- transnas_micro/normal zen: every arch failed: ValueError: no global pool" in text
    assert "- transnas_micro/normal synflow: the score is the same for all 10 archs" in text
    # regression (review, session 15): two scored archs are too few for ρ, not "the same score"
    few = GridColumn("nb201", "cifar10", "gt", col.protocol, "", 2, 1.0,
                     [{"proxy": "swap", "spearman": float("nan"), "n": 2, "failures": 0, "seconds_per_arch": 0.1,
                       "errors": []}])
    assert "- nb201/cifar10 swap: only 2 arch(s) scored; ρ needs at least 3" in markdown([few])
    assert "a cell without ρ counting as 0; the mean column averages the cells with ρ" in text
