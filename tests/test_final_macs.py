"""Final-network multiply-adds without building the network (DARTS: spaces/darts_macs.py; NB201: nb201.final_flops),
equal to the full FlopCounterMode count (session 23)."""

from __future__ import annotations

import random

import pytest
import torch

from swapnas.search.final import final_macs, final_net
from swapnas.spaces import darts, nb201
from swapnas.size_prior import count_flops
from swapnas.spaces.darts_macs import cell_flops, count_params, edge_flops, layout


def _full(arch: darts.Genotype, final: dict) -> float:
    """The count before session 23: the whole final network built on the meta device, one forward counted."""
    r = final["resolution"]
    with torch.device("meta"):
        model = final.get("builder", darts.build)(arch, **final["net"]).eval()
    return count_flops(model, torch.empty(1, 3, r, r, device="meta")) / 2 / 1e6


SMALL = {  # two small final networks of each builder, so the full count stays quick
    "cifar": {"net": {"C": 8, "layers": 5, "num_classes": 10}, "resolution": 32},
    "imagenet": {"net": {"C": 8, "layers": 5, "num_classes": 100}, "resolution": 64, "builder": darts.build_imagenet},
    "odd": {"net": {"C": 6, "layers": 4, "num_classes": 10}, "resolution": 28},  # 28 → 14 → 7: odd sizes
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_fast_count_equals_the_full_count_on_random_genotypes(name: str) -> None:
    final = SMALL[name]
    rng = random.Random(0)
    archs = [darts.sample(rng) for _ in range(4)] + [darts.smallest_arch()]
    fast = [final_macs(darts, a, final) for a in archs]
    assert fast == [_full(a, final) for a in archs]
    assert len(set(fast)) == 5  # the genotypes' counts differ, so a constant would fail
    assert darts.final_flops(str(archs[0]), final) == 2e6 * fast[0]  # an arch string too


def test_other_concat_lists_fall_back_to_the_full_count() -> None:
    final = SMALL["cifar"]
    g = darts.sample(random.Random(1))
    short = darts.Genotype(g.normal, g.reduce, (2, 3, 5), (2, 3, 4, 5))
    assert darts.final_flops(short, final) is None  # its cells have other channel counts: not the reference's layout
    assert final_macs(darts, short, final) == _full(short, final) != _full(g, final)


def test_an_edge_op_is_counted_on_its_own_input_size() -> None:
    # by hand: sep_conv_3x3 on C=4, 8×8, stride 1 = two blocks of (depthwise 3×3 + pointwise 1×1):
    # 2 · (4·9 + 4·4) · 64 multiply-adds (FLOPs: twice that); with stride 2 the first block's depthwise conv
    # strides, so every conv after it sees 4×4: 2 · (4·9 + 4·4) · 16
    assert edge_flops("sep_conv_3x3", 4, 1, 8, 8) == (2 * 2 * (4 * 9 + 4 * 4) * 64, 8, 8)
    assert edge_flops("sep_conv_3x3", 4, 2, 8, 8) == (2 * 2 * (4 * 9 + 4 * 4) * 16, 4, 4)
    assert edge_flops("max_pool_3x3", 4, 2, 7, 7) == (0, 4, 4)
    assert edge_flops("skip_connect", 4, 2, 8, 8) == (2 * 2 * (4 * 2) * 16, 4, 4)  # FactorizedReduce: two 1×1 convs


@pytest.mark.slow  # the real final networks: ~1 s per full count
@pytest.mark.parametrize("dataset", ["cifar10", "imagenet"])
def test_fast_count_equals_the_full_count_on_the_real_final_networks(dataset: str) -> None:
    final = final_net("darts", dataset)
    rng = random.Random(2)
    archs = [darts.sample(rng) for _ in range(3)]
    assert [final_macs(darts, a, final) for a in archs] == [_full(a, final) for a in archs]


# ----------------------------------------------------------------------------- NB201: one share per edge op

def _full_nb201(arch: str, final: dict) -> float:
    r = final["resolution"]
    with torch.device("meta"):
        model = nb201.build(arch, **final["net"]).eval()
    return count_flops(model, torch.empty(1, 3, r, r, device="meta")) / 2 / 1e6


@pytest.mark.parametrize("dataset", ["cifar100", "imagenet16-120"])
def test_nb201_count_without_a_build_equals_the_full_count(dataset: str) -> None:
    final = final_net("nb201", dataset)
    rng = random.Random(3)
    archs = [nb201.sample(rng) for _ in range(4)] + [nb201.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")]
    fast = [final_macs(nb201, a, final) for a in archs]
    assert fast == [_full_nb201(str(a), final) for a in archs]
    assert len(set(fast)) == 4  # two of the draws hold the same convolutions (only convs and the head count)


def test_nb201_count_by_hand_for_one_conv_edge() -> None:
    # one nor_conv_3x3 edge more (here on edge 1<-0, in place of none) adds, in each of the N cells per stage, a 3×3
    # conv of c → c channels at the stage's size: Σ over stages 9 · c² · s² with (c, s) = (4, 8), (8, 4), (16, 2)
    final = {"net": {"C": 4, "N": 2, "num_classes": 10}, "resolution": 8}
    empty = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    one = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    added = 2 * sum(9 * c * c * s * s for c, s in ((4, 8), (8, 4), (16, 2)))  # N = 2 cells per stage
    assert nb201.final_flops(one, final) - nb201.final_flops(empty, final) == 2 * added  # FLOPs: 2 per multiply-add
    assert nb201.final_flops(one, {"net": {"C": 4, "N": 2, "width": 3}, "resolution": 8}) is None  # not a build option


# ----------------------------------------------------------------------------- parameters (--max-params)

def test_final_size_without_a_build_equals_the_built_networks_count() -> None:
    from swapnas.search.final import final_size
    from swapnas.size_prior import count_params_k

    cases = [(darts, SMALL["cifar"]), (darts, SMALL["imagenet"]), (nb201, final_net("nb201", "imagenet16-120"))]
    for mod, final in cases:
        rng = random.Random(4)
        archs = [mod.sample(rng) for _ in range(4)]
        with torch.device("meta"):
            built = [count_params_k(final.get("builder", mod.build)(a, **final["net"])) / 1e3 for a in archs]
        assert [final_size(mod, a, final) for a in archs] == built
        assert len(set(built)) >= 3  # the draws differ in size (two NB201 draws hold the same convs)
    g = darts.sample(random.Random(5))  # other concat lists: no shortcut, the built network's count
    assert darts.final_params(darts.Genotype(g.normal, g.reduce, (2, 3, 5), (2, 3, 4, 5)), SMALL["cifar"]) is None
    assert nb201.final_params(nb201.sample(random.Random(0)), {"net": {"C": 4, "width": 2}, "resolution": 8}) is None


# ----------------------------------------------------------------------------- session 38: darts_macs by itself


def _net(g: darts.Genotype) -> torch.nn.Module:
    return darts.build(g, C=8, layers=5, num_classes=10).eval()


def test_a_layout_read_from_any_reference_counts_any_genotype_on_non_square_inputs() -> None:
    """``layout`` by itself: a reference whose edges have FLOPs and parameters of their own (``final_flops`` always
    passes ``smallest_arch``, whose edges have none), a 32×24 input (height and width apart), and a genotype whose
    reduction cell takes a skip from node 2 (stride 1 there: no parameters) and from an input (stride 2: a
    FactorizedReduce)."""
    rng = random.Random(6)
    ref, g = darts.sample(rng), darts.sample(rng)
    reduce = list(g.reduce)
    reduce[4], reduce[5] = ("skip_connect", 2), ("skip_connect", 0)
    g = darts.Genotype(g.normal, tuple(reduce), g.normal_concat, g.reduce_concat)
    x = torch.empty(1, 3, 32, 24)
    lay = layout(_net, ref, x)
    for arch in (ref, g, darts.smallest_arch()):
        with torch.device("meta"):
            model = _net(arch)
        assert lay.flops(arch) == count_flops(model, x.to("meta"))
        assert lay.params(arch) == sum(p.numel() for p in model.parameters())


def test_cell_flops_count_the_edges_alone_and_count_params_leaves_out_an_auxiliary_head() -> None:
    free = (("max_pool_3x3", 0), ("skip_connect", 1)) * 4  # no multiply-adds on any edge
    assert cell_flops(free, 4, False, (8, 6)) == 0
    one = (("sep_conv_3x3", 0),) + free[1:]
    assert cell_flops(one, 4, False, (8, 6)) == edge_flops("sep_conv_3x3", 4, 1, 8, 6)[0]
    assert edge_flops("sep_conv_3x3", 4, 2, 8, 6)[1:] == (4, 3)  # height and width apart
    heads = torch.nn.ModuleDict({"body": torch.nn.Linear(2, 2), "auxiliary_head": torch.nn.Linear(3, 3)})
    assert count_params(heads) == 6


def test_nb201_counts_take_an_arch_string_keep_the_build_defaults_and_are_integers() -> None:
    arch = nb201.sample(random.Random(7))
    with torch.device("meta"):
        built = nb201.build(arch).eval()  # C=16, N=5, 10 classes: the benchmark's network
    params = sum(p.numel() for p in built.parameters())
    flops = count_flops(built, torch.empty(1, 3, 8, 8, device="meta"))
    final = {"net": {}, "resolution": 8}  # no build option given: the build's defaults
    counts = [nb201.count_params(str(arch)), nb201.count_params(arch), nb201.final_params(str(arch), final),
              nb201.final_flops(str(arch), final)]
    assert counts == [params, params, params, flops]
    assert all(type(c) is int for c in counts)
