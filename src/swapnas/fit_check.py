"""Refuse, before any arch is scored, a proxy that cannot score a space's networks at all (``swap`` counts
``nn.ReLU`` modules and FlexiBERT's networks have GELU only): until session 49 every arch was scored and failed,
and a search ran its whole budget before it said that it had no answer."""

from __future__ import annotations

import random

import torch

from .bundle import Batch
from .proxies import Proxy
from .requirements import BATCH_REFUSED, OUTPUT_REQUIREMENTS, UnsupportedModel, applies, check_output, check_supported
from .scoring import Protocol, with_bases
from .spaces import get_space


def unfit(space: str, proxies: list[Proxy], protocol: Protocol, batch: Batch, samples: int = 3) -> dict[str, list[str]]:
    """"cannot score NET: reason" -> the proxies of ``proxies`` whose requirement (``Proxy.requires``: a ReLU
    module, convolutional blocks, float inputs, …) none of ``samples`` networks of ``space`` (drawn with
    ``random.Random(0)``, built on the meta device: no memory, no compute) and ``batch`` meet. A space whose networks
    cannot be built that way is not checked here (its scoring says what is wrong)."""
    mod, rng = get_space(space), random.Random(0)
    try:
        with torch.device("meta"):
            nets = [mod.build(mod.sample(rng), num_classes=batch.num_classes, **protocol.net) for _ in range(samples)]
    except Exception:  # noqa: BLE001 - a build that needs real tensors: left to the scoring, which names the error
        return {}
    found: dict[str, list[str]] = {}  # one sentence per reason
    outputs = _meta_outputs(nets, batch) if any(_reads_output(p) for p in proxies) else [None] * len(nets)
    for p in proxies:
        reasons = []
        for net, out in zip(nets, outputs):
            try:
                check_supported(p, net, batch)
                if out is not None:
                    check_output(p, net, out)
            except UnsupportedModel as exc:  # the batch, where its labels are refused (session 65: the network blamed)
                reasons.append(f"{'this batch' if exc.of_batch else type(net).__name__}: {exc.why}")
        if reasons and len(reasons) == len(nets):
            found.setdefault(f"cannot score {reasons[0]}", []).append(p.name)
    return found


def _reads_output(p: Proxy) -> bool:
    return any(applies(q, need) in OUTPUT_REQUIREMENTS for q in with_bases([p]) for need in q.requires)


def _meta_outputs(nets: list[torch.nn.Module], batch: Batch) -> list[object]:
    """Each network's output for the batch on the meta device (its shape only); None where the pass cannot run
    there (the scoring then says what is wrong)."""
    outs: list[object] = []
    inputs = batch.map(lambda t: t.to("meta")).inputs  # once for every network
    for net in nets:
        try:
            with torch.no_grad():
                outs.append(net(inputs))
        except Exception:  # noqa: BLE001 - an op without a meta kernel: no output check
            outs.append(None)
    return outs


def space_text(space: str, protocol: Protocol) -> str:
    """The space, and the task where networks differ by task (TransNAS: one head per task)."""
    return f"{space} ({protocol.dataset})" if hasattr(get_space(space), "TASKS") else space


def unfit_text(found: dict[str, list[str]]) -> str:
    """:func:`unfit`'s answer as text: "a, b cannot score Net: reason; c cannot score Net: another"."""
    return "; ".join(f"{', '.join(names)} {what}" for what, names in found.items())


def fit_each(space: str, proxies: list[Proxy], protocol: Protocol,
             batch: Batch) -> tuple[list[Proxy], dict[str, list[str]], list[str]]:
    """The proxies the networks of ``space`` can take (:func:`unfit`; a set-level proxy only with every part), those
    left out by reason (:func:`unfit`'s answer), and the set-level ones left out with a part."""
    found = unfit(space, proxies, protocol, batch)
    out = {n for names in found.values() for n in names}
    sets = [p.name for p in proxies if out & set(p.parts)]  # a set-level proxy needs every part
    return [p for p in proxies if p.name not in out and p.name not in sets], found, sets


def fit_for_all(space: str, proxies: list[Proxy], protocol: Protocol, batch: Batch) -> tuple[list[Proxy], str]:
    """``--proxies all``: the proxies the networks of ``space`` can take (:func:`fit_each`), and a sentence on those
    left out ('' if none)."""
    kept, found, sets = fit_each(space, proxies, protocol, batch)
    also = f" (and {', '.join(sets)}, which rank with some of them)" if sets else ""
    return kept, f"{unfit_text(found)}{also}" if found else ""


def not_applicable(space: str, proxies: list[Proxy], protocol: Protocol,
                   batch: Batch) -> tuple[list[Proxy], dict[str, str]]:
    """A grid column's proxies the networks of ``space`` can take (:func:`fit_each`), and name → why for the others
    (a grid reports them as not applicable instead of scoring every arch to a failure: until session 57)."""
    kept, found, sets = fit_each(space, proxies, protocol, batch)
    why = {name: what for what, names in found.items() for name in names}
    for p in proxies:
        if p.name in sets:
            why[p.name] = "ranks with " + ", ".join(f"{part}, which {why[part]}" for part in p.parts if part in why)
    return kept, why


def refuse_small_inputs(space: str, protocol: Protocol, batch: Batch, given: str) -> None:
    """A ValueError when the network of ``space`` cannot take ``batch``'s images at their size (your images resized
    too small for its pools and strides: until session 57 every arch was scored and failed). One sampled network's
    pass on the meta device (no memory, no compute); it refuses only when the same pass on images four times as
    large (at least 64 pixels) goes through, so a failure of another cause (an op the meta device lacks, a network
    that needs real tensors) is left to the scoring. ``given``: the flag that set the size, with its value
    (``--resolution 1``)."""
    x = batch.inputs
    if not isinstance(x, torch.Tensor) or x.dim() != 4:  # images only: (S, C, H, W)
        return
    mod, arch = get_space(space), get_space(space).sample(random.Random(0))

    def failure(side: int) -> Exception | None:
        try:
            with torch.device("meta"):
                net = mod.build(arch, num_classes=batch.num_classes, **protocol.net)
                with torch.no_grad():
                    net(torch.empty(*x.shape[:2], side, side))
        except Exception as exc:  # noqa: BLE001 - told apart by the larger size's pass
            return exc
        return None
    small = failure(x.shape[-1])
    if small is not None and failure(max(64, 4 * x.shape[-1])) is None:
        raise ValueError(f"{given}: the {space} network cannot take inputs {tuple(x.shape)} of that size "
                         f"({type(small).__name__}: {small}); give a larger {given.split()[0]}")


def refuse_unfit(space: str, proxies: list[Proxy], protocol: Protocol, batch: Batch, flag: str,
                 samples: int = 3) -> None:
    """A ValueError naming each proxy that no network of ``space`` can be scored by (:func:`unfit`), with the
    reason and what to give ``flag`` instead."""
    found = unfit(space, proxies, protocol, batch, samples)
    if found:
        names = [n for what, group in found.items() if not what.startswith(BATCH_REFUSED) for n in group]
        if not names:  # the batch alone: its reason says what to give
            raise ValueError(unfit_text(found))
        need = "needs" if len(names) == 1 else "need"
        raise ValueError(f"{unfit_text(found)}. No network of {space_text(space, protocol)} has what "
                         f"{', '.join(names)} {need}: give {flag} other proxies (`swapnas proxies` lists them; `best` "
                         "is each space's recommended fitness)")
