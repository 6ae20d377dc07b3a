"""torch's global generators seeded for one block and given back after it (scoring's builds and passes,
``swapnas.score``'s passes).

``torch.manual_seed`` inside ``torch.random.fork_rng`` is not enough: it reseeds every CUDA device's generator,
and ``fork_rng`` restores only the devices it was given, so the caller's CUDA generators were left reseeded (session
52's review). :func:`seeded` seeds only what it restores: the CPU generator, and ``device``'s where it is a CUDA
device. What is drawn on those is the same as under ``torch.manual_seed(seed)``.

The generators are the process's: a seeded block holds :data:`LOCK` (one at a time in a process; session 66: a
``swapnas.score`` in one thread reseeded the generator in the middle of another thread's build, and a correlation
stored other scores; concurrent calls left it seeded with one call's seed). A thread that draws without swapnas
still sees the seeded generator while a block runs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch


#: held by every seeded block (and by scoring's builds and stochastic passes, as ``scoring._RNG_LOCK``)
LOCK = threading.RLock()


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """The CPU generator (and ``device``'s, a CUDA device) seeded with ``seed`` in the block, restored after it,
    under :data:`LOCK`."""
    cuda = device is not None and device.type == "cuda"
    with LOCK, torch.random.fork_rng(devices=[device] if cuda else []):
        torch.default_generator.manual_seed(seed)
        if cuda:
            assert device is not None
            index = torch.cuda.current_device() if device.index is None else device.index
            torch.cuda.default_generators[index].manual_seed(seed)
        yield
