"""Search spaces. Each space module exposes the same interface:

``NAME``, ``Arch`` (hashable; ``str(arch)`` is the canonical, parseable key), ``parse``,
``format_arch``, ``sample(rng)``, ``mutate(arch, rng)``, ``iso_key``, ``build(arch,
num_classes, **net)``, ``SCORING_DEFAULTS`` (scored network, batch size, repeats) and
``default_size_prior(net, num_classes)`` (the label-free μ, σ rule). Spaces with several
tasks (TransNAS) also have ``TASKS`` and take ``task`` as a network option. To add a space,
write such a module and list it in ``SPACES``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from . import darts, nb201

#: space name → module (imported on first use)
SPACES: dict[str, str] = {
    "nb101": "nb101",
    "nb201": "nb201",
    "darts": "darts",
    "transnas_micro": "transnas_micro",
    "transnas_macro": "transnas_macro",
}


def get_space(name: str) -> ModuleType:
    try:
        module = SPACES[name]
    except KeyError:
        raise ValueError(f"unknown space {name!r}; available: {', '.join(SPACES)}") from None
    return importlib.import_module(f"{__name__}.{module}")


__all__ = ["SPACES", "darts", "get_space", "nb201"]
