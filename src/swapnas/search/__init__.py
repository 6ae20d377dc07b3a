"""Search: the ask/tell evolutionary algorithm (:mod:`.evolution`), the SWAP-NAS driver that
scores and resumes it (:mod:`.driver`), its fitness, size prior and second stage (:mod:`.fitness`),
and the final networks and size control (:mod:`.final`)."""

from __future__ import annotations

from .driver import (
           Fitness,
           SearchResult,
           SEARCH_EXTRAS,
           evolve,
           flexibert_extras,
           nb201_extras,
           run_search,
           write_result,
)
from .evolution import EAConfig, Evolution
from .final import final_macs, final_net, final_size, target_prior

__all__ = ["EAConfig", "Evolution", "Fitness", "SEARCH_EXTRAS", "SearchResult", "evolve", "final_macs", "final_net",
           "final_size", "flexibert_extras", "nb201_extras", "run_search", "target_prior", "write_result"]
