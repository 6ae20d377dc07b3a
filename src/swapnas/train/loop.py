"""The training loop of ``swapnas train``: start or resume a run, train epoch by epoch, evaluate, write the result.

:func:`train` seeds nothing global: the run's randomness comes from a :class:`~swapnas.train.rng.RunRng`
built from ``seed`` (see :mod:`swapnas.train.rng`), so the caller's torch, Python and NumPy
generators are the same after the call as before it, and a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..spaces.darts_genotype import Genotype, format_genotype
from ..devices import checked, without_autocast
from ..files import out_lock, write_atomic
from ..progress import Bar, bar_interval
from ..results import provenance
from ..stops import STOP_SIGNALS
from .checkpoint import CHECKPOINT_FORMAT, check_resume, load_checkpoint, load_states, write_json
from .data import TensorSplit, TrainData, _batch_indices, _batches
from .recipe import (
    TrainConfig,
    build_model,
    count_params_m,
    drop_path_at,
    load_genotype,
    lr_at,
)
from .rng import RunRng

log = logging.getLogger(__name__)


def grad_scaler(enabled: bool) -> torch.amp.GradScaler:
    """The CUDA gradient scaler: ``torch.amp.GradScaler("cuda")``, or in torch 2.2, which has no
    ``torch.amp.GradScaler``, ``torch.cuda.amp.GradScaler`` (until session 54 every run stopped there)."""
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


@dataclass
class _Run:
    """One run's settings, model and optimiser, and where it stands (what a checkpoint saves)."""

    genotype: Genotype
    config: TrainConfig
    data: TrainData
    out: Path
    device: torch.device
    seed: int
    progress: bool
    max_steps: int | None
    eval_every: int
    use_amp: bool
    rng: RunRng
    model: Any  # a DARTS network (nn.Module with a settable drop_path_prob)
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    criterion: nn.Module
    history: list[dict] = field(default_factory=list)
    start_epoch: int = 0
    start_step: int = 0  # batches of start_epoch already done (a mid-epoch checkpoint)
    partial: dict | None = None  # the stats of those batches
    wall: float = 0.0
    step: int = 0  # batches of the current epoch done
    mark: dict | None = None  # the RNG state before the batch in progress: what a Ctrl-C checkpoint saves
    lines: bool = False  # the resume note and one line per epoch on stderr (else log.info), bars or not

    @property
    def ckpt_path(self) -> Path:
        return self.out / "checkpoint.pt"

    def say(self, msg: str) -> None:
        if self.lines:  # through tqdm: a line said while a bar is drawn goes above it, not onto it (session 53)
            Bar.write(msg, file=sys.stderr)
        else:
            log.info(msg)


# ----------------------------------------------------------------------------- start, resume, save


#: the files a run writes in OUT (each through a temporary file beside it)
_WRITTEN = ("checkpoint.pt", "history.json", "result.json")


def _start(genotype: Genotype | str, config: TrainConfig, data: TrainData, out: str | os.PathLike,
           device: str | torch.device, seed: int, progress: bool, max_steps: int | None, eval_every: int,
           amp: bool, lines: bool) -> _Run:
    """Check the arguments, build the model and optimiser, resume from ``out/checkpoint.pt`` if present."""
    if isinstance(genotype, str):
        genotype = load_genotype(genotype)
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be >= 1 (got {max_steps})")
    if eval_every < 1:
        raise ValueError(f"eval_every must be >= 1 (got {eval_every})")
    if config.auxiliary_weight > 0 and len(data.train) < 2:
        raise ValueError(f"{data.name} has {len(data.train)} training image: the auxiliary head's BatchNorm needs "
                         "batches of 2 or more; give more images, or --auxiliary-weight 0 (no auxiliary head)")
    device = checked(torch.device(device))  # (session 67: torch's assertion in RunRng for a CUDA this machine lacks)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    use_amp = amp and device.type == "cuda"
    rng = RunRng(seed, device)
    with rng.installed():  # nn.Module constructors draw the initial weights from the global generator
        model = build_model(genotype, config, data.dataset, data.num_classes)
    model = model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=False)
    run = _Run(genotype, config, data, out, device, seed, progress, max_steps, eval_every, use_amp, rng, model,
               optimizer, grad_scaler(use_amp),
               nn.CrossEntropyLoss(label_smoothing=config.label_smoothing), lines=lines)
    for stale in (p for name in _WRITTEN for p in out.glob(f".{name}.*.tmp")):  # a write killed part-way (kill -9):
        stale.unlink(missing_ok=True)  # OUT's lock is this run's, so no other writer's (session 62: they stayed)
    if run.ckpt_path.exists():
        _resume(run)
    else:  # a fresh start: an earlier run's outputs, its checkpoint deleted, would stand beside this run's until it
        for name in ("result.json", "history.json"):  # ends (session 62: result.json of lr 0.025 beside lr 0.05's)
            (out / name).unlink(missing_ok=True)
    if isinstance(data.train, TensorSplit) and isinstance(data.test, TensorSplit):  # both, from one loader
        data.train, data.test = data.train.to(device), data.test.to(device)
    return run


