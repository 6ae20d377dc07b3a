"""``swapnas.score`` on model zoos: Hugging Face Transformers and timm models (no download, random init).

Needs the optional ``transformers`` and/or ``timm`` packages (``pip install transformers timm``; not swapnas
dependencies); a zoo that is not installed is skipped. For each model: the activation modules it holds, the
proxy ``proxies="auto"`` picks, Ψ with the model as built (``init="none"``: the library's own init), the
hooked neurons and Ψ's ceiling min(2**S, neurons), and the seconds of the call (or the error, if SWAP
cannot score it). Inputs: S = 32 of them (``--samples``). Transformers: small configs (2 layers, hidden 64,
FF 256), 16 random token ids per sequence (synthetic, seed 0), or random 32 × 32 images for ViT. timm:
the default config of each model, random images at the model's own input size. Ψ is exact, so the same
command prints the same values with the same torch, transformers and timm versions.

    OMP_NUM_THREADS=1 python scripts/model_zoo.py [--zoo hf,timm]
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
from swapnas.proxies.swap import PSI_SETTINGS

SMALL = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 256,
         "vocab_size": 1000}
#: timm models covering ReLU, ReLU6, LeakyReLU, SiLU, Hardswish, nn.GELU, timm's own GELU module, a SiLU gate,
#: windowed attention and MobileViT's patches folded into the sample dimension
TIMM = ("resnet18", "rexnet_100", "cspresnet50", "efficientnet_b0", "mobilenetv3_small_050", "levit_128s",
        "convnext_atto", "coatnet_nano_rw_224", "vit_tiny_patch16_224", "swin_tiny_patch4_window7_224",
        "eva02_tiny_patch14_224", "mobilevit_xxs")
#: a zoo's models: name → (build, inputs for S samples from a generator)
Zoo = dict[str, tuple[Callable[[], nn.Module], Callable[[int, torch.Generator], torch.Tensor]]]


def hf_zoo() -> Zoo:
    import transformers as tf

    def ids(s: int, g: torch.Generator) -> torch.Tensor:
        return torch.randint(0, SMALL["vocab_size"], (s, 16), generator=g)

    def images(s: int, g: torch.Generator) -> torch.Tensor:
        return torch.randn(s, 3, 32, 32, generator=g)

    no_drop = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    return {
        "BERT (GELUActivation → F.gelu)": (lambda: tf.BertModel(tf.BertConfig(**SMALL, **no_drop)), ids),
        "GPT-2 (NewGELUActivation, tanh formula)": (lambda: tf.GPT2Model(tf.GPT2Config(
            n_layer=2, n_embd=64, n_head=4, n_inner=256, vocab_size=1000, resid_pdrop=0.0, embd_pdrop=0.0,
            attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)), ids),
        "CLIP text (QuickGELUActivation)": (lambda: tf.CLIPTextModel(tf.CLIPTextConfig(
            **SMALL, bos_token_id=0, eos_token_id=1, pad_token_id=1)), ids),
        "Llama (SiLU gate)": (lambda: tf.LlamaModel(tf.LlamaConfig(**SMALL, num_key_value_heads=4)), ids),
        "ViT (GELUActivation → F.gelu)": (lambda: tf.ViTModel(tf.ViTConfig(
            **{k: v for k, v in SMALL.items() if k != "vocab_size"}, **no_drop, image_size=32, patch_size=8)), images),
    }


def timm_zoo() -> Zoo:
    import timm

    def entry(name: str) -> tuple[Callable[[], nn.Module], Callable[[int, torch.Generator], torch.Tensor]]:
        size = timm.create_model(name, pretrained=False).pretrained_cfg["input_size"]
        return (lambda: timm.create_model(name, pretrained=False),
                lambda s, g: torch.randn(s, *size, generator=g))

    return {f"timm {name}": entry(name) for name in TIMM}


def neurons(model: nn.Module, inputs: object, proxy: str) -> int:
    """Hooked neurons of the pass ``proxy`` (swap, swap_ext or swap_fn) makes: the size of every map it takes, an
    activation repeated on the same tensor counted once, as ``swap_score`` does since ``skip_repeats``. Until session
    24 this counted swap_fn's pass whatever proxy ``"auto"`` had picked."""
    sizes: list[int] = []
    with torch.no_grad(), hooked_activations(model, **PSI_SETTINGS[proxy], skip_repeats=True,
                                             sink=lambda out: sizes.append(out[0].numel())):
        swapnas.patterns.call_model(model, inputs)
    return sum(sizes)


def row(name: str, model: nn.Module, inputs: torch.Tensor) -> str:
    leaves = sorted({type(m).__name__ for m in model.modules() if isinstance(m, EXTENDED_ACTIVATIONS)}
                    | {type(m).__name__ for m in activation_like(model, EXTENDED_ACTIVATIONS)})
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", swapnas.patterns.SaturationWarning)
            ((proxy, psi),) = swapnas.score(model, inputs, init="none").items()
    except ValueError as exc:  # UnsupportedModel: the message says why
        return f"| {name} | {', '.join(leaves) or 'none'} | refused: {str(exc).split(': ', 1)[-1]} | | | | |"
    seconds = time.perf_counter() - start
    n = neurons(model, inputs, proxy)
    return (f"| {name} | {', '.join(leaves) or 'none'} | `{proxy}` | {psi:,.0f} | {n:,} | "
            f"{min(2 ** inputs.shape[0], n):,} | {seconds:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--zoo", default="hf,timm", help="comma-separated: hf, timm")
    args = parser.parse_args()
    zoos = {"hf": hf_zoo, "timm": timm_zoo}
    print("| model | activation modules | auto proxy | Ψ | hooked neurons | ceiling | s |")
    print("|---|---|---|---|---|---|---|")
    for zoo in args.zoo.split(","):
        try:
            models = zoos[zoo]()
        except ImportError as exc:
            print(f"| {zoo}: not installed ({exc.name}) | | | | | | |")
            continue
        for name, (build, make_inputs) in models.items():
            torch.manual_seed(0)
            print(row(name, build(), make_inputs(args.samples, torch.Generator().manual_seed(0))), flush=True)


if __name__ == "__main__":
    main()
