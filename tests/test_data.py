"""Input batches: real images, the documented fill rule, folders, clear errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from swapnas.data import DATASETS, load_batch, resolve_data_dir


def test_real_cifar10_batch_is_normalised_and_deterministic(small_bundle) -> None:
    a = load_batch("cifar10", 64, data_dir=small_bundle, seed=0)
    b = load_batch("cifar10", 64, data_dir=small_bundle, seed=0)
    c = load_batch("cifar10", 64, data_dir=small_bundle, seed=1)
    assert a.inputs.shape == (64, 3, 32, 32) and a.n_real == 64 and a.note == ""
    assert torch.equal(a.inputs, b.inputs) and a.digest == b.digest != c.digest
    assert abs(float(a.inputs.mean())) < 0.3 and 0.7 < float(a.inputs.std()) < 1.3
    assert len(set(a.targets.tolist())) >= 8  # a seeded permutation, not the first (one-class) rows


def test_fill_rule_is_explicit(small_bundle) -> None:
    b = load_batch("cifar100", 64, data_dir=small_bundle)
    assert b.n_real == 20 and b.inputs.shape[0] == 64
    assert "20 real images available" in b.note and "44 filled" in b.note
    # the first fill images are the horizontal flips of the real ones
    assert torch.equal(b.inputs[20], b.inputs[0].flip(-1))
    with pytest.raises(ValueError, match="only 20 real images"):
        load_batch("cifar100", 64, data_dir=small_bundle, fill="error")
    assert load_batch("cifar100", 16, data_dir=small_bundle).note == ""


def test_imagenet16_resolution(small_bundle) -> None:
    b = load_batch("imagenet16-120", 16, data_dir=small_bundle)
    assert b.inputs.shape == (16, 3, 16, 16) and b.num_classes == 120


def test_synthetic_only_when_asked() -> None:
    b = load_batch("cifar10", 8, inputs="synthetic")
    assert b.n_real == 0 and "synthetic" in b.source
    with pytest.raises(ValueError, match="'real' or 'synthetic'"):
        load_batch("cifar10", 8, inputs="noise")


def test_torchvision_cifar_folder(tmp_path) -> None:
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    data = np.random.default_rng(0).integers(0, 256, size=(30, 3 * 32 * 32), dtype=np.uint8)
    with open(root / "test_batch", "wb") as f:
        pickle.dump({"data": data, "labels": list(range(10)) * 3}, f)
    b = load_batch("cifar10", 12, image_root=tmp_path)
    assert b.inputs.shape == (12, 3, 32, 32) and b.n_real == 12
    # pixel check: undo the normalisation of one image and compare with the raw bytes
    info = DATASETS["cifar10"]
    idx = np.random.default_rng(0).permutation(30)[0]
    raw = data[idx].reshape(3, 32, 32) / 255.0
    back = b.inputs[0].numpy() * np.array(info.std)[:, None, None] + np.array(info.mean)[:, None, None]
    assert np.allclose(back, raw, atol=1e-5)


def test_missing_data_is_explained(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SWAPNAS_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="--data-dir"):
        resolve_data_dir(None)
    with pytest.raises(FileNotFoundError, match=r"images/cifar10_test_2000_jpegq75.npz.*searched in"):
        load_batch("cifar10", 8, data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py/test_batch"):
        load_batch("cifar10", 8, image_root=tmp_path)
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        load_batch("svhn", 8, data_dir=tmp_path)


def test_imagenet_stand_in_labels_are_mapped_into_range(small_bundle) -> None:
    b = load_batch("imagenet16-120", 16, data_dir=small_bundle)
    assert int(b.targets.min()) >= 0 and int(b.targets.max()) < 120
    assert "label % 120" in b.note
    # the real images' labels are the file's ImageNet-1k labels mod 120 (a seeded draw: compared as a multiset);
    # the 6 filled copies keep the labels of the images they copy
    with np.load(small_bundle / "images" / "foolbox_real_samples.npz") as f:
        raw = f["imagenet_y_in1k"].astype(int)
    assert b.n_real == len(raw) == 10 and raw.max() >= 120  # the mapping is exercised
    assert sorted(b.targets[:10].tolist()) == sorted((raw % 120).tolist())
    assert set(b.targets[10:].tolist()) <= set((raw % 120).tolist())
    assert load_batch("cifar10", 16, data_dir=small_bundle).note == ""
