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


# ---------------------------------------------------------------- session 30: the 35 timeouts of session 29, re-run

def _fitness(arch: int) -> float:
    return ((arch * 7919) % 1000) / 10.0   # a fixed, scrambled fitness per arch


def _int_space(mutated: list[int], crossed: list[tuple[int, int]] | None = None) -> SimpleNamespace:
    """Archs are ints, every draw a new one; ``mutate`` and ``crossover`` record their arguments."""
    counter = iter(range(10**6, 10**7))

    def mutate(parent: int, rng: random.Random) -> int:
        mutated.append(parent)
        return next(counter)

    space = SimpleNamespace(sample=lambda rng: rng.randrange(10**6), mutate=mutate, iso_key=str, parse=int)
    if crossed is not None:
        def crossover(a: int, b: int, rng: random.Random) -> int:
            crossed.append((a, b))
            return -len(crossed)   # the child of a crossover: a new arch, recognisable
        space.crossover = crossover
    return space


def test_each_cycle_mutates_the_fittest_and_removes_the_weakest() -> None:
    """K = population and no crossover: the parent is the population's best; the best child joins and the
    population's worst member leaves (not the oldest); the snapshots and the history say so."""
    mutated: list[int] = []
    ea = Evolution(cast(Any, _int_space(mutated)), EAConfig(population=5, sample=5, mutations=3, cycles=12), seed=1)
    archs = ea.ask()
    ea.tell(archs, [_fitness(a) for a in archs])
    removed_not_oldest = 0
    while not ea.done:
        before = list(ea.population)
        children = ea.ask()
        assert mutated[-1] == max(before, key=lambda t: t[1])[0] and len(children) == 3
        ea.tell(children, [_fitness(a) for a in children])
        grown = before + [max(((c, _fitness(c)) for c in children), key=lambda t: t[1])]
        weakest = min(range(len(grown)), key=lambda i: grown[i][1])
        removed_not_oldest += weakest != 0
        assert ea.population == grown[:weakest] + grown[weakest + 1:]
        fits = [f for _, f in ea.population]
        assert ea.snapshots[-1] == {"evaluations": len(ea.history), "cycle": ea.cycle, "best": max(fits),
                                    "population_mean": pytest.approx(sum(fits) / 5), "population_min": min(fits)}
    assert removed_not_oldest > 0   # the test tells "the weakest" from "the oldest"
    assert [h["evaluation"] for h in ea.history] == list(range(1, 5 + 12 * 3 + 1))
    assert all(ea.seen[h["arch"]] == h["fitness"] == _fitness(int(h["arch"])) for h in ea.history)


def test_crossover_takes_the_two_fittest_of_the_sample() -> None:
    """crossover = 1 with K = 2: every cycle crosses the fitter sampled member with the other (in that order) and
    mutates the result."""
    mutated: list[int] = []
    crossed: list[tuple[int, int]] = []
    ea = Evolution(cast(Any, _int_space(mutated, crossed)), EAConfig(population=4, sample=2, mutations=1, cycles=6,
                                                                    crossover=1.0), seed=2)
    archs = ea.ask()
    ea.tell(archs, [_fitness(a) for a in archs])
    for cycle in range(1, 7):
        members = dict(ea.population)
        children = ea.ask()
        a, b = crossed[-1]
        assert len(crossed) == cycle and mutated[-1] == -cycle
        assert a in members and b in members and a != b and members[a] >= members[b]
        ea.tell(children, [_fitness(c) for c in children])


def test_the_messages_of_misuse_are_whole() -> None:
    ea = Evolution(cast(Any, toy_space), CONFIG, seed=0)
    archs = ea.ask()
    with pytest.raises(ValueError) as info:
        ea.tell(archs, [1.0])
    assert str(info.value) == "got 1 fitness values for 4 archs"
    with pytest.raises(RuntimeError) as state_info:
        ea.state_dict()
    assert str(state_info.value) == "save the state between tell() and the next ask()"
    ea.tell(archs, [1.0, 2.0, 3.0, float("nan")])
    assert ea.history[-1]["fitness"] == float("-inf")   # a failed score ranks last
    with pytest.raises(ValueError, match=r"^tell\(\) needs exactly the archs of the last ask\(\), in order$"):
        ea.tell(archs, [1.0, 2.0, 3.0, 4.0])            # told twice
    other = Evolution(cast(Any, toy_space), CONFIG, seed=5)
    with pytest.raises(ValueError) as load_info:
        other.load_state_dict(ea.state_dict())
    assert str(load_info.value) == ("the saved search state was made with --seed 0 (now 5); use another --out folder "
                                    "or the same settings (--cycles may grow, to extend a search; the second stage's "
                                    "--refine options and the --max-evals/--max-seconds limits may change too)")
