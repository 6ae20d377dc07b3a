"""Tests of VKDNW (Týbl & Neumann, CVPR 2025): ``vkdnw``, ``vkdnw_layers``, ``vkdnw_single``, ``vkdnw_agg``.

1. Golden values: the proxy against a deliberately naive implementation (one
   single-sample forward and ``.backward()`` per sample and class, ``.grad`` read
   off, the Fisher, eigenvalues, deciles and entropy in numpy) on the tiny NB201 net.
2. A hand-checkable case: a linear classifier with zero weights, whose Fisher over
   (W[0, 0], b[0]) is c·[[E x0², E x0], [E x0, 1]] with c = p̃0(1 − p̃0).
3. The rankings on small hand examples; 4. errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from swapnas.data import Batch
from swapnas.proxies import get_proxy
from swapnas.proxies.vkdnw import AGG_PARTS, agg_rank, first_entry_jacobian, fisher_matrix, single_rank
from swapnas.scoring import gaussian_init
from swapnas.spaces import nb201

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|"
DECILES = [k / 10 for k in range(1, 10)]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_net(dtype: torch.dtype = torch.float32) -> nn.Module:
    """The NB201 net of tests/test_proxies.py (C=8, N=1, N(0, 1) init, train mode)."""
    torch.manual_seed(0)
    model = nb201.build(ARCH, C=8, N=1, num_classes=10)
    gaussian_init(model, torch.Generator().manual_seed(0))
    return model.train().to(dtype)


def tiny_batch(dtype: torch.dtype = torch.float32, n: int = 8) -> Batch:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 3, 32, 32, generator=g).to(dtype)
    y = torch.randint(0, 10, (n,), generator=g)
    return Batch(x, y, 10, "cifar10", "test noise", 0)


def vkdnw(model: nn.Module, batch: Batch, **options) -> float:
    p = get_proxy("vkdnw")
    return p.fn(model, batch, **{**p.options, **options})


# ----------------------------------------------------------------------------- 1. golden


def naive_vkdnw(model: nn.Module, x: torch.Tensor, tensors: int = 128, smoothing: float = 0.05) -> float:
    model.eval()
    chosen = [p for p in model.parameters() if p.requires_grad][:tensors]
    with torch.no_grad():
        logits = model(x).double().numpy()
    s, k_out = logits.shape
    jac = np.zeros((s, k_out, len(chosen)))
    for n in range(s):
        for k in range(k_out):
            model.zero_grad()
            model(x[n:n + 1])[0, k].backward()
            for t, p in enumerate(chosen):
                jac[n, k, t] = 0.0 if p.grad is None else float(p.grad.reshape(-1)[0])
    model.zero_grad(set_to_none=True)
    fisher = np.zeros((len(chosen), len(chosen)))
    for n in range(s):
        e = np.exp(logits[n] - logits[n].max())
        prob = (1 - smoothing) * e / e.sum() + smoothing / k_out
        fisher += jac[n].T @ (np.diag(prob) - np.outer(prob, prob)) @ jac[n]
    lam = np.abs(np.linalg.eigvalsh(fisher / s))
    q = np.quantile(lam, DECILES)
    w = q / (q.sum() + 1e-10)
    return float(-np.sum(w * np.log(w + 1e-10)))


@pytest.mark.parametrize("tensors", [128, 10])
def test_golden_float64(tensors: int) -> None:
    batch = tiny_batch(torch.float64)
    value = vkdnw(tiny_net(torch.float64), batch, inputs="data", tensors=tensors)
    assert value == pytest.approx(naive_vkdnw(tiny_net(torch.float64), batch.inputs, tensors), rel=1e-9)


def test_golden_default_options_random_inputs() -> None:
    """Default options: N(0, 1) inputs of the batch's shape from a generator seeded with ``seed``."""
    x = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    value = vkdnw(tiny_net(), tiny_batch())
    assert value == pytest.approx(naive_vkdnw(tiny_net(), x), rel=1e-5)
    assert vkdnw(tiny_net(), tiny_batch(), seed=1) != pytest.approx(value, rel=1e-3)


def test_modes_restored_and_running_stats_untouched() -> None:
    model = tiny_net()
    model.cells[1].eval()  # a mixed state must come back as it was
    modes = {name: m.training for name, m in model.named_modules()}
    stats = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    vkdnw(model, tiny_batch())
    assert {name: m.training for name, m in model.named_modules()} == modes
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in stats.items())
    assert all(p.grad is None for p in model.parameters())


