"""``swapnas grid --proxies best`` scores each space's own recommended fitness (review finding, session 15:
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
