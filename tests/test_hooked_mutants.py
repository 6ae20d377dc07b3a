"""Tests written against the survivors of session 37's mutation run of ``swapnas.patterns.hooked_activations``
(docs/reliability.md, "Session 38"): its collect mode (no ``sink``: the packed patterns of each hooked call, in
order), functions off by default, ``skip_repeats`` telling inputs apart by identity (an A, B, A sequence) and
function calls apart by their settings (keyword and positional), and a function given its input by keyword.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import handle_torch_function

from swapnas.patterns import hooked_activations, pack_patterns

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Calls(nn.Module):
    """Runs ``body(self, x)``: a model whose forward is given per test."""

    def __init__(self, body, **parts: nn.Module) -> None:  # noqa: ANN001 (a callable of the test's)
        super().__init__()
        for name, part in parts.items():
            self.add_module(name, part)
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self, x)


def collect(model: nn.Module, x: torch.Tensor, **options) -> list[torch.Tensor]:
    with torch.no_grad(), hooked_activations(model, **options) as found:
        model(x)
    return list(found)


def same(found: list[torch.Tensor], outputs: list[torch.Tensor]) -> bool:
    return len(found) == len(outputs) and all(torch.equal(f, pack_patterns(o)) for f, o in zip(found, outputs))


def test_collect_mode_gives_each_hooked_calls_packed_patterns_and_no_functions_by_default() -> None:
    torch.manual_seed(0)
    model = Calls(lambda m, x: F.relu(m.act2(m.conv2(m.act1(m.conv1(x))))),
                  conv1=nn.Conv2d(3, 4, 3), act1=nn.ReLU(), conv2=nn.Conv2d(4, 4, 3), act2=nn.ReLU())
    x = torch.randn(5, 3, 8, 8)
    with torch.no_grad():
        first = model.act1(model.conv1(x))
        second = model.act2(model.conv2(first))
    assert same(collect(model, x), [first, second])  # the F.relu after act2 is not taken
    assert same(collect(model, x, functions=True), [first, second, F.relu(second)])


def test_repeats_are_told_apart_by_the_input_tensor() -> None:
    torch.manual_seed(0)
    model = Calls(lambda m, x: (m.act(a := m.a(x)), m.act(b := m.b(x)), m.act(a)),  # noqa: F841
                  a=nn.Conv2d(3, 4, 3), b=nn.Conv2d(3, 4, 3), act=nn.ReLU())
    x = torch.randn(5, 3, 8, 8)
    with torch.no_grad():
        a, b = F.relu(model.a(x)), F.relu(model.b(x))
    assert same(collect(model, x), [a, b, a])
    assert same(collect(model, x, skip_repeats=True), [a, b])  # the third call repeats the first


def test_function_repeats_are_told_apart_by_their_settings() -> None:
    torch.manual_seed(0)
    x = torch.randn(5, 6)
    options = {"activations": (nn.LeakyReLU,), "input_dims": (2,), "functions": True, "skip_repeats": True}
    keyword = Calls(lambda m, x: (F.leaky_relu(x, 0.1), F.leaky_relu(x, 0.2), F.leaky_relu(x, negative_slope=0.1)))
    assert same(collect(keyword, x, **options), [F.leaky_relu(x, 0.1), F.leaky_relu(x, 0.2)])

    def positional(m: nn.Module, x: torch.Tensor) -> tuple:  # a wrapper that dispatches its settings positionally
        return tuple(handle_torch_function(F.leaky_relu, (x,), x, slope) for slope in (0.1, 0.2, 0.1))

    assert same(collect(Calls(positional), x, **options), [F.leaky_relu(x, 0.1), F.leaky_relu(x, 0.2)])


def test_a_function_given_its_input_by_keyword_is_taken() -> None:
    x = torch.randn(5, 6)
    model = Calls(lambda m, x: torch.relu(input=x - 0.5))
    assert same(collect(model, x, input_dims=(2,), functions=True), [torch.relu(x - 0.5)])
