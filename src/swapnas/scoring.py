"""The scoring protocol: initialisation, BatchNorm mode, repeats and per-arch seeds.

Every (arch, repeat) gets its own RNG seed derived from (global seed, space,
arch key, repeat) by SHA-256, so a score never depends on evaluation order,
sharding, or which process computed it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from .arg_checks import seed as check_seed
from .arg_checks import whole
from .data import Batch
from .devices import without_autocast
from .inits import gaussian_init, reinitialisable
from .memory import PeakMemory
from .module_tools import to_device
from .net_pool import NetPool
from .patterns import saturation_once
from .proxies import Proxy, get_proxy
from .rng import LOCK, seeded
from .spaces import map_rows
from .store import Record, RecordStore, ScoreKey

INITS = ("gaussian", "default")


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """torch's default dtype ``dtype`` during the block, the caller's given back after."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


class _Float32Holders:
    """The blocks of :func:`float32_default` running now, in any thread, and the default dtype to give back when
    the last one ends."""
    lock = threading.Lock()
    count = 0
    given_back = torch.float32


@contextlib.contextmanager
def float32_default() -> Iterator[None]:
    """Networks and batches of the protocol in float32 whatever the caller's default dtype (a notebook's
    ``torch.set_default_dtype(torch.float64)`` made every arch of a search fail: its networks were built in float64
    here and in float32 in the workers; session 55), the caller's default given back. torch's default dtype is the
    process's: blocks in several threads at once share one float32 stretch, the default set by the first and given
    back by the last (session 66: one run's restore landed in another's build, a float64 network met the float32
    batch and the failure was stored, and the caller's float64 default was lost); a thread that does not call
    swapnas sees float32 while a block runs."""
    h = _Float32Holders
    with h.lock:
        if h.count == 0:
            h.given_back = torch.get_default_dtype()
            torch.set_default_dtype(torch.float32)
        h.count += 1
    try:
        yield
    finally:
        with h.lock:
            h.count -= 1
            if h.count == 0:
                torch.set_default_dtype(h.given_back)


def arch_seed(seed: int, space: str, arch_key: str, repeat: int = 0) -> int:
    """A 63-bit seed for one (arch, repeat), independent of evaluation order."""
    digest = hashlib.sha256(f"{seed}|{space}|{arch_key}|{repeat}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


@dataclass(frozen=True)
class Protocol:
    """Everything that defines a score besides the arch and the proxy."""

    space: str
    dataset: str
    batch_size: int
    repeats: int = 1
    seed: int = 0
    init: str = "gaussian"
    bn_train: bool = True
    net: dict = field(default_factory=dict)
    batch_digest: str = ""
    inputs: str = "real"
    #: the network's outputs when the user set them (``--num-classes`` with ``--image-root``); None: the dataset's
    classes: int | None = None
    #: the space's network version (:func:`swapnas.spaces.net_version`)
    net_version: str = "1"

    def __post_init__(self) -> None:
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS} (got {self.init!r})")
        whole("repeats", self.repeats, 1)  # (session 65: repeats=2.5 stored a failure for every arch)
        whole("batch_size", self.batch_size, 1)
        check_seed("seed", self.seed)  # (session 65: 2**64 reached SQLite's OverflowError)

    @property
    def net_key(self) -> str:  # (each time: ``net`` is a dict, which a caller may change)
        return json.dumps(self.net, sort_keys=True)

    @functools.cached_property  # once (session 58: 17 µs a key, 5 s of a 300k-key resume); of frozen fields only
    def fingerprint(self) -> str:
        """Hash of the parts not stored in their own column (inputs, init, BN mode)."""
        parts = {"dataset": self.dataset, "init": self.init, "bn_train": self.bn_train,
                 "batch": self.batch_digest, "inputs": self.inputs}
        if self.classes is not None:  # only then: the keys of every other protocol stay as they were
            parts["classes"] = self.classes
        if self.net_version != "1":  # likewise: networks of version 1 keep the keys they were stored under
            parts["net_version"] = self.net_version
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> dict:
        """The protocol as the store records it (with its ``fingerprint``); :func:`fingerprinted` keeps the parts
        the fingerprint covers."""
        out = {**asdict(self), "fingerprint": self.fingerprint}
        if self.classes is None:
            del out["classes"]
        if self.net_version == "1":
            del out["net_version"]
        return out

    def key(self, arch_key: str, proxy: Proxy) -> ScoreKey:
        return ScoreKey(self.space, arch_key, proxy.key, self.fingerprint, self.seed,
                        self.batch_size, self.repeats, self.net_key)


