"""Where architectures are scored: in this process, or on Ray workers (one machine or a cluster).

:func:`swapnas.session.score_archs` is the driver. It reads the store first, sends an
executor only the archs that still miss a record (each with the records that are stored for
it, so a derived proxy such as ``swap_reg`` reuses a stored base exactly as the local path
does), and writes every result the executor yields to the store as soon as it arrives: the
driver is the store's only writer, and a crash of the driver loses only the archs in flight.

An executor evaluates :func:`swapnas.scoring.score_arch` without a store and yields ``(arch, {proxy_name:
Record})`` as archs complete, in any order; scores do not depend on the process (each (arch, repeat) has its seed).

* :class:`LocalExecutor`: in this process, in order; ``prefetch`` > 0 builds the next archs' networks in
  a thread while the current one is scored (throughput mode). It and the interface (:class:`Executor`,
  :class:`ScoreTask`, :func:`score_item`) live in :mod:`swapnas.executor_local` and are re-exported here.
* :class:`PoolExecutor`: ``workers`` spawned local processes with ``threads`` torch threads each (the CLI's
  default on a CPU: one single-thread worker per core); they leave Ctrl-C, SIGTERM and SIGHUP to the driver. A worker
  that dies (the OOM killer, a segfault) is replaced and the archs in flight are scored again one at a time
  (:mod:`swapnas.pool_retry`): one whose worker dies every time alone is stored as a failure, as under Ray.
* :class:`RayExecutor`: one Ray task per arch (or per ``chunk_size`` archs). The protocol,
  the input batch and the proxies go to the object store once. A task whose worker dies
  (segfault, ``os._exit``, the OOM killer, a lost node) is retried up to ``max_retries``
  times, so a crash loses only the arch in flight; an arch whose worker dies every time (the
  archs of a chunk are then retried one per task) is stored as a failure (rerun with
  ``--retry-failed``) and the sweep goes on. CPU tasks use ``cpus_per_task`` torch threads
  (1 by default). With ``num_gpus_per_task > 0`` every task asks Ray for that share of a
  GPU (0.25: four tasks per GPU) and scores on ``cuda``; Ray sets ``CUDA_VISIBLE_DEVICES``
  per task. On a cluster, install swapnas (with the same torch) on every node; the data
  bundle is needed by the driver only.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import multiprocessing.util
import os
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import ModuleType
from typing import Any

import torch

from .callers import brief_warning
from .data import Batch
from .executor_local import Executor, Item, LocalExecutor, ScoreTask, crash_records, score_item
from .malloc import keep_freed_memory
from .open_files import check_open_files, restore_open_files
from .stops import STOP_SIGNALS
from .pool_retry import run_chunks
from .ray_address import check_ray_address
from .proxies import get_proxy
from .store import Record

__all__ = ["EXECUTORS", "Executor", "Item", "LocalExecutor", "PoolExecutor", "RayExecutor", "ScoreTask",
           "make_executor", "require_ray", "score_item", "usable_cores"]

log = logging.getLogger(__name__)

RAY_HINT = "pip install 'ray>=2.9'"  # (session 67: 'swapnas[ray]' assumed a swapnas on PyPI; the extra's own pin)
EXECUTORS = ("local", "ray")

def require_ray() -> ModuleType:
    """The ``ray`` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError(f"the Ray executor needs Ray, which is not installed here: {RAY_HINT}") from exc
    return ray


# per worker process: the latest shared payload, with its batch already on the device
_PAYLOAD_CACHE: dict[str, tuple[ScoreTask, Batch, torch.device, int]] = {}


def _keeping_sigterm(start: Callable[[], object]) -> None:
    """``start()`` (``ray.init``) with this process's own SIGTERM handler kept: ``ray.init`` puts its own in place,
    which ended a ``swapnas`` run under Ray with Ray's stack dump and exit 134 (session 53), not the command's exit
    130 with every finished score kept. A default handler (a Python caller's process) is left to Ray's."""
    main = threading.current_thread() is threading.main_thread()
    own = signal.getsignal(signal.SIGTERM) if main else None
    try:
        start()
    finally:  # Ray puts its handler in place before some of its refusals too (an existing cluster's)
        if callable(own):
            signal.signal(signal.SIGTERM, own)


