"""The TransNAS-Bench-101 micro and macro spaces (``swapnas.spaces.transnas_micro`` and ``transnas_macro``) beyond
their ``Arch`` checks and cached parts (sessions 38–39), from their mutation runs (session 48): the string and NASLib
forms with every refusal whole, the draws of sampling and mutation against the same draws made here, the macro
neighbours against every skeleton one edit away, isomorphism keys worked out by hand, a micro cell computed from its
own edges, and the counts, ranges and priors against networks built here."""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from torch import nn

from swapnas.spaces import transnas as tn
from swapnas.spaces import transnas_macro as macro
from swapnas.spaces import transnas_micro as micro
from swapnas.spaces.ops import ReLUConvBN

from .message_tools import refusal
from .net_tools import randomise_batchnorm, size

CELL = micro.Arch((1, 0, 2, 3, 3, 3))
OP_LIST = "0 none, 1 skip_connect, 2 conv_1x1, 3 conv_3x3"


# ----------------------------------------------------------------------------- micro


def test_the_micro_constants() -> None:
    assert (micro.NAME, micro.OPS, micro.SKELETON, micro.PREFIX, micro.NUM_ARCHS) == \
        ("transnas_micro", ("none", "skip_connect", "conv_1x1", "conv_3x3"), "41414", "64-41414-", 4096)
    assert micro.EDGES == ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
    assert micro.TASKS is tn.TASKS and micro.MAP_ROWS_PER_SAMPLE is tn.MAP_ROWS_PER_SAMPLE
    assert micro._OP_LIST == OP_LIST


def test_the_micro_string_forms() -> None:
    assert micro.format_arch(CELL) == "64-41414-1_02_333" and micro.to_naslib(CELL) == "(1, 0, 2, 3, 3, 3)"
    for text in ("64-41414-1_02_333", " 1_02_333\n", "(1, 0, 2, 3, 3, 3)", "(1,0,2,3,3,3)"):
        assert micro.parse(text) == CELL
    assert micro.parse_naslib("(1, 0, 2, 3, 3, 3)") == CELL


@pytest.mark.parametrize(("text", "message"), [
    ("64-41414-1_02_333-x", "TransNAS micro arch '64-41414-1_02_333-x' must look like '64-41414-1_02_333'"),
    ("64-1_02_333", "TransNAS micro arch '64-1_02_333' must look like '64-41414-1_02_333'"),
    ("32-41414-1_02_333", "TransNAS micro arch '32-41414-1_02_333' must start with '64-41414-' (base channels 64, "
                          "skeleton 41414); a string like '64-1234-basic' is a macro arch (space transnas_macro)"),
    ("64-1234-basic", "TransNAS micro arch '64-1234-basic' must start with '64-41414-' (base channels 64, skeleton "
                      "41414); a string like '64-1234-basic' is a macro arch (space transnas_macro)"),
    ("64-41414-1_02_334", "TransNAS micro cell '1_02_334' in '64-41414-1_02_334' must look like 'a_bc_def' with op "
                          f"codes 0..3 ({OP_LIST}), e.g. '1_02_333'"),
    ("1_02_33", f"TransNAS micro cell '1_02_33' in '1_02_33' must look like 'a_bc_def' with op codes 0..3 ({OP_LIST}), "
                "e.g. '1_02_333'"),
    ("x1_02_333", f"TransNAS micro cell 'x1_02_333' in 'x1_02_333' must look like 'a_bc_def' with op codes 0..3 "
                  f"({OP_LIST}), e.g. '1_02_333'"),
    ("(1, 0, 2, 3, 3, 4)", "TransNAS micro NASLib key '(1, 0, 2, 3, 3, 4)': TransNAS micro op codes are 0..3 "
                           f"({OP_LIST}); got 4 in (1, 0, 2, 3, 3, 4)"),
    ("(1, 0, 2)", "TransNAS micro NASLib key '(1, 0, 2)' must have 6 entries, found 3"),
    ("(1, 0, x)", "TransNAS micro NASLib key '(1, 0, x)' must look like '(1, 0, 0, 2, 1, 0)': 6 non-negative "
                  "integers in parentheses"),
])
def test_a_bad_micro_string_is_refused_whole(text: str, message: str) -> None:
    assert refusal(ValueError, lambda: micro.parse(text)) == message


