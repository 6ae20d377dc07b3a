"""A proxy's option values checked where they are set (:meth:`Proxy.configure`), before any pass (session 65:
``swapnas.score(..., options={'swap_reg': {'mu': 1, 'sigma': 0}})`` ran the model, then blamed it with an
UnsupportedModel, and ``rank`` ranked every model unscored; a str for a weight failed with Python's own words).

By the option's default: a bool takes a bool, an int a whole number, a float a finite number, a str a str; for the
package's metrics, the ranges and choices they read (:data:`RANGES`, :data:`CHOICES`; a metric of one's own is
judged by its defaults' kinds alone). A value of another kind raises TypeError, one out of its range
ValueError, each naming the proxy, the option and the value."""

from __future__ import annotations

import math
import numbers
from typing import Any, cast

import numpy as np

_ABOVE_0 = (0.0, False, None, False)
#: (metric, option) -> (lowest, whether the lowest is taken, highest or None, whether the highest is taken)
RANGES: dict[tuple[str, str], tuple[float, bool, float | None, bool]] = {
    ("swap_reg", "sigma"): _ABOVE_0,  # the prior's width
    ("meco", "samples"): (1, True, None, False), ("meco_all", "samples"): (1, True, None, False),
    ("zico", "splits"): (2, True, None, False),  # a std across at least two mini-batches
    ("lswag_grad", "splits"): (2, True, None, False),
    ("vkdnw", "tensors"): (1, True, None, False), ("vkdnw", "smoothing"): (0.0, True, 1.0, False),
    ("epe_nas", "k"): _ABOVE_0, ("jacob_cov", "k"): _ABOVE_0,  # log(. + k)
    ("grasp", "temperature"): _ABOVE_0, ("zen", "alpha"): _ABOVE_0,
    ("lswag_grad", "start"): (0.0, True, 100.0, False),  # percentiles, start < stop (:func:`check_options`)
    ("lswag_grad", "stop"): (0.0, False, 100.0, True),
}
#: str options that take one of a few values (meco's ``LAYERS``, vkdnw's ``INPUTS``; tests/test_review65.py checks
#: they are those modules' own)
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("meco", "layers"): ("all", "conv", "relu"),
    ("vkdnw", "inputs"): ("data", "random"),
}
#: options whose default is None and whose value is a number (swap_reg's prior)
NUMBERS = (("swap_reg", "mu"), ("swap_reg", "sigma"))
#: a ``seed`` option's range, torch's generators' (compared exactly, as ints)
SEEDS = (-(2**63), 2**64 - 1)


def check_option(proxy: str, name: str, value: Any, default: Any) -> None:
    """Raise TypeError / ValueError where ``value`` cannot be proxy ``proxy``'s option ``name`` (``default``: its
    registered default)."""
    said = f"{proxy} option {name}={value!r}"
    if value is None and default is None:
        return
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise TypeError(f"{said}: takes True or False")
        return
    if isinstance(default, numbers.Number) or (proxy, name) in NUMBERS:
        whole = isinstance(default, numbers.Integral)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral if whole else numbers.Real):
            raise TypeError(f"{said}: takes {'a whole number (an int)' if whole else 'a number'}")
        if name == "seed" and not SEEDS[0] <= cast(int, value) <= SEEDS[1]:  # (zen's, vkdnw's generators: an
            # "Overflow" on every pass otherwise; compared exactly, as the int it is)
            raise ValueError(f"{said}: must be in torch's seed range {SEEDS[0]}..{SEEDS[1]}")
        if not math.isfinite(value := float(value)):
            raise ValueError(f"{said}: must be a finite number")
        if (proxy, name) in RANGES:
            low, low_in, high, high_in = RANGES[proxy, name]
            if value < low or (value == low and not low_in) or (
                    high is not None and (value > high or (value == high and not high_in))):
                top = "∞)" if high is None else f"{high:g}{']' if high_in else ')'}"
                raise ValueError(f"{said}: must be in {'[' if low_in else '('}{low:g}, {top}")
        return
    if isinstance(default, str) and not isinstance(value, str):
        raise TypeError(f"{said}: takes a str (default {default!r})")
    if (proxy, name) in CHOICES and value not in CHOICES[proxy, name]:
        raise ValueError(f"{said}: takes one of {', '.join(map(repr, CHOICES[proxy, name]))}")


def check_options(proxy: str, options: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """:func:`check_option` of each of ``options`` (``defaults``: the proxy's registered ones), a numpy scalar read as
    the Python number it holds (vkdnw's ``tensors`` takes an int), an int given for a real-valued one as its float
    (session 66: ``alpha=1234567`` and ``1234567.0`` were keyed apart in the store, ``1234567`` and ``1.23457e+06``);
    the options as checked. lswag_grad's ``start`` < ``stop``."""
    checked = {}
    for name, value in options.items():
        value = value.item() if isinstance(value, np.generic) else value
        check_option(proxy, name, value, defaults[name])
        real = isinstance(defaults[name], float) or (proxy, name) in NUMBERS
        checked[name] = float(value) if real and isinstance(value, int) and not isinstance(value, bool) else value
    merged = {**defaults, **checked}
    if proxy == "lswag_grad" and set(checked) & {"start", "stop"} and not merged["start"] < merged["stop"]:
        raise ValueError(f"{proxy} options start={merged['start']!r}, stop={merged['stop']!r}: start must be below "
                         "stop")
    return checked


__all__ = ["CHOICES", "NUMBERS", "RANGES", "SEEDS", "check_option", "check_options"]
