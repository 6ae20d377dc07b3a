"""``RayExecutor`` against a stand-in ``ray`` module (session 36; docs/reliability.md).

Under mutmut the real Ray cannot run (its workers import the mutated package), and ``tests/test_ray.py`` checks
scores and crashes on a real local cluster, not what the executor asks of Ray. Here ``sys.modules["ray"]`` is a
recording stand-in: ``ray.init``'s arguments, the task options, the slots and tasks in flight, the devices, what is
retried and stored when a worker or a node dies, and the shutdown; a task runs in this process when submitted.
"""

from __future__ import annotations

import logging
import sys
import types

import pytest
import torch

from swapnas import executors
from swapnas.executors import RayExecutor, ScoreTask
from swapnas.store import Record
from tests.tiny_tasks import tiny_nb201_task

from .message_tools import exact

CPU = torch.device("cpu")


class WorkerCrashedError(Exception):
    pass


class OutOfMemoryError(Exception):
    pass


class NodeDiedError(Exception):
    pass


class Ref:
    def __init__(self, n: int, value: object = None, error: BaseException | None = None):
        self.n, self.value, self.error = n, value, error

    def hex(self) -> str:
        return f"ref{self.n}"


class FakeRay(types.ModuleType):
    """The parts of ``ray`` the executor uses; ``killers`` maps an arch to the error its task raises."""

    def __init__(self, resources: dict[str, float], initialised: bool = False):
        super().__init__("ray")
        self.resources, self.initialised = resources, initialised
        self.calls: list[tuple] = []
        self.killers: dict[str, BaseException] = {}
        self.refs = 0
        self.exceptions = types.SimpleNamespace(WorkerCrashedError=WorkerCrashedError,
                                                OutOfMemoryError=OutOfMemoryError, NodeDiedError=NodeDiedError)

    def _ref(self, value: object = None, error: BaseException | None = None) -> Ref:
        self.refs += 1
        return Ref(self.refs, value, error)

    def is_initialized(self) -> bool:
        return self.initialised

    def init(self, **kwargs) -> None:
        self.calls.append(("init", kwargs))
        self.initialised = True

    def shutdown(self) -> None:
        self.calls.append(("shutdown",))

    def cluster_resources(self) -> dict[str, float]:
        return dict(self.resources)

    def put(self, value: object) -> Ref:
        return self._ref(value)

    def get(self, ref: Ref) -> object:
        if ref.error is not None:
            raise ref.error
        return ref.value

    def wait(self, refs: list[Ref], num_returns: int = 1) -> tuple[list[Ref], list[Ref]]:
        self.calls.append(("wait", len(refs)))
        return refs[:num_returns], refs[num_returns:]

    def cancel(self, ref: Ref) -> None:
        self.calls.append(("cancel", ref.n))

    def remote(self, fn):
        ray = self

        class Task:
            def options(self, **options):
                ray.calls.append(("options", options))
                return self

            def remote(self, box, chunk):
                ray.calls.append(("task", [str(a) for a, _ in chunk]))
                error = next((ray.killers[str(a)] for a, _ in chunk if str(a) in ray.killers), None)
                return ray._ref(None if error else fn(box, chunk), error)

        return Task()


@pytest.fixture
def fake_ray(monkeypatch):
    def make(resources: dict[str, float] | None = None, initialised: bool = False) -> FakeRay:
        ray = FakeRay(resources or {"CPU": 4.0}, initialised)
        monkeypatch.setitem(sys.modules, "ray", ray)
        monkeypatch.setitem(sys.modules, "ray.exceptions", ray.exceptions)
        monkeypatch.setattr(executors, "_PAYLOAD_CACHE", {})
        return ray

    make.checked = []  # type: ignore[attr-defined]
    monkeypatch.setattr(executors, "check_ray_address", make.checked.append)  # no connection attempt
    return make


