"""l2_norm: the summed L2 norms of the parameters at initialisation.

Reference: A. Krishnakumar, C. White, A. Zela, R. Tu, M. Safari, F. Hutter,
"NAS-Bench-Suite-Zero: Accelerating Research on Zero Cost Proxies", NeurIPS 2022
Datasets and Benchmarks (the ``l2_norm`` baseline).
"""

from __future__ import annotations

import torch
from torch import nn

from ..data import Batch
from .registry import register


@register("l2_norm", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data", version="1",
          multi_input=True)
def l2_norm(model: nn.Module, batch: Batch) -> float:
    """Sum over parameter tensors of their L2 norm ‖θ_t‖₂ (Krishnakumar et al., NeurIPS 2022).

    Definition: every parameter tensor of the model (weights, biases,
    BatchNorm scales and shifts) contributes its Euclidean norm; the batch is
    not used. Higher is better.

    NASLib / NAS-Bench-Suite-Zero sum only the Conv/Linear weights. This
    definition is kept because ``l2_norm`` is a component of the recommended
    fitness and stored scores must stay valid; on NB201 the two rank archs
    almost alike (ρ 0.999 on NASLib's 725 archs: ``scripts/l2_norm_naslib.py``,
    docs/conformance.md).
    """
    with torch.no_grad():
        return float(sum(p.detach().double().norm() for p in model.parameters()))
