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

from .proxies import Proxy
from .proxies.code import NetworkCodeWarning, ProxyCodeWarning, code_digest, modules_digest
from .spaces import SPACES, network_modules
from .store import ScoreStore

#: (store file, proxy@version or net:space@version) pairs checked by this process (a search scores every cycle into one store)
_CODE_CHECKED: set[tuple[str, str]] = set()


def warn_changed_code(store: ScoreStore, proxies: list[Proxy], space: str | None = None, net_version: str = "1") -> None:
    """A :class:`~swapnas.proxies.code.ProxyCodeWarning` for each proxy whose function differs from the code
    ``store`` recorded beside its scores under the same name and version (once per store file and proxy in a
    process; a writable store then records the new code, so the next run is quiet). The digest is read once per
    store and proxy: a search calls this every cycle. With ``space``, :func:`warn_changed_network` too."""
    if space is not None:
        warn_changed_network(store, space, net_version)
    for p in proxies:
        name = f"{p.name}@{p.version}"
        if store.path == ":memory:" or (store.path, name) in _CODE_CHECKED:
            continue
        _CODE_CHECKED.add((store.path, name))
        digest = code_digest(p.fn)
        since = None if digest is None else store.code_changed(name, digest)
        if since is not None:
            bump = str(int(p.version) + 1) if p.version.isdigit() else f"{p.version}.1"
            warnings.warn(ProxyCodeWarning(
                f"proxy {p.name!r}: its function differs from the code recorded beside its scores in {store.path} "
                f"({time.strftime('%Y-%m-%d %H:%M', time.localtime(since))}), under the same version {p.version}, so "
                f"those scores are reused as they are. If the change alters the values, give the proxy a new version "
                f"(@register(..., version=\"{bump}\")) to score them again; if not, ignore this"
                + ("" if store.read_only else ": the store now records the new code")), stacklevel=3)


def warn_changed_network(store: ScoreStore, space: str, version: str) -> None:
    """A :class:`~swapnas.proxies.code.NetworkCodeWarning` when the code of ``space``'s network modules
    (:func:`~swapnas.spaces.network_modules`) differs from the code ``store`` recorded beside its scores under the
    same network version (once per store file and space in a process; a writable store then records the new code).
    The digest covers whole modules, so an edit that leaves the networks alone (parsing, mutation) warns too."""
    name = f"net:{space}@{version}"
    if store.path == ":memory:" or (store.path, name) in _CODE_CHECKED or space not in SPACES:
        return
    _CODE_CHECKED.add((store.path, name))
    modules = network_modules(space)
    digest = modules_digest(modules)
    since = None if digest is None else store.code_changed(name, digest)
    if since is not None:
        bump = str(int(version) + 1) if version.isdigit() else f"{version}.1"
        warnings.warn(NetworkCodeWarning(
            f"space {space!r}: the code of the modules that build its networks ({', '.join(m.__name__ for m in modules)}) "
            f"differs from the code recorded beside the scores in {store.path} "
            f"({time.strftime('%Y-%m-%d %H:%M', time.localtime(since))}), under the same network version {version}, so "
            f"those scores are reused as they are. If the networks changed, set NET_VERSION = \"{bump}\" in the space's "
            "module to score them again; if only other code changed (parsing, mutation, docs), ignore this"
            + ("" if store.read_only else ": the store now records the new code")), stacklevel=3)