def _ray_score_chunk(box: list, chunk: list[Item]) -> list[dict[str, Record]]:
    """The Ray task: score a few archs. ``box`` holds the payload's ObjectRef (not resolved by
    Ray, so each worker fetches and moves the batch once per ``score_archs`` call)."""
    import ray

    ref = box[0]
    key = ref.hex()
    if key not in _PAYLOAD_CACHE:
        task, device_name, threads = ray.get(ref)
        device = torch.device(device_name)
        _PAYLOAD_CACHE.clear()
        _PAYLOAD_CACHE[key] = (task, task.batch.to(device), device, threads)
        keep_freed_memory()  # a Ray worker scores arch after arch, as a pool worker does
    task, batch, device, threads = _PAYLOAD_CACHE[key]
    if threads and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return [score_item(task, batch, device, arch, known) for arch, known in chunk]


class RayExecutor(Executor):
    """Ray tasks on a local Ray instance (``address=None``) or a running cluster.

    ``num_cpus`` sizes a local instance started here (default: all CPUs); it is ignored when connecting to a cluster
    or when Ray is already initialised in this process (that instance is used and left running). ``num_gpus_per_task``
    > 0 scores on ``cuda`` with that share of a GPU per task; each task reserves ``cpus_per_task`` CPUs, runs torch on
    ``threads_per_task`` threads (default: the whole CPUs reserved, at least 1) and scores ``chunk_size`` archs.
    ``max_retries``: retries of a task whose worker process or node dies. ``max_in_flight``: tasks submitted at once
    (default: twice the task slots of the cluster)."""

    name = "ray"

    def __init__(
        self, address: str | None = None, num_cpus: int | None = None, num_gpus_per_task: float = 0,
        max_retries: int = 3, cpus_per_task: float = 1, threads_per_task: int | None = None,
        chunk_size: int = 1, max_in_flight: int | None = None,
    ):
        ray = require_ray()
        if num_gpus_per_task < 0 or cpus_per_task <= 0 or chunk_size < 1 or max_retries < 0:
            raise ValueError("RayExecutor needs num_gpus_per_task >= 0, cpus_per_task > 0, chunk_size >= 1 "
                             "and max_retries >= 0")
        self.address = address
        self.num_gpus_per_task = float(num_gpus_per_task)
        self.cpus_per_task = cpus_per_task
        self.threads = threads_per_task if threads_per_task is not None else max(1, int(cpus_per_task))
        self.max_retries = max_retries
        self.chunk_size = chunk_size
        self._owns = not ray.is_initialized()
        if self._owns:
            check_ray_address(address)
            # Ray's INFO lines ("Started a local Ray instance") broke -q's promise of warnings and errors only
            kwargs: dict = {"address": address, "ignore_reinit_error": True, "logging_level": logging.WARNING}
            if address is None:
                kwargs.update(num_cpus=num_cpus, include_dashboard=False)
            elif num_cpus is not None:
                log.warning("num_cpus=%s ignored: connecting to the Ray cluster at %s", num_cpus, address)
            try:
                _keeping_sigterm(lambda: ray.init(**kwargs))
            except (ValueError, RuntimeError) as exc:  # session 53: Ray's own words, which name neither option
                if "existing cluster" not in str(exc) or num_cpus is None:
                    raise
                raise ValueError("a Ray cluster already runs on this machine (`ray start`), or $RAY_ADDRESS names "
                                 "one: Ray joins it instead of starting one sized by --ray-cpus (num_cpus); leave "
                                 "--ray-cpus out to use that cluster, or stop it (`ray stop`) or unset RAY_ADDRESS"
                                 ) from exc
        elif num_cpus is not None or address is not None:
            log.info("Ray is already initialised in this process: using it (address/num_cpus ignored)")
        gpus = ray.cluster_resources().get("GPU", 0)
        if self.num_gpus_per_task and gpus < self.num_gpus_per_task:
            if self._owns:
                ray.shutdown()
            raise ValueError(f"{self.num_gpus_per_task:g} GPU(s) per task asked for, but the Ray cluster has "
                             f"{gpus:g} GPU(s): its tasks could never run (score on CPUs: --ray-gpus 0 and --device "
                             "cpu, num_gpus_per_task=0 in Python)")
        self.max_in_flight = max_in_flight or max(2, 2 * self._slots(ray))
        self._remote = ray.remote(_ray_score_chunk).options(
            num_cpus=cpus_per_task, num_gpus=self.num_gpus_per_task, max_retries=max_retries)

    def _slots(self, ray: ModuleType) -> int:
        res = ray.cluster_resources()
        slots = int(res.get("CPU", 1) // self.cpus_per_task)
        if self.num_gpus_per_task:
            slots = min(slots, int(res.get("GPU", 0) // self.num_gpus_per_task))
        return max(1, slots)

    def device_for(self, device: torch.device) -> torch.device:
        if self.num_gpus_per_task:
            return torch.device("cuda")
        if device.type != "cpu":
            log.warning("the Ray executor scores on cpu (num_gpus_per_task=0), not on %s", device)
        return torch.device("cpu")

    def score(self, task: ScoreTask, device: torch.device,
              items: Sequence[Item]) -> Generator[tuple[object, dict[str, Record]], None, None]:
        import ray
        from ray.exceptions import NodeDiedError, OutOfMemoryError, WorkerCrashedError

        # ``ray.get``'s errors after Ray's own max_retries that cost one task's archs, not the run: its worker died
        # (killed, segfault, the memory monitor) or its node did (NODE_DIED). LocalRayletDiedError (this driver's own
        # node), ObjectLostError & subclasses (results are small and owned here) and TaskUnschedulableError (no
        # scheduling rules are set) would hit every task alike, so they stop the run (docs/reliability.md, session 22).
        lost = (WorkerCrashedError, OutOfMemoryError, NodeDiedError)
        items = list(items)
        if not items:
            return
        # the batch goes to the object store on the CPU; each worker moves it to its device once
        cpu_task = ScoreTask(task.space, tuple(task.proxies), task.batch.to("cpu"), task.protocol, task.retry_failed)
        payload = ray.put((cpu_task, str(self.device_for(device)), self.threads))
        chunks = iter([items[i:i + self.chunk_size] for i in range(0, len(items), self.chunk_size)])
        pending: dict = {}

        def refill() -> None:
            while len(pending) < self.max_in_flight:
                chunk = next(chunks, None)
                if chunk is None:
                    return
                pending[self._remote.remote([payload], chunk)] = chunk

        refill()
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    chunk = pending.pop(ref)
                    try:
                        outs = ray.get(ref)
                    except lost as exc:
                        if len(chunk) > 1:  # retry each arch alone, so only the one that kills its worker fails
                            pending.update({self._remote.remote([payload], [item]): [item] for item in chunk})
                            continue
                        # the worker (or its node) died on every one of 1 + max_retries tries: store failures, go on
                        msg = (f"the Ray node running it was lost on the last of its {1 + self.max_retries} tries"
                               if isinstance(exc, NodeDiedError) else f"Ray worker died {1 + self.max_retries} times")
                        msg += f": {type(exc).__name__}: {exc}"
                        log.warning("%d arch(s) failed: %s", len(chunk), msg[:300])
                        outs = [crash_records(cpu_task, arch, known, msg) for arch, known in chunk]
                    for (arch, _known), recs in zip(chunk, outs):
                        yield arch, recs
                refill()
        finally:
            for ref in pending:  # interrupted (Ctrl-C, a driver error): stop what is in flight
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 - best effort
                    pass

    def close(self) -> None:
        if self._owns:
            import ray

            ray.shutdown()
            self._owns = False


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


#: per pool worker: the latest task (proxies resolved by name), keyed by its call's token
_POOL_TASK: dict[str, ScoreTask] = {}
_STOPS = {signal.SIGINT, *STOP_SIGNALS}  # Ctrl-C, a scheduler's stop (SLURM, timeout), a closed terminal: the driver's


#: the longest path of a Unix socket, with its final NUL byte (``sockaddr_un.sun_path``: 104 on macOS and the BSDs)
_SOCKET_PATH = 108 if sys.platform.startswith("linux") else 104


def check_socket_folder(workers: int) -> None:
    """A ValueError, before any worker starts, where the workers could not be given the batch: torch passes its
    tensors through a Unix socket in multiprocessing's temporary folder (under ``TMPDIR``), and a socket path longer
    than the system allows, or no writable temporary folder, stalled the pool for good (session 58: a ``TMPDIR`` of
    80 characters hung 4 runs of 7, through Ctrl-C and SIGTERM)."""
    if sys.platform == "win32":  # no Unix sockets there: torch shares tensors otherwise
        return
    try:
        folder = multiprocessing.util.get_temp_dir()
    except OSError as exc:
        raise ValueError(f"--workers {workers}: no temporary folder can be made for the worker processes ({exc}); "
                         "set TMPDIR to a writable folder, or use --workers 1") from None
    longest = len(os.fsencode(os.path.join(folder, "listener-xxxxxxxx"))) + 1  # tempfile's name, and its NUL
    if longest > _SOCKET_PATH:
        raise ValueError(f"--workers {workers}: the worker processes get the batch through a Unix socket in "
                         f"{folder}, and its path would be {longest} bytes, more than the {_SOCKET_PATH} the system "
                         f"allows; set TMPDIR to a shorter folder than {tempfile.gettempdir()} (e.g. TMPDIR=/tmp), or "
                         "use --workers 1")


def _pool_init(threads: int) -> None:
    torch.set_num_threads(threads)
    warnings.showwarning = brief_warning  # Python would name the pool's own file as the place of swapnas's warnings
    keep_freed_memory()
    for stop in _STOPS:  # the driver's shutdown lets the chunks in flight finish
        signal.signal(stop, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:  # the driver killed (kill -9, the OOM killer): end with it, not orphaned for good
        threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: multiprocessing.process.BaseProcess) -> None:
    """A scoring worker's watch: once its driver is gone (session 63: ``kill -9`` of a search left its two workers
    idle for good, reparented to init and deaf to SIGTERM), it ends at once."""
    parent.join()
    os._exit(1)


def _pool_score_chunk(token: str, spec: tuple, device_name: str, chunk: list[Item]) -> list[dict[str, Record]]:
    """A pool worker's job: score a few archs. ``spec`` names the proxies (name, options) instead
    of pickling their functions, so every registered proxy (closures included) works in a worker."""
    if token not in _POOL_TASK:
        space, proxies, batch, protocol, retry = spec
        _POOL_TASK.clear()
        _POOL_TASK[token] = ScoreTask(space, tuple(get_proxy(n).configure(**o) for n, o in proxies), batch,
                                      protocol, retry)
    task = _POOL_TASK[token]
    device = torch.device(device_name)
    batch = task.batch.to(device)
    return [score_item(task, batch, device, arch, known) for arch, known in chunk]


class PoolExecutor(Executor):
    """``workers`` local processes (spawned, so safe with OpenMP), each with ``threads`` torch
    threads: the default on a multi-core CPU (one single-thread worker per core). Same scores as
    :class:`LocalExecutor`; the driver still writes every record. The pool starts on first use
    and lives until :meth:`close`, so a search reuses it cycle after cycle. Proxies reach the
    workers by name: a proxy registered at run time outside an imported module is unknown there."""

    name = "pool"

    def __init__(self, workers: int, threads: int = 1, chunk_size: int = 2, max_retries: int = 1):
        if workers < 1 or threads < 1 or chunk_size < 1 or max_retries < 0:
            raise ValueError(f"the pool needs workers, threads and chunk_size >= 1 and max_retries >= 0 (got {workers}, "
                             f"{threads}, {chunk_size}, {max_retries})")
        self.workers, self.threads, self.chunk_size, self.max_retries = workers, threads, chunk_size, max_retries
        self._pool: ProcessPoolExecutor | None = None
        self._calls = itertools.count()
        self._warm_up: list[Future] = []  # the pool's no-op tasks, one per worker (see _started)
        self._size = 0  # the running pool's processes: at most one per chunk of the largest call so far
        self._nofile: tuple[int, int] | None = None  # the open-file limits before the pool raised them

    def _ensure_pool(self, chunks: int | None = None) -> ProcessPoolExecutor:
        """The pool, with ``min(workers, chunks)`` processes at least (None: ``workers``): a call with fewer chunks
        than ``workers`` starts no idle process (each takes seconds to import torch; session 57), a larger call later
        a larger pool."""
        want = self.workers if chunks is None else min(self.workers, max(chunks, 1))
        if self._pool is not None and self._size < want:
            self.close()
        if self._pool is None:
            check_socket_folder(self.workers)
            self._nofile = check_open_files(self.workers) or self._nofile
            ctx = multiprocessing.get_context("spawn")
            self._size = want
            try:
                self._pool = ProcessPoolExecutor(self._size, mp_context=ctx, initializer=_pool_init,
                                                 initargs=(self.threads or 1,))
            except OSError as exc:  # its locks (named semaphores: /dev/shm on Linux) cannot be made (session 59)
                where = " in /dev/shm, which must be writable" if sys.platform.startswith("linux") else ""
                raise ValueError(f"--workers {self.workers}: the worker processes' shared locks cannot be made{where} "
                                 f"({exc.strerror or exc}); use --workers 1, which scores in this process") from None
            # spawn every worker now (a no-op task each) with SIGINT/TERM blocked here: a Ctrl-C meanwhile waits (it is
            # not lost), and the workers start with it blocked (the mask is inherited), so none prints a traceback
            mask = getattr(signal, "pthread_sigmask", lambda *_: None)  # POSIX only
            mask(signal.SIG_BLOCK, _STOPS)
            try:
                warm_up = [self._pool.submit(int) for _ in range(self._size)]
            finally:
                mask(signal.SIG_UNBLOCK, _STOPS)
            self._warm_up = warm_up  # each new pool's own (a failed start is not kept)
        return self._pool

    def _started(self, chunks: int) -> None:
        """The pool's no-op tasks are done: no worker died as the pool started (a death breaks the pool and fails
        them). Workers that die as they start (a user's script that runs swapnas at its top level: each spawned
        worker imports it again and runs it) stop the call here, before any arch is scored: until session 54 they
        were retried through several pools and stored archs as failed. The next call starts a new pool."""
        self._ensure_pool(chunks)
        try:
            for future in self._warm_up:
                future.result()
        except BrokenProcessPool as exc:
            self.close()
            raise BrokenExecutor(f"the scoring worker processes died as they started, before scoring anything: "
                                 f"{_why_workers_die()}") from exc

    def score(self, task: ScoreTask, device: torch.device,
              items: Sequence[Item]) -> Generator[tuple[object, dict[str, Record]], None, None]:
        items = list(items)
        if not items:
            return
        spec = (task.space, tuple((p.name, dict(p.options)) for p in task.proxies), task.batch.to("cpu"),
                task.protocol, task.retry_failed)
        token = f"{os.getpid()}-{id(self)}-{next(self._calls)}"
        chunks = [items[i:i + self.chunk_size] for i in range(0, len(items), self.chunk_size)]
        self._started(len(chunks))

        def submit(chunk: list[Item]) -> Future:
            return self._ensure_pool(len(chunks)).submit(_pool_score_chunk, token, spec, str(device), chunk)

        def dead(item: Item, deaths: int, exc: BaseException) -> dict[str, Record]:
            msg = (f"its scoring process died each of the {deaths} time(s) it was scored alone (killed by the system, "
                   f"e.g. out of memory, or crashed): {type(exc).__name__}: {exc}")
            log.warning("arch %s failed: %s", item[0], msg[:300])
            return crash_records(task, item[0], item[1], msg)

        for (arch, _known), recs in run_chunks(submit, self.close, chunks, 2 * self._size, self.max_retries, dead):
            yield arch, recs

    def close(self) -> None:
        if self._pool is not None:
            if getattr(self._pool, "_broken", False):  # a worker died: the pool's SIGTERM to the others is ignored
                for process in (getattr(self._pool, "_processes", None) or {}).values():
                    process.kill()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._nofile is not None:  # the open-file limit raised for the pool put back
            restore_open_files(self._nofile)
            self._nofile = None


def make_executor(name: str = "local", *, address: str | None = None, num_cpus: int | None = None,
                  num_gpus_per_task: float = 0, prefetch: int = 0, workers: int = 1, threads: int = 1,
                  **ray_options: Any) -> Executor:
    """An executor by name (``local`` or ``ray``); a missing Ray is a ValueError saying how to get it.
    ``local`` with ``workers`` > 1 is a :class:`PoolExecutor` of that many ``threads``-thread
    processes; ``prefetch`` applies to one in-process worker only."""
    if name == "local":
        if workers > 1:
            if prefetch:
                raise ValueError("--prefetch applies to one in-process worker (--workers 1)")
            return PoolExecutor(workers, threads)
        return LocalExecutor(prefetch)
    if prefetch:
        raise ValueError("--prefetch applies to --executor local (Ray workers each build their own networks)")
    if name == "ray":
        try:
            require_ray()
        except ImportError as exc:
            raise ValueError(str(exc)) from None
        return RayExecutor(address=address, num_cpus=num_cpus, num_gpus_per_task=num_gpus_per_task, **ray_options)
    raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")


def _why_workers_die() -> str:
    """What to do when spawned workers die as they start: a script read from standard input cannot be imported again
    by them (``python - < script.py``: spawn looks for a file named ``<stdin>``; session 55), a script's top-level
    call of swapnas runs again in each of them."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if main is not None and str(main).startswith("<"):
        return (f"your script is read from {main}, which the spawned worker processes cannot import again: save it "
                "to a file and run that, or use --workers 1 (workers=1 from Python)")
    return ('if a script of yours calls swapnas at its top level, put that code under `if __name__ == "__main__":` '
            "(each worker process imports the script again); else try --workers 1 (workers=1 from Python) to see "
            "the error")
