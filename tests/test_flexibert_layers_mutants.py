"""The FlexiBERT encoder's DSC mixer, its mixer choice, its layers and the encoder (``swapnas.spaces.flexibert_net``:
``DynamicSpanConv``, ``mixer``, ``EncoderLayer``, ``Encoder``), from their mutation run (session 48): each part's
sizes and settings written out, the span-based dynamic convolution, a layer and the encoder's heads computed here
from their own modules step by step, the initialisation read back, and every refusal whole."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from swapnas.spaces import flexibert_net as fn

from .message_tools import refusal
from .test_flexibert_attention_mutants import _naive_attention


class _Times(nn.Module):
    """A stand-in for a layer's dropout that shows where it is applied: it multiplies by ``k``."""

    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.k * x


def _layer_norm(x: torch.Tensor, norm: nn.LayerNorm) -> torch.Tensor:
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-12) * norm.weight + norm.bias


def _naive_span_conv(dsc: fn.DynamicSpanConv, x: torch.Tensor) -> torch.Tensor:
    """ConvBERT's mixed block, position by position: the depthwise then pointwise convolution of the input, times the
    query, gives each position and head a softmax kernel over a window of ``k`` values of ``conv_out(x)`` around it
    (zero outside the sequence); self-attention on half the features beside it."""
    b, n, hidden = x.shape
    k, heads = dsc.kernel, dsc.heads
    half = hidden // 2
    d = half // heads
    pad = k // 2
    q = dsc.attention.query(x)
    dw = dsc.depthwise.weight[:, 0]  # (hidden, k)
    key = torch.empty(b, n, half)
    for i in range(b):
        for t in range(n):
            depth = torch.zeros(hidden)
            for j in range(k):
                s = t + j - pad
                if 0 <= s < n:
                    depth = depth + dw[:, j] * x[i, s]
            key[i, t] = dsc.pointwise.weight[:, :, 0] @ depth + dsc.pointwise.bias
    v = dsc.conv_out(x)
    conv = torch.empty(b, n, half)
    for i in range(b):
        for t in range(n):
            logits = dsc.conv_kernel(key[i, t] * q[i, t])
            for h in range(heads):
                w = torch.softmax(logits[h * k:(h + 1) * k], 0)
                cols = slice(h * d, (h + 1) * d)
                acc = torch.zeros(d)
                for j in range(k):
                    s = t + j - pad
                    if 0 <= s < n:
                        acc = acc + w[j] * v[i, s, cols]
                conv[i, t, cols] = acc
    return torch.cat([_naive_attention(dsc.attention, x, q), conv], -1)


