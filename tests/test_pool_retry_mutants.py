"""``swapnas.pool_retry.run_chunks`` on a scripted pool in this process (session 36; docs/reliability.md).

The pool tests that start real worker processes cannot run under mutmut, and the stand-in pool of
``tests/test_review21_exec.py`` checks one whole sweep. Here a scripted pool records every submit and every item
yielded, in order, so each rule of ``run_chunks`` is checked on its own: how many chunks are in flight, what is
rerun alone after a death and how often, what finished before a break and is kept, when the pool is restarted,
when it gives up, and what closing the generator cancels.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import pytest

from swapnas.pool_retry import GIVE_UP, run_chunks

from .message_tools import exact

DIED = "A process in the process pool was terminated abruptly"


def _fail(futures: list[Future]) -> None:
    for future in futures:
        future.set_exception(BrokenProcessPool(DIED))


class ScriptedPool:
    """``submit(chunk)``: a future of ``[item * 10 for item in chunk]``, done at once; a chunk holding a killer
    item breaks the pool (its future fails, and so does every later submit until ``restart``). ``hold``: items
    whose chunk's future is left running: it fails when a later chunk breaks the pool (a real pool fails every
    chunk in flight then), and never completes otherwise (still in flight when the generator is closed)."""

    def __init__(self, killers: dict[int, int] | None = None, hold: set[int] | None = None, lag: float = 0.0):
        self.killers = dict(killers or {})  # item -> how many more times it kills its worker (-1: always)
        self.hold = set(hold or ())
        self.lag = lag  # seconds after a break before the other chunks in flight fail (0: at once)
        self.broken = False
        self.events: list[tuple[str, object]] = []
        self.futures: list[Future] = []

    def submit(self, chunk: list[int]) -> Future:
        if self.broken:
            self.events.append(("refused", list(chunk)))
            raise BrokenProcessPool("A child process terminated abruptly, the process pool is not usable anymore")
        self.events.append(("submit", list(chunk)))
        future: Future = Future()
        self.futures.append(future)
        killer = next((i for i in chunk if self.killers.get(i, 0) != 0), None)
        if killer is not None:
            self.killers[killer] -= 1
            self.broken = True
            # every chunk in flight fails with it (a real pool's manager thread fails them a moment later)
            running = [f for f in self.futures if not f.done() and f is not future]
            if self.lag:
                threading.Timer(self.lag, _fail, (running,)).start()
            else:
                _fail(running)
            future.set_exception(BrokenProcessPool(DIED))
        elif self.hold & set(chunk):
            self.hold -= set(chunk)  # held once: a rerun completes
        else:
            future.set_result([i * 10 for i in chunk])
        return future

    def restart(self) -> None:
        self.events.append(("restart", None))
        self.broken = False

    def dead(self, item: int, deaths: int, exc: BaseException) -> str:
        self.events.append(("dead", (item, deaths, str(exc))))
        return f"dead {item}"

    def run(self, chunks: list[list[int]], in_flight: int = 1, retries: int = 1) -> list[tuple[int, object]]:
        out = []
        for item, result in run_chunks(self.submit, self.restart, chunks, in_flight, retries, self.dead):
            self.events.append(("yield", item))
            out.append((item, result))
        return out

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]


def test_one_chunk_in_flight_goes_in_order_and_keeps_each_chunks_results_beside_its_items() -> None:
    pool = ScriptedPool()
    out = pool.run([[1, 2], [3], [4, 5]], in_flight=1)
    assert out == [(1, 10), (2, 20), (3, 30), (4, 40), (5, 50)]
    assert pool.events == [("submit", [1, 2]), ("yield", 1), ("yield", 2), ("submit", [3]), ("yield", 3),
                           ("submit", [4, 5]), ("yield", 4), ("yield", 5)]


@pytest.mark.parametrize("in_flight", [1, 2, 3])
def test_at_most_in_flight_chunks_are_submitted_before_a_result_is_taken(in_flight: int) -> None:
    pool = ScriptedPool()
    out = pool.run([[i] for i in range(6)], in_flight=in_flight)
    assert sorted(out) == [(i, 10 * i) for i in range(6)]
    kinds = pool.kinds()
    assert kinds[:in_flight + 1] == ["submit"] * in_flight + ["yield"]
    assert "restart" not in kinds and "dead" not in kinds


def test_an_empty_sweep_submits_nothing_and_restarts_nothing() -> None:
    pool = ScriptedPool()
    assert pool.run([]) == [] and pool.events == []


def test_a_chunk_that_breaks_the_pool_is_rerun_one_item_at_a_time_on_a_fresh_pool() -> None:
    """Item 2 kills its worker once: its chunk [2, 3] is lost; after a restart 2 and 3 run alone, one after the
    other, before the next chunk is sent; nobody is given up."""
    pool = ScriptedPool(killers={2: 1})
    out = pool.run([[0, 1], [2, 3], [4, 5]], in_flight=1, retries=1)
    assert out == [(0, 0), (1, 10), (2, 20), (3, 30), (4, 40), (5, 50)]
    assert pool.events == [
        ("submit", [0, 1]), ("yield", 0), ("yield", 1), ("submit", [2, 3]), ("restart", None),
        ("submit", [2]), ("yield", 2), ("submit", [3]), ("yield", 3), ("submit", [4, 5]), ("yield", 4), ("yield", 5)]


def test_an_item_that_dies_alone_is_retried_first_then_given_up_with_its_count_of_deaths() -> None:
    """Item 1 always kills its worker; retries=2: it runs in its chunk, then alone 3 times (1 + retries) before
    ``dead`` gets it with 3 deaths; the retry goes before the other lone item (3), which waits its turn."""
    pool = ScriptedPool(killers={1: -1})
    out = pool.run([[1, 3], [5]], in_flight=1, retries=2)
    assert out == [(1, "dead 1"), (3, 30), (5, 50)]
    assert pool.events == [
        ("submit", [1, 3]), ("restart", None),
        ("submit", [1]), ("restart", None), ("submit", [1]), ("restart", None), ("submit", [1]), ("restart", None),
        ("dead", (1, 3, DIED)), ("submit", [3]), ("yield", 1), ("yield", 3), ("submit", [5]), ("yield", 5)]


def test_no_retries_gives_an_item_up_after_its_first_death_alone() -> None:
    pool = ScriptedPool(killers={7: -1})
    assert pool.run([[7], [8]], retries=0) == [(7, "dead 7"), (8, 80)]
    assert pool.events == [("submit", [7]), ("restart", None), ("dead", (7, 1, DIED)), ("submit", [8]), ("yield", 7),
                           ("yield", 8)]


def test_what_finished_before_the_break_is_kept_and_what_was_refused_waits_for_the_next_pool() -> None:
    """Three chunks in flight: [0] finishes, [1] breaks the pool, so [2] is refused. [0] is yielded once and
    never rerun; [1] alone on a fresh pool (it killed only once); [2] then goes as a chunk again."""
    pool = ScriptedPool(killers={1: 1})
    out = pool.run([[0], [1], [2]], in_flight=3, retries=1)
    assert sorted(out) == [(0, 0), (1, 10), (2, 20)]
    assert pool.events[:3] == [("submit", [0]), ("submit", [1]), ("refused", [2])]
    assert pool.events[3:] == [("yield", 0), ("restart", None), ("submit", [1]), ("yield", 1), ("submit", [2]),
                               ("yield", 2)]
    assert [chunk for kind, chunk in pool.events if kind == "submit"].count([0]) == 1


def test_two_chunks_lost_together_are_rerun_alone_and_neither_death_is_blamed_on_an_item() -> None:
    """[1, 2] is still running when [3, 4] kills the pool: both chunks fail. The death cannot be blamed on one
    item, so all four are rerun alone with no death counted: with retries=0 an item blamed once would be given
    up, and none is."""
    pool = ScriptedPool(killers={4: 1}, hold={1})
    out = pool.run([[1, 2], [3, 4]], in_flight=2, retries=0)
    assert sorted(out) == [(1, 10), (2, 20), (3, 30), (4, 40)]
    assert "dead" not in pool.kinds()
    assert pool.events[:3] == [("submit", [1, 2]), ("submit", [3, 4]), ("restart", None)]
    lone = [chunk for kind, chunk in pool.events[3:] if kind == "submit"]
    assert sorted(lone) == [[1], [2], [3], [4]]


def test_a_chunk_that_fails_a_moment_after_the_break_is_lost_with_it_not_left_for_the_next_round() -> None:
    """As a real pool: [3] kills the pool and fails at once, [1] (in flight) fails 0.2 s later. The first wait
    returns with [3] alone; run_chunks waits for everything in flight before it blames anybody, so both are lost
    together and neither death is blamed (retries=0 would give up a blamed item at once)."""
    pool = ScriptedPool(killers={3: 1}, hold={1}, lag=0.2)
    out = pool.run([[1], [3]], in_flight=2, retries=0)
    assert sorted(out) == [(1, 10), (3, 30)]
    assert "dead" not in pool.kinds()
    assert pool.events[:3] == [("submit", [1]), ("submit", [3]), ("restart", None)]


def test_one_item_lost_alone_is_blamed_even_beside_a_finished_chunk() -> None:
    """A break that fails only a one-item chunk (the other chunk in flight had finished) blames that item: with
    retries=0 it is given up at once, with one death."""
    pool = ScriptedPool(killers={1: 1})
    out = pool.run([[0], [1]], in_flight=2, retries=0)
    assert sorted(out, key=lambda t: t[0]) == [(0, 0), (1, "dead 1")]
    assert ("dead", (1, 1, DIED)) in pool.events


def test_a_lone_item_is_sent_only_when_nothing_else_is_in_flight() -> None:
    """After [0, 1] broke the pool with [2] refused, the lone items 0 and 1 run with nothing beside them: no
    chunk is submitted while a lone item is pending or still waits its turn."""
    pool = ScriptedPool(killers={0: 1})
    out = pool.run([[0, 1], [2], [3]], in_flight=2, retries=1)
    assert sorted(out) == [(0, 0), (1, 10), (2, 20), (3, 30)]
    submits = [chunk for kind, chunk in pool.events if kind in ("submit", "refused")]
    assert submits[:4] == [[0, 1], [2], [0], [1]]
    after = pool.events[pool.events.index(("submit", [0])):]
    assert after[:4] == [("submit", [0]), ("yield", 0), ("submit", [1]), ("yield", 1)]


def test_workers_that_die_on_every_arch_stop_the_sweep_after_give_up_archs_in_a_row() -> None:
    pool = ScriptedPool(killers={i: -1 for i in range(10)})
    run = run_chunks(pool.submit, pool.restart, [[i] for i in range(10)], 1, 1, pool.dead)
    given_up = []
    message = (f"the scoring processes died on {GIVE_UP} archs in a row, each scored alone 2 times, and scored none: "
               "they cannot run here (try --workers 1, or workers=1 from Python, to see why; from a script of your "
               'own, call swapnas under `if __name__ == "__main__":`, since each worker process imports your script '
               "again). Nothing was stored for them")
    with pytest.raises(BrokenProcessPool, match=exact(message)) as info:
        for item, _ in run:
            given_up.append(item)
    assert GIVE_UP == 3 and given_up == []  # until session 54, 0 and 1 were given (stored) as failures
    assert str(info.value.__cause__) == DIED
    assert [e for e in pool.events if e[0] == "dead"] == [("dead", (0, 2, DIED)), ("dead", (1, 2, DIED))]


def test_a_run_whose_every_arch_died_below_give_up_gives_them_at_the_end() -> None:
    """Two archs, both killing their worker every time, and nothing else to score (a search cycle whose only new
    children are such archs, ``--retry-failed``, ``--archs 2``): fewer than GIVE_UP in a row, so each is given as
    dead at the end (a review of session 54: an end-of-run refusal left such a search stuck on that cycle; workers
    that cannot start at all are stopped before, by PoolExecutor._started)."""
    pool = ScriptedPool(killers={0: -1, 1: -1})
    assert pool.run([[0], [1]], retries=0) == [(0, "dead 0"), (1, "dead 1")]
    assert ScriptedPool(killers={0: -1}).run([[0]], retries=1) == [(0, "dead 0")]


def test_failures_held_in_a_streak_are_given_before_the_result_that_ends_it() -> None:
    pool = ScriptedPool(killers={0: -1, 1: -1})
    out = pool.run([[0], [1], [2], [3]], in_flight=1, retries=0)
    assert out == [(0, "dead 0"), (1, "dead 1"), (2, 20), (3, 30)]
    assert pool.events.index(("dead", (1, 1, DIED))) < pool.events.index(("yield", 0))  # held until 2 scored


def test_a_result_between_deaths_resets_the_count_of_archs_given_up_in_a_row() -> None:
    """Archs 0, 1, 3 and 4 always kill their worker; 2 and 5 score: never three deaths in a row, so no give-up."""
    pool = ScriptedPool(killers={0: -1, 1: -1, 3: -1, 4: -1})
    out = pool.run([[i] for i in range(6)], in_flight=1, retries=0)
    assert out == [(0, "dead 0"), (1, "dead 1"), (2, 20), (3, "dead 3"), (4, "dead 4"), (5, 50)]


def test_a_pool_broken_before_anything_was_sent_is_restarted_and_the_chunk_sent_again() -> None:
    pool = ScriptedPool()
    pool.broken = True  # e.g. broken by the last call's work
    assert pool.run([[1, 2]]) == [(1, 10), (2, 20)]
    assert pool.events == [("refused", [1, 2]), ("restart", None), ("submit", [1, 2]), ("yield", 1), ("yield", 2)]


def test_closing_the_generator_cancels_the_chunks_still_in_flight() -> None:
    """[0] is done; [1] and [2] never complete. Closing the generator after the first item cancels both."""
    pool = ScriptedPool(hold={1, 2})
    run = run_chunks(pool.submit, pool.restart, [[0], [1], [2]], 3, 1, pool.dead)
    assert next(run) == (0, 0)
    run.close()
    assert [f.cancelled() for f in pool.futures] == [False, True, True]
