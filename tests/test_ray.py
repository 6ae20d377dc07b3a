"""The Ray executor: same scores as a local run, one store writer, a killed worker's arch retried.

Starts one real local Ray instance (2 CPUs) for the module. Skipped where Ray is not installed
(``pip install 'ray>=2.9'``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import random
import sqlite3
import sys
from pathlib import Path

import pytest
import torch

ray = pytest.importorskip("ray")

from swapnas.cli import main  # noqa: E402
from swapnas.executors import Executor, RayExecutor  # noqa: E402
from swapnas.proxies import get_proxy  # noqa: E402
from swapnas.session import configure, score_archs  # noqa: E402
from swapnas.spaces import nb201  # noqa: E402
from swapnas.store import ScoreStore  # noqa: E402

pytestmark = pytest.mark.slow  # every test here starts Ray

N_ARCHS = 60  # 200 took ~40 s of CI (local + Ray); 60 still spread over both workers, in order
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def ray_cluster():
    # workers unpickle this module's functions by value: they need not import the tests package
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    # address="local": a Ray instance of its own, never one an earlier test's killed driver left running (session 64:
    # a cluster that outlived a `kill -9` made ray.init join it, which refuses num_cpus: five errors in CI)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def setup():
    """A tiny NB201 protocol (C=4, N=1, S=8 synthetic inputs, R=1) and N_ARCHS distinct archs."""
    protocol, batch, proxies = configure("nb201", "cifar10", "swap,swap_reg,params", batch_size=8, repeats=1,
                                         net={"C": 4, "N": 1}, inputs="synthetic")
    archs = random.Random(0).sample(list(nb201.all_archs()), N_ARCHS)
    return protocol, batch, proxies, archs


def _rows(path: Path) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT arch, proxy, protocol, status, value, std, values_json FROM scores "
                          "ORDER BY arch, proxy").fetchall()
    finally:
        db.close()


@pytest.fixture(scope="module")
def local(setup, tmp_path_factory):
    """The local run (one torch thread, like a Ray CPU task): its records and its store file."""
    protocol, batch, proxies, archs = setup
    path = tmp_path_factory.mktemp("local") / "local.sqlite"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ScoreStore(path) as store:
            recs = score_archs(archs, "nb201", proxies, protocol, batch, store, CPU, progress=False)
    finally:
        torch.set_num_threads(threads)
    return recs, path


def test_ray_scores_equal_local_scores(ray_cluster, setup, local, tmp_path) -> None:
    protocol, batch, proxies, archs = setup
    local_recs, local_path = local
    path = tmp_path / "ray.sqlite"
    with RayExecutor() as ex, ScoreStore(path) as store:
        recs = score_archs(archs, "nb201", proxies, protocol, batch, store, CPU, progress=False, executor=ex)
        assert store.count() == 3 * N_ARCHS
    assert ray.is_initialized()  # an instance it did not start is left running
    assert list(recs) == list(local_recs) and set(recs) == {"swap", "swap_reg", "params"}
    for name in recs:  # same values, in the order of `archs`, exactly
        assert [r.values for r in recs[name]] == [r.values for r in local_recs[name]]
        assert [r.value for r in recs[name]] == [r.value for r in local_recs[name]]
        assert all(r.ok for r in recs[name])
    assert _rows(path) == _rows(local_path)
    assert len({r[0] for r in _rows(path)}) == N_ARCHS

    # a rerun sends nothing to the workers: every record comes from the store
    with ScoreStore(path) as store:
        again = score_archs(archs, "nb201", proxies, protocol, batch, store, CPU, progress=False,
                            executor=_NoWork())
    assert again == recs


class _NoWork(Executor):
    """Fails if it is asked to score anything."""

    def score(self, task, device, items):
        assert not items, f"{len(items)} stored archs were sent to the workers"
        yield from ()


def _fingerprint(model: torch.nn.Module) -> str:
    return hashlib.sha256(repr(model).encode()).hexdigest()[:16]


def _swap_or_die(model, batch, *, swap_fn, marker_dir: str, targets: frozenset, **options):
    """``swap``, except that the worker process dies the first time it meets a target arch."""
    fp = _fingerprint(model)
    marker = Path(marker_dir, fp)
    if fp in targets and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    return swap_fn(model, batch, **options)


def test_killed_worker_loses_only_its_arch_which_is_retried(ray_cluster, setup, local, tmp_path) -> None:
    protocol, batch, proxies, archs = setup
    archs = archs[:40]  # two thirds of the sweep is enough here (and keeps the module fast)
    _, local_path = local
    targets = [archs[3], archs[32]]
    fps = frozenset(_fingerprint(nb201.build(a, num_classes=batch.num_classes, **protocol.net)) for a in targets)
    assert len(fps) == 2
    swap = get_proxy("swap")
    dying = dataclasses.replace(swap, fn=functools.partial(_swap_or_die, swap_fn=swap.fn, marker_dir=str(tmp_path),
                                                           targets=fps))
    assert dying.key == swap.key  # same store key: the stores are comparable row for row
    wrapped = [dying if p.name == "swap" else p for p in proxies]
    path = tmp_path / "ray_crash.sqlite"
    with RayExecutor(max_retries=2) as ex, ScoreStore(path) as store:
        recs = score_archs(archs, "nb201", wrapped, protocol, batch, store, CPU, progress=False, executor=ex)
    # both workers died (a marker holds the pid of each), their archs were scored on a retry
    pids = {Path(tmp_path, fp).read_text() for fp in fps}
    assert len(pids) == 2 and all(p.isdigit() for p in pids)
    assert all(r.ok for rs in recs.values() for r in rs)
    rows = _rows(path)
    assert len(rows) == 3 * len(archs) and len({(r[0], r[1]) for r in rows}) == 3 * len(archs)
    keys = {str(a) for a in archs}
    assert rows == [r for r in _rows(local_path) if r[0] in keys]


def _swap_or_always_die(model, batch, *, swap_fn, target: str, **options):
    """``swap``, except that the worker process dies whenever it meets the target arch."""
    if _fingerprint(model) == target:
        os._exit(1)
    return swap_fn(model, batch, **options)


def test_a_chunk_whose_worker_dies_is_retried_one_arch_per_task(ray_cluster, setup, local) -> None:
    protocol, batch, proxies, archs = setup
    archs = archs[:8]
    target = _fingerprint(nb201.build(archs[5], num_classes=batch.num_classes, **protocol.net))
    swap = get_proxy("swap")
    dying = dataclasses.replace(swap, fn=functools.partial(_swap_or_always_die, swap_fn=swap.fn, target=target))
    with RayExecutor(max_retries=0, chunk_size=4) as ex, ScoreStore(":memory:") as store:
        recs = score_archs(archs, "nb201", [dying], protocol, batch, store, CPU, progress=False, executor=ex)
    # only the arch that kills its worker failed; the other three of its chunk were scored on their own
    assert [r.ok for r in recs["swap"]] == [i != 5 for i in range(8)]
    assert "Ray worker died 1 times" in (recs["swap"][5].error or "")
    assert [r.value for r in recs["swap"]][:5] == [r.value for r in local[0]["swap"][:5]]


@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_cli_correlate_with_ray(ray_cluster, data_dir, tmp_path, capsys) -> None:
    small = ["--archs", "6", "--batch-size", "8", "--repeats", "1", "--channels", "4", "--cells", "1",
             "--device", "cpu", "--no-progress", "--proxies", "swap,params", "--data-dir", str(data_dir)]
    assert main(["correlate", "--executor", "ray", "--ray-cpus", "2", "--out", str(tmp_path / "ray"), *small]) == 0
    assert "on Ray workers" in capsys.readouterr().out
    assert ray.is_initialized()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["correlate", "--out", str(tmp_path / "local"), *small]) == 0
    finally:
        torch.set_num_threads(threads)
    ray_doc = json.loads((tmp_path / "ray" / "results.json").read_text())
    local_doc = json.loads((tmp_path / "local" / "results.json").read_text())
    assert ray_doc["archs"] == local_doc["archs"] and ray_doc["scores"] == local_doc["scores"]
    assert _rows(tmp_path / "ray" / "scores.sqlite") == _rows(tmp_path / "local" / "scores.sqlite")


@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_cli_grid_with_ray(ray_cluster, data_dir, tmp_path) -> None:
    args = ["grid", "--benchmarks", "nb201,nb301", "--tasks", "cifar10", "--proxies", "swap,params", "--archs", "4",
            "--device", "cpu", "--data-dir", str(data_dir), "--no-progress"]
    assert main([*args, "--executor", "ray", "--out", str(tmp_path / "ray")]) == 0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main([*args, "--out", str(tmp_path / "local")]) == 0
    finally:
        torch.set_num_threads(threads)
    strip = lambda cols: [{**c, "wall_seconds": 0, "results": [{**r, "seconds_per_arch": 0} for r in c["results"]]}
                          for c in cols]  # noqa: E731
    ray_cols = json.loads((tmp_path / "ray" / "grid.json").read_text())["columns"]
    assert strip(ray_cols) == strip(json.loads((tmp_path / "local" / "grid.json").read_text())["columns"])
    assert _rows(tmp_path / "ray" / "scores.sqlite") == _rows(tmp_path / "local" / "scores.sqlite")
