"""SWAP reads dim 0 of every hooked map as the S samples; modules that put the sequence first do not.

``nn.MultiheadAttention``, ``nn.Transformer{En,De}coderLayer`` and the RNNs take (L, S, …) inputs unless built with
``batch_first=True`` (PyTorch's default is False). :func:`batch_first_guard` refuses such a module fed without the
samples on dim 1 and reads the maps hooked inside one samples first.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Collection, Iterator

import torch
from torch import nn

from .module_tools import all_modules


def positional(args: tuple, kwargs: dict) -> tuple:
    """An activation's arguments with its input first, also when it was passed by keyword: ``input=``, or the
    one tensor among the keywords whatever its name (``act(hidden_states=h)``)."""
    if args:
        return args
    if "input" in kwargs:
        return (kwargs["input"],)
    tensors = [v for v in kwargs.values() if isinstance(v, torch.Tensor)]
    return (tensors[0],) if len(tensors) == 1 else ()


def first_input(module: nn.Module, args: tuple, kwargs: dict) -> object:
    """The value a call of ``module`` binds to its forward's first parameter (``src``, ``query``, ``input``),
    positional or by keyword (``layer(src=h, src_key_padding_mask=pad)``); None when it is not given. A call
    that does not bind to the signature falls back to :func:`positional`."""
    try:
        signature = inspect.signature(module.forward)
        bound = signature.bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return (positional(args, kwargs) or (None,))[0]
    params = list(signature.parameters.values())
    if not params or params[0].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
        return (positional(args, kwargs) or (None,))[0]  # a (*args, **kwargs) wrapper: no name to bind
    return bound.arguments.get(params[0].name)


#: (session 62: "pass the inputs with the samples on dim 0, …, and build such modules with batch_first=True" read as
#: two ways out; the first alone is refused again, and a model that is itself such a module cannot transpose)
FIX = ("build such modules with batch_first=True and pass the inputs with the samples on dim 0, (S, L, …); to keep "
       "batch_first=False, pass (S, L, …) and transpose to (L, S, …) inside the model, before them (a model that is "
       "itself such a module, e.g. nn.TransformerEncoder(layer), goes in a wrapper module that transposes)")
#: modules that put the sequence on dim 0 of a 3-D input unless built with ``batch_first=True``
_SEQ_FIRST = (nn.MultiheadAttention, nn.TransformerEncoderLayer, nn.TransformerDecoderLayer, nn.RNNBase)


@contextlib.contextmanager
def batch_first_guard(model: nn.Module, samples: int, sink: Callable[[torch.Tensor], None],
                      fed: Collection[tuple[int, ...]] = ()) -> Iterator[Callable]:
    """``sink`` guarded against ``batch_first=False`` modules (:data:`_SEQ_FIRST`) on 3-D inputs (the input: the
    forward's first argument, positional or by keyword). A map hooked inside one ((L, S, …) or (L, k·S, …) folded:
    sequence first) reaches ``sink`` transposed, samples first. Refused are: such a module fed one of the model's
    own input shapes ``fed`` without the samples on dim 0 (the whole batch given as (L, S, …)); a map inside one
    without the samples on dim 1; and a map inside one whose input has the S samples on dim 0 and not on dim 1
    (samples given first to a sequence-first module, (S, L, …) with L ≠ S, also when L is a multiple of S). Not
    told apart: such a module fed (S, L, …) with L = S (the shape is the right one), and a folded (L, k·S, …)
    input with L = S (refused, rare). Other uses (axial attention over (W, S·H, C) on maps not hooked) pass."""
    inside: list[tuple[nn.Module, tuple[int, ...]]] = []

    def refuse(m: nn.Module, why: str) -> ValueError:
        name = next(n for n, k in model.named_modules() if k is m)
        return ValueError(f"{type(m).__name__} {name or 'model'!r} has batch_first=False: {why}, and SWAP reads dim 0 "
                          f"as the S = {samples} samples (tokens would count as samples): {FIX}")

    def enter(m: nn.Module, args: tuple, kwargs: dict) -> None:
        x = first_input(m, args, kwargs)
        if isinstance(x, torch.Tensor) and x.dim() == 3:
            if tuple(x.shape) in fed and x.shape[1] != samples:
                raise refuse(m, f"its input {tuple(x.shape)}, the model's own, holds {x.shape[1]} samples on dim 1")
            inside.append((m, tuple(x.shape)))

    def leave(m: nn.Module, args: tuple, output: object) -> None:  # returns None: the output stays
        if inside and inside[-1][0] is m:
            inside.pop()

    def guarded(out: torch.Tensor) -> None:  # inside such a module a map is (L, S, …): read with the samples first
        if inside:
            m, shape = inside[-1]
            if out.dim() < 2 or out.shape[1] % samples:
                raise refuse(m, f"an activation inside it gives maps {tuple(out.shape)} without the samples on dim 1")
            if shape[0] == samples and shape[1] != samples:
                raise refuse(m, f"its input {shape} holds the samples on dim 0 and {shape[1]} rows on dim 1 "
                                "(it reads dim 0 as the sequence; if this is a folded (L, k·S, …) input, e.g. axial "
                                f"attention, whose length L happens to equal S = {samples}, score with another "
                                "batch size)")
        sink(out.transpose(0, 1) if inside else out)

    seq = [m for m in all_modules(model) if isinstance(m, _SEQ_FIRST)  # an encoder layer: its attention's batch_first
           and getattr(getattr(m, "self_attn", m), "batch_first", True) is False]
    handles = [h for m in seq for h in (m.register_forward_pre_hook(enter, with_kwargs=True),
                                        m.register_forward_hook(leave))]
    try:
        yield guarded
    finally:
        for h in handles:
            h.remove()
