"""swapnas.data's readers of your images, from its mutation run (session 44): ``read_pickle``'s refusals written out
whole and its Python 2 strings, and ``rgb_image``'s 16- and 32-bit greyscale modes value by value."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from swapnas.bundle import DataFileError
from swapnas.data import _check_draw, _finite, _folder_images, _logged, dataset_info, read_pickle, rgb_image

from .message_tools import DAMAGED_TAIL as TAIL
from .message_tools import refusal


def _pickled(tmp_path: Path, obj: object, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(pickle.dumps(obj))
    return path


def test_read_pickle_refusals_whole(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"not a pickle")
    assert refusal(DataFileError, lambda: read_pickle(bad, ("data",))) == \
        f"{bad}: not a readable pickle (UnpicklingError: invalid load key, 'n'.)" + TAIL.format("your --image-root")
    listed = _pickled(tmp_path, [1, 2], "listed")
    assert refusal(DataFileError, lambda: read_pickle(listed, ("data",), origin="the CIFAR site")) == (
        f"{listed}: not a readable pickle (TypeError: it holds a list, not a dict of data and labels)"
        + TAIL.format("the CIFAR site"))
    many = _pickled(tmp_path, {f"k{i}": i for i in range(12)}, "many")
    assert refusal(DataFileError, lambda: read_pickle(many, ("data", "k3", "labels"))) == (
        f"{many}: the pickle has no data, labels (it has k0, k1, k2, k3, k4, k5, k6, k7, k8, k9)"
        + TAIL.format("your --image-root"))
    empty = _pickled(tmp_path, {}, "empty")
    assert refusal(DataFileError, lambda: read_pickle(empty, ("data",))) == \
        f"{empty}: the pickle has no data (it has nothing)" + TAIL.format("your --image-root")
    assert read_pickle(many, ("k0", "k11")) == {f"k{i}": i for i in range(12)}


def test_read_pickle_reads_python2_strings_as_latin1(tmp_path: Path) -> None:
    """CIFAR's pickles were written by Python 2: their byte strings need latin1 (ASCII fails on byte 0xe9)."""
    path = tmp_path / "py2"
    # protocol 2: {"data": <Python 2 str of bytes e9 e9 e9>}, opcodes written out (Python 3 cannot write such a str)
    path.write_bytes(b"\x80\x02}q\x00(U\x04dataq\x01U\x03\xe9\xe9\xe9q\x02u.")
    assert read_pickle(path, ("data",)) == {"data": "\xe9\xe9\xe9"}


def _grey(values: list[int], mode: str) -> Image.Image:
    img = Image.fromarray(np.array([values], dtype=np.uint16 if mode == "I;16" else np.int32))
    assert img.mode == mode
    return img


def _pixels(img: Image.Image) -> list[list[int]]:
    assert img.mode == "RGB"
    return np.asarray(img)[0].tolist()


def test_rgb_image_scales_16_bit_grey_to_8_bit() -> None:
    # v / 257 rounded: 0, 1, 2 (514 / 257), 128 (32896 / 257), 255
    assert _pixels(rgb_image(_grey([0, 257, 514, 32896, 65535], "I;16"))) == \
        [[0] * 3, [1] * 3, [2] * 3, [128] * 3, [255] * 3]
    # a 16-bit image whose values all fit in 0..255 is scaled too (its mode says 16 bits)
    assert _pixels(rgb_image(_grey([0, 200, 255], "I;16"))) == [[0] * 3, [1] * 3, [1] * 3]


