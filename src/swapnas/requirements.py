"""What a proxy requires of a model and of its inputs (``Proxy.requires``), checked before any pass: by
:func:`swapnas.score` and, for a space's networks, by ``correlate``/``grid``/``search`` before any arch is scored
(:mod:`swapnas.fit_check`). A refusal is an :class:`UnsupportedModel` naming the proxy, the model and the reason."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .errors import NotFound
from .bundle import Batch
from .proxies import Proxy
from .scoring import with_bases


class UnsupportedModel(ValueError):
    """A proxy that cannot score this kind of model: the message says why and what works instead (``why``: the
    reason alone, without the proxy and the model; ``of_batch``: the batch is refused, not the model)."""

    def __init__(self, message: str, why: str = "", of_batch: bool = False) -> None:
        super().__init__(message)
        self.why, self.of_batch = why or message, of_batch


def has(model: nn.Module, kinds: tuple[type[nn.Module], ...]) -> bool:
    return any(isinstance(m, kinds) for m in model.modules())


#: what a proxy may require of a model (``Proxy.requires``): the check and the reason to refuse
REQUIREMENTS: dict[str, tuple[Any, str]] = {
    "relu": (lambda m: has(m, (nn.ReLU,)),
             "it counts nn.ReLU activation patterns and the model has no nn.ReLU module (swap_ext takes GELU, "
             "SiLU, ReLU6, Hardswish, … and token activations; swap_fn also activation functions such as F.relu "
             "and F.gelu)"),
    "conv_blocks": (lambda m: has(m, (nn.Conv2d,)) and not has(m, (nn.MultiheadAttention,)),
                    "it reads 4-D (S, C, H, W) block features of a convolutional network (nn.Conv2d, and no "
                    "attention blocks, which produce token features)"),
    "conv": (lambda m: has(m, (nn.Conv2d,)),
             "it reads the 4-D maps of nn.Conv2d layers and the model has none"),
    "no_attention": (lambda m: not has(m, (nn.MultiheadAttention,)),
                     "it needs per-parameter second-order terms or tensor outputs that PyTorch's fused "
                     "attention (nn.MultiheadAttention) does not provide"),
    "global_pool": (lambda m: has(m, (nn.AdaptiveAvgPool2d,)),
                    "it reads the features before a global average pool (nn.AdaptiveAvgPool2d), "
                    "which the model lacks"),
}
#: what a proxy may require of the inputs (``Proxy.requires`` too), checked where a batch is given
INPUT_REQUIREMENTS: dict[str, tuple[Any, str]] = {
    "float_inputs": (lambda x: not isinstance(x, torch.Tensor) or x.is_floating_point(),
                     "it feeds synthetic float inputs of the batch's shape or differentiates with respect to the "
                     "inputs, and these are integer ids (a model that embeds tokens); on such a model use one that "
                     "reads activations or weights, e.g. swap_ext, l2_norm, zico, vkdnw_layers or params "
                     "(docs/transformers.md)"),
}

#: the words of a refusal of the batch, not of the model (:data:`LABEL_REQUIREMENTS`)
BATCH_REFUSED = "cannot score this batch"
#: what a proxy may require of the batch's labels (``Proxy.requires`` too), checked where a batch is given
LABEL_REQUIREMENTS: dict[str, tuple[Any, str]] = {
    "class_pairs": (lambda b: not (b.loss == "ce" and b.targets.dim() == 1 and b.num_classes <= 100
                                   and b.targets.unique().numel() == b.targets.numel()),
                    "every class of the batch has one sample, and a class of one sample adds the same term, "
                    "log(1 + k), whatever the network: the score would be the same for every network; give a batch "
                    "in which some class has 2 or more samples (more samples: --batch-size on the command line)"),
}


#: what a proxy may require of the model's output (``Proxy.requires`` too), checked only where an output is at hand:
#: the up-front check of a space's networks runs one pass on the meta device (:mod:`swapnas.fit_check`)
OUTPUT_REQUIREMENTS: dict[str, tuple[Any, str]] = {
    "logits": (lambda out: not isinstance(out, torch.Tensor) or out.dim() == 2,
               "it needs a classifier's (S, outputs) logits, and these networks output maps (a dense task's head)"),
}


def applies(proxy: Proxy, need: str) -> str | None:
    """The requirement ``need`` names (``"relu"``; ``"conv:layers=conv"``: only while the proxy's option ``layers``
    is ``conv``), or None where the proxy's options waive it."""
    name, _, when = need.partition(":")
    if when:
        option, _, value = when.partition("=")
        if str(proxy.options.get(option)) != value:
            return None
    if not any(name in kinds for kinds in (REQUIREMENTS, INPUT_REQUIREMENTS, LABEL_REQUIREMENTS, OUTPUT_REQUIREMENTS)):
        known = sorted({*REQUIREMENTS, *INPUT_REQUIREMENTS, *LABEL_REQUIREMENTS, *OUTPUT_REQUIREMENTS})
        raise NotFound(f"{proxy.name} requires {name!r}, which is none of {known}")
    return name


def check_supported(p: Proxy, model: nn.Module, batch: Batch | None = None) -> None:
    """Raise :class:`UnsupportedModel` if ``model`` (or ``batch``'s inputs, where given) lacks what ``p`` (or a proxy
    it derives from) requires."""
    for q in with_bases([p]):
        for need in q.requires:
            name = applies(q, need)
            subject: object  # the model, or the inputs, that the check reads
            if name in REQUIREMENTS:
                (ok, why), subject = REQUIREMENTS[name], model
            elif name in INPUT_REQUIREMENTS and batch is not None:
                (ok, why), subject = INPUT_REQUIREMENTS[name], batch.inputs
            elif name in LABEL_REQUIREMENTS and batch is not None:  # the batch, not the model, is refused
                (ok, why), subject = LABEL_REQUIREMENTS[name], batch
                if not ok(subject):
                    raise UnsupportedModel(f"{p.name} {BATCH_REFUSED}: {why}", why, of_batch=True)
                continue
            else:  # waived by an option, an input requirement with no inputs, or one of the output (check_output)
                continue
            if not ok(subject):
                raise UnsupportedModel(f"{p.name} cannot score {type(model).__name__}: {why}", why)


def check_output(p: Proxy, model: nn.Module, out: object) -> None:
    """Raise :class:`UnsupportedModel` if ``out``, ``model``'s output (of a pass on the meta device), is not what ``p``
    (or a proxy it derives from) requires of it."""
    for q in with_bases([p]):
        for need in q.requires:
            if (name := applies(q, need)) in OUTPUT_REQUIREMENTS:
                ok, why = OUTPUT_REQUIREMENTS[name]
                if not ok(out):
                    raise UnsupportedModel(f"{p.name} cannot score {type(model).__name__}: {why}", why)
