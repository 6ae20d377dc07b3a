"""scripts/flexibert_hf_check.py: our FlexiBERT encoder against Hugging Face's ElectraModel.

The name map and the arch filter need no optional package; the comparison itself needs ``transformers`` (not a
swapnas dependency) and is skipped without it (docs/transformers.md gives its table and the environment it ran in).
"""

from __future__ import annotations

import pytest

from swapnas.spaces import flexibert as fb
from tests.script_tools import load_script


def _script():
    return load_script("flexibert_hf_check", "hfcheck")


@pytest.mark.parametrize("depth", fb.DEPTHS)
def test_every_weight_but_the_classifier_has_one_electra_name(depth: int) -> None:
    arch = fb.parse("|".join(["h256"] + ["SA.SDP.h4.f1024x1"] * depth))
    ours = {k for k in fb.build(arch).state_dict() if not k.startswith("classifier.")}
    names = _script().hf_names(depth)
    assert set(names) == ours  # every weight of ours is mapped, and nothing else
    assert len(set(names.values())) == len(names)  # onto distinct ELECTRA names


def test_only_sdp_layers_with_one_ff_layer_and_one_head_count_are_electra_shaped() -> None:
    form = _script().electra_form
    assert form(fb.parse("h128|SA.SDP.h2.f512x1|SA.SDP.h2.f512x1"))
    for other in ("h128|SA.WMA.h2.f512x1|SA.SDP.h2.f512x1", "h128|SA.SDP.h2.f512x3|SA.SDP.h2.f512x3",
                  "h128|SA.SDP.h2.f512x1|SA.SDP.h4.f512x1", "h128|SA.SDP.h2.f512x1|SA.SDP.h2.f1024x1",
                  "h128|LT.DFT.h2.f512x1|SA.SDP.h2.f512x1"):
        assert not form(fb.parse(other)), other


def test_our_encoder_equals_electra_with_its_weights() -> None:
    pytest.importorskip("transformers")
    from swapnas.tokens import token_batch

    row = _script().check(fb.parse("h256|SA.SDP.h4.f1024x1|SA.SDP.h4.f1024x1"), "authors",
                          token_batch("glue", 8, length=8).inputs)
    cells = [c.strip() for c in row.strip("|").split("|")]
    n_hf, n_ours, n_count, diff, psi_ours, psi_hf = cells[-6:]  # the arch cell holds "|" too
    assert n_hf == n_ours == n_count
    assert float(diff) < 1e-4
    assert psi_ours == psi_hf and float(psi_ours.replace(",", "")) > 0
