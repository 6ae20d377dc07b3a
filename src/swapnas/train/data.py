"""The training data: in-memory and image-folder splits, their loaders, augmentation and batching.

Nothing is downloaded at run time. The normalisation statistics are those of :data:`swapnas.data.DATASETS`.
Randomness (augmentation, loader seeds, folder transforms) comes from the run's streams when a
:class:`~swapnas.train.rng.RunRng` is passed, else from the global torch generator.
"""

from __future__ import annotations

import math
import os
from collections.abc import Generator
from contextlib import closing, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..bundle import IMAGE_SUFFIXES, damaged
from ..data import DATASETS, read_pickle, rgb_image
from .recipe import RECIPES
from .rng import RunRng

CIFAR_MEAN, CIFAR_STD = DATASETS["cifar10"].mean, DATASETS["cifar10"].std
IMAGENET_MEAN, IMAGENET_STD = DATASETS["imagenet"].mean, DATASETS["imagenet"].std
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
CIFAR_ORIGIN = ("download the CIFAR-10 python version (cifar-10-python.tar.gz) from "
                "https://www.cs.toronto.edu/~kriz/cifar.html and extract it into DATA_ROOT (or let torchvision's "
                "CIFAR10(root=DATA_ROOT, download=True) create it); nothing is downloaded at run time")
IMAGENET_ORIGIN = ("ILSVRC-2012 from https://image-net.org, the training images in train/<wnid>/*.JPEG and the 50,000 "
                   "validation images sorted into val/<wnid>/ (e.g. with the usual valprep.sh); nothing is "
                   "downloaded at run time")


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
    """Image files read with Pillow; ``train``: random-resized-crop + flip, else resize 256 + centre crop.

    The training transforms draw from the global torch generator: in a DataLoader worker that is the
    worker's (seeded by the loader), in the main process (``workers=0``) :func:`_batches` installs the
    run's stream around each fetch.
    """

    def __init__(self, files: list[Path], labels: list[int], train: bool, size: int = 224, resize: int = 256):
        self.files, self.labels, self.train, self.size, self.resize = files, labels, train, size, resize

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        try:
            with Image.open(self.files[i]) as im:
                img = rgb_image(im)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:  # (session 67: a bare traceback)
            raise damaged(self.files[i], IMAGENET_ORIGIN, f"not a readable image ({exc}); remove or replace it"
                          ) from None
        img = _random_resized_crop(img, self.size) if self.train else _resize_center_crop(img, self.resize, self.size)
        if self.train and torch.rand(()) < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        arr = np.asarray(img, dtype=np.uint8)
        return torch.from_numpy(arr.copy()).permute(2, 0, 1), self.labels[i]


def _random_resized_crop(img: Image.Image, size: int, scale: tuple[float, float] = (0.08, 1.0),
                         ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> Image.Image:
    """A random crop of ``scale`` of the area and aspect ratio in ``ratio`` (log-uniform), resized to size²."""
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


def _resize_center_crop(img: Image.Image, resize: int, size: int) -> Image.Image:
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
            d = read_pickle(folder / name, ("data", "labels"), CIFAR_ORIGIN)
            xs.append(_cifar_images(folder / name, np.asarray(d["data"])))
            ys.append(np.asarray(d["labels"]))
            _check_cifar_labels(folder / name, ys[-1], len(xs[-1]))
        return TensorSplit(torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys)))

    return TrainData("cifar10", "cifar10", 10, read(CIFAR_FILES[:5]), read(CIFAR_FILES[5:]),
                     CIFAR_MEAN, CIFAR_STD, "cifar", str(folder))


