"""Stochastic scoring passes (dropout, DARTS drop path) are reproducible, also beside a builder thread.

Regression tests for two review findings (session 15): the drop path of the DARTS networks (a plain
function, not a dropout module) drew from whatever the process RNG held, and a network built ahead
in another thread (``--prefetch``) reseeded the process RNG in the middle of a pass's dropout draws.
"""

from __future__ import annotations

import random
import threading

import torch

from swapnas.data import load_batch
from swapnas.proxies import get_proxy
from swapnas.scoring import _RNG_LOCK, Protocol, build_scored_net, forward_rng, score_arch, stochastic
from swapnas.spaces import darts

CPU = torch.device("cpu")


def _darts_protocol(batch, drop: float) -> Protocol:
    return Protocol("darts", "cifar10", len(batch.inputs), repeats=1, seed=0, batch_digest=batch.digest,
                    net={"C": 4, "layers": 2, "drop_path_prob": drop})


def test_darts_drop_path_is_seeded_per_arch_whatever_the_process_rng_held() -> None:
    batch = load_batch("cifar10", 16, inputs="synthetic", seed=0)  # 2**16 patterns: no saturation
    arch = darts.sample(random.Random(3))
    prot = _darts_protocol(batch, 0.5)
    values = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        values.append(score_arch(arch, darts.build, [get_proxy("swap")], batch, prot, CPU)["swap"].values)
    assert values[0] == values[1]
    # the drop path acts: the same network scored without it gives another count
    plain = score_arch(arch, darts.build, [get_proxy("swap")], batch, _darts_protocol(batch, 0.0), CPU)
    assert plain["swap"].values != values[0]


def test_stochastic_sees_dropout_and_drop_path_in_training_mode_only() -> None:
    batch = load_batch("cifar10", 8, inputs="synthetic", seed=0)
    arch = darts.sample(random.Random(3))
    net = build_scored_net(darts.build, arch, _darts_protocol(batch, 0.3), 10, 0, CPU)
    assert stochastic(net) and not stochastic(net.eval())
    assert not stochastic(build_scored_net(darts.build, arch, _darts_protocol(batch, 0.0), 10, 0, CPU))
    assert stochastic(torch.nn.Sequential(torch.nn.Dropout(0.1))) and not stochastic(torch.nn.Dropout(0.0))


def test_a_stochastic_pass_holds_the_lock_that_builds_take() -> None:
    """While a pass with dropout runs, no other thread can take the RNG lock (so a prefetching
    builder waits); a pass without randomness does not take it."""
    prot = Protocol("toy", "cifar10", 8, repeats=1, seed=0)
    taken: list[bool] = []

    def try_lock() -> None:
        got = _RNG_LOCK.acquire(blocking=False)
        taken.append(got)
        if got:
            _RNG_LOCK.release()

    for net, want in ((torch.nn.Dropout(0.5), False), (torch.nn.Dropout(0.0), True)):
        with forward_rng(net, "a", prot, 0):
            other = threading.Thread(target=try_lock)
            other.start()
            other.join()
        assert taken.pop() is want
    try_lock()
    assert taken == [True]  # released after the pass
