"""Checks of :func:`swapnas.patterns.swap_score`'s arguments, each said by name (a Python API audit, session 57)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

#: why a gradient proxy may find no gradient through a part of the model (session 64)
NO_GRAD_BLOCK = ("torch.utils.checkpoint with use_reentrant=True (Hugging Face's gradient checkpointing) runs its "
                 "blocks so, as does a torch.no_grad or a .detach() inside forward")

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


def _swap_compiled(model: nn.Module) -> list[tuple[nn.Module, str, nn.Module]]:
    """Each ``torch.compile``'d submodule of ``model`` replaced by its eager module, in place: (parent, name, the
    compiled one) for each, outermost first."""
    swapped = []
    if _compiled_kind() is not None:
        for module in list(model.modules()):
            for name, child in list(module._modules.items()):
                if child is not None and eager(child) is not child:
                    swapped.append((module, name, child))
                    module._modules[name] = eager(child)
    return swapped


def uncompile(model: nn.Module) -> nn.Module:
    """``model`` (a scored copy) with each ``torch.compile``'d submodule replaced by its eager module, in place."""
    _swap_compiled(model)
    return model


@contextlib.contextmanager
def uncompiled(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` with its ``torch.compile``'d submodules swapped for their eager modules during the block and put
    back after, even on error: ``swap_score`` scores the caller's model itself, and the cached graph of a compiled
    submodule that had run skipped the hooks (session 64: Ψ 95 for 180, silently)."""
    swapped = _swap_compiled(model)
    try:
        yield model
    finally:
        for module, name, child in reversed(swapped):
            module._modules[name] = child


def _aten_graph(module: nn.Module) -> bool:
    """Whether ``module`` is a graph of aten operators (``torch.export.export(...).module()``), not of modules and
    functions as ``torch.fx.symbolic_trace`` makes."""
    ops = (torch._ops.OpOverload, torch._ops.OpOverloadPacket)
    return isinstance(module, torch.fx.GraphModule) and any(
        node.op == "call_function" and isinstance(node.target, ops) for node in module.graph.nodes)


def _which(model: nn.Module, test: Callable[[nn.Module], bool]) -> str | None:
    """The first of ``model``'s modules that passes ``test``, as a message names it (the model's class, or its
    submodule's name), or None."""
    where = next((name for name, m in model.named_modules() if test(m)), None)
    return None if where is None else f"its submodule {where!r}" if where else type(model).__name__


def scripted(model: nn.Module) -> str | None:
    """Why a TorchScript model (``torch.jit.script`` / ``torch.jit.trace``, or one holding such a module) or an
    exported one (``torch.export``: aten calls) cannot be scored, or None: its activations are compiled calls (no
    hook fires) and its weights cannot be re-drawn."""
    if (which := _which(model, lambda m: isinstance(m, torch.jit.ScriptModule))) is not None:
        return (f"a TorchScript module ({which}, from torch.jit.script or torch.jit.trace): its activations are "
                "compiled calls that no hook sees, and its weights cannot be re-initialised; score the eager module "
                "before scripting it")
    if (which := _which(model, _aten_graph)) is None:
        return None
    return (f"an exported module ({which}, from torch.export: a graph of aten operators): its activations are aten "
            "calls (aten.relu …) that no module hook or function patch sees (session 64: it was said to have no "
            "activation at all); score the eager module before exporting it")


#: the float modules of torch's quantized namespace (a model built ready for quantization holds them: torchvision's
#: quantizable ResNet with quantize=False; the review of session 64)
_FLOAT_HELPERS = ("FloatFunctional",)


def quantized(model: nn.Module) -> str | None:
    """Why a quantized model (``torch.ao.quantization``: ``quantize_dynamic``, a converted static one) cannot be
    scored by ``swapnas.score``, or None: its packed weights are no parameters, so they are neither drawn (every seed
    scored its own weights) nor counted (params, flops and l2_norm read 0.0: session 64)."""
    names: list[str] = []
    for name, m in model.named_modules():
        if ".quantized" in type(m).__module__ and type(m).__module__.startswith("torch.") \
                and type(m).__name__ not in _FLOAT_HELPERS \
                and not any(name.startswith(f"{n}.") for n in names):  # (not a layer's own packed parameters)
            names.append(name or type(m).__name__)
    if not names and not any(t.is_quantized for t in (*model.parameters(), *model.buffers())):
        return None
    layers = f"layers {', '.join(names[:3])}{' …' if len(names) > 3 else ''}" if names else "quantized tensors"
    return (f"a quantized model ({layers}): its packed weights are no parameters, so they can be neither drawn "
            "(init='gaussian') nor counted (params, flops, l2_norm would read 0); score the float model before "
            "quantizing it, or count the quantized one's patterns as they are with swapnas.swap_score(model, x, "
            "activations=swapnas.EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4))")


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
