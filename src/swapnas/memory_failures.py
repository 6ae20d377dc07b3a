"""Failures for want of memory: the machine's, not the arch's (session 59). :func:`~swapnas.session.score_archs`
does not store them, so a rerun scores those archs again, and says how many there were and the ways out."""

from __future__ import annotations

import logging
import re
import textwrap
from collections.abc import Iterable

from .store import Record

log = logging.getLogger(__name__)

#: a failure of the machine, not of the arch: out of memory on the CPU (Python's and numpy's MemoryError, torch's
#: allocator on Linux and Windows), a GPU (CUDA, cuDNN, cuBLAS) or MPS; also a derived proxy's base that failed so. A
#: worker killed by the system is the arch's failure (its rerun would die again, see ``pool_retry``)
_OUT_OF_MEMORY = re.compile(r"(?:^|failed: )(?:torch\.)?(?:OutOfMemoryError|MemoryError|_ArrayMemoryError)\b"
                            r"|can't allocate memory|DefaultCPUAllocator: not enough memory|CUDA out of memory"
                            r"|CUDA error: out of memory|CUDNN_STATUS_NOT_ENOUGH_MEMORY|CUBLAS_STATUS_ALLOC_FAILED"
                            r"|MPS backend out of memory")


def out_of_memory(record: Record) -> bool:
    """Whether ``record`` failed for want of memory: such a failure is not stored (session 59: it was, and every
    rerun reused it, a search's answer too), so a rerun scores the arch again (once per run: an arch that never fits
    is tried again by each run, and fails again)."""
    return not record.ok and out_of_memory_text(record.error or "")


def out_of_memory_text(text: str) -> bool:
    """Whether an error's text (``TypeName: message``) says it ran out of memory (CPU or GPU)."""
    return bool(_OUT_OF_MEMORY.search(text))


def say_out_of_memory(done: Iterable[dict[str, Record]], workers: int = 1) -> None:
    """A warning when some of the scores ran out of memory: what they are, that none was stored, and the ways out
    (fewer worker processes where ``workers`` > 1: session 69, it was advised at --workers 1 too)."""
    short = [r for recs in done for r in recs.values() if out_of_memory(r)]
    if short:
        log.warning("%d score(s) ran out of memory (%s): they count as failed in this run and are not stored, so a "
                    "rerun scores them again; free memory, or score a smaller network (--net) or batch "
                    "(--batch-size)%s",
                    len(short), textwrap.shorten(short[0].error or "", 160, placeholder=" …"),
                    ", or with fewer --workers" if workers > 1 else "")
