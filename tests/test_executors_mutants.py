"""Tests written against the survivors of session 36's mutation run of ``swapnas.executors`` outside Ray
(docs/reliability.md, "Session 36"). The process pool's tests start real workers, which cannot run under mutmut, so
here the pool is an in-process stand-in that records how it was made, what it was sent and how it was shut down;
the worker's own functions (``_pool_init``, ``_pool_score_chunk``) run in this process with what they change
recorded; ``make_executor`` builds a recorded Ray executor.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import warnings

import pytest
import torch

from swapnas import executors
from swapnas.callers import brief_warning
from swapnas.executors import LocalExecutor, PoolExecutor, ScoreTask, make_executor, usable_cores
from swapnas.proxies import get_proxy
from swapnas.store import Record
from tests.pool_tools import StandInPool, stand_in_pool
from tests.tiny_tasks import tiny_nb201_task

from .message_tools import exact

CPU = torch.device("cpu")
FAILED = Record("failed", None, None, [], 0.5, None, "RuntimeError: stored failure")
STORED = Record("ok", 12345.0, 0.0, [12345.0], 0.5, None, None)
DIED = "a worker died " + "." * 300  # long enough for the log line's cut at 300 characters


@pytest.fixture(scope="module")
def setup():
    return tiny_nb201_task("swap", batch_size=8, repeats=1, n_archs=4, seed=11)


@pytest.fixture
def pool_class(monkeypatch):
    return stand_in_pool(monkeypatch, DIED)


def test_the_pool_is_made_once_spawned_with_its_workers_threads_and_signals_blocked(pool_class, monkeypatch) -> None:
    masks: list = []
    monkeypatch.setattr(signal, "pthread_sigmask", lambda how, sigs: masks.append((how, set(sigs))))
    pool = PoolExecutor(3, threads=2)
    made = pool._ensure_pool()
    assert pool._ensure_pool() is made and pool_class.made == [made]
    workers, ctx, init, initargs = made.args
    assert (workers, init, initargs) == (3, executors._pool_init, (2,)) and ctx.get_start_method() == "spawn"
    assert [fn for fn, _ in made.submitted] == [int, int, int]  # every worker started at once
    stops = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}  # (SIGHUP since session 58)
    assert masks == [(signal.SIG_BLOCK, stops), (signal.SIG_UNBLOCK, stops)]


def test_the_defaults_and_each_refused_setting_in_full() -> None:
    pool = PoolExecutor(2)
    assert (pool.workers, pool.threads, pool.chunk_size, pool.max_retries) == (2, 1, 2, 1)
    assert PoolExecutor(1, 1, 1, 0).max_retries == 0  # each lowest setting allowed
    for args in ((0, 1, 2, 1), (1, 0, 2, 1), (1, 1, 0, 1), (1, 1, 2, -1)):
        message = ("the pool needs workers, threads and chunk_size >= 1 and max_retries >= 0 (got "
                   f"{args[0]}, {args[1]}, {args[2]}, {args[3]})")
        with pytest.raises(ValueError, match=exact(message)):
            PoolExecutor(*args)


def test_two_calls_and_two_pools_never_share_a_workers_cached_task(setup, pool_class) -> None:
    """A worker keeps the last call's task by its token: a token shared by two calls (or by two pools' first
    calls) would score the second with the first's proxies."""
    protocol, batch, _, archs = setup
    items = [(a, {}) for a in archs[:2]]
    for proxies in (("swap",), ("params",), ("swap",)):
        with PoolExecutor(1, chunk_size=1) as pool:
            for names in (proxies, ("flops",)):
                task = ScoreTask("nb201", tuple(get_proxy(n) for n in names), batch, protocol)
                out = dict(pool.score(task, CPU, items))
                assert all(set(recs) == set(names) for recs in out.values())


def test_every_chunk_goes_to_the_worker_with_its_records_and_retry(setup, pool_class) -> None:
    protocol, batch, _, archs = setup
    key = protocol.key(str(archs[0]), get_proxy("swap"))
    for retry, ok in ((False, False), (True, True)):
        task = ScoreTask("nb201", (get_proxy("swap"),), batch, protocol, retry)
        with PoolExecutor(1) as pool:
            out = dict(pool.score(task, CPU, [(archs[0], {key: FAILED})]))
        assert out[archs[0]]["swap"].ok is ok and (ok or out[archs[0]]["swap"] == FAILED)


@pytest.mark.parametrize("workers", [1, 2])
def test_two_chunks_per_worker_are_sent_before_the_first_result(setup, pool_class, monkeypatch, workers) -> None:
    protocol, batch, _, archs = setup
    events: list[str] = []
    real = StandInPool.submit
    monkeypatch.setattr(StandInPool, "submit", lambda self, fn, *a: events.append("submit") or real(self, fn, *a))
    task = ScoreTask("nb201", (get_proxy("params"),), batch, protocol)
    with PoolExecutor(workers, chunk_size=1) as pool:
        for _ in pool.score(task, CPU, [(a, {}) for a in archs]):
            events.append("result")
    # the start-up no-ops, then 2 chunks per worker
    assert events[:3 * workers + 1] == ["submit"] * workers + ["submit"] * 2 * workers + ["result"]


