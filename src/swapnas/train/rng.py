"""The random streams of one training run, kept apart from the caller's global generators.

A run draws from one CPU stream — the model's initial weights, then per batch the augmentation
offsets, flips and cutout centres, the DataLoader's worker base seed, in-process image
transforms (``workers=0``) and, on CPU, drop-path — and, on CUDA, from one stream of the
training device (drop-path). Both start where ``torch.manual_seed(seed)`` puts the global
generators, so the draws, and the results, are those of a run that seeds the global
generators, without touching them.

Augmentation and DataLoaders take the CPU stream as an explicit ``torch.Generator``
(:attr:`RunRng.cpu`). What can only draw from the global generators — nn.Module constructors
(weight init), ``drop_path``'s ``bernoulli_`` in the network's forward, :class:`FolderSplit`
transforms run in the main process — runs inside :meth:`RunRng.installed`:
``torch.random.fork_rng`` saves the caller's global state, the run's stream is copied in, and
afterwards the advanced stream is copied back out and the caller's state restored. Python's
``random`` and NumPy's global state are never used or changed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch


class RunRng:
    """A run's torch streams: :attr:`cpu` (a ``torch.Generator``) and one CUDA generator per visible device."""

    def __init__(self, seed: int, device: torch.device):
        self.cpu = torch.Generator().manual_seed(seed)
        n_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
        self.cuda = [torch.Generator(device=f"cuda:{i}").manual_seed(seed) for i in range(n_cuda)]
        self.cuda_index: int | None = None  # the training device, whose stream drop-path draws from
        if device.type == "cuda":
            self.cuda_index = device.index if device.index is not None else torch.cuda.current_device()
        # The checkpoint format keeps Python's and NumPy's states next to torch's; nothing in training
        # draws from them, so they are the states `random.seed(seed)` / `np.random.seed(seed)` give.
        # a tuple already; tuple() and Any: numpy's stubs type get_state otherwise from one version to the next
        np_state: tuple[Any, ...] = tuple(np.random.RandomState(seed % 2**32).get_state())
        self._fixed = {"python": random.Random(seed).getstate(),
                       "numpy": (np_state[0], np_state[1].tolist(), *np_state[2:])}

    def state(self) -> dict:
        """The streams' state as a checkpoint stores it (``python``, ``numpy``, ``torch``, ``cuda`` per device)."""
        return {**self._fixed, "torch": self.cpu.get_state(), "cuda": [g.get_state() for g in self.cuda]}

    def load(self, state: dict) -> None:
        """Continue from :meth:`state` (also of checkpoints that seeded the global generators)."""
        self.cpu.set_state(state["torch"])
        for g, s in zip(self.cuda, state["cuda"] or []):
            g.set_state(s)

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Run the block with the run's streams as the global generators; the caller's state is restored after."""
        devices = [] if self.cuda_index is None else [self.cuda_index]
        with torch.random.fork_rng(devices=devices):
            torch.set_rng_state(self.cpu.get_state())
            for i in devices:
                torch.cuda.set_rng_state(self.cuda[i].get_state(), i)
            try:
                yield
            finally:
                self.cpu.set_state(torch.get_rng_state())
                for i in devices:
                    self.cuda[i].set_state(torch.cuda.get_rng_state(i))
