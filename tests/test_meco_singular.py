"""MeCo on maps with no more values per channel than channels (session 51: a ViT's patch embedding, 64 channels of
16 positions, gave -1e-15-sized values that ranked models by rounding noise)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from swapnas.bundle import Batch
from swapnas.proxies.meco import meco


def _batch(x: torch.Tensor) -> Batch:
    return Batch(x, torch.zeros(x.shape[0], dtype=torch.long), 2, "test", "synthetic", 0)


def _naive_min_eig(fmap: np.ndarray) -> float:
    rows = fmap.reshape(fmap.shape[0], -1)
    return float(np.linalg.eigvalsh(np.corrcoef(rows)).min())


def test_a_model_whose_every_map_is_singular_is_refused() -> None:
    torch.manual_seed(0)
    patch = nn.Sequential(nn.Conv2d(3, 32, 8, stride=8))  # 32 channels of 4 x 4 = 16 positions
    with pytest.raises(ValueError, match=r"^meco: every hooked map has no more observations than channels \(the "
                                         r"first: 32 channels of 16 values\), so each correlation matrix is singular"):
        meco(patch, _batch(torch.randn(2, 3, 32, 32)))
    square = nn.Sequential(nn.Conv2d(3, 16, 8, stride=8))  # 16 channels of 16 positions: rank <= 15, singular too
    with pytest.raises(ValueError, match="16 channels of 16 values"):
        meco(square, _batch(torch.randn(2, 3, 32, 32)))


def test_one_map_with_more_positions_than_channels_is_scored_with_the_singular_ones() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 32, 8, stride=8))  # 4 x 1024; 32 x 16
    x = torch.randn(1, 3, 32, 32)
    maps = []
    hooks = [m.register_forward_hook(lambda mod, a, out: maps.append(out.detach()[0].double().numpy()))
             for m in model]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    want = sum(_naive_min_eig(f) for f in maps)
    assert abs(_naive_min_eig(maps[1])) < 1e-9  # the singular map adds (about) nothing
    assert meco(model, _batch(x)) == pytest.approx(want, abs=1e-9)
