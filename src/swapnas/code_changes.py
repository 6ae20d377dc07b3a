"""Warnings when a store's scores were made by other code than the code that runs now.

A stored score's key names the proxy and its version (``swap@1``) and the protocol, which names the space and its
network version, not the code. The store records a digest of each proxy's function and of each space's network
modules beside the scores (:meth:`~swapnas.store.ScoreStore.code_changed`); a run warns once per store and proxy
(:class:`~swapnas.proxies.code.ProxyCodeWarning`) or space (:class:`~swapnas.proxies.code.NetworkCodeWarning`) when
the code it runs differs, and the stored scores are reused as they are. Every later run warns again until a new
version changes the keys or :func:`accept_code` (``swapnas store accept-code``) records the running code as the
store's (until session 55 the first warning recorded it, and later runs reused the old code's scores without a word).
"""

from __future__ import annotations

import os
import shlex
import sys
import warnings
import weakref
from dataclasses import dataclass, field

from .callers import user_stacklevel
from .errors import NotFound, near_names
from .proxies import Proxy, get_proxy, list_proxies
from .proxies.code import (NetworkCodeWarning, ProxyCodeWarning, code_digest, legacy_code_digest,
                           legacy_modules_digest, modules_digest)
from .scoring import with_bases
from .spaces import SPACES, SpaceError, net_version, network_modules
from .store import UNRECORDED, ScoreStore, StoreError, local_minute
from .store_files import existing_store, given_as

#: (store file, proxy@version or net:space@version) pairs checked by this process (a search scores every cycle into one store)
_CODE_CHECKED: set[tuple[str, str]] = set()
#: the function each proxy's entry of :data:`_CODE_CHECKED` was checked for: one registered again under its name (a
#: notebook's cell run again) is checked again (session 66: its edit reused the old function's scores unsaid)
_CHECKED_FN: dict[tuple[str, str], object] = {}
#: the store's record of each checked name (digest, time) when it was checked: another record at that path (a store
#: deleted and made again, another file put there, a relative path after a chdir) is checked again (session 67: the
#: check was skipped, so a store made again recorded no code and later runs warned of "scores made before"); where it
#: recorded none (a read-only store, or scores older than code records), the store object checked (the review)
_CHECKED_ROW: dict[tuple[str, str], tuple[tuple[str, float] | None, weakref.ref[ScoreStore] | None]] = {}


def _checked(store: ScoreStore, name: str) -> bool:
    """Whether this process checked ``name``'s code in the store at ``store.path`` and the store still records what
    it recorded then (an entry made again is dropped, so that it is checked again)."""
    key = (store.path, name)
    if key not in _CODE_CHECKED:
        return False
    if key not in _CHECKED_ROW:
        return True
    row, checked = _CHECKED_ROW[key]
    if (checked() is store) if checked is not None else row == store.recorded_code().get(name):
        return True
    _CODE_CHECKED.discard(key)
    return False


#: what :func:`_changed_since` says of scores made before the store recorded code
BEFORE_RECORDS = "before swapnas recorded code beside scores"


def _changed_since(store: ScoreStore, name: str, digests: tuple[str | None, str | None]) -> str | None:
    """Once per store file and ``name`` in a process: when ``store`` recorded another digest under ``name`` than the
    running code's ``digests`` (now's, and the form stores recorded until session 62), the date it did;
    :data:`BEFORE_RECORDS` when it holds scores under ``name`` and no code; else None (a writable store that
    recorded none records the first digest)."""
    if store.path == ":memory:" or _checked(store, name):
        return None
    _CODE_CHECKED.add((store.path, name))
    digest, legacy = digests
    since = None if digest is None else store.code_changed(name, digest, legacy)
    row = store.recorded_code().get(name)
    _CHECKED_ROW[(store.path, name)] = (row, weakref.ref(store) if row is None else None)
    return None if since is None else BEFORE_RECORDS if since == UNRECORDED else local_minute(since)