def _resume(run: _Run) -> None:
    """Load ``run.ckpt_path`` (after checking it is the same run) into ``run``."""
    ckpt = load_checkpoint(run.ckpt_path)
    check_resume(ckpt, run.ckpt_path, run.genotype, run.config, run.data, run.seed, run.max_steps)
    load_states(ckpt, run.ckpt_path, run.model, run.optimizer, run.scaler if run.use_amp else None, run.rng)
    run.start_epoch, run.start_step, run.partial = ckpt["epoch"], ckpt["step"], ckpt["partial"]
    run.history, run.wall = ckpt["history"], ckpt["wall_seconds"]
    epochs = run.config.epochs
    if run.start_epoch == epochs:
        run.say(f"{run.ckpt_path} has all {epochs} epochs done: nothing to train, rewriting result.json")
    else:
        # "after batch N", as the interrupt said it (session 53: "batch 17" of a 16-batch epoch, saved after its last)
        where = f"epoch {run.start_epoch + 1} of {epochs}" + (
            f" after batch {run.start_step}" if run.start_step else "")
        run.say(f"resuming {run.ckpt_path} at {where}")  # (it read "batch 7 of 3", the epochs after the batch)
        before = ckpt["config"].get("epochs")
        if before != epochs and (run.start_epoch or run.start_step):
            log.warning("resuming with --epochs %d a run that trained %s on a %s-epoch schedule: the learning rate "
                        "and drop-path now follow %d epochs from here on, so the result will not equal a fresh "
                        "%d-epoch run (result.json: schedule_epochs lists both)", epochs,
                        f"{run.start_epoch} epoch(s)" + (f" and {run.start_step} batch(es)" if run.start_step else ""),
                        before, epochs, epochs)


def _save(run: _Run, epoch: int, step: int, stats: dict | None, rng: dict | None = None) -> None:
    """Write ``checkpoint.pt``: ``epoch`` epochs and ``step`` batches of the next done; ``rng`` defaults to now."""
    state = {
        "format": CHECKPOINT_FORMAT, "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
        "scheduler": {"schedule": run.config.schedule, "last_epoch": epoch - 1 if step == 0 else epoch,
                      "lr": run.optimizer.param_groups[0]["lr"]},
        "scaler": run.scaler.state_dict(), "epoch": epoch, "step": step, "partial": stats,
        "rng": rng or run.rng.state(), "config": asdict(run.config), "genotype": format_genotype(run.genotype),
        "data": run.data.name, "seed": run.seed, "history": run.history, "wall_seconds": run.wall,
        "max_steps": run.max_steps,
    }
    saved = _serialised(state)
    write_atomic(run.ckpt_path, lambda f: f.write(saved))


def _serialised(state: dict) -> memoryview:
    """``torch.save`` of ``state``, in memory: its zip writer turns whatever a file's ``write`` raises into a
    RuntimeError (session 62: a full disk or ``ulimit -f`` ended the run in "unexpected pos …", exit 1, and a Ctrl-C
    during the save in a traceback), so the file is written by :func:`write_atomic`, whose errors name it. An
    interrupt inside the save is raised as itself."""
    buffer = io.BytesIO()
    try:
        torch.save(state, buffer)
    except RuntimeError as exc:
        if isinstance(inner := exc.__cause__ or exc.__context__, KeyboardInterrupt):
            raise inner from None
        raise
    return buffer.getbuffer()


# ----------------------------------------------------------------------------- steps


def _forward_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, criterion: nn.Module,
                  aux_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    out = model(x)
    logits, aux = out if isinstance(out, tuple) else (out, None)
    loss = criterion(logits, y)
    if aux is not None:
        loss = loss + aux_weight * criterion(aux, y)
    return loss, logits


