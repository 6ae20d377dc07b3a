"""Tests written against the survivors of session 36's mutation run of ``swapnas.grid`` (docs/reliability.md,
"Session 36"): the heat map's size, fonts and row order, and what ``write_grid`` writes where. The columns are
written out here (no scoring): each result row as ``grid.json`` holds it.
"""

from __future__ import annotations

import math

import pytest
from matplotlib.figure import Figure

from swapnas.grid import GridColumn, heatmap, markdown, write_grid
from swapnas.proxies import get_proxy, list_proxies

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
    assert [p.name for p in paths] == ["grid.json", "grid.md", "grid.png", "report.md"]
    assert all(p.parent == out and p.stat().st_size > 0 for p in paths)
    table = (out / "grid.md").read_text()
    assert table.startswith("Produced by:\n\n```bash\nswapnas grid --archs 10\n```\n")
    assert table in (out / "report.md").read_text()
    write_grid([_column("cifar10", {"swap": 0.5})], out)
    assert "Produced by" not in (out / "grid.md").read_text()
