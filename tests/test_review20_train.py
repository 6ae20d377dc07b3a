"""Review 20 of `swapnas train`: SIGTERM held to the batch end, the auxiliary head's ReLU, --json/-q,
clear errors for bad input and damaged checkpoints, evaluation off the training stream, the OUT lock."""

from __future__ import annotations

import copy
import json
import os
import re
import signal
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from swapnas import files
from swapnas import train as tr
from swapnas.cli import main
from swapnas.scoring import build_scored_net
from swapnas.search.final import _builder
from swapnas.search.fitness import choose_fitness
from swapnas.session import configure
from swapnas.spaces import darts, get_space
from swapnas.spaces.darts_imagenet import build_imagenet
from swapnas.spaces.darts_net import AuxiliaryHead, build
from swapnas.train import loop
from tests.process_helpers import lock_holder, signal_after
from tests.test_darts_genotype import DARTS_V2

TINY_CLI = ["train", "--genotype", DARTS_V2, "--synthetic", "64", "--channels", "4", "--layers", "3",
            "--batch-size", "16", "--epochs", "2", "--max-steps", "2", "--device", "cpu", "--no-progress"]


def _history(out: Path) -> list[dict]:
    return json.loads((out / "history.json").read_text())


def test_sigterm_during_a_step_is_held_to_the_batch_end_and_resume_matches(tmp_path, monkeypatch, capsys) -> None:
    """SIGTERM (SLURM, timeout, kill) arriving after the optimiser step: `swapnas train` exits 130 with the
    batch counted in the checkpoint, and the resumed run equals an uninterrupted one (it used to train
    that batch twice: only SIGINT was held)."""
    assert main([*TINY_CLI, "--out", str(tmp_path / "straight")]) == 0
    straight = _history(tmp_path / "straight")
    out = tmp_path / "run"
    real = loop._train_step
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)  # main() installs its own handler over the default
    try:
        monkeypatch.setattr(loop, "_train_step", signal_after(real, 3, signal.SIGTERM))  # epoch 2, first batch
        assert main([*TINY_CLI, "--out", str(out)]) == 130
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # given back
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "rerun the same command to resume" in capsys.readouterr().err
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert (ck["epoch"], ck["step"]) == (1, 1)  # the signalled batch is counted: it was applied
    monkeypatch.setattr(loop, "_train_step", real)
    assert main([*TINY_CLI, "--out", str(out)]) == 0
    hist = _history(out)
    assert [h["train_loss"] for h in hist] == pytest.approx([h["train_loss"] for h in straight], rel=1e-6)
    assert [h["test_acc"] for h in hist] == [h["test_acc"] for h in straight]


def test_whole_batch_leaves_sigterm_alone_without_a_python_handler() -> None:
    """Without a Python SIGTERM handler (the library, not the command) the default stays: nothing to hold."""
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    reached = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with loop._whole_batch():
                assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
                signal.raise_signal(signal.SIGINT)  # a Ctrl-C inside the block is held ...
                reached.append(True)
        assert reached == [True]  # ... to the block's end, then delivered as KeyboardInterrupt
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # and the handler given back
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


@pytest.mark.parametrize("make,size", [
    (lambda: build(DARTS_V2, C=4, layers=3, auxiliary=True), 32),  # aux head after the last cell
    (lambda: build(DARTS_V2, C=4, layers=4, auxiliary=True), 32),
    (lambda: build_imagenet(DARTS_V2, C=4, layers=2, num_classes=10, auxiliary=True), 224),
])
def test_auxiliary_head_leaves_the_main_logits_alone(make, size) -> None:
    """The head's first ReLU was in place: with the aux cell last, the main head saw ReLU'd features in
    training mode only, so the network trained differed from the one evaluated."""
    torch.manual_seed(0)
    net = make().train()
    plain = copy.deepcopy(net)
    plain.auxiliary_head = None
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        logits, _ = net(x)
        assert torch.equal(logits, plain(x))


