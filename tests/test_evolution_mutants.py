"""What mutation testing of ``swapnas.search.evolution`` found untested (session 29,
``bash scripts/mutation_check.sh search/evolution``).

A search saved before its first ask() (population and pending list still empty) was never saved or resumed, so
``population = None`` survived; tell() before any ask() was never tried (``_pending = None`` survived); and no test
told "max_tries draws per cycle in all" from "max_tries draws in a row without a new arch" (``in_a_row`` defaulting
to True survived); the default seed was never compared with seed 0.
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any, cast

import pytest

from swapnas.search.evolution import EAConfig, Evolution
from tests import toy_space

CONFIG = EAConfig(population=4, sample=2, mutations=2, cycles=3)


def test_a_search_saved_before_its_first_ask_resumes_the_same() -> None:
    first = Evolution(cast(Any, toy_space), CONFIG, seed=3)
    state = first.state_dict()
    assert state["population"] == [] and state["history"] == []
    resumed = Evolution(cast(Any, toy_space), CONFIG, seed=3)
    resumed.load_state_dict(state)
    assert [str(a) for a in resumed.ask()] == [str(a) for a in first.ask()]


def test_tell_before_any_ask_is_refused() -> None:
    ea = Evolution(cast(Any, toy_space), CONFIG, seed=0)
    with pytest.raises(ValueError, match=r"tell\(\) needs exactly the archs of the last ask\(\), in order"):
        ea.tell([toy_space.parse("conv3|conv1|skip")], [1.0])


def test_the_default_seed_is_0() -> None:
    assert [str(a) for a in Evolution(cast(Any, toy_space), CONFIG).ask()] == \
        [str(a) for a in Evolution(cast(Any, toy_space), CONFIG, seed=0).ask()]


def test_a_cycle_draws_at_most_max_tries_mutations_in_all() -> None:
    """mutate gives a new arch on every 5th draw and the parent otherwise: with max_tries = 7 a cycle stops after
    7 draws with one child (counting draws in a row without a new arch instead, it would go on to 3 children)."""
    draws: list[int] = []

    def mutate(parent: str, rng: random.Random) -> str:
        draws.append(1)
        return f"child{len(draws)}" if len(draws) % 5 == 0 else parent

    space = SimpleNamespace(sample=lambda rng: f"arch{rng.random()}", mutate=mutate, iso_key=str, parse=str)
    ea = Evolution(cast(Any, space), EAConfig(population=2, sample=2, mutations=3, cycles=1), seed=0, max_tries=7)
    initial = ea.ask()
    ea.tell(initial, [1.0, 2.0])
    assert ea.ask() == ["child5"]
    assert len(draws) == 7


def test_the_initial_population_counts_misses_in_a_row() -> None:
    """sample gives a new arch on draws 1, 5, 9, … and the first one otherwise: with max_tries = 4 draws in a row
    without a new arch, the three archs of the population are all found (3 misses between each)."""
    draws: list[int] = []

    def sample(rng: random.Random) -> str:
        draws.append(1)
        return f"arch{len(draws)}" if len(draws) % 4 == 1 else "arch1"

    space = SimpleNamespace(sample=sample, mutate=lambda a, rng: a, iso_key=str, parse=str)
    ea = Evolution(cast(Any, space), EAConfig(population=3, sample=2, mutations=1, cycles=1), seed=0, max_tries=4)
    assert ea.ask() == ["arch1", "arch5", "arch9"]


def test_two_feasible_archs_make_a_population_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    allowed = {"conv3|conv1|skip", "skip|skip|conv3"}
    ea = Evolution(cast(Any, toy_space), CONFIG, seed=0, feasible=lambda a: str(a) in allowed, max_tries=300)
    with caplog.at_level("WARNING", logger="swapnas.search.evolution"):
        assert sorted(str(a) for a in ea.ask()) == sorted(allowed)
    assert caplog.messages == ["only 2 feasible distinct archs found for a population of 4: the constraints (or the "
                               "space) leave few archs; the search goes on with them"]
    with pytest.raises(RuntimeError) as info:
        ea.ask()
    assert str(info.value) == "tell() the fitness of the archs from the last ask() first"
