"""A user's script that calls ``swapnas.search_arch`` at its top level, without ``if __name__ == "__main__":``.
Each spawned scoring worker imports the script again, so each would start a search of its own. Until session 54 the
workers met OUT's lock ("another swapnas search is using …", naming the user's own process) or Python's
bootstrapping error, the pool was retried for about a minute with 16 tracebacks, two archs were stored as failed, and
the last message never named the guard."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

#: the scripts' environment: this checkout's code first (a copy of the repository tests its own, not the installed one)
_ENV = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}

SCRIPT = """\
import swapnas

swapnas.search_arch("nb201", "cifar10", out={out!r}, data_dir={data!r}, workers=2, population=3, sample=2,
                    cycles=1, fitness="params", device="cpu", no_progress=True)
print("finished")
"""


@pytest.mark.slow
def test_a_script_without_its_main_guard_stops_at_once_naming_the_guard(small_bundle: Path, tmp_path: Path) -> None:
    script = tmp_path / "my_search.py"
    script.write_text(SCRIPT.format(out=str(tmp_path / "out"), data=str(small_bundle)), encoding="utf-8")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**_ENV, "HOME": str(tmp_path)})
    assert run.returncode == 1 and "finished" not in run.stdout
    last = run.stderr.strip().splitlines()[-1]
    assert last == ("concurrent.futures._base.BrokenExecutor: the scoring worker processes died as they started, "
                    "before scoring anything: if a script of yours calls swapnas at its top level, put that code "
                    'under `if __name__ == "__main__":` (each worker process imports the script again); else try '
                    "--workers 1 (workers=1 from Python) to see the error")
    # each worker's own traceback names the guard too, not OUT's lock
    assert "swapnas.search_arch was called while a spawned worker process imported your script again" in run.stderr
    assert "another swapnas search" not in run.stderr
    assert not (tmp_path / "out").exists()  # no arch stored as failed: no store made (and no OUT: session 61)


RECOVERING = """\
import os
import sys

if __name__ == "__mp_main__" and os.environ.get("DIE_ON_IMPORT"):
    raise SystemExit(3)  # a worker that cannot start: a cause that goes away before the second call
sys.path.insert(0, {root!r})
from concurrent.futures import BrokenExecutor

import torch

from swapnas.executors import PoolExecutor
from swapnas.session import score_archs
from swapnas.store import ScoreStore
from tests.tiny_tasks import tiny_nb201_task

if __name__ == "__main__":
    protocol, batch, proxies, archs = tiny_nb201_task("params", batch_size=8, repeats=1, n_archs=3, seed=3)
    with ScoreStore(":memory:") as store, PoolExecutor(2) as pool:
        for call in (1, 2):
            if call == 2:
                os.environ.pop("DIE_ON_IMPORT")
            try:
                done = score_archs(archs, "nb201", proxies, protocol, batch, store, torch.device("cpu"),
                                   progress=False, executor=pool)
                print(call, [r.status for r in done["params"]], store.count())
            except BrokenExecutor as exc:
                print(call, type(exc).__name__, store.count())
"""


@pytest.mark.slow
def test_an_executor_whose_workers_could_not_start_works_once_they_can(tmp_path: Path) -> None:
    """The review of session 54: the first pool's failed start was kept, so every later call of the same executor
    was refused, the cause gone or not."""
    script = tmp_path / "recovering.py"
    script.write_text(RECOVERING.format(root=str(Path(__file__).resolve().parents[1])), encoding="utf-8")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**_ENV, "HOME": str(tmp_path),
                              "DIE_ON_IMPORT": "1"})
    assert run.stdout.splitlines() == ["1 BrokenExecutor 0", "2 ['ok', 'ok', 'ok'] 3"], run.stderr[-2000:]


@pytest.mark.slow
def test_a_script_read_from_standard_input_is_told_to_be_saved_to_a_file(small_bundle: Path, tmp_path: Path) -> None:
    """A notebook user's session 55: `python - < script.py` (guarded) with two workers: spawn looks for a file named
    '<stdin>', every worker died, and the message asked for the `__main__` guard the script had."""
    guarded = "if __name__ == '__main__':\n" + "".join(f"    {line}\n" for line in SCRIPT.format(
        out=str(tmp_path / "out"), data=str(small_bundle)).splitlines())
    run = subprocess.run([sys.executable, "-"], input=guarded, capture_output=True, text=True, timeout=300,
                         cwd=tmp_path, env={**_ENV, "HOME": str(tmp_path)})
    assert run.returncode == 1 and "finished" not in run.stdout
    assert run.stderr.strip().splitlines()[-1] == (
        "concurrent.futures._base.BrokenExecutor: the scoring worker processes died as they started, before scoring "
        "anything: your script is read from <stdin>, which the spawned worker processes cannot import again: save it "
        "to a file and run that, or use --workers 1 (workers=1 from Python)")
