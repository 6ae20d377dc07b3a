"""Score and rank any PyTorch model from Python: :func:`score` and :func:`rank`.

``inputs`` may be a tensor (S samples), an ``(x, y)`` pair, a :class:`~swapnas.data.Batch`, a DataLoader / iterable of
``(x, y)`` batches (its first batch is used), or the inputs of a model with several: a dict / mapping of tensors
(``model(**kw)``; a Hugging Face ``BatchEncoding`` too) or ``((x1, x2, …), y)`` / ``((x1, x2, …), None)`` (``model(x1,
x2, …)``; only proxies registered with ``multi_input``, e.g. swap, swap_ext and params, take those). The inputs are
read once (:func:`rank` scores every model on that one batch), with the process-wide RNG seeded with ``seed`` and
restored after, so a shuffled DataLoader gives the same first batch on every call (its own ``generator=``, if any,
decides instead), and each pass gets its own copy of the input tensors (a model that changes its input in place
changes neither yours nor the next pass's). Each proxy runs on a copy of the model (yours is never changed),
initialised per repeat: ``init="gaussian"`` (the SWAP paper's N(0, 1) Conv/Linear weights, zero biases, BatchNorm γ=1,
β=0; repeat r draws from ``seed + r``; embeddings, LayerNorm and attention's packed projections keep the model's
values: :func:`~swapnas.scoring.gaussian_init`) or ``init="none"`` (the weights as they are; one repeat). BatchNorm is
in train mode (batch statistics), as in every protocol of this package, and dropout is active; the process-wide RNG is
seeded with ``seed + r`` for repeat r's pass (and restored after it), so a score is the same on every call. Every
parameter of the copy takes part in gradient proxies (whatever the caller froze), and ``score`` works inside
``torch.no_grad()`` and ``torch.inference_mode()``. A proxy value that is not finite (NaN / inf: an overflow at this
init) is an :class:`UnsupportedModel` error, never a score. Proxies that need labels need ``y``; set-level proxies
(which rank a whole set) are for :func:`rank`'s users to run through ``swapnas correlate`` instead.
"""

from __future__ import annotations

import contextlib
import copy
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, overload

import torch
from torch import nn
from torch.nn.utils import parametrize

from .act_functions import activation_like_names
from .api_failures import OUT_OF_MEMORY, run_proxy, shapes
from .api_inputs import ReadOnce, as_batch, as_device, check_seed, warn_class_count
from .bundle import Batch
from .module_tools import device_of, model_lock
from .progress import PlainBar, bar_interval
from .patterns import EXTENDED_ACTIVATIONS, call_model
from .saturation import call_shown, one_per_call, saturation_once
from .swap_checks import eager, not_a_module, quantized, scripted, uncompile
from .proxies import ALIASES, Proxy, get_proxy, list_proxies, resolve
from .requirements import REQUIREMENTS, UnsupportedModel, check_supported
from .proxy_choice import auto_proxy  # (out of this module: session 67)
from .reparam import bake_hooks, computed_tensors
from .rng import seeded
from .scoring import gaussian_init, with_bases

INIT_CHOICES = ("gaussian", "none")


def _copy(model: nn.Module) -> nn.Module:
    """A deep copy; a lazy module's uninitialised buffers (which cannot be deep-copied) become fresh ones."""
    lazy = [b for b in model.buffers() if nn.parameter.is_lazy(b)]
    fresh = nn.parameter.UninitializedBuffer  # torch declares its device / dtype in __new__ only
    memo: dict[int, Any] = {id(b): fresh(device=b.device, dtype=b.dtype) for b in lazy}  # type: ignore[call-arg]
    memo.update(computed_tensors(model))  # an older weight_norm's or prune's weight computed with autograd
    memo.update({id(t): nn.Parameter(t.detach().clone(), t.requires_grad) for t in model.parameters()
                 if t.layout != torch.strided})  # a sparse one: Parameter's deepcopy asks preserve_format (session 64)
    try:
        with model_lock(model):  # (no other thread's hooks of swapnas on it meanwhile: session 66)
            m = uncompile(copy.deepcopy(model, memo))
    except Exception as exc:  # noqa: BLE001 - a lock, an open file, a hook-based weight_norm or pruning …
        if isinstance(exc, (MemoryError, RecursionError)) or type(exc).__name__ == "OutOfMemoryError":
            raise
        raise UnsupportedModel(f"swapnas scores a copy of the model, and {type(model).__name__} cannot be copied "
                               f"(copy.deepcopy: {type(exc).__name__}: {exc}); keep locks, files and other such "
                               "attributes out of the module") from exc
    return m


