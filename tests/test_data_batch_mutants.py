"""swapnas.data's batch assembly, from its mutation run (session 45): ``load_batch``'s routing of token, task,
synthetic and image batches (each compared field by field with the function it routes to), the seeded draw and its
notes, the augment fill against a naive re-implementation, and the refusals of the bundle, image and option checks
written out whole."""

from __future__ import annotations

import logging
import pickle
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from swapnas.bundle import DATA_ORIGIN, Batch, DataFileError
from swapnas.data import _augment_fill, _draw, _own_images, dataset_info, load_batch
from swapnas.taskonomy import task_batch
from swapnas.tokens import token_batch

from .message_tools import DAMAGED_TAIL as TAIL
from .message_tools import refusal


def _same(a: Batch, b: Batch) -> None:
    """Every field of two batches equal (tensors value by value, with their dtype)."""
    for f in fields(Batch):
        u, v = getattr(a, f.name), getattr(b, f.name)
        if isinstance(u, torch.Tensor):
            assert isinstance(v, torch.Tensor) and u.dtype == v.dtype and torch.equal(u, v), f.name
        else:
            assert u == v, f.name


# --- load_batch routes each kind of batch with every argument ------------------------------------------------------

@pytest.mark.parametrize("inputs", ["real", "synthetic"])
def test_token_batches_pass_every_argument(inputs: str) -> None:
    got = load_batch("cola", 5, inputs=inputs, seed=3, resolution=9, objective="mlm")
    _same(got, token_batch("cola", 5, inputs=inputs, seed=3, length=9, objective="mlm"))
    assert got.inputs.shape == (5, 9)
    _same(load_batch("sst", 2), token_batch("sst", 2))  # objective None: the [CLS] batch


def test_token_batches_refuse_an_image_folder_and_image_datasets_a_token_objective(tmp_path: Path) -> None:
    assert refusal(ValueError, lambda: load_batch("cola", 2, image_root=tmp_path)) == \
        "cola: token batches come from pydoc_data.topics; --image-root does not apply"
    assert refusal(ValueError, lambda: load_batch("cifar10", 2, objective="mlm")) == (
        "cifar10: objective='mlm' applies to token tasks only (FlexiBERT's --net objective=mlm); image batches "
        "carry their class labels")


def test_objective_cls_keeps_an_image_batch(small_bundle: Path) -> None:
    _same(load_batch("cifar10", 3, data_dir=small_bundle, objective="cls", seed=2),
          load_batch("cifar10", 3, data_dir=small_bundle, seed=2))


@pytest.mark.usefixtures("no_default_data")
def test_task_batches_pass_every_argument(small_bundle: Path) -> None:
    got = load_batch("class_object", 3, data_dir=small_bundle, seed=1, resolution=16)
    _same(got, task_batch("class_object", 3, data_dir=small_bundle, seed=1, resolution=16))
    assert got.inputs.shape == (3, 3, 16, 16)


def test_task_batches_refuse_an_image_folder(small_bundle: Path, tmp_path: Path) -> None:
    assert refusal(ValueError, lambda: load_batch("class_object", 2, data_dir=small_bundle, image_root=tmp_path)) == (
        "class_object: TransNAS tasks are scored on the bundled stand-in images only (no --inputs synthetic / "
        "--image-root)")


def test_synthetic_batches_are_the_seeded_generator_s_draw() -> None:
    got = load_batch("cifar100", 4, inputs="synthetic", seed=7)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(4, 3, 32, 32, generator=g)
    _same(got, Batch(x, torch.randint(0, 100, (4,), generator=g), 100, "cifar100", "synthetic N(0,1) noise", 0,
                     "synthetic inputs (asked for): N(0, 1) noise"))
    # many draws: the labels cover 0 and stay below the class count
    t = load_batch("cifar10", 400, inputs="synthetic", seed=0).targets
    assert int(t.min()) == 0 and int(t.max()) == 9


def test_synthetic_inputs_name_the_image_options_they_would_ignore() -> None:
    assert refusal(ValueError, lambda: load_batch("cifar10", 2, inputs="synthetic", mean=(0.5, 0.5, 0.5))) == (
        "--inputs synthetic draws N(0, 1) noise of cifar10's shape: --mean describes real images and would be "
        "ignored; drop it, or score your own images with --inputs real and --image-root DIR")


def test_own_image_options_need_an_image_root(small_bundle: Path) -> None:
    assert refusal(ValueError, lambda: load_batch("cifar10", 2, data_dir=small_bundle, num_classes=3)) == (
        "--num-classes, --mean, --std and --resolution describe your own images: they need --image-root "
        "(image_root); the bundled cifar10 images keep their classes and size")