def _cifar_images(path: Path, data: np.ndarray) -> np.ndarray:
    """A CIFAR-10 pickle's ``data``, (N, 3072) bytes, as (N, 3, 32, 32) uint8; a ValueError naming ``path`` where it
    is not (session 62: floats in [0, 1] were cast to uint8, all black, and a wrong size said only "cannot reshape")."""
    if data.ndim == 4 and data.shape[1:] == (3, 32, 32):  # (N, 3, 32, 32), as reshaped: read as before
        data = data.reshape(len(data), -1)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or not len(data):
        raise ValueError(f"{path}: its data is {data.dtype} {data.shape}, not CIFAR-10's N x 3072 bytes (N >= 1); "
                         f"the file is damaged or not CIFAR-10's: {CIFAR_ORIGIN}")
    if data.dtype != np.uint8 and not (np.issubdtype(data.dtype, np.integer) and data.min() >= 0 and data.max() <= 255):
        unit = data.dtype.kind == "f" and data.min() >= 0 and data.max() <= 1  # (-1 was "in [0, 1]": mutation run)
        raise ValueError(f"{path}: its data is {data.dtype}{' in [0, 1]' * bool(unit)}, not CIFAR-10's "
                         "pixel bytes 0..255: store the images as uint8, as CIFAR-10's python version does")
    return data.astype(np.uint8).reshape(-1, 3, 32, 32)


def _check_cifar_labels(path: Path, labels: np.ndarray, images: int) -> None:
    """A ValueError naming ``path`` where its labels are not one class 0..9 per image (session 62: a label of 12 ended
    the first evaluation with "Target 12 is out of bounds", an epoch in)."""
    if labels.shape != (images,):
        raise ValueError(f"{path}: {images} images but labels of shape {labels.shape}; the file is damaged or not "
                         f"CIFAR-10's: {CIFAR_ORIGIN}")
    integers = np.issubdtype(labels.dtype, np.integer)
    if not integers or labels.min() < 0 or labels.max() > 9:
        bad = labels.dtype if not integers else int(labels[(labels < 0) | (labels > 9)][0])
        raise ValueError(f"{path}: labels must be CIFAR-10's classes, integers 0..9, found {bad}; the file is damaged "
                         f"or not CIFAR-10's: {CIFAR_ORIGIN}")


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
    if isinstance(data_root, str) and not data_root.strip():  # (the review of session 67: "." was read)
        raise ValueError(f"data_root={data_root!r} is empty: give the folder of the {dataset} data, or synthetic=N")
    if data_root is None:
        origin = CIFAR_ORIGIN if dataset == "cifar10" else IMAGENET_ORIGIN
        raise FileNotFoundError(f"no data: pass --data-root DATA_ROOT (for {dataset}: {origin}) "
                                "or --synthetic N for a random smoke-test data set")
    return load_cifar10(data_root) if dataset == "cifar10" else load_imagenet(data_root, workers)




