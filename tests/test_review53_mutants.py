"""Tests written against the survivors of session 53's hand mutation run (231 one-line wrong edits of export,
store_tools, grid, conformance, tokens, train, the FlexiBERT space and search; docs/reliability.md, "Session 53"):
each test fails on its mutant."""

from __future__ import annotations

import logging
import math
import random
import sqlite3
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from swapnas.conformance import _row, parse_int_tuple, select_proxies
from swapnas.grid import GridColumn, markdown, run_grid, select_columns
from swapnas.proxies import get_proxy
from swapnas.search.evolution import EAConfig, Evolution
from swapnas.store import Record, ScoreKey, ScoreStore
from swapnas.store_merge import merge_stores, merge_text
from swapnas.store_tools import salvage_store

from .test_leftovers22 import _quick_scores


# --- store_tools ---------------------------------------------------------------------------------------------------

def test_a_cut_store_of_8192_byte_pages_keeps_the_page_size_its_header_gives(tmp_path: Path) -> None:
    """The header's own page size is tried first: after 4096 (the first of the others), the schema of this store reads
    and its table does not, so without it the salvage took 4096 and recovered no score."""
    src = tmp_path / "s.sqlite"
    with ScoreStore(src) as store:
        store.add_protocol("p0", {"made": "up"})
        for i in range(300):
            store.put(ScoreKey("nb201", f"arch-{i:04d}-" + "op" * 30, "swap", "p0", 0, 16, 1, "C=16,N=1"),
                      Record("ok", float(i), 0.1, [float(i)], 0.01, None, None))
    db = sqlite3.connect(src, isolation_level=None)
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("PRAGMA page_size = 8192")
    db.execute("VACUUM")
    db.close()
    whole = src.read_bytes()
    src.write_bytes(whole[:len(whole) - 8192 - 3000])  # the last page gone, the one before cut mid-page
    report = salvage_store(src, tmp_path / "new.sqlite")
    assert report.header_rebuilt == 8192 and report.recovered > 200


def _store(path: Path, records: dict[str, Record]) -> Path:
    with ScoreStore(path) as store:
        store.add_protocol("p0", {"made": "up"})
        for arch, record in records.items():
            store.put(ScoreKey("nb201", arch, "swap", "p0", 0, 16, 1, "C=16,N=1"), record)
    return path


def test_a_failure_in_a_source_beside_a_score_in_into_is_no_differing_value(tmp_path: Path) -> None:
    ok, failed = Record("ok", 3.0, 0.0, [3.0], 0.1, None, None), Record("failed", None, None, [], 0.1, None, "boom")
    into = _store(tmp_path / "into.sqlite", {"x": ok})
    merged = merge_stores([_store(tmp_path / "src.sqlite", {"x": failed})], into)
    assert (merged.kept, merged.differing) == (1, 0)
    assert "another value" not in merge_text(merged)


# --- grid ----------------------------------------------------------------------------------------------------------

def test_empty_names_in_the_grid_s_lists_are_skipped() -> None:
    assert select_columns("nb201,") == select_columns("nb201") == select_columns(" nb201 ,, ")
    assert select_columns("nb201", "cifar10,,") == select_columns("nb201", "cifar10")


def test_archs_equal_to_a_column_s_count_are_not_warned_about(small_bundle, monkeypatch, caplog) -> None:
    _quick_scores(monkeypatch)
    with ScoreStore(":memory:") as store, caplog.at_level(logging.WARNING):
        cols = run_grid([("nb301", "cifar10")], proxies="params", n_archs=30, seed=0, repeats=1, store=store,
                        device=torch.device("cpu"), data_dir=str(small_bundle), progress=False, archs_given=True)
    assert cols[0].n_archs == 30  # all of them
    assert not [r for r in caplog.records if "fewer than" in r.getMessage()]


def _column(task: str, rhos: dict[str, float | None]) -> GridColumn:
    rows = [{"proxy": p, "spearman": rho, "n": 10, "failures": 0, "seconds_per_arch": 0.1, "errors": []}
            for p, rho in rhos.items()]
    protocol = {"net": {"C": 16}, "batch_size": 16, "repeats": 1, "init": "gaussian", "seed": 0}
    return GridColumn("nb201", task, "gt", protocol, "", 10, 1.0, rows)