def _amp(device: torch.device, use_amp: bool) -> contextlib.AbstractContextManager:
    """float16 autocast on ``device`` when ``use_amp``; else every autocast off, a caller's too, on the device types
    this torch can set up (session 67: torch 2.2-2.4 refuse an autocast of device type ``mps``, even a disabled one)."""
    return torch.autocast(device_type=device.type, dtype=torch.float16) if use_amp else without_autocast()


def _train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
                scaler: torch.amp.GradScaler, criterion: nn.Module, config: TrainConfig,
                use_amp: bool) -> tuple[float, int]:
    """One SGD step; returns (objective, correct predictions of the main head)."""
    optimizer.zero_grad(set_to_none=True)
    with _amp(x.device, use_amp):
        loss, logits = _forward_loss(model, x, y, criterion, config.auxiliary_weight)
    scaler.scale(loss).backward()
    if config.grad_clip > 0:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return loss.item(), int((logits.argmax(1) == y).sum().item())


@torch.no_grad()
def evaluate(model: nn.Module, data: TrainData, device: torch.device, batch_size: int,
             max_steps: int | None = None, use_amp: bool = False, progress: bool = False, *,
             rng: RunRng | None = None) -> dict:
    """Test loss (plain cross-entropy), top-1 and top-5 accuracy (%) and the number of images seen, in
    eval mode (the model's mode is given back after).

    ``rng`` seeds the image-folder loader (its only draw: the workers' base seed; the test transforms are
    fixed); None: a private stream of seed 0, so evaluating draws neither from the global generators nor
    from a run's stream (a run's training does not depend on how often it evaluates: ``--eval-every``).
    """
    rng = rng or RunRng(0, torch.device("cpu"))
    was_training = model.training
    model.eval()
    batches = _batch_indices(len(data.test), batch_size, False, 0, 0)[:max_steps]
    criterion = nn.CrossEntropyLoss(reduction="sum")
    loss = top1 = top5 = n = 0.0
    k = min(5, data.num_classes)
    source = _batches(data, data.test, batches, False, device, 0, rng)  # closed in `finally`: its loader's workers
    try:  # stop with it (session 66: a kept error kept them running)
        for x, y in Bar(source, total=len(batches),
                        desc="  test", disable=not progress, leave=False, mininterval=bar_interval()):
            with _amp(device, use_amp):
                logits = model(x)
            logits = logits.float()
            loss += criterion(logits, y).item()
            top = logits.topk(k, dim=1).indices
            top1 += (top[:, 0] == y).sum().item()
            top5 += (top == y[:, None]).any(1).sum().item()
            n += len(y)
    finally:
        getattr(source, "close", lambda: None)()  # (a generator's; a plain iterator has none)
        model.train(was_training)  # the caller's mode, as before the call
    seen, n = int(n), max(n, 1)  # no test image: 0 seen, and the figures 0 (not 0 / 0)
    return {"test_loss": loss / n, "test_acc": 100.0 * top1 / n, "test_top5": 100.0 * top5 / n, "test_n": seen}


# ----------------------------------------------------------------------------- epochs


