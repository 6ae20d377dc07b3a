"""The training recipes (:class:`TrainConfig`, :data:`RECIPES`), their per-epoch schedules, the network and its genotype."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

from torch import nn

from ..spaces import arch_reader, darts
from ..spaces.darts_genotype import Genotype, parse


def config_flag(field: str) -> str:
    """The ``swapnas train`` flag that sets the :class:`TrainConfig` field ``field`` (``C``: ``--channels``)."""
    return "--channels" if field == "C" else "--" + field.replace("_", "-")


@dataclass(frozen=True)
class TrainConfig:
    """One training recipe (defaults: the DARTS CIFAR-10 evaluation, spec §4)."""

    epochs: int = 600
    batch_size: int = 96
    lr: float = 0.025
    momentum: float = 0.9
    weight_decay: float = 3e-4
    schedule: str = "cosine"  # "cosine" (to 0 over the epochs) or "step" (lr * lr_gamma ** epoch)
    lr_gamma: float = 0.97  # step schedule only
    cutout: int = 16  # side of the cutout square, 0 = off (in-memory data: CIFAR, --synthetic; not image folders)
    drop_path: float = 0.2  # final drop-path probability, ramped linearly from 0
    auxiliary_weight: float = 0.4  # 0 = no auxiliary head
    grad_clip: float = 5.0  # max gradient norm, 0 = off
    label_smoothing: float = 0.0
    C: int = 36  # initial channels
    layers: int = 20  # cells

    def __post_init__(self) -> None:
        ints = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.type in ("int", int)
                and type(getattr(self, f.name)) is not int]
        if ints:
            raise TypeError(f"TrainConfig fields must be integers: {', '.join(ints)}")
        bad = [f.name for f in fields(self) if isinstance(getattr(self, f.name), float)
               and not math.isfinite(getattr(self, f.name))]
        if bad:
            raise ValueError(f"TrainConfig fields must be finite numbers: {', '.join(bad)}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"--epochs and --batch-size must be >= 1 (got {self.epochs}, {self.batch_size})")
        if self.lr <= 0 or not 0 <= self.momentum < 1 or self.weight_decay < 0:
            raise ValueError(f"need --lr > 0, --momentum in [0, 1), --weight-decay >= 0 (got {self.lr}, "
                             f"{self.momentum}, {self.weight_decay})")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)} (got {self.schedule!r})")
        if not 0 < self.lr_gamma <= 1:
            raise ValueError(f"--lr-gamma must be in (0, 1] (got {self.lr_gamma})")
        if self.cutout < 0 or self.grad_clip < 0 or self.auxiliary_weight < 0:
            raise ValueError(f"--cutout, --grad-clip and --auxiliary-weight must be >= 0 (got {self.cutout}, "
                             f"{self.grad_clip}, {self.auxiliary_weight})")
        if not 0 <= self.drop_path < 1 or not 0 <= self.label_smoothing < 1:
            raise ValueError(f"--drop-path and --label-smoothing must be in [0, 1) (got {self.drop_path}, "
                             f"{self.label_smoothing})")
        if self.C < 1 or self.layers < 1:
            raise ValueError(f"--channels (C) and --layers must be >= 1 (got {self.C}, {self.layers})")
        if self.auxiliary_weight > 0 and self.batch_size < 2:
            raise ValueError("batch_size 1 (--batch-size): the auxiliary head's BatchNorm needs at least 2 images "
                             "per batch in training mode; give --batch-size 2 or more, or --auxiliary-weight 0 "
                             "(no auxiliary head)")


SCHEDULES = ("cosine", "step")

RECIPES: dict[str, TrainConfig] = {
    "cifar10": TrainConfig(
        epochs=600, batch_size=96, lr=0.025, momentum=0.9, weight_decay=3e-4, schedule="cosine",
        cutout=16, drop_path=0.2, auxiliary_weight=0.4, grad_clip=5.0, label_smoothing=0.0, C=36, layers=20,
    ),
    # DARTS paper, ImageNet mobile setting: batch 128, lr 0.1 decayed by 0.97 per epoch, wd 3e-5,
    # label smoothing 0.1, auxiliary 0.4, 250 epochs, 48 channels, 14 cells; no drop-path, no cutout.
    "imagenet": TrainConfig(
        epochs=250, batch_size=128, lr=0.1, momentum=0.9, weight_decay=3e-5, schedule="step", lr_gamma=0.97,
        cutout=0, drop_path=0.0, auxiliary_weight=0.4, grad_clip=5.0, label_smoothing=0.1, C=48, layers=14,
    ),
}


def lr_at(config: TrainConfig, epoch: int) -> float:
    """The learning rate of (0-based) ``epoch``: cosine annealing to 0 at ``epochs``, or step decay."""
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / config.epochs))
    return config.lr * config.lr_gamma ** epoch


def drop_path_at(config: TrainConfig, epoch: int) -> float:
    return config.drop_path * epoch / config.epochs


def check_network(config: TrainConfig, dataset: str) -> None:
    """Refuse a network the recipe cannot train: the CIFAR auxiliary head reads the 8×8 map after the
    second reduction cell, which needs ``layers >= 2`` (with one cell both reductions fall on it: 16×16).
    The ImageNet head pools globally and takes any depth; its stem halves C, which must be even."""
    if dataset == "imagenet" and config.C % 2:
        raise ValueError(f"channels {config.C} (--channels): the ImageNet stem halves C; give an even --channels")
    if dataset == "cifar10" and config.auxiliary_weight > 0 and config.layers < 2:
        raise ValueError(f"layers {config.layers} (--layers): the CIFAR auxiliary head needs at least 2 cells "
                         "(its input is the 8x8 map after the second reduction cell); give --layers 2 or more, "
                         "or --auxiliary-weight 0 (no auxiliary head)")


def build_model(genotype: Genotype, config: TrainConfig, dataset: str, num_classes: int) -> nn.Module:
    """The DARTS CIFAR network (``cifar10``) or ImageNet network (``imagenet``) for the recipe
    (:func:`check_network` first).

    The initial weights come from the global torch generator (nn.Module constructors); :func:`swapnas.train.train`
    builds the model inside :meth:`RunRng.installed <swapnas.train.rng.RunRng.installed>`.
    """
    check_network(config, dataset)
    builder = darts.FINAL_NETS[dataset].get("builder", darts.build)  # the space's final network for the dataset
    return builder(genotype, C=config.C, layers=config.layers, num_classes=num_classes,
                   auxiliary=config.auxiliary_weight > 0)


def count_params_m(model: nn.Module) -> float:
    """Parameters in millions, the auxiliary head excluded (as papers report)."""
    return sum(p.numel() for n, p in model.named_parameters() if not n.startswith("auxiliary_head")) / 1e6


def searched_on(text: str) -> str | None:
    """The dataset of the search whose result.json ``text`` names (its ``dataset``); None for a genotype string or
    another file."""
    path = Path(text.strip()).expanduser()
    try:
        value = json.loads(path.read_text(encoding="utf-8-sig")) if path.is_file() else None
    except (OSError, ValueError, RecursionError):
        return None
    return value.get("dataset") if isinstance(value, dict) and isinstance(value.get("dataset"), str) else None


def load_genotype(text: str) -> Genotype:
    """A ``Genotype(...)`` string, or a file: ``swapnas search``'s result.json (its ``best``) or the string itself."""
    s = text.strip()
    if s.startswith("Genotype("):
        return parse(s)
    if s.startswith("[") and not Path(s).expanduser().exists():  # NASLib's NB301 key (session 64: refused)
        return arch_reader(darts)(s)
    path = Path(s).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"--genotype {text!r} is neither a 'Genotype(normal=[...], ...)' string nor an "
                                "existing file (a result.json of `swapnas search --space darts`)")
    content = path.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is no text
    try:
        value = json.loads(content)
    except RecursionError:  # (session 67: a traceback)
        raise ValueError(f"--genotype {path}: its JSON is nested deeper than Python reads; not a search result"
                         ) from None
    except json.JSONDecodeError:
        try:
            return parse(content)
        except ValueError as exc:  # (session 65: the file's text was quoted, its path not named)
            raise ValueError(f"--genotype {path}: the file holds no DARTS genotype: {exc}") from None
    if isinstance(value, dict):
        if value.get("space", "darts") != "darts":
            raise ValueError(f"{path} is a {value['space']!r} search result; `swapnas train` trains DARTS genotypes")
        found = value.get("best", value.get("genotype"))  # a search's result.json, or a train's (session 53)
        if not isinstance(found, str):
            raise ValueError(f"{path} has no 'best' genotype string (expected a result.json of `swapnas search`, or "
                             "one of `swapnas train` with its 'genotype')")
        try:
            return parse(found)
        except ValueError as exc:  # (session 68: the parser's message named no file)
            raise ValueError(f"--genotype {path}: its genotype is not one: {exc}") from None
    if isinstance(value, str):
        return parse(value)
    raise ValueError(f"{path} holds no DARTS genotype (expected a result.json of `swapnas search` or `swapnas train`)")
