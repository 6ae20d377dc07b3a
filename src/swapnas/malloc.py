"""Scoring processes keep freed heap memory (glibc's ``M_TOP_PAD``) instead of handing it back.

A scoring process builds a network, runs it and frees every activation, arch after arch. glibc's
``malloc`` gives the free top of its heap back to the kernel at each such free and asks for it again
at the next pass, and the kernel zero-fills each of those pages on first touch: on the README job
12.6–15.9 million page faults and 15–18 % of the CPU time in the kernel (``perf/malloc_pad.py``).
``mallopt(M_TOP_PAD, pad)`` keeps ``pad`` bytes beyond each request at the top of the heap, so
the pages stay mapped; scores do not change (only where memory comes from), peak memory barely does.

Set for the processes ``swapnas`` scores in: pool workers, the command line process, Ray workers (on a
cluster, ``SWAPNAS_MALLOC_PAD_MIB`` counts where it is set in the workers' environment). Not set by the
Python API (a library call should not change its caller's allocator). ``SWAPNAS_MALLOC_PAD_MIB`` sets the
pad (0: leave glibc's default); any ``MALLOC_*_`` environment variable or a ``glibc.malloc.`` tunable in
``GLIBC_TUNABLES`` (glibc's own tuning) also leaves it alone. Elsewhere than on glibc (macOS, musl) nothing happens.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["TOP_PAD_MIB", "keep_freed_memory", "pad_mib"]

#: the default pad in MiB (chosen on the README job's first 300 archs, one worker: 64 MiB took the
#: page faults from 5.0 M to 86 k, as 256 MiB did; ``perf/malloc_pad.py`` measures the whole job)
TOP_PAD_MIB = 64
_M_TOP_PAD = -2  # glibc's malloc.h


def pad_mib() -> int:
    """The pad to set: ``$SWAPNAS_MALLOC_PAD_MIB`` if given, else :data:`TOP_PAD_MIB`."""
    text = os.environ.get("SWAPNAS_MALLOC_PAD_MIB", "").strip()
    if not text:
        return TOP_PAD_MIB
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2048:  # mallopt takes a C int of bytes
        raise ValueError(f"SWAPNAS_MALLOC_PAD_MIB must be a whole number of MiB from 0 to 2047 (got {text!r}); "
                         "0 leaves glibc's default")
    return value


def keep_freed_memory() -> bool:
    """Set glibc's ``M_TOP_PAD`` to :func:`pad_mib` MiB in this process; returns whether it was set."""
    pad = pad_mib()
    tuned = (any(k.startswith("MALLOC_") and k.endswith("_") for k in os.environ)
             or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""))  # glibc's own tuning, old and new form
    if pad == 0 or tuned or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols, the C library's among them
    except (OSError, AttributeError):  # a C library without mallopt
        return False
    return bool(mallopt(_M_TOP_PAD, pad << 20))
