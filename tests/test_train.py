"""`swapnas train`: end to end on synthetic data, resume, Ctrl-C, recipe pieces, ImageNet network, data errors."""

from __future__ import annotations

import argparse
import json
import math
import pickle
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from swapnas import train as tr
from swapnas.cli import build_parser
from swapnas.cli.commands import train_overrides
from swapnas.spaces import darts_genotype as dg
from swapnas.spaces.darts_imagenet import build_imagenet
from swapnas.spaces.darts_net import AuxiliaryHead
from swapnas.train import loop
from tests.process_helpers import signal_after
from tests.test_darts_genotype import DARTS_V2

TINY = replace(tr.RECIPES["cifar10"], C=4, layers=3, batch_size=16, epochs=2)
OTHER = DARTS_V2.replace("('dil_conv_3x3', 2)", "('sep_conv_5x5', 2)")


def _parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(["train", *argv])


def _run(out: Path, epochs: int = 2, genotype: str = DARTS_V2, **kw) -> dict:
    return tr.train(genotype, replace(TINY, epochs=epochs), tr.synthetic_data(64), out, "cpu", seed=0,
                    progress=False, max_steps=2, **kw)


def _history(out: Path) -> list[dict]:
    return json.loads((out / "history.json").read_text())


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> list[dict]:
    """History of an uninterrupted 2-epoch run (the reference for resumed runs)."""
    out = tmp_path_factory.mktemp("straight")
    _run(out)
    return _history(out)


