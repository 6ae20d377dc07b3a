"""FlexiBERT space (Tuli et al., JAIR 2023): heterogeneous BERT-like encoders of 2 or 4 layers.

An arch is a hidden size (128 or 256) and per layer an operation (``SA`` with ``SDP``/``WMA``,
``LT`` with ``DFT``/``DCT``, ``DSC`` with kernel ``5``/``9``), a head count (2, 4, 8), a
feed-forward width (512, 1024) and a number of stacked FF layers (1, 3). Canonical string::

    h256|SA.WMA.h4.f1024x3|LT.DCT.h2.f512x3|DSC.5.h4.f512x1

(hidden size, then one ``OP.PARAM.hHEADS.fWIDTHxCOUNT`` per layer, input to output).

Two size readings (network option ``sizes``):

- ``"authors"`` (default): every model is built with hidden 256 and FF width 1024, as in the SWAP
  authors' scoring code (their ELECTRA builder ignores the record's ``hidden_size`` and
  ``feed_forward_dimension``); the layer count, ops, heads and FF depth come from the arch. This is
  the protocol behind their ρ = 0.71, and it was chosen on the dev half (docs/transformers.md).
- ``"design"``: the record's own hidden size and per-layer FF widths (the networks that were trained).
"""

from __future__ import annotations

import functools
import numbers
import random
import re
from dataclasses import dataclass, replace
from typing import Any

import torch

from .. import patterns as _swap
from .flexibert_net import Encoder, EncoderLayer
from .protocol import CanonicalString, as_arch, tuple_field

NAME = "flexibert"
HIDDEN: tuple[int, ...] = (128, 256)
DEPTHS: tuple[int, ...] = (2, 4)
#: operation type → its parameters
OPERATIONS: dict[str, tuple[str, ...]] = {"SA": ("SDP", "WMA"), "LT": ("DFT", "DCT"), "DSC": ("5", "9")}
HEADS: tuple[int, ...] = (2, 4, 8)
FF_DIMS: tuple[int, ...] = (512, 1024)
FF_COUNTS: tuple[int, ...] = (1, 3)
SIZES = ("authors", "design")
#: the SWAP authors' fixed sizes (``sizes="authors"``)
AUTHORS_HIDDEN, AUTHORS_FF = 256, 1024

_LAYER = re.compile(r"([A-Z]+)\.([A-Z0-9]+)\.h([1-9][0-9]*)\.f([1-9][0-9]*)x([1-9][0-9]*)")  # fullmatch: no "\n"


