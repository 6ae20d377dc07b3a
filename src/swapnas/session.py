"""The shared scoring session: arch picking, sharding, protocol, batch and ``score_archs``.

Every job (``correlate``, ``grid``, ``conformance``, ``search``, ``train``) sets up its scoring through this module:
:func:`configure` fixes the protocol, the input batch and the proxies from a space's defaults
(:func:`protocol_defaults`, :func:`scoring_net`), :func:`pick_archs` and :func:`shard_of` choose the archs, and
:func:`score_archs` scores them through an executor into a score store, reusing what is stored.
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
import random
import warnings
from collections import Counter
from collections.abc import Callable
from contextlib import closing

import torch

from .benchmarks import Benchmark
from .data import Batch, load_batch
from .devices import resolve_device
from .errors import NoFitnessWarning, did_you_mean
from .executors import Executor, LocalExecutor, ScoreTask
from .memory_failures import out_of_memory, say_out_of_memory
from .progress import Bar, bar_interval
from .proxies import ALIASES, Proxy, resolve
from .callers import user_stacklevel
from .code_changes import warn_changed_code
from .scoring import Protocol, check_stored_bases, float32_default, with_bases
from .size_prior import check_prior
from .space_inputs import check_dataset_for
from .spaces import get_space, net_options, net_version
from .store import Record, ScoreKey, ScoreStore, StoreError


def check_archs(n: int | None, available: int, where: str) -> None:
    """A number of archs asked for by name must exist: ValueError when ``n`` exceeds ``available``."""
    if n is not None and n > available:
        raise ValueError(f"--archs {n}: only {available} archs in {where}; use --archs all (or a number up to "
                         f"{available})")


def error_messages(recs: list[Record]) -> list[str]:
    """The distinct failure messages of ``recs``, the most frequent first (ties alphabetically), so that the first
    one shown for a proxy is why most of its archs failed (correlate's and conformance's FAILED lines)."""
    counts = Counter(r.error or "" for r in recs if not r.ok)
    return sorted(counts, key=lambda e: (-counts[e], e))


def pick_archs(all_archs: list, n: int | None, seed: int) -> list:
    """``n`` archs drawn without replacement by ``random.Random(seed)``; None = all, in index order."""
    if n is None or n >= len(all_archs):
        return list(all_archs)
    if n < 1:
        raise ValueError(f"--archs must be >= 1 or 'all' (got {n})")
    return random.Random(seed).sample(list(all_archs), n)


@float32_default()  # the protocol's networks are float32 whatever the caller's default dtype
def score_archs(
    archs: list, space: str, proxies: list[Proxy], protocol: Protocol, batch: Batch, store: ScoreStore,
    device: torch.device | str, retry_failed: bool = False, progress: bool = True, desc: str = "",
    executor: Executor | None = None, counts: dict[str, int] | None = None, bases: bool = False,
) -> dict[str, list[Record]]:
    """Score every arch with every proxy, stored scores reused: records per proxy (``bases``: swap_reg's swap too).

    Archs whose records are all stored are not scored again; the others go to ``executor`` (default: in this
    process, :class:`~swapnas.executors.LocalExecutor`), which may run them anywhere and in any order. Each result
    is written to ``store`` here as it arrives (not one out of memory). ``counts``, if given, receives ``reused``:
    the distinct archs whose every record was stored, and ``partly``: those with some records stored and others to
    score, read in the same pass (no second read of the store).
    """
    executor = executor or LocalExecutor()
    device = resolve_device(device) if isinstance(device, str) else device  # ("cpu": 64; a Ray GPU cluster's cuda: 67)
    per_arch = [p for p in proxies if not p.parts]
    check_stored_bases(per_arch)  # before anything is written
    store.add_protocol(protocol.fingerprint, protocol.describe())
    needed = with_bases(per_arch)  # what score_arch stores: the proxies and the bases they derive from
    warn_changed_code(store, needed, space, protocol.net_version)

    def missing(rec: Record | None) -> bool:
        return rec is None or (retry_failed and not rec.ok)

    done, todo = _stored(archs, needed, protocol, store, missing)
    if counts is not None:
        counts["reused"] = len(done)  # every score stored; and archs with some stored, some to score now:
        counts["partly"] = sum(any(not missing(r) for r in known.values()) for _, known in todo.values())
    _refuse_read_only(store, len(todo))  # before any work, not at the first write
    count = Counter(str(arch) for arch in archs)
    task = ScoreTask(space, tuple(per_arch), batch, protocol, retry_failed)
    label, scored = str(executor.device_for(device)), []
    results = executor.score(task, device, list(todo.values()))
    with closing(results), Bar(total=len(archs), initial=sum(count[k] for k in done), desc=desc or space, unit="arch",
                                disable=not progress, dynamic_ncols=True, mininterval=bar_interval()) as bar:
        for arch, recs in results:
            k = str(arch)
            known = todo.pop(k)[1]
            for p in needed:
                key = protocol.key(k, p)
                if missing(known.get(key)) and not out_of_memory(recs[p.name]):
                    store.put(key, recs[p.name], device=label)
            done[k] = recs
            scored.append(recs)
            bar.update(count[k])
    if todo:
        raise RuntimeError(f"the {executor.name} executor returned no result for {len(todo)} arch(s)")
    say_out_of_memory(scored, getattr(executor, "workers", 1))  # not those reused from a read-only store (not rescored)
    return {p.name: [done[str(arch)][p.name] for arch in archs] for p in (needed if bases else per_arch)}


def _stored(
    archs: list, needed: list[Proxy], protocol: Protocol, store: ScoreStore, missing: Callable[[Record | None], bool],
) -> tuple[dict[str, dict[str, Record]], dict[str, tuple[object, dict[ScoreKey, Record]]]]:
    """The distinct archs whose every record in ``needed`` is stored (their records by proxy name), and the others
    (each with the records it has), in one read of the store."""
    done: dict[str, dict[str, Record]] = {}
    todo: dict[str, tuple[object, dict[ScoreKey, Record]]] = {}
    for arch in archs:
        k = str(arch)
        if k in done or k in todo:
            continue
        keys = {p.name: protocol.key(k, p) for p in needed}
        known = {key: rec for key in keys.values() if (rec := _usable(store, key)) is not None}
        if any(missing(known.get(key)) for key in keys.values()):
            todo[k] = (arch, known)
        else:
            done[k] = {name: known[key] for name, key in keys.items()}
    return done, todo


def _read_only(store: ScoreStore) -> bool:
    """Whether ``store`` was opened read-only (a stand-in without the attribute is writable)."""
    return bool(getattr(store, "read_only", ""))


def _usable(store: ScoreStore, key: ScoreKey) -> Record | None:
    """The record stored under ``key``, but not a failure for want of memory (stored before session 59: a rerun
    scores it again; :mod:`~swapnas.memory_failures`) unless the store is read-only (then it is reused)."""
    rec = store.get(key)
    return rec if rec is None or _read_only(store) or not out_of_memory(rec) else None


def _refuse_read_only(store: ScoreStore, todo: int) -> None:
    """A StoreError when ``todo`` archs need scoring into a store opened read-only."""
    if todo and _read_only(store):
        raise StoreError(f"the score store {store.path} is read-only ({store.read_only}): its {store.count()} scores "
                         f"can be read, but {todo} arch(s) still need scoring; copy it somewhere writable and "
                         "pass --store COPY, or use --store NEW.sqlite")


def shard_of(archs: list, shard: tuple[int, int] | None) -> list:
    """Archs ``i, i+k, i+2k, …`` for shard ``(i, k)``; all archs for None."""
    if shard is None:
        return archs
    i, k = shard
    if not 0 <= i < k:
        raise ValueError(f"--shard I/K needs 0 <= I < K (got {i}/{k})")
    return archs[i::k]


def check_task(bench: Benchmark, task: str) -> None:
    if task not in bench.tasks:  # a near name suggested (GLUE's sst2 for sst, a capital letter) since session 51
        raise ValueError(f"{bench.name} has no task {task!r}{did_you_mean(task, bench.tasks)}; its tasks: "
                         f"{', '.join(bench.tasks)}")


def _batch_options(net: dict) -> dict:
    """What of the scored network's options the batch depends on: its input size (images' resolution, tokens'
    sequence length) and FlexiBERT's masked-token objective (the batch masks its words to match the head)."""
    return {"resolution": net.get("resolution"), **({"objective": net["objective"]} if "objective" in net else {})}


