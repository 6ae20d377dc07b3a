"""``swapnas train``'s data (``swapnas.train.data``), from its mutation run (session 47): augmentation against naive
per-sample loops on the same draws, the crops' geometry on images whose pixels name their place, the loaders on small
files written here, the epoch's batches and the normalised stream; every refusal compared whole."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from swapnas.train import data as td
from swapnas.train.rng import RunRng

from .message_tools import refusal


def _place_image(w: int, h: int) -> Image.Image:
    """An RGB image whose red channel is the column, green the row (so a crop's box can be read off it)."""
    arr = np.zeros((h, w, 3), dtype=np.uint8)
    arr[..., 0] = np.arange(w)[None, :]
    arr[..., 1] = np.arange(h)[:, None]
    arr[..., 2] = 7
    return Image.fromarray(arr)


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


# --- TensorSplit ---------------------------------------------------------------------------------------------------

def test_a_tensor_split_holds_uint8_images_and_long_labels() -> None:
    split = td.TensorSplit(torch.zeros(3, 3, 2, 2, dtype=torch.uint8), torch.tensor([0, 1, 2], dtype=torch.int32))
    assert len(split) == 3 and split.labels.dtype == torch.int64 and split.to(torch.device("cpu")) is split
    for images, shape in ((torch.zeros(2, 3, 4, 4), "torch.float32 (2, 3, 4, 4)"),
                          (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), "torch.uint8 (2, 1, 4, 4)"),
                          (torch.zeros(3, 4, 4, dtype=torch.uint8), "torch.uint8 (3, 4, 4)")):
        assert refusal(ValueError, lambda: td.TensorSplit(images, torch.zeros(2))) == \
            f"images must be uint8 (N, 3, H, W), got {shape}"
    assert refusal(ValueError, lambda: td.TensorSplit(torch.zeros(2, 3, 1, 1, dtype=torch.uint8), torch.zeros(3))) \
        == "2 images but 3 labels"


def test_a_tensor_split_moves_to_another_device() -> None:
    split = td.TensorSplit(torch.zeros(2, 3, 1, 1, dtype=torch.uint8), torch.tensor([1, 0]))
    moved = split.to(torch.device("meta"))
    assert moved is not split and moved.images.device.type == "meta" and moved.labels.device.type == "meta"


# --- the crops of image folders --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("w", "h", "resize", "size", "scaled", "box"), [
    (40, 20, 10, 8, (20, 10), (6, 1, 14, 9)),  # wide: the short side to `resize`, then the centre
    (20, 40, 10, 8, (10, 20), (1, 6, 9, 14)),  # tall
    (30, 12, 6, 8, (15, 8), (3, 0, 11, 8)),  # resize below size: the short side is kept at size
    (16, 16, 16, 10, (16, 16), (3, 3, 13, 13)),
    (40, 20, 10, 7, (20, 10), (6, 1, 13, 8)),  # odd margins: (20 - 7) // 2 = 6, (10 - 7) // 2 = 1
    (20, 40, 10, 7, (10, 20), (1, 6, 8, 13)),
])
def test_resize_and_centre_crop(w, h, resize, size, scaled, box) -> None:
    img = _place_image(w, h)
    expected = img.resize(scaled, Image.Resampling.BILINEAR).crop(box)
    assert _same(td._resize_center_crop(img, resize, size), expected)


def _naive_random_resized_crop(img: Image.Image, size: int, scale: tuple, ratio: tuple) -> Image.Image | None:
    """The first of ten draws that fits (area share, log-uniform aspect, offsets), as a plain loop; None: none fits."""
    w, h = img.size
    for _ in range(10):
        share = scale[0] + torch.rand(()).item() * (scale[1] - scale[0])
        aspect = float(np.exp(np.log(ratio[0]) + torch.rand(()).item() * (np.log(ratio[1]) - np.log(ratio[0]))))
        cw = round((w * h * share * aspect) ** 0.5)
        ch = round((w * h * share / aspect) ** 0.5)
        if cw < 1 or ch < 1 or cw > w or ch > h:
            continue
        left = int(torch.randint(0, w - cw + 1, ()).item())
        top = int(torch.randint(0, h - ch + 1, ()).item())
        return img.resize((size, size), Image.Resampling.BILINEAR, box=(left, top, left + cw, top + ch))
    return None


