"""The package's public names stay what ``swapnas.__all__`` says they are, whatever else is imported.

Before session 52 the module behind `swapnas correlate` was ``swapnas/correlate.py``: importing it (``swapnas.cli``
does, so every ``search_arch`` call did) bound ``swapnas.correlate`` to the module, and the public function
``swapnas.correlate(scores, truth)`` became "'module' object is not callable". It is ``swapnas/correlation.py`` now.
"""

from __future__ import annotations

import importlib
import pkgutil
import types

import numpy as np

import swapnas


def _import_every_module() -> None:
    for info in pkgutil.walk_packages(swapnas.__path__, "swapnas."):
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional dependency (Ray) missing: that module cannot shadow a name either
            pass


def test_no_public_name_is_shadowed_by_a_submodule_once_everything_is_imported() -> None:
    _import_every_module()
    shadowed = [n for n in swapnas.__all__ if isinstance(getattr(swapnas, n), types.ModuleType)]
    assert shadowed == []
    submodules = {info.name for info in pkgutil.iter_modules(swapnas.__path__)}
    assert submodules.isdisjoint(set(swapnas.__all__) - {"size_prior"})  # size_prior: imported before it is bound


def test_correlate_is_the_statistics_function_after_the_command_line_is_imported() -> None:
    importlib.import_module("swapnas.cli")
    c = swapnas.correlate(np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 30.0, 20.0, 40.0]))
    assert (c.n, round(c.spearman, 6)) == (4, 0.8)