def _quote(value: object, limit: int = 80) -> str:
    """``value`` for a message: a string's repr (a long one: the repr of its first ``limit`` characters, then its
    length, so the quote is still a piece of the text), else the repr, cut the same way."""
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else f"{value[:limit]!r}… ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _whole(value: object, what: str) -> int:
    """An integer field as an ``int`` (numpy's integers too); a bool, float or string is refused by name: its
    string would not parse back (``h256.0``, ``xTrue``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"FlexiBERT {what} must be an int, got {type(value).__name__} {_quote(value)}")
    return int(value)


@dataclass(frozen=True, order=True)
class Layer:
    """One encoder layer: operation type and parameter, heads, FF width and FF depth."""

    op: str
    param: str
    heads: int
    ff: int
    n_ff: int

    def __post_init__(self) -> None:
        for name, what in (("heads", "heads"), ("ff", "feed-forward width"), ("n_ff", "feed-forward layer count")):
            object.__setattr__(self, name, _whole(getattr(self, name), what))
        if not isinstance(self.op, str) or self.op not in OPERATIONS:
            raise ValueError(f"unknown FlexiBERT operation type {_quote(self.op)}; valid: {', '.join(OPERATIONS)}")
        if not isinstance(self.param, str) or self.param not in OPERATIONS[self.op]:
            raise ValueError(f"unknown parameter {self.param!r} for operation {self.op}; "
                             f"valid: {', '.join(map(repr, OPERATIONS[self.op]))} (strings)")
        for what, value, valid in (("heads", self.heads, HEADS), ("feed-forward width", self.ff, FF_DIMS),
                                   ("feed-forward layer count", self.n_ff, FF_COUNTS)):
            if value not in valid:
                raise ValueError(f"FlexiBERT {what} must be one of {valid} (got {value!r})")

    def __str__(self) -> str:
        return f"{self.op}.{self.param}.h{self.heads}.f{self.ff}x{self.n_ff}"


@dataclass(frozen=True, order=True)
class Arch(CanonicalString):
    """An immutable FlexiBERT arch: the hidden size and the layers, input to output."""

    hidden: int
    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        tuple_field(self, "layers", "a FlexiBERT Arch")
        object.__setattr__(self, "hidden", _whole(self.hidden, "hidden size"))
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"a FlexiBERT Arch's layers must be Layer objects; layer {i + 1} is "
                                 f"{type(layer).__name__} {_quote(layer)}")
        if self.hidden not in HIDDEN:
            raise ValueError(f"FlexiBERT hidden size must be one of {HIDDEN} (got {self.hidden!r})")
        if len(self.layers) not in DEPTHS:
            raise ValueError(f"a FlexiBERT arch has {' or '.join(map(str, DEPTHS))} layers, got {len(self.layers)}")
        for layer in self.layers:
            if self.hidden % layer.heads:
                raise ValueError(f"{layer.heads} heads do not divide the hidden size {self.hidden} ({layer})")



def format_arch(arch: Arch) -> str:
    """``h256|SA.WMA.h4.f1024x3|…``."""
    return "|".join([f"h{arch.hidden}", *map(str, arch.layers)])


def _int(text: str, what: str, whole: str) -> int:
    if not re.fullmatch(r"[1-9][0-9]{0,8}", text):
        raise ValueError(f"FlexiBERT {what} {_quote(text)} in {_quote(whole)} is not a positive integer "
                         "(ASCII digits, no leading zero, at most 9 digits)")
    return int(text)


def parse(text: str) -> Arch:
    """Parse the canonical string; errors quote the bad part."""
    if not isinstance(text, str):
        raise TypeError(f"flexibert: expected an arch string, got {type(text).__name__}")
    head, *parts = text.strip().split("|")
    if not head.startswith("h"):
        raise ValueError(f"FlexiBERT arch {_quote(text)} must start with the hidden size, e.g. 'h256|SA.SDP.h4.f512x1|…'")
    hidden = _int(head[1:], "hidden size", text)
    layers = []
    for part in parts:
        m = _LAYER.fullmatch(part)
        if not m:
            raise ValueError(f"FlexiBERT layer {_quote(part)} in {_quote(text)} must look like "
                             "'OP.PARAM.hHEADS.fWIDTHxCOUNT' (e.g. 'SA.SDP.h4.f512x1')")
        op, param, heads, ff, n_ff = m.groups()
        try:
            layers.append(Layer(op, param, *(_int(v, w, text) for v, w in ((heads, "head count"), (ff, "FF width"),
                                                                          (n_ff, "FF layer count")))))
        except ValueError as exc:  # a range check of the layer: quote the part and the arch
            raise ValueError(f"FlexiBERT layer {_quote(part)} in {_quote(text)}: {exc}") from None
    try:
        return Arch(hidden, tuple(layers))
    except ValueError as exc:
        raise ValueError(f"FlexiBERT arch {_quote(text)}: {exc}") from None


def _record_int(value: object, field: str) -> int:
    """A record's size field: an int, or a float or digit string holding one; anything else (``256.7``,
    ``True``) is a ValueError naming the field, not truncated."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value.strip()):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"FlexiBERT record: {field} must be a whole number, got {type(value).__name__} "
                         f"{_quote(value)}")
    return int(value)


def from_record(record: dict) -> Arch:
    """The arch of a FlexiBERT-500 record (``hparams.model_hparam_overrides``: hidden size, nas_config)."""
    over = record["hparams"]["model_hparam_overrides"] if "hparams" in record else record
    layers = []
    for i, d in enumerate(over["nas_config"]["encoder_layers"]):
        try:
            layers.append(Layer(str(d["operation_type"]), str(d["operation_parameter"]),
                                *(_record_int(d[k], f"layer {i + 1}'s {k}")
                                  for k in ("num_operation_heads", "feed_forward_dimension", "num_feed_forward"))))
        except (ValueError, KeyError) as exc:  # which layer (once: an integer field's message names it already)
            text = str(exc.args[0] if exc.args else exc)
            raise ValueError(text if f"layer {i + 1}'s" in text else f"layer {i + 1}: {text}") from None
    return Arch(_record_int(over["hidden_size"], "hidden_size"), tuple(layers))


def _sample_layer(rng: random.Random) -> Layer:
    op = rng.choice(list(OPERATIONS))
    return Layer(op, rng.choice(OPERATIONS[op]), rng.choice(HEADS), rng.choice(FF_DIMS), rng.choice(FF_COUNTS))


