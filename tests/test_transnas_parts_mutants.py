"""TransNAS-Bench-101's shared parts (``swapnas.spaces.transnas``: the task table, NASLib keys, the stem, the 'none'
op, the factorized reduce, the basic block, the skeleton, the encoder, the decoders, the heads, ``TaskNet`` and the
counts; the cached ``_meta_count`` was judged in session 39), from their mutation run (session 48): each part's layers
and settings written out, each computed step by step from its own modules, and every refusal whole. Networks are
built here, never counted through the cache, so a mutant of a part cannot hide behind a count made before it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from swapnas import patterns
from swapnas.spaces import transnas as tn
from swapnas.spaces.ops import ReLUConvBN

from .message_tools import refusal
from .net_tools import randomise_batchnorm, size
from .test_ops_mutants import _conv


def test_the_constants_and_the_task_table() -> None:
    assert (tn.BENCH_C, tn.BENCH_RESOLUTION, tn.JIGSAW_TILES, tn.MAP_ROWS_PER_SAMPLE) == (64, 256, 9, {"jigsaw": 9})
    assert tn.TASK_NAMES == ("class_object", "class_scene", "room_layout", "jigsaw", "autoencoder", "normal",
                             "segmentsemantic")
    keys = {t: (i.name, i.benchmark_key) for t, i in tn.TASKS.items()}
    assert keys == {"class_object": ("class_object", "valid_top1"), "class_scene": ("class_scene", "valid_top1"),
                    "room_layout": ("room_layout", "valid_neg_loss"), "jigsaw": ("jigsaw", "valid_top1"),
                    "autoencoder": ("autoencoder", "valid_ssim"), "normal": ("normal", "valid_ssim"),
                    "segmentsemantic": ("segmentsemantic", "valid_acc")}
    assert [t for t, i in tn.TASKS.items() if i.dense] == ["autoencoder", "normal", "segmentsemantic"]
    assert tn.TASKS["room_layout"].metric.startswith("validation negative L2 (MSE) loss")
    assert tn.task_info("jigsaw") is tn.TASKS["jigsaw"]
    for bad in ("depth", None, ["class_object"]):
        assert refusal(ValueError, lambda: tn.task_info(bad)) == (  # type: ignore[arg-type]
            f"unknown TransNAS-Bench-101 task {bad!r}; choose one of class_object, class_scene, room_layout, jigsaw, "
            "autoencoder, normal, segmentsemantic")


def test_naslib_keys_read_without_eval() -> None:
    assert tn.parse_int_tuple("(1, 0, 0, 2, 1, 0)", 6, "x") == (1, 0, 0, 2, 1, 0)
    assert tn.parse_int_tuple("  (1,0 ,0,  2,1,0 ,)\n", 6, "x") == (1, 0, 0, 2, 1, 0)
    assert tn.parse_int_tuple("(123456789)", 1, "x") == (123456789,)
    for key in ("1, 0", "(1, -1)", "(1, a)", "(1, 1234567890)", "()", "(1,, 2)", "[1, 2]"):
        assert refusal(ValueError, lambda: tn.parse_int_tuple(key, 2, "TransNAS thing")) == (
            f"TransNAS thing key {key!r} must look like '(1, 0, 0, 2, 1, 0)': 2 non-negative integers in parentheses")
    assert refusal(ValueError, lambda: tn.parse_int_tuple("(1, 2, 3)", 2, "T")) == \
        "T key '(1, 2, 3)' must have 2 entries, found 3"


def test_the_stem() -> None:
    stem = tn.Stem(8)
    conv, bn, block = stem
    _conv(conv, 3, 4, 3, 2, 1)
    assert bn.num_features == 4
    assert type(block) is ReLUConvBN
    _conv(block[1], 4, 8, 3, 2, 1)
    assert tn.Stem(2)[0].out_channels == 1
    for C in (0, 1, 7, -2):
        assert refusal(ValueError, lambda: tn.Stem(C)) == \
            f"the TransNAS stem needs an even base channel count C >= 2, got C={C}"
    assert stem(torch.randn(2, 3, 17, 18)).shape == (2, 8, 5, 5)


def test_the_none_op_is_zeros_of_the_ops_shape() -> None:
    zero = tn.ZeroMap(5, 2)
    assert (zero.c_out, zero.stride) == (5, 2)
    x = torch.randn(2, 3, 7, 8, dtype=torch.float64)
    out = zero(x)
    assert out.shape == (2, 5, 4, 4) and out.dtype == torch.float64 and not out.any()
    assert tn.ZeroMap(3, 1)(x).shape == (2, 3, 7, 8) and tn.ZeroMap(3, 3)(x).shape == (2, 3, 3, 3)


def test_the_factorized_reduce_by_its_definition() -> None:
    torch.manual_seed(0)
    fr = tn.FactorizedReduce(4, 6, 2)
    assert type(fr.relu) is nn.ReLU and fr.relu.inplace is False
    _conv(fr.conv_a, 4, 3, 1, 2, 0)
    _conv(fr.conv_b, 4, 3, 1, 2, 0)
    assert fr.bn.num_features == 6
    assert tn.FactorizedReduce(4, 6, 1).conv_a.stride == (1, 1)
    for odd in (5, 9):
        assert refusal(ValueError, lambda: tn.FactorizedReduce(4, odd, 2)) == \
            f"FactorizedReduce needs an even output channel count, got {odd}"
    assert tn.FactorizedReduce(4, 4, 2).bn.num_features == 4
    randomise_batchnorm(fr)
    fr.eval()
    x = torch.randn(2, 4, 7, 7)
    r = torch.relu(x)
    a = torch.einsum("oc,bchw->bohw", fr.conv_a.weight[:, :, 0, 0], r[:, :, ::2, ::2])
    shifted = torch.zeros_like(r)
    shifted[:, :, :-1, :-1] = r[:, :, 1:, 1:]  # one pixel down and right, zero past the edge
    b = torch.einsum("oc,bchw->bohw", fr.conv_b.weight[:, :, 0, 0], shifted[:, :, ::2, ::2])
    want = fr.bn(torch.cat([a, b], 1))
    assert torch.allclose(fr(x), want, atol=1e-5)
    for h, w in ((6, 6), (6, 7), (7, 6)):  # even sides: a shift padded by more than one would not line up
        assert fr(torch.randn(1, 4, h, w)).shape == (1, 6, (h + 1) // 2, (w + 1) // 2)


@pytest.mark.parametrize(("c_in", "c_out", "stride"), [(4, 4, 1), (4, 8, 1), (4, 4, 2), (4, 8, 2)])
def test_the_basic_block_by_its_definition(c_in: int, c_out: int, stride: int) -> None:
    torch.manual_seed(stride)
    block = tn.BasicBlock(c_in, c_out, stride)
    _conv(block.conv_a[1], c_in, c_out, 3, stride, 1)
    _conv(block.conv_b[1], c_out, c_out, 3, 1, 1)
    if stride == 1 and c_in == c_out:
        assert type(block.shortcut) is nn.Identity
    else:
        conv, bn = block.shortcut
        _conv(conv, c_in, c_out, 1, stride, 0)
        assert bn.num_features == c_out
    randomise_batchnorm(block)
    block.eval()
    x = torch.randn(2, c_in, 6, 6)
    assert torch.allclose(block(x), block.shortcut(x) + block.conv_b(block.conv_a(x)), atol=1e-6)
    assert block(x).shape == (2, c_out, 6 // stride, 6 // stride)


def test_the_skeleton_plan() -> None:
    assert tn.skeleton_plan("41414", 64) == [(64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1),
                                             (256, 512, 2)]
    assert tn.skeleton_plan("1234", 8) == [(8, 8, 1), (8, 16, 1), (16, 16, 2), (16, 32, 2)]
    assert tn.skeleton_plan("", 8) == []
    for bad, digit in (("1250", "5"), ("0", "0"), ("12a", "a"), ("1X2", "X")):
        assert refusal(ValueError, lambda: tn.skeleton_plan(bad, 8)) == \
            f"skeleton {bad!r}: module code {digit!r} must be 1, 2, 3 or 4"


def test_the_encoder_and_its_modules() -> None:
    made: list[tuple[int, int, int]] = []

    def unit(c_in: int, c_out: int, stride: int) -> nn.Module:
        made.append((c_in, c_out, stride))
        return tn.BasicBlock(c_in, c_out, stride)

    enc = tn.Encoder("1243", 4, unit)
    assert made == [(4, 4, 1), (4, 4, 1), (4, 8, 1), (8, 8, 1), (8, 16, 2), (16, 16, 1), (16, 16, 2), (16, 16, 1)]
    assert type(enc.stem) is tn.Stem and enc.stem[0].out_channels == 2
    assert [len(m) for m in enc.layers] == [2, 2, 2, 2] and (enc.c_out, enc.n_down) == (16, 2)
    made.clear()
    three = tn.Encoder("24", 4, unit, units_per_module=3)
    assert made == [(4, 8, 1), (8, 8, 1), (8, 8, 1), (8, 16, 2), (16, 16, 1), (16, 16, 1)]
    assert (three.c_out, three.n_down) == (16, 1)
    assert tn.Encoder("444", 4, unit).n_down == 3 and tn.Encoder("4", 4, unit).n_down == 1
    bare = tn.Encoder("", 6, unit)
    assert (bare.c_out, bare.n_down, len(bare.layers)) == (6, 0, 0)
    randomise_batchnorm(enc)
    enc.eval()
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(enc(x), enc.layers(enc.stem(x))) and enc(x).shape == (2, 16, 2, 2)


def test_decoder_widths_and_layers() -> None:
    assert [tn._width(w, 64) for w in (1024, 16)] == [1024, 16]
    assert [tn._width(w, 16) for w in (1024, 16, 3)] == [256, 4, 1]
    assert tn._width(100, 8) == 12  # 800 // 64
    plain = tn.ConvLayer(3, 5)
    assert [type(m) for m in plain] == [nn.Conv2d, nn.BatchNorm2d]
    conv = plain[0]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding) == \
        (3, 5, (3, 3), (1, 1), (1, 1))
    assert conv.bias is not None and plain[1].num_features == 5
    up = tn.ConvLayer(3, 5, upsample=True, norm=False, act=nn.Tanh())
    assert [type(m) for m in up] == [nn.ConvTranspose2d, nn.Tanh]
    t = up[0]
    assert (t.in_channels, t.out_channels, t.kernel_size, t.stride, t.padding, t.output_padding) == \
        (3, 5, (3, 3), (2, 2), (1, 1), (1, 1)) and t.bias is not None
    assert up(torch.randn(1, 3, 4, 5)).shape == (1, 5, 8, 10)
    leaky = tn._leaky()
    assert type(leaky) is nn.LeakyReLU and leaky.negative_slope == 0.2 and leaky.inplace is False
    for n in (1, 7):
        assert refusal(ValueError, lambda: tn._check_upsamples(n)) == \
            f"a TransNAS dense decoder needs 2..6 upsamplings (2 + downsampling modules), got {n}"
    tn._check_upsamples(2)
    tn._check_upsamples(6)


def _layers(decoder: nn.Sequential) -> list[tuple]:
    out = []
    for layer in decoder:
        conv = layer[0]
        kinds = tuple(type(m).__name__ for m in list(layer)[1:])  # a slice would rebuild the ConvLayer
        out.append((conv.in_channels, conv.out_channels, isinstance(conv, nn.ConvTranspose2d), kinds))
    return out


@pytest.mark.parametrize("n_up", [2, 3, 4, 5, 6])
def test_the_generative_decoder(n_up: int) -> None:
    with torch.device("meta"):  # the benchmark's widths: the layers' settings only
        dec = tn.GenerativeDecoder(512, n_up)
    widths = [1024, 1024, 512, 512, 256, 128, 64, 64, 32, 32, 16, 32, 16]
    ups = {2: {10, 12}, 3: {8, 10, 12}, 4: {6, 8, 10, 12}, 5: {4, 6, 8, 10, 12}, 6: {2, 4, 6, 8, 10, 12}}[n_up]
    want = [(c_in, c_out, i in ups, ("BatchNorm2d", "LeakyReLU"))
            for i, (c_in, c_out) in enumerate(zip([512] + widths, widths))]
    assert _layers(dec) == want + [(16, 3, False, ("Tanh",))]
    assert all(layer[2].negative_slope == 0.2 for layer in list(dec)[:-1])
    small = tn.GenerativeDecoder(8, n_up, c_out=2, C=16)
    assert [w for _, w, _, _ in _layers(small)] == [w // 4 for w in widths] + [2]
    x = torch.randn(1, 8, 2, 2)
    assert small(x).shape == (1, 2, 2 * 2 ** n_up, 2 * 2 ** n_up)


@pytest.mark.parametrize("n_up", [2, 4, 6])
def test_the_segmentation_decoder(n_up: int) -> None:
    with torch.device("meta"):
        dec = tn.SegmentationDecoder(512, n_up)
    w, want = 1024, [(512, 1024, False, ("BatchNorm2d", "LeakyReLU"))]
    for _ in range(6 - n_up):
        want.append((w, w // 2, False, ("BatchNorm2d", "LeakyReLU")))
        w //= 2
    for _ in range(n_up - 1):
        want.append((w, w // 2, True, ("BatchNorm2d", "LeakyReLU")))
        w //= 2
    want += [(w, w, True, ("BatchNorm2d", "LeakyReLU")), (w, 17, False, ())]
    assert _layers(dec) == want and w == 32
    small = tn.SegmentationDecoder(8, n_up, c_out=5, C=16)
    assert _layers(small)[-1] == (8, 5, False, ()) and _layers(small)[0][:2] == (8, 256)
    assert small(torch.randn(1, 8, 2, 2)).shape == (1, 5, 2 * 2 ** n_up, 2 * 2 ** n_up)
    for bad in (1, 7):
        assert refusal(ValueError, lambda: tn.SegmentationDecoder(8, bad)) == \
            f"a TransNAS dense decoder needs 2..6 upsamplings (2 + downsampling modules), got {bad}"
        assert refusal(ValueError, lambda: tn.GenerativeDecoder(8, bad)) == \
            f"a TransNAS dense decoder needs 2..6 upsamplings (2 + downsampling modules), got {bad}"


def test_each_tasks_head() -> None:
    pool = tn.PoolLinear(6, 4)
    assert [type(m) for m in pool] == [nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear]
    assert pool[0].output_size == 1 and pool[1].start_dim == 1 and (pool[2].in_features, pool[2].out_features) == (6, 4)
    x = torch.randn(2, 6, 3, 3)
    assert torch.allclose(pool(x), pool[2](x.mean((2, 3))), atol=1e-6)
    for task in ("class_object", "class_scene", "room_layout"):
        head = tn.make_head(task, 6, 3, 4, 16)
        assert type(head) is tn.PoolLinear and (head[2].in_features, head[2].out_features) == (6, 4)
    jig = tn.make_head("jigsaw", 6, 3, 4, 16)
    assert type(jig) is nn.Linear and (jig.in_features, jig.out_features) == (54, 4)
    for task in ("autoencoder", "normal"):
        gen = tn.make_head(task, 6, 3, 4, 16)
        assert type(gen) is tn.GenerativeDecoder and _layers(gen)[0][:2] == (6, 256)
        assert _layers(gen)[-1][:2] == (4, 4) and [up for *_, up, _ in _layers(gen)].count(True) == 5
    seg = tn.make_head("segmentsemantic", 6, 2, 4, 16)
    assert type(seg) is tn.SegmentationDecoder and _layers(seg)[-1][1] == 4
    assert [up for *_, up, _ in _layers(seg)].count(True) == 4
    assert refusal(ValueError, lambda: tn.make_head("depth", 6, 3, 4)) == (
        "unknown TransNAS-Bench-101 task 'depth'; choose one of class_object, class_scene, room_layout, jigsaw, "
        "autoencoder, normal, segmentsemantic")
    with torch.device("meta"):
        assert _layers(tn.make_head("normal", 6, 0, 3))[0][:2] == (6, 1024)  # C defaults to the benchmark's 64


def _encoder(C: int = 8, skeleton: str = "14") -> tn.Encoder:
    return tn.Encoder(skeleton, C, tn.BasicBlock)


def test_a_task_net_is_built_for_its_task() -> None:
    net = tn.TaskNet(_encoder(), "class_scene", resolution=32)
    assert (net.task, net.kind, net.num_outputs, net.resolution) == ("class_scene", "class", 47, 32)
    assert net.head[2].out_features == 47 and net.head[2].in_features == 16 and not hasattr(net, "pool")
    assert tn.TaskNet(_encoder(), "room_layout", num_classes=1).num_outputs == 1
    five = tn.TaskNet(_encoder(), "room_layout", num_classes=5.0)  # type: ignore[arg-type]
    assert five.num_outputs == 5 and type(five.num_outputs) is int and five.resolution is None
    jig = tn.TaskNet(_encoder(), "jigsaw", num_classes=3)
    assert type(jig.pool) is nn.AdaptiveAvgPool2d and jig.pool.output_size == 1 and jig.head.in_features == 9 * 16
    seg = tn.TaskNet(_encoder(), "segmentsemantic", C=8)
    assert type(seg.head) is tn.SegmentationDecoder and _layers(seg.head)[-1][1] == 17
    assert [up for *_, up, _ in _layers(seg.head)].count(True) == 3  # 2 + one stride-2 module
    assert _layers(seg.head)[0][1] == 128  # widths scaled by C/64 = 1/8
    for bad in (0, -3):
        assert refusal(ValueError, lambda: tn.TaskNet(_encoder(), "normal", num_classes=bad)) == \
            f"num_classes (the normal head's output size) must be >= 1, got {bad}"
    assert refusal(ValueError, lambda: tn.TaskNet(_encoder(), "depth")).startswith("unknown TransNAS-Bench-101 task")


def test_a_task_nets_forward() -> None:
    torch.manual_seed(0)
    net = tn.TaskNet(_encoder(), "room_layout", num_classes=3)
    randomise_batchnorm(net)
    net.eval()
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(net(x), net.head(net.encoder(x)), atol=1e-6)
    dense = tn.TaskNet(_encoder(), "normal", num_classes=3, C=8)
    randomise_batchnorm(dense)
    dense.eval()
    exact = torch.randn(1, 3, 64, 64)  # a multiple of 2**(2 + 1): the decoder's own size
    assert torch.allclose(dense(exact), dense.head(dense.encoder(exact)), atol=1e-6)
    odd = torch.randn(1, 3, 36, 44)
    raw = dense.head(dense.encoder(odd))
    assert raw.shape[-2:] == (40, 48)
    want = F.interpolate(raw, size=(36, 44), mode="bilinear", align_corners=False)
    assert torch.allclose(dense(odd), want, atol=1e-6)
    shaped = tn.TaskNet(_encoder(), "room_layout", num_classes=3)
    assert shaped(torch.randn(1, 3, 36, 44)).shape == (1, 3)  # a vector head is never resized


def test_jigsaw_cuts_a_grid_of_tiles_and_reads_them_side_by_side() -> None:
    torch.manual_seed(1)
    net = tn.TaskNet(_encoder(), "jigsaw", num_classes=4)
    randomise_batchnorm(net)
    net.eval()
    x = torch.randn(2, 3, 50, 47)  # 16×15 tiles; the last rows and columns are left out
    feats = []
    for s in range(2):
        per = [net.pool(net.encoder(x[s:s + 1, :, 16 * r:16 * r + 16, 15 * c:15 * c + 15])).flatten()
               for r in range(3) for c in range(3)]
        feats.append(torch.cat(per))
    want = net.head(torch.stack(feats))
    assert torch.allclose(net(x), want, atol=1e-5)
    tiles = torch.stack([x[:, :, 16 * r:16 * r + 16, 15 * c:15 * c + 15] for r in range(3) for c in range(3)], 1)
    assert torch.allclose(net(tiles), want, atol=1e-5)
    assert refusal(ValueError, lambda: net(torch.randn(2, 8, 3, 8, 8))) == \
        "jigsaw input of shape (2, 8, 3, 8, 8) must hold 9 tiles in dim 1"
    for h, w in ((2, 9), (9, 2)):
        assert refusal(ValueError, lambda: net(torch.randn(1, 3, h, w))) == \
            f"jigsaw input {h}×{w} is too small to cut into 3×3 tiles"
    assert net(torch.randn(1, 3, 3, 3)).shape == (1, 4)  # 1×1 tiles are enough


def test_the_counts_of_parts_and_nets() -> None:
    assert tn.param_count(nn.Linear(3, 4)) == 16 and tn.param_count(nn.ReLU()) == 0
    assert tn.stem_params(8) == size(tn.Stem(8))
    assert tn.block_params(4, 8, 2) == size(tn.BasicBlock(4, 8, 2))
    assert tn.block_params(4, 4, 1) == size(tn.BasicBlock(4, 4, 1))  # no shortcut convolution
    assert tn.head_params("segmentsemantic", 16, 1, None, 8) == size(tn.make_head("segmentsemantic", 16, 1, 17, 8))
    assert tn.head_params("normal", 16, 1, 5.0, 8) == size(tn.make_head("normal", 16, 1, 5, 8))  # type: ignore[arg-type]
    assert tn.head_params("room_layout", 16, 0, None) == 16 * 9 + 9
    assert tn.meta_params(tn.FactorizedReduce, 4, 6, 2) == size(tn.FactorizedReduce(4, 6, 2))
    plan = tn.skeleton_plan("14", 8)
    enc = _encoder()
    body = sum(size(m) for m in enc.layers)
    for task, n in (("class_object", None), ("segmentsemantic", 4), ("jigsaw", 2)):
        assert tn.net_params(body, plan, task, n, 8) == size(tn.TaskNet(enc, task, n, C=8))
    assert refusal(ValueError, lambda: tn.net_params(0, plan, "depth", None, 8)).startswith("unknown TransNAS")
    # the head reads the last module's channels and counts the stride-2 modules: the dense decoders need 2..6
    # upsamplings, so five or more downsamplings are refused and none is two upsamplings
    three = tn.skeleton_plan("142", 8)
    assert tn.net_params(0, three, "room_layout", 3, 8) == tn.stem_params(8) + 32 * 3 + 3
    for skeleton, task in (("41414", "segmentsemantic"), ("11111", "normal"), ("4444", "autoencoder")):
        with torch.device("meta"):
            head = size(tn.make_head(task, tn.skeleton_plan(skeleton, 8)[-1][1], skeleton.count("4"), 3, 8))
        assert tn.net_params(0, tn.skeleton_plan(skeleton, 8), task, 3, 8) == tn.stem_params(8) + head
    assert refusal(ValueError, lambda: tn.net_params(0, tn.skeleton_plan("33333", 8), "normal", 3, 8)) == \
        "a TransNAS dense decoder needs 2..6 upsamplings (2 + downsampling modules), got 7"


def test_the_size_prior_rule() -> None:
    mu, sigma = tn.size_prior_from_range(10.0, 30.0)
    assert mu == pytest.approx(10.0 + patterns.PRIOR_CENTRE * 20.0, rel=1e-12)
    assert sigma == pytest.approx((patterns.PRIOR_WIDTH * 20.0) ** 2, rel=1e-12)
    seen: list[dict] = []

    def param_range_k(**options: object) -> tuple[float, float]:
        seen.append(options)
        return 10.0, 30.0

    net = {"task": "normal", "C": 16, "resolution": 64, "num_classes": 7}
    assert tn.size_prior_for(param_range_k, net, 5) == (mu, sigma)
    assert seen == [{"num_classes": 5, "task": "normal", "C": 16}]
    assert tn.size_prior_for(param_range_k, {}, None) == (mu, sigma) and seen[-1] == {"num_classes": None}
