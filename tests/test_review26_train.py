"""Session 26's fresh-machine walkthrough: `swapnas train` extended on resume, and its lines with --no-progress."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from swapnas import train as tr
from swapnas.cli import main
from tests.test_darts_genotype import DARTS_V2

TINY = replace(tr.RECIPES["cifar10"], C=4, layers=3, batch_size=16, epochs=2)


def _run(out: Path, epochs: int) -> dict:
    return tr.train(DARTS_V2, replace(TINY, epochs=epochs), tr.synthetic_data(32), out, "cpu", seed=0,
                    progress=False, max_steps=1)


def test_a_run_extended_on_resume_says_its_schedule_changed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Before: a 2-epoch run resumed with --epochs 3 said nothing, and its result.json looked like a fresh 3-epoch
    run's, which it does not equal (the learning rate of epoch 2 followed the 2-epoch cosine)."""
    _run(tmp_path / "ext", 2)
    with caplog.at_level(logging.WARNING, logger="swapnas.train.loop"):
        extended = _run(tmp_path / "ext", 3)
    fresh = _run(tmp_path / "fresh", 3)
    assert "resuming with --epochs 3 a run that trained 2 epoch(s) on a 2-epoch schedule" in caplog.text
    assert extended["schedule_epochs"] == [2, 3] and fresh["schedule_epochs"] == [3]
    lrs = [[h["lr"] for h in json.loads((tmp_path / d / "history.json").read_text())] for d in ("ext", "fresh")]
    assert lrs[0][0] == lrs[1][0] and lrs[0][1] != lrs[1][1]  # what the schedule_epochs list tells apart
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="swapnas.train.loop"):
        _run(tmp_path / "fresh", 3)  # resuming a finished run at its own length: nothing to warn about
    assert "resuming with" not in caplog.text


def _train_cli(out: Path, *flags: str) -> list[str]:
    return ["train", "--genotype", DARTS_V2, "--synthetic", "32", "--channels", "4", "--layers", "3", "--batch-size",
            "16", "--epochs", "2", "--max-steps", "1", "--device", "cpu", "--out", str(out), *flags]


def test_no_progress_hides_the_bars_but_keeps_one_line_per_epoch(tmp_path: Path, capsys) -> None:
    """Before: --no-progress also hid the per-epoch lines and the resume note, so a batch log was silent."""
    assert main(_train_cli(tmp_path / "a", "--no-progress")) == 0
    err = capsys.readouterr().err
    assert "epoch 1/2: train loss" in err and "epoch 2/2: train loss" in err
    assert main(_train_cli(tmp_path / "a", "--no-progress", "--epochs", "3")) == 0
    assert "resuming" in capsys.readouterr().err
    assert main(["-q", *_train_cli(tmp_path / "b")]) == 0
    assert "epoch 1/2" not in capsys.readouterr().err  # -q: quiet
