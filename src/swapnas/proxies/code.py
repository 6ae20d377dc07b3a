"""A proxy's code digest, so that a store can tell scores made by other code under the same version.

A stored score's key names the proxy and its ``version=`` (``swap@1``), not its code: a metric edited
without a new version reuses the scores the old code stored. The store records each proxy's digest
beside its scores and a run warns once when the code it runs differs (:func:`swapnas.session.score_archs`).

Since session 62 the digest reads the parsed code in a form Python 3.10 to 3.13 write alike (:func:`canonical`);
before, it read ``ast.unparse``'s text, which they do not. A record in that older form is the running code's when it
equals the ``legacy_`` digest of the running code (the same Python that recorded it): the store then records the
new form in its place (:meth:`swapnas.store.ScoreStore.code_changed`), so older stores warn of nothing new.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import textwrap
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

import numpy as np
import torch


class ProxyCodeWarning(UserWarning):
    """A proxy's function differs from the one that stored scores under the same name and version."""


class NetworkCodeWarning(UserWarning):
    """The code that builds a space's networks differs from the code that stored scores under the same network
    version (the space module's ``NET_VERSION``)."""


def canonical(node: object) -> str:
    """The parsed code as text that Python 3.10 to 3.13 write alike: each node's class and its fields in the
    order the grammar gives them, those that are None or empty left out (3.12 added ``type_params``, empty in
    code without them), constants by ``ascii``. Not ``ast.dump``, whose form changes between versions, nor
    ``ast.unparse`` (until session 62), which writes ``for (a, b) in`` on 3.10 and ``for a, b in`` later, and an
    f-string with quotes inside in one way on 3.11 and another on 3.12: a store shared across those versions warned
    for every space's networks (``scripts/digest_versions.py`` compares the two forms under several interpreters).
    An f-string's text parts are joined and empty ones left out (3.12.1 gives ``f"{x:>{w}}"``'s format an empty
    last part that 3.13 does not)."""
    if isinstance(node, ast.JoinedStr):
        node = ast.JoinedStr(values=_joined(node.values))
    if isinstance(node, ast.AST):
        fields = [f"{name}={canonical(value)}" for name in node._fields
                  if (value := getattr(node, name, None)) is not None and value != []]
        return f"{type(node).__name__}({','.join(fields)})"
    if isinstance(node, list):
        return f"[{','.join(canonical(item) for item in node)}]"
    return ascii(node)  # (not repr: a str's repr escapes the characters the interpreter's Unicode tables lack, which
    # differ between 3.10 and 3.13: the review of session 62)


def _joined(values: list[ast.expr]) -> list[ast.expr]:
    out: list[ast.expr] = []
    for value in values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            if not value.value:
                continue
            if out and isinstance(last := out[-1], ast.Constant) and isinstance(last.value, str):
                out[-1] = ast.Constant(value=last.value + value.value)
                continue
        out.append(value)
    return out


