"""The Ray executor on a real multi-node cluster that loses a node mid-run (session 23).

Session 22 handled ``NodeDiedError`` with Ray's driver calls stood in. Here Ray's own test cluster
(``ray.cluster_utils.Cluster``: a head with no CPUs and two one-CPU worker nodes, each its own raylet, on this
machine) runs the sweep, and the node running one arch is removed while that arch stalls on it. With retries the
arch is scored again on the other node; without, it is stored as a failure naming the lost node, every other arch
is scored, and a rerun with ``retry_failed`` scores it. Skipped where Ray is not installed.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

ray = pytest.importorskip("ray")

from ray.cluster_utils import Cluster  # noqa: E402

from swapnas.executors import RayExecutor  # noqa: E402
from swapnas.proxies import get_proxy  # noqa: E402
from swapnas.session import score_archs  # noqa: E402
from swapnas.store import ScoreStore  # noqa: E402
from tests.tiny_tasks import tiny_nb201_task  # noqa: E402

pytestmark = pytest.mark.slow  # starts three raylets
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the stalling proxy travels by value
    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})  # the driver's node runs no task
    ray.init(address=head.address, log_to_driver=False)
    yield head
    ray.shutdown()
    head.shutdown()
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def task() -> tuple:
    # S = 16: 2**16 patterns above the C=4 nets' 24,576 hooked neurons, so the archs' Ψ differ (not all saturated)
    return tiny_nb201_task("swap", batch_size=16, repeats=1, n_archs=10, seed=0)


@pytest.fixture(scope="module")
def local(task: tuple) -> list[float | None]:
    protocol, batch, proxies, archs = task
    with ScoreStore(":memory:") as store:
        recs = score_archs(archs, "nb201", proxies, protocol, batch, store, CPU, progress=False)
    values = [r.value for r in recs["swap"]]
    assert len(set(values)) > 3  # the comparison below can tell archs apart
    return values


def _swap_or_stall(model: Any, batch: Any, *, swap_fn: Any, marker: str, **options: Any) -> Any:
    """``swap``, except that the first arch to get here writes its node's id to ``marker`` and stalls (until its node
    is removed); every later call, retries included, scores at once."""
    import time as _time
    from pathlib import Path as _Path

    import ray as _ray

    path = _Path(marker)
    if not path.exists():
        path.write_text(_ray.get_runtime_context().get_node_id())
        _time.sleep(120)
    return swap_fn(model, batch, **options)


def _run_losing_a_node(cluster: Cluster, task: tuple, marker: Path, retries: int) -> tuple[list, ScoreStore]:
    """Two fresh one-CPU nodes; the node that takes the stalling arch is removed once it stalls. Returns the swap
    records and the store (open)."""
    protocol, batch, _, archs = task
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    swap = get_proxy("swap")
    stall = dataclasses.replace(swap, fn=functools.partial(_swap_or_stall, swap_fn=swap.fn, marker=str(marker)))
    removed: list[str] = []

    def remove_the_stalling_node() -> None:
        deadline = time.monotonic() + 100
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the id is written
        node = next(n for n in nodes if n.node_id == marker.read_text())
        cluster.remove_node(node)
        removed.append(node.node_id)

    killer = threading.Thread(target=remove_the_stalling_node, daemon=True)
    killer.start()
    store = ScoreStore(":memory:")
    with RayExecutor(max_retries=retries) as ex:
        recs = score_archs(archs, "nb201", [stall], protocol, batch, store, CPU, progress=False, executor=ex)
    killer.join(timeout=10)
    assert len(removed) == 1, "the stalling arch's node was not removed"
    for node in nodes:
        if node.node_id not in removed:
            cluster.remove_node(node)
    return recs["swap"], store


def test_a_node_lost_mid_run_costs_nothing_when_ray_may_retry(cluster: Cluster, task: tuple, local: list,
                                                              tmp_path: Path) -> None:
    recs, store = _run_losing_a_node(cluster, task, tmp_path / "marker", retries=2)
    store.close()
    assert all(r.ok for r in recs), [r.error for r in recs if not r.ok]
    assert [r.value for r in recs] == local  # the stalled arch too, scored on the surviving node


def test_a_node_lost_with_no_retry_left_fails_its_arch_only_and_a_rerun_scores_it(
        cluster: Cluster, task: tuple, local: list, tmp_path: Path) -> None:
    recs, store = _run_losing_a_node(cluster, task, tmp_path / "marker", retries=0)
    failed = [i for i, r in enumerate(recs) if not r.ok]
    assert len(failed) == 1, [r.error for r in recs]
    error = recs[failed[0]].error or ""
    assert error.startswith("the Ray node running it was lost on the last of its 1 tries: NodeDiedError"), error
    assert [r.value for i, r in enumerate(recs) if i != failed[0]] == [v for i, v in enumerate(local) if i != failed[0]]
    # the failure is stored like any other; a rerun with retry_failed scores that arch alone, on a live node
    protocol, batch, proxies, archs = task
    node = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        with RayExecutor() as ex:
            again = score_archs(archs, "nb201", proxies, protocol, batch, store, CPU, progress=False,
                                executor=ex, retry_failed=True)
    finally:
        cluster.remove_node(node)
        store.close()
    assert [r.value for r in again["swap"]] == local