def test_rgb_image_32_bit_grey_is_scaled_only_above_255() -> None:
    assert _pixels(rgb_image(_grey([0, 10, 254, 255], "I"))) == [[0] * 3, [10] * 3, [254] * 3, [255] * 3]
    assert _pixels(rgb_image(_grey([0, 256, 514, 65535], "I"))) == [[0] * 3, [1] * 3, [2] * 3, [255] * 3]
    assert _pixels(rgb_image(_grey([0, 256], "I"))) == [[0] * 3, [1] * 3]  # 256 is past 8 bits: scaled
    # clipped to 0..255 after scaling: a negative value and one past 16 bits (70000 / 257 = 272.4)
    assert _pixels(rgb_image(_grey([-5, 100, 70000], "I"))) == [[0] * 3, [0] * 3, [255] * 3]
    assert _pixels(rgb_image(_grey([-5, 100], "I"))) == [[0] * 3, [100] * 3]


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P"])
def test_rgb_image_converts_other_modes_as_pillow_does(mode: str) -> None:
    img = Image.fromarray(np.array([[[10, 200, 30], [255, 0, 7]]], dtype=np.uint8), mode="RGB").convert(mode)
    assert _pixels(rgb_image(img)) == _pixels(img.convert("RGB"))


# --- _folder_images: the three pickle layouts, their checks, and class folders -----------------------------------

def _pickle_root(root: Path, sub: str, name: str, data: np.ndarray, labels: list[int], label_key: str) -> Path:
    (root / sub).mkdir(parents=True, exist_ok=True)
    (root / sub / name).write_bytes(pickle.dumps({"data": data, label_key: labels}))
    return root / sub / name


def _rows(n: int, side: int) -> np.ndarray:
    return (np.arange(n * 3 * side * side) % 251).reshape(n, 3 * side * side).astype(np.uint8)


def test_cifar100_reads_its_fine_labels(tmp_path: Path) -> None:
    path = _pickle_root(tmp_path, "cifar-100-python", "test", _rows(3, 32), [7, 99, 0], "fine_labels")
    x, y, source, files = _folder_images(dataset_info("cifar100"), tmp_path, 3, 0)
    assert x.shape == (3, 32, 32, 3) and y.tolist() == [7, 99, 0] and y.dtype == np.int64
    assert (source, files) == (str(path), None)
    assert x[1].tolist() == _rows(3, 32)[1].reshape(3, 32, 32).transpose(1, 2, 0).tolist()


@pytest.mark.parametrize("sub", ["ImageNet16", "."])
def test_imagenet16_keeps_classes_1_to_120_as_0_to_119(tmp_path: Path, sub: str) -> None:
    rows = _rows(6, 16)
    path = _pickle_root(tmp_path, sub, "val_data", rows, [1, 120, 121, 1000, 5, 0], "labels")
    x, y, source, files = _folder_images(dataset_info("imagenet16-120"), tmp_path, 6, 0)
    assert y.tolist() == [0, 119, 4] and (source, files) == (str(path), None)  # 0 is no ImageNet label: left out
    assert x.tolist() == rows[[0, 1, 4]].reshape(3, 3, 16, 16).transpose(0, 2, 3, 1).tolist()


def test_float_pickles_must_be_finite(tmp_path: Path) -> None:
    good = _rows(2, 32).astype(np.float64)
    _pickle_root(tmp_path / "a", "cifar-10-batches-py", "test_batch", good, [1, 2], "labels")
    x, y, _, _ = _folder_images(dataset_info("cifar10"), tmp_path / "a", 2, 0)
    assert x.dtype == np.uint8 and y.tolist() == [1, 2]
    bad = good.copy()
    bad[0, :2], bad[1, 5] = np.nan, np.inf
    path = _pickle_root(tmp_path / "b", "cifar-10-batches-py", "test_batch", bad, [1, 2], "labels")
    assert refusal(DataFileError, lambda: _folder_images(dataset_info("cifar10"), tmp_path / "b", 2, 0)) == (
        f"{path}: 3 non-finite pixel value(s) (NaN/inf); images must hold 0..255 values"
        + TAIL.format("your --image-root"))


def test_a_root_without_images_names_what_it_expected(tmp_path: Path) -> None:
    for name, wanted in (("imagenet16-120", "ImageNet16/val_data, ./val_data"), ("imagenet", "")):
        assert refusal(FileNotFoundError, lambda: _folder_images(dataset_info(name), tmp_path, 2, 0)) == (
            f"no {name} images under {tmp_path}: expected {wanted} (torchvision / benchmark format) or one sub-folder "
            "of images per class")


