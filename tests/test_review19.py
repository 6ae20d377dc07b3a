"""Session 19's fixes, each with a test that fails without it."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from swapnas.data import load_batch
from swapnas.train.data import FolderSplit


def _grey_pair(tmp_path):
    """A 16-bit greyscale PNG and its 8-bit twin (values / 257, rounded) in two class-folder roots."""
    wide = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)  # 0 .. 65472: a full-range gradient
    narrow = np.rint(wide / 257.0).astype(np.uint8)
    for name, arr in (("wide", wide), ("narrow", narrow)):
        (tmp_path / name / "class0").mkdir(parents=True)
        Image.fromarray(arr).save(tmp_path / name / "class0" / "img.png")
    assert Image.open(tmp_path / "wide" / "class0" / "img.png").mode.startswith("I")
    return tmp_path / "wide", tmp_path / "narrow"


def test_a_16_bit_greyscale_image_reads_as_its_8_bit_twin_not_white(tmp_path) -> None:
    """Pillow's convert("RGB") clips 16-bit grey values at 255: the image was read as (nearly) all white."""
    wide, narrow = _grey_pair(tmp_path)
    a = load_batch("cifar10", 1, image_root=str(wide))
    b = load_batch("cifar10", 1, image_root=str(narrow))
    assert torch.equal(a.inputs, b.inputs)
    assert float(a.inputs.std()) > 0.5  # a gradient, not one flat colour


def test_swapnas_train_reads_16_bit_greyscale_images_like_the_scorer(tmp_path) -> None:
    wide, narrow = _grey_pair(tmp_path)
    files = [wide / "class0" / "img.png", narrow / "class0" / "img.png"]
    split = FolderSplit(files, [0, 0], train=False, size=24, resize=32)
    (x_wide, _), (x_narrow, _) = split[0], split[1]
    assert torch.equal(x_wide, x_narrow) and int(x_wide.max()) > 200 and int(x_wide.min()) < 50
