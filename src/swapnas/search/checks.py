"""What a search checks before it takes OUT and opens the store: the same for ``swapnas search`` and for
:func:`~swapnas.search.run_search` (out of ``cli/search_command.py`` in session 65: from Python a prior's width of 0
or below, a second stage's settings with no second stage, or ``tolerance`` without ``target_params`` were ignored or
quietly changed, and a dataset of None failed deep in the code)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from ..arg_checks import finite, seed, whole
from ..bundle import resolve_data_dir
from ..out_checks import api_out
from ..session import protocol_defaults, scoring_net
from ..spaces import get_space, searchable_space
from .final import check_max_macs, check_max_params, check_target_params, final_net
from .fitness import check_size_flags, choose_fitness

#: ``--tolerance``'s default: the relative width of ``--target-params``
DEFAULT_TOLERANCE = 0.1


def check_search(space: str, dataset: str | None, *, fitness: str = "best", refine: int | None = None,
                 refine_repeats: int | None = None, refine_net: dict | None = None,
                 refine_batch_size: int | None = None, mu: float | None = None, sigma: float | None = None,
                 target_params: float | None = None, tolerance: float | None = None,
                 prior: tuple[float, float] | None = None, max_params: float | None = None,
                 max_macs: float | None = None, net: dict | None = None,
                 data_dir: str | None = None) -> tuple[str, str]:
    """The dataset (None: the space's first final network) and the fitness proxy's key (``swap@1``), after the
    checks: the space searchable, the data bundle found, the fitness, the size flags' conflicts, ``max_params``
    against the final network's sizes, ``net`` and the second stage's network (one arch built on the meta device)
    and the prior's width; settings that would do nothing (a second stage's without one, ``tolerance`` without
    ``target_params``) are refused. Messages name the command's flags."""
    searchable_space(space)  # a space without crossover, cell drawing or final networks: what it lacks
    if dataset is None:  # the space's first final network: cifar10 for nb201 and darts, glue for flexibert
        dataset = next(iter(get_space(space).FINAL_NETS))
    resolve_data_dir(data_dir)  # the batch and the benchmark come from the bundle: no OUT made without it
    final = final_net(space, dataset)
    chosen, stage = choose_fitness(space, fitness, refine, refine_repeats, refine_net, refine_batch_size,
                                   warn=False)  # the search itself warns, once
    refine_flags = [flag for flag, v in (("--refine-repeats", refine_repeats), ("--refine-net", refine_net),
                                         ("--refine-batch-size", refine_batch_size)) if v is not None]
    if stage.k <= 1 and refine_flags:  # they would be ignored: no second stage runs
        why = f"--refine {refine}" if refine is not None else f"--fitness {fitness} on {space}"
        raise ValueError(f"{', '.join(refine_flags)} set the second stage, and this search has none ({why}: a second "
                         "stage re-scores the K >= 2 fittest archs); add --refine K, or leave them out")
    check_size_flags(chosen, mu=mu, sigma=sigma, target_params=target_params,
                     prior=(prior[0], prior[1]) if prior else None)
    if tolerance is not None and target_params is None:  # it would be ignored: only a target has a width
        raise ValueError(f"--tolerance {tolerance:g} is the relative width of --target-params, which is not "
                         "given; add --target-params SIZE (e.g. 4.0M), or leave --tolerance out")
    mod = get_space(space)
    check_max_params(mod, final, max_params)
    check_max_macs(mod, final, max_macs)
    check_target_params(mod, final, target_params, max_params)
    base = protocol_defaults(space, [chosen])["net"]
    scoring_net(space, dataset, net, base)
    if stage.k > 1 and stage.net:  # the second stage's network: net, then refine_net on top
        scoring_net(space, dataset, {**(net or {}), **stage.net}, base, flag="--refine-net")
    if prior is not None and prior[1] <= 0:
        raise ValueError(f"--prior CENTRE WIDTH: WIDTH must be > 0 (got {prior[1]})")
    if chosen.name == "swap_reg" and mu is not None:  # its key as stored (the review of session 63: a resume
        return dataset, chosen.configure(mu=mu, sigma=sigma).key  # of another --mu was announced, then refused)
    return dataset, chosen.key


def check_numbers(*, seed_: object, score_seed: object, max_evals: object, max_seconds: object, max_params: object,
                  max_macs: object, refine: object = None, refine_repeats: object = None,
                  refine_batch_size: object = None) -> None:
    """The typed arguments of :func:`~swapnas.search.run_search` that the command's argument types check (session 65:
    ``seed=-1`` or ``1.5`` ran, ``max_params=nan`` or ``max_seconds=nan`` meant no limit, ``max_evals=0`` evaluated
    nothing, ``refine_repeats=0`` skipped the second stage, ``refine=2.5`` failed after the whole EA)."""
    seed("seed", seed_)
    seed("score_seed", score_seed)
    for name, value, least in (("max_evals", max_evals, 1), ("refine", refine, 0),
                               ("refine_repeats", refine_repeats, 1), ("refine_batch_size", refine_batch_size, 1)):
        if value is not None:
            whole(name, value, least)
    for name, value in (("max_seconds", max_seconds), ("max_params", max_params), ("max_macs", max_macs)):
        if value is not None and finite(name, value) <= 0:
            raise ValueError(f"{name} must be > 0 (got {value})")


_Run = TypeVar("_Run", bound=Callable[..., Any])
#: run_search's arguments that :func:`check_search` reads by name
_SEARCH_ARGS = ("fitness", "refine", "refine_repeats", "refine_net", "refine_batch_size", "mu", "sigma",
                "target_params", "tolerance", "prior", "max_params", "max_macs", "net", "data_dir")


def checked(run: _Run) -> _Run:
    """``run_search`` with its arguments checked first, as the command checks its flags (:func:`check_numbers`,
    :func:`check_search`, OUT by :func:`~swapnas.out_checks.api_out`); ``dataset`` None becomes the space's first
    final network and ``tolerance`` None :data:`DEFAULT_TOLERANCE`."""
    signature = inspect.signature(run)

    @functools.wraps(run)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        check_numbers(seed_=a["seed"], score_seed=a["score_seed"], max_evals=a["max_evals"],
                      max_seconds=a["max_seconds"], max_params=a["max_params"], max_macs=a["max_macs"],
                      refine=a["refine"], refine_repeats=a["refine_repeats"], refine_batch_size=a["refine_batch_size"])
        a["dataset"], _ = check_search(a["space"], a["dataset"], **{k: a[k] for k in _SEARCH_ARGS})
        a["tolerance"] = DEFAULT_TOLERANCE if a["tolerance"] is None else a["tolerance"]
        a["out"] = api_out("search", a["out"], a["data_dir"], getattr(a["store"], "path", None))  # (a str: s. 64)
        return run(*bound.args, **bound.kwargs)
    return wrapper  # type: ignore[return-value]


__all__ = ["DEFAULT_TOLERANCE", "check_numbers", "check_search", "checked"]
