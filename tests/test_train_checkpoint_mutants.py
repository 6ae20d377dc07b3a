"""``swapnas train``'s checkpoints (``swapnas.train.checkpoint``), from its mutation run (session 47): what a damaged
or foreign file is told apart by, each difference that stops a resume, the epochs that can still be reached, and the
JSON a diverged loss leaves; every message compared whole."""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from swapnas.spaces import darts_genotype as dg
from swapnas.train import checkpoint as ck
from swapnas.train.recipe import TrainConfig

from .message_tools import refusal
from .test_darts_genotype import DARTS_V2
from .test_train import OTHER

CONFIG = TrainConfig(epochs=3, batch_size=8, C=4, layers=3)


def _fix(path: Path) -> str:
    return f"use another --out, or delete {path} to start afresh"


def _checkpoint(**changes: Any) -> dict:
    """A checkpoint of CHECKPOINT_FORMAT for DARTS_V2, CONFIG, data 'synthetic-cifar10-64', seed 0, after 1 epoch."""
    doc: dict[str, Any] = {key: None for key in ck.CHECKPOINT_KEYS}
    doc.update(model={}, optimizer={}, scaler={}, rng={}, history=[], wall_seconds=0.0)  # (session 68: kinds checked)
    doc.update(format=ck.CHECKPOINT_FORMAT, genotype=dg.format_genotype(dg.parse(DARTS_V2)), config=asdict(CONFIG),
               data="synthetic-cifar10-64", seed=0, epoch=1, step=0, max_steps=None)
    doc.update(changes)
    return doc


# --- load_checkpoint -----------------------------------------------------------------------------------------------

def test_a_checkpoint_is_read_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    doc = _checkpoint(model={"w": torch.arange(3.0)}, history=[{"epoch": 1}])
    torch.save(doc, path)
    got = ck.load_checkpoint(path)
    assert set(got) == set(doc) and torch.equal(got["model"]["w"], torch.arange(3.0)) and got["epoch"] == 1
    assert ck.CHECKPOINT_FORMAT == 1 and ck.CHECKPOINT_KEYS == (
        "model", "optimizer", "scaler", "rng", "epoch", "step", "partial", "config", "genotype", "data", "seed",
        "history", "wall_seconds")


def test_a_checkpoint_on_a_gpu_is_loaded_onto_the_cpu(tmp_path: Path, monkeypatch) -> None:
    seen: list = []
    monkeypatch.setattr(ck.torch, "load", lambda path, **kw: seen.append((path, kw)) or _checkpoint())
    ck.load_checkpoint(tmp_path / "c.pt")
    assert seen == [(tmp_path / "c.pt", {"map_location": "cpu", "weights_only": True})]


@pytest.mark.parametrize(("exc", "why"), [
    (RuntimeError("PytorchStreamReader failed reading zip archive. Failed finding central directory"),
     "PytorchStreamReader failed reading zip archive"),
    (EOFError("Ran out of input"), "Ran out of input"),
    (EOFError(), "EOFError: the file is empty or cut short"),
    (pickle.UnpicklingError("invalid load key, 'x'."), "invalid load key, 'x'."),
    (ValueError("bad. worse. worst"), "bad"),
    (AttributeError("no attribute 'x'"), "no attribute 'x'"),
    (ImportError("No module named 'foreign'"), "No module named 'foreign'"),
])
def test_an_unreadable_file_names_itself_why_and_the_fix(tmp_path: Path, monkeypatch, exc, why) -> None:
    def fails(path: Path, **kw: Any) -> dict:
        raise exc
    monkeypatch.setattr(ck.torch, "load", fails)
    path = tmp_path / "checkpoint.pt"
    assert refusal(ValueError, lambda: ck.load_checkpoint(path)) == (
        f"{path} is not a readable `swapnas train` checkpoint (damaged, truncated or another program's file: {why}); "
        f"{_fix(path)}")


def test_other_errors_of_the_read_are_not_taken_for_a_damaged_file(tmp_path: Path, monkeypatch) -> None:
    def fails(path: Path, **kw: Any) -> dict:
        raise MemoryError
    monkeypatch.setattr(ck.torch, "load", fails)
    with pytest.raises(MemoryError):
        ck.load_checkpoint(tmp_path / "c.pt")


def test_real_damage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    torch.save(_checkpoint(), path)
    path.write_bytes(path.read_bytes()[:40])
    head = f"{path} is not a readable `swapnas train` checkpoint (damaged, truncated or another program's file: "
    assert refusal(ValueError, lambda: ck.load_checkpoint(path)).startswith(head)
    path.write_bytes(b"")
    assert refusal(ValueError, lambda: ck.load_checkpoint(path)).startswith(head)


@pytest.mark.parametrize("doc", [[1, 2], {"w": torch.zeros(1)}, {"format": 2}, {"format": None}, {"format": "1"}])
def test_a_file_of_another_format_is_refused(tmp_path: Path, doc: Any) -> None:
    path = tmp_path / "checkpoint.pt"
    torch.save(doc, path)
    assert refusal(ValueError, lambda: ck.load_checkpoint(path)) == \
        f"{path} is not a `swapnas train` checkpoint of format 1; {_fix(path)}"


