"""The TransNAS stand-in batches (taskonomy.py) against independent naive versions: the images read, scaled,
resized (PIL's bilinear) and normalised; pseudo-normals pixel by pixel; jigsaw tiles and labels; the refusals
and notes whole (session 41's mutation run: docs/reliability.md)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from swapnas.taskonomy import SOURCE, jigsaw_permutations, pseudo_normals, shuffle_tiles, task_batch

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _images(bundle, size: int, seed: int, resolution: int | None = None) -> np.ndarray:
    """(size, 3, R, R) float32: the bundle's 64 px ImageNet images, chosen as documented, in [0, 1], resized with
    PIL's bilinear filter, then normalised with the ImageNet mean and std."""
    with np.load(bundle / "images" / "foolbox_real_samples.npz") as z:
        x_all = z["imagenet_x64"]
    order = np.random.default_rng(seed).permutation(len(x_all))[:size]
    out = []
    for img in x_all[order].astype(np.float32) / 255.0:  # (H, W, 3)
        chans = [img[..., c] for c in range(3)]
        if resolution is not None:
            chans = [np.asarray(Image.fromarray(ch, mode="F").resize((resolution, resolution), Image.BILINEAR))
                     for ch in chans]
        out.append(np.stack([(ch - MEAN[c]) / STD[c] for c, ch in enumerate(chans)]))
    return np.stack(out)


def test_inputs_are_the_chosen_images_scaled_and_normalised(small_bundle):
    b = task_batch("autoencoder", 10, data_dir=small_bundle, seed=3)  # every image of the small bundle
    assert np.allclose(b.inputs.numpy(), _images(small_bundle, 10, 3), atol=1e-6)
    assert (b.dataset, b.source, b.n_real, b.num_classes) == ("autoencoder", SOURCE, 10, 3)
    assert b.note == "autoencoder: ImageNet stand-in images, target = the input (real targets)"


def test_another_resolution_is_pil_bilinear_antialiased(small_bundle):
    b = task_batch("autoencoder", 4, data_dir=small_bundle, seed=0, resolution=24)
    want = _images(small_bundle, 4, 0, resolution=24)
    assert b.inputs.shape == (4, 3, 24, 24)
    assert np.abs(b.inputs.numpy() - want).max() < 1e-5
    native = task_batch("autoencoder", 4, data_dir=small_bundle, seed=0, resolution=64)
    assert torch.equal(native.inputs, task_batch("autoencoder", 4, data_dir=small_bundle, seed=0).inputs)


def test_the_default_seed_is_zero(small_bundle):
    default, zero, one = (task_batch("room_layout", 4, data_dir=small_bundle, **kw) for kw in ({}, {"seed": 0},
                                                                                                {"seed": 1}))
    assert torch.equal(default.inputs, zero.inputs) and torch.equal(default.targets, zero.targets)
    assert not torch.equal(default.targets, one.targets)


def test_pseudo_normals_pixel_by_pixel(small_bundle):
    x = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    lum = x.numpy().mean(axis=1)
    want = np.zeros((2, 3, 4, 5), dtype=np.float32)
    for s in range(2):
        for i in range(4):
            for j in range(5):
                gx = lum[s, i, j + 1] - lum[s, i, j] if j < 4 else 0.0  # forward differences, 0 at the far edge
                gy = lum[s, i + 1, j] - lum[s, i, j] if i < 3 else 0.0
                v = np.array([-gx, -gy, 1.0])
                want[s, :, i, j] = v / np.linalg.norm(v)
    assert np.allclose(pseudo_normals(x).numpy(), want, atol=1e-6)
    b = task_batch("normal", 3, data_dir=small_bundle, seed=0)
    assert torch.equal(b.targets, pseudo_normals(b.inputs))
    assert b.note == "normal: ImageNet stand-in images, luminance-gradient pseudo-normals as targets (surrogate)"


def test_jigsaw_tiles_follow_the_seeded_permutation_of_each_label(small_bundle):
    plain = task_batch("autoencoder", 10, data_dir=small_bundle, seed=1).inputs
    b = task_batch("jigsaw", 10, data_dir=small_bundle, seed=1, num_classes=2)
    perms = jigsaw_permutations(2, 1)
    assert not (perms == jigsaw_permutations(2, 0)).all()  # the seed reaches the permutations
    assert sorted(set(b.targets.tolist())) == [0, 1]  # label 0 (the identity) is drawn too
    for img, label, out in zip(plain, b.targets, b.inputs):
        assert torch.equal(out, shuffle_tiles(img, perms[int(label)]))


def test_jigsaw_permutation_counts_at_both_ends():
    assert jigsaw_permutations(1).tolist() == [list(range(9))]
    assert (jigsaw_permutations(30) == jigsaw_permutations(30, 0)).all()
    for n in (0, 362881):
        with pytest.raises(ValueError) as info:
            jigsaw_permutations(n)
        assert str(info.value) == f"jigsaw needs 1..9! permutations (got {n})"


def test_shuffle_tiles_of_a_wide_image():
    img = torch.arange(3 * 6 * 9, dtype=torch.float32).reshape(3, 6, 9)  # tiles of 2 × 3 pixels
    perm = np.array([3, 0, 8, 1, 5, 2, 7, 4, 6])
    out = shuffle_tiles(img, perm)
    for k in range(9):
        i, j = divmod(k, 3)
        si, sj = divmod(int(perm[k]), 3)
        assert torch.equal(out[:, 2 * i:2 * i + 2, 3 * j:3 * j + 3], img[:, 2 * si:2 * si + 2, 3 * sj:3 * sj + 3])
