"""Session 68 audit of the figures under edge data (each test failed on the code as found): scores near the float
limit (an OverflowError after every score), a few zero scores beside many decades, a long metric name, the search
curve's fitness unnamed, a non-finite ground truth. Each test captures the Figure ``save_figure`` is given."""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

import swapnas.report as report_mod
from swapnas.results import ProxyResult

GT = "NB201 valid accuracy (%), 200 epochs, mean over seeds; cifar10-valid"


def result(name: str, n: int, higher_is_better: bool = True) -> ProxyResult:
    return ProxyResult(proxy=name, key=f"{name}@1", space="nb201", dataset="cifar10", n=n, failures=0, spearman=0.5,
                       kendall=0.4, spearman_ci=(0.1, 0.8), top10_spearman=float("nan"),
                       spearman_given_params=float("nan"), seconds_per_arch=0.1, higher_is_better=higher_is_better)


def renderer(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def off_figure(fig) -> list[str]:
    """Texts (titles, axis labels, figure texts, y tick labels) drawn partly outside the figure."""
    rend = renderer(fig)
    texts = list(fig.texts)
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_yticklabels()]
    out = []
    for t in texts:
        if t.get_text() and t.get_visible():
            bb = t.get_window_extent(rend)
            if bb.x0 < -1 or bb.y0 < -1 or bb.x1 > fig.bbox.width + 1 or bb.y1 > fig.bbox.height + 1:
                out.append(t.get_text())
    return out


# ---------------------------------------------------------------------------------------------------------------- 1
def test_scores_spanning_many_decades_do_not_crash_the_scatter_plot(tmp_path):
    """synflow on `--space nb301 --net C=16,layers=20` (20 archs) scored 1.5e98 .. 3.2e293: correlate scored every arch,
    then ended in an OverflowError traceback (exit 1) inside matplotlib's log-axis formatter; no report.md,
    results.tex or plot was written."""
    s = list(np.logspace(98, 293, 20))
    a = list(np.linspace(80, 90, 20))
    path = report_mod.scatter_plot(s, a, result("synflow", 20), GT, tmp_path)
    Image.open(path).verify()


# ---------------------------------------------------------------------------------------------------------------- 2
def test_every_scored_arch_is_inside_the_score_axis_near_the_float_limit(tmp_path, figures):
    """Scores from 1 to 1e300 (positive, so a log axis) were drawn on an axis from 1 to 10: 19 of 20 points outside
    the panel, no word why (and 'overflow encountered in exp' warnings)."""
    s = np.logspace(0, 300, 20)
    report_mod.scatter_plot(list(s), list(np.linspace(80, 90, 20)), result("big", 20), GT, tmp_path)
    ax = figures[-1].axes[0]
    lo, hi = ax.get_xlim()
    drawn = np.asarray(ax.collections[0].get_offsets(), dtype=float)[:, 0]
    assert np.isfinite(lo) and np.isfinite(hi)
    assert ((drawn >= lo) & (drawn <= hi)).all(), f"x axis {lo:g}..{hi:g} leaves out scored archs"
    assert np.allclose(drawn, np.log10(s)) and ax.get_xlabel() == "big score (log10)"  # said where it is drawn so


# ---------------------------------------------------------------------------------------------------------------- 3
def test_a_few_zero_scores_do_not_crush_the_other_archs_into_one_column(tmp_path, figures):
    """synflow (also snip, grad_norm, fisher) is 0 for NB201 cells cut from their output: 6 of 150 archs of
    `correlate --proxies synflow --archs 150`. The log-axis rule needs every score > 0, so the score panel went linear
    from 0 to 1.1e34 and the 144 other archs (1e15 .. 1e34) were drawn as one vertical line at 0."""
    rng = np.random.default_rng(0)
    pos = 10.0 ** rng.uniform(15, 34, 144)
    s = np.concatenate([np.zeros(6), pos])
    a = rng.uniform(80, 90, 150)
    report_mod.scatter_plot(list(s), list(a), result("synflow", 150), GT, tmp_path)
    fig = figures[-1]
    renderer(fig)
    ax = fig.axes[0]
    x_pos = ax.transData.transform(np.column_stack([pos, a[6:]]))[:, 0]
    width = ax.get_window_extent().width
    deciles = np.percentile(x_pos, [10, 90])  # (the same 144 scores alone, on the log axis: 76 % of the width)
    assert (deciles[1] - deciles[0]) / width > 0.3, (
        f"80 % of the positive scores lie within {(deciles[1] - deciles[0]) / width:.1%} of the panel's width")


