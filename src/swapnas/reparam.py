"""The older, hook-based reparametrisations of a weight (``torch.nn.utils.weight_norm``, ``spectral_norm`` and
``prune``), which recompute the tensor from their originals (``weight_g``/``weight_v``, ``weight_orig``) before each
forward: a value written into the tensor itself is lost at the next pass (session 64: ``score``'s N(0, 1) draw of
such a layer was silently the caller's weights; the copy of one refused only where deepcopy failed). The newer
``torch.nn.utils.parametrizations`` are :func:`swapnas.inits.gaussian_init`'s and ``swapnas.api._baked``'s."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune, remove_spectral_norm, remove_weight_norm
from torch.nn.utils.spectral_norm import SpectralNorm
from torch.nn.utils.weight_norm import WeightNorm


def _name(hook: object) -> str | None:
    if isinstance(hook, (WeightNorm, SpectralNorm)):
        return hook.name
    if isinstance(hook, prune.BasePruningMethod):
        return getattr(hook, "_tensor_name", None)
    return None


def hooked(module: nn.Module, name: str) -> Any:
    """The hook-based reparametrisation that computes ``module.<name>`` (a WeightNorm, SpectralNorm or pruning
    method), or None."""
    return next((h for h in module._forward_pre_hooks.values() if _name(h) == name), None)


def set_through_hook(module: nn.Module, name: str, hook: Any, value: torch.Tensor) -> None:
    """``value`` set as what ``hook`` computes ``module.<name>`` from, and the tensor recomputed: weight_norm's g and v
    (the tensor computed is then ``value``), spectral_norm's and prune's original (the tensor computed is then
    ``value`` over its spectral norm, or ``value`` masked). Under ``torch.no_grad``."""
    if isinstance(hook, WeightNorm):
        getattr(module, name + "_v").copy_(value)
        getattr(module, name + "_g").copy_(torch.norm_except_dim(value, 2, hook.dim))
        setattr(module, name, hook.compute_weight(module))
    else:
        getattr(module, name + "_orig").copy_(value)
        # spectral_norm: its power iteration, as a pass in train mode runs it (u, v of the old weight gave the new one
        # a negative "σ", so a layer of the opposite sign: the audit's test)
        setattr(module, name, hook.compute_weight(module, do_power_iteration=True) if isinstance(hook, SpectralNorm)
                else hook.apply_mask(module))


def computed_tensors(model: nn.Module) -> dict[int, torch.Tensor]:
    """A deepcopy memo for the tensors such hooks computed with autograd (deepcopy refuses a non-leaf): a detached
    copy of each, which the copy's hook recomputes at its first pass."""
    return {id(t): t.detach().clone() for m in model.modules() for h in m._forward_pre_hooks.values()
            if (name := _name(h)) is not None and isinstance(t := getattr(m, name, None), torch.Tensor)
            and not t.is_leaf}


def bake_hooks(model: nn.Module) -> nn.Module:
    """``model`` (a copy) with each hook-based reparametrised tensor made the plain parameter holding the value its
    hook computes now (torch's own removal: ``remove_weight_norm``, ``remove_spectral_norm``, ``prune.remove``), in
    place: gradient proxies read the gradient of the tensor the layer uses."""
    for module in model.modules():
        for hook in list(module._forward_pre_hooks.values()):
            if isinstance(hook, WeightNorm):
                remove_weight_norm(module, hook.name)
            elif isinstance(hook, SpectralNorm):
                remove_spectral_norm(module, hook.name)
            elif (name := _name(hook)) is not None:
                prune.remove(module, name)
    return model


__all__ = ["bake_hooks", "computed_tensors", "hooked", "set_through_hook"]
