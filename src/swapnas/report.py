"""Tables and plots for correlation results."""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable, Sequence
from typing import Any
from pathlib import Path
from urllib.parse import quote

import numpy as np

from .errors import printable
from .files import save_figure
from .proxies import Proxy, get_proxy
from .proxies.swap import PSI_SETTINGS
from .results import CorrelateRun, ProxyResult, reused_parts
from .stats import ILL_CONDITIONED


def fixed(x: float | None, digits: int = 3) -> str:
    """``x`` to ``digits`` decimals; ``nan`` for None or NaN; a value that rounds to zero without a sign (ρ -0.0004
    printed as "0.000", not "-0.000")."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def md_cell(text: object) -> str:
    """``text`` for a markdown table cell: each pipe escaped (``\\|``), which would otherwise end the cell (in GFM
    also inside backticks; the escaped pipe renders as ``|``); ``*``, ``<`` and a ``_`` at a word's edge escaped too,
    which made emphasis or an HTML tag of a metric's name (session 67: ``*em*``); an arch's ``nor_conv`` stays."""
    return _MD_CELL.sub(r"\\\g<0>", printable(str(text)))


#: what :func:`md_cell` and :func:`md_text` escape (an arch's, or a metric's, ``nor_conv``/``epe_nas`` stays)
_MD_CELL = re.compile(r"[|*<]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_TEXT = re.compile(r"[\\`|*<>\[~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")  # ("[": no link or image; "~&": the
# review of session 67, a struck-through arch string, an entity read)


def md_text(text: object) -> str:
    """``text`` for a markdown list item, shown as written: on one line, its markdown characters escaped (session 67:
    an error's ``__init__`` was bold, its ``<lambda>`` an HTML tag that GitHub drops)."""
    return _MD_TEXT.sub(r"\\\g<0>", printable(" ".join(str(text).split())))


def md_row(cells: Sequence[object]) -> str:
    """One markdown table row of ``cells`` (pipes in them escaped)."""
    return "| " + " | ".join(md_cell(c) for c in cells) + " |"


def _top10(r: ProxyResult) -> str:
    """Top-10 % ρ with the size of its subset (a few archs in a small run): ``0.800 (n=4)``; ``top10_n`` None: read
    from a results.json written before it was recorded, 0: no subset."""
    return f"{fixed(r.top10_spearman)} (n={r.top10_n})" if r.top10_n else fixed(r.top10_spearman)


def results_table(results: Sequence[ProxyResult], markdown: bool = False) -> str:
    """A fixed-width (or markdown) table: ρ, τ, CI, top-10% ρ (n of its subset), P@10%, ρ|params, n, failures,
    s/arch (P@10% "-" in a results.json written before session 56)."""
    head = ["proxy", "spearman", "kendall", "rho 95% CI", "top10% rho", "P@10%", "rho|params", "n", "fail", "s/arch"]
    rows = [
        [r.proxy, fixed(r.spearman), fixed(r.kendall), f"[{fixed(r.spearman_ci[0])}, {fixed(r.spearman_ci[1])}]",
         _top10(r), "-" if r.top10_precision is None else fixed(r.top10_precision), fixed(r.spearman_given_params),
         str(r.n), str(r.failures), fixed(r.seconds_per_arch, 4)]
        for r in results
    ]
    if not rows:
        raise ValueError("results_table needs at least one result (a correlate run with no proxy?)")
    return table(head, rows, markdown)


def table(head: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False, left: int = 1) -> str:
    """``rows`` under ``head``: markdown (pipes in cells escaped), or fixed-width columns two spaces apart with a
    dashed rule, the first ``left`` columns left-aligned and the others right (correlate's and conformance's)."""
    if markdown:
        return "\n".join([md_row(head), "|" + "---|" * len(head), *(md_row(r) for r in rows)])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" if i < left else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*head), fmt.format(*("-" * w for w in widths))] + [fmt.format(*r) for r in rows])


def failure_lines(results: Sequence, show: Callable[[object], str] = str) -> list[str]:
    """One line per distinct failure message of each proxy (results need proxy, failures, errors),
    and a warning for a SWAP-Score at its ceiling on some archs (``saturated``); ``show`` writes a proxy's name and a
    message (:func:`md_text` for a markdown file; session 68: also the names in the FILLED and SATURATED lines)."""
    lines = [f"FAILED {show(r.proxy)} ({r.failures} archs in all; {_which(i, len(r.errors))}): {show(e)}"
             for r in results for i, e in enumerate(r.errors)]
    lines += [filled_line(r.proxy, r.filled, r.n, show) for r in results if getattr(r, "filled", 0)]
    return lines + [saturated_line(r.proxy, r.saturated, r.n, "the batch size", SATURATED_FIX, show)
                    for r in results if getattr(r, "saturated", 0)]


#: what correlate's and conformance's SATURATED line advises
SATURATED_FIX = "use a larger --batch-size or a smaller scored network (--net)"


def filled_line(proxy: str, filled: int, n: int, show: Callable[[object], str] = str) -> str:
    """The FILLED line of a set-level proxy with ``filled`` of its ``n`` archs holding a failed part (``show`` writes
    the names)."""
    parts = ", ".join(show(p) for p in get_proxy(proxy).fill_failed)
    return (f"FILLED {show(proxy)}: {filled} of its {n} scored archs {'has' if filled == 1 else 'have'} a part that "
            f"failed ({parts}), counted at that part's worst value over the set, as the "
            "proxy's published aggregation does, not left out")


def saturated_line(proxy: str, saturated: int, n: int, samples: str, fix: str,
                   show: Callable[[object], str] = str) -> str:
    """The SATURATED line of ``proxy`` with ``saturated`` of its ``n`` archs at the 2**S ceiling (``samples``: what S
    is; ``fix``: the way out; ``show`` writes the names): a SWAP-Score then ranks nothing; a proxy derived from one
    ranks by its other terms alone (session 64: swap_reg "could not rank them", where its ρ was the size prior's)."""
    psi = psi_of(get_proxy(proxy))
    what = ("score" if psi in (None, proxy) else f"have a Ψ ({show(psi)}, which {show(proxy)} is derived from)")
    where = ("where it cannot rank them" if psi in (None, proxy)
             else f"where that Ψ is one constant and {show(proxy)} ranks them by its other terms alone")
    return (f"SATURATED {show(proxy)}: {saturated} of {n} archs {what} >= 95% of the 2**S ceiling (S = {samples}; "
            f"TransNAS jigsaw: 9 tiles per image), {where}; {fix}. (A Ψ at its other ceiling, the hooked neuron "
            "count, is named by the first SaturationWarning printed while scoring, one per proxy and process.)")


def psi_of(proxy: Proxy) -> str | None:
    """The SWAP-Score ``proxy`` is or is derived from (``swap`` for ``swap_reg`` and ``best``), None if none."""
    return next((name for name in (proxy.name, *proxy.base_names) if name in PSI_SETTINGS), None)


def constant_lines(results: Sequence[ProxyResult], scores: dict[str, list[float | None]],
                   show: Callable[[object], str] = str) -> list[str]:
    """A line for each proxy whose every scored arch (two or more) has one value: its ρ and τ are nan with no failure
    to explain them (synflow 0.0 on TransNAS macro, whose Tanh saturates); ``show`` writes the name."""
    lines = []
    for r in results:
        values = {v for v in scores.get(r.proxy, []) if v is not None and math.isfinite(v)}
        if r.n >= 2 and len(values) == 1:
            lines.append(f"CONSTANT {show(r.proxy)}: all {r.n} scored archs have the value {values.pop():g}, so it "
                         "cannot rank them (ρ and τ undefined)")
    return lines


def _which(i: int, shown: int) -> str:
    """Which of a proxy's distinct failure messages a line shows (correlate keeps the first 5)."""
    return f"message {i + 1} of {shown}{' (at most 5 are kept)' if shown >= 5 else ''}" if shown > 1 else "their message"


def code_of(prov: dict) -> str:
    """``swapnas 0.1.0, git 0123456789ab`` (the commit where the provenance has one): which code made an output."""
    return f"swapnas {prov['swapnas']}" + (f", git {prov['source']}" if prov.get("source") else "")


def made_with(prov: dict) -> str:
    """Versions, device and time of a provenance dict (keys a provenance of before lacks are left out)."""
    parts = [f"{name} {prov[name]}" for name in ("torch", "numpy", "scipy") if prov.get(name)]
    if prov.get("swapnas"):
        parts.insert(0, code_of(prov))
    return ", ".join([*parts, *([f"device {prov['device']}"] if prov.get("device") else []), prov["created_utc"]])


def run_notes(run: CorrelateRun) -> list[str]:
    """How the table was computed: the CI's bootstrap, ρ|params's control, each proxy's store key (its
    options) and where the scores came from (all read from the store, some, or none)."""
    boot = run.bootstrap
    lines = [f"ρ 95 % CI: bootstrap ({boot.get('interval', 'percentile')}), {boot['resamples']} resamples, "
             f"seed {boot['seed']} (a resample whose scores or ground truth are all equal has no ρ and is left out; "
             "the CI is nan when more than half are)." if boot else "",
             "ρ|params: partial Spearman ρ controlling for the benchmark's #params (`params_m` in results.csv); "
             f"NaN where the proxy, or the ground truth itself (then in every row), ranks as #params "
             f"(|ρ| >= {ILL_CONDITIONED}).",
             "top10% ρ: Spearman ρ over the archs whose ground truth is at or above its 90th percentile (n of them in "
             "brackets): how well the proxy orders the best archs; nan where fewer than 3 archs are in it, or its "
             "scores or ground truth are all equal.",
             "P@10%: top-k precision, the share of the k = 10 % best archs by ground truth that are among the "
             "proxy's k best (k rounded, at least 1; archs tied at the cut share its places, so the arch order does "
             "not matter): whether the proxy finds the best archs.",
             "s/arch: mean seconds of one arch's scoring in one process (the stored time of each score); the run's "
             "wall time is shorter with several worker processes.",
             "Proxies as scored (store keys, with their options): "
             + ", ".join(f"{md_text(r.proxy)} `{r.key}`" for r in run.results) + "."]
    if lower := [r.proxy for r in run.results if not r.higher_is_better]:  # (session 60: said only in grid.md)
        its = "its" if len(lower) == 1 else "their"
        lines.append(f"Lower is better for {', '.join(map(md_text, lower))}: {its} scores are negated before every "
                     "statistic, so a good one has ρ > 0 (and the plots' rank panel puts its best right); results.csv "
                     "and the plots' score panel show the scores as stored.")
    n = len(run.archs)
    if n and run.reused == n:
        lines.append(f"All {n} archs' scores read from the store (none scored by this run; s/arch is the time "
                     "stored with each score).")
    elif run.reused or run.partly_reused:
        lines.append(f"Scores: {'; '.join(reused_parts(run.reused, n, run.partly_reused))}.")
    if run.other_code:
        lines.append(other_code_line(run.other_code))
    return [f"- {line}" for line in lines if line]


def other_code_line(other: dict[str, str]) -> str:
    """What an output says of reused scores that the store records as made by other code (session 68)."""
    names = ", ".join(f"{md_text(name)} (recorded {when})" for name, when in sorted(other.items()))
    return (f"**Reused scores made by other code**: the store records other code than this run's for {names}; its "
            "scores were reused as they are (the ProxyCodeWarning or NetworkCodeWarning of the run says how to "
            "score them again or accept the code).")


def correlation_report(run: CorrelateRun, prov: dict, plots: Sequence[str]) -> str:
    """``report.md`` of a correlation run: what was run, the table, failures, the plots."""
    table = results_table(run.results, markdown=True)  # refuses a run with no result
    lines = [f"# {run.results[0].space} / {run.results[0].dataset}: training-free proxies against the ground truth", "",
             f"Made by `{prov['command']}` ({made_with(prov)}).",
             "", "## Protocol", "", "```", protocol_text(run.protocol, run.ground_truth, run.batch_note), "```", "",
             "## Rank correlation with the ground truth", "", table, "",
             *run_notes(run), ""]
    problems = failure_lines(run.results, md_text) + constant_lines(run.results, run.scores, md_text)
    if problems:
        lines += ["## Failures and warnings", "", *(f"- {p}" for p in problems), ""]
    lines += ["## Plots", "", *(f"![{name}]({quote(name)})" for name in plots), "",
              "Data: [results.json](results.json) (everything above), [results.csv](results.csv) "
              "(one row per arch), [results.tex](results.tex) (the table for a paper: booktabs).", ""]
    return "\n".join(lines)


def protocol_text(protocol: dict, ground_truth: str, batch_note: str = "") -> str:
    """The protocol printed beside every table."""
    net = ", ".join(f"{k}={v}" for k, v in protocol["net"].items()) or "space default"
    train = protocol["bn_train"]
    mode = f"{'train' if train else 'eval'} mode (BatchNorm, if any: {'batch' if train else 'running'} statistics)"
    lines = [
        f"space {protocol['space']} | dataset {protocol['dataset']} | inputs {protocol['inputs']} "
        f"(batch sha256 {protocol['batch_digest']})",
        f"S={protocol['batch_size']} samples | repeats={protocol['repeats']} (mean over re-inits) | "
        f"init={protocol['init']} | {mode} | "
        f"network {net} | seed={protocol['seed']} (per-arch seeds from sha256(seed, arch))",
        f"ground truth: {ground_truth}",
    ]
    if batch_note:
        lines.append(f"NOTE: {batch_note}")
    return "\n".join(lines)


#: beyond these magnitudes a log axis's limits and ticks pass float range: the scores' log10 is drawn instead
_LOG_RANGE = (1e-250, 1e250)


def score_scale(scores: np.ndarray) -> tuple[np.ndarray, str]:
    """How the scores' axis draws finite ``scores``: the values drawn and the axis, ``log`` where they are all
    positive and span over two decades, ``symlog`` where some are zero or negative and the nonzero ones' magnitudes
    span over two decades (all negative too; session 68: six zero synflow scores of 150 drew the other 144 as one
    vertical line; linear before for these), ``log10`` (their log10 on a linear axis) where a log axis would pass
    float range (session 68: synflow's 1e293 ended correlate in an OverflowError after every score; 1e300 drew an
    empty panel), else ``linear``."""
    nonzero = np.abs(scores[scores != 0])
    with np.errstate(over="ignore"):
        if len(nonzero) < 2 or not nonzero.max() / nonzero.min() > 100:
            return scores, "linear"
    extreme = nonzero.max() > _LOG_RANGE[1] or nonzero.min() < _LOG_RANGE[0]
    if len(nonzero) == len(scores) and (scores > 0).all():
        return (np.log10(scores), "log10") if extreme else (scores, "log")
    return scores, "linear" if extreme else "symlog"


def score_axis(ax: Any, scores: np.ndarray, scale: str | None = None) -> None:
    """The scores' axis (``scale``, :func:`score_scale`'s for ``scores`` where None): logarithmic with decades
    labelled, symmetric-log with its linear part up to the smallest nonzero score, else linear with at most 5 ticks in
    scientific notation for large values (params no longer overlap)."""
    from matplotlib.ticker import MaxNLocator

    scale = scale or score_scale(scores)[1]
    if scale == "log":
        ax.set_xscale("log")  # its own locator: a MaxNLocator's ticks fall between decades and get no label
    elif scale == "symlog":
        from matplotlib.ticker import FixedLocator, NullLocator

        least = float(np.abs(scores[scores != 0]).min())
        ax.set_xscale("symlog", linthresh=least)
        low, high = math.floor(math.log10(least)), math.ceil(math.log10(float(np.abs(scores).max())))
        step = max(1, math.ceil((high - low) / 4))  # 4 decades at most a side, the nearest 0 left to 0's label
        decades = [10.0 ** k for k in range(low + step, high + 1, step)]
        ax.xaxis.set_major_locator(FixedLocator(sorted({0.0, *decades, *(-d for d in decades)})))
        ax.xaxis.set_minor_locator(NullLocator())  # (each decade's label overlapped the next)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))


#: what the score axis's label adds for each scale
_SCALE_NOTE = {"log10": " (log10)", "symlog": " (symmetric log axis, linear near 0)"}


def truth_label(space: str, task: str, ground_truth: str) -> str:
    """The scatter plots' y-axis label: what the ground truth measures, in short. A TransNAS-Bench-101 task's metric
    (top-1 / pixel accuracy (%), negative L2 (MSE) loss, SSIM), a FlexiBERT task's score, NB301's surrogate's
    prediction (session 70), else the ground truth's "… accuracy (%)", a CSV ground truth's column, "ground truth"."""
    if space.startswith("transnas_"):
        from .spaces.transnas import task_info

        return re.split(r" of the | over |, ", task_info(task).metric)[0]
    if m := re.match(r"FlexiBERT-500 (.+?) after ", ground_truth):
        return m.group(1)
    if space == "nb301":  # (NASLib's NB301 accuracy is NAS-Bench-301's surrogate's prediction)
        return "validation accuracy (%, NB301 surrogate)"
    if m := re.search(r"(?:[\w-]+ )?accuracy \(%\)", ground_truth):
        return m.group(0)
    if m := re.search(r"\(column '([^']+)'", ground_truth):
        return f"ground truth ({m.group(1)})"
    return "ground truth"


def footnote_lines(text: str, width: int = 150) -> list[str]:
    """``text`` wrapped to lines of at most ``width`` characters (a plot's footnote: nothing cut)."""
    return textwrap.wrap(text, width) or [""]


def fitted(text: str, width: int) -> str:
    """``text`` as is where it has at most ``width`` characters, else wrapped to lines of that many (session 68: a
    long metric name ran its axis label off the figure and its title out of it)."""
    return text if len(text) <= width else "\n".join(footnote_lines(text, width))


def marker_for(n: int) -> tuple[float, float]:
    """Marker size and opacity for ``n`` points: small pale dots for 1000 archs, visible ones for a few dozen."""
    return (5.0, 0.5) if n > 300 else (10.0, 0.65) if n > 100 else (18.0, 0.8)


def _left_out(result: ProxyResult, scores: np.ndarray, truth: np.ndarray) -> str:
    """A scatter title's note: the archs that failed (not drawn), why ρ is undefined (session 70: report.md alone)."""
    failed = f", {result.failures} failed (not drawn)" if result.failures and len(scores) else ""
    why = ("" if math.isfinite(result.spearman) or not len(scores) else "fewer than 3 archs" if len(scores) < 3 else
           "one score for every arch" if np.unique(scores).size == 1 else "one ground truth for every arch"
           if np.unique(truth).size == 1 else "")
    return failed + (f"; ρ undefined: {why}" if why else "")


def scatter_plot(scores: Sequence[float | None], accuracy: Sequence[float], result: ProxyResult,
                 ground_truth: str, out: Path) -> Path:
    """Left: score vs ground truth (log x-axis when the positive scores span over two decades); right:
    rank vs rank (what Spearman's ρ measures), both ranks as percentiles, best at the top right. The y-axes
    name the ground truth's metric (:func:`truth_label`); its full text is the footnote, wrapped."""
    from matplotlib.figure import Figure  # matplotlib and scipy.stats load where used: ~1.5 s together
    from scipy.stats import rankdata

    s = np.array([np.nan if v is None else v for v in scores], dtype=float)
    a = np.asarray(accuracy, dtype=float)
    ok = np.isfinite(s) & np.isfinite(a)  # (session 68: a NaN ground truth made every rank NaN, the panel empty)
    note = footnote_lines(ground_truth)
    height = 3.8 + 0.13 * (len(note) - 1)  # each footnote line adds its own height: the plots keep theirs
    fig = Figure(figsize=(8.5, height), dpi=120)
    ax, rk = fig.subplots(1, 2)
    label = truth_label(result.space, result.dataset, ground_truth)
    size, alpha = marker_for(int(ok.sum()))
    drawn, scale = score_scale(s[ok])
    ax.scatter(drawn, a[ok], s=size, alpha=alpha, linewidths=0)
    score_axis(ax, s[ok], scale)
    ax.set_xlabel(fitted(f"{result.proxy} score{_SCALE_NOTE.get(scale, '')}"
                         f"{'' if result.higher_is_better else ' (lower is better)'}", 44), parse_math=False)
    ax.set_ylabel(label, parse_math=False)  # the user's texts as written: a file name's `$` is no math (session 63)
    sign = 1.0 if result.higher_is_better else -1.0
    if ok.sum() > 1:
        n = ok.sum()  # ranks at the middle of their percentile bin: the best arch is not cut in half by the frame
        rk.scatter((rankdata(sign * s[ok]) - 0.5) / n * 100, (rankdata(a[ok]) - 0.5) / n * 100, s=size, alpha=alpha,
                   linewidths=0, color="C1")
    rk.set_xlabel(fitted(f"{result.proxy} rank (percentile, best right)", 44), parse_math=False)  # ($: session 67)
    rk.set_ylabel("ground-truth rank (percentile, best top)")
    rk.set_xlim(0, 100)
    rk.set_ylim(0, 100)
    if not ok.any():  # (session 63: two empty panels, an axis from -0.04 to 0.04, and no word why)
        for panel in (ax, rk):
            panel.text(0.5, 0.5, f"no arch scored: {result.failures} failed\n(report.md gives the messages)",
                       transform=panel.transAxes, ha="center", va="center", fontsize=8, parse_math=False)
    title = fitted(f"{result.space} {result.dataset}: {result.proxy}  ρ={fixed(result.spearman)} "
                   f"τ={fixed(result.kendall)} n={result.n}{_left_out(result, s[ok], a[ok])}", 110)
    fig.suptitle(title, fontsize=9, parse_math=False)
    fig.text(0.01, 0.005, "\n".join(note), fontsize=7, va="bottom", parse_math=False)
    fig.tight_layout(rect=(0, (0.05 + 0.13 * len(note)) / height, 1, 1 - 0.16 * title.count("\n") / height))
    return save_figure(fig, out / f"scatter_{result.proxy}.png")


def search_curve(snapshots: Sequence[dict], history: Sequence[dict], path: Path, title: str = "",
                 label: str = "fitness", returned: str | None = None) -> Path:
    """Fitness of every evaluation, best so far and the population mean vs evaluations (``label``: the y axis);
    ``returned``: a second stage's pick, marked at its first-stage fitness. Failed evaluations (−inf) and means of
    populations holding one are not drawn, the legend counts them (session 70: unsaid; a one-point mean unseen)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.6), dpi=120)
    ax = fig.subplots()
    ev = [h["evaluation"] for h in history]
    fit = [h["fitness"] if h["fitness"] is not None else float("-inf") for h in history]  # (null: read back)
    ax.scatter(ev, fit, s=4, alpha=0.35, color="grey", label="evaluated" + (
        f" ({failed} failed, not drawn)" if (failed := sum(not math.isfinite(f) for f in fit)) else ""))
    best, run = [], float("-inf")
    for f in fit:
        run = max(run, f)
        best.append(run)
    ax.step(ev, best, where="post", color="C3", label="best so far")  # a step: it only changes when beaten
    means = [s["population_mean"] if s["population_mean"] is not None else float("-inf") for s in snapshots]
    hidden = sum(not math.isfinite(m) for m in means)
    ax.plot([s["evaluations"] for s in snapshots], means, color="C0", marker="o", markersize=2,
            label="population mean" + (f" ({hidden} with a failed member not drawn)" if hidden else ""))
    if returned is not None and (mine := [h for h in history if h["arch"] == returned]):
        ax.scatter([mine[0]["evaluation"]], [mine[0]["fitness"]], s=40, marker="*", color="C2", zorder=3,
                   label="returned (second stage's pick)")
    ax.set_xlabel("evaluations")
    ax.set_ylabel(fitted(label, 44), parse_math=False)  # (session 69: a long label was cut at both ends)
    ax.set_title(fitted(title, 70), fontsize=9, parse_math=False)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def draw_cells(cells: dict[str, list[tuple[str, str, str]]], path: Path, caption: str = "") -> Path:
    """Each cell as a left-to-right DAG (inputs left, the output right), arcs labelled with their op; ``caption``
    (the arch's string, say) above them (session 70: a FlexiBERT arch's hidden size is in no edge)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch

    fig = Figure(figsize=(6.5 * len(cells), 3.8), dpi=120)
    axes = fig.subplots(1, len(cells), squeeze=False)
    for ax, (name, edges) in zip(axes[0], cells.items()):
        # inputs first (DARTS' c_{k-2} before c_{k-1}), then named nodes (FlexiBERT's emb), numbered ones in
        # numeric order, the output c_{k} last
        nodes = sorted({n for src, dst, _ in edges for n in (src, dst)},
                       key=lambda n: (not n.startswith("c_{k-"), n == "c_{k}", int(n) if n.isdigit() else -1,
                                      n.replace("k-2", "k-0")))
        pos = {n: (i, 0.0) for i, n in enumerate(nodes)}
        for k, (src, dst, op) in enumerate(edges):
            (x0, _), (x1, _) = pos[src], pos[dst]
            # arcs over an even span above the nodes, over an odd one below: two arcs leaving one node part
            rad = (0.35 + 0.08 * (k % 3)) * (1 if (x1 - x0) % 2 == 0 else -1) if x1 - x0 > 1 else 0.0
            ax.add_patch(FancyArrowPatch((x0, 0), (x1, 0), connectionstyle=f"arc3,rad={-rad}", arrowstyle="-|>",
                                         mutation_scale=8, lw=0.8, color="C0" if op else "grey",
                                         linestyle="-" if op else "--", shrinkA=9, shrinkB=9))
            if op:  # each label at its own point t along its arc: labels of arcs from one node do not overlap
                t = 0.5 if x1 - x0 <= 1 else 0.3 + 0.2 * (k % 3)
                ax.text(x0 + t * (x1 - x0), 2 * t * (1 - t) * (x1 - x0) * rad, op.replace("_", " "), fontsize=5.5,
                        ha="center", va="center",
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85})
        for n, (x, y) in pos.items():
            ax.text(x, y, f"${n}$" if "{" in n else n, ha="center", va="center", fontsize=8,
                    bbox={"boxstyle": "circle", "fc": "#f3e6c4", "ec": "black", "lw": 0.6})
        ax.set_aspect("equal")  # arc3 curvature is in display units: equal aspect keeps labels on their arcs
        ax.set_xlim(-0.9, len(nodes) - 0.1)  # room for the outer nodes' labels
        spans = [pos[d][0] - pos[s][0] for s, d, _ in edges]
        ax.set_ylim(-max([0.5] + [x * 0.36 for x in spans if x > 1 and x % 2]),
                    max([0.7] + [x * 0.36 for x in spans if x % 2 == 0]))
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    if caption:
        fig.suptitle(fitted(caption, 110), fontsize=7, parse_math=False)
    fig.tight_layout()
    return save_figure(fig, path)