def test_a_local_instance_is_started_sized_and_shut_down_once(fake_ray) -> None:
    ray = fake_ray({"CPU": 3.0})
    ex = RayExecutor(num_cpus=3)
    assert ray.calls == [("init", {"address": None, "ignore_reinit_error": True, "logging_level": logging.WARNING,
                                   "num_cpus": 3,
                                   "include_dashboard": False}),
                         ("options", {"num_cpus": 1, "num_gpus": 0.0, "max_retries": 3})]
    assert (ex.threads, ex.max_in_flight, ex.chunk_size, ex.max_retries) == (1, 6, 1, 3)
    ex.close()
    ex.close()
    assert ray.calls[2:] == [("shutdown",)]


def test_a_cluster_address_is_passed_and_num_cpus_ignored_with_a_warning(fake_ray, caplog) -> None:
    ray = fake_ray({"CPU": 1.0})
    with caplog.at_level(logging.INFO, logger="swapnas.executors"):
        ex = RayExecutor(address="head:6379", num_cpus=8)
    assert fake_ray.checked == ["head:6379"] and ex.address == "head:6379"
    assert ray.calls[0] == ("init", {"address": "head:6379", "ignore_reinit_error": True,
                                     "logging_level": logging.WARNING})
    assert [r.getMessage() for r in caplog.records] == [
        "num_cpus=8 ignored: connecting to the Ray cluster at head:6379"]
    assert ex.max_in_flight == 2  # at least two tasks in flight on one slot


def test_ray_already_running_here_is_used_and_left_running(fake_ray, caplog) -> None:
    ray = fake_ray({"CPU": 8.0}, initialised=True)
    with caplog.at_level(logging.INFO, logger="swapnas.executors"):
        RayExecutor()
        assert not caplog.records  # nothing given that it ignores
        ex = RayExecutor(num_cpus=2)
    assert [r.getMessage() for r in caplog.records] == [
        "Ray is already initialised in this process: using it (address/num_cpus ignored)"]
    ex.close()
    assert not [c for c in ray.calls if c[0] in ("init", "shutdown")]


def test_slots_threads_and_in_flight_follow_the_cpus_and_gpus_per_task(fake_ray) -> None:
    fake_ray({"CPU": 8.0})
    ex = RayExecutor(cpus_per_task=2.5)
    assert (ex.threads, ex.max_in_flight) == (2, 6)  # int(2.5) threads; 8 // 2.5 = 3 slots
    assert RayExecutor(cpus_per_task=0.5, threads_per_task=3).threads == 3
    assert RayExecutor(cpus_per_task=0.5).threads == 1
    assert RayExecutor(max_in_flight=5).max_in_flight == 5
    ray = fake_ray({"CPU": 16.0, "GPU": 1.0})
    ex = RayExecutor(num_gpus_per_task=0.25)
    assert ex.max_in_flight == 8 and ray.calls[-1] == ("options", {"num_cpus": 1, "num_gpus": 0.25,
                                                                     "max_retries": 3})
    assert ex.device_for(CPU) == torch.device("cuda")
    assert RayExecutor(num_gpus_per_task=1.0).max_in_flight == 2  # exactly the GPU the cluster has: allowed
    fake_ray({"GPU": 0.0})
    assert RayExecutor().max_in_flight == 2  # no CPU count given: one slot
    assert RayExecutor(cpus_per_task=0.5).max_in_flight == 4


def test_gpus_asked_for_that_the_cluster_lacks_are_refused_and_an_own_instance_shut_down(fake_ray) -> None:
    message = ("0.5 GPU(s) per task asked for, but the Ray cluster has 0 GPU(s): its tasks could never run "
               "(score on CPUs: --ray-gpus 0 and --device cpu, num_gpus_per_task=0 in Python)")
    ray = fake_ray({"CPU": 4.0})
    with pytest.raises(ValueError, match=exact(message)):
        RayExecutor(num_gpus_per_task=0.5)
    assert ray.calls[-1] == ("shutdown",)
    ray = fake_ray({"CPU": 4.0, "GPU": 0.25}, initialised=True)
    with pytest.raises(ValueError, match=exact(message.replace("has 0 GPU", "has 0.25 GPU"))):
        RayExecutor(num_gpus_per_task=0.5)
    assert ray.calls == []  # not ours: left running


