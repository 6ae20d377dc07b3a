"""What enters a score's store key: a network built with other outputs (``--num-classes``) is another score.

The same images under ``--num-classes 10`` and ``20`` hash to the same batch, so before session 16 the
second run reused the first one's scores (``params`` of a 10-way head for a 20-way network).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from swapnas.cli import main
from swapnas.scoring import Protocol
from swapnas.spaces import nb201


@pytest.fixture
def image_root(tmp_path: Path) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(tmp_path / "imgs" / c / f"{i}.png")
    return tmp_path / "imgs"


def _params(image_root: Path, tmp_path: Path, classes: int, store: Path, data_dir: Path) -> tuple[list, list, dict]:
    out = tmp_path / f"out{classes}"
    rc = main(["correlate", "--space", "nb201", "--dataset", "cifar10", "--proxies", "params", "--archs", "3",
               "--data-dir", str(data_dir),
               "--image-root", str(image_root), "--num-classes", str(classes), "--batch-size", "8",
               "--store", str(store), "--out", str(out), "--no-progress"])
    assert rc == 0
    doc = json.loads((out / "results.json").read_text())
    return doc["scores"]["params"], doc["archs"], doc["protocol"]["net"]


@pytest.mark.bundle  # the NB201 benchmark's archs and accuracies
def test_num_classes_is_part_of_the_key(image_root: Path, tmp_path: Path, data_dir: Path) -> None:
    store = tmp_path / "s.sqlite"
    ten, archs, net = _params(image_root, tmp_path, 10, store, data_dir)
    twenty, archs20, net20 = _params(image_root, tmp_path, 20, store, data_dir)
    assert archs == archs20 and net == net20
    # an independent count: the built networks' parameters (the head grows by 10 outputs)
    for arch, p10, p20 in zip(archs, ten, twenty):
        counts = [sum(t.numel() for t in nb201.build(arch, num_classes=k, **net).parameters()) for k in (10, 20)]
        assert [p10, p20] == counts and p20 > p10


def test_the_keys_of_protocols_without_set_classes_are_unchanged() -> None:
    # the fingerprint of an ordinary protocol is the hash of these five parts alone, as before session 16
    import hashlib

    p = Protocol("nb201", "cifar10", 16, batch_digest="abc", init="default")
    parts = {"dataset": "cifar10", "init": "default", "bn_train": True, "batch": "abc", "inputs": "real"}
    assert p.fingerprint == hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    assert "classes" not in p.describe()
    assert Protocol("nb201", "cifar10", 16, batch_digest="abc", init="default", classes=20).fingerprint != p.fingerprint