@pytest.mark.parametrize(("w", "h", "scale", "ratio"), [
    (24, 20, (0.08, 1.0), (3 / 4, 4 / 3)), (24, 20, (0.5, 0.9), (0.5, 2.0)), (9, 30, (0.05, 0.3), (3 / 4, 4 / 3)),
    (8, 8, (0.25, 0.25), (1.0, 1.0)), (12, 12, (0.6, 1.0), (0.8, 1.25)),
    (8, 8, (1.0, 1.0), (1.0, 1.0)),  # the whole image is a crop that fits
    (1, 20, (0.5, 1.0), (0.05, 0.1)),  # one column wide (cw = 1 fits)
    (20, 1, (0.5, 1.0), (10.0, 20.0))])  # one row high (ch = 1 fits)
def test_a_random_resized_crop_is_the_first_draw_that_fits(w, h, scale, ratio) -> None:
    img = _place_image(w, h)
    for seed in range(8):
        torch.manual_seed(seed)
        expected = _naive_random_resized_crop(img, 6, scale, ratio)
        after = torch.rand(())
        torch.manual_seed(seed)
        got = td._random_resized_crop(img, 6, scale, ratio)
        assert expected is not None and _same(got, expected)
        assert torch.equal(torch.rand(()), after)  # the same draws, no more


def test_a_random_resized_crop_keeps_the_defaults_of_imagenet() -> None:
    img = _place_image(24, 20)
    torch.manual_seed(3)
    expected = _naive_random_resized_crop(img, 6, (0.08, 1.0), (3 / 4, 4 / 3))
    torch.manual_seed(3)
    assert expected is not None and _same(td._random_resized_crop(img, 6), expected)


def test_a_random_resized_crop_tries_ten_draws_before_the_fallback() -> None:
    img = _place_image(10, 10)
    for seed in (1, 42):  # with these ranges the first draw that fits is the 11th: the fallback is taken
        torch.manual_seed(seed)
        assert _naive_random_resized_crop(img, 4, (0.9, 1.1), (1.0, 1.3)) is None
        torch.manual_seed(seed)
        assert _same(td._random_resized_crop(img, 4, (0.9, 1.1), (1.0, 1.3)),
                     img.resize((4, 4), Image.Resampling.BILINEAR, box=(0, 0, 10, 10)))


@pytest.mark.parametrize(("w", "h", "ratio", "box"), [
    (1, 20, (0.02, 0.03), (0, 0, 1, 20)),  # every draw rounds the width to 0: the fallback, round(20 * 0.03) = 1 wide
    (20, 1, (33.0, 50.0), (0, 0, 20, 1)),  # every draw rounds the height to 0: round(20 / 33) = 1 high
])
def test_a_crop_that_rounds_to_nothing_is_not_taken(w, h, ratio, box) -> None:
    img = _place_image(w, h)
    torch.manual_seed(0)
    assert _same(td._random_resized_crop(img, 3, (0.05, 0.1), ratio),
                 img.resize((3, 3), Image.Resampling.BILINEAR, box=box))


@pytest.mark.parametrize(("w", "h", "box"), [
    (10, 40, (0, 13, 10, 26)),  # tall (w/h < 3/4): ch = round(10 / 0.75) = 13, y0 = (40 - 13) // 2 = 13
    (40, 10, (13, 0, 26, 10)),  # wide (w/h > 4/3): cw = round(10 * 4 / 3) = 13, x0 = 13
    (41, 10, (14, 0, 27, 10)),  # x0 = (41 - 13) // 2 = 14
    (12, 10, (0, 0, 12, 10)),  # within the ratios: the whole image
])
def test_a_random_resized_crop_falls_back_to_the_centre(w, h, box) -> None:
    img = _place_image(w, h)
    torch.manual_seed(0)
    got = td._random_resized_crop(img, 5, scale=(2.0, 2.0))  # twice the area: no draw fits
    assert _same(got, img.resize((5, 5), Image.Resampling.BILINEAR, box=box))


# --- FolderSplit ---------------------------------------------------------------------------------------------------

def _folder_files(tmp_path: Path) -> list[Path]:
    files = []
    for k, (w, h) in enumerate(((30, 20), (20, 30))):
        path = tmp_path / f"{k}.png"
        _place_image(w, h).save(path)
        files.append(path)
    return files


