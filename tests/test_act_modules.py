"""Activation modules of other kinds (Hugging Face's NewGELUActivation, QuickGELUActivation, …) in swap_fn."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

import swapnas
from swapnas.act_functions import activation_like
from swapnas.patterns import EXTENDED_ACTIVATIONS, hooked_activations, swap_score
from tests.test_act_functions import EXT, naive_swap, near_copies


class NewGELUActivation(nn.Module):
    """GELU by its tanh formula, as Hugging Face's GPT-2 writes it (no F.gelu call)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class QuickGELUActivation(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ClippedGELUActivation(nn.Module):
    """Calls F.gelu itself, inside the hooked module (the same map: hooked once, by the module)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clip(F.gelu(x), -10.0, 10.0)


class LinearActivation(nn.Module):
    """The identity: named like an activation, but no pattern to count."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class LaplaceGELUActivation(nn.Module):
    """Always positive: its output's bits are not the input's sign, so it is not counted."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (1.0 + torch.erf((x - 0.7) / 0.3))


class ReLUBlock(nn.Module):
    """Named like an activation but a container (Linear + ReLU module): only its nn.ReLU counts."""

    def __init__(self) -> None:
        super().__init__()
        self.lin, self.act = nn.Linear(6, 6), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.lin(x))


class HFStyleMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1, self.l2, self.l3, self.l4 = nn.Linear(5, 8), nn.Linear(8, 7), nn.Linear(7, 6), nn.Linear(6, 6)
        self.l5, self.l6 = nn.Linear(6, 6), nn.Linear(6, 3)
        self.new, self.quick, self.clipped = NewGELUActivation(), QuickGELUActivation(), ClippedGELUActivation()
        self.identity, self.laplace, self.block = LinearActivation(), LaplaceGELUActivation(), ReLUBlock()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.l2(self.new(self.l1(x)))
        h = self.l3(self.quick(h))
        h = self.l4(self.clipped(h))
        h = self.l5(self.identity(h))
        return self.l6(self.block(self.laplace(h)))


def test_found_modules_are_the_sign_keeping_leaves_named_as_activations() -> None:
    model = HFStyleMLP()
    found = activation_like(model, EXTENDED_ACTIVATIONS)
    assert [type(m).__name__ for m in found] == ["NewGELUActivation", "QuickGELUActivation", "ClippedGELUActivation"]
    assert activation_like(model, (*EXTENDED_ACTIVATIONS, QuickGELUActivation)) == [model.new, model.clipped]
    torch_kinds = nn.Sequential(nn.SiLU(), nn.GELU(), nn.Mish(), nn.ReLU())  # PyTorch's kinds: chosen by `known` only
    assert activation_like(torch_kinds, (nn.ReLU,)) == []


def test_swap_fn_counts_named_activation_modules_once_and_skips_impostors() -> None:
    torch.manual_seed(0)
    model, x = HFStyleMLP(), near_copies(12, 5)
    with torch.no_grad():
        a1 = model.l1(x)
        a2 = model.l2(model.new(a1))
        a3 = model.l3(model.quick(a2))
        h5 = model.l5(model.l4(model.clipped(a3)))
        a6 = model.block.lin(model.laplace(h5))
    expected = naive_swap([a1, a2, a3, a6])  # three named modules and the block's nn.ReLU
    assert naive_swap([a6]) < expected < 8 + 7 + 6 + 6
    assert swap_score(model, x, **EXT, functions=True) == expected
    assert swap_score(model, x, **EXT) == naive_swap([a6])  # modules of the known kinds only


def test_a_named_module_that_calls_f_gelu_itself_is_taken_once() -> None:
    model, x = HFStyleMLP(), near_copies(12, 5)
    taken: list[torch.Size] = []
    with torch.no_grad(), hooked_activations(model, EXTENDED_ACTIVATIONS, (2, 3, 4), functions=True,
                                             sink=lambda out: taken.append(out.shape)):
        model(x)
    assert len(taken) == 4  # new, quick, clipped (not also its inner F.gelu call) and the block's nn.ReLU


def test_a_gpt2_style_gelu_module_scores_as_its_nn_gelu_twin() -> None:
    torch.manual_seed(1)
    formula = nn.Sequential(nn.Linear(16, 32), NewGELUActivation(), nn.Linear(32, 32), NewGELUActivation())
    twin = nn.Sequential(nn.Linear(16, 32), nn.GELU(approximate="tanh"), nn.Linear(32, 32), nn.GELU(approximate="tanh"))
    twin.load_state_dict(formula.state_dict())
    x = near_copies(10, 16, seed=3)
    with torch.no_grad():
        assert torch.equal(formula(x) > 0, twin(x) > 0)
    psi = swap_score(formula, x, **EXT, functions=True)
    assert psi == swap_score(twin, x, **EXT) == swap_score(twin, x, **EXT, functions=True) > 1


def test_auto_picks_swap_fn_when_a_model_holds_activation_modules_of_other_kinds() -> None:
    mixed = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), QuickGELUActivation(), nn.Linear(8, 2))
    plain = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), LinearActivation(), nn.Linear(8, 2))
    assert swapnas.api.auto_proxy([mixed]) == "swap_fn"
    assert swapnas.api.auto_proxy([plain]) == "swap_ext"  # not swap_fn; and not swap: an MLP has no conv maps
    x = near_copies(16, 4, seed=5)
    assert swapnas.score(mixed, x, init="none")["swap_fn"] > swapnas.score(mixed, x, "swap_ext", init="none")["swap_ext"]
