"""The DARTS network (``swapnas.spaces.darts_net``), from its mutation run (session 47): every op's layers and
settings written out, the factorized reduction and a cell against their definitions computed step by step, drop-path
against its draw, the reduction-cell rule and its refusals, the stack's channels, the auxiliary head's place, and
DARTS-V2's size as the original DARTS code prints it (``param size = 3.349342MB``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from swapnas.spaces import darts_net as dn
from swapnas.spaces import ops
from swapnas.spaces.darts_genotype import Genotype, parse

from .message_tools import refusal
from .test_darts_genotype import DARTS_V2
from .test_ops_mutants import _conv

V2 = parse(DARTS_V2)


def _bn(bn: nn.Module, c: int, affine: bool) -> None:
    assert type(bn) is nn.BatchNorm2d and bn.num_features == c and bn.affine is affine


def _dil(block: nn.Module, c_in: int, c_out: int, k: int, stride: int, padding: int, dilation: int,
         affine: bool) -> None:
    assert type(block) is dn.DilConv and len(block) == 4
    assert type(block[0]) is nn.ReLU and block[0].inplace is False
    _conv(block[1], c_in, c_in, k, stride, padding, dilation, c_in)
    _conv(block[2], c_in, c_out, 1, 1, 0, 1, 1)
    _bn(block[3], c_out, affine)


def test_the_convolution_ops_layers() -> None:
    _dil(dn.DilConv(4, 6, 3, 2, 2, 2, affine=False), 4, 6, 3, 2, 2, 2, False)
    _dil(dn.DilConv(4, 6, 5, 1, 4, 2), 4, 6, 5, 1, 4, 2, True)
    sep = dn.SepConv(4, 6, 5, 2, 2, affine=False)
    assert type(sep) is dn.SepConv and len(sep) == 2
    _dil(sep[0], 4, 4, 5, 2, 2, 1, False)  # the first block carries the stride
    _dil(sep[1], 4, 6, 5, 1, 2, 1, False)
    _dil(dn.SepConv(4, 4, 3, 1, 1)[1], 4, 4, 3, 1, 1, 1, True)


def test_the_factorized_reduction_by_its_definition() -> None:
    fr = dn.FactorizedReduce(3, 6, affine=False)
    assert type(fr.relu) is nn.ReLU and fr.relu.inplace is False
    _conv(fr.conv_1, 3, 3, 1, 2, 0, 1, 1)
    _conv(fr.conv_2, 3, 3, 1, 2, 0, 1, 1)
    _bn(fr.bn, 6, False)
    _bn(dn.FactorizedReduce(3, 4).bn, 4, True)
    fr.eval()
    for size in (8, 7):
        x = torch.randn(2, 3, size, size)
        r = torch.relu(x)
        shifted = torch.zeros_like(r)
        shifted[:, :, :-1, :-1] = r[:, :, 1:, 1:]  # one pixel down-right, zero-padded at the far edges
        want = fr.bn(torch.cat([fr.conv_1(r), fr.conv_2(shifted)], dim=1))
        assert torch.allclose(fr(x), want) and fr(x).shape == (2, 6, (size + 1) // 2, (size + 1) // 2)
    assert refusal(ValueError, lambda: dn.FactorizedReduce(3, 5)) == \
        "FactorizedReduce needs an even number of output channels, got 5"


@pytest.mark.parametrize("stride", [1, 2])
def test_each_op_by_name(stride: int) -> None:
    assert type(dn.make_op("none", 4, stride)) is ops.Zero and dn.make_op("none", 4, stride).stride == stride
    avg, mx = dn.make_op("avg_pool_3x3", 4, stride), dn.make_op("max_pool_3x3", 4, stride)
    assert type(avg) is ops.AvgPool2d and (avg.kernel_size, avg.stride, avg.padding, avg.count_include_pad) == \
        (3, stride, 1, False)
    assert type(mx) is ops.MaxPool2d and (mx.kernel_size, mx.stride, mx.padding) == (3, stride, 1)
    for name, pool_type in (("avg_pool_3x3", ops.AvgPool2d), ("max_pool_3x3", ops.MaxPool2d)):
        seq = dn.make_op(name, 4, stride, pool_bn=True)
        assert type(seq) is nn.Sequential and len(seq) == 2 and type(seq[0]) is pool_type
        _bn(seq[1], 4, False)
    skip = dn.make_op("skip_connect", 4, stride, affine=False)
    if stride == 1:
        assert type(skip) is nn.Identity
    else:
        assert type(skip) is dn.FactorizedReduce and skip.conv_1.in_channels == 4 and not skip.bn.affine
    for k in (3, 5):
        sep = dn.make_op(f"sep_conv_{k}x{k}", 4, stride, affine=False)
        _dil(sep[0], 4, 4, k, stride, k // 2, 1, False)
        _dil(sep[1], 4, 4, k, 1, k // 2, 1, False)
        _dil(dn.make_op(f"dil_conv_{k}x{k}", 4, stride), 4, 4, k, stride, k - 1, 2, True)
    assert refusal(ValueError, lambda: dn.make_op("conv_7x7", 4, stride)) == "unknown DARTS op 'conv_7x7'"


def test_drop_path_zeroes_whole_samples_and_rescales_the_rest() -> None:
    x = torch.rand(64, 2, 3, 3, dtype=torch.float64) + 1
    torch.manual_seed(4)
    keep = torch.empty(64, 1, 1, 1, dtype=torch.float64).bernoulli_(0.75)
    torch.manual_seed(4)
    got = dn.drop_path(x, 0.25)
    assert torch.equal(got, x / 0.75 * keep) and got.dtype == torch.float64
    assert 0 < int(keep.sum()) < 64
    assert dn.drop_path(torch.empty(3, 2, 2, 2, device="meta"), 0.5).device.type == "meta"


def _naive_cell(cell: dn.Cell, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
    states = [cell.preprocess0(s0), cell.preprocess1(s1)]
    for node in range(len(cell.edge_ops) // 2):
        a, b = 2 * node, 2 * node + 1
        states.append(cell.edge_ops[a](states[cell.inputs[a]]) + cell.edge_ops[b](states[cell.inputs[b]]))
    return torch.cat([states[i] for i in cell.concat], dim=1)


@pytest.mark.parametrize(("reduction", "reduction_prev"), [(False, False), (True, False), (False, True), (True, True)])
def test_a_cell_by_its_definition(reduction: bool, reduction_prev: bool) -> None:
    torch.manual_seed(0)
    cell = dn.Cell(V2, 6, 8, 4, reduction, reduction_prev, affine_ops=False, pool_bn=True).eval()
    edges = V2.reduce if reduction else V2.normal
    assert cell.reduction is reduction and cell.inputs == [src for _, src in edges]
    assert cell.concat == (V2.reduce_concat if reduction else V2.normal_concat) and cell.multiplier == 4
    if reduction_prev:
        assert type(cell.preprocess0) is dn.FactorizedReduce and cell.preprocess0.conv_1.in_channels == 6
    else:
        assert type(cell.preprocess0) is ops.ReLUConvBN
        _conv(cell.preprocess0[1], 6, 4, 1, 1, 0, 1, 1)
    _conv(cell.preprocess1[1], 8, 4, 1, 1, 0, 1, 1)
    for op, (name, src) in zip(cell.edge_ops, edges):
        stride = 2 if reduction and src < 2 else 1
        if name == "skip_connect":
            assert type(op) is (dn.FactorizedReduce if stride == 2 else nn.Identity)
        elif name.endswith("pool_3x3"):
            assert op[0].stride == stride  # pool_bn: pool then BatchNorm
        elif name.startswith("sep_conv"):
            assert op[0][1].stride == (stride, stride) and op[-1][-1].affine is False
        else:  # dil_conv
            assert op[1].stride == (stride, stride) and op[-1].affine is False
    size = 8
    s0 = torch.randn(2, 6, size * 2 if reduction_prev else size, size * 2 if reduction_prev else size)
    s1 = torch.randn(2, 8, size, size)
    assert torch.allclose(cell(s0, s1, 0.5), _naive_cell(cell, s0, s1))  # eval: no drop-path
    out = size // 2 if reduction else size
    assert cell(s0, s1).shape == (2, 16, out, out)


def test_a_cell_drops_paths_only_in_training_and_not_on_identities(monkeypatch) -> None:
    calls: list = []
    monkeypatch.setattr(dn, "drop_path", lambda h, p: calls.append(p) or h)
    cell = dn.Cell(V2, 4, 4, 4, False, False)  # the normal cell: 2 of its 8 edges are skip_connect (identities)
    s = torch.randn(2, 4, 6, 6)
    cell(s, s, 0.3)
    assert calls == [0.3] * 6
    calls.clear()
    cell(s, s, 0.0)
    cell.eval()
    cell(s, s, 0.3)
    assert calls == []


@pytest.mark.parametrize(("stride", "global_pool", "size"), [(3, False, 8), (2, True, 7), (2, True, 14)])
def test_the_auxiliary_head(stride: int, global_pool: bool, size: int) -> None:
    head = dn.AuxiliaryHead(12, 7, pool_stride=stride, global_pool=global_pool)
    f = head.features
    assert type(f[0]) is nn.ReLU and f[0].inplace is False
    assert type(f[1]) is nn.AvgPool2d and (f[1].kernel_size, f[1].stride, f[1].padding, f[1].count_include_pad) == \
        (5, stride, 0, False)
    _conv(f[2], 12, 128, 1, 1, 0, 1, 1)
    _bn(f[3], 128, True)
    assert type(f[4]) is nn.ReLU
    _conv(f[5], 128, 768, 2, 1, 0, 1, 1)
    _bn(f[6], 768, True)
    assert type(f[7]) is nn.ReLU and len(f) == (9 if global_pool else 8)
    if global_pool:
        assert type(f[8]) is nn.AdaptiveAvgPool2d and f[8].output_size == 1
    assert type(head.classifier) is nn.Linear and (head.classifier.in_features, head.classifier.out_features) == \
        (768, 7)
    head.eval()
    x = torch.randn(2, 12, size, size)
    assert head(x).shape == (2, 7) and torch.allclose(head(x), head.classifier(head.features(x).flatten(1)))
    assert dn.AuxiliaryHead(4, 3).features[1].stride == 3 and len(dn.AuxiliaryHead(4, 3).features) == 8


def test_the_reduction_cells() -> None:
    assert [dn.reduction_cells(n) for n in (1, 2, 3, 5, 8, 20)] == [(0, 0), (0, 1), (1, 2), (1, 3), (2, 5), (6, 13)]
    assert dn.reduction_cells(5, "none") == () and dn.reduction_cells(5, "1+3") == (1, 3)
    assert dn.reduction_cells(5, 2) == (2,) and dn.reduction_cells(5, "0") == (0,)
    assert dn.reduction_cells(5, "4") == (4,)
    for bad in ("x", "5", "-1", "1+9", "1+"):
        assert refusal(ValueError, lambda: dn.reduction_cells(5, bad)) == (
            f"reductions={bad!r}: give 'auto', 'none' or cell indices in 0..4 joined by '+' (e.g. reductions=1+3)")


def test_the_stack_doubles_the_channels_at_each_reduction() -> None:
    cells, c_p, c_aux = dn.stack_cells(V2, 5, 12, 12, 4, False)
    assert [c.reduction for c in cells] == [False, True, False, True, False]
    assert [c.preprocess1[1].out_channels for c in cells] == [4, 8, 8, 16, 16]
    assert [type(c.preprocess0).__name__ for c in cells] == ["ReLUConvBN", "ReLUConvBN", "FactorizedReduce",
                                                             "ReLUConvBN", "FactorizedReduce"]
    assert [c.preprocess1[1].in_channels for c in cells] == [12, 16, 32, 32, 64]
    assert cells[1].preprocess0[1].in_channels == 12 and cells[2].preprocess0.conv_1.in_channels == 16
    assert (c_p, c_aux) == (64, 64)  # the auxiliary head's place: after cell 2 * 5 // 3 = 3
    cells, c_p, c_aux = dn.stack_cells(V2, 6, 3, 3, 2, True, affine=False, reductions="none", pool_bn=True)
    assert not any(c.reduction for c in cells) and type(cells[0].preprocess0) is dn.FactorizedReduce
    assert (c_p, c_aux) == (8, 8) and cells[0].edge_ops[0][-1][-1].affine is False
    reducing, _, _ = dn.stack_cells(V2, 3, 3, 3, 2, False, pool_bn=True)  # DARTS-V2's reduction cell pools
    pools = [op for c in reducing for op in c.edge_ops if type(op) is nn.Sequential]  # a pool and its BatchNorm
    assert pools and all(type(p[1]) is nn.BatchNorm2d for p in pools)
    _, _, none = dn.stack_cells(V2, 1, 3, 3, 2, False, reductions="none")
    assert none == 8  # one cell: it is cell 2 * 1 // 3 = 0


def test_the_network_layout_and_its_outputs() -> None:
    torch.manual_seed(0)
    net = dn.Network(V2, C=4, layers=5, num_classes=7, auxiliary=True, drop_path_prob=0.2)
    conv, bn = net.stem
    _conv(conv, 3, 12, 3, 1, 1, 1, 1)
    _bn(bn, 12, True)
    assert net.drop_path_prob == 0.2 and net.aux_index == 3 and len(net.cells) == 5
    assert net.auxiliary_head.features[2].in_channels == 64 and net.classifier.in_features == 64
    assert net.classifier.out_features == 7 and net.auxiliary_head.classifier.out_features == 7
    assert type(net.global_pooling) is nn.AdaptiveAvgPool2d and net.global_pooling.output_size == 1
    x = torch.randn(2, 3, 32, 32)
    logits, aux = net(x)
    assert logits.shape == aux.shape == (2, 7)
    net.eval()
    assert torch.is_tensor(net(x))
    s = net.stem(x)
    s0, s1 = s, s
    for cell in net.cells:
        s0, s1 = s1, cell(s0, s1)
    assert torch.allclose(net(x), net.classifier(s1.mean((2, 3))), atol=1e-6)
    bare = dn.Network(V2, C=3, layers=1, stem=False)
    assert type(bare.stem) is nn.Identity and bare.cells[0].preprocess1[1].in_channels == 3
    assert bare.auxiliary_head is None and bare.drop_path_prob == 0.0 and bare.classifier.out_features == 10


def test_run_cells_gives_the_auxiliary_logits_only_in_training_at_the_heads_place(monkeypatch) -> None:
    net = dn.Network(V2, C=4, layers=4, num_classes=3, auxiliary=True)
    seen: list = []
    real = net.auxiliary_head.forward
    monkeypatch.setattr(net.auxiliary_head, "forward", lambda x: seen.append(x.shape) or real(x))
    x = torch.randn(2, 3, 32, 32)
    out = dn.run_cells(net, net.stem(x), net.stem(x))
    assert isinstance(out, tuple) and seen == [(2, 64, 8, 8)]  # after cell 2 * 4 // 3 = 2, the second reduction
    net.eval()
    assert torch.is_tensor(dn.run_cells(net, net.stem(x), net.stem(x))) and len(seen) == 1


def test_build_names_the_defaults_and_passes_every_option() -> None:
    with torch.device("meta"):
        v2 = dn.build(DARTS_V2)
        assert sum(p.numel() for p in v2.parameters()) == 3_349_342  # DARTS's own log: param size = 3.349342MB
        assert len(v2.cells) == 20 and v2.classifier.in_features == 36 * 4 * 4 and v2.auxiliary_head is None
        net = dn.build(V2, C=6, layers=4, num_classes=5, auxiliary=True, stem=False, drop_path_prob=0.3,
                       affine_ops=False, reductions="1", pool_bn=True)
    assert net.classifier.out_features == 5 and net.auxiliary_head is not None and type(net.stem) is nn.Identity
    assert net.drop_path_prob == 0.3 and [c.reduction for c in net.cells] == [False, True, False, False]
    assert net.cells[0].edge_ops[0][-1][-1].affine is False and net.cells[0].preprocess1[1].out_channels == 6
    assert any(type(op) is nn.Sequential for c in net.cells for op in c.edge_ops)  # pool_bn: a pool and its BN
    assert dn.NETS == {"eval_cifar": {"C": 36, "layers": 20}, "nb301": {"C": 32, "layers": 8, "affine_ops": False},
                       "swap_proxy": {"C": 3, "layers": 1, "stem": False}}
    assert refusal(ValueError, lambda: dn.build(V2, C=4, layers=3, reductions="7")).startswith("reductions='7'")


def test_a_genotype_with_other_concat_lists_concatenates_those_nodes() -> None:
    g = Genotype(V2.normal, V2.reduce, (2, 5), (3, 4, 5))
    cells, c_p, _ = dn.stack_cells(g, 3, 6, 6, 2, False)
    assert [c.multiplier for c in cells] == [2, 3, 3] and c_p == 3 * 8


def test_the_defaults_of_each_builder(monkeypatch) -> None:
    """DARTS's CIFAR-10 evaluation network, affine edge BatchNorms, no pool BatchNorm, no drop-path by default."""
    with torch.device("meta"):
        net = dn.Network(V2)
        built = dn.build(V2)
    for n in (net, built):
        assert len(n.cells) == 20 and n.stem[0].out_channels == 108 and n.classifier.out_features == 10
        assert n.drop_path_prob == 0.0 and n.auxiliary_head is None
        assert not any(type(op) is nn.Sequential for c in n.cells for op in c.edge_ops)  # pools bare
        assert n.cells[0].edge_ops[0][-1][-1].affine is True
    reducing = dn.Cell(V2, 4, 4, 4, True, False)  # DARTS-V2's reduction cell: pools and skips
    assert all(type(op) is not nn.Sequential for op in reducing.edge_ops)
    assert dn.Cell(V2, 4, 4, 4, False, False).edge_ops[0][-1][-1].affine is True
    cells, _, _ = dn.stack_cells(V2, 3, 4, 4, 2, False)
    assert not any(type(op) is nn.Sequential for c in cells for op in c.edge_ops)
    assert cells[0].edge_ops[0][-1][-1].affine is True
    assert dn.make_op("skip_connect", 4, 2).bn.affine is True
    calls: list = []
    monkeypatch.setattr(dn, "drop_path", lambda h, p: calls.append(p) or h)
    s = torch.randn(2, 4, 6, 6)
    dn.Cell(V2, 4, 4, 4, False, False)(s, s)  # training mode, no drop probability given: none
    assert calls == []


def test_the_network_passes_its_drop_path_probability_to_every_cell(monkeypatch) -> None:
    calls: list = []
    monkeypatch.setattr(dn, "drop_path", lambda h, p: calls.append(p) or h)
    net = dn.Network(V2, C=2, layers=3, drop_path_prob=0.4)
    net(torch.randn(2, 3, 16, 16))
    assert calls and set(calls) == {0.4}


def test_a_wrong_arch_is_refused_naming_the_darts_space() -> None:
    assert refusal(TypeError, lambda: dn.build(3)) == \
        "darts: expected an arch or its string, got int (a darts Genotype, or a string darts's parse reads)"
