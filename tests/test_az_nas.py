"""Tests of the AZ-NAS parts and their log-rank assembly (swapnas.proxies.az_nas).

Golden values come from a naive re-implementation written differently (plain
forward hooks on ``stem`` and ``cells``, numpy covariance/eigenvalues/SVD,
explicit loops, ``.backward()`` with ``retain_grad`` instead of
``autograd.grad``, ``nn.PixelUnshuffle``), plus hand-checkable cases with
known spectra and Jacobians.
"""

from __future__ import annotations

import hashlib
import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from swapnas.data import Batch
from swapnas.proxies import get_proxy
from swapnas.proxies.az_nas import DEAD_PAIR, block_features, block_modules, log_rank_sum, spectral_entropy
from swapnas.spaces import darts, nb101, transnas_macro

from .test_proxies import tiny_batch, tiny_net, unlabelled

PARTS = ("az_nas_expressivity", "az_nas_progressivity", "az_nas_trainability", "az_nas_complexity")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(name: str, model: nn.Module, batch: Batch, **options) -> float:
    p = get_proxy(name)
    return p.fn(model, batch, **{**p.options, **options})


# ----------------------------------------------------------------------------- naive reference


def naive_maps(model: nn.Module, x: torch.Tensor, keep_graph: bool) -> list[torch.Tensor]:
    """stem output, then every entry of ``model.cells``: the authors' NB201 feature maps."""
    maps: list[torch.Tensor] = []

    def keep(mod: nn.Module, args: tuple, out: torch.Tensor) -> None:
        if keep_graph:
            out.retain_grad()
        maps.append(out)

    handles = [model.stem.register_forward_hook(keep)] + [c.register_forward_hook(keep) for c in model.cells]
    try:
        if keep_graph:
            model(x)
        else:
            with torch.no_grad():
                model(x)
    finally:
        for h in handles:
            h.remove()
    return maps


def naive_entropy(fmap: np.ndarray) -> float:
    s, c, h, w = fmap.shape
    rows = np.zeros((s * h * w, c))
    k = 0
    for i in range(s):
        for y in range(h):
            for x in range(w):
                rows[k] = fmap[i, :, y, x]
                k += 1
    lam = np.clip(np.linalg.eigvalsh(np.cov(rows, rowvar=False, bias=True)), 0.0, None)
    if lam.sum() == 0:
        return 0.0
    total = 0.0
    for v in lam / lam.sum():
        if v > 0:
            total -= v * math.log(v)
    return total


def naive_probes(x: torch.Tensor, shapes: list[torch.Size], seed: int = 0) -> list[torch.Tensor]:
    """The documented recipe: SHA-256 of (seed, shape, dtype, float64 input bytes) seeds a CPU generator."""
    digest = hashlib.sha256(f"az_nas|{seed}|{tuple(x.shape)}|{x.dtype}".encode()
                            + x.double().numpy().tobytes()).digest()
    g = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))
    return [(torch.randint(0, 2, tuple(s), generator=g, dtype=torch.float64) * 2 - 1).float() for s in shapes]


