"""The search's budget and small populations: review findings of session 15, each pinned.

- ``--max-evals`` is checked between cycles (documented): a cycle is never cut, so a run stopped by it
  and resumed equals one run.
- Constraints that leave fewer archs than the tournament size K no longer crash the next ``ask()``.
- ``--prior`` given with ``--mu/--sigma`` or ``--target-params`` names that conflict.
"""

from __future__ import annotations

import logging
import random

import pytest

from swapnas.cli import main
from swapnas.proxies import get_proxy
from swapnas.search.driver import Fitness, evolve
from swapnas.search.evolution import EAConfig, Evolution
from swapnas.spaces import nb201
from swapnas.store import Record


def _score(archs: list) -> list[Record]:
    """A deterministic stand-in fitness: the canonical string's length."""
    return [Record("ok", float(len(str(a))), 0.0, [], 0.0, None, None) for a in archs]


@pytest.mark.parametrize("max_evals, done", [(3, 4), (4, 4), (6, 9), (9, 9), (10, 14)])
def test_max_evals_finishes_the_running_cycle_and_starts_no_other(tmp_path, max_evals, done) -> None:
    ea = Evolution(nb201, EAConfig(population=4, sample=2, mutations=5, cycles=10), 0)
    fitness = Fitness(get_proxy("params"), nb201, {}, 10)
    evolve(ea, _score, fitness, tmp_path / "state.json", {}, max_evals=max_evals, progress=False)
    assert len(ea.history) == done


def test_a_population_smaller_than_the_tournament_runs_with_a_warning(caplog) -> None:
    allowed, rng = set(), random.Random(1)
    while len(allowed) < 3:
        allowed.add(nb201.iso_key(nb201.sample(rng)))
    ea = Evolution(nb201, EAConfig(population=20, sample=5, mutations=2, cycles=2), 0,
                   feasible=lambda a: nb201.iso_key(a) in allowed, max_tries=20000)
    with caplog.at_level(logging.WARNING, logger="swapnas.search.evolution"):
        archs = ea.ask()
    assert len(archs) == 3 and "only 3 feasible distinct archs" in caplog.text
    ea.tell(archs, [1.0, 2.0, 3.0])
    assert ea.ask() == []  # every feasible arch is scored: no child, no crash (was: "Sample larger than population")


@pytest.mark.parametrize("extra", [["--mu", "500", "--sigma", "100"], ["--target-params", "1.0M"]])
def test_prior_with_another_size_setting_names_the_conflict(small_bundle, tmp_path, capsys, extra) -> None:
    args = ["search", "--fitness", "swap_reg", "--prior", "0.5", "0.3", *extra, "--data-dir", str(small_bundle),
            "--out", str(tmp_path), "--cycles", "1"]
    assert main(args) == 2
    assert "give it or --target-params or --mu/--sigma, not both" in capsys.readouterr().err
