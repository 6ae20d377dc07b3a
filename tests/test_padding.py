"""Padded token positions are left out of SWAP's patterns where the inputs name their mask (``swapnas.padding``,
session 53: a user's model scored 4451 with pad ids 0 and 6890 with random pad ids, its output the same), and an
``nn.TransformerEncoder`` in eval mode with a padding mask is scored (it packed a nested tensor the hooks could not
read). Golden values from a count written here: the map computed by hand, its padded rows zeroed, the distinct
columns of sign bits put in a Python set."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import swapnas
from swapnas import EXTENDED_ACTIVATIONS, swap_score

from .net_tools import fastpath_flag


class _Tokens(nn.Module):
    """Embedding → Linear → ReLU (the hooked (S, L, 10) map) → masked mean → head."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.emb, self.ff, self.act, self.head = nn.Embedding(50, 6), nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.act(self.ff(self.emb(input_ids)))
        keep = (attention_mask if attention_mask is not None else torch.ones_like(input_ids)).unsqueeze(-1)
        return self.head((h * keep).sum(1) / keep.sum(1))


def _batch(pad_id: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """12 sequences of length 7, row i holding 7 - i % 4 tokens; the pads hold ``pad_id`` (None: random ids)."""
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 50, (12, 7), generator=g)
    mask = (torch.arange(7)[None] < (7 - torch.arange(12) % 4)[:, None]).long()
    pads = torch.randint(1, 50, ids.shape, generator=g) if pad_id is None else torch.full_like(ids, pad_id)
    return torch.where(mask.bool(), ids, pads), mask


def _naive(model: _Tokens, ids: torch.Tensor, mask: torch.Tensor) -> int:
    with torch.no_grad():
        pre = model.ff(model.emb(ids)) * mask.unsqueeze(-1)  # (S, L, 10), padded rows 0 (no bit)
    bits = (pre > 0).reshape(ids.shape[0], -1)
    return len({tuple(bits[:, v].tolist()) for v in range(bits.shape[1])})


def _psi(model: nn.Module, inputs: object) -> int:
    return swap_score(model, inputs, input_dims=(3,))


def test_padded_positions_are_left_out_whatever_the_pads_hold() -> None:
    model = _Tokens()
    (ids0, mask), (ids_r, _) = _batch(0), _batch(None)
    want = _naive(model, ids0, mask)
    assert want == _naive(model, ids_r, mask)
    assert _psi(model, {"input_ids": ids0, "attention_mask": mask}) == want
    assert _psi(model, {"input_ids": ids_r, "attention_mask": mask}) == want
    # counted over every position (the mask not given), the pads' contents change Ψ: what was fixed
    assert _psi(model, {"input_ids": ids0}) != _psi(model, {"input_ids": ids_r})


def test_pytorch_key_padding_masks_bool_and_additive_float_read_as_pads() -> None:
    class Pads(_Tokens):
        def forward(self, input_ids: torch.Tensor, src_key_padding_mask: torch.Tensor) -> torch.Tensor:
            return super().forward(input_ids, (src_key_padding_mask == 0).long())

    model = Pads()
    ids, mask = _batch(None)
    want = _naive(model, ids, mask)
    additive = torch.zeros(mask.shape).masked_fill(mask == 0, float("-inf"))  # refused as non-finite before
    assert _psi(model, {"input_ids": ids, "src_key_padding_mask": mask == 0}) == want
    assert _psi(model, {"input_ids": ids, "src_key_padding_mask": additive}) == want
    via_score = swapnas.score(model, {"input_ids": ids, "src_key_padding_mask": additive}, "swap_ext", init="none")
    assert via_score == swapnas.score(model, {"input_ids": ids, "src_key_padding_mask": mask == 0}, "swap_ext",
                                      init="none")
    with pytest.raises(ValueError, match="non-finite"):  # a value input is still checked
        _psi(model, {"input_ids": ids, "src_key_padding_mask": mask == 0, "scale": torch.full((12,), float("inf"))})


def test_a_mask_that_pads_nothing_changes_nothing() -> None:
    model, ids = _Tokens(), _batch(None)[0]
    assert _psi(model, {"input_ids": ids, "attention_mask": torch.ones_like(ids)}) == _psi(model, {"input_ids": ids})