def test_an_incomplete_checkpoint_names_every_missing_key(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    doc = _checkpoint()
    del doc["model"], doc["wall_seconds"]
    torch.save(doc, path)
    assert refusal(ValueError, lambda: ck.load_checkpoint(path)) == \
        f"{path} is an incomplete `swapnas train` checkpoint (no model, wall_seconds); {_fix(path)}"
    for key in ck.CHECKPOINT_KEYS:  # each one is needed
        torch.save({k: v for k, v in _checkpoint().items() if k != key}, path)
        assert refusal(ValueError, lambda: ck.load_checkpoint(path)) == \
            f"{path} is an incomplete `swapnas train` checkpoint (no {key}); {_fix(path)}"


# --- write_json ----------------------------------------------------------------------------------------------------

def test_write_json_writes_strict_json_atomically(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "history.json"
    ck.write_json(path, {"loss": float("nan"), "acc": [1.5, float("inf")], "name": "é"})
    assert json.loads(path.read_text()) == {"loss": None, "acc": [1.5, None], "name": "é"}
    seen: list = []
    monkeypatch.setattr(ck, "write_atomic", lambda p, write: seen.append(p))
    ck.write_json(path, {})
    assert seen == [path]


# --- check_resume --------------------------------------------------------------------------------------------------

def _resume(doc: dict, path: Path, genotype: str = DARTS_V2, config: TrainConfig = CONFIG,
            data: str = "synthetic-cifar10-64", seed: int = 0, max_steps: int | None = None) -> None:
    ck.check_resume(doc, path, dg.parse(genotype), config, SimpleNamespace(name=data), seed, max_steps)  # type: ignore[arg-type]


def test_the_same_run_resumes_and_only_the_epochs_may_change(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    _resume(_checkpoint(), path)
    _resume(_checkpoint(), path, config=replace(CONFIG, epochs=9))
    _resume(_checkpoint(epoch=3, step=0), path)  # done: the run reports itself finished
    _resume(_checkpoint(epoch=2, step=5), path)  # within the last epoch
    _resume(_checkpoint(max_steps=2), path, max_steps=2)
    doc = _checkpoint()
    doc.pop("max_steps")  # written before max_steps was kept: a full run
    _resume(doc, path)


def test_every_difference_of_the_run_is_named(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    doc = _checkpoint(config={**asdict(CONFIG), "lr": 0.1, "old_key": 1, "epochs": 50}, max_steps=2)
    message = refusal(ValueError, lambda: _resume(doc, path, genotype=OTHER, data="cifar10", seed=4))
    assert message == (
        f"cannot resume from {path}: it belongs to a different run (genotype: checkpoint {doc['genotype']}, asked "
        f"{dg.format_genotype(dg.parse(OTHER))}; --lr: checkpoint 0.1, asked 0.025; old_key: checkpoint 1, asked "
        "None; data: checkpoint 'synthetic-cifar10-64', asked 'cifar10'; --seed: checkpoint 0, asked 4; --max-steps: "
        f"checkpoint 2, asked None); only --epochs may change on resume; {_fix(path)}")


@pytest.mark.parametrize(("changes", "asked", "diff"), [
    ({}, {"config": replace(CONFIG, cutout=0)}, "--cutout: checkpoint 16, asked 0"),
    ({"config": {k: v for k, v in asdict(CONFIG).items() if k != "C"}}, {}, "--channels: checkpoint None, asked 4"),
    ({}, {"seed": 1}, "--seed: checkpoint 0, asked 1"),
    ({}, {"max_steps": 7}, "--max-steps: checkpoint None, asked 7"),
    ({}, {"data": "synthetic-cifar10-32"}, "data: checkpoint 'synthetic-cifar10-64', asked 'synthetic-cifar10-32'"),
    ({"genotype": "G"}, {}, f"genotype: checkpoint G, asked {dg.format_genotype(dg.parse(DARTS_V2))}"),
])
def test_each_difference_alone_stops_the_resume(tmp_path: Path, changes: dict, asked: dict, diff: str) -> None:
    path = tmp_path / "checkpoint.pt"
    assert refusal(ValueError, lambda: _resume(_checkpoint(**changes), path, **asked)) == (
        f"cannot resume from {path}: it belongs to a different run ({diff}); only --epochs may change on resume; "
        f"{_fix(path)}")


def test_a_checkpoint_of_another_format_is_not_resumed(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    for fmt in (2, None):
        assert refusal(ValueError, lambda: _resume(_checkpoint(format=fmt), path)) == \
            f"{path} is not a `swapnas train` checkpoint of format 1; {_fix(path)}"
    doc = _checkpoint()
    del doc["format"]
    assert refusal(ValueError, lambda: _resume(doc, path)).startswith(f"{path} is not a `swapnas train` checkpoint")


def test_more_epochs_done_than_asked_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    assert refusal(ValueError, lambda: _resume(_checkpoint(epoch=4, step=0), path)) == (
        f"cannot resume from {path}: it has 4 epochs done, more than the 3 asked; give --epochs 4 (its result is "
        f"written again at once) or more (it trains on), or {_fix(path)}")


def test_batches_of_one_more_epoch_than_asked_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    for step in (1, 7):
        assert refusal(ValueError, lambda: _resume(_checkpoint(epoch=3, step=step), path)) == (
            f"cannot resume from {path}: it has 3 epochs and {step} batches of epoch 4 done, so its weights are not "
            f"those of 3 epochs; give --epochs 4 or more; {_fix(path)}")
