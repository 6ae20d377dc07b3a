"""Faults: ``kill -9`` at random points, then the same command again, ends where an uninterrupted run ends.

For ``correlate`` (NB301 on the small bundle, all 30 archs, swap + params), ``grid`` (two small columns)
and ``search`` (NB201, population 6, 4 cycles, fitness swap, a 3-arch second stage): the real command
runs as a subprocess (``python -m swapnas …``) and gets SIGKILL after a seeded random delay or once its
store holds a seeded random number of rows (the store is polled); the same command is then run to
completion (in this process, through ``swapnas.cli.main``) and its store rows and outputs must equal those of an
uninterrupted run: every score, ρ and CI; for search the best arch, its fitness, the refined shortlist
and the whole evaluation history. Also: two ``correlate`` runs at once on one store, and NaN inputs.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import swapnas
from swapnas.cli import main
from swapnas.data import load_batch

pytestmark = pytest.mark.slow  # runs and kills subprocesses

#: store columns that are the same in any run (timings, device and time of writing are not)
SCORE_COLUMNS = "space, arch, proxy, protocol, seed, batch_size, repeats, net, status, value, std, values_json"
#: output fields that measure time, name the run or count what a resumed run reused
VOLATILE = {"provenance", "wall_seconds", "seconds_per_arch", "created_utc", "command", "reused_archs",
            "partly_reused_archs"}
#: seeded kill points: (kind, value); "delay" in seconds after the start, "rows" stored before the kill
RNG = random.Random(20_240_607)
CORRELATE_ROWS = 60  # 30 archs x 2 proxies
GRID_ROWS = 48  # 2 columns x 12 archs x 2 proxies
SEARCH_ROWS = 21  # 6 + 4 x 3 archs of the first stage, 3 re-scored by the second (rows 19-21)


def correlate_args(data: Path, out: Path, store: Path | None = None) -> list[str]:
    args = ["correlate", "--space", "nb301", "--proxies", "swap,params", "--archs", "all", "--batch-size", "16",
            "--workers", "1", "--device", "cpu", "--no-progress", "-q", "--data-dir", str(data), "--out", str(out)]
    return args + (["--store", str(store)] if store else [])


def grid_args(data: Path, out: Path) -> list[str]:
    return ["grid", "--benchmarks", "nb301,darts_swap", "--proxies", "swap,params", "--archs", "12", "--workers", "1",
            "--device", "cpu", "--no-progress", "-q", "--data-dir", str(data), "--out", str(out),
            "--store", str(out / "grid.sqlite")]


def search_args(data: Path, out: Path) -> list[str]:
    # fitness swap (one row per arch) with a 3-arch second stage: the kill/resume path is the same for every
    # fitness, and `best` (several proxies and backward passes per arch, a 15-arch second stage) cost ~60 s of CI
    return ["search", "--space", "nb201", "--dataset", "cifar10", "--population", "6", "--cycles", "4", "--sample",
            "3", "--mutations", "3", "--repeats", "1", "--net", "C=4", "--fitness", "swap", "--refine", "3",
            "--workers", "1", "--device", "cpu", "--no-progress", "-q", "--data-dir", str(data), "--out", str(out)]


# ----------------------------------------------------------------------------- helpers


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "SWAPNAS_WORKERS": "1"}


def stored_rows(store: Path) -> int:
    """Rows in ``store`` now (0 while it or its table does not exist yet); never writes or blocks the writer."""
    if not store.is_file():
        return 0
    try:
        db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1)
        try:
            return int(db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _due(store: Path, rows: int | None, delay: float | None, opened: list[float]) -> bool:
    if rows is not None:
        return stored_rows(store) >= rows
    if not opened and store.is_file():
        opened.append(time.monotonic())
    return bool(opened) and time.monotonic() - opened[0] >= delay


def kill_run(args: list[str], store: Path, *, rows: int | None = None, delay: float | None = None) -> int:
    """Start ``python -m swapnas ARGS`` and SIGKILL it once ``store`` holds ``rows`` rows, or ``delay`` seconds
    after the store file appeared (so the startup's speed does not matter); returns the rows stored at the
    kill. Fails if the run ends before it could be killed."""
    proc = subprocess.Popen([sys.executable, "-m", "swapnas", *args], env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    start, opened = time.monotonic(), []
    try:
        while proc.poll() is None and time.monotonic() - start < 120:
            if _due(store, rows, delay, opened):
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    assert code == -signal.SIGKILL, f"the run ended (exit {code}) before it could be killed: {err[-2000:]}"
    return stored_rows(store)


def scores(store: Path) -> list[tuple]:
    """Every stored score without its timing columns, in a fixed order."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return db.execute(f"SELECT {SCORE_COLUMNS} FROM scores ORDER BY {SCORE_COLUMNS}").fetchall()
    finally:
        db.close()


def written(store: Path) -> set[tuple]:
    """(arch, proxy, protocol, repeats, time of writing) of every stored row: a row rescored gets a new time."""
    if not store.is_file():
        return set()
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return set(db.execute("SELECT arch, proxy, protocol, repeats, created FROM scores"))
    finally:
        db.close()


def stable(doc: object) -> str:
    """``doc`` as canonical JSON without the fields that measure time or name the run (NaN as NaN)."""
    def strip(v: object) -> object:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k not in VOLATILE}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v
    return json.dumps(strip(doc), sort_keys=True)


