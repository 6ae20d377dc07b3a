"""The open-file limit a pool of worker processes needs (:func:`check_open_files`): each worker's pipes, and each
tensor sent to one, hold a file handle in this process while it is passed (session 60: under ``ulimit -n 24`` with
``--workers 2`` a run printed the workers' tracebacks and then hung after its error)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

#: file handles this process holds besides the pool's, and those each worker adds: the parent of a 2-worker
#: correlate peaked at 27 (``/proc/PID/fd``, 40 NB201 archs), and runs under a limit of 24 or 26 failed
BASE_HANDLES, PER_WORKER = 16, 8


def check_open_files(workers: int) -> None:
    """Before a pool of ``workers`` starts: the soft open-file limit raised towards the hard one where it is below
    what they need (as ``ulimit -Sn`` would), else a ValueError naming the limit and the ways out."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return
    need = BASE_HANDLES + PER_WORKER * workers
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return
    if hard == resource.RLIM_INFINITY or hard >= need:
        raised = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        log.debug("open-file limit raised from %d to %d for %d worker processes", soft, raised, workers)
        return
    raise ValueError(f"--workers {workers}: this process may open {soft} files (`ulimit -n`), and {workers} worker "
                     f"processes need about {need} (their pipes, and a file handle for each tensor sent to them); "
                     "raise it, `ulimit -n 4096`, or use --workers 1, which scores in this process")


__all__ = ["check_open_files"]
