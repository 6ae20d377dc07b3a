"""Session 63 audit of the outputs' correctness: a saturated Ψ inside swap_reg gets its SATURATED line, a `$` in
a user's file name is drawn as written, a lower-is-better search fitness is said to be negated, and the plot of a
proxy that failed on every arch says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from swapnas import report
from swapnas.results import ProxyResult


def _result(proxy: str = "params", space: str = "nb201", dataset: str = "cifar10", n: int = 4,
            failures: int = 0, higher: bool = True) -> ProxyResult:
    nan = float("nan")
    return ProxyResult(proxy, f"{proxy}@1", space, dataset, n, failures, 0.4 if n else nan, 0.33 if n else nan,
                       (nan, nan), nan, nan, 0.01 if n else nan, higher)


def _capture(monkeypatch: pytest.MonkeyPatch) -> list:
    """The figures scatter_plot hands to save_figure (still saved, so rendering errors surface)."""
    figs: list = []
    real = report.save_figure

    def keep(fig, path):
        figs.append(fig)
        return real(fig, path)

    monkeypatch.setattr(report, "save_figure", keep)
    return figs


def _unescaped_dollar_pair(text: str) -> bool:
    return len(re.findall(r"(?<!\\)\$", text)) >= 2


# --- Finding 1: user text with `$` is read as matplotlib mathtext in the scatter plots ----------------------------

def test_a_truth_file_name_with_dollar_signs_does_not_crash_the_plot(tmp_path: Path) -> None:
    """`swapnas correlate --truth '/tmp/a_$\\q$.csv' ...` scored every arch, wrote results.json and results.csv and
    then stopped with exit 2 ("ParseFatalException: Unknown symbol: \\q"): no plots, report.md or results.tex. The
    bench name (`csv:<file name>`, the suptitle) and the ground-truth text (the file path, the footnote) come from
    the user and must be drawn as plain text."""
    truth = "/tmp/a_$\\q$.csv (column 'acc', archs from column 'arch'; 4 archs of nb201 in the file, task cifar10)"
    report.scatter_plot([1.0, 2.0, 3.0, 4.0], [10.0, 30.0, 20.0, 40.0], _result(space="csv:a_$\\q$.csv"), truth,
                        tmp_path)
    assert (tmp_path / "scatter_params.png").stat().st_size > 0


def test_dollar_signs_in_user_text_are_drawn_as_they_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--truth '/tmp/r_$x_1$.csv'` drew the title `csv:r_x₁.csv` (dollars gone, a subscript): every text of the
    figure that holds a pair of unescaped `$` must be drawn with mathtext off (or have them escaped)."""
    figs = _capture(monkeypatch)
    truth = "/tmp/r_$x_1$.csv (column 'acc$1$', archs from column 'arch'; 4 archs of nb201 in the file, task cifar10)"
    report.scatter_plot([1.0, 2.0, 3.0, 4.0], [10.0, 30.0, 20.0, 40.0], _result(space="csv:r_$x_1$.csv"), truth,
                        tmp_path)
    (fig,) = figs
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_parse_math"))
             if _unescaped_dollar_pair(t.get_text())]
    assert texts, "the figure should show the file name somewhere"
    parsed = [t.get_text() for t in texts if t.get_parse_math()]
    assert not parsed, f"read as mathtext: {parsed}"


# --- Finding 2: a search with a lower-is-better fitness reports the negated score without a word -------------------

def test_a_search_report_says_a_lower_is_better_fitness_is_negated() -> None:
    """`swapnas search --space nb201 --fitness te_nas_ntk ...` printed and wrote "fitness -32.8989 | te_nas_ntk@1":
    the NTK condition number is >= 1, the EA maximises its negation, and neither report.md, the printout nor
    docs/search.md says so (correlate's report.md has said so since session 60)."""
    from swapnas.search.driver import search_report
    from tests.search_tools import search_result

    prov = {"command": "swapnas search --space nb201 --fitness te_nas_ntk", "swapnas": "9.9", "torch": "2.x",
            "created_utc": "noon"}
    text = search_report(search_result(fitness=-32.8989, fitness_proxy="te_nas_ntk@1"), prov)
    assert re.search(r"lower is better|negated", text, re.I), text


# --- Finding 3: a proxy that failed on every arch gets a blank plot with a meaningless accuracy axis ---------------

def test_the_plot_of_a_proxy_that_failed_everywhere_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`swapnas correlate --space transnas_micro --dataset jigsaw --proxies epe_nas,params --archs 6` wrote
    scatter_epe_nas.png: two empty panels, the accuracy axis from -0.04 to 0.04, no word that all 6 archs failed."""
    figs = _capture(monkeypatch)
    report.scatter_plot([None] * 6, [10.0, 92.0, 40.0, 55.0, 61.0, 70.0],
                        _result(proxy="epe_nas", n=0, failures=6), "toy ground truth", tmp_path)
    (fig,) = figs
    texts = " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))
    assert re.search(r"fail|no (arch|score)", texts, re.I), texts


# --- Finding 4: report.md says nothing when swap_reg's Ψ is at its 2**S ceiling ---------------------------------------

def test_a_saturated_swap_reg_alone_gets_a_saturated_line_in_report_md(tmp_path: Path, data_dir: Path) -> None:
    """`swapnas correlate --space nb201 --dataset cifar10 --proxies swap_reg --archs 8 --batch-size 8` (Ψ = 256 = 2**8
    for every arch): the table gives swap_reg ρ = 0.910, which is then the size prior's alone, and report.md has no
    SATURATED line (the console's one-off SaturationWarning even says "a correlate or grid report's SATURATED line
    counts the archs at the 2**S ceiling"; a rerun from the store prints nothing at all). With `--proxies swap,swap_reg`
    the line names swap only."""
    from swapnas.cli import main

    out = tmp_path / "out"
    rc = main(["correlate", "--space", "nb201", "--dataset", "cifar10", "--proxies", "swap_reg", "--archs", "4",
               "--batch-size", "4", "--repeats", "1", "--workers", "1", "--no-progress", "-q",
               "--data-dir", str(data_dir), "--out", str(out)])
    assert rc in (0, 3)
    text = (out / "report.md").read_text(encoding="utf-8")
    scores = __import__("json").loads((out / "results.json").read_text())["scores"]["swap_reg"]
    assert scores, "swap_reg scored"
    assert "SATURATED swap_reg: 4 of 4 archs have a Ψ (swap, which swap_reg is derived from) >= 95%" in text, text
