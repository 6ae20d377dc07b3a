"""swapnas: training-free NAS with the SWAP-Score (sample-wise activation patterns).

Public API::

    import swapnas
    psi = swapnas.swap_score(model, inputs)                  # exact SWAP-Score
    psi_reg = swapnas.regularise(psi, model, mu=..., sigma=...)  # size-regularised
"""

from .patterns import (
    EXTENDED_ACTIVATIONS,
    ICLR_ACTIVATIONS,
    NoActivationError,
    count_params_k,
    regularise,
    size_prior,
    swap_score,
)

__version__ = "0.1.0"

__all__ = [
    "EXTENDED_ACTIVATIONS",
    "ICLR_ACTIVATIONS",
    "NoActivationError",
    "count_params_k",
    "regularise",
    "size_prior",
    "swap_score",
    "__version__",
]
