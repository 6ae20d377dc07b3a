"""What the supported versions of torch and numpy need of each other, checked when swapnas is imported."""

from __future__ import annotations

import numpy as np
import torch


def check_numpy_bridge() -> None:
    """torch converts tensors to numpy arrays and back. torch 2.2's wheels were built against numpy 1.x, and beside
    numpy 2 (which pip installs with them) every conversion fails with "Numpy is not available": until session 54 a
    run met it deep inside, at the batch's normalisation; now ``import swapnas`` says it, with the fix."""
    try:
        torch.from_numpy(np.zeros(1)).numpy()
    except RuntimeError as exc:
        raise ImportError(
            f"torch {torch.__version__} cannot convert between tensors and numpy {np.__version__} arrays ({exc}), "
            "which swapnas needs: torch 2.2 was built against numpy 1.x, so pip install 'numpy<2', or a torch >= "
            "2.3") from exc