# ---------------------------------------------------------------------------------------------------------------- 4
def test_a_legal_long_proxy_name_keeps_the_scatter_labels_readable(tmp_path, figures):
    """registry.check_name accepts names of up to 100 bytes; from ~30 characters the rank panel's x label ran off the
    figure, from ~40 the two panels' x labels overlapped (unreadable), at 100 the title with ρ and τ was cut."""
    name = "swap_reg_variant_" * 3  # 51 characters, a legal name
    report_mod.scatter_plot(list(np.linspace(1, 2, 20)), list(np.linspace(80, 90, 20)), result(name, 20), GT, tmp_path)
    fig = figures[-1]
    assert off_figure(fig) == []
    rend = renderer(fig)
    left, right = (ax.xaxis.label.get_window_extent(rend) for ax in fig.axes[:2])
    assert not left.overlaps(right), "the two panels' x labels overlap"


# ---------------------------------------------------------------------------------------------------------------- 5
def test_the_search_curve_names_its_fitness_and_says_when_it_is_negated(tmp_path, figures):
    """search_curve.png's y axis says only 'fitness' and its title 'nb201/cifar10 seed 0': a reader of the figure cannot
    tell which metric was maximised, nor (session 63 told the printout and report.md) that a lower-is-better
    fitness such as te_nas_ntk is drawn negated."""
    from swapnas.search.driver import write_result
    from swapnas.search.result import SearchResult

    hist = [{"evaluation": i + 1, "cycle": 0, "arch": "x", "fitness": -float(40 - i)} for i in range(12)]
    snaps = [{"evaluations": 10, "cycle": 0, "best": -31.0, "population_mean": -35.5, "population_min": -40.0}]
    best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    r = SearchResult(space="nb201", dataset="cifar10", best=best, fitness=-29.0, params_m=1.5, macs_m=220.0,
                     evaluations=12, cycles=2, wall_seconds=1.0, seed=0, config={}, protocol={}, mu=None, sigma=None,
                     size_mapping=None, constraints={"max_params_m": None, "max_macs_m": None}, history=hist,
                     snapshots=snaps, fitness_proxy="te_nas_ntk@1")
    write_result(r, tmp_path)
    curve = figures[0]
    ax = curve.axes[0]
    words = " ".join([ax.get_ylabel(), ax.get_title(), *(t.get_text() for t in curve.texts)])
    assert "te_nas_ntk" in words, words
    assert "negat" in words or "lower" in words, words


# ---------------------------------------------------------------------------------------------------------------- 6
def test_one_non_finite_ground_truth_does_not_blank_the_rank_panel(tmp_path, figures):
    """stats.correlate leaves out pairs whose ground truth is not finite; the plot only left out non-finite scores, so
    one NaN accuracy (a Python caller's own benchmark) made scipy's rankdata return NaN for every arch and the rank
    panel was drawn empty (the score panel showed the other 19)."""
    a = list(np.linspace(80, 90, 20))
    a[0] = float("nan")
    report_mod.scatter_plot(list(np.linspace(1, 2, 20)), a, result("p", 19), GT, tmp_path)
    rank = figures[-1].axes[1]
    xy = rank.collections[0].get_offsets() if rank.collections else np.zeros((0, 2))
    assert np.isfinite(np.asarray(xy, dtype=float)).all(axis=1).sum() == 19
