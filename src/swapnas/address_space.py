"""The command under an address-space limit (``ulimit -v``, session 61). torch, scipy and OpenBLAS map large
libraries and buffers: a 5-arch ``swapnas correlate`` on this project's 2-core machine ran at 1.5 GiB of address space;
at 1 GiB it stopped with "failed to map segment" importing scipy, or OpenBLAS retried its buffer forever at start
(spinning at 84 % CPU for 8 minutes until killed); at 391 MiB ``import torch`` failed. Below :data:`LOW` the command
warns as it starts, and such an import error is one line with the way out, not Python's traceback."""

from __future__ import annotations

#: address space (bytes) under which the command warns as it starts: 1.5 GiB ran, 1 GiB did not (see above)
LOW = 2 * 2**30
#: a limit at or above this is not named as the cause of a library's failure to load (the review of session 61:
#: "cannot allocate memory in static TLS block" under 64 GiB was blamed on the limit)
CAUSE = 8 * 2**30


def address_limit() -> int | None:
    """This process's soft address-space limit in bytes (``ulimit -v``), or None where there is none (or no
    ``resource`` module: Windows)."""
    try:
        import resource
        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, OSError, ValueError):
        return None
    return None if limit == resource.RLIM_INFINITY else int(limit)


def _mib(limit: int) -> str:
    return f"this process may use {limit / 2**20:.0f} MiB of address space (ulimit -v)"


def low_address_space() -> str | None:
    """A warning where the limit is below :data:`LOW`, else None."""
    if (limit := address_limit()) is None or limit >= LOW:
        return None
    return (f"{_mib(limit)}: torch, scipy and OpenBLAS need about 1.5 GiB of it per process (below, a library fails "
            "to load, or OpenBLAS retries its buffer forever as it starts); raise it (ulimit -v unlimited) if the "
            "run stops or hangs")


def out_of_address_space(exc: BaseException) -> str | None:
    """One line for a library that could not be mapped into memory (``ImportError: libtorch_cpu.so: failed to map
    segment from shared object``) under an address-space limit, with the way out; None for any other error or where
    no limit is set (session 61: the command printed Python's traceback of the import, 12 lines)."""
    text = str(exc)
    mapped = "failed to map segment" in text or "cannot allocate memory" in text.lower()
    if not (isinstance(exc, MemoryError) or mapped) or "static TLS" in text:  # (a library load order's, not a limit)
        return None
    if (limit := address_limit()) is None or limit >= CAUSE:
        return None
    return (f"{text or type(exc).__name__}: {_mib(limit)}, too little to load torch and the libraries swapnas uses "
            "(about 1.5 GiB of it per process); raise it (ulimit -v unlimited, or a few GiB) and rerun: a run resumes "
            "from its store")