def test_a_mask_that_cannot_be_read_safely_is_warned_about_and_token_types_are_not() -> None:
    model = _Tokens()
    ids, mask = _batch(None)
    with pytest.warns(UserWarning, match=r"the inputs' 'mask' looks like a padding mask that SWAP cannot line up with "
                                         r"the hooked maps: it counts the neurons at every position, padded ones too.*"
                                         r"Pass it by keyword as attention_mask"):
        _psi(model, {"input_ids": ids, "mask": mask})

    class Positional(_Tokens):
        def forward(self, input_ids: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
            return super().forward(input_ids, keep.long())

    with pytest.warns(UserWarning, match="the inputs' 'item 1' looks like a padding mask"):
        _psi(Positional(), (ids, mask.bool()))

    class Typed(_Tokens):
        def forward(  # type: ignore[override]
                self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
            return super().forward((input_ids + token_type_ids) % 50)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _psi(Typed(), {"input_ids": ids, "token_type_ids": 1 - mask})  # 0/1, not a mask: no warning
        types = torch.zeros_like(mask)
        types[:, 3:] = 1  # token type ids: a first segment of 0s, then 1s (as a mask in Positional, no row all pads)
        _psi(Positional(), (ids, types))  # integer 0/1 by position starting with 0s: token types, no warning
        # (session 60: an integer one padded on the right, 1s then 0s, is warned about: test_session60)
        _psi(model, {"input_ids": ids, "mask": torch.ones_like(mask)})  # pads nothing


def test_an_encoder_in_eval_mode_with_a_padding_mask_is_scored_as_in_train_mode() -> None:
    """Eval mode, no gradient and a key padding mask: ``nn.TransformerEncoder`` packed the batch into a nested tensor
    ("NestedTensorImpl doesn't support sizes"). The fast path is off for the pass and restored after it."""
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, activation=nn.GELU(), batch_first=True)
    encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=True)
    x = torch.randn(8, 6, 16)
    pads = torch.arange(6)[None] >= torch.tensor([6, 5, 4, 3, 6, 5, 4, 3])[:, None]
    inputs = {"src": x, "src_key_padding_mask": pads}
    fast = fastpath_flag()
    psi_eval = swap_score(encoder.eval(), inputs, activations=EXTENDED_ACTIVATIONS, input_dims=(3,))
    assert fastpath_flag() == fast
    psi_train = swap_score(encoder.train(), inputs, activations=EXTENDED_ACTIVATIONS, input_dims=(3,))
    assert psi_eval == psi_train > 1
    noisy = {"src": torch.where(pads.unsqueeze(-1), torch.randn(8, 6, 16) * 9, x), "src_key_padding_mask": pads}
    assert swap_score(encoder.eval(), noisy, activations=EXTENDED_ACTIVATIONS, input_dims=(3,)) == psi_eval


def test_a_mask_that_does_not_line_up_is_not_read_and_is_warned_about() -> None:
    """Not 2-D (an extended (S, 1, 1, L) mask), no input of its (S, L) in front, or beside a decoder's inputs (whose
    maps have their own length): the pads are counted, with a warning (session 53's review)."""
    model = _Tokens()
    ids, mask = _batch(None)
    whole = _psi(model, {"input_ids": ids})

    class Extended(_Tokens):
        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,  # type: ignore[override]
                    decoder_input_ids: torch.Tensor | None = None) -> torch.Tensor:
            return super().forward(input_ids, attention_mask.reshape(input_ids.shape))

    for inputs, said in (({"input_ids": ids, "attention_mask": mask[:, None, None, :]}, "looks like a padding mask "
                           "that SWAP cannot"),  # (session 60: beside decoder inputs the warning says that reason)
                         ({"input_ids": ids, "attention_mask": mask, "decoder_input_ids": ids}, "is not applied to the "
                          "hooked maps: beside decoder inputs the decoder's maps have a length of their own")):
        with pytest.warns(UserWarning, match=f"the inputs' 'attention_mask' {said}"):
            assert _psi(Extended(), inputs) == whole

    class Other(_Tokens):
        def forward(  # type: ignore[override]
                self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return super().forward(input_ids)  # a mask of another length: of something else than these ids

    longer = torch.cat([mask, torch.zeros(12, 2, dtype=torch.long)], dim=1)
    with pytest.warns(UserWarning, match="the inputs' 'attention_mask' looks like a padding mask that SWAP cannot"):
        assert _psi(Other(), {"input_ids": ids, "attention_mask": longer}) == whole


class _Square(nn.Module):
    """Embedding → two Conv1d over the sequence (C channels), each with a ReLU: maps (S, C, L)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.emb, self.act = nn.Embedding(50, 6), nn.ReLU()
        self.conv, self.conv2 = nn.Conv1d(6, channels, 3, padding=1), nn.Conv1d(channels, channels, 3, padding=1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.act(self.conv(self.emb(input_ids).transpose(1, 2))))).mean((1, 2))


def test_a_map_holding_the_sequence_length_twice_is_counted_whole_with_a_warning() -> None:
    """(S, C, L) with C = L: dim 1 is the channels, not the positions; masking it zeroed the channels of padded
    samples (Ψ 37 with the mask, 40 without, in the review's test)."""
    ids, mask = _batch(None)
    for channels, warns in ((5, False), (7, True)):
        model = _Square(channels)
        whole = swap_score(model, {"input_ids": ids, "attention_mask": torch.ones_like(mask)}, input_dims=(3,))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            psi = swap_score(model, {"input_ids": ids, "attention_mask": mask}, input_dims=(3,))
        said = [str(w.message) for w in caught if "sequence length" in str(w.message)]
        assert psi == whole and len(said) == warns  # two such maps: one warning
    assert said == ["a hooked map (12, 7, 7) has the sequence length 7 on dim 1 and on a later dim: its padded "
                    "positions cannot be told from its channels, so it is counted whole (pads too); score with another "
                    "sequence length to leave them out"]


def test_the_fast_path_flag_is_put_back_when_the_last_overlapping_block_ends() -> None:
    """The flag is process-wide: a thread's block ending while another's is open left it on under that one, and the
    other's end then set the first's value (review of session 53)."""
    import threading

    from swapnas.size_prior import unfused_attention

    if fastpath_flag() is None:
        pytest.skip("torch < 2.3 has no fast-path flag (swapnas turns the fast path off with a torch-function mode)")
    fast = fastpath_flag()
    first, second = unfused_attention(), unfused_attention()
    first.__enter__()
    entered = threading.Event()
    done = threading.Event()

    def other() -> None:
        with unfused_attention():
            entered.set()
            done.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    entered.wait(5)
    second.__enter__()
    first.__exit__(None, None, None)
    assert fastpath_flag() is False  # two blocks still open
    done.set()
    thread.join(5)
    assert fastpath_flag() is False
    second.__exit__(None, None, None)
    assert fastpath_flag() == fast
