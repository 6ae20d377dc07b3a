"""Padded token positions left out of SWAP's patterns (session 53).

A batch of token sequences of unequal length is padded, and a model given its padding mask keeps the padded positions
out of its output; but its activations at those positions still exist, and they depend on what the pad positions
hold. Counted as neurons, they made Ψ of one model change with the pad ids (up to 2× in a user's test) though its
output did not. Where the inputs name their mask in a way whose meaning is known, the hooked maps shaped
``(S, L, …)`` get 0 (a 0 bit) at every padded position, so Ψ no longer depends on the pad contents:

- ``attention_mask`` (Hugging Face): non-zero at a real token, 0 at a pad;
- ``src_key_padding_mask`` / ``key_padding_mask`` (PyTorch): True (or non-zero in a float, additive mask) at a pad.

A mask of another name (a key with "mask" in it), or a bool one passed by position (``(ids, mask)``), cannot be read
safely (the two conventions are opposite): it gets a warning, as it did not before. Inputs by position are named by
the model's ``forward`` signature where they bind to it and one is a 2-D mask by name (session 61:
``model(ids, mask)`` of a Hugging Face model is ``model(input_ids=ids, attention_mask=mask)``, read as such; a
left-padded mask by position was not even warned of). The benchmarks' token batches (FlexiBERT) have no mask, as in
the SWAP authors' scoring: their scores are unchanged.

SWAP's pass also runs with PyTorch's fused attention fast path off (:func:`swapnas.size_prior.unfused_attention`,
also FLOP counting's): in eval mode with a
padding mask ``nn.TransformerEncoder`` packed the batch into a nested tensor, which the hooks cannot read
("NestedTensorImpl doesn't support sizes"); unfused, the layers run their modules on ordinary tensors.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import torch

from .callers import user_stacklevel

#: keyword names of masks that are non-zero at the real tokens (Hugging Face)
TOKEN_MASKS = ("attention_mask",)
#: keyword names of masks that are True (or non-zero) at the pads (PyTorch's nn.Transformer* and nn.MultiheadAttention)
PAD_MASKS = ("src_key_padding_mask", "key_padding_mask")

Sink = Callable[[torch.Tensor], None]


def by_name(model: Callable[..., Any], inputs: Any) -> Any:
    """A tuple/list of inputs as the dict of ``model.forward``'s parameters they bind to (``model(*inputs)`` is
    ``model(**that)``), where each binds to a parameter of its own by name and one of those names a 2-D mask (an
    ``attention_mask`` an integer one: a bool one may hold either convention; the review of session 61: an image's
    (S, 1, H, W) ``mask`` was warned of, a bool ``attention_mask`` True at the pads read as Hugging Face's); the
    inputs themselves otherwise (a dict or a tensor, a ``*args`` signature, one that does not bind, or no such mask:
    then :func:`live_positions` reads masks by position from their values)."""
    if not isinstance(inputs, (tuple, list)):
        return inputs
    try:
        signature = inspect.signature(getattr(model, "forward", model))
        params, bound = signature.parameters, signature.bind(*inputs).arguments
    except (TypeError, ValueError):  # no signature (a builtin), or more inputs than it takes
        return inputs
    named = {k: v for k, v in bound.items() if params[k].kind in (params[k].POSITIONAL_ONLY,
                                                                  params[k].POSITIONAL_OR_KEYWORD)}
    return named if len(named) == len(inputs) and any(_mask_by_name(k, v) for k, v in named.items()) else inputs


def _mask_by_name(key: str, value: object) -> bool:
    """A 2-D tensor bound to a parameter named as a mask: one to read (or warn of) by its name."""
    if not (_mask_key(key) and isinstance(value, torch.Tensor) and value.dim() == 2):
        return False
    return key not in TOKEN_MASKS or not (value.dtype == torch.bool or value.is_floating_point())


def shared_mask_hint(inputs: Any, samples: int) -> str:
    """The way out where an input named as a mask (by key, or by the model's ``forward`` signature: :func:`by_name`)
    has another dim 0 than the S samples: one tensor for all samples, such as an ``(L, L)`` causal mask (session 61:
    the error gave the dims alone); "" otherwise."""
    shared = next((k for k, t in (inputs.items() if isinstance(inputs, Mapping) else ())  # square: (L, L), not a
                   if _mask_key(k) and isinstance(t, torch.Tensor) and t.dim() >= 2 and t.shape[0] != samples
                   and t.shape[-1] == t.shape[-2]), None)  # batch of another size (the review of session 61)
    if shared is None:
        return ""
    return (f"; {shared!r} {tuple(inputs[shared].shape)} is one mask for all samples, but every input holds the S = "
            f"{samples} samples on dim 0: build it inside the model (a wrapper module whose forward passes {shared}=… "
            "or is_causal=True) and score the wrapper with the other inputs")


def live_positions(inputs: Any) -> torch.Tensor | None:
    """``(S, L)`` bool, True at the real tokens, from the inputs' ``attention_mask`` (or PyTorch's key padding mask);
    None where the inputs name no such mask or it pads nothing (inputs by position: see :func:`by_name`). The mask is
    read only where it is 2-D, another input has its (S, L) in front (the ids or embeddings it pads) and no decoder
    input is there (an encoder-decoder's decoder maps have their own length); a mask that may be one but is not read
    gets a warning."""
    named = dict(inputs) if isinstance(inputs, Mapping) else {}
    decoder = any(str(k).startswith("decoder_") for k in named)
    for key in TOKEN_MASKS + PAD_MASKS:
        mask = named.pop(key, None)
        if (isinstance(mask, torch.Tensor) and mask.dim() == 2 and not decoder
                and any(isinstance(t, torch.Tensor) and t.shape[:2] == mask.shape for t in named.values())):
            live = (mask != 0) if key in TOKEN_MASKS else (mask == 0) if mask.is_floating_point() else ~mask.bool()
            return None if bool(live.all()) else live
        if mask is not None:
            named[key] = mask  # not read: warned about below where it pads
    named = {k: t for k, t in named.items() if _mask_key(k)}
    if isinstance(inputs, (tuple, list)):  # by position: a bool one, or an integer one padded on the right (integer
        named = {f"item {i}": t for i, t in enumerate(inputs)  # 0/1 may be token types, which start with 0s)
                 if i and (getattr(t, "dtype", None) == torch.bool or _right_padded(t))}
    unread = [name for name, t in named.items() if _padding_like(t)]
    # beside decoder inputs a named mask is not applied, and said so (session 60: "pass it by keyword as attention_mask"
    # was said of one passed so, also beside a decoder_attention_mask)
    if decoder and (masks := [n for n in unread if n in TOKEN_MASKS + PAD_MASKS]):
        warnings.warn(f"the inputs' {masks[0]!r} is not applied to the hooked maps: beside decoder inputs the "
                      "decoder's maps have a length of their own, so SWAP counts the neurons at every position, padded "
                      "ones too, and Ψ depends on what the pad positions hold; score sequences of one length (no "
                      "padding), or the encoder alone with its mask", UserWarning, stacklevel=user_stacklevel())
    elif unread:
        warnings.warn(f"the inputs' {unread[0]!r} looks like a padding mask that SWAP cannot line up with the "
                      "hooked maps: it counts the neurons at every position, padded ones too, so Ψ depends on what "
                      "the pad positions hold. Pass it by keyword as attention_mask (non-zero at tokens) or "
                      f"{PAD_MASKS[0]} (True at pads), an (S, L) mask beside the (S, L) ids of an encoder, whose "
                      "padded positions are left out, or score sequences of one length (no padding)",
                      UserWarning, stacklevel=user_stacklevel())
    return None


def unmasked(inputs: Any) -> Any:
    """``inputs`` without the masks named in a dict, or given by position after the first input as an additive one
    (:func:`additive_mask`): the inputs whose values must be finite (an additive mask holds ``-inf`` at its pads, as
    PyTorch's; it was refused as non-finite until session 53 by name, until session 62 by position)."""
    if isinstance(inputs, (tuple, list)):
        return type(inputs)(t for i, t in enumerate(inputs) if not (i and additive_mask(t, inputs[0])))
    return {k: t for k, t in inputs.items() if not _mask_key(k)} if isinstance(inputs, Mapping) else inputs


def additive_mask(t: object, first: object) -> bool:
    """A float 2-D tensor of 0s and ``-inf``s (some) shaped as ``first``'s first two dims: an additive key-padding
    mask, ``-inf`` at the pads (what ``nn.MultiheadAttention`` and ``nn.TransformerEncoder`` take)."""
    return (isinstance(t, torch.Tensor) and t.is_floating_point() and t.dim() == 2 and isinstance(first, torch.Tensor)
            and first.dim() >= 2 and t.shape == first.shape[:2] and bool(((t == 0) | (t == -math.inf)).all())
            and bool(torch.isinf(t).any()))


def _mask_key(key: object) -> bool:
    """Whether a dict's key names a mask (not ``token_type_ids``, which holds 0/1 too)."""
    return "mask" in str(key).lower()


def _right_padded(t: object) -> bool:
    """An integer (S, L) tensor of 1s then 0s in each row, every row starting with a 1: Hugging Face's attention mask of
    right-padded sequences (session 60: ``model(ids, mask)`` by position was read as nothing, without a warning);
    token type ids start with 0s (the first segment)."""
    if not isinstance(t, torch.Tensor) or t.dim() != 2 or t.is_floating_point() or t.is_complex() \
            or t.dtype == torch.bool:
        return False
    return bool(((t == 0) | (t == 1)).all() and (t[:, 0] == 1).all() and (t[:, 1:] <= t[:, :-1]).all())


def _padding_like(t: object) -> bool:
    """A bool or integer tensor of 0s and 1s holding both, or a float one of 0s and other values (an additive mask)."""
    if not isinstance(t, torch.Tensor) or t.dim() < 2 or t.is_complex():
        return False
    if t.is_floating_point():
        return bool((t == 0).any()) and not bool((t == 0).all())
    values = set(torch.unique(t.to(torch.int64)).tolist())
    return values == {0, 1}


def _unmasked_text(shape: tuple[int, ...], length: int) -> str:
    """The warning for a hooked map whose positions cannot be told from its features, counted whole."""
    if len(shape) == 2:  # (session 63: a ReLU of one value per token counted its pads, Ψ changed with the pad ids)
        return (f"a hooked map {shape} has the padding mask's shape: whether its dim 1 holds the {length} positions "
                f"or {length} features cannot be told, so it is counted whole (pads too), and if they are positions "
                "Ψ depends on what the pad positions hold; score sequences of one length (no padding) to be sure")
    return (f"a hooked map {shape} has the sequence length {length} on dim 1 and on a later dim: its padded positions "
            "cannot be told from its channels, so it is counted whole (pads too); score with another sequence length "
            "to leave them out")


def without_padding(live: torch.Tensor | None, sink: Sink) -> Sink:
    """``sink`` given each map with 0 at the padded positions of ``live`` (maps shaped ``(S, L, …)``, samples first);
    ``sink`` itself without a mask. Counted whole: other maps (a conv map ``(S, C, L)``), and a map whose later dims
    hold L too (``(S, L, L)``: a conv map of C = L channels, or a hidden size of L), or that is ``(S, L)`` alone (one
    value per token, or L features), where the positions cannot be told apart from the features (warned about
    once)."""
    if live is None:
        return sink
    shape, length, warned = tuple(live.shape), live.shape[1], [False]

    def masked(out: torch.Tensor) -> None:
        if out.dim() >= 2 and tuple(out.shape[:2]) == shape:
            if out.dim() == 2 or length in out.shape[2:]:
                if not warned[0]:
                    warned[0] = True
                    warnings.warn(_unmasked_text(tuple(out.shape), length), UserWarning, stacklevel=user_stacklevel())
            else:
                out = out.masked_fill(~live.to(out.device).view(*shape, *[1] * (out.dim() - 2)), 0)
        sink(out)

    return masked
