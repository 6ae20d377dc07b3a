"""The DARTS cell space (also NAS-Bench-301): the space interface over genotype and network.

Arch values, parsing and variation live in :mod:`darts_genotype`, the network in
:mod:`darts_net`; this module gives them the interface every space has
(``NAME``, ``parse``, ``format_arch``, ``sample``, ``mutate``, ``iso_key``, ``build``).
"""

from __future__ import annotations

from .darts_genotype import (
    NASLIB_OPS,
    OPS,
    Genotype,
    canonical,
    crossover,
    format_genotype,
    mutate,
    parse,
    parse_naslib,
    sample,
    to_naslib,
)
from .darts_net import NETS, Network, build

NAME = "darts"
Arch = Genotype
format_arch = format_genotype

# The SWAP authors' scoring network: 3 initial channels, one cell, no stem (the image is
# both cell inputs). With one cell, the reduction rule (cells at layers//3 and
# 2*layers//3) makes that cell a reduction cell.
NETS.setdefault("swap_proxy", {"C": 3, "layers": 1, "stem": False})


def iso_key(g: Genotype) -> str:
    """Canonical string: each node's two edges in sorted order."""
    return g.key


__all__ = [
    "NAME", "NASLIB_OPS", "NETS", "OPS", "Arch", "Genotype", "Network", "build", "canonical", "crossover",
    "format_arch", "iso_key", "mutate", "parse", "parse_naslib", "sample", "to_naslib",
]
