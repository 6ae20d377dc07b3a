"""Review 56: tests written against the survivors of a hand-made mutation run of session 56's new code (swapnas.latex,
stats.top_k_precision, files.refuse_taken/_holder/_taken, report.table, grid.latex and the early OUT check). Each
docstring names the mutant it kills; golden values come from naive implementations here, not from the code."""

from __future__ import annotations

import io
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from swapnas import cli
from swapnas.cli.args import EXIT_ERROR
from swapnas.files import _taken, out_lock, refuse_taken
from swapnas.grid import latex, markdown
from swapnas.latex import _number, best_cells, correlate_table, escape, grid_table, tabular
from swapnas.report import table
from swapnas.results import ProxyResult
from swapnas.stats import correlate, top_k_precision
from tests.test_grid_mutants import _column
from tests.test_nb201_space_table import _brute


# ---------------------------------------------------------------- swapnas.latex

@pytest.mark.parametrize("text, want", [("a<b", r"a\textless{}b"), ("a>b", r"a\textgreater{}b"),
                                        ("1–2", "1--2")])
def test_escape_writes_angle_brackets_and_the_en_dash_out(text: str, want: str) -> None:
    """Kills: the "<", ">" or "–" entry dropped from latex._SPECIAL (OT1 typesets < and > as ¡ and ¿)."""
    assert escape(text) == want


def test_a_number_that_rounds_to_zero_has_no_minus_sign() -> None:
    """Kills: _number formatting with f"{x:.3f}" instead of report.fixed (ρ -0.0004 as "$-0.000$")."""
    assert _number(-0.0004) == "0.000"
    assert _number(-0.25) == "$-0.250$" and _number(float("nan")) == "---" and _number(None) == "---"


def test_a_tabular_without_a_command_or_bold_cells() -> None:
    """Kills: the "% made by" comment written for an empty command; ``bold=None`` indexed (a TypeError)."""
    want = "\n".join([r"\begin{tabular}{lr}", r"\toprule", r"a\_1 & b \\", r"\midrule", r"x & 1 \\", r"y & 2 \\",
                      r"\bottomrule", r"\end{tabular}", ""])
    assert tabular(["a_1", "b"], [["x", "1"], ["y", "2"]]) == want


def _naive_best(values: list[list[float]]) -> list[list[bool]]:
    """Per column: the cells whose three-decimal text is the column's largest (NaN never; ties all)."""
    cols = list(zip(*values))
    out = [[False] * len(cols) for _ in values]
    for j, col in enumerate(cols):
        shown = [float(f"{v:.3f}") for v in col if not math.isnan(v)]
        for i, v in enumerate(col):
            out[i][j] = bool(shown) and not math.isnan(v) and float(f"{v:.3f}") == max(shown)
    return out


def test_best_cells_as_printed_negative_and_empty_columns() -> None:
    """Kills: best_cells comparing unrounded values (0.8431 vs 0.8429, both "0.843"), a max starting at 0 (a column
    of negative ρ with none bold), and an all-NaN column marked (no ``isfinite``)."""
    nan = float("nan")
    values = [[0.8431, -0.2, nan, 0.1],
              [0.8429, -0.5, nan, nan],
              [0.5, -0.2004, nan, 0.1]]
    got = best_cells(np.array(values))
    assert got.tolist() == _naive_best(values)
    assert got.tolist() == [[True, True, False, True], [True, False, False, False], [False, True, False, True]]


def _result(proxy: str, rho: float, tau: float, p10: float | None, n: int = 50) -> ProxyResult:
    return ProxyResult(proxy, "k", "nb201", "cifar10", n, 0, rho, tau, (rho - 0.1, rho + 0.1), 0.2, 0.3, 0.01, True,
                       top10_n=5, top10_precision=p10)


def _tex_rows(tex: str) -> list[list[str]]:
    lines = tex.splitlines()
    body = lines[lines.index(r"\midrule") + 1:lines.index(r"\bottomrule")]
    return [[c.strip() for c in line.removesuffix(r" \\").split(" & ")] for line in body]


def test_correlate_table_bolds_each_column_on_its_own() -> None:
    """Kills: τ's bold taken from ρ's column (the best τ in another row than the best ρ)."""
    rows = _tex_rows(correlate_table([_result("a", 0.9, 0.5, 0.4), _result("b", 0.8, 0.7, 0.6)]))
    assert [r[1] for r in rows] == [r"\textbf{0.900}", "0.800"]  # ρ
    assert [r[3] for r in rows] == ["0.500", r"\textbf{0.700}"]  # τ
    assert [r[5] for r in rows] == ["0.400", r"\textbf{0.600}"]  # P@10 %


