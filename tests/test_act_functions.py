"""SWAP over activation functions (F.relu, torch.relu, F.gelu, …) called outside modules: swap_fn."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import swapnas
from swapnas.act_functions import FUNCTIONS, activation_calls, functions_of
from swapnas.patterns import EXTENDED_ACTIVATIONS, NoActivationError, hooked_activations, swap_score

EXT = {"activations": EXTENDED_ACTIVATIONS, "input_dims": (2, 3, 4)}


class FunctionalMLP(nn.Module):
    """Three activations called as functions, one as a module, and one function inside that module's reach."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c, self.d = nn.Linear(5, 7), nn.Linear(7, 6), nn.Linear(6, 4), nn.Linear(4, 3)
        self.e = nn.Linear(5, 3)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h1 = self.a(x)
        h2 = self.b(F.relu(h1))
        h3 = self.c(F.gelu(h2))
        return self.d(self.act(h3)) + self.e(x).relu()  # a Tensor.relu straight from the input


def naive_swap(maps: list[torch.Tensor]) -> int:
    """Distinct sample-wise sign patterns over the neurons of the given pre-activation maps (a set of tuples)."""
    patterns = set()
    for m in maps:
        bits = (m > 0).reshape(m.shape[0], -1)
        patterns.update(tuple(bits[:, j].tolist()) for j in range(bits.shape[1]))
    return len(patterns)


