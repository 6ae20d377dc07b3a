"""The correlation grid of the paper's Fig. 4: every metric on every benchmark task.

One column per (benchmark, task), one row per metric; each cell is the Spearman ρ of the metric with the column's
ground truth over the sampled archs, with n, failures and seconds per arch. Every column is scored under its space's
default protocol (``SCORING_DEFAULTS``), with ``repeats`` re-initialisations (1 by default here, for cost). Scores go
to one SQLite store, so a grid resumes, and ``shard=(i, k)`` scores only a slice of every column.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .out_checks import api_out
from .benchmarks import BENCHMARKS, Benchmark, benchmark_class, get_benchmark
from .callers import user_stacklevel
from .correlation import correlate_proxies
from .data import Batch
from .executors import Executor
from .files import save_figure, write_text
from .errors import did_you_mean
from .fit_check import not_applicable
from .latex import best_cells, grid_table
from .proxies import Proxy, get_proxy, list_proxies
from .report import filled_line, fixed, made_with, md_cell, md_text, other_code_line, saturated_line
from .results import CorrelateRun, provenance, reused_parts, strict_json
from .scoring import Protocol
from .session import best_for, check_task, configure, pick_archs, protocol_groups, resolve_for, score_archs, shard_of
from .store import ScoreStore

log = logging.getLogger(__name__)

#: The columns: every task of every registered benchmark, in ``BENCHMARKS`` order (the paper's
#: Fig. 4, with the SWAP authors' DARTS set after NB301). A new benchmark adds its columns.
COLUMNS: tuple[tuple[str, str], ...] = tuple((name, task) for name in BENCHMARKS for task in benchmark_class(name).tasks)


@dataclass
class GridColumn:
    benchmark: str
    task: str
    ground_truth: str
    protocol: dict
    batch_note: str
    n_archs: int
    wall_seconds: float
    results: list[dict]  # asdict(ProxyResult)
    #: the proxy ``best`` named in this column (the space's recommended fitness) when --proxies had ``best``
    best: str | None = None
    #: archs whose every score was read from the store, and archs with some of theirs stored (a resumed grid)
    reused_archs: int = 0
    partly_reused_archs: int = 0
    #: parts of set-level metrics scored for them but not named in --proxies (te_nas_lr for te_nas): no row; None in a
    #: grid.json of before session 52, when every part had none (a part named, such as te_nas_ntk, got none either)
    hidden: list[str] | None = None
    #: the metrics asked for that no network of the column can take (:func:`swapnas.fit_check.not_applicable`) →
    #: why; None in a grid.json of before session 57, when they were scored and every arch failed
    not_applicable: dict[str, str] | None = None
    other_code: dict[str, str] | None = None  # CorrelateRun.other_code (session 68; None in an older grid.json)

    @property
    def label(self) -> str:
        return f"{self.benchmark}/{self.task}"


def select_columns(benchmarks: str = "all", tasks: str = "all") -> list[tuple[str, str]]:
    """The grid's columns filtered by comma-separated benchmark and task names."""
    cols = list(COLUMNS)
    asked = [b for b in dict.fromkeys(w.strip() for w in benchmarks.split(",")) if b]  # (with "all": unused)
    for text, pos, what in ((benchmarks, 0, "benchmark"), (tasks, 1, "task")):
        if text != "all":
            wanted = [w.strip() for w in text.split(",") if w.strip()]
            known, near = {c[pos] for c in COLUMNS}, {c[pos] for c in cols}  # near: the asked benchmarks' (session
            bad = [w for w in wanted if w not in known]  # 68: `nb201 --tasks mnist` was offered FlexiBERT's 'mnli')
            if bad:  # (the nearest name since session 64: `--tasks jigsw` listed every task alone)
                raise ValueError(f"unknown {what}(s) {', '.join(bad)}{did_you_mean(bad[0], near)}; known: "
                                 f"{', '.join(sorted(near))}")
            cols = [c for c in cols if c[pos] in wanted]
    if not cols:  # each benchmark asked for with its tasks (session 64: nb301's were not named)
        named = [b for b in dict.fromkeys(c[0] for c in COLUMNS) if benchmarks == "all" or b in asked]
        raise ValueError(f"no grid column matches benchmarks={benchmarks!r}, tasks={tasks!r}: " + "; ".join(
            f"{b} has {', '.join(t for n, t in COLUMNS if n == b)}" for b in named))
    if benchmarks != "all":  # a benchmark asked for by name that --tasks leaves without a column: said, not dropped
        for b in (b for b in asked if b not in {name for name, _ in cols}):
            log.warning("--benchmarks %s: none of its tasks (%s) is in --tasks %s, so it has no column", b,
                        ", ".join(t for n, t in COLUMNS if n == b), tasks)
    if lost := [t for t in dict.fromkeys(w.strip() for w in tasks.split(",")) if t and tasks != "all"
                and t not in {task for _, task in cols}]:  # so is a task (session 68's mutation run: dropped unsaid)
        log.warning("--tasks: no benchmark asked for has %s, which gets no column", ", ".join(lost))
    return cols