def sample(rng: random.Random) -> Arch:
    """A random arch: depth and hidden size uniformly, then each layer's choices independently (so not
    uniform over archs: each 2-layer arch is more likely than each 4-layer one)."""
    depth, hidden = rng.choice(DEPTHS), rng.choice(HIDDEN)
    return Arch(hidden, tuple(_sample_layer(rng) for _ in range(depth)))


def _mutate_layer(layer: Layer, rng: random.Random) -> Layer:
    """Change one choice of ``layer``: operation (with a parameter), parameter, heads, FF width or depth."""
    field = rng.choice(("op", "param", "heads", "ff", "n_ff"))
    if field == "op":
        op = rng.choice([o for o in OPERATIONS if o != layer.op])
        return replace(layer, op=op, param=rng.choice(OPERATIONS[op]))
    if field == "param":
        return replace(layer, param=next(p for p in OPERATIONS[layer.op] if p != layer.param))
    valid = {"heads": HEADS, "ff": FF_DIMS, "n_ff": FF_COUNTS}[field]
    change: dict[str, Any] = {field: rng.choice([v for v in valid if v != getattr(layer, field)])}
    return replace(layer, **change)


def mutate(arch: Arch, rng: random.Random) -> Arch:
    """One change: a layer's choice (usually), the hidden size, or the depth (2 ↔ 4 layers)."""
    u = rng.random()
    if u < 0.1:
        return replace(arch, hidden=next(h for h in HIDDEN if h != arch.hidden))
    if u < 0.2:
        if len(arch.layers) == 4:
            return replace(arch, layers=arch.layers[:2])
        return replace(arch, layers=arch.layers + tuple(_sample_layer(rng) for _ in range(2)))
    i = rng.randrange(len(arch.layers))
    layers = list(arch.layers)
    layers[i] = _mutate_layer(layers[i], rng)
    return replace(arch, layers=tuple(layers))


def crossover(a: Arch, b: Arch, rng: random.Random) -> Arch:
    """Depth and hidden size from either parent, each layer from the parent that has it (uniform)."""
    depth = len(a.layers) if rng.random() < 0.5 else len(b.layers)
    hidden = a.hidden if rng.random() < 0.5 else b.hidden
    layers = []
    for i in range(depth):
        options = [p.layers[i] for p in (a, b) if i < len(p.layers)]
        layers.append(rng.choice(options))
    return Arch(hidden, tuple(layers))


#: the choices of one layer (``Layer`` fields); a layer present in one arch only differs in all of them
LAYER_CHOICES = ("op", "param", "heads", "ff", "n_ff")


def distance(a: Arch, b: Arch) -> int:
    """How many design choices differ: the hidden size, each layer field at the same depth, and every
    choice of a layer that only the deeper arch has (so 2 ↔ 4 layers costs 10)."""
    shared = sum(getattr(x, f) != getattr(y, f) for x, y in zip(a.layers, b.layers) for f in LAYER_CHOICES)
    return int(a.hidden != b.hidden) + shared + len(LAYER_CHOICES) * abs(len(a.layers) - len(b.layers))


def iso_key(arch: Arch) -> str:
    """The canonical string: layer order matters, so two archs share a key only when they are equal.

    Under ``sizes="design"`` distinct archs are distinct networks. Under the default ``sizes="authors"``
    the hidden size and FF widths are not built (256 and 1024 for every arch), so archs that differ only
    in them are one network with several keys: the benchmark's 491 archs are 457 networks
    (``scripts/flexibert_distinct.py``, docs/transformers.md)."""
    return format_arch(arch)


def cell_edges(arch: Arch) -> dict[str, list[tuple[str, str, str]]]:
    """For drawing: the encoder as a chain embeddings → layer 1 → … (edge label: the layer)."""
    nodes = ["emb", *(str(i + 1) for i in range(len(arch.layers)))]
    return {"encoder": [(nodes[i], nodes[i + 1], str(layer)) for i, layer in enumerate(arch.layers)]}


# ----------------------------------------------------------------------------- network


def layer_specs(arch: Arch, sizes: str = "authors") -> tuple[int, list[tuple[str, str, int, int, int]]]:
    """The hidden size and the ``(op, param, heads, ff, n_ff)`` per layer under the size reading ``sizes``."""
    if sizes not in SIZES:
        raise ValueError(f"sizes must be one of {SIZES} (got {sizes!r})")
    if sizes == "design":
        return arch.hidden, [(la.op, la.param, la.heads, la.ff, la.n_ff) for la in arch.layers]
    return AUTHORS_HIDDEN, [(la.op, la.param, la.heads, AUTHORS_FF, la.n_ff) for la in arch.layers]


