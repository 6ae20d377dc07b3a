"""jacob_cov: the Jacobian-covariance score of NAS without training (arXiv v1).

Reference: J. Mellor, J. Turner, A. Storkey, E. J. Crowley, "Neural
Architecture Search without Training", arXiv:2006.04647v1, 2020 (the first
version; the ICML 2021 version replaced it by NASWOT, see ``nwot``); used as
``jacob_cov`` by Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS",
ICLR 2021.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from ..data import Batch
from ._common import input_jacobian, row_correlation
from .registry import register


def jacobian_score(corr: np.ndarray, k: float) -> float:
    """S = −Σ_i [log(λ_i + k) + 1/(λ_i + k)] over the eigenvalues λ_i of ``corr``."""
    lam = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(lam + k) + 1.0 / (lam + k)))


@register("jacob_cov", higher_is_better=True, needs_grad=True, needs_labels=False, input_kind="data", version="1",
          k=1e-5, requires=("float_inputs",))
def jacob_cov(model: nn.Module, batch: Batch, k: float = 1e-5) -> float:
    """Jacobian-covariance score −Σ[log(λ+k) + 1/(λ+k)] (Mellor et al., arXiv v1 2020).

    Definition: J_i = ∂(Σ_k f_k)/∂x_i is the input gradient of the summed
    network outputs for sample i (one backward pass over the batch, BatchNorm
    as the caller left it), flattened; Σ_J is the N×N Pearson correlation
    matrix of the rows J_i and λ_i its eigenvalues. The value is the paper's
    score S = −Σ_i [log(λ_i + k) + (λ_i + k)⁻¹] with k = 1e-5, unchanged (not
    negated again): the paper ranks architectures by S, higher is better.
    Raises ``ValueError`` when a sample's Jacobian is constant (its
    correlation is undefined).
    """
    jac = input_jacobian(model, batch.inputs, "jacob_cov").detach().cpu().double().numpy()
    return jacobian_score(row_correlation(jac, "jacob_cov Jacobians"), k)
