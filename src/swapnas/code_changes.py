"""Warnings when a store's scores were made by other code than the code that runs now.

A stored score's key names the proxy and its version (``swap@1``) and the protocol, which names the space and its
network version, not the code. The store records a digest of each proxy's function and of each space's network
modules beside the scores (:meth:`~swapnas.store.ScoreStore.code_changed`); a run warns once per store and proxy
(:class:`~swapnas.proxies.code.ProxyCodeWarning`) or space (:class:`~swapnas.proxies.code.NetworkCodeWarning`) when
the code it runs differs, and the stored scores are reused as they are.
"""

from __future__ import annotations

import time
import warnings

from .callers import user_stacklevel
from .proxies import Proxy
from .proxies.code import NetworkCodeWarning, ProxyCodeWarning, code_digest, modules_digest
from .spaces import SPACES, network_modules
from .store import ScoreStore

#: (store file, proxy@version or net:space@version) pairs checked by this process (a search scores every cycle into one store)
_CODE_CHECKED: set[tuple[str, str]] = set()


def _changed_since(store: ScoreStore, name: str, digest: str | None) -> str | None:
    """Once per store file and ``name`` in a process: when ``store`` recorded another digest under ``name`` (a
    writable store then records ``digest``), the date it did, else None."""
    if store.path == ":memory:" or (store.path, name) in _CODE_CHECKED:
        return None
    _CODE_CHECKED.add((store.path, name))
    since = None if digest is None else store.code_changed(name, digest)
    return None if since is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(since))


def _next(version: str) -> str:
    return str(int(version) + 1) if version.isdigit() else f"{version}.1"


def _tail(store: ScoreStore) -> str:
    return "" if store.read_only else ": the store now records the new code"


def warn_changed_code(store: ScoreStore, proxies: list[Proxy], space: str | None = None, net_version: str = "1") -> None:
    """A :class:`~swapnas.proxies.code.ProxyCodeWarning` for each proxy whose function differs from the code
    ``store`` recorded beside its scores under the same name and version (once per store file and proxy in a
    process; a writable store then records the new code, so the next run is quiet). The digest is read once per
    store and proxy: a search calls this every cycle. With ``space``, :func:`warn_changed_network` too."""
    if space is not None:
        warn_changed_network(store, space, net_version)
    for p in proxies:
        name = f"{p.name}@{p.version}"
        if (store.path, name) in _CODE_CHECKED:
            continue
        since = _changed_since(store, name, code_digest(p.fn))
        if since is not None:
            warnings.warn(ProxyCodeWarning(
                f"proxy {p.name!r}: its function differs from the code recorded beside its scores in {store.path} "
                f"({since}), under the same version {p.version}, so those scores are reused as they are. If the change "
                f"alters the values, give the proxy a new version (@register(..., version=\"{_next(p.version)}\")) to "
                f"score them again; if not, ignore this{_tail(store)}"), stacklevel=user_stacklevel())


def warn_changed_network(store: ScoreStore, space: str, version: str) -> None:
    """A :class:`~swapnas.proxies.code.NetworkCodeWarning` when the code of ``space``'s network modules
    (:func:`~swapnas.spaces.network_modules`) differs from the code ``store`` recorded beside its scores under the
    same network version (once per store file and space in a process; a writable store then records the new code).
    The digest covers whole modules, so an edit that leaves the networks alone (parsing, mutation) warns too.
    The warning names the first line outside swapnas (:func:`~swapnas.callers.user_stacklevel`)."""
    name = f"net:{space}@{version}"
    if space not in SPACES or (store.path, name) in _CODE_CHECKED:
        return
    modules = network_modules(space)
    since = _changed_since(store, name, modules_digest(modules))
    if since is not None:
        warnings.warn(NetworkCodeWarning(
            f"space {space!r}: the code of the modules that build its networks ({', '.join(m.__name__ for m in modules)}) "
            f"differs from the code recorded beside the scores in {store.path} ({since}), under the same network "
            f"version {version}, so those scores are reused as they are. If the networks changed, set NET_VERSION = "
            f"\"{_next(version)}\" in the space's module to score them again; if only other code changed (parsing, "
            f"mutation, docs), ignore this{_tail(store)}"), stacklevel=user_stacklevel())
