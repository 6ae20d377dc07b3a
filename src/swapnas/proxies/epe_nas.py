"""epe_nas: class-wise Jacobian correlation of EPE-NAS.

Reference: V. Lopes, S. Alirezazadeh, L. A. Alexandre, "EPE-NAS: Efficient
Performance Estimation Without Training for Neural Architecture Search",
ICANN 2021.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from ..data import Batch
from ._common import input_jacobian, row_correlation
from .registry import register


def class_term(jac: np.ndarray, k: float) -> float:
    """e_t = Σ_{i,j} log(|Σ_t(i, j)| + k) for the Jacobians (rows) of one class's samples."""
    corr = np.ones((1, 1)) if jac.shape[0] == 1 else row_correlation(jac, "epe_nas Jacobians")
    return float(np.sum(np.log(np.abs(corr) + k)))


@register("epe_nas", higher_is_better=True, needs_grad=True, needs_labels=True, input_kind="data", version="1",
          k=1e-5)
def epe_nas(model: nn.Module, batch: Batch, k: float = 1e-5) -> float:
    """EPE-NAS score Σ_t |Σ_ij log(|Σ_t(i,j)| + k)| over classes t (Lopes et al., ICANN 2021).

    Definition: J_i = ∂(Σ_k f_k)/∂x_i is the input gradient of the summed
    outputs for sample i (one backward pass over the batch), flattened. For
    every class t present in ``batch.targets``, Σ_t is the Pearson correlation
    matrix of the J_i of that class's samples (a single sample gives [[1]]),
    and e_t = Σ_{i,j} log(|Σ_t(i, j)| + k), k = 1e-5. The score is Σ_t |e_t|,
    divided by the number of classes C = ``batch.num_classes`` when C > 100,
    as in the paper. Both absolute values are the paper's. Less correlated
    Jacobians within a class give a larger score; higher is better. Batches
    without one class label per sample (regression, dense tasks) form a single group.
    """
    jac = input_jacobian(model, batch.inputs, "epe_nas").detach().cpu().double().numpy()
    if batch.loss == "ce" and batch.targets.dim() == 1:
        labels = batch.targets.detach().cpu().numpy()
    else:  # regression or dense targets: no per-sample class, all samples form one group
        labels = np.zeros(jac.shape[0], dtype=np.int64)
    score = sum(abs(class_term(jac[labels == t], k)) for t in np.unique(labels))
    return float(score / batch.num_classes if batch.num_classes > 100 else score)