def _sha16(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()[:16]


def _function_tree(fn: Callable | None) -> ast.Module | None:
    """``fn``'s source parsed, its decorators and docstring left out; None where it cannot be read."""
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
    return tree


def code_digest(fn: Callable | None) -> str | None:
    """16 hex digits of sha256 over ``fn``'s source as Python parses it (:func:`canonical`): comments, layout, the
    docstring and the decorators (the ``@register`` line) left out. None where the source cannot be read (a
    built-in, a function typed at the interactive prompt, a lambda inside an expression). The digest covers ``fn``
    alone, not the helpers it calls nor the values a closure captures; a ``functools.partial``'s covers its function
    and the arguments it fixes (:func:`option_text`; session 66: it had none, and a changed argument reused the
    scores of the old one unsaid), None where one of them has no key (a lambda)."""
    if isinstance(fn, functools.partial):
        inner = code_digest(fn.func)
        try:
            fixed = option_text(fn.args) + option_text(dict(sorted(fn.keywords.items())))
        except Exception:  # noqa: BLE001 - an argument with no text of its own: no digest, as before session 66
            return None
        return None if inner is None else _sha16(f"partial({inner},{fixed})")
    tree = _function_tree(fn)
    return None if tree is None else _sha16(canonical(tree))


def option_text(value: Any, name: str = "") -> str:
    """``value``, an option of a proxy, as its store key writes it: a float to 6 significant digits (``{v:g}``), the
    rest as ``str``, as ever. Since session 66 (keys of these were wrong or never found again): a string with ``,=[]``
    quoted (it could write another set of options); numpy scalars inside a tuple, list or dict as their Python
    numbers (numpy 2 writes ``np.float64(0.5)`` there, numpy 1 ``0.5``); an array or a tensor by its shape, dtype and
    a digest of its values (their text is cut short: different arrays shared a key, and a stored score); a function
    defined with def (not a closure) or a class by its qualified name and :func:`code_digest`, a built-in function
    or a class without Python source by its name, a ``functools.partial`` of such by its parts (their text held an
    address, another in every process: a score was never found again). Any other value as ``str``; one whose text
    holds an address (a lambda, a closure, a bound method, an object without a repr of its own) is refused, naming
    option ``name``."""
    value = _numbers(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return repr(value) if type(value) is str and any(c in value for c in ",=[]") else f"{value}"
    if isinstance(value, (np.ndarray, torch.Tensor)):
        data = value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy() \
            if isinstance(value, torch.Tensor) else np.ascontiguousarray(value)
        if data.dtype != object:
            return f"{type(value).__name__}{tuple(value.shape)}:{value.dtype}:{_sha16(data.tobytes())}"
    text = _named(value) or f"{value}"
    if " at 0x" in text:  # (an address: another in every process, and another object's once this one is gone)
        raise ValueError(f"option {name or '?'}={text}: its text holds a memory address, so the score store cannot "
                         "key it (its scores would never be found again, or be another value's): give plain data "
                         "(numbers, strings, tuples), an array, a class, a function defined with def at a module's "
                         "top (not a lambda or a closure), or an object whose repr says all it holds")
    return text


def _numbers(value: Any) -> Any:
    """``value`` with every numpy scalar inside a tuple, list or dict (those types exactly) as its Python number."""
    if isinstance(value, np.generic):
        return value.item()
    if type(value) in (tuple, list):
        return type(value)(_numbers(v) for v in value)
    if type(value) is dict:
        return {_numbers(k): _numbers(v) for k, v in value.items()}
    return value


def _named(value: Any) -> str | None:
    """A function's, a class's or a partial's stable text (:func:`option_text`); None for any other value."""
    if isinstance(value, functools.partial):
        func = _named(value.func)
        fixed = [option_text(value.args), option_text(dict(sorted(value.keywords.items())))]  # (refused: an address)
        return None if func is None else f"partial({', '.join([func, *fixed])})"
    where = f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}"
    if inspect.isbuiltin(value):  # a built-in function, not a bound method of an object
        return where if value.__self__ is None or inspect.ismodule(value.__self__) else None
    if inspect.isclass(value):
        digest = code_digest(value)
        return f"{where}#{digest}" if digest else where
    if inspect.isfunction(value) and value.__name__ != "<lambda>" and value.__closure__ is None:
        digest = code_digest(value)
        return f"{where}#{digest}" if digest else None
    return None


def legacy_code_digest(fn: Callable | None) -> str | None:
    """:func:`code_digest` as stores recorded it until session 62: over ``ast.unparse``'s text, which differs
    between Python versions (:func:`canonical`). A store's record that equals it is the running code's."""
    tree = _function_tree(fn)
    return None if tree is None else _sha16(ast.unparse(tree))


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _modules_hash(modules: Iterable[ModuleType], form: Callable[[ast.AST], str]) -> str | None:
    h = hashlib.sha256()
    for module in modules:
        try:
            tree = ast.parse(inspect.getsource(module))
        except (OSError, TypeError, SyntaxError):
            return None
        h.update(module.__name__.encode() + b"\0" + form(_without_docstrings(tree)).encode() + b"\0")
    return h.hexdigest()[:16]


def modules_digest(modules: Iterable[ModuleType]) -> str | None:
    """16 hex digits of sha256 over the modules' source as Python parses it (:func:`canonical`: comments, layout
    and docstrings left out), in the order given; None where a source cannot be read."""
    return _modules_hash(modules, canonical)


def legacy_modules_digest(modules: Iterable[ModuleType]) -> str | None:
    """:func:`modules_digest` as stores recorded it until session 62 (over ``ast.unparse``'s text)."""
    return _modules_hash(modules, ast.unparse)