#: a protocol description's fields that every score's key holds in its own column, so they are not in the
#: fingerprint: one fingerprint's scores may have several (nb201 and darts scores on CIFAR-10 share one)
PER_SCORE = ("space", "net", "seed", "batch_size", "repeats")


def fingerprinted(description: dict) -> dict:
    """The parts of a stored protocol ``description`` that its fingerprint covers (dataset, inputs, init, BN mode,
    batch digest, …): the store keeps one description per fingerprint, from the first run, whose space, network,
    seed, batch size and repeats need not be those of the fingerprint's other scores."""
    return {k: v for k, v in description.items() if k not in (*PER_SCORE, "fingerprint")}


#: a protocol's fingerprinted parts → what sets each
PROTOCOL_FLAGS = {"dataset": "--dataset", "inputs": "--inputs", "init": "--init", "bn_train": "the BatchNorm mode",
                  "classes": "--num-classes",
                  "batch_digest": "the input batch (its images: --image-root, --batch-size, --score-seed)",
                  "net_version": "the space's network code (another swapnas version)"}


def protocol_changes(saved: dict, now: dict) -> str:
    """The fingerprinted parts in which two protocol descriptions differ, each with what sets it and both values
    ("" when none differs); the batch's digest only when nothing else does (another dataset changes it too)."""
    was, new = fingerprinted(saved), fingerprinted(now)
    keys = [k for k in {**was, **new} if was.get(k) != new.get(k)]
    keys = [k for k in keys if k != "batch_digest"] or keys
    return ", ".join(f"{PROTOCOL_FLAGS.get(k, k)} {was.get(k)!r} (now {new.get(k)!r})" for k in keys)


#: builds (the space's own init) and stochastic scoring passes (dropout, drop path) seed and use the
#: process-wide RNG: one of them at a time per process, so that a network built ahead in another thread
#: (``LocalExecutor(prefetch=K)``) cannot reseed the RNG in the middle of a pass's dropout draws. Since session 66
#: every seeded block (:func:`~swapnas.rng.seeded`) holds it: this name is the lock the tests watch
_RNG_LOCK = LOCK


def init_scored_net(model: nn.Module, arch: object, protocol: Protocol, repeat: int) -> None:
    """Initialise a built network for one repeat (its own seed) and set the protocol's BN mode."""
    if protocol.init == "gaussian":
        gaussian_init(model, torch.Generator().manual_seed(arch_seed(protocol.seed, protocol.space, str(arch), repeat)))
    model.train(protocol.bn_train)


def build_scored_net(
    build: Callable[..., nn.Module], arch: object, protocol: Protocol, num_classes: int,
    repeat: int, device: torch.device,
) -> nn.Module:
    """Build and initialise the network for one repeat, on ``device``, in the protocol's BN mode."""
    with seeded(arch_seed(protocol.seed, protocol.space, str(arch), repeat)):  # (under rng.LOCK)
        model = build(arch, num_classes=num_classes, **protocol.net)
    init_scored_net(model, arch, protocol, repeat)
    return to_device(model, device)


