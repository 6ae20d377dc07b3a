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


def many_class_score(groups: list[np.ndarray], k: float) -> float:
    """Σ_i Σ_j |e_i/n_i − e_j/n_j| / (number of classes kept) over the classes with n ≥ 2 samples (the authors' rule
    for more than 100 classes)."""
    per_sample = [class_term(g, k) / g.shape[0] for g in groups if g.shape[0] > 1]
    if not per_sample:
        raise ValueError("epe_nas: with more than 100 classes the score needs a class with at least 2 samples in "
                         "the batch (single-sample classes are left out, as in the authors' code); none has: use a larger "
                         "--batch-size, so that some class is drawn twice. With one sample per class (e.g. TransNAS "
                         "jigsaw's 1000 classes) the metric does not apply")
    e = np.array(per_sample)
    return float(np.abs(e[:, None] - e[None, :]).sum() / len(e))


@register("epe_nas", higher_is_better=True, needs_grad=True, needs_labels=True, input_kind="data", version="2",
          k=1e-5, requires=("float_inputs", "class_pairs"))
def epe_nas(model: nn.Module, batch: Batch, k: float = 1e-5) -> float:
    """EPE-NAS score Σ_t |Σ_ij log(|Σ_t(i,j)| + k)| over classes t (Lopes et al., ICANN 2021); another rule for C > 100.

    Definition: J_i = ∂(Σ_k f_k)/∂x_i is the input gradient of the summed
    outputs for sample i (one backward pass over the batch), flattened. For
    every class t present in ``batch.targets``, Σ_t is the Pearson correlation
    matrix of the J_i of that class's samples (a single sample gives [[1]]),
    and e_t = Σ_{i,j} log(|Σ_t(i, j)| + k), k = 1e-5. For C = ``batch.num_classes``
    ≤ 100 the score is Σ_t |e_t|. For C > 100 it is the authors' code's rule
    (``eval_score_perclass`` of EPE-NAS, also in NASLib): each e_t is divided by
    its class's sample count n_t, classes with a single sample are left out (their
    code skips them), and the score is Σ_i Σ_j |e_i/n_i − e_j/n_j| over the kept
    classes, divided by their number. Less correlated Jacobians within a class give
    a larger score; higher is better. Batches without one class label per sample
    (regression, dense tasks) form a single group and score |e| of that group,
    whatever C (the C > 100 rule compares classes, and there is only one).

    Version 2 changes only batches with C > 100 (values for C ≤ 100 are version 1's):
    version 1 returned Σ_t |e_t| / C there (single groups included) and called it the
    paper's rule; it is not what the authors' code computes.

    Raises:
        ValueError: a constant Jacobian row, or, for C > 100, no class with 2 samples.
    """
    jac = input_jacobian(model, batch.inputs, "epe_nas").detach().cpu().double().numpy()
    labelled = batch.loss == "ce" and batch.targets.dim() == 1
    if labelled:
        labels = batch.targets.detach().cpu().numpy()
    else:  # regression or dense targets: no per-sample class, all samples form one group
        labels = np.zeros(jac.shape[0], dtype=np.int64)
    groups = [jac[labels == t] for t in np.unique(labels)]
    if labelled and batch.num_classes > 100:
        return many_class_score(groups, k)
    return float(sum(abs(class_term(g, k)) for g in groups))
