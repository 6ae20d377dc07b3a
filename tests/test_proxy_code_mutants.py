"""The code digests (``swapnas.proxies.code``), from their mutation run (session 48): each digest against sha256 of
the code written out here by hand as Python prints it back, without the docstrings, decorators and comments the
digests leave out, and None where no source can be read. Since session 62 the digests hash that code's
:func:`~swapnas.proxies.code.canonical` form, and the ``legacy_`` ones (what stores recorded before) the text itself."""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import sys
import types
from pathlib import Path

import pytest

from swapnas.proxies import code


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=None)  # a decorator: left out of the digest
def decorated(x: int, y: int = 2) -> int:
    """A docstring: left out."""
    # a comment: left out
    return x * y


def only_a_docstring() -> None:
    """Nothing else."""


async def waits(x: int) -> int:
    """Async too."""
    return x


def starts_with_a_number() -> int:
    42  # an expression that is not a docstring stays
    return 1


class Kept:
    """A class's docstring is kept: only functions' are dropped."""

    x = 1


_FORMS = [(code.code_digest, lambda text: code.canonical(ast.parse(text))), (code.legacy_code_digest, lambda t: t)]


@pytest.mark.parametrize("digest, form", _FORMS, ids=["canonical", "legacy"])
def test_a_functions_digest_is_its_code_without_decorators_docstring_and_comments(digest, form) -> None:
    def sha(text: str) -> str:
        return _sha(form(text))

    assert digest(decorated) == sha("def decorated(x: int, y: int=2) -> int:\n    return x * y")
    assert digest(only_a_docstring) == sha("def only_a_docstring() -> None:\n    pass")
    assert digest(waits) == sha("async def waits(x: int) -> int:\n    return x")
    assert digest(starts_with_a_number) == sha("def starts_with_a_number() -> int:\n    42\n    return 1")
    assert digest(Kept) == sha(
        "class Kept:\n    \"\"\"A class's docstring is kept: only functions' are dropped.\"\"\"\n    x = 1")


@pytest.mark.parametrize("digest", [code.code_digest, code.legacy_code_digest], ids=["canonical", "legacy"])
def test_no_digest_without_a_source(digest) -> None:
    assert digest(len) is None  # a built-in
    assert digest(None) is None
    made = types.FunctionType(compile("def f():\n    return 1", "<typed>", "exec").co_consts[0], {})
    assert digest(made) is None  # typed at a prompt: no file to read


def _module(tmp_path: Path, name: str, source: str) -> types.ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


SOURCE = '''"""Module doc."""
import os  # a comment


class A:
    """Class doc."""

    def m(self):
        """Method doc."""
        return os.sep


async def g():
    """Only a docstring."""
'''
BARE = '''import os


class A:

    def m(self):
        return os.sep


async def g():
    pass
'''


@pytest.mark.parametrize("digest, form", [(code.modules_digest, code.canonical),
                                          (code.legacy_modules_digest, ast.unparse)], ids=["canonical", "legacy"])
def test_a_modules_digest_is_its_code_without_docstrings_in_the_order_given(tmp_path: Path, digest, form) -> None:
    one = _module(tmp_path, "digest_one", SOURCE)
    two = _module(tmp_path, "digest_two", "X = 1  # two\n")
    text_one, text_two = form(ast.parse(BARE)), form(ast.parse("X = 1"))
    want = hashlib.sha256(b"digest_one\0" + text_one.encode() + b"\0" + b"digest_two\0" + text_two.encode()
                          + b"\0").hexdigest()[:16]
    assert digest([one, two]) == want
    assert digest([two, one]) != want
    assert digest([]) == hashlib.sha256().hexdigest()[:16]
    assert digest([one, types.ModuleType("typed")]) is None  # no source to read
    assert digest([sys]) is None  # built in


def test_docstrings_are_dropped_from_every_kind_of_body() -> None:
    tree = code._without_docstrings(ast.parse(SOURCE))
    assert ast.unparse(tree) == ast.unparse(ast.parse(BARE))
    kept = code._without_docstrings(ast.parse("def f():\n    x = 'not first'\n    'a later string'\n"))
    assert ast.unparse(kept) == "def f():\n    x = 'not first'\n    'a later string'"