def _rows(text: str) -> list[list[str]]:
    table = text.split("\n\n")[1]  # after the caption (no command given)
    return [line.strip("| ").split(" | ") for line in table.splitlines()[2:]]


def test_the_grid_table_ranks_a_missing_cell_as_zero_and_its_mean_column_is_a_mean() -> None:
    cols = [_column("a", {"swap": 0.9, "params": 0.2, "meco": 0.1}),
            _column("b", {"swap": None, "params": 0.2, "meco": 0.2}),
            _column("c", {"swap": math.nan, "params": 0.2, "meco": 0.9})]
    rows = _rows(markdown(cols))
    # swap: (0.9 + 0 + 0) / 3 = 0.3 ahead of params' 0.2 (with -1 for a missing cell: -0.37, last)
    assert [r[0] for r in rows] == ["meco", "swap", "params"]
    assert rows[0][-1] == "0.400"  # meco: the mean of 0.1, 0.2, 0.9 (its median is 0.2)
    assert rows[1][-1] == "0.900"  # swap: the mean of its one ρ


# --- conformance ---------------------------------------------------------------------------------------------------

def test_a_naslib_key_with_too_many_integers_is_refused() -> None:
    with pytest.raises(ValueError, match=r"must hold 6 non-negative integers"):
        parse_int_tuple("(0, 1, 2, 3, 4, 0, 1)", 6, 4)
    assert parse_int_tuple("(0, 1, 2, 3, 4, 0)", 6, 4) == (0, 1, 2, 3, 4, 0)


def _naslib(names: dict[str, str]) -> types.SimpleNamespace:
    return types.SimpleNamespace(scores={n: np.zeros(4) for n in names}, naslib_names=names, space="nb201",
                                 dataset="cifar10", seconds={n: 0.5 for n in names},
                                 seconds_over=lambda name, rows: 0.5)  # (over the archs compared: session 70)


def test_naslib_s_name_and_ours_for_one_metric_select_it_once() -> None:
    naslib = _naslib({"jacob_cov": "jacov", "params": "params"})
    assert [p.name for p in select_proxies(naslib, "jacov,jacob_cov")] == ["jacob_cov"]


def test_a_conformance_row_counts_naslib_s_missing_scores_and_keeps_five_error_messages() -> None:
    naslib = _naslib({"params": "params"})
    ok = Record("ok", 1.0, 0.0, [1.0], 0.2, None, None)
    recs = [ok, ok] + [Record("failed", None, None, [], None, None, f"error {i}") for i in range(6)]
    ours = np.array([1.0, 2.0, 3.0, math.nan, 5.0, 6.0, 7.0, 8.0])
    theirs = np.array([math.nan, 2.0, 3.0, 4.0, math.nan, 6.0, 7.0, 8.0])
    row = _row(get_proxy("params"), recs, ours, theirs, np.arange(8.0), naslib,  # type: ignore[arg-type]
               list(range(8)))
    assert (row.naslib_missing, row.failures) == (2, 6)
    assert row.errors == [f"error {i}" for i in range(5)]


# --- search --------------------------------------------------------------------------------------------------------

def test_crossover_takes_the_best_two_of_the_sample() -> None:
    pairs: list[tuple[int, int]] = []
    counter = iter(range(1, 1000))

    def crossover(a: int, b: int, rng: random.Random) -> int:
        pairs.append((a, b))
        return 500 + len(pairs)

    space = types.SimpleNamespace(sample=lambda rng: next(counter), mutate=lambda arch, rng: arch * 1000,
                                  iso_key=str, crossover=crossover)
    config = EAConfig(population=3, sample=3, mutations=1, cycles=1, crossover=1.0)
    ea = Evolution(space, config)  # type: ignore[arg-type]
    first = ea.ask()
    ea.tell(first, [1.0, 3.0, 2.0])
    ea.ask()
    assert pairs == [(first[1], first[2])]  # fitness 3, then 2
