"""``swapnas train``: train a DARTS genotype from scratch with the DARTS evaluation recipe.

Recipes (:data:`RECIPES`; every field can be overridden on the command line):

- ``cifar10`` — the DARTS CIFAR-10 evaluation (spec §4): 20 cells, 36 channels, 600 epochs,
  batch 96, SGD (momentum 0.9, no Nesterov) lr 0.025 with cosine annealing to 0 over the
  epochs, weight decay 3e-4, cutout 16, drop-path 0.2 (ramped linearly), auxiliary head
  weight 0.4, gradient-norm clipping 5.
- ``imagenet`` — the DARTS ImageNet mobile setting: 14 cells, 48 channels, 250 epochs,
  batch 128, SGD (momentum 0.9) lr 0.1 decayed by 0.97 after every epoch (the DARTS paper's
  step schedule; ``--schedule cosine`` is available), weight decay 3e-5, label smoothing 0.1,
  auxiliary weight 0.4, gradient clipping 5, no drop-path, no cutout. The DARTS ImageNet
  recipe also jitters colour (brightness/contrast/saturation 0.4, hue 0.2); this trainer
  does not (random-resized-crop 224 + flip only).

Schedules are per epoch and closed form (:func:`lr_at`): the learning rate of epoch ``e``
(0-based) is ``lr * (1 + cos(pi * e / epochs)) / 2`` (cosine) or ``lr * gamma ** e`` (step);
drop-path probability is ``drop_path * e / epochs``.

Data (nothing is downloaded at run time):

- CIFAR-10: the python version (``cifar-10-batches-py/data_batch_1..5, test_batch``, as
  torchvision's ``CIFAR10(root)`` stores it) under ``--data-root``. The images are held in
  memory and augmented per batch with torch ops on the training device: 4-pixel zero-padded
  random 32×32 crop, horizontal flip, normalisation, cutout (a ``cutout``×``cutout`` square,
  clipped at the border, zeroed after normalisation — as in DARTS). ``--workers`` is unused.
- ImageNet: an image folder ``--data-root/train/<class>/*.JPEG`` and ``val/<class>/*.JPEG``
  read with Pillow by ``--workers`` DataLoader processes; train: random-resized-crop 224
  (area 8–100 %, aspect 3/4–4/3) + flip; val: resize the shorter side to 256, centre crop 224.
- ``--synthetic N``: a deterministic random data set (N training and N test images, 10
  classes, each class a noisy colour), 32 px for ``cifar10`` (CIFAR augmentation) and
  224 px for ``imagenet`` (flip only), for tests and smoke runs.

Outputs in ``OUT``: ``checkpoint.pt`` after every epoch and on Ctrl-C (mid-epoch: the resumed run redoes the
interrupted batch from the RNG state before it, so on in-memory data a resumed run equals an
uninterrupted one; ImageNet loader workers are reseeded),
``history.json`` (per epoch: train loss — the optimised objective, auxiliary term and label
smoothing included — train accuracy, test loss/accuracy/top-5 when evaluated, lr,
drop-path, steps, seconds) and ``result.json`` at the end. Accuracies are percentages.
Rerunning the same command resumes from ``checkpoint.pt``; only ``--epochs`` may differ
(to extend a run: the schedule then follows the new length from the next epoch on).
``--max-steps N`` caps the training AND evaluation batches of every epoch (smoke runs;
``result.json`` then says ``complete: false``). AMP (float16 autocast + GradScaler) is used
on CUDA only.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import pickle
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..cli import positive_int
from ..spaces.darts_genotype import Genotype, format_genotype, parse

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1


# ----------------------------------------------------------------------------- recipe


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
    cutout: int = 16  # side of the cutout square, 0 = off (in-memory 32-px data only)
    drop_path: float = 0.2  # final drop-path probability, ramped linearly from 0
    auxiliary_weight: float = 0.4  # 0 = no auxiliary head
    grad_clip: float = 5.0  # max gradient norm, 0 = off
    label_smoothing: float = 0.0
    C: int = 36  # initial channels
    layers: int = 20  # cells

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1 (got {self.epochs}, {self.batch_size})")
        if self.lr <= 0 or self.momentum < 0 or self.weight_decay < 0:
            raise ValueError(f"need lr > 0, momentum >= 0, weight_decay >= 0 (got {self.lr}, {self.momentum}, "
                             f"{self.weight_decay})")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)} (got {self.schedule!r})")
        if not 0 < self.lr_gamma <= 1:
            raise ValueError(f"lr_gamma must be in (0, 1] (got {self.lr_gamma})")
        if self.cutout < 0 or self.grad_clip < 0 or self.auxiliary_weight < 0:
            raise ValueError("cutout, grad_clip and auxiliary_weight must be >= 0")
        if not 0 <= self.drop_path < 1 or not 0 <= self.label_smoothing < 1:
            raise ValueError(f"drop_path and label_smoothing must be in [0, 1) (got {self.drop_path}, "
                             f"{self.label_smoothing})")
        if self.C < 1 or self.layers < 1:
            raise ValueError(f"C and layers must be >= 1 (got {self.C}, {self.layers})")


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


# ----------------------------------------------------------------------------- data

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
CIFAR_ORIGIN = ("download the CIFAR-10 python version (cifar-10-python.tar.gz) from "
                "https://www.cs.toronto.edu/~kriz/cifar.html and extract it into DATA_ROOT (or let torchvision's "
                "CIFAR10(root=DATA_ROOT, download=True) create it); nothing is downloaded at run time")
IMAGENET_ORIGIN = ("ILSVRC-2012 from https://image-net.org, the training images in train/<wnid>/*.JPEG and the 50,000 "
                   "validation images sorted into val/<wnid>/ (e.g. with the usual valprep.sh); nothing is "
                   "downloaded at run time")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


class TensorSplit:
    """An in-memory split: uint8 images (N, 3, H, W) and int64 labels (N,)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be uint8 (N, 3, H, W), got {images.dtype} {tuple(images.shape)}")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels = images, labels.long()

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device) -> TensorSplit:
        if self.images.device == device:
            return self
        return TensorSplit(self.images.to(device), self.labels.to(device))


