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
                         env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert run.returncode == 1 and "finished" not in run.stdout
    last = run.stderr.strip().splitlines()[-1]
    assert last == ("concurrent.futures._base.BrokenExecutor: the scoring worker processes died as they started, "
                    "before scoring anything: if a script of yours calls swapnas at its top level, put that code "
                    'under `if __name__ == "__main__":` (each worker process imports the script again); else try '
                    "--workers 1 (workers=1 from Python) to see the error")
    # each worker's own traceback names the guard too, not OUT's lock
    assert "swapnas.search_arch was called while a spawned worker process imported your script again" in run.stderr
    assert "another swapnas search" not in run.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == [".lock"]  # no arch stored as failed: no store made
