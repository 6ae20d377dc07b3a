"""Activation *functions* as hook points: ``F.relu``, ``torch.relu``, ``Tensor.relu``, ``F.gelu``, …

Forward hooks only see modules. Many models call their activations as functions instead:
PyTorch's own ``nn.TransformerEncoderLayer`` (``activation=F.relu`` or ``"gelu"``), Hugging Face
models (``GELUActivation`` is a module of its own that calls ``F.gelu``), code written with
``F.relu(x)``. :func:`activation_calls` sees those calls through a
:class:`torch.overrides.TorchFunctionMode` (every torch call of the forward pass goes through it,
so it costs Python time per op) and hands each wanted call's input and output on.

Models also bring activation *modules* of their own that compute a known map by formula (Hugging Face's
``NewGELUActivation`` and ``QuickGELUActivation``, timm's ``GELUTanh``): :func:`activation_like` finds
them by name (:data:`ACTIVATION_NAME`) and checks on a probe that each one is elementwise and keeps the sign
of its input (output > 0 exactly where input > 0) without being the identity, so that its output's bits are
the sample-wise activation pattern as for ``nn.GELU``.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

__all__ = ["ACTIVATION_NAME", "FUNCTIONS", "activation_calls", "activation_like", "activation_like_names",
           "functions_of", "plain_activation", "settings_keep_sign", "two_sided_call"]

#: the functions that compute each activation module's map (the module calls one of them itself)
FUNCTIONS: dict[type[nn.Module], tuple[Callable[..., Any], ...]] = {
    nn.ReLU: (F.relu, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_),  # F.relu_ is torch.relu_
    nn.ReLU6: (F.relu6,),
    nn.LeakyReLU: (F.leaky_relu, F.leaky_relu_),
    nn.GELU: (F.gelu,),
    nn.SiLU: (F.silu,),
    nn.Hardswish: (F.hardswish,),
    nn.ELU: (F.elu, F.elu_),
    nn.SELU: (F.selu, torch.selu, torch.selu_),
    nn.CELU: (F.celu, F.celu_),
    nn.Mish: (F.mish,),
}

#: class names of activation modules that :func:`activation_like` probes (GELU, SiLU/Swish, ReLU, Mish, ELU
#: variants; not Tanh or Sigmoid, which SWAP does not count): the name, in any case, as a whole part of the
#: class name: it starts the name, follows a non-letter or starts with a capital (``NewGELUActivation``,
#: ``QuickGELU``, ``LeakyReLU``), and no lower-case letter follows it (``GELUTanh``, ``gelu_new``). So ``elu``
#: inside a word (``ChannelUnitNorm``, ``ModelUpdate``, ``Reluctant``) is not an activation's name. A lower-case
#: prefix ``h``, ``hard``, ``fast``, ``quick`` or ``new`` (``_`` optional) belongs to the name: ``hswish``
#: (MobileNetV3 code), ``Hardswish`` (YOLOv5), ``fastgelu``, ``quickgelu``.
ACTIVATION_NAME = re.compile(r"(?:(?<![A-Za-z])|(?=[A-Z]))"
                             r"(?i:(?:h|hard|fast|quick|new)?_?(?:gelu|silu|swish|relu|mish|celu|selu|elu))(?![a-z])")

#: the probe: values both sides of zero, zero itself, and large ones (where clipped or saturating maps differ)
_PROBE = torch.linspace(-12.0, 12.0, 2401).reshape(1, 1, -1)

#: a call: (the function, its positional arguments, its keyword arguments, its output)
OnCall = Callable[[Callable[..., Any], tuple, dict, torch.Tensor], None]


def functions_of(kinds: Sequence[type[nn.Module]]) -> frozenset:
    """The activation functions of these module kinds (kinds without a listed function add none)."""
    return frozenset(f for k in kinds for f in FUNCTIONS.get(k, ()))


def _keeps_sign(module: nn.Module) -> bool:
    """Whether ``module`` maps the probe elementwise to a same-shaped tensor that is > 0 exactly where the
    probe is, and is not the identity (a module that fails on the probe is not taken)."""
    probe = _PROBE.to(next(module.buffers(), _PROBE).device)
    try:  # on a copy, its forward called directly: the caller's module and hooks see nothing of the probe
        with torch.no_grad():
            out = type(module).forward(_twin(module), probe.clone())
    except Exception:  # any failure means "not an elementwise activation"; the model's own pass will tell
        return False
    return (isinstance(out, torch.Tensor) and out.shape == probe.shape and torch.equal(out > 0, probe > 0)
            and not torch.equal(out, probe))


def _twin(module: nn.Module) -> nn.Module:
    """A copy of ``module`` to run the probe on: a deep one, else (a lock, a handle: the review of session 63) a
    shallow one with its own attributes, containers and buffers, so that what its forward records or changes stays in
    the copy (its submodules and parameters are shared: an activation module has neither)."""
    try:
        return copy.deepcopy(module)
    except Exception:  # noqa: BLE001 - whatever deepcopy refuses
        twin = copy.copy(module)
        for name, value in vars(module).items():
            if isinstance(value, (list, dict, set)):
                vars(twin)[name] = copy.copy(value)
        vars(twin)["_buffers"] = {k: None if b is None else b.clone() for k, b in module._buffers.items()}
        return twin


def activation_like(model: nn.Module, known: Sequence[type[nn.Module]]) -> list[nn.Module]:
    """The modules of ``model`` that are activations of a kind not in ``known`` and not PyTorch's own (PyTorch's
    kinds are chosen by ``known`` alone): leaves without parameters whose class name matches
    :data:`ACTIVATION_NAME` and that keep the sign of their input on a probe (``NewGELUActivation``,
    ``QuickGELUActivation``, ``GELUTanh``, …; an identity such as a ``LinearActivation`` or an always-positive
    map is not taken)."""
    kinds = tuple(known)
    return [m for m in model.modules()
            if not isinstance(m, kinds) and not type(m).__module__.startswith("torch.")
            and ACTIVATION_NAME.search(type(m).__name__)
            and next(m.children(), None) is None and next(m.parameters(), None) is None and _keeps_sign(m)]


def activation_like_names(model: nn.Module, known: Sequence[type[nn.Module]]) -> list[str]:
    """The class names of :func:`activation_like`'s modules, each once, sorted (what the errors name)."""
    return sorted({type(m).__name__ for m in activation_like(model, known)})