def _baked(model: nn.Module) -> nn.Module:
    """``model`` (a copy) with each parametrized tensor (``parametrizations.weight_norm``, ``spectral_norm``, …) made
    the plain parameter (or buffer) holding the value it computes now, in place: until session 57 gradient proxies
    read no gradient from a tensor computed anew at each access (0.0 for synflow and snip). Not
    ``parametrize.remove_parametrizations``: it deletes the tensor's property from the module's class, which the copy
    shares with the caller's module (whose weight would then be gone). The older, hook-based forms likewise
    (:func:`swapnas.reparam.bake_hooks`)."""
    bake_hooks(model)
    for module in [m for m in model.modules() if parametrize.is_parametrized(m)]:
        lists = getattr(module, "parametrizations")
        with torch.no_grad():
            values = {name: getattr(module, name).detach().clone() for name in lists}
        kept = {name: any(True for _ in lists[name].parameters(recurse=False)) for name in lists}  # a parameter?
        module.__class__ = parametrize.type_before_parametrizations(module)
        del module._modules["parametrizations"]
        for name, value in values.items():
            if kept[name]:
                module.register_parameter(name, nn.Parameter(value))
            else:
                module.register_buffer(name, value)
    return model


def _initialised(model: nn.Module, init: str, seed: int, repeat: int, train: bool = True) -> nn.Module:
    """A copy for one repeat: initialised, in train mode (``train`` False: each module in its own mode), every
    parameter trainable (whatever the caller froze: gradient proxies measure the architecture, not the caller's
    fine-tuning choice). A parametrized weight is drawn through its parametrization (:func:`gaussian_init`), then
    made the plain weight it computes (:func:`_baked`)."""
    m = _copy(model).requires_grad_(True)
    if init == "gaussian":
        gaussian_init(m, torch.Generator().manual_seed(seed + repeat))
    m = _baked(m).requires_grad_(True)  # (a baked tensor is a new parameter)
    return m.train(True) if train else m


def _fresh(batch: Batch) -> Batch:
    """A copy for one pass: a model that changes its input in place (``x.sub_``) changes no one else's."""
    return batch.map(lambda t: t.clone())


def _materialised(model: nn.Module, batch: Batch, seed: int, device: torch.device) -> nn.Module:
    """``model``, or a copy whose lazy modules (``nn.LazyLinear`` …) got their shapes from one
    no-grad pass over ``batch`` in eval mode (nothing else changes), so that they can be initialised; their
    first weights are drawn with the RNG seeded with ``seed`` (and restored after), not from the caller's."""
    if not any(nn.parameter.is_lazy(t) for t in (*model.parameters(), *model.buffers())):
        return model
    m, training = _copy(model).to(device), model.training  # (session 67: on the batch's device, as torch advises)
    with torch.no_grad(), seeded(seed, device):
        try:
            call_model(m.eval(), _fresh(batch).inputs)
        except Exception as exc:  # noqa: BLE001 - the model and these inputs do not go together
            raise UnsupportedModel(f"{type(model).__name__}'s lazy modules take their shapes from one pass, and its "
                                   f"forward fails on these inputs ({shapes(batch)}): {type(exc).__name__}: {exc}"
                                   ) from exc
    return m.train(training)


