"""The FlexiBERT encoder's embeddings and self-attention (``swapnas.spaces.flexibert_net``: ``Embeddings``, ``_heads``,
``_merge``, ``SelfAttention``), from their mutation run (session 47): each layer's sizes written out, the embedding sum
and self-attention against loops over positions and heads written here, and every refusal whole. (The token
mixer DSC, the layers and the encoder: `test_flexibert_layers_mutants.py`.)"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from swapnas.spaces import flexibert_net as fn

from .message_tools import refusal


def test_the_embeddings_layers() -> None:
    emb = fn.Embeddings(256)
    assert (fn.VOCAB, fn.EMBED, fn.MAX_POSITIONS) == (30522, 128, 512)
    assert (emb.word.num_embeddings, emb.word.embedding_dim, emb.word.padding_idx) == (30522, 128, 0)
    assert (emb.position.num_embeddings, emb.position.embedding_dim) == (512, 128)
    assert (emb.token_type.num_embeddings, emb.token_type.embedding_dim) == (2, 128)
    assert emb.norm.normalized_shape == (128,) and emb.norm.eps == 1e-12 and emb.drop.p == 0.0
    assert type(emb.project) is nn.Linear and (emb.project.in_features, emb.project.out_features) == (128, 256)
    small = fn.Embeddings(16, vocab=50, embed=16, max_len=9, dropout=0.25)
    assert type(small.project) is nn.Identity and small.drop.p == 0.25
    assert (small.word.num_embeddings, small.position.num_embeddings, small.norm.normalized_shape) == (50, 9, (16,))


def test_the_embeddings_sum_word_position_and_type_then_normalise_and_project() -> None:
    torch.manual_seed(0)
    emb = fn.Embeddings(12, vocab=40, embed=8, max_len=6)
    ids = torch.tensor([[3, 0, 39, 7], [1, 2, 3, 4]])
    want = torch.empty(2, 4, 12)
    for b in range(2):
        for t in range(4):
            e = emb.word.weight[ids[b, t]] + emb.position.weight[t] + emb.token_type.weight[0]
            e = (e - e.mean()) / torch.sqrt(e.var(unbiased=False) + 1e-12) * emb.norm.weight + emb.norm.bias
            want[b, t] = emb.project(e)
    assert torch.allclose(emb(ids), want, atol=1e-5)
    assert emb(torch.zeros(0, 3, dtype=torch.long)).shape == (0, 3, 12)  # no ids: nothing to check
    assert emb(torch.tensor([[5] * 6])).shape == (1, 6, 12)  # every position


def test_the_embeddings_refuse_what_they_cannot_embed() -> None:
    emb = fn.Embeddings(8, vocab=40, embed=8, max_len=6)
    assert refusal(ValueError, lambda: emb(torch.zeros(1, 7, dtype=torch.long))) == \
        "sequence length 7 exceeds the 6 positions"
    for ids, low, high in (([[0, 40]], 0, 40), ([[-1, 3]], -1, 3), ([[-2, 41]], -2, 41)):
        assert refusal(ValueError, lambda: emb(torch.tensor(ids))) == (
            f"token ids run from {low} to {high}; the word embedding has a vocabulary of 40 ids, so every id must be "
            "in 0 … 39")
    assert emb(torch.tensor([[0, 39]])).shape == (1, 2, 8)
    with torch.device("meta"):  # a size count on the meta device: ids without values are not checked
        meta = fn.Embeddings(8, vocab=40, embed=8, max_len=6)
        assert meta(torch.zeros(2, 3, dtype=torch.long)).device.type == "meta"


def test_heads_split_and_merge_features() -> None:
    x = torch.arange(2 * 3 * 6, dtype=torch.float32).view(2, 3, 6)
    h = fn._heads(x, 2)
    assert h.shape == (2, 2, 3, 3)
    for b in range(2):
        for head in range(2):
            for t in range(3):
                assert torch.equal(h[b, head, t], x[b, t, head * 3:(head + 1) * 3])
    assert torch.equal(fn._merge(h), x) and fn._heads(x, 3).shape == (2, 3, 3, 2)


def _naive_attention(att: fn.SelfAttention, x: torch.Tensor, q: torch.Tensor | None = None) -> torch.Tensor:
    queries = att.query(x) if q is None else q
    if att.weight is not None:
        queries = att.weight(queries)
    keys, values = att.key(x), att.value(x)
    b, n, f = queries.shape
    d = f // att.heads
    out = torch.empty(b, n, f)
    for i in range(b):
        for h in range(att.heads):
            cols = slice(h * d, (h + 1) * d)
            for t in range(n):
                scores = torch.stack([queries[i, t, cols] @ keys[i, s, cols] for s in range(n)]) / math.sqrt(d)
                weights = torch.exp(scores - scores.max())
                weights = weights / weights.sum()
                out[i, t, cols] = sum(weights[s] * values[i, s, cols] for s in range(n))
    return out


@pytest.mark.parametrize(("heads", "wma"), [(1, False), (2, False), (4, True), (2, True)])
def test_self_attention_by_its_definition(heads: int, wma: bool) -> None:
    torch.manual_seed(heads)
    att = fn.SelfAttention(6, 8, heads, wma=wma)
    assert att.heads == heads and [(m.in_features, m.out_features) for m in (att.query, att.key, att.value)] == \
        [(6, 8)] * 3
    assert all(m.bias is not None for m in (att.query, att.key, att.value)) and att.drop.p == 0.0
    if wma:
        assert type(att.weight) is nn.Linear and att.weight.bias is None and att.weight.in_features == 8
    else:
        assert att.weight is None
    x = torch.randn(2, 5, 6)
    assert torch.allclose(att(x), _naive_attention(att, x), atol=1e-5)
    q = torch.randn(2, 5, 8)  # DSC hands its own queries in
    assert torch.allclose(att(x, q), _naive_attention(att, x, q), atol=1e-5)


def test_self_attention_refuses_heads_that_do_not_divide_its_size() -> None:
    assert refusal(ValueError, lambda: fn.SelfAttention(6, 10, 4)) == \
        "4 attention heads do not divide the attention size 10"
    default = fn.SelfAttention(6, 10, 5, dropout=0.5)
    assert default.drop.p == 0.5 and default.weight is None  # scaled dot-product unless wma is asked for


def _naive_dft_real(h: torch.Tensor) -> torch.Tensor:
    """Re of the 2-D DFT over the last two dimensions, summed out: sum x[s, f] cos(2π (a s / L + b f / d))."""
    n, d = h.shape[-2:]
    out = torch.zeros_like(h)
    for a in range(n):
        for b in range(d):
            angle = torch.tensor([[2 * math.pi * (a * s / n + b * f / d) for f in range(d)] for s in range(n)])
            out[..., a, b] = (h * torch.cos(angle)).sum((-2, -1))
    return out


def _naive_dct(n: int, ortho: bool) -> torch.Tensor:
    """DCT-II as a matrix, by its formula: 2 cos(π k (i + ½) / n), or orthonormal (√(1/n) for k = 0, √(2/n) else)."""
    c = torch.tensor([[math.cos(math.pi * k * (i + 0.5) / n) for i in range(n)] for k in range(n)])
    if not ortho:
        return 2 * c
    scale = torch.tensor([math.sqrt(1 / n)] + [math.sqrt(2 / n)] * (n - 1))[:, None]
    return c * scale


@pytest.mark.parametrize(("kind", "ortho", "heads"), [("DFT", True, 2), ("DCT", True, 2), ("DCT", False, 4),
                                                       ("DCT", True, 1)])
def test_the_linear_transform_by_its_definition(kind: str, ortho: bool, heads: int) -> None:
    torch.manual_seed(heads)
    lt = fn.LinearTransform(8, heads, kind, ortho)
    assert (lt.heads, lt.kind, lt.ortho) == (heads, kind, ortho)
    assert (lt.dense.in_features, lt.dense.out_features) == (8, 8) and lt.dense.bias is not None
    x = torch.randn(2, 5, 8)
    h = fn._heads(lt.dense(x), heads)
    if kind == "DFT":
        want = _naive_dft_real(h)
    else:
        want = _naive_dct(5, ortho) @ h @ _naive_dct(8 // heads, ortho).T
    assert torch.allclose(lt(x), fn._merge(want), atol=1e-4)
    assert fn.LinearTransform(8, 2, "DCT").ortho is True


def test_the_linear_transform_refuses_heads_that_do_not_divide_the_hidden_size() -> None:
    assert refusal(ValueError, lambda: fn.LinearTransform(10, 4, "DFT")) == "4 heads do not divide the hidden size 10"


def test_the_feed_forward_stack() -> None:
    ff = fn.feed_forward(6, 10, 3)
    assert [type(m).__name__ for m in ff] == ["Linear", "GELU", "Linear", "GELU", "Linear", "GELU", "Linear"]
    assert [(m.in_features, m.out_features) for m in ff if isinstance(m, nn.Linear)] == \
        [(6, 10), (10, 10), (10, 10), (10, 6)]
    one = fn.feed_forward(4, 7, 1)
    assert [(m.in_features, m.out_features) for m in one if isinstance(m, nn.Linear)] == [(4, 7), (7, 4)]
    assert all(m.approximate == "none" for m in ff if isinstance(m, nn.GELU))


def test_the_dct_follows_the_maps_dtype() -> None:
    torch.manual_seed(0)
    lt = fn.LinearTransform(4, 2, "DCT").double()
    x = torch.randn(1, 3, 4, dtype=torch.float64)
    h = fn._heads(lt.dense(x), 2)
    want = _naive_dct(3, True).double() @ h @ _naive_dct(2, True).double().T
    got = lt(x)
    assert got.dtype == torch.float64 and torch.allclose(got, fn._merge(want), atol=1e-6)