class FolderSplit(torch.utils.data.Dataset):
    """Image files read with Pillow; ``train``: random-resized-crop + flip, else resize 256 + centre crop."""

    def __init__(self, files: list[Path], labels: list[int], train: bool, size: int = 224, resize: int = 256):
        self.files, self.labels, self.train, self.size, self.resize = files, labels, train, size, resize

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        with Image.open(self.files[i]) as im:
            img = im.convert("RGB")
        img = _random_resized_crop(img, self.size) if self.train else _resize_center_crop(img, self.resize, self.size)
        if self.train and torch.rand(()) < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        arr = np.asarray(img, dtype=np.uint8)
        return torch.from_numpy(arr.copy()).permute(2, 0, 1), self.labels[i]


def _random_resized_crop(img, size: int, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """A random crop of ``scale`` of the area and aspect ratio in ``ratio`` (log-uniform), resized to size²."""
    from PIL import Image

    w, h = img.size
    area = w * h
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target = area * (scale[0] + (scale[1] - scale[0]) * torch.rand(()).item())
        aspect = math.exp(log_lo + (log_hi - log_lo) * torch.rand(()).item())
        cw, ch = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            x0 = int(torch.randint(0, w - cw + 1, ()).item())
            y0 = int(torch.randint(0, h - ch + 1, ()).item())
            return img.resize((size, size), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
    # fallback: the central crop with the aspect ratio clamped to ``ratio``
    r = w / h
    if r < ratio[0]:
        cw, ch = w, round(w / ratio[0])
    elif r > ratio[1]:
        cw, ch = round(h * ratio[1]), h
    else:
        cw, ch = w, h
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return img.resize((size, size), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))


def _resize_center_crop(img, resize: int, size: int):
    from PIL import Image

    w, h = img.size
    s = resize / min(w, h)
    nw, nh = max(size, round(w * s)), max(size, round(h * s))
    img = img.resize((nw, nh), Image.Resampling.BILINEAR)
    x0, y0 = (nw - size) // 2, (nh - size) // 2
    return img.crop((x0, y0, x0 + size, y0 + size))


@dataclass
class TrainData:
    """Train and test splits with what the trainer needs to know about them.

    ``augment``: ``"cifar"`` (pad-4 random crop, flip, cutout), ``"flip"`` (flip only) or
    ``"folder"`` (the :class:`FolderSplit` does it).
    """

    name: str  # "cifar10", "imagenet", "synthetic-cifar10-64", …; a resumed run must use the same
    dataset: str  # "cifar10" or "imagenet": selects the network
    num_classes: int
    train: TensorSplit | FolderSplit
    test: TensorSplit | FolderSplit
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    augment: str
    source: str
    workers: int = 4


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def load_cifar10(root: str | os.PathLike) -> TrainData:
    """CIFAR-10 from the python-version pickles under ``root`` (or ``root`` being that folder)."""
    root = Path(root).expanduser()
    folder = root / CIFAR_FOLDER
    if not folder.is_dir() and all((root / f).is_file() for f in CIFAR_FILES):
        folder = root
    missing = [f for f in CIFAR_FILES if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 not found: missing {', '.join(missing)} in {folder} (expected "
            f"DATA_ROOT/{CIFAR_FOLDER}/data_batch_1..5 and test_batch with DATA_ROOT={root}); {CIFAR_ORIGIN}"
        )

    def read(names: tuple[str, ...]) -> TensorSplit:
        xs, ys = [], []
        for name in names:
            d = _unpickle(folder / name)
            xs.append(np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(d["labels"], dtype=np.int64))
        return TensorSplit(torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys)))

    return TrainData("cifar10", "cifar10", 10, read(CIFAR_FILES[:5]), read(CIFAR_FILES[5:]),
                     CIFAR_MEAN, CIFAR_STD, "cifar", str(folder))


