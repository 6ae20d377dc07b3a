"""Tests written against the survivors of session 36's mutation run of ``swapnas.grid`` (docs/reliability.md,
"Session 36"): the heat map's size, fonts and row order, and what ``write_grid`` writes where. The columns are
written out here (no scoring): each result row as ``grid.json`` holds it.
"""

from __future__ import annotations

import logging
import math
import warnings

import pytest
from matplotlib.figure import Figure

from swapnas.grid import (
    COLUMNS,
    GridColumn,
    _column_init,
    check_archs_per,
    heatmap,
    markdown,
    metric_names,
    select_columns,
    write_grid,
)
from swapnas.proxies import get_proxy, list_proxies

from .message_tools import exact

#: 30 registered metrics that are nobody's part (a part is left out of the grid's rows)
_NAMES = list(list_proxies())
METRICS = [n for n in _NAMES if not any(n in get_proxy(m).parts for m in _NAMES)][:30]
PROTOCOL = {"net": {"C": 16}, "batch_size": 16, "repeats": 1, "init": "gaussian", "seed": 0}


def _column(task: str, rhos: dict[str, float], n_archs: int = 10) -> GridColumn:
    rows = [{"proxy": p, "spearman": rho, "n": n_archs, "failures": 0, "seconds_per_arch": 0.1, "errors": []}
            for p, rho in rhos.items()]
    return GridColumn("nb201", task, "gt", PROTOCOL, "", n_archs, 1.0, rows)


@pytest.fixture
def drawn(monkeypatch) -> list[Figure]:
    """The figures ``heatmap`` saves (not written to disk)."""
    figures: list[Figure] = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: figures.append(fig))
    return figures


def _y_labels(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_yticklabels()]


def test_the_heatmap_is_its_minimum_size_for_a_small_grid_and_grows_by_its_rule(tmp_path, drawn) -> None:
    """Width max(4.8, 2.8 + 0.55·columns), height max(3.2, 2.0 + 0.32·metrics) inches."""
    heatmap([_column("a", {"swap": 0.5, "params": 0.4}), _column("b", {"swap": 0.3, "params": 0.2})],
            tmp_path / "g.png")
    assert tuple(drawn[-1].get_size_inches()) == pytest.approx((4.8, 3.2))
    many = {name: 0.01 * i for i, name in enumerate(METRICS[:20])}
    heatmap([_column(f"t{j}", many) for j in range(8)], tmp_path / "g.png")
    assert tuple(drawn[-1].get_size_inches()) == pytest.approx((2.8 + 0.55 * 8, 2.0 + 0.32 * 20))


@pytest.mark.parametrize(("columns", "size"), [(6, 7), (7, 5)])
def test_the_cells_values_are_larger_up_to_six_columns(tmp_path, drawn, columns: int, size: float) -> None:
    heatmap([_column(f"t{j}", {"swap": 0.5}) for j in range(columns)], tmp_path / "g.png")
    texts = drawn[-1].axes[0].texts
    values = [t for t in texts if t.get_text() == "0.50"]
    labels = [t for t in texts if t.get_text() == "n=10"]
    assert len(values) == len(labels) == columns
    assert {t.get_fontsize() for t in values} == {size}
    assert {t.get_fontsize() for t in labels} == {size - 0.5}


def test_values_on_the_dark_cells_are_white_and_the_others_black(tmp_path, drawn) -> None:
    """RdBu is dark from |ρ| ≈ 0.6 (the cell colour's luma below 0.5): white there, black on pale and blank cells."""
    rhos = {"swap": 0.95, "params": -0.9, "meco": 0.65, "synflow": 0.55, "snip": 0.1, "fisher": math.nan}
    heatmap([_column("x", rhos)], tmp_path / "g.png")
    colours = {t.get_text().split("\n")[0]: t.get_color() for t in drawn[-1].axes[0].texts}  # a value, its n under it
    assert {k: colours[k] for k in ("0.95", "-0.90", "0.65", "0.55", "0.10", "—")} == {
        "0.95": "white", "-0.90": "white", "0.65": "white", "0.55": "black", "0.10": "black", "—": "black"}


def test_rows_go_by_mean_rho_with_a_missing_cell_counting_as_zero(tmp_path, drawn) -> None:
    """swap: (0.9, —) has mean 0.45 with the — as 0 (0.9 without it); params: 0.6; meco: 0.5. In both the heat
    map and the table: params, meco, swap."""
    cols = [_column("x", {"swap": 0.9, "params": 0.6, "meco": 0.5}),
            _column("y", {"swap": math.nan, "params": 0.6, "meco": 0.5})]
    heatmap(cols, tmp_path / "g.png")
    assert _y_labels(drawn[-1]) == ["params", "meco", "swap"]
    table = markdown(cols).split("n scored (failures)")[0]
    assert [line.split(" | ")[0] for line in table.splitlines() if line.startswith("| ")][1:] == [
        "| params", "| meco", "| swap"]


