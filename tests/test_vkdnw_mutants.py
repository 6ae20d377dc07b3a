"""Tests written against the survivors of session 35's mutation run of ``swapnas.proxies.vkdnw``
(docs/reliability.md, "Session 35"): the per-sample Jacobian of a module called twice against a
naive one, outputs that carry no gradient, module outputs of every rank, the tolerance of the
reproduction check, the Fisher's defaults and its regression form, the deciles of a tiny
spectrum, the rankings' secondary key and sizes, and every error message in full.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from swapnas.proxies import get_proxy
from swapnas.proxies.vkdnw import (
    _oriented,
    agg_rank,
    decile_entropy,
    first_entry_jacobian,
    fisher_matrix,
    single_rank,
    vkdnw_layers,
)
from swapnas.proxies.vkdnw import vkdnw as vkdnw_fn

from .message_tools import exact
from .test_proxies import unlabelled

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def vkdnw(model: nn.Module, x: torch.Tensor, **options) -> float:
    p = get_proxy("vkdnw")
    return p.fn(model, unlabelled(x, 4), **{**p.options, "inputs": "data", **options})


# ----------------------------------------------------------------------------- the Jacobian


class Twice(nn.Module):
    """One Linear applied twice (its parameters get a contribution from each call), then a head."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.head = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.fc(torch.tanh(self.fc(x)))))


def test_a_module_called_twice_sums_both_calls_like_a_naive_jacobian() -> None:
    torch.manual_seed(0)
    model = Twice().double()
    x = torch.randn(3, 3, dtype=torch.float64)
    params = list(model.parameters())
    jac, out = first_entry_jacobian(model, x, params)
    naive = torch.zeros(3, 2, len(params), dtype=torch.float64)
    for n in range(3):
        for k in range(2):
            grads = torch.autograd.grad(model(x[n:n + 1])[0, k], params)
            naive[n, k] = torch.stack([g.reshape(-1)[0] for g in grads])
    assert torch.allclose(jac, naive, rtol=1e-12, atol=1e-14) and naive[:, :, 0].abs().min() > 0
    assert torch.equal(out, model(x).detach())


def test_outputs_without_a_gradient_give_a_zero_fisher() -> None:
    class Detached(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x).detach()

    model = Detached()
    jac, _ = first_entry_jacobian(model, torch.randn(2, 3), list(model.parameters()))
    assert jac.shape == (2, 4, 2) and not jac.any()
    assert vkdnw(model, torch.randn(2, 3)) == 0.0


