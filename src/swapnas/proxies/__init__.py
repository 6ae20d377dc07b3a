"""Training-free metrics. Each module registers its proxies on import."""

from . import params, swap  # noqa: F401  (registration side effects)
from .registry import Proxy, get_proxy, list_proxies, register, resolve

__all__ = ["Proxy", "get_proxy", "list_proxies", "register", "resolve"]
