"""``scripts/mutation_batch.py``: each mutant's verdict, and a mutant that runs past ``MUTATION_TIMEOUT`` stopped and
reported as a kill by timeout (session 48), on stand-in mutants that a test file reads from ``MUTANT_UNDER_TEST``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "mutation_batch.py"

STAND_IN = '''
import os
import time


def test_the_code():
    mutant = os.environ["MUTANT_UNDER_TEST"]
    if mutant == "loops":
        while True:
            time.sleep(0.05)
    assert mutant != "breaks"
'''


def _run(tmp_path: Path, names: list[str], **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_stand_in.py").write_text(STAND_IN)
    (tmp_path / "names.txt").write_text("\n".join(names) + "\n")
    return subprocess.run([sys.executable, str(SCRIPT), "names.txt", "test_stand_in.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_each_verdict_and_a_mutant_stopped_by_its_time_limit(tmp_path: Path) -> None:
    done = _run(tmp_path, ["breaks", "loops", "harmless"], MUTATION_TIMEOUT="2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["killed breaks", "killed loops (timeout)", "survived harmless"]


def test_tests_that_fail_without_a_mutant_stop_the_run(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text("def pytest_collection_modifyitems(items):\n    raise SystemExit(3)\n")
    done = _run(tmp_path, ["harmless"])
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == "the tests fail with no mutant active: fix them first"


def test_the_usage_is_named(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "names.txt"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == "usage: mutation_batch.py LIST TESTS... (run in the clone's mutants/ folder)"
