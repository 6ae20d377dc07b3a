"""scripts/nb201_space_table.py's top-k precision: the expected overlap when each ranking's ties are
broken at random, against a brute force over every tie-break order (session 26: it used to break ties
by arch order, so #params rows depended on the order of the archs)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.script_tools import load_script


def _brute(score: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean of |top k by score ∩ top k by truth| over every pair of orders (one per ranking) that sort
    the archs by value, ties in every possible order."""
    def tops(values: np.ndarray) -> list[set[int]]:
        return [set(p[:k]) for p in itertools.permutations(range(len(values)))
                if all(values[p[i]] >= values[p[i + 1]] for i in range(len(p) - 1))]
    a, b = tops(score), tops(truth)
    return float(np.mean([len(x & y) for x in a for y in b])) / k


@pytest.mark.parametrize("score, truth", [
    ([3, 2, 2, 2, 1, 0], [5, 4, 3, 2, 1, 0]),      # a three-way tie across the cut
    ([1, 1, 1, 1, 1, 1], [6, 5, 4, 3, 2, 1]),      # a constant score
    ([4, 3, 3, 1, 1, 0], [2, 2, 9, 1, 1, 0]),      # ties on both sides
    ([0.5, 0.1, 0.9, 0.3, 0.7, 0.2], [1, 2, 3, 4, 5, 6]),  # no ties: the plain overlap
])
def test_top_k_precision_is_the_mean_over_tie_orders(score, truth) -> None:
    mod = load_script("nb201_space_table", "t26s")
    s, t = np.array(score, float), np.array(truth, float)
    for frac in (0.2, 0.34, 0.5):
        k = max(1, int(round(frac * len(s))))
        assert mod.top_k_precision(s, t, frac) == pytest.approx(_brute(s, t, k), abs=1e-12)


def test_top_k_precision_does_not_depend_on_the_order_of_the_archs() -> None:
    mod = load_script("nb201_space_table", "t26o")
    rng = np.random.default_rng(0)
    score = rng.integers(0, 5, 200).astype(float)  # heavy ties, like #params
    truth = rng.normal(size=200)
    want = mod.top_k_precision(score, truth, 0.05)
    for _ in range(20):
        p = rng.permutation(200)
        assert mod.top_k_precision(score[p], truth[p], 0.05) == pytest.approx(want, abs=1e-12)
    untied = rng.normal(size=200)  # without ties it is the plain share of the top 10 by score in the top 10 by truth
    top = set(np.argsort(-untied)[:10]) & set(np.argsort(-truth)[:10])
    assert mod.top_k_precision(untied, truth, 0.05) == len(top) / 10


def test_a_metric_of_ones_own_is_read_with_the_sign_its_run_stored(tmp_path, capsys) -> None:
    """Session 55: the sign came from the registry, so a results.json with a metric not registered in the script's
    process ended in NotFound."""
    import json
    import random

    from swapnas.spaces import nb201

    mod = load_script("nb201_space_table", "t55")
    archs = [str(nb201.sample(random.Random(i))) for i in range(8)]
    acc = [float(i) for i in range(8)]
    doc = {"protocol": {"dataset": "cifar10"}, "archs": archs, "accuracy": acc,
           "scores": {"mine": [-a for a in acc[:7]] + [None], "swap": acc},
           "results": [{"proxy": "mine", "higher_is_better": False}, {"proxy": "swap", "higher_is_better": True}]}
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text(json.dumps(doc))
    mod.main([str(tmp_path / "run" / "results.json")], no_parts=True)
    rows = capsys.readouterr().out.splitlines()[2:]
    assert rows[0].startswith("| `run` | cifar10 | mine | 7 | 1 | 1.000 | 1.000 |")  # lower is better: sign flipped
    assert rows[1].startswith("| `run` | cifar10 | swap | 8 | 0 | 1.000 | 1.000 |")