def other_code(store: ScoreStore, proxies: list[Proxy], space: str, version: str,
               reused: int | None = None) -> dict[str, str]:
    """Each name (``swap@1``, ``net:nb201@1``) of ``proxies`` and ``space``'s networks under which ``store`` records
    other code than this process runs, with when it recorded it: what an output records beside scores it reused
    (session 68: the warnings went to the terminal alone, and results.json named this code's commit). Read anew each
    time, without the warnings' once per process; none where the caller counted ``reused`` (whole or in part) 0
    (session 69: each caller made that test its own way)."""
    if store.path == ":memory:" or reused == 0:
        return {}
    recorded = store.recorded_code()
    running = {f"{p.name}@{p.version}": (code_digest(p.fn), legacy_code_digest(p.fn)) for p in with_bases(proxies)}
    if space in SPACES:
        modules = network_modules(space)
        running[f"net:{space}@{version}"] = (modules_digest(modules), legacy_modules_digest(modules))
    return {name: local_minute(recorded[name][1]) for name, digests in sorted(running.items())  # (no digest: nothing
            if name in recorded and digests != (None, None) and recorded[name][0] not in digests}  # to compare; review)


def _whose(since: str, what: str, store: ScoreStore, scores: str = "its scores") -> str:
    """The warning's first clause: ``what`` differs from the code recorded beside the scores in ``store`` (a date),
    or the scores were made before the store recorded code (what made them cannot be compared)."""
    if since == BEFORE_RECORDS:
        return f"the scores in {store.path} were made {BEFORE_RECORDS} (whether {what} made them cannot be told)"
    return f"{what} differs from the code recorded beside {scores} in {store.path} ({since})"


def _next(version: str) -> str:
    return str(int(version) + 1) if version.isdigit() else f"{version}.1"


#: swapnas's commands (``swapnas.cli``, a layer above this one): a script run with one of them runs the command line
_COMMANDS = ("correlate", "grid", "search", "train", "conformance", "proxies", "export", "store")


def _accepting_command(outside: bool, what: str = "metric") -> str:
    """What runs ``store accept-code`` for a metric: ``swapnas``, or for one registered outside the package the
    script that registers it, as this process was started (session 64: ``swapnas store accept-code`` was advised for
    a metric of one's own, which that command does not run, so it accepted nothing)."""
    script = sys.argv[0] if sys.argv else ""
    if not outside:
        return "swapnas"
    if script.endswith(".py") and os.path.basename(script) != "__main__.py" \
            and not any(part in script for part in ("site-packages", "dist-packages")) \
            and next((w for w in sys.argv[1:] if not w.startswith("-")), None) in _COMMANDS:  # run with a command
        # (a script that calls swapnas.search_arch would start its search again: the review of session 64)
        return f"python {shlex.quote(script)}"
    return f"python YOUR_SCRIPT.py (the script that registers the {what} and runs swapnas's command line)"


def _outside(p: Proxy) -> bool:
    """Whether ``p`` is registered by code outside the package (a metric of one's own)."""
    return not str(getattr(p.fn, "__module__", "") or "").startswith("swapnas.")


def _own_space(modules: list) -> bool:
    """Whether a space's network modules are code outside the package (a space of one's own)."""
    return not all(str(m.__name__).startswith("swapnas.") for m in modules)


def _tail(store: ScoreStore, unchanged: str, outside: bool = False, what: str = "metric") -> str:
    where = " (in a writable copy: this one is read-only)" if store.read_only else ""
    return (f". Until then every run on this store warns again; {unchanged}, `{_accepting_command(outside, what)} "
            f"store accept-code {shlex.quote(str(store.path))}`{where} records the code that runs now as the code of "
            "its scores; to score them anew with the code that runs now, give another --store")


