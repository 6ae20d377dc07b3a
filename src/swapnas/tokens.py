"""Token inputs for Transformer spaces: English prose, a local word-hashing tokenizer, fixed-length batches.

No corpus or pretrained tokenizer can be downloaded here, so:

- Text: the Python documentation's prose shipped with the standard library
  (``pydoc_data.topics``, PSF licence; 79 topics, ~101k tokens), topics in sorted order.
- Tokenizer (:func:`tokenize`): lower-case, split into words (``[a-z0-9]+``) and symbols (a run of
  one repeated symbol, such as a reST ``=====`` underline, is one token), each
  mapped by BLAKE2b into the BERT/ELECTRA vocabulary range ``999 … 30521`` of the 30,522 ids
  (ids below 999 are the special tokens: ``[PAD]`` 0, ``[CLS]`` 101, ``[SEP]`` 102). Deterministic
  and platform-independent, but the text is the running Python's: each CPython release regenerates
  ``pydoc_data.topics``, so the batches (and the documented FlexiBERT figures, made on 3.11.7) differ on another
  release (session 62's audit: 3.11.2's text); the batch digest enters the protocol's fingerprint, so a store never
  mixes the two. With randomly initialised embeddings only which tokens repeat matters,
  which hashing preserves (collisions aside), not which id a word gets.
- Sequences (:func:`sequences`): each topic is cut into consecutive windows of ``L - 2`` tokens,
  each written ``[CLS] window [SEP]``. Padding rule: a topic's last, shorter window is kept if it has
  at least ``(L - 2) / 2`` tokens and padded with ``[PAD]`` (0) to length ``L``; shorter tails are
  dropped. As in the SWAP authors' scoring, no attention mask is applied.
- Batch (:func:`token_batch`): ``S`` windows drawn by a permutation seeded with ``seed``; inputs a
  LongTensor (S, L). There are no labels for this text: targets are surrogate labels ``i % 2`` (the
  note says so), used only by label-based metrics.
``inputs="synthetic"``, asked for by name only, gives uniformly random ids ``999 … 30521`` instead.
"""

from __future__ import annotations

import functools
import hashlib
import platform
import re

import numpy as np
import torch

from .bundle import Batch

try:
    from pydoc_data import topics as _pydoc
except ImportError:  # some distributions strip pydoc_data
    _pydoc = None  # type: ignore[assignment]

VOCAB_SIZE = 30522
PAD, CLS, SEP, MASK = 0, 101, 102, 103
#: share of a sequence's word positions replaced by [MASK] for the masked-token objective (BERT's 15 %)
MASK_RATE = 0.15
FIRST_WORD_ID = 999
#: default sequence length L (tokens, [CLS] and [SEP] included)
SEQ_LEN = 128
#: the tasks that take token batches: the FlexiBERT benchmark's GLUE mean and its eight tasks
GLUE_TASKS: tuple[str, ...] = ("glue", "cola", "mnli", "mrpc", "qnli", "qqp", "rte", "sst", "sts")
SOURCE = "pydoc_data.topics (the Python documentation's prose), word-hashing tokenizer into 30,522 ids"

_WORD = re.compile(r"[a-z0-9]+|([^\sa-z0-9])\1*")


def is_token_task(name: str) -> bool:
    """True for the tasks scored on token batches (:data:`GLUE_TASKS`)."""
    return name in GLUE_TASKS


def token_id(word: str) -> int:
    """The id of one word or symbol: BLAKE2b of the word into ``FIRST_WORD_ID … VOCAB_SIZE - 1``."""
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
    return FIRST_WORD_ID + int.from_bytes(digest, "little") % (VOCAB_SIZE - FIRST_WORD_ID)


def tokenize(text: str) -> list[int]:
    """Lower-cased words and symbols of ``text`` as ids (no special tokens)."""
    return [token_id(m.group(0)) for m in _WORD.finditer(text.lower())]


@functools.lru_cache(maxsize=1)
def _topics() -> tuple[tuple[int, ...], ...]:
    if _pydoc is None:
        raise FileNotFoundError("token inputs need the standard library's pydoc_data.topics, which this Python "
                                "lacks; use inputs='synthetic' (random ids) instead")
    return tuple(tuple(tokenize(_pydoc.topics[name])) for name in sorted(_pydoc.topics))


