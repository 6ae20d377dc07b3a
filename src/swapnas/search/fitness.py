"""The search's fitness and its second stage.

:class:`Fitness` is what the EA maximises; :func:`choose_fitness` picks the proxy and the second stage
(:class:`SecondStage`) from ``--fitness`` and the ``--refine*`` flags; :func:`size_prior` sets μ/σ from
the size flags; :func:`second_stage` re-scores the fittest archs under a costlier protocol.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

import torch

from ..errors import listed
from ..size_prior import count_params_k
from ..proxies import Proxy, get_proxy
from ..proxies.best import LOG_SCALE
from ..scoring import Protocol
from ..session import best_for, configure, protocol_defaults, scoring_net
from ..spaces import SPACES, SpaceError, get_space
from ..spaces import own_fitness as _own_fitness
from ..store import Record
from .evolution import Evolution
from .final import range_prior, target_prior

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fitness:
    """What the EA maximises: the proxy's score (signed so higher is better), plus, for a fitness
    other than ``swap_reg`` with a size prior, ln f(Θ) = −(Θ−μ)²/σ of the scored network's size."""

    proxy: Proxy
    mod: ModuleType
    net: dict
    num_classes: int
    mu: float | None = None
    sigma: float | None = None

    @property
    def paper(self) -> bool:
        return self.proxy.name == "swap_reg"

    def size_term(self, arch: Any) -> float:
        if self.paper or self.mu is None or self.sigma is None:
            return 0.0
        with torch.device("meta"):
            theta = count_params_k(self.mod.build(arch, num_classes=self.num_classes, **self.net))
        return -((theta - self.mu) ** 2) / self.sigma

    def value(self, arch: Any, rec: Record) -> float:
        sign = 1.0 if self.proxy.higher_is_better else -1.0
        return sign * rec.value + self.size_term(arch) if rec.ok and rec.value is not None else math.nan


@dataclass(frozen=True)
class SecondStage:
    """The search's second stage: re-score the ``k`` fittest archs of the search under a costlier
    protocol and return the best of them (``k`` ≤ 1: none). ``net`` overrides entries of the first
    stage's scored network, ``batch_size`` and ``repeats`` replace its S and R (None: the first
    stage's)."""

    k: int = 0
    repeats: int | None = None
    net: dict = field(default_factory=dict)
    batch_size: int | None = None


def choose_fitness(space: str, fitness: str, refine: int | None = None, refine_repeats: int | None = None,
                   refine_net: dict | None = None, refine_batch_size: int | None = None,
                   warn: bool = True) -> tuple[Proxy, SecondStage]:
    """The fitness proxy and its second stage: ``best`` reads the space's ``FITNESS_PROTOCOL`` (its
    proxy and ``refine``); any other proxy has no second stage unless ``refine`` asks for one (then
    4 repeats of the first stage's network). Each given argument replaces that part of the default.
    ``warn=False``: no warning for a space without a recommended fitness, or for another space's recommended one (a
    check before the search, which warns)."""
    if isinstance(fitness, str) and "," in fitness:  # "did you mean 'params'?" until session 57
        raise ValueError(f"--fitness {fitness}: the search's fitness is one proxy (`swapnas proxies` lists them; a "
                         "metric combining several is one proxy too, e.g. best)")
    own = getattr(get_space(space), "FITNESS_PROTOCOL", {}) if fitness == "best" else {}
    chosen = get_proxy(best_for(space) if fitness == "best" else fitness)
    if fitness == "best" and "proxy" not in own and warn:
        log.warning("space %s recommends no fitness (its FITNESS_PROTOCOL names no proxy): --fitness best is the "
                    "registry's alias, %s, under the space's scoring defaults, chosen on no data of this space; name "
                    "one with --fitness (e.g. swap, swap_reg)", space, chosen.name)
    if chosen.parts:
        raise ValueError(f"--fitness {fitness}: a set-level proxy ranks a whole candidate set and has no per-arch "
                         "value; choose a per-arch or derived proxy (`swapnas proxies`)")
    if warn and (others := _recommended_on(chosen.name, space)):
        log.warning("--fitness %s is the recommended fitness of %s, chosen on its dev data, not on %s's; on %s "
                    "--fitness best is %s", chosen.name, listed(others), space, space, best_for(space))
    d = SecondStage(**own.get("refine", {"k": 0, "repeats": 4}))
    return chosen, SecondStage(d.k if refine is None else refine, d.repeats if refine_repeats is None else refine_repeats,
                               d.net if refine_net is None else dict(refine_net),
                               d.batch_size if refine_batch_size is None else refine_batch_size)


