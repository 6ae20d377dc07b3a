"""Session 26's review of the statistics and reported tables: what the tables print (figures were all
right; these are how they are shown)."""

from __future__ import annotations

from swapnas.grid import GridColumn, markdown
from swapnas.report import fixed


def _col(task: str, rhos: dict) -> GridColumn:
    res = [{"proxy": p, "spearman": v, "n": 10, "failures": 0, "seconds_per_arch": 0.1, "errors": []}
           for p, v in rhos.items()]
    return GridColumn("nb201", task, "gt", {"net": {}, "batch_size": 16, "repeats": 1, "init": "gaussian", "seed": 0},
                      "", 10, 1.0, res)


def _rho_rows(text: str) -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in text.splitlines():  # the first table is the ρ table
        if line.startswith("| ") and not line.startswith("| metric"):
            rows.setdefault(line.split(" | ")[0][2:], line)
    return rows


def test_a_value_that_rounds_to_zero_is_printed_without_a_sign() -> None:
    assert fixed(-0.0004) == "0.000" and fixed(-0.0) == "0.000" and fixed(0.0004) == "0.000"
    assert fixed(-0.0006) == "-0.001" and fixed(-0.00004, 4) == "0.0000" and fixed(-0.00006, 4) == "-0.0001"
    assert fixed(float("nan")) == "nan" and fixed(None) == "nan"


def test_cells_that_print_the_same_best_value_are_all_bold() -> None:
    """Before, the bold went to the larger unrounded value only: grid.md showed **0.816** beside 0.816."""
    rows = _rho_rows(markdown([_col("cifar10", {"swap_reg": 0.81640, "flops": 0.81610, "params": 0.5})]))
    assert "**0.816**" in rows["swap_reg"] and "**0.816**" in rows["flops"] and "**" not in rows["params"]


def test_a_tiny_negative_rho_in_the_grid_is_not_minus_zero() -> None:
    rows = _rho_rows(markdown([_col("cifar10", {"swap": 0.5, "synflow": -0.0004})]))
    assert "| 0.000 |" in rows["synflow"] and "-0.000" not in rows["synflow"]
