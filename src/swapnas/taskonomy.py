"""Stand-in input batches for the TransNAS-Bench-101 (Taskonomy) tasks.

No Taskonomy image is available offline, so every task is scored on the same real
natural images: the 20 ImageNet validation images of the data bundle at 64×64
(``images/foolbox_real_samples.npz:imagenet_x64``), normalised with the ImageNet mean and
std, resized (bilinear, antialiased) when another resolution is asked for. What stands in
for each task's targets (used only by the label-based metrics):

===============  ==================================================================
task             targets
===============  ==================================================================
class_object     the image's ImageNet-1k label % (number of classes): surrogate labels
class_scene      the same, % (number of scene classes): surrogate labels
room_layout      seeded N(0, 1) vectors (no layout annotation exists): synthetic
jigsaw           genuine: each image's 3×3 tiles are shuffled by one of
                 ``num_classes`` fixed seeded permutations; the target is its index
autoencoder      genuine: the input image itself
normal           image-derived surrogate: unit vectors ∝ (−∂I/∂x, −∂I/∂y, 1) of the
                 luminance I (no surface normals exist for these images)
segmentsemantic  image-derived surrogate: luminance quantised into ``num_classes``
                 equal-count levels, per pixel
===============  ==================================================================

The input batch therefore says nothing about Taskonomy's indoor scenes; a grid column
on these tasks measures each metric on the task's network and head, not on its data.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

from .bundle import Batch, read_npz, require_file, resolve_data_dir
from .spaces.transnas import BENCH_RESOLUTION, TASKS, task_info

IMAGES = ("images/foolbox_real_samples.npz", "imagenet_x64", "imagenet_y_in1k")
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
SOURCE = "20 ImageNet val images at 64 px (foolbox_real_samples.npz:imagenet_x64), stand-in for Taskonomy"


def is_task(name: str) -> bool:
    return name in TASKS


def jigsaw_permutations(n: int, seed: int = 0) -> np.ndarray:
    """``n`` distinct permutations of the 9 tiles (the first is the identity), seeded."""
    if not 1 <= n <= 362880:
        raise ValueError(f"jigsaw needs 1..9! permutations (got {n})")
    rng = np.random.default_rng(seed)
    perms = [tuple(range(9))]
    seen = set(perms)
    while len(perms) < n:
        p = tuple(int(v) for v in rng.permutation(9))
        if p not in seen:
            seen.add(p)
            perms.append(p)
    return np.array(perms)


def shuffle_tiles(img: torch.Tensor, perm: np.ndarray) -> torch.Tensor:
    """(3, H, W) image with its 3×3 tiles rearranged: tile k of the output is tile perm[k] of the input.

    H and W are cropped to multiples of 3 first.
    """
    h, w = img.shape[1] // 3, img.shape[2] // 3
    tiles = [img[:, i * h:(i + 1) * h, j * w:(j + 1) * w] for i in range(3) for j in range(3)]
    rows = [torch.cat([tiles[perm[3 * i + j]] for j in range(3)], dim=2) for i in range(3)]
    return torch.cat(rows, dim=1)


def pseudo_normals(x: torch.Tensor) -> torch.Tensor:
    """(S, 3, H, W) unit vectors ∝ (−∂I/∂x, −∂I/∂y, 1) of the luminance of the normalised images."""
    lum = x.mean(dim=1, keepdim=True)
    gx = F.pad(lum[..., :, 1:] - lum[..., :, :-1], (0, 1, 0, 0))
    gy = F.pad(lum[..., 1:, :] - lum[..., :-1, :], (0, 0, 0, 1))
    n = torch.cat([-gx, -gy, torch.ones_like(lum)], dim=1)
    return n / n.norm(dim=1, keepdim=True)


def luminance_levels(x: torch.Tensor, k: int) -> torch.Tensor:
    """(S, H, W) int64 labels: the luminance cut into ``k`` levels at its quantiles."""
    lum = x.mean(dim=1)
    edges = torch.quantile(lum.flatten(), torch.linspace(0, 1, k + 1, dtype=lum.dtype)[1:-1])
    return torch.bucketize(lum, edges).long()


#: the largest side a stand-in batch is resized to: 4x the benchmark's
MAX_RESOLUTION = 1024


def task_batch(task: str, size: int, *, data_dir: str | os.PathLike | None = None, seed: int = 0, resolution: int | None = None,
               num_classes: int | None = None) -> Batch:
    """The stand-in batch of ``size`` images for a TransNAS task (see the module docstring).

    ``num_classes`` is the head's output size (default: the benchmark's, ``TASKS[task].size``).
    """
    info = task_info(task)
    k = num_classes or info.size
    if resolution is not None and not 1 <= resolution <= MAX_RESOLUTION:  # (session 62: 100000 px asked 1.9 TB in a
        raise ValueError(f"resolution (the stand-in images' side) must be in 1..{MAX_RESOLUTION} px, not "  # traceback)
                         f"{resolution}: the benchmark's networks take {BENCH_RESOLUTION} px (jigsaw: 64-px tiles)")
    rel, xkey, ykey = IMAGES
    x_all, y_all = read_npz(require_file(resolve_data_dir(data_dir), rel), (xkey, ykey))
    y_all = y_all.astype(np.int64)
    if size > len(x_all):
        raise ValueError(f"{task}: the Taskonomy stand-in has {len(x_all)} real images, the batch needs {size}; "
                         f"use --batch-size {len(x_all)} or less")
    order = np.random.default_rng(seed).permutation(len(x_all))[:size]
    x = torch.from_numpy(np.ascontiguousarray(x_all[order])).permute(0, 3, 1, 2).float() / 255.0
    if resolution is not None and resolution != x.shape[-1]:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
    x = (x - torch.tensor(MEAN, dtype=x.dtype).view(1, 3, 1, 1)) / torch.tensor(STD, dtype=x.dtype).view(1, 3, 1, 1)
    g = torch.Generator().manual_seed(seed)
    if task in ("class_object", "class_scene"):
        y = torch.from_numpy(y_all[order] % k)
        note = f"{task}: no Taskonomy images offline; ImageNet stand-in images with label % {k} (surrogate labels)"
    elif task == "jigsaw":
        perms = jigsaw_permutations(k, seed)
        y = torch.randint(0, k, (size,), generator=g)
        x = torch.stack([shuffle_tiles(img, perms[int(t)]) for img, t in zip(x, y)])
        note = f"jigsaw: ImageNet stand-in images with tiles shuffled by one of {k} seeded permutations (real targets)"
    elif task == "autoencoder":
        y = x.clone()
        note = "autoencoder: ImageNet stand-in images, target = the input (real targets)"
    elif task == "normal":
        y = pseudo_normals(x)
        note = "normal: ImageNet stand-in images, luminance-gradient pseudo-normals as targets (surrogate)"
    elif task == "segmentsemantic":
        y = luminance_levels(x, k)
        note = f"segmentsemantic: ImageNet stand-in images, {k} luminance levels per pixel as labels (surrogate)"
    elif task == "room_layout":
        y = torch.randn(size, k, generator=g, dtype=torch.float32)
        note = f"room_layout: ImageNet stand-in images, seeded N(0,1) {k}-d targets (synthetic)"
    else:  # pragma: no cover - task_info already rejected unknown names
        raise ValueError(task)
    return Batch(x.contiguous(), y.contiguous(), k, task, SOURCE, size, note, info.loss)