def test_remapped_bundle_labels_warn_by_default(small_bundle: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="swapnas"):
        batch = load_batch("imagenet16-120", 2, data_dir=small_bundle)
    assert batch.note.startswith("imagenet16-120: labels outside 0..119 in images/foolbox_real_samples.npz:"
                                 "imagenet_x16 were mapped to label % 120")
    assert [r.levelno for r in caplog.records if r.getMessage() == batch.note] == [logging.WARNING]
    assert batch.dataset == "imagenet16-120" and batch.source == "images/foolbox_real_samples.npz:imagenet_x16"


# --- your images through load_batch ---------------------------------------------------------------------------------

def _class_folders(root: Path) -> list[tuple[int, int]]:
    """Two class folders of flat 8 x 8 images; (shade, class) in file-list order."""
    listed = []
    for c, shades in (("a", (10, 20, 30)), ("b", (40, 50, 60, 70))):
        (root / c).mkdir(parents=True)
        for s in shades:
            Image.fromarray(np.full((8, 8, 3), s, dtype=np.uint8)).save(root / c / f"{s}.png")
            listed.append((s, "ab".index(c)))
    return listed


def test_class_folders_are_drawn_once(tmp_path: Path) -> None:
    listed = _class_folders(tmp_path)
    batch = load_batch("cifar10", 4, image_root=tmp_path, seed=5, resolution=8, num_classes=2,
                       mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    order = np.random.default_rng(5).permutation(len(listed))[:4]
    assert batch.targets.tolist() == [listed[i][1] for i in order]
    shades = batch.inputs[:, 0, 0, 0] * 255
    assert torch.allclose(shades, torch.tensor([float(listed[i][0]) for i in order]))
    assert (batch.n_real, batch.source, batch.num_classes, batch.dataset) == (4, str(tmp_path), 2, "cifar10")
    assert batch.inputs.shape == (4, 3, 8, 8) and batch.note == ""


def test_a_shortfall_is_filled_and_noted(tmp_path: Path) -> None:
    _class_folders(tmp_path)
    batch = load_batch("cifar10", 9, image_root=tmp_path, resolution=8, num_classes=2)
    assert batch.n_real == 7 and len(batch.inputs) == 9
    assert batch.note == ("cifar10: 7 real images available, batch needs 9; 2 filled with flipped / shifted copies "
                          "(rule: fill=augment)")
    assert refusal(ValueError, lambda: load_batch("cifar10", 9, image_root=tmp_path, fill="error")) == (
        f"cifar10: only 7 real images in {tmp_path}, the batch needs 9; use a smaller batch, a full dataset folder "
        "(--image-root), or --fill augment (fill='augment' in Python)")


def test_a_non_finite_batch_names_the_dataset_and_folder(tmp_path: Path) -> None:
    _class_folders(tmp_path)
    msg = refusal(ValueError, lambda: load_batch("cifar100", 2, image_root=tmp_path, resolution=8, std=(1e-300,) * 3))
    assert msg == (f"cifar100: the batch from {tmp_path} holds 384 non-finite value(s) (NaN/inf) after normalisation; "
                   "check the images and --mean/--std")


def test_an_unreadable_image_is_named(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    bad = tmp_path / "a" / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(OSError) as pil:
        Image.open(bad)
    assert refusal(DataFileError, lambda: load_batch("cifar10", 1, image_root=tmp_path)) == (
        f"{bad}: not a readable image ({pil.value}); remove or replace it" + TAIL.format("your --image-root"))


def _pickled_cifar(root: Path, data: np.ndarray, labels: list[int]) -> Path:
    (root / "cifar-10-batches-py").mkdir(parents=True)
    path = root / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(pickle.dumps({"data": data, "labels": labels}))
    return path


def test_one_pixel_pickle_images_are_read(tmp_path: Path) -> None:
    _pickled_cifar(tmp_path, np.array([[10, 20, 30], [40, 50, 60]], dtype=np.uint8), [1, 0])
    batch = load_batch("cifar10", 2, image_root=tmp_path, resolution=2, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    order = np.random.default_rng(0).permutation(2)
    want = torch.tensor([[10, 20, 30], [40, 50, 60]])[order].float() / 255
    assert torch.allclose(batch.inputs, want[:, :, None, None].expand(2, 3, 2, 2))
    assert batch.targets.tolist() == [[1, 0][i] for i in order]


def test_a_pickle_of_one_dimension_is_named(tmp_path: Path) -> None:
    path = _pickled_cifar(tmp_path, np.arange(6, dtype=np.uint8), [1, 0])
    assert refusal(DataFileError, lambda: load_batch("cifar10", 1, image_root=tmp_path)) == (
        f"{path}: data has shape (6,) and 2 labels; expected one row of 3 x side x side pixel values per label"
        + TAIL.format("your --image-root"))


@pytest.mark.parametrize(("name", "value"), [("num_classes", 0), ("num_classes", 2.0), ("resolution", True),
                                             ("resolution", -1)])
def test_own_class_count_and_size_are_whole_numbers(name: str, value: object) -> None:
    flag = name.replace("_", "-")
    assert refusal(ValueError, lambda: _own_images(**{name: value})) == \
        f"--{flag} must be a whole number >= 1 (got {value!r})"
    assert _own_images(**{name: 1}) == {name: 1}
    assert _own_images(num_classes=None, resolution=4) == {"resolution": 4}


# --- the bundle's own images --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("x_shape", "n_labels"), [((2, 4, 3), 2), ((2, 4, 4, 1), 2), ((2, 4, 4, 3), 3)])
def test_a_bundle_of_the_wrong_shape_is_named(tmp_path: Path, x_shape: tuple[int, ...], n_labels: int) -> None:
    (tmp_path / "images").mkdir()
    path = tmp_path / "images" / "cifar10_test_2000_jpegq75.npz"
    np.savez(path, x=np.zeros(x_shape, dtype=np.uint8), y=np.zeros(n_labels, dtype=np.int64))
    assert refusal(DataFileError, lambda: load_batch("cifar10", 1, data_dir=tmp_path)) == (
        f"{path}: x has shape {x_shape} and y ({n_labels},); expected (N, H, W, 3) images and N labels"
        + TAIL.format(DATA_ORIGIN))


# --- the seeded draw ---------------------------------------------------------------------------------------------

def test_the_draw_maps_labels_at_the_class_count_and_keeps_its_notes_by_kind() -> None:
    info = dataset_info("cifar10")
    x = np.arange(3 * 4 * 4 * 3, dtype=np.uint8).reshape(3, 4, 4, 3)
    out_x, y, n_real, notes = _draw(info, "cifar10", x, np.array([0, 10, 9]), "src", 5, 0, "augment")
    order = np.random.default_rng(0).permutation(3)
    assert y[:3].tolist() == [[0, 0, 9][i] for i in order] and n_real == 3 and out_x.shape == (5, 4, 4, 3)
    assert notes == {
        "labels": "cifar10: labels outside 0..9 in src were mapped to label % 10 (surrogate labels for label-based "
                  "metrics)",
        "fill": "cifar10: 3 real images available, batch needs 5; 2 filled with flipped / shifted copies (rule: "
                "fill=augment)"}
    assert _draw(info, "cifar10", x, np.array([0, 9, 9]), "src", 3, 0, "error")[3] == {}


def test_the_draw_refuses_an_empty_source() -> None:
    empty = np.zeros((0, 4, 4, 3), dtype=np.uint8)
    assert refusal(ValueError, lambda: _draw(dataset_info("cifar10"), "cifar10", empty, np.zeros(0), "here", 2, 0,
                                             "augment")) == \
        "cifar10: here holds no usable images; check the folder (--image-root) or the data bundle"


# --- the augment fill against a naive re-implementation of its rule -------------------------------------------------

def _reflect(i: int, n: int) -> int:
    """numpy's ``reflect`` padding of index ``i`` into 0..n-1 (the edge is not repeated)."""
    return -i if i < 0 else 2 * (n - 1) - i if i >= n else i


def _naive_fill(x: np.ndarray, y: np.ndarray, need: int, seed: int) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    n, h, w, _ = x.shape
    out_x, out_y = [], []
    for k in range(need):
        src = x[k % n]
        if k < n:  # the mirror image of every real image first
            img = np.array([[src[r, w - 1 - c] for c in range(w)] for r in range(h)])
        else:  # then a crop of the image padded by 4 on every side, mirrored with probability one half
            dy, dx = rng.integers(0, 9, size=2)
            img = np.array([[src[_reflect(r + dy - 4, h), _reflect(c + dx - 4, w)] for c in range(w)]
                            for r in range(h)])
            if rng.random() < 0.5:
                img = img[:, ::-1]
        out_x.append(img.tolist())
        out_y.append(int(y[k % n]))
    return out_x, out_y


def test_the_fill_flips_every_image_then_crops_padded_copies() -> None:
    x = np.random.default_rng(3).integers(0, 256, size=(2, 6, 5, 3)).astype(np.uint8)
    y = np.array([4, 7])
    got_x, got_y = _augment_fill(x, y, 9, np.random.default_rng(11))
    want_x, want_y = _naive_fill(x, y, 9, 11)
    assert got_x.shape == (11, 6, 5, 3) and got_x[:2].tolist() == x.tolist() and got_y[:2].tolist() == [4, 7]
    assert got_x[2:].tolist() == want_x and got_y[2:].tolist() == want_y
    # the draw flipped some crops and not others, and shifted some: the rule's branches were all taken
    rng = np.random.default_rng(11)
    draws = [(tuple(rng.integers(0, 9, size=2)), rng.random() < 0.5) for _ in range(7)]
    assert {f for _, f in draws} == {True, False} and any(d != (4, 4) for d, _ in draws)
