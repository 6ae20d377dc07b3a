"""Session-19 review of the research outputs (report.md, results.json / .csv, plots, grid, search, export).

Each test fails on the code before its fix.
"""

from __future__ import annotations

import re

import pytest

from swapnas.report import results_table
from swapnas.results import ProxyResult


def _result(proxy: str = "swap", **kw) -> ProxyResult:
    base = {"proxy": proxy, "key": "k", "space": "nb201", "dataset": "cifar10", "n": 30, "failures": 0,
            "spearman": 0.5, "kendall": 0.4, "spearman_ci": (0.1, 0.9), "top10_spearman": 0.8,
            "spearman_given_params": 0.3, "seconds_per_arch": 0.01, "higher_is_better": True}
    return ProxyResult(**{**base, **kw})


def _md_tables(text: str) -> list[list[str]]:
    """Each markdown table of ``text``: its consecutive lines that start with a pipe."""
    tables, cur = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cur.append(line)
        elif cur:
            tables.append(cur)
            cur = []
    return tables


def _cells(row: str) -> list[str]:
    """A row's cells, split on unescaped pipes (GFM splits on them even inside backticks)."""
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def _assert_renders(table: list[str]) -> None:
    assert re.fullmatch(r"\|(-+\|)+", table[1]), table[1]
    width = len(_cells(table[1]))
    for row in table:
        assert len(_cells(row)) == width, row


def test_results_table_markdown_escapes_the_pipe_of_rho_given_params():
    table = results_table([_result(), _result("params")], markdown=True)
    (rows,) = _md_tables(table)
    _assert_renders(rows)
    assert "rho\\|params" in rows[0]


