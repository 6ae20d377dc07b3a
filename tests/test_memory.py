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


def test_cpu_peak_reads_rss_once_more_at_exit() -> None:
    # the sampler sleeps through the block (interval 60 s): only the reading at exit sees the tensor
    with PeakMemory(torch.device("cpu"), interval=60.0) as m:
        big = torch.ones(50_000_000)
        assert m._thread is not None and m._thread.daemon  # a sampler never keeps the interpreter alive
    assert m.peak_bytes is not None and m.peak_bytes >= 150e6
    del big


def test_without_proc_the_peak_stays_unknown(monkeypatch) -> None:
    monkeypatch.setattr("swapnas.memory._rss_bytes", lambda: None)
    m = PeakMemory(torch.device("cpu"))
    assert m.peak_bytes is None
    with m:
        torch.ones(1000).sum()
    assert m.peak_bytes is None and m._thread is None


def test_cuda_peak_is_the_allocator_peak_above_entry_on_that_device(monkeypatch) -> None:
    # the allocator's calls, recorded (no GPU needed): each one must name the measured device
    calls: list[tuple[str, object]] = []

    def fake(name, value=None):
        def call(device=None):
            calls.append((name, device))
            return value
        return call

    monkeypatch.setattr(torch.cuda, "synchronize", fake("synchronize"))
    monkeypatch.setattr(torch.cuda, "memory_allocated", fake("memory_allocated", 1_000))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", fake("reset_peak_memory_stats"))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", fake("max_memory_allocated", 5_000))
    dev = torch.device("cuda", 1)
    with PeakMemory(dev) as m:
        assert m._thread is None
    assert m.peak_bytes == 4_000
    assert calls == [("synchronize", dev), ("memory_allocated", dev), ("reset_peak_memory_stats", dev),
                     ("synchronize", dev), ("max_memory_allocated", dev)]