def random_crop_flip(x: torch.Tensor, pad: int = 4, flip: bool = True, *,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Per sample: a random crop of the zero-padded image back to its size, then a horizontal flip (p=0.5).

    Offsets come from the CPU ``generator`` (None: the global one); the gather runs on ``x``'s device.
    """
    b, c, h, w = x.shape
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    rows = dy[:, None] + torch.arange(h)
    cols = dx[:, None] + torch.arange(w)
    if flip:
        flips = torch.rand(b, generator=generator) < 0.5
        cols = torch.where(flips[:, None], cols.flip(1), cols)
    padded = nn.functional.pad(x, (pad, pad, pad, pad))
    dev = x.device
    return padded[torch.arange(b, device=dev)[:, None, None, None], torch.arange(c, device=dev)[None, :, None, None],
                  rows.to(dev)[:, None, :, None], cols.to(dev)[:, None, None, :]]


def random_flip(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """A horizontal flip per sample (p=0.5), drawn from the CPU ``generator`` (None: the global one)."""
    flips = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device)
    return torch.where(flips[:, None, None, None], x.flip(3), x)


def cutout(x: torch.Tensor, length: int, centers: torch.Tensor | None = None, *,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero a ``length``×``length`` square per image, centred at a uniform random pixel, clipped at the border.

    ``centers`` (B, 2) of (row, col) fixes the centres (tests); else the CPU ``generator`` (None: the global
    one) draws them.
    """
    b, _, h, w = x.shape
    if centers is None:
        centers = torch.stack([torch.randint(0, h, (b,), generator=generator),
                               torch.randint(0, w, (b,), generator=generator)], dim=1)
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


def _source(data: TrainData, split: TensorSplit | FolderSplit, batches: list[torch.Tensor], device: torch.device,
            rng: RunRng | None) -> Generator[tuple[torch.Tensor, torch.Tensor], None, None]:
    """The raw (uint8) batches: indexed from memory, or read by a DataLoader whose seed comes from ``rng``."""
    if isinstance(split, TensorSplit):
        for idx in batches:
            idx = idx.to(split.images.device)
            yield split.images[idx], split.labels[idx]
        return
    if not batches:
        return
    loader = torch.utils.data.DataLoader(
        split, batch_sampler=[b.tolist() for b in batches], num_workers=data.workers,
        pin_memory=device.type == "cuda", generator=rng.cpu if rng is not None else None)
    installed = rng.installed if rng is not None else nullcontext
    batch_iter = iter(loader)
    try:
        while True:
            with installed():  # with workers=0 the FolderSplit transforms draw in this process
                try:
                    batch = next(batch_iter, None)
                except Exception as exc:  # noqa: BLE001 - raised again, a worker's in its own words
                    if (plain := _unwrapped(exc)) is exc:
                        raise
                    raise plain from None
            if batch is None:
                return
            yield batch
    finally:  # the workers stopped now (session 66: an error kept in a notebook kept them running)
        getattr(batch_iter, "_shutdown_workers", lambda: None)()


def _unwrapped(exc: Exception) -> Exception:
    """A DataLoader worker's error in its own words (torch raises it again with the worker's whole traceback as its
    message: session 66, 15 lines where ``--workers 0`` says one)."""
    text = str(exc)
    if not (text.startswith("Caught ") and "Original Traceback" in text):
        return exc
    last = _error_text(text)  # e.g. "PIL.UnidentifiedImageError: cannot identify image file '…'"
    # (torch's RuntimeError stands for a type it could not make again: its name is kept)
    message = last.split(": ", 1)[1] if ": " in last and type(exc) is not RuntimeError else last
    try:
        return type(exc)(message)
    except Exception:  # noqa: BLE001 - a type that takes other arguments
        return RuntimeError(message)


def _error_text(traceback: str) -> str:
    """The exception's own lines at the end of a traceback's text: those after its last frame (a frame's ``File``
    line, then its code and marker lines, indented deeper), all of them (session 67: a message of several lines was
    cut to its last)."""
    lines = traceback.strip().splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith('  File "')]
    start = frames[-1] + 1 if frames else len(lines) - 1
    while start < len(lines) - 1 and lines[start].startswith("    "):
        start += 1
    return "\n".join(lines[start:])


def _batches(data: TrainData, split: TensorSplit | FolderSplit, batches: list[torch.Tensor], train: bool,
             device: torch.device, cutout_len: int, rng: RunRng | None = None,
             ) -> Generator[tuple[torch.Tensor, torch.Tensor], None, None]:
    """Normalised (and, for training, augmented) batches on ``device``; randomness from ``rng`` (None: global)."""
    mean = torch.tensor(data.mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(data.std, device=device).view(1, 3, 1, 1)
    gen = rng.cpu if rng is not None else None
    with closing(_source(data, split, batches, device, rng)) as raw:  # (closed with this one: its workers stop)
        for x, y in raw:
            x = x.to(device, non_blocking=True).float().div_(255.0)
            y = y.to(device, non_blocking=True)
            if train and data.augment == "cifar":
                x = random_crop_flip(x, 4, generator=gen)
            elif train and data.augment == "flip":
                x = random_flip(x, generator=gen)
            x = (x - mean) / std
            if train and cutout_len > 0 and data.augment in ("cifar", "flip"):
                x = cutout(x, cutout_len, generator=gen)
            yield x, y