class Summed(nn.Module):
    """A chosen tensor whose module returns one value per sample: a 1-D, batched output."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([0.5, -1.0, 2.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.w).sum(dim=1)


class TwoScores(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = Summed(), Summed()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.a(x), self.b(x) ** 2], dim=1)


def test_a_one_dimensional_batched_module_output_is_differentiated() -> None:
    model = TwoScores().double()
    x = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]], dtype=torch.float64)
    jac, _ = first_entry_jacobian(model, x, list(model.parameters()))
    b = (x * model.b.w.detach()).sum(dim=1)  # out = (a·x, (b·x)²): ∂/∂a₀ = (x₀, 0), ∂/∂b₀ = (0, 2(b·x)x₀)
    expected = torch.stack([torch.stack([x[:, 0], torch.zeros(2, dtype=torch.float64)], 1),
                            torch.stack([torch.zeros(2, dtype=torch.float64), 2 * b * x[:, 0]], 1)], dim=2)
    assert torch.allclose(jac, expected, rtol=1e-12)


class Owner(nn.Module):
    """Holds the chosen tensor; what its forward returns is given."""

    def __init__(self, returns: Callable[[torch.Tensor, torch.Tensor], object]) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(4))
        self.returns = returns

    def forward(self, x: torch.Tensor) -> object:
        return self.returns(x, self.w)


class Wrap(nn.Module):
    def __init__(self, returns: Callable[[torch.Tensor, torch.Tensor], object]) -> None:
        super().__init__()
        self.owner = Owner(returns)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.owner(x)
        return x * (out[0] if isinstance(out, tuple) else out).sum()


class Outputs(nn.Module):
    """A Linear layer, its output passed through the given function."""

    def __init__(self, then: Callable[[torch.Tensor], object]) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.then = then

    def forward(self, x: torch.Tensor) -> object:
        return self.then(self.fc(x))


def test_module_output_messages_in_full() -> None:
    x = torch.ones(2, 4)
    not_tensor = "vkdnw: Owner holds a chosen parameter but returns tuple, not a tensor"
    with pytest.raises(ValueError, match=exact(not_tensor)):
        vkdnw(Wrap(lambda x, w: (x * w,)), x)
    for returns, shape in ((lambda x, w: w * 2.0, "(4,)"), (lambda x, w: (x * w).sum(), "()")):
        with pytest.raises(ValueError, match=exact(f"vkdnw: Owner holds a chosen parameter but its output {shape} is "
                                                   "not batched like the inputs (2 samples)")):
            vkdnw(Wrap(returns), x)
    with pytest.raises(ValueError, match=exact("vkdnw needs (S, outputs) model outputs (logits of a classifier); "
                                               "got tuple")):
        vkdnw(Outputs(lambda y: (y,)), x)
    with pytest.raises(ValueError, match=exact("vkdnw needs (S, outputs) model outputs (logits of a classifier); "
                                               "got (2, 1, 2, 2)")):
        vkdnw(Outputs(lambda y: y.reshape(2, 1, 2, 2)), x)


class Drift(nn.Module):
    """Returns x·w on the recorded call and x·w + drift(x·w) on every later (re-computing) call."""

    def __init__(self, drift: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(2))
        self.drift = drift
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        out = x * self.w
        return out if self.calls == 1 else out + self.drift(out)


def test_the_reproduction_check_tolerates_rounding_and_no_more() -> None:
    rel = Drift(lambda o: o.detach() * 5e-5)  # within rtol 1e-4
    assert math.isfinite(vkdnw(rel, torch.tensor([[1.0, 2.0], [3.0, 4.0]])))
    small = torch.tensor([[0.0, 1e-4], [0.0, 0.0]])  # within 1e-6 × the first sample's largest |value| (1000)
    assert math.isfinite(vkdnw(Drift(lambda o: small), torch.tensor([[1000.0, 0.0], [1.0, 1.0]])))
    big = torch.tensor([[0.0, 1e-3], [0.0, 0.0]])  # the second sample's 1e6 does not widen the first one's tolerance
    with pytest.raises(ValueError, match=exact("vkdnw: Drift did not reproduce its output from its positional inputs "
                                               "(called with keyword arguments, or stateful?)")):
        vkdnw(Drift(lambda o: big), torch.tensor([[1.0, 0.0], [1e6, 1e6]]))


# ----------------------------------------------------------------------------- the Fisher and its entropy


def test_fisher_defaults_and_the_regression_form() -> None:
    g = torch.Generator().manual_seed(0)
    jac, out = torch.randn(5, 3, 4, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g)
    assert torch.equal(fisher_matrix(jac, out), fisher_matrix(jac, out, "ce", 0.05))
    naive = sum(jac[n].T @ jac[n] for n in range(5)) / 5
    for loss in ("mse", "l1"):
        assert torch.allclose(fisher_matrix(jac, out, loss), naive, rtol=1e-12)
    with pytest.raises(ValueError, match=exact("vkdnw: unknown loss 'hinge'; Batch.loss must be 'ce', 'mse' or 'l1'")):
        fisher_matrix(jac, out, "hinge")


def test_decile_entropy_of_a_spectrum_near_its_epsilon() -> None:
    w = 1e-11 / (9e-11 + 1e-10)  # nine equal deciles of 1e-11 over their sum + 1e-10
    expected = -9 * w * math.log(w + 1e-10)
    assert decile_entropy(torch.full((20,), 1e-11, dtype=torch.float64)) == pytest.approx(expected, rel=1e-12)


def test_no_smoothing_is_allowed() -> None:
    torch.manual_seed(0)
    assert math.isfinite(vkdnw(nn.Linear(3, 4), torch.randn(3, 3), smoothing=0.0))


# ----------------------------------------------------------------------------- the rankings


def test_agg_breaks_ties_of_layers_by_vkdnw_not_by_the_next_part() -> None:
    layers, values, flops = np.array([5.0, 5.0, 5.0]), np.array([1.0, 2.0, 3.0]), np.array([30.0, 20.0, 10.0])
    # single ranks 1, 2, 3; FLOPs ranks 3, 2, 1: Σ log(r/3) = log(r_single · r_flops / 9)
    np.testing.assert_allclose(agg_rank([layers, values, flops]), np.log(np.array([3.0, 4.0, 3.0]) / 9), rtol=1e-12)


def test_agg_of_one_and_of_no_candidate() -> None:
    assert agg_rank([np.array([5.0]), np.array([1.0])]).tolist() == [0.0]
    empty = agg_rank([np.array([]), np.array([])])
    assert empty.shape == (0,)


def test_orientation_follows_the_part() -> None:
    assert _oriented("te_nas_ntk", np.array([1.0, -2.0])).tolist() == [-1.0, 2.0]  # lower is better
    assert _oriented("flops", np.array([1.0, -2.0])).tolist() == [1.0, -2.0]


def test_ranking_messages_in_full() -> None:
    with pytest.raises(ValueError, match=exact("vkdnw_single combines 2 parts ('vkdnw_layers', 'vkdnw'), got 3 "
                                               "arrays")):
        single_rank([np.zeros(2)] * 3)
    with pytest.raises(ValueError, match=exact("vkdnw_single: the parts ('vkdnw_layers', 'vkdnw') have different "
                                               "lengths [2, 1]")):
        single_rank([np.zeros(2), np.zeros(1)])
    with pytest.raises(ValueError, match=exact("vkdnw_agg: part 'flops' has non-finite values")):
        agg_rank([np.zeros(2), np.zeros(2), np.array([1.0, None])])


# ----------------------------------------------------------------------------- session 37's run: the registered bodies


class Heads(nn.Module):
    """65 Linear(1, 3) heads side by side, one per input feature, summed: 130 trainable tensors in one layer."""

    def __init__(self) -> None:
        super().__init__()
        self.heads = nn.ModuleList(nn.Linear(1, 3) for _ in range(65))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([h(x[:, i:i + 1]) for i, h in enumerate(self.heads)]).sum(0)


def test_a_direct_call_defaults_to_128_tensors_smoothing_005_and_random_inputs_of_seed_0() -> None:
    torch.manual_seed(0)
    model, batch = Heads(), unlabelled(torch.randn(64, 65))
    default = vkdnw_fn(model, batch)
    assert default == vkdnw_fn(model, batch, tensors=128, smoothing=0.05, inputs="random", seed=0)
    for other in ({"tensors": 129}, {"smoothing": 0.2}, {"inputs": "data"}, {"seed": 1}):
        assert vkdnw_fn(model, batch, **other) != default, other


def test_random_inputs_are_drawn_in_the_batchs_dtype_from_the_seed() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4)).double()
    batch = unlabelled(torch.zeros(8, 3, dtype=torch.float64))
    drawn = torch.randn(8, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert vkdnw_fn(model, batch, seed=2) == vkdnw_fn(model, unlabelled(drawn), inputs="data")


def test_registered_body_messages_in_full() -> None:
    frozen = nn.Linear(3, 4).requires_grad_(False)
    x = torch.randn(5, 3)
    with pytest.raises(ValueError, match=exact("vkdnw: the model has no trainable parameters")):
        vkdnw_fn(frozen, unlabelled(x, 4))
    with pytest.raises(ValueError, match=exact("vkdnw_layers: the model has no trainable parameters")):
        vkdnw_layers(frozen, unlabelled(x, 4))
    with pytest.raises(ValueError, match=exact(
            "vkdnw is not applicable to a model whose inputs are integer ids (torch.int64, e.g. token ids into "
            "nn.Embedding): it feeds N(0, 1) float inputs of the batch's shape (its option inputs='data' scores on the "
            "batch itself). On such a model use one that reads activations or weights, e.g. swap_ext, l2_norm, zico, "
            "vkdnw_layers or params (docs/transformers.md)")):
        vkdnw_fn(nn.Linear(3, 4), unlabelled(torch.zeros(5, 3, dtype=torch.int64)))
    huge = torch.randn(5, 3, dtype=torch.float64) * 1e200  # J ~ the inputs: JᵀJ ~ 1e400 overflows float64
    with pytest.raises(ValueError, match=exact("vkdnw: the Fisher matrix is not finite (the outputs or their "
                                               "gradients overflow)")):
        vkdnw_fn(nn.Linear(3, 4).double(), unlabelled(huge), inputs="data")