def naive_trainability(model: nn.Module, x: torch.Tensor) -> float:
    maps = naive_maps(model, x.clone().requires_grad_(True), keep_graph=True)
    probes = naive_probes(x, [m.shape for m in maps[1:]])
    scores = []
    for f_in, f_out, g_out in zip(maps, maps[1:], probes):
        model.zero_grad()
        f_in.grad = None
        f_out.backward(g_out, retain_graph=True)
        g_in = f_in.grad
        if g_in.shape == g_out.shape and bool((g_in == g_out).all()):
            scores.append(2 - 1e6)
            continue
        if g_in.shape[2] != g_out.shape[2]:
            g_in = nn.PixelUnshuffle(g_in.shape[2] // g_out.shape[2])(g_in)
        a = g_in.numpy().astype(np.float64).transpose(0, 2, 3, 1).reshape(-1, g_in.shape[1])
        b = g_out.numpy().astype(np.float64).transpose(0, 2, 3, 1).reshape(-1, g_out.shape[1])
        mat = np.einsum("pi,pj->ij", a, b) / len(a)
        sigma = np.linalg.svd(mat, compute_uv=False).max()
        scores.append(-sigma - 1 / (sigma + 1e-6) + 2)
    return float(np.mean(scores))


# ----------------------------------------------------------------------------- golden values


def test_expressivity_and_progressivity_golden() -> None:
    batch = tiny_batch()
    maps = naive_maps(tiny_net(), batch.inputs, keep_graph=False)
    assert len(maps) == 6  # stem + (cell, reduction block, cell, reduction block, cell)
    e = [naive_entropy(m.numpy().astype(np.float64)) for m in maps]
    assert run("az_nas_expressivity", tiny_net(), batch) == pytest.approx(sum(e), rel=1e-9)
    steps = [e[i + 1] - e[i] for i in range(len(e) - 1)]
    assert run("az_nas_progressivity", tiny_net(), batch) == pytest.approx(min(steps), rel=1e-7, abs=1e-9)


def test_trainability_golden() -> None:
    batch = tiny_batch()
    expected = naive_trainability(tiny_net(), batch.inputs)
    assert run("az_nas_trainability", tiny_net(), batch) == pytest.approx(expected, rel=1e-5)


def test_complexity_is_flops() -> None:
    batch = tiny_batch()
    assert run("az_nas_complexity", tiny_net(), batch) == get_proxy("flops").fn(tiny_net(), batch)


def test_trainability_probes_are_local_and_seeded() -> None:
    batch, model = tiny_batch(), tiny_net()  # tiny_net seeds the global RNG: build it before reading the state
    state = torch.get_rng_state()
    a = run("az_nas_trainability", model, batch)
    assert torch.equal(state, torch.get_rng_state())  # the global RNG is not used
    model = tiny_net()
    torch.manual_seed(12345)
    assert run("az_nas_trainability", model, batch) == a
    assert run("az_nas_trainability", tiny_net(), batch, seed=1) != a


# ----------------------------------------------------------------------------- hand-checkable cases


def test_spectral_entropy_known_spectra() -> None:
    # one sample on a 2×2 map: channel 0 = ±2, channel 1 = ±1 in orthogonal patterns -> covariance diag(4, 1)
    f = torch.tensor([[[[2.0, 2.0], [-2.0, -2.0]], [[1.0, -1.0], [1.0, -1.0]]]])
    assert spectral_entropy(f) == pytest.approx(-(0.8 * math.log(0.8) + 0.2 * math.log(0.2)), rel=1e-12)
    # four channels with equal variance, uncorrelated: uniform spectrum -> log 4
    eye = torch.eye(4).reshape(1, 4, 2, 2) - 0.25
    eye = eye * torch.tensor([1.0, -1.0, 1.0, -1.0]).reshape(1, 1, 2, 2)  # decorrelate the centred channels
    cov = np.cov(eye.numpy().transpose(0, 2, 3, 1).reshape(-1, 4), rowvar=False, bias=True)
    lam = np.linalg.eigvalsh(cov)
    p = lam[lam > 1e-12] / lam.sum()
    assert spectral_entropy(eye) == pytest.approx(float(-(p * np.log(p)).sum()), rel=1e-9)
    assert spectral_entropy(torch.randn(2, 5, 3, 3) * 0 + 7.0) == 0.0  # constant map: zero covariance
    assert spectral_entropy(torch.ones(3, 1, 4, 4).cumsum(2)) == 0.0  # one channel: a single eigenvalue
    with pytest.raises(ValueError, match="NaN or inf"):
        spectral_entropy(torch.full((1, 2, 2, 2), float("nan")))


class _Scale(nn.Module):
    """A 1×1 channel map y = W x (no bias)."""

    def __init__(self, w: list[list[float]]):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("oc,schw->sohw", self.w, x)


class _Toy(nn.Module):
    def __init__(self, *blocks: nn.Module):
        super().__init__()
        self.cells = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cells(x)


def test_expressivity_progressivity_by_hand() -> None:
    x = torch.tensor([[[[2.0, 2.0], [-2.0, -2.0]], [[1.0, -1.0], [1.0, -1.0]]]])  # covariance diag(4, 1)
    # block 1 scales channel 1 by 2: diag(4, 4), entropy log 2; block 2 drops channel 1: entropy 0
    model = _Toy(_Scale([[1.0, 0.0], [0.0, 2.0]]), _Scale([[1.0, 0.0], [0.0, 0.0]]))
    h0 = -(0.8 * math.log(0.8) + 0.2 * math.log(0.2))
    assert run("az_nas_expressivity", model, unlabelled(x)) == pytest.approx(h0 + math.log(2), rel=1e-12)
    assert run("az_nas_progressivity", model, unlabelled(x)) == pytest.approx(-math.log(2), rel=1e-12)


def test_trainability_by_hand() -> None:
    # one channel: M = w · mean(g_out²) = w exactly, so σ = |w|
    x = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    model = _Toy(_Scale([[2.0]]), _Scale([[-0.5]]))
    expected = np.mean([-2 - 1 / (2 + 1e-6) + 2, -0.5 - 1 / (0.5 + 1e-6) + 2])
    assert run("az_nas_trainability", model, unlabelled(x)) == pytest.approx(expected, rel=1e-12)
    # an identity block scores like a dead (zero-Jacobian) one: 2 − 1/ε
    identity = _Toy(_Scale([[2.0]]), _Scale([[1.0]]))
    expected = np.mean([-2 - 1 / (2 + 1e-6) + 2, DEAD_PAIR])
    assert run("az_nas_trainability", identity, unlabelled(x)) == pytest.approx(expected, rel=1e-12)
    dead = _Toy(_Scale([[2.0]]), _Scale([[0.0]]))
    assert run("az_nas_trainability", dead, unlabelled(x)) == pytest.approx(expected, rel=1e-9)


def test_trainability_stride_two_block_by_hand() -> None:
    # 2×2 average pooling with a 1×1 weight w, one channel: g_in = w/4 · g_out upsampled, so after
    # space-to-depth M = (w/4, w/4, w/4, w/4)ᵀ exactly and σ = |w|/2
    class Pool(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 3.0 * nn.functional.avg_pool2d(x, 2)

    x = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    assert run("az_nas_trainability", _Toy(Pool()), unlabelled(x)) == pytest.approx(-1.5 - 1 / (1.5 + 1e-6) + 2)


# ----------------------------------------------------------------------------- assembly over the set


def test_log_rank_sum_by_hand() -> None:
    p = get_proxy("az_nas")
    assert p.parts == PARTS and p.higher_is_better
    assert all(get_proxy(n).higher_is_better for n in PARTS)
    a = np.array([1.0, 2.0, 3.0])  # ranks 1, 2, 3
    b = np.array([5.0, 5.0, 1.0])  # ranks 2.5, 2.5, 1 (tie averaged)
    expected = [math.log(1 / 3) + math.log(2.5 / 3), math.log(2 / 3) + math.log(2.5 / 3),
                math.log(3 / 3) + math.log(1 / 3)]
    assert p.combine([a, b]) == pytest.approx(expected, rel=1e-12)
    assert log_rank_sum([a]) == pytest.approx(np.log([1 / 3, 2 / 3, 1.0]))
    with pytest.raises(ValueError, match="differ in length"):
        log_rank_sum([a, b[:2]])
    with pytest.raises(TypeError, match="set-level"):
        p.fn(tiny_net(), tiny_batch())


def test_part_metadata() -> None:
    assert get_proxy("az_nas_trainability").needs_grad
    assert not any(get_proxy(n).needs_grad for n in PARTS if n != "az_nas_trainability")
    assert not any(get_proxy(n).needs_labels for n in PARTS)


# ----------------------------------------------------------------------------- the block rule


def test_block_rule_on_the_spaces() -> None:
    net = tiny_net()
    assert block_modules(net) == list(net.cells)
    maps = block_features(net, tiny_batch().inputs)
    with torch.no_grad():
        stem = net.stem(tiny_batch().inputs)
    assert torch.equal(maps[0], stem) and len(maps) == 1 + len(net.cells)
    with torch.device("meta"):
        n101 = nb101.build("nb101:011.001.000|I3O", C=16, cells=1)
        assert block_modules(n101) == [c for c in n101.cells if isinstance(c, nb101.Cell)]  # max-pools dropped
        assert len(block_modules(n101)) == 3
        d = darts.build(darts.sample(random.Random(0)), C=8, layers=5)
        assert block_modules(d) == list(d.cells)
        ae = transnas_macro.build("64-1234-basic", task="autoencoder", C=16)
        assert block_modules(ae) == list(ae.encoder.layers)  # the encoder's modules, not the decoder's layers
        assert block_modules(ae, "head") == list(ae.head)


def test_fallback_rule_uses_shallowest_containers() -> None:
    class Staged(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.layer1 = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
            self.layer2 = nn.Sequential(nn.Conv2d(4, 8, 3, stride=2, padding=1))

        def forward(self, x):
            return self.layer2(self.layer1(self.conv(x)))

    m = Staged()
    assert block_modules(m) == [m.layer1[0], m.layer2[0]]  # ReLU is not a block
    assert [tuple(f.shape[1:]) for f in block_features(m, torch.randn(2, 3, 8, 8))] == [(4, 8, 8), (4, 8, 8),
                                                                                      (8, 4, 4)]


# ----------------------------------------------------------------------------- failures raise


def test_model_without_blocks_raises() -> None:
    class Flat(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.fc = nn.Linear(4, 10)

        def forward(self, x):
            return self.fc(self.conv(x).mean((2, 3)))

    class OnlyActivations(nn.Module):
        def __init__(self):
            super().__init__()
            self.act, self.pool = nn.ReLU(), nn.AdaptiveAvgPool2d(1)

        def forward(self, x):
            return self.pool(self.act(x)).flatten(1)

    for name in PARTS[:3]:
        assert math.isfinite(run(name, Flat(), tiny_batch()))  # session 52: a flat model's own children are blocks
        with pytest.raises(ValueError, match="no hookable blocks"):
            run(name, OnlyActivations(), tiny_batch())
    with pytest.raises(ValueError, match="no submodule 'nope'"):
        run("az_nas_expressivity", tiny_net(), tiny_batch(), blocks="nope")
    with pytest.raises(ValueError, match="not an nn.Sequential"):
        run("az_nas_expressivity", tiny_net(), tiny_batch(), blocks="classifier")


def test_too_few_maps_raise() -> None:
    mlp = _Toy(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))  # only a 2-D block output
    with pytest.raises(ValueError, match="no 4-D"):
        run("az_nas_expressivity", mlp, tiny_batch())

    class ToMap(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.reshape(x.shape[0], 1, 2, 2)

    single = _Toy(ToMap())  # its input is 2-D, so its output is the only map
    assert run("az_nas_expressivity", single, unlabelled(torch.randn(2, 4))) == 0.0
    for name in ("az_nas_progressivity", "az_nas_trainability"):
        with pytest.raises(ValueError, match="at least two"):
            run(name, single, unlabelled(torch.randn(2, 4)))