def test_layers_hand_count() -> None:
    # stem conv + BN γ/β (3); 3 conv edges × 3 cells × (conv, γ, β) (27); 2 residual blocks × 7;
    # head BN γ/β and linear weight/bias (4)
    assert get_proxy("vkdnw_layers").fn(tiny_net(), tiny_batch()) == 3 + 27 + 14 + 2 + 2 == 48
    full = nb201.build("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                       "nor_conv_3x3~2|", C=4, N=5, num_classes=10)
    assert get_proxy("vkdnw_layers").fn(full, tiny_batch()) == 21 + 45 * 6


# ----------------------------------------------------------------------------- 2. closed form


def _linear(bias0: float) -> nn.Module:
    model = nn.Linear(3, 4).double()
    with torch.no_grad():
        model.weight.zero_()
        model.bias.copy_(torch.tensor([bias0, 0.0, 0.0, 0.0]))
    return model


def _linear_batch(loss: str = "ce") -> Batch:
    x = torch.tensor([[2.0, 5.0, -1.0], [0.0, -3.0, 7.0]], dtype=torch.float64)  # x0 ∈ {2, 0}
    targets = torch.zeros(2, dtype=torch.int64) if loss == "ce" else torch.zeros(2, 4, dtype=torch.float64)
    return Batch(x, targets, 4, "t", "t", 0, loss=loss)


def _entropy_of_two_eigenvalues(a: float, b: float) -> float:
    """Deciles of {a, b} interpolate linearly: q_k = a + (k/10)(b − a); their sum is 4.5 (a + b)."""
    total = 4.5 * (a + b)
    return -sum((a + k / 10 * (b - a)) / total * math.log((a + k / 10 * (b - a)) / total) for k in range(1, 10))


@pytest.mark.parametrize("bias0", [0.0, math.log(3.0)])
def test_linear_classifier_closed_form(bias0: float) -> None:
    """z = Wx + b with W = 0: ∂z_k/∂W00 = [k=0]·x0 and ∂z_k/∂b0 = [k=0], so F = p̃0(1−p̃0)·M,
    M = mean over samples of [[x0², x0], [x0, 1]] = [[2, 1], [1, 1]], eigenvalues (3 ∓ √5)/2."""
    model, batch = _linear(bias0), _linear_batch()
    p0 = 0.25 if bias0 == 0.0 else 0.5  # softmax of (log 3, 0, 0, 0) = (1/2, 1/6, 1/6, 1/6)
    p0 = 0.95 * p0 + 0.05 / 4  # smoothing 0.05
    jac, out = first_entry_jacobian(model, batch.inputs, [model.weight, model.bias])
    fisher = fisher_matrix(jac, out, "ce", 0.05)
    moments = torch.tensor([[2.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(fisher, p0 * (1 - p0) * moments)
    expected = _entropy_of_two_eigenvalues((3 - math.sqrt(5)) / 2, (3 + math.sqrt(5)) / 2)
    assert vkdnw(model, batch, inputs="data", tensors=2) == pytest.approx(expected, rel=1e-9)
    # regression outputs: F = M itself (unit-scale Gaussian); the entropy does not see the scale
    assert vkdnw(model, _linear_batch("mse"), inputs="data", tensors=2) == pytest.approx(expected, rel=1e-9)
    assert vkdnw(model, _linear_batch("l1"), inputs="data", tensors=2) == pytest.approx(expected, rel=1e-9)


def test_equal_eigenvalues_give_log9_and_zero_fisher_gives_zero() -> None:
    model = _linear(0.0)
    x = torch.tensor([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]], dtype=torch.float64)  # M = I
    batch = Batch(x, torch.zeros(2, dtype=torch.int64), 4, "t", "t", 0)
    assert vkdnw(model, batch, inputs="data", tensors=2) == pytest.approx(math.log(9), rel=1e-8)
    zero = Batch(torch.zeros(2, 3, dtype=torch.float64), batch.targets, 4, "t", "t", 0)
    assert vkdnw(model, zero, inputs="data", tensors=1) == 0.0  # ∂z/∂W00 = x0 = 0: F = 0


# ----------------------------------------------------------------------------- 3. rankings


def test_single_rank_is_lexicographic_dense() -> None:
    p = get_proxy("vkdnw_single")
    assert p.parts == ("vkdnw_layers", "vkdnw") and p.higher_is_better
    layers, values = np.array([66.0, 21.0, 66.0, 111.0]), np.array([1.0, 2.0, 1.5, 0.5])
    assert single_rank([layers, values]).tolist() == [2.0, 1.0, 3.0, 4.0]  # ℵ first, VKDNW breaks ties
    tied = [np.array([66.0, 66.0, 21.0, 66.0]), np.array([1.0, 1.0, 2.0, 0.5])]
    assert p.combine(tied).tolist() == [3.0, 3.0, 1.0, 2.0]  # dense: equal pairs share, no gap


def test_agg_rank_hand_example() -> None:
    p = get_proxy("vkdnw_agg")
    assert p.parts == AGG_PARTS == ("vkdnw_layers", "vkdnw", "flops", "jacob_cov", "az_nas_expressivity",
                                    "az_nas_trainability")
    assert all(get_proxy(n).higher_is_better for n in AGG_PARTS) and p.higher_is_better
    parts = [np.array([66.0, 21.0, 66.0, 111.0]), np.array([1.0, 2.0, 1.5, 0.5]),  # single ranks 2, 1, 3, 4
             np.array([10.0, 30.0, 20.0, 20.0]),  # FLOPs ranks 1, 4, 2.5, 2.5
             np.array([-5.0, -1.0, -3.0, -2.0]),  # Jacov ranks 1, 4, 2, 3
             np.array([0.1, 0.2, 0.3, 0.4]),  # expressivity ranks 1, 2, 3, 4
             np.array([4.0, 3.0, 2.0, 1.0])]  # trainability ranks 4, 3, 2, 1
    # Σ log(r/4) = log(Π r / 4⁵): 2·1·1·1·4, 1·4·4·2·3, 3·2.5·2·3·2, 4·2.5·3·4·1
    expected = np.log(np.array([8.0, 96.0, 90.0, 120.0]) / 4**5)
    np.testing.assert_allclose(p.combine(parts), expected, rtol=1e-12)
    np.testing.assert_allclose(agg_rank(parts[:3]), np.log(np.array([2.0, 4.0, 7.5, 10.0]) / 4**2), rtol=1e-12)
    with pytest.raises(TypeError, match="set-level"):
        p.fn(tiny_net(), tiny_batch())


# ----------------------------------------------------------------------------- 4. errors


@pytest.mark.parametrize("options, match", [
    ({"tensors": 0}, "tensors"), ({"tensors": 2.5}, "tensors"), ({"smoothing": 1.0}, "smoothing"),
    ({"inputs": "noise"}, "inputs"),
])
def test_bad_options(options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        vkdnw(_linear(0.0), _linear_batch(), **options)


def test_dense_outputs_and_unknown_loss_raise() -> None:
    dense = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 5, 1))
    with pytest.raises(ValueError, match=r"\(S, outputs\)"):
        vkdnw(dense, tiny_batch(n=2))
    b = _linear_batch()
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        vkdnw(_linear(0.0), Batch(b.inputs, b.targets, 4, "t", "t", 0, loss="hinge"), inputs="data")


def test_no_trainable_parameters_raise() -> None:
    model = _linear(0.0).requires_grad_(False)
    for name in ("vkdnw", "vkdnw_layers"):
        with pytest.raises(ValueError, match="no trainable parameters"):
            get_proxy(name).fn(model, _linear_batch(), **get_proxy(name).options)


def test_overflow_raises() -> None:
    model = nn.Linear(3, 4)
    with torch.no_grad():
        model.weight.fill_(3e38)
    batch = Batch(torch.ones(2, 3), torch.zeros(2, dtype=torch.int64), 4, "t", "t", 0)
    with pytest.raises(ValueError, match="not finite"):
        vkdnw(model, batch, inputs="data")


class _Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 4)

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return self.lin(x) * scale


class _CallsWithKeyword(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = _Scaled()
        self.inner.register_parameter("gain", nn.Parameter(torch.ones(4)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x, scale=2.0) * self.inner.gain


def test_module_called_with_keywords_raises() -> None:
    model = _CallsWithKeyword()  # named_parameters: inner.gain first, owned by the kwarg-called module
    with pytest.raises(ValueError, match="did not reproduce"):
        vkdnw(model, Batch(torch.randn(2, 3), torch.zeros(2, dtype=torch.int64), 4, "t", "t", 0), inputs="data")


def test_combine_errors() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        single_rank([np.array([1.0, 2.0]), np.array([1.0])])
    with pytest.raises(ValueError, match="non-finite"):
        agg_rank([np.array([1.0, 2.0]), np.array([np.nan, 1.0])])
    with pytest.raises(ValueError, match="2 to 6 parts"):
        agg_rank([np.array([1.0, 2.0])])
