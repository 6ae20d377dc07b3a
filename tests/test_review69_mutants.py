"""Session 69: mutation testing of the session's lines (113 hand-made mutants, the helper's own tally: 86 killed by
the tests as they were, 10 equivalent, 17 gaps). Each test here passes on the code of the end and failed on the
mutant its section names (e1c7e72; the conformance test, written after the run, on its mutant oc8); the label test
failed on that code itself: a 47-character line of a wrapped y label left the search curve's PNG (the wrap is now
44)."""
from __future__ import annotations

import json
import sqlite3
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from swapnas.bundle import Batch


# ------------------------------------------------- api_inputs.warn_class_count (cc3 cc4 cc5 cc7 cc11 cc2 cc9)
def _labels(n_classes: int) -> torch.Tensor:
    return torch.arange(2 * n_classes) % n_classes  # every class twice


def _warned(model: nn.Module, batch: Batch, proxies: list[str] | None = None) -> list[str]:
    from swapnas.api_inputs import warn_class_count
    from swapnas.proxies import get_proxy

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        warn_class_count(model, batch, [get_proxy(p) for p in proxies or ["epe_nas"]], True)
    return [str(w.message) for w in said if "counted from the labels" in str(w.message)]


def _batch(targets: torch.Tensor, num_classes: int) -> Batch:
    return Batch(torch.zeros(len(targets), 3, 4, 4), targets, num_classes, "mine", "user", len(targets), "", "ce")


@pytest.mark.parametrize(("counted", "warned"), [(100, True), (101, False), (150, False)])
def test_the_class_count_warning_turns_at_epe_nas_own_boundary_of_100_classes(counted: int, warned: bool) -> None:
    """EPE-NAS's rule changes above 100 classes (requirements' ``num_classes <= 100``): labels counting exactly 100
    classes get the <= 100 rule, so a 200-output model is warned of; 101 or more already get the model's rule. Kills
    cc3 (``num_classes >= 100``: 100 unwarned), cc4 (``> 101``: 101 warned) and cc5 (the count test dropped)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 200))
    assert bool(_warned(model, _batch(_labels(counted), counted))) is warned


def test_the_class_count_warning_reads_the_last_linear_layer_nested_or_not() -> None:
    """The model's output size is its *last* Linear layer's, wherever it sits in the module tree. Kills cc7 (the
    first Linear read: a 200-wide hidden layer before a 10-class head warned) and cc11 (``children()``: a head inside
    a submodule not seen)."""
    batch = _batch(_labels(4), 4)
    hidden_wide = nn.Sequential(nn.Flatten(), nn.Linear(48, 200), nn.ReLU(), nn.Linear(200, 10))
    assert _warned(hidden_wide, batch) == []
    nested = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Sequential(nn.Flatten(), nn.Linear(16, 200)))
    (message,) = _warned(nested, batch)
    assert "last Linear layer has 200 outputs" in message


def test_no_class_count_warning_for_dense_labels() -> None:
    """The rule (``class_pairs``) is read only for labels of one class per sample, (S,); dense labels (S, H, W) are
    not counted that way. Kills cc2 (the ``targets.dim() != 1`` test dropped: dense labels warned)."""
    dense = torch.arange(2 * 4 * 4 * 4).reshape(2, 4, 4, 4) % 4
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 200))
    assert _warned(model, _batch(dense, 4)) == []


def test_the_class_count_warning_names_a_combination_built_on_epe_nas(scratch_registry) -> None:  # noqa: ANN001
    """A metric whose *base* reads the class count (a user's combination over epe_nas) gets the warning too, by its
    own name (``with_bases``). Kills cc9 (only the metric's own requirements read)."""
    from swapnas.proxies.registry import register

    register("mut69_on_epe", base=("epe_nas",), version="1")(lambda values: values[0])
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 200))
    (message,) = _warned(model, _batch(_labels(4), 4), ["mut69_on_epe"])
    assert message.startswith("mut69_on_epe: num_classes was counted from the labels (4)")


# ---------------------------------------------------------------- stats.top_k_precision (st10)
def test_top_k_precision_takes_k_from_the_finite_pairs() -> None:
    """"n counts the rest": k = round(frac · n) over the finite pairs. 4 archs, 2 with a NaN score, frac 0.5: k = 1
    (the best-scored arch is the worst by truth: 0), not k = 2 (every finite arch in both sets: 1.0). Kills st10."""
    from swapnas.stats import top_k_precision

    assert top_k_precision([np.nan, np.nan, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0], 0.5) == 0.0