def test_rows_with_the_same_mean_keep_the_order_the_metrics_first_appear_in(tmp_path, drawn) -> None:
    """30 metrics of two means, alternating: a sort that is not stable (numpy's default on 30 values) mixes
    each group's order."""
    assert len(METRICS) == 30
    rhos = {name: (0.5 if i % 2 == 0 else 0.2) for i, name in enumerate(METRICS)}
    heatmap([_column("x", rhos)], tmp_path / "g.png")
    want = METRICS[0::2] + METRICS[1::2]
    assert _y_labels(drawn[-1]) == want
    table = markdown([_column("x", rhos)]).split("n scored (failures)")[0]
    assert [line.split(" | ")[0][2:] for line in table.splitlines() if line.startswith("| ")][1:] == want


def test_write_grid_makes_missing_folders_and_puts_the_command_in_the_table(tmp_path) -> None:
    out = tmp_path / "two" / "deep"
    paths = write_grid([_column("cifar10", {"swap": 0.5, "params": 0.4})], out, "swapnas grid --archs 10")
    assert [p.name for p in paths] == ["grid.json", "grid.md", "grid.tex", "grid.png", "report.md"]
    assert all(p.parent == out and p.stat().st_size > 0 for p in paths)
    table = (out / "grid.md").read_text()
    assert table.startswith("Produced by:\n\n```bash\nswapnas grid --archs 10\n```\n")
    assert table in (out / "report.md").read_text()
    write_grid([_column("cifar10", {"swap": 0.5})], out)
    assert "Produced by" not in (out / "grid.md").read_text()


# ---------------------------------------------------------------- the table, whole

def _row(proxy: str, rho: float, n: int, failures: int, secs: float | None, errors: tuple[str, ...] = ()) -> dict:
    return {"proxy": proxy, "spearman": rho, "n": n, "failures": failures, "seconds_per_arch": secs,
            "errors": list(errors)}


def _two_spaces() -> list[GridColumn]:
    """``--proxies best,params,meco,zen`` on NB201 and NB301: each space's own `best`, a metric failing on every
    arch (a 200-character message), one scoring 3 archs alike, one scoring 2, a cost of None (grid.json's null)."""
    net201 = {"net": {"C": 16, "N": 1}, "batch_size": 16, "repeats": 1, "init": "gaussian", "seed": 0}
    net301 = {"net": {"C": 8, "cells": 5}, "batch_size": 16, "repeats": 1, "init": "default", "seed": 0}
    a = GridColumn("nb201", "cifar10", "valid_acc", net201, "", 10, 2.0, [
        _row("swap_nb201", 0.8, 10, 0, 0.1234), _row("params", 0.6, 10, 0, 0.00042),
        _row("meco", math.nan, 0, 10, math.nan, ("ValueError: " + "x" * 200,)), _row("zen", math.nan, 3, 7, 0.5)],
        best="swap_nb201")
    b = GridColumn("nb301", "cifar10", "val_accuracy", net301, "synthetic inputs", 10, 3.0, [
        _row("swap_fisher", 0.7, 10, 0, 0.2), _row("params", 0.65, 9, 1, None, ("RuntimeError: out of memory",)),
        _row("meco", math.nan, 2, 8, 0.3, ("E",))], best="swap_fisher", reused_archs=4, partly_reused_archs=2)
    return [a, b]


