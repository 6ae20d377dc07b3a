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
