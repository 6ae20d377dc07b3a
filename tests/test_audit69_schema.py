"""Session 69 audit of every output file against its documentation, key by key (the figures of one run agreed across
its outputs; each test here failed on the code as found, ddcabe7)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import swapnas

from .test_audit64_api import DATA, TINY_SEARCH


@pytest.mark.bundle
@pytest.mark.parametrize(("fitness", "negated"), [("te_nas_ntk", True), ("params", False)])
def test_a_search_result_says_whether_its_fitness_is_the_metric_negated(
        fitness: str, negated: bool, tmp_path: Path) -> None:
    """result.json's fitness (and its history's) of a te_nas_ntk search is −40.27 where the store holds +40.27; only
    the printout and report.md said "negated", so a script reading result.json alone could not tell."""
    opts = {**TINY_SEARCH, "fitness": fitness, "batch_size": 4}
    result = swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", data_dir=DATA, **opts)
    assert result.fitness_negated is negated
    doc = json.loads((tmp_path / "s" / "result.json").read_text())
    assert doc["fitness_negated"] is negated
    assert (doc["fitness"] < 0) is negated  # (te_nas_ntk's condition numbers are > 1; params' counts > 0)


def _grid_doc(seed: int = 0, n: int = 3, key: bool = True) -> dict:
    result = {"proxy": "swap", "spearman": 0.8, "kendall": 0.6, "spearman_ci": [0.7, 0.9], "top10_spearman": None,
              "spearman_given_params": 0.5, "n": n, "failures": 0} | ({"key": "swap@1"} if key else {})
    column = {"benchmark": "nb201", "task": "cifar10", "n_archs": n, "protocol": {"seed": seed}, "results": [result]}
    return {"provenance": {}, "columns": [column]}


def test_compare_runs_tells_two_grids_over_other_arch_samples_apart(tmp_path: Path) -> None:
    """Its docstring said it compares "each column's archs", which grid.json does not hold: two grids over other
    samples (another --seed) with equal figures printed IDENTICAL. The seed and count now stand for the sample; a
    key absent from an older grid is still not compared."""
    from .script_tools import load_script

    cr = load_script("compare_runs", "audit69_cr")
    same, lines = cr.compare(cr._fields(_grid_doc(0)), cr._fields(_grid_doc(1)))
    assert not same and "DIFFERENT  nb201/cifar10 seed: 0" in lines
    same, lines = cr.compare(cr._fields(_grid_doc(0)), cr._fields(_grid_doc(0, key=False)))
    assert same and "not compared  nb201/cifar10 swap key: in one run only (added to the output since the other)" \
        in lines


def test_store_check_json_names_each_settings_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``store check --json`` gave each setting as bare positions, its network a JSON string inside the JSON
    (``[["cb44…", "nb201", 0, 16, 4, "{\\"C\\": 16, \\"N\\": 1}", 20]]``), in an order no doc listed."""
    from swapnas import cli
    from swapnas.scoring import Protocol
    from swapnas.store_tools import SETTING_FIELDS, check_store

    from .test_session59 import _small_store

    path = _small_store(tmp_path / "s.sqlite")
    assert cli.main(["--json", "store", "check", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    fingerprint = Protocol("nb201", "cifar10", 8, repeats=1, seed=0, net={"C": 4, "N": 1}).fingerprint
    assert doc["settings"] == [{"protocol": fingerprint, "space": "nb201", "seed": 0, "batch_size": 8, "repeats": 1,
                                "net": {"C": 4, "N": 1}, "scores": 2}]
    assert doc["ok"] is True and list(doc)[-1] == "ok"
    report = check_store(path)  # the Python report keeps its tuples; the JSON names their fields in order
    assert [dict(zip(SETTING_FIELDS, s)) | {"net": {"C": 4, "N": 1}} for s in report.settings] == doc["settings"]


def test_compare_runs_compares_the_full_precision_options_and_fitness_negated() -> None:
    """The review: two runs whose swap_reg prior differs past the key's 6 digits printed IDENTICAL (``options`` was
    not compared), nor was a search's ``fitness_negated``; a file written before either is not compared on it."""
    from .script_tools import load_script

    cr = load_script("compare_runs", "audit69_cr2")
    grid = _grid_doc()
    other = json.loads(json.dumps(grid))
    grid["columns"][0]["results"][0]["options"] = {"mu": 306.6244}
    other["columns"][0]["results"][0]["options"] = {"mu": 306.624}
    same, lines = cr.compare(cr._fields(grid), cr._fields(other))
    assert not same and "DIFFERENT  nb201/cifar10 swap options: {'mu': 306.6244}" in lines
    same, lines = cr.compare(cr._fields(grid), cr._fields(_grid_doc()))
    assert same and "not compared  nb201/cifar10 swap options: in one run only (added to the output since the other)" \
        in lines
    search = {"best": "a", "fitness": 1.0, "evaluations": 1, "history": [], "fitness_negated": True}
    same, lines = cr.compare(cr._fields(search), cr._fields({**search, "fitness_negated": False}))
    assert not same and "DIFFERENT  fitness_negated: True" in lines