TABLE = [
    "Produced by:", "", "```bash", "swapnas grid --proxies best,params", "```", "",
    "Spearman ρ with the ground truth (a lower-is-better metric's values negated, so a good metric has ρ > 0; best per "
    "column in **bold**; rows by mean ρ, a cell without ρ counting as 0; the mean column averages the cells with ρ):",
    "",
    "| metric | nb201/cifar10 | nb301/cifar10 | mean |",
    "|---|---|---|---|",
    "| params | 0.600 | 0.650 | 0.625 |",
    "| swap_nb201 | **0.800** | — | 0.800 |",
    "| swap_fisher | — | **0.700** | 0.700 |",
    "| meco | — | — | — |",
    "| zen | — | — | — |",
    "",
    "`best` is each space's recommended fitness: nb201/cifar10 swap_nb201, nb301/cifar10 swap_fisher; its row is — "
    "where a column scored another one.",
    "",
    "n scored (failures) and seconds per arch:",
    "",
    "| metric | nb201/cifar10 | nb301/cifar10 |",
    "|---|---|---|",
    "| params | 10 (0) 0.0004s | 9 (1) — |",  # (4 decimals as correlate's s/arch; 0.000s with 3: session 70)
    "| swap_nb201 | 10 (0) 0.1234s | — |",
    "| swap_fisher | — | 10 (0) 0.2000s |",
    "| meco | 0 (10) — | 2 (8) 0.3000s |",
    "| zen | 3 (7) 0.5000s | — |",
    "",
    "Protocol per column:",
    "",
    "- **nb201/cifar10**: 10 archs; net C=16, N=1; S=16, R=1, init gaussian, seed 0; ground truth: valid_acc",
    "- **nb301/cifar10**: 10 archs; net C=8, cells=5; S=16, R=1, init default, seed 0; ground truth: val_accuracy; "
    "stored scores of 4 of 10 archs reused; some proxies' stored scores of 2 more archs reused, the others scored "
    "now; NOTE: synthetic inputs",
    "",
    "Cells without ρ (—):",
    "",
    "- nb201/cifar10 meco: every arch failed: ValueError: " + "x" * 126 + " …",  # at most 140 characters
    "- nb201/cifar10 zen: the score is the same for all 3 archs, so ρ is undefined",
    "- nb201/cifar10 swap_fisher: not scored in this column (`best` here is swap_nb201)",
    "- nb301/cifar10 swap_nb201: not scored in this column (`best` here is swap_fisher)",
    "- nb301/cifar10 meco: only 2 arch(s) scored; ρ needs at least 3",  # though it has an error: not every arch
    "- nb301/cifar10 zen: not scored in this column (`best` here is swap_fisher)",
    "",
    "Failure messages (the most frequent per metric and column):",
    "",
    "- nb201/cifar10 meco: ValueError: " + "x" * 146 + " …",  # at most 160 characters
    "- nb301/cifar10 meco: E",
    "- nb301/cifar10 params: RuntimeError: out of memory",
]


def test_the_table_whole_for_two_spaces_with_every_kind_of_cell() -> None:
    assert markdown(_two_spaces(), "swapnas grid --proxies best,params") == "\n".join(TABLE) + "\n"
    assert markdown(_two_spaces()) == "\n".join(TABLE[6:]) + "\n"  # no command: no "Produced by"