@functools.lru_cache(maxsize=8)
def sequences(length: int = SEQ_LEN) -> np.ndarray:
    """Every ``[CLS] window [SEP]`` sequence of ``length`` tokens of the text (rule: module doc), (N, length)."""
    if length < 4:
        raise ValueError(f"sequence length (--net resolution) must be >= 4: [CLS], words and [SEP] (got {length})")
    width, rows = length - 2, []
    for ids in _topics():
        for start in range(0, len(ids), width):
            window = list(ids[start:start + width])
            if len(window) * 2 < width:
                continue
            rows.append([CLS, *window, SEP] + [PAD] * (width - len(window)))
    return np.array(rows, dtype=np.int64)


def mask_tokens(ids: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked-token inputs and targets: in each row, round(MASK_RATE · words) (at least one) of the
    word positions (not [CLS] / [SEP] / [PAD]), drawn with a generator seeded by ``seed``, become
    [MASK]; the targets hold the original id there and -100 (ignored by ``F.cross_entropy``) elsewhere.
    Ids outside the vocabulary (0 … ``VOCAB_SIZE`` - 1) are a ValueError naming its size."""
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= VOCAB_SIZE):
        raise ValueError(f"token ids run from {int(ids.min())} to {int(ids.max())}; the vocabulary has {VOCAB_SIZE} "
                         f"ids, so every id must be in 0 … {VOCAB_SIZE - 1}")
    g = torch.Generator().manual_seed(seed)
    masked, targets = ids.clone(), torch.full_like(ids, -100)
    for row in range(ids.shape[0]):
        words = ((ids[row] != PAD) & (ids[row] != CLS) & (ids[row] != SEP)).nonzero().flatten()
        if len(words) == 0:
            continue
        k = max(1, round(MASK_RATE * len(words)))
        pick = words[torch.randperm(len(words), generator=g)[:k]]
        targets[row, pick] = ids[row, pick]
        masked[row, pick] = MASK
    return masked, targets


def token_batch(task: str, size: int, *, inputs: str = "real", seed: int = 0, length: int | None = None,
                objective: str = "cls") -> Batch:
    """``size`` sequences of ``length`` (default :data:`SEQ_LEN`) token ids for a GLUE task (same for all tasks).

    ``objective``: ``cls`` (surrogate labels ``i % 2`` for a [CLS] classifier) or ``mlm`` (masked-token
    targets over the vocabulary, :func:`mask_tokens`, for a network built with ``objective="mlm"``).
    """
    if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 1):
        raise ValueError(f"sequence length must be an int >= 1 (got {length!r}; None: {SEQ_LEN})")
    length = SEQ_LEN if length is None else length
    if size < 1:
        raise ValueError(f"batch size must be >= 1 (got {size})")
    if objective not in ("cls", "mlm"):
        raise ValueError(f"objective must be 'cls' or 'mlm' (got {objective!r})")
    if inputs == "synthetic":
        g = torch.Generator().manual_seed(seed)
        ids = torch.randint(FIRST_WORD_ID, VOCAB_SIZE, (size, length), generator=g)
        source, n_real = "synthetic uniform token ids", 0
        note = f"synthetic inputs (asked for): word ids drawn uniformly from {FIRST_WORD_ID}..{VOCAB_SIZE - 1}"
    elif inputs == "real":
        rows = sequences(length)
        if size > len(rows):
            raise ValueError(f"{task}: the text gives {len(rows)} sequences of {length} tokens, the batch needs {size}; "
                             "use a smaller batch or shorter sequences")
        order = np.random.default_rng(seed).permutation(len(rows))[:size]
        ids = torch.from_numpy(rows[order])
        source, n_real = f"pydoc_data.topics, L={length}", size
        note = f"{task}: {SOURCE}, Python {platform.python_version()}'s text, {size} sequences of {length} tokens"
    else:
        raise ValueError(f"inputs must be 'real' or 'synthetic' (got {inputs!r})")
    if objective == "mlm":
        ids, targets = mask_tokens(ids, seed)
        return Batch(ids, targets, VOCAB_SIZE, task, source + ", masked", n_real,
                     note + f"; masked-token targets ({MASK_RATE:.0%} of the words -> [MASK])")
    if inputs == "real":
        note += "; surrogate labels i % 2 (no GLUE labels offline)"
    return Batch(ids, torch.arange(size) % 2, 2, task, source, n_real, note)