def prepare(
    *, space: str, dataset: str, batch_size: int, repeats: int, seed: int, init: str, labels: bool = True,
    net: dict, inputs: str, data_dir: str | os.PathLike | None, image_root: str | os.PathLike | None, fill: str,
    images: dict | None = None,
) -> tuple[Protocol, Batch]:
    """Load the input batch and fix the protocol (whose fingerprint includes the batch hash).
    ``images``: with ``image_root``, your own images' ``num_classes`` / ``resolution`` / ``mean`` / ``std``;
    ``labels``: whether a scored metric reads the labels (:func:`~swapnas.data.load_batch`)."""
    check_dataset_for(space, dataset)  # before the batch: its loader would speak of flags not given (session 64)
    batch = load_batch(dataset, batch_size, data_dir=data_dir, image_root=image_root, inputs=inputs, seed=seed,
                       fill=fill, labels=labels, **{**_batch_options(net), **(images or {})})
    protocol = Protocol(space=space, dataset=dataset, batch_size=batch_size, repeats=repeats, seed=seed,
                        init=init, net=dict(net), batch_digest=batch.digest, inputs=inputs,
                        classes=(images or {}).get("num_classes") if image_root else None,
                        net_version=net_version(space))
    return protocol, batch


def best_for(space: str) -> str:
    """The proxy that ``best`` means on ``space``: its ``FITNESS_PROTOCOL["proxy"]``, else the alias's target."""
    return getattr(get_space(space), "FITNESS_PROTOCOL", {}).get("proxy") or ALIASES["best"]


