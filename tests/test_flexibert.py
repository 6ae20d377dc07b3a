"""FlexiBERT space, encoder, token inputs and benchmark (docs/transformers.md)."""

from __future__ import annotations

import json
import random

import pytest
import torch

from swapnas import tokens
from swapnas.benchmarks import get_benchmark
from swapnas.cli import main
from swapnas.data import load_batch
from swapnas.patterns import EXTENDED_ACTIVATIONS, swap_score
from swapnas.proxies import resolve
from swapnas.scoring import Protocol, gaussian_init, score_arch
from swapnas.session import configure
from swapnas.spaces import flexibert as fb
from swapnas.spaces.flexibert_net import SelfAttention, _dct_matrix

V, E, P, C = 30522, 128, 512, 2
OPS = [("SA", "SDP"), ("SA", "WMA"), ("LT", "DFT"), ("LT", "DCT"), ("DSC", "5"), ("DSC", "9")]


def hand_count_layer(op: str, param: str, H: int, h: int, F: int, n: int) -> int:
    """Parameters of one encoder layer, counted from the layer shapes (module doc of flexibert_net)."""
    common = (H * H + H) + 2 * H + (H * F + F) + (n - 1) * (F * F + F) + (F * H + H) + 2 * H
    if op == "SA":
        return common + 3 * (H * H + H) + (H * H if param == "WMA" else 0)
    if op == "LT":
        return common + H * H + H
    half, hc, k = H // 2, max(1, h // 2), int(param)
    attention = 3 * (H * half + half)
    conv = H * k + (H * half + half) + (half * hc * k + hc * k) + (H * half + half)
    return common + attention + conv


def hand_count(arch: fb.Arch, sizes: str) -> int:
    H = arch.hidden if sizes == "design" else 256
    emb = V * E + P * E + 2 * E + 2 * E + (E * H + H if H != E else 0)
    layers = sum(hand_count_layer(la.op, la.param, H, la.heads, la.ff if sizes == "design" else 1024, la.n_ff)
                 for la in arch.layers)
    return emb + layers + H * C + C


@pytest.mark.parametrize("op,param", OPS)
@pytest.mark.parametrize("heads", [2, 8])
def test_each_op_builds_runs_and_has_the_hand_counted_size(op: str, param: str, heads: int) -> None:
    arch = fb.Arch(128, (fb.Layer(op, param, heads, 512, 3), fb.Layer(op, param, heads, 1024, 1)))
    for sizes in ("design", "authors"):
        net = fb.build(arch, sizes=sizes)
        assert sum(p.numel() for p in net.parameters()) == hand_count(arch, sizes) == fb.count_params(arch, sizes=sizes)
    net = fb.build(arch, sizes="design").eval()
    ids = torch.randint(0, V, (3, 11))
    assert net(ids).shape == (3, C)
    hidden = net.layers[0].mixer(net.embeddings(ids))
    assert hidden.shape == (3, 11, 128) and torch.isfinite(hidden).all()
    gelus = [m for m in net.modules() if isinstance(m, torch.nn.GELU)]
    assert len(gelus) == 3 + 1  # one nn.GELU module per FF layer


def test_dct_is_orthonormal_and_dft_is_the_real_fft() -> None:
    c = _dct_matrix(7)
    assert torch.allclose(c @ c.T, torch.eye(7), atol=1e-5)
    net = fb.build("h128|LT.DFT.h2.f512x1|LT.DFT.h2.f512x1", sizes="design")
    mixer, x = net.layers[0].mixer, torch.randn(1, 5, 128)
    h = mixer.dense(x).view(1, 5, 2, 64).transpose(1, 2)
    expect = torch.fft.fft2(h).real.transpose(1, 2).reshape(1, 5, 128)
    assert torch.allclose(mixer(x), expect, atol=1e-5)


