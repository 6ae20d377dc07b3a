"""Peak memory of a block of work: CUDA allocator statistics, or sampled RSS on the CPU."""

from __future__ import annotations

import os
import threading
from types import TracebackType

import torch

_STATM = "/proc/self/statm"


def _rss_bytes() -> int | None:
    try:
        with open(_STATM, encoding="utf-8") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class PeakMemory:
    """``with PeakMemory(device) as m: …`` then ``m.peak_bytes``.

    CUDA: the allocator's peak above what was allocated at entry. CPU: the peak
    resident-set growth above entry, sampled every ``interval`` seconds (10 ms) from
    /proc (None where /proc is missing); short spikes between samples can be
    missed, so it is a lower bound.
    """

    def __init__(self, device: torch.device, interval: float = 0.01):
        self.device = device
        self.interval = interval
        self.peak_bytes: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._base = 0
        self._max = 0

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = _rss_bytes()
            if rss is not None:
                self._max = max(self._max, rss)

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            base = _rss_bytes()
            if base is not None:
                self._base = self._max = base
                self._thread = threading.Thread(target=self._sample, daemon=True)
                self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = int(torch.cuda.max_memory_allocated(self.device)) - self._base
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
            rss = _rss_bytes()
            self._max = max(self._max, rss or 0)
            self.peak_bytes = self._max - self._base
