"""Tests written against the survivors of session 37's mutation run of ``swapnas.seq_first`` (``batch_first_guard``;
docs/reliability.md, "Session 38"): every refusal's message in full (a model that is itself the sequence-first module
is named 'model'), a map inside one whose width is not a multiple of S, a 2-D map inside one, a map inside one
without the samples on dim 1, a PackedSequence fed to an LSTM (no tensor to check), and a layer whose attention is
the user's own, without a ``batch_first`` attribute (not guarded).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import swapnas
from swapnas.seq_first import FIX

from .test_act_functions import naive_swap

# the counts here are compared with a naive count (test_act_functions' set of tuples), not ranked: near the
# neuron ceiling is fine
pytestmark = [pytest.mark.usefixtures("one_torch_thread"),
              pytest.mark.filterwarnings("ignore::swapnas.SaturationWarning")]

WIDE = {"input_dims": (2, 3, 4)}


def relu_map(model: nn.Module, x: torch.Tensor, relu: nn.ReLU, samples_first: bool = True) -> torch.Tensor:
    """The one hooked ReLU's map, read by a plain forward hook, with the samples on dim 0 (moved there from dim 1
    if not ``samples_first``)."""
    maps: list[torch.Tensor] = []
    handle = relu.register_forward_hook(lambda m, a, out: maps.append(out.detach()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    (out,) = maps
    return out if samples_first else out.transpose(0, 1)


def encoder(d: int, ff: int, batch_first: bool = False) -> nn.TransformerEncoderLayer:
    """A training-mode encoder layer (no fast path) with a ReLU module, so the guard and the hook both see it."""
    return nn.TransformerEncoderLayer(d, 2, ff, dropout=0.0, activation=nn.ReLU(), batch_first=batch_first)


class Transposing(nn.Module):
    """Feeds a batch_first=False layer correctly: (S, L, E) → (L, S, E) and back."""

    def __init__(self, ff: int) -> None:
        super().__init__()
        self.layer = encoder(8, ff)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x.transpose(0, 1)).transpose(0, 1)


def test_a_map_inside_whose_width_is_no_multiple_of_s_is_read_samples_first() -> None:
    torch.manual_seed(0)
    net = Transposing(ff=7)  # the ReLU's map is (L, S, 7): 7 is no multiple of S = 8
    x = torch.randn(8, 6, 8)  # 42 neurons: the two orientations give different counts (40 and 37 here)
    expected = naive_swap([relu_map(net, x, net.layer.activation, samples_first=False)])
    assert swapnas.swap_score(net, x, **WIDE) == expected
    twin = encoder(8, 7, batch_first=True)
    twin.load_state_dict(net.layer.state_dict())
    assert swapnas.swap_score(twin, x, **WIDE) == expected


class Pooled(nn.TransformerEncoderLayer):
    """Sequence first; its ReLU reads the mean over features: a 2-D (L, S) map."""

    def forward(self, src: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:  # type: ignore[override]
        return self.activation(self.linear1(src).mean(-1))


def test_a_two_dimensional_map_inside_is_read_samples_first() -> None:
    torch.manual_seed(0)
    pooled = Pooled(8, 2, 16, dropout=0.0, activation=nn.ReLU())

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pooled = pooled

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.pooled(x.transpose(0, 1))

    x = torch.randn(8, 6, 8)
    expected = naive_swap([relu_map(Net(), x, pooled.activation, samples_first=False)])
    assert 1 < expected == swapnas.swap_score(Net(), x, **WIDE)


def test_refusals_in_full() -> None:
    torch.manual_seed(0)
    head = "has batch_first=False: {}, and SWAP reads dim 0 as the S = 4 samples (tokens would count as samples): "
    with pytest.raises(ValueError) as info:  # the model is the layer: it is named 'model'
        swapnas.swap_score(encoder(8, 16), torch.randn(4, 6, 8), **WIDE)
    assert str(info.value) == ("TransformerEncoderLayer 'model' " + head.format(
        "its input (4, 6, 8), the model's own, holds 6 samples on dim 1") + FIX)

    class Refolded(nn.Module):  # (4, 6, 8) → (8, 3, 8): 3 rows on dim 1, no multiple of S
        def __init__(self) -> None:
            super().__init__()
            self.layer = encoder(8, 16)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer(x.reshape(8, 3, 8))

    with pytest.raises(ValueError) as info:
        swapnas.swap_score(Refolded(), torch.randn(4, 6, 8), **WIDE)
    assert str(info.value) == ("TransformerEncoderLayer 'layer' " + head.format(
        "an activation inside it gives maps (8, 3, 16) without the samples on dim 1") + FIX)

    class Projected(nn.Module):  # samples first into a sequence-first layer, L = 8 a multiple of S, E = 12
        def __init__(self) -> None:
            super().__init__()
            self.proj, self.layer = nn.Linear(5, 12), encoder(12, 16)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer(self.proj(x))

    with pytest.raises(ValueError) as info:
        swapnas.swap_score(Projected(), torch.randn(4, 8, 5), **WIDE)
    assert str(info.value) == ("TransformerEncoderLayer 'layer' " + head.format(
        "its input (4, 8, 12) holds the samples on dim 0 and 8 rows on dim 1 (it reads dim 0 as the sequence; if "
        "this is a folded (L, k·S, …) input, e.g. axial attention, whose length L happens to equal S = 4, score with "
        "another batch size)") + FIX)


class Packed(nn.Module):
    """An LSTM (batch_first=False) fed a PackedSequence, then a ReLU on its padded output, samples first."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm, self.relu = nn.LSTM(5, 6), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lengths = torch.full((x.shape[0],), x.shape[1])
        out, _ = self.lstm(pack_padded_sequence(x, lengths, batch_first=True))
        return self.relu(pad_packed_sequence(out, batch_first=True)[0])


def test_a_packed_sequence_into_a_sequence_first_rnn_is_let_through() -> None:
    torch.manual_seed(0)
    net, x = Packed(), torch.randn(8, 7, 5)
    assert swapnas.swap_score(net, x, input_dims=(3,)) == naive_swap([relu_map(net, x, net.relu)]) > 1


class OwnAttention(nn.Module):
    """A user's attention, samples first, without a ``batch_first`` attribute."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.proj = nn.Linear(d, d)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, **kwargs: object) -> tuple:
        return self.proj(v), None


def test_a_layer_whose_attention_has_no_batch_first_attribute_is_not_guarded() -> None:
    torch.manual_seed(0)
    layer = encoder(8, 16, batch_first=True)
    layer.self_attn = OwnAttention(8)  # type: ignore[assignment]
    x = torch.randn(8, 6, 8)
    assert swapnas.swap_score(layer, x, **WIDE) == naive_swap([relu_map(layer, x, layer.activation)]) > 1