def test_the_micro_space_in_product_order_and_its_draws() -> None:
    archs = list(micro.all_archs())
    assert archs == [micro.Arch(ops) for ops in itertools.product(range(4), repeat=6)]
    for seed in range(20):
        mine, rng = random.Random(seed), random.Random(seed)
        assert micro.sample(rng) == micro.Arch(tuple(mine.randrange(4) for _ in range(6)))
        assert rng.random() == mine.random()
        mine, rng = random.Random(seed), random.Random(seed)
        ops = list(CELL.ops)
        e = mine.randrange(6)
        ops[e] = mine.choice([o for o in range(4) if o != ops[e]])
        assert micro.mutate(CELL, rng) == micro.Arch(tuple(ops)) and rng.random() == mine.random()
    changed = {micro.mutate(CELL, random.Random(s)) for s in range(300)}
    assert len(changed) == 18  # 6 edges × 3 other ops


@pytest.mark.parametrize(("text", "key"), [
    ("0_00_000", "# | #"),
    ("1_00_001", "# | #"),  # node2 is zero, so the skip from it adds nothing
    ("1_02_333", "((0)@conv_1x1)@conv_3x3+(0)@conv_3x3+(0)@conv_3x3 | "
                 "(((0)@fr)@conv_1x1)@conv_3x3+((0)@fr)@conv_3x3+(0)@conv_3x3"),
    ("3_11_001", "(0)@conv_3x3+0 | (0)@conv_3x3+(0)@fr"),
    ("2_00_010", "(0)@conv_1x1 | (0)@conv_1x1"),
    ("0_30_020", "# | #"),  # node1 is zero: the 1×1 after it adds nothing, and node2 feeds nothing
    ("0_30_002", "((0)@conv_3x3)@conv_1x1 | ((0)@conv_3x3)@conv_1x1"),
])
def test_micro_isomorphism_keys_by_hand(text: str, key: str) -> None:
    assert micro.iso_key(micro.parse(text)) == key


def test_each_micro_edge_op() -> None:
    zero = micro._edge_op(0, 4, 8, 2)
    assert type(zero) is tn.ZeroMap and (zero.c_out, zero.stride) == (8, 2)
    assert type(micro._edge_op(1, 4, 4, 1)) is nn.Identity
    for c_in, c_out, stride in ((4, 8, 1), (4, 4, 2), (4, 8, 2)):
        fr = micro._edge_op(1, c_in, c_out, stride)
        assert type(fr) is tn.FactorizedReduce and fr.conv_a.in_channels == c_in and fr.bn.num_features == c_out
        assert fr.conv_a.stride == (stride, stride)
    for op, kernel, pad in ((2, 1, 0), (3, 3, 1)):
        block = micro._edge_op(op, 4, 8, 2)
        assert type(block) is ReLUConvBN
        conv = block[1]
        assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding) == \
            (4, 8, (kernel, kernel), (2, 2), (pad, pad))