def _names(proxies: str | Sequence[str], models: Iterable[nn.Module]) -> str:
    """The proxies asked for as one comma-separated string without blanks (``"auto"``, alone or among others:
    :func:`auto_proxy`'s)."""
    given = proxies.split(",") if isinstance(proxies, str) else list(proxies) if isinstance(proxies, Iterable) else None
    if given is None or not all(isinstance(n, str) for n in given):
        raise TypeError(f"proxies must be 'auto', a proxy name, a comma-separated string of names or a list of names "
                        f"(swapnas.list_proxies() lists them), not {proxies!r}")
    names = [n.strip() for n in given if n.strip()]
    if not names:
        raise ValueError(f"no proxy named in {proxies!r}: name one or more (swapnas.list_proxies() lists them), "
                         "or 'auto'")
    if "auto" in names:  # also beside others ("auto,params"), since session 51
        auto = auto_proxy(models)
        names = [auto if n == "auto" else n for n in names]
    return ",".join(names)


def score(model: nn.Module, inputs: Any, proxies: str | Sequence[str] = "auto", *, repeats: int = 1,
          init: str = "gaussian", seed: int = 0, options: Mapping[str, Mapping[str, Any]] | None = None,
          num_classes: int | None = None, device: str | torch.device | None = None,
          train: bool = True) -> dict[str, float]:
    """Every proxy's score of ``model`` on ``inputs`` (mean over ``repeats`` initialisations).

    ``inputs``: S samples on dim 0 of each tensor; a tensor ``x`` (``model(x)``), an ``(x, y)`` pair (labels ``y``,
    for the proxies that need them), ``((x1, x2, …), y)`` (``model(x1, x2, …)``; ``y`` may be None), a dict of
    tensors (``model(**d)``; its ``"labels"`` are ``y``, not passed on; a padding mask named ``attention_mask`` or
    ``src_key_padding_mask`` leaves the pads out of SWAP), a :class:`~swapnas.bundle.Batch`, or a DataLoader (its
    first batch only).

    ``proxies``: names (a list or a comma-separated string); ``"auto"`` (the default; also beside other names,
    ``"auto,params"``) is ``swap`` for a CNN whose activation modules are all ``nn.ReLU``, ``swap_ext`` for one
    with others (or an MLP) and ``swap_fn`` for one whose activations are functions (:func:`auto_proxy`; the
    returned key names which; so does ``"best"``: outside a space it is ``swap_darts``, the key returned, whose
    protocol has the default init: ``init="none"`` on a freshly built model).
    ``options``: per proxy, e.g. ``{"swap_reg": {"mu": 300.0, "sigma": 9e4}}``. ``device``: where to score (default:
    where the model's parameters are; ``"auto"``: cuda where there is one, else cpu; one not here is a ValueError).
    ``num_classes``: the labels' class count, the model's output size, >= 1 (default: a Batch's own, else the largest
    label + 1; EPE-NAS takes another rule above 100: a warning where the model's last Linear layer has more outputs).
    ``seed``: repeat r draws from ``seed + r``, which must be in torch's seed range [-2**63, 2**64 - 1]. The
    command line's stores draw otherwise (one seed per arch and repeat, :func:`swapnas.scoring.arch_seed`, on the
    space's scored network and its run's batch), so ``score`` on a benchmark arch's network is another draw than its
    stored score; repeat r of it is this function's one repeat with ``seed=arch_seed(seed, space, str(arch), r)`` on
    the space's network and the run's batch at one torch thread (docs/protocol.md, "Threads").
    ``init``: ``"gaussian"`` (N(0, 1) weights, the paper's) or ``"none"`` (the weights as they are, one repeat).
    ``train``: True (the protocol) scores every module in train mode (BatchNorm on the batch's statistics, dropout
    active, drawn from ``seed``); False keeps each module's own mode (a pretrained model left in ``eval()``).
    The caller's model is never changed (each repeat scores a copy). Hooks the caller registered on its modules are
    copied with it and run on each copy's passes (some are part of what the model computes; not those on a
    ``torch.compile`` wrapper, whose eager module is scored; the older weight_norm, spectral_norm and pruning hooks
    are drawn through and baked into the copy's weights, :mod:`swapnas.reparam`): remove hooks that only observe
    (e.g. ones that keep activations) before scoring. A caller's ``torch.autocast`` is off while a metric scores
    (``devices.without_autocast``); quantized and exported models are refused. Each repeat seeds torch's
    process-wide RNG (and gives its state back) under a lock (:data:`swapnas.rng.LOCK`): calls in several threads
    score one pass at a time (session 66: they took each other's draws); score in parallel with processes (the
    command line's workers). Lazy modules are materialised on a
    copy by one pass first. Raises :class:`UnsupportedModel` (a ValueError) naming the proxy and why it cannot score
    this model.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
        >>> score(net, torch.randn(16, 3, 64, 64))["swap"] > 0
        True
    """
    asked = _check_call(model, init, repeats, seed, device)
    model = eager(model)  # a torch.compile'd model: its eager module, the same function (session 59)
    if not isinstance(train, bool):
        raise TypeError(f"train must be True (train mode, the protocol) or False (each module's own mode), not "
                        f"{train!r}")
    wanted = _wanted(proxies, model, options)
    read = inputs if isinstance(inputs, ReadOnce) else ReadOnce(inputs, num_classes, seed)  # rank's: read once for all
    with torch.inference_mode(False):  # also inside the caller's inference_mode: the copies and passes need autograd
        batch, labels = read.batch()
        _check_inputs_for(wanted, model, batch, labels)
        warn_class_count(model, batch, wanted, read.counted)
        dev = asked if asked is not None else device_of(model)
        batch = _plain(batch.to(dev))
        return _values(wanted, _materialised(model, batch, seed, dev), batch, repeats, init, seed, dev, train)


