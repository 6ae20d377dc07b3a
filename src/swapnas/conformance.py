"""Conformance check: our metric implementations against NASLib's stored zero-cost scores.

NASLib (NAS-Bench-Suite-Zero, Krishnakumar et al., NeurIPS 2022) ships, per space
and dataset, a few hundred archs with the scores of about a dozen training-free
metrics and each arch's validation accuracy. This module scores the same archs
with our implementation of every metric NASLib stores (and that our registry
has), under a protocol as close as we can get to NASLib's zero-cost setup, and
reports per metric the Spearman ρ between our scores and NASLib's, and each one's
ρ with the accuracy NASLib stores. Sources (:data:`SOURCES`): NB201 (three datasets),
NB101 and NB301 (CIFAR-10; NB301's archs are scored in our ``darts`` space).

The protocol (:data:`NASLIB_PROTOCOL`): the network whose size NASLib stores
(:attr:`NaslibSource.net`; NB201: C=16, N=5; NB101: C=128, 3 stacks of 3 cells;
NB301: C=32, 8 cells, edge ops' BatchNorms without scale/shift, each pool followed by a BatchNorm
without scale/shift, as NASLib built it; NB101 and NB301's ``params`` equal NASLib's), PyTorch's default
init, BatchNorm in train mode, one batch of 64 real images, one repeat, seed 0. Differences that remain:
NASLib draws a new batch for every arch from the training split with its own transforms (random crop and
flip; 32 images for ``jacov``), and its NB101 network has its own init; ours is the bundled batch of
``data.load_batch`` (for datasets with fewer bundled images than 64, filled by the
documented ``fill="augment"`` rule), the same for every arch. So ρ(ours, NASLib) near 1 means the same
metric. A deterministic metric agrees up to how it counts: params gives exactly 1; flops 0.996 on
NB201 CIFAR-10 (ours counts convolutions and linear layers only, so archs that differ only in pooling
or skip edges tie where NASLib's values separate some; docs/conformance.md).

Every ρ here is Spearman's on the raw values: no sign flips (``higher_is_better``
is reported beside, not applied), so the three columns are directly comparable.

Add a benchmark: one :class:`NaslibSource` in :data:`SOURCES` with our space, its file, the
dataset names used in the file, a function mapping NASLib's key strings to our archs and the
network NASLib scored.
"""

from __future__ import annotations

import math
import numbers
import re
import time
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .benchmarks.nb201 import NB201Benchmark
from .code_changes import other_code
from .bundle import parsing, read_json
from .data import require_file, resolve_data_dir
from .devices import resolve_device
from .files import write_text
from .out_checks import api_out
from .proxies import ALIASES, Proxy, get_proxy, list_proxies
from .report import failure_lines, fixed, made_with, md_text, other_code_line, protocol_text, table
from .results import provenance, reused_text, strict_json
from .session import best_for, check_archs, error_messages, pick_archs, prepare, score_archs
from .spaces import darts_genotype, nb101
from .spaces.darts_net import NETS
from .stats import correlate
from .store import ScoreStore

#: NASLib metric name -> our registry name (names not listed are the same); ``--proxies`` takes either.
NASLIB_TO_OURS: dict[str, str] = {"jacov": "jacob_cov"}
#: NASLib metric name -> more of our metrics compared with its scores: NASLib's ``fisher`` weights each channel by
#: its layer's fan-in (Abdelfattah et al.'s code), our ``fisher`` does not and ``fisher_fanin`` does.
NASLIB_ALSO: dict[str, tuple[str, ...]] = {"fisher": ("fisher_fanin",)}

#: Everything of the scoring protocol but the space, the dataset and the network (each source's
#: :attr:`NaslibSource.net`): NASLib's zero-cost setup.
NASLIB_PROTOCOL: dict[str, Any] = {
    "batch_size": 64, "repeats": 1, "seed": 0, "init": "default", "inputs": "real", "fill": "augment",
}

