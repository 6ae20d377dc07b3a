"""Rewrite ``@deco(...)`` / ``def f`` as ``def f`` / ``f = (deco(...))(f)`` in one file, for mutation testing.

mutmut 3 never mutates a decorated function or anything inside a decorated class (its trampoline cannot copy one
safely), so the body of every registered metric (``@register(...)``), every ``@contextmanager`` (the SWAP hooks), every
``@functools.lru_cache`` function (the spaces' parameter counts) and every method of a ``@dataclass`` (the protocol's
key, the genotypes' checks) was outside every mutation run. ``scripts/mutation_check.sh`` runs this on the module under
test in its throw-away clone, so that mutmut mutates those bodies too: a decorated top-level function or class
becomes a plain one followed by ``name = (deco)(name)``, and a ``@property`` / ``@functools.cached_property`` method
in a class body a plain method followed by the same line, indented. The decorators then apply to mutmut's trampoline,
which picks the mutant at call time; the trampoline gets the function's docstring. The behaviour is the same: a
decorator is a call on what was defined just before. A definition is left alone unless every one of its decorators is
named (``@staticmethod``, ``@classmethod``, ``@torch.jit.script`` and the like are not).

    python scripts/undecorate.py FILE [NAME ...]    # only decorators called NAME (default: DEFAULT below)
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT = frozenset({
    "register", "contextmanager", "contextlib.contextmanager", "functools.lru_cache", "functools.cache",
    "torch.no_grad", "dataclass", "dataclasses.dataclass", "property", "functools.cached_property"})
_Def = ast.FunctionDef | ast.ClassDef


def _dotted(expr: ast.expr) -> str | None:
    """``a.b.c`` for a name or an attribute chain, else None."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        head = _dotted(expr.value)
        return None if head is None else f"{head}.{expr.attr}"
    return None


def _stored_doc(raw: str | None) -> str | None:
    """The docstring as this Python stores it in ``__doc__``: Python 3.13's compiler strips its common indentation
    (``ast.get_docstring(clean=False)`` does not), so the rewrite's ``name.__doc__ = ...`` equals the original's."""
    if raw is None:
        return None
    namespace: dict = {}
    exec(f"def f():\n    {raw!r}\n", namespace)  # noqa: S102 - a string literal only
    return namespace["f"].__doc__


def _named(node: _Def, names: set[str] | frozenset[str]) -> bool:
    return bool(node.decorator_list) and all(
        _dotted(deco.func if isinstance(deco, ast.Call) else deco) in names for deco in node.decorator_list)


def _rewrite(source: str, defs: Sequence[_Def], names: set[str] | frozenset[str]) -> tuple[str, int]:
    """``source`` with each of ``defs`` whose decorators are all in ``names`` rewritten, and how many."""
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # (first decorator line, def line, line after the body, text)
    for node in defs:
        if not _named(node, names):
            continue
        indent = " " * node.col_offset
        wrapped = node.name
        for deco in reversed(node.decorator_list):
            wrapped = f"({ast.get_source_segment(source, deco)})({wrapped})"
        doc = _stored_doc(ast.get_docstring(node, clean=False)) if isinstance(node, ast.FunctionDef) else None
        text = (f"{indent}{node.name}.__doc__ = {doc!r}\n" if doc else "") + f"{indent}{node.name} = {wrapped}\n"
        first = min(deco.lineno for deco in node.decorator_list) - 1
        edits.append((first, node.lineno - 1, node.end_lineno or node.lineno, text))
    for first, def_line, end, text in sorted(edits, reverse=True):
        lines[end:end] = ["\n", text]
        del lines[first:def_line]
    return "".join(lines), len(edits)


def undecorate(source: str, names: set[str] | frozenset[str] = DEFAULT) -> tuple[str, int]:
    """``source`` with its decorated top-level functions and classes, and the decorated methods of its top-level
    classes, rewritten where every decorator is one of ``names``; and how many definitions were rewritten."""
    methods = [node for cls in ast.parse(source).body if isinstance(cls, ast.ClassDef)
               for node in cls.body if isinstance(node, ast.FunctionDef)]
    source, inner = _rewrite(source, methods, names)  # first, so that the classes' line numbers are read afresh
    tops = [node for node in ast.parse(source).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    source, outer = _rewrite(source, tops, names)
    return source, inner + outer


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    path = Path(argv[0])
    out, count = undecorate(path.read_text(), set(argv[1:]) or DEFAULT)
    path.write_text(out)
    print(f"{path}: {count} decorated definition(s) rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
