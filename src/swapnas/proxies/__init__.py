"""Training-free metrics. Each module registers its proxies on import."""

from . import (  # noqa: F401  (registration side effects)
    az_nas,
    best,  # noqa: F401  (combinations of the proxies above; registers the alias ``best``)
    epe_nas,
    fisher,
    flops,
    grad_norm,
    grasp,
    jacob_cov,
    l2_norm,
    lswag,
    meco,
    nwot,
    params,
    plain,
    snip,
    swap,
    synflow,
    te_nas,
    vkdnw,
    zen,
    zico,
)
from ._common import loss_grads, output_loss
from .registry import (
    ALIASES,
    Proxy,
    about_unknown,
    details,
    get_proxy,
    list_proxies,
    register,
    register_alias,
    resolve,
)

#: ``output_loss`` and ``loss_grads``: the batch's task loss and its weight gradients, for a metric of one's own that
#: reads labels (public since session 55; the docs had pointed metric authors to the private ``_common``)
__all__ = ["ALIASES", "Proxy", "about_unknown", "details", "get_proxy", "list_proxies", "loss_grads", "output_loss",
           "register", "register_alias", "resolve"]
