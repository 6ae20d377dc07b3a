"""``swapnas train`` from Python (:func:`run_train`) and from the command line (:func:`swapnas.cli.parsers.add_train`)."""

from __future__ import annotations

import os
from dataclasses import fields, replace
from typing import Any

import torch

from ..arg_checks import seed as check_seed
from ..arg_checks import whole
from ..devices import resolve_device
from ..out_checks import api_out
from ..spaces.darts_genotype import Genotype
from .data import load_data
from .loop import train
from .recipe import RECIPES, TrainConfig, check_network, load_genotype


def run_train(genotype: Genotype | str | os.PathLike, *, recipe: str = "cifar10", out: str | os.PathLike,
              data_root: str | os.PathLike | None = None, synthetic: int | None = None, workers: int = 4,
              device: str | torch.device = "auto", seed: int = 0, progress: bool = True,
              max_steps: int | None = None, eval_every: int = 1, amp: bool = True, lines: bool | None = None,
              **overrides: float | str | None) -> dict:
    """What ``swapnas train`` does: train ``genotype`` with ``RECIPES[recipe]`` on that recipe's data; the result.

    ``genotype``: a :class:`Genotype`, a ``Genotype(...)`` string or a ``swapnas search`` result.json.
    ``recipe``: ``cifar10`` or ``imagenet`` (recipe, network and data). ``data_root`` or ``synthetic`` (N
    random images) say where the data comes from (see :func:`load_data`). ``overrides``: TrainConfig
    fields (``epochs=10``, ``C=16``, …; None = the recipe's). ``device``: ``auto``, ``cpu``, ``cuda:1`` …
    The rest as in :func:`train`, which writes ``out/checkpoint.pt``, ``history.json`` and ``result.json``
    and resumes from ``out`` when it holds a checkpoint of the same run.
    """
    out = api_out("train", out)  # (session 65: another command's OUT, or '' for the current folder, was written)
    _check_counts(seed, workers, eval_every, max_steps, synthetic, data_root)
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    unknown = sorted(set(overrides) - {f.name for f in fields(TrainConfig)})
    if unknown:
        raise TypeError(f"run_train() got unknown TrainConfig fields: {', '.join(unknown)}")
    genotype = load_genotype(os.fspath(genotype)) if isinstance(genotype, (str, os.PathLike)) else genotype  # (a Path)
    given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    config = replace(RECIPES[recipe], **given)
    if "lr_gamma" in given and config.schedule != "step":
        whose = "--schedule" if "schedule" in given else f"the {recipe} recipe's schedule"
        raise ValueError(f"--lr-gamma {config.lr_gamma} applies to the step schedule only, and {whose} is "
                         f"{config.schedule}: give --schedule step, or leave --lr-gamma out")
    check_network(config, recipe)  # before the data is read
    data = load_data(recipe, data_root, synthetic, workers=workers)
    device = resolve_device(device)  # a torch.device checked too (session 67: torch's assertion deep in RunRng)
    return train(genotype, config, data, out, device=device, seed=seed, progress=progress,
                 max_steps=max_steps, eval_every=eval_every, amp=amp, lines=lines)


def _check_counts(seed: object, workers: object, eval_every: object, max_steps: object, synthetic: object,
                  data_root: object) -> None:
    """What the command's argument types check (session 65: ``seed=-1`` trained, ``workers=-1`` was taken,
    ``max_steps=1.5`` and ``synthetic=2.5`` failed deep in the loop, ``data_root`` beside ``synthetic`` was ignored)."""
    check_seed("seed", seed)
    whole("workers", workers)
    whole("eval_every", eval_every, 1)
    for name, value, least in (("max_steps", max_steps, 1), ("synthetic", synthetic, 2)):
        if value is not None:
            whole(name, value, least)
    if data_root is not None and synthetic is not None:
        raise ValueError("give data_root or synthetic, not both (synthetic draws random images instead of reading "
                         "data_root's)")
