"""``swapnas train``'s loop (``swapnas.train.loop``), from its mutation run (session 47): on a tiny linear stand-in for
the DARTS network (``build_model`` replaced), so that a whole run takes milliseconds, each step against the same step
written out by hand, evaluation against a naive loop, the checkpoint's content and its resume, the signals held for a
whole batch, the epoch's entry and printout, and the result; every message compared whole."""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from swapnas.progress import bar_interval
from swapnas.spaces import darts_genotype as dg
from swapnas.train import data as td
from swapnas.train import loop
from swapnas.train.recipe import TrainConfig

from .message_tools import refusal
from .process_helpers import lock_in_thread
from .test_darts_genotype import DARTS_V2

GENOTYPE = dg.parse(DARTS_V2)
CONFIG = TrainConfig(epochs=3, batch_size=4, lr=0.1, momentum=0.9, weight_decay=1e-3, cutout=0, drop_path=0.3,
                     auxiliary_weight=0.5, grad_clip=0.5, label_smoothing=0.1, C=4, layers=2)


class Tiny(nn.Module):
    """A linear classifier over 3 x 4 x 4 images with an auxiliary linear head in training mode."""

    def __init__(self, num_classes: int, auxiliary: bool = True) -> None:
        super().__init__()
        self.fc = nn.Linear(48, num_classes)
        self.auxiliary_head = nn.Linear(48, num_classes) if auxiliary else None
        self.drop_path_prob = 0.0

    def forward(self, x: torch.Tensor) -> Any:
        f = x.flatten(1)
        out = self.fc(f)
        return (out, self.auxiliary_head(f)) if self.training and self.auxiliary_head is not None else out


@pytest.fixture(autouse=True)
def tiny(monkeypatch) -> None:
    monkeypatch.setattr(loop, "build_model", lambda genotype, config, dataset, num_classes:
                        Tiny(num_classes, config.auxiliary_weight > 0))


def _data(n: int = 10, test: int = 6, classes: int = 3, augment: str = "cifar") -> td.TrainData:
    g = torch.Generator().manual_seed(n)
    split = [td.TensorSplit(torch.randint(0, 256, (k, 3, 4, 4), generator=g, dtype=torch.uint8),
                            torch.randint(0, classes, (k,), generator=g)) for k in (n, test)]
    return td.TrainData(f"tiny-{n}", "cifar10", classes, split[0], split[1], (0.5, 0.4, 0.3), (0.2, 0.25, 0.3),
                        augment, "made here")


def _run(out: Path, config: TrainConfig = CONFIG, data: td.TrainData | None = None, **kw: Any) -> loop._Run:
    args: dict[str, Any] = dict(seed=0, progress=False, max_steps=None, eval_every=1, amp=True, lines=False)
    args.update(kw)
    return loop._start(GENOTYPE, config, data or _data(), out, "cpu", **args)


# --- one step ------------------------------------------------------------------------------------------------------

def test_the_loss_adds_the_weighted_auxiliary_loss() -> None:
    model, x, y = Tiny(3), torch.rand(5, 3, 4, 4), torch.tensor([0, 1, 2, 0, 1])
    ce = nn.CrossEntropyLoss()
    loss, logits = loop._forward_loss(model, x, y, ce, 0.25)
    out, aux = model(x)
    assert torch.equal(logits, out) and torch.allclose(loss, ce(out, y) + 0.25 * ce(aux, y))
    model.eval()
    loss, logits = loop._forward_loss(model, x, y, ce, 0.25)
    assert torch.equal(loss, ce(model(x), y))


