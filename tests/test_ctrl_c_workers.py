"""Ctrl-C during ``correlate --workers 2``: the terminal's SIGINT reaches the whole process group; the run
stops with exit 130 and its one message, no worker prints a traceback, and every stored score is kept. A
scheduler's SIGTERM to the group (SLURM) ends it the same way (session 17; it exited 143 with leaked
semaphores).

Before session 16 each worker died of the SIGINT and printed its own KeyboardInterrupt traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_faults_kill import stored_rows as _rows

pytestmark = pytest.mark.slow  # starts a run with two worker processes


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_with_workers_stops_cleanly_and_keeps_the_scores(stop: int, small_bundle: Path, tmp_path: Path) -> None:
    store = tmp_path / "scores.sqlite"
    args = ["correlate", "--space", "nb301", "--proxies", "swap,params", "--archs", "all", "--batch-size", "16",
            "--workers", "2", "--device", "cpu", "--no-progress", "-q", "--data-dir", str(small_bundle),
            "--out", str(tmp_path / "run"), "--store", str(store)]
    # the run starts with SIGINT's default action even where this test's process ignores it (a shell starts
    # background jobs with SIGINT ignored, and Python keeps that): a terminal's Ctrl-C reaches it
    proc = subprocess.Popen([sys.executable, "-m", "swapnas", *args], env={**os.environ, "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        start = time.monotonic()
        while proc.poll() is None and _rows(store) < 4 and time.monotonic() - start < 120:
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        os.killpg(proc.pid, stop)  # what Ctrl-C in a terminal (or a scheduler's stop) does: driver and workers
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    assert code == 130, err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
    assert "interrupted; every finished score is in the store" in err
    assert _rows(store) >= 4
