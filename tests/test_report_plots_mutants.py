"""report's three plots, from their mutation run (session 45): what each figure shows, read back from the matplotlib
objects it saved. The scatter plot's points and both rank axes (ranks against a naive count, ties averaged), its
labels, title, footnote and size; the search curve's points, best-so-far steps and population mean; the cell
drawing's nodes in order, arcs (dashed when they carry no op) and op labels placed on their arcs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from swapnas.report import draw_cells, scatter_plot, search_curve
from swapnas.results import ProxyResult


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """Every Figure saved while the test runs (each still written to its file)."""
    figures: list[Figure] = []
    original = Figure.savefig

    def keep(self: Figure, *args: object, **kwargs: object) -> None:
        figures.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figures


def _result(proxy: str, higher: bool) -> ProxyResult:
    return ProxyResult(proxy, "k", "nb201", "cifar10", 4, 1, 0.8, 0.6667, (0.1, 0.9), 0.2, 0.3, 0.01, higher)


def _naive_percentiles(values: list[float]) -> list[float]:
    """(rank - 0.5) / n * 100 with rank 1 the lowest and tied values sharing their mean rank."""
    n = len(values)
    ranks = [sum(w < v for w in values) + (sum(w == v for w in values) + 1) / 2 for v in values]
    return [(r - 0.5) / n * 100 for r in ranks]


TRUTH = "NB201 CIFAR-10 valid accuracy (%) after 200 epochs " + "and more words " * 12


@pytest.mark.parametrize("higher", [True, False])
def test_the_scatter_plot_shows_scores_and_ranks(tmp_path: Path, saved: list[Figure], higher: bool) -> None:
    scores = [3.0, None, 1.0, float("nan"), 2.0, 2.0]
    acc = [70.0, 10.0, 50.0, 20.0, 60.0, 65.0]
    path = scatter_plot(scores, acc, _result("swap", higher), TRUTH, tmp_path)
    assert path == tmp_path / "scatter_swap.png" and path.read_bytes().startswith(b"\x89PNG")
    (fig,) = saved
    ax, rk = fig.axes
    assert ax.collections[0].get_offsets().tolist() == [[3.0, 70.0], [1.0, 50.0], [2.0, 60.0], [2.0, 65.0]]
    sign = 1 if higher else -1
    want = list(zip(_naive_percentiles([sign * s for s in (3.0, 1.0, 2.0, 2.0)]),
                    _naive_percentiles([70.0, 50.0, 60.0, 65.0])))
    assert np.allclose(rk.collections[0].get_offsets(), want)
    lower = "" if higher else " (lower is better)"  # (session 60: the axis says a score is negated for the ranks)
    assert (ax.get_xlabel(), ax.get_ylabel()) == (f"swap score{lower}", "valid accuracy (%)")
    assert (rk.get_xlabel(), rk.get_ylabel()) == \
        ("swap rank (percentile, best right)", "ground-truth rank (percentile, best top)")
    assert rk.get_xlim() == (0, 100) and rk.get_ylim() == (0, 100) and ax.get_xscale() == "linear"
    assert fig._suptitle.get_text() == "nb201 cifar10: swap  ρ=0.800 τ=0.667 n=4, 1 failed (not drawn)"  # (70)
    lines = [TRUTH[:150].rsplit(" ", 1)[0], TRUTH[len(TRUTH[:150].rsplit(" ", 1)[0]) + 1:].strip()]
    assert [t.get_text() for t in fig.texts if t is not fig._suptitle] == ["\n".join(lines)]
    assert tuple(fig.get_size_inches()) == pytest.approx((8.5, 3.8 + 0.13)) and fig.dpi == 120
    assert ax.get_position().x1 < rk.get_position().x0  # side by side
    # the style: dots without edges, sized for 4 points (session 51), the ranks in the second colour
    for dots, colour in ((ax.collections[0], "C0"), (rk.collections[0], "C1")):
        assert dots.get_sizes().tolist() == [18] and dots.get_alpha() == 0.8 and dots.get_linewidths().tolist() == [0]
        assert tuple(dots.get_facecolor()[0]) == to_rgba(colour, 0.8)
    assert fig._suptitle.get_fontsize() == 9
    (note,) = (t for t in fig.texts if t is not fig._suptitle)
    assert (note.get_fontsize(), note.get_position(), note.get_va()) == (7, (0.01, 0.005), "bottom")


def test_a_scatter_of_one_score_has_no_rank_points_and_of_two_has_them(tmp_path: Path, saved: list[Figure]) -> None:
    scatter_plot([5.0, None], [1.0, 2.0], _result("params", True), "a ground truth", tmp_path)
    ax, rk = saved[0].axes
    assert ax.collections[0].get_offsets().tolist() == [[5.0, 1.0]] and not rk.collections
    assert ax.get_ylabel() == "ground truth" and tuple(saved[0].get_size_inches()) == pytest.approx((8.5, 3.8))
    scatter_plot([5.0, 7.0], [2.0, 1.0], _result("params", True), "a ground truth", tmp_path)
    assert saved[1].axes[1].collections[0].get_offsets().tolist() == [[25.0, 75.0], [75.0, 25.0]]


def test_the_footnote_keeps_a_band_of_its_own_below_the_plots(tmp_path: Path, saved: list[Figure]) -> None:
    scatter_plot([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], _result("swap", True), "word " * 120, tmp_path)
    band = (0.05 + 0.13 * 4) / (3.8 + 0.13 * 3)  # four footnote lines, in figure fractions
    for a in saved[0].axes:  # above the band by the x-axis labels' height, inside the figure
        x0, y0, x1, y1 = a.get_position().extents
        assert band + 0.1 < y0 < band + 0.2 and 0 < x0 < x1 <= 1 and y1 <= 1
    assert saved[0].axes[0].get_position().x0 < 0.1


def test_a_transnas_scatter_names_its_task_s_metric(tmp_path: Path, saved: list[Figure]) -> None:
    r = ProxyResult("swap", "k", "transnas_micro", "room_layout", 2, 0, 0.5, 0.5, (0.1, 0.9), 0.2, 0.3, 0.01, True)
    scatter_plot([1.0, 2.0], [-0.5, -0.4], r, "", tmp_path)
    assert saved[0].axes[0].get_ylabel() == "validation negative L2 (MSE) loss"


def test_the_search_curve_shows_every_evaluation_the_best_so_far_and_the_mean(tmp_path: Path,
                                                                             saved: list[Figure]) -> None:
    history = [{"evaluation": e, "fitness": f} for e, f in ((1, 0.5), (2, 0.3), (3, 0.9), (4, 0.7), (5, 1.2))]
    snapshots = [{"evaluations": 2, "population_mean": 0.4}, {"evaluations": 5, "population_mean": 0.8}]
    path = tmp_path / "curve.png"
    assert search_curve(snapshots, history, path, title="nb201 cifar10") == path and path.stat().st_size > 0
    (fig,) = saved
    (ax,) = fig.axes
    assert ax.collections[0].get_offsets().tolist() == [[1, 0.5], [2, 0.3], [3, 0.9], [4, 0.7], [5, 1.2]]
    best, mean = ax.lines
    assert best.get_xdata().tolist() == [1, 2, 3, 4, 5] and best.get_ydata().tolist() == [0.5, 0.5, 0.9, 0.9, 1.2]
    assert best.get_drawstyle() == "steps-post"
    assert mean.get_xdata().tolist() == [2, 5] and mean.get_ydata().tolist() == [0.4, 0.8]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["evaluated", "best so far", "population mean"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("evaluations", "fitness", "nb201 cifar10")
    # the style
    assert tuple(fig.get_size_inches()) == pytest.approx((5.5, 3.6)) and fig.dpi == 120
    dots = ax.collections[0]
    assert dots.get_sizes().tolist() == [4] and dots.get_alpha() == 0.35
    assert tuple(dots.get_facecolor()[0]) == to_rgba("grey", 0.35)
    assert (best.get_color(), mean.get_color()) == ("C3", "C0")
    assert ax.title.get_fontsize() == 9 and ax.get_legend().get_texts()[0].get_fontsize() == 7


def test_a_search_curve_whose_first_fitness_is_minus_infinity(tmp_path: Path, saved: list[Figure]) -> None:
    history = [{"evaluation": 1, "fitness": float("-inf")}, {"evaluation": 2, "fitness": -3.0}]
    search_curve([], history, tmp_path / "c.png")
    best = saved[0].axes[0].lines[0]
    assert best.get_ydata().tolist() == [float("-inf"), -3.0] and saved[0].axes[0].get_title() == ""


CELLS = {
    "normal": [("c_{k-2}", "0", "sep_conv_3x3"), ("c_{k-1}", "0", "skip_connect"), ("c_{k-2}", "1", "max_pool_3x3"),
               ("0", "1", "dil_conv_5x5"), ("0", "c_{k}", ""), ("1", "c_{k}", ""), ("c_{k-1}", "1", "avg_pool_3x3")],
    "reduce": [("c_{k-1}", "0", "avg_pool_3x3"), ("0", "c_{k}", "")],
}


def _node_texts(ax: object) -> list:
    """The node labels (the texts in circles), left to right."""
    return [t for t in ax.texts if type(t.get_bbox_patch().get_boxstyle()).__name__ == "Circle"]


def _arcs(ax: object) -> list[tuple]:
    return [(tuple(map(tuple, p._posA_posB)), p.get_connectionstyle().rad, p.get_linestyle(), p.get_edgecolor())
            for p in ax.patches if isinstance(p, FancyArrowPatch)]


def test_cells_are_drawn_as_dags_with_their_nodes_in_order(tmp_path: Path, saved: list[Figure]) -> None:
    path = tmp_path / "cell.png"
    assert draw_cells(CELLS, path) == path and path.stat().st_size > 0
    (fig,) = saved
    normal, reduce = fig.axes
    assert tuple(fig.get_size_inches()) == pytest.approx((13.0, 3.8))
    assert (normal.get_title(), reduce.get_title()) == ("normal", "reduce") and not normal.axison
    # nodes: the inputs first (k-2 before k-1), then the intermediate nodes, the output last
    nodes = [(t.get_text(), t.get_position()) for t in _node_texts(normal)]
    assert nodes == [("$c_{k-2}$", (0, 0.0)), ("$c_{k-1}$", (1, 0.0)), ("0", (2, 0.0)), ("1", (3, 0.0)),
                     ("$c_{k}$", (4, 0.0))]
    # arcs: straight between neighbours, curved (their own radius by position) over longer spans, above the nodes
    # over an even span and below over an odd one (session 50: two arcs from one node had overlapping labels);
    # dashed when no op
    c0, grey = (0.12156862745098039, 0.4666666666666667, 0.7058823529411765, 1.0), (0.5019607843137255,) * 3 + (1.0,)
    assert _arcs(normal) == [
        (((0, 0), (2, 0)), -0.35, "-", c0), (((1, 0), (2, 0)), 0.0, "-", c0), (((0, 0), (3, 0)), 0.51, "-", c0),
        (((2, 0), (3, 0)), 0.0, "-", c0), (((2, 0), (4, 0)), -0.35 - 0.08, "--", grey),
        (((3, 0), (4, 0)), 0.0, "--", grey), (((1, 0), (3, 0)), -0.35, "-", c0)]
    assert {p.get_linewidth() for p in normal.patches} == {0.8}
    assert {(type(p.get_arrowstyle()).__name__, p.get_mutation_scale(), p.shrinkA, p.shrinkB)
            for p in normal.patches} == {("CurveFilledB", 8, 9, 9)}
    assert {(t.get_ha(), t.get_va()) for t in normal.texts} == {("center", "center")}
    assert {t.get_bbox_patch().get_linewidth() for t in normal.texts if t.get_text()[0] not in "sdam"} == {0.6}
    # op labels: underscores as spaces, at t = 0.5 on a straight arc and 0.3 + 0.2 (k mod 3) on a curved one
    labels = [(t.get_text(), t.get_position()) for t in normal.texts if t.get_text()[0] in "sdam"]
    assert [name for name, _ in labels] == \
        ["sep conv 3x3", "skip connect", "max pool 3x3", "dil conv 5x5", "avg pool 3x3"]
    assert np.allclose([xy for _, xy in labels], [(0.6, 2 * 0.3 * 0.7 * 2 * 0.35), (1.5, 0.0),
                                                  (0 + 0.7 * 3, -2 * 0.7 * 0.3 * 3 * 0.51), (2.5, 0.0),
                                                  (1 + 0.3 * 2, 2 * 0.3 * 0.7 * 2 * 0.35)])
    assert {t.get_fontsize() for t in normal.texts if t.get_text()[0] in "sdam"} == {5.5}
    assert {t.get_fontsize() for t in normal.texts if t.get_text()[0] not in "sdam"} == {8}
    assert normal.title.get_fontsize() == 9
    assert normal.get_xlim() == (-0.9, 4.9) and normal.get_ylim() == pytest.approx((-3 * 0.36, 0.72))
    assert reduce.get_xlim() == (-0.9, 2.9) and reduce.get_ylim() == (-0.5, 0.7)
    assert normal.get_aspect() == 1.0 and fig.dpi == 120


def test_a_cell_without_edges_is_an_empty_panel(tmp_path: Path, saved: list[Figure]) -> None:
    draw_cells({"cell": []}, tmp_path / "c.png")  # an NB201 cell whose every op is none
    (ax,) = saved[0].axes
    assert not ax.texts and not ax.patches and ax.get_ylim() == (-0.5, 0.7) and ax.get_title() == "cell"


def _node_order(tmp_path: Path, saved: list[Figure], edges: list[tuple[str, str, str]]) -> list[str]:
    draw_cells({"cell": edges}, tmp_path / "c.png")
    return [t.get_text() for t in _node_texts(saved[-1].axes[0])]


def test_nodes_run_from_the_inputs_to_the_output_in_every_space(tmp_path: Path, saved: list[Figure]) -> None:
    # FlexiBERT's encoder: the embeddings first (they used to be drawn last, after the layers)
    assert _node_order(tmp_path, saved, [("emb", "1", "a"), ("1", "2", "b"), ("2", "3", "c")]) == \
        ["emb", "1", "2", "3"]
    # NB201 without its 0 -> 1 edge: node 2 appears before node 1, and is drawn after it; 10 after 9
    assert _node_order(tmp_path, saved, [("0", "2", "a"), ("2", "10", "b"), ("1", "9", "c"), ("0", "1", "d")]) == \
        ["0", "1", "2", "9", "10"]
    # the output last even after a node whose name sorts after its own
    assert _node_order(tmp_path, saved, [("c_{k-1}", "x", "a"), ("x", "c_{k}", ""), ("c_{k-2}", "x", "b")]) == \
        ["$c_{k-2}$", "$c_{k-1}$", "x", "$c_{k}$"]


def test_markers_shrink_and_fade_as_the_points_grow() -> None:
    from swapnas.report import marker_for

    assert [marker_for(n) for n in (1, 100, 101, 300, 301, 1000)] == [
        (18.0, 0.8), (18.0, 0.8), (10.0, 0.65), (10.0, 0.65), (5.0, 0.5), (5.0, 0.5)]
