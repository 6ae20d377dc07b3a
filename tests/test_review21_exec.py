"""Session 21 review of the executors, the scoring session and the store: each test fails on the code before
its fix."""

from __future__ import annotations

import functools
import operator
import os
from concurrent.futures.process import BrokenProcessPool

import pytest
import torch

from swapnas import executors
from swapnas.session import score_archs
from swapnas.store import ScoreStore
from tests.pool_tools import StandInPool
from tests.tiny_tasks import record_table, tiny_nb201_task

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def setup():
    return tiny_nb201_task("swap,swap_reg", batch_size=8, repeats=1, n_archs=8, seed=3)



# ----------------------------------------------------------------------------- a pool worker that dies

def test_a_pool_worker_that_dies_costs_its_arch_only_not_the_sweep(setup, monkeypatch) -> None:
    """Before: the first worker death (OOM killer, segfault) raised ``BrokenProcessPool`` out of
    ``score_archs`` (the CLI printed a traceback, exit 1) and every rerun died again at the same arch. Now the
    archs in flight are scored again one at a time on a fresh pool; the arch whose worker dies every time it
    runs alone is stored as a failure and every other arch gets the in-process scores."""
    protocol, batch, proxies, archs = setup
    with ScoreStore(":memory:") as store:
        plain = score_archs(archs, "nb201", proxies, protocol, batch, store, CPU, progress=False)
    killer = str(archs[5])
    monkeypatch.setattr(executors, "ProcessPoolExecutor", StandInPool)
    monkeypatch.setattr(StandInPool, "killers", {killer})
    monkeypatch.setattr(StandInPool, "runs", [])
    with ScoreStore(":memory:") as store, executors.PoolExecutor(2, chunk_size=2) as pool:
        pooled = score_archs(archs, "nb201", proxies, protocol, batch, store, CPU, progress=False, executor=pool)
        assert store.count() == 2 * len(archs)
    want = record_table(plain)
    for name in want:
        want[name][5] = ("failed", [])
    assert record_table(pooled) == want
    assert "died each of the 2 time(s) it was scored alone" in (pooled["swap"][5].error or "")
    assert pooled["swap_reg"][5].status == "failed"
    # the killer's chunk-mate was scored again by itself; the killer alone twice (max_retries=1), then given up
    lone = [run for run in StandInPool.runs if len(run) == 1]
    assert lone.count([killer]) == 2 and [str(archs[4])] in lone


def test_pool_workers_that_cannot_run_at_all_stop_the_sweep_instead_of_failing_every_arch() -> None:
    """When every arch's worker dies, even alone, the pool gives up after a few archs (an error) rather than
    storing every arch of the sweep as a failure."""
    from swapnas import pool_retry

    pool = StandInPool()
    restarts = []

    def restart() -> None:
        pool._broken = False
        restarts.append(1)

    StandInPool.killers = {f"a{i}" for i in range(10)}
    try:
        items = [(f"a{i}", {}) for i in range(10)]
        run = pool_retry.run_chunks(lambda chunk: pool.submit(len, chunk), restart,
                                    [items[i:i + 2] for i in range(0, 10, 2)], 4, 0, lambda item, n, exc: "dead")
        given_up = []
        with pytest.raises(BrokenProcessPool, match="died on 3 archs in a row"):
            for item, out in run:
                given_up.append(item[0])
        assert given_up == []  # session 54: the two archs before the third are no longer stored as failed
    finally:
        StandInPool.killers = set()


class _KillerClass:
    """Unpickles as the class ``Killer(int)`` whose ``str`` is ``os._exit``: a pool worker dies of it."""

    def __reduce__(self):
        return (type, ("Killer", (int,), {"__str__": functools.partialmethod(os._exit)}))


class _KillerArch:
    """An NB201 arch here; in a pool worker, an object whose ``str`` (the first thing scoring asks) ends the
    process with exit code 1, as a segfault or the OOM killer would end it."""

    def __init__(self, arch):
        self.arch = arch

    def __str__(self) -> str:
        return str(self.arch)

    def __reduce__(self):
        return (operator.methodcaller("__call__", 1), (_KillerClass(),))  # operator.call is 3.11+


@pytest.mark.slow  # starts a one-worker process pool four times
def test_a_real_pool_worker_that_dies_is_replaced_and_its_arch_stored_as_failed(setup, tmp_path) -> None:
    protocol, batch, proxies, archs = setup
    archs = archs[:4]
    with ScoreStore(":memory:") as store:
        plain = score_archs(archs, "nb201", proxies, protocol, batch, store, CPU, progress=False)
    dying = [*archs[:2], _KillerArch(archs[2]), archs[3]]
    with ScoreStore(tmp_path / "s.sqlite") as store, executors.PoolExecutor(1, chunk_size=2) as pool:
        pooled = score_archs(dying, "nb201", proxies, protocol, batch, store, CPU, progress=False, executor=pool)
        assert store.count() == 2 * len(archs)
        again = score_archs(archs[:2], "nb201", proxies, protocol, batch, store, CPU, progress=False, executor=pool)
    want = record_table(plain)
    for name in want:
        want[name][2] = ("failed", [])
    assert record_table(pooled) == want
    assert "died each of the 2 time(s)" in (pooled["swap"][2].error or "")
    assert record_table(again) == {k: v[:2] for k, v in record_table(plain).items()}  # the replaced pool serves the next call


def test_a_ray_address_nothing_answers_at_is_refused_at_once_and_a_listening_one_passes() -> None:
    """``ray.init`` on an address nobody listens at retried for minutes (about 210 s of Ray's log lines) and then
    called ``sys.exit(15)``: no ``swapnas: error:`` line. The address is now checked first."""
    import socket

    from swapnas.executors import make_executor
    from swapnas.ray_address import check_ray_address

    pytest.importorskip("ray")
    with pytest.raises(ValueError, match=r"no Ray cluster answers at --address 127\.0\.0\.1:1 .*ray start --head"):
        make_executor("ray", address="127.0.0.1:1")
    with pytest.raises(ValueError, match="ray://127.0.0.1:1"):
        check_ray_address("ray://127.0.0.1:1")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        for address in (f"127.0.0.1:{server.getsockname()[1]}", f"ray://127.0.0.1:{server.getsockname()[1]}"):
            with pytest.raises(ValueError, match="accepts connections but sent nothing back in 0.2 s"):
                check_ray_address(address, timeout=0.2)  # listening, silent: refused since session 61 (left to Ray
        for address in (None, "auto", "local"):  # before, which retried for minutes)
            check_ray_address(address)


def test_workers_that_cannot_run_end_the_command_with_a_clear_error_not_a_traceback(small_bundle, tmp_path, capsys,
                                                                                  monkeypatch) -> None:
    """pool_retry gives up with ``BrokenProcessPool`` (a RuntimeError) when the workers die on archs in a row; the
    command line printed it as a traceback (exit 1)."""
    from swapnas.cli import commands, main

    def give_up(*args, **kwargs):
        raise BrokenProcessPool("the scoring processes died on 3 archs in a row, each scored alone 2 times, and "
                                "scored none: they cannot run here (try --workers 1 to see why)")
    monkeypatch.setattr(commands, "run_correlation", give_up)
    code = main(["correlate", "--space", "nb301", "--proxies", "params", "--archs", "3", "--workers", "1",
                 "--no-progress", "--data-dir", str(small_bundle), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "swapnas: error: the scoring processes died on 3 archs in a row" in err and "--workers 1" in err
