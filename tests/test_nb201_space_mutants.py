"""The NAS-Bench-201 space (``swapnas.spaces.nb201``) beyond its counts and ``Arch`` (sessions 38–39), from its
mutation run (session 48): the string and NASLib forms written out and every refusal whole, the draws of sampling,
mutation and crossover against the same draws made here, the isomorphism key by hand, each edge op's settings, and a
cell and the network computed step by step from their own modules."""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from torch import nn

from swapnas import patterns
from swapnas.spaces import nb201
from swapnas.spaces.ops import AvgPool2d, ReLUConvBN, ResNetBasicBlock, Zero

from .message_tools import refusal
from .net_tools import randomise_batchnorm

NONE, SKIP, C1, C3, POOL = nb201.OPS
MIXED = nb201.Arch((SKIP, NONE, C3, C1, POOL, C3))
MIXED_TEXT = "|skip_connect~0|+|none~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|"


def test_the_spaces_constants() -> None:
    assert nb201.NAME == "nb201" and nb201.NUM_ARCHS == 15625
    assert nb201.OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    assert nb201.EDGES == ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
    assert nb201.NASLIB_OPS == ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
    assert nb201.NASLIB_EDGE_ORDER == (0, 1, 3, 2, 4, 5)


def test_the_string_form_written_out() -> None:
    assert nb201.format_arch(MIXED) == MIXED_TEXT
    assert nb201.parse(MIXED_TEXT) == MIXED and nb201.parse(f"  {MIXED_TEXT}\n") == MIXED
    # leading zeros in an input node are read as its number
    assert nb201.parse(MIXED_TEXT.replace("~0|", "~00|").replace("~1|", "~01|")) == MIXED
    assert nb201.format_arch(nb201.smallest_arch()) == "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.mark.parametrize(("text", "message"), [
    ("|none~0|+|none~0|none~1|", "NB201 arch '|none~0|+|none~0|none~1|' must have 3 node groups joined by '+', "
                                 "found 2"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|",
     "NB201 arch '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|' must have 3 node groups joined by '+', "
     "found 4"),
    ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
     "NB201 node group 'none~0|' in 'none~0|+|none~0|none~1|+|none~0|none~1|none~2|' must look like '|op~0|…|'"),
    ("|none~0+|none~0|none~1|+|none~0|none~1|none~2|",
     "NB201 node group '|none~0' in '|none~0+|none~0|none~1|+|none~0|none~1|none~2|' must look like '|op~0|…|'"),
    ("||+|none~0|none~1|+|none~0|none~1|none~2|",
     "NB201 node group '||' in '||+|none~0|none~1|+|none~0|none~1|none~2|' must look like '|op~0|…|'"),
    ("|x|+|none~0|none~1|+|none~0|none~1|none~2|",  # one character between the bars: read as an edge
     "NB201 edge 'x' in '|x|+|none~0|none~1|+|none~0|none~1|none~2|' must look like 'op~0'"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|",
     "NB201 node group '|none~0|' in '|none~0|+|none~0|+|none~0|none~1|none~2|' must have 2 edge(s), found 1"),
    ("|none~0|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
     "NB201 node group '|none~0|none~0|' in '|none~0|none~0|+|none~0|none~1|+|none~0|none~1|none~2|' must have "
     "1 edge(s), found 2"),
    ("|none~0|+|none~0|None~1|+|none~0|none~1|none~2|",
     "NB201 edge 'None~1' in '|none~0|+|none~0|None~1|+|none~0|none~1|none~2|' must look like 'op~1'"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2x|",
     "NB201 edge 'none~2x' in '|none~0|+|none~0|none~1|+|none~0|none~1|none~2x|' must look like 'op~2'"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none-2|",
     "NB201 edge 'none-2' in '|none~0|+|none~0|none~1|+|none~0|none~1|none-2|' must look like 'op~2'"),
    ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
     "NB201 edge 'none~1' in '|none~1|+|none~0|none~1|+|none~0|none~1|none~2|': input node must be 0, found 1"),
    ("|none~0|+|none~0|none~10|+|none~0|none~1|none~2|",
     "NB201 edge 'none~10' in '|none~0|+|none~0|none~10|+|none~0|none~1|none~2|': input node must be 1, found 10"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~00|",
     "NB201 edge 'none~00' in '|none~0|+|none~0|none~1|+|none~0|none~1|none~00|': input node must be 2, found 00"),
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
     "unknown NB201 op 'conv' in edge 'conv~0' of '|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|'; valid ops: "
     "none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"),
])
def test_a_bad_string_is_refused_whole(text: str, message: str) -> None:
    assert refusal(ValueError, lambda: nb201.parse(text)) == message


