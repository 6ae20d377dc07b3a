"""Correlate proxies with a benchmark's ground truth: score, store, summarise, plot."""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from .arg_checks import AtMost, whole
from .benchmarks import Benchmark
from .code_changes import other_code
from .data import Batch
from .devices import resolve_device
from .executor_local import scoring_threads
from .executors import Executor
from .fit_check import refuse_unfit
from .files import write_text
from .patterns import SATURATION
from .proxies import Proxy, get_proxy
from .proxies.code import option_text
from .report import correlation_report, psi_of, scatter_plot
from .latex import correlate_table
from .out_checks import api_out
from .results import CorrelateRun, ProxyResult, provenance, strict_json
from .scoring import Protocol
from .session import check_task, error_messages, pick_archs, resolve_for, score_archs
from .spaces import map_rows
from .stats import BOOTSTRAP_RESAMPLES, correlate
from .store import Record, ScoreStore

log = logging.getLogger(__name__)


def _filled(values: np.ndarray, higher_is_better: bool) -> int:
    """Give every NaN of ``values`` (failed archs) the part's worst value over the set, in place (none when
    it failed everywhere); returns how many were filled."""
    failed = np.isnan(values)
    if not failed.any() or failed.all():
        return 0
    values[failed] = values[~failed].min() if higher_is_better else values[~failed].max()
    return int(failed.sum())


def set_level_records(proxy: Proxy, records: dict[str, list[Record]]) -> list[Record]:
    """Per-arch records of a set-level proxy: ``combine`` over the archs whose parts all succeeded, where
    a failed part named in ``proxy.fill_failed`` counts as its worst value over the set (a warning says how
    many)."""
    assert proxy.combine is not None, f"{proxy.name} is not set-level"
    parts = [records[name] for name in proxy.parts]
    values = [np.array([r.value if r.ok else np.nan for r in rs], dtype=float) for rs in parts]
    for name, v in zip(proxy.parts, values):
        count = _filled(v, get_proxy(name).higher_is_better) if name in proxy.fill_failed else 0
        if count:
            log.warning("%s: %s failed on %d of %d archs; they get its worst value over the set", proxy.name,
                        name, count, len(v))
    ok = np.all([np.isfinite(v) for v in values], axis=0)  # register_set refuses a proxy without parts
    combined = proxy.combine([v[ok] for v in values])
    it = iter(combined)
    out = []
    for i, good in enumerate(ok):
        seconds = sum(rs[i].seconds or 0.0 for rs in parts)
        if good:
            out.append(Record("ok", float(next(it)), 0.0, [], seconds, None, None))
        else:
            errors = "; ".join(f"{n}: {rs[i].error}" for n, rs in zip(proxy.parts, parts) if not rs[i].ok)
            error = f"part failed: {errors or 'a non-finite value'}"
            out.append(Record("failed", None, None, [], seconds, None, error))
    return out


def exact_options(p: Proxy) -> dict[str, Any]:
    """``p``'s options as :attr:`ProxyResult.options` records them: numbers, text and flags as they are (full
    precision), any other value as its store key writes it."""
    return {k: v if v is None or isinstance(v, (bool, int, float, str)) else option_text(v, k)
            for k, v in sorted(p.options.items())}


def _filled_archs(proxy: Proxy, records: dict[str, list[Record]]) -> int:
    """The archs :func:`set_level_records` scored with a part of ``proxy.fill_failed`` failed (filled)."""
    if not proxy.fill_failed:
        return 0
    return sum(r.ok and any(not records[part][i].ok for part in proxy.fill_failed)
               for i, r in enumerate(records[proxy.name]))


def _saturated(proxy: Proxy, records: dict[str, list[Record]], ok: np.ndarray, samples: int) -> int:
    """How many of the archs ``proxy`` scored (``ok``) have a SWAP-Score, its own or that of the Ψ it is derived
    from (session 63: a swap_reg whose every Ψ was 2**S, ranked by its size prior alone, had no line), at >=
    ``SATURATION`` of its 2**S ceiling, S = ``samples``: the rows each hooked map holds (the batch size, times the
    space's ``MAP_ROWS_PER_SAMPLE``; 0 for other proxies). The other ceiling, the hooked neuron count, is not stored
    with a score: ``swap_score``'s warning names it while scoring."""
    if (psi := psi_of(proxy)) is None:
        return 0
    values = np.array([r.value if r.ok else np.nan for r in records[psi]], dtype=float)[ok]
    with np.errstate(divide="ignore", invalid="ignore"):  # log2: 2**S overflows a float from S = 1024 on
        return int((np.log2(values) >= np.log2(SATURATION) + samples).sum())


