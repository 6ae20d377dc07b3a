"""A user's own ground truth: a CSV of architectures of any registered space and their accuracy.

``swapnas correlate --space SPACE --truth FILE.csv`` reads it. Columns, found by name:

- the arch column: the first column whose every value parses as an arch of SPACE
  (``SPACE.parse``, or NASLib's key: :func:`swapnas.spaces.arch_reader`), unless ``--arch-column`` names it;
- the accuracy column: ``--accuracy-column``, else the only numeric column whose name contains
  ``acc`` (two or more such columns: an error asking for ``--accuracy-column``), else the last
  numeric column that is not the arch column;
- an optional ``task`` column (dataset or task per row); without one every row belongs to the
  run's ``--dataset``.

Other columns (row numbers, notes) are ignored; the columns used are named in the protocol text.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .described import Described
from ..size_prior import count_params_k
from ..spaces import SPACES, arch_reader, get_space
from ..errors import NotFound

log = logging.getLogger(__name__)


def _parse_error(parse: Any, value: str) -> str | None:
    """Why ``value`` is not an arch (``parse``'s error), or None when it is one."""
    try:
        parse(value)
        return None
    except (ValueError, KeyError, TypeError, SyntaxError) as exc:
        return str(exc)


def _parses(parse: Any, value: str) -> bool:
    return _parse_error(parse, value) is None


def _short(text: str | None, width: int = 100) -> str | None:
    """``text`` cut to ``width`` characters with an ellipsis (a DARTS genotype is ~400 of them)."""
    return text if text is None or len(text) <= width else text[:width - 1] + "…"


def _space_of(values: list[str], space: str, every: bool = False) -> str | None:
    """Another registered space whose parser reads one of ``values`` (``every``: each of them), or None."""
    for name in SPACES:
        read = [_parses(arch_reader(get_space(name)), v) for v in values if v]
        if name != space and read and (all(read) if every else any(read)):
            return name
    return None


def _stripped(row: dict) -> dict:
    """``row`` with its column names and cells stripped of spaces: a hand-written ``arch, task, acc`` file's " task"
    column was not read as the task column (every row scored on --dataset), and its " cifar10" named no dataset."""
    return {k.strip() if isinstance(k, str) else k: v.strip() if isinstance(v, str) else v for k, v in row.items()}


def _numeric(values: list[str]) -> bool:
    try:
        return all(math.isfinite(float(v)) for v in values)
    except (ValueError, TypeError):  # TypeError: a short row's missing cell (None)
        return False


class CsvBenchmark(Described):
    """Ground truth from ``path`` for archs of ``space`` (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, space: str, dataset: str, arch_column: str | None = None,
                 accuracy_column: str | None = None):
        self.path, self.space, self.name = Path(path), space, f"csv:{Path(path).name}"
        mod = get_space(space)
        if self.path.is_dir():  # (session 65: "no such file")
            raise ValueError(f"--truth {self.path} is a folder; give the CSV file (an arch column and an accuracy "
                             "column)")
        if not self.path.is_file():
            raise FileNotFoundError(f"--truth {self.path}: no such file (a CSV with an arch column and an accuracy column)")
        try:
            with self.path.open(newline="", encoding="utf-8-sig") as f:  # -sig: Excel's "CSV UTF-8" begins with a BOM
                reader = csv.DictReader(f)
                rows, header = [_stripped(r) for r in reader], reader.fieldnames
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ValueError(f"--truth {self.path}: not a readable CSV file ({exc})") from None
        if not header:
            raise ValueError(f"--truth {self.path} is empty: give a header line (e.g. arch,accuracy) and one row per "
                             "arch")
        if not rows:
            raise ValueError(f"--truth {self.path}: no data rows under its header line ({','.join(header)})")
        columns = [c for c in rows[0] if c is not None]  # None: csv's key of a row's cells past the header's
        self.has_task_column = "task" in columns  # each row's task from the file, not --dataset
        self.arch_column = arch_column or next(
            (c for c in columns if all(_parses(arch_reader(mod), r[c]) for r in rows)), None)
        if arch_column is not None and arch_column not in columns:
            raise ValueError(f"--arch-column {arch_column}: no such column in --truth {self.path} (columns: "
                             f"{', '.join(columns)})")
        if self.arch_column not in columns:
            raise ValueError(self._no_arch_column(rows, columns, arch_reader(mod)))
        self.accuracy_column = self._accuracy(rows, columns, accuracy_column)
        tasks = [r.get("task") or dataset for r in rows]
        self.tasks = tuple(dict.fromkeys(tasks))
        self._rows: dict[str, dict[Any, float]] = {t: {} for t in self.tasks}
        self._lines: dict[str, dict[Any, int]] = {t: {} for t in self.tasks}  # each arch's line, for a repeat's message
        if "dataset" in columns and not self.has_task_column:  # session 53: it was ignored without a word
            log.warning("--truth %s: its 'dataset' column is not read (the task of each row is a column named "
                        "'task'); every row is scored on --dataset %s", self.path, dataset)
        for line, (r, t) in enumerate(zip(rows, tasks), 2):
            if any(str(c).strip() for c in r.get(None) or []):  # (session 68: `arch,87,05` read 87, unsaid)
                raise ValueError(f"--truth {self.path}: line {line} has more cells than its header line "
                                 f"({len(header)}: {','.join(header)}): a value holding a comma (a decimal comma, "
                                 "87,05) is quoted or written with a point (87.05)")
            try:
                arch = arch_reader(mod)(r[self.arch_column])
            except (ValueError, KeyError, TypeError, SyntaxError) as exc:
                raise ValueError(f"--arch-column {self.arch_column}: line {line} of --truth {self.path} holds "
                                 f"{_short(r[self.arch_column])!r}, not an arch of {space} ({exc}); fix "
                                 "or remove that row") from None
            if arch in self._rows[t]:
                first = self._lines[t][arch]
                raise ValueError(f"--truth {self.path}: {_short(str(arch))} appears twice for task {t}, on lines "
                                 f"{first} and {line}; keep one row per arch (e.g. its mean accuracy)")
            self._rows[t][arch] = float(r[self.accuracy_column])
            self._lines[t][arch] = line
        self._warn_naslib_keys([r[self.arch_column] for r in rows[:5]])  # after the loop: each cell is an arch
        self._final = getattr(mod, "FINAL_NETS", {})

    def _warn_naslib_keys(self, values: list[str]) -> None:
        """NASLib's keys are tuples of op indices in NB201 and both TransNAS spaces alike: say which space read them
        where another reads them too (a NB201 file read as TransNAS micro archs scored other networks silently)."""
        if not all(v.startswith("(") for v in values):  # (the cells are stripped)
            return
        if (other := _space_of(values, self.space, every=True)) is not None:
            log.warning("--truth %s: its archs are NASLib keys, read as %s archs (--space %s); %s's NASLib keys look "
                        "alike: if the file holds %s archs, give --space %s", self.path, self.space, self.space,
                        other, other, other)

    def _accuracy(self, rows: list[dict], columns: list[str], accuracy_column: str | None) -> str:
        """The accuracy column: the one named, else the one numeric column whose name says accuracy, else the last
        numeric one; a column meant (named, or named *acc*) with a cell that is no number is refused naming it."""
        numeric = [c for c in columns if c != self.arch_column and _numeric([r[c] for r in rows])]
        named = [c for c in numeric if "acc" in c.lower()]
        if accuracy_column is None and len(named) > 1:  # the last numeric column could be any of them, or #params
            raise ValueError(f"--truth {self.path}: several columns look like accuracies ({', '.join(named)}); "
                             "name the one to correlate with --accuracy-column")
        # the column meant: the one named, else one whose name says accuracy (numeric or not: a bad cell is named)
        meant = accuracy_column or next((c for c in columns if c != self.arch_column and "acc" in c.lower()), None)
        chosen = accuracy_column or (named[0] if named else numeric[-1] if numeric else None)
        given = [r[meant] for r in rows] if meant in columns else []
        # a bad cell; or none reads in the column named *acc* (session 53: then another column was taken)
        if given and meant not in numeric and (not accuracy_column or any(_numeric([v]) for v in given)):
            line, bad = next((i, r[meant]) for i, r in enumerate(rows, 2) if not _numeric([r[meant]]))
            where = f"--accuracy-column {meant}" if accuracy_column else f"the accuracy column {meant}"
            held = "no cell there (the row is short)" if bad is None else f"{bad!r}, not a finite number"
            fix = ("fix or remove that row" if any(_numeric([v]) for v in given) else "no cell of it reads as a "
                   "number: write plain numbers (91.01, not 91.01% or 91,01), or name the accuracy column with "
                   f"--accuracy-column (numeric columns: {', '.join(numeric) or 'none'})")
            raise ValueError(f"{where}: line {line} of --truth {self.path} holds {held}; {fix}")
        if accuracy_column is not None and accuracy_column not in numeric:
            raise ValueError(f"--accuracy-column {accuracy_column}: no such numeric column in --truth {self.path} "
                             f"(numeric columns: {', '.join(numeric) or 'none'})")
        if chosen is None or chosen not in numeric:  # (only where no column but the archs' is numeric)
            raise ValueError(f"--truth {self.path}: no numeric accuracy column (numeric columns: none); name it "
                             "with --accuracy-column")
        return chosen

    def _no_arch_column(self, rows: list[dict], columns: list[str], parse: Any) -> str:
        """Why no column was taken for the archs: the column most of whose rows parse, with its first row that does
        not, or that none does."""
        counts = {c: sum(_parses(parse, r[c]) for r in rows) for c in columns}
        near = max(columns, key=lambda c: counts[c])
        if len(columns) == 1 and (sep := next((s for s in (";", "\t", "|") if s in columns[0]), None)):
            return (f"--truth {self.path}: its header is one column, {_short(columns[0])!r}, split by {sep!r}: give a "
                    "comma-separated CSV (arch,accuracy)")
        if not counts[near]:
            other = _space_of([r[c] for r in rows[:5] for c in columns], self.space)
            fix = f"these look like {other} archs: give --space {other}" if other else "name it with --arch-column"
            return (f"--truth {self.path}: no column holds {self.space} archs (columns: {', '.join(columns)}); {fix}")
        line, bad = next((i, r[near]) for i, r in enumerate(rows, 2) if not _parses(parse, r[near]))
        return (f"--truth {self.path}: no column holds {self.space} archs in every row; column {near!r} does in "
                f"{counts[near]} of {len(rows)}, but line {line} holds {_short(bad)!r} ({_parse_error(parse, bad)}); "
                "fix or remove that row (or name the arch column with --arch-column)")

    def _task(self, task: str) -> dict[Any, float]:
        if task not in self._rows:
            raise ValueError(f"{self.name} has ground truth only for {', '.join(self.tasks)} (got task {task!r})")
        return self._rows[task]

    def archs_for(self, task: str) -> list:
        return list(self._task(task))

    def accuracies(self, archs: list, task: str) -> np.ndarray:
        """The archs' accuracies on ``task``; an arch may be given as its string (the space's ``parse``)."""
        rows, parse = self._task(task), arch_reader(get_space(self.space))
        out = []
        for a in archs:
            arch = parse(a) if isinstance(a, str) else a
            if arch not in rows:
                raise NotFound(f"{a} is not an arch of --truth {self.path} for task {task}")
            out.append(rows[arch])
        return np.array(out)  # (floats, from float() of each cell: float64, also when empty)

    def truth_text(self, task: str) -> str:
        return (f"{self.path} (column {self.accuracy_column!r}, archs from column {self.arch_column!r}; "
                f"{len(self._task(task))} archs of {self.space} in the file, task {task})")

    def params_m(self, arch: Any, task: str) -> float:
        """Millions of parameters of the space's final network for ``task`` (else its default build);
        a space with several tasks (``TASKS``: TransNAS) builds ``task``'s network (its head)."""
        mod = get_space(self.space)
        final = self._final.get(task, {})
        fast = getattr(mod, "final_params", None)  # counted without a build where the space can (DARTS: 300 builds
        count = fast(arch, final) if fast is not None and "net" in final else None  # took 27 s)
        if count is not None:
            return count / 1e3 / 1e3  # the same float as count_params_k(model) / 1e3 (search.final.final_size)
        build = final.get("builder", mod.build)
        net = dict(final.get("net", {}))
        if hasattr(mod, "TASKS"):
            net.setdefault("task", task)
        with torch.device("meta"):
            return count_params_k(build(arch, **net)) / 1e3


__all__ = ["CsvBenchmark"]