@pytest.mark.parametrize("grad_clip", [0.0, 0.05])
def test_a_training_step_is_one_clipped_sgd_step(grad_clip: float) -> None:
    torch.manual_seed(0)
    model, x, y = Tiny(3), torch.rand(6, 3, 4, 4) * 50, torch.tensor([0, 1, 2, 0, 1, 1])
    twin = copy.deepcopy(model)
    config = TrainConfig(grad_clip=grad_clip, auxiliary_weight=0.4)
    ce = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    twin_opt = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    for p in model.parameters():
        p.grad = torch.ones_like(p)  # left over: the step zeroes it first
    loss, correct = loop._train_step(model, x, y, opt, loop.grad_scaler(False), ce, config, False)
    out, aux = twin(x)
    twin_loss = ce(out, y) + 0.4 * ce(aux, y)
    twin_loss.backward()
    norm = nn.utils.clip_grad_norm_(twin.parameters(), grad_clip) if grad_clip else None
    twin_opt.step()
    assert loss == pytest.approx(twin_loss.item(), rel=1e-6) and correct == int((out.argmax(1) == y).sum())
    assert norm is None or float(norm) > grad_clip  # the clip bites
    for p, q in zip(model.parameters(), twin.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


# --- evaluate ------------------------------------------------------------------------------------------------------

def _naive_eval(model: nn.Module, data: td.TrainData, batch_size: int, max_batches: int | None = None) -> dict:
    model.eval()
    mean, std = torch.tensor(data.mean).view(1, 3, 1, 1), torch.tensor(data.std).view(1, 3, 1, 1)
    loss = top1 = top5 = n = 0
    for b, start in enumerate(range(0, len(data.test), batch_size)):
        if max_batches is not None and b >= max_batches:
            break
        x = (data.test.images[start:start + batch_size].float() / 255 - mean) / std
        y = data.test.labels[start:start + batch_size]
        logits = model(x)
        loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        order = logits.argsort(1, descending=True)
        for i in range(len(y)):
            top1 += int(order[i, 0] == y[i])
            top5 += int(y[i] in order[i, :min(5, data.num_classes)])
            n += 1
    return {"test_loss": loss / max(n, 1), "test_acc": 100.0 * top1 / max(n, 1), "test_top5": 100.0 * top5 / max(n, 1),
            "test_n": n}


@pytest.mark.parametrize(("classes", "batch_size", "max_steps"), [(3, 4, None), (8, 2, None), (8, 4, 1), (3, 5, 2)])
def test_evaluate_is_the_plain_loop_over_the_test_split(classes: int, batch_size: int, max_steps: int | None) -> None:
    data = _data(test=7, classes=classes)
    torch.manual_seed(1)
    model = Tiny(classes)
    got = loop.evaluate(model, data, torch.device("cpu"), batch_size, max_steps)
    want = _naive_eval(copy.deepcopy(model), data, batch_size, max_steps)
    assert got.keys() == want.keys() and got["test_n"] == want["test_n"]
    for key in ("test_loss", "test_acc", "test_top5"):
        assert got[key] == pytest.approx(want[key], rel=1e-5)
    assert model.training  # the caller's mode is given back
    model.eval()
    loop.evaluate(model, data, torch.device("cpu"), batch_size)
    assert not model.training


def test_evaluate_of_an_empty_test_split_is_zero_over_one_image() -> None:
    data = _data(test=0)
    assert loop.evaluate(Tiny(3), data, torch.device("cpu"), 4) == \
        {"test_loss": 0.0, "test_acc": 0.0, "test_top5": 0.0, "test_n": 0}


def test_evaluate_gives_the_mode_back_when_the_model_fails() -> None:
    class Broken(Tiny):
        def forward(self, x: torch.Tensor) -> Any:
            raise RuntimeError("broken")
    model = Broken(3)
    with pytest.raises(RuntimeError):
        loop.evaluate(model, _data(), torch.device("cpu"), 4)
    assert model.training


# --- the signals of one batch --------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def python_signals() -> Any:
    """SIGINT and SIGTERM as a fresh interactive Python has them (a process started in the background ignores SIGINT;
    Ray, once started by an earlier test, leaves a SIGTERM handler), given back after."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler), signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGINT, old[0])
    signal.signal(signal.SIGTERM, old[1])


def test_ctrl_c_inside_a_batch_is_delivered_after_it() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt):
        with loop._whole_batch():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("the rest of the batch")
    assert done == ["the rest of the batch"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_inside_a_batch_reaches_its_handler_after_it_once() -> None:
    calls: list = []
    signal.signal(signal.SIGTERM, lambda signum, frame: calls.append(signum))  # the fixture puts it back
    with loop._whole_batch():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        assert calls == []
    assert calls == [signal.SIGTERM]


def test_an_ignored_ctrl_c_stays_ignored_and_a_default_one_interrupts() -> None:
    for handler, raised in ((signal.SIG_IGN, False), (signal.SIG_DFL, True)):
        signal.signal(signal.SIGINT, handler)  # the fixture puts Python's back
        if raised:
            with pytest.raises(KeyboardInterrupt):
                with loop._whole_batch():
                    os.kill(os.getpid(), signal.SIGINT)
        else:
            with loop._whole_batch():
                os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) == handler


def test_no_signal_no_change_and_the_default_sigterm_is_not_held() -> None:
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    seen: list = []
    with loop._whole_batch():
        seen.append((signal.getsignal(signal.SIGINT) is signal.default_int_handler,
                     signal.getsignal(signal.SIGTERM) == signal.SIG_DFL))
    assert seen == [(False, True)]  # SIGINT held, the default SIGTERM left alone
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_outside_the_main_thread_the_block_runs_as_it_is() -> None:
    seen: list = []

    def body() -> None:
        with loop._whole_batch():
            seen.append(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [True]


# --- start, save, resume -------------------------------------------------------------------------------------------

def test_start_checks_its_arguments(tmp_path: Path) -> None:
    assert refusal(ValueError, lambda: _run(tmp_path, max_steps=0)) == "max_steps must be >= 1 (got 0)"
    assert refusal(ValueError, lambda: _run(tmp_path, eval_every=0)) == "eval_every must be >= 1 (got 0)"
    one = _data(n=1)
    assert refusal(ValueError, lambda: _run(tmp_path, data=one)) == (
        "tiny-1 has 1 training image: the auxiliary head's BatchNorm needs batches of 2 or more; give more images, or "
        "--auxiliary-weight 0 (no auxiliary head)")
    _run(tmp_path / "ok", config=TrainConfig(auxiliary_weight=0.0, batch_size=2), data=one, max_steps=1)


def test_start_builds_the_run(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    run = _run(out, seed=5, max_steps=2, eval_every=3, lines=True)
    assert out.is_dir() and run.ckpt_path == out / "checkpoint.pt" and not run.ckpt_path.exists()
    assert (run.seed, run.max_steps, run.eval_every, run.lines, run.use_amp, run.progress) == (5, 2, 3, True, False,
                                                                                              False)
    assert run.device == torch.device("cpu") and run.genotype == GENOTYPE and run.start_epoch == run.start_step == 0
    group = run.optimizer.param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"], group["nesterov"]) == (0.1, 0.9, 1e-3, False)
    assert run.criterion.label_smoothing == 0.1 and not run.scaler.is_enabled()
    torch.manual_seed(5)  # the initial weights: the run's stream, which starts where manual_seed(seed) puts torch's
    assert torch.equal(run.model.fc.weight, Tiny(3).fc.weight)
    assert type(run.optimizer) is torch.optim.SGD


def test_start_reads_a_genotype_string(tmp_path: Path) -> None:
    run = loop._start(DARTS_V2, CONFIG, _data(), tmp_path, "cpu", 0, False, None, 1, True, False)
    assert run.genotype == GENOTYPE and run.device == torch.device("cpu")


def test_a_checkpoint_holds_where_the_run_stands(tmp_path: Path) -> None:
    run = _run(tmp_path, seed=3, max_steps=2)
    run.history, run.wall = [{"epoch": 1}], 12.5
    run.optimizer.param_groups[0]["lr"] = 0.07
    loop._save(run, 1, 0, None)
    ck = torch.load(run.ckpt_path, weights_only=True)
    assert ck["scheduler"] == {"schedule": "cosine", "last_epoch": 0, "lr": 0.07}
    assert (ck["format"], ck["epoch"], ck["step"], ck["partial"], ck["seed"], ck["data"], ck["history"],
            ck["wall_seconds"], ck["max_steps"]) == (1, 1, 0, None, 3, "tiny-10", [{"epoch": 1}], 12.5, 2)
    assert ck["genotype"] == dg.format_genotype(GENOTYPE) and ck["config"]["lr"] == 0.1
    assert torch.equal(ck["rng"]["torch"], run.rng.state()["torch"])
    assert torch.equal(ck["model"]["fc.weight"], run.model.fc.weight) and ck["optimizer"]["param_groups"]
    assert ck["scaler"] == run.scaler.state_dict()
    mark = {**run.rng.state(), "torch": torch.zeros(5, dtype=torch.uint8)}
    loop._save(run, 1, 3, {"loss": 1.0}, mark)
    ck = torch.load(run.ckpt_path, weights_only=True)
    assert ck["scheduler"]["last_epoch"] == 1 and (ck["step"], ck["partial"]) == (3, {"loss": 1.0})
    assert torch.equal(ck["rng"]["torch"], torch.zeros(5, dtype=torch.uint8))


def test_resume_loads_the_checkpoint_and_says_where(tmp_path: Path, caplog) -> None:
    run = _run(tmp_path, max_steps=2)
    with torch.no_grad():
        run.model.fc.weight.add_(1.0)
    run.history, run.wall = [{"epoch": 1}], 3.5
    loop._save(run, 1, 2, {"loss": 2.0, "correct": 1, "n": 4, "seconds": 0.5})
    with caplog.at_level(logging.INFO, logger="swapnas"):
        again = _run(tmp_path, max_steps=2)
    assert torch.equal(again.model.fc.weight, run.model.fc.weight)
    assert (again.start_epoch, again.start_step, again.partial, again.history, again.wall) == \
        (1, 2, {"loss": 2.0, "correct": 1, "n": 4, "seconds": 0.5}, [{"epoch": 1}], 3.5)
    assert torch.equal(again.rng.cpu.get_state(), run.rng.cpu.get_state())
    assert again.optimizer.state_dict()["param_groups"] == run.optimizer.state_dict()["param_groups"]
    assert [r.getMessage() for r in caplog.records] == [f"resuming {run.ckpt_path} at epoch 2 of 3 after batch 2"]
    loop._save(run, 1, 0, None)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="swapnas"):
        _run(tmp_path, max_steps=2)
    assert [r.getMessage() for r in caplog.records] == [f"resuming {run.ckpt_path} at epoch 2 of 3"]
    loop._save(run, 3, 0, None)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="swapnas"):
        _run(tmp_path, max_steps=2)
    assert [r.getMessage() for r in caplog.records] == \
        [f"{run.ckpt_path} has all 3 epochs done: nothing to train, rewriting result.json"]


def test_resume_says_so_on_stderr_with_lines(tmp_path: Path, capsys) -> None:
    run = _run(tmp_path)
    loop._save(run, 1, 0, None)
    capsys.readouterr()
    _run(tmp_path, lines=True)
    assert capsys.readouterr().err == f"resuming {run.ckpt_path} at epoch 2 of 3\n"


@pytest.mark.parametrize(("epoch", "step", "warned"), [
    (1, 0, "1 epoch(s)"), (1, 2, "1 epoch(s) and 2 batch(es)"), (0, 2, "0 epoch(s) and 2 batch(es)"), (0, 0, None)])
def test_resume_with_other_epochs_warns_that_the_schedule_changed(tmp_path: Path, caplog, epoch, step, warned) -> None:
    run = _run(tmp_path)
    loop._save(run, epoch, step, {"loss": 0.0, "correct": 0, "n": 0, "seconds": 0.0} if step else None)
    with caplog.at_level(logging.WARNING, logger="swapnas"):
        _run(tmp_path, config=TrainConfig(**{**CONFIG.__dict__, "epochs": 5}))
    expected = [] if warned is None else [
        f"resuming with --epochs 5 a run that trained {warned} on a 3-epoch schedule: the learning rate and drop-path "
        "now follow 5 epochs from here on, so the result will not equal a fresh 5-epoch run (result.json: "
        "schedule_epochs lists both)"]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == expected


def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path) -> None:
    run = _run(tmp_path)
    loop._save(run, 1, 0, None)
    assert refusal(ValueError, lambda: _run(tmp_path, seed=4)).startswith(
        f"cannot resume from {run.ckpt_path}: it belongs to a different run (--seed: checkpoint 0, asked 4)")


# --- epochs --------------------------------------------------------------------------------------------------------

def test_an_epoch_entry_evaluates_when_due(tmp_path: Path, monkeypatch) -> None:
    run = _run(tmp_path, eval_every=2, max_steps=1)
    run.model.drop_path_prob, run.step = 0.125, 3
    seen: list = []
    monkeypatch.setattr(loop, "evaluate", lambda *a: seen.append(a) or {"test_acc": 50.0})
    stats = {"loss": 6.0, "correct": 3, "n": 4}
    base = {"train_loss": 1.5, "train_acc": 75.0, "lr": 0.05, "drop_path_prob": 0.125, "steps": 3, "train_n": 4,
            "schedule_epochs": 3}
    assert loop._epoch_entry(run, 0, stats, 0.05) == {"epoch": 1, **base, "test_loss": None, "test_acc": None,
                                                      "test_top5": None, "test_n": 0}
    assert loop._epoch_entry(run, 1, stats, 0.05) == {"epoch": 2, **base, "test_acc": 50.0}
    assert loop._epoch_entry(run, 2, stats, 0.05) == {"epoch": 3, **base, "test_acc": 50.0}  # the last epoch
    assert seen == [(run.model, run.data, run.device, 4, 1, False, False)] * 2
    empty = loop._epoch_entry(run, 1, {"loss": 0.0, "correct": 0, "n": 0}, 0.05)
    assert (empty["train_loss"], empty["train_acc"], empty["train_n"]) == (0.0, 0.0, 0)


def test_the_first_diverged_epoch_is_warned_about_once(tmp_path: Path, caplog) -> None:
    run = _run(tmp_path)
    with caplog.at_level(logging.WARNING, logger="swapnas"):
        loop._warn_if_diverged(run, {"epoch": 1, "train_loss": 2.0})
        loop._warn_if_diverged(run, {"epoch": 2, "train_loss": math.nan})
        run.history = [{"train_loss": math.inf}]
        loop._warn_if_diverged(run, {"epoch": 3, "train_loss": math.nan})
        run.history = [{"train_loss": 1.0}]
        loop._warn_if_diverged(run, {"epoch": 4, "train_loss": math.inf})
    assert [r.getMessage() for r in caplog.records] == [
        f"training diverged: the train loss of epoch {e} is {v} (the run goes on, but the weights are lost; lower "
        "--lr, or keep --grad-clip > 0); history.json records it as null" for e, v in ((2, "nan"), (4, "inf"))]


def test_an_epoch_trains_its_batches_saves_and_prints(tmp_path: Path, capsys) -> None:
    run = _run(tmp_path, lines=True, max_steps=2)
    before = copy.deepcopy(run.model)
    loop._run_epoch(run, 1)
    assert run.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi / 3)))
    assert run.model.drop_path_prob == pytest.approx(0.1)
    assert not torch.equal(before.fc.weight, run.model.fc.weight)
    (entry,) = run.history
    assert (entry["epoch"], entry["steps"], entry["train_n"], entry["schedule_epochs"]) == (2, 2, 8, 3)
    assert entry["seconds"] > 0 and run.wall == pytest.approx(entry["seconds"])
    ck = torch.load(run.ckpt_path, weights_only=True)
    assert (ck["epoch"], ck["step"], ck["partial"], len(ck["history"])) == (2, 0, None, 1)
    assert json.loads((tmp_path / "history.json").read_text()) == json.loads(json.dumps(run.history))
    err = capsys.readouterr().err
    assert err == (f"epoch 2/3: train loss {entry['train_loss']:.4f}, train acc {entry['train_acc']:.2f}%, test acc "
                   f"{entry['test_acc']:.2f}%, lr {entry['lr']:.4g}, {entry['seconds']:.1f} s\n")


def test_an_epoch_without_evaluation_prints_no_test_accuracy(tmp_path: Path, capsys) -> None:
    run = _run(tmp_path, lines=True, max_steps=1, eval_every=2)
    loop._run_epoch(run, 0)
    entry = run.history[0]
    assert capsys.readouterr().err == (f"epoch 1/3: train loss {entry['train_loss']:.4f}, train acc "
                                       f"{entry['train_acc']:.2f}%, lr {entry['lr']:.4g}, {entry['seconds']:.1f} s\n")
    run.lines = False
    loop._run_epoch(run, 1)
    assert capsys.readouterr().err == ""


def test_the_batches_of_an_epoch_are_the_seeded_order_cut_at_max_steps(tmp_path: Path, monkeypatch) -> None:
    run = _run(tmp_path, seed=7, max_steps=2)
    seen: list = []
    monkeypatch.setattr(loop, "_train_batches", lambda r, epoch, batches, stats, lr: seen.append((epoch, batches)))
    monkeypatch.setattr(loop, "_epoch_entry", lambda r, e, s, lr: {"train_loss": 1.0, "test_acc": None, "epoch": 1})
    loop._run_epoch(run, 2)
    order = td._batch_indices(10, 4, True, 7, 2)
    assert seen[0][0] == 2 and [b.tolist() for b in seen[0][1]] == [b.tolist() for b in order[:2]]


def test_a_resumed_epoch_continues_its_batches_and_stats(tmp_path: Path, monkeypatch) -> None:
    run = _run(tmp_path)
    run.start_epoch, run.start_step = 1, 2
    run.partial = {"loss": 4.0, "correct": 3, "n": 8, "seconds": 1.5}
    seen: list = []

    def batches(r: loop._Run, epoch: int, b: list, stats: dict, lr: float) -> None:
        seen.append((epoch, r.step, dict(stats)))
    monkeypatch.setattr(loop, "_train_batches", batches)
    monkeypatch.setattr(loop, "_epoch_entry", lambda r, e, s, lr: {"train_loss": 1.0, "test_acc": None, "epoch": e})
    loop._run_epoch(run, 1)
    loop._run_epoch(run, 2)
    assert seen == [(1, 2, run.partial), (2, 0, {"loss": 0.0, "correct": 0, "n": 0, "seconds": 0.0})]
    assert run.history[0]["seconds"] >= 1.5 and run.partial == {"loss": 4.0, "correct": 3, "n": 8, "seconds": 1.5}
    run.start_epoch, run.start_step, run.partial = 3, 0, {"loss": 9.0}
    loop._run_epoch(run, 3)  # not resumed mid-epoch: fresh stats
    assert seen[-1] == (3, 0, {"loss": 0.0, "correct": 0, "n": 0, "seconds": 0.0})


def test_ctrl_c_saves_the_epoch_where_it_stands(tmp_path: Path, monkeypatch, capsys) -> None:
    run = _run(tmp_path, lines=True)
    mark = run.rng.state()

    def interrupted(r: loop._Run, epoch: int, batches: list, stats: dict, lr: float) -> None:
        stats.update(loss=2.0, correct=1, n=4)
        r.step, r.mark = 1, mark
        raise KeyboardInterrupt
    monkeypatch.setattr(loop, "_train_batches", interrupted)
    clock = iter([10.0, 12.5, 13.0])  # the epoch's start, then the two readings after the interrupt
    monkeypatch.setattr(loop.time, "perf_counter", lambda: next(clock))
    run.wall = 100.0
    with pytest.raises(KeyboardInterrupt):
        loop._run_epoch(run, 0)
    ck = torch.load(run.ckpt_path, weights_only=True)
    assert (ck["epoch"], ck["step"]) == (0, 1) and ck["partial"] == {"loss": 2.0, "correct": 1, "n": 4, "seconds": 2.5}
    assert ck["wall_seconds"] == 103.0 and torch.equal(ck["rng"]["torch"], mark["torch"])
    assert capsys.readouterr().err == f"interrupted: saved {run.ckpt_path} at epoch 1 after batch 1; rerun to resume\n"


def test_the_batches_count_every_image_and_mark_the_stream(tmp_path: Path) -> None:
    run = _run(tmp_path)
    stats = {"loss": 0.0, "correct": 0, "n": 0}
    batches = td._batch_indices(10, 4, True, 0, 0)
    run.model.eval()
    loop._train_batches(run, 0, batches, stats, 0.1)
    assert run.model.training and run.step == len(batches) == 3 and stats["n"] == 10 and run.mark is not None
    assert stats["loss"] > 0 and 0 <= stats["correct"] <= 10
    run.step = 1  # a resume inside the epoch: only the batches after it
    stats = {"loss": 0.0, "correct": 0, "n": 0}
    loop._train_batches(run, 0, batches, stats, 0.1)
    assert (run.step, stats["n"]) == (3, 6)


# --- the whole run -------------------------------------------------------------------------------------------------

def test_a_run_writes_its_result(tmp_path: Path) -> None:
    result = loop.train(GENOTYPE, CONFIG, _data(), tmp_path, "cpu", seed=2, progress=False, eval_every=2)
    history = json.loads((tmp_path / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3] and history[0]["test_acc"] is None
    assert result == json.loads((tmp_path / "result.json").read_text())
    assert {k: result[k] for k in ("genotype", "dataset", "data_source", "test_acc", "test_top5", "test_n", "epochs",
                                   "complete", "schedule_epochs", "max_steps", "eval_every", "seed", "device", "amp")} \
        == {"genotype": dg.format_genotype(GENOTYPE), "dataset": "tiny-10", "data_source": "made here",
            "test_acc": history[-1]["test_acc"], "test_top5": history[-1]["test_top5"], "test_n": 6, "epochs": 3,
            "complete": True, "schedule_epochs": [3], "max_steps": None, "eval_every": 2, "seed": 2, "device": "cpu",
            "amp": False}
    assert result["params_m"] == pytest.approx(147 / 1e6) and result["config"]["lr"] == 0.1
    assert result["wall_seconds"] == pytest.approx(sum(h["seconds"] for h in history))


def test_a_smoke_run_is_not_complete_and_a_cut_back_run_is_evaluated_at_its_end(tmp_path: Path) -> None:
    assert loop.train(GENOTYPE, CONFIG, _data(), tmp_path / "s", progress=False, max_steps=1)["complete"] is False
    out = tmp_path / "cut"
    loop.train(GENOTYPE, CONFIG, _data(), out, progress=False, eval_every=5)
    config = TrainConfig(**{**CONFIG.__dict__, "epochs": 4})
    loop.train(GENOTYPE, config, _data(), out, progress=False, eval_every=5)
    result = loop.train(GENOTYPE, config, _data(), out, progress=False, eval_every=5)  # all done: evaluated already
    assert result["schedule_epochs"] == [3, 4] and result["epochs"] == 4 and result["test_acc"] is not None


def test_result_of_an_old_history_without_schedules_and_an_empty_one(tmp_path: Path) -> None:
    run = _run(tmp_path)
    run.history = [{"epoch": 1, "test_acc": 1.0}, {"epoch": 2, "schedule_epochs": 3}, {"epoch": 3,
                                                                                       "schedule_epochs": 3}]
    assert loop._finish(run)["schedule_epochs"] == [3]
    run.history = []
    result = loop._finish(run)
    assert (result["test_acc"], result["test_top5"], result["test_n"], result["epochs"], result["complete"]) == \
        (None, None, None, 0, False)


def test_cutout_on_an_image_folder_is_warned_about(tmp_path: Path, caplog, monkeypatch) -> None:
    monkeypatch.setattr(loop, "_run_epoch", lambda run, epoch: None)
    for data, warned in ((_data(augment="folder"), True), (_data(), False)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="swapnas"):
            loop.train(GENOTYPE, TrainConfig(**{**CONFIG.__dict__, "cutout": 8}), data, tmp_path / str(warned),
                       progress=False)
        assert [r.getMessage() for r in caplog.records] == ([
            "--cutout 8 is ignored on image folders (ImageNet: random-resized-crop and flip only); it applies to "
            "32-px CIFAR and --synthetic data"] if warned else [])


def test_lines_follow_progress_unless_given(tmp_path: Path, monkeypatch) -> None:
    seen: list = []
    real = loop._start
    monkeypatch.setattr(loop, "_start", lambda *a: seen.append(a[-1]) or real(*a))
    monkeypatch.setattr(loop, "_run_epoch", lambda run, epoch: None)
    loop.train(GENOTYPE, CONFIG, _data(), tmp_path / "a", progress=False)
    loop.train(GENOTYPE, CONFIG, _data(), tmp_path / "b", progress=True)
    loop.train(GENOTYPE, CONFIG, _data(), tmp_path / "c", progress=True, lines=False)
    assert seen == [False, True, False]


# --- what each part is given (from the survivors of the first pass) -----------------------------------------------

class Bar:
    """tqdm's stand-in: records its keywords, the postfixes and the close; iterates over what it wraps."""

    made: list = []

    def __init__(self, iterable: Any, **kw: Any) -> None:
        self.iterable, self.kw, self.postfix, self.closed = iterable, kw, [], False
        Bar.made.append(self)

    def __iter__(self) -> Any:
        return iter(self.iterable)

    def set_postfix(self, **kw: Any) -> None:
        self.postfix.append(kw)

    def close(self) -> None:
        self.closed = True

    @staticmethod
    def write(msg: str, file: Any = None) -> None:  # tqdm.write: a line above the bars
        print(msg, file=file)


@pytest.fixture
def bars(monkeypatch) -> list:
    Bar.made = []
    monkeypatch.setattr(loop, "Bar", Bar)
    return Bar.made


def test_the_training_batches_come_from_the_runs_stream_with_a_bar(tmp_path: Path, monkeypatch, bars) -> None:
    run = _run(tmp_path, progress=True)
    run.step = 1
    seen: list = []
    pairs = [(torch.zeros(2, 3, 4, 4), torch.tensor([0, 1])), (torch.zeros(3, 3, 4, 4), torch.tensor([0, 1, 2]))]

    def batches(*a: Any) -> Any:
        seen.append(a)
        return iter(pairs)
    steps = iter([(1.5, 1), (0.5, 3)])
    monkeypatch.setattr(loop, "_batches", batches)
    monkeypatch.setattr(loop, "_train_step", lambda *a: next(steps))
    order = [torch.tensor([0, 1]), torch.tensor([2, 3]), torch.tensor([4, 5, 6])]
    stats = {"loss": 10.0, "correct": 2, "n": 4}
    loop._train_batches(run, 1, order, stats, 0.0123456)
    assert len(seen) == 1 and seen[0][:3] == (run.data, run.data.train, order[1:])
    assert seen[0][3:] == (True, run.device, 0, run.rng)
    assert stats == {"loss": 10.0 + 1.5 * 2 + 0.5 * 3, "correct": 6, "n": 9} and run.step == 3
    (bar,) = bars
    assert bar.kw == {"total": 3, "initial": 1, "desc": "epoch 2/3", "disable": False, "leave": False,
                      "mininterval": bar_interval()}  # (since session 58)
    # (refresh=False: drawn at the bar's own interval, not at each batch; session 62)
    assert bar.postfix == [{"loss": f"{13.0 / 6:.3f}", "acc": f"{100 * 3 / 6:.1f}", "lr": "0.01235", "refresh": False},
                           {"loss": f"{14.5 / 9:.3f}", "acc": f"{100 * 6 / 9:.1f}", "lr": "0.01235", "refresh": False}]
    assert bar.closed and run.mark is not None
    run.progress, run.step = False, 0
    steps = iter([(1.0, 1), (1.0, 1)])
    loop._train_batches(run, 0, order, {"loss": 0.0, "correct": 0, "n": 0}, 0.1)
    assert bars[1].kw["disable"] is True and bars[1].kw["desc"] == "epoch 1/3"


def test_evaluation_reads_the_test_split_in_order_with_its_own_stream(monkeypatch, bars) -> None:
    data = _data(test=7)
    seen: list = []
    real = td._batches

    def batches(*a: Any) -> Any:
        seen.append(a)
        return real(*a)
    monkeypatch.setattr(loop, "_batches", batches)
    loop.evaluate(Tiny(3), data, torch.device("cpu"), 3)
    (d, split, order, train, device, cutout, rng), = seen
    assert (d, split, train, device, cutout) == (data, data.test, False, torch.device("cpu"), 0)
    assert [b.tolist() for b in order] == [[0, 1, 2], [3, 4, 5], [6]]
    assert isinstance(rng, loop.RunRng) and torch.equal(rng.cpu.get_state(), loop.RunRng(0, device).cpu.get_state())
    assert bars[0].kw == {"total": 3, "desc": "  test", "disable": True, "leave": False, "mininterval": bar_interval()}
    mine = loop.RunRng(5, torch.device("cpu"))
    loop.evaluate(Tiny(3), data, torch.device("cpu"), 3, 2, progress=True, rng=mine)
    assert seen[1][6] is mine and len(seen[1][2]) == 2 and bars[1].kw["disable"] is False


class Fixed(nn.Module):
    """Logits that rank class 2 first, class 0 second, then the rest."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.classes = classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        row = torch.arange(self.classes, 0, -1, dtype=torch.float32) - 10
        row[2], row[0] = 5.0, 4.0
        return row.expand(len(x), -1).clone()


def test_evaluation_counts_the_first_and_the_first_five_guesses() -> None:
    data = _data(test=4, classes=8)
    data.test.labels = torch.tensor([2, 0, 7, 1])  # first; second; last (8th); third
    got = loop.evaluate(Fixed(8), data, torch.device("cpu"), 3)
    assert (got["test_acc"], got["test_top5"], got["test_n"]) == (25.0, 75.0, 4)
    one = _data(test=1, classes=8)
    one.test.labels = torch.tensor([2])
    got = loop.evaluate(Fixed(8), one, torch.device("cpu"), 3)
    assert (got["test_acc"], got["test_top5"], got["test_n"]) == (100.0, 100.0, 1)
    assert got["test_loss"] == pytest.approx(float(nn.functional.cross_entropy(Fixed(8)(torch.zeros(1)),
                                                                               torch.tensor([2]))))


def test_an_ignored_ctrl_c_does_not_stop_a_held_sigterm() -> None:
    calls: list = []
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # both put back by the fixture
    signal.signal(signal.SIGTERM, lambda signum, frame: calls.append(signum))
    with loop._whole_batch():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
    assert calls == [signal.SIGTERM]


def test_start_builds_the_spaces_network_for_the_data(tmp_path: Path, monkeypatch) -> None:
    seen: list = []
    monkeypatch.setattr(loop, "build_model", lambda *a: seen.append(a) or Tiny(3))
    data = _data(n=2)  # two images: enough for the auxiliary head
    run = _run(tmp_path, data=data)
    assert seen == [(GENOTYPE, CONFIG, "cifar10", 3)] and run.data is data


def test_start_moves_the_model_and_in_memory_data_to_the_device(tmp_path: Path) -> None:
    data = _data()
    run = loop._start(GENOTYPE, CONFIG, data, tmp_path, "meta", 0, False, None, 1, True, False)
    assert run.device == torch.device("meta") and run.model.fc.weight.device.type == "meta"
    assert data.train.images.device.type == "meta" and data.test.images.device.type == "meta"


def test_start_leaves_an_image_folder_beside_a_tensor_split_where_it_is(tmp_path: Path) -> None:
    data = _data()
    folder = td.FolderSplit([], [], train=True)
    data.train = folder
    run = loop._start(GENOTYPE, TrainConfig(auxiliary_weight=0.0), data, tmp_path, "meta", 0, False, None, 1, True,
                      False)
    assert run.data.train is folder and run.data.test.images.device.type == "cpu"


def test_an_epoch_of_one_image_and_an_evaluation_every_third_epoch(tmp_path: Path, monkeypatch) -> None:
    run = _run(tmp_path, config=TrainConfig(**{**CONFIG.__dict__, "epochs": 5}), eval_every=3)
    monkeypatch.setattr(loop, "evaluate", lambda *a: {"test_acc": 1.0})
    entries = [loop._epoch_entry(run, e, {"loss": 0.75, "correct": 1, "n": 1}, 0.1) for e in range(5)]
    assert [e["test_acc"] for e in entries] == [None, None, 1.0, None, 1.0]
    assert (entries[0]["train_loss"], entries[0]["train_acc"]) == (0.75, 100.0)


def test_an_epoch_resumed_after_its_first_batch_goes_on_from_it(tmp_path: Path, monkeypatch) -> None:
    run = _run(tmp_path)
    run.start_epoch, run.start_step, run.partial = 0, 1, {"loss": 1.0, "correct": 1, "n": 4, "seconds": 0.5}
    seen: list = []
    monkeypatch.setattr(loop, "_train_batches", lambda r, e, b, stats, lr: seen.append((r.step, dict(stats))))
    monkeypatch.setattr(loop, "_epoch_entry", lambda r, e, s, lr: {"train_loss": 1.0, "test_acc": None, "epoch": 1})
    loop._run_epoch(run, 0)
    assert seen == [(1, {"loss": 1.0, "correct": 1, "n": 4, "seconds": 0.5})]


def test_ctrl_c_in_a_resumed_epoch_keeps_its_seconds_and_the_mark(tmp_path: Path, monkeypatch) -> None:
    run = _run(tmp_path)
    run.start_epoch, run.start_step, run.partial = 0, 1, {"loss": 1.0, "correct": 1, "n": 4, "seconds": 4.0}
    other = loop.RunRng(99, torch.device("cpu")).state()  # a mark unlike the stream's state now

    def interrupted(r: loop._Run, epoch: int, batches: list, stats: dict, lr: float) -> None:
        r.mark = other
        raise KeyboardInterrupt
    monkeypatch.setattr(loop, "_train_batches", interrupted)
    clock = iter([0.0, 1.0, 1.5])
    monkeypatch.setattr(loop.time, "perf_counter", lambda: next(clock))
    with pytest.raises(KeyboardInterrupt):
        loop._run_epoch(run, 0)
    ck = torch.load(run.ckpt_path, weights_only=True)
    assert ck["partial"]["seconds"] == 5.0 and ck["step"] == 1 and torch.equal(ck["rng"]["torch"], other["torch"])


def test_an_epoch_takes_its_seconds_from_the_clock_and_warns_when_it_diverged(tmp_path: Path, monkeypatch,
                                                                             caplog) -> None:
    run = _run(tmp_path)
    run.wall = 10.0
    monkeypatch.setattr(loop, "_train_batches", lambda *a: None)
    monkeypatch.setattr(loop, "_epoch_entry", lambda r, e, s, lr: {"train_loss": math.nan, "test_acc": None,
                                                                   "epoch": e + 1})
    clock = iter([100.0, 102.5])
    monkeypatch.setattr(loop.time, "perf_counter", lambda: next(clock))
    with caplog.at_level(logging.WARNING, logger="swapnas"):
        loop._run_epoch(run, 0)
    assert run.history[0]["seconds"] == 2.5 and run.wall == 12.5
    assert [r.getMessage()[:51] for r in caplog.records] == ["training diverged: the train loss of epoch 1 is nan"]


def test_a_run_cut_back_to_an_epoch_without_evaluation_is_evaluated_and_saved(tmp_path: Path, bars) -> None:
    long = TrainConfig(**{**CONFIG.__dict__, "epochs": 5})
    run = _run(tmp_path, config=long, eval_every=2, max_steps=1)
    for epoch in range(3):
        loop._run_epoch(run, epoch)
    assert [h["test_acc"] is None for h in run.history] == [True, False, True]
    second = dict(run.history[1])
    short = TrainConfig(**{**CONFIG.__dict__, "epochs": 3})
    result = loop.train(GENOTYPE, short, _data(), tmp_path, progress=True, eval_every=2, max_steps=1)
    want = _naive_eval(copy.deepcopy(run.model), _data(), 4, max_batches=1)  # --max-steps 1: one test batch
    assert result["test_acc"] == pytest.approx(want["test_acc"]) and result["test_n"] == 4 and result["epochs"] == 3
    ck = torch.load(run.ckpt_path, weights_only=True)
    assert (ck["epoch"], ck["step"], ck["partial"]) == (3, 0, None)
    assert ck["history"][-1]["test_loss"] == pytest.approx(want["test_loss"], rel=1e-5)
    assert ck["history"][1] == second and ck["history"][0]["test_acc"] is None  # the earlier epochs as they were
    assert json.loads((tmp_path / "history.json").read_text())[-1]["test_top5"] == pytest.approx(want["test_top5"])
    assert bars[-1].kw == {"total": 1, "desc": "  test", "disable": False, "leave": False,
                           "mininterval": bar_interval()}  # with the run's bars


def test_train_defaults_and_its_lock(tmp_path: Path, monkeypatch) -> None:
    seen: list = []
    real = loop._start
    monkeypatch.setattr(loop, "_start", lambda *a: seen.append(a[4:]) or real(*a))
    monkeypatch.setattr(loop, "_run_epoch", lambda run, epoch: None)
    loop.train(GENOTYPE, CONFIG, _data(), tmp_path / "d")
    assert seen == [("cpu", 0, True, None, 1, True, True)]
    with lock_in_thread(tmp_path / "d", "train"):
        assert refusal(ValueError, lambda: loop.train(GENOTYPE, CONFIG, _data(), tmp_path / "d", progress=False)) \
            .startswith(f"another swapnas train is using {tmp_path / 'd'} (another thread of this process")


@pytest.mark.parametrize(("cutout", "warned"), [(0, False), (1, True)])
def test_the_cutout_warning_at_its_edges(tmp_path: Path, caplog, monkeypatch, cutout: int, warned: bool) -> None:
    monkeypatch.setattr(loop, "_run_epoch", lambda run, epoch: None)
    with caplog.at_level(logging.WARNING, logger="swapnas"):
        loop.train(GENOTYPE, TrainConfig(**{**CONFIG.__dict__, "cutout": cutout}), _data(augment="folder"), tmp_path,
                   progress=False)
    assert len(caplog.records) == int(warned)


def test_finish_writes_the_history_and_reads_the_last_epoch(tmp_path: Path) -> None:
    run = _run(tmp_path)
    run.history = [{"epoch": 1, "test_acc": 1.0, "test_top5": 2.0, "test_n": 3, "schedule_epochs": 3},
                   {"epoch": 2, "test_acc": 4.0, "test_top5": 5.0, "test_n": 6, "schedule_epochs": 3}]
    result = loop._finish(run)
    assert (result["test_acc"], result["test_top5"], result["test_n"]) == (4.0, 5.0, 6)
    assert json.loads((tmp_path / "history.json").read_text()) == run.history