def _repeat_nets(
    p: Proxy, arch: object, build: Callable[..., nn.Module], protocol: Protocol, num_classes: int,
    device: torch.device, prebuilt: nn.Module | None, pool: NetPool | None = None,
) -> Iterator[nn.Module]:
    """The initialised network of every repeat. For a proxy that keeps the model and a network
    that :func:`gaussian_init` covers, one build serves all repeats (re-initialised in place,
    identical to a new build); ``prebuilt`` is repeat 0's network if the caller built it. With a ``pool``
    (:class:`~swapnas.net_pool.NetPool`), a repeat's network that an earlier proxy of the arch had is put back
    from its snapshot instead of built again, and every network built here is snapshotted before its first use."""

    def fresh(r: int) -> nn.Module:
        model = pool.take(r) if pool is not None else None
        if model is None:
            model = build_scored_net(build, arch, protocol, num_classes, r, device)
            if pool is not None:
                pool.keep(r, model)
        return model

    if prebuilt is not None and pool is not None:
        pool.keep(0, prebuilt)
    model = prebuilt if prebuilt is not None else fresh(0)
    reuse = p.keeps_model and protocol.init == "gaussian" and reinitialisable(model)
    for r in range(protocol.repeats):
        if r:
            if reuse:
                for param in model.parameters():
                    param.grad = None
                init_scored_net(model, arch, protocol, r)
                if pool is not None and pool.model is model:
                    pool.keep(r, model)
            else:
                model = fresh(r)
        yield model


def stochastic(model: nn.Module) -> bool:
    """True if a pass of ``model`` draws from the RNG: a module in training mode that is a dropout
    with p > 0 or has a ``drop_path_prob`` > 0 (the DARTS networks' drop path, a plain function)."""
    return any(m.training and ((isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0)
                               or float(getattr(m, "drop_path_prob", 0.0) or 0.0) > 0)
               for m in model.modules())


def forward_rng(model: nn.Module, arch: object, protocol: Protocol, repeat: int) -> contextlib.AbstractContextManager:
    """The RNG context of one scoring pass: if the network is :func:`stochastic`, the process-wide RNG
    is seeded per (arch, repeat) for the pass and restored after it, under the lock that builds take,
    so the score is reproducible whatever another thread builds meanwhile; otherwise nothing is touched."""
    if not stochastic(model):
        return contextlib.nullcontext()
    device = next((t.device for t in model.parameters()), torch.device("cpu"))
    return seeded(arch_seed(protocol.seed, protocol.space, f"{arch}#forward", repeat), device)  # (under rng.LOCK)


#: :func:`score_arch` keeps an arch's network between its proxies (:class:`~swapnas.net_pool.NetPool`) when at least
#: this many of them build one (``perf/proxy_builds.py`` sets it out of reach to time the path without)
POOL_MIN_PROXIES = 2

#: per protocol (its fingerprint, S and scored network), the proxies whose first SaturationWarning this process
#: has shown (:func:`~swapnas.patterns.saturation_once`)
_SATURATION_SHOWN: dict[str, set[str]] = {}


def _failure(exc: BaseException, seconds: float) -> Record:
    """``exc`` as a failure record; a warning raised as an error (``-W error``, ``PYTHONWARNINGS``) is raised again:
    it says how this process runs, not what the arch scores (session 66: it was stored, and reused without it)."""
    if isinstance(exc, Warning):
        raise exc
    return Record("failed", None, None, [], seconds, None, f"{type(exc).__name__}: {exc}"[:2000])


def _finish(values: list[float], seconds: float, peak: int | None) -> Record:
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        return Record("failed", None, None, values, seconds, peak, f"non-finite score(s): {bad[:4]}")
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return Record("ok", mean, std, values, seconds, peak, None)


def with_bases(proxies: Iterable[Proxy]) -> list[Proxy]:
    """The per-arch proxies (set-level ones have no per-arch value) plus the bases their derived
    proxies need (e.g. ``swap`` for ``swap_reg``), in the order :func:`score_arch` scores them."""
    out = [p for p in proxies if not p.parts]
    names = {p.name for p in out}
    return out + [get_proxy(b) for b in sorted({b for p in out for b in p.base_names} - names)]


