"""What hooking activation *functions* costs (``swap_fn``, ``swap_score(..., functions=True)``).

Every torch call of the forward pass goes through a ``TorchFunctionMode`` when functions are hooked,
so ``swap_fn`` pays Python time per op. Two models, each scored by the proxies that apply:

  encoder   ``nn.TransformerEncoder`` (4 layers, d = 256, 4 heads, FF 1024, GELU as ``F.gelu``, no
            dropout) on S = 32 sequences of 16 token vectors, and its twin with ``activation=nn.GELU()``
            and the same weights: ``swap_fn`` on the first, ``swap_ext`` and ``swap_fn`` on the twin.
  flexibert the FlexiBERT network of one sampled arch (authors' sizes) on 32 real token sequences of
            16 tokens: ``swap_ext`` and ``swap_fn`` (its activations are all modules, so the values agree).

Prints each value (the twins' must agree) and the median seconds of 7 calls, one thread.

    OMP_NUM_THREADS=1 python perf/swap_fn_cost.py
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from swapnas.patterns import EXTENDED_ACTIVATIONS, swap_score
from swapnas.spaces import flexibert as fb
from swapnas.tokens import token_batch


def timed(model: nn.Module, inputs: torch.Tensor, functions: bool, calls: int = 7) -> tuple[int, float]:
    times, value = [], 0
    for _ in range(calls):
        start = time.perf_counter()
        value = swap_score(model, inputs, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4), functions=functions)
        times.append(time.perf_counter() - start)
    return value, statistics.median(times)


def encoders() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    layer = dict(d_model=256, nhead=4, dim_feedforward=1024, dropout=0.0, batch_first=True)
    fn = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer, activation=F.gelu), 4, enable_nested_tensor=False)
    mod = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer, activation=nn.GELU()), 4,
                                enable_nested_tensor=False)
    mod.load_state_dict(fn.state_dict())
    return fn.train(), mod.train()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: no options but ``--help`` (session 66: the script had no parser, so ``--help`` ran the
    whole measurement)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    return ap.parse_args(argv)


def main() -> None:
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    rows = []
    fn, mod = encoders()
    x = torch.randn(32, 16, 256, generator=torch.Generator().manual_seed(1))
    rows.append(("encoder, F.gelu", "swap_fn", *timed(fn, x, True)))
    rows.append(("encoder twin, nn.GELU", "swap_ext", *timed(mod, x, False)))
    rows.append(("encoder twin, nn.GELU", "swap_fn", *timed(mod, x, True)))
    arch = fb.sample(random.Random(0))
    net = fb.build(arch).train()
    ids = token_batch("glue", 32, length=16).inputs
    rows.append((f"flexibert {arch}", "swap_ext", *timed(net, ids, False)))
    rows.append((f"flexibert {arch}", "swap_fn", *timed(net, ids, True)))
    print(f"torch {torch.__version__}, 1 thread, median of 7 calls")
    print(f"{'model':<70} {'proxy':<9} {'value':>6} {'ms':>8}")
    for model, proxy, value, seconds in rows:
        print(f"{model:<70} {proxy:<9} {value:>6} {1e3 * seconds:>8.1f}")
    same = rows[0][2] == rows[1][2] == rows[2][2] and rows[3][2] == rows[4][2]
    print(f"values agree between function and module twins and between swap_ext and swap_fn: {same}")
    print(f"swap_fn / swap_ext time: encoder twin {rows[2][3] / rows[1][3]:.2f}x, flexibert {rows[4][3] / rows[3][3]:.2f}x")


if __name__ == "__main__":
    parse_args()
    main()
