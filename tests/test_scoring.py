"""Protocol, per-arch seeds, the store: resume, failures, order independence."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
import torch
from torch import nn

from swapnas.data import load_batch
from swapnas.proxies import get_proxy, register, resolve
from swapnas.proxies.registry import _REGISTRY
from swapnas.scoring import Protocol, arch_seed, build_scored_net, gaussian_init, score_arch
from swapnas.spaces import nb201
from swapnas.store import ScoreStore
from tests.registry_tools import registry_snapshot

NET = {"C": 4, "N": 1}


@pytest.fixture()
def batch():
    return load_batch("cifar10", 8, inputs="synthetic", seed=3)


def _protocol(batch, repeats=2) -> Protocol:
    return Protocol("nb201", "cifar10", 8, repeats=repeats, seed=0, net=NET, batch_digest=batch.digest)


def _archs(n: int) -> list[nb201.Arch]:
    rng = random.Random(0)
    return [nb201.sample(rng) for _ in range(n)]


def test_arch_seed_is_stable_and_distinct() -> None:
    a = arch_seed(0, "nb201", "x", 0)
    assert a == arch_seed(0, "nb201", "x", 0) and 0 <= a < 2**63
    assert len({arch_seed(0, "nb201", "x", r) for r in range(10)}) == 10
    assert arch_seed(1, "nb201", "x", 0) != a


def test_gaussian_init_matches_the_spec() -> None:
    net = nb201.build(_archs(1)[0], C=4, N=1)
    gaussian_init(net, torch.Generator().manual_seed(0))
    convs = torch.cat([m.weight.flatten() for m in net.modules() if isinstance(m, nn.Conv2d)])
    convs = convs.detach()
    assert abs(float(convs.mean())) < 0.1 and abs(float(convs.std()) - 1) < 0.1
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.all(m.weight == 1) and torch.all(m.bias == 0) for m in bns)
    assert torch.all(net.classifier.bias == 0)


@pytest.mark.slow  # > 5 s
def test_scores_do_not_depend_on_order(batch) -> None:
    proxies = resolve("swap,params")
    prot = _protocol(batch)
    archs = _archs(6)
    fwd = [score_arch(a, nb201.build, proxies, batch, prot, torch.device("cpu"))["swap"].values for a in archs]
    bwd = [score_arch(a, nb201.build, proxies, batch, prot, torch.device("cpu"))["swap"].values
           for a in reversed(archs)][::-1]
    assert fwd == bwd
    assert all(len(v) == 2 for v in fwd)


def test_repeats_use_different_inits(batch) -> None:
    a = _archs(1)[0]
    prot = _protocol(batch)
    w0 = build_scored_net(nb201.build, a, prot, 10, 0, torch.device("cpu")).stem[0].weight
    w1 = build_scored_net(nb201.build, a, prot, 10, 1, torch.device("cpu")).stem[0].weight
    assert not torch.equal(w0, w1)


def test_store_resume_skips_and_swap_reg_is_derived(batch, tmp_path) -> None:
    proxies = resolve("swap,swap_reg")
    proxies = [p.configure(mu=5.0, sigma=4.0) if p.name == "swap_reg" else p for p in proxies]
    prot = _protocol(batch)
    a = _archs(1)[0]
    with ScoreStore(tmp_path / "s.sqlite") as store:
        first = score_arch(a, nb201.build, proxies, batch, prot, torch.device("cpu"), store)
        assert store.count() == 2
    size_k = nb201.count_params(a, **NET) / 1e3
    factor = math.exp(-((size_k - 5.0) ** 2) / 4.0)
    assert first["swap_reg"].value == pytest.approx(first["swap"].value * factor)
    calls = []
    with registry_snapshot():  # swap's code replaced by one that records its calls
        _REGISTRY["swap"] = replace(_REGISTRY["swap"], fn=lambda *x, **k: calls.append(1) or 0.0)
        with ScoreStore(tmp_path / "s.sqlite") as store:
            again = score_arch(a, nb201.build, resolve("swap"), batch, prot, torch.device("cpu"), store)
            # a new mu needs no new forward pass: it is derived from the stored swap values
            other = get_proxy("swap_reg").configure(mu=6.0, sigma=4.0)
            derived = score_arch(a, nb201.build, [other], batch, prot, torch.device("cpu"), store)
    assert calls == [] and again["swap"].values == first["swap"].values
    assert derived["swap_reg"].value == pytest.approx(first["swap"].value * math.exp(-((size_k - 6) ** 2) / 4))


def test_failures_are_stored_and_reported(batch, tmp_path, scratch_registry) -> None:
    @register("_test_nan")
    def nan_proxy(model, batch):
        """always NaN"""
        return float("nan")

    @register("_test_raise")
    def raising(model, batch):
        """always raises"""
        raise RuntimeError("exploded on purpose")

    prot = _protocol(batch, repeats=1)
    with ScoreStore(tmp_path / "f.sqlite") as store:
        out = score_arch(_archs(1)[0], nb201.build, resolve("_test_nan,_test_raise"), batch, prot,
                         torch.device("cpu"), store)
        assert not out["_test_nan"].ok and "non-finite" in out["_test_nan"].error
        assert not out["_test_raise"].ok and "RuntimeError: exploded on purpose" in out["_test_raise"].error
        assert store.count() == 2
        stored = store.get(prot.key(str(_archs(1)[0]), get_proxy("_test_raise")))
        assert stored is not None and stored.status == "failed"


def test_protocol_fingerprint_tracks_the_batch(small_bundle) -> None:
    b1 = load_batch("cifar10", 8, data_dir=small_bundle, seed=0)
    b2 = load_batch("cifar10", 8, data_dir=small_bundle, seed=1)
    p1 = Protocol("nb201", "cifar10", 8, batch_digest=b1.digest)
    p2 = Protocol("nb201", "cifar10", 8, batch_digest=b2.digest)
    assert p1.fingerprint != p2.fingerprint
    with pytest.raises(ValueError, match="init must be one of"):
        Protocol("nb201", "cifar10", 8, init="xavier")


def test_interrupt_loses_at_most_the_arch_in_flight(batch, tmp_path, scratch_registry) -> None:
    from swapnas.session import score_archs

    seen: list[int] = []

    @register("_test_interrupt")
    def interrupting(model, batch):
        """raises KeyboardInterrupt on the 4th arch"""
        seen.append(1)
        if len(seen) == 4:
            raise KeyboardInterrupt
        return float(len(seen))

    prot = _protocol(batch, repeats=1)
    archs = _archs(6)
    proxies = resolve("_test_interrupt")
    with ScoreStore(tmp_path / "k.sqlite") as store:
        with pytest.raises(KeyboardInterrupt):
            score_archs(archs, "nb201", proxies, prot, batch, store, torch.device("cpu"), progress=False)
        assert store.count() == 3  # the three finished archs are committed, nothing else
        recs = score_archs(archs, "nb201", proxies, prot, batch, store, torch.device("cpu"), progress=False)
    # the rerun scored only the three missing archs and kept the stored three
    assert [r.value for r in recs["_test_interrupt"]][:3] == [1.0, 2.0, 3.0]
    assert len(seen) == 4 + 3 and store.path.endswith("k.sqlite")


def test_peak_memory_is_stored_per_metric(batch, tmp_path, scratch_registry) -> None:
    @register("_test_hungry")
    def hungry(model, batch):
        """holds 200 MB for a moment"""
        big = torch.ones(50_000_000)
        import time

        time.sleep(0.05)
        return float(big[0])

    with ScoreStore(tmp_path / "m.sqlite") as store:
        out = score_arch(_archs(1)[0], nb201.build, resolve("_test_hungry,params"), batch, _protocol(batch, 1),
                         torch.device("cpu"), store)
    assert out["_test_hungry"].peak_mem_bytes >= 150e6
    assert out["params"].peak_mem_bytes < 150e6


def _state(model: nn.Module) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("space, net", [pytest.param("nb201", NET, marks=pytest.mark.slow),  # > 5 s each
                                        pytest.param("darts", {"C": 4, "layers": 2}, marks=pytest.mark.slow),
                                        ("nb101", {"C": 8, "stacks": 1, "cells": 1})])
def test_one_build_reinitialised_per_repeat_equals_a_build_per_repeat(batch, space, net) -> None:
    from swapnas.scoring import _repeat_nets, reinitialisable
    from swapnas.spaces import get_space

    mod = get_space(space)
    prot = Protocol(space, "cifar10", 8, repeats=3, seed=0, net=net, batch_digest=batch.digest)
    swap = get_proxy("swap")
    assert swap.keeps_model
    for arch in [mod.sample(random.Random(i)) for i in range(3)]:
        fresh = [build_scored_net(mod.build, arch, prot, 10, r, torch.device("cpu")) for r in range(3)]
        assert reinitialisable(fresh[0])
        served = []
        for r, model in enumerate(_repeat_nets(swap, arch, mod.build, prot, 10, torch.device("cpu"), None)):
            want, got = fresh[r].state_dict(), model.state_dict()
            assert got.keys() == want.keys() and model.training
            assert all(torch.equal(want[k], v) for k, v in got.items()), (space, str(arch), r)
            assert all(p.grad is None for p in model.parameters())
            model(batch.inputs).sum().backward()  # leave gradients and running statistics behind
            served.append(id(model))
        assert len(set(served)) == 1  # one network served all three repeats


def test_reuse_gives_the_same_records_as_a_build_per_repeat() -> None:
    from dataclasses import replace

    batch = load_batch("cifar10", 16, inputs="synthetic", seed=3)
    prot = Protocol("nb201", "cifar10", 16, repeats=3, seed=0, net=NET, batch_digest=batch.digest)
    swap = get_proxy("swap")
    for a in _archs(4):
        with_reuse = score_arch(a, nb201.build, [swap], batch, prot, torch.device("cpu"))["swap"].values
        rebuilt = score_arch(a, nb201.build, [replace(swap, keeps_model=False)], batch, prot,
                             torch.device("cpu"))["swap"].values
        assert with_reuse == rebuilt and len(set(with_reuse)) > 1


class _Scaled(nn.Module):
    """A network with a parameter gaussian_init does not set: it is rebuilt for every repeat."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.scale = nn.Parameter(torch.rand(1) + 0.5)

    def forward(self, x):
        return torch.relu(self.conv(x) * self.scale - 0.5)


