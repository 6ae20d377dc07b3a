"""Ψ at its ceiling: the :class:`SaturationWarning` :func:`swapnas.patterns.swap_score` gives when the SWAP-Score can
no longer tell networks apart, and :func:`saturation_once`, which shows a run's first one per proxy (out of
:mod:`swapnas.patterns` in session 60)."""

from __future__ import annotations

import contextlib
import contextvars
import math
import warnings
from collections.abc import Iterator

from .callers import user_stacklevel

#: Ψ at or above this share of its ceiling min(2**S, hooked neurons) is saturated (see swap_score)
SATURATION = 0.95


class SaturationWarning(UserWarning):
    """Ψ is at its ceiling: the score no longer tells networks apart (see :func:`swap_score`)."""


#: set by a scorer that scores arch after arch: (the proxy whose passes run, the proxies whose first warning was shown,
#: the note the first one ends with)
_ONCE: contextvars.ContextVar[tuple[str, set[str], str] | None] = contextvars.ContextVar("swapnas_saturation",
                                                                                        default=None)


@contextlib.contextmanager
def saturation_once(proxy: str, shown: set[str], note: str | None = None, extra: str = "") -> Iterator[None]:
    """Within the block, a :class:`SaturationWarning` is issued only if ``proxy`` is not in ``shown`` (then added):
    a run over many saturated archs shows each proxy's first one (``scoring._score_base``, per protocol and process,
    session 66: a later run in a notebook, on another dataset, was not warned; ``note``, which the warning ends with,
    says so by default; ``extra`` is added to it), ``swapnas.score`` one per call. Other warnings are not touched;
    the setting is this thread's (a context variable)."""
    note = (f"the first for {proxy!r} of this protocol in this process; later ones are not shown (a correlate or grid "
            "report's SATURATED line counts the archs at the 2**S ceiling; a search's report does not)"
            if note is None else note) + extra
    token = _ONCE.set((proxy, shown, note))
    try:
        yield
    finally:
        _ONCE.reset(token)


#: the proxies whose SaturationWarning one ``swapnas.rank`` call has shown: one for all its models (session 66: one per
#: model, their neuron counts telling the messages apart); None outside a rank
_CALL: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("swapnas_rank_saturation", default=None)


@contextlib.contextmanager
def one_per_call() -> Iterator[set[str]]:
    """Within the block (a ``rank`` call), :func:`call_shown` is one set for every ``swapnas.score`` made in it."""
    shown: set[str] = set()
    token = _CALL.set(shown)
    try:
        yield shown
    finally:
        _CALL.reset(token)


def call_shown() -> set[str] | None:
    """The set of the enclosing :func:`one_per_call` block; None outside one."""
    return _CALL.get()


def warn_if_saturated(count: int, samples: int, neurons: int, inputs: int | None = None) -> None:
    """A :class:`SaturationWarning` (to swap_score's caller) when Ψ is within ``SATURATION`` of
    min(2**S, neurons). The advice names S = round(log2(neurons)), where 2**S meets the neuron count: on
    timm's ResNet-18, EfficientNet-B0 and ViT-Tiny at 224 px Ψ sat lowest below its ceiling there (55 %,
    70 %, 67 %; at S = 32: 74 %, 99.6 %, 99.6 %; at S = 16: 100 %): ``scripts/saturation.py``. Where the maps hold
    ``samples`` = k · ``inputs`` rows (tiles), the warning says so and its advice counts inputs."""
    ceiling = min(2 ** samples, neurons)
    if ceiling and count >= SATURATION * ceiling:
        balance = max(1, round(math.log2(max(neurons, 2))))
        where = f"S = {balance}, where 2**S meets the {neurons} hooked neurons"
        k = samples // inputs if inputs and samples != inputs else 1
        if inputs and k > 1:  # each input gives k rows (tiles; or tokens a mixture of experts routes: session 60)
            advice = _rows_advice(k, inputs, balance, neurons)
        elif balance > samples:
            advice = f"use more samples ({where}) or a smaller scored network"
        elif balance < samples:
            advice = (f"nearly every hooked neuron has a pattern of its own, so Ψ only counts neurons; use fewer "
                      f"samples ({where}; more samples only raise Ψ towards the neuron count, and a smaller scored "
                      "network only lowers that count)")
        else:
            advice = "2**S already meets the neuron count: use a smaller scored network or other inputs"
        once, note = _ONCE.get(), ""
        if once is not None:
            proxy, shown, text = once
            if proxy in shown:
                return
            shown.add(proxy)
            note = f" [{text}]"
        rows = f"S = {samples} samples" if k == 1 else \
            f"S = {samples} rows on dim 0 of the hooked maps, {k} for each of the {inputs} inputs"
        warnings.warn(SaturationWarning(
            f"SWAP-Score {count} is {count / ceiling:.0%} of its ceiling min(2**S, neurons) = {ceiling} "
            f"({rows}, {neurons} hooked neurons): it cannot rank such networks; {advice}{note}"),
            stacklevel=user_stacklevel())


def _rows_advice(k: int, inputs: int, balance: int, neurons: int) -> str:
    """The saturation warning's advice where each of the ``inputs`` gives ``k`` rows and 2**``balance`` rows' patterns
    meet the ``neurons``: the number of inputs to use, or, where one input's rows pass it, the maps to score."""
    if balance < k:
        return (f"even one input gives {k} rows, and 2**{k} patterns pass the {neurons} hooked neurons, so Ψ only "
                "counts neurons at any number of inputs; a map's rows may not be samples at all (a mixture of experts "
                "routes tokens into dim 0): score maps with one row per input (swap_score's activations=..., "
                "input_dims=...) or a larger network")
    best = round(balance / k)
    if best == inputs:
        return "2**S already meets the neuron count: use a smaller scored network or other inputs"
    return (f"use {'more' if best > inputs else 'fewer'} inputs ({best} input{'s' * (best != 1)}, S = {best * k} "
            f"rows, where 2**S meets the {neurons} hooked neurons){' or a smaller scored network' * (best > inputs)}")


__all__ = ["SATURATION", "SaturationWarning", "call_shown", "one_per_call", "saturation_once",
           "warn_if_saturated"]
