"""The table scripts behind figures quoted in docs/ (rho_table, grid_table, lswag_table, darts_dev_conflict,
meco_full_net_dev, sensitivity_stats, l2_norm_naslib, vkdnw_kaiming_side): each fed small fake ``results.json``
files in the format ``swapnas correlate`` writes (a ρ it could not compute is ``null`` there), its printed figures
checked against naive computations in this file (loops, hand counts, :func:`naive_spearman`)."""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from swapnas.benchmarks.nb201 import GroundTruth
from tests.script_tools import load_script, naive_spearman

#: the ground truth `swapnas correlate` writes for the NB201 dev run (CIFAR-10 validation accuracy, 200 epochs)
DEV_TRUTH = GroundTruth("cifar10").describe()

# ----------------------------------------------------------------------------------------------- helpers


def _write(path: Path, doc: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return str(path)


def _result(proxy: str, spearman: float | None, n: int = 10, failures: int = 0, kendall: float | None = 0.0,
            seconds: float | None = 0.01) -> dict:
    """One entry of results.json's ``results`` (the fields the scripts read)."""
    return {"proxy": proxy, "spearman": spearman, "kendall": kendall, "n": n, "failures": failures,
            "seconds_per_arch": seconds}


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


def _avg_ranks(v: list[float]) -> list[float]:
    """1-based average ranks, ascending (ties share the mean of their ranks), by counting."""
    return [sum(b < a for b in v) + (sum(b == a for b in v) + 1) / 2 for a in v]


def _dense_pair_ranks(first: list[float], second: list[float]) -> list[int]:
    """Dense ranks 1, 2, … of the pairs (first, second) in lexicographic ascending order, by counting."""
    pairs = list(zip(first, second))
    return [len({p for p in pairs if p < q}) + 1 for q in pairs]


# --------------------------------------------------------------------------------------------- rho_table


def test_rho_table_prints_each_runs_rho_a_dash_for_a_missing_cell_and_the_worst_per_row(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = load_script("rho_table", "tdev")
    p1 = _write(tmp_path / "a.json", {"results": [_result("swap_fisher", 0.68840, n=300)]})
    p2 = _write(tmp_path / "b.json", {"results": [_result("swap_fisher", 0.66449, n=725)]})
    p3 = _write(tmp_path / "c.json", {"results": [_result("swap", -0.1, n=10)]})
    # the row may hold '=' (only the column's '=' separates the path); C=16's darts_swap cell was never given
    mod.main([f"C=8, 5 cells|darts_swap={p1}", f"C=8, 5 cells|nb301={p2}", f"C=16|nb301={p3}"])
    assert _lines(capsys) == [
        "Spearman ρ of each run against its ground truth (made by scripts/rho_table.py; dev labels are in-sample)",
        "",
        "| row | darts_swap | nb301 | worst |",
        "|---|---|---|---|",
        "| C=8, 5 cells | 0.688 (swap_fisher, n=300) | 0.664 (swap_fisher, n=725) | 0.664 |",  # min(0.6884, 0.66449)
        "| C=16 | — | -0.100 (swap, n=10) | -0.100 |",
    ]


def test_rho_table_refuses_a_run_of_several_proxies_and_a_spec_without_a_path(tmp_path: Path) -> None:
    mod = load_script("rho_table", "tdev")
    two = _write(tmp_path / "two.json", {"results": [_result("swap", 0.5), _result("meco", 0.4)]})
    with pytest.raises(SystemExit, match=r"expected a run of one proxy, found \['swap', 'meco'\]"):
        mod.main([f"r|c={two}"])
    with pytest.raises(SystemExit, match=r"'r\|c': expected ROW\|COLUMN=results.json"):
        mod.main(["r|c"])


def test_rho_table_shows_a_nan_rho_and_lets_it_be_the_worst_instead_of_crashing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # correlate writes a ρ it could not compute (a constant score, every arch failed) as null; the script used to
    # crash on float(None), and min(1.0, nan) = 1.0 would have hidden it in the worst column
    mod = load_script("rho_table", "tdev")
    good = _write(tmp_path / "good.json", {"results": [_result("swap", 0.7, n=20)]})
    bad = _write(tmp_path / "bad.json", {"results": [_result("swap", None, n=0, failures=20)]})
    mod.main([f"r|x={bad}", f"r|y={good}", f"s|y={good}"])
    assert _lines(capsys)[-2:] == ["| r | nan (swap, n=0) | 0.700 (swap, n=20) | nan |",
                                   "| s | — | 0.700 (swap, n=20) | 0.700 |"]


# -------------------------------------------------------------------------------------------- grid_table


def _grid_run(tmp_path: Path, dataset: str, results: list[dict]) -> str:
    return _write(tmp_path / f"grid_{dataset}.json", {"protocol": {"dataset": dataset}, "results": results})


def test_grid_table_sorts_by_the_last_columns_rho_and_bolds_the_best_rho_per_dataset(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = load_script("grid_table", "tdev")
    a = _grid_run(tmp_path, "cifar10", [_result("a", 0.5, 10, 0, 0.4, 0.0123), _result("b", 0.8, 9, 1, 0.6, 0.2),
                                        _result("c", 0.7, 10, 0, 0.5, 1.5), _result("d", 0.1, 10, 0, 0.05, 0.01)])
    # the second run lists the proxies in another order: cells are matched by name; c ties d on ρ (0.300): the
    # sort is stable, so the first run's order (c before d) stays
    b = _grid_run(tmp_path, "cifar100", [_result("d", 0.3, 10, 0, 0.2, 0.02), _result("c", 0.3, 10, 0, 0.25, 0.5),
                                         _result("a", 0.9, 10, 0, 0.7, 0.0126), _result("b", -0.2, 9, 1, -0.1, 0.25)])
    mod.main([a, b])
    assert _lines(capsys) == [
        "| metric | cifar10 ρ | cifar10 τ | n (fail) | s/arch | cifar100 ρ | cifar100 τ | n (fail) | s/arch |",
        "|---|---|---|---|---|---|---|---|---|",
        "| a | 0.500 | 0.400 | 10 (0) | 0.012 | **0.900** | 0.700 | 10 (0) | 0.013 |",
        "| c | 0.700 | 0.500 | 10 (0) | 1.500 | 0.300 | 0.250 | 10 (0) | 0.500 |",
        "| d | 0.100 | 0.050 | 10 (0) | 0.010 | 0.300 | 0.200 | 10 (0) | 0.020 |",
        "| b | **0.800** | 0.600 | 9 (1) | 0.200 | -0.200 | -0.100 | 9 (1) | 0.250 |",
    ]


def test_grid_table_shows_a_metric_that_failed_everywhere_as_nan_last_and_never_bold(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a metric that fails on every arch has ρ, τ and s/arch null in results.json; the script used to crash on
    # format(None, '.3f'); a NaN ρ must neither be bold (max() keeps a leading NaN) nor scramble the sort
    mod = load_script("grid_table", "tdev")
    failed = _result("zz", None, 0, 10, None, None)
    a = _grid_run(tmp_path, "cifar10", [failed, _result("a", 0.5, 10, 0, 0.4, 0.1),
                                        _result("b", 0.6, 10, 0, 0.5, 0.1)])
    b = _grid_run(tmp_path, "cifar100", [_result("b", 0.2, 10, 0, 0.1, 0.1), failed,
                                         _result("a", 0.3, 10, 0, 0.2, 0.1)])
    mod.main([a, b])
    assert _lines(capsys)[2:] == [
        "| a | 0.500 | 0.400 | 10 (0) | 0.100 | **0.300** | 0.200 | 10 (0) | 0.100 |",
        "| b | **0.600** | 0.500 | 10 (0) | 0.100 | 0.200 | 0.100 | 10 (0) | 0.100 |",
        "| zz | nan | nan | 0 (10) | nan | nan | nan | 0 (10) | nan |",
    ]


def test_grid_table_refuses_a_run_that_lacks_a_proxy_of_the_first(tmp_path: Path) -> None:
    mod = load_script("grid_table", "tdev")
    a = _grid_run(tmp_path, "cifar10", [_result("a", 0.5), _result("b", 0.6), _result("c", 0.1)])
    b = _grid_run(tmp_path, "cifar100", [_result("b", 0.2)])
    with pytest.raises(SystemExit) as exc:  # was a bare KeyError: 'a'
        mod.main([a, b])
    assert str(exc.value) == f"{b} has no results of a, c (scored in {a}): give runs of the same proxies"


# ------------------------------------------------------------------------------------------- lswag_table


def _lswag_run(path: Path, grad: float | None, lswag: float | None, n: tuple[int, int] = (100, 100),
               failed: tuple[int, int] = (0, 0)) -> str:
    return _write(path, {"results": [_result("lswag_grad", grad, n[0], failed[0]),
                                     _result("lswag", lswag, n[1], failed[1])]})


def test_lswag_table_rows_published_figures_and_the_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = load_script("lswag_table", "tdev")
    own1 = _lswag_run(tmp_path / "o1.json", 0.7836, 0.8124, n=(990, 981), failed=(10, 19))  # fewest n, most failures
    best1 = _write(tmp_path / "b1.json", {"results": [_result("swap_nb201", 0.936)]})
    own2 = _lswag_run(tmp_path / "o2.json", 0.7996, 0.7741)
    best2 = _write(tmp_path / "b2.json", {"results": [_result("swap", 0.5), _result("best", 0.773)]})
    own3 = _lswag_run(tmp_path / "o3.json", 0.8949, 0.8951, n=(1000, 1000))
    own4 = _lswag_run(tmp_path / "o4.json", 0.735, 0.734, n=(300, 300))
    best4 = _write(tmp_path / "b4.json", {"results": [_result("swap_fisher", 0.688)]})
    mod.main([f"NB201 CIFAR-10 (dev, R=1)={own1},{best1}",  # a label with '=': only the last '=' splits
              f"TransNAS micro normal={own2},{best2}#best", f"NB201 CIFAR-100={own3}",
              f"darts_swap (dev)={own4},{best4}"])
    # by hand: lswag above best on rows 2 (0.7741 > 0.773) and 4 (0.734 > 0.688) of the 3 with a best run;
    # LIBRA (rows 1-3: 0.89, 0.76, 0.90) reached at two decimals by lswag on row 2 (0.77) and row 3
    # (0.8951 -> 0.90), not row 1 (0.81); by lswag_grad on row 2 only (0.80; row 3's 0.8949 -> 0.89)
    assert _lines(capsys) == [
        "| benchmark | n | failed | ρ lswag_grad (Λ) | ρ lswag (Λ·Ψ) | ρ best | published L-SWAG | LIBRA |",
        "|---|---|---|---|---|---|---|---|",
        "| NB201 CIFAR-10 (dev, R=1) | 981 | 19 | 0.784 | 0.812 | 0.936 | 0.79 | 0.89 |",
        "| TransNAS micro normal | 100 | 0 | 0.800 | 0.774 | 0.773 | 0.75 | 0.76 |",
        "| NB201 CIFAR-100 | 1000 | 0 | 0.895 | 0.895 | — | 0.83 | 0.90 |",
        "| darts_swap (dev) | 300 | 0 | 0.735 | 0.734 | 0.688 | — | — |",
        "",
        "lswag above best on 2 of 3 rows with a best run; at or above LIBRA on 2 of 3 (lswag_grad: 1)",
    ]


def test_lswag_table_refuses_bad_arguments_with_their_messages(tmp_path: Path) -> None:
    mod = load_script("lswag_table", "tdev")
    own = _lswag_run(tmp_path / "own.json", 0.5, 0.6)
    two = _write(tmp_path / "two.json", {"results": [_result("swap", 0.5), _result("best", 0.7)]})
    only = _write(tmp_path / "only.json", {"results": [_result("lswag", 0.6)]})
    with pytest.raises(SystemExit, match=r"two.json: several proxies \['best', 'swap'\]; name one as .*two.json#PROXY"):
        mod.main([f"NB101={own},{two}"])
    with pytest.raises(SystemExit, match=r"only.json: expected a run of \['lswag', 'lswag_grad'\], found \['lswag'\]"):
        mod.main([f"NB101={only}"])
    with pytest.raises(SystemExit, match=r"'NB101': expected LABEL=LSWAG_RUN\[,BEST_RUN\[#PROXY\]\]"):
        mod.main(["NB101"])
    with pytest.raises(SystemExit) as exc:
        mod.main([])
    assert exc.value.code == mod.__doc__


def test_lswag_table_shows_a_nan_rho_and_counts_it_nowhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a run whose lswag failed on every arch stores ρ null: the script used to crash on float(None)
    mod = load_script("lswag_table", "tdev")
    own = _lswag_run(tmp_path / "own.json", 0.95, None, n=(100, 0), failed=(0, 100))
    best = _write(tmp_path / "best.json", {"results": [_result("best", 0.1)]})
    mod.main([f"NB201 CIFAR-10={own},{best}"])
    assert _lines(capsys)[2:] == ["| NB201 CIFAR-10 | 0 | 100 | 0.950 | nan | 0.100 | 0.79 | 0.89 |", "",
                                  "lswag above best on 0 of 1 rows with a best run; at or above LIBRA on 0 of 1 "
                                  "(lswag_grad: 1)"]


# ------------------------------------------------------------------------------------ darts_dev_conflict

#: the sets' accuracies: nb301's 12 distinct values 91.0 + 0.3 k (k = 0..11, shuffled; 12 archs, so no ρ falls
#: exactly on a floor of part 4), darts_swap's 9 values with ties (three at its median, 75)
NB301_ACC = [91.0 + 0.3 * k for k in (5, 0, 11, 3, 8, 1, 10, 6, 2, 9, 4, 7)]
DARTS_ACC = [75.0, 70.0, 81.0, 72.0, 75.0, 78.0, 72.0, 80.0, 75.0]
A_NAMES = ("swap", "az_nas_progressivity", "az_nas_expressivity", "meco", "params")


def _darts_runs(root: Path) -> dict[str, tuple[list[float], dict[str, list[float]]]]:
    """The four dev runs darts_dev_conflict.py reads, under ``root``; returns {set: (accuracy, {feature: raw})}."""
    rng = np.random.default_rng(17)  # weak nb301 signal: part 4 reaches some floors, not 0.60
    out = {}
    for name, acc, sign in (("nb301", NB301_ACC, 0.2), ("darts_swap", DARTS_ACC, -0.5)):
        n = len(acc)
        z = (np.array(acc) - np.mean(acc)) / np.std(acc)
        raw = {f"{k}_A": np.exp(0.2 * z + rng.normal(size=n)).tolist() for k in A_NAMES}
        raw["az_nas_progressivity_A"] = (0.2 * z + rng.normal(size=n) - 1.0).tolist()  # linear, partly negative
        raw |= {f"{k}_B": np.exp(sign * z + 0.7 * rng.normal(size=n)).tolist() for k in ("swap", "params")}
        archs = [f"arch{i}" for i in range(n)]
        _write(root / f"dev_{name}_C_8_layers_5_default" / "results.json",
               {"archs": archs, "accuracy": acc, "scores": {k: raw[f"{k}_A"] for k in A_NAMES}})
        _write(root / f"dev_{name}_cellnormal" / "results.json",
               {"archs": archs, "accuracy": acc, "scores": {k: raw[f"{k}_B"] for k in ("swap", "params")}})
        out[name] = (acc, raw)
    return out


def _darts_main(root: Path, draws: int, monkeypatch: pytest.MonkeyPatch) -> str:
    mod = load_script("darts_dev_conflict", "tdev")
    monkeypatch.setattr(sys, "argv", ["darts_dev_conflict.py", "--runs", str(root), "--out", str(root / "out.md"),
                                      "--draws", str(draws)])
    mod.main()
    return (root / "out.md").read_text()


def test_darts_dev_conflict_parts_1_to_3_against_hand_counts_and_naive_rho(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = _darts_runs(tmp_path)
    text = _darts_main(tmp_path, 1, monkeypatch)
    assert capsys.readouterr().out == text + "\n"  # printed as written
    # the features as the script reads them: progressivity as is (it is partly negative), every other one's log
    t = {s: {k: v if k.startswith("az_nas_progressivity") else [math.log(x) for x in v] for k, v in raw.items()}
         for s, (_, raw) in data.items()}
    names = sorted(t["nb301"])
    assert names == ["az_nas_expressivity_A", "az_nas_progressivity_A", "meco_A", "params_A", "params_B", "swap_A",
                     "swap_B"]
    want = ["## 1. Accuracy range", "", "| dev set | n | min | 10 % | median | 90 % | max |",
            "|---|---|---|---|---|---|---|",
            # nb301: the k-th smallest is 91 + 0.3 k, percentile p sits at k = 11 p / 100 (1.1, 5.5, 9.9)
            "| nb301 | 12 | 91.00 | 91.33 | 92.65 | 93.97 | 94.30 |",
            # darts_swap sorted 70 72 72 75 75 75 78 80 81: p at 8 p / 100 (0.8 -> 70 + 0.8 * 2, 7.2 -> 80 + 0.2)
            "| darts_swap | 9 | 70.00 | 71.60 | 75.00 | 80.20 | 81.00 |",
            "", "## 2. ρ inside the top of each set (the part a search sees)", "",
            "| dev set | archs kept | " + " | ".join(names) + " |", "|---|---|" + "---|" * 7]
    # the cut at percentile q, by hand: nb301's 50 % at k = 5.5 (92.65), 75 % at k = 8.25 (93.475); darts_swap's at
    # 75 (all three tied archs kept: 6 of 9) and 78
    cuts = {"nb301": {0: 91.0, 50: 92.65, 75: 93.475}, "darts_swap": {0: 70.0, 50: 75.0, 75: 78.0}}
    kept_counts = {"nb301": (12, 6, 3), "darts_swap": (9, 6, 3)}
    for s in ("nb301", "darts_swap"):
        acc = data[s][0]
        for q, count in zip((0, 50, 75), kept_counts[s]):
            keep = [i for i, a in enumerate(acc) if a >= cuts[s][q]]
            assert len(keep) == count
            rhos = [naive_spearman([t[s][n][i] for i in keep], [acc[i] for i in keep]) for n in names]
            want.append(f"| {s} | top {100 - q} % ({count}) | " + " | ".join(f"{r:.3f}" for r in rhos) + " |")
    want += ["", "## 3. Trade-off: ln Ψ_A + ln expressivity_A + w · ln Ψ_B", "",
             "| w | nb301 ρ | darts_swap ρ | worst |", "|---|---|---|---|"]
    for w in (0, 0.25, 0.5, 1, 2, 4):
        r = [naive_spearman([a + b + w * c for a, b, c in zip(t[s]["swap_A"], t[s]["az_nas_expressivity_A"],
                                                                t[s]["swap_B"])], data[s][0])
             for s in ("nb301", "darts_swap")]
        want.append(f"| {w} | {r[0]:.3f} | {r[1]:.3f} | {min(r):.3f} |")
    lines = text.splitlines()
    start = lines.index("## 1. Accuracy range")
    assert lines[start:start + len(want)] == want


def test_darts_dev_conflict_random_search_gives_the_best_darts_swap_rho_per_nb301_floor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = _darts_runs(tmp_path)
    draws = 60
    text = _darts_main(tmp_path, draws, monkeypatch)
    t = {s: {k: v if k.startswith("az_nas_progressivity") else [math.log(x) for x in v] for k, v in raw.items()}
         for s, (_, raw) in data.items()}
    names = sorted(t["nb301"])
    # every feature standardised by its nb301 mean and (population) std, on both sets
    mean = {n: sum(t["nb301"][n]) / len(t["nb301"][n]) for n in names}
    std = {n: math.sqrt(sum((x - mean[n]) ** 2 for x in t["nb301"][n]) / len(t["nb301"][n])) for n in names}
    z = {s: {n: [(x - mean[n]) / std[n] for x in t[s][n]] for n in names} for s in t}
    rng = np.random.default_rng(0)  # the docstring's seeded draws: normal weights, each kept with probability 1/2
    floors = (0.40, 0.45, 0.50, 0.55, 0.60)
    best: dict[float, float] = {}
    for _ in range(draws):
        w = rng.normal(size=len(names)) * (rng.random(len(names)) < 0.5)
        if not any(w):
            continue
        r = [naive_spearman([sum(wi * z[s][n][i] for wi, n in zip(w, names)) for i in range(len(data[s][0]))],
                            data[s][0]) for s in ("nb301", "darts_swap")]
        for f in floors:
            if r[0] >= f and r[1] > best.get(f, -1.0):
                best[f] = r[1]
    want = [f"| {f:.2f} | {best[f]:.3f} |" if f in best else f"| {f:.2f} | none reached the floor |" for f in floors]
    assert text.splitlines()[-5:] == want
    assert f"## 4. Random search over weights of all 7 components ({draws} draws, seed 0" in text
    # these data reach the low floors with two different bests and not the highest one
    assert len({best[f] for f in best}) == 2 and 0.60 not in best and 0.40 in best


def test_darts_dev_conflict_refuses_runs_of_different_archs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _darts_runs(tmp_path)
    path = tmp_path / "dev_darts_swap_cellnormal" / "results.json"
    doc = json.loads(path.read_text())
    doc["archs"] = doc["archs"][::-1]
    path.write_text(json.dumps(doc))
    with pytest.raises(SystemExit, match="darts_swap: the two runs hold different archs; rerun both with --archs all"):
        _darts_main(tmp_path, 1, monkeypatch)


# ------------------------------------------------------------------------------------- meco_full_net_dev

MECO_BASES = ("swap", "az_nas_progressivity", "meco", "az_nas_trainability", "fisher", "l2_norm")


def _meco_runs(root: Path, n: int = 40) -> tuple[str, str, list[float], dict[str, list[float]], list[float]]:
    """A fitness run with swap_nb201's six bases and a full-network meco_all run on the same archs (fake values:
    each a noisy function of the accuracy); returns both paths, the accuracy, the bases and meco_all."""
    rng = np.random.default_rng(3)
    acc = (90 + rng.normal(size=n)).tolist()
    z = (np.array(acc) - 90)
    bases = {k: np.exp(0.3 * z + rng.normal(size=n)).tolist() for k in MECO_BASES}
    bases["az_nas_progressivity"] = (0.2 * z + rng.normal(size=n)).tolist()  # linear terms: may be negative
    bases["az_nas_trainability"] = (-6e5 * (rng.random(n) < 0.2) + rng.normal(size=n)).tolist()
    meco_all = np.exp(0.3 * z + rng.normal(size=n)).tolist()
    archs, dev = [f"arch{i}" for i in range(n)], {"space": "nb201", "dataset": "cifar10", "seed": 0}
    a = _write(root / "fit" / "results.json", {"protocol": {**dev, "net": {"C": 16, "N": 1}},
                                                "ground_truth": DEV_TRUTH, "archs": archs, "accuracy": acc,
                                                "scores": bases})
    b = _write(root / "full" / "results.json", {"protocol": {**dev, "net": {"C": 16, "N": 5}},
                                                 "ground_truth": DEV_TRUTH, "archs": archs, "accuracy": acc,
                                                 "scores": {"meco_all": meco_all}})
    return a, b, acc, bases, meco_all


def _meco_main(monkeypatch: pytest.MonkeyPatch, a: str, b: str, out: Path, seeds: int, draws: int,
               hand_worked: bool = False) -> list[str]:
    """The script's main on runs ``a`` and ``b``; returns the paths its dev check read. ``hand_worked``: runs of a
    few archs, whose figures loops here can follow (the halves, the 8-arch subsets), meet the script's own check_dev
    with only its 1000 archs waived (space, dataset, seed 0 and the dev ground truth still apply); every other test
    gives it the dev sample's 1000 archs and the check as it is."""
    mod = load_script("meco_full_net_dev", "tdev")
    checked: list[str] = []
    real = mod.check_dev

    def check_dev(doc: dict, path: str) -> None:
        checked.append(path)
        real(doc | {"archs": [None] * 1000} if hand_worked else doc, path)

    monkeypatch.setattr(mod, "check_dev", check_dev)
    monkeypatch.setattr(sys, "argv", ["meco_full_net_dev.py", a, b, "--out", str(out), "--seeds", str(seeds),
                                      "--draws", str(draws)])
    mod.main()
    return checked


def _swap_nb201(bases: dict[str, list[float]]) -> list[float]:
    """swap_nb201 per arch as the registered proxy computes it from its bases (src/swapnas/proxies/best.py)."""
    from swapnas.proxies import get_proxy

    p = get_proxy("swap_nb201")
    assert p.base_names == MECO_BASES
    n = len(bases["swap"])
    return [p.fn(tuple(bases[k][i] for k in MECO_BASES), None, **p.options) for i in range(n)]


WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


def test_meco_full_net_dev_rho_per_weight_and_the_weight_chosen_on_random_halves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, acc, bases, meco_all = _meco_runs(tmp_path)
    assert _meco_main(monkeypatch, a, b, tmp_path / "out.md", seeds=3, draws=1, hand_worked=True) == [a, b]
    printed = capsys.readouterr().out
    assert (tmp_path / "out.md").read_text() == printed
    base = _swap_nb201(bases)  # w = 0 is swap_nb201's own ρ
    term = [math.log(v) for v in meco_all]

    def rho(w: float, idx: list[int]) -> float:
        return naive_spearman([base[i] + w * term[i] for i in idx], [acc[i] for i in idx])

    everything = list(range(len(acc)))
    want = ["| w | ρ of swap_nb201 + w · ln meco_all (full net) |", "|---|---|"]
    want += [f"| {w:g} | {rho(w, everything):.4f} |" for w in WEIGHTS]
    want += ["", "Weight chosen on one random half, read on the other:", "",
             "| seed | half | w | held-out ρ | swap_nb201 there |", "|---|---|---|---|---|"]
    wins, chosen = 0, set()
    for seed in range(3):
        idx = list(range(len(acc)))
        random.Random(seed).shuffle(idx)
        first, second = idx[:20], idx[20:]
        for half, (x, y) in zip("AB", ((first, second), (second, first))):
            w = max(WEIGHTS, key=lambda v: rho(v, x))  # the first of equal ρ
            new, old = rho(w, y), rho(0.0, y)
            wins, chosen = wins + (new > old), chosen | {w}
            want.append(f"| {seed} | {half} | {w:g} | {new:.4f} | {old:.4f} |")
    want += ["", f"held out, the term wins on {wins} of 6 halves", ""]
    lines = printed.splitlines()
    assert lines[0].startswith(f"Runs: `{a}` (swap_nb201's bases, {{'C': 16, 'N': 1}}), `{b}` (meco_all, "
                               f"{{'C': 16, 'N': 5}}); ground truth: {DEV_TRUTH}.")
    assert lines[2:2 + len(want)] == want
    assert len(chosen) > 1 and 0 < wins < 6  # these data choose several weights, and the term wins some halves


def test_meco_full_net_dev_simulated_searches_against_a_loop_over_the_same_subsets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, acc, bases, meco_all = _meco_runs(tmp_path)
    draws = 40
    assert _meco_main(monkeypatch, a, b, tmp_path / "out.md", seeds=0, draws=draws, hand_worked=True) == [a, b]
    lines = capsys.readouterr().out.splitlines()
    base = _swap_nb201(bases)
    term = [math.log(v) for v in meco_all]
    budget = 8  # 20 % of 40 archs

    def search(f2: list[float], k: int) -> float:
        """Mean accuracy of the pick over the draws of scripts/choose_stage2_net.py (seed 0, 20 % subsets): the K
        fittest of each subset by swap_nb201 (the subset's order among equals), then the best of them by f2."""
        rng = np.random.default_rng(0)
        total = 0.0
        for _ in range(draws):
            sub = [int(i) for i in rng.choice(len(acc), budget, replace=False)]
            short = sorted(sub, key=lambda i: -base[i])[:k]  # sorted() is stable
            total += acc[max(short, key=lambda i: f2[i])] if k > 1 else acc[short[0]]
        return total / draws

    want = [f"Simulated searches ({draws} random 20 % subsets, the draws of scripts/choose_stage2_net.py), stage 1 "
            f"swap_nb201, K = 1 (no second stage): {search(base, 1):.3f}. Mean dev accuracy of the pick:", "",
            "| second stage | K=3 | K=5 | K=10 | K=20 |", "|---|---|---|---|---|"]
    stages = [(f"swap_nb201 + {w:g} · ln meco_all (full net)", [x + w * y for x, y in zip(base, term)])
              for w in WEIGHTS[1:]] + [("ln meco_all (full net) alone", term)]
    for label, f2 in stages:
        want.append(f"| {label} | " + " | ".join(f"{search(f2, k):.3f}" for k in (3, 5, 10, 20)) + " |")
    assert lines[-len(want):] == want
    # K=10 and K=20 both re-rank the whole 8-arch subset: the oracle's pick would be the subset's best
    assert want[-1].split(" | ")[3] == want[-1].split(" | ")[4].rstrip(" |")


@pytest.mark.parametrize("change", ["archs", "dataset", "ground_truth", "another_dev_text"])
def test_meco_full_net_dev_refuses_runs_that_do_not_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          change: str) -> None:
    """Two dev runs must match each other (archs, ground truth text); a run off the dev set (here CIFAR-100, or test
    accuracy) is refused by the dev check first (session 65)."""
    a, b, *_ = _meco_runs(tmp_path, n=1000)
    path = b if change != "dataset" else a
    doc = json.loads(Path(path).read_text())
    if change == "archs":
        doc["archs"][0] = "another"
    elif change == "dataset":
        doc["protocol"]["dataset"] = "cifar100"
    elif change == "ground_truth":
        doc["ground_truth"] = "NB201 test accuracy (%)"
    else:  # still a dev ground truth, but not the first run's
        doc["ground_truth"] = DEV_TRUTH + " (another text)"
    Path(path).write_text(json.dumps(doc))
    not_dev = f"{path} is not a dev run (docs/protocol.md, label hygiene): it needs "
    want = {"dataset": not_dev + "dataset cifar10",
            "ground_truth": not_dev + "ground truth 'NB201 valid accuracy (%), 200 epochs,'…"}.get(
        change, "the two runs must hold the same archs and the same (dev) ground truth")
    with pytest.raises(SystemExit) as exc:
        _meco_main(monkeypatch, a, b, tmp_path / "out.md", seeds=1, draws=1)
    assert str(exc.value) == want
    assert not (tmp_path / "out.md").exists()


def test_meco_full_net_dev_refuses_a_score_without_a_finite_value(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # session 49: a failed base made every ρ nan and each half's weight silently max()'s first, 0
    a, b, *_ = _meco_runs(tmp_path, n=1000)
    for path, key, index in ((a, "fisher", 2), (b, "meco_all", 5), (b, "meco_all", 6)):
        doc = json.loads(Path(path).read_text())
        doc["scores"][key][index] = None if index != 6 else 0.0
        Path(path).write_text(json.dumps(doc))
    with pytest.raises(SystemExit) as exc:
        _meco_main(monkeypatch, a, b, tmp_path / "out.md", seeds=1, draws=1)
    assert str(exc.value) == ("no finite value of swap_nb201 on 1 archs and ln meco_all on 2 archs (a failed or "
                              "non-positive score): rescore them")
    assert not (tmp_path / "out.md").exists()


# ------------------------------------------------------------------------------------- sensitivity_stats

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
#: node 1 = conv(node 0), node 2 = 0, node 3 = skip(node 0): the cell's output IS its input tensor
PASS_THROUGH = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"


@pytest.mark.parametrize("arch, cells, want", [
    # no ReLU in a cell; the reductions' ReLU-Conv-BN pairs see C·32² then 2C·16², and 2C·16² then 4C·8²; the
    # head's ReLU 4C·8²: (1024 + 512 + 512 + 256 + 256) C = 2560 C
    (ALL_NONE, 1, 2560 * 2), (ALL_NONE, 2, 2560 * 2),
    # nodes 0, 1, 2 each feed conv edges: 3 ReLU inputs per cell of C_s·H_s·W_s = 1024 C, 512 C, 256 C per stage
    (ALL_CONV, 1, 3 * 1792 * 2 + 2560 * 2), (ALL_CONV, 2, 2 * 3 * 1792 * 2 + 2560 * 2),
    # one ReLU per stage on the stage's input; every later cell's ReLU and the next reduction's first ReLU take that
    # same unchanged tensor again and are counted once: 1024 C + 512 C (conv_b) + 512 C + 256 C + 256 C + 256 C
    (PASS_THROUGH, 1, 2816 * 2), (PASS_THROUGH, 3, 2816 * 2),
], ids=["none-N1", "none-N2", "conv-N1", "conv-N2", "pass_through-N1", "pass_through-N3"])
def test_sensitivity_stats_neurons_per_sample_is_a_hand_count(arch: str, cells: int, want: int) -> None:
    mod = load_script("sensitivity_stats", "tdev")
    assert mod.neurons_per_sample(arch, 2, cells) == want


def _sens_run(path: Path, space: str, swap: list[float | None] | None, archs: list[str], s: int = 16,
              net: dict | None = None, dataset: str = "cifar10") -> Path:
    protocol = {"space": space, "batch_size": s, "dataset": dataset} | ({"net": net} if net is not None else {})
    scores = {"meco": [1.0] * len(archs)} | ({"swap": swap} if swap is not None else {})
    _write(path, {"protocol": protocol, "archs": archs, "scores": scores})
    return path


def test_sensitivity_stats_rows_median_share_at_the_ceiling_and_neuron_range(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    mod = load_script("sensitivity_stats", "tdev")
    archs = [ALL_CONV, ALL_NONE, PASS_THROUGH, ALL_NONE, ALL_CONV]
    # S = 16: the ceiling 65,536, 1 % below it 64,880.64; the failed arch (None) is left out of Ψ's figures but its
    # network still counts; the median of 4 values is the mean of the middle two: (24,204 + 65,000) / 2 = 44,602
    one = _sens_run(tmp_path / "c10_C2_N1_S16" / "results.json", "nb201", [65536.0, 24204.0, None, 1000.4, 65000.0],
                    archs, net={"C": 2, "N": 1})
    # a run whose protocol has no net: the benchmark's network (C=16, N=5); 2560 · 16 for the all-none cell
    two = _sens_run(tmp_path / "old" / "results.json", "nb201", [255.0, 251.0], [ALL_NONE, ALL_NONE], s=8)
    monkeypatch.setattr(sys, "argv", ["sensitivity_stats.py", str(one), str(two)])
    mod.main()
    assert _lines(capsys) == [
        "| S | C | N | archs | median Ψ | 2**S | within 1 % of 2**S | hooked neurons per sample (min–max) | run |",
        "|---|---|---|---|---|---|---|---|---|",
        "| 16 | 2 | 1 | 4 | 44,602 | 65,536 | 50.0% | 5,120–15,872 | `c10_C2_N1_S16` |",  # 65,536 and 65,000 of 4
        "| 8 | 16 | 5 | 2 | 253 | 256 | 50.0% | 40,960–40,960 | `old` |",  # 0.99 · 256 = 253.44: 255 is near, 251 not
    ]


def test_sensitivity_stats_counts_at_the_runs_dataset_resolution(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # session 49: an ImageNet16-120 run was counted on 32 px samples; at 16 px every map has a quarter of the
    # positions: the all-none cell's 2560 C becomes 640 C (1,280 at C = 2), the all-conv cell's (3 · 1792 N + 2560) C
    # becomes (3 · 448 N + 640) C (3,968 at C = 2, N = 1)
    mod = load_script("sensitivity_stats", "tdev")
    run = _sens_run(tmp_path / "in16" / "results.json", "nb201", [1.0, 2.0], [ALL_NONE, ALL_CONV], s=8,
                    net={"C": 2, "N": 1}, dataset="imagenet16-120")
    monkeypatch.setattr(sys, "argv", ["sensitivity_stats.py", str(run)])
    mod.main()
    assert _lines(capsys)[2] == "| 8 | 2 | 1 | 2 | 2 | 256 | 0.0% | 1,280–3,968 | `in16` |"


@pytest.mark.parametrize("space, swap, got", [("darts", [1.0], "got space 'darts', columns ['meco', 'swap']"),
                                              ("nb201", None, "got space 'nb201', columns ['meco']")])
def test_sensitivity_stats_refuses_a_run_it_cannot_read(tmp_path: Path, space: str, swap: list | None,
                                                        got: str) -> None:
    mod = load_script("sensitivity_stats", "tdev")
    path = _sens_run(tmp_path / "r" / "results.json", space, swap, [ALL_NONE])
    with pytest.raises(SystemExit) as exc:
        mod.run_row(path)
    assert exc.value.code == f"{path}: needs an nb201 run with a swap column ({got})"


# ---------------------------------------------------------------------------------------- l2_norm_naslib


def test_l2_norm_naslib_both_norms_by_hand() -> None:
    mod = load_script("l2_norm_naslib", "tdev")
    model = nn.Sequential(nn.Conv2d(1, 2, 1, bias=True), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([3.0, 4.0]).view(2, 1, 1, 1))  # ‖·‖ 5
        model[0].bias.copy_(torch.tensor([6.0, 8.0]))  # 10
        model[1].weight.copy_(torch.tensor([0.0, 2.0]))  # 2 (BatchNorm γ; β stays 0)
        model[3].weight.copy_(torch.tensor([[5.0, 12.0]]))  # 13
        model[3].bias.copy_(torch.tensor([-7.0]))  # 7
    # ours: every tensor, 5 + 10 + 2 + 0 + 13 + 7; NASLib's: the Conv/Linear weights, 5 + 13
    assert mod.both_norms(model) == (37.0, 18.0)


NB201_ARCHS = [ALL_CONV, ALL_NONE, PASS_THROUGH,
               "|nor_conv_1x1~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|",
               "|skip_connect~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|",
               "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|", ALL_NONE]


def test_l2_norm_naslib_prints_rho_over_the_archs_with_a_stored_value(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from swapnas.spaces import nb201

    mod = load_script("l2_norm_naslib", "tdev")
    stored = np.array([231.3, 78.7, 180.6, np.nan, 120.0, 150.0, 1.0])  # NASLib's l2_norm, one missing
    acc = np.array([88.0, 10.0, 80.0, 85.0, 86.5, 84.0, 99.0])
    ref = SimpleNamespace(archs=NB201_ARCHS, scores={"l2_norm": stored}, accuracy=acc)
    monkeypatch.setattr(mod, "load_naslib", lambda space, dataset, data_dir: ref)
    mod.main("unused", 6)  # the first 6 archs: the last (ALL_NONE again, stored 1.0, acc 99) is not read
    ours, weights = [], []
    for i, arch in enumerate(NB201_ARCHS[:6]):
        torch.manual_seed(i)
        net = nb201.build(arch, C=16, N=5, num_classes=10)
        # √(Σ x²) per tensor in float64 by numpy, then summed: every tensor, and the Conv/Linear weights only
        ours.append(sum(math.sqrt(np.square(p.detach().double().numpy()).sum()) for p in net.parameters()))
        weights.append(sum(math.sqrt(np.square(m.weight.detach().double().numpy()).sum())
                           for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))))
    keep = [0, 1, 2, 4, 5]

    def rho(a: list[float], b: list[float]) -> str:
        return f"{naive_spearman([a[i] for i in keep], [b[i] for i in keep]):.3f}"

    s, c = stored.tolist(), acc.tolist()
    assert len({rho(ours, weights), rho(ours, s), rho(ours, c)}) == 3  # three different figures
    assert _lines(capsys) == [
        f"6 archs (5 with a NASLib l2_norm): rho(ours, weights only) = {rho(ours, weights)}; rho with NASLib's stored "
        f"l2_norm: ours {rho(ours, s)}, weights only {rho(weights, s)}; rho with accuracy: ours {rho(ours, c)}, "
        f"weights only {rho(weights, c)}"]


def test_l2_norm_naslib_reads_the_stored_naslib_file(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from swapnas.conformance import load_naslib

    mod = load_script("l2_norm_naslib", "tdev")
    mod.main(str(data_dir), 6)
    ref = load_naslib("nb201", "cifar10", str(data_dir))
    stored, acc = ref.scores["l2_norm"][:6].tolist(), ref.accuracy[:6].tolist()
    ours = []
    for i, arch in enumerate(ref.archs[:6]):
        torch.manual_seed(i)
        ours.append(sum(math.sqrt(np.square(p.detach().double().numpy()).sum())
                        for p in mod.nb201.build(arch, C=16, N=5, num_classes=10).parameters()))
    (line,) = _lines(capsys)
    assert line.startswith("6 archs (6 with a NASLib l2_norm): rho(ours, weights only) = ")
    assert (f"rho with NASLib's stored l2_norm: ours {naive_spearman(ours, stored):.3f}, " in line
            and f"rho with accuracy: ours {naive_spearman(ours, acc):.3f}, " in line)


# ------------------------------------------------------------------------------------ vkdnw_kaiming_side


def test_vkdnw_kaiming_init_draws_fan_in_normal_weights_in_module_order() -> None:
    mod = load_script("vkdnw_kaiming_side", "tdev")
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=True), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1, bias=False),
                          nn.BatchNorm2d(2, affine=False), nn.Flatten(), nn.Linear(5, 3))
    with torch.no_grad():
        model[1].weight.fill_(0.3)
        model[1].bias.fill_(0.2)
        model[1].running_mean.fill_(0.5)
    mod.kaiming_init(model, torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)  # one stream, in module order; std √(2 / fan_in), fan_in by hand
    for layer, shape, fan_in in ((0, (4, 3, 3, 3), 27), (2, (2, 4, 1, 1), 4), (5, (3, 5), 5)):
        want = torch.randn(shape, generator=g) * math.sqrt(2.0 / fan_in)
        assert torch.allclose(model[layer].weight, want, rtol=1e-6, atol=0)
    assert torch.equal(model[0].bias, torch.zeros(4)) and torch.equal(model[5].bias, torch.zeros(3))
    assert torch.equal(model[1].weight, torch.ones(4)) and torch.equal(model[1].bias, torch.zeros(4))
    assert torch.equal(model[1].running_mean, torch.full((4,), 0.5))  # running statistics are not the init's
    assert model[3].weight is None  # a BatchNorm without affine parameters is left alone


VK_ARCHS = [ALL_CONV, PASS_THROUGH, NB201_ARCHS[3], NB201_ARCHS[4], NB201_ARCHS[5]]


def _vkdnw_run(tmp_path: Path, small_bundle: Path, run_vkdnw: list[float | None]) -> tuple[Path, dict]:
    """A vkdnw conformance run on VK_ARCHS (NB201, C=2, N=1, S=4: small enough to re-score in a second); its
    scores are made up, the protocol and batch are real (the script rebuilds the batch from the bundle)."""
    from swapnas.session import configure

    protocol = configure("nb201", "cifar10", "vkdnw", batch_size=4, repeats=1, net={"C": 2, "N": 1}, init="default",
                         data_dir=str(small_bundle))[0].describe()
    doc = {"protocol": protocol, "archs": VK_ARCHS, "accuracy": [91.0, 60.0, 85.0, 88.0, 89.5],
           "scores": {"vkdnw": run_vkdnw, "vkdnw_layers": [17.0, 9.0, 13.0, 17.0, 15.0],
                      "flops": [3.0, 1.0, 2.0, 2.5, 2.2], "jacob_cov": [-50.0, None, -60.0, -55.0, -40.0],
                      "az_nas_expressivity": [10.0, 4.0, 8.0, 9.0, 7.0],
                      "az_nas_trainability": [1.0, 3.0, 2.0, 0.5, 0.7]}}
    return Path(_write(tmp_path / "run" / "results.json", doc)), doc


@pytest.fixture(scope="module")
def kaiming_vkdnw(small_bundle: Path) -> list[float]:
    """vkdnw of each of VK_ARCHS' networks after the authors' init, by hand: each Conv/Linear weight N(0, 2 / fan_in)
    from a generator seeded per arch as the run's build seed, biases 0, BatchNorm γ = 1, β = 0 (computed once)."""
    from swapnas.data import load_batch
    from swapnas.proxies import get_proxy
    from swapnas.scoring import arch_seed
    from swapnas.spaces import nb201

    batch, vkdnw, out = load_batch("cifar10", 4, seed=0, data_dir=str(small_bundle)), get_proxy("vkdnw"), []
    for arch in VK_ARCHS:
        net, g = nb201.build(arch, C=2, N=1, num_classes=10), torch.Generator().manual_seed(arch_seed(0, "nb201", arch))
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2.0 / m.weight[0].numel()))
                    if m.bias is not None:  # the classifier's (the build drew it from the global RNG)
                        m.bias.zero_()
                elif isinstance(m, nn.BatchNorm2d):
                    m.weight.fill_(1.0)
                    m.bias.zero_()
        out.append(float(vkdnw.fn(net, batch, **vkdnw.options)))
    return out


def _vkdnw_rows(doc: dict, values: list[float | None]) -> tuple[float, float, float, int]:
    """(vkdnw ρ, vkdnw_single ρ, vkdnw_agg ρ, n) by hand, over the archs whose parts all have a value (a failed
    jacob_cov counts as its lowest value over the set; every part is higher-is-better)."""
    acc, s = doc["accuracy"], doc["scores"]
    jacov = [min(v for v in s["jacob_cov"] if v is not None) if v is None else v for v in s["jacob_cov"]]
    ok = [i for i, v in enumerate(values) if v is not None]
    layers, vk = [s["vkdnw_layers"][i] for i in ok], [values[i] for i in ok]
    single = _dense_pair_ranks(layers, vk)
    n = len(ok)
    agg = [math.log(r / n) for r in single]
    for part in (s["flops"], jacov, s["az_nas_expressivity"], s["az_nas_trainability"]):
        agg = [a + math.log(r / n) for a, r in zip(agg, _avg_ranks([part[i] for i in ok]))]
    kept = [acc[i] for i in ok]
    return naive_spearman(vk, kept), naive_spearman(single, kept), naive_spearman(agg, kept), n


def _vkdnw_check(tmp_path: Path, small_bundle: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str], run_vkdnw: list[float | None], kaiming: list[float]) -> None:
    mod = load_script("vkdnw_kaiming_side", "tdev")
    path, doc = _vkdnw_run(tmp_path, small_bundle, run_vkdnw)
    monkeypatch.setattr(sys, "argv", ["vkdnw_kaiming_side.py", str(path), "--data-dir", str(small_bundle)])
    mod.main()
    assert len(set(kaiming)) == 5  # five different values to rank
    lines = _lines(capsys)
    want = ["| init | vkdnw ρ | vkdnw_single ρ | vkdnw_agg ρ (n) |", "|---|---|---|---|"]
    for label, values in (("PyTorch default init (the run)", run_vkdnw), ("Kaiming-normal (authors)", kaiming)):
        v, single, agg, n = _vkdnw_rows(doc, values)
        want.append(f"| {label} | {v:.3f} | {single:.3f} | {agg:.3f} ({n}) |")
    both = [i for i, v in enumerate(run_vkdnw) if v is not None]
    rho = naive_spearman([run_vkdnw[i] for i in both], [kaiming[i] for i in both])
    assert lines[:4] == want
    assert lines[4].startswith(f"per-arch VKDNW, default vs Kaiming init: ρ = {rho:.3f}; 5 archs in ")


def test_vkdnw_kaiming_side_table_against_hand_ranks(
        tmp_path: Path, small_bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        kaiming_vkdnw: list[float]) -> None:
    # the run's vkdnw ties on arch 0 and 3 (both 17 layers): the single rank is dense over (layers, vkdnw) pairs
    _vkdnw_check(tmp_path, small_bundle, monkeypatch, capsys, [0.5, 0.1, 0.3, 0.5, 0.2], kaiming_vkdnw)


def test_vkdnw_kaiming_side_leaves_out_an_arch_whose_vkdnw_failed_in_the_run(
        tmp_path: Path, small_bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        kaiming_vkdnw: list[float]) -> None:
    # results.json holds a failed score as null: the script used to pass the None to scipy (TypeError); the run's row
    # is now over the 4 archs with a value, as correlate's ρ is; the Kaiming row keeps all 5
    _vkdnw_check(tmp_path, small_bundle, monkeypatch, capsys, [0.5, 0.1, None, 0.4, 0.2], kaiming_vkdnw)


def test_darts_dev_conflict_refuses_a_feature_without_a_finite_value_on_every_arch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # session 49: a failed score (null) made every ρ it entered nan and part 4 print "none reached the floor" for
    # every floor, silently
    _darts_runs(tmp_path)
    path = tmp_path / "dev_nb301_C_8_layers_5_default" / "results.json"
    doc = json.loads(path.read_text())
    doc["scores"]["meco"][3] = None
    doc["scores"]["params"][0] = 0.0  # ln 0 = -inf
    path.write_text(json.dumps(doc))
    with pytest.raises(SystemExit) as exc:
        _darts_main(tmp_path, 1, monkeypatch)
    assert str(exc.value) == ("no finite value on some archs: nb301 meco_A (1 archs), nb301 params_A (1 archs); "
                              "rescore them (or leave those archs out of both runs)")
