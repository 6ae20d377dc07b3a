"""Session 64 audit of the grid's and the reports' outputs (each test failed on the code as found): `--proxies all`
keeps the rows of metrics that are also parts (flops, jacob_cov of vkdnw_agg), grid.md says which cells are saturated
or filled, a hidden part's failure names its metric, the exit count follows correlate's rule, and a derived proxy's
SATURATED line does not say it cannot rank."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict

import torch

from tests.conftest import SMALL_BUNDLE

NAN = math.nan


def _result(proxy: str, **over) -> dict:
    from swapnas.results import ProxyResult

    r = ProxyResult(proxy, f"{proxy}@1", "nb201", "cifar10", 10, 0, 0.5, 0.4, (0.1, 0.8), NAN, NAN, 0.01, True)
    return {**asdict(r), **over}


def _column(results: list[dict], hidden: list[str] | None = None):
    from swapnas.grid import GridColumn

    protocol = {"net": {"C": 16, "N": 1}, "batch_size": 4, "repeats": 1, "init": "gaussian", "seed": 0}
    return GridColumn("nb201", "cifar10", "valid acc", protocol, "", 10, 1.0, results, hidden=hidden or [])


def _fake_correlation(**kw):
    """run_correlation without scoring: one result per proxy (what run_grid does with it is under test)."""
    from swapnas.results import CorrelateRun, ProxyResult

    results = [ProxyResult(p.name, p.key, kw["bench"].name, kw["task"], 3, 0, 0.5, 0.5, (NAN, NAN), NAN, NAN, 0.1,
                           p.higher_is_better) for p in kw["proxies"]]
    return CorrelateRun(kw["protocol"].describe(), "gt", "", results, {}, [1.0, 2.0, 3.0], ["a", "b", "c"], 0.0)


def test_grid_proxies_all_keeps_the_rows_of_standalone_metrics_that_are_also_parts(monkeypatch, tmp_path):
    """`swapnas grid --proxies all` (the default) scored flops and jacob_cov (two of the paper's Fig. 4 metrics,
    docs/grid.md's table has their rows) but gave them no row in grid.md / grid.tex / grid.png: they are parts of
    vkdnw_agg, and `all` "names no part", so `hidden` held them (also vkdnw, vkdnw_layers, az_nas_*)."""
    import swapnas.grid as grid
    from swapnas.store import ScoreStore

    monkeypatch.setattr(grid, "correlate_proxies", _fake_correlation)
    with warnings.catch_warnings(), ScoreStore(tmp_path / "s.sqlite") as store:
        warnings.simplefilter("ignore")  # the grid's note on `best`'s protocol
        cols = grid.run_grid([("nb301", "cifar10")], proxies="all", n_archs=3, seed=0, repeats=1, store=store,
                             device=torch.device("cpu"), data_dir=str(SMALL_BUNDLE), progress=False)
    scored = {r["proxy"] for r in cols[0].results}
    assert {"flops", "jacob_cov"} <= scored
    rows = grid.metric_names(cols)
    assert "flops" in rows and "jacob_cov" in rows
    assert set(rows) == scored  # `all` names every metric: each scored one has its row (te_nas's parts too)
    md = grid.markdown(cols)
    assert "| flops |" in md and "| jacob_cov |" in md


def test_grid_md_says_which_cells_are_saturated():
    """grid.json keeps each cell's `saturated` count (session 63 counts a swap_reg / best whose Ψ sits at 2**S), but
    grid.md and report.md never show it, while the SaturationWarning printed during the grid says "a correlate or
    grid report's SATURATED line counts the archs at the 2**S ceiling": a swap_reg ranked by its size prior alone
    is shown (and bolded) as a plain ρ."""
    from swapnas.grid import markdown

    col = _column([_result("swap_reg", saturated=10), _result("params", spearman=0.4)])
    text = markdown([col])
    lines = [line for line in text.splitlines() if "satur" in line.lower()]
    assert lines and any("swap_reg" in line and "10" in line for line in lines), text


def test_grid_md_says_a_set_level_metric_had_failed_parts_filled():
    """correlate's report.md has a FILLED line (session 60) for vkdnw_agg archs whose jacob_cov failed and was
    counted at its worst value; grid.md shows `vkdnw_agg | 30 (0)` and nothing else, though grid.json has filled=1."""
    from swapnas.grid import markdown

    col = _column([_result("vkdnw_agg", filled=1, n=30)])
    text = markdown([col])
    assert any("fill" in line.lower() and "vkdnw_agg" in line for line in text.splitlines()), text


def test_grid_failure_line_of_a_hidden_part_names_the_metric_it_belongs_to():
    """`swapnas grid --proxies vkdnw_agg` (nb201 cifar10, --archs 30): exit 3 "1 arch score(s) failed (grid.md lists
    their messages)", and grid.md's only failure line is "nb201/cifar10 jacob_cov: …", a metric with no row; the row
    shown, vkdnw_agg, says 30 (0). The line should say the failing part is vkdnw_agg's (and was filled)."""
    from swapnas.grid import markdown

    err = "ValueError: jacob_cov Jacobians: row(s) [0, 1] are constant, so their correlation is undefined"
    col = _column([_result("vkdnw_agg", filled=1, n=30),
                   _result("jacob_cov", n=29, failures=1, errors=[err])],
                  hidden=["az_nas_expressivity", "az_nas_trainability", "flops", "jacob_cov", "vkdnw",
                          "vkdnw_layers"])
    text = markdown([col])
    failing = [line for line in text.splitlines() if "jacob_cov Jacobians" in line]
    assert failing and all("vkdnw_agg" in line for line in failing), text


