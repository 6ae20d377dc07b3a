"""scripts/choose_fitness.py, the script that chose every space's ``best`` (docs/generated/dev/*_fitness*.md): its
greedy path, joint grid, split halves, feature transforms and run loading against plain loops written here
(session 49; until then only its failure ranking, its rank transform and its dev guard had tests)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.script_tools import load_script, naive_spearman


def _cf():
    return load_script("choose_fitness", "t49cf")


def _runs() -> list[dict]:
    """Two dev sets: accuracy, a positive SWAP-like anchor, a positive size-like term, a signed term and a term
    that fails (NaN) on a few archs of the second set."""
    out = []
    for seed, n in ((1, 30), (2, 24)):
        rng = np.random.default_rng(seed)
        acc = rng.uniform(80, 95, n)
        swap = np.exp(0.05 * acc + rng.normal(0, 0.4, n))
        size = np.exp(0.03 * acc + rng.normal(0, 0.3, n))
        signed = 0.2 * (acc - 88) + rng.normal(0, 2.0, n)
        fails = rng.uniform(1, 2, n) * (acc / 90)
        if seed == 2:
            fails[[0, 5, 7]] = np.nan
        out.append({"name": f"set{seed}", "acc": acc,
                    "scores": {"swap": swap, "size": size, "signed": signed, "fails": fails}})
    return out


def _naive_value(run: dict, terms: dict[str, float], transform: dict[str, str]) -> list[float]:
    out = []
    for i in range(len(run["acc"])):
        total = 0.0
        for n, w in terms.items():
            v = float(run["scores"][n][i])
            if math.isnan(v) or (transform[n] == "log" and v <= 0):
                total = -math.inf
                break
            total += w * (math.log(v) if transform[n] == "log" else v)
        out.append(total)
    return out


def _naive_worst(runs: list[dict], terms: dict[str, float], transform: dict[str, str]) -> tuple[float, list[float]]:
    """Worst Spearman ρ over the runs, a non-finite fitness ranked last (below every finite one, tied with each
    other), computed by loops."""
    rhos = []
    for r in runs:
        f = _naive_value(r, terms, transform)
        lowest = min([x for x in f if math.isfinite(x)]) - 1.0
        rhos.append(naive_spearman([x if math.isfinite(x) else lowest for x in f], r["acc"].tolist()))
    return min(rhos), rhos


TRANSFORM = {"swap": "log", "size": "log", "signed": "lin", "fails": "log"}


def test_features_take_ln_of_components_positive_everywhere_and_scale_the_others_by_the_first_runs_std() -> None:
    runs = _runs()
    runs[1]["scores"]["only_here"] = np.ones(24)
    names, transform, scale = _cf().features(runs, exclude={"size"})
    assert names == ["fails", "signed", "swap"]  # in both runs, sorted, less the excluded
    assert transform == {"fails": "log", "signed": "lin", "swap": "log"}
    first = runs[0]["scores"]["signed"].tolist()
    mean = sum(first) / len(first)
    assert scale["signed"] == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in first) / len(first)), rel=1e-12)
    assert scale["swap"] == scale["fails"] == 1.0


def test_worst_is_the_lowest_rho_over_the_runs_with_failures_ranked_last() -> None:
    cf, runs = _cf(), _runs()
    for terms in ({"swap": 1.0}, {"swap": 1.0, "fails": 2.0}, {"swap": 1.0, "signed": -0.5, "size": 0.25}):
        got, rhos = cf.worst(runs, terms, TRANSFORM)
        want, want_rhos = _naive_worst(runs, terms, TRANSFORM)
        assert got == pytest.approx(want, abs=1e-12) and rhos == pytest.approx(want_rhos, abs=1e-12)


def _naive_greedy(runs, names, scale, min_gain, max_terms):
    terms = {"swap": 1.0}
    path = [(dict(terms), _naive_worst(runs, terms, TRANSFORM)[0])]
    while len(terms) < max_terms:
        best = None
        for n in names:  # the first strict maximum over names, then the grid's weights, wins
            for g in cf_grid():
                if n in terms:
                    continue
                trial = {**terms, n: g / scale[n]}
                w = _naive_worst(runs, trial, TRANSFORM)[0]
                if best is None or w > best[1] + 1e-12:
                    best = (trial, w)
        if best is None or best[1] < path[-1][1] + min_gain:
            break
        terms = best[0]
        path.append(best)
    return path


def cf_grid() -> tuple[float, ...]:
    return (-2.0, -1.0, -0.5, -0.25, -0.1, 0.1, 0.25, 0.5, 1.0, 2.0)


@pytest.mark.parametrize("min_gain, max_terms", [(0.0, 4), (0.005, 4), (0.0, 2), (1.0, 4)])
def test_greedy_path_matches_a_forward_selection_by_loops(min_gain: float, max_terms: int) -> None:
    cf, runs = _cf(), _runs()
    assert cf.GRID == cf_grid()
    names, transform, scale = cf.features(runs, set())
    assert transform == TRANSFORM
    path = cf.greedy(runs, names, transform, scale, min_gain, max_terms)
    want = _naive_greedy(runs, names, scale, min_gain, max_terms)
    assert [terms for terms, _, _ in path] == [terms for terms, _ in want]
    assert [w for _, w, _ in path] == pytest.approx([w for _, w in want], abs=1e-12)
    # each step gains at least min_gain, and the path starts from the anchor alone
    assert path[0][0] == {"swap": 1.0}
    assert all(b[1] >= a[1] + min_gain for a, b in zip(path, path[1:]))
    if min_gain == 1.0:
        assert len(path) == 1  # no term can gain a whole unit of ρ


def test_joint_grid_is_every_combination_ranked_by_worst_then_mean_rho() -> None:
    cf, runs = _cf(), _runs()
    grid = {"size": [0.0, 0.5, 1.0], "signed": [-0.5, 0.0, 0.25], "fails": [0.0, 1.0]}
    rows = []
    for ws in itertools.product(*grid.values()):
        terms = {"swap": 1.0, **{n: w for n, w in zip(grid, ws) if w != 0.0}}
        worst, rhos = _naive_worst(runs, terms, TRANSFORM)
        rows.append((terms, worst, sum(rhos) / len(rhos)))
    rows.sort(key=lambda r: (-round(r[1], 6), -r[2]))
    got = cf.joint(runs, grid, TRANSFORM, top=5)
    assert [t for t, _, _ in got] == [t for t, _, _ in rows[:5]]
    assert [w for _, w, _ in got] == pytest.approx([w for _, w, _ in rows[:5]], abs=1e-12)
    assert len(cf.joint(runs, grid, TRANSFORM, top=100)) == 18  # 3 · 3 · 2 combinations


def test_halves_split_every_run_into_two_disjoint_halves_that_keep_each_archs_scores() -> None:
    cf, runs = _cf(), _runs()
    for r in runs:
        r["scores"]["index"] = np.arange(len(r["acc"]), dtype=float)
    a, b = cf.halves(runs, 7)
    for r, ha, hb in zip(runs, a, b):
        ia, ib = ha["scores"]["index"].astype(int), hb["scores"]["index"].astype(int)
        assert len(ia) == len(r["acc"]) // 2 and sorted([*ia, *ib]) == list(range(len(r["acc"])))
        for half, idx in ((ha, ia), (hb, ib)):
            assert half["acc"].tolist() == r["acc"][idx].tolist()
            assert half["scores"]["swap"].tolist() == r["scores"]["swap"][idx].tolist()
            assert half["name"] == r["name"]
    again = cf.halves(runs, 7)[0][0]["scores"]["index"].tolist()
    other = cf.halves(runs, 8)[0][0]["scores"]["index"].tolist()
    assert again == a[0]["scores"]["index"].tolist() and other != again


def _dev_doc(archs: list[str], scores: dict, acc: list[float]) -> dict:
    return {"protocol": {"space": "nb201", "dataset": "cifar10", "seed": 0}, "archs": archs, "accuracy": acc,
            "ground_truth": "NB201 valid accuracy (%), 200 epochs, mean over seeds", "scores": scores}


def test_load_merges_runs_on_the_same_archs_and_refuses_other_archs(tmp_path: Path) -> None:
    cf = _cf()
    archs = [f"a{i}" for i in range(1000)]
    acc = [float(i % 97) for i in range(1000)]
    one, two, other = tmp_path / "one.json", tmp_path / "two.json", tmp_path / "other.json"
    one.write_text(json.dumps(_dev_doc(archs, {"swap": [1.0] * 1000}, acc)))
    two.write_text(json.dumps(_dev_doc(archs, {"meco": [None] + [2.0] * 999}, acc)))
    other.write_text(json.dumps(_dev_doc(archs[::-1], {"x": [1.0] * 1000}, acc)))
    (run,) = cf.load([f"{one}+{two}"])
    assert run["name"] == f"nb201:{tmp_path.name}" and run["acc"].tolist() == acc
    assert sorted(run["scores"]) == ["meco", "swap"] and math.isnan(run["scores"]["meco"][0])
    with pytest.raises(SystemExit, match="^" + f"{one}+{other}".replace("+", r"\+") + ": the merged runs hold "
                       "different archs$"):
        cf.load([f"{one}+{other}"])


@pytest.mark.parametrize("text, error", [("swap=1,params", "--incumbent 'swap=1,params': expected NAME=w,NAME=w,…"),
                                         ("swap=x", "--incumbent 'swap=x': expected NAME=w,NAME=w,…")])
def test_parse_terms_reads_raw_weights_and_refuses_malformed_text(text: str, error: str) -> None:
    cf = _cf()
    assert cf.parse_terms("swap=1, params = 0.5") == {"swap": 1.0, "params": 0.5}
    with pytest.raises(SystemExit, match="^" + error.replace("+", r"\+")):
        cf.parse_terms(text)


def test_parse_grid_and_terms_text() -> None:
    cf = _cf()
    assert cf.parse_grid("a=0,0.5,1; b=-1") == {"a": [0.0, 0.5, 1.0], "b": [-1.0]}
    with pytest.raises(SystemExit, match=r"^--joint 'a=0;b': expected NAME=w,w,…;NAME=w,…"):
        cf.parse_grid("a=0;b")
    text = cf.terms_text({"swap": 1.0, "signed": -0.123456, "size": 0.5},
                         {"swap": "log", "signed": "lin", "size": "rank"})
    assert text == "1·ln swap + -0.1235·signed + 0.5·ln rank size"


def test_greedy_adds_a_term_that_gains_exactly_nothing_at_min_gain_zero_with_the_first_weight_of_the_grid() -> None:
    # "stop when the gain is below --min-gain": a component constant on every arch changes no rank, so each of its
    # weights ties at the anchor's own worst ρ; at min_gain 0 that is not below, so it is added, with the grid's
    # first weight (the first strict maximum wins); any positive min_gain stops before it
    cf, runs = _cf(), _runs()
    for r in runs:
        r["scores"] = {"swap": r["scores"]["swap"], "flat": np.full(len(r["acc"]), 3.0)}
    names, transform, scale = cf.features(runs, set())
    path = cf.greedy(runs, names, transform, scale, 0.0, 4)
    assert [terms for terms, _, _ in path] == [{"swap": 1.0}, {"swap": 1.0, "flat": -2.0}]
    assert path[1][1] == path[0][1]
    assert len(cf.greedy(runs, names, transform, scale, 1e-9, 4)) == 1


def test_joint_breaks_a_tie_in_worst_rho_by_the_mean_rho() -> None:
    # `helper` is constant on the first set (the worst one: it changes nothing there) and follows the accuracy on the
    # second, so both rows share the worst ρ and the row with the helper has the higher mean: it comes first
    cf, runs = _cf(), _runs()
    runs[0]["scores"]["helper"] = np.full(30, 2.0)
    runs[1]["scores"]["helper"] = np.exp(runs[1]["acc"] / 10)
    transform = {**TRANSFORM, "helper": "log"}
    assert _naive_worst(runs, {"swap": 1.0}, transform)[1][0] < _naive_worst(runs, {"swap": 1.0}, transform)[1][1]
    rows = cf.joint(runs, {"helper": [0.0, 1.0]}, transform)
    assert [terms for terms, _, _ in rows] == [{"swap": 1.0, "helper": 1.0}, {"swap": 1.0}]
    assert rows[0][1] == pytest.approx(rows[1][1], abs=1e-12) and np.mean(rows[0][2]) > np.mean(rows[1][2])


def test_rho_is_minus_one_when_ten_or_fewer_archs_have_a_finite_fitness() -> None:
    cf, run = _cf(), _runs()[0]
    f = run["acc"].copy()
    f[10:] = -np.inf
    assert cf.rho(run, f) == -1.0  # 10 finite
    f[10] = run["acc"][10]
    lowest = min(f[:11]) - 1.0
    want = naive_spearman([x if math.isfinite(x) else lowest for x in f.tolist()], run["acc"].tolist())
    assert cf.rho(run, f) == pytest.approx(want, abs=1e-12)  # 11 finite: ranked, the rest last


def test_the_scale_of_a_signed_component_is_the_std_of_its_finite_values_in_the_first_run() -> None:
    runs = _runs()
    runs[0]["scores"]["signed"][[2, 9]] = [np.inf, np.nan]
    _, transform, scale = _cf().features(runs, set())
    finite = [x for x in runs[0]["scores"]["signed"].tolist() if math.isfinite(x)]
    mean = sum(finite) / len(finite)
    assert transform["signed"] == "lin" and len(finite) == 28
    assert scale["signed"] == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in finite) / len(finite)), rel=1e-12)
