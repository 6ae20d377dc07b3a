"""Shared by the tests of scripts/ and perf/: load a script as a module, a Spearman ρ computed by loops (golden
values), and a fake clock."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
PERF = SCRIPTS.parent / "perf"


def load_script(name: str, prefix: str = "script") -> ModuleType:
    """``scripts/NAME.py`` as a fresh module named ``PREFIX_NAME``; scripts/ goes on sys.path first, since the
    scripts import each other as they do when run from scripts/."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(f"{prefix}_{name}", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_perf(name: str, prefix: str = "perf") -> ModuleType:
    """``perf/NAME.py`` as a fresh module named ``PREFIX_NAME`` (its globals can be patched without touching another
    test's copy)."""
    spec = importlib.util.spec_from_file_location(f"{prefix}_{name}", PERF / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(script: ModuleType, monkeypatch: Any, *argv: str) -> Any:
    """``script.main()`` as the command line ``python SCRIPT.py ARGV…`` runs it (``sys.argv`` patched for the test)."""
    monkeypatch.setattr(sys, "argv", [Path(script.__file__ or "script.py").name, *argv])
    return script.main()


class FakeClock:
    """A fake ``time`` module: ``perf_counter`` / ``time`` move only when a fake says so (``clock.now += s``)."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def perf_counter(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now


def naive_spearman(x: list[float], y: list[float]) -> float:
    """Pearson correlation of average ranks, by loops (ties share the mean of their ranks)."""
    def ranks(v: list[float]) -> list[float]:
        return [sum(b < a for b in v) + (sum(b == a for b in v) + 1) / 2 for a in v]
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