def outputs(out: Path, names: tuple[str, ...]) -> dict[str, str]:
    return {n: stable(json.loads((out / n).read_text())) for n in names}


def run_to_completion(args: list[str]) -> None:
    assert main(args) == 0


@pytest.fixture(scope="module")
def reference(small_bundle: Path, tmp_path_factory: pytest.TempPathFactory, one_torch_thread) -> dict:
    """Uninterrupted runs of the three commands (in this process): store rows and outputs."""
    ref: dict = {}
    for name, make, files in (("correlate", correlate_args, ("results.json",)), ("grid", grid_args, ("grid.json",)),
                              ("search", search_args, ("result.json",))):
        out = tmp_path_factory.mktemp(f"ref_{name}")
        run_to_completion(make(small_bundle, out))
        store = out / ("grid.sqlite" if name == "grid" else "scores.sqlite")
        ref[name] = {"scores": scores(store), "outputs": outputs(out, files), "out": out}
    ref["correlate"]["csv"] = (ref["correlate"]["out"] / "results.csv").read_text()
    return ref


# ----------------------------------------------------------------------------- kill and resume


def _points(total: int) -> list[tuple[str, float]]:
    """Three seeded kill points: a delay after the store appeared (scoring takes ~4 s here), some rows, and
    every row (the kill then lands while the outputs are computed and written)."""
    return [("delay", round(RNG.uniform(0.2, 1.5), 2)), ("rows", RNG.randint(2, total - 10)), ("rows", total)]