def test_a_folder_split_reads_resizes_and_centre_crops_its_test_images(tmp_path: Path) -> None:
    files = _folder_files(tmp_path)
    split = td.FolderSplit(files, [4, 9], train=False, size=8, resize=10)
    assert len(split) == 2 and (split.size, split.resize) == (8, 10)
    for i in range(2):
        x, y = split[i]
        expected = td._resize_center_crop(_place_image(*Image.open(files[i]).size), 10, 8)
        assert y == [4, 9][i] and x.dtype == torch.uint8 and x.shape == (3, 8, 8)
        assert torch.equal(x, torch.from_numpy(np.asarray(expected).copy()).permute(2, 0, 1))
    assert (td.FolderSplit(files, [0, 0], train=True).size, td.FolderSplit(files, [0, 0], train=True).resize) == \
        (224, 256)


def test_a_folder_split_crops_and_flips_its_training_images_from_the_global_stream(tmp_path: Path) -> None:
    files = _folder_files(tmp_path)
    split = td.FolderSplit(files, [4, 9], train=True, size=6)
    flipped = 0
    for seed in range(12):
        torch.manual_seed(seed)
        crop = td._random_resized_crop(_place_image(30, 20), 6)
        flip = bool(torch.rand(()) < 0.5)
        expected = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip else crop
        torch.manual_seed(seed)
        x, y = split[0]
        assert y == 4 and torch.equal(x, torch.from_numpy(np.asarray(expected).copy()).permute(2, 0, 1))
        flipped += flip
    assert 0 < flipped < 12


# --- augmentation --------------------------------------------------------------------------------------------------

def _naive_crop_flip(x: torch.Tensor, pad: int, dy: torch.Tensor, dx: torch.Tensor, flips: list[bool]) -> torch.Tensor:
    b, c, h, w = x.shape
    out = torch.empty_like(x)
    for i in range(b):
        padded = torch.zeros(c, h + 2 * pad, w + 2 * pad, dtype=x.dtype)
        padded[:, pad:pad + h, pad:pad + w] = x[i]
        window = padded[:, int(dy[i]):int(dy[i]) + h, int(dx[i]):int(dx[i]) + w]
        out[i] = window.flip(2) if flips[i] else window
    return out


@pytest.mark.parametrize("pad", [1, 2, 4])
def test_random_crop_flip_is_a_padded_window_per_sample_then_a_flip(pad: int) -> None:
    x = torch.rand(16, 2, 5, 7)
    g = torch.Generator().manual_seed(pad)
    dy, dx = torch.randint(0, 2 * pad + 1, (16,), generator=g), torch.randint(0, 2 * pad + 1, (16,), generator=g)
    flips = (torch.rand(16, generator=g) < 0.5).tolist()
    after = torch.rand(1, generator=g)
    assert 0 < sum(flips) < 16
    gen = torch.Generator().manual_seed(pad)
    assert torch.equal(td.random_crop_flip(x, pad, generator=gen), _naive_crop_flip(x, pad, dy, dx, flips))
    assert torch.equal(torch.rand(1, generator=gen), after)


def test_random_crop_without_flip_draws_no_flips_and_defaults_to_pad_4() -> None:
    x = torch.rand(6, 3, 4, 4)
    g = torch.Generator().manual_seed(1)
    dy, dx = torch.randint(0, 9, (6,), generator=g), torch.randint(0, 9, (6,), generator=g)
    after = torch.rand(1, generator=g)
    gen = torch.Generator().manual_seed(1)
    assert torch.equal(td.random_crop_flip(x, flip=False, generator=gen), _naive_crop_flip(x, 4, dy, dx, [False] * 6))
    assert torch.equal(torch.rand(1, generator=gen), after)
    torch.manual_seed(5)  # no generator: the global one
    got = td.random_crop_flip(x, 2)
    torch.manual_seed(5)
    assert torch.equal(got, td.random_crop_flip(x, 2, generator=torch.Generator().manual_seed(5)))


def test_random_flip_flips_each_sample_with_probability_one_half() -> None:
    x = torch.rand(12, 3, 2, 5)
    flips = (torch.rand(12, generator=torch.Generator().manual_seed(2)) < 0.5).tolist()
    assert 0 < sum(flips) < 12
    got = td.random_flip(x, generator=torch.Generator().manual_seed(2))
    for i in range(12):
        assert torch.equal(got[i], x[i].flip(2) if flips[i] else x[i])
    torch.manual_seed(2)
    assert torch.equal(td.random_flip(x), got)


def _naive_cutout(x: torch.Tensor, length: int, centers: list[tuple[int, int]]) -> torch.Tensor:
    out = x.clone()
    h, w = x.shape[2:]
    for i, (cy, cx) in enumerate(centers):
        for r in range(h):
            for c in range(w):
                if cy - length // 2 <= r < cy + length // 2 and cx - length // 2 <= c < cx + length // 2:
                    out[i, :, r, c] = 0.0
    return out