def test_no_scoring_network_has_an_auxiliary_head(small_bundle) -> None:
    """The head is built for `swapnas train` only: the ReLU fix changes no stored score. Each network is built
    as scoring builds it: the default protocol, the recommended fitness's and its second stage's, each --net
    preset, and the search's final networks (their sizes)."""
    mod, root = get_space("darts"), str(small_bundle)
    chosen, stage = choose_fitness("darts", "best")
    runs = [configure("darts", "cifar10", "swap", data_dir=root),  # SCORING_DEFAULTS
            configure("darts", "cifar10", [chosen], data_dir=root),  # FITNESS_PROTOCOL, then its refine stage
            configure("darts", "cifar10", [chosen], net=stage.net, batch_size=stage.batch_size, data_dir=root)]
    runs += [configure("darts", "cifar10", "swap", net=net, data_dir=root) for net in darts.NETS.values()]
    meta = torch.device("meta")
    with meta:
        nets = [build_scored_net(mod.build, DARTS_V2, p, batch.num_classes, 0, meta) for p, batch, _ in runs]
        nets += [_builder(mod, final)(DARTS_V2, **final["net"]) for final in mod.FINAL_NETS.values()]
    assert len(nets) == 8 and not any(isinstance(m, AuxiliaryHead) for net in nets for m in net.modules())


SMOKE = ["train", "--genotype", DARTS_V2, "--synthetic", "16", "--channels", "4", "--layers", "4", "--batch-size", "8",
         "--epochs", "1", "--max-steps", "1", "--device", "cpu"]


