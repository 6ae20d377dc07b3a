"""A proxy's code digest, so that a store can tell scores made by other code under the same version.

A stored score's key names the proxy and its ``version=`` (``swap@1``), not its code: a metric edited
without a new version reuses the scores the old code stored. The store records each proxy's digest
beside its scores and a run warns once when the code it runs differs (:func:`swapnas.session.score_archs`).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap
from collections.abc import Callable


class ProxyCodeWarning(UserWarning):
    """A proxy's function differs from the one that stored scores under the same name and version."""


def code_digest(fn: Callable | None) -> str | None:
    """16 hex digits of sha256 over ``fn``'s source as Python parses it: comments, layout, the docstring and
    the decorators (the ``@register`` line) left out. None where the source cannot be read (a built-in, a
    function typed at the interactive prompt, a lambda inside an expression). The digest covers ``fn``
    alone, not the helpers it calls."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))  # type: ignore[arg-type]
    except (OSError, TypeError, SyntaxError):
        return None
    node = tree.body[0] if tree.body else None
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        node.decorator_list = []
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            node.body = node.body[1:] or [ast.Pass()]
    # unparse, not ast.dump: the dump's form changes between Python versions (a store shared by machines on
    # 3.11 and 3.12 would warn for every proxy), the code it prints does not
    return hashlib.sha256(ast.unparse(tree).encode()).hexdigest()[:16]