def test_canonical_string_and_errors() -> None:
    text = "h256|SA.WMA.h4.f1024x3|LT.DCT.h2.f512x3|DSC.5.h4.f512x1|SA.SDP.h8.f512x1"
    arch = fb.parse(text)
    assert str(arch) == arch.key == text and fb.parse(str(arch)) == arch
    bad = {"h256|XX.SDP.h4.f512x1|SA.SDP.h4.f512x1": "unknown FlexiBERT operation type 'XX'",
           "h256|SA.DCT.h4.f512x1|SA.SDP.h4.f512x1": "unknown parameter 'DCT' for operation SA",
           "h256|DSC.7.h4.f512x1|SA.SDP.h4.f512x1": "unknown parameter '7' for operation DSC",
           "h256|SA.SDP.h3.f512x1|SA.SDP.h4.f512x1": "heads must be one of",
           "h192|SA.SDP.h4.f512x1|SA.SDP.h4.f512x1": "hidden size must be one of",
           "h256|SA.SDP.h4.f512x1": "2 or 4 layers",
           "256|SA.SDP.h4.f512x1": "must start with the hidden size",
           "h256|SA-SDP-4|SA.SDP.h4.f512x1": "must look like",
           "h256|SA.SDP.h04.f512x1|SA.SDP.h4.f512x1": "must look like",
           "h0256|SA.SDP.h4.f512x1|SA.SDP.h4.f512x1": "no leading zero"}
    for s, msg in bad.items():
        with pytest.raises(ValueError, match=msg):
            fb.parse(s)
    with pytest.raises(ValueError, match="heads do not divide the attention size 100"):
        SelfAttention(100, 100, 8)
    with pytest.raises(ValueError, match="sizes must be one of"):
        fb.build(arch, sizes="paper")


def test_sample_mutate_crossover_stay_in_the_design_space() -> None:
    rng = random.Random(1)
    archs = [fb.sample(rng) for _ in range(200)]
    assert {len(a.layers) for a in archs} == {2, 4} and {a.hidden for a in archs} == {128, 256}
    assert {la.heads for a in archs for la in a.layers} == {2, 4, 8}
    mixed = 0
    for a, b in zip(archs[:50], archs[50:100]):
        child = fb.mutate(a, rng)
        assert child != a and fb.parse(str(child)) == child
        # crossover: depth and hidden size from either parent, each layer from a parent that has one there
        x = fb.crossover(a, b, rng)
        assert fb.parse(str(x)) == x and len(x.layers) in {len(a.layers), len(b.layers)}
        assert x.hidden in {a.hidden, b.hidden}
        assert all(la in [p.layers[i] for p in (a, b) if i < len(p.layers)] for i, la in enumerate(x.layers))
        assert fb.crossover(a, a, rng) == a
        mixed += x not in (a, b)
        assert fb.cell_edges(a)["encoder"][0][0] == "emb"
    assert mixed > 25  # a child is mostly neither parent (not a copy of one)


def test_records_round_trip_and_benchmark(data_dir) -> None:
    records = json.loads((data_dir / "flexibert/flexibert_glue_500.json").read_text())
    archs = [fb.from_record(r) for r in records]
    assert len(archs) == 500 and all(fb.parse(str(a)) == a for a in archs)
    bench = get_benchmark("flexibert", data_dir)
    assert bench.tasks[0] == "glue" and len(bench.tasks) == 9
    distinct = bench.archs_for("glue")
    assert len(distinct) == len(set(archs)) == 491
    glue = bench.accuracies(distinct, "glue")
    assert 53.0 < glue.min() and glue.max() < 75.2
    assert bench.accuracies([archs[0]], "cola")[0] == pytest.approx(records[0]["scores"]["cola"])
    assert bench.params_m(archs[0]) == pytest.approx(hand_count(archs[0], "design") / 1e6)


def test_token_batches() -> None:
    b = load_batch("glue", 6, resolution=32)
    assert b.inputs.dtype == torch.long and b.inputs.shape == (6, 32) and b.num_classes == 2
    assert (b.inputs[:, 0] == tokens.CLS).all() and (b.inputs[:, -1] != 0).any()
    assert torch.equal(b.inputs, load_batch("cola", 6, resolution=32).inputs)
    assert not torch.equal(b.inputs, load_batch("glue", 6, resolution=32, seed=1).inputs)
    rows = tokens.sequences(32)
    assert ((rows == tokens.PAD).sum(1) <= 15).all() and (rows[:, 1] >= tokens.FIRST_WORD_ID).all()
    syn = load_batch("glue", 4, resolution=16, inputs="synthetic")
    assert syn.inputs.shape == (4, 16) and "synthetic" in syn.source
    assert tokens.tokenize("The the, ====") == [tokens.token_id("the")] * 2 + [tokens.token_id(","), tokens.token_id("====")]
    with pytest.raises(ValueError, match="sequences of 512 tokens, the batch needs 5000"):
        load_batch("glue", 5000, resolution=512)
    with pytest.raises(ValueError, match="sequence length must be an int >= 1"):  # was silently 128
        tokens.token_batch("glue", 4, length=0)


