"""A ``score_archs`` stand-in for tests of the jobs that score archs (correlate, conformance): fixed records, no
network built."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from swapnas.store import Record


def fake_scores(values_or_errors: list, seconds: float | None = 0.01) -> Callable[..., dict[str, list[Record]]]:
    """A score_archs stand-in: every per-arch proxy gets these records, the first ``len(archs)`` of them (a float: a
    score taking ``seconds``; a string: a failure message)."""
    def score_archs(archs, space, proxies, *args, **kwargs):
        counts = kwargs.get("counts", args[-1] if args and isinstance(args[-1], dict) else None)  # by name or place
        if counts is not None:
            counts.update(reused=0, partly=0)
        recs = [Record("ok", float(v), 0.0, [float(v)], seconds, None, None) if not isinstance(v, str) else
                Record("failed", None, None, [], None, None, v) for v in values_or_errors]
        from swapnas.scoring import with_bases  # (bases=True: the bases' records too, as score_archs gives them)
        return {p.name: recs[:len(archs)] for p in (with_bases(proxies) if kwargs.get("bases") else proxies)}
    return score_archs


def psi_records(names, values: list[float]) -> tuple[dict[str, list[Record]], np.ndarray]:
    """Each proxy of ``names`` scored ``values`` (one ok record each), and every arch marked scored: what
    ``correlation._saturated`` reads."""
    return ({n: [Record("ok", v, 0.0, [v], 0.1, None, None) for v in values] for n in names},
            np.ones(len(values), dtype=bool))
