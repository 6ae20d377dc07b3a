"""``swapnas search``: its checks, the run and the printout (:func:`search_run` is shared with
:func:`swapnas.search_arch`)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any
from pathlib import Path

from ..search import SEARCH_EXTRAS, EAConfig, SearchResult, run_search, write_result
from ..search.checks import check_search
from ..search.driver import (extra_cells, fitness_mismatch, fitness_text, out_lock, prior_text, search_notes,
                             stage_text)
from ..search.evolution import state_mismatch
from ..search.final import per_input
from .args import EXIT_OK
from .commands import print_report, show_progress, store_in
from ..executor_local import scoring_threads
from .executor_options import executor_of
from ..out_checks import out_folder, refuse_busy_out

log = logging.getLogger(__name__)


def _search_text(result: SearchResult) -> str:
    parts = [f"{result.restored} restored from its saved state"] * bool(result.restored) + \
        [f"{result.reused} read from the store"] * bool(result.reused)  # (session 61: a resumed run's 23 unsaid)
    stored = f" ({', '.join(parts)})" if parts else ""
    lines = [f"best {result.space} arch (fitness {fitness_text(result.fitness)}, {result.evaluations} evaluations"
             f"{stored}, {result.cycles} cycles, {result.wall_seconds:.1f} s):\n{result.best}",
             f"fitness {result.fitness_proxy} | final network: {result.params_m:.3f} M params, "
             f"{result.macs_m:.1f} M multiply-adds{per_input(result.space, result.dataset, ' (one {})')} | size prior "
             f"{prior_text(result)}",
             *search_notes(result)]
    if result.refine and (stage := stage_text(result)):
        lines.append(stage)
    e = result.extra
    ranks = extra_cells(e) if e else {}  # a rank shared with tied archs reads "1154 (8 tied)", as in report.md
    if e and result.space == "nb201":
        lines.append(f"NB201 {result.dataset}: valid {e['valid_accuracy']:.2f} (rank {ranks['valid_rank']}), test "
                     f"{e['test_accuracy']:.2f} (rank {ranks['test_rank']}, optimum {e['test_optimum']:.2f}, regret "
                     f"{e['test_regret']:.2f})")
        others = [f"{d} test {o['test_accuracy']:.2f} (rank {extra_cells(o)['test_rank']})"
                  for d, o in e.get("datasets", {}).items() if d != result.dataset]
        if others:
            lines.append(f"the same arch on the other NB201 datasets: {', '.join(others)}")
    elif e and result.space == "flexibert":
        where = "in the benchmark" if e["in_benchmark"] else \
            (f"not in the benchmark; nearest benchmark arch ({e['distance']} choice{'' if e['distance'] == 1 else 's'} "
             f"differ{'s' if e['distance'] == 1 else ''}): {e['benchmark_arch']}")
        lines.append(f"FlexiBERT-500 {result.dataset}: {where}, score {e[f'{result.dataset}_score']:.2f} "
                     f"(rank {ranks['rank']} of {e['of']}, optimum {e['optimum']:.2f})")
    return "\n".join(lines)


def _search_checks(args: argparse.Namespace) -> str:
    """:func:`~swapnas.search.checks.check_search` of the command's flags (``args.dataset`` set to the space's first
    final network where none is given); the fitness proxy's key (``swap@1``)."""
    args.dataset, key = check_search(
        args.space, args.dataset, fitness=args.fitness, refine=args.refine, refine_repeats=args.refine_repeats,
        refine_net=args.refine_net, refine_batch_size=args.refine_batch_size, mu=args.mu, sigma=args.sigma,
        target_params=args.target_params, tolerance=args.tolerance, prior=tuple(args.prior) if args.prior else None,
        max_params=args.max_params, max_macs=args.max_macs, net=args.net, data_dir=args.data_dir)
    return key