def _search_result(extra: dict, best: str = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|a~0|b~1|c~2|"):
    from swapnas.search.driver import SearchResult

    return SearchResult("nb201", "cifar10", best, 13.78, 0.83, 117.9, 23, 3, 76.8, 0, {}, {}, None, None, None, {},
                        [], [], extra=extra, fitness_proxy="swap_nb201@1[w_swap=1]")


_PROV = {"command": "swapnas search", "swapnas": "0", "torch": "0", "created_utc": "now"}
_NB201_EXTRA = {"valid_accuracy": 89.85, "valid_optimum": 91.606, "valid_rank": 1154, "valid_tied": 8,
                "valid_regret": 1.755, "test_accuracy": 93.57, "test_optimum": 94.37, "test_rank": 345,
                "test_tied": 1, "test_regret": 0.8000000000000114}


def test_search_report_tables_escape_the_pipes_of_the_arch_string():
    from swapnas.search.driver import search_report

    text = search_report(_search_result(_NB201_EXTRA), _PROV)
    tables = _md_tables(text)
    assert len(tables) == 2
    for table in tables:
        _assert_renders(table)
    assert "`\\|nor_conv_3x3~0\\|+\\|none~0\\|" in tables[0][2]


def test_search_report_prints_accuracies_and_regrets_to_two_decimals_and_names_tied_ranks():
    from swapnas.search.driver import extra_cells

    cells = extra_cells(_NB201_EXTRA)
    assert cells == {"valid_accuracy": "89.85", "valid_optimum": "91.61", "valid_rank": "1154 (8 tied)",
                     "valid_regret": "1.75", "test_accuracy": "93.57", "test_optimum": "94.37", "test_rank": "345",
                     "test_regret": "0.80"}


def test_nb201_extras_count_the_archs_tied_with_the_returned_one(monkeypatch):
    import types

    import numpy as np

    from swapnas.search import driver
    from swapnas.spaces import get_space

    arch = get_space("nb201").parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|")
    col = np.array([91.0, 89.85, 89.85, 70.0, 89.85])  # the returned arch is #2, tied with #1 and #4
    bench = types.SimpleNamespace(tasks=("cifar10",), truth=lambda task: types.SimpleNamespace(column="acc"),
                                  column=lambda name: col,
                                  index_of=lambda a: 2 if a == arch else -1)
    monkeypatch.setattr(driver, "get_benchmark", lambda *a, **k: bench)
    extra = driver.nb201_extras(_search_result({}, best=str(arch)), None)
    assert (extra["valid_rank"], extra["valid_tied"], extra["test_rank"], extra["test_tied"]) == (2, 3, 2, 3)
    assert "| 2 (3 tied) |" in driver.search_report(_search_result(extra), _PROV)


_NB201_TRUTH = ("NB201 valid accuracy (%), 200 epochs, mean over seeds; cifar10-valid: trained on the 25k train split, "
                "evaluated on the 25k x-valid split")
_ROOM_TRUTH = ("TransNAS-Bench-101 micro room_layout: validation negative L2 (MSE) loss of the 9-d room layout, higher "
               "is better (benchmark field valid_neg_loss), as stored in NASLib's NAS-Bench-Suite-Zero file (711 archs)")


def test_scatter_y_axis_names_the_ground_truths_metric_not_always_accuracy():
    from swapnas.report import truth_label

    assert truth_label("nb201", "cifar10", _NB201_TRUTH) == "valid accuracy (%)"
    assert truth_label("transnas_micro", "jigsaw", "") == "validation top-1 accuracy (%)"
    assert truth_label("transnas_micro", "room_layout", _ROOM_TRUTH) == "validation negative L2 (MSE) loss"
    assert truth_label("transnas_macro", "autoencoder", "") == "validation SSIM"
    assert truth_label("transnas_micro", "normal", "") == "validation SSIM"
    assert truth_label("flexibert", "glue", "FlexiBERT-500 GLUE score (mean of the eight tasks) after ELECTRA-style "
                       "pre-training") == "GLUE score (mean of the eight tasks)"
    assert truth_label("csv:mine.csv", "t", "mine.csv (column 'top1', archs from column 'arch'; 9 archs of nb201, "
                       "task t)") == "ground truth (top1)"


def test_scatter_footnote_is_wrapped_not_cut():
    from swapnas.report import footnote_lines

    long = _ROOM_TRUTH + " " + _NB201_TRUTH  # 343 characters
    lines = footnote_lines(long)
    assert len(lines) > 1 and all(len(line) <= 150 for line in lines)
    assert " ".join(lines) == long


def test_rho_given_params_is_nan_for_a_proxy_that_ranks_as_the_control():
    import math

    import numpy as np
    from scipy import stats as sst

    from swapnas.stats import correlate

    rng = np.random.default_rng(0)
    params = np.arange(30, dtype=float) + 1.0
    x = params.copy()
    x[[10, 11]] = x[[11, 10]]  # one adjacent swap in 30: ρ(x, params) = 0.99955
    assert sst.spearmanr(x, params)[0] > 0.999
    y = params + rng.normal(0, 12, 30)
    assert math.isnan(correlate(x, y, params).spearman_given_params)
    x[[3, 4, 20, 21]] = x[[4, 3, 21, 20]]  # three swaps: ρ = 0.9987, still defined
    assert sst.spearmanr(x, params)[0] < 0.999
    assert math.isfinite(correlate(x, y, params).spearman_given_params)


def test_top10_rho_records_and_shows_the_size_of_its_subset():
    import dataclasses
    import json

    import numpy as np

    from swapnas.results import strict_json
    from swapnas.stats import correlate

    rng = np.random.default_rng(1)
    y = rng.normal(size=40)
    c = correlate(y + rng.normal(size=40), y, np.arange(40.0))
    assert c.top10_n == 4  # 10 % of 40 archs
    r = _result(top10_spearman=c.top10_spearman, top10_n=c.top10_n)
    assert json.loads(strict_json(dataclasses.asdict(r)))["top10_n"] == 4
    table = results_table([r], markdown=True)
    assert f"| {c.top10_spearman:.3f} (n=4) |" in table
    old = {k: v for k, v in dataclasses.asdict(_result()).items() if k != "top10_n"}  # a results.json of before
    assert ProxyResult(**old).top10_n is None
    assert "| 0.800 |" in results_table([ProxyResult(**old)], markdown=True)


def _correlate_cli(small_bundle, out, proxies="params"):
    from swapnas.cli import main

    return main(["correlate", "--space", "nb301", "--proxies", proxies, "--archs", "5", "--batch-size", "4",
                 "--data-dir", str(small_bundle), "--out", str(out), "--no-progress", "--quiet", "--workers", "1",
                 "--device", "cpu"])


def test_results_record_device_bootstrap_versions_proxy_keys_and_the_params_control(small_bundle, tmp_path):
    import csv
    import json

    import numpy as np
    import scipy

    out = tmp_path / "run"
    assert _correlate_cli(small_bundle, out) == 0
    doc = json.loads((out / "results.json").read_text())
    prov = doc["provenance"]
    assert prov["device"] == "cpu" and prov["numpy"] == np.__version__ and prov["scipy"] == scipy.__version__
    assert doc["bootstrap"]["resamples"] == 1000 and doc["bootstrap"]["seed"] == doc["protocol"]["seed"]
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [float(r["params_m"]) for r in rows] == doc["params_m"] and len(rows) == 5
    report = (out / "report.md").read_text()
    assert f"numpy {np.__version__}, scipy {scipy.__version__}, device cpu" in report
    assert "1000 resamples, seed 0" in report and "params `params@" in report and "`params_m` in results.csv" in report
    assert "read from the store" not in report


def test_rho_given_params_can_be_recomputed_from_results_csv_and_a_rerun_says_all_scores_were_stored(small_bundle, tmp_path):
    import csv
    import json

    import numpy as np

    from swapnas.stats import _partial_spearman

    out = tmp_path / "run"
    assert _correlate_cli(small_bundle, out, "params,meco") == 0
    assert _correlate_cli(small_bundle, out, "params,meco") == 0  # the same run again: every score is stored
    assert "All 5 archs' scores read from the store" in (out / "report.md").read_text()
    rows = list(csv.DictReader((out / "results.csv").open()))
    acc, size = (np.array([float(r[k]) for r in rows]) for k in ("accuracy", "params_m"))
    results = {r["proxy"]: r for r in json.loads((out / "results.json").read_text())["results"]}
    for name in ("params", "meco"):
        score = np.array([float(r[name]) for r in rows])
        got, want = results[name]["spearman_given_params"], _partial_spearman(score, acc, size)
        assert (got is None and np.isnan(want)) or got == pytest.approx(want, abs=1e-12)
    assert results["meco"]["spearman_given_params"] is not None  # a finite value, recomputed from the CSV alone


def test_grid_heatmap_grows_from_a_readable_minimum_and_shows_a_cells_own_n(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from swapnas.grid import GridColumn, heatmap

    drawn: list = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))  # the figure, not the PNG

    def col(task, results):
        return GridColumn("nb201", task, "gt", {}, "", 20, 1.0,
                          [{"proxy": p, "spearman": rho, "n": n, "failures": 20 - n, "seconds_per_arch": 0.1,
                            "errors": []} for p, rho, n in results])

    small = [col("cifar10", [("swap", 0.8, 20), ("params", 0.6, 20)]),
             col("cifar100", [("swap", 0.5, 17), ("params", 0.4, 20)])]
    heatmap(small, tmp_path / "small.png")
    w, h = drawn[-1].get_size_inches()
    assert w >= 4.8 and h >= 3.2  # was 2.1 × 1.84 in: the title was cut and the colour bar squeezed
    texts = [t.get_text() for t in drawn[-1].axes[0].texts]
    assert "0.50\nn=17" in texts and "0.80" in texts  # a cell with failures shows its own n
    assert "n=20" in texts and "n≤20" in texts  # the column with that cell says n≤
    big = [col(f"t{i}", [("swap", 0.1 * i, 20)]) for i in range(8)]
    heatmap(big, tmp_path / "big.png")
    assert drawn[-1].get_size_inches()[0] > w  # grows with the columns


