"""What ``proxies="auto"`` means for some models (:func:`auto_proxy`: ``swap``, ``swap_ext`` or ``swap_fn``), out of
``api.py`` in session 67."""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

from .act_functions import activation_like
from .patterns import EXTENDED_ACTIVATIONS
from .requirements import has as _has


def auto_proxy(models: Iterable[nn.Module]) -> str:
    """What ``proxies="auto"`` means for these models: ``swap`` (the paper's ReLU count on conv maps) when
    every model has an ``nn.Conv2d`` and every activation module they hold from
    :data:`~swapnas.patterns.EXTENDED_ACTIVATIONS` is an ``nn.ReLU`` (a CNN), ``swap_ext`` (ReLU, GELU,
    SiLU, … and token activations: the journal extension's universal SWAP, e.g. for a Transformer or an
    MLP) when some are others or some model has no ``nn.Conv2d``, and ``swap_fn``
    (``swap_ext`` plus activation functions such as ``F.relu`` and ``F.gelu`` and activation modules of
    other kinds such as ``NewGELUActivation``) when some model holds none (``nn.TransformerEncoder``, Hugging
    Face encoders), holds such modules, or holds torch's own Transformer layers with their activation as a function
    (session 59: beside an ``nn.GELU`` head, a ViT's whole ``nn.TransformerEncoder`` went uncounted). One answer for
    all of them, so that a ranking compares like with like."""
    models = list(models.values() if isinstance(models, nn.ModuleDict) else models) \
        if isinstance(models, (nn.ModuleList, nn.ModuleDict)) or not isinstance(models, nn.Module) else [models]
    if not all(_has(m, EXTENDED_ACTIVATIONS) for m in models) or any(activation_like(m, EXTENDED_ACTIVATIONS)
                                                                     or _layers_calling_functions(m) for m in models):
        return "swap_fn"
    others = tuple(a for a in EXTENDED_ACTIVATIONS if a is not nn.ReLU)
    if any(_has(m, others) for m in models) or not all(_has(m, (nn.Conv2d,)) for m in models):
        return "swap_ext"  # swap reads only ReLUs on conv maps: an MLP's or a token model's ReLUs need swap_ext
    return "swap"


def _layers_calling_functions(model: nn.Module) -> bool:
    """Whether ``model`` holds an ``nn.TransformerEncoderLayer`` or ``DecoderLayer`` whose activation is a function
    (``activation="gelu"`` or ``F.relu``, the default): no module hook sees it."""
    layers = (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)
    return any(isinstance(m, layers) and not isinstance(m.activation, nn.Module) for m in model.modules())


__all__ = ["auto_proxy"]
