"""Tests written against the survivors of session 36's mutation run of ``swapnas.executor_local``
(docs/reliability.md, "Session 36"). Most survivors gave the same scores with more work: a stored record scored
again, a network built ahead and then built again, every arch's network queued at once, builds on two threads. So
these tests watch the work, not only the records: which records are reused, how many builds, on which thread, in
what order the builder is fed, and what a worker's crash leaves in the store.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import torch

from swapnas import executor_local
from swapnas.executor_local import LocalExecutor, ScoreTask, _prebuild, crash_records, score_item
from swapnas.proxies import get_proxy
from swapnas.scoring import build_scored_net
from swapnas.spaces import nb201
from swapnas.store import Record
from tests.tiny_tasks import tiny_nb201_task

from .message_tools import exact

CPU = torch.device("cpu")
#: a value no proxy computes: a record holding it was read, not scored
STORED = Record("ok", 12345.0, 0.0, [12345.0], 0.5, None, None)
FAILED = Record("failed", None, None, [], 0.5, None, "RuntimeError: stored failure")


@pytest.fixture(scope="module")
def setup():
    return tiny_nb201_task("swap", batch_size=8, repeats=1, n_archs=5, seed=7)


def _task(setup, names: str = "swap", retry_failed: bool = False) -> ScoreTask:
    protocol, batch, _, _ = setup
    return ScoreTask("nb201", tuple(get_proxy(n) for n in names.split(",")), batch, protocol, retry_failed)


class Builds(Counter):
    """How many networks were built for each arch, and on which threads, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []


@pytest.fixture
def builds(monkeypatch) -> Builds:
    counts = Builds()
    real = nb201.build

    def build(arch, **kw):
        counts[str(arch)] += 1
        counts.threads.append(threading.current_thread().name)
        return real(arch, **kw)

    monkeypatch.setattr(nb201, "build", build)
    return counts


def test_a_stored_record_is_given_back_unscored_and_a_stored_failure_kept_unless_retried(setup, builds) -> None:
    task = _task(setup)
    arch = setup[3][0]
    key = task.protocol.key(str(arch), get_proxy("swap"))
    assert score_item(task, task.batch, CPU, arch, {key: STORED}) == {"swap": STORED}
    assert score_item(task, task.batch, CPU, arch, {key: FAILED}) == {"swap": FAILED}
    assert builds[str(arch)] == 0
    again = score_item(_task(setup, retry_failed=True), task.batch, CPU, arch, {key: FAILED})["swap"]
    assert again.ok and builds[str(arch)] == 1


def test_prebuild_builds_repeat_zero_only_for_a_model_keeping_proxy_still_to_score(setup, builds) -> None:
    task = _task(setup)
    arch = setup[3][0]
    key = task.protocol.key(str(arch), get_proxy("swap"))
    net = _prebuild(task, CPU, arch, {})
    want = build_scored_net(nb201.build, arch, task.protocol, task.batch.num_classes, 0, CPU)
    assert net is not None and net.state_dict().keys() == want.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), want.state_dict().values()))
    assert next(net.parameters()).device == CPU
    assert _prebuild(task, CPU, arch, {key: STORED}) is None
    assert _prebuild(task, CPU, arch, {key: FAILED}) is None
    assert _prebuild(_task(setup, retry_failed=True), CPU, arch, {key: FAILED}) is not None
    assert _prebuild(_task(setup, retry_failed=True), CPU, arch, {key: STORED}) is None
    # a derived proxy needs its base's network; a structural one (params) or one that builds its own (flops) none
    assert _prebuild(_task(setup, "swap_reg"), CPU, arch, {}) is not None
    assert _prebuild(_task(setup, "params"), CPU, arch, {}) is None
    assert _prebuild(_task(setup, "flops"), CPU, arch, {}) is None
    assert builds[str(arch)] == 4


def test_with_prefetch_each_network_is_built_once_on_one_builder_thread(setup, builds) -> None:
    task = _task(setup)
    archs = setup[3]
    out = list(LocalExecutor(prefetch=3).score(task, CPU, [(a, {}) for a in archs]))
    plain = list(LocalExecutor().score(task, CPU, [(a, {}) for a in archs]))
    assert [(str(a), r["swap"].values) for a, r in out] == [(str(a), r["swap"].values) for a, r in plain]
    assert all(builds[str(a)] == 2 for a in archs)  # once ahead, once in order: never twice ahead
    assert Counter(builds.threads) == {"swapnas-build_0": len(archs), "MainThread": len(archs)}


def test_the_builder_is_fed_prefetch_archs_ahead_and_one_more_per_arch_scored(setup, monkeypatch) -> None:
    events: list[str] = []

    class Recording(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            events.append(f"build {args[2]}")
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(executor_local, "ThreadPoolExecutor", Recording)
    task = _task(setup)
    names = {str(a): f"a{i}" for i, a in enumerate(setup[3])}
    for arch, _ in LocalExecutor(prefetch=2).score(task, CPU, [(a, {}) for a in setup[3]]):
        events.append(f"score {arch}")
    events = [" ".join(names.get(w, w) for w in e.split()) for e in events]
    assert events == ["build a0", "build a1", "build a2", "score a0", "build a3", "score a1", "build a4",
                      "score a2", "score a3", "score a4"]


def test_no_prefetch_by_default_and_a_negative_one_refused() -> None:
    assert LocalExecutor().prefetch == 0
    with pytest.raises(ValueError, match=exact("prefetch must be >= 0 archs (got -1)")):
        LocalExecutor(prefetch=-1)


def test_a_crashed_arch_keeps_its_stored_records_and_fails_the_rest_with_the_message_cut_at_2000(setup) -> None:
    arch = setup[3][1]
    error = "BrokenProcessPool: " + "x" * 3000
    failure = Record("failed", None, None, [], None, None, error[:2000])
    task = _task(setup, "swap,swap_reg")
    key = task.protocol.key(str(arch), get_proxy("swap"))
    assert crash_records(task, arch, {}, error) == {"swap_reg": failure, "swap": failure}
    assert crash_records(task, arch, {key: STORED}, error) == {"swap_reg": failure, "swap": STORED}
    assert crash_records(task, arch, {key: FAILED}, error) == {"swap_reg": failure, "swap": FAILED}
    retry = replace(task, retry_failed=True)
    assert crash_records(retry, arch, {key: FAILED}, error) == {"swap_reg": failure, "swap": failure}
    assert crash_records(retry, arch, {key: STORED}, error)["swap"] == STORED
    other = task.protocol.key(str(setup[3][2]), get_proxy("swap"))  # another arch's record is not this one's
    assert crash_records(task, arch, {other: STORED}, error)["swap"] == failure
