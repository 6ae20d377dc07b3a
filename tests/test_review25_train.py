"""Session-25 review of `swapnas train`: each test fails on the code before its fix (docs/reliability.md)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from swapnas import train as tr
from swapnas.cli import main
from swapnas.train import loop
from tests.test_darts_genotype import DARTS_V2

TINY = replace(tr.RECIPES["cifar10"], C=4, layers=3, batch_size=16)


def _interrupt_at(monkeypatch, call: int) -> None:
    real, calls = loop._train_step, []

    def interrupted(*a, **k):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(loop, "_train_step", interrupted)


def _train(out: Path, epochs: int, **kw) -> dict:
    return tr.train(DARTS_V2, replace(TINY, epochs=epochs), tr.synthetic_data(40), out, "cpu", seed=0,
                    progress=False, **kw)


def test_epochs_cut_back_to_an_unevaluated_epoch_evaluate_it(tmp_path, monkeypatch) -> None:
    """Before: nothing was trained or evaluated, result.json said test_acc null with complete true, and the
    command's printout failed on the null."""
    out = tmp_path / "run"
    _interrupt_at(monkeypatch, 7)  # 40 images in batches of 16: 3 steps per epoch; the 7th is epoch 3's first
    with pytest.raises(KeyboardInterrupt):
        _train(out, 4, eval_every=3)
    monkeypatch.undo()
    result = _train(out, 2, eval_every=3)
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2] and history[0]["test_acc"] is None
    assert result["complete"] and result["test_acc"] is not None and result["test_n"] == 40
    assert history[-1]["test_acc"] == result["test_acc"]
    straight = _train(tmp_path / "straight", 2, eval_every=3)  # the same 2 epochs in one run
    assert result["test_acc"] == straight["test_acc"]


def test_a_checkpoint_inside_the_next_epoch_is_not_called_done(tmp_path, monkeypatch) -> None:
    """Before: a checkpoint of 2 epochs and 1 batch of the third was 'all 2 epochs done', and its weights (one batch
    further) were reported as the 2-epoch model."""
    out = tmp_path / "run"
    _interrupt_at(monkeypatch, 8)  # epoch 3's second step: the checkpoint holds epoch 3's first batch
    with pytest.raises(KeyboardInterrupt):
        _train(out, 4)
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"2 epochs and 1 batches of epoch 3 done, so its weights are not those of 2 "
                                         r"epochs; give --epochs 3 or more"):
        _train(out, 2)
    assert _train(out, 3)["epochs"] == 3  # --epochs 3 resumes it


def test_an_odd_channel_count_for_imagenet_is_refused_before_out_exists(tmp_path, capsys) -> None:
    """Before: the stem's error came after OUT and its lock were made, without naming the flag."""
    out = tmp_path / "odd"
    code = main(["train", "--genotype", DARTS_V2, "--dataset", "imagenet", "--synthetic", "4", "--channels", "5",
                 "--layers", "2", "--batch-size", "2", "--device", "cpu", "--out", str(out), "--no-progress"])
    assert code == 2 and "channels 5 (--channels): the ImageNet stem halves C; give an even --channels" in \
        capsys.readouterr().err
    assert not out.exists()