@pytest.mark.parametrize("length", [1, 2, 3, 5, 16])
def test_cutout_zeroes_a_square_around_each_centre_clipped_at_the_border(length: int) -> None:
    x = torch.rand(5, 2, 6, 9) + 1
    centers = [(0, 0), (5, 8), (3, 4), (2, 8), (5, 0)]
    got = td.cutout(x, length, torch.tensor(centers))
    assert torch.equal(got, _naive_cutout(x, length, centers))
    g = torch.Generator().manual_seed(length)
    drawn = list(zip(torch.randint(0, 6, (5,), generator=g).tolist(), torch.randint(0, 9, (5,), generator=g).tolist()))
    assert torch.equal(td.cutout(x, length, generator=torch.Generator().manual_seed(length)),
                       _naive_cutout(x, length, drawn))
    torch.manual_seed(length)
    assert torch.equal(td.cutout(x, length), _naive_cutout(x, length, drawn))


def test_cutout_clips_a_square_partly_or_wholly_off_the_image() -> None:
    x = torch.rand(4, 1, 5, 6) + 1
    centers = [(-1, 2), (2, -1), (-3, 2), (2, -3)]  # row 0 only, column 0 only, nothing, nothing
    got = td.cutout(x, 4, torch.tensor(centers))
    assert torch.equal(got, _naive_cutout(x, 4, centers))
    assert int((got[0] == 0).sum()) == 4 and int((got[1] == 0).sum()) == 4 and torch.equal(got[2:], x[2:])


def test_the_augmentations_run_on_the_images_device() -> None:
    x = torch.empty(4, 3, 5, 5, device="meta")  # the draws on the CPU, the images elsewhere
    for out in (td.random_crop_flip(x, 2), td.random_flip(x), td.cutout(x, 2)):
        assert out.device.type == "meta" and out.shape == x.shape


def test_cutout_takes_float_centres_as_pixels() -> None:
    x = torch.ones(1, 1, 4, 4)
    assert torch.equal(td.cutout(x, 2, torch.tensor([[1.0, 2.0]])), _naive_cutout(x, 2, [(1, 2)]))


# --- the epoch's batches -------------------------------------------------------------------------------------------

def test_the_order_seed_mixes_seed_and_epoch_below_2_to_the_63() -> None:
    assert td._order_seed(0, 0) == 0 and td._order_seed(0, 7) == 7 and td._order_seed(1, 2) == 1_000_005
    assert td._order_seed(3, 0) == 3_000_009
    big = 2**62
    assert td._order_seed(big, 1) == (big * 1_000_003 + 1) - (big * 1_000_003 + 1) // 2**63 * 2**63
    assert td._order_seed(big, 1) < 2**63


def test_the_batches_of_an_epoch() -> None:
    assert [b.tolist() for b in td._batch_indices(5, 2, False, 0, 0)] == [[0, 1], [2, 3], [4]]  # in order: kept
    assert [b.tolist() for b in td._batch_indices(1, 2, True, 0, 0)] == [[0]]  # the only batch: kept
    order = torch.randperm(7, generator=torch.Generator().manual_seed(3 * 1_000_003 + 2)).tolist()
    assert [b.tolist() for b in td._batch_indices(7, 3, True, 3, 2)] == [order[:3], order[3:6]]  # a lone last dropped
    assert [b.tolist() for b in td._batch_indices(8, 3, True, 3, 2)] == \
        [b.tolist() for b in torch.randperm(8, generator=torch.Generator().manual_seed(3_000_011)).split(3)]
    order = torch.randperm(3, generator=torch.Generator().manual_seed(0)).tolist()
    assert [b.tolist() for b in td._batch_indices(3, 2, True, 0, 0)] == [order[:2]]  # two batches, a lone last one
    assert [b.tolist() for b in td._batch_indices(6, 4, True, 0, 1)] == \
        [b.tolist() for b in torch.randperm(6, generator=torch.Generator().manual_seed(1)).split(4)]  # 2 left: kept


def _tensor_data(n: int = 6, augment: str = "cifar") -> td.TrainData:
    images = torch.arange(n * 3 * 4 * 4, dtype=torch.int64).remainder(256).to(torch.uint8).view(n, 3, 4, 4)
    split = td.TensorSplit(images, torch.arange(n) % 3)
    return td.TrainData("t", "cifar10", 3, split, split, (0.5, 0.25, 0.125), (0.5, 0.25, 2.0), augment, "here")