def _check_call(model: nn.Module, init: str, repeats: int, seed: int, device: Any) -> torch.device | None:
    """The arguments checked (a TorchScript model last: :func:`rank` goes on after it); ``device`` as a torch.device."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"score takes a torch.nn.Module, got {not_a_module(model)}")
    if init not in INIT_CHOICES:
        also = " (the command line's --init default is init='none' here: the weights as built)" \
            if init == "default" else ""
        raise ValueError(f"init must be one of {INIT_CHOICES} (got {init!r}){also}")
    for name, value in (("repeats", repeats), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int (got {value!r})")
    if repeats < 1 or (init == "none" and repeats > 1):
        raise ValueError(f"repeats must be >= 1, and 1 with init='none' (the same weights every time; got {repeats})")
    check_seed(seed, repeats)
    asked = as_device(device)
    if (why := scripted(model) or quantized(model)) is not None:  # UnsupportedModel: rank goes on, this model gets
        raise UnsupportedModel(f"swapnas cannot score {why}")  # None and the reason
    return asked


def _wanted(proxies: str | Sequence[str], model: nn.Module,
            options: Mapping[str, Mapping[str, Any]] | None) -> list[Proxy]:
    """The proxies to score, configured with ``options`` (keyed by proxy name; options for a registered proxy
    not scored here are ignored, so one dict may serve several calls, but not for a part of a combination scored
    here: a ValueError says to score that part by name, which the combination then reads)."""
    wanted = resolve(_names(proxies, [model]))
    options = {ALIASES.get(name, name): opts for name, opts in (options or {}).items()}  # "best": its target's
    unknown = sorted(set(options) - set(list_proxies()))  # a typo would be ignored silently
    if unknown:
        raise ValueError(f"options for {', '.join(unknown)}: no proxy of that name (swapnas.list_proxies() lists "
                         "them); options are keyed by proxy name, e.g. {'swap_reg': {'mu': 300.0, 'sigma': 9e4}}")
    wanted = [p.configure(**options.get(p.name, {})) for p in wanted]
    names = {p.name for p in wanted}
    for part in sorted(set(options) - names):  # session 52: {'az_nas_expressivity': …} beside `best` did nothing
        if whole := [p.name for p in wanted if part in p.base_names]:
            raise ValueError(f"options for {part}: it is scored here only as a part of {', '.join(whole)}, with its "
                             f"defaults; score it by name too (proxies=[…, '{part}']) and {whole[0]} reads it with "
                             "these options")
    set_level = [p.name for p in wanted if p.parts]
    if set_level:
        raise ValueError(f"{', '.join(set_level)} rank a whole set of archs (no per-model value): "
                         "use `swapnas correlate` or score their parts")
    for p in wanted:  # an option without a default (swap_reg's mu and sigma): refused before any pass (session 51)
        if unset := [k for k, v in p.options.items() if v is None]:
            given = ", ".join(f"'{k}': …" for k in unset)
            raise ValueError(f"{p.name} needs {' and '.join(unset)}, which {'has' if len(unset) == 1 else 'have'} no "
                             f"default ({p.description.rstrip('.')}): give options={{'{p.name}': {{{given}}}}}")
    return wanted


def _check_inputs_for(wanted: list[Proxy], model: nn.Module, batch: Batch, labels: bool) -> None:
    for p in wanted:
        try:
            check_supported(p, model, batch)
        except UnsupportedModel as exc:
            if p.name != ALIASES.get("best"):
                raise
            others = activation_like_names(model, EXTENDED_ACTIVATIONS)
            theirs = f"; this model's activations are modules of another library ({', '.join(others)}): use " \
                     "swap_fn, which hooks them" if others else ""  # (session 60: swap_ext_layers hooks none of them)
            raise UnsupportedModel(f"{exc} (`best` outside a space is {p.name}, a fitness for CNNs; on a Transformer "
                                   "use swap_ext_layers, FlexiBERT's `best`, or swap_ext; swap_fn where it calls its "
                                   f"activations as functions, F.gelu{theirs})", exc.why) from None
    if not isinstance(batch.inputs, torch.Tensor):
        single = {p.name: [q.name for q in with_bases([p]) if q.base is None and not q.multi_input] for p in wanted}
        named = [n if one == [n] else f"{n} (through {', '.join(one)})" for n, one in single.items() if one]
        if named:
            takes = ", ".join(n for n in list_proxies() if get_proxy(n).multi_input)
            raise UnsupportedModel(f"{', '.join(named)} call{'s' if len(named) == 1 else ''} the model with one input "
                                   f"tensor, and these inputs are a {type(batch.inputs).__name__} of tensors; proxies "
                                   f"that take several: {takes}")
    needs = [p.name for p in with_bases(wanted) if p.needs_labels and not labels]
    if needs:
        raise ValueError(f"{', '.join(needs)} need{'s' if len(needs) == 1 else ''} labels: pass inputs as an (x, y) "
                         "pair or a DataLoader")


def _plain(batch: Batch) -> Batch:
    """``batch`` with every tensor made under ``torch.inference_mode`` copied to an ordinary one (autograd
    refuses inference tensors)."""
    return batch.map(lambda t: t.clone() if t.is_inference() else t)


def _values(wanted: list[Proxy], model: nn.Module, batch: Batch, repeats: int, init: str, seed: int,
            dev: torch.device, train: bool = True) -> dict[str, float]:
    """Each proxy's mean over ``repeats``: base proxies on a fresh copy per repeat, derived ones from them."""
    values: dict[str, list[float]] = {}
    shared = call_shown()  # one SaturationWarning per proxy and call (a rank call's: session 66), not per repeat
    shown, what = (set(), f"repeats of this call (of {repeats})") if shared is None else (shared, "models of this rank")
    for p in with_bases(wanted):
        if p.base is None:
            values[p.name] = []
            note = f"later {what} are not warned about"
            for r in range(repeats):
                alone = repeats == 1 and shared is None
                once = contextlib.nullcontext() if alone else saturation_once(p.name, shown, note)
                # the global RNG seeded per pass: dropout in training mode, a proxy's random inputs, the same each call
                with seeded(seed + r, dev), once:
                    values[p.name].append(run_proxy(p, _initialised(model, init, seed, r, train).to(dev), _fresh(batch),
                                               _part_of(p, wanted)))
    for p in with_bases(wanted):
        if p.base is not None:
            per_repeat = zip(*(values[b] for b in p.base_names))
            arg = (lambda vs: vs[0]) if isinstance(p.base, str) else tuple
            try:
                values[p.name] = [float(p.fn(arg(vs), model, **p.options)) for vs in per_repeat]
            except Exception as exc:  # noqa: BLE001 - re-raised with the proxy's name, as _run does
                raise UnsupportedModel(f"{p.name} could not score {type(model).__name__} from its bases "
                                       f"{', '.join(p.base_names)}: {type(exc).__name__}: {exc}") from exc
            if not all(math.isfinite(v) for v in values[p.name]):
                raise UnsupportedModel(f"{p.name} gave {values[p.name]} on {type(model).__name__} from its bases "
                                       f"{', '.join(p.base_names)}")
    return {p.name: sum(values[p.name]) / repeats for p in wanted}


