"""nwot: NASWOT, the log-determinant of the ReLU-code Hamming kernel.

Reference: J. Mellor, J. Turner, A. Storkey, E. J. Crowley, "Neural
Architecture Search without Training", ICML 2021.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data import Batch
from ._common import relu_codes
from .registry import register


def hamming_kernel(codes: torch.Tensor) -> torch.Tensor:
    """K_H[i, j] = N_A − d_H(c_i, c_j) for (S, N_A) binary codes, in float64.

    N_A − d_H counts the units on which samples i and j agree, i.e.
    c cᵀ + (1 − c)(1 − c)ᵀ.
    """
    c = codes.double()
    return c @ c.T + (1 - c) @ (1 - c).T


@register("nwot", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data", version="1",
          requires=("relu",))
def nwot(model: nn.Module, batch: Batch) -> float:
    """NASWOT log|K_H|, K_H = N_A − d_H over binary ReLU codes (Mellor et al., ICML 2021).

    Definition: for every sample i, c_i is the binary code of all rectified
    linear units of the network (bit = unit active, every ``nn.ReLU`` output
    element of one forward pass of the batch). K_H[i, j] = N_A − d_H(c_i, c_j)
    with N_A the number of units and d_H the Hamming distance; this equals the
    sum over ReLU layers of the per-layer kernels. The score is log|K_H|
    (``slogdet``). Higher is better. Raises ``ValueError`` when K_H is singular
    (e.g. two samples share a code), where the score would be −∞.
    """
    kernel = hamming_kernel(relu_codes(model, batch.inputs))
    sign, logdet = torch.linalg.slogdet(kernel)
    if sign.item() <= 0:
        raise ValueError("nwot: the ReLU-code kernel K_H is singular (some samples share an activation code), "
                         "so log|K_H| = -inf")
    return float(logdet)
