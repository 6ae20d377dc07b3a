"""A FlexiBERT search on one GLUE task (session 51: `search --space flexibert --dataset cola` was refused, "no final
network defined"): each task's final network has that task's head, and the found arch's score is the task's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swapnas.benchmarks import get_benchmark
from swapnas.cli import main
from swapnas.search.final import final_net, final_size
from swapnas.spaces import flexibert
from tests.test_review26_search import TINY

ARCH = "h128|SA.SDP.h2.f512x1|LT.DFT.h4.f1024x3"


def test_every_glue_task_has_a_final_network_with_its_own_head() -> None:
    heads = {task: final_net("flexibert", task)["net"]["num_classes"] for task in flexibert.FINAL_NETS}
    assert heads == {"glue": 2, "cola": 2, "mnli": 3, "mrpc": 2, "qnli": 2, "qqp": 2, "rte": 2, "sst": 2, "sts": 1}
    arch = flexibert.parse(ARCH)
    sizes = {t: final_size(flexibert, arch, final_net("flexibert", t)) for t in ("glue", "mnli", "sts")}
    assert sizes["mnli"] - sizes["glue"] == pytest.approx(129 / 1e6)  # one more class: 128 weights and a bias
    assert sizes["glue"] - sizes["sts"] == pytest.approx(129 / 1e6)


def test_a_search_on_one_task_reports_that_task_s_score(small_bundle: Path, tmp_path: Path, capsys) -> None:
    code = main(["search", "--space", "flexibert", "--dataset", "cola", *TINY, "--data-dir", str(small_bundle),
                 "--out", str(tmp_path / "s")])
    assert code == 0, capsys.readouterr().err
    result = json.loads((tmp_path / "s" / "result.json").read_text())
    extra = result["extra"]
    bench = get_benchmark("flexibert", str(small_bundle))
    near = flexibert.parse(extra["benchmark_arch"])
    assert result["dataset"] == "cola" and "glue_score" not in extra
    assert extra["cola_score"] == pytest.approx(float(bench.accuracies([near], "cola")[0]))
    assert "FlexiBERT-500 cola: " in capsys.readouterr().out
