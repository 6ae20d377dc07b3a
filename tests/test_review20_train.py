"""Review 20 of `swapnas train`: SIGTERM held to the batch end, the auxiliary head's ReLU, --json/-q,
clear errors for bad input and damaged checkpoints, evaluation off the training stream, the OUT lock."""

from __future__ import annotations

import copy
import json
import os
import signal
from pathlib import Path

import pytest
import torch

from swapnas.cli import main
from swapnas.spaces import darts
from swapnas.spaces.darts_imagenet import build_imagenet
from swapnas.spaces.darts_net import build
from swapnas.train import loop
from tests.test_darts_genotype import DARTS_V2

TINY_CLI = ["train", "--genotype", DARTS_V2, "--synthetic", "64", "--channels", "4", "--layers", "3",
            "--batch-size", "16", "--epochs", "2", "--max-steps", "2", "--device", "cpu", "--no-progress"]


def _history(out: Path) -> list[dict]:
    return json.loads((out / "history.json").read_text())


def test_sigterm_during_a_step_is_held_to_the_batch_end_and_resume_matches(tmp_path, monkeypatch, capsys) -> None:
    """SIGTERM (SLURM, timeout, kill) arriving after the optimiser step: `swapnas train` exits 130 with the
    batch counted in the checkpoint, and the resumed run equals an uninterrupted one (it used to train
    that batch twice: only SIGINT was held)."""
    assert main([*TINY_CLI, "--out", str(tmp_path / "straight")]) == 0
    straight = _history(tmp_path / "straight")
    out = tmp_path / "run"
    real, calls = loop._train_step, []

    def signalled(*a, **k):
        result = real(*a, **k)
        calls.append(1)
        if len(calls) == 3:  # epoch 2, first batch: after its SGD step
            os.kill(os.getpid(), signal.SIGTERM)
        return result

    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)  # main() installs its own handler over the default
    try:
        monkeypatch.setattr(loop, "_train_step", signalled)
        assert main([*TINY_CLI, "--out", str(out)]) == 130
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # given back
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "rerun the same command to resume" in capsys.readouterr().err
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert (ck["epoch"], ck["step"]) == (1, 1)  # the signalled batch is counted: it was applied
    monkeypatch.setattr(loop, "_train_step", real)
    assert main([*TINY_CLI, "--out", str(out)]) == 0
    hist = _history(out)
    assert [h["train_loss"] for h in hist] == pytest.approx([h["train_loss"] for h in straight], rel=1e-6)
    assert [h["test_acc"] for h in hist] == [h["test_acc"] for h in straight]


def test_whole_batch_leaves_sigterm_alone_without_a_python_handler() -> None:
    """Without a Python SIGTERM handler (the library, not the command) the default stays: nothing to hold."""
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with loop._whole_batch():
            assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler  # SIGINT is held
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize("make,size", [
    (lambda: build(DARTS_V2, C=4, layers=3, auxiliary=True), 32),  # aux head after the last cell
    (lambda: build(DARTS_V2, C=4, layers=4, auxiliary=True), 32),
    (lambda: build_imagenet(DARTS_V2, C=4, layers=2, num_classes=10, auxiliary=True), 224),
])
def test_auxiliary_head_leaves_the_main_logits_alone(make, size) -> None:
    """The head's first ReLU was in place: with the aux cell last, the main head saw ReLU'd features in
    training mode only, so the network trained differed from the one evaluated."""
    torch.manual_seed(0)
    net = make().train()
    plain = copy.deepcopy(net)
    plain.auxiliary_head = None
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        logits, _ = net(x)
        assert torch.equal(logits, plain(x))


def test_no_scoring_network_has_an_auxiliary_head() -> None:
    """The head is built for `swapnas train` only: the ReLU fix changes no stored score."""
    with torch.device("meta"):
        nets = [build(DARTS_V2, **darts.SCORING_DEFAULTS["net"]), build(DARTS_V2, **darts.FITNESS_PROTOCOL["net"])]
        nets += [build(DARTS_V2, **cfg) for cfg in darts.NETS.values()]
        nets += [build(DARTS_V2, **{**darts.FITNESS_PROTOCOL["net"], **darts.FITNESS_PROTOCOL["refine"]["net"]})]
    assert all(net.auxiliary_head is None for net in nets)


SMOKE = ["train", "--genotype", DARTS_V2, "--synthetic", "16", "--channels", "4", "--layers", "4", "--batch-size", "8",
         "--epochs", "1", "--max-steps", "1", "--device", "cpu"]


def test_train_json_prints_one_json_document_and_no_progress(tmp_path, capsys) -> None:
    """`swapnas train --json`: result.json on stdout, nothing else (it printed text and a progress bar)."""
    out = tmp_path / "run"
    assert main([*SMOKE, "--json", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == json.loads((out / "result.json").read_text())
    assert "epoch" not in captured.err and "%|" not in captured.err


def test_train_quiet_prints_only_what_was_written(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main([*SMOKE, "-q", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"wrote {out / 'result.json'}, {out / 'history.json'}, {out / 'checkpoint.pt'}"]
    assert "epoch" not in captured.err and "%|" not in captured.err