def _checked_proxies(bench: Benchmark, task: str, proxies: list[Proxy] | list[str] | str, n_archs: int | None,
                     protocol: Protocol, batch: Batch) -> list[Proxy]:
    """The proxies, after what ``correlate`` checks of its flags (session 65: from Python ``best`` was the registry's
    alias and not the space's fitness, a protocol of another task was correlated with this task's ground truth, a
    proxy no network of the space can take or a swap_reg without its prior stored a failure for every arch, and
    ``n_archs`` of 2.5 or beyond the benchmark's archs reached the sampler)."""
    check_task(bench, task)
    if (protocol.space, protocol.dataset) != (bench.space, task):
        raise ValueError(f"the protocol scores {protocol.space} networks on {protocol.dataset}, and the task "
                         f"correlated is {bench.name} {task} ({bench.space}): configure the protocol for the task, "
                         "configure(space, task, …)")
    if n_archs is not None and whole("n_archs", n_archs, 1) > (held := len(bench.archs_for(task))) \
            and not isinstance(n_archs, AtMost):  # (the command's default --archs: at most)
        raise ValueError(f"n_archs={n_archs} is more than the {held} archs of {bench.name} {task}: give at most "
                         f"{held}, or None for all")
    if not (proxies.strip(" ,") if isinstance(proxies, str) else proxies):  # (before resolve_for: it names --proxies)
        raise ValueError(f"proxies={proxies!r}: no proxies to score; give at least one name or Proxy (see "
                         "swapnas.list_proxies())")
    names = isinstance(proxies, str) or all(isinstance(p, str) for p in proxies)  # names in a list too (session 64)
    asked = (proxies if isinstance(proxies, str) else ",".join(cast(list[str], proxies))) if names else None
    proxy_list = resolve_for(bench.space, asked) if asked is not None else cast(list[Proxy], list(proxies))
    if unset := [p.name for p in proxy_list if any(v is None for v in p.options.values())]:
        raise ValueError(f"{', '.join(unset)} has options without a default (swap_reg: mu and sigma): give the "
                         "proxies configure(space, task, proxies, …) returns, which carry the space's size prior")
    refuse_unfit(bench.space, proxy_list, protocol, batch, "proxies")
    return proxy_list


def run_correlation(
    *,
    bench: Benchmark,
    task: str,
    proxies: list[Proxy] | list[str] | str,
    n_archs: int | None,
    protocol: Protocol,
    batch: Batch,
    store: ScoreStore,
    device: torch.device | str,
    retry_failed: bool = False,
    progress: bool = True,
    executor: Executor | None = None,
) -> CorrelateRun:
    """Score ``n_archs`` sampled archs of ``bench``'s ``task`` (resuming from ``store``) and correlate; ``best`` is the
    space's recommended fitness, as in ``correlate`` (:func:`_checked_proxies`)."""
    checked = _checked_proxies(bench, task, proxies, n_archs, protocol, batch)
    return correlate_proxies(bench=bench, task=task, proxies=checked, n_archs=n_archs, protocol=protocol, batch=batch,
                             store=store, device=device, retry_failed=retry_failed, progress=progress,
                             executor=executor)


def correlate_proxies(*, bench: Benchmark, task: str, proxies: list[Proxy], n_archs: int | None, protocol: Protocol,
                      batch: Batch, store: ScoreStore, device: torch.device | str, retry_failed: bool = False,
                      progress: bool = True, executor: Executor | None = None) -> CorrelateRun:
    """:func:`run_correlation` of proxies already checked against the task and its protocol (``grid``'s columns, by
    ``configure`` and ``not_applicable``; none, where nothing applies to a column); a device's name is resolved
    (``"auto"``: the run records the device it scored on, session 67)."""
    device = resolve_device(device) if isinstance(device, str) else device
    proxy_list = proxies
    archs = pick_archs(bench.archs_for(task), n_archs, protocol.seed)
    if len(archs) < 3:  # (stats.correlate: ρ and τ need three pairs)
        log.warning("%s/%s: %d arch%s: a rank correlation needs at least 3, so every statistic will be NaN",
                    bench.name, task, len(archs), "" if len(archs) == 1 else "s")
    counts: dict[str, int] = {}
    t0 = time.perf_counter()
    if log.isEnabledFor(logging.DEBUG):  # (-v; the batch's digest hashes it whole)
        log.debug("%s/%s: %d archs, proxies %s, protocol %s, batch %s, store %s, device %s", bench.name, task,
                  len(archs), ", ".join(p.key for p in proxy_list), protocol.describe(), batch.digest, store.path,
                  device)
    records = score_archs(archs, bench.space, proxy_list, protocol, batch, store, device, retry_failed, progress,
                          f"{bench.name}/{task}", executor, counts, bases=True)
    reused = counts["reused"]
    per_arch = [p for p in proxy_list if not p.parts]
    other = other_code(store, per_arch, bench.space, protocol.net_version, reused + counts["partly"])
    log.debug("%s/%s: scored in %.1f s, %d archs reused whole from the store", bench.name, task,
              time.perf_counter() - t0, reused)  # (session 66: -v said nothing on correlate and grid)
    for p in proxy_list:
        if p.parts:
            records[p.name] = set_level_records(p, records)
    wall = time.perf_counter() - t0
    acc = bench.accuracies(archs, task)
    if len(archs) >= 3 and len(set(acc.tolist())) == 1:  # session 53: all-NaN statistics without a word
        log.warning("%s/%s: every arch has the same ground truth (%g): a rank correlation needs some to differ, so "
                    "every statistic will be NaN", bench.name, task, acc[0])
    params = np.array([bench.params_m(a, task) for a in archs])
    results, scores = [], {}
    rows = map_rows(bench.space, task)  # samples a hooked map holds: S·rows
    for p in proxy_list:
        recs = records[p.name]
        ok = np.array([r.ok for r in recs])
        vals = np.array([r.value if r.ok else np.nan for r in recs], dtype=float)
        c = correlate(vals[ok], acc[ok], params[ok], p.higher_is_better, BOOTSTRAP_RESAMPLES, protocol.seed)
        secs = [r.seconds for r in recs if r.ok and r.seconds is not None]
        errors = error_messages(recs)
        results.append(ProxyResult(
            p.name, p.key, bench.name, task, c.n, int((~ok).sum()), c.spearman, c.kendall, c.spearman_ci,
            c.top10_spearman, c.spearman_given_params, float(np.mean(secs)) if secs else float("nan"),
            p.higher_is_better, errors[:5], _saturated(p, records, ok, protocol.batch_size * rows), c.top10_n,
            c.top10_precision, _filled_archs(p, records), exact_options(p),
        ))
        scores[p.name] = [float(v) if np.isfinite(v) else None for v in vals]
    where = f"{device}" + (" on Ray workers" if executor is not None and executor.name == "ray" else "")
    boot = {"resamples": BOOTSTRAP_RESAMPLES, "seed": protocol.seed, "interval": "percentile 95 %, paired resamples",
            "draws": "numpy.random.default_rng(seed).integers over the archs with a score, in the order of archs"}
    return CorrelateRun(protocol.describe(), bench.truth_text(task), batch.note, results, scores,
                        [float(a) for a in acc], [str(a) for a in archs], wall, reused, counts["partly"], where, boot,
                        [float(v) if np.isfinite(v) else None for v in params], other, scoring_threads(executor))


