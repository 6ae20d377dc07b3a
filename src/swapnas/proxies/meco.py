"""meco: MeCo, the minimum eigenvalue of the channel correlation of each layer's feature map.

Reference: T. Jiang, H. Wang, R. Bie, "MeCo: Zero-Shot NAS with One Data and
Single Forward Pass via Minimum Eigenvalue of Correlation", NeurIPS 2023; the authors' code
is github.com/HamsterMimi/MeCo (its NB201 correlation script ``correlation/NAS_Bench_201.py``).
Nothing is copied from it.

Which feature maps count: the paper sums over "each layer". ``meco`` (session 2) reads the
outputs of every ``nn.Conv2d``. The authors' code hooks **every module** (``named_modules()``:
the network itself, containers such as cells and ``nn.Sequential``, BatchNorm, ReLU, pooling, …)
and, for each output, correlates the rows of its first sample (the channels of a conv map; the
tokens of a (S, L, D) map; a 2-D output such as the logits gives rows of one value, whose
undefined correlations count as 0, so it adds 0); a container's output is counted again beside its
last child's, as there. ``meco_all`` (session 19) is that reading, on one sample as their script's
``--batch_size 1``. ``meco`` keeps its reading: it is a component of the recommended fitnesses
(``best.py``), whose stored scores and dev tables depend on it.

Non-finite maps: a NaN or inf map's correlations are undefined and count as 0, as in the authors'
code (which sets NaN/inf entries to 0), so an overflowing network gets a finite score, not a failure.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data import Batch
from ._common import forward_hooks
from .registry import register

LAYERS: dict[str, tuple[type[nn.Module], ...]] = {"conv": (nn.Conv2d,), "relu": (nn.ReLU,), "all": (nn.Module,)}


def channel_correlation(fmap: torch.Tensor) -> torch.Tensor:
    """c×c Pearson correlation of the channels of one (c, h, w) map (float64).

    A constant channel has undefined correlations; its row and column
    (diagonal included) are set to 0, i.e. the undefined entries count as 0.
    """
    x = fmap.double().reshape(fmap.shape[0], -1)
    x = x - x.mean(dim=1, keepdim=True)
    norms = x.norm(dim=1, keepdim=True)
    unit = torch.where(norms > 0, x / norms.clamp_min(torch.finfo(torch.float64).tiny), torch.zeros_like(x))
    return unit @ unit.T


def min_eigenvalue(fmap: torch.Tensor) -> float:
    """λ_min of the channel correlation matrix of one (c, h, w) map."""
    return torch.linalg.eigvalsh(channel_correlation(fmap))[0].item()


@register("meco", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data", version="1",
          samples=1, layers="conv", requires=("conv:layers=conv", "relu:layers=relu"))
def meco(model: nn.Module, batch: Batch, samples: int = 1, layers: str = "conv") -> float:
    """MeCo Σ_layers λ_min(P(f_i(x))), P the channel Pearson correlation, one sample (Jiang et al., NeurIPS 2023).

    Definition: one forward pass of the first ``samples`` (default 1: the
    paper's "one data") inputs of the batch. For every 4-D output f_i of the
    hooked layers (``layers="conv"``: every ``nn.Conv2d``, the default;
    ``"relu"``: every ``nn.ReLU``; ``"all"``: every module, and every tensor output of
    3 or more dims, as the authors' code: ``meco_all``), P(f_i(x)) is the c×c Pearson correlation
    matrix of its c channels (rows of dim 1), each channel's h·w values being the
    observations; MeCo = Σ_i λ_min(P(f_i(x))). With several samples the
    per-sample scores are averaged. Undefined correlations (constant channels, NaN or inf
    values) count as 0. Higher is better.

    Raises:
        ValueError: unknown ``layers``, ``samples`` < 1, no hooked layer ran, or every hooked map has no more
            values per channel than channels (each λ_min is then 0 up to rounding: a ViT's patch embedding).
    """
    if layers not in LAYERS:
        raise ValueError(f"meco: layers must be one of {sorted(LAYERS)} (got {layers!r})")
    if samples < 1:
        raise ValueError(f"meco: samples must be >= 1 (got {samples})")
    maps: list[torch.Tensor] = []

    def hook(module: nn.Module, args: tuple, output: object) -> None:
        # conv / relu: 4-D maps; all: every tensor output of 3+ dims (a 2-D output would add 0)
        if isinstance(output, torch.Tensor) and (output.dim() == 4 or (layers == "all" and output.dim() >= 3)):
            maps.append(output.detach().clone())  # a later in-place op must not change it

    with forward_hooks(model, LAYERS[layers], hook), torch.no_grad():
        try:
            model(batch.inputs[:samples])
        except ValueError as exc:
            if "Expected more than 1 value per channel" not in str(exc):
                raise
            raise ValueError(f"meco scores {samples} sample(s) (the paper's one data); a train-mode BatchNorm "
                             "cannot normalise a 1x1 map of one sample: use larger inputs, or samples=2+") from exc
    if not maps:
        what = "module with a 3-D or larger output" if layers == "all" else f"{layers} layer with a 4-D output"
        raise ValueError(f"meco: no {what} ran in the forward pass")
    singular = [(f.shape[1], f[0].numel() // f.shape[1]) for f in maps]  # (rows, observations) of each map
    if all(seen <= rows for rows, seen in singular):  # every λ_min is 0 up to rounding: a sum of noise (session 51)
        rows, seen = singular[0]
        raise ValueError(f"meco: every hooked map has no more observations than channels (the first: {rows} channels "
                         f"of {seen} values), so each correlation matrix is singular and its λ_min is 0 up to "
                         "rounding: MeCo cannot rank such models (give larger inputs)")
    n = maps[0].shape[0]
    return sum(min_eigenvalue(f[s]) for f in maps for s in range(n)) / n


@register("meco_all", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data", version="1",
          samples=1)
def meco_all(model: nn.Module, batch: Batch, samples: int = 1) -> float:
    """MeCo over every module's output, as the authors' code hooks it (``meco`` reads conv outputs only).

    ``meco(model, batch, samples, layers="all")``: see the module docstring for what counts.

    Raises:
        ValueError: ``samples`` < 1, or no module gave a 3-D or larger output.
    """
    return meco(model, batch, samples=samples, layers="all")