def resume_line(out: Path, config: EAConfig, seed: int, proxy_key: str | None = None,
                space: str | None = None, given: dict[str, Any] | None = None) -> str | None:
    """What a search resumes from (None: nothing saved in OUT, or a damaged state, which the search names): the saved
    cycle and evaluations, that a larger --cycles extends it, or that it is complete; a state of other settings or
    of another fitness proxy (``proxy_key``'s name@version, e.g. ``swap@1``) is refused here (ValueError) with the
    reason the search would give (the rest of the fitness identity, such as swap_reg's prior, the search checks);
    so is a state of another ``space`` where the state names its space (session 61: the default ``best`` resolves
    per space, and the refusal named --fitness, a flag the user never set), and one whose fitness identity differs
    in a part ``given`` holds (the search's ``score_seed``, ``constraints``, the ``batch_size`` and ``repeats`` given,
    and the ``size_prior`` a non-``swap_reg`` fitness's --mu/--sigma give; ``swap_reg``'s are in ``proxy_key``;
    session 63: "resuming …" was said first, the refusal came with the protocol); the protocol's other parts
    (dataset, network) the search checks, and the line says so."""
    try:
        doc = json.loads((out / "state.json").read_text(encoding="utf-8"))
        ea, fit = doc["ea"], doc.get("fitness")
        full = bool(proxy_key) and "=None" not in str(proxy_key)  # every option known: the whole key compared
        named, saved = (proxy_key or "") if full else (proxy_key or "").split("[")[0], \
            fit.get("proxy") if isinstance(fit, dict) else None
        mine = dict(fit) if isinstance(fit, dict) else {}  # the fitness first, as the search checks it first
        if named and isinstance(saved, str) and (saved if full else saved.split("[")[0]) != named:
            mine["proxy"] = named
        if space and "space" in mine:
            mine["space"] = space
        mine |= {k: v for k, v in (given or {}).items() if k in mine and v is not None}
        why = fitness_mismatch(out / "state.json", fit, mine) if mine != fit else None
        why = why or state_mismatch(ea, config, seed)
        cycle, evaluations, before = int(ea["cycle"]), len(ea["history"]), int(ea["config"]["cycles"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):  # (nested past the limit: the search says)
        return None
    if why is not None:  # refused now, before the search's setup (a --target-params mapping takes seconds)
        raise ValueError(why)
    saved = out / "state.json"
    if cycle >= config.cycles and "stage2" not in doc:  # (saved once the second stage, if any, is done)
        return (f"the search saved in {saved} finished its cycles ({evaluations} evaluations): its second stage, if "
                "any, runs now (scores stored before are read back)")
    if cycle >= config.cycles:
        return (f"the search saved in {saved} is complete ({evaluations} evaluations): its answer is read back "
                "unless the fitness or constraints differ (checked next)")  # session 53: before the refusal
    if before < config.cycles:
        return (f"extending the search saved in {saved} from {before} to {config.cycles} cycles (at cycle {cycle}, "
                f"{evaluations} evaluations) unless its scoring protocol differs (checked next)")
    return (f"resuming the search saved in {saved} at cycle {cycle} of {config.cycles} ({evaluations} evaluations) "
            "unless its scoring protocol differs (checked next)")


def search_run(args: argparse.Namespace) -> tuple[SearchResult, list[Path]]:
    """``swapnas search`` without its printout: checks, OUT's lock, the executor and the store, the search, the found
    arch's ground truth (where the space has one) and the outputs written; the result and the files written
    (:func:`swapnas.search_arch` returns the result)."""
    config = EAConfig(args.population, args.sample, args.mutations, args.cycles, args.crossover)
    refuse_busy_out(args, "search")
    proxy_key = _search_checks(args)
    if config.sample < 2 and config.crossover > 0:  # the EA's crossover takes the tournament's best two
        log.warning("--sample 1: a crossover takes the best two of the tournament, so --crossover %g does nothing; "
                    "give --sample 2 or more, or --crossover 0", config.crossover)
    fresh = not (Path(args.out) / "state.json").is_file()  # (a resumed search scored its population already)
    if fresh and args.max_evals is not None and args.max_evals < config.population:  # only in --help until s. 57
        log.warning("--max-evals %d is below --population %d: the initial population is scored whole (%d "
                    "evaluations), and no cycle starts", args.max_evals, config.population, config.population)
    out = out_folder(args)
    with out_lock(out):  # OUT is this search's until its outputs are written; a second one fails at once
        given = {"score_seed": args.score_seed, "constraints": [args.max_params, args.max_macs],
                 "batch_size": args.batch_size, "repeats": args.repeats,  # (another fitness's --mu/--sigma: its prior)
                 "size_prior": [args.mu, args.sigma] if args.mu is not None and not proxy_key.startswith("swap_reg@")
                 else None}
        line = resume_line(out, config, args.seed, proxy_key, args.space, given)
        if line and getattr(args, "from_python", False):  # search_arch: a log record (session 66: print()ed)
            log.info(line)
        elif line and not (getattr(args, "quiet", False) or getattr(args, "json", False)):
            print(f"swapnas: {line}", file=sys.stderr)  # until session 49 only the progress bar's start said so
        executor, device = executor_of(args)
        with executor, store_in(args) as store:
            result = run_search(
                args.space, args.dataset, config=config, seed=args.seed, store=store, out=out, device=device,
                score_seed=args.score_seed, mu=args.mu, sigma=args.sigma, target_params=args.target_params,
                tolerance=args.tolerance,
                prior=tuple(args.prior) if args.prior else None,
                max_params=args.max_params, max_macs=args.max_macs, max_evals=args.max_evals,
                max_seconds=args.max_seconds, net=args.net, batch_size=args.batch_size, repeats=args.repeats,
                data_dir=args.data_dir, progress=show_progress(args), fitness=args.fitness, refine=args.refine,
                refine_repeats=args.refine_repeats, refine_net=args.refine_net,
                refine_batch_size=args.refine_batch_size, executor=executor,
            )
        if args.space in SEARCH_EXTRAS:
            try:  # the ground truth of the found arch is a bonus: without it the result is still written
                result.extra = SEARCH_EXTRAS[args.space](result, args.data_dir)
            except (FileNotFoundError, ValueError) as exc:
                if getattr(args, "from_python", False):
                    log.warning("no %s ground truth for the found arch (%s)", args.space, exc)
                else:
                    print(f"swapnas: warning: no {args.space} ground truth for the found arch ({exc})", file=sys.stderr)
        return result, write_result(result, out, str(device), scoring_threads(executor))


def search(args: argparse.Namespace) -> int:
    result, written = search_run(args)
    print_report(args, _search_text(result), written, Path(args.out) / "result.json")
    return EXIT_OK
