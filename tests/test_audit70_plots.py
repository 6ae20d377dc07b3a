"""Session 70 audit of the figures against the runs' numbers (helper `plots`; each test failed on the code as found,
e8c63ca): what a figure leaves out is said on it (failed evaluations and archs, a population mean of one point, why
ρ is undefined, the first stage's values under a second stage's pick, lower-is-better metrics negated, a FlexiBERT
arch's hidden size), and a heat-map cell has no "-0.00"."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np

import swapnas.grid as grid_mod
import swapnas.report as report_mod
from swapnas.grid import GridColumn
from swapnas.results import ProxyResult

from .test_audit68_plots import GT

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NB201_OTHER = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def all_text(fig) -> str:
    """Every text the figure shows: suptitle and figure texts, axes' titles, labels, texts and legend entries."""
    parts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        parts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), *(t.get_text() for t in ax.texts)]
        if ax.get_legend():
            parts += [t.get_text() for t in ax.get_legend().get_texts()]
    return "\n".join(p for p in parts if p)


def result(name: str, n: int, failures: int = 0, spearman: float = 0.5) -> ProxyResult:
    return ProxyResult(proxy=name, key=f"{name}@1", space="nb201", dataset="cifar10", n=n, failures=failures,
                       spearman=spearman, kendall=0.4 if not math.isnan(spearman) else float("nan"),
                       spearman_ci=(0.1, 0.8), top10_spearman=float("nan"), spearman_given_params=float("nan"),
                       seconds_per_arch=0.1, higher_is_better=True)


def visible(line) -> bool:
    """Whether a Line2D draws anything: two finite points joined, or a marker on one."""
    x = np.asarray(line.get_xdata(), dtype=float)
    y = np.asarray(line.get_ydata(), dtype=float)
    finite = int((np.isfinite(x) & np.isfinite(y)).sum())
    has_marker = line.get_marker() not in (None, "None", "", " ")
    return finite >= 2 or (finite >= 1 and has_marker)


def history_of(fitness: list[float]) -> list[dict]:
    return [{"evaluation": i + 1, "cycle": 0, "arch": f"a{i}", "fitness": f} for i, f in enumerate(fitness)]


# ------------------------------------------------------------------------------------------------------------- F1
def test_search_curve_draws_the_population_mean_it_names_after_the_initial_population_only(tmp_path, figures):
    """`swapnas search --space nb201 --fitness params --population 6 --cycles 0` (and any search stopped after its
    first snapshot, e.g. --max-evals P): one snapshot, so the 'population mean' is a Line2D of ONE point without a
    marker: nothing is drawn, yet the legend names it."""
    hist = history_of([5.0, 3.0, 4.0, 2.0, 6.0, 1.0])
    snaps = [{"evaluations": 6, "cycle": 0, "best": 6.0, "population_mean": 3.5, "population_min": 1.0}]
    report_mod.search_curve(snaps, hist, tmp_path / "search_curve.png", "nb201/cifar10 seed 0", "fitness: params")
    ax = figures[-1].axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("population mean") for t in legend)
    mean = [ln for ln in ax.lines if ln.get_label().startswith("population mean")]
    assert mean and visible(mean[0]), "the legend names a population mean that is not drawn"


def test_search_curve_with_failed_evaluations_draws_the_population_mean_and_says_what_failed(tmp_path, figures):
    """A search whose fitness failed on some archs (`bin/rec_custom.py search --space nb201 --fitness halffail
    --population 6 --cycles 3`: 7 of 21 failed, the CLI warns 'they rank last'): the failed evaluations are -inf, so
    (1) they vanish from the scatter and the x axis starts after them, nothing on the figure says so; (2) the
    population mean is -inf in every snapshot whose population still holds a failed arch (result.json: null), so the
    line is drawn for none of them (3 of 4 snapshots there; here all but the last), while the legend names it."""
    inf = float("-inf")
    fit = [inf, inf, inf, 1.0, 2.0, 3.0, 3.0, 2.5, 2.5, 2.6, inf, 3.0, inf, 3.0, inf, 3.0, 3.0, inf, 2.9, 3.0, 2.9]
    hist = history_of(fit)
    snaps = [{"evaluations": e, "cycle": c, "best": 3.0, "population_mean": m, "population_min": inf}
             for e, c, m in ((6, 0, inf), (11, 1, inf), (16, 2, inf), (21, 3, 2.75))]
    report_mod.search_curve(snaps, hist, tmp_path / "search_curve.png", "nb201/cifar10 seed 0", "fitness: halffail")
    fig = figures[-1]
    ax = fig.axes[0]
    mean = [ln for ln in ax.lines if ln.get_label().startswith("population mean")][0]
    assert visible(mean), "population mean named in the legend, drawn nowhere (its values are -inf)"
    text = all_text(fig)
    assert "7" in text and "fail" in text.lower(), f"7 failed evaluations left out unsaid; the figure says: {text!r}"


