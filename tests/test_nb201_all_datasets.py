"""An NB201 search result carries the found arch's ground truth on every NB201 dataset (the NAS-Bench-201 paper's
table: searched on one dataset, evaluated on all three): checked against a naive read of the benchmark's CSV."""

from __future__ import annotations

import csv

import pytest

from swapnas.search.driver import SearchResult, extra_cells, nb201_extras, search_report

#: the CSV's column of each (dataset, metric), written out here rather than read from the package
_COLUMNS = {("cifar10", "valid"): "c10_valid_200", ("cifar10", "test"): "c10_test_200",
            ("cifar100", "valid"): "c100_valid_200_derived", ("cifar100", "test"): "c100_test_200",
            ("imagenet16-120", "valid"): "in16_valid_200_derived", ("imagenet16-120", "test"): "in16_test_200"}


def _rows(bundle) -> list[dict]:
    with open(bundle / "nb201" / "nb201_all_15625.csv", newline="") as f:
        return list(csv.DictReader(f))


def _result(best: str, dataset: str) -> SearchResult:
    return SearchResult("nb201", dataset, best, 1.0, 0.5, 50.0, 10, 2, 1.0, 0, {}, {}, None, None, None, {}, [], [],
                        fitness_proxy="swap")


@pytest.mark.parametrize("dataset", ["cifar100", "imagenet16-120"])
def test_every_dataset_matches_a_naive_read_of_the_table(data_dir, dataset) -> None:
    rows = _rows(data_dir)
    columns = {key: [float(r[col]) for r in rows] for key, col in _COLUMNS.items()}
    best_c10 = max(rows, key=lambda r: float(r["c10_test_200"]))
    for row in [rows[0], rows[1], rows[7777], rows[15624], best_c10]:
        extra = nb201_extras(_result(row["arch_str"], dataset), str(data_dir))
        assert list(extra["datasets"]) == ["cifar10", "cifar100", "imagenet16-120"]
        for (ds, metric), col in _COLUMNS.items():
            values = columns[ds, metric]
            acc = float(row[col])
            got = extra["datasets"][ds]
            assert got[f"{metric}_accuracy"] == acc
            assert got[f"{metric}_rank"] == 1 + sum(v > acc for v in values)
            assert got[f"{metric}_tied"] == sum(v == acc for v in values)
            assert got[f"{metric}_regret"] == pytest.approx(max(values) - acc)
        # the flat keys are the searched dataset's, as before
        assert {k: v for k, v in extra.items() if k != "datasets"} == extra["datasets"][dataset]


def test_report_lists_the_searched_dataset_first_then_the_others(data_dir) -> None:
    best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    result = _result(best, "cifar100")
    result.extra = nb201_extras(result, str(data_dir))
    text = search_report(result, {"command": "swapnas search", "swapnas": "0", "torch": "0", "created_utc": "now"})
    table = [line for line in text.splitlines() if line.startswith("| ground truth")]
    assert len(table) == 1
    lines = text.splitlines()
    start = lines.index(table[0])
    body = lines[start + 2:start + 5]
    assert [b.split("|")[1].strip() for b in body] == ["cifar100 (searched)", "cifar10", "imagenet16-120"]
    for ds, line in zip(["cifar100", "cifar10", "imagenet16-120"], body):
        cells = [c.strip() for c in line.split("|")[2:-1]]
        assert cells == list(extra_cells(result.extra["datasets"][ds]).values())
    assert lines[start + 5] == ""  # three rows, no more


def test_search_table_on_every_dataset_matches_the_naive_read(data_dir) -> None:
    from swapnas.benchmarks import get_benchmark
    from tests.script_tools import load_script

    table = load_script("search_table", "t25").on_every_dataset
    rows = _rows(data_dir)
    picks = {"cifar10": [rows[1], rows[1], rows[7777]], "imagenet16-120": [rows[15624]]}
    runs = [{"dataset": ds, "best": r["arch_str"]} for ds, rs in picks.items() for r in rs]
    runs.append({"dataset": "cifar100"})  # a summary row without the found arch is left out
    lines = table(runs, get_benchmark("nb201", str(data_dir), metric="test")).splitlines()
    assert len(lines) == 4 and lines[2].startswith("| cifar10 (3 seeds) |") and lines[3].startswith("| imagenet16-120 (1 seeds) |")
    for line, (ds, rs) in zip(lines[2:], picks.items()):
        for cell, task in zip(line.split("|")[2:-1], ["cifar10", "cifar100", "imagenet16-120"]):
            values = [float(r[_COLUMNS[task, "test"]]) for r in rows]
            accs = [float(r[_COLUMNS[task, "test"]]) for r in rs]
            mean = sum(accs) / len(accs)
            std = (sum((a - mean) ** 2 for a in accs) / len(accs)) ** 0.5
            ranks = sorted({1 + sum(v > a for v in values) for a in accs})
            assert cell.strip() == f"{mean:.2f} ± {std:.2f} / {', '.join(map(str, ranks))}"


def test_extras_read_the_data_folder_given(data_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SWAPNAS_DATA", str(tmp_path / "nowhere"))  # only the folder given holds the table
    rows = _rows(data_dir)
    row = rows[4321]
    extra = nb201_extras(_result(row["arch_str"], "cifar10"), str(data_dir))
    for (ds, metric), col in _COLUMNS.items():
        values, acc = [float(r[col]) for r in rows], float(row[col])
        assert extra["datasets"][ds][f"{metric}_accuracy"] == acc
        assert extra["datasets"][ds][f"{metric}_rank"] == 1 + sum(v > acc for v in values)