def _warn_other_version(store: ScoreStore, name: str, version: str, category: type[Warning], what: str,
                        changed: str) -> None:
    """A warning when ``store`` records code of ``name`` under other versions and none under ``version``: every
    score is made anew under the new version's keys, not reused (session 59: a version bump re-scored every arch
    without a word, and a partly reused run said only "the others scored now")."""
    if store.path == ":memory:":
        return
    recorded = store.recorded_code()
    others = sorted(v for n in recorded if (n.rpartition("@")[0] == name and (v := n.rpartition("@")[2]) != version))
    if others and f"{name}@{version}" not in recorded:
        warnings.warn(category(
            f"{what}: {store.path} was used with its version {', '.join(others)}; this swapnas gives {changed} version "
            f"{version}, so its scores are made anew under the new version's keys, not reused (scores of the older "
            "version stay in the store; an older swapnas reads them)"), stacklevel=user_stacklevel())


def warn_changed_code(store: ScoreStore, proxies: list[Proxy], space: str | None = None, net_version: str = "1") -> None:
    """A :class:`~swapnas.proxies.code.ProxyCodeWarning` for each proxy whose function differs from the code
    ``store`` recorded beside its scores under the same name and version (once per store file and proxy in a
    process, in every run until a new version or :func:`accept_code`). The digest is compared once per
    store and proxy (a search calls this every cycle: then only the store's record is read, to tell a store made
    again at the same path). With ``space``, :func:`warn_changed_network` too."""
    if space is not None:
        warn_changed_network(store, space, net_version)
    for p in proxies:
        name = f"{p.name}@{p.version}"
        if _checked(store, name) and _CHECKED_FN.get((store.path, name)) is p.fn:
            continue
        _CODE_CHECKED.discard((store.path, name))
        _CHECKED_FN[(store.path, name)] = p.fn
        _warn_other_version(store, p.name, p.version, ProxyCodeWarning, f"proxy {p.name!r}", "its definition")
        since = _changed_since(store, name, (code_digest(p.fn), legacy_code_digest(p.fn)))
        if since is not None:
            warnings.warn(ProxyCodeWarning(
                f"proxy {p.name!r}: {_whose(since, 'its function', store)}, under the same version {p.version}, so "
                f"those scores are reused as they are. If the change "
                f"alters the values, give the proxy a new version (@register(..., version=\"{_next(p.version)}\")) to "
                f"score them again{_tail(store, 'if the change leaves the values alone', _outside(p))}"),
                stacklevel=user_stacklevel())


def warn_changed_network(store: ScoreStore, space: str, version: str) -> None:
    """A :class:`~swapnas.proxies.code.NetworkCodeWarning` when the code of ``space``'s network modules
    (:func:`~swapnas.spaces.network_modules`) differs from the code ``store`` recorded beside its scores under the
    same network version (once per store file and space in a process, in every run until the code is accepted).
    The digest covers whole modules, so an edit that leaves the networks alone (parsing, mutation) warns too.
    The warning names the first line outside swapnas (:func:`~swapnas.callers.user_stacklevel`)."""
    name = f"net:{space}@{version}"
    if space not in SPACES or _checked(store, name):
        return
    _warn_other_version(store, f"net:{space}", version, NetworkCodeWarning, f"space {space!r}", "its networks")
    modules = network_modules(space)
    since = _changed_since(store, name, (modules_digest(modules), legacy_modules_digest(modules)))
    built = f"the code of the modules that build its networks ({', '.join(m.__name__ for m in modules)})"
    if since is not None:
        warnings.warn(NetworkCodeWarning(
            f"space {space!r}: {_whose(since, built, store, 'the scores')}, under the same network version {version}, "
            f"so those scores are reused as they are. If the networks changed, set NET_VERSION = \"{_next(version)}\" "
            "in the space's module to score them again"
            f"{_tail(store, 'if only other code changed (parsing, mutation, docs)', _own_space(modules), 'space')}"),
            stacklevel=user_stacklevel())


@dataclass
class AcceptedCode:
    """What ``swapnas store accept-code`` did: the names (``swap@1``, ``net:nb201@1``) whose recorded code it replaced
    by the running code (with the date the old one was recorded), those already recorded as they run, and those
    this process does not run (another version, or a metric of one's own that is not imported)."""

    store: str
    accepted: dict[str, str] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    not_running: list[str] = field(default_factory=list)


