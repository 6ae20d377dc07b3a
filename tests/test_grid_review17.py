"""`swapnas grid` over benchmarks whose metrics differ per column (review findings, session 17).

`--proxies best` is each space's own recommended fitness (nb101: swap_darts, nb301's DARTS space:
swap_fisher), so the columns of one grid hold different metrics. The table took its rows from the first
column and crashed (StopIteration) on the next, after all the scoring, with nothing written.
"""

from __future__ import annotations

import json
import math

import torch

from swapnas import grid
from swapnas.grid import GridColumn, markdown, rho_matrix
from swapnas.results import CorrelateRun, ProxyResult
from swapnas.session import best_for
from swapnas.store import ScoreStore

PROTOCOL = {"net": {}, "batch_size": 16, "repeats": 1, "init": "gaussian", "seed": 0}


def _row(proxy: str, rho: float) -> dict:
    return {"proxy": proxy, "spearman": rho, "n": 10, "failures": 0, "seconds_per_arch": 0.1, "errors": []}


def test_columns_with_different_metrics_get_a_row_each_with_a_dash_where_missing() -> None:
    a = GridColumn("nb101", "cifar10", "gt", PROTOCOL, "", 10, 1.0, [_row("swap_darts", 0.5), _row("params", 0.4)],
                   best="swap_darts")
    b = GridColumn("nb301", "cifar10", "gt", PROTOCOL, "", 10, 1.0, [_row("swap_fisher", 0.7), _row("params", 0.6)],
                   best="swap_fisher")
    names, rho = rho_matrix([a, b])
    assert names == ["swap_darts", "params", "swap_fisher"]
    assert rho[0, 0] == 0.5 and math.isnan(rho[0, 1]) and math.isnan(rho[2, 0]) and rho[2, 1] == 0.7
    text = markdown([a, b])
    rows: dict[str, str] = {}
    for line in text.splitlines():  # the first table is the rho table
        if line.startswith("| swap_"):
            rows.setdefault(line.split(" | ")[0], line)
    assert rows["| swap_darts"] == "| swap_darts | **0.500** | — | 0.500 |"
    assert rows["| swap_fisher"].startswith("| swap_fisher | — | **0.700** |")
    assert "- nb301/cifar10 swap_darts: not scored in this column (`best` here is swap_fisher)" in text
    assert "`best` is each space's recommended fitness: nb101/cifar10 swap_darts, nb301/cifar10 swap_fisher" in text


def _fake_correlation(*, bench, task, proxies, n_archs, protocol, batch, **_) -> CorrelateRun:
    """A stand-in for the scoring: a ρ per proxy (params 0.1, any other 0.2), no network built."""
    res = [ProxyResult(p.name, p.key, bench.space, task, 5, 0, 0.1 if p.name == "params" else 0.2, 0.1, (0.0, 0.2),
                       0.1, 0.1, 0.01, p.higher_is_better) for p in proxies]
    return CorrelateRun(protocol.describe(), "gt", "", res, {}, [], ["a"] * 5, 0.5)


def test_grid_best_over_two_spaces_writes_the_table(small_bundle, tmp_path, monkeypatch) -> None:
    assert best_for("nb101") != best_for("darts")
    monkeypatch.setattr(grid, "correlate_proxies", _fake_correlation)
    with ScoreStore(":memory:") as store:
        cols = grid.run_grid([("nb101", "cifar10"), ("nb301", "cifar10")], proxies="best,params", n_archs=5, seed=0,
                             repeats=1, store=store, device=torch.device("cpu"), data_dir=str(small_bundle),
                             progress=False)
    assert [c.best for c in cols] == [best_for("nb101"), best_for("darts")]
    grid.write_grid(cols, tmp_path)  # crashed with StopIteration before anything was written
    doc = json.loads((tmp_path / "grid.json").read_text())
    assert [c["best"] for c in doc["columns"]] == [best_for("nb101"), best_for("darts")]
    text = (tmp_path / "grid.md").read_text()
    assert f"| {best_for('nb101')} | **0.200** | — |" in text and f"| {best_for('darts')} | — | **0.200** |" in text
    # without `best` in --proxies no column names one
    with ScoreStore(":memory:") as store:
        plain = grid.run_grid([("nb301", "cifar10")], proxies="params", n_archs=5, seed=0, repeats=1, store=store,
                              device=torch.device("cpu"), data_dir=str(small_bundle), progress=False)
    assert plain[0].best is None and "`best` is" not in markdown(plain)


# ----------------------------------------------------------------------------- conformance: NASLib's names


def _naslib_scores():
    from pathlib import Path

    import numpy as np

    from swapnas.conformance import NaslibScores

    vals = np.arange(3, dtype=float)
    return NaslibScores("nb201", "cifar10", Path("zc.json"), ["(0, 0, 0, 0, 0, 0)"] * 3, [None] * 3, vals,
                        {"jacob_cov": vals, "params": vals}, {"jacob_cov": "jacov", "params": "params"},
                        {"jacob_cov": 0.1, "params": 0.0})


def test_conformance_takes_naslibs_own_names() -> None:
    """`--proxies jacov` (the name the table's naslib column shows) was refused with the whole registry."""
    import pytest

    from swapnas.conformance import select_proxies

    naslib = _naslib_scores()
    assert [p.name for p in select_proxies(naslib, "jacov")] == ["jacob_cov"]
    assert [p.name for p in select_proxies(naslib, "jacov,jacob_cov,params")] == ["jacob_cov", "params"]
    for bad, phrase in (("nosuch", "unknown metric 'nosuch'"), ("swap", "NASLib stores no swap scores")):
        with pytest.raises(ValueError) as err:
            select_proxies(naslib, bad)
        assert phrase in str(err.value) and "jacob_cov (NASLib: jacov), params" in str(err.value)
        assert "swap_nb201" not in str(err.value)  # not the whole registry
