"""Session-25 review of the Transformer path: each test fails on the code before its fix (docs/reliability.md)."""

from __future__ import annotations

import json

import pytest

from swapnas.bundle import DataFileError
from swapnas.spaces import flexibert as fb


def test_a_bad_benchmark_record_is_named_with_its_layer(data_dir, tmp_path) -> None:
    """Before: only the field was named ("heads must be one of (2, 4, 8) (got 3)"), not which of 500 records."""
    from swapnas.benchmarks.flexibert import FlexiBERTBenchmark

    records = json.loads((data_dir / "flexibert" / "flexibert_glue_500.json").read_text())
    over = records[137]["hparams"]["model_hparam_overrides"] if "hparams" in records[137] else records[137]
    over["nas_config"]["encoder_layers"][1]["num_operation_heads"] = 3
    (tmp_path / "flexibert").mkdir()
    (tmp_path / "flexibert" / "flexibert_glue_500.json").write_text(json.dumps(records))
    with pytest.raises(DataFileError, match=r"layer 2: FlexiBERT heads must be one of \(2, 4, 8\) \(got 3\).*the bad "
                                            r"entry is record 137"):
        FlexiBERTBenchmark(tmp_path)


def test_a_dsc_kernel_given_as_a_number_says_it_must_be_a_string() -> None:
    """Before: "unknown parameter 5 for operation DSC; valid: 5, 9", which read as a contradiction."""
    with pytest.raises(ValueError, match=r"unknown parameter 5 for operation DSC; valid: '5', '9' \(strings\)"):
        fb.Layer("DSC", 5, 4, 512, 1)  # type: ignore[arg-type]


def test_a_sequence_too_short_for_a_token_batch_is_refused_by_the_build_too() -> None:
    """Before: the build took lengths 1-3, which the token batch then refused without naming --net resolution."""
    arch = fb.parse("h128|SA.SDP.h2.f512x1|SA.SDP.h2.f512x1")
    with pytest.raises(ValueError, match=r"resolution \(sequence length\) must be in 4\.\.512 \(got 3\)"):
        fb.build(arch, resolution=3)
    from swapnas.tokens import sequences

    with pytest.raises(ValueError, match=r"sequence length \(--net resolution\) must be >= 4"):
        sequences(3)
