"""Session 67 audit of the GPU code paths, reviewed on a CPU-only machine (each test failed on the code as found): a
defect that bites on a real GPU (or MPS), shown on the CPU with the meta device or by monkeypatching the one call
that behaves differently there."""

from __future__ import annotations

import argparse
import logging
import types
import weakref

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import swapnas
from swapnas import api, scoring
from swapnas.api_inputs import as_batch
from swapnas.proxies._common import output_loss
from swapnas.proxies.registry import Proxy
from swapnas.scoring import Protocol, _score_base

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="shows the no-CUDA refusal")

GENOTYPE = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), "
            "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])")


# ---------------------------------------------------------------------------------------------------------- F1
def test_lazy_materialisation_pass_runs_on_the_scoring_device(monkeypatch) -> None:
    """api._materialised runs the lazy model's shape pass ("dry run") with the copy still on the caller's device
    while the batch is already on the scoring device: swapnas.score(lazy_cpu_model, x, device="cuda") fails with
    "Expected all tensors to be on the same device" (reported as "its forward fails on these inputs"). torch's
    LazyModuleMixin docs: place the network on the device first, then dry-run. The pass is recorded, not run (the
    meta device stands in for the GPU; a lazy parameter moved to meta would lose its laziness, one moved to CUDA
    does not)."""
    seen: list[tuple[set, torch.device]] = []

    def record(model, inputs):
        placed = {t.device for t in (*model.parameters(), *model.buffers()) if not nn.parameter.is_lazy(t)}
        seen.append((placed, inputs.device))

    monkeypatch.setattr(api, "call_model", record)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(5))
    batch, _ = as_batch(torch.randn(4, 3, 8, 8))
    meta = torch.device("meta")
    api._materialised(net, batch.to(meta), 0, meta)
    assert seen == [({meta}, meta)], seen  # now [({cpu}, meta)]


# ---------------------------------------------------------------------------------------------------------- F2
@pytest.fixture
def cuda_like_cross_entropy(monkeypatch):
    """F.cross_entropy as the CUDA kernel behaves: no IndexError, a device-side assert (emulated)."""
    real = F.cross_entropy

    def cuda_like(output, target, *args, **kwargs):
        bad = target[target != -100]
        if bad.numel() and (int(bad.min()) < 0 or int(bad.max()) >= output.shape[1]):
            raise RuntimeError("CUDA error: device-side assert triggered")
        return real(output, target, *args, **kwargs)

    monkeypatch.setattr(F, "cross_entropy", cuda_like)


def test_cross_entropy_labels_are_bounds_checked_before_the_kernel(cuda_like_cross_entropy) -> None:
    """On CUDA, F.cross_entropy with a label >= the model's outputs is a device-side assert (asynchronous, and every
    later CUDA call of the process fails), not the CPU's IndexError "Target 3 is out of bounds" that
    api_failures.hint turns into the labels hint. swapnas.rank of models with different output sizes (labels up to
    4, one model with 3 outputs) gives the small model None and scores the others on the CPU; on a GPU the whole
    call dies with "CUDA error: device-side assert triggered" (hint's own CUDA calls re-raise it). Emulated here:
    cross_entropy behaves as the CUDA kernel does."""
    with pytest.raises((IndexError, ValueError), match="out of bounds|must be|run from"):
        output_loss(torch.randn(4, 3), torch.tensor([0, 1, 2, 4]))


# ---------------------------------------------------------------------------------------------------------- F3
@NO_CUDA
def test_run_train_checks_a_torch_device_as_it_checks_a_string(tmp_path) -> None:
    """run_train(device="cuda") is refused with the package's message, run_train(device=torch.device("cuda")) goes
    unchecked to RunRng and ends in torch's "AssertionError: Torch not compiled with CUDA enabled" (and
    torch.device("cuda:3") on a 1-GPU machine in an IndexError in RunRng.installed)."""
    from swapnas.train.run import run_train

    with pytest.raises(ValueError, match="CUDA is not available"):
        run_train(GENOTYPE, out=tmp_path / "a", synthetic=4, device=torch.device("cuda"), epochs=1, C=4, layers=2,
                  batch_size=2, max_steps=1, progress=False)


