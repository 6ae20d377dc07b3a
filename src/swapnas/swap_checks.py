"""Checks of :func:`swapnas.patterns.swap_score`'s arguments, each said by name (a Python API audit, session 57)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

#: what a model built on the meta device lacks, and the way out (said by ``swap_score`` and by ``score``)
META_WEIGHTS = ("the model's weights are on the meta device and hold no values (built under torch.device('meta') or "
                "with empty weights): materialise them first, model.to_empty(device='cpu'), then load its weights")


def check_swap_options(activations: Any, input_dims: Any, restore_buffers: object,
                       functions: object) -> tuple[tuple[type[nn.Module], ...], tuple[int, ...]]:
    """:func:`~swapnas.patterns.swap_score`'s options checked: non-empty collections of activation module types and of
    ranks (returned as tuples: a generator is read once), and two bools (until session 57 ``restore_buffers="no"``
    restored them, and an empty or misspelt collection counted nothing with a garbled message)."""
    if isinstance(activations, type) or isinstance(input_dims, int):  # one type or one rank, not a collection
        raise TypeError("activations and input_dims take collections: e.g. activations=(nn.ReLU,), input_dims=(4,) "
                        f"(got activations={activations!r}, input_dims={input_dims!r})")
    kinds, dims = tuple(activations), tuple(input_dims)
    if not kinds or not all(isinstance(a, type) and issubclass(a, nn.Module) for a in kinds):
        raise TypeError(f"activations are nn.Module classes, one or more, e.g. (nn.ReLU,) or "
                        f"swapnas.patterns.EXTENDED_ACTIVATIONS (got {activations!r})")
    if not dims or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in dims):
        raise TypeError(f"input_dims are tensor ranks, integers >= 1, e.g. (4,) for conv maps or (2, 3, 4) (got "
                        f"{input_dims!r})")
    for name, value in (("restore_buffers", restore_buffers), ("functions", functions)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} is True or False, not {value!r}")
    return kinds, dims


def not_a_module(model: object) -> str:
    """What a model that is no ``nn.Module`` is, for the TypeError, with the way out where one is known: a module's
    bound method, or the function ``torch.compile`` makes of a compiled module (which holds no module, session 60)."""
    got = type(model).__name__
    if hasattr(model, "_torchdynamo_orig_callable"):
        return (f"{got} made by torch.compile (compiling a compiled module, or a function, gives a function that holds "
                "no module): pass the module, or torch.compile(module) once")
    owner = getattr(model, "__self__", None)
    if isinstance(owner, nn.Module):
        return f"{got} of a {type(owner).__name__} (pass the module itself)"
    return got


def _compiled_kind() -> type | None:
    """``torch.compile``'s wrapper class, where dynamo was imported (else no model can be compiled: None)."""
    return getattr(sys.modules.get("torch._dynamo.eval_frame"), "OptimizedModule", None)


def eager(model: Any) -> Any:
    """The eager module under a ``torch.compile``'d one (``model._orig_mod``), else ``model``: the compiled graph
    skips the hooks a score sets and shares its caches with the scored copies (session 59: vkdnw was silently 0.0,
    and after fisher no hook fired for the rest of the process). The same function, so the same scores."""
    kind = _compiled_kind()
    while kind is not None and isinstance(model, kind):
        model = getattr(model, "_orig_mod")
    return model


def uncompile(model: nn.Module) -> nn.Module:
    """``model`` (a scored copy) with each ``torch.compile``'d submodule replaced by its eager module, in place."""
    if _compiled_kind() is not None:
        for module in list(model.modules()):
            for name, child in list(module._modules.items()):
                if child is not None and eager(child) is not child:
                    module._modules[name] = eager(child)
    return model


def on_meta(model: nn.Module) -> bool:
    """Whether any of ``model``'s weights or buffers is on the meta device (holds no values)."""
    return any(t.is_meta for t in (*model.parameters(), *model.buffers()))


def refuse_meta(model: nn.Module, inputs: list[torch.Tensor], what: str) -> None:
    """A ValueError when the weights or the inputs are on the meta device, with the way out (session 58: torch's
    "Tensor on device meta is not on the expected device cpu!" or "Tensor.item() cannot be called on meta
    tensors" was all ``swap_score`` said)."""
    if on_meta(model):
        raise ValueError(f"{what} cannot score {type(model).__name__}: {META_WEIGHTS}")
    if any(t.is_meta for t in inputs):
        raise ValueError(f"{what}: the inputs are on the meta device and hold no values; pass real tensors")


def call_naming_a_pair(call: Callable[[nn.Module, Any], object], model: nn.Module, inputs: Any) -> object:
    """``call(model, inputs)`` (:func:`~swapnas.patterns.call_model`); an (x, y) pair whose model takes x alone is
    named (swap_score calls ``model(*pair)``: "forward() takes 2 positional arguments but 3 were given" was all it
    said until session 57), and so are float inputs of another dtype than the weights."""
    try:
        return call(model, inputs)
    except RuntimeError as exc:
        weights = next((t.dtype for t in model.parameters() if t.is_floating_point()), None)
        floats = isinstance(inputs, torch.Tensor) and inputs.is_floating_point()
        if not (floats and weights not in (None, inputs.dtype)):
            raise
        raise RuntimeError(f"{exc} (the inputs are {inputs.dtype} and the weights {weights}: pass x.to({weights}))"
                           ) from exc
    except TypeError as exc:
        pair = isinstance(inputs, tuple) and len(inputs) == 2 and isinstance(inputs[1], torch.Tensor) \
            and inputs[1].dim() == 1 and not inputs[1].is_floating_point()
        if not pair:
            raise
        raise TypeError(f"{exc}: swap_score calls model(*inputs) on a tuple, and these look like an (x, labels) "
                        "pair: pass the inputs alone, swap_score(model, x) (swapnas.score takes (x, y) pairs)") from exc
