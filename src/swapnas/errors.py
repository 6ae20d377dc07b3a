""":class:`NotFound`: a name or an arch the caller gave that swapnas does not hold (a KeyError, so ``except KeyError``
still catches it). The command line reports it as bad input (exit 2, the message alone); any other KeyError is a bug,
reported as one with its traceback (session 52: every KeyError was printed as bad input, a bug's bare ``'x'`` too)."""

from __future__ import annotations


class NotFound(KeyError):
    """An unknown proxy, an arch not in a benchmark, a column or score a file lacks; the message says what there is."""

    def __str__(self) -> str:  # KeyError's own str() quotes the message as a repr
        return str(self.args[0]) if self.args else ""
