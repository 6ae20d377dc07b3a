"""Chunks of work on a process pool that outlives its workers' deaths (:class:`~swapnas.executors.PoolExecutor`).

A worker process that dies (the OOM killer, a segfault, ``kill -9``) breaks a ``ProcessPoolExecutor``: every
chunk in flight fails with ``BrokenProcessPool``, and so does every later submit. :func:`run_chunks` then
starts a fresh pool and scores the archs that were in flight again, one at a time with nothing beside them, so
that a death can be blamed on its arch: an arch whose worker dies ``1 + retries`` times while it runs alone gets
``dead(item, deaths, error)`` (stored as a failure) and the sweep goes on, as the Ray executor does. Those
failures are held while no arch scores between them: :data:`GIVE_UP` of them in a row stop the run with
``BrokenProcessPool`` and store nothing (until session 54 the first two were stored as failed, "its scoring process
died", and a rerun after the cause was fixed ranked them last); otherwise they are given, before the next result or at
the end. (Workers that die as they start are stopped before any arch: ``PoolExecutor._started``.)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")
#: archs in a row whose worker died every time they ran alone, with no arch scored between: the workers cannot run
GIVE_UP = 3


def _fill(submit: Callable[[list[T]], Future], todo: deque[list[T]], alone: deque[tuple[T, int]],
          pending: dict[Future, tuple[list[T], int]], in_flight: int) -> bool:
    """Submit what may run now: the next lone arch when nothing runs, else (no lone arch waiting or running) chunks
    up to ``in_flight``; False if the pool broke since the last wait (what was not submitted waits for the next
    pool)."""
    try:
        if alone:  # one at a time, with nothing beside it: a death while it runs is its own
            if not pending:
                pending[submit([alone[0][0]])] = ([alone[0][0]], alone[0][1])
                alone.popleft()
            return True  # the last lone arch too runs alone: chunks wait for its result
        while todo and len(pending) < in_flight:
            pending[submit(todo[0])] = (todo[0], 0)
            todo.popleft()
    except BrokenProcessPool:
        return False
    return True


def run_chunks(
    submit: Callable[[list[T]], Future], restart: Callable[[], None], chunks: Iterable[list[T]], in_flight: int,
    retries: int, dead: Callable[[T, int, BaseException], R],
) -> Generator[tuple[T, Any], None, None]:
    """``(item, result)`` for every item of ``chunks``, as chunks complete. ``submit(chunk)`` sends a chunk to the
    current pool (starting one if needed) and returns a future of its results, one per item; ``restart()``
    discards a broken pool. At most ``in_flight`` chunks are submitted at once; closing the generator cancels
    the chunks not yet started."""
    todo: deque[list[T]] = deque(chunks)
    alone: deque[tuple[T, int]] = deque()  # what was in flight when a pool broke: each rerun alone, with its deaths
    pending: dict[Future, tuple[list[T], int]] = {}
    streak = 0  # archs given up since the last result: workers that cannot run at all must not fail every arch
    held: list[tuple[T, R]] = []  # their failures, given once an arch scores or the sweep ends
    try:
        while todo or alone or pending:
            broken = not _fill(submit, todo, alone, pending, in_flight)
            if not pending:
                restart()
                continue
            done, _ = wait(pending, return_when=ALL_COMPLETED if broken else FIRST_COMPLETED)
            lost: list[tuple[T, int]] = []
            error: BaseException | None = None
            while done:
                for future in done:
                    chunk, deaths = pending.pop(future)
                    try:
                        outs = future.result()
                    except BrokenProcessPool as exc:
                        lost += [(item, deaths) for item in chunk]
                        error = exc
                        continue
                    streak = 0
                    yield from held
                    held.clear()
                    yield from zip(chunk, outs)
                # a broken pool fails everything in flight: take what finished before it broke, then start anew
                done = wait(pending)[0] if error is not None or broken else set()
            if error is None and not broken:
                continue
            restart()
            if len(lost) == 1:  # it ran alone (or was all that ran): the death is its own
                item, deaths = lost[0]
                if deaths + 1 > retries:
                    streak += 1
                    if streak >= GIVE_UP:
                        raise _cannot_run(streak, deaths + 1) from error
                    held.append((item, dead(item, deaths + 1, error)))  # type: ignore[arg-type]
                else:
                    alone.appendleft((item, deaths + 1))
            else:
                alone.extend(lost)
        yield from held
    finally:
        for future in pending:  # closed early (Ctrl-C, an error): drop what is queued
            future.cancel()


def _cannot_run(archs: int, tries: int) -> BrokenProcessPool:
    """The refusal after ``archs`` (:data:`GIVE_UP`) archs in a row each died ``tries`` times alone."""
    return BrokenProcessPool(
        f"the scoring processes died on {archs} archs in a row, each scored alone {tries} time{'s' * (tries > 1)}, "
        "and scored none: they cannot run here (try --workers 1, or workers=1 from Python, to see why; from a "
        "script of your own, call swapnas under `if __name__ == \"__main__\":`, since each worker process imports "
        "your script again). Nothing was stored for them")
