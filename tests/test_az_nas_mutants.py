"""Tests written against the survivors of session 35's mutation run of ``swapnas.proxies.az_nas``
(docs/reliability.md, "Session 35"): every error message in full, the block rule where the
block container is nested two deep, is the model itself or is the only one at depth 1, the
probe seed worked out from its definition, the probes' dtype, and space_to_depth's bounds.
"""

from __future__ import annotations

import hashlib
import math

import pytest
import torch
from torch import nn

from swapnas.proxies.az_nas import (
    DEAD_PAIR,
    az_nas_expressivity,
    az_nas_progressivity,
    az_nas_trainability,
    block_features,
    block_modules,
    log_rank_sum,
    pair_spectral_norm,
    probe_generator,
    rademacher,
    space_to_depth,
    spectral_entropy,
)

from .message_tools import exact
from .test_az_nas import _Scale, _Toy, run
from .test_proxies import unlabelled

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def conv() -> nn.Conv2d:
    return nn.Conv2d(3, 3, 3, padding=1)


class Holder(nn.Module):
    """Holds the given submodules as attributes and runs them in order."""

    def __init__(self, **parts: nn.Module) -> None:
        super().__init__()
        for name, part in parts.items():
            self.add_module(name, part)
        self.order = list(parts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.order:
            x = getattr(self, name)(x)
        return x


# ----------------------------------------------------------------------------- the block rule


def test_a_named_container_two_levels_down_is_found_by_its_own_name() -> None:
    cells = nn.Sequential(conv(), conv())
    model = Holder(pre=nn.Sequential(conv()), body=Holder(net=Holder(cells=cells)))
    assert block_modules(model) == list(cells)  # "body.net.cells" ends in "cells"; "pre" is shallower but unnamed


def test_a_model_that_is_itself_a_sequential_gives_its_own_children() -> None:
    inner = nn.Sequential(conv())
    model = nn.Sequential(conv(), inner, nn.ReLU())
    assert block_modules(model) == [model[0], inner]  # the root (depth −1) before its child "1" (depth 0)


def test_the_fallback_takes_the_shallowest_containers_only() -> None:
    deep = nn.Sequential(conv())
    only_deep = Holder(wrap=Holder(stack=deep))
    assert block_modules(only_deep) == [deep[0]]  # the only container, at depth 1
    shallow = nn.Sequential(conv())
    mixed = Holder(stack=shallow, wrap=Holder(stack=nn.Sequential(conv())))
    assert block_modules(mixed) == [shallow[0]]  # depth 0 beats depth 1


def test_block_rule_messages_in_full() -> None:
    model = Holder(cells=nn.Sequential(conv()), head=conv(), acts=nn.Sequential(nn.ReLU(), nn.Identity()))
    with pytest.raises(ValueError, match=exact("az_nas: submodule 'head' is a Conv2d, not an nn.Sequential or "
                                               "nn.ModuleList")):
        block_modules(model, "head")
    with pytest.raises(ValueError, match=exact("az_nas: submodule 'acts' has no block (its children are pooling, "
                                               "activation, normalisation or identity layers)")):
        block_modules(model, "acts")
    with pytest.raises(ValueError, match=exact(
            "az_nas: Holder has no hookable blocks: no nn.Sequential/nn.ModuleList holds a block (looked for cells, "
            "layers, blocks, stages, features first) and none of its own children is one; pass "
            "blocks='<submodule path>'")):
        block_modules(Holder(act=nn.ReLU(), pool=nn.AvgPool2d(2)))


def test_a_flat_model_s_own_children_are_its_blocks() -> None:
    """Session 52: a CNN whose layers are attributes was refused, and with it the universal `best`."""
    a, b = conv(), conv()
    model = Holder(a=a, act=nn.ReLU(), b=b, norm=nn.BatchNorm2d(3))
    assert block_modules(model) == [a, b]
    inner = nn.Sequential(conv())
    assert block_modules(Holder(a=conv(), wrap=Holder(stack=inner))) == [inner[0]]  # a container still comes first


# ----------------------------------------------------------------------------- the feature maps


def test_maps_are_detached_copies_unless_the_graph_is_asked_for() -> None:
    model = Holder(stem=conv(), cells=nn.Sequential(conv(), conv()))
    x = torch.randn(2, 3, 4, 4)
    assert [m.requires_grad for m in block_features(model, x)] == [False] * 3
    assert [m.requires_grad for m in block_features(model, x, keep_graph=True)] == [True] * 3


def test_feature_map_messages_in_full() -> None:
    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cells = nn.Sequential(conv(), conv())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    with pytest.raises(ValueError, match=exact("az_nas: none of the 2 blocks of Unused ran in the forward pass")):
        block_features(Unused(), torch.randn(2, 3, 4, 4))
    flat = Holder(cells=nn.Sequential(nn.Linear(4, 4)))
    no_map = "az_nas: the blocks of Holder produced no 4-D (S, C, H, W) feature map"
    with pytest.raises(ValueError, match=exact(no_map)):
        block_features(flat, torch.randn(2, 4))
    with pytest.raises(ValueError, match=exact("az_nas: a block's feature map holds NaN or inf: check the model's "
                                               "weights and the batch for NaN or inf, or leave the az_nas metrics out "
                                               "for this model")):
        spectral_entropy(torch.tensor([float("nan")]).reshape(1, 1, 1, 1))


def test_trainability_on_integer_inputs_names_what_it_needs() -> None:
    model = Holder(cells=nn.Sequential(conv(), conv()))
    with pytest.raises(ValueError, match=exact(
            "az_nas_trainability is not applicable to a model whose inputs are integer ids (torch.int64, e.g. token "
            "ids into nn.Embedding): it follows gradients from the network input through its blocks. On such a model "
            "use one that reads activations or weights, e.g. swap_ext, l2_norm, zico, vkdnw_layers or params "
            "(docs/transformers.md)")):
        run("az_nas_trainability", model, unlabelled(torch.zeros(2, 3, 4, 4, dtype=torch.int64)))


# ----------------------------------------------------------------------------- the probes


def test_the_probe_seed_is_sha256_of_seed_shape_dtype_and_values() -> None:
    raws = []
    for seed in range(8):
        x = torch.linspace(-1.0, 1.0, 12).reshape(1, 3, 2, 2) * (seed + 1)
        digest = hashlib.sha256(f"az_nas|{seed}|(1, 3, 2, 2)|torch.float32".encode()
                                + x.double().numpy().tobytes()).digest()
        raw = int.from_bytes(digest[:8], "little")
        raws.append(raw)
        assert probe_generator(x, seed).initial_seed() == raw % 2**63
    assert any(raw >= 2**63 for raw in raws)  # the top bit is cleared at least once here
    x = torch.ones(1, 3, 2, 2)
    assert probe_generator(x).initial_seed() == probe_generator(x, 0).initial_seed()


def test_rademacher_probes_are_float64_signs() -> None:
    r = rademacher(torch.Size([4, 5]), torch.Generator().manual_seed(0))
    assert r.dtype == torch.float64 and r.shape == (4, 5)
    assert set(r.unique().tolist()) == {-1.0, 1.0}


def test_space_to_depth_keeps_equal_sizes_and_refuses_a_larger_one() -> None:
    g = torch.arange(32.0).reshape(1, 2, 4, 4)
    assert torch.equal(space_to_depth(g, 4, 4), g)
    assert space_to_depth(torch.zeros(1, 2, 4, 8), 4, 4).shape == (1, 4, 4, 4)  # only the width halves
    assert space_to_depth(torch.zeros(1, 2, 8, 4), 4, 4).shape == (1, 4, 4, 4)  # only the height halves
    for shape, (h, w) in (((1, 2, 8, 4), (4, 8)), ((1, 2, 4, 8), (8, 4))):
        with pytest.raises(ValueError, match=exact(f"az_nas: a block raises the resolution ({shape[2]}×{shape[3]} → "
                                                   f"{h}×{w}); trainability needs blocks that keep or reduce it")):
            space_to_depth(torch.zeros(shape), h, w)


def test_pair_and_combination_messages_in_full() -> None:
    with pytest.raises(ValueError, match=exact("az_nas: consecutive blocks see different batch sizes (2 vs 3)")):
        pair_spectral_norm(torch.zeros(2, 3, 4, 4), torch.zeros(3, 5, 4, 4))
    with pytest.raises(ValueError, match=exact("az_nas: no part scores to combine")):
        log_rank_sum([])


# ----------------------------------------------------------------------------- session 37's run: the registered bodies


def pair(sigma: float) -> float:
    """The documented pair score −σ − 1/(σ + ε) + 2."""
    return -sigma - 1.0 / (sigma + 1e-6) + 2.0


def test_direct_calls_default_to_the_auto_blocks_and_seed_0() -> None:
    model = Holder(cells=nn.Sequential(conv(), conv()))
    batch = unlabelled(torch.randn(2, 3, 4, 4))
    assert az_nas_expressivity(model, batch) == az_nas_expressivity(model, batch, "cells")
    assert az_nas_progressivity(model, batch) == az_nas_progressivity(model, batch, "cells")
    assert az_nas_trainability(model, batch) == az_nas_trainability(model, batch, "cells", 0)
    assert az_nas_trainability(model, batch) != az_nas_trainability(model, batch, "cells", 1)  # another probe


def test_trainability_follows_its_blocks_option() -> None:
    # one channel: M = w · mean(g_out²) = w exactly, so σ = |w| per block (test_az_nas' _Scale)
    model = Holder(cells=nn.Sequential(_Scale([[2.0]])), other=nn.Sequential(_Scale([[3.0]]), _Scale([[-0.5]])))
    batch = unlabelled(torch.randn(2, 1, 4, 4))
    assert az_nas_trainability(model, batch) == pytest.approx(pair(2.0), rel=1e-12)
    assert az_nas_trainability(model, batch, "other") == pytest.approx((pair(3.0) + pair(0.5)) / 2, rel=1e-12)


def test_progressivity_of_exactly_two_maps() -> None:
    x = torch.tensor([[[[2.0, 2.0], [-2.0, -2.0]], [[1.0, -1.0], [1.0, -1.0]]]])  # covariance diag(4, 1)
    model = _Toy(_Scale([[1.0, 0.0], [0.0, 2.0]]))  # diag(4, 4): entropy log 2
    h0 = -(0.8 * math.log(0.8) + 0.2 * math.log(0.2))
    assert az_nas_progressivity(model, unlabelled(x)) == pytest.approx(math.log(2) - h0, rel=1e-12)


class _Constant(nn.Module):
    """A block whose output ignores its input: a learnt map (it carries a gradient) or a fixed one (none)."""

    def __init__(self, learnt: bool) -> None:
        super().__init__()
        value = torch.ones(1, 1, 4, 4)
        if learnt:
            self.value = nn.Parameter(value)
        else:
            self.register_buffer("value", value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value.expand(x.shape[0], -1, -1, -1)


@pytest.mark.parametrize("learnt", [True, False])
def test_a_block_that_ignores_its_input_scores_as_dead(learnt: bool) -> None:
    model = _Toy(_Scale([[2.0]]), _Constant(learnt))  # g_in = 0: σ = 0, the pair scores 2 − 1/ε
    batch = unlabelled(torch.randn(2, 1, 4, 4))
    assert DEAD_PAIR == pair(0.0)
    assert az_nas_trainability(model, batch) == pytest.approx((pair(2.0) + DEAD_PAIR) / 2, rel=1e-12)


def test_non_finite_trainability_messages_in_full() -> None:
    class Kink(nn.Module):  # finite forward; at x = 0 the backward of |x| times sqrt's inf gives NaN
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + 0.0 * torch.sqrt(x.abs())

    x = torch.randn(2, 1, 4, 4)
    x[0, 0, 0, 0] = 0.0
    with pytest.raises(ValueError, match=exact("az_nas: the gradient of feature map 2 with respect to map 1 holds NaN "
                                               "or inf (a block's backward is not finite on this batch): leave "
                                               "az_nas_trainability out for this model")):
        az_nas_trainability(_Toy(_Scale([[2.0]]), Kink()), unlabelled(x))
    # nine channels, one output channel reads each with weight 8e307: g_in = (8e307 · g_0, …) and M (rank one, over
    # n = 2 positions) stay finite, M's norm (≥ 3 · 8e307) does not
    w = torch.zeros(9, 9, dtype=torch.float64)
    w[0] = 8e307
    huge = _Toy(_Scale([[0.0] * 9] * 9)).double()
    with torch.no_grad():
        huge.cells[0].w.copy_(w)
    with pytest.raises(ValueError, match=exact("az_nas: non-finite trainability (-inf): a block's gradient gain σ "
                                               "overflows float64; check the model's weights for huge values, or "
                                               "leave az_nas_trainability out for this model")):
        az_nas_trainability(huge, unlabelled(torch.randn(2, 9, 1, 1, dtype=torch.float64) * 1e-300))
