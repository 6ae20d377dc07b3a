"""Three small modules, from their mutation runs (session 48): the benchmark registry (``swapnas.benchmarks``), the Ray
address check (``swapnas.ray_address``) and ``swapnas.train.run_train`` (``swapnas.train.run``): each refusal whole and
every argument passed on, against recorders put in place of the heavy calls. (The heap pad's, ``swapnas.malloc``, are
in ``test_malloc.py``.)"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest
import torch

from swapnas import benchmarks, ray_address
from swapnas.benchmarks.flexibert import FlexiBERTBenchmark
from swapnas.benchmarks.nb101 import NB101Benchmark
from swapnas.benchmarks.nb301 import DartsSwapBenchmark, NB301Benchmark
from swapnas.benchmarks.transnas import TransNASMacroBenchmark, TransNASMicroBenchmark
from swapnas.train import recipe, run

from .message_tools import refusal

# ----------------------------------------------------------------------------- benchmarks


def test_each_benchmarks_class() -> None:
    assert list(benchmarks.BENCHMARKS) == ["nb101", "nb201", "nb301", "darts_swap", "transnas_micro",
                                           "transnas_macro", "flexibert"]
    classes = [benchmarks.benchmark_class(n) for n in benchmarks.BENCHMARKS]
    assert classes == [NB101Benchmark, benchmarks.NB201Benchmark, NB301Benchmark, DartsSwapBenchmark,
                       TransNASMicroBenchmark, TransNASMacroBenchmark, FlexiBERTBenchmark]
    assert refusal(ValueError, lambda: benchmarks.benchmark_class("nb999")) == \
        "no ground truth for 'nb999'; benchmarks: nb101, nb201, nb301, darts_swap, transnas_micro, transnas_macro, " \
        "flexibert"


class _Made:
    def __init__(self, *args: object, **kwargs: object) -> None:
        self.args, self.kwargs = args, kwargs


def test_the_benchmark_is_made_with_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(benchmarks, "benchmark_class", lambda name: asked.append(name) or _Made)
    nb201 = benchmarks.get_benchmark("nb201", "DIR", metric="test", epochs=12)
    assert (nb201.args, nb201.kwargs) == (("DIR",), {"metric": "test", "epochs": 12})
    default = benchmarks.get_benchmark("nb201")
    assert (default.args, default.kwargs) == ((None,), {"metric": "valid", "epochs": 200})
    other = benchmarks.get_benchmark("nb301", "DIR")
    assert (other.args, other.kwargs) == (("DIR",), {})
    assert asked == ["nb201", "nb201", "nb301"]
    for metric, epochs, asked_for in (("test", 200, "metric='test' exists"), ("valid", 12, "epochs=12 exists"),
                                      ("test", 12, "metric='test' and epochs=12 exist")):
        assert refusal(ValueError, lambda: benchmarks.get_benchmark("nb301", "DIR", metric=metric, epochs=epochs)) == (
            f"nb301 stores only validation accuracy (one schedule); {asked_for} only for nb201")  # session 51: as asked


# ----------------------------------------------------------------------------- ray address


def test_addresses_left_to_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("no connection expected"))
    for address in (None, "auto", "local", "ray://headnode", "headnode:port", ":6379", "ray://:6379"):
        ray_address.check_ray_address(address)


class _Connection:
    def __init__(self, calls: list, address: tuple, timeout: float, reply: bytes | Exception = b"") -> None:
        calls.append((address, timeout))
        self.calls, self.reply = calls, reply

    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.calls.append(data)

    def settimeout(self, seconds: float) -> None:
        self.calls.append(seconds)

    def recv(self, n: int) -> bytes:
        if isinstance(self.reply, Exception):
            raise self.reply
        part, self.reply = self.reply[:min(n, 2)], self.reply[min(n, 2):]  # in pieces of 2 bytes, as a slow server
        return part


def test_the_address_is_tried_with_its_host_port_and_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list = []
    monkeypatch.setattr(socket, "create_connection", lambda address, timeout: _Connection(calls, address, timeout))
    ray_address.check_ray_address("ray://10.0.0.1:6379")
    ray_address.check_ray_address("[::1]:10001", timeout=0.5)
    ray_address.check_ray_address("head:1")
    ray_address.check_ray_address("XnodeX:7")  # only the brackets of an IPv6 host are stripped
    tried = [(("10.0.0.1", 6379), 5.0), (("::1", 10001), 0.5), (("head", 1), 5.0), (("XnodeX", 7), 5.0)]
    probe = b"GET / HTTP/1.0\r\n\r\n"
    assert calls == [tried[0], probe, 5.0, tried[1], probe, 0.5, tried[2], probe, 5.0, tried[3], probe, 5.0]


def test_a_web_server_at_the_address_is_refused_and_a_gcs_s_reply_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 53: `--address` at Ray's dashboard port (8265) or any web server hung in Ray's retries for minutes.
    Ray's GCS (gRPC) answers an HTTP/1 request with its HTTP/2 SETTINGS frame (Ray 2.x, tried), a web server with
    ``HTTP/…``."""
    replies = iter([b"HTTP/1.0 200 OK\r\nServer: x", b"\x00\x00\x18\x04\x00\x00\x00\x00\x00", b"", b"SSH-2.0-x",
                    ConnectionResetError("reset")])
    monkeypatch.setattr(socket, "create_connection", lambda a, timeout: _Connection([], a, timeout, next(replies)))
    assert refusal(ValueError, lambda: ray_address.check_ray_address("head:8265")) == (
        "a web server answers at --address head:8265, not a Ray cluster (Ray's dashboard is on port 8265; the "
        "cluster's address is its GCS port, 6379 unless `ray start --head --port` set another, as `ray start` prints "
        "it); give that address, or leave --address out to start Ray on this machine")
    for _ in range(4):  # the GCS's frame, a close with nothing sent, another server, a reset: left to Ray
    # (silence till the timeout is refused since session 61: test_session61)
        ray_address.check_ray_address("head:6379")