def _image_files(folder: Path) -> dict[str, list[Path]]:
    out = {}
    for c in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(f for f in c.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if files:
            out[c.name] = files
    return out


def load_imagenet(root: str | os.PathLike, workers: int = 4) -> TrainData:
    """An ImageNet-style folder: ``root/train/<class>/*.JPEG`` and ``root/val/<class>/*.JPEG``."""
    root = Path(root).expanduser()
    expected = f"expected {root}/train/<class>/*.JPEG and {root}/val/<class>/*.JPEG: {IMAGENET_ORIGIN}"
    if not (root / "train").is_dir() or not (root / "val").is_dir():
        raise FileNotFoundError(f"ImageNet not found: no train/ and val/ folders under {root}; {expected}")
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise ImportError("reading ImageNet folders needs Pillow: pip install pillow") from None
    train, val = _image_files(root / "train"), _image_files(root / "val")
    if not train or not val:
        raise FileNotFoundError(f"ImageNet folders under {root} hold no images in class sub-folders; {expected}")
    classes = {c: i for i, c in enumerate(train)}
    unknown = sorted(set(val) - set(classes))
    if unknown:
        raise ValueError(f"{root}/val has class folders missing from train/: {', '.join(unknown[:5])}"
                         f"{' …' if len(unknown) > 5 else ''}")

    def split(files: dict[str, list[Path]], is_train: bool) -> FolderSplit:
        pairs = [(f, classes[c]) for c, fs in files.items() for f in fs]
        return FolderSplit([f for f, _ in pairs], [y for _, y in pairs], is_train)

    return TrainData("imagenet", "imagenet", len(classes), split(train, True), split(val, False),
                     IMAGENET_MEAN, IMAGENET_STD, "folder", str(root), workers)


def synthetic_data(n: int, dataset: str = "cifar10", num_classes: int = 10, seed: int = 0) -> TrainData:
    """N training and N test images, ``num_classes`` classes (each a noisy colour), fixed by ``seed``.

    32 px for ``cifar10`` (CIFAR augmentation), 224 px for ``imagenet`` (flip only).
    """
    if n < 2:
        raise ValueError(f"--synthetic needs at least 2 images (got {n})")
    if dataset not in RECIPES:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(RECIPES)}")
    r = 32 if dataset == "cifar10" else 224
    g = torch.Generator().manual_seed(seed)
    colours = torch.rand(num_classes, 3, 1, 1, generator=g) * 255

    def split() -> TensorSplit:
        labels = torch.randperm(n, generator=g) % num_classes
        noise = torch.randn(n, 3, r, r, generator=g) * 48
        return TensorSplit((colours[labels] + noise).clamp(0, 255).round().to(torch.uint8), labels)

    mean, std = (CIFAR_MEAN, CIFAR_STD) if dataset == "cifar10" else (IMAGENET_MEAN, IMAGENET_STD)
    return TrainData(f"synthetic-{dataset}-{n}", dataset, num_classes, split(), split(), mean, std,
                     "cifar" if dataset == "cifar10" else "flip", f"synthetic ({n} + {n} images, seed {seed})")


