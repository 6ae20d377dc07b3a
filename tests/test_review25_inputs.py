"""Session-25 review of input batches and the Python API's inputs: each test fails on the code before its fix
(docs/reliability.md)."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import swapnas


def _cnn(outputs: int = 10) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, outputs))


X = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(1))
Y = torch.arange(8) % 10


def test_int32_labels_score_as_int64_labels() -> None:
    """Before: int32 labels reached the loss unchanged ("expected target dtype to be Long or Byte, but got Int")."""
    y = Y % 5  # some class twice (eight classes of one sample each: epe_nas refused since session 65)
    want = swapnas.score(_cnn(), (X, y), ["snip", "epe_nas"])
    assert swapnas.score(_cnn(), (X, y.int()), ["snip", "epe_nas"]) == want


def test_float_labels_with_whole_values_warn_that_they_are_regression_targets() -> None:
    """Before: silently an mse target (epe_nas 862.78 against 79.70 with the same labels as integers)."""
    with pytest.warns(UserWarning, match=r"float labels are read as regression targets .*pass y\.long\(\)"):
        swapnas.score(_cnn(), (X, Y.float()), ["swap"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        swapnas.score(_cnn(), (X, torch.randn(8)), ["swap"])  # real regression targets: no warning


@pytest.mark.parametrize(("y", "kwargs", "message"), [
    (torch.tensor(3), {}, r"one entry per sample .* got a scalar tensor \(3\)"),  # was a bare IndexError
    (torch.arange(8) % 10, {"num_classes": 3}, r"class labels must run from 0 to num_classes - 1 = 2 .* these run "
                                               r"from 0 to 7: remap them.*give num_classes the model's output size"),
    (torch.arange(8) - 1, {}, r"class labels must run from 0 to C - 1 .* these run from -1 to 6"),
])
def test_labels_that_are_no_classes_are_refused_up_front(y, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        swapnas.score(_cnn(), (X, y), ["snip"], **kwargs)


def test_ignored_labels_still_pass() -> None:
    y = Y.clone()
    y[0] = -100  # cross-entropy's ignore index (masked-token labels)
    assert set(swapnas.score(_cnn(), (X, y), ["snip"])) == {"snip"}


def test_a_token_id_past_the_embedding_gets_a_hint() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(100, 16), nn.Linear(16, 16), nn.GELU(), nn.Linear(16, 2))
    ids = torch.randint(0, 100, (8, 5)) + 100
    with pytest.raises(swapnas.UnsupportedModel, match=r"index out of range.*the ids run from 1\d\d to 1\d\d, and the "
                                                       r"model's embeddings have 100 rows"):
        swapnas.score(model, ids, ["swap_fn"])


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    (("class_object", -1), {}, r"batch size must be a whole number >= 1 \(got -1\)"),  # was a (19, …) batch
    (("class_object", 0), {}, r"batch size must be a whole number >= 1 \(got 0\)"),
    (("cifar10", 4), {"seed": -1}, r"seed must be a whole number >= 0 \(got -1\)"),
    (("cifar10", 4), {"resolution": 64}, r"--resolution describe your own images: they need --image-root"),
])
def test_load_batch_checks_its_arguments(data_dir, args, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        swapnas.load_batch(*args, data_dir=data_dir, **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"num_classes": 0}, r"--num-classes must be a whole number >= 1 \(got 0\)"),
    ({"resolution": 0}, r"--resolution must be a whole number >= 1 \(got 0\)"),  # was blamed on an image file
    ({"resolution": 8.5}, r"--resolution must be a whole number >= 1 \(got 8\.5\)"),
])
def test_load_batch_checks_your_images_options(tmp_path, kwargs, message) -> None:
    from PIL import Image

    (tmp_path / "dog").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(tmp_path / "dog" / "0.png")
    with pytest.raises(ValueError, match=message):
        swapnas.load_batch("cifar10", 4, image_root=tmp_path, **kwargs)


def test_an_imagenet16_pickle_without_usable_rows_says_so(tmp_path) -> None:
    """Before: ZeroDivisionError (integer modulo by zero) from the fill."""
    (tmp_path / "val_data").write_bytes(pickle.dumps({"data": np.zeros((2, 3 * 16 * 16), dtype=np.uint8),
                                                      "labels": [500, 600]}))  # every label beyond the 120 classes
    with pytest.raises(ValueError, match=r"imagenet16-120: .*val_data holds no usable images"):
        swapnas.load_batch("imagenet16-120", 4, image_root=tmp_path)


def test_swap_score_says_its_options_take_collections() -> None:
    """Before: "'int' object is not iterable" / "'type' object is not iterable"."""
    for kwargs in ({"input_dims": 4}, {"activations": nn.ReLU}):
        with pytest.raises(TypeError, match=r"take collections: e\.g\. activations=\(nn\.ReLU,\), input_dims=\(4,\)"):
            swapnas.swap_score(_cnn(), X, **kwargs)
