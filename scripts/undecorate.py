"""Rewrite ``@deco(...)`` / ``def f`` as ``def f`` / ``f = deco(...)(f)`` in one file, for mutation testing.

mutmut 3 never mutates a decorated function (its trampoline cannot copy one safely), so the body of every
registered metric (``@register(...)``) was outside every mutation run. ``scripts/mutation_check.sh`` runs this on the
module under test in its throw-away clone, so that mutmut mutates those bodies too; the decorator is then applied to
mutmut's trampoline, which picks the mutant at call time, and the trampoline gets the function's docstring. The
behaviour is the same: a decorator is a call on the function defined just before.

    python scripts/undecorate.py FILE [NAME ...]    # only decorators called NAME (default: register)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def undecorate(source: str, names: set[str]) -> tuple[str, int]:
    """``source`` with the top-level functions decorated by a call of one of ``names`` rewritten, and how many."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # (first decorator line, def line, line after the body, text)
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or len(node.decorator_list) != 1:
            continue
        deco = node.decorator_list[0]
        called = deco.func if isinstance(deco, ast.Call) else deco
        if not (isinstance(called, ast.Name) and called.id in names):
            continue
        text = ast.get_source_segment(source, deco)
        doc = ast.get_docstring(node, clean=False)  # mutmut's trampoline has none; the registry reads it
        wrapped = (f"{node.name}.__doc__ = {doc!r}\n" if doc else "") + f"{node.name} = ({text})({node.name})\n"
        edits.append((deco.lineno - 1, node.lineno - 1, node.end_lineno or node.lineno, wrapped))
    for first, def_line, end, text in reversed(edits):
        lines[end:end] = ["\n", text]
        del lines[first:def_line]
    return "".join(lines), len(edits)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    path = Path(argv[0])
    out, count = undecorate(path.read_text(), set(argv[1:]) or {"register"})
    path.write_text(out)
    print(f"{path}: {count} decorated function(s) rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
