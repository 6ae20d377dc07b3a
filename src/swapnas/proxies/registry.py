"""The proxy registry: one entry per training-free metric, with its metadata.

A proxy is a plain function ``fn(model, batch, **options) -> float``. The caller
owns initialisation, repeats and seeds. A *derived* proxy (``base`` set) instead
maps another proxy's value: ``fn(base_value, model, **options) -> float``, so
e.g. ``swap_reg`` reuses the forward pass of ``swap``.

Add a metric: write ``proxies/<name>.py`` with a function decorated by
:func:`register`, and import it in ``proxies/__init__.py``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

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
    base: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Name, version and options: what enters the score store's key."""
        opts = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(self.options.items()))
        return f"{self.name}@{self.version}" + (f"[{opts}]" if opts else "")

    def configure(self, **options: Any) -> Proxy:
        """A copy with some options replaced (unknown option names are an error)."""
        unknown = set(options) - set(self.options)
        if unknown:
            raise ValueError(
                f"proxy {self.name!r} has no option(s) {sorted(unknown)}; its options are {sorted(self.options)}"
            )
        return replace(self, options={**self.options, **options})


_REGISTRY: dict[str, Proxy] = {}


def register(
    name: str,
    *,
    higher_is_better: bool = True,
    needs_grad: bool = False,
    needs_labels: bool = False,
    input_kind: InputKind = "data",
    version: str = "1",
    base: str | None = None,
    **options: Any,
) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Decorator that registers ``fn`` as proxy ``name``; keyword ``options`` are its defaults."""

    def deco(fn: Callable[..., float]) -> Callable[..., float]:
        if name in _REGISTRY:
            raise ValueError(f"proxy {name!r} is registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = Proxy(
            name=name,
            fn=fn,
            higher_is_better=higher_is_better,
            needs_grad=needs_grad,
            needs_labels=needs_labels,
            input_kind=input_kind,
            version=version,
            description=doc[0] if doc else "",
            base=base,
            options=dict(options),
        )
        return fn

    return deco


def get_proxy(name: str) -> Proxy:
    """The registered proxy ``name``; the error lists what is available."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown proxy {name!r}; available: {', '.join(sorted(_REGISTRY))}") from None


def list_proxies(pattern: str = "*") -> list[str]:
    """Names of registered proxies matching a glob ``pattern``, sorted."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def resolve(names: str | list[str]) -> list[Proxy]:
    """Parse ``"swap,swap_reg"`` or ``"all"`` into proxies, bases first."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if names == ["all"]:
        names = list_proxies()
    proxies = [get_proxy(n) for n in names]
    return sorted(proxies, key=lambda p: p.base is not None)
