"""report's text: each function's whole output against a string written out by hand.

Session 43's mutation run of ``report`` (docs/reliability.md, "Session 43") left survivors in the table, the
notes, the report, the failure lines, the protocol text, the axis and the footnotes: the earlier tests checked
pieces of them. Each expected string below is the documented format typed out, not the function's output.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from swapnas.report import (  # noqa: E402
    correlation_report,
    failure_lines,
    footnote_lines,
    made_with,
    protocol_text,
    results_table,
    run_notes,
    score_axis,
    truth_label,
)
from swapnas.results import CorrelateRun, ProxyResult  # noqa: E402

from .message_tools import exact  # noqa: E402

NAN = math.nan


def _results() -> list[ProxyResult]:
    swap = ProxyResult("swap", "k1", "nb201", "cifar10", 100, 0, 0.8123, 0.61234, (0.75, 0.86), -0.0004, 0.5,
                       0.1234, True, top10_n=10, top10_precision=0.6)
    params = ProxyResult("params", "k2", "nb201", "cifar10", 98, 2, NAN, -0.25, (NAN, 0.1), 0.3, NAN, 1.5, True)
    return [swap, params]


def test_the_fixed_width_table_whole_and_its_default_is_not_markdown():
    assert results_table(_results()) == "\n".join([
        "proxy   spearman  kendall      rho 95% CI    top10% rho  P@10%  rho|params    n  fail  s/arch",
        "------  --------  -------  --------------  ------------  -----  ----------  ---  ----  ------",
        "swap       0.812    0.612  [0.750, 0.860]  0.000 (n=10)  0.600       0.500  100     0  0.1234",
        "params       nan   -0.250    [nan, 0.100]         0.300      -         nan   98     2  1.5000",
    ])


def test_an_empty_table_is_refused_with_the_likely_cause():
    message = exact("results_table needs at least one result (a correlate run with no proxy?)")
    with pytest.raises(ValueError, match=message):
        results_table([])
    empty = _run()
    empty.results = []
    with pytest.raises(ValueError, match=message):  # the report of a run with no result: the same refusal
        correlation_report(empty, {"command": "c", "created_utc": "T"}, [])


def test_the_markdown_table_whole():
    assert results_table(_results(), markdown=True) == "\n".join([
        "| proxy | spearman | kendall | rho 95% CI | top10% rho | P@10% | rho\\|params | n | fail | s/arch |",
        "|---|---|---|---|---|---|---|---|---|---|",
        "| swap | 0.812 | 0.612 | [0.750, 0.860] | 0.000 (n=10) | 0.600 | 0.500 | 100 | 0 | 0.1234 |",
        "| params | nan | -0.250 | [nan, 0.100] | 0.300 | - | nan | 98 | 2 | 1.5000 |",
    ])


def _failing(errors: list[str], saturated: int = 0) -> ProxyResult:
    return ProxyResult("swap", "k", "nb201", "cifar10", 100, 3, 0.5, 0.4, (0.3, 0.6), 0.1, 0.2, 0.1, True,
                       errors=errors, saturated=saturated)


SATURATED = ("SATURATED swap: 4 of 100 archs score >= 95% of the 2**S ceiling (S = the batch size; TransNAS jigsaw: "
             "9 tiles per image), where it cannot rank them; use a larger --batch-size or a smaller scored network "
             "(--net). (A Ψ at its other ceiling, the hooked neuron count, is named by the first SaturationWarning "
             "printed while scoring, one per proxy and process.)")


def test_failure_lines_one_message_several_the_cap_and_saturation():
    assert failure_lines([_failing(["boom"])]) == ["FAILED swap (3 archs in all; their message): boom"]
    assert failure_lines([_failing(["a", "b", "c", "d"])])[3] == "FAILED swap (3 archs in all; message 4 of 4): d"
    assert failure_lines([_failing(["a", "b", "c", "d", "e"])])[0] == (
        "FAILED swap (3 archs in all; message 1 of 5 (at most 5 are kept)): a")
    assert failure_lines([_failing([], saturated=4)]) == [SATURATED]
    assert failure_lines([_failing([], saturated=0)]) == []


def test_made_with_names_each_version_the_device_and_the_time_and_skips_what_is_missing():
    prov = {"swapnas": "1.0", "torch": "2.13", "numpy": "", "scipy": "1.14", "device": "cpu",
            "created_utc": "2026-12-05T03:00:00Z"}
    assert made_with(prov) == "swapnas 1.0, torch 2.13, scipy 1.14, device cpu, 2026-12-05T03:00:00Z"
    assert made_with({"numpy": "2.1", "created_utc": "t"}) == "numpy 2.1, t"


def _run(reused: int = 0, partly: int = 0, bootstrap: dict | None = None, archs: int = 3) -> CorrelateRun:
    return CorrelateRun(_protocol(), "GT accuracy (%)", "", _results(), {}, [], [f"a{i}" for i in range(archs)], 1.0,
                        reused=reused, partly_reused=partly,
                        bootstrap={"resamples": 1000, "seed": 0} if bootstrap is None else bootstrap)


CI = ("- ρ 95 % CI: bootstrap (percentile), 1000 resamples, seed 0 (a resample whose scores or ground truth are all "
      "equal has no ρ and is left out; the CI is nan when more than half are).")
PARAMS = ("- ρ|params: partial Spearman ρ controlling for the benchmark's #params (`params_m` in results.csv); NaN "
          "where the proxy, or the ground truth itself (then in every row), ranks as #params (|ρ| >= 0.999).")
KEYS = "- Proxies as scored (store keys, with their options): swap `k1`, params `k2`."
#: the two columns a fresh user could not read from the table (session 49)
LEGEND = ("- top10% ρ: Spearman ρ over the archs whose ground truth is at or above its 90th percentile (n of them in "
          "brackets): how well the proxy orders the best archs; nan where fewer than 3 archs are in it, or its scores "
          "or ground truth are all equal.",
          "- P@10%: top-k precision, the share of the k = 10 % best archs by ground truth that are among the proxy's k "
          "best (k rounded, at least 1; archs tied at the cut share its places, so the arch order does not matter): "
          "whether the proxy finds the best archs.",
          "- s/arch: mean seconds of one arch's scoring in one process (the stored time of each score); the run's wall "
          "time is shorter with several worker processes.")


def test_run_notes_for_each_way_the_scores_came():
    assert run_notes(_run()) == [CI, PARAMS, *LEGEND, KEYS]
    assert run_notes(_run(reused=3)) == [CI, PARAMS, *LEGEND, KEYS, "- All 3 archs' scores read from the store (none "
                                         "scored by this run; s/arch is the time stored with each score)."]
    assert run_notes(_run(reused=1, partly=1))[6] == (
        "- Scores: stored scores of 1 of 3 archs reused; some proxies' stored scores of 1 more archs reused, the "
        "others scored now.")
    assert run_notes(_run(reused=1))[6] == "- Scores: stored scores of 1 of 3 archs reused."
    assert run_notes(_run(partly=2))[6] == (
        "- Scores: some proxies' stored scores of 2 of 3 archs reused, the others scored now.")
    assert run_notes(_run(archs=0)) == [CI, PARAMS, *LEGEND, KEYS]  # no arch: no line on the store


def test_run_notes_name_the_interval_and_leave_out_a_missing_bootstrap():
    assert run_notes(_run(bootstrap={"resamples": 200, "seed": 7, "interval": "bca"}))[0] == (
        "- ρ 95 % CI: bootstrap (bca), 200 resamples, seed 7 (a resample whose scores or ground truth are all "
        "equal has no ρ and is left out; the CI is nan when more than half are).")
    assert run_notes(_run(bootstrap={})) == [PARAMS, *LEGEND, KEYS]


def _protocol(**changes) -> dict:
    return {"space": "nb201", "dataset": "cifar10", "inputs": "real", "batch_digest": "abc", "batch_size": 16,
            "repeats": 1, "init": "default", "bn_train": True, "net": {"C": 16, "N": 1}, "seed": 0, **changes}


PROTOCOL = ("space nb201 | dataset cifar10 | inputs real (batch sha256 abc)\n"
            "S=16 samples | repeats=1 (mean over re-inits) | init=default | train mode (BatchNorm, if any: batch "
            "statistics) | network C=16, N=1 | seed=0 (per-arch seeds from sha256(seed, arch))\n"
            "ground truth: GT accuracy (%)")


def test_protocol_text_whole_in_both_modes_with_and_without_a_note():
    assert protocol_text(_protocol(), "GT accuracy (%)") == PROTOCOL
    assert protocol_text(_protocol(bn_train=False, net={}, seed=3), "G", "few images") == (
        "space nb201 | dataset cifar10 | inputs real (batch sha256 abc)\n"
        "S=16 samples | repeats=1 (mean over re-inits) | init=default | eval mode (BatchNorm, if any: running "
        "statistics) | network space default | seed=3 (per-arch seeds from sha256(seed, arch))\n"
        "ground truth: G\n"
        "NOTE: few images")


def test_the_report_whole():
    results = _results()
    results[1].errors = ["boom"]
    run = _run()
    run.results, run.batch_note = results, "few images"
    prov = {"command": "swapnas correlate --space nb201", "swapnas": "1.0", "created_utc": "T"}
    assert correlation_report(run, prov, ["swap.png"]) == "\n".join([
        "# nb201 / cifar10: training-free proxies against the ground truth", "",
        "Made by `swapnas correlate --space nb201` (swapnas 1.0, T).", "",
        "## Protocol", "", "```", PROTOCOL + "\nNOTE: few images", "```", "",
        "## Rank correlation with the ground truth", "", results_table(results, markdown=True), "",
        CI, PARAMS, *LEGEND, KEYS, "",
        "## Failures and warnings", "", "- FAILED params (2 archs in all; their message): boom", "",
        "## Plots", "", "![swap.png](swap.png)", "",
        "Data: [results.json](results.json) (everything above), [results.csv](results.csv) (one row per arch), "
        "[results.tex](results.tex) (the table for a paper: booktabs).", "",
    ])
    without = correlation_report(_run(), prov, [])
    assert "## Failures and warnings" not in without
    assert without.endswith("## Plots\n\n\nData: [results.json](results.json) (everything above), "
                            "[results.csv](results.csv) (one row per arch), [results.tex](results.tex) (the table "
                            "for a paper: booktabs).\n")


def test_truth_label_falls_back_to_ground_truth():
    assert truth_label("nb201", "cifar10", "something else") == "ground truth"
    assert truth_label("csv", "t", "my file (column 'acc', higher is better)") == "ground truth (acc)"


def test_footnote_lines_wrap_at_150_by_default_and_keep_an_empty_footnote():
    words = " ".join(["abcdefghi"] * 40)  # 399 characters: 15 words of 10 fit in 150
    lines = footnote_lines(words)
    assert [len(line) for line in lines] == [149, 149, 99]
    assert footnote_lines("") == [""]


def _axis(scores: list[float], y: list[float] | None = None) -> tuple[str, str, str]:
    """score_axis on a scatter of ``scores``; the x scale and the drawn offset texts of both axes."""
    fig, ax = plt.subplots()
    values = np.array(scores, dtype=float)
    ax.scatter(values, y if y is not None else np.ones_like(values))
    score_axis(ax, values)
    fig.canvas.draw()
    out = ax.get_xscale(), ax.xaxis.get_offset_text().get_text(), ax.yaxis.get_offset_text().get_text()
    plt.close(fig)
    return out


@pytest.mark.parametrize("scores, scale", [
    ([1.0, 1000.0], "log"),  # two positive scores over two decades
    ([1.0, 100.5], "log"),
    ([1.0, 100.0], "linear"),  # exactly two decades: not over
    ([0.0, 1.0, 1000.0], "symlog"),  # a zero score: no log axis; a symmetric-log one since session 68
    ([-1.0, 1.0, 1000.0], "symlog"),
    ([0.0, 1.0, 100.0], "linear"),  # the nonzero ones over exactly two decades: not over
])
def test_the_score_axis_is_logarithmic_only_when_every_score_is_positive_over_two_decades(scores, scale):
    assert _axis(scores)[0] == scale


def test_a_linear_score_axis_uses_scientific_offsets_from_1e4_and_down_to_1e_3_and_leaves_the_y_axis_alone():
    assert _axis([20000.0, 30000.0, 40000.0], y=[20000.0, 30000.0, 40000.0])[1:] == ("1e4", "")
    assert _axis([2000.0, 3000.0, 4000.0])[1] == ""  # 10^3: inside the limits
    assert _axis([0.005, 0.006, 0.007])[1] == "1e−3"
    assert _axis([0.05, 0.06, 0.07])[1] == ""  # 10^-2: inside the limits
