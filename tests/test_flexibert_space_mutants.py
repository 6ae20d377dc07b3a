"""The FlexiBERT space (``swapnas.spaces.flexibert``) beyond ``Layer``, ``Arch`` and the cached counts (session 39),
from its mutation run (session 48): quoting, the string form and the records' form with every refusal whole, the
draws of sampling, mutation and crossover against the same draws made here, distances and drawings by hand, both
size readings, the build's options, and the counts, range and prior against networks built here."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from swapnas import patterns
from swapnas.spaces import flexibert as fb
from swapnas.spaces import flexibert_net as fn

from .message_tools import refusal
from .test_flexibert import hand_count

L = fb.Layer
TWO = fb.Arch(256, (L("SA", "WMA", 4, 1024, 3), L("LT", "DCT", 2, 512, 3)))
TWO_TEXT = "h256|SA.WMA.h4.f1024x3|LT.DCT.h2.f512x3"
FOUR = fb.Arch(128, (L("DSC", "5", 4, 512, 1), L("SA", "SDP", 8, 512, 1), L("LT", "DFT", 2, 1024, 3),
                     L("DSC", "9", 2, 1024, 1)))
FOUR_TEXT = "h128|DSC.5.h4.f512x1|SA.SDP.h8.f512x1|LT.DFT.h2.f1024x3|DSC.9.h2.f1024x1"
INT_RULE = "is not a positive integer (ASCII digits, no leading zero, at most 9 digits)"
LAYER_FORM = "must look like 'OP.PARAM.hHEADS.fWIDTHxCOUNT' (e.g. 'SA.SDP.h4.f512x1')"


def _cut(text: str) -> str:
    """The quote of a text longer than 80 characters: its first 80 quoted, then its length."""
    return f"{text[:80]!r}… ({len(text)} characters)"


def test_the_spaces_constants() -> None:
    assert (fb.NAME, fb.HIDDEN, fb.DEPTHS, fb.HEADS, fb.FF_DIMS, fb.FF_COUNTS) == \
        ("flexibert", (128, 256), (2, 4), (2, 4, 8), (512, 1024), (1, 3))
    assert fb.OPERATIONS == {"SA": ("SDP", "WMA"), "LT": ("DFT", "DCT"), "DSC": ("5", "9")}
    assert (fb.SIZES, fb.AUTHORS_HIDDEN, fb.AUTHORS_FF) == (("authors", "design"), 256, 1024)
    assert fb.LAYER_CHOICES == ("op", "param", "heads", "ff", "n_ff")
    assert fb.SIZE_NEUTRAL_OPTIONS == ("dropout", "init_std", "resolution")


def test_quoting_keeps_a_piece_of_a_long_value() -> None:
    assert fb._quote("abc") == "'abc'" and fb._quote("x" * 80) == repr("x" * 80)
    assert fb._quote("x" * 81) == f"{'x' * 80!r}… (81 characters)"
    assert fb._quote("abcdef", limit=3) == "'abc'… (6 characters)"
    assert fb._quote(12) == "12" and fb._quote([1] * 3) == "[1, 1, 1]"
    long = list(range(40))
    assert fb._quote(long) == f"{repr(long)[:80]}… ({len(repr(long))} characters)"
    assert fb._quote((1, 2, 3), limit=5) == "(1, 2… (9 characters)" and fb._quote((1, 2, 3), limit=9) == "(1, 2, 3)"


def test_whole_numbers() -> None:
    assert fb._whole(np.int16(4), "x") == 4 and type(fb._whole(np.int16(4), "x")) is int
    assert refusal(ValueError, lambda: fb._whole(True, "the count")) == \
        "FlexiBERT the count must be an int, got bool True"
    assert refusal(ValueError, lambda: fb._whole(2.0, "heads")) == "FlexiBERT heads must be an int, got float 2.0"


def test_the_string_form_written_out() -> None:
    assert str(TWO.layers[0]) == "SA.WMA.h4.f1024x3"
    assert fb.format_arch(TWO) == TWO_TEXT == fb.iso_key(TWO) and fb.format_arch(FOUR) == FOUR_TEXT
    assert fb.parse(TWO_TEXT) == TWO and fb.parse(f" {FOUR_TEXT}\n") == FOUR
    assert fb._int("123456789", "x", "y") == 123456789


@pytest.mark.parametrize(("text", "message"), [
    ("256|SA.SDP.h4.f512x1|SA.SDP.h4.f512x1",
     "FlexiBERT arch '256|SA.SDP.h4.f512x1|SA.SDP.h4.f512x1' must start with the hidden size, e.g. "
     "'h256|SA.SDP.h4.f512x1|…'"),
    ("h0256|SA.SDP.h4.f512x1|SA.SDP.h4.f512x1",
     f"FlexiBERT hidden size '0256' in 'h0256|SA.SDP.h4.f512x1|SA.SDP.h4.f512x1' {INT_RULE}"),
    ("h|SA.SDP.h4.f512x1", f"FlexiBERT hidden size '' in 'h|SA.SDP.h4.f512x1' {INT_RULE}"),
    ("h1234567890|SA.SDP.h4.f512x1",
     f"FlexiBERT hidden size '1234567890' in 'h1234567890|SA.SDP.h4.f512x1' {INT_RULE}"),
    ("h256|SA.SDP.h4.f512|SA.SDP.h4.f512x1",
     f"FlexiBERT layer 'SA.SDP.h4.f512' in 'h256|SA.SDP.h4.f512|SA.SDP.h4.f512x1' {LAYER_FORM}"),
    ("h256|sa.SDP.h4.f512x1|SA.SDP.h4.f512x1",
     f"FlexiBERT layer 'sa.SDP.h4.f512x1' in 'h256|sa.SDP.h4.f512x1|SA.SDP.h4.f512x1' {LAYER_FORM}"),
    ("h256|SA.SDP.h1234567890.f512x1|SA.SDP.h4.f512x1",
     "FlexiBERT layer 'SA.SDP.h1234567890.f512x1' in 'h256|SA.SDP.h1234567890.f512x1|SA.SDP.h4.f512x1': FlexiBERT "
     f"head count '1234567890' in 'h256|SA.SDP.h1234567890.f512x1|SA.SDP.h4.f512x1' {INT_RULE}"),
    ("h256|SA.SDP.h4.f5120000000x1|SA.SDP.h4.f512x1",
     "FlexiBERT layer 'SA.SDP.h4.f5120000000x1' in 'h256|SA.SDP.h4.f5120000000x1|SA.SDP.h4.f512x1': FlexiBERT "
     f"FF width '5120000000' in 'h256|SA.SDP.h4.f5120000000x1|SA.SDP.h4.f512x1' {INT_RULE}"),
    ("h256|SA.SDP.h4.f512x1000000000|SA.SDP.h4.f512x1",
     "FlexiBERT layer 'SA.SDP.h4.f512x1000000000' in 'h256|SA.SDP.h4.f512x1000000000|SA.SDP.h4.f512x1': FlexiBERT "
     f"FF layer count '1000000000' in 'h256|SA.SDP.h4.f512x1000000000|SA.SDP.h4.f512x1' {INT_RULE}"),
    ("h256|SA.SDP.h3.f512x1|SA.SDP.h4.f512x1",
     "FlexiBERT layer 'SA.SDP.h3.f512x1' in 'h256|SA.SDP.h3.f512x1|SA.SDP.h4.f512x1': FlexiBERT heads must be one "
     "of (2, 4, 8) (got 3)"),
    ("h256|XX.SDP.h4.f512x1|SA.SDP.h4.f512x1",
     "FlexiBERT layer 'XX.SDP.h4.f512x1' in 'h256|XX.SDP.h4.f512x1|SA.SDP.h4.f512x1': unknown FlexiBERT operation "
     "type 'XX'; valid: SA, LT, DSC"),
    ("h512|SA.SDP.h4.f512x1|SA.SDP.h4.f512x1",
     "FlexiBERT arch 'h512|SA.SDP.h4.f512x1|SA.SDP.h4.f512x1': FlexiBERT hidden size must be one of (128, 256) "
     "(got 512)"),
    ("h256|SA.SDP.h4.f512x1", "FlexiBERT arch 'h256|SA.SDP.h4.f512x1': a FlexiBERT arch has 2 or 4 layers, got 1"),
])
def test_a_bad_string_is_refused_whole(text: str, message: str) -> None:
    assert refusal(ValueError, lambda: fb.parse(text)) == message


def test_a_long_bad_string_is_quoted_in_part() -> None:
    text = FOUR_TEXT + "|SA.SDP.h4.f512x1"
    assert refusal(ValueError, lambda: fb.parse(text)) == \
        f"FlexiBERT arch {_cut(text)}: a FlexiBERT arch has 2 or 4 layers, got 5"
    bad = "SA.SDP.h4.f512-" + "9" * 70
    assert refusal(ValueError, lambda: fb.parse(f"h256|{bad}|SA.SDP.h4.f512x1")) == \
        f"FlexiBERT layer {_cut(bad)} in {_cut(f'h256|{bad}|SA.SDP.h4.f512x1')} {LAYER_FORM}"
    assert refusal(TypeError, lambda: fb.parse(12)) == "flexibert: expected an arch string, got int"  # type: ignore[arg-type]


def _record(hidden: object = 256, **layer: object) -> dict:
    first = {"operation_type": "SA", "operation_parameter": "WMA", "num_operation_heads": 4,
             "feed_forward_dimension": 1024, "num_feed_forward": 3}
    second = {"operation_type": "LT", "operation_parameter": "DCT", "num_operation_heads": 2,
              "feed_forward_dimension": 512, "num_feed_forward": 3, **layer}
    return {"hidden_size": hidden, "nas_config": {"encoder_layers": [first, second]}}


def test_the_records_form() -> None:
    assert fb.from_record(_record()) == TWO
    assert fb.from_record({"hparams": {"model_hparam_overrides": _record()}, "scores": {}}) == TWO
    assert fb.from_record(_record(256.0, num_operation_heads=2.0, feed_forward_dimension=" 512 ")) == TWO
    assert fb.from_record(_record(np.int64(256), num_feed_forward="3")) == TWO
    assert fb._record_int("000000128", "f") == 128


@pytest.mark.parametrize(("record", "message"), [
    (_record(256.5), "FlexiBERT record: hidden_size must be a whole number, got float 256.5"),
    (_record(True), "FlexiBERT record: hidden_size must be a whole number, got bool True"),
    (_record("256.0"), "FlexiBERT record: hidden_size must be a whole number, got str '256.0'"),
    (_record("1234567890"), "FlexiBERT record: hidden_size must be a whole number, got str '1234567890'"),
    (_record(num_operation_heads=2.5),
     "FlexiBERT record: layer 2's num_operation_heads must be a whole number, got float 2.5"),
    (_record(feed_forward_dimension=None),
     "FlexiBERT record: layer 2's feed_forward_dimension must be a whole number, got NoneType None"),
    (_record(operation_type="XX"), "layer 2: unknown FlexiBERT operation type 'XX'; valid: SA, LT, DSC"),
    (_record(num_feed_forward=2), "layer 2: FlexiBERT feed-forward layer count must be one of (1, 3) (got 2)"),
    (_record(operation_parameter=5), "layer 2: unknown parameter '5' for operation LT; valid: 'DFT', 'DCT' (strings)"),
])
def test_a_bad_record_is_refused_naming_its_layer(record: dict, message: str) -> None:
    assert refusal(ValueError, lambda: fb.from_record(record)) == message


def test_a_record_without_a_field_names_the_layer_and_the_field() -> None:
    record = _record()
    del record["nas_config"]["encoder_layers"][1]["num_feed_forward"]
    assert refusal(ValueError, lambda: fb.from_record(record)) == "layer 2: num_feed_forward"


def _my_layer(rng: random.Random) -> fb.Layer:
    op = rng.choice(["SA", "LT", "DSC"])
    return L(op, rng.choice(fb.OPERATIONS[op]), rng.choice([2, 4, 8]), rng.choice([512, 1024]), rng.choice([1, 3]))


def test_sampling_draws_depth_hidden_then_each_layer() -> None:
    for seed in range(30):
        mine = random.Random(seed)
        depth, hidden = mine.choice([2, 4]), mine.choice([128, 256])
        want = fb.Arch(hidden, tuple(_my_layer(mine) for _ in range(depth)))
        rng = random.Random(seed)
        assert fb.sample(rng) == want and rng.random() == mine.random()
        rng = random.Random(seed)
        assert fb._sample_layer(rng) == _my_layer(random.Random(seed))
    archs = [fb.sample(random.Random(s)) for s in range(300)]
    assert {len(a.layers) for a in archs} == {2, 4} and {a.hidden for a in archs} == {128, 256}
    assert {(la.op, la.param) for a in archs for la in a.layers} == {(o, p) for o, ps in fb.OPERATIONS.items()
                                                                      for p in ps}
    assert {(la.heads, la.ff, la.n_ff) for a in archs for la in a.layers} == {(h, f, n) for h in (2, 4, 8)
                                                                              for f in (512, 1024) for n in (1, 3)}


def _my_layer_change(layer: fb.Layer, rng: random.Random) -> fb.Layer:
    field = rng.choice(["op", "param", "heads", "ff", "n_ff"])
    if field == "op":
        op = rng.choice([o for o in ("SA", "LT", "DSC") if o != layer.op])
        return replace(layer, op=op, param=rng.choice(fb.OPERATIONS[op]))
    if field == "param":
        return replace(layer, param=[p for p in fb.OPERATIONS[layer.op] if p != layer.param][0])
    valid = {"heads": (2, 4, 8), "ff": (512, 1024), "n_ff": (1, 3)}[field]
    return replace(layer, **{field: rng.choice([v for v in valid if v != getattr(layer, field)])})


def _my_mutation(arch: fb.Arch, rng: random.Random) -> fb.Arch:
    u = rng.random()
    if u < 0.1:
        return replace(arch, hidden=384 - arch.hidden)
    if u < 0.2:
        if len(arch.layers) == 4:
            return replace(arch, layers=arch.layers[:2])
        return replace(arch, layers=arch.layers + (_my_layer(rng), _my_layer(rng)))
    i = rng.randrange(len(arch.layers))
    layers = list(arch.layers)
    layers[i] = _my_layer_change(layers[i], rng)
    return replace(arch, layers=tuple(layers))


def test_mutation_against_the_same_draws() -> None:
    for seed in range(200):
        arch = (TWO, FOUR)[seed % 2]
        mine, rng = random.Random(seed), random.Random(seed)
        assert fb.mutate(arch, rng) == _my_mutation(arch, mine), seed
        assert rng.random() == mine.random()
        mine, rng = random.Random(seed), random.Random(seed)
        assert fb._mutate_layer(arch.layers[0], rng) == _my_layer_change(arch.layers[0], mine), seed
        assert rng.random() == mine.random()


def test_mutation_changes_one_choice_or_the_depth() -> None:
    rng = random.Random(7)
    kinds: dict[str, int] = {}
    for i in range(400):
        arch = (TWO, FOUR)[i % 2]
        child = fb.mutate(arch, rng)
        d = fb.distance(arch, child)
        if len(child.layers) != len(arch.layers):
            assert d == 10 and child.layers[:2] == arch.layers[:2] and child.hidden == arch.hidden
            kinds["depth"] = kinds.get("depth", 0) + 1
        elif child.hidden != arch.hidden:
            assert d == 1 and child.layers == arch.layers
            kinds["hidden"] = kinds.get("hidden", 0) + 1
        else:
            changed = [i for i, (x, y) in enumerate(zip(arch.layers, child.layers)) if x != y]
            assert len(changed) == 1 and 1 <= d <= 2  # an op change may change its parameter too
            kinds["layer"] = kinds.get("layer", 0) + 1
    assert 20 <= kinds["depth"] <= 60 and 20 <= kinds["hidden"] <= 60 and kinds["layer"] >= 280


def test_crossover_against_the_same_draws() -> None:
    for seed in range(40):
        a, b = (TWO, FOUR) if seed % 2 else (FOUR, TWO)
        mine, rng = random.Random(seed), random.Random(seed)
        depth = len(a.layers) if mine.random() < 0.5 else len(b.layers)
        hidden = a.hidden if mine.random() < 0.5 else b.hidden
        layers = tuple(mine.choice([p.layers[i] for p in (a, b) if i < len(p.layers)]) for i in range(depth))
        assert fb.crossover(a, b, rng) == fb.Arch(hidden, layers) and rng.random() == mine.random()
    children = {fb.crossover(TWO, FOUR, random.Random(s)) for s in range(300)}
    assert {len(c.layers) for c in children} == {2, 4} and {c.hidden for c in children} == {128, 256}
    assert all(c.layers[2:] in ((), FOUR.layers[2:]) for c in children)


def test_distances_by_hand() -> None:
    assert fb.distance(TWO, TWO) == 0
    other = fb.Arch(128, (L("SA", "SDP", 4, 512, 3), TWO.layers[1]))  # hidden, param, ff
    assert fb.distance(TWO, other) == fb.distance(other, TWO) == 3
    # hidden; layer 1: op, param, ff, n_ff (4 heads both); layer 2: op, param, heads, n_ff (FF 512 both); two more
    assert fb.distance(TWO, FOUR) == 1 + 4 + 4 + 10
    deeper = replace(TWO, layers=TWO.layers * 2)
    assert fb.distance(TWO, deeper) == fb.distance(deeper, TWO) == 10


def test_the_drawing_is_a_chain_of_layers() -> None:
    assert fb.cell_edges(TWO) == {"encoder": [("emb", "1", "SA.WMA.h4.f1024x3"), ("1", "2", "LT.DCT.h2.f512x3")]}
    assert [e[:2] for e in fb.cell_edges(FOUR)["encoder"]] == [("emb", "1"), ("1", "2"), ("2", "3"), ("3", "4")]


def test_the_two_size_readings() -> None:
    assert fb.layer_specs(FOUR, "design") == (128, [("DSC", "5", 4, 512, 1), ("SA", "SDP", 8, 512, 1),
                                                    ("LT", "DFT", 2, 1024, 3), ("DSC", "9", 2, 1024, 1)])
    assert fb.layer_specs(FOUR) == fb.layer_specs(FOUR, "authors") == \
        (256, [("DSC", "5", 4, 1024, 1), ("SA", "SDP", 8, 1024, 1), ("LT", "DFT", 2, 1024, 3),
               ("DSC", "9", 2, 1024, 1)])
    assert refusal(ValueError, lambda: fb.layer_specs(FOUR, "paper")) == \
        "sizes must be one of ('authors', 'design') (got 'paper')"


def test_build_passes_every_option_on() -> None:
    with torch.device("meta"):
        net = fb.build(FOUR_TEXT)
        assert net.embeddings.project.out_features == 256 and net.classifier.out_features == 2
        assert (net.head, net.layout, net.init_std, net.embeddings.position.num_embeddings) == ("cls", "v1", 0.02, 512)
        assert net.layers[0].drop.p == 0.0 and net.layers[0].ff[0].out_features == 1024
        design = fb.build(FOUR, num_classes=3, sizes="design", dropout=0.25, max_len=64, init_std=0.5,
                          resolution=64, objective="mlm", layout="flexibert")
        assert type(design.embeddings.project) is nn.Identity and not hasattr(design, "classifier")
        assert (design.head, design.layout, design.init_std) == ("mlm", "flexibert", 0.5)
        assert design.embeddings.position.num_embeddings == 64 and design.layers[0].drop.p == 0.25
        assert [layer.ff[0].out_features for layer in design.layers] == [512, 512, 1024, 1024]
        assert not design.layers[2].self_output and design.layers[0].self_output
        assert fb.build(TWO, num_classes=3).classifier.out_features == 3
        assert fb.build(TWO, resolution=4).head == "cls"
        assert fb.build(TWO, max_len=128).embeddings.position.num_embeddings == 128  # the default length fits
    for resolution, max_len in ((3, 512), (513, 512), (65, 64)):
        assert refusal(ValueError, lambda: fb.build(TWO, resolution=resolution, max_len=max_len)) == \
            f"resolution (sequence length) must be in 4..{max_len} (got {resolution})"
    assert refusal(TypeError, lambda: fb.build(None)) == (  # type: ignore[arg-type]
        "flexibert: expected an arch or its string, got NoneType (a flexibert Arch, or a string flexibert's parse "
        "reads)")


def _built(arch: fb.Arch, **options: object) -> int:
    resolution = min(128, int(options.get("max_len", 512)))  # type: ignore[call-overload]
    with torch.device("meta"):
        return sum(p.numel() for p in fb.build(arch, resolution=resolution, **options).parameters())  # type: ignore[arg-type]


def test_counts_without_a_build() -> None:
    for arch in (TWO, FOUR):
        assert fb.count_params(arch) == _built(arch) == hand_count(arch, "authors")
        assert fb.count_params(fb.format_arch(arch), sizes="design") == hand_count(arch, "design")
        options = {"num_classes": 5, "sizes": "design", "max_len": 64, "layout": "flexibert", "objective": "mlm"}
        assert fb.count_params(arch, dropout=0.1, init_std=0.3, resolution=32, **options) == _built(arch, **options)
        assert fb.count_params(arch, 7, "design", 100, "flexibert", "cls") == \
            _built(arch, num_classes=7, sizes="design", max_len=100, layout="flexibert")
    assert refusal(ValueError, lambda: fb.count_params(TWO, width=3, C=2)) == (
        "flexibert.count_params: unknown option(s) C, width; the FlexiBERT network's options: num_classes, sizes, "
        "max_len, layout, objective, dropout, init_std, resolution")


def test_the_smallest_arch_and_the_size_range() -> None:
    smallest = fb.smallest_arch()
    assert smallest == fb.Arch(128, (L("LT", "DFT", 8, 512, 1),) * 2)
    layers = [L(op, p, h, f, n) for op, ps in fb.OPERATIONS.items() for p in ps for h in (2, 4, 8)
              for f in (512, 1024) for n in (1, 3)]
    assert len(layers) == 72
    for options in ({}, {"sizes": "design"}, {"num_classes": 3, "sizes": "design", "max_len": 64,
                                              "layout": "flexibert", "objective": "mlm"}):
        sizes = [fb.count_params(fb.Arch(h, (la,) * d), **options) for h in (128, 256) for la in layers
                 for d in (2, 4)]
        lo, hi = fb.param_range_k(**options)  # type: ignore[arg-type]
        assert (lo, hi) == (min(sizes) / 1e3, max(sizes) / 1e3)
        assert lo == _built(smallest, **options) / 1e3
    assert fb.param_range_k(2, "design", 512, "v1", "cls", dropout=0.5) == fb.param_range_k(sizes="design")
    assert refusal(ValueError, lambda: fb.param_range_k(net=1)) == (
        "flexibert.param_range_k: unknown option(s) net; the FlexiBERT network's options: num_classes, sizes, "
        "max_len, layout, objective, dropout, init_std, resolution")


def test_the_size_prior_reads_the_size_options_only() -> None:
    net = {"sizes": "design", "max_len": 64, "layout": "flexibert", "objective": "mlm", "resolution": 16,
           "dropout": 0.1, "init_std": 0.3}
    want = patterns.prior_from_range(*fb.param_range_k(num_classes=3, sizes="design", max_len=64, layout="flexibert",
                                                       objective="mlm"))
    assert fb.default_size_prior(net, num_classes=3) == want
    assert fb.default_size_prior({"resolution": 16}) == patterns.prior_from_range(*fb.param_range_k())
    assert fb.default_size_prior({}) != fb.default_size_prior({}, num_classes=7)


def test_the_final_networks_input() -> None:
    x = fb.final_input(9)
    assert x.shape == (1, 9) and x.dtype == torch.long and not x.any()
    assert fn.Encoder(128, [("SA", "SDP", 2, 512, 1)])(x).shape == (1, 2)