def test_cli_end_to_end_writes_checkpoint_history_result(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    args = _parse(["--genotype", DARTS_V2, "--synthetic", "64", "--channels", "4", "--layers", "3",
                   "--batch-size", "16", "--epochs", "2", "--max-steps", "2", "--device", "cpu",
                   "--out", str(out), "--no-progress"])
    assert replace(tr.RECIPES["cifar10"], **train_overrides(args)) == TINY
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "final test accuracy" in text and "M params" in text
    hist = _history(out)
    assert [h["epoch"] for h in hist] == [1, 2] and all(h["steps"] == 2 and h["train_n"] == 32 for h in hist)
    assert all(h["test_acc"] is not None and h["test_n"] == 32 and h["seconds"] > 0 for h in hist)
    res = json.loads((out / "result.json").read_text())
    assert res["epochs"] == 2 and res["test_acc"] == hist[-1]["test_acc"] and not res["complete"]
    assert res["genotype"] == DARTS_V2 and res["config"]["C"] == 4
    net = tr.build_model(dg.parse(DARTS_V2), TINY, "cifar10", 10)
    assert isinstance(net.auxiliary_head, AuxiliaryHead)  # trained with the head: its weights are left out below
    aux = sum(p.numel() for p in net.auxiliary_head.parameters())
    assert aux > 0 and res["params_m"] == pytest.approx((sum(p.numel() for p in net.parameters()) - aux) / 1e6)
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ck["epoch"] == 2 and ck["step"] == 0 and len(ck["history"]) == 2 and ck["genotype"] == DARTS_V2
    assert not (out / "checkpoint.pt.tmp").exists()


def test_resume_continues_at_next_epoch_and_matches_straight_run(tmp_path, straight) -> None:
    out = tmp_path / "run"
    _run(out, epochs=1)
    first = _history(out)
    assert len(first) == 1
    res = _run(out, epochs=2)
    hist = _history(out)
    assert len(hist) == 2 and hist[0] == first[0] and res["epochs"] == 2
    keys = ("train_loss", "train_acc", "test_acc", "lr", "drop_path_prob")
    assert [[h[k] for k in keys] for h in hist] == [[h[k] for k in keys] for h in straight]
    # rerunning a finished run trains nothing more and rewrites the same result
    assert _run(out, epochs=2)["test_acc"] == res["test_acc"] and len(_history(out)) == 2


def test_ctrl_c_saves_mid_epoch_checkpoint_and_resume_matches(tmp_path, straight, monkeypatch) -> None:
    out = tmp_path / "run"
    real, calls = loop._train_step, []

    def interrupted(*a, **k):
        calls.append(1)
        if len(calls) == 4:  # epoch 2, second batch
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(loop, "_train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(out)
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert (ck["epoch"], ck["step"], len(ck["history"])) == (1, 1, 1) and ck["partial"]["n"] == 16
    monkeypatch.setattr(loop, "_train_step", real)
    _run(out)
    hist = _history(out)
    assert [h["train_loss"] for h in hist] == pytest.approx([h["train_loss"] for h in straight], rel=1e-6)
    assert [h["test_acc"] for h in hist] == [h["test_acc"] for h in straight]


def test_ctrl_c_during_a_step_is_held_to_the_batch_end_and_resume_matches(tmp_path, straight, monkeypatch) -> None:
    """Regression (review, session 15): a real SIGINT arriving after the optimiser step saved the updated
    weights with the batch not counted, so the resumed run applied that batch twice."""
    import signal

    out = tmp_path / "run"
    real = loop._train_step
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own, whatever an earlier test left
    monkeypatch.setattr(loop, "_train_step", signal_after(real, 4, signal.SIGINT))  # epoch 2, second batch
    with pytest.raises(KeyboardInterrupt):
        _run(out)
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert (ck["epoch"], ck["step"]) == (1, 2)  # the signalled batch is counted: it was applied
    monkeypatch.setattr(loop, "_train_step", real)
    _run(out)
    hist = _history(out)
    assert [h["train_loss"] for h in hist] == pytest.approx([h["train_loss"] for h in straight], rel=1e-6)
    assert [h["test_acc"] for h in hist] == [h["test_acc"] for h in straight]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is given back


def test_resume_mismatch_is_a_clear_error(tmp_path) -> None:
    out = tmp_path / "run"
    _run(out, epochs=1)
    with pytest.raises(ValueError, match=r"different run \(genotype: checkpoint .*only --epochs may change"):
        _run(out, epochs=2, genotype=OTHER)
    with pytest.raises(ValueError, match=r"lr: checkpoint 0.025, asked 0.1"):
        tr.train(DARTS_V2, replace(TINY, lr=0.1), tr.synthetic_data(64), out, "cpu", progress=False, max_steps=2)
    with pytest.raises(ValueError, match="data: checkpoint 'synthetic-cifar10-64', asked 'synthetic-cifar10-32'"):
        tr.train(DARTS_V2, TINY, tr.synthetic_data(32), out, "cpu", progress=False, max_steps=2)
    # regression (review, session 15): a smoke run (--max-steps) resumed as a full run, reported complete
    with pytest.raises(ValueError, match="--max-steps: checkpoint 2, asked None"):
        tr.train(DARTS_V2, replace(TINY, epochs=2), tr.synthetic_data(64), out, "cpu", progress=False)


def test_train_leaves_the_callers_global_rng_alone(tmp_path, straight) -> None:
    torch.manual_seed(123)  # a caller's state, unlike the run's seed
    random.seed(123)
    np.random.seed(123)
    torch_state, py_state, np_state = torch.random.get_rng_state(), random.getstate(), np.random.get_state()
    benchmark = torch.backends.cudnn.benchmark
    _run(tmp_path / "run")  # epoch 2 draws drop-path masks as well as augmentation
    assert torch.equal(torch.random.get_rng_state(), torch_state) and random.getstate() == py_state
    after = np.random.get_state()
    assert after[0] == np_state[0] and (after[1] == np_state[1]).all() and after[2:] == np_state[2:]
    assert torch.backends.cudnn.benchmark == benchmark
    # and the run does not depend on the caller's state: the same numbers as the module's reference run
    keys = ("train_loss", "train_acc", "test_loss", "test_acc", "lr", "drop_path_prob")
    assert [[h[k] for k in keys] for h in _history(tmp_path / "run")] == [[h[k] for k in keys] for h in straight]


def test_cutout_zeroes_a_clipped_square() -> None:
    x = torch.ones(3, 3, 32, 32)
    y = tr.cutout(x, 16, centers=torch.tensor([[16, 16], [0, 0], [31, 5]]))
    zero = y == 0
    assert zero[0, :, 8:24, 8:24].all() and zero[0].sum() == 3 * 16 * 16
    assert zero[1, :, :8, :8].all() and zero[1].sum() == 3 * 8 * 8
    assert zero[2, :, 23:, :13].all() and zero[2].sum() == 3 * 9 * 13
    torch.manual_seed(0)
    r = tr.cutout(torch.ones(50, 3, 32, 32), 16)
    for img in r:
        rows, cols = (img[0] == 0).any(1).nonzero(), (img[0] == 0).any(0).nonzero()
        assert 8 <= len(rows) <= 16 and 8 <= len(cols) <= 16  # centre inside the image: at least half a side
        assert (img[:, rows.min():rows.max() + 1, cols.min():cols.max() + 1] == 0).all()
        assert (img == 0).sum() == 3 * len(rows) * len(cols)


def test_random_crop_flip_takes_a_padded_window() -> None:
    torch.manual_seed(1)
    x = torch.rand(6, 3, 8, 8)
    y = tr.random_crop_flip(x, pad=2)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(6):
        wins = [padded[i, :, a:a + 8, b:b + 8] for a in range(5) for b in range(5)]
        assert any(torch.equal(y[i], w) or torch.equal(y[i], w.flip(2)) for w in wins)


def test_lr_schedule_is_cosine_to_zero_and_step_for_imagenet() -> None:
    c = tr.RECIPES["cifar10"]
    assert tr.lr_at(c, 0) == pytest.approx(0.025)
    assert tr.lr_at(c, 150) == pytest.approx(0.025 * (1 + math.cos(math.pi / 4)) / 2)
    assert tr.lr_at(c, 300) == pytest.approx(0.0125)
    assert tr.lr_at(c, 599) == pytest.approx(0.025 * (1 + math.cos(math.pi * 599 / 600)) / 2) and tr.lr_at(c, 600) == 0
    assert tr.drop_path_at(c, 300) == pytest.approx(0.1)
    i = tr.RECIPES["imagenet"]
    assert (i.lr, i.weight_decay, i.label_smoothing, i.C, i.layers, i.epochs) == (0.1, 3e-5, 0.1, 48, 14, 250)
    assert tr.lr_at(i, 2) == pytest.approx(0.1 * 0.97**2)


@pytest.mark.slow  # > 5 s
def test_run_records_the_schedule(tmp_path) -> None:
    cfg = replace(TINY, epochs=4, batch_size=32)
    tr.train(DARTS_V2, cfg, tr.synthetic_data(32), tmp_path, "cpu", progress=False, max_steps=1, eval_every=3)
    hist = _history(tmp_path)
    assert [h["lr"] for h in hist] == pytest.approx([0.025 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)])
    assert [h["drop_path_prob"] for h in hist] == pytest.approx([0.0, 0.05, 0.1, 0.15])
    assert [h["test_acc"] is None for h in hist] == [True, True, False, False]  # every 3rd epoch and the last


def test_imagenet_network_shapes_and_darts_v2_mobile_params() -> None:
    torch.manual_seed(0)
    net = build_imagenet(DARTS_V2, C=8, layers=3, num_classes=1000, auxiliary=True, drop_path_prob=0.1)
    net.train()
    logits, aux = net(torch.randn(2, 3, 224, 224))
    assert logits.shape == aux.shape == (2, 1000)
    net.eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 224, 224)).shape == (2, 1000)
    with torch.device("meta"):
        mobile = build_imagenet(DARTS_V2, auxiliary=True)
    n = sum(p.numel() for k, p in mobile.named_parameters() if not k.startswith("auxiliary_head"))
    assert round(n / 1e6, 2) == 4.72  # the DARTS paper reports 4.7 M


