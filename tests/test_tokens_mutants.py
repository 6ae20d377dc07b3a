"""Tests written against the survivors of session 39's mutation run of ``swapnas.tokens`` (docs/reliability.md,
"Session 39"; each mutant judged in a fresh process, since ``_topics`` and ``sequences`` are cached): the tokenizer
and the sequences against naive re-implementations of the rules in the module's docstring, the masking's invariants,
and every field, default, bound and refusal of ``token_batch``.
"""

from __future__ import annotations

import hashlib
import platform
import string
from pydoc_data import topics as pydoc_topics

import numpy as np
import pytest
import torch

from swapnas import tokens

from .message_tools import exact

#: the batch note names the Python whose text it is (session 62)
_PY = f"Python {platform.python_version()}'s text"


def _naive_id(word: str) -> int:
    number = int(hashlib.new("blake2b", word.encode("utf-8"), digest_size=8).digest()[::-1].hex(), 16)
    return 999 + number % (30522 - 999)


_WORD_CHARS = string.ascii_lowercase + string.digits


def _naive_words(text: str) -> list[str]:
    """Lower-cased runs of [a-z0-9], and runs of one repeated other non-space character, by a character loop."""
    out: list[str] = []
    text = text.lower()
    i = 0
    while i < len(text):
        ch = text[i]
        j = i + 1
        if ch.isspace():
            i = j
            continue
        if ch in _WORD_CHARS:
            while j < len(text) and text[j] in _WORD_CHARS:
                j += 1
        else:
            while j < len(text) and text[j] == ch:
                j += 1
        out.append(text[i:j])
        i = j
    return out


def test_token_ids_hash_each_word_into_the_vocabulary_above_the_special_ids() -> None:
    for word in ("the", "x", "==", "é", "0", "a" * 50):
        assert tokens.token_id(word) == _naive_id(word)
    assert tokens.token_id("the") != tokens.token_id("The")  # tokenize lower-cases, token_id does not


def test_tokenize_splits_words_and_runs_of_one_symbol() -> None:
    text = "Hello, World!! ==== x2 -=- a_b\tC++ naïve 3.14 ...\n``code``"
    assert _naive_words(text) == ["hello", ",", "world", "!!", "====", "x2", "-", "=", "-", "a", "_", "b", "c", "++",
                                  "na", "ï", "ve", "3", ".", "14", "...", "``", "code", "``"]
    assert tokens.tokenize(text) == [_naive_id(w) for w in _naive_words(text)]


@pytest.mark.parametrize("length", [4, 16, 128])
def test_sequences_are_the_windows_of_each_topic_with_the_padding_rule(length: int) -> None:
    width, rows = length - 2, []
    for name in sorted(pydoc_topics.topics):
        ids = [_naive_id(w) for w in _naive_words(pydoc_topics.topics[name])]
        for start in range(0, len(ids), width):
            window = ids[start:start + width]
            if 2 * len(window) >= width:  # a last window at least half full is kept, padded with [PAD]
                rows.append([101, *window, 102] + [0] * (width - len(window)))
    got = tokens.sequences(length)
    assert got.dtype == np.int64 and got.tolist() == rows


def test_sequences_default_length_and_its_bound() -> None:
    assert tokens.sequences().shape[1] == 128
    with pytest.raises(ValueError, match=exact("sequence length (--net resolution) must be >= 4: [CLS], words and "
                                               "[SEP] (got 3)")):
        tokens.sequences(3)


def _rows() -> torch.Tensor:
    ids = torch.arange(1000, 1020).repeat(4, 1)  # 20 words a row
    ids[1, 0], ids[1, 19], ids[1, 10:15] = 101, 102, 0  # [CLS], [SEP] and [PAD] are never masked: 13 words
    ids[2] = torch.tensor([101, 102] + [0] * 18)  # no word: left as it is
    ids[3, 1:] = 0  # one word: masked all the same
    return ids


def test_masking_takes_a_rounded_share_of_each_rows_words_and_nothing_else() -> None:
    ids = _rows()
    masked, targets = tokens.mask_tokens(ids)
    words = (ids != 0) & (ids != 101) & (ids != 102)
    hit = masked == 103
    assert hit.sum(dim=1).tolist() == [3, 2, 0, 1]  # round(0.15 · 20), round(0.15 · 13), none, at least one
    assert not (hit & ~words).any() and torch.equal(masked[~hit], ids[~hit])
    assert torch.equal(targets[hit], ids[hit]) and bool((targets[~hit] == -100).all())
    assert all(torch.equal(a, b) for a, b in zip(tokens.mask_tokens(ids, 0), (masked, targets)))  # seed 0 by default
    assert not torch.equal(tokens.mask_tokens(ids, 1)[0], masked)


def test_masking_refuses_ids_outside_the_vocabulary_whole() -> None:
    top = torch.tensor([[101, 30521, 102]])
    assert tokens.mask_tokens(top)[1].tolist() == [[-100, 30521, -100]]  # the last id of the vocabulary is a word
    with pytest.raises(ValueError, match=exact("token ids run from 101 to 30522; the vocabulary has 30522 ids, so "
                                               "every id must be in 0 … 30521")):
        tokens.mask_tokens(top + torch.tensor([[0, 1, 0]]))