def test_scoring_path_default_and_gaussian_init() -> None:
    batch = load_batch("glue", 12, resolution=16)
    arch = fb.parse("h128|DSC.9.h2.f512x1|SA.WMA.h2.f512x3")
    proxies = resolve(["swap_ext", "params"])
    for init in ("default", "gaussian"):
        protocol = Protocol(space="flexibert", dataset="glue", batch_size=12, init=init,
                            net={"sizes": "design", "resolution": 16}, batch_digest=batch.digest)
        recs = score_arch(arch, fb.build, proxies, batch, protocol, torch.device("cpu"))
        assert all(r.ok for r in recs.values()), recs
        assert recs["params"].value == hand_count(arch, "design")
        assert 0 < recs["swap_ext"].value <= (512 + 3 * 512) * 16  # hooked neurons: GELU widths × L
    net = fb.build(arch, sizes="design")
    emb = net.embeddings.word.weight.clone()
    gaussian_init(net, torch.Generator().manual_seed(0))
    assert torch.equal(emb, net.embeddings.word.weight)  # embeddings keep the HF init under gaussian_init
    assert swap_score(net, batch.inputs, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4)) > 0


def test_tiny_correlate_run(data_dir, tmp_path, capsys) -> None:
    out = tmp_path / "fb"
    code = main(["correlate", "--space", "flexibert", "--dataset", "glue", "--proxies", "swap_ext,params",
                 "--archs", "5", "--batch-size", "16", "--net", "resolution=8,sizes=design", "--device", "cpu",
                 "--workers", "1", "--data-dir", str(data_dir), "--out", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    result = json.loads((out / "results.json").read_text())
    assert result["protocol"]["space"] == "flexibert" and len(result["archs"]) == 5
    assert [str(fb.parse(a)) for a in result["archs"]] == result["archs"] and len(set(result["scores"]["swap_ext"])) > 1
    # params: the designed encoder counted by hand from its shapes (the scored network is built as designed)
    assert result["scores"]["params"] == [hand_count(fb.parse(a), "design") for a in result["archs"]]


def test_tiny_search_runs_and_reports_the_nearest_benchmark_arch(small_bundle, tmp_path, capsys) -> None:
    out = tmp_path / "search"
    code = main(["search", "--space", "flexibert", "--dataset", "glue", "--fitness", "swap_ext", "--population", "3",
                 "--sample", "2", "--mutations", "1", "--cycles", "1", "--device", "cpu", "--batch-size", "16",
                 "--net", "resolution=8", "--data-dir", str(small_bundle), "--out", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    result = json.loads((out / "result.json").read_text())
    found = fb.parse(result["best"])
    assert result["evaluations"] == 3 + 1
    extra, bench = result["extra"], get_benchmark("flexibert", small_bundle)
    near = fb.parse(extra["benchmark_arch"])
    assert extra["distance"] == fb.distance(found, near) and extra["in_benchmark"] == int(found in bench.archs)
    assert min(fb.distance(found, b) for b in bench.archs) == extra["distance"]
    scores = bench.accuracies(bench.archs, "glue")
    assert extra["glue_score"] == float(bench.accuracies([near], "glue")[0])
    assert extra["rank"] == 1 + sum(s > extra["glue_score"] for s in scores) and extra["of"] == len(bench)
    escaped = extra["benchmark_arch"].replace("|", "\\|")  # a markdown cell: its pipes escaped
    assert f"| {escaped} |" in (out / "report.md").read_text()
    printed = capsys.readouterr().out
    assert "FlexiBERT-500 glue: " in printed and f"score {extra['glue_score']:.2f} (rank {extra['rank']} of" in printed


def _choices(arch: fb.Arch) -> list[str]:
    """The design choices read back from the canonical string (independent of the dataclass fields)."""
    head, *layers = str(arch).split("|")
    return [head] + [part for layer in layers for part in layer.replace("x", ".").split(".")]


def test_distance_counts_differing_design_choices() -> None:
    rng = random.Random(5)
    archs = [fb.sample(rng) for _ in range(60)]
    for a, b in zip(archs, archs[1:]):
        ca, cb = _choices(a), _choices(b)
        per_layer = 5  # op, param, heads, FF width, FF count
        naive = sum(x != y for x, y in zip(ca, cb)) + abs(len(ca) - len(cb))
        assert len(ca) == 1 + per_layer * len(a.layers)
        assert fb.distance(a, b) == fb.distance(b, a) == naive, (str(a), str(b))
        assert fb.distance(a, a) == 0
    two = fb.parse("h256|SA.SDP.h4.f512x1|LT.DFT.h2.f1024x3")
    assert fb.distance(two, fb.parse("h128|SA.SDP.h4.f512x1|LT.DFT.h2.f1024x3")) == 1
    assert fb.distance(two, fb.parse("h256|DSC.5.h4.f512x1|LT.DFT.h2.f1024x3")) == 2  # op type and its parameter
    assert fb.distance(two, fb.parse("h256|SA.SDP.h4.f512x1|LT.DFT.h2.f1024x3|SA.SDP.h4.f512x1|SA.SDP.h4.f512x1")) == 10


def test_nearest_benchmark_arch(small_bundle) -> None:
    bench = get_benchmark("flexibert", small_bundle)
    member = bench.archs[3]
    assert bench.nearest(member) == (member, 0)
    rng = random.Random(2)
    for _ in range(20):
        arch = fb.sample(rng)
        near, dist = bench.nearest(arch)
        dists = sorted((fb.distance(arch, b), str(b)) for b in bench.archs)
        assert (dist, str(near)) == dists[0] and near in bench.archs


def test_protocol_defaults_use_the_builders_init(data_dir) -> None:
    protocol, batch, _ = configure("flexibert", "glue", "swap_ext,params", data_dir=str(data_dir))
    assert protocol.init == "default" and protocol.net == {"sizes": "authors", "resolution": 16}
    assert batch.inputs.shape == (32, 16) and protocol.repeats == 1
    protocol, _, proxies = configure("flexibert", "glue", "best", data_dir=str(data_dir))
    assert [p.name for p in proxies] == ["swap_ext_layers"] and proxies[0].base_names == ("swap_ext", "vkdnw_layers")
    assert protocol.init == "default" and protocol.net == {"sizes": "authors", "resolution": 16}


def test_masked_token_batch_and_head_give_the_masked_cross_entropy(data_dir) -> None:
    from swapnas.proxies._common import output_loss
    from swapnas.tokens import CLS, MASK, PAD, SEP, mask_tokens

    ids = torch.tensor([[CLS, 2000, 2001, 2002, 2003, 2004, 2005, SEP], [CLS, 3000, 3001, SEP, PAD, PAD, PAD, PAD]])
    masked, targets = mask_tokens(ids, seed=4)
    again = mask_tokens(ids, seed=4)
    assert torch.equal(masked, again[0]) and torch.equal(targets, again[1])  # seeded
    hit = targets != -100
    assert hit.sum(1).tolist() == [1, 1]  # round(0.15 * 6) = 1 and at least one of 2 words
    assert torch.equal(masked[hit], torch.full((2,), MASK)) and torch.equal(targets[hit], ids[hit])
    assert torch.equal(masked[~hit], ids[~hit])  # [CLS], [SEP], [PAD] and the other words untouched
    protocol, batch, _ = configure("flexibert", "glue", "snip", net={"objective": "mlm"}, data_dir=str(data_dir))
    assert batch.num_classes == tokens.VOCAB_SIZE and batch.targets.shape == batch.inputs.shape == (32, 16)
    assert protocol.batch_digest != configure("flexibert", "glue", "snip", data_dir=str(data_dir))[0].batch_digest
    net = fb.build("h128|SA.SDP.h2.f512x1|LT.DFT.h2.f512x1", objective="mlm")
    logits = net(batch.inputs[:4])
    assert logits.shape == (4, tokens.VOCAB_SIZE, 16)
    hit = batch.targets[:4] != -100
    naive = -torch.log_softmax(logits.transpose(1, 2)[hit], dim=-1)[torch.arange(int(hit.sum())), batch.targets[:4][hit]]
    assert output_loss(logits, batch.targets[:4]).item() == pytest.approx(naive.mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match="applies to token tasks only"):
        load_batch("cifar10", 4, data_dir=str(data_dir), objective="mlm")