# ------------------------------------------------------------------------------------------------------------- F2
def test_scatter_plot_says_how_many_archs_failed_and_were_left_out(tmp_path, figures):
    """`correlate` with a metric that failed on 6 of 20 archs (`bin/rec_custom.py correlate … --proxies halffail`):
    the figure draws 14 points and its title says n=14; nothing on it says that 6 archs failed and are not drawn
    (report.md and the console say so; the figure says 'no arch scored: N failed' only when every arch failed)."""
    s = [None if i % 3 == 0 else float(i) for i in range(20)]  # here 7 of 20 None
    a = list(np.linspace(80, 90, 20))
    report_mod.scatter_plot(s, a, result("halffail", 13, failures=7), GT, tmp_path)
    text = all_text(figures[-1])
    assert "7 failed" in text or "7 of 20" in text, f"failures not said; the figure says: {text!r}"


def test_scatter_plot_says_why_rho_is_undefined_for_a_constant_metric(tmp_path, figures):
    """A metric with one value for every arch: the console and report.md say CONSTANT ('all 20 scored archs have
    the value 7, so it cannot rank them'), grid.png says '— = … one score for every arch'; the scatter's title says
    'ρ=nan τ=nan n=20' and nothing else."""
    report_mod.scatter_plot([7.0] * 20, list(np.linspace(80, 90, 20)), result("flatline", 20, spearman=float("nan")),
                            GT, tmp_path)
    text = all_text(figures[-1]).lower()
    assert any(w in text for w in ("constant", "same", "one score", "one value")), text


def test_scatter_plot_says_why_rho_is_undefined_for_fewer_than_three_archs(tmp_path, figures):
    """`correlate … --archs 2`: the title says ρ=nan n=2 (a rank correlation needs 3 pairs: the console warns so);
    `--archs 1` also leaves the rank panel empty without a word."""
    report_mod.scatter_plot([1.0, 2.0], [80.0, 85.0], result("params", 2, spearman=float("nan")), GT, tmp_path)
    text = all_text(figures[-1]).lower()
    assert any(w in text for w in ("needs 3", "at least 3", "fewer than 3", "3 pairs", "3 archs")), text


# ------------------------------------------------------------------------------------------------------------- F3
def test_search_curve_says_its_values_are_the_first_stage_s_when_a_second_stage_chose_the_arch(tmp_path, figures):
    """`swapnas search --space nb201 --dataset cifar10 --population 4 --cycles 2` (the default fitness `best`, with a
    second stage on C=16,N=5): result.json's fitness is 14.61 (second stage), the curve's best is 13.02 (first stage,
    C=16,N=1), and the figure's y label 'fitness: swap_nb201' and title 'nb201/cifar10 seed 0' do not say which
    stage's values these are, nor that the returned arch is the one the second stage picked (here the first stage's
    #2: the curve's 'best so far' is another arch)."""
    from swapnas.search.driver import write_result
    from swapnas.search.result import SearchResult

    hist = [{"evaluation": i + 1, "cycle": 0 if i < 4 else 1, "arch": a, "fitness": f} for i, (a, f) in
            enumerate([(NB201_OTHER, 13.0), (NB201_ARCH, 12.9), ("|avg_pool_3x3~0|+|none~0|none~1|+|none~0|"
                        "none~1|skip_connect~2|", 10.0), ("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|"
                        "skip_connect~2|", 9.0)])]
    snaps = [{"evaluations": 4, "cycle": 0, "best": 13.0, "population_mean": 11.2, "population_min": 9.0}]
    refine = {"k": 2, "repeats": 1, "batch_size": 20, "net": {"C": 16, "N": 5},
              "shortlist": [{"arch": NB201_OTHER, "fitness": 13.0, "refined": 14.4},
                            {"arch": NB201_ARCH, "fitness": 12.9, "refined": 14.6}]}
    res = SearchResult(space="nb201", dataset="cifar10", best=NB201_ARCH, fitness=14.6, params_m=1.07, macs_m=153.3,
                       evaluations=4, cycles=0, wall_seconds=1.0, seed=0,
                       config={"population": 4, "sample": 4, "mutations": 5, "cycles": 0, "crossover": 0.5},
                       protocol={"space": "nb201", "dataset": "cifar10", "batch_size": 16, "repeats": 1, "seed": 0,
                                 "init": "default", "bn_train": True, "net": {"C": 16, "N": 1}},
                       mu=None, sigma=None, size_mapping=None, constraints={"max_params_m": None, "max_macs_m": None},
                       history=hist, snapshots=snaps, fitness_proxy="swap_nb201@1", refine=refine)
    write_result(res, tmp_path)
    curve, cell = figures[0], figures[1]
    text = all_text(curve).lower()
    assert "first stage" in text or "first-stage" in text or "stage 1" in text, text
    marked = [c for c in curve.axes[0].collections if c.get_label() == "returned (second stage's pick)"]
    assert len(marked) == 1 and marked[0].get_offsets().tolist() == [[2.0, 12.9]]  # the pick, at its first-stage value
    assert NB201_ARCH in all_text(cell).replace("\n", "")


