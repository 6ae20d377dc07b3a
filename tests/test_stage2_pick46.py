"""Session 46's label-free second-stage picks (scripts/stage2_ensemble_dev.py: rank sum, z sum) and the ``pick``
hook of scripts/choose_stage2_net.simulate_paired they run through. Golden values come from plain loops here."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.script_tools import load_script


def _script(name: str):
    return load_script(name, "stage2_pick46")


def _naive_midranks(v: list[float]) -> list[float]:
    """1-based ranks, ties sharing the mean of their places (counted by hand)."""
    return [sum(1 for y in v if y < x) + (sum(1 for y in v if y == x) + 1) / 2 for x in v]


def _naive_rank_sum(v1: list[float], v2: list[float]) -> int:
    ok = [i for i, x in enumerate(v2) if np.isfinite(x)] or list(range(len(v2)))
    r1, r2 = _naive_midranks([v1[i] for i in ok]), _naive_midranks([v2[i] for i in ok])
    total = [a + b for a, b in zip(r1, r2)]
    best = None
    for j, i in enumerate(ok):  # the highest sum; equal sums: the higher stage-2 value; then the first
        if best is None or total[j] > total[best[0]] or (total[j] == total[best[0]] and v2[i] > v2[best[1]]):
            best = (j, i)
    assert best is not None
    return best[1]


def _naive_z_sum(v1: list[float], v2: list[float]) -> int:
    ok = [i for i, x in enumerate(v2) if np.isfinite(x)] or list(range(len(v2)))

    def z(v: list[float]) -> list[float]:
        m = sum(v) / len(v)
        sd = (sum((x - m) ** 2 for x in v) / len(v)) ** 0.5
        return [(x - m) / sd if sd > 0 else 0.0 for x in v]

    total = [a + b for a, b in zip(z([v1[i] for i in ok]), z([v2[i] for i in ok]))]
    return ok[max(range(len(ok)), key=lambda j: (total[j], -j))]


def test_rank_sum_and_z_sum_match_plain_loops_on_random_short_lists() -> None:
    ens = _script("stage2_ensemble_dev")
    rng = np.random.default_rng(46)
    for trial in range(300):
        k = int(rng.integers(2, 12))
        # coarse values so that ties (within each stage and between rank sums) are common
        v1, v2 = rng.integers(0, 5, k).astype(float), rng.integers(0, 5, k).astype(float)
        if trial % 5 == 0:
            v2[rng.integers(0, k)] = -np.inf  # a failed second-stage score
        assert ens.rank_sum(v1, v2) == _naive_rank_sum(v1.tolist(), v2.tolist()), (v1, v2)
        w1, w2 = rng.normal(size=k), rng.normal(size=k)
        assert ens.z_sum(w1, w2) == _naive_z_sum(w1.tolist(), w2.tolist()), (w1, w2)


def test_the_rules_differ_from_stage_two_alone_where_they_should() -> None:
    """Stage 2 alone takes position 0 here; both rules weigh in stage 1, which puts position 1 first in the sum."""
    ens = _script("stage2_ensemble_dev")
    v1 = np.array([0.0, 9.0, 5.0])
    v2 = np.array([3.0, 2.9, 1.0])
    assert int(np.argmax(v2)) == 0
    assert ens.rank_sum(v1, v2) == 1  # ranks: 1 + 3, 3 + 2, 2 + 1
    assert ens.z_sum(v1, v2) == 1
    # a failed stage-2 score is never picked, however fit by stage 1
    assert ens.rank_sum(np.array([9.0, 1.0, 2.0]), np.array([-np.inf, 1.0, 0.0])) == 1
    assert ens.z_sum(np.array([9.0, 1.0, 2.0]), np.array([-np.inf, 1.0, 0.0])) == 1
    # a flat stage (std 0) adds nothing: the other decides
    assert ens.z_sum(np.array([1.0, 1.0, 1.0]), np.array([0.0, 2.0, 1.0])) == 1


def _naive_simulation(acc, f1, f2, k, budget, draws, pick):
    """The pick's mean accuracy over the kept draws, by the draws choose_stage2_net makes (the same generator)."""
    rng = np.random.default_rng(0)
    got = []
    for _ in range(draws):
        sub = rng.choice(len(acc), budget, replace=False)
        short = sorted(sub.tolist(), key=lambda i: -f1[i])[:k]  # Python's sort is stable, as argsort(kind=stable)
        if any(i not in f2 for i in short):
            continue
        got.append(acc[short[pick([f1[i] for i in short], [f2[i] for i in short])]])
    return sum(got) / len(got)


@pytest.mark.parametrize("rule", ["rank_sum", "z_sum", None])
def test_simulate_paired_uses_the_pick_it_is_given(rule: str | None) -> None:
    s2, ens = _script("choose_stage2_net"), _script("stage2_ensemble_dev")
    rng = np.random.default_rng(7)
    n = 60
    acc = rng.normal(90.0, 3.0, n)
    f1 = acc + rng.normal(0.0, 3.0, n)
    f2 = {i: float(acc[i] + rng.normal(0.0, 2.0)) for i in np.argsort(-f1)[:40].tolist()}
    top5 = acc >= np.quantile(acc, 0.95)
    pick = None if rule is None else getattr(ens, rule)
    naive = (lambda a, b: int(np.argmax(b))) if pick is None else (lambda a, b: pick(np.array(a), np.array(b)))
    for k in (3, 5, 10):
        mean = s2.simulate_paired(acc, f1, f2, k, 15, 200, top5, pick)[0]
        assert mean == pytest.approx(_naive_simulation(acc, f1, f2, k, 15, 200, naive), abs=1e-12)


def test_the_rules_pick_differently_somewhere() -> None:
    """Guards the simulation against the three rows being one rule: on random data the picks disagree."""
    ens = _script("stage2_ensemble_dev")
    rng = np.random.default_rng(1)
    picks = [(int(np.argmax(b)), ens.rank_sum(a, b), ens.z_sum(a, b))
             for a, b in ((rng.normal(size=8), rng.normal(size=8)) for _ in range(200))]
    for x, y in itertools.combinations(range(3), 2):
        assert any(p[x] != p[y] for p in picks)
