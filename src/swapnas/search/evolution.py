"""SWAP-NAS: evolutionary search with an ask/tell core (the caller owns evaluation).

The algorithm (the paper's, spec §4): score a random initial population of ``population``
distinct archs; each cycle sample ``sample`` (K) members, take the best as parent (with
probability ``crossover`` a crossover of the best two instead, where the space has one),
generate up to ``mutations`` (M) distinct unseen children by one mutation each, score them,
add the best child to the population and REMOVE THE WORST member.

Properties: seeded (``random.Random(seed)`` is the only randomness, so the same seed and the
same fitness values give the same trajectory); deduplicating (an arch isomorphic to one
already scored — same ``iso_key`` — is never proposed again); constrained (archs that fail
``feasible`` are never proposed); and serialisable (:meth:`Evolution.state_dict`), so a
search resumes after a crash from its saved state, and every score it needs again comes
from the score store.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

from ..arg_checks import finite, whole

log = logging.getLogger(__name__)


#: the initial population's descent toward limits that random draws rarely meet (:meth:`Evolution._descended`)
DESCENT_STEPS, DESCENT_CHILDREN = 50, 8
#: seconds of drawing an initial population under size limits after which the user is told (session 61: a FlexiBERT
#: search with --max-macs near the space's minimum sat at 0 % for 3 minutes, each draw building its network)
SLOW_DRAWS_S = 15.0


class NoFeasibleArchs(ValueError):
    """Fewer than 2 feasible distinct archs were drawn for the initial population (the driver adds what sizes random
    archs of the space have)."""


@dataclass(frozen=True)
class EAConfig:
    """EA hyper-parameters (defaults documented in docs/search.md): P ``population``, K ``sample`` (the tournament,
    1..P: ``EAConfig(population=4)`` keeps K = 5 and is refused; the command lowers K to a smaller --population given
    alone), M ``mutations`` (children per cycle), ``cycles`` after the initial population, ``crossover`` probability."""

    population: int = 20
    sample: int = 5
    mutations: int = 5
    cycles: int = 40
    crossover: float = 0.5

    def __post_init__(self) -> None:
        for name in ("population", "sample", "mutations", "cycles"):  # (session 65: population=2.5 ran 4 evaluations)
            whole(f"EAConfig.{name}", getattr(self, name), None)  # (the ranges below, with the flags' names)
        finite("EAConfig.crossover", self.crossover)
        if self.population < 2:
            raise ValueError(f"--population must be >= 2 (got {self.population})")
        if not 1 <= self.sample <= self.population:
            raise ValueError(f"--sample K must be in 1..population={self.population} (got {self.sample}): lower "
                             "--sample or raise --population")
        if self.mutations < 1 or self.cycles < 0:
            raise ValueError(f"--mutations must be >= 1 and --cycles >= 0 (got {self.mutations}, {self.cycles})")
        if not 0.0 <= self.crossover <= 1.0:
            raise ValueError(f"--crossover probability must be in [0, 1] (got {self.crossover})")

    @property
    def max_evaluations(self) -> int:
        return self.population + self.cycles * self.mutations


class Evolution:
    """Ask/tell evolutionary search over one space module.

    Example:
        >>> ea = Evolution(nb201, EAConfig(population=4, sample=2, mutations=2, cycles=3), seed=0)  # doctest: +SKIP
        >>> while not ea.done:                                                 # doctest: +SKIP
        ...     archs = ea.ask()
        ...     ea.tell(archs, [fitness(a) for a in archs])
        >>> ea.best                                                            # doctest: +SKIP
    """

    def __init__(self, space: ModuleType, config: EAConfig, seed: int = 0,
                 feasible: Callable[[Any], bool] | None = None, max_tries: int = 1000,
                 excess: Callable[[Any], float] | None = None):
        self.space, self.config, self.seed = space, config, seed
        self.feasible = feasible or (lambda arch: True)
        self.excess = excess  # how far an arch is beyond the constraints (> 0): the initial population's descent
        self.max_tries = max_tries
        self.rng = random.Random(seed)
        self.population: list[tuple[Any, float]] = []
        self.seen: dict[str, float | None] = {}  # iso_key -> fitness (None while asked)
        self.history: list[dict] = []  # one entry per evaluation, in order
        self.cycle = 0
        self.snapshots: list[dict] = []  # population statistics after each tell()
        self._pending: list[Any] = []
        self._checked: dict[str, bool] = {}  # str(arch) -> feasible: a cache (not state), each arch checked once

    # ------------------------------------------------------------------ ask / tell

    @property
    def done(self) -> bool:
        return bool(self.population) and self.cycle >= self.config.cycles and not self._pending

    def _fresh(self, make: Callable[[], Any], n: int, in_a_row: bool = False) -> list[Any]:
        """Up to ``n`` new feasible archs from ``make`` that are unseen up to isomorphism: ``max_tries`` draws in
        all, or (``in_a_row``: the initial population, whose ``n`` may exceed ``max_tries``) until ``max_tries``
        draws in a row bring nothing new."""
        out: list[Any] = []
        tries = misses = 0
        start, told = time.monotonic(), not in_a_row
        while len(out) < n and (misses if in_a_row else tries) < self.max_tries:
            if not told and (told := time.monotonic() - start > SLOW_DRAWS_S):
                log.warning("drawing the initial population: %d of %d feasible distinct archs after %d draws (%.0f "
                            "s; under size limits each draw's final network is sized); the draws stop when %d in a "
                            "row find none new", len(out), n, tries, time.monotonic() - start, self.max_tries)
            tries += 1
            arch = make()
            key = self.space.iso_key(arch)
            if key in self.seen or not self._is_feasible(arch):
                misses += 1
                continue
            misses = 0
            self.seen[key] = None
            out.append(arch)
        return out

    def _is_feasible(self, arch: Any) -> bool:
        """``feasible(arch)``, asked once per arch: a parent's few neighbours are drawn again and again when the
        limits reject most of them, and each check may build a network (by its string, not its iso_key: two
        isomorphic archs may differ in size)."""
        name = str(arch)
        if name not in self._checked:
            self._checked[name] = bool(self.feasible(arch))
        return self._checked[name]

    def ask(self) -> list[Any]:
        """The archs to evaluate next (the initial population, or one cycle's children)."""
        if self._pending:
            raise RuntimeError("tell() the fitness of the archs from the last ask() first")
        if self.done:
            return []
        if not self.population:
            archs = self._fresh(lambda: self.space.sample(self.rng), self.config.population, in_a_row=True)
            how = "random draws"
            if len(archs) < 2 and self.excess is not None:  # limits that random draws rarely meet: descend to them
                archs += self._fresh(self._descended, self.config.population - len(archs), in_a_row=True)
                how = "random draws and descents from them toward the limits"
            if len(archs) < 2:
                found = f"{len(archs)} feasible distinct arch{'' if len(archs) == 1 else 's'}"
                raise NoFeasibleArchs(f"{how} found {found} for the initial population of "
                                      f"{self.config.population}, and a search needs 2; loosen the constraints "
                                      "(--max-params / --max-macs)")
            if len(archs) < self.config.population:
                log.warning("only %d feasible distinct archs found for a population of %d: the constraints "
                            "(or the space) leave few archs; the search goes on with them", len(archs),
                            self.config.population)
        else:
            parent = self._parent()
            archs = self._fresh(lambda: self.space.mutate(parent, self.rng), self.config.mutations)
        self._pending = archs
        return list(archs)

    def _descended(self) -> Any:
        """A random arch, then, while it is infeasible, the child with the least :attr:`excess` of ``DESCENT_CHILDREN``
        mutations, up to ``DESCENT_STEPS`` times (an infeasible result is skipped by :meth:`_fresh`)."""
        assert self.excess is not None
        arch = self.space.sample(self.rng)
        for _ in range(DESCENT_STEPS):
            if self._is_feasible(arch):
                break
            arch = min((self.space.mutate(arch, self.rng) for _ in range(DESCENT_CHILDREN)), key=self.excess)
        return arch

    def _parent(self) -> Any:
        # a population smaller than K (constraints that let few distinct archs through): all of it
        k = self.rng.sample(range(len(self.population)), min(self.config.sample, len(self.population)))
        ranked = sorted((self.population[i] for i in k), key=lambda t: -t[1])
        crossover = getattr(self.space, "crossover", None)
        if crossover is not None and len(ranked) >= 2 and self.rng.random() < self.config.crossover:
            return crossover(ranked[0][0], ranked[1][0], self.rng)
        return ranked[0][0]

    def tell(self, archs: list[Any], fitness: list[float]) -> None:
        """Report the fitness of the archs of the last :meth:`ask` (same order)."""
        if [str(a) for a in archs] != [str(a) for a in self._pending]:
            raise ValueError("tell() needs exactly the archs of the last ask(), in order")
        if len(fitness) != len(archs):
            raise ValueError(f"got {len(fitness)} fitness values for {len(archs)} archs")
        fitness = [float(f) if f == f else float("-inf") for f in fitness]  # NaN (failed) ranks last
        initial = not self.population
        if not initial:
            self.cycle += 1  # these are cycle `self.cycle`'s children (the initial population: cycle 0)
        for a, f in zip(archs, fitness):
            self.seen[self.space.iso_key(a)] = f
            self.history.append({"evaluation": len(self.history) + 1, "cycle": self.cycle, "arch": str(a),
                                 "fitness": f})
        self._pending = []
        if initial:
            self.population = list(zip(archs, fitness))
        else:
            if archs:  # (all mutations of the parent already seen: the cycle adds nothing)
                self.population.append(max(zip(archs, fitness), key=lambda t: t[1]))
                worst = min(range(len(self.population)), key=lambda i: self.population[i][1])
                self.population.pop(worst)
        fits = [f for _, f in self.population]
        self.snapshots.append({"evaluations": len(self.history), "cycle": self.cycle, "best": max(fits),
                               "population_mean": sum(fits) / len(fits), "population_min": min(fits)})

    # ------------------------------------------------------------------ results

    @property
    def best(self) -> tuple[Any, float]:
        """The best arch evaluated so far and its fitness."""
        if not self.history:
            raise ValueError("nothing evaluated yet")
        top = max(self.history, key=lambda h: h["fitness"])
        return self.space.parse(top["arch"]), top["fitness"]

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict:
        if self._pending:
            raise RuntimeError("save the state between tell() and the next ask()")
        version, internal, gauss = self.rng.getstate()
        return {
            "config": asdict(self.config), "seed": self.seed, "cycle": self.cycle,
            "rng": [version, list(internal), gauss],
            "population": [[str(a), f] for a, f in self.population],
            "seen": self.seen, "history": self.history, "snapshots": self.snapshots,
        }

    def load_state_dict(self, state: dict) -> None:
        """Resume from :meth:`state_dict`'s document; its settings must be this EA's, except ``cycles``, which may be
        raised to extend a search (the trajectory is that of a search run with the new ``cycles`` from the start:
        ``cycles`` only decides when the EA stops)."""
        if (why := state_mismatch(state, self.config, self.seed)) is not None:
            raise ValueError(why)
        if (why := state_problem(state, self.config)) is not None:
            raise UnreadableState(why)
        try:
            version, internal, gauss = state["rng"]
            self.rng.setstate((version, tuple(internal), gauss))
        except (ValueError, TypeError, OverflowError) as exc:  # (session 68: Random's own message, no file named)
            raise UnreadableState(f"its random state is not Python's ({exc})") from None
        self.cycle = state["cycle"]
        try:
            self.population = [(self.space.parse(a), float(f)) for a, f in state["population"]]
        except ValueError as exc:  # (session 68: another version's arch form gave the space's bare parse error)
            raise UnreadableState(f"its population holds what this swapnas does not read as a {self.space.NAME} arch "
                                  f"or a fitness ({exc})") from None
        self.seen = dict(state["seen"])
        self.history = list(state["history"])
        self.snapshots = list(state["snapshots"])


class UnreadableState(ValueError):
    """A saved state :meth:`Evolution.load_state_dict` cannot read (written by another version, or changed since)."""


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def state_problem(state: dict, config: EAConfig) -> str | None:
    """What in a saved state (one :func:`state_mismatch` passes) contradicts what :meth:`Evolution.tell` writes, or
    None (session 68's fuzzing: a cycle of -3 resumed into another search, exit 0; a history entry without its
    fitness ended in a KeyError after the resume)."""
    cycle, history, snapshots, population = (state[k] for k in ("cycle", "history", "snapshots", "population"))
    if type(cycle) is not int or cycle < 0:
        return f"its cycle {cycle!r} is not a count of cycles"
    if not all(isinstance(v, list) for v in (history, snapshots, population)) or not isinstance(state["seen"], dict):
        return "its history, snapshots and population are not lists, or what it has seen is not a table"
    if not all(isinstance(h, dict) and isinstance(h.get("arch"), str) and _number(h.get("fitness"))
               and h.get("evaluation") == i for i, h in enumerate(history, 1)):
        return "its history is not the evaluations numbered 1, 2, … each with its arch and fitness"
    if not all(isinstance(s, dict) and s.get("cycle") == i for i, s in enumerate(snapshots)) or (
            len(snapshots) != (cycle + 1 if population else 0)):
        return (f"its cycle {cycle}, its {len(snapshots)} snapshots of the population and the population of "
                f"{len(population)} disagree")
    if len(population) > config.population or not all(isinstance(p, list) and len(p) == 2 for p in population):
        return f"its population is not at most {config.population} [arch, fitness] pairs"
    return None


def state_mismatch(state: dict, config: EAConfig, seed: int) -> str | None:
    """Why a saved search state (:meth:`Evolution.state_dict`) cannot be resumed with ``config`` and ``seed``, or None
    when it can: the same seed and settings, and ``cycles`` no fewer than the saved cycle (a larger ``--cycles``
    extends a search, even a finished one)."""
    saved, mine = state["config"], asdict(config)
    differ = [f"--{k} {saved.get(k)!r} (now {v!r})" for k, v in mine.items() if k != "cycles" and saved.get(k) != v]
    differ += [f"--{k} {saved[k]!r} (now absent)" for k in saved if k not in mine]
    if state["seed"] != seed:
        differ.insert(0, f"--seed {state['seed']!r} (now {seed!r})")
    if differ:
        return (f"the saved search state was made with {', '.join(differ)}; use another --out folder or the same "
                "settings (--cycles may grow, to extend a search; the second stage's --refine options and the "
                "--max-evals/--max-seconds limits may change too)")
    if state["cycle"] > config.cycles:
        return (f"the saved search has run {state['cycle']} cycles, more than --cycles {config.cycles}: a search "
                f"cannot be shortened; give --cycles {state['cycle']} or more (more extends it), or use another "
                "--out folder")
    return None