def resolve_for(space: str, proxies: list[Proxy] | str) -> list[Proxy]:
    """:func:`proxies.resolve` with ``best`` read as the space's recommended fitness (:func:`best_for`)."""
    if not isinstance(proxies, str):
        return list(proxies)
    asked = [n.strip() for n in proxies.split(",") if n.strip()]
    names = [best_for(space) if n == "best" else n for n in asked]
    if "best" in asked and "proxy" not in getattr(get_space(space), "FITNESS_PROTOCOL", {}):
        warnings.warn(f"space {space} recommends no fitness (its FITNESS_PROTOCOL names no proxy): `best` is the "
                      f"registry's alias, {ALIASES['best']}, chosen on no data of this space; name a proxy to say "
                      "which you mean (e.g. swap, swap_ext)", NoFitnessWarning, stacklevel=user_stacklevel())
    if not names:
        raise ValueError(f"--proxies needs at least one proxy name, comma-separated, or 'all' (got {proxies!r}); "
                         "see `swapnas proxies`")
    return resolve(names)


def _swap_protocol(space: str) -> dict:
    """The space's ``SCORING_DEFAULTS`` with the paper's Gaussian init unless they name another."""
    return {"init": "gaussian", **get_space(space).SCORING_DEFAULTS}


def own_protocol(space: str, proxy: Proxy) -> dict:
    """The defaults (net, batch_size, repeats, init) ``proxy`` is scored under on ``space`` by itself: the
    space's ``FITNESS_PROTOCOL`` for its recommended fitness (the proxy ``best`` names) and the fitnesses it
    recommended before (its ``"former"``, so their documented runs still reproduce), chosen with the fitness
    on the space's dev sets; the space's ``SCORING_DEFAULTS`` (the paper's Gaussian init) for every other."""
    own = getattr(get_space(space), "FITNESS_PROTOCOL", None)
    if own is not None and proxy.name in {best_for(space), *own.get("former", ())}:
        return {k: v for k, v in own.items() if k not in ("proxy", "refine", "former")}
    return _swap_protocol(space)


def protocol_groups(space: str, proxies: list[Proxy]) -> list[tuple[dict, list[str]]]:
    """``proxies`` grouped by :func:`own_protocol`: (protocol, names) in the order first met."""
    groups: dict[str, tuple[dict, list[str]]] = {}
    for p in proxies:
        d = own_protocol(space, p)
        groups.setdefault(repr(sorted(d.items())), (d, []))[1].append(p.name)
    return list(groups.values())


def protocol_defaults(space: str, proxies: list[Proxy]) -> dict:
    """The defaults (net, batch_size, repeats, init) of a run scoring ``proxies`` on ``space``: their
    :func:`own_protocol` when they share one; for proxies of different protocols (the recommended fitness
    beside other metrics) the space's ``SCORING_DEFAULTS``, which :func:`configure` applies only to what the
    caller pins (it refuses such a run while a setting in which they differ is left open)."""
    groups = protocol_groups(space, proxies)
    return groups[0][0] if len(groups) == 1 else _swap_protocol(space)


