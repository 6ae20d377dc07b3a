"""scripts/conformance_gaps.py: its NASLib-style batch and init do what docs/conformance.md says."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.script_tools import load_script

gaps = load_script("conformance_gaps")


def test_archai_init_draws_nasbench101s_weights() -> None:
    """archai's NB101 init: conv N(0, 2 / (k² C_out)), BatchNorm 1 and 0, Linear N(0, 0.01), zero biases."""
    model = nn.Sequential(nn.Conv2d(64, 64, 3), nn.BatchNorm2d(64), nn.Flatten(), nn.Linear(512, 100))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(7.0)
    gaps.archai_init(model, seed=1)
    conv, bn, _, fc = model
    assert float(conv.weight.std()) == pytest.approx((2 / (9 * 64)) ** 0.5, rel=0.03)
    assert float(fc.weight.std()) == pytest.approx(0.01, rel=0.03)
    assert abs(float(conv.weight.mean())) < 0.002 and abs(float(fc.weight.mean())) < 0.001
    assert (conv.bias == 0).all() and (fc.bias == 0).all() and (bn.weight == 1).all() and (bn.bias == 0).all()
    again = nn.Sequential(nn.Conv2d(64, 64, 3), nn.BatchNorm2d(64), nn.Flatten(), nn.Linear(512, 100))
    gaps.archai_init(again, seed=1)
    assert torch.equal(again[0].weight, conv.weight)  # drawn from its own generator: the seed fixes it


def test_the_augmented_batch_is_a_padded_crop_or_its_mirror_of_distinct_images() -> None:
    pool_x = torch.arange(6 * 3 * 4 * 4, dtype=torch.float32).reshape(6, 3, 4, 4) + 1
    pool_y = torch.arange(6)
    black = torch.zeros(3)
    x, y = gaps.augmented_batch(pool_x, pool_y, black, 4, seed=3)
    again = gaps.augmented_batch(pool_x, pool_y, black, 4, seed=3)
    assert torch.equal(x, again[0]) and torch.equal(y, again[1]) and len(set(y.tolist())) == 4
    for img, label in zip(x, y):
        padded = torch.nn.functional.pad(pool_x[label], (4, 4, 4, 4))
        crops = [padded[:, i:i + 4, j:j + 4] for i in range(9) for j in range(9)]
        assert any(torch.equal(img, c) or torch.equal(img, c.flip(-1)) for c in crops)


def test_the_spread_of_naslibs_jacov_shows_its_32_image_bound(data_dir, capsys) -> None:
    assert gaps.main(["--spread", "--data-dir", str(data_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [line.split(" ")[0] for line in lines] == ["nb101", "nb201", "nb301"]
    for line in lines:
        top = float(line.split("max ")[1].split(",")[0])
        assert -33 < top <= -32  # jacov <= -N for N images: NASLib used 32
    with pytest.raises(SystemExit):
        gaps.main(["--space", "nb101"])  # a run needs its conformance.json and --out
