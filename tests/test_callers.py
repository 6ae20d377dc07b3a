"""A SaturationWarning names the user's line, whichever entry point reached swap_score (session 49: through
``swapnas.score`` it named ``src/swapnas/proxies/swap.py``)."""

from __future__ import annotations

import warnings

import torch
from torch import nn

import swapnas
from swapnas.callers import user_stacklevel
from swapnas.patterns import SaturationWarning


def _saturating() -> tuple[nn.Module, torch.Tensor]:
    return nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU()), torch.randn(16, 3, 6, 6)  # 32 neurons, far below 2**16


def _caught(call) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [w for w in caught if issubclass(w.category, SaturationWarning)]


def test_the_warning_points_at_the_callers_line_for_every_entry_point() -> None:
    net, x = _saturating()
    for call in (lambda: swapnas.swap_score(net, x), lambda: swapnas.score(net, x),
                 lambda: swapnas.rank({"a": net}, x)):
        (w,) = _caught(call)
        assert w.filename == __file__ and "lambda" in open(__file__).read().splitlines()[w.lineno - 1]


def test_a_frame_outside_the_package_is_level_one() -> None:
    assert user_stacklevel() == 1  # called from this module: its own frame