def grid_plan(columns: list[tuple[str, str]], n_proxies: int, n_archs: int | None,
              n_archs_per: dict[str, int | None], progress: bool = True, per_arch: int = 0) -> str:
    """What a grid run is about to do, before it starts: its columns, proxies and the most scores it may make (a
    column with fewer archs scores all of them; scores already in the store are read back, not made again);
    ``per_arch``: scores stored per arch, derived proxies' bases in, set-level ones out (session 70; 0: n_proxies)."""
    per, stored = [n_archs_per.get(name, n_archs) for name, _ in columns], per_arch or n_proxies
    most = "" if None in per else f" = at most {stored * sum(n for n in per if n is not None):,} scores" + (
        f" ({stored} stored per arch: derived metrics' bases, not set-level ones)" if stored != n_proxies else "")
    archs = ", ".join(f"{b} {'all' if n is None else n}" for b, n in
                      dict.fromkeys((name, n) for (name, _), n in zip(columns, per)))
    bars = "one progress bar per column, in turn; " if progress else ""
    plural = ("s" * (len(columns) != 1), "ies" if n_proxies != 1 else "y")
    return (f"grid: {len(columns)} column{plural[0]} x {n_proxies} prox{plural[1]}, archs per column: {archs}{most} "
            f"(those in the store are read back); {bars}rerun the same command to resume, or split it over processes "
            "or machines with --shard I/K (machines without a shared --store: `swapnas store merge` their stores)")


def check_archs_per(columns: list[tuple[str, str]], n_archs_per: dict[str, int | None]) -> None:
    """A ValueError when ``--archs-per`` names a benchmark that has no column in the grid (a typo, or one
    that ``--benchmarks`` / ``--tasks`` left out)."""
    if unknown := set(n_archs_per) - {name for name, _ in columns}:  # (the way out: session 68's advice audit)
        raise ValueError(f"--archs-per names benchmark(s) not in the grid: {', '.join(sorted(unknown))}; add them to "
                         "--benchmarks (and --tasks), or leave them out of --archs-per")


def run_grid(
    columns: list[tuple[str, str]], *, proxies: str | list[str], n_archs: int | None, seed: int, repeats: int,
    init: str | None = None, n_archs_per: dict[str, int | None] | None = None,
    store: ScoreStore, device: torch.device | str, data_dir: str | None = None, shard: tuple[int, int] | None = None,
    retry_failed: bool = False, progress: bool = True, executor: Executor | None = None,
    counts: dict[str, int] | None = None, archs_given: bool = True) -> list[GridColumn]:
    """Score and correlate every column (resuming from ``store``); with ``shard`` only score.

    ``counts``, if given, receives ``failed``: the failed scores of a ``shard`` run (which returns no column).
    ``n_archs`` archs per column (``n_archs_per[benchmark]`` where given; None: all); a column with fewer has all
    scored, with a warning (its ``n_archs`` is the true count) unless ``n_archs`` is a default "at most"
    (``archs_given`` False) that no ``n_archs_per`` entry set. ``executor`` scores the archs (default: in this
    process; a :class:`~swapnas.executors.RayExecutor` spreads them over Ray workers; results go to ``store`` here)."""
    proxies = proxies if isinstance(proxies, str) else ",".join(proxies)  # names in a list (session 65, as correlate)
    # a part not named gets no row (te_nas_lr for te_nas), but `all` names every metric (session 64: flops, jacob_cov)
    named = set(list_proxies()) if proxies.strip() == "all" else {n.strip() for n in proxies.split(",")}
    plans = _prepared(columns, proxies, n_archs, dict(n_archs_per or {}), seed, repeats, init, data_dir, archs_given)
    out: list[GridColumn] = []
    for c in plans:
        if shard is not None:
            archs = shard_of(pick_archs(c.bench.archs_for(c.task), c.n, seed), shard) if c.proxies else []
            recs = score_archs(archs, c.bench.space, c.proxies, c.protocol, c.batch, store, device, retry_failed,
                               progress, f"{c.name}/{c.task} shard {shard[0]}/{shard[1]}", executor)
            if counts is not None:  # (nothing applies: no scoring)
                counts["failed"] = counts.get("failed", 0) + sum(not r.ok for rs in recs.values() for r in rs)
            continue
        run: CorrelateRun = correlate_proxies(
            bench=c.bench, task=c.task, proxies=c.proxies, n_archs=c.n, protocol=c.protocol, batch=c.batch,
            store=store, device=device, retry_failed=retry_failed, progress=progress, executor=executor)
        out.append(GridColumn(c.name, c.task, run.ground_truth, run.protocol, run.batch_note, len(run.archs),
                              run.wall_seconds, [asdict(r) for r in run.results],
                              best_for(c.bench.space) if "best" in named else None, run.reused if c.proxies else 0,
                              run.partly_reused if c.proxies else 0,
                              sorted({part for p in c.asked for part in p.parts} - named), c.skipped, run.other_code))
    return out


