"""Peak memory per metric: sampled RSS on the CPU."""

from __future__ import annotations

import sys
import time

import pytest
import torch

from swapnas.memory import PeakMemory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS is read from /proc")


def test_cpu_peak_sees_a_large_temporary() -> None:
    with PeakMemory(torch.device("cpu")) as m:
        big = torch.ones(50_000_000)  # 200 MB, touched
        time.sleep(0.05)
        del big
    assert m.peak_bytes is not None and m.peak_bytes >= 150e6


def test_cpu_peak_of_small_work_is_small() -> None:
    with PeakMemory(torch.device("cpu")) as m:
        torch.ones(1000).sum()
    assert m.peak_bytes is not None and m.peak_bytes < 50e6
