"""report.md of a search, written out line by line here: every part (the header, the table, the size prior, the notes,
the second stage, the ground truth on every dataset, the plots) in its place; the second stage's line and the files
``write_result`` writes.

Written against the survivors of mutation testing ``search_report``, ``extra_cells``, ``stage_text`` and
``write_result`` (session 33, docs/reliability.md): their tests matched parts of the text (a table's pipes, a column's
cells) or ran only inside whole searches."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from swapnas.search.driver import SearchResult, extra_cells, search_report, stage_text, write_result
from swapnas.spaces import nb201
from tests.search_tools import search_result

_BEST = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"
_OTHER = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
_PROV = {"command": "swapnas search nb201 --dataset cifar100", "swapnas": "9.9", "torch": "2.x", "created_utc": "noon"}


def _truth(acc: float, rank: int, tied: int) -> dict:
    return {"valid_accuracy": acc, "valid_rank": rank, "valid_tied": tied, "test_regret": 100.0 - acc}


def _result(**kw) -> SearchResult:
    return search_result(**{"dataset": "cifar100", "best": _BEST, "fitness": 13.781234, "params_m": 0.95,
                            "macs_m": 117.94, "evaluations": 23, "wall_seconds": 76.84, "seed": 7,
                            "fitness_proxy": "swap_nb201@1", **kw})


_HEAD = ["# Search: nb201 / cifar100, seed 7",
         "",
         "Made by `swapnas search nb201 --dataset cifar100` (swapnas 9.9, torch 2.x, noon).",
         "",
         "| returned arch | fitness | proxy | evaluations | cycles | params (M) | multiply-adds (M) | wall (s) |",
         "|---|---|---|---|---|---|---|---|",
         "| `\\|nor_conv_3x3~0\\|+\\|none~0\\|skip_connect~1\\|+\\|avg_pool_3x3~0\\|none~1\\|nor_conv_1x1~2\\|` | "
         "13.7812 | swap_nb201@1 | 23 | 3 | 0.950 | 117.9 | 76.8 |",
         ""]
_TAIL = ["![search curve](search_curve.png)",
         "",
         "![cell](cell.png)",
         "",
         "Data: [result.json](result.json) (config, protocol, every evaluation).",
         ""]


def test_a_plain_search_report_line_by_line() -> None:
    assert search_report(_result(), _PROV).split("\n") == [*_HEAD, "Size prior of the fitness: none.", "", *_TAIL]


def test_a_search_report_with_every_part_line_by_line() -> None:
    refine = {"k": 2, "repeats": 2, "batch_size": 20, "net": {"C": 4, "N": 5},
              "shortlist": [{"arch": _OTHER, "fitness": 2.0, "refined": 1.0},
                            {"arch": _BEST, "fitness": 1.5, "refined": 3.0}]}
    per = {"cifar10": _truth(93.5, 40, 1), "cifar100": _truth(70.125, 3, 2), "imagenet16-120": _truth(44.0, 7, 5)}
    result = _result(mu=540.123456, sigma=85058.0, size_mapping={"target_m": 0.8, "tolerance": 0.1},
                     config={"cycles": 5}, refine=refine, extra={**per["cifar100"], "datasets": per})
    assert search_report(result, _PROV).split("\n") == [  # session 51: the header says whose fitness the table shows
        *_HEAD[:4], _HEAD[4].replace("| fitness |", "| fitness (second stage, below) |"), *_HEAD[5:],
        "Size prior of the fitness: mu=540.1 sigma=8.506e+04 (--target-params 0.8M).",
        "",
        "**Note:** stopped after cycle 3 of 5 by --max-evals / --max-seconds: rerun the same command with a larger "
        "budget (or none) to continue it.",
        "**Note:** the final network's 0.950 M params miss --target-params 0.8M by more than --tolerance 0.1 (the size "
        "prior aims, it does not constrain: add --max-params for a limit).",
        "",
        "Second stage: the 2 fittest re-scored on C=4,N=5, S=20, R=2; returned the arch the first stage ranked #2 "
        "(first-stage fitness 1.5; the first stage's best 2): the fitness shown is its second-stage value.",
        "",
        "| ground truth | valid_accuracy | valid_rank | test_regret |",
        "|---|---|---|---|",
        "| cifar100 (searched) | 70.12 | 3 (2 tied) | 29.88 |",  # 70.125 is a binary tie: rounded to even
        "| cifar10 | 93.50 | 40 | 6.50 |",
        "| imagenet16-120 | 44.00 | 7 (5 tied) | 56.00 |",
        "",
        *_TAIL]


def test_a_report_without_other_datasets_labels_the_row_with_the_dataset_alone() -> None:
    text = search_report(_result(extra={"rank": 4, "tied": 1, "rte_score": 0.5}), _PROV)
    assert "| ground truth | rank | rte_score |\n|---|---|---|\n| cifar100 | 4 | 0.50 |\n\n![search" in text


@pytest.mark.parametrize("extra, cells", [
    ({"x_rank": 3}, {"x_rank": "3"}),  # a rank without its count of tied archs: itself alone
    ({"x_rank": 5, "x_tied": 2}, {"x_rank": "5 (2 tied)"}),
    ({"x_rank": 5, "x_tied": 1, "n": 7, "score": 0.125}, {"x_rank": "5", "n": "7", "score": "0.12"}),
])
def test_extra_cells_count_tied_archs_only_when_there_are_others(extra, cells) -> None:
    assert extra_cells(extra) == cells


def _stage(shortlist: list[dict], **kw) -> SearchResult:
    return _result(refine={"k": len(shortlist), "repeats": 3, "batch_size": 16, "net": {"C": 8}, "shortlist": shortlist,
                           **kw})


def test_stage_text_says_how_the_arch_was_returned() -> None:
    ok, other, nan = ({"arch": _BEST, "fitness": 13.18, "refined": 2.5},
                      {"arch": _OTHER, "fitness": 14.0, "refined": 1.0},
                      {"arch": _OTHER, "fitness": 14.25, "refined": float("nan")})
    head = "Second stage: the 2 fittest re-scored on C=8, S=16, R=3"
    tail = ": the fitness shown is its second-stage value"
    assert stage_text(_result()) is None and stage_text(_result(refine={})) is None
    assert stage_text(_stage([ok, other])) == (f"{head}; returned the arch the first stage ranked #1 (first-stage "
                                               f"fitness 13.18; the first stage's best 13.18){tail}")
    assert stage_text(_stage([other, ok], mu=12.5, sigma=0.25)) == (
        f"{head}, its size prior mu=12.5, sigma=0.25; returned the arch the first stage ranked #2 (first-stage fitness "
        f"13.18; the first stage's best 14){tail}")
    assert stage_text(_stage([nan, ok])) == (f"{head}; returned the arch the first stage ranked #2 (first-stage "
                                             f"fitness 13.18; the first stage's best 14.25){tail} (1 of the re-scores "
                                             "failed: they rank last)")
    no_fitness = [{k: v for k, v in c.items() if k != "fitness"} for c in (other, ok)]  # a shortlist without them
    assert stage_text(_stage(no_fitness)) == f"{head}; returned the arch the first stage ranked #2{tail}"
    assert stage_text(_stage([nan, {**nan, "refined": None}])) == (f"{head}; returned the first stage's best (every "
                                                                   "re-score failed)")


def test_write_result_writes_the_result_its_plots_and_report(tmp_path, monkeypatch) -> None:
    from swapnas.search import driver

    drawn: list = []
    curve, cells = driver.search_curve, driver.draw_cells
    monkeypatch.setattr(driver, "search_curve", lambda *a: (drawn.append(("curve", *a)), curve(*a))[1])
    monkeypatch.setattr(driver, "draw_cells", lambda *a: (drawn.append(("cell", *a)), cells(*a))[1])
    history = [{"arch": _OTHER, "fitness": 1.0, "evaluation": 1}, {"arch": _BEST, "fitness": float("nan"),
                                                                    "evaluation": 2}]
    snapshots = [{"evaluations": 2, "cycle": 0, "best": 1.0, "population_mean": 1.0, "population_min": 1.0}]
    result = _result(history=history, snapshots=snapshots)
    paths = write_result(result, tmp_path)
    assert paths == [tmp_path / name for name in ("result.json", "search_curve.png", "cell.png", "report.md")]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths[1:3])
    doc = json.loads((tmp_path / "result.json").read_text(), parse_constant=pytest.fail)  # strict JSON
    prov = doc.pop("provenance")
    assert set(prov) - {"source", "environment"} == {"swapnas", "code", "torch", "numpy", "scipy", "python",
                                                     "command", "cwd", "created_utc"}
    assert doc == {**asdict(result), "history": [history[0], {**history[1], "fitness": None}]}  # NaN: null
    assert (tmp_path / "report.md").read_text() == search_report(result, prov)
    assert drawn == [("curve", snapshots, history, tmp_path / "search_curve.png", "nb201/cifar100 seed 7",
                      "fitness: swap_nb201", None),  # (no second stage: no pick marked; session 70)
                     ("cell", nb201.cell_edges(nb201.parse(_BEST)), tmp_path / "cell.png", _BEST)]


def test_a_flexibert_report_names_the_input_its_multiply_adds_are_of() -> None:
    # session 51: "668.0 M multiply-adds" of a FlexiBERT search did not say for a sequence of how many tokens
    text = search_report(_result(space="flexibert", dataset="glue", best="ARCH"), _PROV)
    assert "| params (M) | multiply-adds (M, one sequence of 128 tokens) | wall (s) |" in text


def test_a_flexibert_report_says_the_row_is_the_nearest_arch_s_when_the_found_one_is_not_in_the_benchmark() -> None:
    # session 51: "glue_score 73.98 | rank 14" read as the returned arch's, which the benchmark does not hold
    extra = {"in_benchmark": 0, "benchmark_arch": "B", "distance": 7, "glue_score": 73.98, "rank": 14, "tied": 1,
             "of": 491, "optimum": 75.13}
    text = search_report(_result(space="flexibert", dataset="glue", best="ARCH", extra=extra), _PROV)
    assert ("The returned arch is not in the benchmark: the score, rank and optimum are those of its nearest benchmark "
            "arch (`benchmark_arch`, 7 design choices differ), not its own.") in text
    one = search_report(_result(space="flexibert", dataset="glue", best="ARCH", extra={**extra, "distance": 1}), _PROV)
    assert "(`benchmark_arch`, 1 design choice differs)" in one
    inside = search_report(_result(space="flexibert", dataset="glue", best="B",
                                   extra={**extra, "in_benchmark": 1, "distance": 0}), _PROV)
    assert "not in the benchmark" not in inside
