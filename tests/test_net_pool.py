"""NetPool: an arch's network handed from proxy to proxy, put back from its snapshot, rebuilt where a proxy
changed it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from swapnas import net_pool, scoring
from swapnas.bundle import Batch
from swapnas.net_pool import NetPool
from swapnas.proxies import Proxy, get_proxy, resolve
from swapnas.scoring import Protocol, _repeat_nets, build_scored_net, score_arch
from swapnas.spaces import nb201

CPU = torch.device("cpu")
CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|"


def _protocol(**kw) -> Protocol:
    return Protocol(**{"space": "nb201", "dataset": "cifar10", "batch_size": 8, "repeats": 1, "net": {"C": 8, "N": 1},
                       **kw})


def _net(repeat: int = 0, **kw) -> nn.Module:
    return build_scored_net(nb201.build, CELL, _protocol(**kw), 10, repeat, CPU)


def _values(model: nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for t in (*model.parameters(), *model.buffers())]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(x.dtype == y.dtype and torch.equal(x, y) for x, y in zip(a, b))


def test_take_puts_back_values_gradients_and_plain_settings():
    model = _net()
    fresh = _values(model)
    pool = NetPool()
    pool.keep(0, model)
    relu = next(m for m in model.modules() if isinstance(m, nn.ReLU))
    with torch.no_grad():
        for p in model.parameters():
            p.abs_().add_(1.0)  # what synflow does to the values
    for b in model.buffers():
        b.add_(3)
    model(torch.randn(4, 3, 16, 16)).sum().backward()
    model.eval()
    relu.inplace = not relu.inplace
    assert pool.take(0) is model
    assert _same(_values(model), fresh)
    assert all(p.grad is None for p in model.parameters())
    assert model.training and all(m.training for m in model.modules())
    assert relu.inplace is False  # nb201's ReLUs are built with inplace=False


def test_values_are_put_back_without_torchs_foreach_copy_too(monkeypatch):
    monkeypatch.setattr(net_pool, "_FOREACH_COPY", None)
    model = _net()
    fresh = _values(model)
    pool = NetPool()
    pool.keep(0, model)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(-2.0)
    assert pool.take(0) is model and _same(_values(model), fresh)


def test_each_repeat_has_its_own_snapshot():
    pool = NetPool()
    model = _net(0, init="gaussian", repeats=2)
    pool.keep(0, model)
    scoring.init_scored_net(model, CELL, _protocol(init="gaussian", repeats=2), 1)
    pool.keep(1, model)
    assert pool.take(0) is model and _same(_values(model), _values(_net(0, init="gaussian", repeats=2)))
    assert pool.take(1) is model and _same(_values(model), _values(_net(1, init="gaussian", repeats=2)))
    assert pool.take(2) is None  # no snapshot of repeat 2: the caller builds it


@pytest.mark.parametrize("change", ["double", "hook", "child", "parameter", "same_storage", "attribute", "setting",
                                    "new_setting", "requires_grad", "buffer"])
def test_a_changed_network_is_not_handed_on(change):
    model = _net()
    pool = NetPool()
    pool.keep(0, model)
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    if change == "double":
        model.double()  # synflow: every tensor replaced by a float64 one
    elif change == "hook":
        conv.register_forward_hook(lambda *a: None)  # left behind
    elif change == "child":
        model.classifier = nn.Linear(model.classifier.in_features, 10)
    elif change == "parameter":
        conv.weight = nn.Parameter(conv.weight.detach().clone())
    elif change == "same_storage":
        conv.weight = nn.Parameter(conv.weight.data)  # a new Parameter over the same memory
    elif change == "setting":
        conv.padding = (2, 2)  # a tuple: not a plain value that is put back, so compared
    elif change == "new_setting":
        conv.pruned = True  # a plain value, but one the build did not have: putting back the others leaves it
    elif change == "attribute":
        conv.weight_mask = torch.ones_like(conv.weight)  # a pruning proxy's mask as a plain attribute
    elif change == "requires_grad":
        conv.weight.requires_grad_(False)
    else:
        bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
        bn.register_buffer("extra", torch.zeros(1))
    assert pool.take(0) is None
    assert pool.model is None and pool.take(0) is None  # let go: the next build is kept instead
    again = _net()
    pool.keep(1, again)  # another repeat's build: the snapshot of repeat 0 still serves it
    assert pool.take(0) is again and _same(_values(again), _values(_net()))


def test_a_network_larger_than_the_cap_is_not_kept(monkeypatch):
    model = _net()
    size = sum(t.numel() for t in (*model.parameters(), *model.buffers()))
    monkeypatch.setattr(net_pool, "MAX_ELEMENTS", size)
    pool = NetPool()
    pool.keep(0, model)
    assert pool.take(0) is model  # at the cap: kept
    monkeypatch.setattr(net_pool, "MAX_ELEMENTS", size - 1)
    pool = NetPool()
    pool.keep(0, model)
    assert pool.model is None and pool.take(0) is None


def test_another_network_kept_drops_snapshots_that_do_not_fit_it():
    pool = NetPool()
    pool.keep(0, _net())
    other = build_scored_net(nb201.build, CELL, _protocol(net={"C": 4, "N": 1}), 10, 0, CPU)  # other shapes
    pool.keep(1, other)
    assert pool.take(0) is None  # repeat 0's snapshot was of 8-channel tensors
    assert pool.take(1) is other


def _counting_build(calls: list):
    def build(arch, **kw):
        calls.append(arch)
        return nb201.build(arch, **kw)
    return build


def _batch() -> Batch:
    gen = torch.Generator().manual_seed(0)
    return Batch(torch.randn(8, 3, 16, 16, generator=gen), torch.randint(0, 10, (8,), generator=gen), 10, "cifar10",
                 "random", 0)


@pytest.mark.parametrize("init,repeats", [("default", 1), ("gaussian", 2)])
def test_score_arch_builds_once_and_gives_every_proxy_the_scores_of_its_own_build(monkeypatch, init, repeats):
    """Six proxies that build (synflow turns the network into float64 on the way, so the one after it gets a new
    build), a structural one (params) and a derived one (swap_reg): the same values as a build per proxy."""
    proxies = [*resolve("swap,l2_norm,synflow,snip,grad_norm,nwot,params"),
               get_proxy("swap_reg").configure(mu=20.0, sigma=100.0)]
    protocol = _protocol(init=init, repeats=repeats)
    batch = _batch()
    with_pool: list = []
    got = score_arch(CELL, _counting_build(with_pool), proxies, batch, protocol, CPU)
    monkeypatch.setattr(scoring, "POOL_MIN_PROXIES", 10**9)
    without: list = []
    want = score_arch(CELL, _counting_build(without), proxies, batch, protocol, CPU)
    assert {k: r.values for k, r in got.items()} == {k: r.values for k, r in want.items()}
    assert all(r.ok for r in got.values())
    # without: one build per repeat of each built proxy (swap's repeats: one build, re-initialised in place) and
    # the meta build of params
    assert len(without) == 2 + 5 * repeats
    # with: swap's build, then synflow's change forces one build for its next repeat (or for the next proxy),
    # and one for snip's first repeat; the snapshots serve the rest; and the meta build of params
    assert len(with_pool) == 2 + repeats


def test_one_proxy_alone_keeps_no_pool(monkeypatch):
    made: list = []
    monkeypatch.setattr(scoring, "NetPool", lambda: made.append(1) or NetPool())
    score_arch(CELL, nb201.build, resolve("swap"), _batch(), _protocol(), CPU)
    assert made == []
    score_arch(CELL, nb201.build, resolve("swap,l2_norm"), _batch(), _protocol(), CPU)
    assert made == [1]


def test_a_prebuilt_network_is_snapshotted_before_its_first_use():
    pool = NetPool()
    prebuilt = _net()
    fresh = _values(prebuilt)
    proxy = Proxy("probe", fn=lambda model, batch: 0.0, keeps_model=True)
    for model in _repeat_nets(proxy, CELL, nb201.build, _protocol(), 10, CPU, prebuilt, pool):
        with torch.no_grad():
            next(model.parameters()).mul_(0)
    assert pool.take(0) is prebuilt and _same(_values(prebuilt), fresh)