def _recommended_on(name: str, space: str) -> list[str]:
    """The other spaces that recommend ``name`` where this space's ``best`` is another (session 61: ``--space darts
    --fitness swap_nb201`` ran NB201's dev-chosen weights without a word); a space that cannot be loaded is skipped."""
    out = []
    for other in (s for s in SPACES if s != space):
        try:
            if name == _own_fitness(other) != best_for(space):
                out.append(other)
        except SpaceError:
            pass
    return out


def check_size_flags(chosen: Proxy, *, mu: float | None, sigma: float | None, target_params: float | None,
                     prior: tuple[float, float] | None) -> None:
    """The size flags' conflicts, found before any work: ``--prior`` with another size setting or with a
    fitness other than ``swap_reg``, ``--target-params`` with ``--mu/--sigma``, one of ``--mu/--sigma`` alone."""
    if prior is not None and (target_params is not None or mu is not None or sigma is not None):
        raise ValueError("--prior sets swap_reg's size rule from the network's size range: give it or "
                         "--target-params or --mu/--sigma, not both")
    if target_params is not None and (mu is not None or sigma is not None):
        raise ValueError("give either --target-params or --mu/--sigma, not both")
    if prior is not None and chosen.name != "swap_reg":  # (session 69: the other flags only for a sum of logs)
        raise ValueError("--prior sets swap_reg's size rule; with best or a log-linear combination give "
                         "--target-params or --mu/--sigma, for SWAP times a prior --fitness swap_reg")
    if (mu is None) != (sigma is None):
        given, missing = ("--mu", "--sigma") if sigma is None else ("--sigma", "--mu")
        raise ValueError(f"give both --mu and --sigma (got {given} without {missing}): a size prior needs its centre "
                         "and its width; give neither for the space's rule, or --target-params")
    if (mu is not None or target_params is not None) and chosen.name != "swap_reg" and chosen.name not in LOG_SCALE:
        flag = "--target-params" if target_params is not None else "--mu/--sigma"
        raise ValueError(f"{flag} with --fitness {chosen.name}: a size prior adds ln f(Θ) = −(Θ − μ)²/σ, which weighs "
                         f"against a sum of logs (best, or a log-linear combination: {', '.join(sorted(LOG_SCALE))}), "
                         f"not against {chosen.name}'s own values; for SWAP times the prior use --fitness swap_reg")


def size_prior(space: str, chosen: Proxy, proxy_net: dict, final: dict, *, mu: float | None, sigma: float | None,
               target_params: float | None, tolerance: float,
               prior: tuple[float, float] | None, progress: bool = True) -> tuple[float | None, float | None, dict | None]:
    """μ, σ and how they were set: ``mu``/``sigma`` (both or neither: :func:`check_size_flags`); else
    ``target_params``; else, for ``swap_reg`` only, the rule ``prior`` (default: the space's
    ``SEARCH_PRIOR``; without one, ``swap_reg``'s own label-free rule applies later, in
    :func:`session.configure`)."""
    check_size_flags(chosen, mu=mu, sigma=sigma, target_params=target_params, prior=prior)
    mod = get_space(space)
    rule = prior or getattr(mod, "SEARCH_PRIOR", None)
    if target_params is not None:
        return target_prior(mod, proxy_net, final, target_params, tolerance, num_classes=final["net"]["num_classes"],
                            progress=progress)
    if chosen.name == "swap_reg" and mu is None and rule:
        return range_prior(mod, proxy_net, final["net"]["num_classes"], rule)
    return mu, sigma, None


def refine_stage(history: list[dict], mod: ModuleType, k: int, score: Callable[[list], list[Record]],
                 fitness: Fitness) -> tuple[list[dict], tuple[Any, float] | None]:
    """Re-score the ``k`` fittest archs of ``history`` (``score`` uses the second stage's protocol);
    the shortlist and the best of it (None if every re-score failed)."""
    ranked = sorted((h for h in history if math.isfinite(h["fitness"])), key=lambda h: -h["fitness"])
    archs = [mod.parse(h["arch"]) for h in ranked[:k]]
    recs = score(archs) if archs else []
    shortlist = [{"arch": h["arch"], "fitness": h["fitness"], "refined": fitness.value(a, r)}
                 for h, a, r in zip(ranked, archs, recs)]
    top = max((c for c in shortlist if math.isfinite(c["refined"])), key=lambda c: c["refined"], default=None)
    failed = sum(not math.isfinite(c["refined"]) for c in shortlist)
    if failed:  # as the first stage's check_failures: said, not silent (the store's records name the errors)
        log.warning("%d of the %d second-stage re-scores failed: those archs rank last%s (the store's records "
                    "name the errors; a rerun reads the same failures)", failed, len(shortlist),
                    "" if top else ", so the search returns the first stage's best")
    return shortlist, None if top is None else (mod.parse(top["arch"]), top["refined"])


