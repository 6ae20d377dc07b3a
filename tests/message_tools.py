"""``pytest.raises(..., match=exact(message))``: the whole message, character for character (no regex in it)."""

from __future__ import annotations

import re


def exact(message: str) -> str:
    """A pattern that matches ``message`` and nothing longer or shorter."""
    return "^" + re.escape(message) + "$"
