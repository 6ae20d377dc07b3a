"""The FlexiBERT encoder in PyTorch: embeddings, SA / LT / DSC token mixers, GELU FF stacks, post-LN.

One encoder layer (post-LN, BERT style)::

    y = LayerNorm(x + Dropout(Dense(mixer(x))))            # mixer: SA-SDP, SA-WMA, LT-DFT, LT-DCT, DSC-5/9
    z = LayerNorm(y + Dropout(Out(GELU(Lin_n(… GELU(Lin_1(y)))))))   # n = num_feed_forward

- ``SA``: multi-head self-attention (``heads`` heads of size hidden/heads). ``WMA`` adds a bias-free
  square map W (hidden × hidden) on the queries, so a head's score is q·W·k (weighted multiplicative).
- ``LT``: an input linear map, then per head the real part of the 2-D DFT (``DFT``, FNet-like) or
  the orthonormal 2-D DCT-II (``DCT``) over (sequence, head features).
- ``DSC``: ConvBERT's mixed block with conv_head_ratio 2: hidden/2 features go to self-attention
  with max(1, heads/2) heads, the other hidden/2 to a span-based dynamic convolution with as many
  heads: a depthwise-separable 1-D conv of the input (the "key"), times the query, gives per
  position and head a softmax kernel of size ``k`` (5 or 9) that mixes a window of ``k`` values.

Layout ``flexibert`` (``LAYOUTS``; the FlexiBERT / SWAP authors' code): an LT layer is
``z = LayerNorm(y + Dropout(FF(y)))`` with ``y = mixer(x)`` (no dense, residual or LayerNorm after the mixer),
the DCT is unnormalised and DSC's separable convolution is initialised like the Linear layers.

Embeddings as ELECTRA-small: word (30,522 ids), position (512) and token-type (2) embeddings of
size 128, LayerNorm, then a linear projection to the hidden size when it differs. The head is a
linear classifier on the first ([CLS]) position. Every GELU is an ``nn.GELU`` module (SWAP hooks
modules). Weights: normal(0, ``init_std``=0.02) for Linear and Embedding, zero biases, LayerNorm
(1, 0): the Hugging Face BERT/ELECTRA default the SWAP authors scored with.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

VOCAB = 30522
EMBED = 128
MAX_POSITIONS = 512


class Embeddings(nn.Module):
    """Word + position + token-type embeddings, LayerNorm, dropout, projection to ``hidden``."""

    def __init__(self, hidden: int, vocab: int = VOCAB, embed: int = EMBED, max_len: int = MAX_POSITIONS,
                 dropout: float = 0.0):
        super().__init__()
        self.word = nn.Embedding(vocab, embed, padding_idx=0)
        self.position = nn.Embedding(max_len, embed)
        self.token_type = nn.Embedding(2, embed)
        self.norm = nn.LayerNorm(embed, eps=1e-12)
        self.drop = nn.Dropout(dropout)
        self.project = nn.Linear(embed, hidden) if hidden != embed else nn.Identity()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.shape[1] > self.position.num_embeddings:
            raise ValueError(f"sequence length {ids.shape[1]} exceeds the {self.position.num_embeddings} positions")
        vocab = self.word.num_embeddings
        if ids.device.type != "meta" and ids.numel() and not ids.is_floating_point():
            low, high = int(ids.min()), int(ids.max())
            if low < 0 or high >= vocab:
                raise ValueError(f"token ids run from {low} to {high}; the word embedding has a vocabulary of {vocab} "
                                 f"ids, so every id must be in 0 … {vocab - 1}")
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.word(ids) + self.position(pos)[None] + self.token_type(torch.zeros_like(ids))
        return self.project(self.drop(self.norm(x)))


def _heads(x: torch.Tensor, h: int) -> torch.Tensor:
    """(B, L, h·d) → (B, h, L, d)."""
    b, n, f = x.shape
    return x.view(b, n, h, f // h).transpose(1, 2)


def _merge(x: torch.Tensor) -> torch.Tensor:
    """(B, h, L, d) → (B, L, h·d)."""
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


class SelfAttention(nn.Module):
    """Scaled dot-product (``wma=False``) or weighted multiplicative attention, ``heads`` heads."""

    def __init__(self, d_in: int, d_out: int, heads: int, wma: bool = False, dropout: float = 0.0):
        super().__init__()
        if d_out % heads:
            raise ValueError(f"{heads} attention heads do not divide the attention size {d_out}")
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(d_in, d_out) for _ in range(3))
        self.weight = nn.Linear(d_out, d_out, bias=False) if wma else None
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, q: torch.Tensor | None = None) -> torch.Tensor:
        q = self.query(x) if q is None else q
        if self.weight is not None:
            q = self.weight(q)
        q, k, v = _heads(q, self.heads), _heads(self.key(x), self.heads), _heads(self.value(x), self.heads)
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        return _merge(self.drop(scores.softmax(-1)) @ v)


@functools.lru_cache(maxsize=32)
def _dct_matrix(n: int, ortho: bool = True) -> torch.Tensor:
    """The DCT-II matrix C (n × n), DCT(x) = C @ x: orthonormal, or (``ortho=False``) unnormalised,
    C[k, i] = 2 cos(π k (i + ½) / n), as scipy's ``dct(norm=None)`` and the FlexiBERT code. Always built on
    the CPU (the cache must not keep a meta or GPU tensor made under a ``torch.device`` context); callers move it."""
    k = torch.arange(n, dtype=torch.float64, device="cpu")[:, None]
    i = torch.arange(n, dtype=torch.float64, device="cpu")[None, :]
    c = torch.cos(math.pi / n * (i + 0.5) * k)
    if not ortho:
        return (2.0 * c).float()
    c = c * math.sqrt(2.0 / n)
    c[0] /= math.sqrt(2.0)
    return c.float()


class LinearTransform(nn.Module):
    """Input linear map, then per head the 2-D DFT (real part) or DCT-II over (sequence, features)."""

    def __init__(self, hidden: int, heads: int, kind: str, ortho: bool = True):
        super().__init__()
        if hidden % heads:
            raise ValueError(f"{heads} heads do not divide the hidden size {hidden}")
        self.heads, self.kind, self.ortho = heads, kind, ortho
        self.dense = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _heads(self.dense(x), self.heads)  # (B, h, L, d)
        if self.kind == "DFT":
            return _merge(torch.fft.fft2(h, dim=(-2, -1)).real)
        cl = _dct_matrix(h.shape[-2], self.ortho).to(h)
        cd = _dct_matrix(h.shape[-1], self.ortho).to(h)
        return _merge(cl @ h @ cd.T)


class DynamicSpanConv(nn.Module):
    """ConvBERT's mixed attention (conv_head_ratio 2): SDP attention ⊕ span-based dynamic conv."""

    def __init__(self, hidden: int, heads: int, kernel: int, dropout: float = 0.0):
        super().__init__()
        half, self.heads, self.kernel = hidden // 2, max(1, heads // 2), kernel
        if half % self.heads:
            raise ValueError(f"{self.heads} conv heads do not divide the conv size {half}")
        self.attention = SelfAttention(hidden, half, self.heads, dropout=dropout)
        self.depthwise = nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2, groups=hidden, bias=False)
        self.pointwise = nn.Conv1d(hidden, half, 1)
        self.conv_kernel = nn.Linear(half, self.heads * kernel)
        self.conv_out = nn.Linear(hidden, half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.attention.query(x)
        key = self.pointwise(self.depthwise(x.transpose(1, 2))).transpose(1, 2)  # (B, L, half)
        b, n, half = key.shape
        weights = self.conv_kernel(key * q).view(b, n, self.heads, 1, self.kernel).softmax(-1)
        v = self.conv_out(x).transpose(1, 2)  # (B, half, L)
        pad = self.kernel // 2
        windows = nn.functional.pad(v, (pad, pad)).unfold(2, self.kernel, 1)  # (B, half, L, k)
        windows = windows.permute(0, 2, 1, 3).reshape(b, n, self.heads, half // self.heads, self.kernel)
        conv = (windows * weights).sum(-1).reshape(b, n, half)
        return torch.cat([self.attention(x, q=q), conv], dim=-1)


#: the layer layouts: ``v1`` (this package's until session 15: every mixer followed by dense, residual and
#: LayerNorm; orthonormal DCT; PyTorch's default init of DSC's separable convolution) and ``flexibert`` (the
#: FlexiBERT / SWAP authors' code: an LT mixer feeds the FF stack directly, the DCT is unnormalised and the
#: separable convolution's weights are N(0, init_std) with a zero bias)
LAYOUTS = ("v1", "flexibert")


def mixer(op: str, param: str, hidden: int, heads: int, dropout: float = 0.0, layout: str = "v1") -> nn.Module:
    """The token mixer of one layer: ``SA`` SDP/WMA, ``LT`` DFT/DCT, ``DSC`` 5/9."""
    if op == "SA" and param in ("SDP", "WMA"):
        return SelfAttention(hidden, hidden, heads, wma=param == "WMA", dropout=dropout)
    if op == "LT" and param in ("DFT", "DCT"):
        return LinearTransform(hidden, heads, param, ortho=layout == "v1")
    if op == "DSC" and param.isdigit() and int(param) % 2 == 1:
        return DynamicSpanConv(hidden, heads, int(param), dropout=dropout)
    raise ValueError(f"unknown FlexiBERT operation {op}/{param}: SA takes SDP or WMA, LT takes DFT or DCT, "
                     "DSC takes an odd kernel size (5 or 9)")


def feed_forward(hidden: int, ff: int, n: int) -> nn.Sequential:
    """``n`` stacked Linear+GELU layers of width ``ff`` (hidden → ff → … → ff), then the output dense."""
    layers: list[nn.Module] = []
    for i in range(n):
        layers += [nn.Linear(hidden if i == 0 else ff, ff), nn.GELU()]
    return nn.Sequential(*layers, nn.Linear(ff, hidden))


class EncoderLayer(nn.Module):
    """Mixer → dense → dropout → residual + LayerNorm; FF stack → dropout → residual + LayerNorm.
    Under the ``flexibert`` layout an LT mixer has no dense, residual or LayerNorm after it."""

    def __init__(self, op: str, param: str, hidden: int, heads: int, ff: int, n_ff: int, dropout: float = 0.0,
                 layout: str = "v1"):
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"unknown FlexiBERT layer layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
        self.mixer = mixer(op, param, hidden, heads, dropout, layout)
        self.self_output = not (layout == "flexibert" and op == "LT")
        if self.self_output:
            self.mixer_out = nn.Linear(hidden, hidden)
            self.norm1 = nn.LayerNorm(hidden, eps=1e-12)
        self.ff = feed_forward(hidden, ff, n_ff)
        self.norm2 = nn.LayerNorm(hidden, eps=1e-12)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.drop(self.mixer_out(self.mixer(x)))) if self.self_output else self.mixer(x)
        return self.norm2(x + self.drop(self.ff(x)))


class Encoder(nn.Module):
    """Embeddings, the encoder layers ``(op, param, heads, ff, n_ff)`` and a head: ``cls`` (a [CLS]
    classifier, logits (S, num_classes)) or ``mlm`` (masked-token prediction as ELECTRA's generator:
    hidden -> embedding size, GELU, LayerNorm, then the word embedding transposed plus a bias;
    logits (S, vocab, L), the layout ``F.cross_entropy`` takes with (S, L) targets)."""

    def __init__(self, hidden: int, layers: list[tuple[str, str, int, int, int]], num_classes: int = 2,
                 dropout: float = 0.0, max_len: int = MAX_POSITIONS, init_std: float = 0.02, head: str = "cls",
                 layout: str = "v1"):
        super().__init__()
        if head not in ("cls", "mlm"):
            raise ValueError(f"head must be 'cls' or 'mlm' (got {head!r})")
        self.head, self.layout = head, layout
        self.embeddings = Embeddings(hidden, max_len=max_len, dropout=dropout)
        self.layers = nn.Sequential(*(EncoderLayer(op, p, hidden, h, ff, n, dropout, layout)
                                      for op, p, h, ff, n in layers))
        if head == "cls":
            self.classifier = nn.Linear(hidden, num_classes)
        else:
            self.lm = nn.Sequential(nn.Linear(hidden, EMBED), nn.GELU(), nn.LayerNorm(EMBED, eps=1e-12))
            self.lm_bias = nn.Parameter(torch.zeros(VOCAB))
        self.init_std = init_std
        self.apply(self._init)

    def _init(self, m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)) or (self.layout == "flexibert" and isinstance(m, nn.Conv1d)):
            nn.init.normal_(m.weight, 0.0, self.init_std)
            if isinstance(m, (nn.Linear, nn.Conv1d)) and m.bias is not None:
                nn.init.zeros_(m.bias)
            if isinstance(m, nn.Embedding) and m.padding_idx is not None:
                with torch.no_grad():
                    m.weight[m.padding_idx].zero_()
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.layers(self.embeddings(ids))
        if self.head == "cls":
            return self.classifier(h[:, 0])
        return (self.lm(h) @ self.embeddings.word.weight.T + self.lm_bias).transpose(1, 2)
