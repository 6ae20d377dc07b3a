"""synflow: Synaptic Flow, the data-free path-norm saliency summed over the network.

Reference: H. Tanaka, D. Kunin, D. L. K. Yamins, S. Ganguli, "Pruning neural
networks without any data by iteratively conserving synaptic flow", NeurIPS
2020; used as a NAS proxy by Abdelfattah et al., "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data import Batch
from ._common import eval_mode, layer_weights, require_float_inputs
from .registry import register


@register("synflow", higher_is_better=True, needs_grad=True, needs_labels=False, input_kind="ones", version="1",
          requires=("float_inputs",))
def synflow(model: nn.Module, batch: Batch) -> float:
    """SynFlow Σ θ ⊙ ∂R/∂θ, R = 1ᵀ(Π|θ|)1, in float64 with BN in eval mode (Tanaka et al., NeurIPS 2020).

    Definition: every parameter is replaced by its absolute value (the paper's
    linearisation), the model is cast to float64 and put in eval mode (no
    batch statistics: BatchNorm applies its running statistics, as in the
    paper, so the map stays a positive multilinear function of |θ|), and the
    input is all ones with the batch's shape. R is the sum of the outputs and
    the proxy is Σ |θ ⊙ ∂R/∂θ| over all Conv/Linear weights (biases excluded), as
    Abdelfattah et al.'s and NASLib's code, except that they feed one all-ones
    sample: the S identical samples here give S times its value (R is S times
    one sample's), the same ranking at one S, at S times the time and memory
    (session 61's big-model audit; kept: the stored values stand). In a network of ReLUs, convolutions,
    BatchNorm and pooling every term is ≥ 0 and the absolute value changes
    nothing (every benchmark space's network, tested); LayerNorm, GELU and
    softmax attention give negative terms, which summed to a negative SynFlow
    on a ViT until session 53. Higher is better. Modifies ``model`` (signs, dtype): the caller gives a fresh one. Every
    module's train/eval flag is restored afterwards.
    """
    require_float_inputs(batch.inputs, "synflow", "feeds an all-ones float input of the batch's shape")
    with eval_mode(model):
        model.double()
        with torch.no_grad():
            for p in model.parameters():
                p.abs_()
        weights = layer_weights(model)
        ones = torch.ones(batch.inputs.shape, dtype=torch.float64, device=batch.inputs.device)
        grads = torch.autograd.grad(model(ones).sum(), weights, allow_unused=True)
    return float(sum((w.detach() * g).abs().sum() for w, g in zip(weights, grads) if g is not None))