def test_a_string_that_is_not_a_string_is_a_type_error() -> None:
    assert refusal(TypeError, lambda: nb201.parse(None)) == "nb201: expected an arch string, got NoneType"  # type: ignore[arg-type]
    assert refusal(TypeError, lambda: nb201.parse(b"|none~0|")) == "nb201: expected an arch string, got bytes"  # type: ignore[arg-type]


def test_the_naslib_key_written_out() -> None:
    # NASLib's edges 1-2, 1-3, 1-4, 2-3, 2-4, 3-4 are ours 0, 1, 3, 2, 4, 5; its op numbers skip 0, none 1, 3×3 2,
    # 1×1 3, pool 4
    assert nb201.to_naslib(MIXED) == "(0, 1, 3, 2, 4, 2)"
    assert nb201.parse_naslib("(0, 1, 3, 2, 4, 2)") == MIXED
    assert nb201.parse_naslib(" ( 0,1 ,3,  2,4,2 )\n") == MIXED
    for arch in itertools.islice(nb201.all_archs(), 0, None, 31):
        assert nb201.parse_naslib(nb201.to_naslib(arch)) == arch
    for key in ("(0, 1, 3, 2, 4)", "(0, 1, 3, 2, 4, 5)", "0, 1, 3, 2, 4, 2", "(0, 1, 3, 2, 4, 2, 1)", "", None, 12):
        assert refusal(ValueError, lambda: nb201.parse_naslib(key)) == (  # type: ignore[arg-type]
            f"NASLib NB201 key {key!r} must look like '(i, j, k, l, m, n)' with op indices 0-4")


def test_every_arch_once_in_product_order() -> None:
    archs = list(nb201.all_archs())
    assert archs == [nb201.Arch(ops) for ops in itertools.product(nb201.OPS, repeat=6)]
    assert archs[0] == nb201.smallest_arch() == nb201.Arch((NONE,) * 6)
    assert archs[1].ops == (NONE,) * 5 + (SKIP,) and archs[-1].ops == (POOL,) * 6


def test_sampling_draws_one_op_per_edge() -> None:
    for seed in range(20):
        mine = random.Random(seed)
        want = nb201.Arch(tuple(mine.choice(nb201.OPS) for _ in range(6)))
        rng = random.Random(seed)
        assert nb201.sample(rng) == want and rng.random() == mine.random()
    seen = {nb201.sample(random.Random(s)).ops[e] for s in range(200) for e in range(6)}
    assert seen == set(nb201.OPS)


def test_mutation_changes_one_random_edge_to_another_op() -> None:
    for seed in range(40):
        arch = nb201.sample(random.Random(1000 + seed))
        mine = random.Random(seed)
        ops = list(arch.ops)
        e = mine.randrange(6)
        ops[e] = mine.choice([o for o in nb201.OPS if o != ops[e]])
        rng = random.Random(seed)
        assert nb201.mutate(arch, rng) == nb201.Arch(tuple(ops)) and rng.random() == mine.random()
    rng = random.Random(0)
    changed = [nb201.mutate(MIXED, rng) for _ in range(300)]
    assert {next(e for e in range(6) if m.ops[e] != MIXED.ops[e]) for m in changed} == set(range(6))
    assert all(sum(x != y for x, y in zip(m.ops, MIXED.ops)) == 1 for m in changed)
    assert {m.ops[0] for m in changed if m.ops[0] != SKIP} == set(nb201.OPS) - {SKIP}


def test_crossover_takes_each_edge_from_either_parent() -> None:
    other = nb201.Arch((C3, C1, NONE, SKIP, C3, POOL))
    for seed in range(20):
        mine = random.Random(seed)
        want = tuple(x if mine.random() < 0.5 else y for x, y in zip(MIXED.ops, other.ops))
        rng = random.Random(seed)
        assert nb201.crossover(MIXED, other, rng) == nb201.Arch(want) and rng.random() == mine.random()
    children = {nb201.crossover(MIXED, other, random.Random(s)) for s in range(200)}
    assert MIXED in children and other in children and len(children) > 30


