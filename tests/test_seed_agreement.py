"""scripts/seed_agreement.py: ρ between two conformance runs of our own, over the archs they share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.script_tools import load_script, naive_spearman


def _run(path: Path, seed: int, archs: list[str], scores: dict[str, list]) -> str:
    path.write_text(json.dumps({"protocol": {"seed": seed}, "archs": archs, "scores": scores}))
    return str(path)


def test_seed_agreement_pairs_the_common_archs_and_drops_failures(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    sa = load_script("seed_agreement", "seed44")
    a_vals = [3.0, 1.0, 4.0, 1.5, 5.0, 9.0, None]
    b_vals = {"g": 4.1, "c": 0.5, "a": 2.0, "b": 1.0, "d": 7.0, "e": 3.3, "z": 8.0}
    a = _run(tmp_path / "a.json", 1, list("abcdefg"), {"long_metric_name": a_vals, "only_a": [1.0] * 7})
    b = _run(tmp_path / "b.json", 2, list(b_vals), {"long_metric_name": list(b_vals.values())})
    sa.main(a, b)
    out = capsys.readouterr().out.splitlines()
    # common archs a..e and g; g fails in run a, so n = 5 (a, b, c, d, e)
    want = naive_spearman([3.0, 1.0, 4.0, 1.5, 5.0], [2.0, 1.0, 0.5, 7.0, 3.3])
    assert out == ["6 common archs; seeds 1 vs 2",
                   f"{'metric':<16} {'n':>4} {'rho(seed a, seed b)':>20}",
                   f"long_metric_name {5:>4} {want:>20.3f}"]
