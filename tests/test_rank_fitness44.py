"""choose_fitness.py --transform rank (session 44): AZ-NAS's rank aggregation as a fitness candidate on dev data.
Golden values come from plain loops here."""

from __future__ import annotations

import math
from argparse import Namespace

import numpy as np
import pytest

from tests.script_tools import load_script, naive_spearman


def _cf():
    return load_script("choose_fitness", "rank44")


def _naive_log_rank(v: list[float], reverse: bool) -> list[float]:
    """ln(r / n) by loops: r = 1 + (finite values below, or above with reverse) + half the other equal values."""
    ok = [x for x in v if math.isfinite(x)]
    out = []
    for x in v:
        if not math.isfinite(x):
            out.append(-math.inf)
            continue
        below = sum((b > x) if reverse else (b < x) for b in ok)
        ties = sum(b == x for b in ok) - 1
        out.append(math.log((1 + below + ties / 2) / len(v)))
    return out


def test_rank_value_is_the_weighted_sum_of_log_ranks_with_reversed_ranks_for_negative_weights() -> None:
    cf = _cf()
    a = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    b = np.array([0.5, -2.0, np.nan, 7.0, 7.0, 0.1, -1.0, 3.0])
    run = {"acc": np.arange(8.0), "scores": {"a": a, "b": b}}
    got = cf.value(run, {"a": 2.0, "b": -0.5}, {"a": "rank", "b": "rank"})
    want = [2.0 * x + 0.5 * y for x, y in zip(_naive_log_rank(a.tolist(), False), _naive_log_rank(b.tolist(), True))]
    assert got[2] == -math.inf and want[2] == -math.inf
    ok = [i for i in range(8) if i != 2]
    assert got[ok] == pytest.approx([want[i] for i in ok], abs=1e-12)
    # a monotone map of a component changes nothing under ranks, but does under the log-linear sum
    squashed = {"acc": run["acc"], "scores": {"a": np.exp(a), "b": b}}
    assert cf.value(squashed, {"a": 2.0}, {"a": "rank"}) == pytest.approx(cf.value(run, {"a": 2.0}, {"a": "rank"}))
    assert not np.allclose(cf.value(squashed, {"a": 2.0}, {"a": "log"}), cf.value(run, {"a": 2.0}, {"a": "log"}))


def test_rank_features_and_the_incumbent_read_as_a_log_linear_sum() -> None:
    """Under --transform rank every component is ranked, but --incumbent stays the log-linear fitness it is."""
    cf = _cf()
    rng = np.random.default_rng(5)
    acc = rng.normal(size=60)
    pos = np.exp(acc + rng.normal(0.0, 1.0, 60))
    lin = acc + rng.normal(0.0, 0.5, 60)
    run = {"acc": acc, "scores": {"swap": pos, "lin": lin}}
    names, auto, _ = cf.features([run], set())
    assert names == ["lin", "swap"] and auto == {"lin": "lin", "swap": "log"}
    transform, scale = cf.rank_features(names)  # what --transform rank uses
    assert transform == {"lin": "rank", "swap": "rank"} and scale == {"lin": 1.0, "swap": 1.0}
    args = Namespace(split_seeds=[0], incumbent="swap=1,lin=0.5", joint=None, min_gain=0.005, max_terms=2,
                     anchor="swap")
    rows = [r for r in cf.split_check([run], names, transform, scale, args, auto) if r.startswith("| 0 |")]
    held_a, held_b = cf.halves([run], 0)[1][0], cf.halves([run], 0)[0][0]
    for row, held in zip(rows, (held_a, held_b)):
        f = [math.log(s) + 0.5 * x for s, x in zip(held["scores"]["swap"], held["scores"]["lin"])]
        assert row.split("|")[7].strip() == f"{naive_spearman(f, held['acc'].tolist()):.3f}"
        assert "ln rank swap" in row.split("|")[4]