def load_data(dataset: str = "cifar10", data_root: str | os.PathLike | None = None, synthetic: int | None = None,
              workers: int = 4) -> TrainData:
    """The data of ``dataset`` (``cifar10`` or ``imagenet``) from ``data_root``, or ``synthetic`` images."""
    if dataset not in RECIPES:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(RECIPES)}")
    if synthetic is not None:
        return synthetic_data(synthetic, dataset)
    if data_root is None:
        origin = CIFAR_ORIGIN if dataset == "cifar10" else IMAGENET_ORIGIN
        raise FileNotFoundError(f"no data: pass --data-root DATA_ROOT (for {dataset}: {origin}) "
                                "or --synthetic N for a random smoke-test data set")
    return load_cifar10(data_root) if dataset == "cifar10" else load_imagenet(data_root, workers)


# ----------------------------------------------------------------------------- augmentation


def random_crop_flip(x: torch.Tensor, pad: int = 4, flip: bool = True) -> torch.Tensor:
    """Per sample: a random crop of the zero-padded image back to its size, then a horizontal flip (p=0.5).

    Offsets come from the global (CPU) torch generator; the gather runs on ``x``'s device.
    """
    b, c, h, w = x.shape
    dy = torch.randint(0, 2 * pad + 1, (b,))
    dx = torch.randint(0, 2 * pad + 1, (b,))
    rows = dy[:, None] + torch.arange(h)
    cols = dx[:, None] + torch.arange(w)
    if flip:
        flips = torch.rand(b) < 0.5
        cols = torch.where(flips[:, None], cols.flip(1), cols)
    padded = nn.functional.pad(x, (pad, pad, pad, pad))
    dev = x.device
    return padded[torch.arange(b, device=dev)[:, None, None, None], torch.arange(c, device=dev)[None, :, None, None],
                  rows.to(dev)[:, None, :, None], cols.to(dev)[:, None, None, :]]


def random_flip(x: torch.Tensor) -> torch.Tensor:
    flips = (torch.rand(x.shape[0]) < 0.5).to(x.device)
    return torch.where(flips[:, None, None, None], x.flip(3), x)