def test_a_root_that_does_not_exist_is_said_so(tmp_path: Path) -> None:
    assert refusal(FileNotFoundError, lambda: _folder_images(dataset_info("cifar10"), tmp_path / "nope", 2, 0)) == (
        f"--image-root {tmp_path / 'nope'} does not exist; give the folder of your images")


def test_class_folders_give_the_seeded_draw_and_the_file_count(tmp_path: Path) -> None:
    for c, shades in (("a_cls", (10, 20)), ("b_cls", (30, 40, 50))):
        (tmp_path / c).mkdir()
        for s in shades:
            Image.fromarray(np.full((8, 8, 3), s, dtype=np.uint8)).save(tmp_path / c / f"{s}.png")
    (tmp_path / "b_cls" / "notes.txt").write_text("not an image")
    (tmp_path / ".ipynb_checkpoints").mkdir()  # session 53: a class of its own, label 0, the others' shifted
    Image.fromarray(np.full((8, 8, 3), 99, dtype=np.uint8)).save(tmp_path / ".ipynb_checkpoints" / "x.png")
    x, y, source, files = _folder_images(dataset_info("imagenet16-120"), tmp_path, 3, 0)
    order = np.random.default_rng(0).permutation(5)[:3]
    files_in_order = [(10, 0), (20, 0), (30, 1), (40, 1), (50, 1)]
    assert y.tolist() == [files_in_order[i][1] for i in order] and y.dtype == np.int64
    assert [int(img[0, 0, 0]) for img in x] == [files_in_order[i][0] for i in order] and x.shape == (3, 16, 16, 3)
    assert (source, files) == (str(tmp_path), 5)


def test_a_pickle_whose_rows_and_labels_differ_is_named(tmp_path: Path) -> None:
    path = _pickle_root(tmp_path, "cifar-10-batches-py", "test_batch", _rows(2, 32), [1, 2, 3], "labels")
    assert refusal(DataFileError, lambda: _folder_images(dataset_info("cifar10"), tmp_path, 2, 0)) == (
        f"{path}: data has shape (2, 3072) and 3 labels; expected one row of 3 x side x side pixel values per label"
        + TAIL.format("your --image-root"))


# --- the small checks: dataset names, batch size and seed, finiteness, the batch note ------------------------------

def test_an_unknown_dataset_lists_the_known_ones() -> None:
    assert refusal(ValueError, lambda: dataset_info("mnist")) == \
        "unknown dataset 'mnist'; choose one of cifar10, cifar100, imagenet16-120, imagenet"


def test_batch_size_and_seed_are_whole_numbers() -> None:
    _check_draw(1, 0)
    _check_draw(np.int64(3), np.uint8(2))
    for size in (0, -2, True, 2.0):
        assert refusal(ValueError, lambda: _check_draw(size, 0)) == \
            f"batch size must be a whole number >= 1 (got {size!r})"
    for seed in (-1, True, 1.5):
        assert refusal(ValueError, lambda: _check_draw(4, seed)) == f"seed must be a whole number >= 0 (got {seed!r})"


def test_a_non_finite_batch_is_counted() -> None:
    ok = torch.zeros(2, 3)
    assert _finite(ok, "cifar10", "x") is ok
    bad = torch.tensor([[float("nan"), 1.0, float("inf")], [0.0, -float("inf"), 2.0]])
    assert refusal(ValueError, lambda: _finite(bad, "cifar100", "your --image-root")) == (
        "cifar100: the batch from your --image-root holds 3 non-finite value(s) (NaN/inf) after normalisation; "
        "check the images and --mean/--std")


def test_the_batch_note_joins_every_note() -> None:
    assert _logged({"fill": "20 real images", "labels": "labels remapped"}, labels=True) == \
        "20 real images; labels remapped"
