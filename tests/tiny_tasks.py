"""A tiny NB201 scoring task shared by the executor tests: networks with C=4, N=1 on synthetic inputs and a
seeded sample of archs, so each scoring is milliseconds and every executor can be compared with another."""

from __future__ import annotations

import random

from swapnas.session import configure
from swapnas.spaces import nb201


def tiny_nb201_task(proxies: str, *, batch_size: int, repeats: int, n_archs: int, seed: int) -> tuple:
    """(protocol, batch, proxies, archs): ``n_archs`` NB201 archs drawn with ``seed``, scored on C=4, N=1."""
    protocol, batch, resolved = configure("nb201", "cifar10", proxies, batch_size=batch_size, repeats=repeats,
                                          net={"C": 4, "N": 1}, inputs="synthetic")
    return protocol, batch, resolved, random.Random(seed).sample(list(nb201.all_archs()), n_archs)


def record_table(recs: dict) -> dict:
    """{proxy: [(status, values), …]}: records compared by what they hold, not by their timings."""
    return {name: [(r.status, r.values) for r in rs] for name, rs in recs.items()}