@dataclass
class _Plan:
    """One column of the grid, ready to score: its benchmark, arch count, protocol, batch and metrics."""

    name: str
    task: str
    bench: Benchmark
    n: int | None
    protocol: Protocol
    batch: Batch
    asked: list[Proxy]
    proxies: list[Proxy]
    skipped: dict[str, str]


def _prepared(columns: list[tuple[str, str]], proxies: str, n_archs: int | None, n_archs_per: dict[str, int | None],
              seed: int, repeats: int, init: str | None, data_dir: str | None, archs_given: bool) -> list[_Plan]:
    """Every column's benchmark, protocol and batch, before any column is scored (session 65: a later column's
    missing or damaged benchmark file was found after the earlier columns had been scored)."""
    check_archs_per(columns, n_archs_per)
    plans, benches, warned = list[_Plan](), dict[str, Benchmark](), set[str]()
    for name, task in columns:
        bench = benches.setdefault(name, get_benchmark(name, data_dir))
        n = n_archs_per.get(name, n_archs)
        check_task(bench, task)
        pool = bench.archs_for(task)
        if n is not None and n > len(pool) and (name in n_archs_per or archs_given):  # a default --archs: "at most"
            flag = f"--archs-per {name}={n}" if name in n_archs_per else f"--archs {n}"
            log.warning("%s/%s has %d archs, fewer than %s asks for: all %d are scored, and its n is %d",
                        name, task, len(pool), flag, len(pool), len(pool))
        # the names, not resolved proxies: configure reads `best` as this space's recommended fitness
        protocol, batch, asked = configure(bench.space, task, proxies, seed=seed, repeats=repeats,
                                           init=init or _column_init(bench.space, proxies, warned), data_dir=data_dir)
        proxy_list, skipped = not_applicable(bench.space, asked, protocol, batch)
        if not proxy_list:  # (session 61: a grid where nothing applied ended with 0 and a table of dashes, unsaid)
            log.warning("%s/%s: none of the metrics asked for applies to its networks, its cells stay empty: %s",
                        name, task, "; ".join(f"{k}: {why}" for k, why in skipped.items()))
        plans.append(_Plan(name, task, bench, n, protocol, batch, asked, proxy_list, skipped))
    if columns and not any(plan.proxies for plan in plans):
        raise ValueError(f"none of the metrics asked for ({proxies}) applies to the networks of any column of the "
                         "grid (the warnings above say why, most naming one that does); choose metrics that do")
    return plans


def _column_init(space: str, proxies: str, warned: set[str] | None = None) -> str | None:
    """None (the column's own protocol) unless ``proxies`` mix protocols on ``space`` (``best`` beside other
    metrics): then the SWAP protocol's N(0, 1) init for all, with a warning, as the grid's other columns; once per
    space where ``warned`` (the spaces warned of) is given (session 64: once per column, 19 times in a default grid)."""
    groups = protocol_groups(space, resolve_for(space, proxies))
    if len(groups) < 2:
        return None
    fitness = [n for d, names in groups if d.get("init") != "gaussian" for n in names]
    if warned is None or space not in warned:
        warnings.warn(f"grid: on {space}, {', '.join(fitness)} (the space's recommended fitness `best`, or one it "
                      f"recommended before) {'are' if len(fitness) > 1 else 'is'} scored under the grid's SWAP "
                      "protocol (N(0, 1) init) beside the other metrics, not under its fitness protocol; `swapnas grid "
                      "--proxies best` scores `best` under its own", stacklevel=user_stacklevel())
    if warned is not None:
        warned.add(space)
    return "gaussian"


