"""nwot: NASWOT, the log-determinant of the ReLU-code Hamming kernel.

Reference: J. Mellor, J. Turner, A. Storkey, E. J. Crowley, "Neural
Architecture Search without Training", ICML 2021.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data import Batch
from ._common import each_relu_code
from .registry import register


def hamming_kernel(codes: torch.Tensor) -> torch.Tensor:
    """K_H[i, j] = N_A − d_H(c_i, c_j) for (S, N_A) binary codes, in float64.

    N_A − d_H counts the units on which samples i and j agree, i.e.
    c cᵀ + (1 − c)(1 − c)ᵀ.
    """
    c = codes.double()
    return c @ c.T + (1 - c) @ (1 - c).T


#: units of one layer below which its c cᵀ is taken in float32: every partial sum is a whole number below 2**24
EXACT_FLOAT32 = 2 ** 24


class _LayerSum:
    """K_H summed layer by layer: a layer of N_l units with codes c adds N_l − r_i − r_j + 2 (c cᵀ)[i, j] (r: each
    sample's active units), the same integers as :func:`hamming_kernel` of all the codes at once, exactly (c cᵀ in
    float32 is exact below 2**24 units; a wider layer is taken in float64). One layer's code is held at a time,
    not all of them twice in float64 (session 61: 4.4 GB against a 0.6 GB forward pass, ResNet-50 at 224 px, S = 16;
    out of memory under 8 GiB at S = 32)."""

    def __init__(self) -> None:
        self.kernel: torch.Tensor | None = None

    def __call__(self, code: torch.Tensor) -> None:
        units = code.shape[1]
        c = code.to(torch.float32 if units < EXACT_FLOAT32 else torch.float64)
        r = code.sum(dim=1, dtype=torch.float64)
        layer = units - r[:, None] - r[None, :] + 2 * (c @ c.T).double()
        self.kernel = layer if self.kernel is None else self.kernel + layer


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
    summed = _LayerSum()
    each_relu_code(model, batch.inputs, summed)
    assert summed.kernel is not None  # (each_relu_code raises where no ReLU ran)
    sign, logdet = torch.linalg.slogdet(summed.kernel)
    if sign.item() <= 0:
        raise ValueError("nwot: the ReLU-code kernel K_H is singular (some samples share an activation code), "
                         "so log|K_H| = -inf")
    return float(logdet)
