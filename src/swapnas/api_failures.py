"""One proxy run on a user's model (:func:`swapnas.score`), and what it says when the run fails: the proxy's name
(and the proxy asked for, when it is a part of it), the error, and a hint at the cause in the inputs or the model
where one is seen (out of :mod:`swapnas.api` in session 53, when the hints grew past its size)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

import torch
from torch import nn

from .bundle import Batch
from .devices import without_autocast
from .memory_failures import out_of_memory_text
from .patterns import call_model, input_tensors
from .proxies import Proxy
from .requirements import UnsupportedModel
from .requirements import has as _has
from .swap_checks import META_WEIGHTS, NO_GRAD_BLOCK, on_meta


def shapes(batch: Batch) -> str:
    shapes = [str(tuple(t.shape)) for t in input_tensors(batch.inputs)]
    return f"shape{'s' if len(shapes) > 1 else ''} {', '.join(shapes)}"


def fails_alone(model: nn.Module, batch: Batch) -> bool:
    """Whether the model's own forward, no proxy around it, fails on ``batch`` (the proxy's copy: nothing changes)."""
    try:
        with torch.no_grad():
            call_model(model, batch.inputs)
    except Exception:  # noqa: BLE001 - any failure: the model and these inputs do not go together
        return True
    return False


def _float_weights(model: nn.Module) -> torch.dtype | None:
    return next((t.dtype for t in model.parameters() if t.is_floating_point()), None)


def run_proxy(p: Proxy, model: nn.Module, batch: Batch, part_of: str = "") -> float:
    given = _float_weights(model)
    try:
        with torch.enable_grad(), without_autocast():  # under the caller's no_grad and autocast too (devices.py)
            value = float(p.fn(model, batch, **p.options))
    except (UnsupportedModel, Warning):  # a warning the caller's filter made an error (-W error) is theirs, as is
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised with the proxy's name and the model's kind
        if given is not None and _float_weights(model) != given:  # the proxy's own copy, cast back as it was given:
            model.to(given)  # synflow casts to float64 (session 59: a dict output was blamed on the inputs' dtype)
        if out_of_memory_text(f"{type(exc).__name__}: {exc}"):
            raise _out_of_memory(p, part_of, model, batch, exc) from None
        alone = f"its forward fails on these inputs ({shapes(batch)}): " if fails_alone(model, batch) else ""
        raise UnsupportedModel(f"{p.name}{part_of} could not score {type(model).__name__}: {alone}"
                               f"{type(exc).__name__}: {exc}"
                               f"{hint(p, model, batch, exc)}") from exc
    if not math.isfinite(value):
        raise UnsupportedModel(f"{p.name}{part_of} gave {value} on {type(model).__name__}: " + (
            _weights_problem(model) or "its activations or gradients overflow or vanish at this init (a very deep "
            "network without normalisation?)"))
    return value


#: what every out-of-memory refusal of :func:`run_proxy` holds (:func:`swapnas.rank` looks for it)
OUT_OF_MEMORY = "ran out of memory"


def _out_of_memory(p: Proxy, part_of: str, model: nn.Module, batch: Batch, exc: Exception) -> UnsupportedModel:
    """The refusal of a proxy that ran out of memory, with the ways out. The failed pass's frames (its graph) are let
    go first, and no diagnostic pass runs (session 61: one did, ran out of memory in turn, and the user got a chained
    traceback; a memory failure was also blamed on the inputs' shape)."""
    text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}" if str(exc).strip() else type(exc).__name__
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:  # the whole chain's frames (an error raised while handling one)
        seen.add(id(link))
        link.__traceback__ = None
        link = link.__cause__ or link.__context__
    return UnsupportedModel(
        f"{p.name}{part_of} {OUT_OF_MEMORY} scoring {type(model).__name__} on inputs of {shapes(batch)} ({text}): "
        f"the machine's limit, not the model's failure; use fewer samples or smaller inputs, score {p.name} alone, "
        "or free memory (swap needs the least: no gradients)", f"{OUT_OF_MEMORY} ({text})")


def weights_hint(model: nn.Module) -> str:
    """:func:`_weights_problem` as a hint in parentheses, or ''."""
    return f" ({text})" if (text := _weights_problem(model)) else ""


