"""The DARTS ImageNet network (``swapnas.spaces.darts_imagenet``), from its mutation run (session 48): its two stems'
layers written out, the cell stack and the auxiliary head's place, every refusal whole, the forward computed from the
network's own parts, and the builder's options."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from swapnas.spaces import darts_imagenet as di
from swapnas.spaces import darts_net
from swapnas.spaces.darts_genotype import parse

from .message_tools import refusal
from .net_tools import randomise_batchnorm
from .test_darts_genotype import DARTS_V2
from .test_ops_mutants import _conv

V2 = parse(DARTS_V2)


def test_the_two_stems() -> None:
    net = di.NetworkImageNet(V2, C=8, layers=3, num_classes=5)
    assert [type(m) for m in net.stem0] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Conv2d, nn.BatchNorm2d]
    _conv(net.stem0[0], 3, 4, 3, 2, 1)
    assert net.stem0[1].num_features == 4
    assert net.stem0[2].inplace is True
    _conv(net.stem0[3], 4, 8, 3, 2, 1)
    assert net.stem0[4].num_features == 8
    assert [type(m) for m in net.stem1] == [nn.ReLU, nn.Conv2d, nn.BatchNorm2d]
    assert net.stem1[0].inplace is False  # stem0's output is also the first cell's s0
    _conv(net.stem1[1], 8, 8, 3, 2, 1)
    assert net.stem1[2].num_features == 8


@pytest.mark.parametrize(("layers", "reductions"), [(3, (1, 2)), (6, (2, 4)), (1, (0,))])
def test_the_cells_and_the_auxiliary_heads_place(layers: int, reductions: tuple) -> None:
    net = di.NetworkImageNet(V2, C=8, layers=layers, num_classes=5, auxiliary=True, drop_path_prob=0.25)
    assert net.drop_path_prob == 0.25 and len(net.cells) == layers and net.aux_index == 2 * layers // 3
    assert [i for i, c in enumerate(net.cells) if c.reduction] == [r for r in reductions if r < layers]
    cells, c_p, c_aux = darts_net.stack_cells(V2, layers, 8, 8, 8, True)
    assert [type(c.preprocess0) for c in net.cells] == [type(c.preprocess0) for c in cells]
    assert type(net.cells[0].preprocess0) is darts_net.FactorizedReduce  # s0 (stem0) has twice s1's resolution
    assert net.cells[0].preprocess0.conv_1.in_channels == net.cells[0].preprocess1[1].in_channels == 8
    assert net.classifier.in_features == c_p and net.classifier.out_features == 5
    assert type(net.global_pooling) is nn.AdaptiveAvgPool2d and net.global_pooling.output_size == 1
    head = net.auxiliary_head
    assert type(head) is darts_net.AuxiliaryHead and head.features[2].in_channels == c_aux
    assert head.features[1].stride == 2 and type(head.features[-1]) is nn.AdaptiveAvgPool2d
    assert head.classifier.out_features == 5
    assert di.NetworkImageNet(V2, C=8, layers=layers).auxiliary_head is None


def test_refusals_are_whole() -> None:
    for C in (7, 1):
        assert refusal(ValueError, lambda: di.NetworkImageNet(V2, C=C, layers=3)) == \
            f"the ImageNet stem halves C, so C must be even (got {C})"
    for layers in (0, -1):
        assert refusal(ValueError, lambda: di.NetworkImageNet(V2, C=8, layers=layers)) == \
            f"layers must be >= 1 (got {layers})"


def test_the_forward_from_its_parts() -> None:
    torch.manual_seed(0)
    net = di.NetworkImageNet(V2, C=8, layers=3, num_classes=5, auxiliary=True)
    randomise_batchnorm(net)
    net.eval()
    x = torch.randn(2, 3, 64, 64)
    s0 = net.stem0(x)
    s1 = net.stem1(s0)
    assert (s0.shape[-1], s1.shape[-1]) == (16, 8)
    for cell in net.cells:
        s0, s1 = s1, cell(s0, s1, 0.0)
    want = net.classifier(s1.mean((2, 3)))
    assert torch.allclose(net(x), want, atol=1e-5)
    net.train()
    logits, aux = net(torch.randn(2, 3, 224, 224))  # the auxiliary head's 5×5 pool needs its 7×7 map
    assert logits.shape == aux.shape == (2, 5)


def test_the_builder_passes_every_option_on() -> None:
    with torch.device("meta"):
        default = di.build_imagenet(DARTS_V2)
        assert default.stem0[3].out_channels == 48 and len(default.cells) == 14
        assert default.classifier.out_features == 1000 and default.auxiliary_head is None
        assert default.drop_path_prob == 0.0
        small = di.build_imagenet(V2, C=8, layers=3, num_classes=7, auxiliary=True, drop_path_prob=0.5)
        assert small.stem0[3].out_channels == 8 and len(small.cells) == 3 and small.classifier.out_features == 7
        assert small.auxiliary_head is not None and small.drop_path_prob == 0.5
        own = di.NetworkImageNet(V2)  # the class's own defaults: the mobile setting too
        assert own.stem0[3].out_channels == 48 and len(own.cells) == 14 and own.classifier.out_features == 1000
        assert own.auxiliary_head is None and own.drop_path_prob == 0.0
    assert refusal(TypeError, lambda: di.build_imagenet(None)) == (  # type: ignore[arg-type]
        "darts: expected an arch or its string, got NoneType (a darts Genotype, or a string darts's parse reads)")