def _result(col: GridColumn, proxy: str) -> dict | None:
    """The column's result of ``proxy`` (None: the column did not score it)."""
    return next((r for r in col.results if r["proxy"] == proxy), None)


def _rho(col: GridColumn, proxy: str) -> float:
    r = _result(col, proxy)
    return float("nan") if r is None or r["spearman"] is None else float(r["spearman"])


def metric_names(cols: list[GridColumn]) -> list[str]:
    """The metrics of the grid (every column's, in order of first appearance: with ``best`` each space
    scores its own fitness), without the parts of set-level metrics (e.g. te_nas's te_nas_ntk /
    te_nas_lr) that --proxies did not name, which are kept in grid.json."""
    names = list(dict.fromkeys([*(r["proxy"] for c in cols for r in c.results),
                                *(n for c in cols for n in c.not_applicable or {})]))
    parts = {part for n in names for part in get_proxy(n).parts}
    if all(c.hidden is not None for c in cols):
        parts &= {part for c in cols for part in c.hidden or []}
    return [n for n in names if n not in parts]


def rho_matrix(cols: list[GridColumn]) -> tuple[list[str], np.ndarray]:
    """Metric names and ρ[metric, column]."""
    names = metric_names(cols)
    return names, np.array([[_rho(c, n) for c in cols] for n in names], dtype=float)


def row_order(rho: np.ndarray) -> np.ndarray:
    """The metrics' rows by mean ρ, a cell without ρ counting as 0 (grid.md's and grid.tex's order)."""
    return np.argsort(-np.nanmean(np.where(np.isnan(rho), 0.0, rho), axis=1), kind="stable")


def latex(cols: list[GridColumn], command: str = "") -> str:
    """grid.tex: the ρ table of grid.md (its rows' order, its bold cells) as a booktabs tabular."""
    names, rho = rho_matrix(cols)
    return grid_table(names, [c.label for c in cols], rho, row_order(rho).tolist(), command)


def _short(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: cut at a word's end with " …" (until session 51 mid-word)."""
    if len(text) <= width:
        return text
    cut = text[:width - 2]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut) + " …"  # a long word (a path) is cut where it must be


def _empty_cells(cols: list[GridColumn], names: list[str]) -> list[str]:
    """One line per cell without ρ: why (not scored in the column, every arch failed, too few, constant)."""
    lines = []
    for c in cols:
        unfit = c.not_applicable or {}  # None in a grid.json of before session 57
        for name in names:
            r = _result(c, name)
            if r is None and name in unfit:
                lines.append(f"- {c.label} {name}: not applicable: {_short(unfit[name], 160)}")
            elif r is None:
                lines.append(f"- {c.label} {name}: not scored in this column"
                             + (f" (`best` here is {c.best})" if c.best else ""))
            elif r["spearman"] is None or math.isnan(r["spearman"]):
                why = (f"every arch failed: {_short(r['errors'][0], 140)}" if r["n"] == 0 and r["errors"]
                       else f"only {r['n']} arch(s) scored; ρ needs at least 3" if r["n"] < 3
                       else f"the score is the same for all {r['n']} archs, so ρ is undefined")
                lines.append(f"- {c.label} {name}: {why}")
    return lines


def _cost_cell(col: GridColumn, name: str) -> str:
    r = _result(col, name)
    if r is None:
        return "—"
    secs = r["seconds_per_arch"]  # NaN when every arch failed: null in a grid.json read back
    return f"{r['n']} ({r['failures']}) " + ("—" if secs is None or math.isnan(secs) else f"{fixed(secs, 4)}s")


