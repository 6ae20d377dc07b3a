"""What the perf scripts compute and print (never how fast): device_agreement, post_scoring, proxy_builds,
ray_throughput, store_race, swap_cost, swap_fn_cost and truth_sizes, whose figures docs/performance.md,
docs/results.md, docs/reliability.md, docs/transformers.md and the README quote.

Each script is loaded from perf/ by path. Its heavy or timed parts (the clock, a GPU, Ray, the full data bundle,
subprocesses) are replaced by fakes, its inner functions run on tiny inputs, and every golden value comes from a
naive computation written here (loops, hooks that count neurons, hand-worked numbers in comments).
"""

from __future__ import annotations

import dataclasses
import inspect
import random
import re
import sqlite3
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from swapnas import scoring
from swapnas.executors import LocalExecutor, RayExecutor
from swapnas.patterns import EXTENDED_ACTIVATIONS
from swapnas.session import configure, prepare
from swapnas.spaces import nb201
from swapnas.store import Record, ScoreKey, ScoreStore
from tests.script_tools import FakeClock, load_perf, naive_spearman


@pytest.fixture
def keep_threads() -> Any:
    """Some mains set torch's thread count for the whole process: put it back."""
    old = torch.get_num_threads()
    yield
    torch.set_num_threads(old)


def _argv(monkeypatch: pytest.MonkeyPatch, script: str, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", [f"{script}.py", *args])


def _naive_median(values: list[float]) -> float:
    """The middle of the sorted values (mean of the two middle ones for an even count)."""
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def _relu_neurons(net: nn.Module, x: torch.Tensor) -> int:
    """Neurons per sample of every ``nn.ReLU`` call on a 4-D input (what SWAP hooks by default), by forward hooks."""
    count = [0]

    def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        if args[0].dim() == 4:
            count[0] += out[0].numel()

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        net(x)
    for h in handles:
        h.remove()
    return count[0]


def _naive_swap(model: nn.Module, inputs: torch.Tensor, kinds: tuple, dims: tuple[int, ...]) -> int:
    """The authors' way: every hooked module's output as an (S, V) sign matrix, side by side; distinct columns."""
    cols: list[torch.Tensor] = []

    def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        if args[0].dim() in dims:
            cols.append((out.detach() > 0).reshape(out.shape[0], -1))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    with torch.no_grad():
        model(inputs)
    for h in handles:
        h.remove()
    return int(torch.unique(torch.cat(cols, dim=1).t().to(torch.uint8), dim=0).shape[0])


# --- perf/device_agreement.py ------------------------------------------------------------------------------------


def test_device_agreement_without_cuda_or_data_dir_says_why(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture) -> None:
    mod = load_perf("device_agreement")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _argv(monkeypatch, "device_agreement", "--data-dir", "nowhere")
    with pytest.raises(SystemExit, match="device_agreement.py needs a CUDA device"):
        mod.main()
    _argv(monkeypatch, "device_agreement")
    with pytest.raises(SystemExit) as exc:
        mod.main()
    assert exc.value.code == 2 and "--data-dir" in capsys.readouterr().err


class _MovableBatch:
    """The real batch, for either device (no GPU here): ``.to`` records where it was sent."""

    def __init__(self, batch: Any, moved: list[str]) -> None:
        self.batch, self.moved = batch, moved

    def to(self, device: torch.device) -> Any:
        self.moved.append(device.type)
        return self.batch


def test_device_agreement_prints_naive_figures_of_the_two_devices(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture,
                                                                  small_bundle: Path) -> None:
    """CUDA faked: five archs' 'CPU' and 'CUDA' scores, picked by hand. Relative differences |cpu - cuda| / cpu:
    5e-4, 0.5/1000.5 = 4.9975e-4, 0, 1e-4, 2e-4 -> 1 identical, max 5.00e-04, median (the sorted middle) 2.00e-04
    (the mean would be 2.60e-04); ranks of cuda 2,1,3,4,5 against 1..5 -> rho = 1 - 6*2/(5*24) = 0.9."""
    mod = load_perf("device_agreement")
    cpu = [1000.0, 1000.5, 2000.0, 4000.0, 5000.0]
    cuda = [1000.5, 1000.0, 2000.0, 4000.4, 4999.0]
    seen: dict[str, Any] = {"moved": [], "scored": []}

    def fake_prepare(**kw: Any) -> tuple:
        protocol, batch = prepare(**kw)
        seen["protocol"] = protocol
        return protocol, _MovableBatch(batch, seen["moved"])

    def fake_score_arch(arch: Any, build: Any, proxies: list, batch: Any, protocol: Any, device: torch.device) -> dict:
        assert build is nb201.build and [p.name for p in proxies] == ["swap"] and protocol is seen["protocol"]
        seen["scored"].append((str(arch), device.type))
        values = cpu if device.type == "cpu" else cuda
        return {"swap": types.SimpleNamespace(value=values[sum(d == device.type for _, d in seen["scored"]) - 1])}

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(mod, "prepare", fake_prepare)
    monkeypatch.setattr(mod, "score_arch", fake_score_arch)
    _argv(monkeypatch, "device_agreement", "--data-dir", str(small_bundle), "--archs", "5")
    mod.main()
    rng = random.Random(0)
    archs = [str(nb201.sample(rng)) for _ in range(5)]
    assert seen["scored"] == [(a, "cpu") for a in archs] + [(a, "cuda") for a in archs]
    assert seen["moved"] == ["cpu", "cuda"]
    # the "default protocol" is the CLI's: the same fingerprint as configure's for swap on nb201 / cifar10
    cli_protocol = configure("nb201", "cifar10", "swap", data_dir=str(small_bundle))[0]
    assert seen["protocol"].fingerprint == cli_protocol.fingerprint
    rel = [abs(c - g) / c for c, g in zip(cpu, cuda)]
    assert naive_spearman(cpu, cuda) == pytest.approx(0.9)
    assert capsys.readouterr().out.strip() == (
        f"5 archs, default protocol {nb201.SCORING_DEFAULTS}: identical 1, max relative difference 5.00e-04, "
        f"median {_naive_median(rel):.2e}, Spearman(cpu, cuda) 0.90000")
    assert f"{_naive_median(rel):.2e}" == "2.00e-04"


# --- perf/post_scoring.py ----------------------------------------------------------------------------------------


def _meta_params(arch: nb201.Arch, num_classes: int) -> int:
    with torch.device("meta"):
        return sum(p.numel() for p in nb201.build(arch, num_classes=num_classes).parameters())


def test_post_scoring_old_params_count_each_arch_even_from_its_ops_multiset() -> None:
    """The old count builds one network per *sorted* op multiset; an arch with the same ops on other edges takes
    the cached count: it must still be that arch's own count (a build of the arch itself, C16 N5, 100 classes)."""
    mod = load_perf("post_scoring")
    a = nb201.Arch(("nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3"))
    b = nb201.Arch(tuple(reversed(a.ops)))  # same multiset, other edges: served from the cache
    c = nb201.Arch(("none",) * 6)
    d = nb201.Arch(("nor_conv_3x3",) * 6)
    archs = [a, b, c, d]
    old = mod._old_params(archs, 100)
    assert old == [_meta_params(x, 100) for x in archs]
    assert old == [nb201.count_params(x, num_classes=100) for x in archs]  # the new side of the script
    assert old[2] < old[0] == old[1] < old[3]


def _naive_bootstrap(x: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> tuple[float, float]:
    """Percentile CI of Spearman rho over the same paired resamples (``default_rng(seed).integers`` one per
    resample), rho by loops, resamples with a constant side skipped."""
    rng = np.random.default_rng(seed)
    rhos = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(x), len(x))
        xs, ys = [float(x[i]) for i in idx], [float(y[i]) for i in idx]
        if len(set(xs)) > 1 and len(set(ys)) > 1:
            rhos.append(naive_spearman(xs, ys))
    return float(np.percentile(rhos, 2.5)), float(np.percentile(rhos, 97.5))


@pytest.mark.parametrize("x, y", [
    ([0.3, 1.2, 0.7, 2.5, 1.1, 0.9, 3.0, 0.2, 1.7, 2.2, 0.5, 1.4],
     [71.0, 80.5, 75.0, 88.0, 80.5, 73.0, 90.5, 70.0, 84.0, 86.0, 74.5, 79.0]),  # ties in y
    ([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 1.0, 2.0, 3.0, 3.0]),  # n = 5: some resamples have a constant side
])
def test_post_scoring_old_and_new_bootstrap_agree_with_a_naive_bootstrap(x: list[float], y: list[float]) -> None:
    mod = load_perf("post_scoring")
    xa, ya = np.array(x), np.array(y)
    old = mod._old_ci(xa, ya, 300, 3)
    new = mod._bootstrap_ci(xa, ya, 300, 3)
    assert old == new  # the script's "identical" is exact equality, and it holds
    assert old == pytest.approx(_naive_bootstrap(xa, ya, 300, 3), abs=1e-12)


def test_post_scoring_per_call_ms_is_the_median_of_seven_blocks_of_fifty(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake module whose calls cost 100 ms (the warm-up), then 1, 5, 2, 7, 3, 6, 40 ms per call in blocks 0..6:
    the per-call ms of the blocks are those, so the median is 5 (their mean: 9.14); the warm-up is left out
    (counted in block 0, it would make it 2.98 ms, the median still 5: hence the call count)."""
    mod = load_perf("post_scoring")
    clock = FakeClock()
    monkeypatch.setattr(mod, "time", clock)
    per_block = [1.0, 5.0, 2.0, 7.0, 3.0, 6.0, 40.0]  # median 5, mean 9.14
    calls = [0]

    def module(x: torch.Tensor) -> None:
        calls[0] += 1
        clock.now += 0.1 if calls[0] == 1 else per_block[(calls[0] - 2) // 50] / 1e3

    assert mod._per_call_ms(module, torch.zeros(1)) == pytest.approx(5.0)
    assert calls[0] == 1 + 7 * 50


def test_post_scoring_pools_compare_outputs_of_both_layouts(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture) -> None:
    mod = load_perf("post_scoring")
    ms = {("avg", False): 4.0, ("avg", True): 2.0, ("max", False): 12.0, ("max", True): 3.0}

    def per_call_ms(m: nn.Module, x: torch.Tensor) -> float:  # torch's op or ours (a subclass of it)
        assert tuple(x.shape) == (16, 16, 32, 32)
        ours = isinstance(m, (mod.ops.AvgPool2d, mod.ops.MaxPool2d))
        return ms[("avg" if isinstance(m, nn.AvgPool2d) else "max", ours)]

    monkeypatch.setattr(mod, "_per_call_ms", per_call_ms)
    mod._pools()
    assert capsys.readouterr().out.splitlines() == [
        "avg pool 3x3, 16x16x32x32: NCHW 4.00 ms, channels-last 2.00 ms (2.0x), same output: True",
        "max pool 3x3, 16x16x32x32: NCHW 12.00 ms, channels-last 3.00 ms (4.0x), same output: True"]

    class Off(mod.ops.MaxPool2d):  # our op 1e-6 off: the script must say the outputs differ
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x) + 1e-6

    monkeypatch.setattr(mod.ops, "MaxPool2d", Off)
    mod._pools()
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("same output: True") and out[1].endswith("same output: False")


@pytest.mark.parametrize("break_side", ["", "params", "ci"])
def test_post_scoring_main_reports_agreement_and_disagreement(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture, keep_threads: None,
                                                              break_side: str) -> None:
    """main on a fake 12-arch benchmark (pick_archs keeps all 12): both comparisons say True; a new side that is
    wrong by one parameter, or a CI bound off by 1e-12, makes that line say False."""
    mod = load_perf("post_scoring")
    rng = random.Random(5)
    archs = [nb201.sample(rng) for _ in range(12)]
    seen: list = []

    class Bench:
        def archs_for(self, task: str) -> list:
            seen.append(("archs_for", task))
            return archs

        def accuracies(self, given: list, task: str) -> np.ndarray:
            seen.append(("accuracies", task))
            assert given == archs
            return np.linspace(60.0, 75.0, len(given))[::-1] + np.array([0.5, 0] * 6)

    monkeypatch.setattr(mod, "get_benchmark", lambda name, data_dir: seen.append((name, data_dir)) or Bench())
    monkeypatch.setattr(mod, "_pools", lambda: print("(pools)"))
    if break_side == "params":
        real = nb201.count_params
        monkeypatch.setattr(mod.nb201, "count_params", lambda a, num_classes: real(a, num_classes=num_classes) + 1)
    if break_side == "ci":
        real_ci = mod._bootstrap_ci
        monkeypatch.setattr(mod, "_bootstrap_ci", lambda *a: (real_ci(*a)[0], real_ci(*a)[1] + 1e-12))
    _argv(monkeypatch, "post_scoring", "--data-dir", "/some/data")
    mod.main()
    out = capsys.readouterr().out.splitlines()
    assert seen == [("nb201", "/some/data"), ("archs_for", "cifar100"), ("accuracies", "cifar100")]
    assert out[0].startswith("params, 1000 archs: build per op multiset ")
    assert out[0].endswith(f"same counts: {break_side != 'params'}")
    assert out[1].startswith("bootstrap CI, n = 1000, 1000 resamples: spearmanr per resample ")
    assert out[1].endswith(f"identical: {break_side != 'ci'}")
    assert out[2] == "(pools)"


# --- perf/proxy_builds.py ----------------------------------------------------------------------------------------


@pytest.fixture
def pool_threshold() -> Any:
    """proxy_builds._timed sets scoring.POOL_MIN_PROXIES and leaves it set: put it back."""
    old = scoring.POOL_MIN_PROXIES
    yield
    scoring.POOL_MIN_PROXIES = old


def test_proxy_builds_switch_really_changes_the_builds_and_not_the_values(pool_threshold: None) -> None:
    """The script's two sides on a tiny real network (C=4, N=1, S=8, three proxies that build): the pool builds
    once, the other side once per proxy (3), and every value is the same."""
    mod = load_perf("proxy_builds")
    protocol, batch, proxies = configure("nb201", "cifar10", "swap,nwot,synflow", batch_size=8, repeats=1,
                                         net={"C": 4, "N": 1}, inputs="synthetic")
    builds: list[dict] = []

    def build(arch: Any, **kw: Any) -> nn.Module:
        builds.append(kw)
        return nb201.build(arch, **kw)

    space = types.SimpleNamespace(build=build)
    arch = nb201.sample(random.Random(0))
    values = []
    for pool, n_builds in ((True, 1), (False, 3), (True, 1)):
        builds.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds, v = mod._timed(arch, space, proxies, batch, protocol, torch.device("cpu"), pool)
        assert len(builds) == n_builds and seconds >= 0
        values.append(v)
    assert values[0] == values[1] == values[2]
    assert sorted(values[0]) == ["nwot", "swap", "synflow"] and all(len(x) == 1 for x in values[0].values())


def _fake_case(monkeypatch: pytest.MonkeyPatch, mod: types.ModuleType, pooled: list[float], plain: list[float],
               changed: int | None = None) -> list[tuple[str, bool]]:
    """``_case`` with score_arch, configure, the clock and the pool costs faked: arch i costs pooled[i] or plain[i]
    seconds depending on the pool setting score_arch sees; ``changed``: that arch's score differs in the pool."""
    clock = FakeClock()
    monkeypatch.setattr(mod, "time", clock)
    calls: list[tuple[str, bool]] = []
    order: list[str] = []

    def score_arch(arch: Any, build: Any, proxies: list, batch: Any, protocol: Any, device: torch.device) -> dict:
        pool = scoring.POOL_MIN_PROXIES == mod.DEFAULT_MIN
        assert scoring.POOL_MIN_PROXIES in (mod.DEFAULT_MIN, 1 << 30)
        calls.append((str(arch), pool))
        if str(arch) not in order:
            order.append(str(arch))
        i = order.index(str(arch))
        if len(calls) > 1:  # (the first call is the warm-up: it costs nothing here)
            clock.now += (pooled if pool else plain)[i]
        value = 7.0 + (1e-9 if pool and i == changed else 0.0)
        return {"swap": Record("ok", value, 0.0, [value], 0.0, None, None)}

    monkeypatch.setattr(mod, "score_arch", score_arch)
    monkeypatch.setattr(mod, "configure", lambda *a, **k: (None, types.SimpleNamespace(to=lambda d: "batch"), []))
    monkeypatch.setattr(mod, "_pool_costs", lambda *a: (1.0, 2.0, 3.0))
    return calls


def test_proxy_builds_case_times_each_side_of_each_arch(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture, pool_threshold: None) -> None:
    """Two archs: pooled 10 and 30 ms, plain 20 and 50 ms -> medians 20.0 and 35.0 ms, ratio 35 / 20 = 1.75x. Had
    the second arch's (plain-first) times been swapped, the medians would be 30.0 and 25.0."""
    mod = load_perf("proxy_builds")
    calls = _fake_case(monkeypatch, mod, pooled=[0.010, 0.030], plain=[0.020, 0.050])
    mod._case("nb201", "best", "a label", types.SimpleNamespace(archs=2, data_dir=None), torch.device("cpu"))
    rng = random.Random(0)
    a0, a1 = str(nb201.sample(rng)), str(nb201.sample(rng))
    # warm-up with the pool; arch 0 pool first, arch 1 pool second
    assert calls == [(a0, True), (a0, True), (a0, False), (a1, False), (a1, True)]
    row = capsys.readouterr().out.split()
    assert row[:3] == ["nb201", "a", "label"]
    assert row[3:] == ["20.0", "35.0", "1.75x", "1.00", "2.00", "3.00"]


def test_proxy_builds_case_stops_on_a_score_the_pool_changed(monkeypatch: pytest.MonkeyPatch,
                                                             pool_threshold: None) -> None:
    mod = load_perf("proxy_builds")
    _fake_case(monkeypatch, mod, pooled=[0.01] * 3, plain=[0.01] * 3, changed=1)
    rng = random.Random(0)
    archs = [str(nb201.sample(rng)) for _ in range(3)]
    with pytest.raises(SystemExit) as exc:
        mod._case("nb201", "best", "x", types.SimpleNamespace(archs=3, data_dir=None), torch.device("cpu"))
    assert str(exc.value).startswith(f"nb201 best: the pool changed a score of {archs[1]}: ")


def test_proxy_builds_pool_costs_are_build_snapshot_put_back_medians_in_ms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build, keep and take of a fake pool cost 10+i, 2+i and 0.5+i ms on the i-th of n = 5 rounds (i = 0, 4, 1,
    3, 2 in turn): medians 12, 4 and 2.5 ms, in that column order."""
    mod = load_perf("proxy_builds")
    clock = FakeClock()
    monkeypatch.setattr(mod, "time", clock)
    rounds = iter([0, 4, 1, 3, 2])
    model = nn.Linear(1, 1)
    state = {"i": 0}

    def build_scored_net(build: Any, arch: Any, protocol: Any, num_classes: int, repeat: int, device: Any) -> Any:
        assert (arch, num_classes, repeat) == ("arch", 10, 0)
        state["i"] = next(rounds)
        clock.now += (10 + state["i"]) / 1e3
        return model

    class Pool:
        def keep(self, repeat: int, m: nn.Module) -> None:
            assert repeat == 0 and m is model
            clock.now += (2 + state["i"]) / 1e3

        def take(self, repeat: int) -> nn.Module:
            clock.now += (0.5 + state["i"]) / 1e3
            return model

    monkeypatch.setattr(mod, "build_scored_net", build_scored_net)
    monkeypatch.setattr(mod, "NetPool", Pool)
    costs = mod._pool_costs("arch", types.SimpleNamespace(build=None), None,
                            types.SimpleNamespace(num_classes=10), "cpu", n=5)
    assert costs == pytest.approx((12.0, 4.0, 2.5))


def test_proxy_builds_main_puts_the_pool_threshold_back_after_a_failure(monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture,
                                                                        keep_threads: None,
                                                                        pool_threshold: None) -> None:
    mod = load_perf("proxy_builds")
    rows: list[str] = []

    def case(name: str, which: str, label: str, args: Any, device: torch.device) -> None:
        rows.append(name)
        scoring.POOL_MIN_PROXIES = 1 << 30  # as _timed leaves it after the plain side
        if len(rows) == 2:
            raise SystemExit("changed")

    monkeypatch.setattr(mod, "_case", case)
    _argv(monkeypatch, "proxy_builds", "--archs", "3")
    with pytest.raises(SystemExit, match="changed"):
        mod.main()
    assert rows == ["darts", "nb201"] and scoring.POOL_MIN_PROXIES == mod.DEFAULT_MIN == 2
    assert "3 archs (random.Random(0)) per case" in capsys.readouterr().out


# --- perf/ray_throughput.py --------------------------------------------------------------------------------------


def _store(path: Path, rows: list[tuple[str, float]], seconds: float, device: str) -> None:
    with ScoreStore(path) as s:
        for arch, value in rows:
            s.put(ScoreKey("nb201", arch, "swap", "fp", 0, 16, 1, "{}"),
                  Record("ok", value, 0.0, [value], seconds, None, None), device=device)


def test_ray_throughput_rows_compare_scores_not_timings(tmp_path: Path) -> None:
    """Two stores with the same scores written in another order, with other seconds, device and creation times,
    are the same; one value 1e-9 off, or one row more, is not."""
    mod = load_perf("ray_throughput")
    _store(tmp_path / "a.sqlite", [("x", 1.0), ("y", 2.0)], 0.5, "cpu")
    _store(tmp_path / "b.sqlite", [("y", 2.0), ("x", 1.0)], 9.0, "ray")
    _store(tmp_path / "c.sqlite", [("x", 1.0), ("y", 2.0 + 1e-9)], 0.5, "cpu")
    _store(tmp_path / "d.sqlite", [("x", 1.0), ("y", 2.0), ("z", 3.0)], 0.5, "cpu")
    a = mod._rows(tmp_path / "a.sqlite")
    assert a == [("x", "swap", "ok", 1.0, "[1.0]"), ("y", "swap", "ok", 2.0, "[2.0]")]
    assert a == mod._rows(tmp_path / "b.sqlite")
    assert a != mod._rows(tmp_path / "c.sqlite") and a != mod._rows(tmp_path / "d.sqlite")


@pytest.mark.parametrize("ray_differs", [False, True])
def test_ray_throughput_main_reports_rates_and_store_identity(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture, ray_differs: bool) -> None:
    """No Ray: the 'Ray' run is a local executor behind a fake RayExecutor, both runs score 3 real tiny archs
    into their stores. Fake clock: local scoring 6 s, Ray start 3 s, Ray scoring 2 s -> 3/6 = 0.5 archs/s local,
    3/5 = 0.6 end to end, 3/2 = 1.5 scoring alone; speed-ups 6/5 = 1.20x and 6/2 = 3.00x. A Ray side whose
    first score is off by one makes the stores differ."""
    mod = load_perf("ray_throughput")
    clock = FakeClock()
    monkeypatch.setattr(mod, "time", clock)
    real_score_archs = mod.score_archs

    def score_archs(*a: Any, executor: Any = None, **k: Any) -> dict:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = real_score_archs(*a, executor=executor, **k)
        clock.now += 6.0 if executor is None else 2.0
        return out

    class Skewed(LocalExecutor):
        def score(self, task: Any, device: torch.device, items: Any) -> Any:
            for i, (arch, recs) in enumerate(super().score(task, device, items)):
                if ray_differs and i == 0:
                    recs = {**recs, "swap": dataclasses.replace(recs["swap"], value=recs["swap"].value + 1)}
                yield arch, recs

    made: list[dict] = []

    class FakeRay:
        def __init__(self, **kw: Any) -> None:
            inspect.signature(RayExecutor).bind(**kw)  # the script's arguments fit the real class
            made.append(kw)

        def __enter__(self) -> LocalExecutor:
            clock.now += 3.0
            return Skewed()

        def __exit__(self, *exc: object) -> None:
            pass

    rows: list[list] = []
    real_rows = mod._rows
    monkeypatch.setattr(mod, "_rows", lambda path: rows.append(real_rows(path)) or rows[-1])
    monkeypatch.setattr(mod, "score_archs", score_archs)
    monkeypatch.setattr(mod, "RayExecutor", FakeRay)
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(cluster_resources=lambda: {"CPU": 2.0}))
    _argv(monkeypatch, "ray_throughput", "--archs", "3", "--channels", "4", "--batch-size", "4", "--ray-cpus", "2")
    mod.main()
    assert made == [{"num_cpus": 2, "chunk_size": 1}]
    archs = [str(a) for a in random.Random(0).sample(list(nb201.all_archs()), 3)]
    assert [[r[0] for r in got] for got in rows] == [sorted(archs)] * 2
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "NB201 sweep: 3 archs, C=4 N=1 S=4 R=1, proxies swap, synthetic inputs, cpu"
    assert re.fullmatch(r"local \(\d+ torch threads\):\s+6\.0 s\s+0\.5 archs/s", out[1])
    assert re.fullmatch(r"ray \(2 CPUs, 1 thread/task\):\s+5\.0 s\s+0\.6 archs/s end to end "
                        r"\(Ray start 3\.0 s; scoring alone 1\.5 archs/s\)", out[2])
    assert out[3] == f"speed-up 1.20x end to end, 3.00x scoring alone; stores identical: {not ray_differs}"


# --- perf/store_race.py ------------------------------------------------------------------------------------------


def _run_worker(monkeypatch: pytest.MonkeyPatch, mod: types.ModuleType, path: Path, who: str, n: int) -> None:
    """The script's WORKER, run in this process (start time 0: no wait)."""
    monkeypatch.setattr(sys, "argv", ["-c", str(path), who, "0", str(n)])
    exec(compile(mod.WORKER, "<store_race WORKER>", "exec"), {"__name__": "__main__"})


def test_store_race_worker_writes_a_protocol_a_digest_and_its_scores(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture,
                                                                    tmp_path: Path) -> None:
    mod = load_perf("store_race")
    path = tmp_path / "shared.sqlite"
    _run_worker(monkeypatch, mod, path, "0", 3)
    _run_worker(monkeypatch, mod, path, "1", 2)
    assert capsys.readouterr().out.splitlines() == ["ok", "ok"]
    db = sqlite3.connect(path)
    try:
        archs = [r[0] for r in db.execute("SELECT arch FROM scores ORDER BY arch")]
        values = dict(db.execute("SELECT arch, value FROM scores"))
        protocols = db.execute("SELECT fingerprint, description FROM protocols").fetchall()
        digests = db.execute("SELECT proxy, digest FROM proxy_code").fetchall()
    finally:
        db.close()
    assert archs == ["arch-0-0", "arch-0-1", "arch-0-2", "arch-1-0", "arch-1-1"]
    assert values["arch-0-2"] == 2.0 and values["arch-1-1"] == 1.0
    assert protocols == [("fp", '{"made": "up"}')]
    assert digests == [("swap@1", "digest-0")]  # the first worker's: since session 55 only accept-code replaces it
    _run_worker(monkeypatch, mod, tmp_path, "2", 1)  # a folder is no store: the worker reports, not crashes
    line = capsys.readouterr().out.strip()
    assert line.startswith("FAILED after ") and "is a folder" in line


class _FakeProcess:
    def __init__(self, args: list[str], out: str) -> None:
        self.args, self.out = args, out

    def communicate(self) -> tuple[str, str]:
        return self.out, "a traceback, maybe"


def test_store_race_race_starts_all_together_and_keeps_each_last_line(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    mod = load_perf("store_race")
    monkeypatch.setattr(mod, "time", FakeClock(1000.0))
    outs = iter(["starting\nok\n", "", "x\nFAILED after 0.10 s: database is locked\n\n"])
    started: list[list[str]] = []

    def popen(args: list[str], **kw: Any) -> _FakeProcess:
        assert kw["text"] is True and kw["stdout"] == kw["stderr"] == mod.subprocess.PIPE
        started.append(args)
        return _FakeProcess(args, next(outs))

    monkeypatch.setattr(mod.subprocess, "Popen", popen)
    path = tmp_path / "s.sqlite"
    assert mod.race(path, 3, 7) == ["ok", "no output", "FAILED after 0.10 s: database is locked"]
    assert started == [[sys.executable, "-c", mod.WORKER, str(path), str(i), "1001.5", "7"] for i in range(3)]


def test_store_race_main_counts_the_failed_processes(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    """3 trials of 2 processes: one failure in trial 1, a process that printed nothing (died) in trial 2 -> '2 of
    6', the first being trial 1's; the shared-store trial, all ok -> '0 of 2'."""
    mod = load_perf("store_race")
    calls: list[tuple[str, int, int]] = []
    lines = {"fresh1.sqlite": ["ok", "FAILED after 0.01 s: database is locked"], "fresh2.sqlite": ["no output", "ok"]}

    def race(path: Path, procs: int, writes: int) -> list[str]:
        calls.append((path.name, procs, writes))
        return lines.get(path.name, ["ok"] * procs)

    monkeypatch.setattr(mod, "race", race)
    _argv(monkeypatch, "store_race", "--trials", "3", "--procs", "2", "--writes", "7")
    mod.main()
    assert calls == [("fresh0.sqlite", 2, 1), ("fresh1.sqlite", 2, 1), ("fresh2.sqlite", 2, 1),
                     ("shared.sqlite", 2, 7)]
    assert capsys.readouterr().out.splitlines() == [
        "fresh store opened at once, 3 trials: 2 of 6 processes failed; first: FAILED after 0.01 s: database is locked",
        "7 scores written at once: 0 of 2 processes failed"]


@pytest.mark.slow
def test_store_race_race_runs_real_processes_that_wait_for_the_start(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    """Real subprocesses with a light worker (no torch import): each waits for the common start and prints its
    arguments; the clock is moved back so that the start is 0.1 s away, not 1.5 s."""
    import time

    mod = load_perf("store_race")
    monkeypatch.setattr(mod, "time", types.SimpleNamespace(time=lambda: time.time() - 1.4))
    monkeypatch.setattr(mod, "WORKER", "import sys, time\nstart = float(sys.argv[3])\nwhile time.time() < start:\n"
                                       "    pass\nprint('started')\nprint(sys.argv[2], sys.argv[4], sys.argv[1])\n")
    path = tmp_path / "x.sqlite"
    assert mod.race(path, 2, 5) == [f"0 5 {path}", f"1 5 {path}"]


# --- perf/swap_cost.py -------------------------------------------------------------------------------------------


def test_swap_cost_time_pair_alternates_and_drops_the_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """f costs 9 (warm-up), 1, 5, 3 and g 9, 2, 8, 4: medians of the timed runs 3 and 4 (with the warm-up they
    would be 4 and 6)."""
    mod = load_perf("swap_cost")
    clock = FakeClock()
    monkeypatch.setattr(mod, "time", clock)
    order: list[str] = []
    costs = {"f": iter([9.0, 1.0, 5.0, 3.0]), "g": iter([9.0, 2.0, 8.0, 4.0])}

    def run(name: str) -> Any:
        def fn() -> None:
            order.append(name)
            clock.now += next(costs[name])
        return fn

    assert mod._time_pair(run("f"), run("g"), torch.device("cpu"), 3) == (3.0, 4.0)
    assert order == ["f", "g"] * 4


@pytest.mark.parametrize("samples, width", [(8, 1), (16, 2), (24, 4), (64, 8), (72, 16)])
def test_swap_cost_pattern_bytes_by_hand(samples: int, width: int) -> None:
    """Two ReLUs on 4-D maps: 2 x 4 x 4 + 3 x 4 x 4 = 80 neurons per sample; the ReLU after the Linear has a 2-D
    input, which SWAP does not hook. Packed: ``width`` bytes per neuron (the narrowest word of S bits: uint8,
    int16, int32, int64, then 64-bit words); float: 80 x S x 4 bytes."""
    mod = load_perf("swap_cost")
    net = nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU(), nn.Conv2d(2, 3, 1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(48, 5), nn.ReLU())
    x = torch.randn(samples, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    assert _relu_neurons(net, x) == 80
    assert mod._pattern_bytes(net, x) == (80 * width, 80 * samples * 4)


def test_swap_cost_ratio_is_the_median_of_per_arch_ratios_and_memory_a_byte_count(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Three archs, fake times (forward, swap) = (10, 30), (20, 24), (40, 44) ms: ratios 3.0, 1.2, 1.1 -> median
    1.20 (the quotient of the median times, 30 / 20 = 1.5, is what the script must not print). Memory: the neurons
    of each arch's default net (C16 N1, S=16, 32x32) counted by hooks, 2 bytes each packed, 64 as float."""
    mod = load_perf("swap_cost")
    times = iter([(0.010, 0.030), (0.020, 0.024), (0.040, 0.044)])
    monkeypatch.setattr(mod, "_time_pair", lambda f, g, device, repeat: next(times))
    _argv(monkeypatch, "swap_cost", "--device", "cpu", "--archs", "3", "--repeat", "1", "--only", "default")
    mod.main()
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and "ratio the median over archs of each arch's swap/forward" in out[0]
    rng = random.Random(0)
    x = torch.randn(16, 3, 32, 32)
    neurons = [_relu_neurons(nb201.build(nb201.sample(rng), C=16, N=1), x) for _ in range(3)]
    packed, floats = _naive_median([2 * v for v in neurons]), _naive_median([16 * 4 * v for v in neurons])
    assert floats == 32 * packed
    assert re.fullmatch(r"default C16 N1, S=16 +20\.00 +30\.00 +1\.20 +"
                        + re.escape(f"patterns {packed / 2**20:.2f} MiB packed vs {floats / 2**20:.1f} MiB float"),
                        out[2])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_swap_cost_peak_counts_what_the_function_allocates() -> None:
    mod = load_perf("swap_cost")
    device = torch.device("cuda")
    peak = mod._peak(lambda: torch.empty(2**20, dtype=torch.float32, device=device), device)
    assert 4 * 2**20 <= peak < 5 * 2**20


# --- perf/swap_fn_cost.py ----------------------------------------------------------------------------------------


def test_swap_fn_cost_encoder_twins_give_the_naive_count(keep_threads: None) -> None:
    """The F.gelu encoder and its nn.GELU twin share their weights; swap_fn on the first, swap_ext and swap_fn
    on the twin all give the count of distinct columns of the twin's GELU sign maps (hooked here by hand)."""
    mod = load_perf("swap_fn_cost")
    torch.set_num_threads(1)
    fn, twin = mod.encoders()
    assert fn.layers[0].activation is F.gelu and all(isinstance(lay.activation, nn.GELU) for lay in twin.layers)
    assert all(torch.equal(a, b) for a, b in zip(fn.state_dict().values(), twin.state_dict().values()))
    x = torch.randn(32, 16, 256, generator=torch.Generator().manual_seed(1))
    naive = _naive_swap(twin, x, (nn.GELU,), (2, 3, 4))
    assert mod.timed(fn, x, True, calls=1)[0] == naive
    assert mod.timed(twin, x, False, calls=1)[0] == naive
    assert mod.timed(twin, x, True, calls=1)[0] == naive


def test_swap_fn_cost_flexibert_values_give_the_naive_count(keep_threads: None) -> None:
    mod = load_perf("swap_fn_cost")
    torch.set_num_threads(1)
    net = mod.fb.build(mod.fb.sample(random.Random(0))).train()
    ids = mod.token_batch("glue", 32, length=16).inputs
    naive = _naive_swap(net, ids, tuple(EXTENDED_ACTIVATIONS), (2, 3, 4))
    assert mod.timed(net, ids, False, calls=1)[0] == naive == mod.timed(net, ids, True, calls=1)[0]


@pytest.mark.parametrize("values, agree", [
    ([60562, 60562, 60562, 83767, 83767], True),
    ([60561, 60562, 60562, 83767, 83767], False),  # the function twin differs
    ([60562, 60562, 60563, 83767, 83767], False),  # swap_fn differs from swap_ext on the twin
    ([60562, 60562, 60562, 83767, 83766], False),  # on FlexiBERT
])
def test_swap_fn_cost_main_labels_rows_by_their_flags_and_checks_agreement(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, keep_threads: None,
        values: list[int], agree: bool) -> None:
    """timed faked with docs/transformers.md's times (75.8, 63.9, 63.3, 147.0, 156.2 ms): the ratios are
    63.3 / 63.9 = 0.99x and 156.2 / 147.0 = 1.06x, the doc's figures."""
    mod = load_perf("swap_fn_cost")
    seconds = [0.0758, 0.0639, 0.0633, 0.1470, 0.1562]
    calls: list[tuple] = []

    def timed(model: nn.Module, inputs: torch.Tensor, functions: bool) -> tuple[int, float]:
        calls.append((model, inputs, functions))
        return values[len(calls) - 1], seconds[len(calls) - 1]

    monkeypatch.setattr(mod, "timed", timed)
    mod.main()
    (fn, x, _), (twin, x2, _), (twin2, _, _), (net, ids, _), (net2, ids2, _) = calls
    assert [c[2] for c in calls] == [True, False, True, False, True]
    assert fn.layers[0].activation is F.gelu and isinstance(twin.layers[0].activation, nn.GELU) and twin is twin2
    assert net is net2 and net is not twin and type(net).__module__.startswith("swapnas.spaces.flexibert")
    assert tuple(x.shape) == (32, 16, 256) and x is x2 and ids.dtype == torch.int64 and tuple(ids.shape) == (32, 16)
    assert ids is ids2
    out = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in out[2:7]]
    assert [r[-3] for r in rows] == ["swap_fn" if c[2] else "swap_ext" for c in calls]  # label = what ran
    assert [int(r[-2]) for r in rows] == values
    assert [r[-1] for r in rows] == ["75.8", "63.9", "63.3", "147.0", "156.2"]
    assert out[7] == f"values agree between function and module twins and between swap_ext and swap_fn: {agree}"
    assert out[8] == "swap_fn / swap_ext time: encoder twin 0.99x, flexibert 1.06x"


# --- perf/truth_sizes.py -----------------------------------------------------------------------------------------


@pytest.fixture
def two_arch_truth(small_bundle: Path, tmp_path: Path) -> Path:
    """A data folder whose darts/swap_darts_dev300.csv holds the small bundle's first two archs."""
    lines = (small_bundle / "darts" / "swap_darts_dev300.csv").read_text().splitlines(keepends=True)
    (tmp_path / "darts").mkdir()
    (tmp_path / "darts" / "swap_darts_dev300.csv").write_text("".join(lines[:3]))
    return tmp_path


@pytest.mark.parametrize("off", [0.0, 1e-3])
def test_truth_sizes_compares_counted_and_built_floats(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture, two_arch_truth: Path,
                                                       off: float) -> None:
    """Every built size is checked against a count of the meta network's parameters by hand (auxiliary head
    left out, DARTS CIFAR-10 final networks: a few million); a built side one parameter off is reported."""
    mod = load_perf("truth_sizes")
    real = mod.count_params_k
    built: list[tuple[float, int]] = []

    def count_params_k(model: nn.Module) -> float:
        by_hand = 0
        for name, p in model.named_parameters():
            if not name.startswith("auxiliary") and ".auxiliary" not in name:
                by_hand += p.numel()
        built.append((real(model), by_hand))
        return built[-1][0] + off

    monkeypatch.setattr(mod, "count_params_k", count_params_k)
    _argv(monkeypatch, "truth_sizes", "--data-dir", str(two_arch_truth))
    mod.main()
    assert len(built) == 2 and all(k == n / 1e3 and 1e6 < n < 1e7 for k, n in built)
    out = capsys.readouterr().out.strip()
    assert re.fullmatch(r"2 archs: without a build \d+\.\d\d s, with a meta-device build each \d+\.\d\d s; "
                        rf"the same floats: {off == 0}", out)


def test_truth_sizes_needs_a_data_dir(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    mod = load_perf("truth_sizes")
    _argv(monkeypatch, "truth_sizes")
    with pytest.raises(SystemExit) as exc:
        mod.main()
    assert exc.value.code == 2 and "--data-dir" in capsys.readouterr().err


def test_device_agreement_and_swap_cost_refuse_arguments_that_give_no_figure(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # session 49: --archs 0 crashed on max() of no archs (1 gave a nan ρ); an --only that matched nothing printed
    # the headers alone
    agree, cost = load_perf("device_agreement"), load_perf("swap_cost")
    for archs in ("0", "1"):
        monkeypatch.setattr(sys, "argv", ["device_agreement.py", "--data-dir", "x", "--archs", archs])
        with pytest.raises(SystemExit) as exc:
            agree.main()
        assert exc.value.code == 2
        assert capsys.readouterr().err.endswith(f"error: --archs must be >= 2 (a rank correlation needs two archs; "
                                                f"got {archs})\n")
    monkeypatch.setattr(sys, "argv", ["swap_cost.py", "--device", "cpu", "--only", "nothing"])
    with pytest.raises(SystemExit) as exc:
        cost.main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error: --only 'nothing' matches no configuration: " in err and repr(cost.CONFIGS[0][0]) in err
