"""FLOPs of PyTorch's own attention layers (session 51): in eval mode without gradients ``nn.TransformerEncoder`` and
``nn.MultiheadAttention`` run a fused kernel FlopCounterMode cannot see (an encoder of any depth counted 0), and on the
CPU FlopCounterMode has no formula for the attention product itself. Checked against a count by hand:
2 FLOPs per multiply-add of each matmul."""

from __future__ import annotations

import types

import pytest
import torch
from torch import nn

import swapnas
from swapnas.size_prior import count_flops

from .net_tools import fastpath_flag

D, HEADS, FF, L = 32, 4, 48, 10


def _by_hand(layers: int, length: int = L) -> int:
    per_layer = (length * D * 3 * D  # the packed q, k, v projection
                 + 2 * length * length * D  # q·kᵀ and the weights times v, over all heads
                 + length * D * D  # the output projection
                 + 2 * length * D * FF)  # the feed-forward pair
    return 2 * layers * per_layer


class Encoder(nn.Module):
    def __init__(self, layers: int) -> None:
        super().__init__()
        self.emb = nn.Embedding(50, D)
        layer = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, batch_first=True)
        self.enc, self.head = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False), nn.Linear(D, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.emb(ids)).mean(1))


@pytest.mark.parametrize("layers", [1, 3])
def test_an_encoder_in_eval_mode_counts_every_matmul(layers: int) -> None:
    model, ids = Encoder(layers).eval(), torch.randint(0, 50, (4, L))
    head = 2 * D * 3
    assert count_flops(model, ids[:1]) == _by_hand(layers) + head
    assert swapnas.score(model, ids, "flops", init="none", train=False)["flops"] == _by_hand(layers) + head
    assert swapnas.score(model, ids, "flops")["flops"] == _by_hand(layers) + head  # train mode: the same
    assert fastpath_flag() in (True, None)  # the global flag is restored (torch 2.2 has none)


def test_without_the_flag_of_torch_23_the_fast_path_is_kept_off_by_a_function_mode(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """torch 2.2 has no ``torch.backends.mha``: there an active torch-function mode keeps the fused path off, as its
    ``MultiheadAttention`` and ``TransformerEncoder`` take no fast path where ``has_torch_function`` holds (until
    session 54 nothing did, and an encoder in eval mode counted 0 FLOPs there). Here, on a torch with the flag, the
    mode itself is checked; ``scripts/check_minimums.sh`` runs this file's other tests on torch 2.2."""
    from torch.overrides import has_torch_function

    from swapnas.size_prior import unfused_attention

    # as torch 2.2: no set_fastpath_enabled (no mha module at all)
    monkeypatch.setattr(torch.backends, "mha", types.SimpleNamespace(), raising=False)
    t = torch.ones(2)
    assert not has_torch_function((t,))
    with unfused_attention():
        assert has_torch_function((t,))
        assert torch.add(t, 1).tolist() == [2.0, 2.0] and (t * 3).sum().item() == 6.0  # every call as it was
    assert not has_torch_function((t,))


def test_attention_alone_counts_its_product_and_restores_the_flag_after_an_error() -> None:
    mha = nn.MultiheadAttention(D, HEADS, batch_first=True).eval()

    class Self(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mha = mha

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[1] == 1:
                raise RuntimeError("boom")
            return self.mha(x, x, x, need_weights=False)[0]

    assert count_flops(Self(), torch.randn(1, L, D)) == 2 * (L * D * 3 * D + 2 * L * L * D + L * D * D)
    with pytest.raises(RuntimeError, match="boom"):
        count_flops(Self(), torch.randn(1, 1, D))
    assert fastpath_flag() in (True, None)
