"""The open-file limit a pool of worker processes needs (:func:`check_open_files`): each worker's pipes, and each
tensor sent to one, hold a file handle in this process while it is passed (session 60: under ``ulimit -n 24`` with
``--workers 2`` a run printed the workers' tracebacks and then hung after its error)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

#: file handles this process holds besides the pool's, and those each worker adds: the parent of a 2-worker
#: correlate peaked at 27 (``/proc/PID/fd``, 40 NB201 archs), and runs under a limit of 24 or 26 failed
BASE_HANDLES, PER_WORKER = 16, 8


def check_open_files(workers: int) -> tuple[int, int] | None:
    """Before a pool of ``workers`` starts: the soft open-file limit raised towards the hard one where it is below
    what they need (as ``ulimit -Sn`` would; the limits before are returned, for :func:`restore_open_files` when the
    pool closes), else a ValueError naming the limit and the ways out."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return None
    need = BASE_HANDLES + PER_WORKER * workers
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return None
    if hard == resource.RLIM_INFINITY or hard >= need:
        raised = max(need, 4096) if hard == resource.RLIM_INFINITY else min(hard, max(need, 4096))
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        log.info("the open-file limit is raised from %d to %d for %d worker processes while they run", soft, raised,
                 workers)
        return soft, hard
    fit = max(0, (hard - BASE_HANDLES) // PER_WORKER)  # (session 68: it advised `ulimit -n 4096`, which the hard
    # limit refuses: the refusal comes only where it is below the need, the soft one being raised to it otherwise)
    fewer = f"use --workers {fit} (as many as fit), or " if fit > 1 else "use "
    raise ValueError(f"--workers {workers}: this process may open at most {hard} files (the hard limit, `ulimit -Hn`, "
                     f"which only an administrator can raise), and {workers} worker processes need about {need} (their "
                     f"pipes, and a file handle for each tensor sent to them); {fewer}--workers 1, which scores in "
                     "this process")


def restore_open_files(before: tuple[int, int]) -> None:
    """The open-file limits :func:`check_open_files` raised put back (a library call leaves its caller's as found)."""
    import resource

    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)
    except (ValueError, OSError):  # (another part of the process changed the hard limit meanwhile: leave it)
        log.debug("the open-file limit could not be put back to %s", before)


__all__ = ["check_open_files", "restore_open_files"]