def _weights_problem(model: nn.Module) -> str:
    """Weights that cannot be scored, said so (session 53: a meta-device model gave "Tensor.item() cannot be called
    on meta tensors", a NaN weight was blamed on the init), or ''. The parameters are checked for NaN and inf, the
    buffers for NaN (a running variance's); a buffer may hold -inf (a causal mask's)."""
    if on_meta(model):
        return META_WEIGHTS
    broken = [n for n, t in model.named_parameters() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    broken += [n for n, t in model.named_buffers() if t.is_floating_point() and bool(t.isnan().any())]
    if broken:
        return (f"the model's own weights hold NaN or inf: {', '.join(broken[:3])}{' …' if len(broken) > 3 else ''}; "
                "load sound weights, or score with an init that redraws them")
    return ""


def _overrun(model: nn.Module, batch: Batch) -> tuple[str, int, int] | None:
    """The first embedding of a pass over ``batch`` given an index beyond its rows: (its name, rows, the index)."""
    found: list[tuple[str, int, int]] = []

    def check(name: str) -> Callable:
        def pre(m: nn.Embedding, args: tuple) -> None:
            x = args[0] if args else None
            if isinstance(x, torch.Tensor) and x.numel() and not x.is_floating_point() and x.max() >= m.num_embeddings:
                found.append((name, m.num_embeddings, int(x.max())))
                raise IndexError("index out of range")  # the pass stops here
        return pre

    hooks = [m.register_forward_pre_hook(check(n)) for n, m in model.named_modules()
             if isinstance(m, (nn.Embedding, nn.EmbeddingBag))]
    try:
        with torch.no_grad():
            call_model(model, batch.inputs)
    except Exception:  # noqa: BLE001 - the failure is the point: what the hooks saw is kept
        pass
    finally:
        for h in hooks:
            h.remove()
    return found[0] if found else None


def _ids_hint(model: nn.Module, batch: Batch, exc: Exception) -> str:
    """Token ids an embedding cannot take (out of its rows, or floats), said so, or ''. Where the embedding that
    failed (:func:`_overrun`) was given the sequences' last position and not the ids' largest: a position embedding
    shorter than the sequences (session 53: the ids were blamed)."""
    ids = input_tensors(batch.inputs)[0]
    tables = [m.num_embeddings for m in model.modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag))]
    if isinstance(exc, IndexError) and "index out of range" in str(exc) and not ids.is_floating_point() and tables:
        name, rows, index = _overrun(model, batch) or ("", 0, -1)
        if index == ids.shape[-1] - 1 != int(ids.max()):  # the last position, not an id (the ids' largest)
            return (f" (the model's embedding {name!r} has {rows} rows and was given index {index}, the last position "
                    f"of the {ids.shape[-1]}-token sequences, not an id: a position embedding shorter than the "
                    f"sequences; pass sequences of at most {rows} tokens)")
        return (f" (the ids run from {int(ids.min())} to {int(ids.max())}, and the model's embeddings have "
                f"{', '.join(map(str, tables))} rows: ids must be 0 … rows - 1; tokenize with the model's own "
                "vocabulary)")
    if "'indices'" in str(exc) and ids.is_floating_point() and tables:  # float ids into nn.Embedding (session 51)
        return (f" (the inputs are {ids.dtype} and the model embeds integer ids (nn.Embedding): pass token ids as "
                "integers, x.long())")
    return ""


def _kernel_rank_hint(model: nn.Module, batch: Batch) -> str:
    """nwot's singular K_H where every sample has a code of its own: K_H = Σ over units of [c, 1 − c][c, 1 − c]ᵀ has
    rank at most N_A + 1, so S > N_A + 1 samples make it singular whatever the codes (session 65: shared codes were
    blamed)."""
    from .proxies._common import relu_codes

    try:
        with torch.no_grad():
            codes = relu_codes(model, batch.inputs)
    except Exception:  # noqa: BLE001 - no hint then; the error stands
        return ""
    s, units = codes.shape
    if s <= units + 1 or torch.unique(codes.to(torch.uint8), dim=0).shape[0] < s:
        return ""
    return (f" (here no two of the {s} samples share a code: with {units} ReLU units K_H has rank at most {units + 1},"
            f" so it is singular for more than {units + 1} samples; pass at most {units + 1} samples or score a wider "
            "network)")


