"""Tests written against the survivors of session 39's mutation run of ``swapnas.benchmarks.flexibert``
(docs/reliability.md, "Session 39"), on the committed small bundle (10 records): the task defaults, an arch given as a
string, both refusals whole, and the designed size against the network built.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from swapnas.benchmarks.flexibert import FlexiBERTBenchmark
from swapnas.spaces import flexibert

from .message_tools import exact
from .test_cached_mutants import built_params


@pytest.fixture(scope="module")
def bench(small_bundle: Path) -> FlexiBERTBenchmark:
    return FlexiBERTBenchmark(small_bundle)


def test_every_task_argument_defaults_to_the_glue_mean(bench: FlexiBERTBenchmark) -> None:
    archs = bench.archs_for()
    assert archs == bench.archs_for("glue") and len(archs) == 10
    glue = np.array([r["scores"]["glue"] for r in bench.records])  # no duplicates among these 10 records
    assert np.array_equal(bench.accuracies(archs), glue)
    assert not np.array_equal(bench.accuracies(archs, "cola"), glue)
    assert bench.truth_text() == bench.truth_text("glue") == (
        "FlexiBERT-500 GLUE score (mean of the eight tasks) after ELECTRA-style pre-training and GLUE fine-tuning (the "
        "SWAP authors' BERT_benchmark.json; 10 distinct archs, duplicates averaged)")
    assert bench.params_m(archs[0]) == bench.params_m(archs[0], "glue")


def test_archs_given_as_strings_are_found_and_their_nearest_is_themselves(bench: FlexiBERTBenchmark) -> None:
    arch = bench.archs[3]
    assert bench.index_of(str(arch)) == 3
    assert bench.nearest(str(arch)) == (arch, 0)
    assert bench.accuracies([str(arch)]).tolist() == [bench.records[3]["scores"]["glue"]]


def test_an_unknown_task_and_an_arch_outside_the_benchmark_are_refused_whole(bench: FlexiBERTBenchmark) -> None:
    with pytest.raises(ValueError, match=exact("flexibert has ground truth only for glue, cola, mnli, mrpc, qnli, qqp, "
                                               "rte, sst, sts (got task 'boolq')")):
        bench.archs_for("boolq")
    outside = flexibert.parse("h128|SA.SDP.h2.f512x1|SA.SDP.h2.f512x1")
    assert outside not in bench.archs
    with pytest.raises(KeyError) as missing:  # a KeyError's str() is the repr of its message
        bench.index_of(outside)
    assert missing.value.args == (f"{outside} is not among the 10 FlexiBERT archs of {bench.path}; nearest(arch) "
                                  "gives the closest one",)


def test_params_m_is_the_designed_encoder_in_millions(bench: FlexiBERTBenchmark) -> None:
    arch = bench.archs[0]
    assert bench.params_m(arch) == built_params(flexibert.build, arch, sizes="design") / 1e6
