"""``swapnas train`` from Python (:func:`run_train`) and from the command line (:func:`add_train_parser`)."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields, replace
from pathlib import Path

import torch

from ..session import resolve_device
from ..spaces.darts_genotype import Genotype
from .data import load_data
from .loop import train
from .recipe import RECIPES, SCHEDULES, TrainConfig, load_genotype


def run_train(genotype: Genotype | str, *, recipe: str = "cifar10", out: str | os.PathLike,
              data_root: str | os.PathLike | None = None, synthetic: int | None = None, workers: int = 4,
              device: str | torch.device = "auto", seed: int = 0, progress: bool = True,
              max_steps: int | None = None, eval_every: int = 1, amp: bool = True,
              **overrides: float | str | None) -> dict:
    """What ``swapnas train`` does: train ``genotype`` with ``RECIPES[recipe]`` on that recipe's data; the result.

    ``genotype``: a :class:`Genotype`, a ``Genotype(...)`` string or a ``swapnas search`` result.json.
    ``recipe``: ``cifar10`` or ``imagenet`` (recipe, network and data). ``data_root`` or ``synthetic`` (N
    random images) say where the data comes from (see :func:`load_data`). ``overrides``: TrainConfig
    fields (``epochs=10``, ``C=16``, …; None = the recipe's). ``device``: ``auto``, ``cpu``, ``cuda:1`` …
    The rest as in :func:`train`, which writes ``out/checkpoint.pt``, ``history.json`` and ``result.json``
    and resumes from ``out`` when it holds a checkpoint of the same run.
    """
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    unknown = sorted(set(overrides) - {f.name for f in fields(TrainConfig)})
    if unknown:
        raise TypeError(f"run_train() got unknown TrainConfig fields: {', '.join(unknown)}")
    genotype = load_genotype(genotype) if isinstance(genotype, str) else genotype
    config = replace(RECIPES[recipe], **{k: v for k, v in overrides.items() if v is not None})
    data = load_data(recipe, data_root, synthetic, workers=workers)
    device = resolve_device(device) if isinstance(device, str) else torch.device(device)
    return train(genotype, config, data, Path(out), device=device, seed=seed, progress=progress,
                 max_steps=max_steps, eval_every=eval_every, amp=amp)


# ----------------------------------------------------------------------------- command line


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (the same messages as ``swapnas.cli.positive_int``)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {v})")
    return v


#: TrainConfig fields → flag names where the field name is not the flag
_FLAG_NAMES = {"C": "--channels"}
_FLAG_HELP = {
    "epochs": "training epochs", "batch_size": "batch size", "lr": "initial learning rate",
    "momentum": "SGD momentum", "weight_decay": "weight decay", "schedule": "lr schedule: cosine or step",
    "lr_gamma": "step schedule: lr factor per epoch", "cutout": "cutout square side, 0 = off",
    "drop_path": "final drop-path probability (ramped linearly), 0 = off",
    "auxiliary_weight": "auxiliary-head loss weight, 0 = no auxiliary head",
    "grad_clip": "gradient-norm clip, 0 = off", "label_smoothing": "label smoothing",
    "C": "initial channels C", "layers": "number of cells",
}


def _add_recipe_flags(p: argparse.ArgumentParser) -> None:
    """One ``--flag`` per TrainConfig field (dest ``cfg_<field>``, default None = the recipe's)."""
    base = RECIPES["cifar10"]
    for f in fields(TrainConfig):
        kind = type(getattr(base, f.name))
        flag = _FLAG_NAMES.get(f.name, "--" + f.name.replace("_", "-"))
        extra = {"choices": list(SCHEDULES)} if f.name == "schedule" else {}
        p.add_argument(flag, dest=f"cfg_{f.name}", type=kind, default=None, help=f"{_FLAG_HELP[f.name]} "
                       f"(cifar10 {getattr(RECIPES['cifar10'], f.name)}, imagenet {getattr(RECIPES['imagenet'], f.name)})",
                       **extra)


def add_train_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``train`` on an argparse subparsers object (sets ``func`` to :func:`_cmd_train`)."""
    p = sub.add_parser(
        "train",
        help="train a DARTS genotype from scratch with the DARTS evaluation recipe (resumable)",
        description="Train a DARTS genotype from scratch with the DARTS evaluation recipe of --dataset "
        "(cifar10: 20 cells, 36 channels, 600 epochs, cosine lr 0.025, cutout, drop-path 0.2, auxiliary 0.4; "
        "imagenet: mobile setting, 14 cells, 48 channels, 250 epochs, lr 0.1 x 0.97 per epoch, label "
        "smoothing 0.1). Every recipe field can be overridden. Writes OUT/checkpoint.pt every epoch, "
        "OUT/history.json and OUT/result.json; rerun the same command to resume (only --epochs may change).",
    )
    p.add_argument("--genotype", required=True,
                   help="'Genotype(normal=[...], ...)' string, or a result.json of `swapnas search --space darts`")
    p.add_argument("--dataset", default="cifar10", choices=list(RECIPES), help="recipe, network and data (default cifar10)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data-root", default=None, help="cifar10: the folder holding cifar-10-batches-py/; "
                     "imagenet: the folder holding train/<class>/ and val/<class>/")
    src.add_argument("--synthetic", type=_positive_int, default=None, metavar="N",
                     help="train on N random images (10 classes) instead: smoke runs and tests")
    _add_recipe_flags(p)
    p.add_argument("--max-steps", type=_positive_int, default=None, metavar="N",
                   help="at most N training and N test batches per epoch (smoke runs)")
    p.add_argument("--eval-every", type=_positive_int, default=1, metavar="E",
                   help="evaluate on the test split every E epochs (and after the last)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 …")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=4, help="image-loading processes (imagenet folders only)")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--out", required=True, help="output folder: checkpoint.pt, history.json, result.json")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_train)
    return p


def _overrides(args: argparse.Namespace) -> dict:
    """The TrainConfig fields given as ``--flag``s."""
    return {f.name: getattr(args, f"cfg_{f.name}") for f in fields(TrainConfig)
            if getattr(args, f"cfg_{f.name}", None) is not None}


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """``RECIPES[args.dataset]`` with every ``--flag`` given on the command line applied."""
    return replace(RECIPES[args.dataset], **_overrides(args))


def _cmd_train(args: argparse.Namespace) -> int:
    # cuDNN autotuning is the command's choice (speed; CUDA runs were never bit-reproducible), not the
    # library's: run_train/train set no backend flag. It has no effect when the device is the CPU.
    torch.backends.cudnn.benchmark = True
    out = Path(args.out)
    try:
        result = run_train(args.genotype, recipe=args.dataset, out=out, data_root=args.data_root,
                           synthetic=args.synthetic, workers=args.workers, device=args.device, seed=args.seed,
                           progress=not args.no_progress, max_steps=args.max_steps, eval_every=args.eval_every,
                           amp=not args.no_amp, **_overrides(args))
    except KeyboardInterrupt:
        saved = (out / "checkpoint.pt").is_file()
        print("swapnas: interrupted; " + (f"the state is in {out / 'checkpoint.pt'}: rerun the same command to resume"
                                          if saved else "no checkpoint was written"), file=sys.stderr)
        return 130
    top5 = f", top-5 {result['test_top5']:.2f}%" if args.dataset == "imagenet" else ""
    note = " (partial epochs: --max-steps)" if result["max_steps"] else ""
    print(f"final test accuracy {result['test_acc']:.2f}%{top5} on {result['test_n']} {result['dataset']} test images "
          f"after {result['epochs']} epochs{note}")
    print(f"{result['params_m']:.3f} M params (auxiliary head excluded), wall {result['wall_seconds']:.1f} s, "
          f"device {result['device']}")
    print(f"wrote {out / 'result.json'}, {out / 'history.json'}, {out / 'checkpoint.pt'}")
    return 0
