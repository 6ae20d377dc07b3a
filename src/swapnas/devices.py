"""The devices this machine has, and a device name checked against them (``--device``, ``swapnas.score``'s
``device``, ``swapnas train``). A base module: until session 52 they lived in :mod:`swapnas.session`, so the
Python API's input checks imported the whole scoring session (executors, benchmarks, tqdm) for them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

#: the device types whose autocast :func:`without_autocast` switches off (torch accepts them all, enabled=False)
AUTOCAST_KINDS = ("cpu", "cuda", "mps", "xpu")


def available_devices() -> list[str]:
    """The devices this machine has: ``cpu``, ``cuda:0`` … and ``mps``."""
    mps = getattr(torch.backends, "mps", None)
    return ["cpu", *(f"cuda:{i}" for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0)),
            *(["mps"] if mps is not None and mps.is_available() else [])]


def resolve_device(name: str | torch.device) -> torch.device:
    """``auto`` (cuda if available, else cpu), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, checked against this
    machine: a ValueError names the accepted devices and the ones available here."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    here = available_devices()
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {str(name)!r}; accepted: auto, cpu, cuda, cuda:N, mps (available here: "
                         f"{', '.join(here)})")
    return checked(dev)


def checked(dev: torch.device) -> torch.device:
    """``dev``, or a ValueError when this machine lacks it (a CUDA or MPS device: :func:`unavailable`)."""
    if (why := unavailable(dev)) is not None:
        raise ValueError(f"device {str(dev)!r} asked for, but {why}; use --device cpu or auto (available here: "
                         f"{', '.join(available_devices())})")
    return dev


def unavailable(dev: torch.device) -> str | None:
    """Why this machine cannot run on ``dev`` (a CUDA or MPS device it lacks), or None."""
    if dev.type == "cuda" and not torch.cuda.is_available():
        return "CUDA is not available here (no GPU, or torch built without CUDA)"
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        return f"this machine has {torch.cuda.device_count()} CUDA device(s)"
    if dev.type == "mps" and "mps" not in available_devices():
        return "MPS is not available here"
    return None


@contextlib.contextmanager
def without_autocast() -> Iterator[None]:
    """The block runs with ``torch.autocast`` off on every device type: a caller's autocast (a scoring call made
    inside a training loop's ``torch.autocast``) would run the model's and swapnas's own matrix products in
    bfloat16/float16, whose 8/11 bits merged SWAP's pattern indices above S = 8 and rounded nwot's exact kernel
    (session 64). A model cast to a lower dtype keeps it: this changes no tensor's dtype."""
    with contextlib.ExitStack() as stack:
        for kind in AUTOCAST_KINDS:
            try:
                stack.enter_context(torch.autocast(kind, enabled=False))
            except Exception:  # noqa: BLE001 - a device type this torch's autocast cannot set up: 2.2's mps
                continue  # (RuntimeError), 2.1-2.3's xpu without Intel's extension (AttributeError; the review)
        yield