def test_the_saturated_line_of_a_derived_proxy_does_not_say_it_cannot_rank():
    """SATURATED swap_reg: "... have a Ψ (swap, which swap_reg is derived from) >= 95% ... where it cannot rank
    them": swap_reg does rank them, by its size prior alone (its ρ is params's: 0.768 and 0.768 in
    `correlate --proxies swap,swap_reg,params --batch-size 4 --archs 12`); swap_nb201 by its other terms."""
    from swapnas.report import failure_lines
    from swapnas.results import ProxyResult

    r = ProxyResult("swap_reg", "k", "nb201", "cifar10", 12, 0, 0.768, 0.585, (0.2, 0.9), NAN, NAN, 0.04, True,
                    saturated=12)
    (line,) = failure_lines([r])
    assert "cannot rank them" not in line, line
    assert "where that Ψ is one constant and swap_reg ranks them by its other terms alone" in line, line
    r.proxy = "swap"
    assert "score >= 95% of the 2**S ceiling (S = the batch size; TransNAS jigsaw: 9 tiles per image), where it " \
        "cannot rank them; use a larger --batch-size" in failure_lines([r])[0]


def test_the_mixing_warning_is_given_once_per_space_of_a_grid():
    """`best` beside other metrics: the protocol warning came once per column (twice for two nb201 columns, about
    19 times in a default grid), and said "swap_nb201, swap_prog … is scored"."""
    from swapnas.grid import _column_init

    warned: set[str] = set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            assert _column_init("nb201", "best,swap_prog,params", warned) == "gaussian"
    assert len(caught) == 1 and "swap_nb201, swap_prog (the space's recommended fitness `best`, or one it " \
        "recommended before) are scored" in str(caught[0].message)
    assert warned == {"nb201"}


def test_grid_counts_a_failed_arch_once_as_correlate_does(monkeypatch, tmp_path, capsys):
    """correlate's exit count leaves a set-level metric's failures out ("its failures are its parts'",
    commands._failed_scores); grid's sums every result, the hidden parts' too: te_nas failing on one arch because
    its part te_nas_ntk did is "2 arch score(s) failed" (and grid.md lists te_nas_ntk, which has no row)."""
    import swapnas.cli.commands as commands
    from swapnas.cli import main

    col = _column([_result("te_nas", n=9, failures=1, errors=["part failed: te_nas_ntk: ValueError: x"]),
                   _result("te_nas_ntk", n=9, failures=1, errors=["ValueError: x"]),
                   _result("te_nas_lr", n=10)], hidden=["te_nas_lr", "te_nas_ntk"])
    monkeypatch.setattr(commands, "run_grid", lambda *a, **k: [col])
    code = main(["grid", "--benchmarks", "nb301", "--proxies", "te_nas", "--archs", "3", "--workers", "1",
                 "--data-dir", str(SMALL_BUNDLE), "--out", str(tmp_path / "g"), "--no-progress"])
    assert code == 3
    err = capsys.readouterr().err
    assert "swapnas: 1 arch score(s) failed" in err, err