# ------------------------------------------------------------------------------------------------------------- F4
def column(rho: float, proxy: str = "te_nas_ntk", higher: bool = False) -> GridColumn:
    r = asdict(result(proxy, 12, spearman=rho))
    r["higher_is_better"] = higher
    return GridColumn("nb201", "cifar10", GT, {"batch_size": 16}, "", 12, 1.0, [r])


def test_grid_heatmap_says_lower_is_better_metrics_are_negated(tmp_path, figures):
    """grid.md says 'a lower-is-better metric's values negated, so a good metric has ρ > 0'; grid.png, which shows the
    same ρ (te_nas_ntk +0.69 in blue while its raw value falls as accuracy rises), says nothing of it (session 60
    added it to report.md, results.tex and the scatter plots, not to the heat map)."""
    grid_mod.heatmap([column(0.69)], tmp_path / "grid.png")
    text = all_text(figures[-1]).lower()
    assert "negated" in text or "lower-is-better" in text or "lower is better" in text, text


def test_grid_heatmap_prints_no_negative_zero(tmp_path, figures):
    """A ρ of -0.004 is written '-0.00' in its cell ('{v:.2f}'); report.fixed, used for every other printed ρ, writes
    a value that rounds to zero without a sign (session 26's rule)."""
    grid_mod.heatmap([column(-0.004, "swap", True)], tmp_path / "grid.png")
    cells = [t.get_text() for t in figures[-1].axes[0].texts]
    assert not any(c.startswith("-0.00") for c in cells), cells


# ------------------------------------------------------------------------------------------------------------- F5
def test_flexibert_cell_drawing_shows_the_archs_hidden_size(tmp_path, figures):
    """`swapnas search --space flexibert`'s cell.png draws the layers only: h128|L1|… and h256|L1|… (two archs of
    the space, 'hidden size (128 or 256)') give the same picture; the hidden size is drawn nowhere."""
    from swapnas.spaces import get_space

    mod = get_space("flexibert")
    layers = "SA.SDP.h8.f1024x1|DSC.9.h4.f512x3"
    for hidden in (128, 256):  # the search writes cell.png with the arch's string above the cells (write_result)
        arch = f"h{hidden}|{layers}"
        report_mod.draw_cells(mod.cell_edges(mod.parse(arch)), tmp_path / f"{hidden}.png", arch)
    assert all_text(figures[0]) != all_text(figures[1]) and "h128|" in all_text(figures[0]), all_text(figures[0])


def test_an_nb301_scatter_says_its_ground_truth_is_the_surrogates(tmp_path, figures):
    """NASLib's NB301 accuracy is NAS-Bench-301's surrogate's prediction; the y label said "validation accuracy (%)"
    (helper `truth`; the ground truth's text keeps its wording: label-hygiene checks match it)."""
    nb301 = ProxyResult(**{**asdict(result("swap", 3)), "space": "nb301"})
    report_mod.scatter_plot([1.0, 2.0, 3.0], [90.0, 91.0, 92.0], nb301, "NB301 CIFAR-10 validation accuracy (%) as "
                            "stored in NASLib's NAS-Bench-Suite-Zero file (725 archs)", tmp_path)
    assert figures[-1].axes[0].get_ylabel() == "validation accuracy (%, NB301 surrogate)"
