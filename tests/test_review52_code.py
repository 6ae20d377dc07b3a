"""Session 52's code review (docs/reliability.md, "Session 52"): each test failed on the code before its fix."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from swapnas import stats
from swapnas.benchmarks.csv_truth import CsvBenchmark
from swapnas.correlation import _saturated
from swapnas.patterns import SATURATION
from swapnas.proxies import get_proxy
from swapnas.session import configure

from .message_tools import refusal

cli = importlib.import_module("swapnas.cli")


def test_saturation_is_counted_at_any_batch_size_without_overflow() -> None:
    """2.0**S overflowed a float from S = 1024 on (--batch-size 1024, or jigsaw's 9 tiles at S >= 114): the report
    of a finished run was lost to an OverflowError."""
    from tests.score_tools import psi_records

    swap = get_proxy("swap")
    big, ok = psi_records(["swap"], [SATURATION * 2.0**1000 * 2.0**23, 2.0**1000, 1.0])  # 2**(S - 1), S = 1024: not
    assert _saturated(swap, big, ok, 1023) == 1 and _saturated(swap, big, ok, 1024) == 0  # saturated
    assert _saturated(swap, big, ok, 5000) == 0
    small, ok = psi_records(["swap"], [0.0, np.nan, 16.0])
    assert _saturated(swap, small, ok, 4) == 1  # 0 and NaN: not saturated, silent


def test_a_short_csv_row_is_refused_with_its_line_not_a_type_error(tmp_path) -> None:
    path = tmp_path / "truth.csv"
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    path.write_text(f"arch,acc\n{arch},91.5\n{arch.replace('avg_pool_3x3', 'nor_conv_1x1')}\n")
    message = refusal(ValueError, lambda: CsvBenchmark(path, "nb201", "cifar10"))
    assert message == (f"the accuracy column acc: line 3 of --truth {path} holds no cell there (the row is short); "
                       "fix or remove that row")


def test_zero_repeats_or_batch_size_are_refused_not_replaced_by_the_default(data_dir) -> None:
    for given, said in (({"repeats": 0}, "repeats must be >= 1 (got 0)"),
                        ({"batch_size": 0}, "batch size must be a whole number >= 1 (got 0)")):
        assert refusal(ValueError, lambda: configure("nb201", "cifar10", "swap", data_dir=str(data_dir), **given)) \
            == said
    protocol = configure("nb201", "cifar10", "swap", data_dir=str(data_dir))[0]
    assert (protocol.repeats, protocol.batch_size) == (4, 16)  # None: the space's defaults, as before


def test_no_bootstrap_gives_no_interval_and_a_negative_count_is_refused() -> None:
    x, y = np.arange(6.0), np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0])
    c = stats.correlate(x, y, n_boot=0)
    assert np.isnan(c.spearman_ci).all() and c.spearman == pytest.approx(1 - 6 * 4 / (6 * 35))  # 4 ranks off by one
    assert stats.correlate(x, y).spearman_ci[0] < c.spearman  # the default still gives one
    assert refusal(ValueError, lambda: stats.correlate(x, y, n_boot=-1)) == (
        "n_boot is the number of bootstrap resamples, an integer 0 or more (got -1); 0 gives no interval")


def test_the_heap_pad_is_set_by_the_command_line_only_for_a_local_scoring_command(tmp_path, monkeypatch) -> None:
    """swapnas.search_arch set M_TOP_PAD in its caller's process (malloc.py: "Not set by the Python API")."""
    calls: list[int] = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append(1) or True)
    assert cli.main(["proxies"]) == 0 and calls == []
    code = cli.main(["correlate", "--space", "nb201", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path)])
    assert code == 2 and calls == [1]


def test_seeded_draws_what_manual_seed_draws_and_gives_every_generator_back(monkeypatch) -> None:
    """torch.manual_seed in fork_rng reseeded every CUDA generator and fork_rng gave back only the listed devices':
    swapnas.score on the CPU left its caller's CUDA generators reseeded. No call of manual_seed(_all) is left."""
    import torch
    from torch import nn

    import swapnas
    from swapnas.rng import seeded

    torch.manual_seed(5)
    want = torch.rand(4)
    before = torch.get_rng_state()
    with seeded(5):
        assert torch.equal(torch.rand(4), want)
    assert torch.equal(torch.get_rng_state(), before)
    reseeded: list[int] = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", lambda s: reseeded.append(s))
    monkeypatch.setattr(torch, "manual_seed", lambda s: reseeded.append(s))
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Dropout(0.5), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    x = torch.randn(4, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    assert swapnas.score(net, x, proxies=("swap",))["swap"] > 0
    assert reseeded == []


def test_a_scored_network_is_built_from_the_arch_seed_without_reseeding_cuda(monkeypatch) -> None:
    import random

    import torch

    from swapnas.scoring import Protocol, arch_seed, build_scored_net
    from swapnas.spaces import nb201

    arch = nb201.sample(random.Random(0))
    protocol = Protocol("nb201", "cifar10", 8, repeats=1, seed=0, init="default", net={"C": 4, "N": 1})
    torch.manual_seed(arch_seed(0, "nb201", str(arch), 0))
    want = nb201.build(arch, num_classes=10, C=4, N=1).state_dict()
    reseeded: list[int] = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", lambda s: reseeded.append(s))
    got = build_scored_net(nb201.build, arch, protocol, 10, 0, torch.device("cpu")).state_dict()
    assert reseeded == [] and all(torch.equal(want[k], got[k]) for k in want)
