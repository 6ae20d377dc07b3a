"""Session 67 audit of the output files as other tools read them (markdown renderers, LaTeX, csv readers; each test
failed on the code as found, but the image-link one, which the review's percent-encoding had mended by then). Fast, no scoring, no data bundle: the writers are called with hand-made results."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from swapnas import latex
from swapnas.grid import GridColumn, markdown as grid_markdown
from swapnas.proxies import registry
from swapnas.report import correlation_report
from swapnas.results import CorrelateRun, ProxyResult

markdown_it = pytest.importorskip("markdown_it")

PROTOCOL = {"space": "nb201", "dataset": "cifar10", "batch_size": 16, "repeats": 4, "seed": 0, "init": "gaussian",
            "bn_train": True, "net": {"C": 16, "N": 1}, "batch_digest": "c9d2889e331436c7", "inputs": "real",
            "fingerprint": "cb44128d80809eae"}
PROV = {"command": "swapnas correlate", "swapnas": "0.1.0", "source": "x", "torch": "2", "numpy": "2", "scipy": "1",
        "created_utc": "2026-01-01T00:00:00Z"}


def _md(text: str) -> str:
    return markdown_it.MarkdownIt("commonmark").enable("table").render(text)


def _result(proxy: str, errors: list[str] | None = None) -> ProxyResult:
    nan = float("nan")
    r = ProxyResult(proxy, f"{proxy}@1", "nb201", "cifar10", 4, len(errors or []), 0.4, 0.33, (0.1, 0.9), nan, nan,
                    0.01, True)
    r.errors = list(errors or [])
    return r


def _run(results: list[ProxyResult]) -> CorrelateRun:
    return CorrelateRun(PROTOCOL, "NB201 valid accuracy (%)", "", results,
                        {r.proxy: [1.0, 2.0, 3.0, 4.0] for r in results}, [1.0, 2.0, 3.0, 4.0],
                        ["a", "b", "c", "d"], 1.0)


def _plain(model, batch) -> float:
    """A stand-in metric."""
    return 0.0


def _gfm_cells(line: str) -> int:
    """How many cells GFM reads in a table row: it splits on every unescaped pipe, inside backticks too."""
    s = line.strip()
    s = s[1:] if s.startswith("|") else s
    s = s[:-1] if s.endswith("|") and not s.endswith("\\|") else s
    return len(re.split(r"(?<!\\)\|", s))


# --- F1 (medium): grid.md does not escape '|' in a metric name: the row gains a cell, every value shifts ----------

def test_grid_md_rows_keep_their_cells_for_a_metric_name_with_a_pipe(scratch_registry) -> None:
    """`python my_swapnas.py grid --benchmarks nb201 --tasks cifar10 --proxies 'a|b,…'` wrote `| a|b | **0.841** |
    0.841 |` under `| metric | nb201/cifar10 | mean |`: rendered, the metric reads `a`, nb201/cifar10 reads `b` and
    the mean column shows the cell's ρ (the mean itself is dropped); the n/failures table likewise. `register`
    accepts '|' (check_name), and correlate's report.md escapes it (report.md_cell); grid.md builds its rows with
    f-strings."""
    registry.register("a|b")(_plain)
    col = GridColumn("nb201", "cifar10", "gt", PROTOCOL, "", 4, 1.0,
                     [{**_result("a|b").__dict__, "spearman_ci": [0.1, 0.9]}], hidden=[], not_applicable={})
    text = grid_markdown([col])
    rows = [line for line in text.splitlines() if line.startswith("| a")]
    assert rows, text
    assert [_gfm_cells(r) for r in rows] == [3, 2], rows  # the rho table: metric, column, mean; then n/failures
    html = _md(text)
    assert re.search(r"<td>(<code>)?a\|b(</code>)?</td>", html), "the metric's name is not one cell"


# --- F2 (low-medium): a plot whose metric name holds '#', '?' or ')' is not shown by report.md ----------------------

@pytest.mark.parametrize("name", ["x#2", "x?y", "a)b"])
def test_report_md_image_links_name_the_plot_file(name: str) -> None:
    """`![scatter_x&y#z%.png](scatter_x&y#z%.png)` renders as `<img src="scatter_x&amp;y#z%25.png">`: a browser asks
    for `scatter_x&y` (the rest is a fragment). '?' starts a query; ')' ends the destination. Session 67 bracketed
    names with a space only (`<…>`); percent-encoding the destination (urllib.parse.quote) covers every character."""
    plot = f"scatter_{name}.png"
    html = _md(correlation_report(_run([_result(name)]), PROV, [plot]))
    srcs = re.findall(r'<img src="([^"]*)"', html)
    assert len(srcs) == 1, html
    assert unquote(srcs[0].replace("&amp;", "&")) == plot, srcs[0]
    assert "#" not in srcs[0] and "?" not in srcs[0], srcs[0]


# --- F3 (low-medium): failure messages go into report.md / grid.md as markdown: `__init__` turns bold, `<lambda>`
#     is raw HTML (GitHub drops it) -------------------------------------------------------------------------------

MESSAGE = "RuntimeError: Cell.__init__() hook on <lambda> failed: *args vs **kwargs"


def test_correlate_report_shows_a_failure_message_as_written() -> None:
    html = _md(correlation_report(_run([_result("fails", [MESSAGE])]), PROV, []))
    item = next(li for li in re.findall(r"<li>(.*?)</li>", html, re.S) if "FAILED" in li)
    assert "<strong>" not in item and "<em>" not in item, item
    assert "&lt;lambda&gt;" in item, f"<lambda> is raw HTML there: {item}"
    assert "__init__" in item, item


def test_grid_md_shows_a_failure_message_as_written(scratch_registry) -> None:
    registry.register("fails")(_plain)
    col = GridColumn("nb201", "cifar10", "gt", PROTOCOL, "", 4, 1.0,
                     [{**_result("fails", [MESSAGE]).__dict__, "spearman_ci": [0.1, 0.9]}], hidden=[],
                     not_applicable={})
    html = _md(grid_markdown([col]))
    item = next(li for li in re.findall(r"<li>(.*?)</li>", html, re.S) if "hook on" in li)
    assert "<strong>" not in item and "&lt;lambda&gt;" in item, item


# --- F4 (low): a metric name with '*' or '_' pairs is emphasis in report.md's table --------------------------------

def test_report_md_table_shows_a_metric_name_as_written() -> None:
    """`*em*` is shown as an italic `em` in the table and the "Proxies as scored" note (only '|' is escaped)."""
    html = _md(correlation_report(_run([_result("*em*")]), PROV, []))
    cells = [c for c in re.findall(r"<td>(.*?)</td>", html) if "em" in c][:1]
    assert cells and "<em>" not in cells[0] and "*em*" in cells[0], cells


# --- F5 (low-medium): results.tex / grid.tex pass non-ASCII metric names to pdflatex unescaped -----------------------

@pytest.mark.parametrize("name", ["σ_sig", "tab×", "μ-swap", "swap±"])
def test_latex_tables_hold_ascii_only(name: str) -> None:
    """escape() writes ρ and τ as `$\\rho$`/`$\\tau$` and the dashes as `--`, but any other non-ASCII character passes:
    pdflatex (without a \\DeclareUnicodeCharacter) stops at `σ` ("Unicode character σ (U+03C3) not set up for use
    with LaTeX") and `×`/`±` need textcomp/inputenc. A name registered as `σ_sig` made results.tex line
    `σ\\_sig & \\textbf{0.857} & …`."""
    tex = latex.correlate_table([_result(name)])
    body = [line for line in tex.splitlines() if not line.startswith("%")]
    bad = sorted({ch for line in body for ch in line if ord(ch) > 127})
    assert not bad, f"non-ASCII in the tabular: {bad}"


# --- F6 (low): a newline in the command ends the `% made by:` comment; the rest is typeset --------------------------

def test_latex_command_comment_stays_a_comment() -> None:
    """`--store $'/tmp/x\\ny.sqlite'` (accepted) made results.tex start `% made by: … --store '/tmp/x` then
    `y.sqlite' --no-progress` as text before the tabular."""
    tex = latex.tabular(["metric", "ρ"], [["swap", "0.5"]], command="swapnas correlate --store '/tmp/x\ny.sqlite'")
    before = tex.split(r"\begin{tabular}")[0].splitlines()
    assert all(line.startswith("%") for line in before if line.strip()), before


# --- F7 (low): results.csv repeats a column name where a metric is named arch, accuracy or params_m ------------------

@pytest.mark.parametrize("name", ["arch", "accuracy", "params_m"])
def test_results_csv_column_names_are_unique(name: str, scratch_registry) -> None:
    """A metric registered as `arch` made results.csv's header `arch,accuracy,arch,swap,params_m`: csv.DictReader's
    `row['arch']` is then the score, pandas renames the column `arch.1`. The name is refused at registration."""
    with pytest.raises(ValueError, match="nor a column of results.csv"):
        registry.register(name)(_plain)
    assert name not in registry._REGISTRY
