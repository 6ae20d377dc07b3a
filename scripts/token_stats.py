"""The token corpus behind FlexiBERT's inputs (docs/transformers.md, "Token inputs"): its size and, per
sequence length L, how many ``[CLS] window [SEP]`` sequences it gives and how much of them is padding.

    python scripts/token_stats.py
"""

from __future__ import annotations

from swapnas import tokens


def main() -> None:
    topics = tokens._topics()
    print(f"{len(topics)} topics, {sum(len(t) for t in topics):,} tokens")
    for length in (16, 128, 512):
        rows = tokens.sequences(length)
        pad = rows == tokens.PAD
        print(f"L = {length}: {len(rows):,} sequences, {int(pad.any(axis=1).sum())} padded, "
              f"{100 * pad.mean():.1f} % pad tokens")


if __name__ == "__main__":
    main()
