"""Session 18 review: any model through ``score`` and ``rank``. Each test failed on the code before its fix."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import swapnas
from swapnas.scoring import gaussian_init


def _cnn(c: int = 8) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))


@pytest.mark.filterwarnings("ignore::swapnas.SaturationWarning")
def test_gaussian_init_keeps_contiguous_float32_draws_and_ignores_layout_and_dtype() -> None:
    torch.manual_seed(0)
    ref = _cnn()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():  # the formula before the fix, which every stored score was drawn with
        expected = [m.weight.clone().normal_(0.0, 1.0, generator=g) for m in ref.modules()
                    if isinstance(m, (nn.Conv2d, nn.Linear))]
    gaussian_init(ref, torch.Generator().manual_seed(3))
    drawn = [m.weight for m in ref.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert all(torch.equal(a, b) for a, b in zip(drawn, expected))  # bit-identical: stored scores keep
    last, wide = _cnn().to(memory_format=torch.channels_last), _cnn().double()
    for m in (last, wide):
        gaussian_init(m, torch.Generator().manual_seed(3))
    assert last[0].weight.is_contiguous(memory_format=torch.channels_last)
    for a, b, c in zip(ref.parameters(), last.parameters(), wide.parameters()):
        assert torch.equal(a, b) and torch.equal(a.double(), c)
    x, y = torch.randn(16, 3, 6, 6), torch.randint(0, 10, (16,))
    want = swapnas.score(_cnn(), (x, y), ["swap", "grad_norm"])
    got = swapnas.score(_cnn().to(memory_format=torch.channels_last), (x, y), ["swap", "grad_norm"])
    assert got == pytest.approx(want, rel=1e-5)  # the same weights; the kernels' sums differ in the last bits
    assert swapnas.score(_cnn().double(), x.double(), "swap") == {"swap": want["swap"]}