def test_networks_the_init_does_not_cover_are_rebuilt(batch) -> None:
    from swapnas.scoring import _repeat_nets, reinitialisable

    prot = Protocol("toy", "cifar10", 8, repeats=3, seed=0, batch_digest=batch.digest)
    build = lambda arch, num_classes: _Scaled()  # noqa: E731
    assert not reinitialisable(_Scaled())
    nets = list(_repeat_nets(get_proxy("swap"), "a", build, prot, 10, torch.device("cpu"), None))
    assert len({id(n) for n in nets}) == 3
    assert len({float(n.scale.detach()) for n in nets}) == 3  # the space's own init ran per repeat seed


class _Dropped(nn.Module):
    """A net whose ReLU patterns depend on which inputs its dropout keeps."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.conv, self.drop = nn.Conv2d(3, 4, 3, stride=4), nn.Dropout(p)
        self.act, self.out = nn.ReLU(), nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.conv(self.drop(x))).mean((2, 3)))


def test_dropout_in_the_pass_is_seeded_per_arch_and_repeat(batch) -> None:
    """Active dropout draws from the process RNG, seeded per (arch, repeat) for the pass only:
    the same score whatever the RNG held before, different masks per repeat, the RNG restored."""
    prot = Protocol("toy", "cifar10", 8, repeats=2, seed=0, batch_digest=batch.digest)
    build = lambda arch, num_classes: _Dropped()  # noqa: E731
    swap = [get_proxy("swap")]
    torch.manual_seed(1)
    a = score_arch("a", build, swap, batch, prot, torch.device("cpu"))["swap"].values
    torch.manual_seed(2)
    state = torch.random.get_rng_state()
    b = score_arch("a", build, swap, batch, prot, torch.device("cpu"))["swap"].values
    assert a == b and torch.equal(torch.random.get_rng_state(), state)
    # the masks matter: a per-repeat re-seed of the pass alone (same init) changes the patterns
    net = build_scored_net(build, "a", prot, 10, 0, torch.device("cpu"))
    from swapnas.patterns import swap_score
    from swapnas.scoring import forward_rng

    with forward_rng(net, "a", prot, 0):
        first = swap_score(net, batch.inputs)
    with forward_rng(net, "a", prot, 1):
        other = swap_score(net, batch.inputs)
    assert first == a[0] and other != first
    # without active dropout (p = 0 or eval mode) the pass does not touch the RNG
    for quiet in (_Dropped(0.0), _Dropped().eval()):
        before = torch.random.get_rng_state()
        with forward_rng(quiet, "a", prot, 0):
            pass
        assert torch.equal(torch.random.get_rng_state(), before)
        assert not isinstance(forward_rng(quiet, "a", prot, 0), __import__("contextlib").ExitStack)


@pytest.mark.parametrize("space", ["nb201", "nb101", "darts", "transnas_micro", "transnas_macro", "flexibert"])
def test_structural_proxies_count_a_meta_build_as_a_real_build_and_hold_for_every_repeat(space, batch) -> None:
    from swapnas.spaces import get_space

    mod = get_space(space)
    structural = [get_proxy("params"), get_proxy("vkdnw_layers")]
    assert all(p.structural for p in structural)
    prot = Protocol(space, "cifar10", 8, repeats=3, seed=0, batch_digest=batch.digest)
    rng = random.Random(1)
    for arch in [mod.sample(rng) for _ in range(2)]:
        recs = score_arch(arch, mod.build, structural, batch, prot, torch.device("cpu"))
        real = build_scored_net(mod.build, arch, prot, batch.num_classes, 0, torch.device("cpu"))
        for p in structural:
            want = p.fn(real, batch)
            assert recs[p.name].ok and recs[p.name].values == [want] * 3, (space, str(arch), p.name)
        assert recs["params"].values[0] == sum(t.numel() for n, t in real.named_parameters() if "auxiliary" not in n)


def test_a_structural_proxy_leaves_the_prebuilt_network_to_the_proxy_that_keeps_it(batch) -> None:
    prot = _protocol(batch, repeats=2)
    arch = _archs(1)[0]
    proxies = [get_proxy("params"), get_proxy("swap"), get_proxy("swap_reg")]
    plain = score_arch(arch, nb201.build, proxies, batch, prot, torch.device("cpu"))
    prebuilt = build_scored_net(nb201.build, arch, prot, batch.num_classes, 0, torch.device("cpu"))
    built = []
    with_net = score_arch(arch, lambda *a, **k: built.append(1) or nb201.build(*a, **k), proxies, batch, prot,
                          torch.device("cpu"), prebuilt=prebuilt)
    assert {n: r.values for n, r in with_net.items()} == {n: r.values for n, r in plain.items()}
    assert len(built) == 1  # only the meta build: swap re-initialised the prebuilt network for both repeats