def test_train_json_prints_one_json_document_and_no_progress(tmp_path, capsys) -> None:
    """`swapnas train --json`: result.json on stdout, nothing else (it printed text and a progress bar)."""
    out = tmp_path / "run"
    assert main([*SMOKE, "--json", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == json.loads((out / "result.json").read_text())
    assert "epoch" not in captured.err and "%|" not in captured.err


def test_train_quiet_prints_only_what_was_written(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main([*SMOKE, "-q", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"wrote {out / 'result.json'}, {out / 'history.json'}, {out / 'checkpoint.pt'}"]
    assert "epoch" not in captured.err and "%|" not in captured.err


TINY = replace(tr.RECIPES["cifar10"], C=4, layers=3, batch_size=16, epochs=1)


def test_one_cifar_cell_with_the_auxiliary_head_is_a_clear_error(tmp_path, capsys) -> None:
    """--layers 1 on CIFAR gave `mat1 and mat2 shapes cannot be multiplied` with a traceback: the head
    needs the 8x8 map after two reductions (2 cells). ImageNet's head pools globally: 1 cell trains."""
    layers1 = [a if i != SMOKE.index("--layers") + 1 else "1" for i, a in enumerate(SMOKE)]
    assert main([*layers1, "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("swapnas: error: layers 1 (--layers)") and "--layers 2 or more" in err
    assert "--auxiliary-weight 0" in err and not (tmp_path / "a").exists()  # refused before anything ran
    with pytest.raises(ValueError, match="--layers 2 or more"):
        tr.build_model(tr.load_genotype(DARTS_V2), replace(TINY, layers=1), "cifar10", 10)
    # what is allowed builds and trains: no head with --auxiliary-weight 0; the head on CIFAR's 2 cells and on
    # ImageNet's 1 cell runs in training mode (the refused case failed in the forward pass, not the build)
    for config, dataset, side, aux in ((replace(TINY, layers=1, auxiliary_weight=0.0), "cifar10", 32, False),
                                       (replace(TINY, layers=2), "cifar10", 32, True),
                                       (replace(TINY, layers=1), "imagenet", 224, True)):
        torch.manual_seed(0)
        net = tr.build_model(tr.load_genotype(DARTS_V2), config, dataset, 10).train()
        assert len(net.cells) == config.layers and isinstance(net.auxiliary_head, AuxiliaryHead) is aux
        out = net(torch.randn(2, 3, side, side))
        assert [tuple(o.shape) for o in (out if aux else (out,))] == [(2, 10)] * (2 if aux else 1), dataset


def test_batch_size_one_with_the_auxiliary_head_is_a_clear_error(tmp_path) -> None:
    """--batch-size 1 failed after the model was built, in the aux head's BatchNorm on a 1x1 map."""
    with pytest.raises(ValueError, match=r"batch_size 1 \(--batch-size\).*--batch-size 2 or more.*--auxiliary-weight 0"):
        replace(TINY, batch_size=1)
    assert replace(TINY, batch_size=1, auxiliary_weight=0.0).batch_size == 1  # no head, no limit
    one = tr.synthetic_data(2)
    one.train = tr.TensorSplit(one.train.images[:1], one.train.labels[:1])
    with pytest.raises(ValueError, match="1 training image.*--auxiliary-weight 0"):
        tr.train(DARTS_V2, TINY, one, tmp_path / "one", "cpu", progress=False)


@pytest.mark.parametrize("damage", ["truncated", "empty", "list", "foreign_dict", "incomplete"])
def test_a_damaged_checkpoint_is_a_clear_error(tmp_path, capsys, damage) -> None:
    """A truncated (a crash, a full disk), empty or foreign checkpoint.pt gave a RuntimeError, a bare EOFError
    or an AttributeError with a traceback; now `swapnas: error:` naming the file and the fix, exit 2."""
    out = tmp_path / "run"
    assert main([*SMOKE, "-q", "--out", str(out)]) == 0
    path = out / "checkpoint.pt"
    good = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "list":
        torch.save([1, 2], path)
    elif damage == "foreign_dict":
        torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    else:
        ck = torch.load(path, weights_only=True)
        del ck["model"]
        torch.save(ck, path)
    capsys.readouterr()
    assert main([*SMOKE, "-q", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"swapnas: error: {path} is ") and "Traceback" not in err
    assert err.rstrip().endswith(f"use another --out, or delete {path} to start afresh")


def _image_folder(root: Path) -> Path:
    """A 3-class ImageNet-style folder of 2 small images per class and split."""
    from PIL import Image

    gen = torch.Generator().manual_seed(0)
    for split in ("train", "val"):
        for c in ("n0", "n1", "n2"):
            (root / split / c).mkdir(parents=True)
            for k in range(2):
                pixels = torch.randint(0, 256, (20, 24, 3), dtype=torch.uint8, generator=gen).numpy()
                Image.fromarray(pixels).save(root / split / c / f"{k}.JPEG")
    return root


def test_evaluation_does_not_move_the_training_stream(tmp_path) -> None:
    """On image folders each evaluation drew the loader's base seed from the run's stream, so every later
    epoch's augmentation, and the training losses, depended on --eval-every (a resume with another value
    changed the rest of the run quietly)."""
    root = _image_folder(tmp_path / "folder")
    config = replace(tr.RECIPES["imagenet"], C=2, layers=1, batch_size=3, epochs=2, auxiliary_weight=0.0)
    losses = []
    for every in (1, 2):
        data = tr.load_data("imagenet", root, workers=0)
        tr.train(DARTS_V2, config, data, tmp_path / f"every{every}", "cpu", progress=False, eval_every=every)
        losses.append([h["train_loss"] for h in _history(tmp_path / f"every{every}")])
    assert losses[0] == losses[1]
    model = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 3))
    state = torch.get_rng_state()
    assert tr.evaluate(model, data, torch.device("cpu"), 3)["test_n"] == 6
    assert torch.equal(torch.get_rng_state(), state)  # nor from the caller's global generator


def test_a_second_train_on_a_busy_out_is_refused(tmp_path, capsys) -> None:
    """Two `swapnas train` on one --out both ran (the second resumed from the first's checkpoint mid-run and
    both wrote it): OUT is now locked as a search's is, and the second run fails at once."""
    out = tmp_path / "run"
    out.mkdir()
    with lock_holder(out / ".lock") as holder:
        assert main([*SMOKE, "--out", str(out)]) == 2
        assert (f"swapnas: error: another swapnas train is using {out} (pid {holder.pid}); wait for it or use "
                "another --out") in capsys.readouterr().err
        with pytest.raises(ValueError, match="another swapnas train is using"):
            tr.train(DARTS_V2, TINY, tr.synthetic_data(16), out, "cpu", progress=False, max_steps=1)
        assert sorted(p.name for p in out.iterdir()) == [".lock"]
    assert main([*SMOKE, "-q", "--out", str(out)]) == 0  # a killed holder leaves no lock behind


def test_missing_data_makes_no_out_folder(tmp_path, capsys) -> None:
    """OUT was locked (made) before the data was read, so a wrong --data-root left an OUT holding only .lock:
    train() locks it after the data is read."""
    out = tmp_path / "run"
    args = ["train", "--genotype", DARTS_V2, "--data-root", str(tmp_path / "nonexistent"), "--device", "cpu"]
    assert main([*args, "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("swapnas: error: ") and not out.exists()


def test_checkpoint_writes_use_a_unique_temporary_and_fsync(tmp_path, monkeypatch) -> None:
    """The temporary was always `checkpoint.pt.tmp` (shared by two writers) and never fsync'ed before the
    rename (a power loss could publish an empty file)."""
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"old")
    synced, seen = [], []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))

    def write(f) -> None:
        seen.extend(p.name for p in tmp_path.iterdir() if p != path)  # the temporary, in the same folder
        f.write(b"new")

    files.write_atomic(path, write)
    assert path.read_bytes() == b"new" and synced and len(seen) == 1 and seen[0] != "checkpoint.pt.tmp"
    assert seen[0].startswith(".checkpoint.pt.") and not (tmp_path / seen[0]).exists()
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()  # not mkstemp's 0600

    def broken(f) -> None:
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="^disk full$"):  # the writer's own error, not one from the clean-up
        files.write_atomic(path, broken)
    assert path.read_bytes() == b"new" and sorted(tmp_path.iterdir()) == [path]  # no temporary left


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _strict(text: str):
    def refuse(token: str):
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def test_a_diverged_run_warns_once_and_writes_strict_json(tmp_path, caplog) -> None:
    """A huge lr without clipping: the loss went NaN with no word, and history.json held bare NaN tokens."""
    config = replace(TINY, epochs=3, lr=1e30, grad_clip=0.0)
    with caplog.at_level("WARNING", logger="swapnas.train.loop"):
        tr.train(DARTS_V2, config, tr.synthetic_data(32), tmp_path, "cpu", progress=False, max_steps=1)
    hist = _strict((tmp_path / "history.json").read_text())
    assert hist[0]["train_loss"] is not None and [h["train_loss"] for h in hist[1:]] == [None, None]
    _strict((tmp_path / "result.json").read_text())
    diverged = [r.getMessage() for r in caplog.records if "diverged" in r.getMessage()]
    assert len(diverged) == 1 and "--lr" in diverged[0]  # once, not per epoch
    assert re.search(r"epoch 2 is -?(nan|inf)\b", diverged[0])  # an overflow gives inf, not nan


def test_cutout_on_an_image_folder_warns_that_it_is_ignored(tmp_path, caplog) -> None:
    root = _image_folder(tmp_path / "folder")
    config = replace(tr.RECIPES["imagenet"], C=2, layers=1, batch_size=3, epochs=1, auxiliary_weight=0.0, cutout=16)
    with caplog.at_level("WARNING", logger="swapnas.train.loop"):
        tr.train(DARTS_V2, config, tr.load_data("imagenet", root, workers=0), tmp_path / "run", "cpu",
                 progress=False, max_steps=1)
    assert any("--cutout 16 is ignored on image folders" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("field,value", [("epochs", 1.5), ("batch_size", 16.0), ("layers", True), ("C", "4")])
def test_integer_fields_must_be_integers(field, value) -> None:
    """TrainConfig(epochs=1.5) was accepted and train() failed later inside range()."""
    with pytest.raises(TypeError, match=f"TrainConfig fields must be integers: {field}="):
        replace(TINY, **{field: value})


def test_evaluate_gives_the_model_its_mode_back(tmp_path) -> None:
    """evaluate() is public but left a training-mode model in eval mode."""
    net = tr.build_model(tr.load_genotype(DARTS_V2), replace(TINY, auxiliary_weight=0.0), "cifar10", 10).train()
    assert tr.evaluate(net, tr.synthetic_data(8), torch.device("cpu"), 8)["test_n"] == 8
    assert net.training