def hint(p: Proxy, model: nn.Module, batch: Batch, exc: Exception) -> str:
    """What in the inputs or the model's output may have made ``p`` fail, and the fix ('' if nothing is seen)."""
    if META_WEIGHTS in str(exc):  # swap_score's own refusal says it already
        return ""
    if isinstance(exc, IndexError) and "out of bounds" in str(exc) and not batch.targets.is_floating_point():
        return (f" (the labels run from {int(batch.targets.min())} to {int(batch.targets.max())}, and a model with C "
                "outputs takes class labels 0 … C-1: remap them, e.g. y = torch.unique(y, return_inverse=True)[1], or "
                "give the model more outputs)")
    if text := weights_hint(model) or _ids_hint(model, batch, exc):
        return text
    if "loss needs targets of the output's shape" in str(exc) and batch.targets.is_floating_point() \
            and batch.targets.dim() == 1:  # session 52: the read's warning alone said so
        return " (float labels are read as regression targets: for class labels pass y.long())"
    if "argument to `grad()` cannot be empty" in str(exc) and not any(w.requires_grad for w in model.parameters()):
        return (" (the model has no trainable parameter: a metric that differentiates with respect to the parameters "
                "cannot score it)")  # (session 65: torch's bare words)
    if "K_H is singular" in str(exc):
        return _kernel_rank_hint(model, batch)
    if "does not require grad" in str(exc):  # (session 64: torch's bare words)
        return f" (if a part of the model ran without autograd: {NO_GRAD_BLOCK}; with checkpointing, use " \
            "use_reentrant=False or turn it off)"
    if "Expected more than 1 value per channel" in str(exc):
        return " (BatchNorm normalises by the batch in train mode, as every proxy runs it: pass S >= 2 samples)"
    if isinstance(exc, TypeError) and "required positional argument" in str(exc):
        return (" (the model takes more inputs than it was given: pass ((x1, x2, …), y) or ((x1, x2, …), None) for "
                "model(x1, x2, …), or a dict of tensors for model(**kw))")
    x = input_tensors(batch.inputs)[0]
    weights = _float_weights(model)
    if not x.is_floating_point() and not _has(model, (nn.Embedding, nn.EmbeddingBag)):
        return (f" (the inputs are {x.dtype} and the model has no embedding to take integer ids: images need float "
                "inputs, e.g. x.float() / 255, then normalised)")
    if x.is_floating_point() and weights is not None and x.dtype != weights and "pass x.to(" not in str(exc):
        return f" (the inputs are {x.dtype} and the weights {weights}: pass x.to({weights}))"
    if _has(model, (nn.Conv2d,)) and x.ndim == 3:
        return (f" (a CNN takes (S, C, H, W) inputs and these are 3-D, {tuple(x.shape)}: S one-channel images need "
                "x.unsqueeze(1), one sample of C channels x.unsqueeze(0))")
    if _has(model, (nn.Conv2d,)) and x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        return (f" (the inputs {tuple(x.shape)} look channels-last (S, H, W, C); a CNN takes (S, C, H, W): pass "
                "x.permute(0, 3, 1, 2))")
    if p.needs_labels or p.needs_grad:
        try:
            with torch.no_grad():
                out = call_model(model, batch.inputs)  # the proxy's own copy: nothing of the caller's changes
        except Exception:  # noqa: BLE001 - the model fails by itself: the error above says how
            return ""
        kind = type(out).__name__
        if not isinstance(out, torch.Tensor) and re.search(rf"\b{re.escape(kind)}\b", str(exc)):  # (session 60: not
            # said of an error that does not name the output's type, nor of "dict" inside "state_dict")
            way = "wrap it to return e.g. out[0] or out['logits']"
            if isinstance(out, Mapping):  # (session 60: a base model's out[0] is its hidden states, not logits)
                way = "wrap it to return out['logits']" if "logits" in out else (
                    f"it holds no logits ({', '.join(map(str, out))}): score the model with a classification head, or "
                    "with a metric that reads activations or weights (swap_fn, l2_norm, vkdnw_layers, …)")
            return f" ({p.name} needs the model to return its output tensor (logits), and it returns a {kind}: {way})"
    return ""
