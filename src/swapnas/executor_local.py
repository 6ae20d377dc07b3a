"""The executor interface (:class:`Executor`, :class:`ScoreTask`) and the in-process executor
(:class:`LocalExecutor`); the process pool and Ray executors are in :mod:`swapnas.executors`, which
re-exports these names."""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

from .data import Batch
from .proxies import Proxy
from .scoring import Protocol, build_scored_net, score_arch, with_bases
from .spaces import get_space
from .store import PreloadedRecords, Record, ScoreKey

#: what an executor gets per arch: the arch and the records already stored for it
Item = tuple[object, dict[ScoreKey, Record]]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreTask:
    """What every arch of one ``score_archs`` call shares."""

    space: str
    proxies: tuple[Proxy, ...]  # per-arch proxies (no set-level ones)
    batch: Batch
    protocol: Protocol
    retry_failed: bool = False


def score_item(task: ScoreTask, batch: Batch, device: torch.device, arch: object,
               known: dict[ScoreKey, Record], prebuilt: torch.nn.Module | None = None) -> dict[str, Record]:
    """Score one arch on ``device`` (``batch`` already there), reusing the ``known`` records;
    ``prebuilt``: its repeat-0 network, if a builder thread made it already."""
    build = get_space(task.space).build
    return score_arch(arch, build, task.proxies, batch, task.protocol, device, PreloadedRecords(known), task.retry_failed,
                      prebuilt)


def _prebuild(task: ScoreTask, device: torch.device, arch: object, known: dict[ScoreKey, Record]) -> torch.nn.Module | None:
    """Repeat 0's network for ``arch`` on ``device`` if a proxy that keeps the model still needs scoring."""
    for p in with_bases(task.proxies):
        if p.base is None and p.keeps_model and not p.structural:
            rec = known.get(task.protocol.key(str(arch), p))
            if rec is None or (task.retry_failed and not rec.ok):
                return build_scored_net(get_space(task.space).build, arch, task.protocol, task.batch.num_classes, 0,
                                        device)
    return None


class Executor:
    """Runs ``score_item`` over archs and yields ``(arch, records)`` as they complete."""

    name = "executor"
    #: torch threads in each worker process (None: the archs are scored in this process, with its threads)
    threads: int | None = None

    def device_for(self, device: torch.device) -> torch.device:
        """The device the archs are scored on when the caller asks for ``device``."""
        return device

    def score(self, task: ScoreTask, device: torch.device,
              items: Sequence[Item]) -> Generator[tuple[object, dict[str, Record]], None, None]:
        """A generator of ``(arch, {proxy_name: Record})``, one per item, in any order; ``known`` (the item's
        second part) holds its stored records, which ``score_arch`` reuses; closing it stops what is in flight."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def scoring_threads(executor: Executor | None) -> int:
    """The torch threads each scoring process uses (the executor's workers', or this process's): a CPU score's last
    bits can depend on them, so the outputs' provenance records them (session 70)."""
    return getattr(executor, "threads", None) or torch.get_num_threads()  # (an executor of one's own may lack it)


class LocalExecutor(Executor):
    """In this process, one arch after the other, in the given order.

    ``prefetch`` > 0 (throughput mode): a builder thread builds and initialises the next ``prefetch`` archs'
    networks (module construction, N(0, 1) draws, the copy to the device) while this thread scores the current
    one, so the device does not wait for Python; when every proxy keeps the model (SWAP sweeps); same scores.
    """

    name = "local"

    def __init__(self, prefetch: int = 0):
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0 archs (got {prefetch})")
        self.prefetch, self._said_why = prefetch, False

    def score(self, task: ScoreTask, device: torch.device,
              items: Sequence[Item]) -> Generator[tuple[object, dict[str, Record]], None, None]:
        batch = task.batch.to(device)
        bases = [p for p in with_bases(task.proxies) if p.base is None and not p.structural]  # those need a network
        if not self.prefetch or not bases or not all(p.keeps_model for p in bases):
            if self.prefetch and bases and not self._said_why:  # it was accepted and did nothing, without a word
                self._said_why = True
                changing = sorted({p.name for p in bases if not p.keeps_model})
                log.warning("--prefetch builds networks ahead only where every metric keeps the model it scores "
                            "(swap and its variants, params, …); %s change%s it, so each arch's network is built as "
                            "it is scored: to build ahead, score %s in a run of %s own (one store keeps both runs' "
                            "scores)",
                            ", ".join(changing), "s" * (len(changing) == 1), "it" if len(changing) == 1 else "them",
                            "its" if len(changing) == 1 else "their")
            for arch, known in items:
                yield arch, score_item(task, batch, device, arch, known)
            return
        pending: deque = deque()
        todo = iter(items)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="swapnas-build") as pool:
            try:
                for item in itertools.islice(todo, self.prefetch):
                    pending.append((item, pool.submit(_prebuild, task, device, *item)))
                while pending:
                    (arch, known), future = pending.popleft()
                    for item in itertools.islice(todo, 1):
                        pending.append((item, pool.submit(_prebuild, task, device, *item)))
                    try:
                        net = future.result()
                    except Exception:  # noqa: BLE001 - scored the plain way, which records the error
                        net = None
                    yield arch, score_item(task, batch, device, arch, known, net)
            finally:
                for _, future in pending:  # closed early (Ctrl-C, an error): drop what is queued
                    future.cancel()


def crash_records(task: ScoreTask, arch: object, known: dict[ScoreKey, Record], error: str) -> dict[str, Record]:
    """Records for an arch whose worker died on every try: stored ones kept, the rest failures."""
    out: dict[str, Record] = {}
    for p in with_bases(task.proxies):
        rec = known.get(task.protocol.key(str(arch), p))
        keep = rec is not None and (rec.ok or not task.retry_failed)
        out[p.name] = rec if rec is not None and keep else Record("failed", None, None, [], None, None, error[:2000])
    return out