def test_a_tensor_split_yields_its_batches_raw() -> None:
    data = _tensor_data()
    got = list(td._source(data, data.train, [torch.tensor([4, 1]), torch.tensor([0])], torch.device("cpu"), None))
    assert [(x.tolist(), y.tolist()) for x, y in got] == [
        (data.train.images[[4, 1]].tolist(), [1, 1]), (data.train.images[[0]].tolist(), [0])]


def test_an_image_folder_is_read_by_a_loader_seeded_from_the_run(tmp_path: Path, monkeypatch) -> None:
    files = _folder_files(tmp_path)
    split = td.FolderSplit(files, [4, 9], train=False, size=8, resize=10)
    data = td.TrainData("f", "imagenet", 10, split, split, (0, 0, 0), (1, 1, 1), "folder", "here", workers=0)
    got = list(td._source(data, split, [torch.tensor([1, 0])], torch.device("cpu"), None))
    assert len(got) == 1 and got[0][1].tolist() == [9, 4] and torch.equal(got[0][0][1], split[0][0])
    assert list(td._source(data, split, [], torch.device("cpu"), None)) == []
    seen: dict = {}

    class Loader:
        def __init__(self, dataset: Any, **kw: Any) -> None:
            seen.update(dataset=dataset, **kw)

        def __iter__(self) -> Any:
            return iter([("batch", 0)])
    monkeypatch.setattr(td.torch.utils.data, "DataLoader", Loader)
    rng = RunRng(0, torch.device("cpu"))
    data.workers = 3
    assert list(td._source(data, split, [torch.tensor([1, 0]), torch.tensor([1])], torch.device("cuda"), rng)) == \
        [("batch", 0)]
    assert seen == {"dataset": split, "batch_sampler": [[1, 0], [1]], "num_workers": 3, "pin_memory": True,
                    "generator": rng.cpu}
    list(td._source(data, split, [torch.tensor([0])], torch.device("cpu"), None))
    assert (seen["pin_memory"], seen["generator"]) == (False, None)


def test_training_transforms_in_this_process_draw_from_the_runs_stream(tmp_path: Path) -> None:
    files = _folder_files(tmp_path)
    split = td.FolderSplit(files, [4, 9], train=True, size=6)
    data = td.TrainData("f", "imagenet", 10, split, split, (0, 0, 0), (1, 1, 1), "folder", "here", workers=0)
    for seed in (1, 2):
        torch.manual_seed(99)
        before = torch.get_rng_state()
        batch = td._source(data, split, [torch.tensor([0])], torch.device("cpu"), RunRng(seed, torch.device("cpu")))
        x = next(batch)[0]
        assert torch.equal(torch.get_rng_state(), before)  # the caller's global stream is untouched
        g = torch.Generator().manual_seed(seed)  # the run's stream: first the loader's base seed, then the transforms
        torch.empty((), dtype=torch.int64).random_(generator=g)
        torch.set_rng_state(g.get_state())
        assert torch.equal(x[0], split[0][0])


@pytest.fixture
def augment(monkeypatch) -> list:
    """random_crop_flip, random_flip and cutout replaced by recorders that add a mark to the batch."""
    calls: list = []

    def mark(name: str, add: float) -> Any:
        def call(x: torch.Tensor, *a: Any, **kw: Any) -> torch.Tensor:
            calls.append((name, a, kw))
            return x + add
        return call
    monkeypatch.setattr(td, "random_crop_flip", mark("crop", 1000.0))
    monkeypatch.setattr(td, "random_flip", mark("flip", 100.0))
    monkeypatch.setattr(td, "cutout", mark("cutout", 10.0))
    return calls


@pytest.mark.parametrize(("augment_kind", "train", "cutout_len", "before", "after", "names"), [
    ("cifar", True, 3, 1000.0, 10.0, ["crop", "cutout"]),
    ("cifar", True, 0, 1000.0, 0.0, ["crop"]),
    ("flip", True, 2, 100.0, 10.0, ["flip", "cutout"]),
    ("folder", True, 3, 0.0, 0.0, []),
    ("cifar", False, 3, 0.0, 0.0, []),
    ("flip", False, 3, 0.0, 0.0, []),
])
def test_the_stream_normalises_and_augments_by_the_data_kind(augment, augment_kind, train, cutout_len, before, after,
                                                              names) -> None:
    data = _tensor_data(augment=augment_kind)
    rng = RunRng(0, torch.device("cpu"))
    got = list(td._batches(data, data.train, [torch.tensor([2, 5])], train, torch.device("cpu"), cutout_len, rng))
    assert [c[0] for c in augment] == names
    raw = data.train.images[[2, 5]].double() / 255 + before
    mean, std = torch.tensor([0.5, 0.25, 0.125]).view(1, 3, 1, 1), torch.tensor([0.5, 0.25, 2.0]).view(1, 3, 1, 1)
    (x, y), = got
    assert y.tolist() == [2, 2] and x.dtype == torch.float32
    assert torch.allclose(x.double(), (raw - mean.double()) / std.double() + after, atol=1e-5)
    for name, a, kw in augment:
        assert kw == {"generator": rng.cpu}
        assert a == {"crop": (4,), "flip": (), "cutout": (cutout_len,)}[name]