def _part_of(p: Proxy, wanted: list[Proxy]) -> str:
    """`` (a part of swap_ext_layers)`` for a base proxy that was not asked for itself, else ''."""
    users = [w.name for w in wanted if w is not p and p.name in w.base_names]
    return f" (a part of {', '.join(users)})" if users and all(w.name != p.name for w in wanted) else ""


def _scored_row(model: nn.Module, read: ReadOnce, proxies: str, names: list[str],
                kwargs: dict[str, Any]) -> dict[str, Any]:
    """Every proxy's value for one model of :func:`rank`; if some cannot score it, each proxy is scored on its own so
    that the others keep their values (``None`` and the reasons, each once, under ``"error"`` for those that fail).
    A refused batch is raised: it is every model's (session 66: each model got a None and the batch's reason)."""
    try:
        return score(model, read, proxies, **kwargs)
    except UnsupportedModel as exc:
        if exc.of_batch:
            raise
        if len(names) == 1:
            return {names[0]: None, "error": str(exc)}
    row: dict[str, Any] = dict.fromkeys(names)
    errors: list[str] = []
    for given in proxies.split(","):
        try:
            row.update(score(model, read, given, **kwargs))
        except UnsupportedModel as exc:
            if exc.of_batch:
                raise
            errors += [str(exc)] if str(exc) not in errors else []
    return {**row, "error": "; ".join(errors)}