def markdown(cols: list[GridColumn], command: str = "") -> str:
    """ρ table (best per column in bold), n / failures / seconds per arch table, protocol per column.
    A metric a column did not score (``best`` is another proxy per space) is — there."""
    names, rho = rho_matrix(cols)
    bold = best_cells(rho)  # as printed: ties all bold
    order = row_order(rho)
    head = "| metric | " + " | ".join(c.label for c in cols) + " | mean |"
    sep = "|---|" + "---|" * (len(cols) + 1)
    lines = []
    if command:
        lines += ["Produced by:", "", "```bash", command, "```", ""]
    lines += ["Spearman ρ with the ground truth (a lower-is-better metric's values negated, so a good metric has "
              "ρ > 0; best per column in **bold**; rows by mean ρ, a cell without ρ counting as 0; the mean column "
              "averages the cells with ρ):", "", head, sep]
    for i in order:
        cells = []
        for j in range(len(cols)):
            v = rho[i, j]
            text = "—" if math.isnan(v) else fixed(v)
            cells.append(f"**{text}**" if bold[i, j] else text)
        mean = "—" if np.isnan(rho[i]).all() else fixed(float(np.nanmean(rho[i])))
        lines.append(f"| {md_cell(names[i])} | " + " | ".join(cells) + f" | {mean} |")
    if any(c.best for c in cols):
        lines += ["", "`best` is each space's recommended fitness: "
                  + ", ".join(f"{c.label} {c.best}" for c in cols if c.best) + "; its row is — where a column "
                  "scored another one."]
    lines += ["", "n scored (failures) and seconds per arch:", "", head.replace(" mean |", ""), sep[:-4]]
    for i in order:
        lines.append(f"| {md_cell(names[i])} | " + " | ".join(_cost_cell(c, names[i]) for c in cols) + " |")
    lines += ["", "Protocol per column:", ""]
    for c in cols:
        p = c.protocol
        net = ", ".join(f"{k}={v}" for k, v in p["net"].items())
        lines.append(f"- **{c.label}**: {c.n_archs} archs; net {net}; S={p['batch_size']}, R={p['repeats']}, "
                     f"init {p['init']}, seed {p['seed']}; ground truth: {c.ground_truth}"
                     + "".join(f"; {part}" for part in reused_parts(c.reused_archs, c.n_archs, c.partly_reused_archs))
                     + (f"; {other_code_line(c.other_code)}" if c.other_code else "")
                     + (f"; NOTE: {c.batch_note}" if c.batch_note else ""))
    empty = _empty_cells(cols, names)
    if empty:
        lines += ["", "Cells without ρ (—):", "", *empty]
    failures = sorted((c.label, _part_named(r["proxy"], names), r["errors"][0]) for c in cols for r in c.results
                      if r["errors"])
    if failures:
        lines += ["", "Failure messages (the most frequent per metric and column):", ""]
        lines += [f"- {label} {md_text(proxy)}: {md_text(_short(e, 160))}" for label, proxy, e in failures]
    notes = [f"- {c.label} {line}" for c in cols for r in c.results if r["proxy"] in names
             for line in _cell_notes(c, r)]
    if notes:  # (session 64: kept in grid.json only, though the SaturationWarning named a grid report's line)
        lines += ["", "Cells to read with care:", "", *notes]
    return "\n".join(lines) + "\n"


#: what a grid's SATURATED line advises (the grid has no --batch-size or --net: each column runs its space's protocol)
GRID_SATURATED_FIX = ("score that column with `swapnas correlate` and a larger --batch-size or a smaller scored "
                      "network (--net)")


def _cell_notes(col: GridColumn, r: dict) -> list[str]:
    """A cell's FILLED and SATURATED lines, as correlate's report gives them."""
    return ([filled_line(r["proxy"], r["filled"], r["n"], md_text)] if r.get("filled") else []) + (
        [saturated_line(r["proxy"], r["saturated"], r["n"], str(col.protocol["batch_size"]), GRID_SATURATED_FIX,
                        md_text)]
        if r.get("saturated") else [])


def _part_named(proxy: str, names: list[str]) -> str:
    """``proxy``, and the metrics with a row that it is a part of where it has none (session 64: "jacob_cov: …"
    was the only failure line of a grid whose one row, vkdnw_agg, had counted it at its worst value)."""
    if proxy in names:
        return proxy
    owners = [n for n in names if proxy in get_proxy(n).parts]
    filled = [n for n in owners if proxy in get_proxy(n).fill_failed]
    return proxy + (f" (a part of {', '.join(owners)}, without a row of its own"
                    + (f"; {', '.join(filled)} counted it at its worst value there" if filled else "") + ")"
                    if owners else "")


def _ink(image: Any, value: float) -> str:
    """White on the colour map's dark cells (|ρ| near 1 in RdBu), black elsewhere and on a blank cell (session 53:
    black on dark blue was hard to read): by the cell colour's luma (ITU-R BT.601 weights)."""
    if math.isnan(value):
        return "black"
    r, g, b, _ = image.cmap(image.norm(value))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"