def cutout(x: torch.Tensor, length: int, centers: torch.Tensor | None = None) -> torch.Tensor:
    """Zero a ``length``×``length`` square per image, centred at a uniform random pixel, clipped at the border.

    ``centers`` (B, 2) of (row, col) fixes the centres (tests); else the global torch generator draws them.
    """
    b, _, h, w = x.shape
    if centers is None:
        centers = torch.stack([torch.randint(0, h, (b,)), torch.randint(0, w, (b,))], dim=1)
    cy, cx = centers[:, 0].long(), centers[:, 1].long()
    y1, y2 = (cy - length // 2).clamp(0, h), (cy + length // 2).clamp(0, h)
    x1, x2 = (cx - length // 2).clamp(0, w), (cx + length // 2).clamp(0, w)
    r, c = torch.arange(h), torch.arange(w)
    inside = ((r >= y1[:, None]) & (r < y2[:, None]))[:, :, None] & ((c >= x1[:, None]) & (c < x2[:, None]))[:, None, :]
    return x.masked_fill(inside[:, None].to(x.device), 0.0)


def _order_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % (2**63)


def _batch_indices(n: int, batch_size: int, shuffle: bool, seed: int, epoch: int) -> list[torch.Tensor]:
    """The epoch's batches: a permutation fixed by (seed, epoch) — so a resumed epoch sees the same order."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(_order_seed(seed, epoch))) if shuffle \
        else torch.arange(n)
    batches = list(order.split(batch_size))
    if shuffle and len(batches) > 1 and len(batches[-1]) < 2:
        batches.pop()  # a 1-sample batch breaks BatchNorm on 1×1 maps (auxiliary head)
    return batches


def _batches(data: TrainData, split: TensorSplit | FolderSplit, batches: list[torch.Tensor], train: bool,
             device: torch.device, cutout_len: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Normalised (and, for training, augmented) batches on ``device``."""
    mean = torch.tensor(data.mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(data.std, device=device).view(1, 3, 1, 1)
    if isinstance(split, TensorSplit):
        def gen():
            for idx in batches:
                idx = idx.to(split.images.device)
                yield split.images[idx], split.labels[idx]
        source = gen()
    else:
        if not batches:
            return
        source = iter(torch.utils.data.DataLoader(
            split, batch_sampler=[b.tolist() for b in batches], num_workers=data.workers,
            pin_memory=device.type == "cuda"))
    for x, y in source:
        x = x.to(device, non_blocking=True).float().div_(255.0)
        y = y.to(device, non_blocking=True)
        if train and data.augment == "cifar":
            x = random_crop_flip(x, 4)
        elif train and data.augment == "flip":
            x = random_flip(x)
        x = (x - mean) / std
        if train and cutout_len > 0 and data.augment in ("cifar", "flip"):
            x = cutout(x, cutout_len)
        yield x, y


# ----------------------------------------------------------------------------- model


def build_model(genotype: Genotype, config: TrainConfig, dataset: str, num_classes: int) -> nn.Module:
    """The DARTS CIFAR network (``cifar10``) or ImageNet network (``imagenet``) for the recipe."""
    aux = config.auxiliary_weight > 0
    if dataset == "imagenet":
        from ..spaces.darts_imagenet import build_imagenet

        return build_imagenet(genotype, C=config.C, layers=config.layers, num_classes=num_classes, auxiliary=aux)
    from ..spaces.darts_net import build

    return build(genotype, C=config.C, layers=config.layers, num_classes=num_classes, auxiliary=aux)


def count_params_m(model: nn.Module) -> float:
    """Parameters in millions, the auxiliary head excluded (as papers report)."""
    return sum(p.numel() for n, p in model.named_parameters() if not n.startswith("auxiliary_head")) / 1e6


def load_genotype(text: str) -> Genotype:
    """A ``Genotype(...)`` string, or a file: ``swapnas search``'s result.json (its ``best``) or the string itself."""
    s = text.strip()
    if s.startswith("Genotype("):
        return parse(s)
    path = Path(s).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"--genotype {text!r} is neither a 'Genotype(normal=[...], ...)' string nor an "
                                "existing file (a result.json of `swapnas search --space darts`)")
    content = path.read_text()
    try:
        value = json.loads(content)
    except json.JSONDecodeError:
        return parse(content)
    if isinstance(value, dict):
        if value.get("space", "darts") != "darts":
            raise ValueError(f"{path} is a {value['space']!r} search result; `swapnas train` trains DARTS genotypes")
        if not isinstance(value.get("best"), str):
            raise ValueError(f"{path} has no 'best' genotype string (expected a result.json of `swapnas search`)")
        return parse(value["best"])
    if isinstance(value, str):
        return parse(value)
    raise ValueError(f"{path} holds no DARTS genotype (expected a result.json of `swapnas search`)")


# ----------------------------------------------------------------------------- state


def _rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": (np_state[0], np_state[1].tolist(), *np_state[2:]),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _write_json(path: Path, value) -> None:
    _write_atomic(path, lambda p: p.write_text(json.dumps(value, indent=1)))


def _check_resume(ckpt: dict, path: Path, genotype: Genotype, config: TrainConfig, data: TrainData, seed: int) -> None:
    """Raise ValueError naming every difference between the checkpoint's run and the requested one."""
    fix = f"use another --out, or delete {path} to start afresh"
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a `swapnas train` checkpoint of format {CHECKPOINT_FORMAT}; {fix}")
    diffs = []
    if ckpt["genotype"] != format_genotype(genotype):
        diffs.append(f"genotype: checkpoint {ckpt['genotype']}, asked {format_genotype(genotype)}")
    asked = asdict(config)
    for key in sorted(set(asked) | set(ckpt["config"])):
        if key != "epochs" and ckpt["config"].get(key) != asked.get(key):
            diffs.append(f"{key}: checkpoint {ckpt['config'].get(key)!r}, asked {asked.get(key)!r}")
    if ckpt["data"] != data.name:
        diffs.append(f"data: checkpoint {ckpt['data']!r}, asked {data.name!r}")
    if ckpt["seed"] != seed:
        diffs.append(f"seed: checkpoint {ckpt['seed']}, asked {seed}")
    if diffs:
        raise ValueError(f"cannot resume from {path}: it belongs to a different run ({'; '.join(diffs)}); "
                         f"only --epochs may change on resume; {fix}")
    if ckpt["epoch"] > config.epochs:
        raise ValueError(f"cannot resume from {path}: it has {ckpt['epoch']} epochs done, more than the "
                         f"{config.epochs} asked; {fix}")


# ----------------------------------------------------------------------------- loop


def _forward_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, criterion: nn.Module,
                  aux_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    out = model(x)
    logits, aux = out if isinstance(out, tuple) else (out, None)
    loss = criterion(logits, y)
    if aux is not None:
        loss = loss + aux_weight * criterion(aux, y)
    return loss, logits


def _train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
                scaler: torch.amp.GradScaler, criterion: nn.Module, config: TrainConfig,
                use_amp: bool) -> tuple[float, int]:
    """One SGD step; returns (objective, correct predictions of the main head)."""
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device_type=x.device.type, dtype=torch.float16, enabled=use_amp):
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
             max_steps: int | None = None, use_amp: bool = False, progress: bool = False) -> dict:
    """Test loss (plain cross-entropy), top-1 and top-5 accuracy (%) and the number of images seen."""
    from tqdm.auto import tqdm

    model.eval()
    batches = _batch_indices(len(data.test), batch_size, False, 0, 0)[:max_steps]
    criterion = nn.CrossEntropyLoss(reduction="sum")
    loss = top1 = top5 = n = 0.0
    k = min(5, data.num_classes)
    for x, y in tqdm(_batches(data, data.test, batches, False, device, 0), total=len(batches), desc="  test",
                     disable=not progress, leave=False):
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            logits = model(x)
        logits = logits.float()
        loss += criterion(logits, y).item()
        top = logits.topk(k, dim=1).indices
        top1 += (top[:, 0] == y).sum().item()
        top5 += (top == y[:, None]).any(1).sum().item()
        n += len(y)
    n = max(n, 1)
    return {"test_loss": loss / n, "test_acc": 100.0 * top1 / n, "test_top5": 100.0 * top5 / n, "test_n": int(n)}