def test_the_stream_is_on_the_training_device() -> None:
    data = _tensor_data(augment="folder")
    (x, y), = td._batches(data, data.train, [torch.tensor([1, 3])], False, torch.device("meta"), 0)
    assert x.device.type == "meta" and y.device.type == "meta" and x.shape == (2, 3, 4, 4)


def test_the_stream_of_an_image_folder_is_the_runs_draws_normalised(tmp_path: Path) -> None:
    files = _folder_files(tmp_path)
    split = td.FolderSplit(files, [4, 9], train=True, size=6)
    data = td.TrainData("f", "imagenet", 10, split, split, (0.25, 0.5, 0.75), (0.5, 2.0, 4.0), "folder", "here",
                        workers=0)
    batches = [torch.tensor([1, 0])]
    torch.manual_seed(7)
    (raw, labels), = td._source(data, split, batches, torch.device("cpu"), RunRng(3, torch.device("cpu")))
    torch.manual_seed(8)  # another global state: the stream's draws come from the run's
    (x, y), = td._batches(data, split, batches, True, torch.device("cpu"), 16, RunRng(3, torch.device("cpu")))
    mean, std = torch.tensor([0.25, 0.5, 0.75]).view(1, 3, 1, 1), torch.tensor([0.5, 2.0, 4.0]).view(1, 3, 1, 1)
    assert torch.allclose(x, (raw.float() / 255 - mean) / std) and y.tolist() == labels.tolist() == [9, 4]


def test_the_stream_without_a_run_draws_from_the_global_generator(augment) -> None:
    data = _tensor_data()
    list(td._batches(data, data.train, [torch.tensor([0])], True, torch.device("cpu"), 2))
    assert [c[2] for c in augment] == [{"generator": None}, {"generator": None}]


# --- the loaders ---------------------------------------------------------------------------------------------------