_NASLIB_ORIGIN = "NASLib (automl/NASLib naslib/data/zc_*.json), in the swapnas data bundle (see SOURCES.md)"


# ----------------------------------------------------------------------------- NASLib keys per space


def parse_int_tuple(text: str, length: int, high: int) -> tuple[int, ...]:
    """A NASLib tuple key such as ``"(4, 3, 3, 0, 0, 0)"`` as a tuple of ints (no ``eval``)."""
    body = text.strip()
    if not (body.startswith("(") and body.endswith(")")):
        raise ValueError(f"NASLib key {text!r} must look like '(i, j, …)'")
    parts = [p.strip() for p in body[1:-1].split(",") if p.strip()]
    if len(parts) != length or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise ValueError(f"NASLib key {text!r} must hold {length} non-negative integers")
    values = tuple(int(p) for p in parts)
    if max(values) > high:
        raise ValueError(f"NASLib key {text!r} has an op index above {high}")
    return values


def _nb201_key(text: str) -> tuple[int, ...]:
    return parse_int_tuple(text, 6, 4)


def _nb201_archs(data_dir: str | None) -> dict[tuple, Any]:
    """NASLib key -> NB201 arch, from the table's ``naslib_op_indices`` column."""
    bench = NB201Benchmark(data_dir)
    table: dict[tuple, Any] = {}
    for text, arch in zip(bench.column_text("naslib_op_indices"), bench.archs):
        key = _nb201_key(text)
        if key in table:
            raise ValueError(f"{bench.path}: NASLib key {text} is given to two archs ({table[key]} and {arch})")
        table[key] = arch
    return table


@dataclass(frozen=True)
class NaslibSource:
    """Where NASLib's stored scores for one benchmark live, how its keys map to our archs, and which of our
    spaces and networks scores them."""

    space: str  # our space whose archs the keys name (NB301: darts)
    file: str  # relative to the data dir
    datasets: dict[str, str]  # our dataset name -> NASLib's key for it
    parse_key: Callable[[str], Hashable]  # NASLib key text -> canonical key
    #: data_dir -> {canonical key: our arch}; None: the canonical key is our arch
    arch_table: Callable[[str | None], dict[Any, Any]] | None
    net: dict[str, Any]  # the network NASLib scored: its stored params are this network's
    top: tuple[str, ...] = ()  # the file's keys above the datasets (NB101: "nasbench101")
    bare: bool = False  # its records hold each metric's score alone, no {"score", "time"} (NB101's)


SOURCES: dict[str, NaslibSource] = {
    "nb201": NaslibSource(
        "nb201", "nb201/naslib_zc_nasbench201.json",
        {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "ImageNet16-120"},
        _nb201_key, _nb201_archs, {"C": 16, "N": 5},
    ),
    # raw (unpruned) 7x7 specs, as NASLib sampled them: keys that prune to one cell stay distinct archs
    "nb101": NaslibSource("nb101", "nb101/naslib_zc_nasbench101.json", {"cifar10": "cifar10"}, nb101.parse_naslib,
                          None, {"C": 128, "stacks": 3, "cells": 3}, top=("nasbench101",), bare=True),
    # NASLib's NB301 network follows each pool with a BatchNorm without scale/shift (its MaxPool/AvgPool with
    # use_bn=True; no parameters, so the params check cannot see it); since session 43 (docs/conformance.md)
    "nb301": NaslibSource("darts", "nb301/naslib_zc_nasbench301.json", {"cifar10": "cifar10"},
                          darts_genotype.parse_naslib, None, {**NETS["nb301"], "pool_bn": True}),
}


def get_source(space: str) -> NaslibSource:
    try:
        return SOURCES[space]
    except KeyError:
        raise ValueError(f"no NASLib scores wired up for space {space!r}; available: {', '.join(SOURCES)}") from None


def _number(v: object) -> float | None:
    """``v`` as a float if it is a number (not a bool), else None."""
    return float(v) if isinstance(v, numbers.Real) and not isinstance(v, bool) else None


