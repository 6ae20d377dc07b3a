"""Tests written against the survivors of session 35's mutation run of ``swapnas.proxies.az_nas``
(docs/reliability.md, "Session 35"): every error message in full, the block rule where the
block container is nested two deep, is the model itself or is the only one at depth 1, the
probe seed worked out from its definition, the probes' dtype, and space_to_depth's bounds.
"""

from __future__ import annotations

import hashlib

import pytest
import torch
from torch import nn

from swapnas.proxies.az_nas import (
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
from .test_az_nas import run, toy_batch

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
            "layers, blocks, stages, features first); pass blocks='<submodule path>'")):
        block_modules(Holder(a=conv(), b=conv()))


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
    with pytest.raises(ValueError, match=exact("az_nas: a block's feature map holds NaN or inf")):
        spectral_entropy(torch.tensor([float("nan")]).reshape(1, 1, 1, 1))


def test_trainability_on_integer_inputs_names_what_it_needs() -> None:
    model = Holder(cells=nn.Sequential(conv(), conv()))
    with pytest.raises(ValueError, match=exact(
            "az_nas_trainability is not applicable to a model whose inputs are integer ids (torch.int64, e.g. token "
            "ids into nn.Embedding): it follows gradients from the network input through its blocks. On such a model "
            "use one that reads activations or weights, e.g. swap_ext, l2_norm, zico, vkdnw_layers or params "
            "(docs/transformers.md)")):
        run("az_nas_trainability", model, toy_batch(torch.zeros(2, 3, 4, 4, dtype=torch.int64)))


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