def train(genotype: Genotype | str, config: TrainConfig, data: TrainData, out: str | os.PathLike,
          device: str | torch.device = "cpu", seed: int = 0, progress: bool = True, *,
          max_steps: int | None = None, eval_every: int = 1, amp: bool = True) -> dict:
    """Train ``genotype`` with ``config`` on ``data``, resuming from ``out/checkpoint.pt`` if present.

    Writes ``checkpoint.pt`` and ``history.json`` after every epoch and ``result.json`` at the end;
    returns the result dict (``test_acc`` is the final epoch's test accuracy in %). On Ctrl-C a
    checkpoint of the current (mid-epoch) state is saved, then KeyboardInterrupt propagates.
    """
    if isinstance(genotype, str):
        genotype = load_genotype(genotype)
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be >= 1 (got {max_steps})")
    if eval_every < 1:
        raise ValueError(f"eval_every must be >= 1 (got {eval_every})")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    device = torch.device(device)
    use_amp = amp and device.type == "cuda"
    say = (lambda msg: print(msg, file=sys.stderr)) if progress else log.info

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    model = build_model(genotype, config, data.dataset, data.num_classes).to(device)
    params_m = count_params_m(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=False)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    history: list[dict] = []
    start_epoch, start_step, partial, wall = 0, 0, None, 0.0
    if ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        _check_resume(ckpt, ckpt_path, genotype, config, data, seed)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if use_amp and ckpt["scaler"]:
            scaler.load_state_dict(ckpt["scaler"])
        _set_rng_state(ckpt["rng"])
        start_epoch, start_step, partial = ckpt["epoch"], ckpt["step"], ckpt["partial"]
        history, wall = ckpt["history"], ckpt["wall_seconds"]
        if start_epoch == config.epochs:
            say(f"{ckpt_path} has all {config.epochs} epochs done: nothing to train, rewriting result.json")
        else:
            where = f"epoch {start_epoch + 1}" + (f", batch {start_step + 1}" if start_step else "")
            say(f"resuming {ckpt_path} at {where} of {config.epochs}")
    if isinstance(data.train, TensorSplit):
        data.train, data.test = data.train.to(device), data.test.to(device)

    def save(epoch: int, step: int, stats: dict | None, rng: dict | None = None) -> None:
        state = {
            "format": CHECKPOINT_FORMAT, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": {"schedule": config.schedule, "last_epoch": epoch - 1 if step == 0 else epoch,
                          "lr": optimizer.param_groups[0]["lr"]},
            "scaler": scaler.state_dict(), "epoch": epoch, "step": step, "partial": stats, "rng": rng or _rng_state(),
            "config": asdict(config), "genotype": format_genotype(genotype), "data": data.name, "seed": seed,
            "history": history, "wall_seconds": wall,
        }
        _write_atomic(ckpt_path, lambda p: torch.save(state, p))

    from tqdm.auto import tqdm

    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    for epoch in range(start_epoch, config.epochs):
        lr = lr_at(config, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.drop_path_prob = drop_path_at(config, epoch)
        resumed = epoch == start_epoch and start_step > 0
        step = start_step if resumed else 0
        stats = dict(partial) if resumed and partial else {"loss": 0.0, "correct": 0, "n": 0, "seconds": 0.0}
        batches = _batch_indices(len(data.train), config.batch_size, True, seed, epoch)[:max_steps]
        t0 = time.perf_counter()
        rng_mark = None
        try:
            model.train()
            bar = tqdm(_batches(data, data.train, batches[step:], True, device, config.cutout),
                       total=len(batches), initial=step, desc=f"epoch {epoch + 1}/{config.epochs}",
                       disable=not progress, leave=False)
            batch_iter = iter(bar)
            while True:
                rng_mark = _rng_state()  # before the batch's augmentation: a resume repeats it exactly
                try:
                    x, y = next(batch_iter)
                except StopIteration:
                    break
                loss, correct = _train_step(model, x, y, optimizer, scaler, criterion, config, use_amp)
                stats["loss"] += loss * len(y)
                stats["correct"] += correct
                stats["n"] += len(y)
                step += 1
                rng_mark = None
                bar.set_postfix(loss=f"{stats['loss'] / stats['n']:.3f}",
                                acc=f"{100 * stats['correct'] / stats['n']:.1f}", lr=f"{lr:.4g}")
            bar.close()
            rng_mark = _rng_state()
            entry = {"epoch": epoch + 1, "train_loss": stats["loss"] / max(stats["n"], 1),
                     "train_acc": 100.0 * stats["correct"] / max(stats["n"], 1), "lr": lr,
                     "drop_path_prob": model.drop_path_prob, "steps": step, "train_n": stats["n"]}
            if (epoch + 1) % eval_every == 0 or epoch + 1 == config.epochs:
                entry.update(evaluate(model, data, device, config.batch_size, max_steps, use_amp, progress))
            else:
                entry.update({"test_loss": None, "test_acc": None, "test_top5": None, "test_n": 0})
        except KeyboardInterrupt:
            stats["seconds"] += time.perf_counter() - t0
            wall += time.perf_counter() - t0
            save(epoch, step, stats, rng_mark)
            say(f"interrupted: saved {ckpt_path} at epoch {epoch + 1}, batch {step}; rerun to resume")
            raise
        seconds = time.perf_counter() - t0
        wall += seconds
        entry["seconds"] = stats["seconds"] + seconds
        history.append(entry)
        save(epoch + 1, 0, None)
        _write_json(out / "history.json", history)
        if progress:
            test = f", test acc {entry['test_acc']:.2f}%" if entry["test_acc"] is not None else ""
            tqdm.write(f"epoch {epoch + 1}/{config.epochs}: train loss {entry['train_loss']:.4f}, "
                       f"train acc {entry['train_acc']:.2f}%{test}, lr {lr:.4g}, {entry['seconds']:.1f} s",
                       file=sys.stderr)

    _write_json(out / "history.json", history)
    last = history[-1] if history else {}
    result = {
        "genotype": format_genotype(genotype),
        "dataset": data.name,
        "data_source": data.source,
        "test_acc": last.get("test_acc"),
        "test_top5": last.get("test_top5"),
        "test_n": last.get("test_n"),
        "params_m": params_m,
        "epochs": len(history),
        "wall_seconds": wall,
        "complete": max_steps is None and len(history) == config.epochs,
        "max_steps": max_steps,
        "eval_every": eval_every,
        "seed": seed,
        "device": str(device),
        "amp": use_amp,
        "config": asdict(config),
    }
    _write_json(out / "result.json", result)
    return result


# ----------------------------------------------------------------------------- command line

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
    src.add_argument("--synthetic", type=positive_int, default=None, metavar="N",
                     help="train on N random images (10 classes) instead: smoke runs and tests")
    base = RECIPES["cifar10"]
    for f in fields(TrainConfig):
        kind = type(getattr(base, f.name))
        flag = _FLAG_NAMES.get(f.name, "--" + f.name.replace("_", "-"))
        extra = {"choices": list(SCHEDULES)} if f.name == "schedule" else {}
        p.add_argument(flag, dest=f"cfg_{f.name}", type=kind, default=None, help=f"{_FLAG_HELP[f.name]} "
                       f"(cifar10 {getattr(RECIPES['cifar10'], f.name)}, imagenet {getattr(RECIPES['imagenet'], f.name)})",
                       **extra)
    p.add_argument("--max-steps", type=positive_int, default=None, metavar="N",
                   help="at most N training and N test batches per epoch (smoke runs)")
    p.add_argument("--eval-every", type=positive_int, default=1, metavar="E",
                   help="evaluate on the test split every E epochs (and after the last)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 …")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=4, help="image-loading processes (imagenet folders only)")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--out", required=True, help="output folder: checkpoint.pt, history.json, result.json")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_train)
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """``RECIPES[args.dataset]`` with every ``--flag`` given on the command line applied."""
    overrides = {f.name: getattr(args, f"cfg_{f.name}") for f in fields(TrainConfig)
                 if getattr(args, f"cfg_{f.name}", None) is not None}
    return replace(RECIPES[args.dataset], **overrides)


def _cmd_train(args: argparse.Namespace) -> int:
    from ..session import resolve_device

    genotype = load_genotype(args.genotype)
    config = config_from_args(args)
    data = load_data(args.dataset, args.data_root, args.synthetic, workers=args.workers)
    device = resolve_device(args.device)
    out = Path(args.out)
    try:
        result = train(genotype, config, data, out, device=device, seed=args.seed, progress=not args.no_progress,
                       max_steps=args.max_steps, eval_every=args.eval_every, amp=not args.no_amp)
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