#: the flag that sets each protocol entry, for the message of a mixed run
_FLAGS = {"init": "--init", "repeats": "--repeats", "batch_size": "--batch-size", "net": "--net"}


def _open_settings(protocols: list[dict], given: dict) -> list[str]:
    """The entries (init, repeats, batch_size, net) in which ``protocols`` differ and ``given`` sets nothing
    (``net``: a differing network option that ``given["net"]`` does not override)."""
    open_keys = []
    for key in _FLAGS:
        values = [d.get(key) for d in protocols]
        if key == "net":
            nets = [dict(v or {}) for v in values]
            differ = {k for n in nets for k in n if any(m.get(k) != n.get(k) for m in nets)}
            if differ - set(given.get("net") or {}):
                open_keys.append(key)
        elif any(v != values[0] for v in values) and given.get(key) is None:
            open_keys.append(key)
    return open_keys


def check_one_protocol(space: str, proxies: list[Proxy], given: dict) -> None:
    """A ValueError when ``proxies`` are scored under different protocols by themselves (:func:`own_protocol`)
    and a setting in which those differ is not in ``given`` (the caller's init / repeats / batch_size, and
    ``net``: the entries it overrides). One run scores one protocol: until session 18 such a run fell back to
    the space's SWAP defaults for all, silently, so a proxy's figure depended on its companions."""
    groups = protocol_groups(space, proxies)
    open_keys = _open_settings([d for d, _ in groups], given) if len(groups) > 1 else []
    if not open_keys:
        return
    # the example pins the fitness's settings: of own_protocol's two protocols, the one that is not SWAP's
    fitness = next(d for d, _ in groups if d != _swap_protocol(space))

    def setting(d: dict, k: str) -> str:
        return ",".join(f"{a}={b}" for a, b in d[k].items()) if k == "net" else str(d[k])

    pins = " ".join(f"{_FLAGS[k]} {setting(fitness, k)}" for k in open_keys)
    listing = "; ".join(f"{', '.join(names)}: " + ", ".join(f"{k} {setting(d, k)}" for k in open_keys)
                        for d, names in groups)
    raise ValueError(
        f"the proxies asked for are scored under different protocols on {space} ({listing}): the recommended "
        f"fitness (`best`, or one the space recommended before) under the space's fitness protocol, the other "
        f"metrics under its SWAP protocol. One run scores one protocol: give "
        f"{' and '.join(_FLAGS[k] for k in open_keys)} to score them all under one (e.g. {pins}), or score them "
        f"in separate runs (one --store can serve both)")


def pins_for_all(space: str, proxies: list[Proxy], given: dict) -> tuple[dict, list[str]]:
    """``--proxies all``: ``given`` (init, repeats, batch_size, net) with each setting in which the proxies' own
    protocols differ and the caller left open taken from the space's SWAP protocol, so that every metric is scored
    under that one (until session 51 such a run was refused, and `all` with it on every space); and the proxies
    whose own protocol (the recommended fitness's) is thereby not theirs."""
    groups = protocol_groups(space, proxies)
    open_keys = _open_settings([d for d, _ in groups], given) if len(groups) > 1 else []
    swap, pinned = _swap_protocol(space), dict(given)
    for k in open_keys:
        pinned[k] = {**swap["net"], **(given.get("net") or {})} if k == "net" else swap[k]
    return pinned, [n for d, names in groups if open_keys and d != swap for n in names]


def scoring_net(space: str, task: str, overrides: dict | None = None, base: dict | None = None,
                flag: str = "--net") -> dict:
    """The space's default scored network (``base``, else ``SCORING_DEFAULTS["net"]``), its task, then ``overrides``.

    Spaces with several tasks (TransNAS) build a task head: their net gets ``task`` (another in ``overrides`` is
    refused). ``flag`` names the option the overrides came from in error messages."""
    mod = get_space(space)
    net = dict(mod.SCORING_DEFAULTS["net"] if base is None else base)
    overrides, tasks = dict(overrides or {}), {"task"} if hasattr(mod, "TASKS") else set()
    if tasks:
        net["task"] = task
        if overrides.get("task", task) != task:  # (session 62: it won: one task's network ranked on another's truth)
            raise ValueError(f"{flag} task={overrides['task']} builds another task's network than --dataset's, "
                             f"{task}, which is ranked: give --dataset {overrides['task']}")
    unknown = set(overrides) - set(inspect.signature(mod.build).parameters) - tasks
    if unknown:
        raise ValueError(f"{flag} option(s) {', '.join(sorted(unknown))} are not options of the {space} network; "
                         f"options: {', '.join(net_options(mod))}")
    overrides = _whole_numbers(mod, overrides)
    net.update(overrides)
    if overrides:
        check_net(space, net, overrides, flag)
    return net


