"""Helpers shared by the tests of interrupted and concurrent runs: a signal sent from inside a training step,
and another process, or another thread, holding an OUT folder's lock."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

#: a process that takes ``sys.argv[1]``'s flock as `out_lock` does (its pid in the file), says "held", then waits
HOLD_LOCK = textwrap.dedent("""
    import fcntl, os, sys, time
    f = open(sys.argv[1], "a+")
    fcntl.flock(f, fcntl.LOCK_EX)
    f.truncate(0); f.write(str(os.getpid())); f.flush()
    print("held", flush=True)
    time.sleep(120)
""")


def signal_after(step: Callable, n: int, signum: int) -> Callable:
    """``step`` that sends this process ``signum`` just after its ``n``-th call returns (after the SGD step)."""
    calls = []

    def signalled(*a, **k):
        result = step(*a, **k)
        calls.append(1)
        if len(calls) == n:
            os.kill(os.getpid(), signum)
        return result

    return signalled


@contextmanager
def lock_holder(lock: Path, timeout: float = 30.0) -> Iterator[subprocess.Popen]:
    """Another process holding ``lock`` while the block runs (killed after it); a holder that has not taken
    the lock within ``timeout`` seconds fails the test instead of hanging it."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        ready, _, _ = select.select([holder.stdout], [], [], timeout)
        assert ready, f"the lock holder did not take {lock} within {timeout:.0f} s"
        assert holder.stdout.readline().strip() == "held", f"the lock holder failed (exit {holder.poll()})"
        yield holder
    finally:
        holder.kill()
        holder.wait()


@contextmanager
def lock_in_thread(out: Path, what: str = "search", twice: bool = False) -> Iterator[None]:
    """``out_lock(out, what)`` held by another thread of this process while the block runs (``twice``: that thread
    takes it again inside, as the lock is re-entrant in its own thread)."""
    from swapnas.files import out_lock

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with out_lock(out, what), (out_lock(out, what) if twice else nullcontext()):
            held.set()
            release.wait(10)
    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join()