# ---------------------------------------------------------------- proxies/_common.layer_weights (lw3)
class _Interleaved(nn.Module):
    """a, then head, then b sharing a's weight: the shared weight's first place is before head."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 6, bias=False)
        self.head = nn.Linear(6, 6)
        self.b = nn.Linear(6, 6, bias=False)
        self.b.weight = self.a.weight


def test_layer_weights_keeps_a_shared_weight_at_its_first_place() -> None:
    """"each once … in module order": a shared weight at its first layer's place. Kills lw3 (its last place kept)."""
    from swapnas.proxies._common import layer_weights

    model = _Interleaved()
    assert [id(w) for w in layer_weights(model)] == [id(model.a.weight), id(model.head.weight)]


# ---------------------------------------------------------------- store check --json (sj2 sj6)
def _store_with(tmp_path: Path, sql: str) -> Path:
    """test_session59's two-score store, then ``sql`` run on it (the damage a test reads)."""
    from .test_session59 import _small_store

    path = _small_store(tmp_path / "s.sqlite")
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()
    return path


def _check_json(path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    from swapnas import cli

    cli.main(["--json", "store", "check", str(path)])
    return json.loads(capsys.readouterr().out)


def test_store_check_json_of_a_blob_in_another_settings_column_is_one_document(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A blob in the ``space`` column (not only ``net``) is written as x'..' too. Kills sj2 (blob_text only on net:
    a TypeError traceback in place of the document)."""
    doc = _check_json(_store_with(tmp_path, "UPDATE scores SET space = X'00ff' WHERE rowid = "
                                            "(SELECT min(rowid) FROM scores)"), capsys)
    assert "x'00ff'" in [s["space"] for s in doc["settings"]]


def test_store_check_json_keeps_a_net_that_is_not_json_as_its_text(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """json_or_text: "text that is not JSON as it is". Kills sj6 (such text given as null)."""
    doc = _check_json(_store_with(tmp_path, "UPDATE scores SET net = 'C=4 N=1' WHERE rowid = "
                                            "(SELECT min(rowid) FROM scores)"), capsys)
    assert "C=4 N=1" in [s["net"] for s in doc["settings"]]


# ---------------------------------------------------------------- scripts/compare_runs.py (cr9 cr10)
def test_compare_runs_a_metric_one_run_scored_differs_in_its_options_and_p_at_10_too() -> None:
    """"a metric only one run scored differs in each of its figures": its options and top10_precision as well as
    its key. Kills cr9 (options "not compared") and cr10 (top10_precision "not compared")."""
    from .script_tools import load_script

    cr = load_script("compare_runs", "mut69_cr")
    row = {"proxy": "swap", "spearman": 0.8, "kendall": 0.6, "spearman_ci": [0.7, 0.9], "top10_spearman": None,
           "spearman_given_params": 0.5, "n": 3, "failures": 0, "key": "swap@1"}
    zen = row | {"proxy": "zen", "key": "zen@1", "options": {"k": 1.0}, "top10_precision": 0.5}
    a = {"archs": ["x"], "accuracy": [1.0], "scores": {"swap": [1.0]}, "results": [row]}
    b = {"archs": ["x"], "accuracy": [1.0], "scores": {"swap": [1.0], "zen": [2.0]}, "results": [row, zen]}
    same, lines = cr.compare(cr._fields(a), cr._fields(b))
    assert not same and not any(line.startswith("not compared") for line in lines)
    assert "DIFFERENT  zen options: absent" in lines and "DIFFERENT  zen top10_precision: absent" in lines


# ---------------------------------------------------------------- grid report.md's "Made by" (gr1)
def test_grid_report_made_by_names_numpy_scipy_and_the_device(tmp_path: Path) -> None:
    """write_grid's report.md says what made it as correlate's does (``made_with``: numpy, scipy, device). Kills gr1
    (the line without them)."""
    from dataclasses import asdict

    from swapnas.grid import GridColumn, write_grid

    from .test_outputs_doc import _protocol, _proxy_result

    column = GridColumn("nb201", "cifar10", "truth", _protocol().describe(), "", 3, 1.0, [asdict(_proxy_result())],
                        None, 0, 0, [], {}, {})
    write_grid([column], tmp_path / "grid", "swapnas grid", "cpu")
    made = [x for x in (tmp_path / "grid" / "report.md").read_text(encoding="utf-8").splitlines() if "Made by" in x]
    (line,) = made
    assert f"numpy {np.__version__}" in line and "scipy " in line and "device cpu" in line


# ---------------------------------------------------------------- the search curve's y label (x1; a defect)
def _label_box(tmp_path: Path, label: str):  # type: ignore[no-untyped-def]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from swapnas import report

    figs = []
    real = report.save_figure

    def keep(fig, path):  # type: ignore[no-untyped-def]
        figs.append(fig)
        return real(fig, path)

    snapshots = [{"evaluations": 1, "cycle": 0, "best": 1.0, "population_mean": 1.0, "population_min": 1.0}]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(report, "save_figure", keep)
        report.search_curve(snapshots, [{"evaluation": 1, "cycle": 0, "arch": "a", "fitness": 1.0}],
                            tmp_path / "c.png", "nb201/cifar10 seed 0", label)
    (fig,) = figs
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.axes[0].yaxis.label.get_window_extent(fig.canvas.get_renderer()), fig.bbox.height


def test_a_long_search_curve_label_is_wrapped_inside_the_png(tmp_path: Path) -> None:
    """The y label is wrapped at 48 characters (the review: cut at both ends of the PNG); a user's metric that is
    negated and has a size prior makes a 73-character one. Kills x1 (``fitted(label, 48)`` dropped)."""
    box, height = _label_box(tmp_path, "fitness: my_combination_of_metrics negated (lower is better) − (Θ − μ)²/σ")
    assert box.y0 >= 0 and box.y1 <= height, box


def test_defect_a_wrapped_label_line_of_47_characters_still_leaves_the_png(tmp_path: Path) -> None:
    """FAILS ON HEAD (low): ``fitted(label, 48)`` lets a line of up to 48 characters through, but the 432-px-tall
    figure holds about 45 at the label's font: "my_long_combination_of_metrics_for_darts − (Θ −" (47) spans y
    14..448."""
    box, height = _label_box(tmp_path, "fitness: my_long_combination_of_metrics_for_darts − (Θ − μ)²/σ")
    assert box.y0 >= 0 and box.y1 <= height, box


# ---------------------------------------------------------------- correlate's other code (oc5)
def test_correlate_that_reused_nothing_records_no_other_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             scratch_registry) -> None:  # noqa: ANN001
    """A correlate that reused no score records no other code, though the store records another code of its metric
    (from a run over other archs). Kills oc5 (``other_code`` called without the count: the store read anyway)."""
    from tests.test_audit68_provenance import _size_a, _size_b
    from tests.test_review68_mutants import correlate_twice

    docs = correlate_twice(tmp_path, monkeypatch, ["--archs", "2", "--proxies", "prov_probe"],
                           [(_size_a, ["--seed", "0"]), (_size_b, ["--seed", "5"])])
    assert not set(docs[0]["archs"]) & set(docs[1]["archs"])  # nothing to reuse
    assert docs[1]["reused_archs"] == 0 and docs[1]["reused_from_other_code"] == {}


# ---------------------------------------------------------------- conformance's other_code (oc8)
@pytest.mark.bundle  # NASLib's NB201 file and the NB201 table
def test_conformance_records_other_code_of_scores_it_partly_reused(data_dir: Path, tmp_path: Path) -> None:
    """conformance passes ``other_code`` the archs it reused whole and in part; the mutation run's survivor passed the
    whole ones only, so a run that reused part of every arch's scores, made by other code, recorded none."""
    from swapnas.conformance import run_conformance
    from swapnas.proxies.code import ProxyCodeWarning
    from swapnas.store import ScoreStore

    kw = dict(space="nb201", dataset="cifar10", n_archs=3, device="cpu", data_dir=str(data_dir),
              net={"C": 4, "N": 1}, progress=False)
    with ScoreStore(tmp_path / "s.sqlite") as store:
        first = run_conformance(store=store, proxies="params", **kw)
        assert first.reused_from_other_code == {}
        store.accept_code("params@1", "0" * 16)  # the store now says another code made params' scores
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProxyCodeWarning)
            again = run_conformance(store=store, proxies="params,flops", **kw)  # params reused, flops new
    assert list(again.reused_from_other_code) == ["params@1"]
