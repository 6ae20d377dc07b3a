"""A :class:`~swapnas.search.driver.SearchResult` for tests of the report and notes: every field set, any changed."""

from __future__ import annotations

from swapnas.search.driver import SearchResult


def search_result(**kw) -> SearchResult:
    """A small NB201 CIFAR-10 search result (3 cycles of 3, 8 evaluations, no size prior); ``kw`` replaces fields."""
    fields = dict(space="nb201", dataset="cifar10", best="|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                  fitness=1.0, params_m=0.5, macs_m=1.0, evaluations=8, cycles=3, wall_seconds=1.0, seed=0,
                  config={"cycles": 3}, protocol={}, mu=None, sigma=None, size_mapping=None, constraints={},
                  history=[], snapshots=[])
    return SearchResult(**{**fields, **kw})
