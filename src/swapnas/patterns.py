"""The SWAP-Score: distinct sample-wise activation patterns, counted exactly.

For a batch of S samples, every neuron (each element of each hooked activation map) gets an S-bit pattern: bit s is 1
iff the neuron's pre-activation is positive for sample s. The SWAP-Score is the number of distinct patterns over all
neurons of all hooked layers together (a global union, not a per-layer sum).

Up to 20 samples, each layer's patterns are marked in a 2**S presence table as the layer runs (nothing kept per
layer). Beyond, the patterns are bit-packed on the fly (8 samples per byte, in the narrowest integer word that holds S
bits, int64 words beyond 64 samples), so memory is about S/8 bytes per neuron and any batch size works, and the packed
rows are counted by sorting. Both are exact: no hashing.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence

import torch
from torch import nn

from .act_functions import (activation_calls, activation_like, activation_like_names, plain_activation,
                            settings_keep_sign, two_sided_call)
from .buffers import restored_buffers
from .devices import without_autocast
from .module_tools import all_modules, model_lock
from .padding import by_name, live_positions, shared_mask_hint, unmasked, without_padding
from .saturation import (  # noqa: F401  (re-exported: the saturation warning lived here)
    SATURATION, SaturationWarning, saturation_once, warn_if_saturated as _warn_if_saturated)
from .seq_first import FIX as _FIX, batch_first_guard, positional as _positional
from .swap_checks import (call_naming_a_pair, check_swap_options, eager, not_a_module, refuse_meta,  # noqa: F401
                          scripted, uncompiled)  # (scripted re-exported: it lived here until session 64)
from .size_prior import (  # noqa: F401  (re-exported: the size prior lived here)
    PRIOR_CENTRE, PRIOR_WIDTH, count_params_k, prior_from_range, regularise, size_prior, unfused_attention)

__all__ = ["ICLR_ACTIVATIONS", "EXTENDED_ACTIVATIONS", "NoActivationError", "SATURATION", "SaturationWarning",
           "swap_score", "pack_patterns", "count_params_k", "size_prior", "regularise", "prior_from_range"]

#: The ICLR 2024 behaviour: only ``nn.ReLU`` modules are hooked.
ICLR_ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.ReLU,)
#: The TPAMI extension: other activations whose output is positive iff the input is.
EXTENDED_ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Hardswish,
                                                       nn.ELU, nn.SELU, nn.CELU, nn.Mish)
_KNOWN_ACTIVATIONS = {"ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "Hardswish", "ELU", "SELU", "CELU", "Mish",
                      "Tanh", "Sigmoid", "Softplus", "PReLU", "RReLU", "Hardtanh", "Hardsigmoid"}


class NoActivationError(RuntimeError):
    """Raised when no hooked activation fired during the forward pass: ``finding`` says what the model holds,
    ``advice`` the settings of :func:`swap_score` that work (a proxy's error gives proxies instead)."""

    def __init__(self, finding: str, advice: str = "") -> None:
        super().__init__(f"{finding}. {advice}")
        self.finding, self.advice = finding, advice


_WORD_DTYPES = {1: torch.uint8, 2: torch.int16, 4: torch.int32}


def pack_patterns(maps: torch.Tensor) -> torch.Tensor:
    """Pack sample-wise sign patterns of one activation output into integer words.

    ``maps`` has the batch on dim 0 (shape ``(S, ...)``). Returns a tensor of
    shape ``(V, W)`` with ``V`` = neurons per sample: row v holds the S bits
    ``maps[s].flatten()[v] > 0``, zero-padded, in the narrowest word that fits
    (uint8 / int16 / int32 / int64 for S ≤ 8 / 16 / 32 / 64; ``W = ceil(S / 64)``
    int64 words beyond). Two neurons have equal rows iff their patterns are equal.
    """
    s = maps.shape[0]
    bits = (maps > 0).reshape(s, -1)  # (S, V) bool; reshape copies only if needed
    v = bits.shape[1]
    nbytes = -(-s // 8)
    width = next((w for w in (1, 2, 4) if nbytes <= w), 8 * -(-nbytes // 8))
    b = bits.view(torch.uint8)
    if width * 8 > s:
        b = torch.cat([b, b.new_zeros(width * 8 - s, v)])
    b = b.view(width, 8, v)
    shifts = torch.arange(8, dtype=torch.uint8, device=b.device).view(1, 8, 1)
    # distinct powers of two below 256: the uint8 sum never overflows
    packed = (b << shifts).sum(dim=1, dtype=torch.uint8)  # (width bytes, V)
    word = _WORD_DTYPES.get(width, torch.int64)
    flat = packed.t().contiguous().reshape(-1).view(word)  # 1-D: a (1, W) or (0, W) tensor's strides do not matter
    return flat.view(v, -(-width // 8) if width > 4 else 1)  # (V, W)


#: Up to this many samples, distinct patterns are counted with a 2**S presence table (O(V))
#: instead of sorting (O(V log V)); 2**20 booleans = 1 MiB.
TABLE_MAX_SAMPLES = 20


#: what a map of one row for S > 1 samples may be beside a sequence-first one (session 60: Swin V2's was called that)
_ONE_ROW = ("a map computed once for all the samples (a position-bias table, as Swin V2's MLP makes: leave its "
            "activation kind out, swap_score's activations=...), a model that runs its samples one at a time, or ")


class _DistinctPatterns:
    """Counts the distinct sample-wise patterns of every hooked output together.

    The samples are dim 0 of the hooked outputs (normally the input batch; a siamese encoder
    that sees 9 tiles per image has 9·S), and every hooked layer must have the same number.
    Up to TABLE_MAX_SAMPLES samples, each layer's patterns are marked in a 2**S boolean table
    as it runs (nothing kept per layer; a neuron's table index is ``sum_s bit_s * 2**s``,
    one compare and one (1, S) x (S, V) product per layer). Beyond that, the
    packed rows are kept and counted exactly at the end.
    """

    def __init__(self, samples: int) -> None:
        self.samples = samples  # S of the inputs: every map's dim 0 must be S or k·S (tiles)
        self.s: int | None = None
        self.seen: torch.Tensor | None = None
        self.weights: torch.Tensor | None = None
        self.buffer: torch.Tensor | None = None
        self.rows: list[torch.Tensor] = []
        self.neurons = 0

    def add(self, output: torch.Tensor) -> None:
        s = output.shape[0]
        self.neurons += output[0].numel()
        if self.s is None:
            if s % self.samples:
                raise ValueError(f"a hooked map holds {s} rows on dim 0 and the inputs S = {self.samples} samples: SWAP "
                                 f"reads dim 0 of every map as the samples (or k·S tiles). Likely "
                                 f"{_ONE_ROW * (s == 1)}a "
                                 "batch_first=False module (PyTorch's default for nn.TransformerEncoderLayer, "
                                 f"nn.MultiheadAttention, nn.LSTM/GRU/RNN) or samples folded into another dim: {_FIX}")
            self.s = s
            if s <= TABLE_MAX_SAMPLES:
                self.seen = torch.zeros(2**s, dtype=torch.bool, device=output.device)
                self.weights = torch.ldexp(torch.ones(1, s, dtype=torch.float32, device=output.device),
                                           torch.arange(s, device=output.device))  # 2**s, float32 whatever the default
        elif s != self.s:
            raise ValueError(f"hooked activations disagree on the number of samples (dim 0): {self.s} and {s}; "
                             "SWAP needs one S-bit pattern per neuron, so every hooked map must hold the same samples. "
                             "A model that moves patches, windows or tokens into dim 0 (MobileViT's patches, a mixture "
                             "of experts' routed tokens) can be scored on the maps that keep the samples there, e.g. "
                             "its conv maps alone: swap_score(model, x, activations=..., input_dims=(4,))")
        if self.seen is None:
            self.rows.append(pack_patterns(output))
            return
        maps = output.reshape(s, -1)
        if self.buffer is None or self.buffer.numel() < maps.numel():  # one buffer for all layers
            self.buffer = torch.empty(maps.numel(), dtype=torch.float32, device=maps.device)
        bits = self.buffer[: maps.numel()].view(maps.shape)
        torch.gt(maps, 0, out=bits)
        # (1, S) @ (S, V): sums of distinct powers of two below 2**20 are exact in float32
        # (also under TF32, whose inputs here are 0, 1 and powers of two)
        assert self.weights is not None  # set with self.seen
        self.seen.index_fill_(0, torch.mm(self.weights, bits).view(-1).to(torch.int64), True)

    def count(self) -> int | None:
        """The number of distinct patterns, or None if no hooked activation fired."""
        if self.seen is not None:
            return int(self.seen.sum())
        if not self.rows:
            return None
        return _count_distinct_rows(torch.cat(self.rows) if len(self.rows) > 1 else self.rows[0])


def _count_distinct_rows(rows: torch.Tensor) -> int:
    """Exact number of distinct rows of a (V, W) integer tensor."""
    if rows.shape[0] == 0:
        return 0
    if rows.shape[1] == 1:
        return int(torch.unique(rows.view(-1)).numel())
    # lexicographic order by stable sorts from the last word to the first (LSD radix
    # order on words): several times faster than torch.unique(dim=0)
    order = torch.argsort(rows[:, -1], stable=True)
    for w in range(rows.shape[1] - 2, -1, -1):
        order = order[torch.argsort(rows[order, w], stable=True)]
    ranked = rows[order]
    return int((ranked[1:] != ranked[:-1]).any(dim=1).sum()) + 1


@contextlib.contextmanager
def hooked_activations(model: nn.Module, activations: Sequence[type[nn.Module]] = ICLR_ACTIVATIONS,
                       input_dims: Collection[int] = (4,), sink: Callable[[torch.Tensor], None] | None = None,
                       skip_repeats: bool = False, functions: bool = False) -> Iterator[list[torch.Tensor]]:
    """Collect packed patterns of matching activations (or pass each output to ``sink``); hooks are always removed.

    ``skip_repeats``: an activation applied to an input tensor that an equal activation (PyTorch's own class, the
    same settings, no parameters, buffers or hooks of the model's: ``act_functions.plain_activation``) already took,
    unchanged since (its version counter; a write through ``.data`` goes unseen), gives the same output; it is
    passed on once (e.g. the three ReLU-Conv-BN edges that leave one NB201 node). The set of patterns is the same,
    the work is less. Modules (and calls) whose settings make them positive on both sides of 0 are not counted
    (``act_functions.settings_keep_sign``). ``functions``: also take the activation functions of these kinds
    (``F.relu``, ``torch.relu``, ``F.gelu``, …: :data:`swapnas.act_functions.FUNCTIONS`) called outside the hooked
    modules, and the activation modules of other kinds that keep their input's sign
    (:func:`swapnas.act_functions.activation_like`: ``NewGELUActivation``, ``QuickGELUActivation``, …). The model's
    lock (:func:`~swapnas.module_tools.model_lock`) is held while the hooks are on it: another thread's block on the
    same model waits.
    """
    with model_lock(model):
        yield from _hooked(model, activations, input_dims, sink, skip_repeats, functions)


def _hooked(model: nn.Module, activations: Sequence[type[nn.Module]], input_dims: Collection[int],
            sink: Callable[[torch.Tensor], None] | None, skip_repeats: bool,
            functions: bool) -> Iterator[list[torch.Tensor]]:
    collected: list[torch.Tensor] = []
    kinds = tuple(activations)
    dims = frozenset(input_dims)
    taken: dict[tuple, tuple[weakref.ref, int]] = {}

    def repeated(kind: tuple, x: torch.Tensor) -> bool:
        if x.is_inference():  # no version counter (torch.inference_mode): an in-place change would go unseen
            return False
        prev = taken.get(key := (id(x), *kind))
        if prev is not None and prev[0]() is x and prev[1] == x._version:
            return True
        taken[key] = (weakref.ref(x), x._version)
        return False

    def take(kind: tuple | None, args: tuple, output: torch.Tensor) -> None:  # kind: what makes two equal (None: never)
        if args and isinstance(args[0], torch.Tensor) and args[0].dim() in dims:
            if kind is not None and repeated(kind, args[0]):
                return
            if sink is not None:
                sink(output.detach())
            else:
                collected.append(pack_patterns(output.detach()))

    def hook(module: nn.Module, args: tuple, kwargs: dict, output: torch.Tensor) -> None:
        equal = skip_repeats and plain[id(module)]
        take((type(module), module.extra_repr()) if equal else None, _positional(args, kwargs), output)

    def call(func: Callable, args: tuple, kwargs: dict, output: torch.Tensor) -> None:
        if two_sided_call(func, args, kwargs):
            return
        take((func, repr(args[1:]), repr(sorted(kwargs.items()))) if skip_repeats else None,
             _positional(args, kwargs), output)

    kind = [m for m in all_modules(model) if isinstance(m, kinds)]  # the two-sided: nor the calls inside them count
    hooked = [m for m in kind if settings_keep_sign(m)] + (activation_like(model, kinds) if functions else [])
    unhooked = [m for m in kind if not settings_keep_sign(m)]
    plain = {id(m): plain_activation(m) for m in hooked}  # (before swapnas adds its hooks: the review of session 63)
    handles = [m.register_forward_hook(hook, with_kwargs=True) for m in hooked]
    calls = activation_calls(hooked + unhooked, kinds, call) if functions else contextlib.nullcontext()
    try:
        with calls:
            yield collected
    finally:
        for h in handles:
            h.remove()


def swap_score(model: nn.Module, inputs: Inputs, *, activations: Sequence[type[nn.Module]] = ICLR_ACTIVATIONS,
               input_dims: Collection[int] = (4,), restore_buffers: bool = True, functions: bool = False) -> int:
    """Exact SWAP-Score Ψ of ``model`` for one forward pass of ``inputs``.

    The model is used as it is: no re-initialisation, its train/eval mode is untouched, no gradients are kept, and
    (by default) buffers such as BatchNorm running statistics are restored afterwards. Hooks are removed even on
    error. The pass runs with a caller's ``torch.autocast`` off and each ``torch.compile``'d submodule's eager module
    in its place (put back after).

    Args:
        model: any ``nn.Module`` that runs ``model(inputs)`` (``model(*inputs)``: a tuple, ``model(**inputs)``: a dict).
        inputs: a batch whose first dimension is the S samples (a named padding mask's pads left out: swapnas.padding).
        activations: module types to hook. Default ``(nn.ReLU,)`` as in the ICLR paper;
            :data:`EXTENDED_ACTIVATIONS` adds ReLU6, LeakyReLU, GELU, SiLU, Hardswish, ELU, SELU, CELU, Mish.
        input_dims: hook an activation only when its input has one of these numbers of dimensions. Default ``(4,)``
            (conv maps, as the authors' code); ``(2, 3, 4)`` also takes linear and token activations.
        restore_buffers: put buffers back after the pass (default True).
        functions: also hook the activation *functions* of those kinds called outside hooked modules
            (``F.relu``, ``Tensor.relu``, ``F.gelu``, …; ``nn.TransformerEncoderLayer``) and sign-keeping
            activation modules of other kinds (``NewGELUActivation``: :func:`~swapnas.act_functions.activation_like`);
            default False: modules of those kinds only, as the authors' code.

    Returns:
        The number of distinct S-bit patterns over all hooked neurons.

    Raises:
        NoActivationError: no hooked activation fired.
        TypeError: a TorchScript model (scripted or traced): score the eager module, before any pass.
        ValueError: the model's output holds NaN (its activations overflowed: no sign pattern to count), or a
            hooked map's dim 0 is not the S samples (a ``batch_first=False`` module: build it with
            ``batch_first=True``); inputs holding NaN or inf, an empty batch, or input tensors that disagree on S.
        TypeError: inputs that are not tensors (or a tuple, list or dict of them).

    Ceiling: Ψ ≤ min(2**S, N) for N hooked neurons. At or above ``SATURATION`` (95 %) of it a :class:`SaturationWarning`
    is issued: Ψ then ranks nothing (torchvision's resnet18 at 224 px scores exactly 2**16 with S = 16). Where 2**S is
    the smaller (Ψ meets 2**S), use more samples (S = 32, 64: Ψ is exact for any S) or a smaller scored network (fewer
    channels or cells, lower resolution), so that Ψ stays well below 2**S; the paper's NB201 protocol (C = 16, one cell
    per stage, S = 16) does. Where N is the smaller (Ψ meets N: nearly every neuron has a pattern of its own), use fewer
    samples, near S = log2(N): a smaller network only lowers N (session 69).

    Example (S = 8 keeps Ψ ≈ 170 below its ceiling min(2**S, 8·6·6); at S = 16 Ψ ≈ 8·6·6 and it warns):
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        >>> swap_score(net, torch.randn(8, 3, 8, 8)) <= min(2**8, 8 * 6 * 6)
        True
    """
    check_inputs(model := eager(model), inputs)  # a torch.compile'd model: its eager module (the same function)
    activations, input_dims = check_swap_options(activations, input_dims, restore_buffers, functions)
    restore = restored_buffers(model) if restore_buffers else contextlib.nullcontext()
    samples, fed = num_samples(inputs), {tuple(t.shape) for t in input_tensors(inputs)}
    patterns = _DistinctPatterns(samples)
    add = without_padding(live_positions(by_name(model, inputs)), patterns.add)  # pads as 0 (``swapnas.padding``)
    with uncompiled(model), restore, batch_first_guard(model, samples, add, fed) as sink, torch.no_grad(), \
            without_autocast(), unfused_attention(), \
            hooked_activations(model, activations, input_dims, sink=sink, skip_repeats=True, functions=functions):
        _refuse_nan(call_naming_a_pair(call_model, model, inputs))
    count = patterns.count()
    if count is None or patterns.s is None:  # (s is set by the first hooked map, with the count)
        raise NoActivationError(*_no_activation_message(model, activations, input_dims, functions))
    _warn_if_saturated(count, patterns.s, patterns.neurons, samples)  # the maps' rows (9·S tiles …), the inputs
    return count


def _refuse_nan(output: object) -> None:
    """ValueError when the model's output holds NaN: its activations overflowed (an inf that met another inf or a
    zero), and a NaN map has no sign, so the patterns would be noise. One check of the output (±inf is no NaN),
    not of every hooked map (a NaN reaches the output through every later layer; checking each costs a pass)."""
    for t in input_tensors(output):  # type: ignore[arg-type]
        if isinstance(t, (tuple, list, Mapping)):
            _refuse_nan(t)
        elif isinstance(t, torch.Tensor) and t.is_floating_point() and bool(t.detach().isnan().any()):
            raise ValueError("the model's output holds NaN: its activations overflow at this init (a very deep "
                             "network without normalisation?), and a NaN map has no sign pattern; use another init "
                             "or add normalisation")


Inputs = torch.Tensor | tuple | list | Mapping
"""What a model is called with: a tensor (``model(x)``), a tuple/list of tensors (``model(*xs)``)
or a dict / mapping of tensors (``model(**kw)``, e.g. ``input_ids`` and ``attention_mask``; a Hugging Face
``BatchEncoding`` too)."""


def no_values(tensors: list) -> str:
    """``no values (shape …): …`` for the first of ``tensors`` that holds none (a sequence of length 0), else ''."""
    empty = next((t for t in tensors if t.numel() == 0), None)
    return "" if empty is None else (f"no values (shape {tuple(empty.shape)}): each sample needs at least one (a "
                                     "sequence of length >= 1)")


def input_tensors(inputs: Inputs) -> list:
    """The tensors a model is called with: ``[x]``, the tuple/list's items or the dict's values."""
    if isinstance(inputs, Mapping):
        return list(inputs.values())
    if isinstance(inputs, (tuple, list)):
        return list(inputs)
    return [inputs]


def call_model(model: nn.Module, inputs: Inputs) -> object:
    """``model`` called with ``inputs`` (a tensor, a tuple/list of tensors, or a dict of tensors)."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def num_samples(inputs: Inputs) -> int:
    """S: dim 0 of the (first) input tensor."""
    return int(input_tensors(inputs)[0].shape[0])


def check_inputs(model: nn.Module, inputs: Inputs, what: str = "swap_score") -> None:
    """TypeError unless ``model`` is an ``nn.Module`` and ``inputs`` a tensor or a tuple/list/dict of
    tensors with one number of samples; ValueError for an empty batch or one holding NaN / inf (which
    would make every sign pattern meaningless)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"{what} takes a torch.nn.Module as model, got {not_a_module(model)}")
    if (why := scripted(model)) is not None:
        raise TypeError(f"{what} cannot score {why}")
    tensors = input_tensors(inputs)
    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
        kinds = ", ".join(sorted({type(t).__name__ for t in tensors})) or "nothing"
        raise TypeError(f"{what} takes a torch.Tensor of inputs (S samples on dim 0), or a tuple/dict of tensors, "
                        f"got {type(inputs).__name__} (of {kinds}); convert it with torch.as_tensor(…, "
                        "dtype=torch.float32)")
    if (empty := next((t for t in tensors if t.dim() < 1 or t.shape[0] < 1), None)) is not None:
        raise ValueError(f"{what} needs at least one sample in inputs (got an empty batch, shape "
                         f"{tuple(empty.shape)})")
    if empty := no_values(tensors):  # (session 62: a ZeroDivisionError)
        raise ValueError(f"{what}: an input holds {empty}")
    if len({t.shape[0] for t in tensors}) > 1:
        raise ValueError(f"{what}: the input tensors disagree on the number of samples (dim 0): "
                         f"{[t.shape[0] for t in tensors]}"
                         f"{shared_mask_hint(by_name(model, inputs), num_samples(inputs))}")
    refuse_meta(model, tensors, what)
    for t in (t for t in input_tensors(unmasked(by_name(model, inputs))) if t.is_floating_point() or t.is_complex()):
        if bad := int((~torch.isfinite(t)).sum()):
            raise ValueError(f"{what}: inputs hold {bad} non-finite value(s) (NaN/inf) of {t.numel()}; "
                             "clean or re-normalise the batch")


def _no_activation_message(model: nn.Module, activations: Sequence[type[nn.Module]],
                           input_dims: Collection[int], functions: bool) -> tuple[str, str]:
    """What was found, and the route that works: wider settings, the kind to hook, or that SWAP has nothing to
    count."""
    names, kinds = ", ".join(k.__name__ for k in activations), {k.__name__ for k in activations}
    present = sorted({type(m).__name__ for m in model.modules() if type(m).__name__ in _KNOWN_ACTIVATIONS
                      and settings_keep_sign(m)})
    two_sided = sorted({type(m).__name__ for m in model.modules() if not settings_keep_sign(m)})
    extended = [n for n in present if n not in kinds and n in {k.__name__ for k in EXTENDED_ACTIVATIONS}]
    positive = [n for n in present if n in ("Sigmoid", "Softplus", "Hardsigmoid")]  # > 0 for every input
    signed = [n for n in present if n not in kinds and n not in extended + positive]
    # activation modules of other libraries (Hugging Face's GELUActivation, SiLUActivation: session 60, "no activation
    # module at all" was said of them), hooked by functions=True
    others = [n for n in activation_like_names(model, activations) if n not in present]
    wide = {2, 3, 4} <= set(input_dims)
    wider = (["activations= (e.g. swapnas.EXTENDED_ACTIVATIONS)"] if extended else []) + (
        ["input_dims=(2, 3, 4)"] if not wide and (extended or (others and functions) or set(present) & kinds) else [])
    advice = [f"Pass {' or '.join(wider)} to hook others."] if wider else [
        "The proxies hook 2-, 3- and 4-D maps only; for other ranks (5-D Conv3d maps) call swapnas.swap_score("
        "model, x, input_dims=(5,))."] if set(present) & kinds else []
    if signed:
        advice.append(f"{', '.join(signed)} {'is' if len(signed) == 1 else 'are'} not hooked by default: count the "
                      f"sign patterns with swapnas.swap_score(model, x, activations=("
                      f"{', '.join(f'nn.{n}' for n in signed)},), input_dims=(2, 3, 4)).")
    if two_sided:
        advice.append(f"Its {', '.join(two_sided)} module(s) with a negative slope or alpha are positive on both "
                      "sides of 0 (their output's sign is not their input's): not counted.")
    if positive:
        advice.append(f"{', '.join(positive)} {'gives' if len(positive) == 1 else 'give'} a positive output for "
                      "every input: no sign pattern to count.")
    if not functions:
        also = f" and activation modules of other libraries ({', '.join(others)})" if others else ""
        advice.insert(0 if others else len(advice), f"Activations called as functions (F.relu, torch.relu, F.gelu, …)"
                      f"{also} "
                      f"are hooked with functions=True (the proxy swap_fn)"
                      f"{'' if wide else ', with input_dims=(2, 3, 4) for linear and token maps'}.")
    present += others
    if not present:
        rnn = " (an nn.LSTM/GRU/RNN computes its gates inside its kernel, where no hook reaches)" if any(
            isinstance(m, nn.RNNBase) for m in model.modules()) else ""
        advice.append(f"{'Without them, ' if not functions else ''}SWAP has no activation to count{rnn}: score it "
                      "with a proxy that needs none (params, grad_norm, synflow, …).")
    found = f"it has {', '.join(present)} module(s)" if present else \
        "it has no other activation module" if two_sided else "it has no activation module at all"
    return (f"no hooked activation fired: the model called no {names} {'module or function' if functions else 'module'}"
            f" with a {'/'.join(map(str, sorted(input_dims)))}-D input; {found}", " ".join(advice))
