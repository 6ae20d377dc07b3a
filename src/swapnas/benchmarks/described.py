"""A benchmark's repr: its name, space, tasks and data file (session 66: ``<…NB201Benchmark object at 0x…>`` at a
notebook cell's end)."""

from __future__ import annotations


class Described:
    """The repr every benchmark class takes (it has ``name``, ``space``, ``tasks`` and ``path``)."""

    name: str
    space: str
    tasks: tuple[str, ...]

    def __repr__(self) -> str:
        where = getattr(self, "path", "?")
        return f"<{type(self).__name__} {self.name}: space {self.space}, tasks {', '.join(self.tasks)}, from {where}>"