@pytest.mark.parametrize(("c_in", "c_out", "stride"), [(4, 4, 1), (4, 8, 2)])
def test_a_micro_cell_by_its_definition(c_in: int, c_out: int, stride: int) -> None:
    torch.manual_seed(stride)
    arch = micro.parse("1_12_031")
    cell = micro.Cell(arch, c_in, c_out, stride)
    names = ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
    assert cell.wiring == [(int(n[0]), int(n[-1]), n) for n in names] and list(cell.edges) == names
    for (dst, src), op in zip(micro.EDGES, arch.ops):
        want = micro._edge_op(op, c_in, c_out, stride) if src == 0 else micro._edge_op(op, c_out, c_out, 1)
        got = cell.edges[f"{dst}<-{src}"]
        assert type(got) is type(want) and size(got) == size(want)
    randomise_batchnorm(cell)
    cell.eval()
    x = torch.randn(2, c_in, 6, 6)
    e = cell.edges
    n1 = e["1<-0"](x)
    n2 = e["2<-0"](x) + e["2<-1"](n1)
    n3 = e["3<-0"](x) + e["3<-1"](n1) + e["3<-2"](n2)
    assert torch.allclose(cell(x), n3, atol=1e-6) and n3.shape == (2, c_out, 6 // stride, 6 // stride)


def test_the_micro_encoder_and_build() -> None:
    enc = micro.Encoder(CELL, C=8)
    assert enc.arch is CELL and [len(m) for m in enc.layers] == [2] * 5
    assert all(type(c) is micro.Cell for m in enc.layers for c in m) and (enc.c_out, enc.n_down) == (64, 3)
    assert [m[0].edges["1<-0"].conv_a.stride for m in enc.layers if isinstance(m[0].edges["1<-0"],
                                                                              tn.FactorizedReduce)] == [(2, 2)] * 3
    with torch.device("meta"):
        net = micro.build("1_02_333", num_classes=5, task="room_layout", C=8, resolution=32)
        assert type(net) is tn.TaskNet and net.encoder.arch == CELL and net.encoder.stem[0].out_channels == 4
        assert (net.task, net.num_outputs, net.resolution) == ("room_layout", 5, 32)
        default = micro.build(CELL)
        assert (default.task, default.num_outputs, default.resolution) == ("class_object", 75, 64)
        assert default.encoder.stem[0].out_channels == 32
        seg = micro.build(CELL, task="segmentsemantic", C=16)
        assert seg.head[0][0].out_channels == 256  # 1024 · 16/64: the decoder scaled by its C
    assert refusal(TypeError, lambda: micro.build(None)) == (  # type: ignore[arg-type]
        "transnas_micro: expected an arch or its string, got NoneType (a transnas_micro Arch, or a string "
        "transnas_micro's parse reads)")


@pytest.mark.parametrize(("task", "n", "C"), [("class_object", None, 8), ("segmentsemantic", 4, 8),
                                              ("jigsaw", None, 16), ("normal", None, 8)])
def test_micro_counts_without_a_build(task: str, n: int | None, C: int) -> None:
    for arch in (CELL, micro.parse("0_00_000"), micro.parse("3_33_333"), micro.parse("1_11_111")):
        with torch.device("meta"):
            want = size(micro.build(arch, n, task, C))
        assert micro.count_params(arch, task, n, C, resolution=32, anything=1) == want
        assert micro.count_params(micro.format_arch(arch), task=task, num_classes=n, C=C) == want
    assert micro._cell_params(CELL.ops, 8, 16, 2) == size(micro.Cell(CELL, 8, 16, 2))
    with torch.device("meta"):
        assert micro.count_params(CELL) == size(micro.build(CELL))  # the defaults: class_object at C = 64


def test_the_micro_range_and_prior() -> None:
    with torch.device("meta"):
        lo = size(micro.build(micro.Arch((0,) * 6), 7, "room_layout", 8))
        hi = size(micro.build(micro.Arch((3,) * 6), 7, "room_layout", 8))
        default = (size(micro.build(micro.Arch((0,) * 6))), size(micro.build(micro.Arch((3,) * 6))))
    assert micro.param_range_k("room_layout", 7, 8, resolution=32) == (lo / 1e3, hi / 1e3)
    assert micro.param_range_k() == (default[0] / 1e3, default[1] / 1e3)
    assert micro.default_size_prior({"task": "room_layout", "C": 8, "resolution": 64}, 7) == \
        tn.size_prior_from_range(lo / 1e3, hi / 1e3)


# ----------------------------------------------------------------------------- macro


def test_the_macro_constants() -> None:
    assert (macro.NAME, macro.MIN_MODULES, macro.MAX_MODULES, macro.MIN_DOWN, macro.MAX_DOWN, macro.MIN_DOUBLE,
            macro.MAX_DOUBLE, macro.NASLIB_LEN, macro.NUM_ARCHS) == ("transnas_macro", 4, 6, 1, 4, 1, 3, 6, 3256)
    assert macro.CODES == {1: "normal", 2: "channels x2", 3: "resolution /2", 4: "channels x2 and resolution /2"}
    assert macro.TASKS is tn.TASKS and macro.MAP_ROWS_PER_SAMPLE is tn.MAP_ROWS_PER_SAMPLE


@pytest.mark.parametrize(("codes", "problem"), [
    ((1, 2, 3), "has 3 modules; the macro space has 4 to 6"),
    ((1, 2, 3, 4, 1, 2, 3), "has 7 modules; the macro space has 4 to 6"),
    ((1, 5, 0, 4), "module code 5 is not one of 1 normal, 2 channels x2, 3 resolution /2, 4 both"),
    ((1, 2, 1, 2), "downsamples 0 times (codes 3/4); the macro space allows 1 to 4"),
    ((3, 3, 3, 3, 4), "downsamples 5 times (codes 3/4); the macro space allows 1 to 4"),
    ((1, 1, 3, 1), "doubles channels 0 times (codes 2/4); the macro space allows 1 to 3"),
    ((2, 2, 2, 4), "doubles channels 4 times (codes 2/4); the macro space allows 1 to 3"),
    ((1, 2, 3, 4), None), ((4, 4, 4, 1, 3, 1), None), ((2, 3, 1, 1), None), ((3, 3, 3, 4), None),
])
def test_the_macro_skeleton_rules(codes: tuple, problem: str | None) -> None:
    assert macro._problems(codes) == problem


def test_the_macro_string_forms() -> None:
    arch = macro.Arch((1, 2, 3, 4))
    assert macro.format_arch(arch) == "64-1234-basic" == macro.iso_key(arch)
    assert macro.to_naslib(arch) == "(1, 2, 3, 4, 0, 0)"
    assert macro.to_naslib(macro.Arch((4, 1, 3, 1, 2, 1))) == "(4, 1, 3, 1, 2, 1)"
    for text in ("64-1234-basic", " 64-1234-basic\n", "(1, 2, 3, 4, 0, 0)", "(1,2,3,4,0,0)"):
        assert macro.parse(text) == arch
    assert macro.parse_naslib("(4, 1, 3, 1, 2, 1)") == macro.Arch((4, 1, 3, 1, 2, 1))


@pytest.mark.parametrize(("text", "message"), [
    ("64-12a4-basic", "TransNAS macro arch '64-12a4-basic' must look like '64-1234-basic' (base channels, 4-6 module "
                      "codes 1..4, 'basic')"),
    ("64-41414-1_02_333", "TransNAS macro arch '64-41414-1_02_333' must look like '64-1234-basic' (base channels, 4-6 "
                          "module codes 1..4, 'basic'); it looks like a micro arch (space transnas_micro)"),
    ("32-1234-basic", "TransNAS macro arch '32-1234-basic' must start with '64-' and end with '-basic'; a string like "
                      "'64-41414-1_02_333' is a micro arch (space transnas_micro)"),
    ("64-1234-bottleneck", "TransNAS macro arch '64-1234-bottleneck' must start with '64-' and end with '-basic'; a "
                           "string like '64-41414-1_02_333' is a micro arch (space transnas_micro)"),
    ("64-1111-basic", "TransNAS macro arch '64-1111-basic': TransNAS macro skeleton '1111' downsamples 0 times (codes "
                      "3/4); the macro space allows 1 to 4"),
    ("(1, 2, 0, 4, 0, 0)", "TransNAS macro NASLib key '(1, 2, 0, 4, 0, 0)': zeros (absent modules) may only trail"),
    ("(1, 2, 3, 0, 0, 0)", "TransNAS macro NASLib key '(1, 2, 3, 0, 0, 0)': TransNAS macro skeleton '123' has 3 "
                           "modules; the macro space has 4 to 6"),
    ("(0, 0, 0, 0, 0, 0)", "TransNAS macro NASLib key '(0, 0, 0, 0, 0, 0)': TransNAS macro skeleton '' has 0 "
                           "modules; the macro space has 4 to 6"),
    ("(1, 2, 3, 5, 0, 0)", "TransNAS macro NASLib key '(1, 2, 3, 5, 0, 0)': TransNAS macro skeleton '1235' module "
                           "code 5 is not one of 1 normal, 2 channels x2, 3 resolution /2, 4 both"),
    ("(1, 2, 3, 4)", "TransNAS macro NASLib key '(1, 2, 3, 4)' must have 6 entries, found 4"),
])
def test_a_bad_macro_string_is_refused_whole(text: str, message: str) -> None:
    assert refusal(ValueError, lambda: macro.parse(text)) == message


def test_a_macro_string_that_is_not_a_string() -> None:
    assert refusal(TypeError, lambda: macro.parse(12)) == "transnas_macro: expected an arch string, got int"  # type: ignore[arg-type]
    assert refusal(TypeError, lambda: micro.parse(12)) == "transnas_micro: expected an arch string, got int"  # type: ignore[arg-type]


def _edits(a: tuple, b: tuple) -> int:
    """Levenshtein distance between two code sequences."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def test_the_macro_space_its_neighbours_and_draws() -> None:
    every = list(macro.all_archs())
    want = [macro.Arch(c) for n in (4, 5, 6) for c in itertools.product((1, 2, 3, 4), repeat=n)
            if macro._problems(c) is None]
    assert every == want and len(every) == 3256
    for arch in (macro.Arch((1, 2, 3, 4)), macro.Arch((4, 4, 4, 1, 3, 1)), macro.Arch((2, 3, 1, 1))):
        got = macro.neighbours(arch)
        assert got == sorted(b for b in every if _edits(arch.codes, b.codes) == 1)
        for seed in range(10):
            mine, rng = random.Random(seed), random.Random(seed)
            assert macro.mutate(arch, rng) == mine.choice(got) and rng.random() == mine.random()
    for seed in range(10):
        mine, rng = random.Random(seed), random.Random(seed)
        assert macro.sample(rng) == mine.choice(every) and rng.random() == mine.random()


def test_the_macro_encoder_build_and_counts() -> None:
    arch = macro.Arch((1, 2, 3, 4))
    enc = macro.Encoder(arch, C=8)
    assert enc.arch is arch and [len(m) for m in enc.layers] == [2] * 4
    assert all(type(b) is tn.BasicBlock for m in enc.layers for b in m) and (enc.c_out, enc.n_down) == (32, 2)
    assert [m[0].conv_a[1].stride for m in enc.layers] == [(1, 1), (1, 1), (2, 2), (2, 2)]
    with torch.device("meta"):
        net = macro.build("64-1234-basic", num_classes=5, task="room_layout", C=8, resolution=32)
        assert net.encoder.arch == arch and (net.task, net.num_outputs, net.resolution) == ("room_layout", 5, 32)
        default = macro.build(arch)
        assert (default.task, default.num_outputs, default.resolution) == ("class_object", 75, 64)
        assert default.encoder.stem[0].out_channels == 32
        for task, n, C in (("class_object", None, 8), ("segmentsemantic", 4, 8), ("jigsaw", None, 16)):
            for a in (arch, macro.Arch((4, 4, 4, 1, 3, 1))):
                want = size(macro.build(a, n, task, C))
                assert macro.count_params(a, task, n, C, resolution=16, other=0) == want
                assert macro.count_params(macro.format_arch(a), task=task, num_classes=n, C=C) == want
        assert macro.count_params(arch) == size(macro.build(arch))  # the defaults: class_object at C = 64
    assert refusal(TypeError, lambda: macro.build(None)) == (  # type: ignore[arg-type]
        "transnas_macro: expected an arch or its string, got NoneType (a transnas_macro Arch, or a string "
        "transnas_macro's parse reads)")


def test_the_macro_prior_reads_the_task_and_width() -> None:
    net = {"task": "room_layout", "C": 8, "resolution": 64}
    assert macro.default_size_prior(net, 7) == \
        tn.size_prior_from_range(*macro.param_range_k(task="room_layout", num_classes=7, C=8))