def check_stored_bases(proxies: Iterable[Proxy]) -> None:
    """Refuse a configured base beside a proxy derived from it, where scores are stored: the derived proxy's key
    holds its own options, not its bases', so its score from the configured base would be stored under its usual
    key and reused later as if it came from the default base."""
    out = list(proxies)
    for p in out:
        b = next((q for q in out if q.name in p.base_names and q.options != get_proxy(q.name).options), None)
        if b is not None:
            raise ValueError(f"{b.name} is configured ({b.key}) and is also a base of {p.name}, whose stored score "
                             f"would then come from it under {p.name}'s usual key; score {p.name} and the configured "
                             f"{b.name} in two calls")


def _rows_note(protocol: Protocol) -> str:
    """What a SaturationWarning adds where each input gives a hooked map several rows (TransNAS jigsaw's 9 tiles):
    its S counts rows, not the inputs that --batch-size sets."""
    rows = map_rows(protocol.space, protocol.dataset)
    return "" if rows == 1 else (f"; on {protocol.space}/{protocol.dataset} each input gives {rows} rows, so S = "
                                 f"{protocol.batch_size} inputs x {rows}: --batch-size sets the inputs")


def _score_base(p: Proxy, arch: object, build: Callable[..., nn.Module], batch: Batch, protocol: Protocol,
                device: torch.device, first: nn.Module | None, pool: NetPool | None = None) -> Record:
    """One base proxy over every repeat (``first``: repeat 0's network, if already built; ``pool``: the arch's
    network kept between its proxies). Its seconds and peak are its passes' (:func:`_base_values`); a failure's
    seconds are the wall time until it failed, builds included."""
    values: list[float] = []
    t0 = time.perf_counter()
    try:
        shown = _SATURATION_SHOWN.setdefault(f"{protocol.fingerprint}|{protocol.batch_size}|{protocol.net_key}", set())
        with saturation_once(p.name, shown, extra=_rows_note(protocol)):
            seconds, peak = _base_values(p, arch, build, batch, protocol, device, first, pool, values)
        return _finish(values, seconds, peak)
    except Exception as exc:  # recorded, never swallowed: the caller reports failures
        if pool is not None:
            pool.drop()  # (its network may be what ran out of memory)
        failed = _failure(exc, time.perf_counter() - t0)
    first = None  # the failed pass let go (its frames went with `exc`) before the cache is emptied (session 67: the
    if device.type == "cuda":  # cache was emptied while the traceback held the activations and the network)
        torch.cuda.empty_cache()
    return failed


def _base_values(p: Proxy, arch: object, build: Callable[..., nn.Module], batch: Batch, protocol: Protocol,
                 device: torch.device, first: nn.Module | None, pool: NetPool | None,
                 values: list[float]) -> tuple[float, int | None]:
    """``p``'s value on each repeat's network, appended to ``values`` (their networks live in this frame alone);
    returns the passes' seconds (summed) and peak memory (the largest), each network's build and initialisation left
    out: an arch's network is built once for all its proxies (:class:`~swapnas.net_pool.NetPool`) or by a builder
    thread (``--prefetch``), so counting it where it was made charged it to whichever proxy came first (session 70)."""
    nets = _repeat_nets(p, arch, build, protocol, batch.num_classes, device, first, pool)
    del first
    seconds, peak = 0.0, None
    for r, model in enumerate(nets):
        with forward_rng(model, arch, protocol, r), without_autocast():  # (search_arch's caller's)
            t0 = time.perf_counter()
            with PeakMemory(device) as mem:
                values.append(float(p.fn(model, batch, **p.options)))
            seconds += time.perf_counter() - t0
        if mem.peak_bytes is not None:
            peak = max(peak or 0, mem.peak_bytes)
    return seconds, peak


def _score_structural(p: Proxy, structure: Callable[[], nn.Module], batch: Batch, protocol: Protocol,
                      device: torch.device) -> Record:
    """A structural proxy (e.g. ``params``): once, on the arch's meta-device build; the value
    stands for every repeat (an init cannot change it). Its seconds leave the build out (one serves every structural
    and derived proxy of the arch); a failure's are the wall time until it failed."""
    start = t0 = time.perf_counter()
    try:
        model = structure()
        t0 = time.perf_counter()
        with PeakMemory(device) as mem:
            value = float(p.fn(model, batch, **p.options))
    except Exception as exc:
        return _failure(exc, time.perf_counter() - start)
    return _finish([value] * protocol.repeats, time.perf_counter() - t0, mem.peak_bytes)


