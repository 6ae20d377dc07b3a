"""``pytest.raises(..., match=exact(message))``: the whole message, character for character (no regex in it)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest


def exact(message: str) -> str:
    """A pattern that matches ``message`` and nothing longer or shorter."""
    return "^" + re.escape(message) + "$"


def refusal(exc_type: type[BaseException], call: Callable[[], object]) -> str:
    """The whole message of the ``exc_type`` that ``call()`` raises, to compare with ``==`` or ``endswith`` (a
    KeyError's own text, not the repr its ``str()`` gives)."""
    with pytest.raises(exc_type) as info:
        call()
    return str(info.value.args[0]) if isinstance(info.value, KeyError) else str(info.value)


#: the end of a data-file refusal (swapnas.bundle.damaged), typed out; ``.format(origin)``
DAMAGED_TAIL = "; the file is damaged, truncated or not the expected one (it comes from {}: restore it from there)"