#: the score NASLib's zero-cost code writes where a metric failed (jacov and epe_nas: 14 records of its NB201
#: file); read as missing since session 54 (it was a score, far below every other). NASLib takes synflow's log after
#: that substitution, so a failed synflow would be -ln(1e8); its bundled files hold none, and that value is read as is
NASLIB_FAILED = -1e8


def _stored(value: object) -> tuple[float, float]:
    """A record's metric entry as (score, seconds): NB201 / NB301 files store ``{"score", "time"}``, NB101's
    the score alone (no time: nan). A missing or non-numeric part is nan, and so is NASLib's failure marker."""
    score, seconds = (value.get("score"), value.get("time")) if isinstance(value, dict) else (value, None)
    s, t = _number(score), _number(seconds)
    s = None if s == NASLIB_FAILED else s
    return (math.nan if s is None else s, math.nan if t is None else t)


def _metric_names(records: dict[str, dict]) -> list[str]:
    """NASLib's metric names in the records: entries that are a number or a ``{"score": …}`` dict, not the
    accuracy (``idx`` and ``arch`` are text)."""
    return sorted({m for r in records.values() for m, v in r.items()
                   if m != "val_accuracy" and ((isinstance(v, dict) and "score" in v) or _number(v) is not None)})


@dataclass
class NaslibScores:
    """NASLib's stored records for one space/dataset, in the file's order, keyed to our archs."""

    space: str
    dataset: str
    path: Path
    keys: list[str]  # NASLib key strings as in the file
    archs: list  # our arch for each key
    accuracy: np.ndarray  # NASLib's val_accuracy
    scores: dict[str, np.ndarray]  # our metric name -> NASLib score (nan where missing or non-finite)
    naslib_names: dict[str, str]  # our metric name -> NASLib's
    seconds: dict[str, float]  # our metric name -> NASLib's mean stored time per arch (over the whole file)
    unsupported: list[str] = field(default_factory=list)  # NASLib metrics our registry lacks
    times: dict[str, np.ndarray] = field(default_factory=dict)  # our metric name -> NASLib's time per key (nan: none)

    def seconds_over(self, name: str, rows: list[int]) -> float:
        """NASLib's mean stored time per arch over ``rows`` (the archs compared; session 70: the mean was over the
        whole file while ours beside it is over the archs scored); nan where it stores none of theirs."""
        if name not in self.times:
            return self.seconds[name]
        times = self.times[name][rows]
        return float(times[np.isfinite(times)].mean()) if np.isfinite(times).any() else float("nan")

    def describe(self) -> str:
        return (f"NASLib val_accuracy (%) stored with the scores: {self.path.name}[{self.dataset}], "
                f"{len(self.keys)} archs")


def load_naslib(space: str, dataset: str, data_dir: str | None = None) -> NaslibScores:
    """NASLib's stored scores for ``space``/``dataset``, each key mapped to exactly one of our archs."""
    src = get_source(space)
    if dataset not in src.datasets:
        raise ValueError(f"NASLib stores no {space} scores for dataset {dataset!r}; it has {', '.join(src.datasets)}")
    path = require_file(resolve_data_dir(data_dir), src.file, _NASLIB_ORIGIN)
    with parsing(path, _NASLIB_ORIGIN):
        records: Any = read_json(path, _NASLIB_ORIGIN)
        for part in (*src.top, src.datasets[dataset]):
            records = records[part]
        keys: list[str] = list(records)
        parsed = [src.parse_key(text) for text in keys]
        accuracy = np.array([records[k]["val_accuracy"] for k in keys], dtype=float)
    table = src.arch_table(data_dir) if src.arch_table is not None else {k: k for k in parsed}
    archs: list = []
    seen: dict[Any, str] = {}
    for text, key in zip(keys, parsed):
        if key not in table:
            raise ValueError(f"{path}: NASLib key {text} matches no {space} arch")
        if key in seen:
            raise ValueError(f"{path}: NASLib keys {seen[key]} and {text} name the same arch")
        seen[key] = text
        archs.append(table[key])
    known = set(list_proxies())
    ours = {NASLIB_TO_OURS.get(m, m): m for m in _metric_names(records)}
    ours.update({extra: m for m in list(ours.values()) for extra in NASLIB_ALSO.get(m, ())})
    scores, seconds, per_key = {}, {}, {}
    for name, theirs in sorted(ours.items()):
        if name not in known:
            continue
        stored = np.array([_stored(records[k].get(theirs)) for k in keys], dtype=float).reshape(len(keys), 2)
        stored[~np.isfinite(stored)] = np.nan
        scores[name], per_key[name] = stored[:, 0], stored[:, 1]
        times = stored[np.isfinite(stored[:, 1]), 1]
        seconds[name] = float(times.mean()) if len(times) else float("nan")
    return NaslibScores(space, dataset, path, keys, archs, accuracy, scores,
                        {n: t for n, t in ours.items() if n in scores}, seconds,
                        sorted(t for n, t in ours.items() if n not in known), per_key)