def _cifar_folder(folder: Path, n: int = 2) -> np.ndarray:
    """CIFAR-10's six pickles with n images each; the images in file order."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = []
    for k, name in enumerate(td.CIFAR_FILES):
        flat = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        images.append(flat)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": flat, "labels": [k] * n, "batch_label": name}, f)
    return np.concatenate(images).reshape(-1, 3, 32, 32)


@pytest.mark.parametrize("inside", [True, False])
def test_cifar10_is_read_from_its_pickles(tmp_path: Path, inside: bool) -> None:
    folder = tmp_path / td.CIFAR_FOLDER if inside else tmp_path / "flat"
    images = _cifar_folder(folder)
    data = td.load_cifar10(tmp_path if inside else folder)
    assert (data.name, data.dataset, data.num_classes, data.augment, data.source, data.workers) == \
        ("cifar10", "cifar10", 10, "cifar", str(folder), 4)
    assert (data.mean, data.std) == (td.CIFAR_MEAN, td.CIFAR_STD)
    assert torch.equal(data.train.images, torch.from_numpy(images[:10]))
    assert torch.equal(data.test.images, torch.from_numpy(images[10:]))
    assert data.train.labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4] and data.test.labels.tolist() == [5, 5]


def test_cifar10_pickles_of_lists_or_wide_integers_are_read_as_bytes(tmp_path: Path) -> None:
    folder = tmp_path / td.CIFAR_FOLDER
    images = _cifar_folder(folder)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": images[10:].reshape(2, -1).astype(np.int64), "labels": np.array([5, 5])}, f)
    with open(folder / "data_batch_1", "wb") as f:
        pickle.dump({"data": images[:2].reshape(2, -1).tolist(), "labels": [0, 0]}, f)
    data = td.load_cifar10(tmp_path)
    assert data.test.images.dtype == torch.uint8 and torch.equal(data.test.images, torch.from_numpy(images[10:]))
    assert torch.equal(data.train.images, torch.from_numpy(images[:10]))


def test_a_damaged_cifar10_pickle_says_where_cifar10_comes_from(tmp_path: Path) -> None:
    folder = tmp_path / td.CIFAR_FOLDER
    _cifar_folder(folder)
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    message = refusal(ValueError, lambda: td.load_cifar10(tmp_path))
    assert message.startswith(f"{folder / 'data_batch_3'}: not a readable pickle (UnpicklingError: ")
    assert message.endswith(f"(it comes from {td.CIFAR_ORIGIN}: restore it from there)")


def test_missing_cifar10_files_are_named(tmp_path: Path) -> None:
    folder = tmp_path / td.CIFAR_FOLDER
    _cifar_folder(folder)
    (folder / "data_batch_2").unlink()
    (folder / "test_batch").unlink()
    assert refusal(FileNotFoundError, lambda: td.load_cifar10(tmp_path)) == (
        f"CIFAR-10 not found: missing data_batch_2, test_batch in {folder} (expected DATA_ROOT/cifar-10-batches-py/"
        f"data_batch_1..5 and test_batch with DATA_ROOT={tmp_path}); {td.CIFAR_ORIGIN}")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert refusal(FileNotFoundError, lambda: td.load_cifar10(empty)).startswith(
        f"CIFAR-10 not found: missing data_batch_1, data_batch_2, data_batch_3, data_batch_4, data_batch_5, test_batch "
        f"in {empty / td.CIFAR_FOLDER} ")


def test_a_root_with_some_pickles_of_its_own_is_not_taken_for_the_folder(tmp_path: Path) -> None:
    _cifar_folder(tmp_path / "x")
    for name in td.CIFAR_FILES[:-1]:
        (tmp_path / "x" / name).rename(tmp_path / name)
    assert refusal(FileNotFoundError, lambda: td.load_cifar10(tmp_path)).startswith(
        "CIFAR-10 not found: missing data_batch_1, ")


def _imagenet(root: Path, train: dict[str, int], val: dict[str, int]) -> None:
    for split, classes in (("train", train), ("val", val)):
        for c, n in classes.items():
            (root / split / c).mkdir(parents=True)
            for k in range(n):
                _place_image(4, 4).save(root / split / c / f"{k}.JPEG")


def test_an_imagenet_folder_maps_its_classes_in_name_order(tmp_path: Path) -> None:
    _imagenet(tmp_path, {"n2": 1, "n1": 2, "empty": 0}, {"n1": 1})
    (tmp_path / "train" / "n1" / "notes.txt").write_text("not an image")
    (tmp_path / "train" / "n2" / "UPPER.PNG").write_bytes((tmp_path / "train" / "n2" / "0.JPEG").read_bytes())
    (tmp_path / "train" / "stray.JPEG").write_text("a file, not a class folder")
    data = td.load_imagenet(tmp_path, workers=3)
    assert (data.name, data.dataset, data.num_classes, data.augment, data.source, data.workers) == \
        ("imagenet", "imagenet", 2, "folder", str(tmp_path), 3)
    assert (data.mean, data.std) == (td.IMAGENET_MEAN, td.IMAGENET_STD)
    assert [f.relative_to(tmp_path).as_posix() for f in data.train.files] == \
        ["train/n1/0.JPEG", "train/n1/1.JPEG", "train/n2/0.JPEG", "train/n2/UPPER.PNG"]
    assert data.train.labels == [0, 0, 1, 1] and data.train.train is True and data.test.train is False
    assert [f.relative_to(tmp_path).as_posix() for f in data.test.files] == ["val/n1/0.JPEG"]
    assert data.test.labels == [0]
    assert td.load_imagenet(tmp_path).workers == 4


def test_imagenet_folders_that_cannot_be_used_are_refused(tmp_path: Path) -> None:
    expected = (f"expected {tmp_path}/train/<class>/*.JPEG and {tmp_path}/val/<class>/*.JPEG: {td.IMAGENET_ORIGIN}")
    (tmp_path / "train").mkdir()
    assert refusal(FileNotFoundError, lambda: td.load_imagenet(tmp_path)) == \
        f"ImageNet not found: no train/ and val/ folders under {tmp_path}; {expected}"
    (tmp_path / "val" / "n1").mkdir(parents=True)
    (tmp_path / "train" / "n1").mkdir()
    assert refusal(FileNotFoundError, lambda: td.load_imagenet(tmp_path)) == \
        f"ImageNet folders under {tmp_path} hold no images in class sub-folders; {expected}"
    _place_image(4, 4).save(tmp_path / "train" / "n1" / "0.jpg")
    assert refusal(FileNotFoundError, lambda: td.load_imagenet(tmp_path)).startswith("ImageNet folders under")
    only_val = tmp_path.parent / (tmp_path.name + "_v")
    (only_val / "val").mkdir(parents=True)
    assert refusal(FileNotFoundError, lambda: td.load_imagenet(only_val)).startswith("ImageNet not found: no train/")


@pytest.mark.parametrize(("extra", "listed"), [(["a", "b"], "a, b"), (list("abcdef"), "a, b, c, d, e …"),
                                               (list("abcde"), "a, b, c, d, e")])
def test_validation_classes_missing_from_training_are_named(tmp_path: Path, extra: list, listed: str) -> None:
    _imagenet(tmp_path, {"n1": 1}, {"n1": 1, **{c: 1 for c in extra}})
    assert refusal(ValueError, lambda: td.load_imagenet(tmp_path)) == \
        f"{tmp_path}/val has class folders missing from train/: {listed}"


def test_synthetic_data_is_noisy_colours_fixed_by_the_seed() -> None:
    g = torch.Generator().manual_seed(4)
    colours = torch.rand(3, 3, 1, 1, generator=g) * 255
    halves = []
    for _ in range(2):
        labels = torch.randperm(5, generator=g) % 3
        images = (colours[labels] + torch.randn(5, 3, 32, 32, generator=g) * 48).clamp(0, 255).round().to(torch.uint8)
        halves.append((images, labels))
    data = td.synthetic_data(5, num_classes=3, seed=4)
    for split, (images, labels) in zip((data.train, data.test), halves):
        assert torch.equal(split.images, images) and torch.equal(split.labels, labels)
    assert (data.name, data.dataset, data.num_classes, data.mean, data.std, data.augment, data.source) == \
        ("synthetic-cifar10-5", "cifar10", 3, td.CIFAR_MEAN, td.CIFAR_STD, "cifar", "synthetic (5 + 5 images, seed 4)")
    default = td.synthetic_data(2)
    assert (default.num_classes, default.source) == (10, "synthetic (2 + 2 images, seed 0)")
    assert torch.equal(default.train.images, td.synthetic_data(2, "cifar10", 10, 0).train.images)


def test_synthetic_imagenet_is_224_pixels_and_flipped_only() -> None:
    data = td.synthetic_data(2, "imagenet")
    assert data.train.images.shape == (2, 3, 224, 224) and (data.augment, data.mean, data.std) == \
        ("flip", td.IMAGENET_MEAN, td.IMAGENET_STD)
    assert data.name == "synthetic-imagenet-2"


def test_synthetic_data_refuses_what_it_cannot_make() -> None:
    assert refusal(ValueError, lambda: td.synthetic_data(1)) == "--synthetic needs at least 2 images (got 1)"
    assert refusal(ValueError, lambda: td.synthetic_data(2, "mnist")) == \
        "unknown dataset 'mnist'; choose one of cifar10, imagenet"


def test_load_data_dispatches_and_says_where_data_comes_from(monkeypatch) -> None:
    assert refusal(ValueError, lambda: td.load_data("mnist")) == \
        "unknown dataset 'mnist'; choose one of cifar10, imagenet"
    assert refusal(ValueError, lambda: td.load_data("mnist", synthetic=4)).startswith("unknown dataset 'mnist'")
    assert td.load_data("imagenet", synthetic=2).name == "synthetic-imagenet-2"
    assert td.load_data(synthetic=3).name == "synthetic-cifar10-3"
    for dataset, origin in (("cifar10", td.CIFAR_ORIGIN), ("imagenet", td.IMAGENET_ORIGIN)):
        assert refusal(FileNotFoundError, lambda: td.load_data(dataset)) == (
            f"no data: pass --data-root DATA_ROOT (for {dataset}: {origin}) or --synthetic N for a random smoke-test "
            "data set")
    seen: list = []
    monkeypatch.setattr(td, "load_cifar10", lambda root: seen.append(("cifar10", root)) or "C")
    monkeypatch.setattr(td, "load_imagenet", lambda root, workers: seen.append(("imagenet", root, workers)) or "I")
    assert td.load_data("cifar10", "R") == "C" and td.load_data("imagenet", "S", workers=2) == "I"
    assert td.load_data("imagenet", "T") == "I"
    assert seen == [("cifar10", "R"), ("imagenet", "S", 2), ("imagenet", "T", 4)]