def test_the_drawings_edges() -> None:
    assert nb201.cell_edges(MIXED) == {"cell": [("0", "1", SKIP), ("1", "2", C3), ("0", "3", C1), ("1", "3", POOL),
                                                ("2", "3", C3)]}
    assert nb201.cell_edges(nb201.smallest_arch()) == {"cell": []}


@pytest.mark.parametrize(("text", "key"), [
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "#+#+#"),
    ("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|", "#+(#+#)@avg_pool_3x3+0"),
    ("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", "#+#+0"),
    ("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~2|",
     "#+(#+(0)@nor_conv_3x3)@avg_pool_3x3+((0)@nor_conv_3x3)@nor_conv_1x1"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~2|",
     "#+(#+(0)@nor_conv_3x3)@avg_pool_3x3+((0)@nor_conv_3x3)@nor_conv_1x1"),
    ("|avg_pool_3x3~0|+|skip_connect~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
     "(0)@avg_pool_3x3+(0)@avg_pool_3x3+0+(0)@nor_conv_1x1"),
    ("|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|none~1|skip_connect~2|", "#+#+#+(0)@nor_conv_3x3"),
])
def test_the_isomorphism_key_by_hand(text: str, key: str) -> None:
    assert nb201.iso_key(nb201.parse(text)) == key


def test_each_edge_op() -> None:
    assert type(nb201._edge_op(NONE, 4)) is Zero and nb201._edge_op(NONE, 4).stride == 1
    assert type(nb201._edge_op(SKIP, 4)) is nn.Identity
    for op, kernel, pad in ((C1, 1, 0), (C3, 3, 1)):
        block = nb201._edge_op(op, 4)
        assert type(block) is ReLUConvBN
        conv = block[1]
        assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding) == \
            (4, 4, (kernel, kernel), (1, 1), (pad, pad))
        assert conv.dilation == (1, 1) and block[2].num_features == 4
    pool = nb201._edge_op(POOL, 4)
    assert type(pool) is AvgPool2d and (pool.kernel_size, pool.stride, pool.padding) == (3, 1, 1)
    assert pool.count_include_pad is False and pool.ceil_mode is False


def _naive_cell(cell: nb201.Cell, arch: nb201.Arch, x: torch.Tensor) -> torch.Tensor:
    nodes = [x]
    for j in (1, 2, 3):
        total = torch.zeros_like(x)
        for (dst, src), op in zip(nb201.EDGES, arch.ops):
            if dst == j and op != NONE:
                total = total + cell.edges[f"{dst}<-{src}"](nodes[src])
        nodes.append(total)
    return nodes[3]


@pytest.mark.parametrize("text", [
    MIXED_TEXT,
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_1x1~1|skip_connect~2|",
    "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|",
])
def test_a_cell_by_its_definition(text: str) -> None:
    torch.manual_seed(len(text))
    arch = nb201.parse(text)
    cell = nb201.Cell(arch, 4)
    wiring = [(dst, src, f"{dst}<-{src}") for (dst, src), op in zip(nb201.EDGES, arch.ops) if op != NONE]
    assert cell.wiring == wiring and list(cell.edges) == [name for *_, name in wiring]
    for (dst, src), op in zip(nb201.EDGES, arch.ops):
        if op != NONE:
            assert type(cell.edges[f"{dst}<-{src}"]) is type(nb201._edge_op(op, 4))
    randomise_batchnorm(cell)
    cell.eval()
    x = torch.randn(2, 4, 5, 5)
    got = cell(x)
    assert got.shape == x.shape and torch.allclose(got, _naive_cell(cell, arch, x), atol=1e-6)


