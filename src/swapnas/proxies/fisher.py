"""fisher: the Fisher-information channel saliency summed over the network.

References: L. Theis, I. Korshunova, A. Tejani, F. Huszár, "Faster gaze
prediction with dense networks and Fisher pruning", arXiv 2018; J. Turner,
E. J. Crowley, M. O'Boyle, A. Storkey, G. Gray, "BlockSwap: Fisher-guided Block
Substitution for Network Compression on a Budget", ICLR 2020; used as a NAS
proxy by Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..data import Batch
from ._common import WEIGHT_LAYERS, forward_hooks, output_loss
from .registry import register


def _channel_fisher(act: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Σ_c 1/(2N) Σ_n (Σ_spatial a·g)² for one (N, C, ...) activation and its gradient."""
    per_channel = (act.double() * grad.double()).reshape(act.shape[0], act.shape[1], -1).sum(dim=2)
    return 0.5 * per_channel.pow(2).mean(dim=0).sum()


@register("fisher", higher_is_better=True, needs_grad=True, needs_labels=True, input_kind="data", version="1")
def fisher(model: nn.Module, batch: Batch) -> float:
    """Fisher saliency Σ_layers Σ_c (1/2N) Σ_n (Σ_hw a·∂L/∂a)² (Theis et al. 2018; Turner et al., ICLR 2020).

    Definition: a is the output activation of every Conv/Linear layer (shape
    N×C×H×W, or N×C for Linear), ∂L/∂a the gradient of the batch's mean
    loss (``batch.loss``: cross-entropy for classification) with respect to it. Per channel c,
    Δ_c = 1/(2N) Σ_n (Σ_{h,w} a_nchw ∂L/∂a_nchw)²; the proxy is the sum of Δ_c
    over all channels of all those layers. Higher is better. "Channel" is the output's dimension 1, as
    the reference implementation reduces: for a Linear layer applied to (N, L, D) token maps that is
    the L positions, summed over the D features (the scores on Transformer spaces use this reading).
    Abdelfattah et al.'s code and NASLib weight each channel by its layer's fan-in: ``fisher_fanin``.
    """
    return _fisher(model, batch, fan_in=False)


@register("fisher_fanin", higher_is_better=True, needs_grad=True, needs_labels=True, input_kind="data", version="1")
def fisher_fanin(model: nn.Module, batch: Batch) -> float:
    """Fisher saliency as Abdelfattah et al.'s code and NASLib sum it: each channel's Δ_c times its layer's fan-in.

    Definition: Σ_layers fan_in · Σ_c Δ_c, with Δ_c as in ``fisher`` and fan_in the number of weights of
    one output channel (``weight.shape[1:]``'s product: C_in/groups · kh · kw for a Conv, in_features for a
    Linear). Their code gives every weight of channel c the channel's Δ_c and sums all the weights, which is
    this sum. ρ with NASLib's stored ``fisher`` (docs/conformance.md): 0.983 on 60 NB101 archs, against
    0.841 for ``fisher``. Higher is better.
    """
    return _fisher(model, batch, fan_in=True)


def _fisher(model: nn.Module, batch: Batch, fan_in: bool) -> float:
    """Σ over the Conv/Linear layers of Σ_c Δ_c, each layer's sum times its fan-in if ``fan_in``."""
    acts: list[tuple[nn.Module, torch.Tensor]] = []

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        acts.append((module, output))
        return output.clone()  # later in-place ops act on the copy; ``output`` keeps a's value and graph

    with forward_hooks(model, WEIGHT_LAYERS, hook):
        logits = model(batch.inputs)
    if not acts:
        raise ValueError("fisher: no Conv/Linear layer ran in the forward pass")
    loss = output_loss(logits, batch.targets, batch.loss)
    grads = torch.autograd.grad(loss, [a for _, a in acts], allow_unused=True)
    total = 0.0
    for (module, a), g in zip(acts, grads):
        if g is not None:
            weight = module.weight
            assert isinstance(weight, torch.Tensor)  # a Conv/Linear layer's
            total += float(_channel_fisher(a.detach(), g)) * (math.prod(weight.shape[1:]) if fan_in else 1)
    return total