def test_imagenet_recipe_runs_on_synthetic_224px(tmp_path) -> None:
    cfg = replace(tr.RECIPES["imagenet"], C=8, layers=3, batch_size=4, epochs=2)
    res = tr.train(DARTS_V2, cfg, tr.synthetic_data(8, "imagenet"), tmp_path, "cpu", progress=False, max_steps=1)
    hist = _history(tmp_path)
    assert [h["lr"] for h in hist] == pytest.approx([0.1, 0.097]) and res["test_top5"] >= res["test_acc"]
    assert res["dataset"] == "synthetic-imagenet-8" and res["config"]["label_smoothing"] == 0.1


def test_missing_cifar_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError) as e:
        tr.load_data("cifar10", tmp_path)
    msg = str(e.value)
    assert "cifar-10-batches-py" in msg and "data_batch_1" in msg and "test_batch" in msg
    assert "https://www.cs.toronto.edu/~kriz/cifar.html" in msg and "nothing is downloaded" in msg
    with pytest.raises(FileNotFoundError, match="--data-root DATA_ROOT.*--synthetic N"):
        tr.load_data("cifar10")
    with pytest.raises(FileNotFoundError, match="no train/ and val/ folders.*image-net.org"):
        tr.load_data("imagenet", tmp_path)


def test_cifar_pickles_are_read(tmp_path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in tr.CIFAR_FILES:
        d = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": list(rng.integers(0, 10, 4))}
        (folder / name).write_bytes(pickle.dumps(d))
    data = tr.load_data("cifar10", tmp_path)
    assert data.train.images.shape == (20, 3, 32, 32) and len(data.test) == 4 and data.num_classes == 10
    first = pickle.loads((folder / "data_batch_1").read_bytes())["data"][0]
    assert torch.equal(data.train.images[0].flatten(), torch.from_numpy(first))


def test_imagenet_folder_transforms(tmp_path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for cls in ("n01", "n02"):
            (tmp_path / split / cls).mkdir(parents=True)
            for k in range(2):
                Image.fromarray(rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)).save(tmp_path / split / cls / f"{k}.png")
    data = tr.load_data("imagenet", tmp_path, workers=0)
    assert data.num_classes == 2 and len(data.train) == len(data.test) == 4
    x, y = data.train[3]
    assert x.shape == (3, 224, 224) and x.dtype == torch.uint8 and y == 1
    assert data.test[0][0].shape == (3, 224, 224)
    from swapnas.train.data import _batch_indices, _batches
    batches = _batch_indices(len(data.train), 2, True, 0, 0)
    xb, yb = next(_batches(data, data.train, batches, True, torch.device("cpu"), 0))
    assert xb.shape == (2, 3, 224, 224) and xb.dtype == torch.float32


def test_genotype_from_search_result(tmp_path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"space": "darts", "best": DARTS_V2, "fitness": 1.0}))
    assert tr.load_genotype(str(path)) == dg.parse(DARTS_V2)
    path.write_text(json.dumps({"space": "nb201", "best": "|nor_conv_3x3~0|"}))
    with pytest.raises(ValueError, match="'nb201' search result"):
        tr.load_genotype(str(path))
    with pytest.raises(FileNotFoundError, match="neither"):
        tr.load_genotype(str(tmp_path / "nope.json"))