@pytest.mark.parametrize(("C", "N", "classes"), [(4, 1, 10), (2, 2, 7), (3, 3, 120)])
def test_the_network_by_its_definition(C: int, N: int, classes: int) -> None:
    torch.manual_seed(N)
    net = nb201.Network(MIXED, C=C, N=N, num_classes=classes)
    assert net.arch is MIXED
    conv, bn = net.stem
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.padding, conv.bias) == (3, C, (3, 3), (1, 1),
                                                                                               None)
    assert conv.stride == (1, 1) and type(bn) is nn.BatchNorm2d and bn.num_features == C
    layers = list(net.cells)
    assert [type(m) for m in layers] == ([nb201.Cell] * N + [ResNetBasicBlock]) * 2 + [nb201.Cell] * N
    reductions = [m for m in layers if isinstance(m, ResNetBasicBlock)]
    assert [(r.conv_a[1].in_channels, r.conv_a[1].out_channels, r.conv_a[1].stride) for r in reductions] == \
        [(C, 2 * C, (2, 2)), (2 * C, 4 * C, (2, 2))]
    convs = [m.edges["2<-1"][1].in_channels for m in layers if isinstance(m, nb201.Cell)]
    assert convs == [C] * N + [2 * C] * N + [4 * C] * N
    bn_last, relu = net.lastact
    assert type(bn_last) is nn.BatchNorm2d and bn_last.num_features == 4 * C and type(relu) is nn.ReLU
    assert relu.inplace is True
    assert type(net.global_pooling) is nn.AdaptiveAvgPool2d and net.global_pooling.output_size == 1
    assert (net.classifier.in_features, net.classifier.out_features) == (4 * C, classes)
    randomise_batchnorm(net)
    net.eval()
    x = torch.randn(2, 3, 8, 8)
    h = net.stem(x)
    for m in layers:
        h = m(h)
    assert h.shape == (2, 4 * C, 2, 2)
    h = torch.relu(bn_last(h))
    assert torch.allclose(net(x), net.classifier(h.mean((2, 3))), atol=1e-5)


def test_build_takes_an_arch_or_its_string_and_passes_the_sizes() -> None:
    with torch.device("meta"):
        default = nb201.build(MIXED_TEXT)
        assert default.arch == MIXED and default.stem[0].out_channels == 16
        assert len(default.cells) == 17 and default.classifier.out_features == 10
        small = nb201.build(MIXED, C=4, N=2, num_classes=3)
        assert small.arch is MIXED and small.stem[0].out_channels == 4 and len(small.cells) == 8
        assert small.classifier.out_features == 3
    assert refusal(TypeError, lambda: nb201.build(None)) == (  # type: ignore[arg-type]
        "nb201: expected an arch or its string, got NoneType (a nb201 Arch, or a string nb201's parse reads)")


def _built(arch: nb201.Arch, **net: int) -> int:
    with torch.device("meta"):
        return sum(p.numel() for p in nb201.Network(arch, **net).parameters())


def test_the_size_range_and_the_size_prior() -> None:
    lo, hi = _built(nb201.Arch((NONE,) * 6)), _built(nb201.Arch((C3,) * 6))
    assert nb201.param_range_k() == (lo / 1e3, hi / 1e3)
    lo_s, hi_s = _built(nb201.Arch((NONE,) * 6), C=8, N=1, num_classes=7), _built(nb201.Arch((C3,) * 6), C=8, N=1,
                                                                                 num_classes=7)
    assert nb201.param_range_k(C=8, N=1, num_classes=7) == (lo_s / 1e3, hi_s / 1e3)
    assert all(_built(a, C=8, N=1, num_classes=7) / 1e3 <= hi_s / 1e3 for a in (MIXED, nb201.Arch((C1,) * 6)))
    lo_k, hi_k = _built(nb201.Arch((NONE,) * 6), C=16, N=1, num_classes=100), \
        _built(nb201.Arch((C3,) * 6), C=16, N=1, num_classes=100)
    mu, sigma = nb201.default_size_prior({"C": 16, "N": 1}, num_classes=100)
    span = (hi_k - lo_k) / 1e3
    assert mu == pytest.approx(lo_k / 1e3 + patterns.PRIOR_CENTRE * span, rel=1e-12)
    assert sigma == pytest.approx((patterns.PRIOR_WIDTH * span) ** 2, rel=1e-12)
    assert nb201.default_size_prior({"C": 16, "N": 1}) == patterns.prior_from_range(
        _built(nb201.Arch((NONE,) * 6), C=16, N=1) / 1e3, _built(nb201.Arch((C3,) * 6), C=16, N=1) / 1e3)
    assert (nb201.PRIOR_CENTRE, nb201.PRIOR_WIDTH) == (patterns.PRIOR_CENTRE, patterns.PRIOR_WIDTH)
