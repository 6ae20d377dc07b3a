"""Session-26 walkthrough nits: what a run says about itself.

Before: ``swapnas.score(..., repeats=R)`` gave R SaturationWarnings for one call; the protocol line said
"BatchNorm train mode" for networks without BatchNorm (FlexiBERT); a resumed grid did not say that it reused
stored scores (correlate does); an ImageNet16-120 run warned about its remapped labels with no metric reading
them (tests/test_validation.py::test_the_label_note_is_printed_once).
"""

from __future__ import annotations

import logging
import warnings

import pytest
import torch
from torch import nn

import swapnas
from swapnas import grid
from swapnas.data import load_batch
from swapnas.report import protocol_text
from swapnas.store import ScoreStore


def _saturating() -> tuple[nn.Module, torch.Tensor]:
    """16 samples, 4·6·6 = 144 ReLU neurons: nearly every neuron's sign pattern is its own (Ψ at its ceiling)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 3)), torch.randn(16, 1, 8, 8)


@pytest.mark.parametrize("repeats", [1, 3])
def test_score_warns_once_per_call_over_its_repeats(repeats: int) -> None:
    model, x = _saturating()
    for _ in range(2):  # once per call, not once per process
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            swapnas.score(model, x, "swap", repeats=repeats)
        sat = [str(w.message) for w in caught if issubclass(w.category, swapnas.SaturationWarning)]
        assert len(sat) == 1
        assert sat[0].endswith(f"[later repeats of this call (of {repeats}) are not warned about]") == (repeats > 1)


@pytest.mark.parametrize("bn_train, words", [(True, "train mode (BatchNorm, if any: batch statistics)"),
                                             (False, "eval mode (BatchNorm, if any: running statistics)")])
def test_protocol_line_names_the_mode_without_claiming_batchnorm(bn_train: bool, words: str) -> None:
    protocol = {"space": "flexibert", "dataset": "glue", "inputs": "real", "batch_digest": "x", "batch_size": 8,
                "repeats": 1, "init": "default", "bn_train": bn_train, "net": {}, "seed": 0}
    text = protocol_text(protocol, "gt")
    assert f"| {words} |" in text and "BatchNorm train mode" not in text


def test_a_resumed_grid_says_which_stored_scores_it_reused(small_bundle, tmp_path) -> None:
    kw = dict(proxies="params", n_archs=4, seed=0, repeats=1, device=torch.device("cpu"), data_dir=str(small_bundle),
              progress=False)
    with ScoreStore(tmp_path / "s.sqlite") as store:
        first = grid.run_grid([("nb301", "cifar10")], store=store, **kw)
        again = grid.run_grid([("nb301", "cifar10")], store=store, **kw)
    n = first[0].n_archs
    assert (first[0].reused_archs, again[0].reused_archs) == (0, n)
    assert "reused" not in grid.markdown(first)
    assert f"stored scores of {n} of {n} archs reused" in grid.markdown(again)


def test_label_note_is_a_warning_only_where_labels_are_read(small_bundle, caplog) -> None:
    caplog.set_level(logging.INFO, logger="swapnas.data")
    for labels in (False, True):
        caplog.clear()
        batch = load_batch("imagenet16-120", 8, data_dir=small_bundle, labels=labels)
        levels = [r.levelno for r in caplog.records if "labels outside" in r.getMessage()]
        assert levels == [logging.WARNING if labels else logging.INFO] and "labels outside" in batch.note
