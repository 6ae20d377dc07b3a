"""`swapnas grid`: `--proxies best` scores each space's own recommended fitness, and a shard counts its failures
(review findings, session 15; on best:
the grid resolved the names once, so `best` became one fitness, the DARTS one, on every benchmark)."""

from __future__ import annotations

import pytest
import torch

from swapnas import grid
from swapnas.session import best_for
from swapnas.store import ScoreStore


class _Stop(Exception):
    pass


@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_grid_best_is_each_spaces_fitness(data_dir, monkeypatch) -> None:
    seen: dict[str, list[str]] = {}
    real = grid.configure

    def spy(space, task, proxies, **kw):
        seen[space] = [p.name for p in real(space, task, proxies, **kw)[2]]
        raise _Stop  # the proxies are what this test is about: nothing is scored

    monkeypatch.setattr(grid, "configure", spy)
    for bench in ("nb201", "nb301"):
        with ScoreStore(":memory:") as store, pytest.raises(_Stop):
            grid.run_grid([(bench, "cifar10")], proxies="best,params", n_archs=2, seed=0, repeats=1, store=store,
                          device=torch.device("cpu"), data_dir=str(data_dir))
    # seen by the benchmarks' spaces: nb201, and darts for NB301
    assert best_for("nb201") != best_for("darts")
    assert best_for("nb201") in seen["nb201"] and best_for("darts") not in seen["nb201"]
    assert best_for("darts") in seen["darts"] and best_for("nb201") not in seen["darts"]
    assert "params" in seen["nb201"] and "params" in seen["darts"]


@pytest.mark.bundle  # the NB301 benchmark
def test_grid_shard_with_failed_scores_exits_3_and_counts_them(data_dir, tmp_path, capsys, scratch_registry) -> None:
    """Regression (review, session 15): a grid shard always exited 0, whatever failed."""
    from swapnas.cli import main
    from swapnas.cli.args import EXIT_FAILED_ARCHS
    from swapnas.proxies import register

    @register("grid_shard_fails_test", version="1")
    def fails(model, batch) -> float:
        raise RuntimeError("this proxy always fails")

    args = ["grid", "--benchmarks", "nb301", "--tasks", "cifar10", "--proxies", "params,grid_shard_fails_test",
            "--archs", "3", "--device", "cpu", "--no-progress", "--data-dir", str(data_dir),
            "--out", str(tmp_path), "--shard", "0/1"]
    assert main(args) == EXIT_FAILED_ARCHS
    assert "3 failed scores" in capsys.readouterr().out
    assert main([*args, "--allow-failures"]) == 0
