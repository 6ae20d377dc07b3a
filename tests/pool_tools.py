"""A stand-in for ``ProcessPoolExecutor`` that scores in this process: the pool tests without worker processes
(which cannot run under mutmut, and take seconds to start)."""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool


class StandInPool:
    """Records how it was made (``args``), every submit (``submitted``; the chunks' archs in ``runs``, shared by the
    class) and its shutdown (``shut``). A chunk holding an arch in ``killers`` breaks it, as a worker killed by the
    OOM killer does: that chunk fails with ``BrokenProcessPool(died)``, and so does every later submit until the
    pool is replaced."""

    killers: set[str] = set()
    runs: list[list[str]] = []
    made: list[StandInPool] = []
    died = "A process in the process pool was terminated abruptly while the future was running or pending."

    def __init__(self, workers=None, mp_context=None, initializer=None, initargs=()):
        self.args = (workers, mp_context, initializer, initargs)
        self.submitted: list = []
        self.shut: tuple | None = None
        self._broken, self._processes = False, {}
        type(self).made.append(self)

    def submit(self, fn, *args):
        if self._broken:
            raise BrokenProcessPool("A child process terminated abruptly, the process pool is not usable anymore")
        self.submitted.append((fn, args))
        future: Future = Future()
        if fn is int:  # the pool's start-up no-ops
            future.set_result(0)
            return future
        chunk = [str(arch) for arch, _ in args[-1]]
        type(self).runs.append(chunk)
        if self.killers & set(chunk):
            self._broken = True
            future.set_exception(BrokenProcessPool(self.died))
        else:
            future.set_result(fn(*args))
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        self.shut = (wait, cancel_futures)


def stand_in_pool(monkeypatch, died: str = StandInPool.died) -> type[StandInPool]:
    """``swapnas.executors`` made to use :class:`StandInPool` (fresh class records; ``died``: a broken chunk's
    message) for one test."""
    from swapnas import executors
    monkeypatch.setattr(executors, "ProcessPoolExecutor", StandInPool)
    monkeypatch.setattr(StandInPool, "made", [])
    monkeypatch.setattr(StandInPool, "killers", set())
    monkeypatch.setattr(StandInPool, "runs", [])
    monkeypatch.setattr(StandInPool, "died", died)
    monkeypatch.setattr(executors, "_POOL_TASK", {})
    return StandInPool
