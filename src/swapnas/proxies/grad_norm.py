"""grad_norm: the summed layer-wise gradient norms of the training loss at initialisation.

Reference: M. S. Abdelfattah, A. Mehrotra, Ł. Dudziak, N. D. Lane, "Zero-Cost
Proxies for Lightweight NAS", ICLR 2021 (the ``grad_norm`` baseline).
"""

from __future__ import annotations

from torch import nn

from ..data import Batch
from ._common import loss_grads
from .registry import register


@register("grad_norm", higher_is_better=True, needs_grad=True, needs_labels=True, input_kind="data", version="1")
def grad_norm(model: nn.Module, batch: Batch) -> float:
    """Sum over Conv/Linear layers of ‖∂L/∂W‖₂ (Abdelfattah et al., ICLR 2021).

    Definition: L is the mean loss (``batch.loss``: cross-entropy for classification) of one forward pass of the batch
    (BatchNorm as the caller left it); for every Conv/Linear layer take the
    Euclidean (Frobenius) norm of the gradient of L with respect to its weight
    tensor (biases excluded), and sum over layers. Higher is better.
    """
    _, grads = loss_grads(model, batch)
    return float(sum(g.detach().double().norm() for g in grads))
