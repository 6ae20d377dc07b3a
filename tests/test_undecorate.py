"""``scripts/undecorate.py``: a registered function rewritten as a plain one registered after its definition
registers the same thing, with the same docstring, and behaves the same; so do context managers, cached functions,
dataclasses and properties rewritten the same way; decorators not named are left alone."""

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
    assert undecorate.main([str(path), "register"]) == 0 and path.read_text() == out
    assert undecorate.main([str(path)]) == 0 and "@" not in path.read_text()  # the default names take lru_cache too
    assert undecorate.main([]) == 2


CLASSES = '''
import contextlib
import dataclasses
import functools
from dataclasses import dataclass

LOG = []


@contextlib.contextmanager
def noted(tag):
    """Logs the way in and out."""
    LOG.append(("in", tag))
    yield tag * 2
    LOG.append(("out", tag))


@functools.lru_cache(maxsize=4)
def slow(n):
    LOG.append(("slow", n))
    return n * n


@dataclass(frozen=True, order=True)
class Point:
    """A point."""
    x: int
    y: int = 0

    def __post_init__(self):
        if self.x < 0:
            raise ValueError("x < 0")

    @property
    def norm(self):
        """Manhattan."""
        return abs(self.x) + abs(self.y)

    @functools.cached_property
    def twice(self):
        return Point(2 * self.x, 2 * self.y)

    @staticmethod
    def origin():
        return Point(0)

    def shifted(self, dx):
        return dataclasses.replace(self, x=self.x + dx)


@dataclasses.dataclass
class Box:
    items: list = dataclasses.field(default_factory=list)
'''


def _exercise(namespace: dict) -> list:
    with namespace["noted"](3) as got:
        namespace["LOG"].append(("got", got))
    point = namespace["Point"](1, 2)
    try:
        namespace["Point"](-1)
    except ValueError as err:
        namespace["LOG"].append(("error", str(err)))
    return [namespace["slow"](4), namespace["slow"](4), namespace["slow"].cache_info().maxsize, point.norm,
            namespace["Point"].norm.__doc__, repr(point.shifted(2)), point < point.shifted(1),
            repr(namespace["Point"].origin()),
            namespace["noted"].__doc__, namespace["Point"].__doc__, [f.name for f in
            namespace["dataclasses"].fields(namespace["Point"])], namespace["Box"]().items, namespace["LOG"]]


def test_context_managers_caches_dataclasses_and_properties_are_rewritten_with_the_same_behaviour() -> None:
    undecorate = load_script("undecorate")
    out, count = undecorate.undecorate(CLASSES)
    assert count == 6  # noted, slow, Point, Box, and Point's norm and twice; origin keeps its @staticmethod
    assert "@staticmethod" in out and out.count("@") == 1
    assert "    norm = (property)(norm)\n" in out and "Point = (dataclass(frozen=True, order=True))(Point)\n" in out
    before, after = _run(CLASSES), _run(out)
    assert _exercise(after) == _exercise(before) == [
        16, 16, 4, 3, "Manhattan.", "Point(x=3, y=2)", True, "Point(x=0, y=0)", "Logs the way in and out.",
        "A point.", ["x", "y"], [],
        [("in", 3), ("got", 6), ("out", 3), ("error", "x < 0"), ("slow", 4)]]
    with_twice = after["Point"](1, 2)
    assert with_twice.twice is with_twice.twice and with_twice.twice == after["Point"](2, 4)
    only_classes, count = undecorate.undecorate(CLASSES, {"dataclass", "dataclasses.dataclass"})
    assert count == 2 and "@property" in only_classes and "@contextlib.contextmanager" in only_classes
