"""l2_norm over every parameter (ours) vs over Conv/Linear weights only (NASLib's), on NASLib's NB201 archs.

``python scripts/l2_norm_naslib.py [DATA_DIR] [N]``: builds the first N (default all 725) archs of NASLib's
stored NB201 CIFAR-10 file as the benchmark's full network (C=16, N=5) with PyTorch's default init
(``torch.manual_seed(i)`` for the i-th), and prints Spearman ρ between the two definitions, of each with
NASLib's stored ``l2_norm`` and of each with the stored accuracy (the figure docs/conformance.md quotes).
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from swapnas.conformance import load_naslib
from swapnas.spaces import nb201


def both_norms(model: nn.Module) -> tuple[float, float]:
    """(Σ over all parameters of ‖θ‖₂, Σ over Conv/Linear weights of ‖W‖₂), in float64."""
    with torch.no_grad():
        ours = sum(float(p.double().norm()) for p in model.parameters())
        naslib = sum(float(m.weight.double().norm()) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    return ours, naslib


def main(data_dir: str, n: int | None) -> None:
    ref = load_naslib("nb201", "cifar10", data_dir)
    count = len(ref.archs) if n is None else n
    values = []
    for i, arch in enumerate(ref.archs[:count]):
        torch.manual_seed(i)
        values.append(both_norms(nb201.build(arch, C=16, N=5, num_classes=10)))
    ours, weights_only = np.array(values).T
    stored, acc = ref.scores["l2_norm"][:count], ref.accuracy[:count]
    ok = np.isfinite(stored)

    def rho(a: np.ndarray, b: np.ndarray) -> str:
        return f"{spearmanr(a[ok], b[ok])[0]:.3f}"

    print(f"{count} archs ({int(ok.sum())} with a NASLib l2_norm): rho(ours, weights only) = "
          f"{rho(ours, weights_only)}; rho with NASLib's stored l2_norm: ours {rho(ours, stored)}, weights only "
          f"{rho(weights_only, stored)}; rho with accuracy: ours {rho(ours, acc)}, weights only {rho(weights_only, acc)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data", int(sys.argv[2]) if len(sys.argv) > 2 else None)