def test_correlate_table_of_results_without_p_at_10_percent_bolds_none_of_it() -> None:
    """Kills: a None P@10% counted as 0.0 (or an all-NaN column marked): every "---" of the column in bold."""
    rows = _tex_rows(correlate_table([_result("a", 0.9, 0.5, None), _result("b", 0.8, 0.7, None)]))
    assert [r[5] for r in rows] == ["---", "---"]
    mixed = _tex_rows(correlate_table([_result("a", 0.9, 0.5, None), _result("b", 0.8, 0.7, 0.0)]))
    assert [r[5] for r in mixed] == ["---", r"\textbf{0.000}"]


def test_correlate_table_of_no_result_says_it_needs_a_row() -> None:
    """Kills: best_cells called on no result (numpy's vectorize error instead of the table's own message)."""
    with pytest.raises(ValueError, match="a LaTeX table needs at least one row"):
        correlate_table([])


def test_grid_table_follows_the_order_it_is_given() -> None:
    """Kills: grid_table's rows in the names' order rather than ``order``."""
    rho = np.array([[0.1, 0.2], [0.9, 0.8], [0.5, float("nan")]])
    rows = _tex_rows(grid_table(["swap", "zen", "params"], ["t1", "t2"], rho, [1, 2, 0]))
    assert rows == [["zen", r"\textbf{0.900}", r"\textbf{0.800}", "0.850"], ["params", "0.500", "---", "0.500"],
                    ["swap", "0.100", "0.200", "0.150"]]