def build(arch: Arch | str, num_classes: int = 2, sizes: str = "authors", dropout: float = 0.0,
          max_len: int = 512, init_std: float = 0.02, resolution: int = 128, objective: str = "cls",
          layout: str = "v1") -> Encoder:
    """The encoder for ``arch`` under the size reading ``sizes`` (``authors`` or ``design``) and the layer
    ``layout`` (``v1``, or ``flexibert``: the FlexiBERT / SWAP authors' code, :data:`flexibert_net.LAYOUTS`).

    ``dropout`` (default 0: scores stay deterministic; the authors' ELECTRA had 0.1 in training mode),
    ``max_len`` positions, Linear/Embedding weights ~ N(0, ``init_std``). ``resolution`` is the scored
    batch's sequence length L (the input size, as for image spaces: ``load_batch`` reads it); the
    network takes any length up to ``max_len``. Its default 128 is ``load_batch``'s; the scoring protocol's
    L = 16 comes from :data:`SCORING_DEFAULTS` (docs/transformers.md, "Token inputs"). ``objective``: ``cls`` (a [CLS] classifier of
    ``num_classes``) or ``mlm`` (a masked-token head over the vocabulary; the batch then masks 15 % of
    its words and the label-based metrics use that loss, :func:`swapnas.tokens.mask_tokens`).

    Example:
        >>> net = build("h128|SA.SDP.h2.f512x1|LT.DFT.h4.f1024x3", sizes="design")
        >>> net(torch.randint(0, 30522, (2, 16))).shape
        torch.Size([2, 2])
    """
    arch = as_arch(arch, Arch, parse, "flexibert")
    if not 4 <= resolution <= max_len:  # a token batch needs [CLS], one word, [SEP] and room to pad (tokens.py)
        raise ValueError(f"resolution (sequence length) must be in 4..{max_len} (got {resolution})")
    if objective not in ("cls", "mlm"):  # the encoder's own message names its argument, head
        raise ValueError(f"objective must be 'cls' or 'mlm' (got {objective!r})")
    hidden, specs = layer_specs(arch, sizes)
    return Encoder(hidden, specs, num_classes=num_classes, dropout=dropout, max_len=max_len, init_std=init_std,
                   head=objective, layout=layout)


# ----------------------------------------------------------------------------- sizes and defaults


@functools.lru_cache(maxsize=256)
def _layer_params(spec: tuple[str, str, int, int, int], hidden: int, layout: str) -> int:
    with torch.device("meta"):
        return sum(p.numel() for p in EncoderLayer(*spec[:2], hidden, *spec[2:], layout=layout).parameters())


@functools.lru_cache(maxsize=64)
def _base_params(hidden: int, num_classes: int, max_len: int, objective: str) -> int:
    """Embeddings and the ``objective``'s head (:class:`Encoder` without layers)."""
    with torch.device("meta"):
        return sum(p.numel() for p in Encoder(hidden, [], num_classes=num_classes, max_len=max_len,
                                              head=objective).parameters())


#: build options that do not change the parameter count (``count_params`` accepts and ignores them)
SIZE_NEUTRAL_OPTIONS = ("dropout", "init_std", "resolution")


def _check_size_options(net: dict[str, object], what: str) -> None:
    if set(net) - set(SIZE_NEUTRAL_OPTIONS):
        raise ValueError(f"{what}: unknown option(s) {', '.join(sorted(set(net) - set(SIZE_NEUTRAL_OPTIONS)))}; "
                         "the FlexiBERT network's options: num_classes, sizes, max_len, layout, objective, "
                         f"{', '.join(SIZE_NEUTRAL_OPTIONS)}")


def count_params(arch: Arch | str, num_classes: int = 2, sizes: str = "authors", max_len: int = 512,
                 layout: str = "v1", objective: str = "cls", **net: object) -> int:
    """Parameters of ``build(arch, num_classes, sizes, max_len=max_len, layout=layout, objective=objective)``
    (the ``mlm`` head included), from cached per-layer counts. ``net`` may hold the build options that
    do not change the size (:data:`SIZE_NEUTRAL_OPTIONS`); any other is a ValueError."""
    _check_size_options(net, "flexibert.count_params")
    if isinstance(arch, str):
        arch = parse(arch)
    hidden, specs = layer_specs(arch, sizes)
    return (_base_params(hidden, num_classes, max_len, objective)
            + sum(_layer_params(tuple(s), hidden, layout) for s in specs))


