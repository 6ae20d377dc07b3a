"""Arguments of the typed Python functions (``run_*``, ``configure``, :class:`~swapnas.search.EAConfig`,
:class:`~swapnas.scoring.Protocol`) checked by name, as the command line's argument types check its flags (session 65:
a float or a bool for a count, or a seed beyond the store's range, reached deep code: a raw TypeError, an
OverflowError of SQLite's, a failure stored for every arch, or a run of another size)."""

from __future__ import annotations

import math
import numbers

#: the largest seed every generator and the score store take (torch's manual_seed: a signed 64-bit integer)
MAX_SEED = 2**63 - 1


class AtMost(int):
    """A count of archs that means "at most this many": a benchmark with fewer gives all of them (the command line's
    default ``--archs``); a plain int beyond the archs there are is refused."""


def whole(name: str, value: object, minimum: int | None = 0) -> int:
    """``value`` as an int >= ``minimum`` (None: any): numpy's integers too, not a bool, a float or a str."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} takes a whole number (an int), not {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum} (got {value})")
    return int(value)


def seed(name: str, value: object) -> int:
    """A seed in 0..:data:`MAX_SEED`, the range of the command line's ``--seed``."""
    if (checked := whole(name, value)) > MAX_SEED:
        raise ValueError(f"{name} must be in 0..{MAX_SEED} (got {value}): the range every generator and the score "
                         "store take")
    return checked


def finite(name: str, value: object) -> float:
    """A finite real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} takes a number, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number (got {value})")
    return float(value)


__all__ = ["MAX_SEED", "AtMost", "finite", "seed", "whole"]