def test_grid_table_row_without_any_rho_warns_nothing() -> None:
    """Kills: the all-NaN guard of a row's mean dropped (numpy's "Mean of empty slice" RuntimeWarning)."""
    rho = np.array([[0.4, 0.6], [float("nan"), float("nan")]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = _tex_rows(grid_table(["swap", "zen"], ["t1", "t2"], rho, [0, 1]))
    assert rows[1] == ["zen", "---", "---", "---"]


def test_grid_tex_has_the_column_labels_and_grid_mds_order() -> None:
    """Kills: grid.latex's header with the task alone (not benchmark/task) and its rows in first-appearance order."""
    cols = [_column("cifar10", {"swap": 0.1, "params": 0.9}), _column("cifar100", {"swap": 0.2, "params": 0.7})]
    tex = latex(cols, "cmd")
    lines = tex.splitlines()
    assert lines[3] == r"metric & nb201/cifar10 & nb201/cifar100 & mean \\"
    md = markdown(cols).splitlines()
    first = next(i for i, x in enumerate(md) if x.startswith("| metric |"))
    md_order = [x.split(" | ")[0][2:] for x in md[first + 2:first + 4]]
    assert [r[0] for r in _tex_rows(tex)] == md_order == ["params", "swap"]  # by mean ρ: 0.8, then 0.15


# ---------------------------------------------------------------- swapnas.stats.top_k_precision

def _naive_untied(score: np.ndarray, truth: np.ndarray, k: int) -> float:
    by = set(sorted(range(len(score)), key=lambda i: -score[i])[:k])
    true = set(sorted(range(len(truth)), key=lambda i: -truth[i])[:k])
    return len(by & true) / k


def test_p_at_k_rounds_k_to_the_nearest() -> None:
    """Kills: k = floor(frac · n) (17 archs at 10 %: k = 2, not 1)."""
    rng = np.random.default_rng(7)
    truth = rng.normal(size=17)
    score = truth.copy()
    score[np.argmax(truth)] = truth.min() - 1  # the best arch by truth ranked last: P@1 = 0, P@2 = 1/2
    assert top_k_precision(score, truth, 0.1) == _naive_untied(score, truth, 2) == 0.5
    assert correlate(score, truth).top10_precision == 0.5


def test_p_at_k_of_a_few_archs_takes_at_least_one() -> None:
    """Kills: k without its floor of 1 (4 archs at 10 %: round(0.4) = 0, a division by zero)."""
    score, truth = np.array([1.0, 4.0, 3.0, 2.0]), np.array([1.0, 2.0, 4.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert top_k_precision(score, truth, 0.1) == _naive_untied(score, truth, 1) == 0.0
        assert top_k_precision(truth, truth, 0.1) == 1.0


def test_p_at_100_percent_is_one_and_ties_at_the_top_share() -> None:
    """Kills: frac 1 refused (``0 < frac < 1``) and top_k_share's k-th value read one place too far (k = n)."""
    score, truth = np.array([3.0, 3.0, 2.0, 1.0]), np.array([4.0, 3.0, 2.0, 1.0])
    assert top_k_precision(score, truth, 1.0) == 1.0
    assert top_k_precision(score, truth, 0.25) == pytest.approx(_brute(score, truth, 1)) == 0.5


def test_p_at_k_of_no_arch_is_refused_as_such() -> None:
    """Kills: the empty check dropped (an IndexError from the sort instead of the ValueError)."""
    with pytest.raises(ValueError, match="one truth per score"):
        top_k_precision(np.array([]), np.array([]), 0.1)


def test_p_at_k_of_column_vectors_is_that_of_the_flat_arrays() -> None:
    """Kills: score and truth not flattened (an (n, 1) column sorted along its rows of one)."""
    rng = np.random.default_rng(11)
    truth = rng.normal(size=30)
    score = truth + rng.normal(scale=1.0, size=30)
    want = _naive_untied(score, truth, 3)
    assert top_k_precision(score.reshape(-1, 1), truth.reshape(-1, 1), 0.1) == want
    assert top_k_precision(score, truth, 0.1) == want


def test_correlate_without_a_ranking_has_no_p_at_10_percent() -> None:
    """Kills: Correlation's default P@10% 0.0 (too few archs, or a constant score, shown as "0.000", not nan)."""
    assert math.isnan(correlate([1.0, 2.0], [1.0, 2.0]).top10_precision)
    assert math.isnan(correlate([5.0] * 6, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).top10_precision)


# ---------------------------------------------------------------- swapnas.files

def test_the_refusal_text_of_a_lock_file_ending_in_a_newline() -> None:
    """Kills: _taken's ``strip()`` dropped (the job "grid\\n" in mid-sentence; a blank file's pid not "unknown")."""
    out = Path("runs/x")
    assert _taken(io.StringIO("4242 grid\n"), out, "search") == (
        "another swapnas grid is using runs/x (pid 4242); wait for it or use another --out")
    assert _taken(io.StringIO("\n"), out, "search") == (
        "another swapnas search is using runs/x (pid unknown); wait for it or use another --out")


def test_the_early_check_knows_this_threads_lock_by_a_relative_path(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills: _holder looking OUT up unresolved (``--out o`` beside a lock held as tmp/o: refused as another job)."""
    monkeypatch.chdir(tmp_path)
    with out_lock(tmp_path / "o", "correlate"):
        refuse_taken(Path("o"), "correlate")
        refuse_taken(Path("o") / ".." / "o", "correlate")
        assert (tmp_path / "o" / ".lock").read_text().endswith(" correlate")


_HOLD_OLD = """
import fcntl, sys
f = open(sys.argv[1], "a+")
fcntl.flock(f, fcntl.LOCK_EX)
f.truncate(0); f.write("4242"); f.flush()
print("held", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("argv, job", [
    (["grid", "--proxies", "params", "--archs", "3", "--data-dir", "no_bundle"], "grid"),
    (["train", "--genotype", "no_such_genotype_file.txt", "--data-root", "no_images"], "train"),
    (["correlate", "--space", "nb201", "--dataset", "cifar10", "--archs", "3", "--data-dir", "no_bundle"],
     "correlate"),
])
def test_a_lock_file_of_before_session_52_is_named_by_the_commands_job(tmp_path: Path, capsys,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      argv: list[str], job: str) -> None:
    """Kills: grid's or train's early check passing another command's name (shown where the lock file has no job)."""
    if sys.platform == "win32":
        pytest.skip("the holder uses fcntl")
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_OLD, str(out / ".lock")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        rc = cli.main([*argv, "--out", str(out), "--no-progress"])
    finally:
        proc.communicate("")
    err = capsys.readouterr().err
    assert rc == EXIT_ERROR
    assert f"another swapnas {job} is using {out} (pid 4242); wait for it or use another --out" in err


# ---------------------------------------------------------------- swapnas.report.table

def test_a_markdown_table_escapes_pipes_in_every_cell() -> None:
    """Kills: table's markdown rows joined without md_row (a pipe in a cell, e.g. ρ|params, ends the cell)."""
    assert table(["metric", "ρ|params"], [["a|b", "0.5"]], markdown=True) == (
        "| metric | ρ\\|params |\n|---|---|\n| a\\|b | 0.5 |")