def _plots_of_earlier_run(out: Path) -> set[Path]:
    """The scatter plots an earlier correlate wrote in ``out``: one per proxy its ``results.json`` names."""
    try:
        results = json.loads((out / "results.json").read_text(encoding="utf-8"))["results"]
        names = [f"scatter_{r['proxy']}.png" for r in results]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):  # none, or not ours: nothing is removed
        return set()
    return {out / n for n in names if (out / n).parent == out}  # a file name, never a path elsewhere


def write_outputs(run: CorrelateRun, out: Path) -> list[Path]:
    """``results.json`` (with provenance), ``results.csv`` (one row per arch: accuracy, every proxy's score
    and ``params_m``, the benchmark's #params that ρ|params controls for), ``report.md`` (protocol, table,
    plots), ``results.tex`` (the table for a paper) and one scatter plot per proxy under ``out``; the plots of an
    earlier run in ``out`` of proxies this run has not are removed (session 52: they stayed beside the new report, as if of this run)."""
    out = api_out("correlate", out)  # (session 65: the outputs of a search, say, were replaced)
    out.mkdir(parents=True, exist_ok=True)
    earlier = _plots_of_earlier_run(out)
    doc: dict[str, Any] = {
        "provenance": provenance(run.device, run.threads),
        "protocol": run.protocol,
        # the benchmark by its own name (the protocol names the space: darts for nb301 and darts_swap; session 52)
        "benchmark": {"name": run.results[0].space, "task": run.results[0].dataset} if run.results else None,
        "ground_truth": run.ground_truth,
        "batch_note": run.batch_note,
        "wall_seconds": run.wall_seconds,
        "reused_archs": run.reused,
        "partly_reused_archs": run.partly_reused,
        "reused_from_other_code": run.other_code,  # (session 68: said on the terminal alone)
        "bootstrap": run.bootstrap,
        "results": [asdict(r) for r in run.results],
        "archs": run.archs,
        "accuracy": run.accuracy,
        "params_m": run.params_m,
        "scores": run.scores,
    }
    path = out / "results.json"
    write_text(path, strict_json(doc))
    table, rows = out / "results.csv", io.StringIO(newline="")
    writer = csv.writer(rows)
    writer.writerow(["arch", "accuracy", *run.scores, "params_m"])  # params_m: ρ|params's control
    sizes = run.params_m or [None] * len(run.archs)
    for i, arch in enumerate(run.archs):
        writer.writerow([arch, run.accuracy[i], *("" if v[i] is None else v[i] for v in run.scores.values()),
                         "" if sizes[i] is None else sizes[i]])
    write_text(table, rows.getvalue())  # whole or not at all (session 59: a full disk left it cut)
    plots = [scatter_plot(run.scores[r.proxy], run.accuracy, r, run.ground_truth, out) for r in run.results]
    for stale in earlier - set(plots):
        stale.unlink(missing_ok=True)
    report = out / "report.md"
    write_text(report, correlation_report(run, doc["provenance"], [p.name for p in plots]))
    tex = out / "results.tex"
    write_text(tex, correlate_table(run.results, doc["provenance"]["command"]))
    return [path, table, report, tex, *plots]



