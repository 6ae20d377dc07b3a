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
from collections.abc import Callable, Iterable
from types import ModuleType


class ProxyCodeWarning(UserWarning):
    """A proxy's function differs from the one that stored scores under the same name and version."""


class NetworkCodeWarning(UserWarning):
    """The code that builds a space's networks differs from the code that stored scores under the same network
    version (the space module's ``NET_VERSION``)."""


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
    # 3.11 and 3.12 would warn for every proxy), the code it prints does not, but for an f-string with quotes inside
    # (3.12 writes f'{", ".join(x)}' where 3.11 writes f"{', '.join(x)}": the network digests of the space modules
    # differ, the metrics' do not; found in session 61, so `store merge` refuses on metric code only)
    return hashlib.sha256(ast.unparse(tree).encode()).hexdigest()[:16]


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def modules_digest(modules: Iterable[ModuleType]) -> str | None:
    """16 hex digits of sha256 over the modules' source as Python parses it (comments, layout and docstrings left
    out), in the order given; None where a source cannot be read."""
    h = hashlib.sha256()
    for module in modules:
        try:
            tree = ast.parse(inspect.getsource(module))
        except (OSError, TypeError, SyntaxError):
            return None
        h.update(module.__name__.encode() + b"\0" + ast.unparse(_without_docstrings(tree)).encode() + b"\0")
    return h.hexdigest()[:16]