def test_a_column_whose_every_metric_failed_warns_nothing_and_bolds_nothing() -> None:
    failed = GridColumn("nb201", "cifar100", "gt", PROTOCOL, "", 10, 1.0,
                        [_row("swap", math.nan, 0, 10, math.nan, ("E",))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "All-NaN slice encountered" if the NaN were not masked first
        text = markdown([_column("cifar10", {"swap": 0.5}), failed])
    assert "| swap | **0.500** | — | 0.500 |" in text


def test_the_columns_default_to_every_benchmark_and_task_and_bad_names_are_listed_whole() -> None:
    assert select_columns() == list(COLUMNS)
    benchmarks = ", ".join(sorted({name for name, _ in COLUMNS}))
    tasks = ", ".join(sorted({task for _, task in COLUMNS}))
    with pytest.raises(ValueError, match=exact(f"unknown benchmark(s) nb999, nb998; known: {benchmarks}")):
        select_columns("nb999,nb201, nb998")
    with pytest.raises(ValueError, match=exact(f"unknown task(s) cifar7, x; did you mean 'cifar10' or 'cifar100'?; "
                                               f"known: {tasks}")):
        select_columns(tasks="cifar7,x")
    with pytest.raises(ValueError, match=exact("--archs-per names benchmark(s) not in the grid: nb999, zz; add them to "
                                               "--benchmarks (and --tasks), or leave them out of --archs-per")):
        check_archs_per([("nb201", "cifar10")], {"zz": 3, "nb201": 2, "nb999": None})


def test_a_benchmark_that_the_tasks_leave_without_a_column_is_said(caplog: pytest.LogCaptureFixture) -> None:
    # session 49: `--benchmarks nb201,nb101 --tasks cifar100` dropped nb101 without a word
    with caplog.at_level(logging.WARNING, logger="swapnas.grid"):
        assert select_columns("nb201,nb101, nb101", "cifar100") == [("nb201", "cifar100")]
    assert caplog.messages == ["--benchmarks nb101: none of its tasks (cifar10) is in --tasks cifar100, so it has no "
                               "column"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="swapnas.grid"):
        select_columns("nb201", "cifar100")
        select_columns("all", "cifar100")
    assert caplog.messages == []


def test_mixing_best_with_other_metrics_warns_in_full() -> None:
    with pytest.warns(UserWarning) as caught:
        assert _column_init("nb201", "best,params") == "gaussian"
    assert len(caught) == 1 and str(caught[0].message) == (
        "grid: on nb201, swap_nb201 (the space's recommended fitness `best`, or one it recommended before) is scored "
        "under the grid's SWAP protocol (N(0, 1) init) beside the other metrics, not under its fitness protocol; "
        "`swapnas grid --proxies best` scores `best` under its own")
    with pytest.warns(UserWarning, match=r"^grid: on nb201, swap_nb201, swap_prog \(the space's recommended"):
        _column_init("nb201", "best,swap_prog,params")  # a fitness recommended before has that protocol too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _column_init("nb201", "swap,params") is None  # one protocol: nothing to warn of


def test_the_mixing_warning_points_at_its_callers_line() -> None:
    """stacklevel=2 (under mutmut a trampoline frame comes between: run this one in the package itself)."""
    with pytest.warns(UserWarning) as caught:
        _column_init("nb201", "best,params")
    assert caught[0].filename == __file__


def test_a_metric_another_column_lacks_is_not_scored_there_with_no_best_to_name() -> None:
    text = markdown([_column("cifar10", {"swap": 0.5, "params": 0.4}), _column("cifar100", {"swap": 0.3})])
    assert text.endswith("Cells without ρ (—):\n\n- nb201/cifar100 params: not scored in this column\n")


def test_the_grid_plan_names_its_columns_proxies_archs_and_most_scores() -> None:
    # session 50: a plain `swapnas grid` started 42 proxies on 29 columns without a word on its size
    from swapnas.grid import grid_plan
    tail = ("(those in the store are read back); one progress bar per column, in turn; rerun the same command to "
            "resume, or split it over processes or machines with --shard I/K (machines without a shared --store: "
            "`swapnas store merge` their stores)")
    cols = [("nb201", "cifar10"), ("nb201", "cifar100"), ("nb101", "cifar10")]
    assert grid_plan(cols, 3, 200, {"nb201": 1000}) == (
        f"grid: 3 columns x 3 proxies, archs per column: nb201 1000, nb101 200 = at most 6,600 scores {tail}")
    assert grid_plan(cols, 2, None, {"nb201": 5}) == (
        f"grid: 3 columns x 2 proxies, archs per column: nb201 5, nb101 all {tail}")  # 'all': no count before loading
    assert grid_plan(cols, 2, None, {"nb201": 5}, progress=False) == (
        f"grid: 3 columns x 2 proxies, archs per column: nb201 5, nb101 all {tail}").replace(
        "one progress bar per column, in turn; ", "")
    assert grid_plan(cols[:1], 1, 4, {}).startswith("grid: 1 column x 1 proxy, archs per column: nb201 4")  # session 53


def test_a_long_message_is_cut_at_a_word_s_end() -> None:
    from swapnas.grid import _short

    text = "ValueError: epe_nas: with more than 100 classes the score needs a class with two samples (left out, here)"
    assert _short(text, len(text)) == text
    assert _short(text, 60) == "ValueError: epe_nas: with more than 100 classes the score …"
    assert len(_short(text, 60)) <= 60 and _short("x" * 80, 60) == "x" * 58 + " …"


def test_the_heat_map_is_red_blue_and_its_title_names_every_kind_of_dash(tmp_path, monkeypatch) -> None:
    from matplotlib.figure import Figure

    drawn: list = []
    monkeypatch.setattr(Figure, "savefig", lambda self, path, **kw: drawn.append(self))
    heatmap([_column("a", {"swap": 0.5, "params": 0.4}), _column("b", {"swap": 0.3, "params": 0.2})],
            tmp_path / "g.png")
    ax = drawn[-1].axes[0]
    assert ax.images[0].get_cmap().name == "RdBu"
    assert "— = not run, failed, or one score for every arch" in ax.get_title().replace("\n", " ")


def test_a_part_named_in_proxies_gets_a_row_and_an_unnamed_one_none() -> None:
    """Session 52: `--proxies te_nas_ntk,te_nas,params` scored te_nas_ntk and gave it no row (te_nas's parts never
    had one); a grid.json of before (hidden None) keeps that."""
    net = {"net": {"C": 16, "N": 1}, "batch_size": 16, "repeats": 1, "init": "gaussian", "seed": 0}
    rows = [_row(p, 0.5, 8, 0, 0.1) for p in ("te_nas_ntk", "te_nas_lr", "te_nas", "params")]
    col = GridColumn("nb201", "cifar10", "valid_acc", net, "", 8, 1.0, rows, hidden=["te_nas_lr"])
    assert metric_names([col]) == ["te_nas_ntk", "te_nas", "params"]
    old = GridColumn("nb201", "cifar10", "valid_acc", net, "", 8, 1.0, rows)
    assert metric_names([old]) == metric_names([col, old]) == ["te_nas", "params"]