def _small_nb201(small_bundle):
    import csv
    import json

    rows = list(csv.DictReader((small_bundle / "nb201" / "nb201_all_15625.csv").open()))
    naslib = json.loads((small_bundle / "nb201" / "naslib_zc_nasbench201.json").read_text())["cifar10"]
    return rows, naslib


def test_nb201_naslib_key_round_trips_through_the_tables_key_and_naslibs_own_index(small_bundle):
    import pytest

    from swapnas.spaces import nb201

    rows, naslib = _small_nb201(small_bundle)
    by_key = {r["naslib_op_indices"]: r for r in rows}  # the bundle's key column (computed from NASLib's encoding)
    for row in rows:
        arch = nb201.parse(row["arch_str"])
        key = nb201.to_naslib(arch)
        assert key == row["naslib_op_indices"] and by_key[key]["arch_str"] == str(arch)
        assert nb201.parse_naslib(key) == arch
    for key in naslib:  # each key of NASLib's own file names the arch the table gives it
        arch = nb201.parse_naslib(key)
        assert str(arch) == by_key[key]["arch_str"] and nb201.to_naslib(arch) == key
    assert nb201.to_naslib(nb201.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_3x3~0|"
                                       "avg_pool_3x3~1|nor_conv_1x1~2|")) == "(2, 3, 2, 3, 4, 3)"
    for bad in ("(0, 2, 3, 2, 3)", "(0, 2, 3, 2, 3, 5)", "0, 2, 3, 2, 3, 1", None):
        with pytest.raises(ValueError, match="NASLib NB201 key"):
            nb201.parse_naslib(bad)


def test_naslib_zc_export_keys_nb201_archs_as_naslib_does(small_bundle, tmp_path):
    import json

    from swapnas.export import export
    from swapnas.store import Record, ScoreKey, ScoreStore

    rows, naslib = _small_nb201(small_bundle)
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as s:
        for i, row in enumerate(rows[:5]):
            s.put(ScoreKey("nb201", row["arch_str"], "params@1", "fp0", 0, 16, 1, "{}"),
                  Record("ok", float(i), 0.0, [float(i)], 0.1, None, None))
    doc = json.loads(export(path, tmp_path / "zc.json", "naslib-zc").read_text())
    doc = {"nb201": doc["nb201"]["protocol fp0"]}  # a fingerprint without its protocol's row: named by itself
    assert set(doc["nb201"]) == {r["naslib_op_indices"] for r in rows[:5]} and set(doc["nb201"]) <= set(naslib)
    for i, row in enumerate(rows[:5]):
        assert doc["nb201"][row["naslib_op_indices"]]["params"]["score"] == float(i)
