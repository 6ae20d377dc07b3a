"""``scripts/undecorate.py``: a registered function rewritten as a plain one registered after its definition
registers the same thing, with the same docstring, and behaves the same; other decorators are left alone."""

from __future__ import annotations

from pathlib import Path

from .script_tools import load_script

SOURCE = '''
import functools


def register(name, **options):
    def wrap(fn):
        SEEN.append((name, options, fn.__name__, fn.__doc__, fn(2)))
        return fn
    return wrap


SEEN = []


@register("double", higher_is_better=True,
          version="1")
def double(x):
    """Two times x.

    Second paragraph."""
    return 2 * x


@functools.lru_cache(maxsize=None)
def cached(x):
    return x


@register("bare")
def bare(x):
    return x + 1
'''


def _run(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<test>", "exec"), namespace)  # noqa: S102 - the test's own source
    return namespace


def test_the_rewrite_registers_the_same_and_leaves_other_decorators(tmp_path: Path) -> None:
    undecorate = load_script("undecorate")
    out, count = undecorate.undecorate(SOURCE, {"register"})
    assert count == 2 and "@register" not in out and "@functools.lru_cache(maxsize=None)" in out
    before, after = _run(SOURCE), _run(out)
    assert after["SEEN"] == before["SEEN"] == [
        ("double", {"higher_is_better": True, "version": "1"}, "double", "Two times x.\n\n    Second paragraph.", 4),
        ("bare", {}, "bare", None, 3)]
    assert after["double"](5) == 10 and after["cached"].cache_info().maxsize is None
    path = tmp_path / "m.py"
    path.write_text(SOURCE)
    assert undecorate.main([str(path), "nothing"]) == 0 and path.read_text() == SOURCE  # no such decorator
    assert undecorate.main([str(path)]) == 0 and path.read_text() == out
    assert undecorate.main([]) == 2
