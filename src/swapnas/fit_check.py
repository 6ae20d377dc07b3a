"""Refuse, before any arch is scored, a proxy that cannot score a space's networks at all (``swap`` counts
``nn.ReLU`` modules and FlexiBERT's networks have GELU only): until session 49 every arch was scored and failed,
and a search ran its whole budget before it said that it had no answer."""

from __future__ import annotations

import random

import torch

from .api import UnsupportedModel, check_supported
from .bundle import Batch
from .proxies import Proxy
from .scoring import Protocol
from .spaces import get_space


def refuse_unfit(space: str, proxies: list[Proxy], protocol: Protocol, batch: Batch, flag: str,
                 samples: int = 3) -> None:
    """A ValueError naming each proxy whose requirement (``Proxy.requires``: a ReLU module, convolutional blocks, …)
    none of ``samples`` networks of ``space`` (drawn with ``random.Random(0)``, built on the meta device: no
    memory, no compute) meets, with the reason and what to give ``flag`` instead. A space whose networks cannot
    be built that way is not checked here (its scoring says what is wrong)."""
    mod, rng = get_space(space), random.Random(0)
    try:
        with torch.device("meta"):
            nets = [mod.build(mod.sample(rng), num_classes=batch.num_classes, **protocol.net) for _ in range(samples)]
    except Exception:  # noqa: BLE001 - a build that needs real tensors: left to the scoring, which names the error
        return
    unfit: dict[str, list[str]] = {}  # reason -> the proxies refused for it (one sentence per reason)
    model = type(nets[0]).__name__ if nets else space
    for p in proxies:
        reasons = []
        for net in nets:
            try:
                check_supported(p, net)
            except UnsupportedModel as exc:
                reasons.append(exc.why)
        if reasons and len(reasons) == len(nets):
            unfit.setdefault(reasons[0], []).append(p.name)
    if unfit:
        names = [n for group in unfit.values() for n in group]
        why = "; ".join(f"{', '.join(group)} cannot score {model}: {reason}" for reason, group in unfit.items())
        need = "needs" if len(names) == 1 else "need"
        raise ValueError(f"{why}. No network of {space} has what {', '.join(names)} {need}: give {flag} other proxies "
                         "(`swapnas proxies` lists them; `best` is each space's recommended fitness)")
