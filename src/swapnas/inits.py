"""The spec's initialisation of a network's weights, :func:`gaussian_init` (out of :mod:`swapnas.scoring` in
session 60), and whether it sets every parameter and buffer of a network (:func:`reinitialisable`)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from .reparam import hooked, set_through_hook

_CONV_LINEAR = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
#: what :func:`gaussian_init` sets, per module kind
_INIT_SETS = ((_CONV_LINEAR, {"weight", "bias"}),
              (nn.modules.batchnorm._NormBase,
               {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}))


def _normal_(t: torch.Tensor, generator: torch.Generator) -> None:
    """N(0, 1) draws from ``generator``: a fresh contiguous float32 tensor of ``t``'s shape, drawn on the
    generator's device and copied into ``t``. So the values depend on the shape alone, not on ``t``'s memory
    format (``channels_last``), dtype (float64 gets the same float32 draws) or device (a network initialised
    on a GPU equals one initialised on the CPU and moved there); a contiguous float32 ``t`` gets exactly what
    ``t.normal_(0, 1, generator=generator)`` gave it (the stored scores)."""
    t.copy_(torch.empty(t.shape, dtype=torch.float32, device=generator.device).normal_(0.0, 1.0, generator=generator))


def _set_through(m: nn.Module, name: str, value: torch.Tensor) -> None:
    """``value`` set through the parametrization of ``m.name``: its ``right_inverse`` (the tensor computed is then
    ``value``: weight_norm), else, for one without (a parametrization of one's own), into its one original tensor
    (the tensor computed is then the parametrization of ``value``)."""
    try:
        setattr(m, name, value)
    except (RuntimeError, NotImplementedError):  # "parametrization … does not implement right_inverse"
        original = getattr(getattr(m, "parametrizations")[name], "original", None)
        if not isinstance(original, torch.Tensor) or original.shape != value.shape:
            raise
        original.copy_(value)


def _fill(m: nn.Module, name: str, value: float) -> None:
    """``m.<name>`` set to ``value`` everywhere: through its parametrization or its older hook where it has one (a
    value written into the computed tensor is lost at the next pass), else in place."""
    tensor: torch.Tensor = getattr(m, name)
    if parametrize.is_parametrized(m, name):
        _set_through(m, name, torch.full_like(tensor, value))
    elif (hook := hooked(m, name)) is not None:
        set_through_hook(m, name, hook, torch.full_like(tensor, value))
    else:
        tensor.fill_(value)


def _hf_conv1d(m: nn.Module) -> bool:
    """Whether ``m`` is Hugging Face's ``Conv1D`` (``transformers.pytorch_utils``: GPT-2's linear maps, the weight
    stored transposed), a Linear in all but name (session 60: GPT-2's init drew nothing, so seeds changed nothing)."""
    kind = type(m)
    return kind.__name__ == "Conv1D" and kind.__module__.startswith("transformers.") and not isinstance(m, nn.Conv1d) \
        and isinstance(getattr(m, "weight", None), torch.Tensor) and getattr(m, "weight").dim() == 2


def gaussian_init(model: nn.Module, generator: torch.Generator) -> None:
    """The spec's init: Conv/Linear weights ~ N(0, 1) (Hugging Face's ``Conv1D`` is a Linear), biases 0; BatchNorm
    γ=1, β=0. Everything else keeps its values (the builder's init, or in ``swapnas.score`` the model's own):
    transposed convolutions (``nn.ConvTranspose*``, e.g. TransNAS decoders: not Conv1d/2d/3d subclasses, as in the
    stored scores), embeddings, LayerNorm, ``nn.MultiheadAttention``'s packed ``in_proj_weight`` (its ``out_proj`` is a
    Linear and is drawn), weights held as bare parameters (e.g. a mixture of experts' stacked expert weights), and a
    Linear's weight tied to one of those (a language model's head tied to its embedding keeps the embedding's values:
    session 60, it was drawn, and the embedding with it), so on such models the repeats differ in the drawn layers
    only. A parametrized weight (``torch.nn.utils.parametrizations``) is set through its parametrization: weight_norm's
    is the draw, spectral_norm's the draw over its spectral norm; so is one of the older, hook-based ``torch.nn.utils``
    forms (:mod:`swapnas.reparam`), and a pruned one's original is drawn (its mask kept)."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"gaussian_init draws from a torch.Generator, e.g. torch.Generator().manual_seed(0), not "
                        f"{generator!r}")
    modules = list(model.modules())
    to_draw = {id(m) for m in modules if isinstance(m, _CONV_LINEAR) or _hf_conv1d(m)}  # each module classed once
    kept = {id(t) for m in modules if id(m) not in to_draw  # (a weight tied to one of these keeps its values)
            for t in m._parameters.values() if t is not None}
    with torch.no_grad():
        for m in modules:
            if id(m) in to_draw:
                weight: torch.Tensor = getattr(m, "weight")
                if parametrize.is_parametrized(m, "weight"):  # weight_norm …: through the parametrization (session 57)
                    _normal_(drawn := torch.empty_like(weight), generator)
                    _set_through(m, "weight", drawn)
                elif (hook := hooked(m, "weight")) is not None:  # the older weight_norm, spectral_norm, prune
                    _normal_(drawn := torch.empty_like(weight), generator)  # (session 64: the draw was lost)
                    set_through_hook(m, "weight", hook, drawn)
                elif id(weight) not in kept:
                    _normal_(weight, generator)
                if getattr(m, "bias", None) is not None:
                    _fill(m, "bias", 0.0)
            elif isinstance(m, nn.modules.batchnorm._NormBase):
                if m.affine:  # (through a parametrization or an older hook: a pruned γ kept its values, the review)
                    _fill(m, "weight", 1.0)
                    _fill(m, "bias", 0.0)
                if m.track_running_stats:
                    m.reset_running_stats()


def reinitialisable(model: nn.Module) -> bool:
    """True if :func:`gaussian_init` sets every parameter and buffer of ``model``: then
    re-initialising a built network gives exactly the network a new build would."""
    for m in model.modules():
        own = {n for n, _ in m.named_parameters(recurse=False)} | {n for n, _ in m.named_buffers(recurse=False)}
        if own and not any(isinstance(m, kinds) and own <= names for kinds, names in _INIT_SETS):
            return False
    return True


__all__ = ["gaussian_init", "reinitialisable"]