@contextlib.contextmanager
def _whole_batch() -> Iterator[None]:
    """Ctrl-C (SIGINT), SIGTERM and SIGHUP (:data:`~swapnas.stops.STOP_SIGNALS`) inside the block are held until the
    block ends, then delivered to the handler they would have reached (SIGINT: KeyboardInterrupt; SIGTERM, SIGHUP:
    the handler ``swapnas`` installs, which raises KeyboardInterrupt): a batch is applied whole (weights, optimiser,
    BatchNorm statistics, step count) or not at all, so the checkpoint saved on the interrupt resumes to the
    uninterrupted run. SIGTERM and SIGHUP are held only where a Python handler is installed (with the default one the
    process ends at once, as it would anyway). Outside the main thread (where Python delivers no signal) the block
    runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[signal.Signals] = []
    hold = [signal.SIGINT, *(s for s in STOP_SIGNALS if callable(signal.getsignal(s)))]  # (SIGHUP too: session 58)
    previous = {sig: signal.signal(sig, lambda signum, frame: held.append(signal.Signals(signum))) for sig in hold}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for sig in dict.fromkeys(held):  # each held signal once, in the order it came
        handler = previous[sig]
        if handler == signal.SIG_IGN:
            continue
        if not callable(handler):  # SIGINT set to SIG_DFL (or by C code): a KeyboardInterrupt, as before
            raise KeyboardInterrupt
        handler(sig, None)


def _train_batches(run: _Run, epoch: int, batches: list[torch.Tensor], stats: dict, lr: float) -> None:
    """Train on ``batches[run.step:]``, adding to ``stats``; ``run.step`` and ``run.mark`` follow each batch."""
    run.model.train()
    source = _batches(run.data, run.data.train, batches[run.step:], True, run.device, run.config.cutout, run.rng)
    bar = Bar(source, total=len(batches), initial=run.step, desc=f"epoch {epoch + 1}/{run.config.epochs}",
              disable=not run.progress, leave=False, mininterval=bar_interval())
    batch_iter = iter(bar)
    try:  # (closed on a Ctrl-C too: session 66, a notebook's next run drew its bars under the stale one)
        while True:
            run.mark = run.rng.state()  # before the batch's augmentation: a resume repeats it exactly
            try:
                x, y = next(batch_iter)
            except StopIteration:
                break
            with _whole_batch():
                with run.rng.installed():  # drop-path draws from the global generator in the forward pass
                    loss, correct = _train_step(run.model, x, y, run.optimizer, run.scaler, run.criterion, run.config,
                                                run.use_amp)
                stats["loss"] += loss * len(y)
                stats["correct"] += correct
                stats["n"] += len(y)
                run.step += 1
                run.mark = None  # a Ctrl-C held to here saves the RNG state after this batch
            bar.set_postfix(loss=f"{stats['loss'] / stats['n']:.3f}",  # drawn at the bar's own interval
                            acc=f"{100 * stats['correct'] / stats['n']:.1f}", lr=f"{lr:.4g}",
                            refresh=False)  # (session 62: each batch)
    finally:  # (the source closed too: its loader's workers stop with it, session 66)
        bar.close()
        getattr(source, "close", lambda: None)()  # (a generator's; a plain iterator has none)


def _epoch_entry(run: _Run, epoch: int, stats: dict, lr: float) -> dict:
    """The epoch's history entry (without seconds), evaluating on the test split when it is due."""
    entry = {"epoch": epoch + 1, "train_loss": stats["loss"] / max(stats["n"], 1),
             "train_acc": 100.0 * stats["correct"] / max(stats["n"], 1), "lr": lr,
             "drop_path_prob": run.model.drop_path_prob, "steps": run.step, "train_n": stats["n"],
             "schedule_epochs": run.config.epochs}
    if (epoch + 1) % run.eval_every == 0 or epoch + 1 == run.config.epochs:
        entry.update(evaluate(run.model, run.data, run.device, run.config.batch_size, run.max_steps, run.use_amp,
                              run.progress))  # its own loader stream: the run's is left for training
    else:
        entry.update({"test_loss": None, "test_acc": None, "test_top5": None, "test_n": 0})
    return entry


def _warn_if_diverged(run: _Run, entry: dict) -> None:
    """A warning at the first epoch whose training loss is not finite (the run goes on: NaN stays NaN)."""
    if math.isfinite(entry["train_loss"]) or (run.history and not math.isfinite(run.history[-1]["train_loss"])):
        return
    log.warning("training diverged: the train loss of epoch %d is %s (the run goes on, but the weights are "
                "lost; lower --lr, or keep --grad-clip > 0); history.json records it as null", entry["epoch"],
                entry["train_loss"])


def _run_epoch(run: _Run, epoch: int) -> None:
    """Train (the rest of) ``epoch``, evaluate, append to the history, save; on Ctrl-C save where it stands."""
    config = run.config
    lr = lr_at(config, epoch)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    run.model.drop_path_prob = drop_path_at(config, epoch)
    resumed = epoch == run.start_epoch and run.start_step > 0
    run.step = run.start_step if resumed else 0
    stats = dict(run.partial) if resumed and run.partial else {"loss": 0.0, "correct": 0, "n": 0, "seconds": 0.0}
    batches = _batch_indices(len(run.data.train), config.batch_size, True, run.seed, epoch)[:run.max_steps]
    t0 = time.perf_counter()
    run.mark = None
    try:
        _train_batches(run, epoch, batches, stats, lr)
        run.mark = run.rng.state()
        entry = _epoch_entry(run, epoch, stats, lr)
    except KeyboardInterrupt:
        stats["seconds"] += time.perf_counter() - t0
        run.wall += time.perf_counter() - t0
        _save(run, epoch, run.step, stats, run.mark)
        run.say(f"interrupted: saved {run.ckpt_path} at epoch {epoch + 1} after batch {run.step}; rerun to resume")
        raise
    seconds = time.perf_counter() - t0
    run.wall += seconds
    entry["seconds"] = stats["seconds"] + seconds
    _warn_if_diverged(run, entry)
    run.history.append(entry)
    _save(run, epoch + 1, 0, None)
    write_json(run.out / "history.json", run.history)
    if run.lines or log.isEnabledFor(logging.INFO):  # (without lines: log.info; session 66, it said none)
        test = f", test acc {entry['test_acc']:.2f}%" if entry["test_acc"] is not None else ""
        run.say(f"epoch {epoch + 1}/{config.epochs}: train loss {entry['train_loss']:.4f}, "
                f"train acc {entry['train_acc']:.2f}%{test}, lr {lr:.4g}, {entry['seconds']:.1f} s")


