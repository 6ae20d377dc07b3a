"""SWAP-NAS end to end: fitness, size control, budget, resume and outputs.

The EA itself is :class:`~swapnas.search.evolution.Evolution`; this module scores what it
asks for through :func:`swapnas.session.score_archs` (the same path as ``correlate`` and
``grid``: any executor, so Ray workers or the prefetching local executor score searches too;
every score goes to the SQLite store, so nothing is ever scored twice, even across searches
and crashes), keeps the search state in ``OUT/state.json`` after every cycle, and writes the
result.

Fitness (``--fitness``): ``best`` by default, the recommended fitness of the space
(:func:`session.best_for`) under its ``FITNESS_PROTOCOL``; ``swap_reg`` is the paper's
SWAP-NAS: regularised SWAP of the space's proxy network (``SCORING_DEFAULTS``, or ``--net``),
with μ/σ from ``--mu/--sigma``, from ``--target-params`` (:func:`final.target_prior`) or from
the space's size rule, which reads no label when applied (its ``SEARCH_PRIOR``, else the correlation rule; the
constants of both were chosen on the NB201 dev sample: CIFAR-10 validation accuracy of the 1000-arch seed-0
sample, docs/protocol.md). The scores' seed
(``score_seed``) is separate from the EA's seed, so searches with different seeds share one store.
The fitness, its size prior and the second stage are :mod:`.fitness`.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from ..benchmarks import get_benchmark
from ..code_changes import other_code
from ..data import notes_once
from ..executors import Executor
from ..files import out_lock, write_text
from ..fit_check import refuse_unfit
from ..progress import Bar, bar_interval
from ..proxies import Proxy, get_proxy, list_proxies
from ..report import draw_cells, made_with, md_row, md_text, search_curve
from ..results import provenance, strict_json
from ..scoring import Protocol
from ..session import configure, protocol_defaults, score_archs, scoring_net
from ..spaces import get_space
from ..store import Record, ScoreStore
from .checks import checked
from .evolution import EAConfig, Evolution, NoFeasibleArchs
from .result import SearchResult
from .state import FITNESS_FLAGS, _resume, _save, _saved_seconds, fitness_mismatch, timed_mapping  # noqa: F401
from .final import final_macs, final_net, final_size, per_input, random_sizes
from .fitness import (Fitness, SecondStage, check_size_flags, choose_fitness, refine_stage, second_stage, size_prior,
                      net_text, stage_configure, warn_idle_stage)

#: the search's public names (``Fitness``, ``SecondStage`` and the stage functions live in :mod:`.fitness`)
__all__ = ["Fitness", "SEARCH_EXTRAS", "SearchResult", "SecondStage", "choose_fitness", "evolve", "flexibert_extras",
           "nb201_extras", "out_lock", "refine_stage", "run_search", "search_report", "second_stage", "size_prior",
           "stage_text", "write_result"]

log = logging.getLogger(__name__)


def evolve(ea: Evolution, score: Callable[[list], list[Record]], fitness: Fitness, state_path: Path,
           fitness_id: dict, *, max_evals: int | None = None, max_seconds: float | None = None,
           progress: bool = True, desc: str = "search", seconds_before: float = 0.0) -> float:
    """Ask, score, tell until the EA is done or a budget is spent; state saved after every cycle, with
    the loop's seconds over every process (``seconds_before``: the earlier ones'). Returns the seconds
    spent here."""
    t0 = time.perf_counter()
    with Bar(total=ea.config.cycles + 1, initial=ea.cycle + bool(ea.population), desc=desc, unit="step",
              disable=not progress, dynamic_ncols=True,
              mininterval=bar_interval()) as bar:  # steps: the initial population, then each cycle
        while not ea.done:
            if max_evals is not None and len(ea.history) >= max_evals:
                break
            if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                break
            archs = ea.ask()
            recs = score(archs) if archs else []
            ea.tell(archs, [fitness.value(a, r) for a, r in zip(archs, recs)])
            _save(state_path, {"fitness": fitness_id, "ea": ea.state_dict(),
                               "seconds": seconds_before + time.perf_counter() - t0})
            best, value = ea.best  # (once: it parses the best arch)
            bar.set_postfix(cycle=f"{ea.cycle}/{ea.config.cycles}", best=f"{value:.4g}", evals=len(ea.history),
                            refresh=False)  # drawn by update, at the bar's interval (session 70: every cycle in a log)
            bar.update(1)
            log.debug("cycle %d/%d: %d evaluated, best %s = %.6g", ea.cycle, ea.config.cycles, len(ea.history),
                      best, value)  # (the -v lines; session 66: -v said nothing)
    return time.perf_counter() - t0


def check_started(ea: Evolution, max_seconds: float | None) -> None:
    """Refuse a search whose ``--max-seconds`` ran out before its first evaluation (it has no answer; was
    :attr:`Evolution.best`'s bare "nothing evaluated yet")."""
    if not ea.history and max_seconds is not None:
        raise ValueError(f"--max-seconds {max_seconds:g} ran out before the first evaluation: nothing was "
                         "evaluated, so the search has no answer; rerun with a larger --max-seconds (it is checked "
                         "before each cycle, and the first cycle scores the whole initial population of "
                         f"{ea.config.population} archs)")


def check_failures(history: list[dict], proxy: Proxy, state_path: Path) -> None:
    """Refuse a search whose every evaluation failed to score (it has no answer: every arch ranks last, at
    -inf); warn when some did (they rank last)."""
    failed = sum(not math.isfinite(h["fitness"]) for h in history)
    if failed and failed == len(history):  # (session 68: it named "OUT/state.json", and deleting it alone replayed
        # the stored failures)
        raise ValueError(f"all {failed} evaluated archs failed to score with {proxy.key} (the store's records name "
                         "the error): the search has no answer; failed scores are not retried, so fix the cause, "
                         f"then rerun with a new --store, and another --out or {state_path} deleted")
    if failed:
        log.warning("%d of the %d evaluated archs failed to score with %s: they rank last (the store's records "
                    "name the error)", failed, len(history), proxy.key)


def _scorer(space: str, proxy: Proxy, protocol: Protocol, batch: Any, store: ScoreStore, device: torch.device,
            executor: Executor | None, stage_bar: bool = False, reused: Counter[str] | None = None,
            key: str = "archs") -> Callable[[list], list[Record]]:
    """The fitness proxy's records for a list of archs, through :func:`session.score_archs` (``stage_bar``: with a
    progress bar named "second stage"; the EA's loop has its own); ``reused[key]`` counts the archs whose record was
    read from the store."""
    def score(archs: list) -> list[Record]:
        counts: dict[str, int] = {}
        records = score_archs(archs, space, [proxy], protocol, batch, store, device, progress=stage_bar,
                              desc="second stage" if stage_bar else "", executor=executor, counts=counts)
        if reused is not None:
            reused[key] += counts["reused"]
        return records[proxy.name]
    return score


def _fitness_id(fit: Fitness, protocol: Protocol, score_seed: int, constraints: list) -> dict:
    """What a saved search state must have been made with besides the EA's settings (its ``fitness`` entry): the
    proxy, its size prior, the scoring protocol and the constraints (:data:`FITNESS_FLAGS` names the flag of each)."""
    return {"space": protocol.space, "proxy": fit.proxy.key, "size_prior": None if fit.paper else [fit.mu, fit.sigma],
            "protocol": protocol.fingerprint, "net": protocol.net_key, "batch_size": protocol.batch_size,
            "repeats": protocol.repeats, "score_seed": score_seed, "constraints": constraints}


def _evolve_explained(ea: Evolution, limits: tuple[ModuleType, dict, float | None, float | None], *args: Any,
                      **kwargs: Any) -> float:
    """:func:`evolve`; a :class:`NoFeasibleArchs` gets what random archs measure against ``limits`` (the space's module,
    its final network, --max-params and --max-macs: :func:`random_sizes`)."""
    try:
        return evolve(ea, *args, **kwargs)
    except NoFeasibleArchs as exc:
        text = random_sizes(*limits, tries=ea.max_tries)
        raise NoFeasibleArchs(f"{exc}. {text}" if text else f"{exc}") from None


def _limits(mod: ModuleType, final: dict, max_params: float | None, max_macs: float | None) -> dict[str, Any]:
    """The EA's ``feasible`` and ``excess`` for ``--max-params`` / ``--max-macs``: the excess is the largest relative
    overshoot of the final network's size over a limit (<= 0 within them; None without a limit)."""
    def excess(arch: Any) -> float:
        over = [] if max_params is None else [final_size(mod, arch, final) / max_params - 1]
        return max(over + ([] if max_macs is None else [final_macs(mod, arch, final) / max_macs - 1]))
    return {"feasible": _feasible(mod, final, max_params, max_macs),
            "excess": None if max_params is None and max_macs is None else excess}


def _feasible(mod: ModuleType, final: dict, max_params: float | None, max_macs: float | None) -> Callable[[Any], bool]:
    """Whether an arch's final network is within ``--max-params`` / ``--max-macs`` (millions)."""
    def feasible(arch: Any) -> bool:
        if max_params is not None and final_size(mod, arch, final) > max_params:
            return False
        return max_macs is None or final_macs(mod, arch, final) <= max_macs
    return feasible


@notes_once
@checked
def run_search(
    space: str, dataset: str | None, *, config: EAConfig, seed: int, store: ScoreStore, out: Path | str,
    device: torch.device, score_seed: int = 0, mu: float | None = None, sigma: float | None = None,
    target_params: float | None = None, tolerance: float | None = None, prior: tuple[float, float] | None = None,
    max_params: float | None = None, max_macs: float | None = None, max_evals: int | None = None,
    max_seconds: float | None = None, net: dict | None = None, batch_size: int | None = None,
    repeats: int | None = None, data_dir: str | None = None, progress: bool = True, fitness: str = "best",
    refine: int | None = None, refine_repeats: int | None = None, refine_net: dict | None = None,
    refine_batch_size: int | None = None, executor: Executor | None = None,
) -> SearchResult:
    """Run (or resume) a search; state in ``out/state.json``, scores in ``store``; sizes in millions (``max_params``,
    ``target_params``: the final network's parameters; ``max_macs``: its multiply-adds), as the command's flags.
    ``fitness``: any per-arch proxy (default ``best``, under the space's ``FITNESS_PROTOCOL``); ``swap_reg`` is the
    paper's SWAP-NAS. Size prior (``mu``: thousands of the scored network's parameters, ``sigma``: thousands²):
    :func:`size_prior`; ``swap_reg``'s factor f(Θ), another fitness's added ln f(Θ) (:class:`Fitness`), only when a
    size flag is given. Second stage (:class:`SecondStage`, default for ``best``: the space's): ``refine`` = k > 1
    re-scores the k fittest archs with ``refine_repeats`` inits, ``refine_batch_size`` samples and the network changed
    by ``refine_net``, returning the best. ``executor`` scores (default: here); arguments checked first (@checked)."""
    assert dataset is not None and tolerance is not None  # (set by @checked)
    out, mod, final = Path(out), get_space(space), final_net(space, dataset)
    chosen, stage = choose_fitness(space, fitness, refine, refine_repeats, refine_net, refine_batch_size)
    sizes: dict[str, Any] = {"mu": mu, "sigma": sigma, "target_params": target_params, "tolerance": tolerance,
                             "prior": prior, "progress": progress}
    check_size_flags(chosen, mu=mu, sigma=sigma, target_params=target_params, prior=prior)
    proxy_net = scoring_net(space, dataset, net, protocol_defaults(space, [chosen])["net"])
    mu, sigma, mapping = size_prior(space, chosen, proxy_net, final, **sizes)
    reg = chosen.name == "swap_reg"  # (another fitness's prior is the Fitness's own, not the proxy's)
    protocol, batch, (proxy,) = configure(space, dataset, [chosen], seed=score_seed, batch_size=batch_size,
                                          repeats=repeats, net=net, data_dir=data_dir, mu=mu if reg else None,
                                          sigma=sigma if reg else None)
    mu, sigma = (proxy.options["mu"], proxy.options["sigma"]) if proxy.name == "swap_reg" else (mu, sigma)
    refuse_unfit(space, [proxy], protocol, batch, "--fitness")  # before the EA spends its budget
    warn_idle_stage(space, dataset, chosen, stage, protocol, net)
    fit = Fitness(proxy, mod, protocol.net, batch.num_classes, mu, sigma)
    ea = Evolution(mod, config, seed, **_limits(mod, final, max_params, max_macs))
    fitness_id, reused = _fitness_id(fit, protocol, score_seed, [max_params, max_macs]), Counter[str]()
    with out_lock(out):
        known = {**store.protocols(), protocol.fingerprint: protocol.describe()}  # a refusal names what differs
        before, restored = _resume(ea, out / "state.json", fitness_id, known), len(ea.history)
        first = _scorer(space, proxy, protocol, batch, store, device, executor, reused=reused)
        wall = before + _evolve_explained(ea, (mod, final, max_params, max_macs), first, fit,
                                          out / "state.json", fitness_id, max_evals=max_evals, max_seconds=max_seconds,
                                          progress=progress, desc=f"search {space}/{dataset}", seconds_before=before)
        check_started(ea, max_seconds)
        check_failures(ea.history, proxy, out / "state.json")
        stage_protocol = stage_configure(space, dataset, chosen, final, protocol, (mu, sigma), sizes, seed=score_seed,
                                         data_dir=data_dir)
        t0 = time.perf_counter()
        (best, value), refined = second_stage(
            ea, stage, protocol, fit, net or {}, stage_protocol,
            lambda p, pr, b: _scorer(space, p, pr, b, store, device, executor, progress, reused, "stage"))
        wall += _saved_seconds(out / "state.json", repr(stage), time.perf_counter() - t0)  # the search's include it
        mapping = timed_mapping(out / "state.json", mapping)
    return SearchResult(
        space, dataset, str(best), value, final_size(mod, best, final), final_macs(mod, best, final), len(ea.history),
        ea.cycle, wall + (mapping or {}).get("seconds", 0.0), seed, asdict(config), protocol.describe(), mu, sigma,
        mapping, {"max_params_m": max_params, "max_macs_m": max_macs}, ea.history, ea.snapshots,
        fitness_proxy=proxy.key, refine=refined, reused=reused["archs"], restored=restored,
        stopped_by=_stopped_by(ea, max_evals), reused_from_other_code=_others(store, proxy, protocol, reused, restored),
        fitness_negated=not proxy.higher_is_better)


def _others(store: ScoreStore, proxy: Proxy, protocol: Protocol, reused: Counter[str], restored: int) -> dict[str, str]:
    """What the search's result records of fitness values that other code made, where it reused some: read from the
    store by either stage (``reused``), or ``restored`` from its state (session 68; the second review: restored ones
    were left out). The second stage scores the same metric (the same name's code record) under another protocol."""
    return other_code(store, [proxy], protocol.space, protocol.net_version, sum(reused.values()) + restored)


def _stopped_by(ea: Evolution, max_evals: int | None) -> str | None:
    """The budget flag that stopped the EA before its last cycle (None: it ran them all)."""
    if ea.done:
        return None
    return "--max-evals" if max_evals is not None and len(ea.history) >= max_evals else "--max-seconds"


def nb201_extras(result: SearchResult, data_dir: str | None) -> dict:
    """True validation / test accuracy of the found NB201 arch on the searched dataset, its rank in the space and
    the regret; under ``datasets`` the same for every NB201 dataset (the NAS-Bench-201 paper's table: the arch
    found on one dataset, evaluated on all three)."""
    benches: dict[str, Any] = {m: get_benchmark("nb201", data_dir, metric=m) for m in ("valid", "test")}  # NB201's table
    index = benches["valid"].index_of(get_space("nb201").parse(result.best))  # one table: the same row in both
    per: dict[str, dict] = {}
    for metric, bench in benches.items():
        for dataset in bench.tasks:
            col = bench.column(bench.truth(dataset).column)
            acc = float(col[index])
            per.setdefault(dataset, {}).update({
                f"{metric}_accuracy": acc, f"{metric}_optimum": float(col.max()),
                f"{metric}_rank": int((col > acc).sum()) + 1,  # the best rank of archs tied with it
                f"{metric}_tied": int((col == acc).sum()),  # archs with its accuracy, itself included
                f"{metric}_regret": float(col.max()) - acc})
    return {**per[result.dataset], "datasets": per}


def flexibert_extras(result: SearchResult, data_dir: str | None) -> dict:
    """The found FlexiBERT arch's score on the search's task if the benchmark has it; otherwise its
    nearest benchmark arch's (fewest differing design choices), with that arch and the distance.
    ``rank``: among the benchmark's distinct archs on that task (the best of ``tied`` archs with that score)."""
    bench: Any = get_benchmark("flexibert", data_dir)  # FlexiBERT's table: nearest
    found = get_space("flexibert").parse(result.best)
    near, dist = bench.nearest(found)
    scores = bench.accuracies(bench.archs_for(result.dataset), result.dataset)
    score = float(bench.accuracies([near], result.dataset)[0])
    return {"in_benchmark": int(dist == 0), "benchmark_arch": str(near), "distance": dist,
            f"{result.dataset}_score": score, "rank": int((scores > score).sum()) + 1,
            "tied": int((scores == score).sum()), "of": len(scores), "optimum": float(scores.max())}


#: space → the ground truth of a found arch added to its search result (``extra``), where a benchmark has it
SEARCH_EXTRAS = {"nb201": nb201_extras, "flexibert": flexibert_extras}


def write_result(result: SearchResult, out: Path, device: str | None = None,
                 threads: int | None = None) -> list[Path]:
    """``result.json`` (with provenance, naming ``device`` where given: session 67, and the scoring processes' torch
    ``threads``: session 70), ``search_curve.png``, ``cell.png`` and ``report.md`` under ``out``."""
    prov = provenance(device, threads)
    path = out / "result.json"
    write_text(path, strict_json({"provenance": prov, **asdict(result)}))
    mod = get_space(result.space)
    label, prior = fitness_label(result)
    stage = stage_scored(result.refine)  # the curve is the first stage's; the second stage's pick is marked on it
    curve = search_curve(result.snapshots, result.history, out / "search_curve.png",
                         f"{result.space}/{result.dataset} seed {result.seed}{prior}{', first stage' if stage else ''}",
                         label,
                         result.best if stage else None)
    cell = draw_cells(mod.cell_edges(mod.parse(result.best)), out / "cell.png",
                      result.best if len(result.best) <= 150 else "")  # (FlexiBERT's hidden size has no edge)
    report = out / "report.md"
    write_text(report, search_report(result, prov))
    return [path, curve, cell, report]


def fitness_text(value: float) -> str:
    """A fitness as every printout and report.md write it: 6 significant digits, a value of a million or more whole
    (session 70: 4 digits in the second stage's line made 43966 and 43971 both "4.397e+04", 6 made "1.23457e+06")."""
    return f"{value:.0f}" if math.isfinite(value) and abs(value) >= 1e6 else f"{value:.6g}"


def stage_scored(refine: dict | None) -> bool:
    """Whether a second stage ran and re-scored an arch, so that the search returned its best (every re-score failed:
    the first stage's best, and its fitness)."""
    return any(map(_rescored, (refine or {}).get("shortlist", [])))


def _rescored(entry: dict) -> bool:
    """Whether a shortlist entry's second-stage value is a number (a failed re-score: -inf, or null read back)."""
    return isinstance(entry["refined"], float) and math.isfinite(entry["refined"])


def stage_text(result: SearchResult) -> str | None:
    """One line on the search's second stage (None: it had none)."""
    r = result.refine
    if not r:
        return None
    scored = stage_scored(r)
    rank = next((i for i, c in enumerate(r["shortlist"], 1) if c["arch"] == result.best), None)
    net = net_text(r["net"])
    fitness = [c.get("fitness") for c in r["shortlist"]]  # the first stage's values, best first
    first = (f" (first-stage fitness {fitness_text(fitness[rank - 1])}; the first stage's best "
             f"{fitness_text(fitness[0])})"
             if rank and all(isinstance(f, float) for f in (fitness[0], fitness[rank - 1])) else "")
    where = (f"the arch the first stage ranked #{rank}{first}: the fitness shown is its second-stage value" if scored
             else "the first stage's best (every re-score failed)")
    prior = f", its size prior mu={r['mu']:g}, sigma={r['sigma']:g}" if r.get("mu") is not None else ""
    failed = sum(not _rescored(c) for c in r["shortlist"])
    lost = f" ({failed} of the re-scores failed: they rank last)" if failed and scored else ""
    return (f"Second stage: the {len(r['shortlist'])} fittest re-scored on {net}, S={r['batch_size']}, "
            f"R={r['repeats']}{prior}; returned {where}{lost}")


def extra_cells(extra: dict) -> dict[str, str]:
    """The ground-truth table's cells: accuracies, scores and regrets to two decimals, ranks and counts as integers;
    a rank shared with other archs (``…_tied`` > 1) is the best of them: ``1154 (8 tied)``."""
    cells = {}
    for key, v in extra.items():
        if key.endswith("tied") or isinstance(v, dict):  # a dict: another table (NB201's ``datasets``)
            continue
        tied = extra.get(key[:-len("rank")] + "tied", 1) if key.endswith("rank") else 1
        text = f"{v:.2f}" if isinstance(v, float) else f"{v}"
        cells[key] = f"{text} ({tied} tied)" if tied > 1 else text
    return cells


def prior_text(result: SearchResult) -> str:
    """The size prior the fitness used: ``mu=… sigma=…``, or ``none``."""
    return "none" if result.mu is None else f"mu={result.mu:.4g} sigma={result.sigma:.4g}"


def fitness_name(result: SearchResult) -> tuple[str, bool]:
    """The name of the metric the search's fitness is, and whether the fitness is it negated (lower-is-better)."""
    name = result.fitness_proxy.split("@")[0]
    return name, name in list_proxies() and not get_proxy(name).higher_is_better


def fitness_label(result: SearchResult) -> tuple[str, str]:
    """The search curve's y label and what its title adds: the metric (session 68: the plot said "fitness" of which
    metric nowhere), "negated" where it is, and the size prior's term where the fitness adds one, its μ and σ in the
    title (session 69: it was left unsaid; ``swap_reg``'s prior is inside the metric, which its name says)."""
    name, negated = fitness_name(result)
    prior = result.mu is not None and result.sigma is not None and name != "swap_reg"
    return (f"fitness: {name}{' negated (lower is better)' if negated else ''}{' − (Θ − μ)²/σ' if prior else ''}",
            f"; size prior {prior_text(result)}, Θ in thousands of params" if prior else "")


def search_notes(result: SearchResult) -> list[str]:
    """What the printout and report.md both say beside the arch: a fitness that is a metric's negation, a search
    stopped early by its budget, a missed ``--target-params``, fitness values reused from a store that records other
    code (session 68)."""
    lines = []
    name, negated = fitness_name(result)
    if negated:  # (session 63: te_nas_ntk's -32.9 unsaid)
        lines.append(f"the fitness is {name} negated: {name} is lower-is-better, and the search maximises its "
                     "fitness")
    if result.cycles < result.config.get("cycles", result.cycles):  # (stopped_by: None in a result before session 61)
        lines.append(f"stopped after cycle {result.cycles} of {result.config['cycles']} by "
                     f"{result.stopped_by or '--max-evals / --max-seconds'}: rerun the same command with a larger "
                     "budget (or none) to continue it")
    mapping = result.size_mapping or {}
    target, tolerance = mapping.get("target_m"), mapping.get("tolerance", 0.0)
    if target and abs(result.params_m - target) > tolerance * target:
        lines.append(f"the final network's {result.params_m:.3f} M params miss --target-params {target:g}M by more "
                     f"than --tolerance {tolerance:g} (the size prior aims, it does not constrain: add --max-params "
                     "for a limit)")
    if other := result.reused_from_other_code:
        lines.append(f"{result.reused} fitness value(s) were reused from the store, which records other code than "
                     "this run's for " + ", ".join(f"{n} (recorded {t})" for n, t in sorted(other.items()))
                     + ": see the run's ProxyCodeWarning or NetworkCodeWarning")
    return lines


def search_report(result: SearchResult, prov: dict) -> str:
    """``report.md`` of a search: the returned arch, its size, its ground truth if known, the plots."""
    target = (result.size_mapping or {}).get("target_m")
    lines = [f"# Search: {result.space} / {result.dataset}, seed {result.seed}", "",
             f"Made by `{prov['command']}` ({made_with(prov)}).",  # (numpy, scipy, device: as correlate's, session 69)
             "", f"| returned arch | fitness{' (second stage, below)' if stage_scored(result.refine) else ''} | "
             "proxy | evaluations | cycles | params (M) | multiply-adds (M"
             f"{per_input(result.space, result.dataset, ', one {}')}) | wall (s) |",
             "|---|---|---|---|---|---|---|---|",
             md_row([f"`{result.best}`", fitness_text(result.fitness), result.fitness_proxy, result.evaluations,
                     result.cycles, f"{result.params_m:.3f}", f"{result.macs_m:.1f}", f"{result.wall_seconds:.1f}"]),
             "", f"Size prior of the fitness: {prior_text(result)}"
             + (f" (--target-params {target:g}M)" if target else "") + ".", "",
             *(f"**Note:** {md_text(note)}." for note in search_notes(result)), *([""] if search_notes(result) else [])]
    if result.refine:
        lines += [f"{stage_text(result)}.", ""]
    if result.extra:
        shown = extra_cells(result.extra)
        # NB201: the arch found on the searched dataset, evaluated on every dataset, the searched one first
        others = {d: e for d, e in result.extra.get("datasets", {}).items() if d != result.dataset}
        label = f"{result.dataset} (searched)" if others else result.dataset
        rows = [md_row([label, *shown.values()]), *(md_row([d, *(extra_cells(e)[k] for k in shown)])
                                                     for d, e in others.items())]
        lines += [md_row(["ground truth", *shown]), "|---" * (len(shown) + 1) + "|", *rows, ""]
        if result.extra.get("in_benchmark") == 0:  # FlexiBERT: the row is another arch's (session 51)
            d = result.extra["distance"]
            lines += [f"The returned arch is not in the benchmark: the score, rank and optimum are those of its "
                      f"nearest benchmark arch (`benchmark_arch`, {d} design choice{'' if d == 1 else 's'} differ"
                      f"{'s' if d == 1 else ''}), not its own.", ""]
    lines += ["![search curve](search_curve.png)", "", "![cell](cell.png)", "",
              "Data: [result.json](result.json) (config, protocol, every evaluation).", ""]
    return "\n".join(lines)