def _fields(batch: object) -> tuple:
    return tuple(getattr(batch, f) for f in ("num_classes", "dataset", "source", "n_real", "note", "loss"))


def test_a_real_token_batch_whole_and_its_defaults() -> None:
    batch = tokens.token_batch("cola", 5, length=16, seed=2)
    rows = tokens.sequences(16)
    assert torch.equal(batch.inputs, torch.from_numpy(rows[np.random.default_rng(2).permutation(len(rows))[:5]]))
    assert batch.targets.tolist() == [0, 1, 0, 1, 0]
    assert _fields(batch) == (2, "cola", "pydoc_data.topics, L=16", 5,
                              f"cola: {tokens.SOURCE}, {_PY}, 5 sequences of 16 tokens; surrogate labels i % 2 (no "
                              "GLUE labels offline)", "ce")
    default = tokens.token_batch("cola", 3)
    explicit = tokens.token_batch("cola", 3, inputs="real", seed=0, length=128, objective="cls")
    assert torch.equal(default.inputs, explicit.inputs) and _fields(default) == _fields(explicit)


def test_a_synthetic_token_batch_is_seeded_in_range_and_says_so() -> None:
    batch = tokens.token_batch("glue", 4, inputs="synthetic", seed=5, length=9)
    again = tokens.token_batch("glue", 4, inputs="synthetic", seed=5, length=9)
    expect = torch.randint(999, 30522, (4, 9), generator=torch.Generator().manual_seed(5))
    assert torch.equal(batch.inputs, again.inputs) and torch.equal(batch.inputs, expect)
    assert _fields(batch) == (2, "glue", "synthetic uniform token ids", 0, "synthetic inputs (asked for): word ids "
                              "drawn uniformly from 999..30521", "ce")
    assert tokens.token_batch("glue", 2, inputs="synthetic", length=1).inputs.shape == (2, 1)  # L = 1 is allowed
    assert tokens.token_batch("glue", 1, length=16).inputs.shape == (1, 16)  # a batch of one


def test_a_masked_token_batch_masks_its_own_sequences_with_its_seed() -> None:
    plain = tokens.token_batch("sst", 6, length=16, seed=4)
    batch = tokens.token_batch("sst", 6, length=16, seed=4, objective="mlm")
    masked, targets = tokens.mask_tokens(plain.inputs, 4)
    assert torch.equal(batch.inputs, masked) and torch.equal(batch.targets, targets)
    assert _fields(batch) == (30522, "sst", "pydoc_data.topics, L=16, masked", 6,
                              f"sst: {tokens.SOURCE}, {_PY}, 6 sequences of 16 tokens; masked-token targets (15% of "
                              "the words -> [MASK])", "ce")
    synthetic = tokens.token_batch("sst", 2, inputs="synthetic", length=8, objective="mlm")
    assert _fields(synthetic)[2:5] == ("synthetic uniform token ids, masked", 0, "synthetic inputs (asked for): "
                                       "word ids drawn uniformly from 999..30521; masked-token targets (15% of the "
                                       "words -> [MASK])")


def test_a_batch_may_take_every_sequence_of_the_text_but_no_more() -> None:
    n = len(tokens.sequences(512))
    assert tokens.token_batch("glue", n, length=512).inputs.shape == (n, 512)
    with pytest.raises(ValueError, match=exact(f"glue: the text gives {n} sequences of 512 tokens, the batch needs "
                                               f"{n + 1}; use a smaller batch or shorter sequences")):
        tokens.token_batch("glue", n + 1, length=512)


@pytest.mark.parametrize(("options", "message"), [
    ({"length": 16.0}, "sequence length must be an int >= 1 (got 16.0; None: 128)"),
    ({"length": True}, "sequence length must be an int >= 1 (got True; None: 128)"),
    ({"length": 0}, "sequence length must be an int >= 1 (got 0; None: 128)"),
    ({"size": 0}, "batch size must be >= 1 (got 0)"),
    ({"objective": "MLM"}, "objective must be 'cls' or 'mlm' (got 'MLM')"),
    ({"inputs": "random"}, "inputs must be 'real' or 'synthetic' (got 'random')"),
])
def test_token_batch_refusals_are_whole(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=exact(message)):
        tokens.token_batch("glue", **{"size": 2, **options})


def test_without_pydoc_data_real_tokens_say_to_use_synthetic_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_pydoc", None)  # some distributions strip pydoc_data
    tokens._topics.cache_clear()  # a raised error is not cached: the text is read again once pydoc_data is back
    tokens.sequences.cache_clear()
    with pytest.raises(FileNotFoundError, match=exact("token inputs need the standard library's pydoc_data.topics, "
                                                      "which this Python lacks; use inputs='synthetic' (random ids) "
                                                      "instead")):
        tokens.token_batch("glue", 2, length=16)
    assert tokens.token_batch("glue", 2, inputs="synthetic", length=16).inputs.shape == (2, 16)