def _score_derived(p: Proxy, bases: list[Record], structure: Callable[[], nn.Module]) -> Record:
    """A derived proxy (e.g. ``swap_reg``) from its bases' per-repeat values and the network's structure
    (built only when every base succeeded; a failed build is this proxy's failure, not an exception). Its seconds are
    its bases' and its own step's (the structure's build left out, as for a structural proxy); a failure's are its
    bases' and the wall time until it failed."""
    spent = sum(rec.seconds or 0.0 for rec in bases)
    bad = [(b, rec) for b, rec in zip(p.base_names, bases) if not rec.ok]
    if bad:
        errors = "; ".join(f"base proxy {b!r} failed: {rec.error}" for b, rec in bad)
        return Record("failed", None, None, [], spent, None, errors)  # (session 70: 0.0, not its bases' seconds)
    start = t0 = time.perf_counter()
    try:
        model = structure()
        t0 = time.perf_counter()
        per_repeat = zip(*(rec.values for rec in bases))
        if isinstance(p.base, str):
            values = [float(p.fn(v, model, **p.options)) for (v,) in per_repeat]
        else:
            values = [float(p.fn(vs, model, **p.options)) for vs in per_repeat]
        peaks = [rec.peak_mem_bytes for rec in bases if rec.peak_mem_bytes is not None]
        return _finish(values, spent + time.perf_counter() - t0, max(peaks) if peaks else None)
    except Exception as exc:
        return _failure(exc, spent + time.perf_counter() - start)


def score_arch(
    arch: object,
    build: Callable[..., nn.Module],
    proxies: Iterable[Proxy],
    batch: Batch,
    protocol: Protocol,
    device: torch.device,
    store: RecordStore | None = None,
    retry_failed: bool = False,
    prebuilt: nn.Module | None = None,
) -> dict[str, Record]:
    """Score one arch with every proxy, reusing stored results and storing new ones.

    Base proxies each run on a freshly initialised network per repeat (a proxy that keeps
    the model re-initialises one build, see :func:`_repeat_nets`); ``prebuilt``, if given, is
    :func:`build_scored_net`'s repeat-0 network for this arch, used by the first such proxy.
    A structural proxy (e.g. ``params``) runs once on a meta-device build, which derived proxies
    (e.g. ``swap_reg``) also get beside their bases' per-repeat values. Each
    proxy's result is committed to ``store`` (any :class:`~swapnas.store.RecordStore`) as
    soon as it is known.
    """
    key = str(arch)
    out: dict[str, Record] = {}
    todo: list[Proxy] = []
    for p in with_bases(proxies):
        rec = store.get(protocol.key(key, p)) if store is not None else None
        if rec is not None and (rec.ok or not retry_failed):
            out[p.name] = rec
        else:
            todo.append(p)

    def save(p: Proxy, rec: Record) -> None:
        out[p.name] = rec
        if store is not None:
            store.put(protocol.key(key, p), rec, device=str(device))

    meta: list[nn.Module] = []

    def structure() -> nn.Module:  # one build on the meta device serves every proxy that reads only the structure
        if not meta:
            with torch.device("meta"):
                meta.append(build(arch, num_classes=batch.num_classes, **protocol.net))
        return meta[0]

    built = [p for p in todo if p.base is None and not p.structural]
    pool = NetPool() if len(built) >= POOL_MIN_PROXIES else None  # one build for all of them (net_pool)
    for p in [p for p in todo if p.base is None]:
        if p.structural:
            save(p, _score_structural(p, structure, batch, protocol, device))
            continue
        first = prebuilt if p.keeps_model else None
        prebuilt = None if p.keeps_model else prebuilt
        save(p, _score_base(p, arch, build, batch, protocol, device, first, pool))
    for p in [p for p in todo if p.base is not None]:
        save(p, _score_derived(p, [out[b] for b in p.base_names], structure))
    return out
