"""Session 66 audit of what the package says besides its results (each test failed on the code as found, 6ab5333):
a warning raised as an error (``-W error``, ``PYTHONWARNINGS``) was stored as a failed score, or ended the command in
a traceback with no JSON document; warnings and log lines said while a bar was drawn were glued to its line; the
grid's protocol warning named the library's line; ``-v`` said nothing more on a scoring command; ``run_train``
without ``lines`` logged no epoch; ``search_arch`` print()ed its resume note.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn as nn

import swapnas

from tests.conftest import _data_dir

DATA = str(_data_dir() or "")
SRC = str(Path(swapnas.__file__).resolve().parents[1])


def needs_data(test):
    """A test of the real bundle: marked ``bundle``, skipped without it."""
    return pytest.mark.bundle(pytest.mark.skipif(not DATA, reason="needs the data bundle")(test))

GENOTYPE = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), "
            "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])")


def _swapnas(*argv: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env.update({"OMP_NUM_THREADS": "1", "PYTHONPATH": SRC, "PYTHONUNBUFFERED": "1", **(env_extra or {})})
    return subprocess.run([sys.executable, "-m", "swapnas", *argv], capture_output=True, text=True, env=env,
                          timeout=300)


def _tiny_correlate(out: Path) -> list[str]:
    return ["correlate", "--archs", "3", "--repeats", "1", "--batch-size", "4", "--workers", "1", "--inputs",
            "synthetic", "--data-dir", DATA, "--out", str(out)]


def _saturating_convs(widths=(32, 48, 64, 96, 128)) -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {f"w{c}": nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(c * 4, 3))
            for c in widths}


# ---------------------------------------------------------------------------------------------------- finding 1
@needs_data
def test_a_warning_escalated_to_an_error_is_not_stored_as_a_failed_score(tmp_path):
    """PYTHONWARNINGS=error (CI, pytest's filterwarnings=error) turned the first saturated arch's SWAP score into a
    *stored* failure ("SaturationWarning: …"), the others (whose warning is suppressed as a repeat) scored: a rerun
    without the setting reuses the failure and exits 3."""
    out = tmp_path / "o"
    _swapnas(*_tiny_correlate(out), "--no-progress", env_extra={"PYTHONWARNINGS": "error::UserWarning"})
    again = _swapnas(*_tiny_correlate(out), "--no-progress", "--json")
    doc = json.loads(again.stdout)
    failed = {r["proxy"]: r["failures"] for r in doc["results"]}
    assert again.returncode == 0 and failed == {"swap": 0, "swap_reg": 0, "params": 0}, (again.returncode, failed)


@needs_data
def test_a_warning_escalated_to_an_error_in_the_driver_is_an_error_document_not_a_traceback(tmp_path):
    """The grid's protocol warning (a UserWarning in the main process) under PYTHONWARNINGS=error: traceback, exit 1,
    stdout empty under --json (its contract: one document, an error as {"error", "exit"})."""
    r = _swapnas("--json", "grid", "--benchmarks", "nb201", "--tasks", "cifar10", "--proxies", "best,params",
                 "--archs", "3", "--repeats", "1", "--workers", "1", "--data-dir", DATA, "--out", str(tmp_path / "g"),
                 env_extra={"PYTHONWARNINGS": "error::UserWarning"})
    assert "Traceback" not in r.stderr
    assert r.returncode in (0, 2)
    json.loads(r.stdout)


# ---------------------------------------------------------------------------------------------------- finding 3
@needs_data
def test_a_warning_said_while_a_bar_is_drawn_starts_a_line_of_its_own(tmp_path):
    """The first SaturationWarning (and any log line said while scoring) is written right after the bar's text:
    'nb201/cifar10:   0%|          | 0/3 [00:00<?, ?arch/s]swapnas: warning: …' (in a log and on a terminal);
    train's lines go through the bar's write (session 53), the scoring's do not."""
    r = _swapnas(*_tiny_correlate(tmp_path / "o"))  # progress bar on (stderr is a pipe: drawn every 30 s)
    assert "swapnas: warning: SaturationWarning" in r.stderr
    glued = [m.start() for m in re.finditer(r"swapnas: warning:|WARNING swapnas\.", r.stderr)
             if m.start() > 0 and r.stderr[m.start() - 1] not in "\n"]
    assert not glued, r.stderr[:300]


# ---------------------------------------------------------------------------------------------------- finding 4
@needs_data
def test_the_grids_protocol_warning_points_at_the_callers_line():
    """grid.py's warning used stacklevel=2: from run_grid it named swapnas/grid.py (the call in _prepared), where
    every other warning of the package names the user's line (callers.user_stacklevel)."""
    from swapnas.grid import run_grid
    from swapnas.store import ScoreStore

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        run_grid([("nb201", "cifar10")], proxies="best,params", n_archs=3, seed=0, repeats=1,
                 store=ScoreStore(":memory:"), device=torch.device("cpu"), data_dir=DATA, shard=(1, 1000),
                 progress=False)
    grid_w = [w for w in seen if "grid: on nb201" in str(w.message)]
    assert grid_w and all(w.filename == __file__ for w in grid_w), [(w.filename, w.lineno) for w in grid_w]


# ---------------------------------------------------------------------------------------------------- finding 5
@needs_data
def test_verbose_gives_swapnas_debug_lines_on_a_scoring_command(tmp_path):
    """-v/--verbose is "debug logging", but the package has one log.debug call (the open-file limit) and a few
    INFO lines: `swapnas -v correlate …` prints exactly what the run without -v prints."""
    r = _swapnas("-v", *_tiny_correlate(tmp_path / "o"), "--no-progress")
    assert r.returncode == 0
    assert re.search(r"^(DEBUG|INFO) swapnas\.", r.stderr, re.M), r.stderr[:500]


# ---------------------------------------------------------------------------------------------------- finding 6
def test_run_train_without_lines_logs_its_epoch_lines_at_info(tmp_path, caplog):
    """run_train's docstring: ``lines``: "the resume note and one summary line per epoch on stderr (None: as
    ``progress``; else they go to ``log.info``)". With lines=False the epoch lines go nowhere (only the resume note is
    logged), so `swapnas -q -v train` and a Python caller logging at INFO see no epoch at all."""
    from swapnas.train.run import run_train

    caplog.set_level(logging.INFO, logger="swapnas")
    run_train(GENOTYPE, out=tmp_path / "t", synthetic=8, device="cpu", progress=False, lines=False, max_steps=1,
              workers=0, epochs=1, batch_size=4, C=4, layers=2)
    assert any(re.match(r"epoch 1/1", r.getMessage()) for r in caplog.records if r.name.startswith("swapnas")), \
        [r.getMessage() for r in caplog.records]


# ---------------------------------------------------------------------------------------------------- finding 7
@needs_data
def test_search_arch_says_its_notes_through_logging_not_print(tmp_path, capsys):
    """search_arch (the Python API) print()s "swapnas: resuming the search saved in …" to stderr (the command's
    line), beside log records for its other notes: a caller who routes or silences swapnas's logging still gets
    it."""
    opts = dict(population=4, sample=2, max_evals=4, batch_size=4, refine=0, workers=1, data_dir=DATA,
                no_progress=True)
    swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", **opts)
    capsys.readouterr()
    logging.getLogger("swapnas").addHandler(h := logging.NullHandler())  # the caller routes swapnas's records away
    try:
        swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", **opts)  # resumes: the resume note
    finally:
        logging.getLogger("swapnas").removeHandler(h)
    assert capsys.readouterr().err == ""


def test_a_scoring_workers_warning_starts_a_line_of_its_own(monkeypatch, capsys):
    """A pool worker cannot clear the driver's bar: its warning starts with a new line; the driver's own is said
    through the bars (no new line of its own: they are cleared first)."""
    import multiprocessing

    from swapnas.callers import brief_warning

    brief_warning(swapnas.SaturationWarning("at the ceiling"), swapnas.SaturationWarning, "x.py", 1)
    assert capsys.readouterr().err == "swapnas: warning: SaturationWarning: at the ceiling\n"
    monkeypatch.setattr(multiprocessing, "parent_process", lambda: object())
    brief_warning(swapnas.SaturationWarning("at the ceiling"), swapnas.SaturationWarning, "x.py", 1)
    assert capsys.readouterr().err == "\nswapnas: warning: SaturationWarning: at the ceiling\n"


def test_rank_warns_of_saturation_once_per_proxy_and_call_not_once_per_model():
    """rank over N saturated models gave N SaturationWarnings (their messages differ by the neuron count, so Python's
    default filter showed every one); correlate and search give one per proxy and protocol, score one per call. A
    later rank call warns again, and score outside a rank as before."""
    x, y = torch.randn(4, 3, 2, 2, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 0])
    for _ in range(2):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("default")
            swapnas.rank(_saturating_convs(), (x, y), proxies=("swap",))
        sat = [str(w.message) for w in seen if issubclass(w.category, swapnas.SaturationWarning)]
        assert len(sat) == 1 and sat[0].endswith("[later models of this rank are not warned about]"), sat
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        swapnas.score(_saturating_convs()["w32"], x, "swap")
    assert [w.category for w in seen] == [swapnas.SaturationWarning] and "[later" not in str(seen[0].message)