@pytest.mark.parametrize(("hidden", "heads", "kernel"), [(12, 4, 3), (12, 4, 5), (8, 1, 3), (12, 6, 9)])
def test_the_span_conv_by_its_definition(hidden: int, heads: int, kernel: int) -> None:
    torch.manual_seed(kernel + heads)
    dsc = fn.DynamicSpanConv(hidden, heads, kernel)
    conv_heads, half = max(1, heads // 2), hidden // 2
    assert (dsc.heads, dsc.kernel) == (conv_heads, kernel)
    att = dsc.attention
    assert (att.query.in_features, att.query.out_features, att.heads, att.weight, att.drop.p) == \
        (hidden, half, conv_heads, None, 0.0)
    dw, pw = dsc.depthwise, dsc.pointwise
    assert (dw.in_channels, dw.out_channels, dw.kernel_size, dw.padding, dw.groups, dw.bias) == \
        (hidden, hidden, (kernel,), (kernel // 2,), hidden, None)
    assert (dw.stride, dw.dilation) == ((1,), (1,))
    assert (pw.in_channels, pw.out_channels, pw.kernel_size, pw.groups) == (hidden, half, (1,), 1)
    assert pw.bias is not None
    assert (dsc.conv_kernel.in_features, dsc.conv_kernel.out_features) == (half, conv_heads * kernel)
    assert (dsc.conv_out.in_features, dsc.conv_out.out_features) == (hidden, half)
    for lin in (dsc.pointwise, dsc.conv_kernel, dsc.conv_out):  # non-zero biases, so that a dropped one shows
        nn.init.uniform_(lin.bias, -0.5, 0.5)
    x = torch.randn(2, 7, hidden)
    calls: list[int] = []
    dsc.attention.query.register_forward_hook(lambda *_: calls.append(1))
    got = dsc(x)
    assert len(calls) == 1  # the query is computed once, for the kernel and the attention both
    assert got.shape == (2, 7, hidden)
    assert torch.allclose(got, _naive_span_conv(dsc, x), atol=1e-5)


def test_the_span_conv_passes_its_dropout_to_attention_and_refuses_heads_that_do_not_divide() -> None:
    assert fn.DynamicSpanConv(8, 2, 5, dropout=0.25).attention.drop.p == 0.25
    assert refusal(ValueError, lambda: fn.DynamicSpanConv(10, 6, 5)) == "3 conv heads do not divide the conv size 5"
    assert fn.DynamicSpanConv(10, 2, 5).heads == 1  # 5 features, one head


def test_the_mixer_each_operation_builds() -> None:
    sdp = fn.mixer("SA", "SDP", 8, 4, dropout=0.5)
    assert type(sdp) is fn.SelfAttention and sdp.weight is None and sdp.heads == 4 and sdp.drop.p == 0.5
    assert (sdp.query.in_features, sdp.query.out_features) == (8, 8)
    wma = fn.mixer("SA", "WMA", 8, 2)
    assert type(wma) is fn.SelfAttention and type(wma.weight) is nn.Linear and wma.heads == 2 and wma.drop.p == 0.0
    for kind in ("DFT", "DCT"):
        for layout, ortho in (("v1", True), ("flexibert", False)):
            lt = fn.mixer("LT", kind, 8, 2, layout=layout)
            assert type(lt) is fn.LinearTransform and (lt.kind, lt.ortho, lt.heads) == (kind, ortho, 2)
            assert lt.dense.in_features == 8
    assert fn.mixer("LT", "DCT", 8, 2).ortho is True  # the default layout is v1
    for kernel in (5, 9):
        dsc = fn.mixer("DSC", str(kernel), 8, 4, dropout=0.5)
        assert type(dsc) is fn.DynamicSpanConv and (dsc.kernel, dsc.heads) == (kernel, 2)
        assert dsc.attention.drop.p == 0.5 and dsc.conv_out.in_features == 8


@pytest.mark.parametrize(("op", "param"), [("SA", "DFT"), ("LT", "SDP"), ("DSC", "4"), ("DSC", "x"), ("FF", "5"),
                                           ("SA", "5"), ("LT", "5"), ("DSC", "SDP")])
def test_the_mixer_refuses_what_the_space_does_not_have(op: str, param: str) -> None:
    assert refusal(ValueError, lambda: fn.mixer(op, param, 8, 2)) == (
        f"unknown FlexiBERT operation {op}/{param}: SA takes SDP or WMA, LT takes DFT or DCT, DSC takes an odd kernel "
        "size (5 or 9)")


@pytest.mark.parametrize(("op", "param", "layout"), [("SA", "SDP", "v1"), ("LT", "DCT", "v1"), ("DSC", "5", "v1"),
                                                     ("SA", "WMA", "flexibert"), ("LT", "DFT", "flexibert"),
                                                     ("DSC", "9", "flexibert")])
def test_an_encoder_layer_by_its_definition(op: str, param: str, layout: str) -> None:
    torch.manual_seed(len(op) + len(layout))
    layer = fn.EncoderLayer(op, param, 8, 2, 12, 2, dropout=0.25, layout=layout)
    own = layout != "flexibert" or op != "LT"
    assert layer.self_output is own
    assert type(layer.mixer) is type(fn.mixer(op, param, 8, 2, layout=layout))
    assert layer.drop.p == 0.25 and layer.norm2.normalized_shape == (8,) and layer.norm2.eps == 1e-12
    assert [(m.in_features, m.out_features) for m in layer.ff if isinstance(m, nn.Linear)] == \
        [(8, 12), (12, 12), (12, 8)]
    if own:
        assert (layer.mixer_out.in_features, layer.mixer_out.out_features) == (8, 8)
        assert layer.mixer_out.bias is not None
        assert layer.norm1.normalized_shape == (8,) and layer.norm1.eps == 1e-12
    else:
        assert not hasattr(layer, "mixer_out") and not hasattr(layer, "norm1")
    if op == "LT":
        assert layer.mixer.ortho is (layout == "v1")
    else:
        assert layer.mixer.attention.drop.p == 0.25 if op == "DSC" else layer.mixer.drop.p == 0.25
    for norm in (layer.norm2, *([layer.norm1] if own else [])):  # not the identity, so that a dropped one shows
        nn.init.uniform_(norm.weight, 0.5, 1.5)
        nn.init.uniform_(norm.bias, -0.5, 0.5)
    layer.drop = _Times(3.0)
    layer.eval()
    x = torch.randn(2, 5, 8)
    m = layer.mixer(x)
    y = _layer_norm(x + 3.0 * layer.mixer_out(m), layer.norm1) if own else m
    want = _layer_norm(y + 3.0 * layer.ff(y), layer.norm2)
    assert torch.allclose(layer(x), want, atol=1e-5)


def test_an_encoder_layer_refuses_an_unknown_layout() -> None:
    assert fn.LAYOUTS == ("v1", "flexibert")
    assert refusal(ValueError, lambda: fn.EncoderLayer("SA", "SDP", 8, 2, 8, 1, layout="bert")) == \
        "unknown FlexiBERT layer layout 'bert'; choose one of v1, flexibert"
    default = fn.EncoderLayer("LT", "DFT", 8, 2, 8, 1)
    assert default.self_output and default.drop.p == 0.0 and default.mixer.ortho  # v1 unless asked


LAYERS = [("SA", "SDP", 2, 12, 1), ("LT", "DCT", 4, 8, 2), ("DSC", "5", 2, 12, 3)]


def test_the_encoder_builds_its_parts() -> None:
    enc = fn.Encoder(16, LAYERS, num_classes=3, dropout=0.25, max_len=20, init_std=0.05)
    assert (enc.head, enc.layout, enc.init_std) == ("cls", "v1", 0.05)
    emb = enc.embeddings
    assert emb.position.num_embeddings == 20 and emb.drop.p == 0.25
    assert (emb.project.in_features, emb.project.out_features) == (fn.EMBED, 16)
    assert len(enc.layers) == 3 and all(type(layer) is fn.EncoderLayer for layer in enc.layers)
    sa, lt, dsc = enc.layers
    assert type(sa.mixer) is fn.SelfAttention and sa.mixer.heads == 2 and sa.mixer.drop.p == 0.25
    assert type(lt.mixer) is fn.LinearTransform and (lt.mixer.kind, lt.mixer.heads, lt.mixer.ortho) == ("DCT", 4, True)
    assert type(dsc.mixer) is fn.DynamicSpanConv and (dsc.mixer.kernel, dsc.mixer.heads) == (5, 1)
    widths = [[(m.in_features, m.out_features) for m in layer.ff if isinstance(m, nn.Linear)] for layer in enc.layers]
    assert widths == [[(16, 12), (12, 16)], [(16, 8), (8, 8), (8, 16)], [(16, 12), (12, 12), (12, 12), (12, 16)]]
    assert all(layer.drop.p == 0.25 and layer.self_output for layer in enc.layers)
    assert (enc.classifier.in_features, enc.classifier.out_features) == (16, 3) and not hasattr(enc, "lm")
    defaults = fn.Encoder(8, [("SA", "SDP", 2, 8, 1)])
    assert (defaults.classifier.out_features, defaults.embeddings.drop.p, defaults.layers[0].drop.p) == (2, 0.0, 0.0)
    assert (defaults.embeddings.position.num_embeddings, defaults.init_std, defaults.head) == (512, 0.02, "cls")
    assert defaults.layout == "v1" and defaults.layers[0].mixer.drop.p == 0.0
    flexi = fn.Encoder(8, [("LT", "DFT", 2, 8, 1)], layout="flexibert")
    assert flexi.layout == "flexibert" and not flexi.layers[0].self_output and flexi.layers[0].mixer.ortho is False


def test_the_masked_token_head() -> None:
    enc = fn.Encoder(16, LAYERS[:1], head="mlm")
    assert enc.head == "mlm" and not hasattr(enc, "classifier")
    assert [type(m) for m in enc.lm] == [nn.Linear, nn.GELU, nn.LayerNorm]
    assert (enc.lm[0].in_features, enc.lm[0].out_features) == (16, fn.EMBED)
    assert enc.lm[2].normalized_shape == (fn.EMBED,) and enc.lm[2].eps == 1e-12
    assert enc.lm_bias.shape == (fn.VOCAB,) and not enc.lm_bias.any() and enc.lm_bias.requires_grad
    assert any(p is enc.lm_bias for p in enc.parameters())


@pytest.mark.parametrize("head", ["cls", "mlm"])
def test_the_encoder_forward_by_its_parts(head: str) -> None:
    torch.manual_seed(3)
    enc = fn.Encoder(16, LAYERS, num_classes=3, head=head).eval()
    if head == "mlm":
        nn.init.uniform_(enc.lm_bias, -1.0, 1.0)
    ids = torch.randint(0, fn.VOCAB, (2, 6))
    h = enc.embeddings(ids)
    for layer in enc.layers:
        h = layer(h)
    if head == "cls":
        want = enc.classifier(h[:, 0])
        assert enc(ids).shape == (2, 3)
    else:
        want = torch.stack([(enc.lm(h[i]) @ enc.embeddings.word.weight.T + enc.lm_bias).T for i in range(2)])
        assert enc(ids).shape == (2, fn.VOCAB, 6)
    assert torch.allclose(enc(ids), want, atol=1e-5)


def test_the_encoder_refuses_an_unknown_head() -> None:
    assert refusal(ValueError, lambda: fn.Encoder(8, [("SA", "SDP", 2, 8, 1)], head="seq")) == \
        "head must be 'cls' or 'mlm' (got 'seq')"


@pytest.mark.parametrize("layout", ["v1", "flexibert"])
def test_the_encoder_initialisation(layout: str) -> None:
    torch.manual_seed(1)
    std = 0.5
    enc = fn.Encoder(64, [("DSC", "9", 2, 256, 1), ("SA", "WMA", 2, 64, 1)], init_std=std, head="mlm", layout=layout)
    for name, m in enc.named_modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            w = m.weight.detach()
            w = w[1:] if isinstance(m, nn.Embedding) and m.padding_idx is not None else w
            if w.numel() >= 4096:
                assert abs(float(w.mean())) < 0.05 and abs(float(w.std()) - std) < 0.05, name
            else:
                assert float(w.abs().max()) > 0.05 and float(w.abs().max()) < 8 * std, name
            if isinstance(m, nn.Linear) and m.bias is not None:
                assert not m.bias.any(), name
        if isinstance(m, nn.LayerNorm):
            assert bool((m.weight == 1).all()) and not m.bias.any(), name
    assert not enc.embeddings.word.weight[0].any() and enc.embeddings.word.weight[1].any()
    assert enc.embeddings.position.weight[0].any()  # no padding row
    dsc = enc.layers[0].mixer
    assert isinstance(dsc, fn.DynamicSpanConv)
    for conv in (dsc.depthwise, dsc.pointwise):
        bound = float(conv.weight.detach().abs().max())
        if layout == "flexibert":  # N(0, std), far past PyTorch's default bound of 1/√fan_in ≤ 0.34
            assert bound > 1.0
        else:
            assert bound <= 1 / (conv.weight[0].numel() ** 0.5) + 1e-6
    if layout == "flexibert":
        assert not dsc.pointwise.bias.any()
        assert abs(float(dsc.pointwise.weight.detach().std()) - std) < 0.05
    else:
        assert dsc.pointwise.bias.any()
    assert not enc.lm_bias.any()
