"""Tests written against the survivors of session 38's mutation run of ``swapnas.bundle.Batch``'s methods
(docs/reliability.md, "Session 38"): the digest, which enters every protocol's fingerprint, worked out from its
definition for integer labels of any width, float targets and a loss other than cross-entropy; ``map`` keeping every
field and the container of a multi-input batch; ``to`` moving every tensor.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from swapnas.bundle import Batch

X = torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2) / 7


def tensors(inputs: object) -> list:
    """The batch's input tensors in order: one, or those of a tuple, list or dict."""
    if isinstance(inputs, dict):
        return list(inputs.values())
    return list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]


def sha16(*parts: bytes) -> str:
    return hashlib.sha256(b"".join(parts)).hexdigest()[:16]


def test_the_digest_hashes_the_inputs_the_labels_as_int64_and_a_regression_loss() -> None:
    labels = torch.tensor([3, 1], dtype=torch.int32)
    expected = sha16(X.numpy().tobytes(), np.array([3, 1], dtype=np.int64).tobytes())
    assert Batch(X, labels, 4, "d", "s", 2).digest == expected
    assert Batch(X, labels.long(), 4, "d", "s", 2).digest == expected  # the width of the labels does not count
    targets = torch.tensor([[0.5, -1.0], [2.0, 0.25]])
    for loss in ("mse", "l1"):
        assert Batch(X, targets, 2, "d", "s", 2, loss=loss).digest == sha16(
            X.numpy().tobytes(), targets.numpy().tobytes(), loss.encode())
    assert Batch(X, targets, 2, "d", "s", 2, loss="ce").digest == sha16(X.numpy().tobytes(), targets.numpy().tobytes())


@pytest.mark.parametrize("inputs", [X, (X, X + 1), [X, X + 1], {"a": X, "b": X + 1}])
def test_map_applies_to_every_tensor_and_keeps_every_other_field(inputs: object) -> None:
    batch = Batch(inputs, torch.tensor([1.0, 2.0]), 3, "cifar10", "synthetic", 1, note="n", loss="l1")
    doubled = batch.map(lambda t: t * 2)
    assert (doubled.num_classes, doubled.dataset, doubled.source, doubled.n_real, doubled.note, doubled.loss) == \
        (3, "cifar10", "synthetic", 1, "n", "l1")
    assert torch.equal(doubled.targets, torch.tensor([2.0, 4.0]))
    assert type(doubled.inputs) is type(inputs)
    if isinstance(inputs, dict):
        assert list(doubled.inputs) == list(inputs)  # type: ignore[arg-type]
    assert all(torch.equal(got, given * 2) for got, given in zip(tensors(doubled.inputs), tensors(inputs), strict=True))


def test_to_moves_every_tensor() -> None:
    moved = Batch((X, X), torch.tensor([1, 0]), 2, "d", "s", 2).to("meta")
    assert [t.device.type for t in (*moved.inputs, moved.targets)] == ["meta"] * 3
