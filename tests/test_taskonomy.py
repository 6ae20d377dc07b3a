"""Stand-in batches for the TransNAS tasks: targets built as documented."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from swapnas.data import load_batch
from swapnas.spaces.transnas import TASKS
from swapnas.taskonomy import jigsaw_permutations, luminance_levels, pseudo_normals, shuffle_tiles, task_batch


def test_jigsaw_permutations_distinct_and_seeded() -> None:
    p = jigsaw_permutations(1000, seed=0)
    assert p.shape == (1000, 9) and len({tuple(r) for r in p}) == 1000
    assert (p[0] == np.arange(9)).all() and all(sorted(r) == list(range(9)) for r in p[:50])
    assert (jigsaw_permutations(1000, seed=0) == p).all() and not (jigsaw_permutations(1000, seed=1) == p).all()
    with pytest.raises(ValueError, match="permutations"):
        jigsaw_permutations(0)


def test_shuffle_tiles_moves_whole_tiles() -> None:
    img = torch.arange(3 * 9 * 9, dtype=torch.float32).reshape(3, 9, 9)
    perm = np.array([8, 7, 6, 5, 4, 3, 2, 1, 0])
    out = shuffle_tiles(img, perm)
    for k in range(9):  # naive: tile k of the output is tile perm[k] of the input
        i, j = divmod(k, 3)
        si, sj = divmod(int(perm[k]), 3)
        assert torch.equal(out[:, 3 * i:3 * i + 3, 3 * j:3 * j + 3], img[:, 3 * si:3 * si + 3, 3 * sj:3 * sj + 3])
    assert torch.equal(shuffle_tiles(img, np.arange(9)), img)


def test_pseudo_normals_and_levels() -> None:
    flat = torch.zeros(2, 3, 5, 5)
    n = pseudo_normals(flat)
    assert torch.allclose(n[:, 2], torch.ones(2, 5, 5)) and torch.allclose(n[:, :2], torch.zeros(2, 2, 5, 5))
    ramp = torch.arange(5.0).view(1, 1, 1, 5).expand(1, 3, 5, 5)
    n = pseudo_normals(ramp)
    assert torch.allclose(n.norm(dim=1), torch.ones(1, 5, 5)) and (n[0, 0, :, :4] < 0).all()
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    labels = luminance_levels(x, 4)
    counts = torch.bincount(labels.flatten(), minlength=4)
    assert labels.shape == (4, 8, 8) and counts.min() >= 60 and counts.max() <= 68  # equal-count levels


@pytest.mark.parametrize("task", list(TASKS))
def test_task_batch_matches_head(task: str, small_bundle) -> None:
    b = load_batch(task, 8, data_dir=small_bundle, seed=0)
    info = TASKS[task]
    assert b.loss == info.loss and b.num_classes == info.size and b.n_real == 8 and b.note
    assert b.inputs.shape[:2] == (8, 3)
    if info.kind == "class":
        assert b.targets.shape == (8,) and b.targets.dtype == torch.int64 and b.targets.max() < info.size
    elif info.kind == "dense-class":
        assert b.targets.shape == (8, *b.inputs.shape[2:]) and b.targets.max() < info.size
    elif info.kind == "regression":
        assert b.targets.shape == (8, info.size) and b.targets.is_floating_point()
    else:
        assert b.targets.shape == b.inputs.shape
    assert load_batch(task, 8, data_dir=small_bundle, seed=0).digest == b.digest
    assert load_batch(task, 8, data_dir=small_bundle, seed=1).digest != b.digest


def test_task_batch_autoencoder_target_is_input_and_errors(small_bundle) -> None:
    b = task_batch("autoencoder", 4, data_dir=small_bundle, resolution=32)
    assert b.inputs.shape == (4, 3, 32, 32) and torch.equal(b.targets, b.inputs)
    with pytest.raises(ValueError, match="has 10 real images, the batch needs 11"):  # the small bundle keeps 10
        task_batch("normal", 11, data_dir=small_bundle)
    with pytest.raises(ValueError, match="stand-in images only"):
        load_batch("jigsaw", 4, data_dir=small_bundle, inputs="synthetic")
    with pytest.raises(ValueError, match="unknown TransNAS-Bench-101 task"):
        task_batch("depth", 4, data_dir=small_bundle)