def _models(models: Any) -> dict[str, nn.Module]:
    """:func:`rank`'s models by name: a mapping's or ``nn.ModuleDict``'s names, else ``model_<i>`` in order (an
    ``nn.ModuleList`` too); one model alone (an ``nn.Sequential`` would be read as its layers) or a value that is not
    a module is a TypeError."""
    if isinstance(models, nn.Module) and not isinstance(models, (nn.ModuleDict, nn.ModuleList)):
        raise TypeError(f"rank takes several models (a dict of name: model, a list, an nn.ModuleDict or "
                        f"nn.ModuleList), not one {type(models).__name__}, whose layers it would rank: score one model "
                        "with swapnas.score(model, inputs)")
    if not isinstance(models, (Mapping, nn.ModuleDict, Iterable)) or isinstance(models, (str, torch.Tensor)):
        raise TypeError(f"rank takes several models (a dict of name: model or a list), not {type(models).__name__}")
    named = dict(models.items()) if isinstance(models, (Mapping, nn.ModuleDict)) else \
        {f"model_{i}": m for i, m in enumerate(models)}
    if bad := [f"{k} ({type(m).__name__})" for k, m in named.items() if not isinstance(m, nn.Module)]:
        raise TypeError(f"rank takes torch.nn.Module models; not one: {', '.join(map(str, bad))}: pass the models "
                        "themselves, e.g. rank({'a': net_a, 'b': net_b}, x)")
    return named


#: what :func:`rank` ranks: named models, an ``nn.ModuleDict`` (its names), or models in order
Models = Mapping[str, nn.Module] | nn.ModuleDict | Iterable[nn.Module]


@overload  # (session 67's types audit: rank was typed Any)
def rank(models: Models, inputs: Any, proxies: str | Sequence[str] = ..., *, frame: Literal[False] = ...,
         progress: bool = ..., **kwargs: Any) -> list[dict[str, Any]]: ...