def heatmap(cols: list[GridColumn], path: Path) -> Path:
    """ρ per metric (rows) and column, annotated, like the paper's Fig. 4. The figure grows with the grid
    from a minimum that holds the title (wrapped), the cells' values and the colour bar; a cell whose n
    (archs scored) is below its column's archs shows its own n, and the column's label then says n≤."""
    import textwrap

    from matplotlib.figure import Figure  # loaded where used (see report.scatter_plot)

    names, rho = rho_matrix(cols)
    order = row_order(rho)
    names, rho = [names[i] for i in order], rho[order]
    counts = np.array([[(_result(c, n) or {"n": c.n_archs})["n"] or 0 for c in cols] for n in names], dtype=int)
    # a cell shows its own n where it has a ρ and fewer archs than its column (one not scored, or whose every
    # arch failed, shows — and does not count)
    short = [bool(((counts[:, j] < c.n_archs) & ~np.isnan(rho[:, j])).any()) for j, c in enumerate(cols)]
    width = max(4.8, 2.8 + 0.55 * len(cols))  # y labels and the colour bar beside the columns
    height = max(3.2, 2.0 + 0.32 * len(names))  # the title above, the rotated column labels below
    size = 7 if len(cols) <= 6 else 5  # the cells' values: larger where the cells are
    fig = Figure(figsize=(width, height), dpi=130)
    ax = fig.subplots()
    # red-blue, not red-green (session 51): readable with the commonest colour-vision deficiencies
    im = ax.imshow(np.ma.masked_invalid(rho), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(cols)), [c.label.replace("transnas_", "") for c in cols], rotation=60, ha="right",
                  fontsize=6, parse_math=False)
    ax.set_yticks(range(len(names)), names, fontsize=7, parse_math=False)  # (a metric name's `$`: session 67)
    for i in range(len(names)):
        for j, c in enumerate(cols):
            v = rho[i, j]
            text = "—" if math.isnan(v) else fixed(v, 2)  # (no "-0.00": session 70)
            if counts[i, j] < c.n_archs and not math.isnan(v):
                text += f"\nn={counts[i, j]}"  # failures: fewer archs than the column's
            ax.text(j, i, text, ha="center", va="center", fontsize=size, linespacing=0.9, color=_ink(im, v))
    for j, c in enumerate(cols):  # n per column under its label
        ax.text(j, len(names) - 0.35, f"n{'≤' if short[j] else '='}{c.n_archs}", ha="center", va="top",
                fontsize=size - 0.5, color="dimgrey")
    ax.set_ylim(len(names) - 0.1, -0.5)
    title = ("Spearman ρ of each metric (rows; a lower-is-better metric's values negated) with each benchmark task's "
             "ground truth (columns); — = not run, failed, or one score for every arch"
             + ("; n≤: some cells scored fewer archs (their n is shown)" if any(short) else ""))
    ax.set_title(textwrap.fill(title, int(width * 14)), fontsize=7, parse_math=False)
    fig.colorbar(im, ax=ax, fraction=0.03 if len(cols) > 6 else 0.06, label="Spearman ρ")
    fig.tight_layout()
    return save_figure(fig, path)


def write_grid(cols: list[GridColumn], out: Path, command: str = "", device: str | None = None,
               threads: int | None = None) -> list[Path]:
    """``grid.json`` (``{"provenance", "columns"}``; the provenance names ``device``, ``threads`` where given),
    ``grid.md``, ``grid.tex`` (the ρ table for a paper), ``grid.png`` and ``report.md`` under ``out``."""
    (out := api_out("grid", out)).mkdir(parents=True, exist_ok=True)  # (another command's OUT refused: session 65)
    prov = provenance(device, threads)
    js = out / "grid.json"
    write_text(js, strict_json({"provenance": prov, "columns": [asdict(c) for c in cols]}))
    md = out / "grid.md"
    table = markdown(cols, command)
    write_text(md, table)
    tex = out / "grid.tex"
    write_text(tex, latex(cols, command))
    png = heatmap(cols, out / "grid.png")
    report = out / "report.md"
    write_text(report, f"# Training-free metrics × benchmark tasks\n\nMade by `{prov['command']}` ("
               f"{made_with(prov)}).\n\n![grid](grid.png)\n\n"
               f"{table}\n\nData: [grid.json](grid.json).\n")
    return [js, md, tex, png, report]
