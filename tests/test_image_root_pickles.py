"""``--image-root`` with CIFAR-format pickles at another ``--resolution``, and ``--inputs synthetic`` with image
options: regression tests for review findings of session 15 (the pickle rows were reshaped to the requested
side, scrambling the images and misaligning the labels; synthetic inputs silently ignored the image options)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image

from swapnas.bundle import DataFileError
from swapnas.data import load_batch


@pytest.fixture()
def cifar_root(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (40, 3 * 32 * 32), dtype=np.uint8)
    labels = [i % 10 for i in range(40)]
    (tmp_path / "cifar-10-batches-py").mkdir()
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({"data": data, "labels": labels}, f)
    return tmp_path, data, labels


@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_pickle_images_are_resized_not_reshaped(cifar_root, resolution) -> None:
    root, data, labels = cifar_root
    native = load_batch("cifar10", 8, image_root=root, seed=0)
    batch = load_batch("cifar10", 8, image_root=root, seed=0, resolution=resolution,
                       mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    assert tuple(batch.inputs.shape) == (8, 3, resolution, resolution) and batch.n_real == 8
    assert batch.targets.tolist() == native.targets.tolist()  # the same draw, the labels still aligned
    # each drawn image is its pickle row, resized by PIL (naive reference: one image at a time)
    for img, label in zip(batch.inputs, batch.targets.tolist()):
        got = (img.numpy().transpose(1, 2, 0) * 255.0).round().astype(np.uint8)
        matches = [i for i in range(len(data)) if np.array_equal(
            np.asarray(Image.fromarray(data[i].reshape(3, 32, 32).transpose(1, 2, 0)).resize((resolution,) * 2)), got)]
        assert len(matches) == 1 and labels[matches[0]] == label


def test_pickle_with_rows_and_labels_out_of_step_is_refused(tmp_path) -> None:
    (tmp_path / "cifar-10-batches-py").mkdir()
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({"data": np.zeros((4, 3 * 32 * 32), np.uint8), "labels": [0, 1, 2]}, f)
    with pytest.raises(DataFileError, match="one row of 3 x side x side pixel values per label"):
        load_batch("cifar10", 2, image_root=tmp_path)


def test_synthetic_inputs_refuse_options_that_describe_real_images(tmp_path) -> None:
    with pytest.raises(ValueError, match="--image-root, --num-classes describe.*with --inputs real and --image-root"):
        load_batch("cifar10", 4, inputs="synthetic", image_root=tmp_path, num_classes=5)
    assert tuple(load_batch("cifar10", 4, inputs="synthetic").inputs.shape) == (4, 3, 32, 32)
