"""Tables for a paper: ``results.tex`` (``swapnas correlate``) and ``grid.tex`` (``swapnas grid``), each a
``booktabs`` tabular (``\\usepackage{booktabs}``), the best value of each column in bold as in grid.md, and the
command that made it in a comment above it. The numbers are those of the markdown tables, with three decimals."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence

import numpy as np

from .report import fixed
from .results import ProxyResult

#: LaTeX's special characters → what typesets each as itself
_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "ρ": r"$\rho$", "τ": r"$\tau$",
            "—": "---", "–": "--", "|": r"$|$", "<": r"\textless{}", ">": r"\textgreater{}"}


#: symbols beyond ASCII that pdflatex typesets only as math (session 67: ``σ`` or ``×`` in a name stopped pdflatex)
_SYMBOLS = {"×": r"$\times$", "±": r"$\pm$", "·": r"$\cdot$", "…": r"\ldots{}", "°": r"$^\circ$",
            "→": r"$\rightarrow$", "≤": r"$\leq$", "≥": r"$\geq$", "µ": r"$\mu$", "ς": r"$\varsigma$"}
#: Greek capitals that LaTeX's math has; the others are the Latin letters they look like
_GREEK_CAPITALS = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}
_LOOKALIKE = {"Eta": "H", "Rho": "P", "Chi": "X"}
#: the 24 letters of the Greek alphabet as Unicode names them (an archaic one, koppa or sampi, has no LaTeX command)
_GREEK = {"ALPHA", "BETA", "GAMMA", "DELTA", "EPSILON", "ZETA", "ETA", "THETA", "IOTA", "KAPPA", "LAMDA", "MU", "NU",
          "XI", "OMICRON", "PI", "RHO", "SIGMA", "TAU", "UPSILON", "PHI", "CHI", "PSI", "OMEGA"}


def escape(text: str) -> str:
    """``text`` typeset as itself in ASCII LaTeX: its special characters escaped, ρ, τ and dashes written out, other
    Greek letters and a few symbols as math, accented letters without their accents, anything else as ``?``."""
    return "".join(_SPECIAL.get(ch) or (ch if ch.isascii() else _beyond_ascii(ch)) for ch in str(text))


def _beyond_ascii(ch: str) -> str:
    """What pdflatex typesets for the non-ASCII ``ch`` (see :func:`escape`)."""
    if ch in _SYMBOLS:
        return _SYMBOLS[ch]
    name = unicodedata.name(ch, "")
    if name.startswith(("GREEK SMALL LETTER ", "GREEK CAPITAL LETTER ")) and name.split()[-1] in _GREEK:
        letter = {"Lamda": "Lambda"}.get(name.split()[-1].capitalize(), name.split()[-1].capitalize())  # (Unicode's)
        if letter == "Omicron":  # (no LaTeX command: it is an o)
            return "o" if "SMALL" in name else "O"
        return (f"$\\{letter.lower()}$" if "SMALL" in name else f"$\\{letter}$" if letter in _GREEK_CAPITALS
                else _LOOKALIKE.get(letter, letter[0]))
    plain = "".join(c for c in unicodedata.normalize("NFKD", ch) if unicodedata.category(c) != "Mn")  # é: e
    return "".join(_SPECIAL.get(c, c) for c in plain) if plain and plain.isascii() else "?"  # ％: \%; ½: ?


def _number(x: float | None) -> str:
    """Three decimals with a real minus sign; ``---`` for no value (None or NaN)."""
    if x is None or math.isnan(x):
        return "---"
    text = fixed(x)
    return f"${text}$" if text.startswith("-") else text


def tabular(head: Sequence[str], rows: Sequence[Sequence[str]], bold: Sequence[Sequence[bool]] | None = None,
            command: str = "") -> str:
    """A booktabs tabular: ``head`` (escaped) over ``rows`` (cells as given, already LaTeX), the first column left,
    the others right; a cell whose ``bold`` is True in ``\\textbf``; ``command`` as a comment above."""
    if not rows:
        raise ValueError("a LaTeX table needs at least one row")
    lines = [f"% made by: {' '.join(command.splitlines())}"] if command else []  # (one comment line: session 67)
    lines += [r"\begin{tabular}{l" + "r" * (len(head) - 1) + "}", r"\toprule",
              " & ".join(escape(h) for h in head) + r" \\", r"\midrule"]
    for i, row in enumerate(rows):
        cells = [rf"\textbf{{{c}}}" if bold is not None and bold[i][j] else c for j, c in enumerate(row)]
        lines.append(" & ".join(cells) + r" \\")
    return "\n".join([*lines, r"\bottomrule", r"\end{tabular}", ""])


def best_cells(values: np.ndarray) -> np.ndarray:
    """Where each column's largest value is, as printed with three decimals (ties all marked; NaN never)."""
    shown = np.vectorize(lambda v: float(fixed(v)) if not math.isnan(v) else -math.inf)(values.astype(float))
    top = shown.max(axis=0, initial=-math.inf)
    return (shown == top) & np.isfinite(shown)


def correlate_table(results: Sequence[ProxyResult], command: str = "") -> str:
    """``swapnas correlate``'s table: ρ [95 % CI], τ, top-10 % ρ, P@10 %, ρ|#params and n per metric; the best ρ,
    τ, top-10 % ρ and P@10 % in bold."""
    stats = np.array([[r.spearman, r.kendall, r.top10_spearman,
                       math.nan if r.top10_precision is None else r.top10_precision] for r in results], dtype=float)
    marked = best_cells(stats) if len(results) else stats
    rows, bold = [], []
    for i, r in enumerate(results):
        ci = f"[{_number(r.spearman_ci[0])}, {_number(r.spearman_ci[1])}]"
        rows.append([escape(r.proxy), _number(r.spearman), ci, _number(r.kendall), _number(r.top10_spearman),
                     _number(r.top10_precision), _number(r.spearman_given_params), str(r.n)])
        bold.append([False, *marked[i][:1], False, *marked[i][1:], False, False])
    head = ["metric", "ρ", "95 % CI", "τ", "top-10 % ρ", "P@10 %", "ρ | #params", "n"]
    return tabular(head, rows, bold, command)


def grid_table(names: Sequence[str], labels: Sequence[str], rho: np.ndarray, order: Sequence[int],
               command: str = "") -> str:
    """``swapnas grid``'s ρ table: a row per metric (in ``order``, grid.md's), a column per benchmark task and the
    mean of each row's cells with ρ; the best of each task column in bold."""
    marked = best_cells(rho)
    rows, bold = [], []
    for i in order:
        mean = math.nan if np.isnan(rho[i]).all() else float(np.nanmean(rho[i]))
        rows.append([escape(names[i]), *(_number(v) for v in rho[i]), _number(mean)])
        bold.append([False, *marked[i], False])
    return tabular(["metric", *labels, "mean"], rows, bold, command)


__all__ = ["best_cells", "correlate_table", "escape", "grid_table", "tabular"]