@pytest.mark.parametrize("kwargs", [{"num_gpus_per_task": -1}, {"cpus_per_task": 0}, {"chunk_size": 0},
                                    {"max_retries": -1}])
def test_each_bad_setting_is_refused_before_ray_starts(fake_ray, kwargs) -> None:
    ray = fake_ray()
    with pytest.raises(ValueError, match=exact("RayExecutor needs num_gpus_per_task >= 0, cpus_per_task > 0, "
                                               "chunk_size >= 1 and max_retries >= 0")):
        RayExecutor(**kwargs)
    assert ray.calls == []
    RayExecutor(num_gpus_per_task=0, cpus_per_task=0.1, chunk_size=1, max_retries=0)  # each bound allowed


def test_cpu_tasks_score_on_the_cpu_and_say_so_when_asked_for_another_device(fake_ray, caplog) -> None:
    fake_ray()
    ex = RayExecutor()
    with caplog.at_level(logging.WARNING, logger="swapnas.executors"):
        assert ex.device_for(CPU) == CPU
        assert not caplog.records
        assert ex.device_for(torch.device("cuda")) == CPU
    assert [r.getMessage() for r in caplog.records] == [
        "the Ray executor scores on cpu (num_gpus_per_task=0), not on cuda"]


@pytest.fixture(scope="module")
def setup():
    return tiny_nb201_task("params", batch_size=4, repeats=1, n_archs=5, seed=5)


def test_tasks_in_flight_chunks_and_a_dead_worker_retried_alone_then_stored_failed(fake_ray, setup, caplog) -> None:
    protocol, batch, proxies, archs = setup
    ray = fake_ray({"CPU": 1.0})
    died = "worker 7 died" + "." * 300  # the log line is cut at 300 characters
    ray.killers = {str(archs[1]): WorkerCrashedError(died), str(archs[4]): NodeDiedError("node 2 lost")}
    ex = RayExecutor(chunk_size=2, max_retries=1, max_in_flight=2)
    task = ScoreTask("nb201", tuple(proxies), batch, protocol, retry_failed=True)
    key = protocol.key(str(archs[4]), proxies[0])
    stored = Record("ok", 7.0, 0.0, [7.0], 0.1, None, None)
    failed = Record("failed", None, None, [], 0.1, None, "E")
    known = {str(archs[4]): {key: stored}, str(archs[0]): {protocol.key(str(archs[0]), proxies[0]): failed}}
    with caplog.at_level(logging.WARNING, logger="swapnas.executors"):
        out = dict(ex.score(task, CPU, [(a, known.get(str(a), {})) for a in archs]))
    names = {str(a): f"a{i}" for i, a in enumerate(archs)}
    tasks = [[names[a] for a in c[1]] for c in ray.calls if c[0] == "task"]
    assert tasks == [["a0", "a1"], ["a2", "a3"], ["a0"], ["a1"], ["a4"]]  # two in flight; a lost chunk split
    assert [c[1] for c in ray.calls if c[0] == "wait"][:2] == [2, 3]
    crashed = f"Ray worker died 2 times: WorkerCrashedError: {died}"
    lost = "the Ray node running it was lost on the last of its 2 tries: NodeDiedError: node 2 lost"
    assert out[archs[1]] == {"params": Record("failed", None, None, [], None, None, crashed)}
    assert out[archs[4]] == {"params": stored}  # its stored record kept
    assert all(out[archs[i]]["params"].ok for i in (0, 2, 3))  # a0's stored failure scored again (retry_failed)
    assert [r.getMessage() for r in caplog.records] == [f"1 arch(s) failed: {crashed[:300]}",
                                                       f"1 arch(s) failed: {lost}"]


