"""TransNAS-Bench-101 micro/macro spaces, task heads and ground truth."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from torch import nn

from swapnas.benchmarks.transnas import TransNASMacroBenchmark, TransNASMicroBenchmark
from swapnas.spaces import transnas as tn
from swapnas.spaces import transnas_macro as macro
from swapnas.spaces import transnas_micro as micro

SPACES = (micro, macro)
PAPER_ORDER = ("class_object", "class_scene", "room_layout", "jigsaw", "autoencoder", "normal", "segmentsemantic")


def _file(data_dir, space) -> dict:
    name = "micro" if space is micro else "macro"
    return json.loads((data_dir / "transnas" / f"naslib_zc_transbench101_{name}.json").read_text())


# ----------------------------------------------------------------------------- task table


def test_task_table():
    assert tn.TASK_NAMES == PAPER_ORDER
    sizes = {t: (i.kind, i.size, i.naslib_size, i.loss) for t, i in tn.TASKS.items()}
    assert sizes == {
        "class_object": ("class", 75, 100, "ce"),
        "class_scene": ("class", 47, 63, "ce"),
        "room_layout": ("regression", 9, 9, "mse"),
        "jigsaw": ("class", 1000, 1000, "ce"),
        "autoencoder": ("dense-regression", 3, 3, "l1"),
        "normal": ("dense-regression", 3, 3, "l1"),
        "segmentsemantic": ("dense-class", 17, 17, "ce"),
    }
    with pytest.raises(ValueError, match="choose one of class_object"):
        tn.task_info("depth")


# ----------------------------------------------------------------------------- strings


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.NAME)
def test_round_trip_all_naslib_keys(small_bundle, space):
    keys = {k for records in _file(small_bundle, space).values() for k in records}
    # the small bundle: 10 keys every task holds, + 3 macro keys that class_object/class_scene lack
    assert len(keys) == (10 if space is micro else 13)
    for key in keys:
        arch = space.parse_naslib(key)
        assert space.to_naslib(arch) == key
        assert space.parse(key) == arch
        assert space.parse(str(arch)) == arch
        assert str(arch) == arch.key == space.format_arch(arch)
        assert hash(arch) == hash(space.parse(str(arch)))


def test_official_examples():
    a = micro.parse("64-41414-1_02_333")  # the benchmark README's example
    assert a.ops == (1, 0, 2, 3, 3, 3)
    assert micro.to_naslib(a) == "(1, 0, 2, 3, 3, 3)"
    assert micro.parse("1_02_333") == a == micro.parse(" (1, 0, 2, 3, 3, 3) ")
    assert str(micro.parse_naslib("(1, 0, 0, 2, 1, 0)")) == "64-41414-1_00_210"
    b = macro.parse("64-1234-basic")
    assert b.codes == (1, 2, 3, 4)
    assert macro.to_naslib(b) == "(1, 2, 3, 4, 0, 0)"
    assert macro.parse("(1, 2, 3, 4, 0, 0)") == b
    assert str(macro.parse_naslib("(1, 2, 1, 1, 1, 3)")) == "64-121113-basic"


@pytest.mark.parametrize("space, text, match", [
    (micro, "64-41414-1_02_334", "op codes 0..3"),
    (micro, "64-41414-1_02", "a_bc_def"),
    (micro, "64-1234-basic", "macro arch"),
    (micro, "32-41414-1_02_333", "must start with '64-41414-'"),
    (micro, "(1, 0, 2, 3, 3)", "must have 6 entries"),
    (micro, "(1, 0, 2, 3, 3, 4)", "op codes are 0..3"),
    (micro, "__import__('os').system('true')", "a_bc_def"),
    (macro, "64-41414-1_02_333", "micro arch"),
    (macro, "64-1111-basic", "downsamples 0 times"),
    (macro, "64-2424-basic", "doubles channels 4 times"),
    (macro, "64-123-basic", "has 3 modules"),
    (macro, "64-1235-basic", "module code 5"),
    (macro, "64-1234-bottleneck", "end with '-basic'"),
    (macro, "(1, 2, 0, 4, 0, 0)", "may only trail"),
    (macro, "[1, 2, 3, 4, 0, 0]", "64-1234-basic"),
])
def test_invalid_strings(space, text, match):
    with pytest.raises(ValueError, match=match):
        space.parse(text)


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.NAME)
def test_parse_rejects_non_str(space):
    for bad in (123, None, b"64-1234-basic"):
        with pytest.raises(TypeError, match=f"^{space.NAME}: expected an arch string, got {type(bad).__name__}$"):
            space.parse(bad)


# ----------------------------------------------------------------------------- space contents


def test_space_sizes_and_file_membership(small_bundle):
    assert len(set(micro.all_archs())) == micro.NUM_ARCHS == 4096
    every = set(macro.all_archs())
    assert len(every) == macro.NUM_ARCHS == 3256  # the benchmark's macro count
    keys = {k for records in _file(small_bundle, macro).values() for k in records}
    assert {macro.parse_naslib(k) for k in keys} <= every


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.NAME)
def test_sample_and_mutate(space):
    rng = random.Random(7)
    seen = set()
    for _ in range(300):
        a = space.sample(rng)
        assert space.parse(str(a)) == a
        b = space.mutate(a, rng)
        assert b != a and space.parse(str(b)) == b
        seen.add(a)
    assert len(seen) > 200  # sampling is spread over the space
    r1, r2 = random.Random(3), random.Random(3)
    assert [space.sample(r1) for _ in range(5)] == [space.sample(r2) for _ in range(5)]


def test_micro_mutate_changes_one_edge():
    rng = random.Random(1)
    for _ in range(100):
        a = micro.sample(rng)
        b = micro.mutate(a, rng)
        assert sum(x != y for x, y in zip(a.ops, b.ops)) == 1


def test_macro_mutate_is_one_edit():
    rng = random.Random(2)
    for _ in range(100):
        a = macro.sample(rng)
        b = macro.mutate(a, rng)
        assert b in macro.neighbours(a) and abs(len(a.codes) - len(b.codes)) <= 1


def test_micro_iso_key():
    key = micro.iso_key
    # a zero node feeds nothing: node2 = skip(node1) with node1 = none is zero either way
    assert key(micro.parse("0_00_300")) == key(micro.parse("0_01_300")) == key(micro.parse("0_01_301"))
    # skip chains: node3 = skip(node1 = skip(node0)) equals node3 = skip(node0), also in reduction cells
    assert key(micro.parse("1_00_010")) == key(micro.parse("0_00_100"))
    # the op matters, and so does where it sits
    assert key(micro.parse("0_00_300")) != key(micro.parse("0_00_200"))
    assert key(micro.parse("3_00_010")) == key(micro.parse("0_00_300"))  # conv then skip = conv
    assert key(micro.parse("3_00_030")) != key(micro.parse("0_00_300"))  # two convs in series
    # a skip from node0 is the identity in normal cells but a learned reduce in reduction cells
    normal, reduction = key(micro.parse("1_00_010")).split(" | ")
    assert normal == "0" and reduction == "(0)@fr"
    assert len({key(a) for a in micro.all_archs()}) == 1346
    assert macro.iso_key(macro.parse("64-1234-basic")) == "64-1234-basic"


# ----------------------------------------------------------------------------- networks

BUILD_CASES = [(micro, "64-41414-1_02_333"), (micro, "64-41414-0_00_000"),
               (macro, "64-1234-basic"), (macro, "64-3334-basic")]


@pytest.mark.parametrize("space, arch", BUILD_CASES, ids=lambda v: getattr(v, "NAME", v))
@pytest.mark.parametrize("task", PAPER_ORDER)
def test_build_output_shapes(space, arch, task):
    torch.manual_seed(0)
    net = space.build(arch, num_classes=5, task=task, C=8, resolution=32)
    assert any(isinstance(m, nn.ReLU) for m in net.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    x = torch.randn(2, 3, 32, 32)
    y = net(x)
    expected = (2, 5, 32, 32) if tn.TASKS[task].dense else (2, 5)
    assert tuple(y.shape) == expected
    assert torch.isfinite(y).all()


def test_build_defaults_and_harness_call():
    arch = micro.parse("64-41414-1_02_333")
    assert micro.build(arch, C=8).num_outputs == 75  # the benchmark's object classes
    net = dict(micro.SCORING_DEFAULTS["net"], task="room_layout")
    out = micro.build(arch, num_classes=10, **net)(torch.randn(3, 3, 64, 64))
    assert out.shape == (3, 10)
    net = dict(macro.SCORING_DEFAULTS["net"], task="normal")
    out = macro.build("64-1234-basic", num_classes=3, **net)(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match="choose one of"):
        micro.build(arch, task="depth")


def test_relu_hooks_see_4d_inputs():
    seen = []
    net = macro.build("64-1234-basic", num_classes=4, task="class_scene", C=8)
    for m in net.modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].dim()))
    net(torch.randn(2, 3, 32, 32))
    assert seen and set(seen) == {4}


def test_jigsaw_tiles_are_a_siamese_grid():
    torch.manual_seed(0)
    net = micro.build("64-41414-1_02_333", num_classes=7, task="jigsaw", C=8).eval()
    x = torch.randn(2, 3, 48, 48)
    tiles = torch.stack([x[:, :, 16 * r:16 * r + 16, 16 * c:16 * c + 16] for r in range(3) for c in range(3)], 1)
    with torch.no_grad():
        assert torch.allclose(net(x), net(tiles), atol=1e-6)
        # the head sees the nine tiles' features side by side: swapping tiles changes the output
        swapped = tiles[:, [1, 0, 2, 3, 4, 5, 6, 7, 8]]
        assert not torch.allclose(net(tiles), net(swapped))
    assert net.head.in_features == 9 * net.encoder.c_out


@pytest.mark.parametrize("space, arch", BUILD_CASES[:3], ids=lambda v: getattr(v, "NAME", v))
def test_count_params_equals_whole_build(space, arch):
    for task in PAPER_ORDER:
        for C, n in ((16, None), (64, 11)):
            with torch.device("meta"):
                whole = tn.param_count(space.build(arch, num_classes=n, task=task, C=C))
            assert space.count_params(arch, task, num_classes=n, C=C) == whole


@pytest.mark.bundle  # every arch of NASLib's full files, on every task
@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.NAME)
def test_params_equal_naslib_for_every_arch(data_dir, space):
    for task, records in _file(data_dir, space).items():
        n = tn.TASKS[task].naslib_size
        for key, rec in records.items():
            ours = space.count_params(space.parse_naslib(key), task, num_classes=n, C=64)
            assert ours == round(rec["params"]["score"] * 1e6), (task, key)


def test_size_prior():
    for space in SPACES:
        net = dict(space.SCORING_DEFAULTS["net"], task="class_object")
        lo, hi = space.param_range_k(task="class_object", num_classes=10, C=16)
        mu, sigma = space.default_size_prior(net, 10)
        assert 0 < lo < hi
        assert mu == pytest.approx(lo + 0.8 * (hi - lo)) and sigma == pytest.approx((hi - lo) ** 2)
    # micro: the all-none and all-conv3×3 cells bound the space
    lo, hi = micro.param_range_k(task="segmentsemantic", C=16)
    some = [micro.count_params(micro.sample(random.Random(i)), "segmentsemantic", C=16) / 1e3 for i in range(50)]
    assert lo <= min(some) and max(some) <= hi
    assert micro.param_range_k(C=64, num_classes=100) == (
        micro.count_params("0_00_000", num_classes=100) / 1e3, micro.count_params("3_33_333", num_classes=100) / 1e3)


# ----------------------------------------------------------------------------- ground truth


@pytest.fixture(scope="module")
def benches(small_bundle):
    return TransNASMicroBenchmark(small_bundle), TransNASMacroBenchmark(small_bundle)


def test_benchmark_tables(benches, small_bundle):
    mi, ma = benches
    assert (mi.name, mi.space, ma.name, ma.space) == ("transnas_micro",) * 2 + ("transnas_macro",) * 2
    assert mi.tasks == ma.tasks == PAPER_ORDER
    # the small bundle keeps 10 micro cells (all tasks) and 10 + 3 macro skeletons (class_* lack the 3)
    assert {t: len(mi.archs_for(t)) for t in PAPER_ORDER} == dict.fromkeys(PAPER_ORDER, 10)
    assert {t: len(ma.archs_for(t)) for t in PAPER_ORDER} == {
        "class_object": 10, "class_scene": 10, "room_layout": 13, "jigsaw": 13,
        "autoencoder": 13, "normal": 13, "segmentsemantic": 13}
    raw = _file(small_bundle, micro)["room_layout"]
    first_key = next(iter(raw))
    first = mi.archs_for("room_layout")[0]
    assert micro.to_naslib(first) == first_key and mi.index_of(first, "room_layout") == 0
    accs = mi.accuracies(mi.archs_for("room_layout")[:3], "room_layout")
    assert np.allclose(accs, [r["val_accuracy"] for r in list(raw.values())[:3]])
    assert (mi.accuracies(mi.archs_for("room_layout"), "room_layout") < 0).all()  # negative L2 loss
    ssim = ma.accuracies(ma.archs_for("autoencoder"), "autoencoder")
    assert 0 < ssim.min() and ssim.max() < 1
    text = ma.truth_text("segmentsemantic")
    assert "pixel accuracy" in text and "13 archs" in text and "NASLib" in text
    assert "top-1" in mi.truth_text("jigsaw") and "SSIM" in mi.truth_text("normal")


def test_benchmark_errors(benches):
    mi, ma = benches
    in_micro_only = next(a for a in micro.all_archs() if a not in set(mi.archs_for("jigsaw")))
    with pytest.raises(KeyError, match="not among the 10 transnas_micro archs of task jigsaw"):
        mi.index_of(in_micro_only, "jigsaw")
    only_some = next(a for a in ma.archs_for("jigsaw") if a not in set(ma.archs_for("class_object")))
    assert ma.index_of(only_some, "jigsaw") == ma.archs_for("jigsaw").index(only_some)  # its row of that task
    with pytest.raises(KeyError, match="not among the 10 transnas_macro archs of task class_object"):
        ma.accuracies([only_some], "class_object")
    with pytest.raises(ValueError, match="choose one of"):
        mi.archs_for("depth")
    with pytest.raises(KeyError, match="available: .*params"):
        mi.naslib_score("jigsaw", "zen")


def test_benchmark_params_vs_naslib(benches):
    mi, ma = benches
    for bench in (mi, ma):
        for task in PAPER_ORDER:
            stored = bench.naslib_score(task, "params")
            for arch in bench.archs_for(task)[:40]:
                assert bench.params_m(arch, task, naslib_heads=True) == pytest.approx(stored[arch], abs=5e-7)
    # the benchmark's own heads (75 object / 47 scene classes) are smaller by (Δclasses)·(512 + 1) in micro
    arch = mi.archs_for("class_object")[0]
    for task, delta in (("class_object", 25), ("class_scene", 16)):
        diff = mi.naslib_score(task, "params")[arch] - mi.params_m(arch, task)
        assert diff == pytest.approx(delta * 513 / 1e6, abs=5e-7)
    assert set(mi.proxies("normal")) >= {"params", "flops", "snip", "nwot", "jacov"}
    assert "synflow" not in mi.proxies("normal")  # NASLib stores no synflow for TransNAS
