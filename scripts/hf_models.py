"""``swapnas.score`` on Hugging Face Transformers built from small configs (no download, random init).

Needs the optional ``transformers`` package (``pip install transformers``; not a swapnas dependency).
For each model family: the activation modules it holds, the proxy ``proxies="auto"`` picks, Ψ with the
model as built (``init="none"``, PyTorch's and Hugging Face's own init, dropout 0), the hooked neurons and
Ψ's ceiling min(2**S, neurons), and the seconds of the call. Inputs: S = 32 sequences of 16 random token
ids (synthetic, seed 0) or 32 random 32 × 32 images (ViT). Ψ is exact, so the same command prints the same
values on any machine with the same torch and transformers versions.

    OMP_NUM_THREADS=1 python scripts/hf_models.py
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn

import swapnas
from swapnas.act_functions import activation_like
from swapnas.patterns import EXTENDED_ACTIVATIONS, hooked_activations

SMALL = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 256,
         "vocab_size": 1000}


def families() -> dict[str, Callable[[], nn.Module]]:
    import transformers as tf

    no_drop = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    return {
        "BERT (GELUActivation → F.gelu)": lambda: tf.BertModel(tf.BertConfig(**SMALL, **no_drop)),
        "GPT-2 (NewGELUActivation, tanh formula)": lambda: tf.GPT2Model(tf.GPT2Config(
            n_layer=2, n_embd=64, n_head=4, n_inner=256, vocab_size=1000, resid_pdrop=0.0, embd_pdrop=0.0,
            attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)),
        "CLIP text (QuickGELUActivation)": lambda: tf.CLIPTextModel(tf.CLIPTextConfig(
            **SMALL, bos_token_id=0, eos_token_id=1, pad_token_id=1)),
        "Llama (SiLU gate)": lambda: tf.LlamaModel(tf.LlamaConfig(**SMALL, num_key_value_heads=4)),
        "ViT (GELUActivation → F.gelu)": lambda: tf.ViTModel(tf.ViTConfig(
            **{k: v for k, v in SMALL.items() if k != "vocab_size"}, **no_drop, image_size=32, patch_size=8)),
    }


def neurons(model: nn.Module, inputs: object) -> int:
    """Hooked neurons of the pass swap_fn makes (the size of every map it takes)."""
    sizes: list[int] = []
    with torch.no_grad(), hooked_activations(model, EXTENDED_ACTIVATIONS, (2, 3, 4), functions=True,
                                             sink=lambda out: sizes.append(out[0].numel())):
        swapnas.patterns.call_model(model, inputs)
    return sum(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=32)
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, SMALL["vocab_size"], (args.samples, 16), generator=g)
    images = torch.randn(args.samples, 3, 32, 32, generator=g)
    print("| model | activation modules | auto proxy | Ψ | hooked neurons | ceiling | s |")
    print("|---|---|---|---|---|---|---|")
    for name, build in families().items():
        torch.manual_seed(0)
        model = build()
        inputs = images if name.startswith("ViT") else ids
        leaves = sorted({type(m).__name__ for m in model.modules() if isinstance(m, EXTENDED_ACTIVATIONS)}
                        | {type(m).__name__ for m in activation_like(model, EXTENDED_ACTIVATIONS)})
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", swapnas.patterns.SaturationWarning)
            ((proxy, psi),) = swapnas.score(model, inputs, init="none").items()
        seconds = time.perf_counter() - start
        n = neurons(model, inputs)
        print(f"| {name} | {', '.join(leaves) or 'none'} | `{proxy}` | {psi:,.0f} | {n:,} | "
              f"{min(2 ** args.samples, n):,} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