# ----------------------------------------------------------------------------- the run


@dataclass
class ConformanceRow:
    proxy: str
    naslib_name: str
    n: int  # archs where both our score and NASLib's are finite
    rho_ours_naslib: float
    rho_ours_truth: float
    rho_naslib_truth: float
    failures: int  # our failed scores
    naslib_missing: int  # archs whose NASLib score is missing or non-finite
    seconds_per_arch: float
    naslib_seconds_per_arch: float  # NASLib's stored time (their hardware)
    higher_is_better: bool
    errors: list[str] = field(default_factory=list)
    #: bootstrap 95% CI of rho_ours_naslib (stats.correlate's: 1000 paired resamples, seed 0); since session 54
    ci_ours_naslib: tuple[float, float] = (math.nan, math.nan)


@dataclass
class ConformanceRun:
    protocol: dict
    reference: str
    ground_truth: str
    batch_note: str
    device: str
    wall_seconds: float
    results: list[ConformanceRow]
    unsupported: list[str]
    archs: list[str]
    naslib_keys: list[str]
    accuracy: list[float]
    scores: dict[str, list[float | None]]
    naslib_scores: dict[str, list[float | None]]
    #: archs whose every score was stored (reused), and archs with only some stored (the rest scored now)
    reused: int = 0
    partly_reused: int = 0
    #: as :attr:`swapnas.results.CorrelateRun.other_code` (session 68's second review: said on the terminal alone)
    reused_from_other_code: dict[str, str] = field(default_factory=dict)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman ρ of raw values; nan for fewer than 3 pairs or a constant side."""
    from scipy import stats  # loaded where used: ~1 s

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y)[0])


def select_proxies(naslib: NaslibScores, names: str | None) -> list[Proxy]:
    """Our proxies for ``names`` (comma-separated, 'all' or None = every metric NASLib stores); NASLib's
    own names (``jacov``) are accepted for ours (``jacob_cov``)."""
    stored = sorted(naslib.scores)
    both = ", ".join(n if naslib.naslib_names[n] == n else f"{n} (NASLib: {naslib.naslib_names[n]})"
                     for n in stored)
    wanted = stored if names in (None, "all") else [n.strip() for n in str(names).split(",") if n.strip()]
    if not wanted:  # session 52: an empty --proxies scored every metric (grid refuses it)
        raise ValueError(f"--proxies needs at least one metric name, comma-separated, or 'all' (got {names!r}); NASLib "
                         f"stores (and we implement) for {naslib.space}/{naslib.dataset}: {both}")
    unknown = [n for n in wanted if NASLIB_TO_OURS.get(n, n) not in list_proxies() and n not in ALIASES]
    if unknown:
        raise ValueError(f"unknown metric {', '.join(map(repr, unknown))}; NASLib stores (and we implement) for "
                         f"{naslib.space}/{naslib.dataset}: {both}")
    # best read as on the space (session 62: "NASLib stores no swap_darts scores for nb201", where best is swap_nb201)
    ours = [best_for(naslib.space) if n == "best" else NASLIB_TO_OURS.get(n, n) for n in wanted]
    proxies = list({p.name: p for p in map(get_proxy, ours)}.values())
    missing = [p.name for p in proxies if p.name not in naslib.scores]
    if missing:
        raise ValueError(f"NASLib stores no {', '.join(missing)} scores for {naslib.space}/{naslib.dataset}; "
                         f"it stores (and we implement): {both}")
    return proxies


def _finite_list(v: np.ndarray) -> list[float | None]:
    return [float(x) if np.isfinite(x) else None for x in v]


def run_conformance(
    *,
    space: str = "nb201",
    dataset: str = "cifar10",
    proxies: str | None = None,
    n_archs: int | None = None,
    store: ScoreStore,
    device: torch.device | str = "cpu",
    data_dir: str | None = None,
    net: dict | None = None,
    seed: int = 0,
    retry_failed: bool = False,
    progress: bool = True, naslib: NaslibScores | None = None,
) -> ConformanceRun:
    """Score NASLib's archs (all, or ``n_archs`` drawn with seed 0) and compare with its stored scores.

    ``net`` overrides the network config (tests only: a conformance claim needs
    the network NASLib scored, the source's :attr:`NaslibSource.net`). ``seed`` changes the
    init draws and the input batch, never which archs are drawn: two seeds give two
    independent runs of our implementation on the same archs. ``naslib``: the file if already loaded.
    """
    device = resolve_device(device)  # (session 65: 'auto', the command's default, raised torch's bare error)
    naslib = naslib if naslib is not None else load_naslib(space, dataset, data_dir)
    proxy_list = select_proxies(naslib, proxies)
    src = get_source(space)
    cfg = {**NASLIB_PROTOCOL, "seed": seed, "net": dict(net if net is not None else src.net),
           "labels": any(p.needs_labels for p in proxy_list)}
    protocol, batch = prepare(space=src.space, dataset=dataset, data_dir=data_dir, image_root=None, **cfg)
    idx = {str(a): i for i, a in enumerate(naslib.archs)}
    check_archs(n_archs, len(naslib.archs), f"NASLib's {space}/{dataset} file {naslib.path}")
    archs = pick_archs(naslib.archs, n_archs, 0)
    rows = [idx[str(a)] for a in archs]
    counts: dict[str, int] = {}
    t0 = time.perf_counter()
    records = score_archs(archs, src.space, proxy_list, protocol, batch, store, device, retry_failed, progress,
                          f"conformance {space}/{dataset}", counts=counts)
    wall = time.perf_counter() - t0
    acc = naslib.accuracy[rows]
    results, ours_out, theirs_out = [], {}, {}
    for p in proxy_list:
        ours = np.array([r.value if r.ok and r.value is not None else np.nan for r in records[p.name]], dtype=float)
        theirs = naslib.scores[p.name][rows]
        results.append(_row(p, records[p.name], ours, theirs, acc, naslib, rows))
        ours_out[p.name] = _finite_list(ours)
        theirs_out[p.name] = _finite_list(theirs)
    reference = (f"NASLib stored zero-cost scores {naslib.path.name}[{naslib.space}/{dataset}] "
                 f"({len(naslib.keys)} archs, NAS-Bench-Suite-Zero); all rho are Spearman on raw values")
    return ConformanceRun(
        protocol.describe(), reference, naslib.describe(), batch.note, str(device), wall, results,
        naslib.unsupported, [str(a) for a in archs], [naslib.keys[i] for i in rows],
        [float(a) for a in acc], ours_out, theirs_out, counts["reused"], counts["partly"],
        other_code(store, proxy_list, src.space, protocol.net_version, counts["reused"] + counts["partly"]),
    )


def _row(p: Proxy, recs: list, ours: np.ndarray, theirs: np.ndarray, acc: np.ndarray,
         naslib: NaslibScores, rows: list[int]) -> ConformanceRow:
    """One metric's row: the three ρ over the archs where both scores are finite, failures, seconds (each side's
    mean over the archs compared, ``rows`` of NASLib's file)."""
    both = np.isfinite(ours) & np.isfinite(theirs)
    secs = [r.seconds for r in recs if r.ok and r.seconds is not None]
    agree = correlate(ours[both], theirs[both])  # ρ (spearman's, the same float) and its bootstrap CI
    return ConformanceRow(
        p.name, naslib.naslib_names[p.name], int(both.sum()),
        agree.spearman, spearman(ours[both], acc[both]), spearman(theirs[both], acc[both]),
        sum(not r.ok for r in recs), int((~np.isfinite(theirs)).sum()),
        float(np.mean(secs)) if secs else float("nan"), naslib.seconds_over(p.name, rows), p.higher_is_better,
        error_messages(recs)[:5], agree.spearman_ci,
    )


# ----------------------------------------------------------------------------- output


#: how to read the table's agreement (below the table on the console and in conformance.md)
CI_NOTE = ("95% CI: percentile bootstrap of rho(ours,NASLib) over the n archs (1000 paired resamples, seed 0); the "
           "fewer the archs, the wider it is, so compare a small run's rho with docs/conformance.md's through it; "
           "nan where fewer than 3 archs have both scores (or one side is constant).")


def conformance_table(results: list[ConformanceRow], markdown: bool = False) -> str:
    head = ["proxy", "naslib", "n", "rho(ours,NASLib)", "95% CI", "rho(ours,acc)", "rho(NASLib,acc)", "fail",
            "naslib_missing", "s/arch", "naslib s/arch"]
    rows = [[r.proxy, r.naslib_name, str(r.n), fixed(r.rho_ours_naslib),
             f"[{fixed(r.ci_ours_naslib[0])}, {fixed(r.ci_ours_naslib[1])}]", fixed(r.rho_ours_truth),
             fixed(r.rho_naslib_truth), str(r.failures), str(r.naslib_missing), fixed(r.seconds_per_arch, 4),
             fixed(r.naslib_seconds_per_arch, 4)]
            for r in results]
    return table(head, rows, markdown, left=2)


def header_text(run: ConformanceRun, note: bool = True) -> str:
    """The protocol, the reference and the run; ``note=False`` leaves out the batch note (the CLI's printed
    text: the note was logged as the batch loaded)."""
    lines = [protocol_text(run.protocol, run.ground_truth, run.batch_note if note else ""),
             f"reference: {run.reference}",
             f"device {run.device} | {len(run.archs)} archs | wall {run.wall_seconds:.1f} s"
             f"{reused_text(run.reused, len(run.archs), run.partly_reused)}"]
    if run.unsupported:
        lines.append(f"NASLib metrics without an implementation here (skipped): {', '.join(run.unsupported)}")
    return "\n".join(lines)


def write_outputs(run: ConformanceRun, out: Path) -> list[Path]:
    """``conformance.json`` (everything, per-arch scores included) and ``conformance.md``."""
    (out := api_out("conformance", out)).mkdir(parents=True, exist_ok=True)  # (as the command's: session 65)
    prov = provenance(run.device, torch.get_num_threads())  # (scored in this process: its threads; session 70)
    js = out / "conformance.json"
    write_text(js, strict_json({"provenance": prov, **asdict(run)}))
    problems = failure_lines(run.results, md_text)  # (messages as written: the review of session 67)
    problems += [other_code_line(run.reused_from_other_code)] if run.reused_from_other_code else []
    md = out / "conformance.md"
    failures = "\n## Failures and warnings\n\n" + "".join(f"- {line}\n" for line in problems) if problems else ""
    write_text(md, "# Conformance with NASLib's stored zero-cost scores\n\n"
               f"Made by `{prov['command']}` ({made_with(prov)}).\n\n```\n" + header_text(run) + "\n```\n\n"
               + conformance_table(run.results, markdown=True) + f"\n\n{CI_NOTE}\n" + failures)
    return [js, md]