def _finish(run: _Run) -> dict:
    """Write ``history.json`` and ``result.json``; return the result."""
    write_json(run.out / "history.json", run.history)
    last = run.history[-1] if run.history else {}
    result = {
        "genotype": format_genotype(run.genotype),
        "dataset": run.data.name,
        "data_source": run.data.source,
        "test_acc": last.get("test_acc"),
        "test_top5": last.get("test_top5"),
        "test_n": last.get("test_n"),
        "params_m": count_params_m(run.model),
        "epochs": len(run.history),
        "wall_seconds": run.wall,
        "complete": run.max_steps is None and len(run.history) == run.config.epochs,
        # the --epochs whose schedule each epoch ran on, in order (more than one: a run extended on resume; an
        # epoch of a checkpoint written before session 26 has none)
        # (each change kept: 4, 6, then 4 again is [4, 6, 4]; session 62: a set of them said [4, 6])
        "schedule_epochs": [k for k, _ in itertools.groupby(h["schedule_epochs"] for h in run.history
                                                            if "schedule_epochs" in h)],
        "max_steps": run.max_steps,
        "eval_every": run.eval_every,
        "seed": run.seed,
        "device": str(run.device),
        "amp": run.use_amp,
        "config": asdict(run.config),
        "provenance": provenance(threads=torch.get_num_threads()),  # (session 68: the CPU's sums depend on them)
    }
    write_json(run.out / "result.json", result)
    return result


def train(genotype: Genotype | str, config: TrainConfig, data: TrainData, out: str | os.PathLike,
          device: str | torch.device = "cpu", seed: int = 0, progress: bool = True, *,
          max_steps: int | None = None, eval_every: int = 1, amp: bool = True, lines: bool | None = None) -> dict:
    """Train ``genotype`` with ``config`` on ``data``, resuming from ``out/checkpoint.pt`` if present.

    Writes ``checkpoint.pt`` and ``history.json`` after every epoch and ``result.json`` at the end;
    returns the result dict (``test_acc`` is the final epoch's test accuracy in %). On Ctrl-C a
    checkpoint of the current (mid-epoch) state is saved, then KeyboardInterrupt propagates. ``out`` is locked
    (``out/.lock``, as a search's) while the run lasts: a second run on it is refused with a ValueError.
    ``progress``: tqdm bars; ``lines``: the resume note and one summary line per epoch on stderr (None: as
    ``progress``; else they go to ``log.info``). All randomness comes from ``seed`` through a :class:`RunRng`; the caller's global generators
    (torch CPU and CUDA, ``random``, NumPy) are left as they were, and no cuDNN flag is set.
    """
    with out_lock(Path(out), "train"):  # OUT is this run's until it returns; a second run on it fails at once
        run = _start(genotype, config, data, out, device, seed, progress, max_steps, eval_every, amp,
                     progress if lines is None else lines)
        if config.cutout > 0 and data.augment == "folder":
            log.warning("--cutout %d is ignored on image folders (ImageNet: random-resized-crop and flip only); "
                        "it applies to 32-px CIFAR and --synthetic data", config.cutout)
        for epoch in range(run.start_epoch, config.epochs):
            _run_epoch(run, epoch)
        if run.history and run.history[-1]["test_acc"] is None:  # --epochs cut back to an epoch --eval-every skipped
            run.history[-1].update(evaluate(run.model, run.data, run.device, config.batch_size, run.max_steps,
                                            run.use_amp, run.progress))
            _save(run, len(run.history), 0, None)
        return _finish(run)
