"""TransNAS-Bench-101: the task table, task heads and network parts shared by both spaces.

TransNAS-Bench-101 (Duan et al., CVPR 2021) trains every backbone of two search spaces
(micro: 4,096 cells; macro: 3,256 residual skeletons) on seven Taskonomy tasks. The
facts below come from the benchmark's training code and configs (GitHub
``yawen-d/TransNASBench``, ``configs/train_from_scratch/<task>/config.py`` and
``lib/models``), from NASLib's copy of that code (``automl/NASLib``,
``naslib/search_spaces/transbench101/tnb101``) and from NASLib's NAS-Bench-Suite-Zero
files in the data bundle, whose stored ``params`` our networks reproduce exactly (see
:mod:`swapnas.benchmarks.transnas`).

Encoder skeleton (both spaces, official string ``<C>-<skeleton>-<cell>``):
    stem = Conv3×3(3→C/2, stride 2) → BN → ReLU-Conv3×3(C/2→C, stride 2)-BN, so the
    stem divides the resolution by 4; then one module per skeleton digit, each module
    two cells (micro) or two ResNet basic blocks (macro). Digit 1: same channels and
    resolution; 2: channels ×2; 3: resolution ÷2; 4: both. The first cell/block of a
    module makes the change.

Task heads (``TASKS``; input 256×256 for all tasks except jigsaw):
    class_object, class_scene, room_layout -- global average pool → Linear.
    jigsaw -- the image is cut into 3×3 tiles (the benchmark: 64×64 tiles from a
        255×255 image), every tile goes through the SAME encoder (siamese), each tile's
        features are pooled and the nine vectors concatenated → Linear(9·C_enc, 1000)
        over the benchmark's 1,000 permutations. Here :class:`TaskNet` cuts the input
        batch (S, 3, H, W) into a 3×3 grid of (H//3)×(W//3) tiles in row-major order
        (no shuffling: training-free scoring needs no puzzle labels), so the encoder
        sees 9·S tiles; a 5-D input (S, 9, 3, h, w) of ready-made tiles is used as is.
    autoencoder, normal -- the benchmark's 14-layer pix2pix-style generative decoder
        (Conv/ConvTranspose + BN + LeakyReLU(0.2), final Tanh) with 2 + n_down
        upsamplings, 3 output channels. The benchmark trains it inside a GAN; the
        discriminator is not part of the scored network (nor of NASLib's ``params``).
    segmentsemantic -- the benchmark's segmentation decoder (the same layer style,
        2 + n_down upsamplings, a final plain conv to 17 classes).

Differences from the benchmark, all documented: (1) the class counts of class_object
and class_scene -- the paper (Table 1) and the benchmark's configs train 75 object and
47 scene classes, NASLib's model builder uses 100 and 63, and NASLib's stored
``params`` are for 100/63 (``TaskInfo.naslib_size``; NASLib issue #190 notes the
mismatch); (2) decoder widths scale with ``C/64`` so that a small-C scoring net stays
small (exact at C=64); (3) the decoder layout is fixed by the number of downsamplings
(as in the benchmark at 256×256), and if the input size is not a multiple of
``2**(2+n_down)`` the dense output is resized (bilinear, no parameters) to the input's
H×W. ``nn.ReLU`` is used in the encoders (SWAP hooks it); the decoders keep the
benchmark's ``nn.LeakyReLU``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..patterns import PRIOR_CENTRE, PRIOR_WIDTH
from .ops import ReLUConvBN

#: base channels of the benchmark's networks
BENCH_C = 64
#: input resolution of the benchmark (all tasks but jigsaw; jigsaw tiles are 64×64)
BENCH_RESOLUTION = 256
JIGSAW_TILES = 9
#: task → rows of a hooked map per input sample (the space protocol's optional member): jigsaw's tiles
MAP_ROWS_PER_SAMPLE = {"jigsaw": JIGSAW_TILES}


@dataclass(frozen=True)
class TaskInfo:
    """One TransNAS-Bench-101 task.

    ``kind``: "class" | "regression" (a vector per image) or "dense-class" |
    "dense-regression" (a map per pixel). ``size``: the head's output size in the
    benchmark (classes, regression dims or output channels); ``naslib_size``: the size
    NASLib's builder uses (differs for class_object/class_scene). ``loss``: "ce" | "mse"
    | "l1". ``metric``: what the ground-truth number (NASLib's ``val_accuracy``) is.
    """

    name: str
    kind: str
    size: int
    naslib_size: int
    loss: str
    metric: str
    benchmark_key: str

    @property
    def dense(self) -> bool:
        return self.kind.startswith("dense")


#: the seven tasks, in the paper's order
TASKS: dict[str, TaskInfo] = {t.name: t for t in (
    TaskInfo("class_object", "class", 75, 100, "ce",
             "validation top-1 accuracy (%) over object classes (soft-label CE training)", "valid_top1"),
    TaskInfo("class_scene", "class", 47, 63, "ce",
             "validation top-1 accuracy (%) over scene classes (soft-label CE training)", "valid_top1"),
    TaskInfo("room_layout", "regression", 9, 9, "mse",
             "validation negative L2 (MSE) loss of the 9-d room layout, higher is better", "valid_neg_loss"),
    TaskInfo("jigsaw", "class", 1000, 1000, "ce",
             "validation top-1 accuracy (%) over the 1,000 tile permutations", "valid_top1"),
    TaskInfo("autoencoder", "dense-regression", 3, 3, "l1",
             "validation SSIM of the reconstructed 256×256 image", "valid_ssim"),
    TaskInfo("normal", "dense-regression", 3, 3, "l1",
             "validation SSIM of the predicted 256×256 surface-normal map", "valid_ssim"),
    TaskInfo("segmentsemantic", "dense-class", 17, 17, "ce",
             "validation pixel accuracy (%) over 17 semantic classes", "valid_acc"),
)}
TASK_NAMES: tuple[str, ...] = tuple(TASKS)


def task_info(task: str) -> TaskInfo:
    """The :class:`TaskInfo` of ``task``; the error lists the valid names."""
    try:
        return TASKS[task]
    except (KeyError, TypeError):
        raise ValueError(f"unknown TransNAS-Bench-101 task {task!r}; choose one of {', '.join(TASK_NAMES)}") from None


_TUPLE = re.compile(r"^\(\s*([0-9]{1,9}(?:\s*,\s*[0-9]{1,9})*)\s*,?\s*\)$")  # ASCII, at most 9 digits


def parse_int_tuple(text: str, length: int, what: str) -> tuple[int, ...]:
    """Parse a NASLib key like ``"(1, 0, 0, 2, 1, 0)"`` without ``eval``."""
    m = _TUPLE.match(text.strip())
    if not m:
        raise ValueError(f"{what} key {text!r} must look like '(1, 0, 0, 2, 1, 0)': "
                         f"{length} non-negative integers in parentheses")
    values = tuple(int(v) for v in m.group(1).split(","))
    if len(values) != length:
        raise ValueError(f"{what} key {text!r} must have {length} entries, found {len(values)}")
    return values


# ----------------------------------------------------------------------------- encoder parts


class Stem(nn.Sequential):
    """The benchmark's stem: resolution ÷4, 3 → C channels."""

    def __init__(self, C: int):
        if C < 2 or C % 2:
            raise ValueError(f"the TransNAS stem needs an even base channel count C >= 2, got C={C}")
        super().__init__(
            nn.Conv2d(3, C // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C // 2),
            ReLUConvBN(C // 2, C, 3, 2, 1),
        )


class ZeroMap(nn.Module):
    """The 'none' op: zeros with the shape of a (c_out, stride) op's output."""

    def __init__(self, c_out: int, stride: int):
        super().__init__()
        self.c_out, self.stride = c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        s = self.stride
        return x.new_zeros(n, self.c_out, -(-h // s), -(-w // s))


class FactorizedReduce(nn.Module):
    """Skip connection across a channel/resolution change: ReLU, two offset 1×1 convs, BN."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even output channel count, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_a = nn.Conv2d(c_in, c_out // 2, 1, stride=stride, bias=False)
        self.conv_b = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(shifted)], dim=1))


class BasicBlock(nn.Module):
    """The benchmark's ResNet basic block: two ReLU-Conv3×3-BN, 1×1-conv-BN shortcut on a change."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        if stride != 1 or c_in != c_out:
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


def skeleton_plan(skeleton: str, C: int) -> list[tuple[int, int, int]]:
    """(c_in, c_out, stride) of each module for a skeleton code like ``"41414"``."""
    plan = []
    c = C
    for digit in skeleton:
        if digit not in "1234":
            raise ValueError(f"skeleton {skeleton!r}: module code {digit!r} must be 1, 2, 3 or 4")
        code = int(digit)
        c_out = 2 * c if code in (2, 4) else c
        plan.append((c, c_out, 2 if code in (3, 4) else 1))
        c = c_out
    return plan


class Encoder(nn.Module):
    """Stem plus modules of two units each; ``unit(c_in, c_out, stride)`` makes one cell or block.

    ``c_out`` is the feature channel count and ``n_down`` the number of stride-2
    modules (the output is 1 / 2**(2 + n_down) of the input resolution, rounded up).
    """

    def __init__(self, skeleton: str, C: int, unit: Callable[..., nn.Module], units_per_module: int = 2) -> None:
        super().__init__()
        self.stem = Stem(C)
        modules = []
        plan = skeleton_plan(skeleton, C)
        for c_in, c_out, stride in plan:
            modules.append(nn.Sequential(unit(c_in, c_out, stride),
                                         *[unit(c_out, c_out, 1) for _ in range(units_per_module - 1)]))
        self.layers = nn.Sequential(*modules)
        self.c_out = plan[-1][1] if plan else C
        self.n_down = sum(1 for _, _, s in plan if s == 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.stem(x))


# ----------------------------------------------------------------------------- task heads


def _width(w: int, C: int) -> int:
    """A decoder width scaled by C/64 (the benchmark's width at C=64)."""
    return max(1, (w * C) // BENCH_C)


class ConvLayer(nn.Sequential):
    """Conv3×3 (bias) → optional BN → optional activation; upsample=True uses a ×2 ConvTranspose."""

    def __init__(self, c_in: int, c_out: int, upsample: bool = False, norm: bool = True,
                 act: nn.Module | None = None):
        if upsample:
            conv: nn.Module = nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)
        else:
            conv = nn.Conv2d(c_in, c_out, 3, stride=1, padding=1)
        layers = [conv]
        if norm:
            layers.append(nn.BatchNorm2d(c_out))
        if act is not None:
            layers.append(act)
        super().__init__(*layers)


def _leaky() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=False)


def _check_upsamples(n_up: int) -> None:
    if not 2 <= n_up <= 6:
        raise ValueError(f"a TransNAS dense decoder needs 2..6 upsamplings (2 + downsampling modules), got {n_up}")


class GenerativeDecoder(nn.Sequential):
    """The autoencoder/normal decoder: 13 conv layers + an output conv with Tanh, ``n_up`` ×2 steps.

    Layer widths at C=64 are 1024, 1024, 512, 512, 256, 128, 64, 64, 32, 32, 16, 32, 16;
    layers 3, 5, 7 and 9 upsample when n_up ≥ 6, 5, 4 and 3, layers 11 and 13 always.
    """

    # (width at C=64, smallest n_up at which the layer upsamples; 0 = always, 99 = never)
    LAYERS = ((1024, 99), (1024, 99), (512, 6), (512, 99), (256, 5), (128, 99), (64, 4),
              (64, 99), (32, 3), (32, 99), (16, 0), (32, 99), (16, 0))

    def __init__(self, c_in: int, n_up: int, c_out: int = 3, C: int = BENCH_C):
        _check_upsamples(n_up)
        layers = []
        c = c_in
        for w, up_from in self.LAYERS:
            w = _width(w, C)
            layers.append(ConvLayer(c, w, upsample=n_up >= up_from, act=_leaky()))
            c = w
        layers.append(ConvLayer(c, c_out, norm=False, act=nn.Tanh()))
        super().__init__(*layers)


class SegmentationDecoder(nn.Sequential):
    """The segmentsemantic decoder: Conv(→1024), 6−n_up halving convs, n_up−1 halving
    upsamplings, one more same-width upsampling, then a plain conv to the classes."""

    def __init__(self, c_in: int, n_up: int, c_out: int = 17, C: int = BENCH_C):
        _check_upsamples(n_up)
        w = 1024
        layers = [ConvLayer(c_in, _width(w, C), act=_leaky())]
        for _ in range(6 - n_up):
            layers.append(ConvLayer(_width(w, C), _width(w // 2, C), act=_leaky()))
            w //= 2
        for _ in range(n_up - 1):
            layers.append(ConvLayer(_width(w, C), _width(w // 2, C), upsample=True, act=_leaky()))
            w //= 2
        layers.append(ConvLayer(_width(w, C), _width(w, C), upsample=True, act=_leaky()))
        layers.append(ConvLayer(_width(w, C), c_out, norm=False, act=None))
        super().__init__(*layers)


class PoolLinear(nn.Sequential):
    """Global average pool → flatten → Linear (classification / regression head)."""

    def __init__(self, c_in: int, n_out: int):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(c_in, n_out))


def make_head(task: str, c_enc: int, n_down: int, n_out: int, C: int = BENCH_C) -> nn.Module:
    """``task``'s head on ``c_enc`` encoder channels after ``n_down`` stride-2 modules."""
    if task == "jigsaw":
        return nn.Linear(JIGSAW_TILES * c_enc, n_out)  # on the pooled, concatenated tile features
    if task in ("autoencoder", "normal"):
        return GenerativeDecoder(c_enc, 2 + n_down, n_out, C)
    if task == "segmentsemantic":
        return SegmentationDecoder(c_enc, 2 + n_down, n_out, C)
    task_info(task)
    return PoolLinear(c_enc, n_out)


class TaskNet(nn.Module):
    """A TransNAS encoder with one task's head; see the module docstring for each task."""

    def __init__(self, encoder: Encoder, task: str, num_classes: int | None = None, C: int = BENCH_C,
                 resolution: int | None = None):
        super().__init__()
        info = task_info(task)
        n_out = info.size if num_classes is None else int(num_classes)
        if n_out < 1:
            raise ValueError(f"num_classes (the {task} head's output size) must be >= 1, got {num_classes}")
        self.task, self.kind, self.num_outputs, self.resolution = task, info.kind, n_out, resolution
        self.encoder = encoder
        if task == "jigsaw":
            self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = make_head(task, encoder.c_out, encoder.n_down, n_out, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.task == "jigsaw":
            return self._jigsaw(x)
        out = self.head(self.encoder(x))
        if self.kind.startswith("dense") and out.shape[-2:] != x.shape[-2:]:
            out = F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return out

    def _jigsaw(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:
            if x.shape[1] != JIGSAW_TILES:
                raise ValueError(f"jigsaw input of shape {tuple(x.shape)} must hold {JIGSAW_TILES} tiles in dim 1")
            tiles = x
        else:
            s, ch, h, w = x.shape
            th, tw = h // 3, w // 3
            if th < 1 or tw < 1:
                raise ValueError(f"jigsaw input {h}×{w} is too small to cut into 3×3 tiles")
            tiles = (x[:, :, : 3 * th, : 3 * tw].reshape(s, ch, 3, th, 3, tw)
                     .permute(0, 2, 4, 1, 3, 5).reshape(s, JIGSAW_TILES, ch, th, tw))
        s = tiles.shape[0]
        feats = self.pool(self.encoder(tiles.flatten(0, 1))).flatten(1)  # (S·9, c), tile-major per sample
        return self.head(feats.reshape(s, -1))


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# Parameter counts of network parts, built once each on the meta device. A TransNAS
# net's size is the sum of its stem, its cells' edges (micro) or blocks (macro) and its
# head, so these cached parts make counting the whole space cheap; the tests check the
# sums against whole-network builds.

@functools.lru_cache(maxsize=None)
def _meta_count(factory: Callable[..., nn.Module], *args: Any) -> int:
    with torch.device("meta"):
        return param_count(factory(*args))


def stem_params(C: int) -> int:
    return _meta_count(Stem, C)


def block_params(c_in: int, c_out: int, stride: int) -> int:
    return _meta_count(BasicBlock, c_in, c_out, stride)


def head_params(task: str, c_enc: int, n_down: int, n_out: int | None, C: int = BENCH_C) -> int:
    n = task_info(task).size if n_out is None else int(n_out)
    return _meta_count(make_head, task, c_enc, n_down, n, C)


def meta_params(factory: Callable[..., nn.Module], *args: Any) -> int:
    """Parameters of ``factory(*args)`` (hashable args), built once on the meta device."""
    return _meta_count(factory, *args)


def net_params(body: int, plan: list[tuple[int, int, int]], task: str, num_classes: int | None, C: int) -> int:
    """Parameters of a TaskNet: the stem, ``body`` (the encoder's modules, laid out by ``plan``'s
    (c_in, c_out, stride) per module) and ``task``'s head."""
    task_info(task)
    n_down = sum(1 for *_, s in plan if s == 2)
    return stem_params(C) + body + head_params(task, plan[-1][1], n_down, num_classes, C)


# ----------------------------------------------------------------------------- size prior

def size_prior_from_range(lo_k: float, hi_k: float) -> tuple[float, float]:
    """The NB201 label-free rule μ = lo + c·(hi − lo), σ = (w·(hi − lo))², same constants."""
    return lo_k + PRIOR_CENTRE * (hi_k - lo_k), (PRIOR_WIDTH * (hi_k - lo_k)) ** 2


def size_prior_for(param_range_k: Callable[..., tuple[float, float]], net: dict,
                   num_classes: int | None) -> tuple[float, float]:
    """A TransNAS space's label-free μ, σ for ``swap_reg`` on the scored ``net``, from its
    ``param_range_k(task=, num_classes=, C=)``."""
    opts = {k: v for k, v in net.items() if k in ("task", "C")}
    return size_prior_from_range(*param_range_k(num_classes=num_classes, **opts))