def test_nothing_answering_is_refused_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert refusal(ValueError, lambda: ray_address.check_ray_address(f"127.0.0.1:{port}")) == (
        f"no Ray cluster answers at --address 127.0.0.1:{port} (Connection refused): start one there (`ray start "
        "--head`), give its address, or leave --address out to start Ray on this machine")

    def silent(address: tuple, timeout: float) -> None:
        raise OSError("no reason given")

    monkeypatch.setattr(socket, "create_connection", silent)
    assert refusal(ValueError, lambda: ray_address.check_ray_address("h:1")).startswith(
        "no Ray cluster answers at --address h:1 (no reason given): start one there")


# ----------------------------------------------------------------------------- run_train


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Every heavy call of run_train replaced by a recorder; the log of calls."""
    log: list[tuple] = []
    monkeypatch.setattr(run, "load_genotype", lambda text: log.append(("genotype", text)) or "GENOTYPE")
    monkeypatch.setattr(run, "check_network", lambda config, name: log.append(("check", config, name)))
    monkeypatch.setattr(run, "load_data", lambda name, root, synthetic, workers: log.append(
        ("data", name, root, synthetic, workers)) or "DATA")
    monkeypatch.setattr(run, "resolve_device", lambda text: log.append(("device", text)) or torch.device("meta"))

    def train(genotype: object, config: object, data: object, out: Path, **kwargs: object) -> dict:
        log.append(("train", genotype, config, data, out, kwargs))
        return {"done": True}

    monkeypatch.setattr(run, "train", train)
    return log


def test_run_train_passes_everything_on(recorded: list[tuple]) -> None:
    result = run.run_train("Genotype(...)", recipe="imagenet", out="OUT", data_root="ROOT", synthetic=None, workers=3,
                           device="cpu", seed=4, progress=False, max_steps=5, eval_every=2, amp=False, lines=True,
                           epochs=3, C=None, lr=0.5)
    config = dataclasses.replace(recipe.RECIPES["imagenet"], epochs=3, lr=0.5)  # None: the recipe's own
    assert result == {"done": True}
    assert recorded == [
        ("genotype", "Genotype(...)"), ("check", config, "imagenet"), ("data", "imagenet", "ROOT", None, 3),
        ("device", "cpu"),
        ("train", "GENOTYPE", config, "DATA", Path("OUT"), {
            "device": torch.device("meta"), "seed": 4, "progress": False, "max_steps": 5, "eval_every": 2,
            "amp": False, "lines": True})]


def test_run_train_defaults_and_a_device_object(recorded: list[tuple]) -> None:
    """A torch.device is checked as a string is (session 67: it went unchecked to RunRng)."""
    genotype = object()
    run.run_train(genotype, out=Path("O"), device=torch.device("cpu"))  # type: ignore[arg-type]
    assert recorded == [
        ("check", recipe.RECIPES["cifar10"], "cifar10"), ("data", "cifar10", None, None, 4),
        ("device", torch.device("cpu")),
        ("train", genotype, recipe.RECIPES["cifar10"], "DATA", Path("O"), {
            "device": torch.device("meta"), "seed": 0, "progress": True, "max_steps": None, "eval_every": 1,
            "amp": True, "lines": None})]


def test_run_train_resolves_the_default_device(recorded: list[tuple]) -> None:
    run.run_train("g", out="O")
    assert ("device", "auto") in recorded


def test_run_train_refuses_an_unknown_recipe_or_field(recorded: list[tuple]) -> None:
    assert refusal(ValueError, lambda: run.run_train("g", recipe="mnist", out="O")) == \
        "unknown recipe 'mnist'; choose one of cifar10, imagenet"
    assert refusal(TypeError, lambda: run.run_train("g", out="O", width=3, depth=None)) == \
        "run_train() got unknown TrainConfig fields: depth, width"
    assert recorded == []