# ---------------------------------------------------------------------------------------------------------- F4
def test_evaluation_without_amp_builds_no_autocast_for_the_device(monkeypatch) -> None:
    """train/loop.py enters torch.autocast(device_type=device.type, enabled=use_amp) on every step and evaluation
    batch even with AMP off. torch 2.2-2.4 (the declared minimum is 2.2; Intel Macs stop at 2.2.2) raise
    "User specified an unsupported autocast device_type 'mps'" whatever `enabled` is, so `swapnas train --device
    mps` stops at its first batch. (torch 2.13 still raises so for device types autocast lacks, e.g. 'meta'.)"""
    from swapnas.train import loop

    def autocast_of_torch_2_2(device_type, dtype=None, enabled=True, cache_enabled=None):
        if device_type not in ("cpu", "cuda", "xpu", "hpu"):
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        return torch.autocast(device_type, dtype=dtype, enabled=enabled)

    x, y = torch.randn(4, 6), torch.tensor([0, 1, 2, 3])
    monkeypatch.setattr(loop, "_batches", lambda *a, **k: iter([(x, y)]))
    monkeypatch.setattr(loop.torch, "autocast", autocast_of_torch_2_2)
    data = types.SimpleNamespace(test=[0] * 4, num_classes=4)
    out = loop.evaluate(nn.Linear(6, 4), data, torch.device("mps"), batch_size=4, use_amp=False)
    assert out["test_n"] == 4


# ---------------------------------------------------------------------------------------------------------- F5
def test_empty_cache_after_a_failed_score_runs_once_the_failed_pass_is_let_go(monkeypatch) -> None:
    """_score_base calls torch.cuda.empty_cache() inside its `except` block, while the exception's traceback still
    holds the failed pass's frames (its activations, its graph) and the local `model`/`nets` hold the network: the
    call frees none of the failed arch's memory, which stays reserved in this process's cache. With several
    processes on one GPU (Ray's num_gpus_per_task=0.25, four tasks per GPU; --workers N --device cuda) the others
    then run out of memory too. The CUDA calls are faked so that the path runs on the CPU."""
    alive: dict[str, weakref.ref] = {}
    seen: list[dict[str, bool]] = []

    class NoPeak:
        peak_bytes = None

        def __init__(self, device):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def oom(model, batch):
        activations = torch.ones(1000)
        alive["activations"], alive["model"] = weakref.ref(activations), weakref.ref(model)
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(scoring, "PeakMemory", NoPeak)
    monkeypatch.setattr(scoring, "to_device", lambda model, device: model)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: seen.append({k: r() is not None for k, r in alive.items()}))
    batch, _ = as_batch((torch.randn(4, 3), torch.tensor([0, 1, 0, 1])))
    rec = _score_base(Proxy("oom", fn=oom), "a", lambda arch, num_classes: nn.Linear(3, num_classes), batch,
                      Protocol(space="sp", dataset="cifar10", batch_size=4, seed=0), torch.device("cuda"), None)
    assert rec.status == "failed" and "out of memory" in rec.error
    assert seen == [{"activations": False, "model": False}], seen


# ---------------------------------------------------------------------------------------------------------- F6
@pytest.mark.parametrize("device", ["mps", "cuda:1"])
def test_ray_executor_plan_does_not_silently_drop_the_device(device, caplog) -> None:
    """executor_plan with --executor ray: --device mps becomes num_gpus_per_task 0 and torch.device('cpu') (no word:
    RayExecutor.device_for warns only when it is handed a non-CPU device, and the plan already made it 'cpu');
    --device cuda:1 becomes 'cuda' (Ray picks the GPU), also without a word."""
    from swapnas.cli.executor_options import executor_plan

    args = argparse.Namespace(executor="ray", workers=None, prefetch=0, ray_gpus=None, device=device, address=None,
                              ray_cpus=None)
    if device == "mps":  # Ray's workers have no mps: refused
        with pytest.raises(ValueError, match="--device mps with --executor ray"):
            executor_plan(args)
        return
    with caplog.at_level(logging.WARNING):
        executor_plan(args)
    assert any(device in r.getMessage() for r in caplog.records), "the device asked for was dropped without a word"


# ---------------------------------------------------------------------------------------------------------- F7
def test_score_refuses_the_meta_device_as_a_device_argument() -> None:
    """swapnas.score(model, x, device="meta") is accepted by as_device (the CLI's --device refuses it) and then fails
    with "the model's weights are on the meta device … materialise them first, model.to_empty(device='cpu')",
    which blames the caller's (real) weights."""
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    with pytest.raises(ValueError, match="device='meta'"):
        swapnas.score(net, torch.randn(4, 3, 8, 8), "swap", device="meta")


def test_a_model_of_buffers_alone_is_scored_where_its_buffers_are() -> None:
    """score(model) with device=None took the first parameter's device, else cpu: a model whose only tensors are
    buffers (on a GPU) was scored on cpu."""
    from swapnas.module_tools import device_of

    class Buffers(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("scale", torch.ones(3, device="meta"))

    assert device_of(Buffers()) == torch.device("meta")
    assert device_of(nn.Sequential(Buffers(), nn.Linear(2, 2))) == torch.device("cpu")  # a parameter comes first
    assert device_of(nn.ReLU()) == torch.device("cpu")