@pytest.mark.parametrize(("kind", "at"), _points(CORRELATE_ROWS), ids=["delay", "rows", "all-rows"])
def test_killed_correlate_resumes_to_the_same_scores(kind: str, at: float, reference: dict, small_bundle: Path,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = correlate_args(small_bundle, out)
    killed_at = kill_run(args, out / "scores.sqlite", **{kind: at})
    assert killed_at <= CORRELATE_ROWS
    before = written(out / "scores.sqlite")
    run_to_completion(args)
    assert before <= written(out / "scores.sqlite")  # every score stored before the kill kept, none rescored
    assert scores(out / "scores.sqlite") == reference["correlate"]["scores"]
    assert outputs(out, ("results.json",)) == reference["correlate"]["outputs"]
    assert (out / "results.csv").read_text() == reference["correlate"]["csv"]


def kill_and_resume(args: list[str], store: Path, rows: int) -> None:
    """Kill the run once ``store`` holds ``rows`` rows, run the same command to completion, and check that
    every row stored before the kill is still there (none lost or rescored)."""
    kill_run(args, store, rows=rows)
    before = written(store)
    run_to_completion(args)
    assert before and before <= written(store)


@pytest.mark.parametrize("rows", [RNG.randint(2, 22), RNG.randint(26, GRID_ROWS - 2)], ids=["column-1", "column-2"])
def test_killed_grid_resumes_to_the_same_grid(rows: int, reference: dict, small_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    kill_and_resume(grid_args(small_bundle, out), out / "grid.sqlite", rows)
    assert scores(out / "grid.sqlite") == reference["grid"]["scores"]
    assert outputs(out, ("grid.json",)) == reference["grid"]["outputs"]


@pytest.mark.parametrize("rows", [RNG.randint(2, 5), RNG.randint(8, SEARCH_ROWS - 3)], ids=["population", "cycles"])
def test_killed_search_resumes_to_the_same_result(rows: int, reference: dict, small_bundle: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert len(reference["search"]["scores"]) == SEARCH_ROWS  # the kill points above fall inside the run
    kill_and_resume(search_args(small_bundle, out), out / "scores.sqlite", rows)
    done, ref = json.loads((out / "result.json").read_text()), json.loads(reference["search"]["outputs"]["result.json"])
    for key in ("best", "fitness", "history", "evaluations", "cycles", "refine", "snapshots"):
        assert done[key] == ref[key], key
    assert scores(out / "scores.sqlite") == reference["search"]["scores"]


def test_two_correlates_at_once_on_one_store(reference: dict, small_bundle: Path, tmp_path: Path) -> None:
    store = tmp_path / "shared.sqlite"
    procs = [subprocess.Popen([sys.executable, "-m", "swapnas", *correlate_args(small_bundle, tmp_path / f"out{i}", store)],
                              env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode(errors="replace")[-2000:]
    assert scores(store) == reference["correlate"]["scores"]
    for i in range(2):
        assert outputs(tmp_path / f"out{i}", ("results.json",)) == reference["correlate"]["outputs"]


# ----------------------------------------------------------------------------- NaN inputs


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))


def test_api_batch_with_nan_is_refused() -> None:
    x = torch.randn(16, 3, 8, 8)
    x[3, 1, 2, 2] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        swapnas.score(_net(), x, ["swap"])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, torch.zeros(16, dtype=torch.long)),
                                         batch_size=16)
    with pytest.raises(ValueError, match="non-finite"):
        swapnas.score(_net(), loader, ["swap"])


def _cifar_pickle(root: Path, data: np.ndarray) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": data, "labels": [i % 10 for i in range(len(data))]}, f)
    return root


def test_image_folder_with_nan_normalisation_is_refused(small_bundle: Path, tmp_path: Path) -> None:
    root = _cifar_pickle(tmp_path / "imgs", np.random.default_rng(0).integers(0, 255, (20, 3072), dtype=np.uint8))
    with pytest.raises(ValueError, match="finite"):
        load_batch("cifar10", 8, image_root=root, mean=(float("nan"), 0.5, 0.5))
    for flag, value in (("--std", "0,0,0"), ("--mean", "nan,0.5,0.5")):  # refused by load_batch / by argparse
        args = correlate_args(small_bundle, tmp_path / "out") + ["--image-root", str(root), flag, value]
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code
        assert code == 2 and not (tmp_path / "out" / "results.json").exists()


def test_image_folder_with_nan_pixels_is_refused(tmp_path: Path) -> None:
    data = np.random.default_rng(0).integers(0, 255, (20, 3072)).astype(np.float32)
    data[:, 5] = np.nan
    root = _cifar_pickle(tmp_path / "imgs", data)
    with pytest.raises(ValueError, match="test_batch"):
        load_batch("cifar10", 8, image_root=root)