def running_digests(name: str) -> tuple[str | None, str | None]:
    """The digests of the code this process runs under a store's ``name`` (``proxy@version`` or
    ``net:space@version``): now's and the form stores recorded until session 62 (``legacy_``); (None, None) where it
    runs no such proxy or network version."""
    if name.startswith("net:"):
        space, _, version = name[4:].rpartition("@")
        if space not in SPACES or net_version(space) != version:
            return None, None
        modules = network_modules(space)
        return modules_digest(modules), legacy_modules_digest(modules)
    proxy, _, version = name.rpartition("@")
    running = get_proxy(proxy) if proxy in list_proxies() else None
    if running is None or running.version != version:
        return None, None
    return code_digest(running.fn), legacy_code_digest(running.fn)


def running_form(name: str, digest: str, cache: dict[str, tuple[str | None, str | None]]) -> str:
    """``digest`` recorded under ``name``, in now's form where it is the running code's in the form stores recorded
    until session 62 (``store merge`` compares the records of stores made before and after it); ``cache`` keeps
    each name's running digests for one merge. A space whose module does not load here runs no code: as recorded."""
    if name not in cache:
        try:
            cache[name] = running_digests(name)
        except SpaceError:  # (a merge reads stores; it needs no space of theirs to load)
            cache[name] = (None, None)
    now, legacy = cache[name]
    return now if now is not None and digest == legacy else digest


def accept_code(path: str | os.PathLike, names: list[str] | tuple[str, ...] = ()) -> AcceptedCode:
    """Record the running code as the code of the store's scores, for every name it records (or those of ``names``:
    ``swap``, ``swap@1`` or ``net:nb201``) whose code differs: the user's word that the change left the values
    alone, which ends the warnings of :func:`warn_changed_code`. A name the store does not record is a NotFound."""
    source = existing_store(path)
    if source.stat().st_size == 0:  # ScoreStore would make a store of it (session 56: check and export refuse it)
        raise StoreError(f"{source} is an empty file, not a score store (the --store of a correlate/grid/search run): "
                         "it records no code to accept")
    try:
        opened = ScoreStore(source)
    except StoreError as exc:  # (session 65: "give another --store", a flag accept-code does not take)
        raise given_as(exc, None) from exc
    with opened as store:
        recorded: dict[str, tuple[str, float | None]] = {**store.recorded_code(),
                                                          **dict.fromkeys(store.unrecorded_code(), ("", None))}
        spelt = {n: {n, n.rpartition("@")[0]} for n in recorded}  # swap@1 is asked for as swap@1 or swap
        chosen = [n for n in sorted(recorded) if not names or spelt[n] & set(names)]
        missing = [w for w in names if not any(w in ways for ways in spelt.values())]
        if missing:
            near = near_names(missing[0], sorted({n.rpartition("@")[0] for n in recorded}))
            hint = f" (did you mean {near}?)" if near else ""
            held_text = ", ".join(sorted(recorded)) or "none (it holds no score)"
            raise NotFound(f"{store.path} records no code of {missing[0]!r}{hint}; it records {held_text}")
        report = AcceptedCode(str(store.path))
        for name in chosen:
            digest, since = recorded[name]
            now, legacy = running_digests(name)
            if now is None:
                report.not_running.append(name)
            elif digest in (now, legacy):
                report.unchanged.append(name)
            else:
                store.accept_code(name, now)
                report.accepted[name] = BEFORE_RECORDS if since is None else local_minute(since)
    return report


def accept_text(report: AcceptedCode) -> str:
    """``swapnas store accept-code``'s lines."""
    lines = [(f"{name}: its scores, made {since}, are recorded as made by the code that runs now"
              if since == BEFORE_RECORDS else
              f"{name}: the code recorded on {since} is replaced by the code that runs now")
             for name, since in report.accepted.items()]
    if report.unchanged:
        lines.append(f"already the code that runs now: {', '.join(report.unchanged)}")
    if report.not_running:
        lines.append(f"not run by this process (another version, or a metric of your own: accept it from the script "
                     f"that registers it): {', '.join(report.not_running)}")
    return "\n".join([f"{report.store}:", *(f"  {line}" for line in lines or ["nothing recorded to accept"])])
