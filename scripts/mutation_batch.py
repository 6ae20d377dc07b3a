"""Judge many mutants of a mutation clone in one Python process (session 46, cli/parsers): for each mutant name in
LIST, ``pytest.main`` runs the given tests with ``MUTANT_UNDER_TEST`` set to it (mutmut's trampolines read the variable
at every call), and one line says ``killed NAME`` or ``survived NAME``. A run with no mutant comes first and must pass.

Only for code that the tests call afresh (a parser built in every test): a module-level value computed once, or a
cached function, keeps its first, unmutated value in this process; judge those in fresh processes
(scripts/mutation_check.sh's header). Re-judge a sample of the kills in fresh processes too.

    cd /tmp/swapnas_mutation/mutants
    PYTHONPATH=src OMP_NUM_THREADS=1 python /path/to/scripts/mutation_batch.py LIST tests/test_x.py [-k EXPR]

Two such processes side by side (each on half of the list, ``split -n l/2``) need a ``--basetemp=DIR`` each among the
test arguments (pytest would otherwise number, and clean up, one shared temporary folder). A process started in the
background (``&``) ignores SIGINT: a test that sends itself Ctrl-C must install Python's handler first (session 47's
``tests/test_train_loop_mutants.py`` does, in a fixture), or the run with no mutant already fails.

A mutant that runs longer than ``MUTATION_TIMEOUT`` seconds (default 120; session 48: a loop condition's ``and`` made
``or`` never ended) is stopped by SIGALRM, which fails the running test, and is reported ``killed NAME (timeout)``,
as mutmut counts a timeout.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
from types import FrameType

import pytest


class _TooLong(Exception):
    """Raised in the running test when the mutant's time is up."""


def judge(mutant: str, args: list[str]) -> tuple[bool, bool]:
    """(survived, timed out): survived when the tests pass with ``mutant`` active."""
    os.environ["MUTANT_UNDER_TEST"] = mutant
    out = io.StringIO()
    seconds = int(os.environ.get("MUTATION_TIMEOUT", "120"))
    fired: list[int] = []

    def too_long(signum: int, frame: FrameType | None) -> None:
        fired.append(signum)
        raise _TooLong(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(seconds)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            passed = pytest.main(["-x", "-q", "--tb=no", "-p", "no:cacheprovider", *args]) == 0
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return passed and not fired, bool(fired)


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit("usage: mutation_batch.py LIST TESTS... (run in the clone's mutants/ folder)")
    names = [line.strip() for line in open(sys.argv[1]) if line.strip()]
    if not judge("none", sys.argv[2:])[0]:
        raise SystemExit("the tests fail with no mutant active: fix them first")
    for name in names:
        survived, timed_out = judge(name, sys.argv[2:])
        print(("survived " if survived else "killed ") + name + (" (timeout)" if timed_out else ""), flush=True)


if __name__ == "__main__":
    main()