def _whole_numbers(mod: object, overrides: dict) -> dict:
    """``overrides`` with a whole float (``C=1e1``, ``C=16.0``) or a numpy integer given to an integer option made
    that integer, so it builds, is stored and is echoed as ``C=10`` (session 59: ``C=1e1`` was refused as "not 10.0",
    ``np.int64(8)`` as not an integer)."""
    params = inspect.signature(mod.build).parameters  # type: ignore[attr-defined]
    scored = getattr(mod, "SCORING_DEFAULTS", {}).get("net", {})
    out = dict(overrides)
    for name, value in overrides.items():
        default = scored.get(name, params[name].default) if name in params else None
        if type(default) is int and not isinstance(value, bool) and isinstance(value, numbers.Real) \
                and float(value).is_integer():
            out[name] = int(float(value))
    return out


def _option_problem(name: str, value: object, default: object) -> str | None:
    """Why ``value`` cannot be the build option ``name`` whose default is ``default`` (None: it can)."""
    if isinstance(default, bool) and not isinstance(value, bool):
        return f"{name} is true or false (default {default}), not {value!r}"
    if isinstance(default, int) and not isinstance(default, bool) and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{name} takes an integer (default {default}), not {value!r}"
    if type(default) is int and default >= 1 and type(value) is int and value < 1:
        return f"{name} is a size (default {default}): it must be >= 1, not {value}"
    if isinstance(default, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"{name} takes a number (default {default}), not {value!r}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name} must be a finite number, not {value}"
    if name == "init_std" and isinstance(value, (int, float)) and not value > 0:  # (session 63: 0 made every weight
        return f"init_std is the weights' standard deviation: it must be > 0, not {value}"  # 0, every arch alike)
    return None


def check_net(space: str, net: dict, overrides: dict | None = None, flag: str = "--net") -> None:
    """Build one arch of ``space`` with the network options ``net`` on the meta device (no memory, no compute); a
    ValueError ``--net …: the {space} network cannot be built: …`` when that fails or a layer comes out empty (e.g.
    ``C=0``). ``overrides``: the options the user gave; ``flag``: the option they came from (for the message)."""
    mod = get_space(space)
    given = ",".join(f"{k}={v}" for k, v in (overrides if overrides is not None else net).items())
    params, scored = inspect.signature(mod.build).parameters, getattr(mod, "SCORING_DEFAULTS", {}).get("net", {})
    for name, value in net.items():  # the default named: the scored network's, else the build's (flexibert L: 16)
        default = scored.get(name, params[name].default) if name in params else inspect.Parameter.empty
        why = None if default is inspect.Parameter.empty else _option_problem(name, value, default)
        if why:
            raise ValueError(f"{flag} {given}: the {space} network cannot be built: {why}")
    try:
        with warnings.catch_warnings(), torch.device("meta"):
            warnings.simplefilter("ignore")  # "Initializing zero-element tensors is a no-op": reported below
            model = mod.build(mod.sample(random.Random(0)), **net)
    except Exception as exc:  # noqa: BLE001 - any failure of the user's options is reported as bad input
        small = [f"{k}={v}" for k, v in net.items() if type(v) is int and v < 1  # sizes (not a float's: init_std)
                 and not isinstance(scored.get(k, params[k].default if k in params else None), float)]
        hint = f" ({', '.join(small)}: sizes must be >= 1)" if small else ""
        raise ValueError(f"{flag} {given}: the {space} network cannot be built: {type(exc).__name__}: {exc}{hint}") from None
    empty = next(((n, tuple(t.shape)) for n, t in model.named_parameters() if t.numel() == 0), None)
    if empty is not None:
        raise ValueError(f"{flag} {given}: the {space} network cannot be built: layer {empty[0]} comes out empty "
                         f"(shape {empty[1]}); every size option must be >= 1")


def configure(
    space: str, task: str, proxies: list[Proxy] | str, *, seed: int = 0, batch_size: int | None = None,
    repeats: int | None = None, net: dict | None = None, init: str | None = None, inputs: str = "real",
    data_dir: str | os.PathLike | None = None, image_root: str | os.PathLike | None = None, fill: str = "augment",
    mu: float | None = None, sigma: float | None = None, images: dict | None = None,
) -> tuple[Protocol, Batch, list[Proxy]]:
    """Protocol, batch and proxies for scoring archs of ``space`` on ``task`` with the space's defaults.

    ``batch_size`` / ``repeats`` / ``init`` and the scored network default to :func:`protocol_defaults` (the space's
    ``SCORING_DEFAULTS``, or its ``FITNESS_PROTOCOL`` for a run of the recommended fitness); ``net`` overrides entries
    of the scored network; ``swap_reg``'s size prior: ``mu``/``sigma``, else its own, else the space's rule.
    """
    mod = get_space(space)
    proxy_list = resolve_for(space, proxies)
    if not proxy_list:
        raise ValueError("no proxies to score: give at least one (see `swapnas proxies`)")
    check_prior(mu, sigma)
    if (mu is not None or sigma is not None) and "swap_reg" not in {p.name for p in proxy_list}:
        raise ValueError("mu/sigma set swap_reg's size prior, and the proxies have no swap_reg: add swap_reg, or "
                         "leave them out (session 66: they were dropped unsaid)")
    check_one_protocol(space, proxy_list, {"init": init, "repeats": repeats, "batch_size": batch_size, "net": net})
    d = protocol_defaults(space, proxy_list)
    full_net = scoring_net(space, task, net, d["net"])
    protocol, batch = prepare(
        space=space, dataset=task, batch_size=d["batch_size"] if batch_size is None else batch_size,
        repeats=d["repeats"] if repeats is None else repeats, seed=seed, init=init or d["init"], net=full_net,
        inputs=inputs, data_dir=data_dir, image_root=image_root, fill=fill, images=images,
        labels=any(p.needs_labels for p in proxy_list),
    )
    return protocol, batch, [_with_prior(p, (mu, sigma), lambda: mod.default_size_prior(dict(full_net),
                                                                          batch.num_classes)) for p in proxy_list]


def _with_prior(proxy: Proxy, given: tuple[float | None, float | None], rule: Callable[[], tuple]) -> Proxy:
    """``swap_reg`` with its size prior: μ/σ where ``given``, else its own options (one configured with a prior keeps
    it: session 66, the space's replaced it), else the space's label-free ``rule``; other proxies as they are."""
    if proxy.name != "swap_reg":
        return proxy
    mu, sigma = (g if g is not None else proxy.options[k] for g, k in zip(given, ("mu", "sigma")))
    d_mu, d_sigma = rule() if mu is None or sigma is None else (mu, sigma)
    return proxy.configure(mu=d_mu if mu is None else mu, sigma=d_sigma if sigma is None else sigma)


def stored_run(protocol: dict, data_dir: str | None = None) -> tuple[Protocol, Batch]:
    """The :class:`Protocol` (one repeat) and batch of a stored ``correlate`` run's ``protocol`` (its
    results.json), for rebuilding the run's scored networks exactly; an error when the batch is not the run's."""
    inputs = protocol.get("inputs", "real")
    batch = load_batch(protocol["dataset"], protocol["batch_size"], seed=protocol["seed"], data_dir=data_dir,
                       inputs=inputs, **_batch_options(protocol["net"]))
    if batch.digest != protocol["batch_digest"]:
        own = " (the run scored your own --image-root images: this reads the bundle's)" if protocol.get("classes") else ""
        raise ValueError(f"the batch differs from the run's ({batch.digest} vs {protocol['batch_digest']}){own}: "
                         "pass the data directory the run used")
    return Protocol(protocol["space"], protocol["dataset"], protocol["batch_size"], repeats=1, seed=protocol["seed"],
                    init=protocol["init"], bn_train=protocol["bn_train"], net=protocol["net"],
                    batch_digest=batch.digest, inputs=inputs, classes=protocol.get("classes"),
                    net_version=protocol.get("net_version", "1")), batch