@overload
def rank(models: Models, inputs: Any, proxies: str | Sequence[str] = ..., *, frame: Literal[True],
         progress: bool = ..., **kwargs: Any) -> Any: ...  # a pandas.DataFrame (pandas is not a dependency)


@overload
def rank(models: Models, inputs: Any, proxies: str | Sequence[str] = ..., *, frame: bool,
         progress: bool = ..., **kwargs: Any) -> list[dict[str, Any]] | Any: ...  # (frame a bool variable: the review)


def rank(models: Models, inputs: Any, proxies: str | Sequence[str] = "auto", *, frame: bool = False,
         progress: bool = False, **kwargs: Any) -> list[dict[str, Any]] | Any:
    """Score every model on one batch, read once from ``inputs`` (the first of a DataLoader or generator;
    :func:`score`'s keyword arguments apply), and rank them by the first proxy (``"auto"``: one of swap / swap_ext /
    swap_fn for all the models, :func:`auto_proxy`): rows ``{"model", <proxy>: value, …, "rank"}``, best first (rank
    1); models with equal values share the lowest rank of their group (1, 2, 2, 4: a saturated SWAP ties models it
    cannot tell apart), listed in the order given. A proxy that cannot score a model gets ``None`` there and its
    reason under ``"error"`` (the model's other proxies keep their values; a batch refused, every model's, raises
    :class:`UnsupportedModel`); a model without a value of the first proxy ranks last (the unscored share one rank).
    ``frame=True`` returns the rows as a ``pandas.DataFrame`` indexed by rank (pandas is not a dependency: install
    it); ``progress=True`` shows a bar of the models scored on stderr; one SaturationWarning per proxy for them all."""
    if frame:
        try:
            import pandas as pd  # optional: only for frame=True
        except ImportError as exc:
            raise ImportError("rank(..., frame=True) needs pandas (pip install pandas); without it, "
                              "rank returns a list of row dicts") from exc
        return pd.DataFrame(rank(models, inputs, proxies, progress=progress, **kwargs)).set_index("rank")
    named = _models(models)
    if isinstance(proxies, (set, frozenset)) and len(proxies) > 1:  # its order changes from run to run (session 57)
        raise TypeError(f"rank ranks by the first proxy, and a set has no first one ({sorted(proxies)}): give a list "
                        "or a comma-separated string")
    proxies = _names(proxies, named.values())
    names = [p.name for p in resolve(proxies)]
    first = resolve(proxies.split(",")[0])[0]  # rank by the first proxy as given (an alias: its target)
    rows: list[dict[str, Any]] = []
    read = ReadOnce(inputs, kwargs.pop("num_classes", None), kwargs.get("seed", 0))  # one batch for every model
    if named:  # the options checked once, before any model (session 65: a bad value left every model unscored)
        _wanted(proxies, next(iter(named.values())), kwargs.get("options"))
    bar = PlainBar(named.items(), "rank", len(named), unit="model", disable=not progress, mininterval=bar_interval())
    with one_per_call():  # (the bar: session 63, 100 models scored without a word)
        for name, model in bar:
            rows.append({"model": name, **_scored_row(model, read, proxies, names, kwargs)})
            if OUT_OF_MEMORY in (rows[-1].get("error") or ""):  # (session 61: it ranked last without a word)
                warnings.warn(f"rank: scoring {name!r} {OUT_OF_MEMORY} (its error says which metric): its None is no "
                              "score, not a low one, and it ranks with the unscored", stacklevel=2)
    sign = 1.0 if first.higher_is_better else -1.0

    def order(row: dict[str, Any]) -> tuple[bool, float]:  # the unscored last, all alike; then best first
        v = row[first.name]
        return (True, 0.0) if v is None or not math.isfinite(v) else (False, -sign * v)

    rows.sort(key=order)
    for i, row in enumerate(rows, 1):
        row["rank"] = rows[i - 2]["rank"] if i > 1 and order(rows[i - 2]) == order(row) else i
    return rows


__all__ = ["INIT_CHOICES", "REQUIREMENTS", "UnsupportedModel", "as_batch", "auto_proxy", "check_supported", "rank",
           "score"]
