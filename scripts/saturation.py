"""Where Ψ sits below its ceiling as S varies: the evidence behind the SaturationWarning's advice.

For timm's ResNet-18, EfficientNet-B0 and ViT-Tiny (needs ``pip install timm``; random init, no download)
on S random 224 × 224 images (seed 0), prints Ψ (``swap_score`` with the extended activations, token maps
and activation functions: what ``swap_fn`` counts), the hooked neurons N, the ceiling min(2**S, N) and
Ψ / ceiling for each S, and log2 N. The warning fires at ≥ 95 % and advises S ≈ log2 N.

    OMP_NUM_THREADS=1 python scripts/saturation.py [--samples 16,18,20,21,22,23,24,32]
"""

from __future__ import annotations

import argparse
import math
import warnings

import torch

from swapnas.patterns import EXTENDED_ACTIVATIONS, SaturationWarning, call_model, hooked_activations, swap_score

MODELS = ("resnet18", "efficientnet_b0", "vit_tiny_patch16_224")


def main() -> None:
    import timm

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", default="16,18,20,21,22,23,24,32")
    args = parser.parse_args()
    print("| model | log2 N | S | Ψ | ceiling | Ψ / ceiling |")
    print("|---|---|---|---|---|---|")
    for name in MODELS:
        for s in map(int, args.samples.split(",")):
            torch.manual_seed(0)
            model = timm.create_model(name, pretrained=False)
            x = torch.randn(s, 3, 224, 224, generator=torch.Generator().manual_seed(0))
            sizes: list[int] = []
            with torch.no_grad(), hooked_activations(model, EXTENDED_ACTIVATIONS, (2, 3, 4), functions=True,
                                                     skip_repeats=True,  # the maps swap_score counts
                                                     sink=lambda out: sizes.append(out[0].numel())):
                call_model(model, x)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SaturationWarning)
                psi = swap_score(model, x, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4), functions=True)
            ceiling = min(2 ** s, sum(sizes))
            print(f"| {name} | {math.log2(sum(sizes)):.1f} | {s} | {psi:,} | {ceiling:,} | {psi / ceiling:.3f} |",
                  flush=True)


if __name__ == "__main__":
    main()