class _Calls(TorchFunctionMode):
    """Passes every call of a wanted function made outside the given modules to ``on_call``."""

    def __init__(self, wanted: frozenset, on_call: OnCall) -> None:
        super().__init__()
        self.wanted, self.on_call, self.depth = wanted, on_call, 0

    def __torch_function__(self, func: Callable[..., Any], types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)  # the mode is off in here: the function's own torch calls are not seen
        if self.depth == 0 and isinstance(out, torch.Tensor) and func in self.wanted:
            self.on_call(func, args, kwargs, out)
        return out


@contextlib.contextmanager
def activation_calls(modules: Sequence[nn.Module], kinds: Sequence[type[nn.Module]],
                     on_call: OnCall) -> Iterator[None]:
    """Within the block, every call of an activation function of ``kinds`` (:data:`FUNCTIONS`) goes
    to ``on_call`` — except calls made while one of ``modules`` runs (the hooked activation modules,
    which call these functions themselves and are seen by their own hooks). Hooks are removed and
    the mode is left on exit, also on error."""
    mode = _Calls(functions_of(kinds), on_call)

    def enter(module: nn.Module, args: tuple) -> None:
        mode.depth += 1

    def leave(module: nn.Module, args: tuple, output: Any) -> None:
        mode.depth -= 1

    handles = [h for m in modules for h in (m.register_forward_pre_hook(enter), m.register_forward_hook(leave))]
    try:
        with mode:
            yield
    finally:
        for h in handles:
            h.remove()


def plain_activation(module: nn.Module) -> bool:
    """A module whose output is a function of its input and its ``extra_repr`` alone: PyTorch's own class, without
    parameters, buffers or hooks (judged before swapnas adds its own; session 63: a subclass's own threshold, a
    model's hook changing the output and a user kind's buffer setting were taken for a repeat and left out)."""
    return (type(module).__module__.startswith("torch.nn.") and not module._parameters and not module._buffers
            and not module._forward_hooks and not module._forward_pre_hooks)


def settings_keep_sign(module: nn.Module) -> bool:
    """False for an activation module whose settings make it positive on both sides of 0, where its output's sign
    is not its input's: ``nn.LeakyReLU`` with a negative slope, ``nn.ELU`` with a negative alpha (session 63: Ψ was 1,
    every output > 0); they are not counted, as ``nn.PReLU`` is not."""
    if isinstance(module, nn.LeakyReLU):
        return module.negative_slope >= 0
    if isinstance(module, nn.ELU):
        return module.alpha >= 0
    return True


def two_sided_call(func: Callable, args: tuple, kwargs: dict) -> bool:
    """A call of ``F.leaky_relu`` with a negative slope or ``F.elu`` with a negative alpha, positive on both sides of
    0 as :func:`settings_keep_sign`'s modules (the second review of session 63: as functions they were counted)."""
    name = getattr(func, "__name__", "")
    setting = "negative_slope" if name.startswith("leaky_relu") else "alpha" if name.startswith("elu") else None
    if setting is None:
        return False
    value = kwargs.get(setting, args[1] if len(args) > 1 else 0.0)
    return isinstance(value, (int, float)) and value < 0