def smallest_arch() -> Arch:
    """The arch whose final network (``sizes="design"``, :data:`FINAL_NETS`) has the fewest parameters and
    multiply-adds: hidden 128 and two ``LT.DFT.h8.f512x1`` layers (the search's ``--max-macs`` check).

    Why: every layer maps (S, L, hidden) to the same shape and adds its own cost, and the embeddings and
    head depend on the hidden size only (hidden 128 has no projection after the 128-wide embeddings), so the
    minimum is the fewer layers (2) and the smaller hidden size (128) with the cheapest layer repeated. Every
    term of a layer grows with the hidden size, the FF width (512 < 1024) and the FF depth (1 < 3). Of the
    mixers, an LT has one hidden × hidden dense map (SA has three, WMA four; DSC's halves come to about
    2.5), and the 2-D DFT adds neither parameters nor counted multiply-adds (an FFT; ``FlopCounterMode``
    counts matrix products and convolutions only) while the DCT is two matrix products. Heads add no
    parameters to an LT layer and, for the DFT, no counted multiply-adds: the archs with 2, 4 or 8 heads tie
    on both counts; 8 is taken as its FFTs are the smallest (L × hidden/8 each). The same arch is the smallest
    under ``sizes="authors"`` (hidden 256 and FF 1024 for every arch) and under both layouts, so
    :func:`param_range_k`'s lower end, found by trying every layer option, is this arch's size."""
    return Arch(min(HIDDEN), (Layer("LT", "DFT", max(HEADS), min(FF_DIMS), min(FF_COUNTS)),) * min(DEPTHS))


def param_range_k(num_classes: int = 2, sizes: str = "authors", max_len: int = 512, layout: str = "v1",
                  objective: str = "cls", **net: object) -> tuple[float, float]:
    """Smallest and largest parameter count (thousands) of the scored encoder over the space (options
    as :func:`count_params`)."""
    _check_size_options(net, "flexibert.param_range_k")
    layers = [Layer(op, p, h, f, n) for op, params in OPERATIONS.items() for p in params
              for h in HEADS for f in FF_DIMS for n in FF_COUNTS]
    lo = min(count_params(Arch(h, (la,) * min(DEPTHS)), num_classes, sizes, max_len, layout, objective)
             for h in HIDDEN for la in layers)
    hi = max(count_params(Arch(h, (la,) * max(DEPTHS)), num_classes, sizes, max_len, layout, objective)
             for h in HIDDEN for la in layers)
    return lo / 1e3, hi / 1e3


def default_size_prior(net: dict, num_classes: int = 2) -> tuple[float, float]:
    """Label-free μ, σ for ``swap_reg`` on the scored encoder ``net`` (the shared size-prior rule; the
    ``objective`` option's head counts)."""
    opts = {k: v for k, v in net.items() if k in ("sizes", "max_len", "layout", "objective")}
    return _swap.prior_from_range(*param_range_k(num_classes=num_classes, **opts))


#: The scored network and batch: the authors' size reading and their default init (Hugging Face
#: N(0, 0.02), no Gaussian re-init), one forward; S = 32 sequences of 16 tokens (docs/transformers.md:
#: chosen on the dev half by its stated rule, the cheapest within 0.01 of the best dev ρ: L = 16, 32,
#: 64, 128, 256 give 0.723 / 0.724 / 0.723 / 0.720 / 0.720; the authors used 128 OpenWebText sequences
#: of up to 512 tokens). Until session 6 the default was L = 128.
SCORING_DEFAULTS: dict = {"net": {"sizes": "authors", "resolution": 16}, "batch_size": 32, "repeats": 1, "init": "default"}
#: The FlexiBERT fitness (``best``): ln SWAP over GELU modules + 2·ln(trainable tensors), chosen on the
#: dev half (docs/generated/dev/flexibert_fitness_forward.md), with the same protocol.
FITNESS_PROTOCOL: dict = {"proxy": "swap_ext_layers", **SCORING_DEFAULTS}


def final_input(resolution: int) -> torch.Tensor:
    """One input of the final network for its size and MACs: a sequence of ``resolution`` token ids."""
    return torch.zeros(1, resolution, dtype=torch.long)


#: A FlexiBERT network is not trained here; the entry only records the design's own sizes. One per GLUE task (since
#: session 51: a search may report a task's own score), its head the task's (MNLI 3 classes, STS-B 1 score, the
#: others 2); ``glue`` (the mean) first, the default.
FINAL_NETS: dict[str, dict] = {
    task: {"net": {"sizes": "design", "num_classes": classes, "resolution": 128}, "resolution": 128}
    for task, classes in (("glue", 2), ("cola", 2), ("mnli", 3), ("mrpc", 2), ("qnli", 2), ("qqp", 2), ("rte", 2),
                          ("sst", 2), ("sts", 1))}
