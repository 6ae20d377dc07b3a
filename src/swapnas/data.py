"""Input batches: real images from the data directory or torchvision-format folders.

Rules (also in docs/protocol.md):
- Real images are the default. ``synthetic`` (standard normal noise) is used only
  when asked for by name.
- The batch is drawn once per (dataset, seed, size) from the available images
  by a seeded permutation, so every architecture sees the same batch.
- Labels outside ``0..num_classes-1`` (the bundled ImageNet stand-in carries
  ImageNet-1k labels) are mapped to ``label % num_classes`` and the note says so.
- When fewer real images exist than the batch needs, the rule ``fill="augment"``
  fills the remaining slots with deterministic augmented copies (horizontal flip,
  then 4-pixel-padded random crops) of the real images and says so (``Batch.note``);
  ``fill="error"`` refuses instead. Nothing is padded silently.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import math
import numbers
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
import torch
from PIL import Image

# the bundle helpers and Batch live in .bundle (below .taskonomy, which builds on them); re-exported here
from .bundle import (
    DATA_ENV,
    DATA_ORIGIN,
    IMAGE_SUFFIXES,
    Batch,
    damaged,
    read_npz,
    read_pickle,
    require_file,
    resolve_data_dir,
)
from .errors import did_you_mean
from .taskonomy import TASKS, is_task, task_batch
from .tokens import GLUE_TASKS, is_token_task, token_batch

__all__ = ["DATA_ENV", "DATA_ORIGIN", "DATASETS", "Batch", "DatasetInfo", "dataset_info", "load_batch",
           "require_file", "resolve_data_dir"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    num_classes: int
    resolution: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    bundled: tuple[str, str, str]  # (npz file relative to data dir, x key, y key)


DATASETS: dict[str, DatasetInfo] = {
    "cifar10": DatasetInfo(
        "cifar10", 10, 32, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
        ("images/cifar10_test_2000_jpegq75.npz", "x", "y"),
    ),
    "cifar100": DatasetInfo(
        "cifar100", 100, 32, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762),
        ("images/foolbox_real_samples.npz", "cifar100_x", "cifar100_y"),
    ),
    "imagenet16-120": DatasetInfo(
        "imagenet16-120", 120, 16,
        (122.68 / 255, 116.66 / 255, 104.01 / 255), (63.22 / 255, 61.26 / 255, 65.09 / 255),
        ("images/foolbox_real_samples.npz", "imagenet_x16", "imagenet_y_in1k"),
    ),
    # ImageNet-1k for DARTS ImageNet search: the bundled stand-in is 20 val images at 64 px
    "imagenet": DatasetInfo(
        "imagenet", 1000, 64, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225),
        ("images/foolbox_real_samples.npz", "imagenet_x64", "imagenet_y_in1k"),
    ),
}


def dataset_info(name: str, also: Sequence[str] = ()) -> DatasetInfo:
    """The image dataset ``name``; a ValueError naming it and the datasets, with ``also`` (the caller's other names)."""
    try:
        return DATASETS[name]
    except KeyError:
        known = [*DATASETS, *also]
        raise ValueError(f"unknown dataset {name!r}{did_you_mean(name, known)}; choose one of "
                         f"{', '.join(known)}") from None


# ----------------------------------------------------------------------------- image sources


def _bundled_images(info: DatasetInfo, data_dir: Path) -> tuple[np.ndarray, np.ndarray, str]:
    rel, xkey, ykey = info.bundled
    path = require_file(data_dir, rel)
    x, y = read_npz(path, (xkey, ykey))
    y = y.astype(np.int64)
    if x.ndim != 4 or x.shape[-1] != 3 or len(x) != len(y):
        raise damaged(path, DATA_ORIGIN, f"{xkey} has shape {x.shape} and {ykey} {y.shape}; expected (N, H, W, 3) "
                                         "images and N labels")
    return x, y, f"{rel}:{xkey}"


def rgb_image(img: Image.Image) -> Image.Image:
    """``img`` as 8-bit RGB. 16-bit greyscale (Pillow's modes ``I;16*``, e.g. a 16-bit PNG; and mode ``I``, 32-bit
    integers, when a value exceeds 255: older Pillows open 16-bit PNGs so) is scaled by 255/65535 first: Pillow's
    ``convert("RGB")`` (and so torchvision's default loader) clips its values at 255, which turns nearly every such
    image white. A mode-``I`` image whose values all fit in 0..255 keeps them."""
    if img.mode == "I" or img.mode.startswith("I;16"):
        wide = np.asarray(img, dtype=np.float64)
        if img.mode != "I" or (wide.size > 0 and float(np.max(wide)) > 255):
            wide = np.rint(wide / 257.0)
        img = Image.fromarray(np.clip(wide, 0, 255).astype(np.uint8), mode="L")
    return img.convert("RGB")


def _image(path: Path, side: int) -> np.ndarray:
    """One class-folder image as (side, side, 3) uint8; a file that is not a readable image is a DataFileError."""
    try:
        with Image.open(path) as img:
            return np.asarray(rgb_image(img).resize((side, side)))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # PIL's UnidentifiedImageError is an OSError
        raise damaged(path, "your --image-root", f"not a readable image ({exc}); remove or replace it") from None


def _pickle_images(path: Path, raw: np.ndarray, y: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W, 3) uint8 images of a CIFAR / ImageNet16 pickle's (N, 3·s·s) rows at their own side s,
    resized to ``resolution`` where it differs (as class-folder images are), and the labels."""
    side = int(round(math.sqrt(raw.shape[1] / 3))) if raw.ndim == 2 else 0
    if side < 1 or 3 * side * side != raw.shape[1] or len(raw) != len(y):
        raise damaged(path, "your --image-root", f"data has shape {raw.shape} and {len(y)} labels; expected one "
                      "row of 3 x side x side pixel values per label")
    x = raw.astype(np.uint8).reshape(-1, 3, side, side).transpose(0, 2, 3, 1)
    if side != resolution:
        x = np.stack([np.asarray(Image.fromarray(img).resize((resolution, resolution))) for img in x])
    return x, y


def _folder_images(info: DatasetInfo, root: Path, size: int,
                   seed: int) -> tuple[np.ndarray, np.ndarray, str, int | None]:
    """torchvision / benchmark-format folders: CIFAR pickles, ImageNet16 pickles, or class folders.

    Class folders: the ``size`` files of the seeded draw are chosen from the file list before any
    image is opened (returned in draw order, with the number of files they were drawn from). A hidden folder
    (``.ipynb_checkpoints``) is no class (session 53: it took label 0 and shifted the others')."""
    if not root.exists():
        raise FileNotFoundError(f"--image-root {root} does not exist; give the folder of your images")
    candidates = {
        "cifar10": [("cifar-10-batches-py", "test_batch", "labels")],
        "cifar100": [("cifar-100-python", "test", "fine_labels")],
        "imagenet16-120": [("ImageNet16", "val_data", "labels"), (".", "val_data", "labels")],
    }.get(info.name, [])
    for sub, fname, lkey in candidates:
        path = root / sub / fname
        if path.is_file():
            d = read_pickle(path, ("data", lkey))
            raw = np.asarray(d["data"])
            if raw.dtype.kind == "f" and not np.isfinite(raw).all():
                raise damaged(path, "your --image-root", f"{int((~np.isfinite(raw)).sum())} non-finite pixel value(s) "
                              "(NaN/inf); images must hold 0..255 values")
            x, y = _pickle_images(path, raw, np.asarray(d[lkey], dtype=np.int64), info.resolution)
            if info.name == "imagenet16-120":  # labels 1..1000; the benchmark keeps classes 1..120
                keep = (y >= 1) & (y <= 120)
                x, y = x[keep], y[keep] - 1
            return x, y, str(path), None
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []
    files = [(f, i) for i, c in enumerate(classes) for f in sorted(c.iterdir())
             if f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        wanted = ", ".join(f"{s}/{f}" for s, f, _ in candidates)
        raise FileNotFoundError(
            f"no {info.name} images under {root}: expected {wanted} (torchvision / benchmark format) "
            "or one sub-folder of images per class"
        )
    r = info.resolution
    chosen = [files[i] for i in np.random.default_rng(seed).permutation(len(files))[:size]]
    x = np.stack([_image(f, r) for f, _ in chosen])
    return x, np.array([i for _, i in chosen], dtype=np.int64), str(root), len(files)


def _augment_fill(x: np.ndarray, y: np.ndarray, need: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic fill: flip every real image, then padded random crops, cycling."""
    n, h, w, _ = x.shape
    extra_x: list[np.ndarray] = []
    extra_y: list = []
    k = 0
    while len(extra_x) < need:
        src = x[k % n]
        if k < n:
            img = src[:, ::-1]
        else:
            padded = np.pad(src, ((4, 4), (4, 4), (0, 0)), mode="reflect")
            dy, dx = rng.integers(0, 9, size=2)
            img = padded[dy : dy + h, dx : dx + w]
            if rng.random() < 0.5:
                img = img[:, ::-1]
        extra_x.append(np.ascontiguousarray(img))
        extra_y.append(y[k % n])
        k += 1
    return np.concatenate([x, np.stack(extra_x)]), np.concatenate([y, np.array(extra_y)])


def _task_batch(dataset: str, size: int, *, data_dir: str | os.PathLike | None,
                image_root: str | os.PathLike | None, inputs: str, seed: int, resolution: int | None,
                labels: bool) -> Batch:
    """A TransNAS task's stand-in batch; only the bundled real images are allowed. Its note (what the targets are)
    goes to the console where a scored metric reads them (docs/spaces.md; session 53: it went to report.md alone)."""
    if inputs != "real" or image_root is not None:
        raise ValueError(f"{dataset}: TransNAS tasks are scored on the bundled stand-in images only "
                         "(no --inputs synthetic / --image-root)")
    batch = task_batch(dataset, size, data_dir=data_dir, seed=seed, resolution=resolution)
    _logged({"targets": batch.note} if labels else {}, labels)
    return batch


def _token_batch(dataset: str, size: int, *, image_root: str | os.PathLike | None, inputs: str, seed: int,
                 length: int | None, objective: str | None) -> Batch:
    """A GLUE task's batch of token ids (:mod:`swapnas.tokens`); no image folder applies."""
    if not is_token_task(dataset):
        raise ValueError(f"{dataset}: objective={objective!r} applies to token tasks only (FlexiBERT's --net "
                         "objective=mlm); image batches carry their class labels")
    if image_root is not None:
        raise ValueError(f"{dataset}: token batches come from pydoc_data.topics; --image-root does not apply")
    return token_batch(dataset, size, inputs=inputs, seed=seed, length=length, objective=objective or "cls")


def _no_image_options(dataset: str, **given: object) -> None:
    """--inputs synthetic: a ValueError naming the options (not None) that describe real images."""
    named = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None]
    if named:
        raise ValueError(f"--inputs synthetic draws N(0, 1) noise of {dataset}'s shape: {', '.join(named)} "
                         f"describe{'' if len(named) > 1 else 's'} real images and would be ignored; drop it, or score "
                         "your own images with --inputs real and --image-root DIR")


def _synthetic_batch(info: DatasetInfo, dataset: str, size: int, seed: int) -> Batch:
    """Standard normal inputs and uniform labels from a generator seeded with ``seed`` (asked for by name only)."""
    r = info.resolution
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(size, 3, r, r, generator=g, dtype=torch.float32)  # float32 whatever the default dtype
    t = torch.randint(0, info.num_classes, (size,), generator=g)
    return Batch(x, t, info.num_classes, dataset, "synthetic N(0,1) noise", 0,
                 "synthetic inputs (asked for): N(0, 1) noise")


def _draw(info: DatasetInfo, dataset: str, x: np.ndarray, y: np.ndarray, source: str, size: int, seed: int,
          fill: str, drawn_from: int | None = None) -> tuple[np.ndarray, np.ndarray, int, dict[str, str]]:
    """The seeded draw of ``size`` images: labels mapped into range, a shortfall filled by the ``fill`` rule.
    ``drawn_from``: ``x`` is already the draw from that many images (class folders: only the drawn
    files were opened); the generator advances exactly as if the draw were made here.

    Returns (images, labels, the number of real images, the notes on what was mapped or filled, by kind:
    ``labels``, ``fill``).
    """
    if not len(x):  # e.g. an ImageNet16 pickle whose every label is beyond the 120 classes
        raise ValueError(f"{dataset}: {source} holds no usable images; check the folder (--image-root) or the data "
                         "bundle")
    rng = np.random.default_rng(seed)
    order = rng.permutation(drawn_from or len(x))[:size]
    if drawn_from is None:
        x, y = x[order], y[order]
    n_real, notes = len(x), {}
    if len(y) and (y.min() < 0 or y.max() >= info.num_classes):
        # the bundled ImageNet stand-in carries ImageNet-1k labels, not ImageNet16-120 ones
        y = y % info.num_classes
        notes["labels"] = (f"{dataset}: labels outside 0..{info.num_classes - 1} in {source} were mapped to "
                           f"label % {info.num_classes} (surrogate labels for label-based metrics)")
    if n_real < size:
        if fill != "augment":
            raise ValueError(
                f"{dataset}: only {n_real} real images in {source}, the batch needs {size}; "
                "use a smaller batch, a full dataset folder (--image-root), or --fill augment (fill='augment' in Python)"
            )
        x, y = _augment_fill(x, y, size - n_real, rng)
        notes["fill"] = (f"{dataset}: {n_real} real images available, batch needs {size}; "
                         f"{size - n_real} filled with flipped / shifted copies (rule: fill=augment)")
    return x, y, n_real, notes


def _normalise(info: DatasetInfo, x: np.ndarray) -> torch.Tensor:
    """(S, H, W, 3) uint8 images as a contiguous (S, 3, H, W) float tensor normalised with the dataset's mean/std."""
    t = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(info.mean, dtype=torch.float32).view(1, 3, 1, 1)  # float32 whatever the default dtype
    std = torch.tensor(info.std, dtype=torch.float32).view(1, 3, 1, 1)  # (float64 ones made float64 batches: 64)
    return ((t - mean) / std).contiguous()


def load_batch(
    dataset: str,
    size: int,
    *,
    data_dir: str | os.PathLike | None = None,
    image_root: str | os.PathLike | None = None,
    inputs: str = "real",
    seed: int = 0,
    fill: str = "augment",
    resolution: int | None = None,
    num_classes: int | None = None,
    mean: tuple[float, float, float] | None = None, std: tuple[float, float, float] | None = None,
    objective: str | None = None, labels: bool = True,
) -> Batch:
    """One input batch of ``size`` samples for ``dataset``.

    Args:
        dataset, size: ``cifar10``, ``cifar100``, ``imagenet16-120``, ``imagenet``; the number of samples S.
        data_dir: the bundle, else ``$SWAPNAS_DATA``, else ``$XDG_DATA_HOME``'s (``~/.local/share``'s) ``swapnas/data``.
        image_root: a torchvision-format dataset folder; takes precedence over ``data_dir``.
        inputs: ``real`` (default) or ``synthetic`` (N(0, 1) noise, a GLUE task's uniform word ids; explicit only).
        seed: picks which images form the batch (not the architecture seeds).
        fill: ``augment`` or ``error`` when fewer real images than ``size`` exist.
        resolution: TransNAS tasks: the image size of the stand-in batch (default 64); with ``image_root``: the size
            the images are resized to (default: the dataset's).
        num_classes, mean, std: with ``image_root``, your own images' classes (the scored network's output size) and
            per-channel normalisation (default: the dataset's).
        labels: whether a scored metric reads the labels; without one, that labels were mapped into range (the
            bundled ImageNet16-120 stand-in) is logged at INFO, not as a warning (the batch's note keeps it).

    A GLUE task name (``glue``, ``cola`` … ``sts``) gives a batch of token ids (:mod:`swapnas.tokens`; ``resolution``
    is the sequence length, default 128; ``objective``: ``cls`` or masked-token ``mlm``). A TransNAS-Bench-101 task
    name (``class_object`` … ``segmentsemantic``) gives that task's stand-in batch (:mod:`swapnas.taskonomy`: no
    Taskonomy images exist offline).
    """
    _check_draw(size, seed, fill, dataset, image_root)  # first: every kind of batch (a task slices its images by size)
    if is_token_task(dataset) or objective not in (None, "cls"):  # FlexiBERT GLUE tasks: token ids (S, L)
        return _token_batch(dataset, size, image_root=image_root, inputs=inputs, seed=seed, length=resolution,
                            objective=objective)
    if is_task(dataset):
        return _task_batch(dataset, size, data_dir=data_dir, image_root=image_root, inputs=inputs, seed=seed,
                           resolution=resolution, labels=labels)
    info = dataset_info(dataset, (*GLUE_TASKS, *TASKS))  # every kind named (session 62: "glu" was offered 4 images)
    own = {"num_classes": num_classes, "mean": mean, "std": std, "resolution": resolution}
    if inputs == "synthetic":
        _no_image_options(dataset, image_root=image_root, **own)
        return _synthetic_batch(info, dataset, size, seed)
    if inputs != "real":
        raise ValueError(f"inputs must be 'real' or 'synthetic' (got {inputs!r})")
    if image_root is not None:
        info = replace(info, **_own_images(**own))
        x, y, source, drawn_from = _folder_images(info, Path(image_root), size, seed)
    elif any(v is not None for v in own.values()):
        raise ValueError("--num-classes, --mean, --std and --resolution describe your own images: they need "
                         f"--image-root (image_root); the bundled {dataset} images keep their classes and size")
    else:
        (x, y, source), drawn_from = _bundled_images(info, resolve_data_dir(data_dir)), None
    x, y, n_real, notes = _draw(info, dataset, x, y, source, size, seed, fill, drawn_from)
    return Batch(_finite(_normalise(info, x), dataset, source), torch.from_numpy(y), info.num_classes, dataset,
                 source, n_real, _logged(notes, labels))


def _logged(notes: dict[str, str], labels: bool) -> str:
    """The batch's note from :func:`_draw`'s, each logged once here (the CLI's printed protocol leaves it out;
    report.md keeps it): a warning, but remapped labels only at INFO where no scored metric reads ``labels``; within
    a call of a function marked :func:`notes_once`, a note already logged is not repeated."""
    seen = _SEEN.get()
    for kind, text in notes.items():
        if seen is None or text not in seen:
            log.log(logging.WARNING if labels or kind != "labels" else logging.INFO, text)
        if seen is not None:
            seen.add(text)
    return "; ".join(notes.values())


_SEEN: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("swapnas_batch_notes", default=None)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def notes_once(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """``fn`` logging each batch note once however many batches it loads (a search loads its first stage's and its
    second stage's: session 61, ImageNet16-120's label note was logged twice)."""
    @functools.wraps(fn)
    def once(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        token = _SEEN.set(set())
        try:
            return fn(*args, **kwargs)
        finally:
            _SEEN.reset(token)
    return once


def _check_draw(size: object, seed: object, fill: object = "augment", dataset: object = "", image_root: object = None
                ) -> None:
    """``size`` a whole number >= 1, ``seed`` one >= 0, ``fill`` a rule, ``image_root`` not '' (session 67: the current
    folder was read), else a ValueError naming it (sessions 57, 67); ``dataset`` a name, else a TypeError (64)."""
    if isinstance(image_root, str) and not image_root.strip():
        raise ValueError(f"image_root={image_root!r} is empty: give your images' folder, or None for the bundle's")
    if not isinstance(dataset, str):
        raise TypeError(f"load_batch: dataset is a name such as 'cifar10', 'class_object' or 'glue', not {dataset!r}")
    if fill not in ("augment", "error"):
        raise ValueError(f"fill must be 'augment' or 'error' (got {fill!r})")
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"batch size must be a whole number >= 1 (got {size!r})")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0 (got {seed!r})")


def _finite(inputs: torch.Tensor, dataset: str, source: str) -> torch.Tensor:
    """``inputs``, or a ValueError counting its NaN / inf values."""
    bad = int((~torch.isfinite(inputs)).sum())
    if bad:
        raise ValueError(f"{dataset}: the batch from {source} holds {bad} non-finite value(s) (NaN/inf) after "
                         "normalisation; check the images and --mean/--std")
    return inputs


def _own_images(**options: object) -> dict:
    """The given (not None) ``num_classes`` / ``resolution`` / ``mean`` / ``std`` of your images, checked:
    mean and std three finite numbers each, std > 0."""
    given: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    for name in ("num_classes", "resolution"):
        v = given.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1):
            raise ValueError(f"--{name.replace('_', '-')} must be a whole number >= 1 (got {v!r})")
    for name in ("mean", "std"):
        v = given.get(name)
        if v is not None and not _three_finite(v):
            raise ValueError(f"--{name} takes three finite numbers R,G,B (got {v!r})")
    if "std" in given and min(given["std"]) <= 0:
        raise ValueError(f"--std must be > 0 in every channel (got {given['std']!r})")
    return given


def _three_finite(v: object) -> bool:
    """Whether ``v`` is a sequence of three finite real numbers (numpy's too; not bools, not a string)."""
    return (isinstance(v, Sequence | np.ndarray) and not isinstance(v, str) and len(v) == 3
            and all(isinstance(c, numbers.Real) and not isinstance(c, bool) and math.isfinite(c) for c in v))