def test_an_arch_whose_worker_always_dies_is_logged_and_stored_failed_with_the_reason(setup, pool_class,
                                                                                        caplog) -> None:
    """Its stored record (swap) is kept; the proxy it lacked (params) is stored as failed, with the reason."""
    protocol, batch, _, archs = setup
    pool_class.killers = {str(archs[1])}
    task = ScoreTask("nb201", (get_proxy("swap"), get_proxy("params")), batch, protocol)
    items = [(a, {protocol.key(str(a), get_proxy("swap")): STORED}) for a in archs[:3]]
    with caplog.at_level(logging.WARNING, logger="swapnas.executors"), PoolExecutor(1, chunk_size=1) as pool:
        out = dict(pool.score(task, CPU, items))
    msg = ("its scoring process died each of the 2 time(s) it was scored alone (killed by the system, e.g. out of "
           f"memory, or crashed): BrokenProcessPool: {DIED}")
    assert out[archs[1]] == {"swap": STORED, "params": Record("failed", None, None, [], None, None, msg)}
    assert out[archs[0]]["params"].ok and out[archs[2]]["params"].ok
    assert [r.getMessage() for r in caplog.records] == [f"arch {archs[1]} failed: {msg[:300]}"]


def test_close_kills_a_broken_pools_workers_and_shuts_it_down_cancelling_what_waits(pool_class) -> None:
    killed: list[int] = []

    class Process:
        def __init__(self, pid: int):
            self.pid = pid

        def kill(self) -> None:
            killed.append(self.pid)

    pool = PoolExecutor(2)
    made = pool._ensure_pool()
    made._processes = {1: Process(1), 2: Process(2)}
    pool.close()
    assert killed == [] and made.shut == (True, True) and pool._pool is None  # a sound pool: no kill
    pool.close()  # closed twice: nothing to do
    made = pool._ensure_pool()
    made._broken, made._processes = True, {1: Process(1), 2: Process(2)}
    pool.close()
    assert killed == [1, 2] and made.shut == (True, True)
    made = pool._ensure_pool()
    made._broken, made._processes = True, None  # already reaped
    pool.close()
    assert made.shut == (True, True)
    made = pool._ensure_pool()
    made._processes = {3: Process(3)}
    del made._broken  # a pool without these private fields (another Python) is closed as a sound one
    pool.close()
    assert made.shut == (True, True) and killed == [1, 2]
    made = pool._ensure_pool()
    made._broken = True
    del made._processes
    pool.close()
    assert made.shut == (True, True) and killed == [1, 2]


def test_a_pool_worker_ignores_ctrl_c_and_sigterm_and_takes_its_threads(monkeypatch) -> None:
    calls: list = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(("threads", n)))
    monkeypatch.setattr(executors, "keep_freed_memory", lambda: calls.append(("malloc",)))
    monkeypatch.setattr(signal, "signal", lambda sig, handler: calls.append((sig, handler)))
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # restored after the test
    executors._pool_init(3)
    assert warnings.showwarning is brief_warning  # session 50: Python named the pool's file as the place
    assert calls[:2] == [("threads", 3), ("malloc",)]
    assert sorted(calls[2:]) == sorted([(signal.SIGINT, signal.SIG_IGN), (signal.SIGTERM, signal.SIG_IGN),
                                        (signal.SIGHUP, signal.SIG_IGN)])  # (SIGHUP since session 58)


def test_the_cores_without_an_affinity_mask_are_the_cpu_count_or_one(monkeypatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert usable_cores() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert usable_cores() == 1


def test_make_executor_defaults_passes_every_setting_and_says_what_is_wrong(monkeypatch) -> None:
    local = make_executor()
    assert type(local) is LocalExecutor and local.prefetch == 0
    assert type(make_executor("local", prefetch=2)) is LocalExecutor
    pool = make_executor(workers=3)
    assert type(pool) is PoolExecutor and (pool.workers, pool.threads) == (3, 1)
    assert make_executor(workers=3, threads=2).threads == 2
    with pytest.raises(ValueError, match=exact("--prefetch applies to one in-process worker (--workers 1)")):
        make_executor(workers=2, prefetch=1)
    with pytest.raises(ValueError, match=exact("--prefetch applies to --executor local (Ray workers each build their "
                                               "own networks)")):
        make_executor("ray", prefetch=1)
    with pytest.raises(ValueError, match=exact("unknown executor 'dask'; choose one of local, ray")):
        make_executor("dask")
    made: list[dict] = []
    monkeypatch.setattr(executors, "require_ray", lambda: None)
    monkeypatch.setattr(executors, "RayExecutor", lambda **kw: made.append(kw) or "ray")
    assert make_executor("ray") == "ray" and made[-1] == {"address": None, "num_cpus": None, "num_gpus_per_task": 0}
    make_executor("ray", address="h:6379", num_cpus=4, num_gpus_per_task=0.25, chunk_size=3)
    assert made[-1] == {"address": "h:6379", "num_cpus": 4, "num_gpus_per_task": 0.25, "chunk_size": 3}


def test_without_ray_both_ways_in_say_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    message = "the Ray executor needs Ray, which is not installed here: pip install 'ray>=2.9'"
    with pytest.raises(ImportError, match=exact(message)):
        executors.require_ray()
    with pytest.raises(ValueError, match=exact(message)):
        make_executor("ray")
