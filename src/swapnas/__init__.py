"""swapnas: training-free NAS with the SWAP-Score (sample-wise activation patterns).

Public API::

    import swapnas
    swapnas.score(model, x, proxies=("swap", "meco"))         # {proxy: value}, any nn.Module
    swapnas.rank({"a": net_a, "b": net_b}, (x, y))            # rows, best first
    psi = swapnas.swap_score(model, inputs)                   # exact SWAP-Score of the model as it is
    psi_reg = swapnas.regularise(psi, model, mu=..., sigma=...)  # size-regularised
    result = swapnas.search_arch("nb201", "cifar10", out="runs/s0")  # `swapnas search`, returning the result
"""

from ._version import __version__
from .stops import quiet_start_interrupt

quiet_start_interrupt()  # before torch is imported: a Ctrl-C of the command as it starts is one line

from .versions import check_numpy_bridge

check_numpy_bridge()  # before anything else: an old torch beside numpy 2 fails every run deep inside
from .api import UnsupportedModel, rank, score
from .api_search import search_arch
from .data import Batch, load_batch
from .proxies import list_proxies
from .proxies.code import NetworkCodeWarning, ProxyCodeWarning
from .patterns import (
    EXTENDED_ACTIVATIONS,
    ICLR_ACTIVATIONS,
    NoActivationError,
    SaturationWarning,
    count_params_k,
    regularise,
    size_prior,
    swap_score,
)
from .scoring import gaussian_init
from .stats import compare_spearman, correlate

__all__ = [
    "EXTENDED_ACTIVATIONS",
    "ICLR_ACTIVATIONS",
    "Batch",
    "NetworkCodeWarning",
    "NoActivationError",
    "ProxyCodeWarning",
    "SaturationWarning",
    "UnsupportedModel",
    "compare_spearman",
    "correlate",
    "count_params_k",
    "gaussian_init",
    "list_proxies",
    "load_batch",
    "rank",
    "regularise",
    "score",
    "search_arch",
    "size_prior",
    "swap_score",
    "__version__",
]
