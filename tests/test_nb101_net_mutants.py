"""The NAS-Bench-101 network (``swapnas.spaces.nb101_net``), from its mutation run (session 48): the conv op's layers
and the benchmark's BatchNorm settings, each vertex's channels against the benchmark's rule written here as its
original code states it (in-degree of the output, a correction for the first vertices, the widest successor), and a
cell and the network computed step by step from their own modules."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from swapnas.spaces import nb101
from swapnas.spaces import nb101_net as net
from swapnas.spaces.nb101_cell import _pruned
from swapnas.spaces.ops import MaxPool2d

from .net_tools import randomise_batchnorm

C1, C3, MP = net.CONV1X1, net.CONV3X3, net.MAXPOOL3X3


def _naive_channels(c_in: int, c_out: int, matrix: tuple[tuple[int, ...], ...]) -> list[int]:
    """The benchmark's ``compute_vertex_channels``: the output's channels split among its in-edges from op vertices
    (the remainder one each to the first), then, from the last op vertex back, a vertex that does not feed the
    output takes the most channels among the op vertices it feeds."""
    n = len(matrix)
    ch = [0] * n
    ch[0], ch[-1] = c_in, c_out
    if n == 2:
        return ch
    in_degree = sum(matrix[u][n - 1] for u in range(1, n))
    interior, correction = c_out // in_degree, c_out % in_degree
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            ch[v] = interior
            if correction:
                ch[v] += 1
                correction -= 1
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            for w in range(v + 1, n - 1):
                if matrix[v][w]:
                    ch[v] = max(ch[v], ch[w])
    return ch


def _cells(count: int) -> list[tuple[tuple[tuple[int, ...], ...], tuple[str, ...]]]:
    rng = random.Random(101)
    return [_pruned(a.matrix, a.ops) for a in (nb101.sample(rng) for _ in range(count))]


def test_the_conv_op_and_the_benchmarks_batchnorm() -> None:
    assert (net.BN_MOMENTUM, net.BN_EPS) == (0.003, 1e-5)
    assert (net.INPUT, net.OUTPUT, C1, C3, MP) == ("input", "output", "conv1x1-bn-relu", "conv3x3-bn-relu",
                                                   "maxpool3x3")
    for kernel, pad in ((1, 0), (3, 1)):
        conv, bn, relu = net.ConvBNReLU(5, 7, kernel)
        assert type(conv) is nn.Conv2d and type(bn) is nn.BatchNorm2d and type(relu) is nn.ReLU
        assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.padding) == (5, 7, (kernel, kernel),
                                                                                         (pad, pad))
        assert (conv.stride, conv.groups, conv.bias) == ((1, 1), 1, None)
        assert (bn.num_features, bn.eps, bn.momentum, bn.affine) == (7, 1e-5, 0.003, True)
        assert relu.inplace is False


def test_vertex_channels_by_hand() -> None:
    two = ((0, 1), (0, 0))
    assert net.vertex_channels(3, 8, two) == [3, 8]
    # 0 → 1, 2, 3; 1, 2, 3 → 4 (output): 128 split 43, 43, 42
    fan = ((0, 1, 1, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    assert net.vertex_channels(64, 128, fan) == [64, 43, 43, 42, 128]
    # 1 feeds 2 and 3 only; 2 and 3 feed the output (5 split 3, 2): 1 takes the wider, 3
    chain = ((0, 1, 0, 0, 1), (0, 0, 1, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    assert net.vertex_channels(4, 5, chain) == [4, 3, 3, 2, 5]
    # 1 → 2 → 3 → output, 1 → 3: a line of vertices not feeding the output takes its successor's width
    line = ((0, 1, 0, 0, 0), (0, 0, 1, 1, 0), (0, 0, 0, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    assert net.vertex_channels(16, 32, line) == [16, 32, 32, 32, 32]
    # the input and vertex 2 feed the output: 2 takes all 9, and 1, feeding 2 only, as many
    direct = ((0, 1, 0, 1), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0))
    assert net.vertex_channels(8, 9, direct) == [8, 9, 9, 9]


def test_vertex_channels_follow_the_benchmarks_rule_on_sampled_cells() -> None:
    for matrix, _ in _cells(300):
        for c_in, c_out in ((128, 128), (128, 256), (16, 7)):
            assert net.vertex_channels(c_in, c_out, matrix) == _naive_channels(c_in, c_out, matrix), matrix


def test_each_vertex_op() -> None:
    one, three, pool = net._vertex_op(C1, 6), net._vertex_op(C3, 6), net._vertex_op(MP, 6)
    assert type(one) is net.ConvBNReLU and one[0].kernel_size == (1, 1) and one[0].in_channels == 6
    assert one[0].out_channels == 6
    assert type(three) is net.ConvBNReLU and three[0].kernel_size == (3, 3) and three[0].out_channels == 6
    assert three[0].in_channels == 6
    assert type(pool) is MaxPool2d and (pool.kernel_size, pool.stride, pool.padding) == (3, 1, 1)


def _naive_cell(cell: net.Cell, x: torch.Tensor) -> torch.Tensor:
    m, ch, n = cell.matrix, cell.channels, len(cell.ops)
    values: dict[int, torch.Tensor] = {}
    for v in range(1, n - 1):
        total = None
        for u in range(1, v):
            if m[u][v]:
                part = values[u][:, :ch[v]]
                total = part if total is None else total + part
        if m[0][v]:
            part = cell.proj[str(v)](x)
            total = part if total is None else total + part
        assert total is not None
        values[v] = cell.vertex_ops[str(v)](total)
    feeders = [values[u] for u in range(1, n - 1) if m[u][n - 1]]
    if not feeders:
        return cell.proj[str(n - 1)](x)
    out = torch.cat(feeders, 1)
    return out + cell.proj[str(n - 1)](x) if m[0][n - 1] else out


def test_a_cell_by_its_definition_on_sampled_and_edge_cells() -> None:
    torch.manual_seed(0)
    cells = _cells(40) + [
        (((0, 1), (0, 0)), ("input", "output")),
        (((0, 1, 1), (0, 0, 1), (0, 0, 0)), ("input", MP, "output")),
        (((0, 1, 0, 1), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0)), ("input", C1, MP, "output")),
    ]
    for matrix, ops in cells:
        cell = net.Cell(matrix, ops, 6, 10)
        randomise_batchnorm(cell)
        cell.eval()
        n = len(ops)
        assert (cell.matrix, cell.ops, cell.channels) == (matrix, ops, net.vertex_channels(6, 10, matrix))
        assert sorted(cell.proj, key=int) == [str(v) for v in range(1, n) if matrix[0][v]]
        for v, proj in cell.proj.items():
            assert type(proj) is net.ConvBNReLU and proj[0].kernel_size == (1, 1)
            assert (proj[0].in_channels, proj[0].out_channels) == (6, cell.channels[int(v)])
        assert sorted(cell.vertex_ops, key=int) == [str(v) for v in range(1, n - 1)]
        for v, op in cell.vertex_ops.items():
            want = type(net._vertex_op(ops[int(v)], 4))
            assert type(op) is want, (ops, v)
            if want is net.ConvBNReLU:
                assert op[0].in_channels == op[0].out_channels == cell.channels[int(v)]
        x = torch.randn(2, 6, 5, 5)
        got = cell(x)
        assert got.shape == (2, 10, 5, 5)
        assert torch.allclose(got, _naive_cell(cell, x), atol=1e-5), (matrix, ops)


@pytest.mark.parametrize(("stacks", "cells", "C", "classes"), [(3, 3, 8, 10), (2, 1, 4, 5), (1, 2, 6, 3)])
def test_the_network_by_its_definition(stacks: int, cells: int, C: int, classes: int) -> None:
    torch.manual_seed(stacks)
    (matrix, ops), = _cells(1)
    model = net.Network("an arch", matrix, ops, C=C, stacks=stacks, cells=cells, num_classes=classes)
    assert model.arch == "an arch"
    assert type(model.stem) is net.ConvBNReLU and model.stem[0].kernel_size == (3, 3)
    assert (model.stem[0].in_channels, model.stem[0].out_channels) == (3, C)
    kinds = [type(m) for m in model.cells]
    pools = [m for m in model.cells if isinstance(m, nn.MaxPool2d)]
    assert kinds == ([net.Cell] * cells + [nn.MaxPool2d]) * (stacks - 1) + [net.Cell] * cells
    assert all((p.kernel_size, p.stride, p.ceil_mode, p.padding) == (2, 2, True, 0) for p in pools)
    widths = [(c.channels[0], c.channels[-1]) for c in model.cells if isinstance(c, net.Cell)]
    want, c_prev = [], C
    for s in range(stacks):
        for _ in range(cells):
            want.append((c_prev, C * 2 ** s))
            c_prev = C * 2 ** s
    assert widths == want
    assert all(c.matrix == matrix and c.ops == ops for c in model.cells if isinstance(c, net.Cell))
    assert type(model.global_pooling) is nn.AdaptiveAvgPool2d and model.global_pooling.output_size == 1
    assert (model.classifier.in_features, model.classifier.out_features) == (c_prev, classes)
    randomise_batchnorm(model)
    model.eval()
    x = torch.randn(2, 3, 9, 9)  # odd sides: the pools round up (TF 'same')
    h = model.stem(x)
    for m in model.cells:
        h = m(h)
    side = 9
    for _ in range(stacks - 1):
        side = (side + 1) // 2
    assert h.shape == (2, c_prev, side, side)
    assert torch.allclose(model(x), model.classifier(h.mean((2, 3))), atol=1e-5)


def test_the_networks_defaults() -> None:
    (matrix, ops), = _cells(1)
    with torch.device("meta"):
        model = net.Network(None, matrix, ops)
    assert model.stem[0].out_channels == 128 and model.classifier.out_features == 10
    assert len([m for m in model.cells if isinstance(m, net.Cell)]) == 9 and model.classifier.in_features == 512