def stage_net(space: str, dataset: str, chosen: Proxy, net: dict) -> dict:
    """The second stage's whole scored network from its overrides ``net`` (the first stage's overrides
    changed by the stage's own) on ``chosen``'s default network."""
    return scoring_net(space, dataset, net, protocol_defaults(space, [chosen])["net"], flag="--refine-net")


def net_text(net: dict) -> str:
    """A scored network's overrides as the command line gives them: ``C=16,N=5``."""
    return ",".join(f"{k}={v}" for k, v in net.items())


def warn_idle_stage(space: str, dataset: str, chosen: Proxy, stage: SecondStage, first: Protocol,
                    net: dict | None) -> None:
    """A warning, before the search runs, when ``stage`` asks for a second stage whose network, S and R are
    the ``first`` stage's: it would re-score the same scores, so :func:`second_stage` skips it."""
    if stage.k <= 1:
        return
    same = (stage_net(space, dataset, chosen, {**(net or {}), **stage.net}), stage.batch_size or first.batch_size,
            stage.repeats or first.repeats) == (first.net, first.batch_size, first.repeats)
    if same:
        shown = net_text(first.net)
        log.warning("--refine %d does nothing: its second stage would score under the first stage's protocol (%s, "
                    "S=%d, R=%d), so the search returns the first stage's best; give --refine-repeats R (other than "
                    "%d), --refine-net K=V (e.g. a larger network) or --refine-batch-size S to re-score the %d "
                    "fittest under another protocol", stage.k, shown, first.batch_size, first.repeats,
                    first.repeats, stage.k)


def stage_configure(space: str, dataset: str, chosen: Proxy, final: dict, first: Protocol,
                    prior: tuple[float | None, float | None], sizes: dict, *, seed: int,
                    data_dir: str | None) -> Callable[..., tuple[Protocol, Any, list[Proxy]]]:
    """:func:`session.configure` for the second stage. ``swap_reg``'s size prior is in units of the
    scored network, so a stage on another network gets μ/σ by the first stage's rule (``sizes``: the
    size flags of :func:`size_prior`; ``--mu/--sigma`` as given); otherwise the first stage's ``prior``."""
    def configure_stage(*, batch_size: int, repeats: int, net: dict) -> tuple[Protocol, Any, list[Proxy]]:
        mu, sigma = prior
        full = stage_net(space, dataset, chosen, net)
        if chosen.name == "swap_reg" and full != first.net:
            mu, sigma, _ = size_prior(space, chosen, full, final, **sizes)
            if sizes.get("mu") is not None:  # (session 70: applied to the larger network without a word)
                log.warning("--mu/--sigma are in thousands of the scored network's parameters and are applied as "
                            "given to the second stage's network (%s), not the first stage's (%s), whose sizes they "
                            "were likely chosen for: give --target-params or --prior for a prior set per network, "
                            "or --refine 0 for no second stage", net_text(full), net_text(first.net))
        elif chosen.name != "swap_reg":  # (another fitness's prior is the Fitness's, not the proxy's)
            mu = sigma = None
        return configure(space, dataset, [chosen], seed=seed, batch_size=batch_size, repeats=repeats, net=net,
                         data_dir=data_dir, mu=mu, sigma=sigma)
    return configure_stage


def second_stage(ea: Evolution, stage: SecondStage, first: Protocol, fit: Fitness, net: dict,
                 configure_stage: Callable[..., tuple[Protocol, Any, list[Proxy]]],
                 scorer: Callable[[Proxy, Protocol, Any], Callable[[list], list[Record]]],
                 ) -> tuple[tuple[Any, float], dict | None]:
    """The search's answer and its second stage's record: the EA's best, or, when ``stage`` asks for
    a second stage whose protocol differs from the ``first`` (``net``: the first stage's network
    overrides, which ``stage.net`` extends), the best of its shortlist. A fitness other than
    ``swap_reg`` keeps ``fit``'s size term (of the first stage's network); ``swap_reg``'s μ/σ are
    the stage's own (:func:`stage_configure`), recorded as ``mu``/``sigma``."""
    if stage.k <= 1:
        return ea.best, None
    protocol, batch, (proxy,) = configure_stage(batch_size=stage.batch_size or first.batch_size,
                                                repeats=stage.repeats or first.repeats, net={**net, **stage.net})
    if protocol == first:
        return ea.best, None
    shortlist, top = refine_stage(ea.history, fit.mod, stage.k, scorer(proxy, protocol, batch), replace(fit, proxy=proxy))
    prior = {"mu": proxy.options["mu"], "sigma": proxy.options["sigma"]} if proxy.name == "swap_reg" else {}
    return top or ea.best, {"k": len(shortlist), "repeats": protocol.repeats, "batch_size": protocol.batch_size,
                            "net": protocol.net, **prior, "shortlist": shortlist}
