"""The proxy registry: one entry per training-free metric, with its metadata.

A proxy is a plain function ``fn(model, batch, **options) -> float``. The caller
owns initialisation, repeats and seeds. A *derived* proxy (``base`` set) instead
maps another proxy's value: ``fn(base_value, model, **options) -> float``, so
e.g. ``swap_reg`` reuses the forward pass of ``swap``; with several bases
(``base`` a tuple of names) ``fn`` gets the tuple of their values of one repeat. A *set-level* proxy
(``parts`` set, see :func:`register_set`) has no per-arch value: ``combine``
maps its parts' score arrays over the whole candidate set to one array, e.g.
TE-NAS's rank sum.

Add a metric: write ``proxies/<name>.py`` with a function decorated by
:func:`register`, and import it in ``proxies/__init__.py``.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from ..errors import NotFound, near_names
from .code import option_text
from .option_checks import check_options

InputKind = Literal["data", "ones", "random"]


@dataclass(frozen=True)
class Proxy:
    """A registered metric and how to run it."""

    name: str
    fn: Callable[..., float]
    higher_is_better: bool = True
    needs_grad: bool = False
    needs_labels: bool = False
    input_kind: InputKind = "data"
    version: str = "1"
    description: str = ""
    #: the proxy (or tuple of proxies) whose per-repeat values a derived proxy maps
    base: str | tuple[str, ...] | None = None
    #: ``fn`` leaves the model's structure, dtype and modes as they were (it may change weights,
    #: buffers and gradients): the scorer may re-initialise one built network for every repeat
    keeps_model: bool = False
    #: ``fn`` reads only the network's structure (not its weights, buffers or the inputs): the
    #: scorer runs it once per arch on a build on the ``meta`` device, without an init, and the
    #: value stands for every repeat
    structural: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    parts: tuple[str, ...] = ()
    combine: Callable[[list[np.ndarray]], np.ndarray] | None = None
    #: set-level only: parts whose failure on an arch is filled with that part's worst value over the
    #: set (the lowest when higher is better) instead of leaving the arch out of the ranking
    fill_failed: tuple[str, ...] = ()
    #: what the model or its inputs must have (``swapnas.requirements``: "relu", "conv_blocks", "conv",
    #: "no_attention", "global_pool", "float_inputs", "class_pairs"; "name:option=value" only while that option has
    #: that value);
    #: the API refuses other models, and correlate/grid/search a space whose networks lack it, before any pass
    requires: tuple[str, ...] = ()
    #: ``fn`` takes a batch whose inputs are a tuple/dict of tensors (a model called as
    #: ``model(*xs)`` / ``model(**kw)``); the others need one input tensor
    multi_input: bool = False

    @property
    def base_names(self) -> tuple[str, ...]:
        """The proxies a derived proxy needs (empty for a per-arch or set-level proxy)."""
        if self.base is None:
            return ()
        return (self.base,) if isinstance(self.base, str) else tuple(self.base)

    @property
    def key(self) -> str:
        """Name, version and options: what enters the score store's key. Float options are written with
        6 significant digits (``{v:g}``, as in every stored key): values that agree to 6 digits share a key,
        and so stored scores; arrays, tensors and functions as :func:`~.code.option_text` writes them."""
        opts = ",".join(f"{k}={option_text(v, k)}" for k, v in sorted(self.options.items()))
        return f"{self.name}@{self.version}" + (f"[{opts}]" if opts else "")

    def configure(self, **options: Any) -> Proxy:
        """A copy with some options replaced (unknown option names are an error)."""
        unknown = set(options) - set(self.options)
        if unknown:
            raise ValueError(
                f"proxy {self.name!r} has no option(s) {sorted(unknown)}; its options are {sorted(self.options)}"
            )
        registered = _REGISTRY.get(self.name, self).options  # (the kind of a value: its default's, not a value given)
        checked = check_options(self.name, options, registered)  # (session 65: a bad value ran the model first)
        return replace(self, options={**self.options, **checked})


_REGISTRY: dict[str, Proxy] = {}
#: alias → registered name (``best``: the recommended fitness, see ``proxies/best.py``)
ALIASES: dict[str, str] = {}


#: a metric's function: :func:`register` gives it back as it was (its signature kept for a type checker: session 67)
MetricFn = TypeVar("MetricFn", bound=Callable[..., float])

#: names a metric cannot take: ``--proxies all``'s, and results.csv's other columns (session 67: two ``arch`` columns)
RESERVED_NAMES = ("all", "arch", "accuracy", "params_m", "model", "rank")  # (model, rank: the review)


def check_name(name: str, version: str | None = "1") -> None:
    """A ValueError for a name (or version) that a score store's keys, a ``--proxies`` list or a plot's file name
    cannot hold (session 67: ``grad/norm`` failed at its plot, after every score; ``σ,τ`` or `` pad `` could never
    be named); ``version`` None for an alias, which has none (session 68: its message named a version '1')."""
    if not isinstance(name, str) or not isinstance(version, (str, type(None))):
        raise TypeError(f"a proxy's name and version are strings (got {name!r}, {version!r})")
    if "@" in name or "@" in (version or "") or name.startswith("net:"):  # a store records code as name@version
        what = f"alias {name!r}" if version is None else f"proxy {name!r} version {version!r}"
        raise ValueError(f"{what}: a name{'' if version is None else ' or version'} with '@', or a name starting "
                         "'net:', cannot be told apart in a score store's keys; choose another")
    if not name or name in RESERVED_NAMES or name != name.strip() or any(c in name for c in ",/\\") \
            or not name.isprintable() or len(name.encode("utf-8")) > 100:
        raise ValueError(f"{'alias' if version is None else 'proxy name'} {name!r}: a name is 1 to 100 bytes of "
                         "printable text, without ',' (it separates --proxies), '/' or '\\' (it names a plot file), "
                         "and without spaces at its ends, and not 'all' (--proxies all names them all) nor a column of "
                         "results.csv or rank()'s rows (arch, accuracy, params_m, model, rank); choose another")


def register(
    name: str,
    *,
    higher_is_better: bool = True,
    needs_grad: bool = False,
    needs_labels: bool = False,
    input_kind: InputKind = "data",
    version: str = "1",
    base: str | tuple[str, ...] | None = None,
    keeps_model: bool = False,
    structural: bool = False,
    requires: tuple[str, ...] = (),
    multi_input: bool = False,
    **options: Any,
) -> Callable[[MetricFn], MetricFn]:
    """Decorator that registers ``fn`` as proxy ``name``; keyword ``options`` are its defaults. A name is registered
    once, but a function of ``__main__`` registered again under its name (a notebook cell run again) replaces it."""

    def deco(fn: MetricFn) -> MetricFn:
        if name in _REGISTRY and not _cell_again(_REGISTRY[name].fn, fn):
            raise ValueError(f"proxy {name!r} is registered twice")
        check_name(name, version)
        doc = " ".join((fn.__doc__ or "").strip().split("\n\n")[0].split())  # the first paragraph, on one line
        bases = [_REGISTRY[b] for b in ((base,) if isinstance(base, str) else base or ()) if b in _REGISTRY]
        _REGISTRY[name] = Proxy(
            name=name,
            fn=fn,
            higher_is_better=higher_is_better,
            needs_grad=needs_grad or any(b.needs_grad for b in bases),  # a derived proxy needs what its bases need
            needs_labels=needs_labels or any(b.needs_labels for b in bases),
            input_kind=input_kind,
            version=version,
            description=doc,
            base=base,
            keeps_model=keeps_model,
            structural=structural,
            options=dict(options),
            requires=tuple(requires),
            multi_input=multi_input,
        )
        return fn

    return deco


def _cell_again(old: Callable | None, new: Callable) -> bool:
    """Whether ``new`` is ``old`` defined again in ``__main__`` (a notebook's cell or a script's function, edited and
    run again: it replaces ``old``; session 66, the cell's second run raised "registered twice" until a restart)."""
    return all(getattr(f, "__module__", None) == "__main__" for f in (old, new)) and \
        getattr(old, "__qualname__", None) == getattr(new, "__qualname__", "")


def register_set(
    name: str, parts: tuple[str, ...], combine: Callable[[list[np.ndarray]], np.ndarray], *,
    description: str, higher_is_better: bool = True, version: str = "1", fill_failed: tuple[str, ...] = (),
) -> None:
    """Register a set-level proxy: ``combine([part scores over the set]) -> scores``.

    Its per-arch values depend on the candidate set, so they are never stored;
    the parts are scored and stored as ordinary proxies. An arch whose part failed is
    left out of the ranking, unless that part is in ``fill_failed``: then it gets the
    part's worst value over the set (see ``correlation.set_level_records``).
    """
    if name in _REGISTRY:
        raise ValueError(f"proxy {name!r} is registered twice")
    check_name(name, version)  # (session 68: its version went unchecked)
    if not parts:
        raise ValueError(f"{name}: a set-level proxy combines at least one part; give parts=(name, ...)")
    if not set(fill_failed) <= set(parts):
        raise ValueError(f"{name}: fill_failed {sorted(set(fill_failed) - set(parts))} are not among its parts {parts}")
    members = [_REGISTRY[p] for p in parts]  # parts register first; KeyError names a missing one
    _REGISTRY[name] = Proxy(
        name=name, fn=_no_per_arch_value, higher_is_better=higher_is_better,
        needs_grad=any(m.needs_grad for m in members), needs_labels=any(m.needs_labels for m in members),
        input_kind=members[0].input_kind, version=version, description=description,
        parts=tuple(parts), combine=combine, fill_failed=tuple(fill_failed),
    )


def _no_per_arch_value(*args: Any, **kwargs: Any) -> float:
    raise TypeError("a set-level proxy has no per-arch value: score its parts and call its combine()")


def register_alias(alias: str, name: str) -> None:
    """Make ``alias`` resolve to the registered proxy ``name`` (which keeps its own name and key)."""
    if alias in _REGISTRY:
        raise ValueError(f"alias {alias!r} is a registered proxy's name")
    check_name(alias, None)
    get_proxy(name)  # the target must exist
    ALIASES[alias] = name


def get_proxy(name: str) -> Proxy:
    """The registered proxy ``name`` (or the one an alias names); the error lists what is available."""
    try:
        return _REGISTRY[ALIASES.get(name, name)]
    except KeyError:
        raise NotFound(f"unknown proxy {about_unknown(name)}; {_available()}") from None


def about_unknown(name: str, several: bool = False) -> str:
    """An unknown proxy name with what may be meant: a new metric's file not imported, or near names."""
    unimported = Path(__file__).with_name(f"{name}.py")  # a new metric's file, its import line forgotten
    hint = (f" (proxies/{name}.py exists: add `{name}` to the `from . import (…)` list in proxies/__init__.py)"
            if name.isidentifier() and unimported.is_file() and f"{__package__}.{name}" not in sys.modules else "")
    close = near_names(name, [*_REGISTRY, *ALIASES], n=3, cutoff=0.7)
    near = "" if not close or hint else f" (did you mean {close}?)" if several else f"; did you mean {close}?"
    return f"{name!r}{hint}{near}"


def _available() -> str:
    aliases = ", ".join(f"{a} (the recommended fitness of each space; without a space: {n})"
                        for a, n in sorted(ALIASES.items()))
    return f"available: {', '.join(sorted(_REGISTRY))}" + (f"; aliases: {aliases}" if aliases else "")


def details(p: Proxy) -> list[str]:
    """What ``swapnas proxies NAME`` adds under the table for one proxy: its function's docstring (what is computed
    and when it fails; a set-level proxy's description), its options with their defaults, its bases or parts, what it
    needs of a model, its bases' or parts' needs included (what scoring it runs: ``scoring.with_bases``), and its code
    (a set-level proxy's: its ``combine``) (session 52: the table's one line was all; session 65: a set-level proxy
    named the registry's placeholder as its code, a derived one left out its bases' needs)."""
    code = p.combine if p.parts else p.fn
    doc = [line.strip() for line in (p.fn.__doc__ or "").strip().splitlines()] if p.fn is not None and not p.parts \
        else []
    text = " ".join(doc).split("Raises:")[0].strip() if doc else p.description if p.parts else ""
    lines = [f"{p.name}: {text}"] if text else []
    if p.options:
        lines.append("options (with defaults): " + ", ".join(f"{k}={v!r}" for k, v in p.options.items()))
    if p.base_names or p.parts:
        lines.append(f"computed from: {', '.join(p.base_names or p.parts)}")
    inherited: dict[str, list[str]] = {}  # need -> the bases (parts) that have it, in order
    for q in (get_proxy(n) for n in (p.parts or p.base_names)):
        for need in q.requires:
            if need not in p.requires:
                inherited.setdefault(need, []).append(q.name)
    if p.requires or inherited:
        whose = " (its parts' included)" if p.parts else " (its bases' included)" if inherited else ""
        needs = [*p.requires, *(f"{need} ({', '.join(names)})" for need, names in inherited.items())]
        lines.append(f"needs of a model or its inputs{whose}: {', '.join(needs)} (swapnas.requirements)")
    if code is not None and getattr(code, "__module__", None):
        role = "its combine of the parts' scores over the candidate set; " if p.parts else ""
        lines.append(f"code: {code.__module__}.{getattr(code, '__name__', p.name)} ({role}help() on its module "
                     "explains it)")
    return lines


def list_proxies(pattern: str = "*") -> list[str]:
    """Names of registered proxies matching a glob ``pattern``, sorted."""
    if not isinstance(pattern, str):
        raise TypeError(f"list_proxies takes a glob pattern such as 'swap*' (default '*': all), not {pattern!r}")
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def resolve(names: str | list[str]) -> list[Proxy]:
    """Parse ``"swap,swap_reg"`` or ``"all"`` into proxies, in the order given (each once: an alias and its
    target count as one); a set-level proxy brings its parts along, after the proxies named.
    """
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if names == ["all"]:
        names = list_proxies()
    unknown = [n for n in names if ALIASES.get(n, n) not in _REGISTRY]
    if len(unknown) > 1:  # each named at once (until session 51 only the first, the next on the next try)
        raise NotFound(f"unknown proxies {', '.join(about_unknown(n, several=True) for n in unknown)}; {_available()}")
    proxies = list({p.name: p for p in map(get_proxy, names)}.values())  # an alias and its target once
    have = {p.name for p in proxies}
    for p in list(proxies):
        for part in p.parts:
            if part not in have:
                proxies.append(get_proxy(part))
                have.add(part)
    return proxies