def test_the_payload_goes_to_ray_once_on_the_cpu_and_a_stopped_sweep_cancels_what_is_in_flight(fake_ray,
                                                                                                setup) -> None:
    protocol, batch, proxies, archs = setup
    ray = fake_ray({"CPU": 4.0})
    ex = RayExecutor(threads_per_task=1)
    run = ex.score(ScoreTask("nb201", tuple(proxies), batch, protocol), CPU, [(a, {}) for a in archs])
    next(run)
    run.close()
    tasks = [c for c in ray.calls if c[0] == "task"]
    assert len(tasks) == len(archs)  # 8 slots in flight: every arch sent at once
    assert [c[1] for c in ray.calls if c[0] == "cancel"] == [r for r in range(3, 3 + len(archs) - 1)]
    assert list(ex.score(ScoreTask("nb201", tuple(proxies), batch, protocol), CPU, [])) == []
    assert list(executors._PAYLOAD_CACHE) == ["ref1"]  # one payload per score call, fetched once by the worker
    assert executors._PAYLOAD_CACHE["ref1"][2] == CPU


def test_a_task_takes_its_torch_threads(fake_ray, setup) -> None:
    protocol, batch, proxies, archs = setup
    fake_ray({"CPU": 4.0})
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        list(RayExecutor(threads_per_task=2).score(ScoreTask("nb201", tuple(proxies), batch, protocol), CPU,
                                                   [(archs[0], {})]))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_the_command_s_sigterm_handler_outlives_ray_init_and_a_default_one_is_left_to_ray(fake_ray,
                                                                                         monkeypatch) -> None:
    """``ray.init`` puts its own SIGTERM handler in place: a `swapnas` run under Ray then ended with Ray's stack dump
    and exit 134, not 130 (session 53)."""
    import signal

    ray = fake_ray({"CPU": 1.0})

    def rays(signum: int, frame: object) -> None:  # what ray.init installs
        raise SystemExit(134)

    def init(**kw: object) -> None:
        ray.calls.append(("init", kw))
        signal.signal(signal.SIGTERM, rays)

    monkeypatch.setattr(ray, "init", init)

    def ours(signum: int, frame: object) -> None:  # cli.main's
        raise KeyboardInterrupt

    was = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, ours)
        RayExecutor(num_cpus=1).close()
        assert signal.getsignal(signal.SIGTERM) is ours
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a Python caller's process: Ray's handler stays
        RayExecutor(num_cpus=1).close()
        assert signal.getsignal(signal.SIGTERM) is rays
    finally:
        signal.signal(signal.SIGTERM, was)


def test_ray_cpus_beside_a_cluster_already_running_here_names_the_option(fake_ray, monkeypatch) -> None:
    """Session 53: Ray's own "When connecting to an existing cluster, num_cpus and num_gpus must not be provided."."""
    ray = fake_ray({"CPU": 1.0})

    import signal

    def rays(signum: int, frame: object) -> None:
        raise SystemExit(134)

    def init(**kw: object) -> None:  # as Ray 2.60: its SIGTERM handler in place before this refusal
        signal.signal(signal.SIGTERM, rays)
        raise ValueError("When connecting to an existing cluster, num_cpus and num_gpus must not be provided.")

    def ours(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ray, "init", init)
    was = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, ours)
    try:
        with pytest.raises(ValueError) as caught:
            RayExecutor(num_cpus=2)
        assert signal.getsignal(signal.SIGTERM) is ours  # kept though ray.init failed
    finally:
        signal.signal(signal.SIGTERM, was)
    assert str(caught.value) == (
        "a Ray cluster already runs on this machine (`ray start`), or $RAY_ADDRESS names one: Ray joins it instead of "
        "starting one sized by --ray-cpus (num_cpus); leave --ray-cpus out to use that cluster, or stop it "
        "(`ray stop`) or unset RAY_ADDRESS")
    with pytest.raises(ValueError, match="^When connecting to an existing cluster"):
        RayExecutor(num_gpus_per_task=0)  # num_cpus not given: Ray's words stand (not this case)
    monkeypatch.setattr(ray, "init", lambda **kw: (_ for _ in ()).throw(RuntimeError("other")))
    with pytest.raises(RuntimeError, match="^other$"):
        RayExecutor(num_cpus=2)
    monkeypatch.setattr(ray, "init", lambda **kw: (_ for _ in ()).throw(RuntimeError("an existing cluster")))
    with pytest.raises(ValueError, match=r"^a Ray cluster already runs"):  # (a RuntimeError in other Ray versions?)
        RayExecutor(num_cpus=2)
