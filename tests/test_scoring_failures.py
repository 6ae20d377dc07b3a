"""An arch that cannot be built is a stored failure for every proxy, derived ones included (no exception).

Before session 16 the meta-device build a derived proxy (``swap_reg``) reads was made outside the proxy's
error handling, so one unbuildable arch raised out of ``score_arch`` and aborted the whole sweep (under Ray:
on every rerun).
"""

from __future__ import annotations

import torch
from torch import nn

from swapnas.data import Batch
from swapnas.proxies import get_proxy
from swapnas.scoring import Protocol, score_arch
from swapnas.store import Record, ScoreStore

CPU = torch.device("cpu")


def _build(arch: object, num_classes: int = 10, **net: object) -> nn.Module:
    if str(arch) == "bad":
        raise ValueError("cannot build arch 'bad'")
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, num_classes))


def _setting() -> tuple[list, Batch, Protocol]:
    proxies = [get_proxy("swap"), get_proxy("swap_reg").configure(mu=1.0, sigma=10.0)]
    batch = Batch(torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)), 10, "x", "x", 8)
    return proxies, batch, Protocol("nb201", "cifar10", 8)


def test_an_unbuildable_arch_fails_its_base_and_derived_proxies_as_records() -> None:
    proxies, batch, protocol = _setting()
    with ScoreStore(":memory:") as store:
        out = score_arch("bad", _build, proxies, batch, protocol, CPU, store)
        assert out["swap"].status == "failed" and "cannot build arch 'bad'" in (out["swap"].error or "")
        assert out["swap_reg"].status == "failed"
        assert out["swap_reg"].error == f"base proxy 'swap' failed: {out['swap'].error}"
        assert store.count() == 2
        good = score_arch("ok", _build, proxies, batch, protocol, CPU, store)
        assert good["swap"].ok and good["swap_reg"].ok


def test_a_build_failure_after_stored_bases_is_the_derived_proxys_failure() -> None:
    proxies, batch, protocol = _setting()
    with ScoreStore(":memory:") as store:
        # the base was scored (and stored) before; the build now fails (e.g. a changed space): no exception
        store.put(protocol.key("bad", proxies[0]), Record("ok", 5.0, 0.0, [5.0], 0.1, None, None))
        out = score_arch("bad", _build, proxies, batch, protocol, CPU, store)
        assert out["swap"].ok and out["swap_reg"].status == "failed"
        assert "cannot build arch 'bad'" in (out["swap_reg"].error or "")
