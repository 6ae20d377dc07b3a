""":class:`NotFound`: a name or an arch the caller gave that swapnas does not hold (a KeyError, so ``except KeyError``
still catches it). The command line reports it as bad input (exit 2, the message alone); any other KeyError is a bug,
reported as one with its traceback (session 52: every KeyError was printed as bad input, a bug's bare ``'x'`` too)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


def near_names(name: str, choices: Iterable[str], n: int = 2, cutoff: float = 0.6) -> str:
    """``"'a' or 'b'"``: the (at most ``n``) ``choices`` nearest ``name``, case aside; '' for none."""
    lower = {c.lower(): c for c in choices}
    return " or ".join(repr(lower[c]) for c in difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=cutoff))


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'a' or 'b'?"``: the (at most two) ``choices`` nearest ``name``, case aside; '' for none."""
    close = near_names(name, choices)
    return f"; did you mean {close}?" if close else ""


def listed(items: list[str], last: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c`` (``last``: the word before the last item, e.g. "or")."""
    return f" {last} ".join([", ".join(items[:-1]), items[-1]] if items[1:] else items)


class NoFitnessWarning(UserWarning):
    """``best`` asked of a space whose ``FITNESS_PROTOCOL`` names no proxy (no dev data of it chose one): the registry's
    alias is scored. A category of swapnas's own, so that the command line shows it as one ``swapnas: warning:`` line
    (session 64: a plain UserWarning pointed at the ``swapnas`` script's line, shown in Python's format)."""


class NotFound(KeyError):
    """An unknown proxy, an arch not in a benchmark, a column or score a file lacks; the message says what there is."""

    def __str__(self) -> str:  # KeyError's own str() quotes the message as a repr
        return str(self.args[0]) if self.args else ""


def printable(text: str) -> str:
    """``text`` for a terminal: its control characters (but new lines and tabs) written as ``\\xNN``, so that a name
    or message read from someone else's file cannot move the cursor, clear the screen or retitle the window (session
    67: a store's ``\\x1b]0;…\\x07`` was printed raw)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
