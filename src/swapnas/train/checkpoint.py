"""Checkpoint files of ``swapnas train``: their format, atomic writes and the check that a resume is the same run."""

from __future__ import annotations

import pickle
import struct
from dataclasses import asdict
from pathlib import Path

import torch

from ..files import write_atomic
from ..results import strict_json
from ..spaces.darts_genotype import Genotype, format_genotype
from .data import TrainData
from .recipe import TrainConfig, config_flag
from .rng import RunRng

CHECKPOINT_FORMAT = 1


#: the keys every checkpoint of CHECKPOINT_FORMAT holds (what a resume reads)
CHECKPOINT_KEYS = ("model", "optimizer", "scaler", "rng", "epoch", "step", "partial", "config", "genotype", "data",
                   "seed", "history", "wall_seconds")


def fresh_start(path: Path) -> str:
    """The way out of a checkpoint at ``path`` that cannot be resumed: what every refusal here ends with."""
    return f"use another --out, or delete {path} to start afresh"


def load_checkpoint(path: Path) -> dict:
    """``path`` read with ``torch.load(weights_only=True)``; a ValueError that names it and the fix when it is
    not a readable ``swapnas train`` checkpoint (truncated, empty, another program's file)."""
    fix = fresh_start(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, ValueError, AttributeError, ImportError, IndexError,
            OSError, KeyError, struct.error) as exc:  # IndexError, OSError (EINVAL): a text file, a cut zip (session
        # 56's audit); KeyError, struct.error: other damaged files (session 62's fuzzing)
        if isinstance(exc, IsADirectoryError):
            raise ValueError(f"{path} is a folder, not a `swapnas train` checkpoint; {fix}") from exc
        why = str(exc).split(". ")[0] if str(exc) else f"{type(exc).__name__}: the file is empty or cut short"
        raise ValueError(f"{path} is not a readable `swapnas train` checkpoint (damaged, truncated or another "
                         f"program's file: {why}); {fix}") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a `swapnas train` checkpoint of format {CHECKPOINT_FORMAT}; {fix}")
    missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
    if missing:
        raise ValueError(f"{path} is an incomplete `swapnas train` checkpoint (no {', '.join(missing)}); {fix}")
    if wrong := [k for k, kinds in _KINDS.items() if not isinstance(ckpt[k], kinds) or isinstance(ckpt[k], bool)
                 or (k in ("epoch", "step", "wall_seconds") and ckpt[k] < 0)]:  # (session 68: tracebacks, or an
        # epoch of -1 trained epoch 1 again)
        raise ValueError(f"{path} is a damaged `swapnas train` checkpoint ({', '.join(wrong)} not of the kind a "
                         f"checkpoint holds); {fix}")
    return ckpt


#: the kind of each checkpoint entry that is checked before a resume reads it
_KINDS: dict[str, type | tuple[type, ...]] = {
    "model": dict, "optimizer": dict, "scaler": dict, "rng": dict, "epoch": int, "step": int,
    "partial": (dict, type(None)), "config": dict, "genotype": str, "data": str, "seed": int, "history": list,
    "wall_seconds": (int, float)}


def load_states(ckpt: dict, path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                scaler: torch.amp.GradScaler | None, rng: RunRng) -> None:
    """The checkpoint's network, optimiser, (``scaler`` where AMP runs) and random states loaded into the run's; a
    ValueError naming ``path`` and the fix where they do not fit what this swapnas builds (session 68: a checkpoint of
    a version whose network code differs ended in torch's RuntimeError traceback, exit 1)."""
    try:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scaler is not None and ckpt["scaler"]:
            scaler.load_state_dict(ckpt["scaler"])
        rng.load(ckpt["rng"])
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"cannot resume from {path}: its saved state does not fit the network and optimiser this "
                         f"swapnas builds ({why[:200]}); it was written by another version of swapnas, or changed "
                         f"since: {fresh_start(path)}") from None


def write_json(path: Path, value: object) -> None:
    """Strict JSON (a NaN or infinite number, e.g. a diverged loss, is written as null)."""
    write_atomic(path, lambda f: f.write(strict_json(value).encode()))


def check_resume(ckpt: dict, path: Path, genotype: Genotype, config: TrainConfig, data: TrainData, seed: int,
                 max_steps: int | None = None) -> None:
    """Raise ValueError naming every difference between the checkpoint's run and the requested one, by the flag
    that sets it (session 68: ``C`` was named for ``--channels``), ``max_steps`` too (a smoke run's checkpoint does
    not continue as a full run; checkpoints written before it was saved count as full runs)."""
    fix = fresh_start(path)
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a `swapnas train` checkpoint of format {CHECKPOINT_FORMAT}; {fix}")
    diffs = []
    if ckpt["genotype"] != format_genotype(genotype):
        diffs.append(f"genotype: checkpoint {ckpt['genotype']}, asked {format_genotype(genotype)}")
    asked = asdict(config)
    for key in sorted(set(asked) | set(ckpt["config"])):
        if key != "epochs" and ckpt["config"].get(key) != asked.get(key):
            flag = config_flag(key) if key in asked else key  # (a key of another version: as it is)
            diffs.append(f"{flag}: checkpoint {ckpt['config'].get(key)!r}, asked {asked.get(key)!r}")
    if ckpt["data"] != data.name:
        diffs.append(f"data: checkpoint {ckpt['data']!r}, asked {data.name!r}")
    if ckpt["seed"] != seed:
        diffs.append(f"--seed: checkpoint {ckpt['seed']}, asked {seed}")
    if ckpt.get("max_steps") != max_steps:
        diffs.append(f"--max-steps: checkpoint {ckpt.get('max_steps')}, asked {max_steps}")
    if diffs:
        raise ValueError(f"cannot resume from {path}: it belongs to a different run ({'; '.join(diffs)}); "
                         f"only --epochs may change on resume; {fix}")
    if ckpt["epoch"] > config.epochs:
        again = " (its result is written again at once)" if ckpt["step"] == 0 else ""  # (session 68: the harmless
        least = ckpt["epoch"] + (ckpt["step"] > 0)  # way was unsaid; the review: one cut mid-epoch needs one more)
        raise ValueError(f"cannot resume from {path}: it has {ckpt['epoch']} epochs done, more than the "
                         f"{config.epochs} asked; give --epochs {least}{again} or more (it trains on), or {fix}")
    if ckpt["epoch"] == config.epochs and ckpt["step"] > 0:  # its weights hold batches of one more epoch
        raise ValueError(f"cannot resume from {path}: it has {ckpt['epoch']} epochs and {ckpt['step']} batches of "
                         f"epoch {ckpt['epoch'] + 1} done, so its weights are not those of {config.epochs} epochs; "
                         f"give --epochs {ckpt['epoch'] + 1} or more; {fix}")