def near_copies(s: int, *shape: int, seed: int = 0) -> torch.Tensor:
    """S samples close to one another, so that many neurons share a pattern (Ψ well below its ceiling)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, *shape, generator=g) + 0.3 * torch.randn(s, *shape, generator=g)


def test_swap_fn_matches_a_naive_count_of_every_activation_function_and_module() -> None:
    torch.manual_seed(0)
    model, x = FunctionalMLP(), torch.randn(12, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        h1 = model.a(x)
        h2 = model.b(F.relu(h1))
        h3 = model.c(F.gelu(h2))
        h4 = model.e(x)
    expected = naive_swap([h1, h2, h3, h4])  # relu, gelu, the SiLU module, and the .relu() of e(x)
    assert 1 < expected < 7 + 6 + 4 + 3
    assert naive_swap([h1, h2, h3]) < expected  # the Tensor.relu map adds patterns of its own
    assert swap_score(model, x, **EXT, functions=True) == expected
    assert swap_score(model, x, **EXT) == naive_swap([h3])  # modules only: the SiLU
    assert swap_score(model, x, input_dims=(2,), functions=True) == naive_swap([h1, h4])  # ReLU kinds only


def test_functions_inside_hooked_modules_are_not_counted_twice() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 2))
    x = near_copies(10, 4)
    seen: list[torch.Tensor] = []
    with hooked_activations(model, EXTENDED_ACTIVATIONS, (2,), sink=seen.append, functions=True), torch.no_grad():
        model(x)
    assert len(seen) == 2  # one map per module, although nn.ReLU calls F.relu and nn.GELU calls F.gelu
    assert swap_score(model, x, **EXT, functions=True) == swap_score(model, x, **EXT)


def test_repeated_function_calls_on_an_unchanged_tensor_pass_on_once() -> None:
    class Twice(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = F.relu(x) + F.relu(x)  # the same map twice: one is enough
            x.mul_(-1)
            return y + F.relu(x) + torch.relu(x) + F.leaky_relu(x, 0.2)

    seen: list[torch.Tensor] = []
    kinds = (nn.ReLU, nn.LeakyReLU)
    with hooked_activations(Twice(), kinds, (2,), sink=seen.append, skip_repeats=True, functions=True):
        Twice()(torch.randn(4, 3))  # another instance: the hooks and the mode follow the calls, not the model
    assert len(seen) == 4  # relu(x); relu(−x) after the in-place change; torch.relu is another function; leaky


def test_transformer_encoder_layer_function_activation_equals_its_module_twin() -> None:
    torch.manual_seed(0)
    fn = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True, activation=F.gelu)
    mod = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True, activation=nn.GELU())
    mod.load_state_dict(fn.state_dict())
    x = near_copies(12, 5, 16)
    want = swap_score(mod.train(), x, **EXT)
    assert 1 < want < 5 * 32
    assert swap_score(fn.train(), x, **EXT, functions=True) == want
    assert swap_score(fn.eval(), x, **EXT, functions=True) == want  # the fused eval fast path is not taken
    with pytest.raises(NoActivationError, match="functions=True"):
        swap_score(fn.train(), x, **EXT)


def test_auto_picks_swap_fn_for_models_whose_activations_are_functions() -> None:
    torch.manual_seed(0)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True), 2,
                                    enable_nested_tensor=False)
    x = near_copies(12, 5, 16)
    assert swapnas.api.auto_proxy([encoder]) == "swap_fn"
    assert swapnas.api.auto_proxy([encoder, nn.Sequential(nn.Linear(2, 2), nn.ReLU())]) == "swap_fn"
    got = swapnas.score(encoder, x)
    assert set(got) == {"swap_fn"} and got["swap_fn"] > 1
    assert got == swapnas.score(encoder, x, "swap_fn")
    with pytest.raises(swapnas.UnsupportedModel, match="swap_fn also activation functions"):
        swapnas.score(encoder, x, "swap")


def test_hooks_and_mode_are_gone_after_the_pass_even_on_error() -> None:
    class Fails(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.act = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            F.relu(x)
            raise RuntimeError("boom")

    model = Fails()
    depth = torch._C._len_torch_function_stack()
    with pytest.raises(RuntimeError, match="boom"):
        swap_score(model, torch.randn(4, 3), **EXT, functions=True)
    assert torch._C._len_torch_function_stack() == depth
    assert not model.act._forward_hooks and not model.act._forward_pre_hooks


def test_every_extended_activation_has_its_functions_and_they_are_sign_preserving() -> None:
    assert set(FUNCTIONS) == set(EXTENDED_ACTIVATIONS)
    assert functions_of([nn.ReLU]) == frozenset(FUNCTIONS[nn.ReLU]) and not functions_of([nn.Tanh])
    x = torch.linspace(-3, 3, 61)
    for kind, funcs in FUNCTIONS.items():
        for f in funcs:
            out = f(x.clone())
            assert torch.equal(out > 0, x > 0), (kind.__name__, f)
            assert torch.equal(out > 0, kind()(x) > 0), (kind.__name__, f)


def test_the_swap_proxy_on_a_gelu_net_names_the_proxies_that_take_it() -> None:
    from swapnas.bundle import Batch
    from swapnas.proxies import get_proxy

    net = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 2))
    x = near_copies(8, 4)
    batch = Batch(x, torch.zeros(8, dtype=torch.long), 2, "t", "t", 8, "")
    with pytest.raises(NoActivationError, match="use swap_ext .and lswag_ext, swap_ext_layers. for other activations"):
        get_proxy("swap").fn(net, batch)
    assert get_proxy("swap_ext").fn(net, batch) == get_proxy("swap_fn").fn(net, batch) > 1
    functional = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))
    with pytest.raises(NoActivationError, match="swap_fn for activations called as functions"):
        get_proxy("swap_ext").fn(functional, batch)  # every SWAP proxy answers with proxy advice


def test_the_listed_description_is_the_whole_first_paragraph_of_the_docstring() -> None:
    from swapnas.proxies import get_proxy

    text = get_proxy("swap_fn").description
    assert text.startswith("swap_ext that also hooks") and text.endswith("whose activations are all modules of its kinds.")
    assert "\n" not in text and "  " not in text


def test_score_is_reproducible_on_a_model_with_dropout_and_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(0)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32, dropout=0.3, batch_first=True), 2,
                                    enable_nested_tensor=False)
    x = near_copies(12, 5, 16)
    state = torch.random.get_rng_state()
    first = swapnas.score(encoder, x, repeats=2)
    assert torch.equal(torch.random.get_rng_state(), state)  # forked and restored
    torch.rand(7)  # whatever the caller's RNG does in between
    assert swapnas.score(encoder, x, repeats=2) == first
    own = [swapnas.score(encoder, x, init="none", seed=s)["swap_fn"] for s in (0, 0, 1, 2)]  # weights as they are
    assert own[0] == own[1] and len(set(own[1:])) == 3  # the seed alone moves the dropout masks


class _Outer(nn.Module):
    """A hooked module that runs another hooked module, then calls ReLU itself."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.inner(x) - 1.0)


def test_a_call_inside_nested_hooked_modules_is_not_passed_on_but_one_after_them_is():
    outer = _Outer()
    seen: list[object] = []
    with activation_calls([outer, outer.inner], [nn.ReLU], lambda func, args, kwargs, out: seen.append(func)):
        x = outer(torch.randn(4, 3))  # F.relu runs after inner has left, while outer still runs: not passed on
        assert seen == []
        F.relu(x)  # outside every hooked module: passed on
    assert seen == [F.relu]
