"""Peak memory of a block of work: CUDA allocator statistics, or the C heap in use (sampled) on the CPU."""

from __future__ import annotations

import ctypes
import functools
import os
import threading
import time
from collections.abc import Callable
from types import TracebackType

import torch

_STATM = "/proc/self/statm"


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (glibc 2.33 on): every field a ``size_t``."""

    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


@functools.cache
def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    """The C library's ``mallinfo2``, or None where there is none (not glibc, or glibc before 2.33)."""
    try:
        fn = ctypes.CDLL(None).mallinfo2  # the process's own symbols, the C library's among them
    except (OSError, AttributeError, TypeError):  # (Windows: CDLL(None) is a TypeError; a review of session 70)
        return None
    fn.restype, fn.argtypes = _MallInfo2, []
    return fn


def _heap_bytes() -> int | None:
    """Bytes the C heap has handed out and not had back (every arena's chunks in use plus the ``mmap``-ed ones).

    Memory freed and kept by the allocator for reuse is not counted, as ``torch.cuda.memory_allocated`` does not
    count the CUDA allocator's cache. None without glibc's ``mallinfo2``.
    """
    fn = _mallinfo2()
    if fn is None:
        return None
    info = fn()
    return int(info.uordblks + info.hblkhd)


def _rss_bytes() -> int | None:
    try:
        with open(_STATM, encoding="utf-8") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def cpu_reader() -> tuple[str, Callable[[], int | None]] | None:
    """How the CPU peak is read here: ``("heap", …)`` with glibc 2.33 on, else ``("rss", …)`` where /proc is.

    The heap reading counts what the block allocates even where the allocator serves it from memory the process
    already holds (freed earlier and kept: glibc keeps it, and a scoring process keeps more, see
    :mod:`swapnas.malloc`); the resident set grows only by pages the process did not hold, so there such a block
    shows as little or nothing. None where neither can be read (no /proc, no glibc: macOS, Windows). With another
    allocator preloaded (jemalloc, tcmalloc), glibc's heap holds little of the process's memory and the heap
    reading is near 0.
    """
    if _mallinfo2() is not None:  # (not a reading: each walks the heap's free chunks under its locks)
        return "heap", _heap_bytes
    if _rss_bytes() is not None:
        return "rss", _rss_bytes
    return None


class PeakMemory:
    """``with PeakMemory(device) as m: …`` then ``m.peak_bytes``.

    CUDA: the allocator's peak above what was allocated at entry. CPU: the peak growth above entry of the C heap
    in use (glibc's ``mallinfo2``; :func:`cpu_reader`), or of the resident set where that cannot be read, sampled
    every ``interval`` seconds (10 ms; less often where one reading takes over a twentieth of it) and at exit;
    short spikes between samples can be missed, so it is a lower bound. ``source`` says which was read (``"cuda"``,
    ``"heap"``, ``"rss"``); ``peak_bytes`` stays None where none can be (no /proc, no glibc).
    """

    def __init__(self, device: torch.device, interval: float = 0.01):
        self.device = device
        self.interval = interval
        self.peak_bytes: int | None = None
        self.source: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._read: Callable[[], int | None] = _rss_bytes
        self._base = 0
        self._max = 0

    def _sample(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            start = time.perf_counter()
            value = self._read()
            if value is not None:
                self._max = max(self._max, value)
            wait = max(self.interval, 20 * (time.perf_counter() - start))  # a slow reading (a heap of many free
            # chunks) is taken less often: the sampler's share of a core stays about 5 % or less

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            self.source = "cuda"
            torch.cuda.synchronize(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        reader = cpu_reader()
        if reader is not None:
            self.source, self._read = reader
            self._base = self._max = self._read() or 0
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
            self._max = max(self._max, self._read() or 0)
            self.peak_bytes = self._max - self._base
