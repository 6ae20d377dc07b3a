"""Session 63 audit of search resume under interrupts, worker processes and Ray: the scoring workers of a killed
search exit with it, and a resume refused for its score seed is not first announced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from swapnas.cli import main

from tests.conftest import SMALL_BUNDLE as BUNDLE


def _args(out: Path, *extra: str, workers: str = "1", cycles: str = "4") -> list[str]:
    # tests/test_faults_kill.py's small search: NB201, fitness swap on a C=4 network, a 3-arch second stage
    return ["search", "--space", "nb201", "--dataset", "cifar10", "--population", "6", "--cycles", cycles,
            "--sample", "3", "--mutations", "3", "--repeats", "1", "--net", "C=4", "--fitness", "swap",
            "--refine", "3", "--workers", workers, "--device", "cpu", "--no-progress", "--data-dir", str(BUNDLE),
            "--out", str(out), *extra]


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_exit_when_the_search_process_is_killed(tmp_path: Path) -> None:
    """Finding 1: `kill -9` of `swapnas search --workers 2` (the OOM killer, a scheduler's hard kill) leaves its two
    spawned scoring workers and multiprocessing's resource tracker running for good, reparented to init; they ignore
    SIGTERM (the pool sets SIG_IGN), so only a second kill -9 ends them. They should exit once their parent is gone."""
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "swapnas", *_args(out, workers="2", cycles="400")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    kids: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not (out / "state.json").is_file():  # the initial population is scored: the pool is up
            assert proc.poll() is None and time.monotonic() < deadline, "the search ended before its first save"
            time.sleep(0.05)
        kids = _children(proc.pid)
        assert len(kids) >= 2, kids  # two workers (and the resource tracker)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 20
        while any(_alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [k for k in kids if _alive(k)]
        assert not left, f"the killed search's worker processes {left} still run 20 s after it died"
    finally:
        for k in kids:  # never leave them behind
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_refused_resume_does_not_first_say_it_is_resuming(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Finding 2: a saved search rerun with another --score-seed (or --batch-size, --dataset, --max-params, --net,
    --repeats: every part of the fitness identity but the proxy and the space) prints "swapnas: resuming the search
    saved in OUT/state.json at cycle 2 of 4" and then refuses it ("holds a search with another fitness or
    constraints: ... --score-seed 0 (now 1)"). A refused search should not announce that it resumes."""
    out = tmp_path / "out"
    assert main(_args(out, "--max-evals", "6")) == 0  # the initial population only: a saved search to resume
    capsys.readouterr()
    assert main(_args(out, "--score-seed", "1")) != 0
    err = capsys.readouterr().err
    assert "--score-seed 0 (now 1)" in err
    assert "resuming the search" not in err, err
