"""NAS-Bench-201 ground truth: arch → accuracy, from ``nb201/nb201_all_15625.csv``.

The protocol is explicit: which dataset, which split (validation or test) and
which training schedule (200 or 12 epochs). Default: 200-epoch validation
accuracy, as the SWAP paper's evaluation uses.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .described import Described
from ..bundle import damaged, parsing
from ..data import require_file, resolve_data_dir
from ..spaces import nb201
from ..errors import NotFound

TABLE = "nb201/nb201_all_15625.csv"
ORIGIN = "the swapnas data bundle (shared/data/nb201, built from the NAS-Bench-201 / NATS-Bench releases; see SOURCES.md)"

_COLUMNS: dict[tuple[str, str, int], str] = {
    ("cifar10", "valid", 200): "c10_valid_200",
    ("cifar10", "test", 200): "c10_test_200",
    ("cifar100", "valid", 200): "c100_valid_200_derived",
    ("cifar100", "test", 200): "c100_test_200",
    ("imagenet16-120", "valid", 200): "in16_valid_200_derived",
    ("imagenet16-120", "test", 200): "in16_test_200",
    ("cifar10", "valid", 12): "c10_valid_12",
    ("cifar10", "test", 12): "c10_test_12",
    ("cifar100", "valid", 12): "c100_valid_12",
    ("cifar100", "test", 12): "c100_test_12",
    ("imagenet16-120", "valid", 12): "in16_valid_12",
    ("imagenet16-120", "test", 12): "in16_test_12",
}
_SPLIT_TEXT = {
    ("cifar10", "valid"): "cifar10-valid: trained on the 25k train split, evaluated on the 25k x-valid split",
    ("cifar10", "test"): "cifar10: trained on train+valid (50k), evaluated on ori-test (10k)",
    ("cifar100", "valid"): "cifar100: x-valid half (5k) of ori-test",
    ("cifar100", "test"): "cifar100: x-test half (5k) of ori-test",
    ("imagenet16-120", "valid"): "ImageNet16-120: x-valid half (3k) of ori-test",
    ("imagenet16-120", "test"): "ImageNet16-120: x-test half (3k) of ori-test",
}
_NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet16-120": 120}


@dataclass(frozen=True)
class GroundTruth:
    """Which accuracy a correlation is computed against."""

    dataset: str
    metric: str = "valid"
    epochs: int = 200

    def __post_init__(self) -> None:
        if (self.dataset, self.metric, self.epochs) not in _COLUMNS:
            raise ValueError(
                f"NB201 has no ground truth for dataset={self.dataset!r}, metric={self.metric!r}, "
                f"epochs={self.epochs!r}; datasets: cifar10, cifar100, imagenet16-120; metric: valid or test; "
                "epochs: 200 or 12"
            )

    @property
    def column(self) -> str:
        return _COLUMNS[(self.dataset, self.metric, self.epochs)]

    def describe(self) -> str:
        return (f"NB201 {self.metric} accuracy (%), {self.epochs} epochs, mean over seeds; "
                f"{_SPLIT_TEXT[(self.dataset, self.metric)]}")


class NB201Benchmark(Described):
    """All 15,625 NB201 archs with their metrics, in the benchmark's index order.

    ``metric`` / ``epochs`` pick the ground truth that the task-level interface
    (``accuracies(archs, task)``, ``truth_text(task)``) reports.

    Example:
        >>> bench = NB201Benchmark("../shared/data")          # doctest: +SKIP
        >>> bench.accuracy(bench.archs[0], GroundTruth("cifar100"))  # doctest: +SKIP
    """

    name = "nb201"
    space = "nb201"
    tasks: tuple[str, ...] = ("cifar10", "cifar100", "imagenet16-120")

    def __init__(self, data_dir: str | os.PathLike | None = None, metric: str = "valid", epochs: int = 200):
        GroundTruth(self.tasks[0], metric, epochs)  # validates metric and epochs
        self.metric, self.epochs = metric, epochs
        self.path = require_file(resolve_data_dir(data_dir), TABLE, ORIGIN)
        with parsing(self.path, ORIGIN), open(self.path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        if len(rows) != nb201.NUM_ARCHS:
            raise damaged(self.path, ORIGIN, f"{len(rows)} rows, expected {nb201.NUM_ARCHS}")
        self._rows = rows
        with parsing(self.path, ORIGIN):
            self.archs: list[nb201.Arch] = [nb201.parse(r["arch_str"]) for r in rows]
        self._index = {a: i for i, a in enumerate(self.archs)}
        if len(self._index) != len(self.archs):  # a repeated arch_str: the last row would shadow the first
            first = next(i for i, a in enumerate(self.archs) if self._index[a] != i)
            raise damaged(self.path, ORIGIN, f"arch {rows[first]['arch_str']} is on rows {first} and "
                                             f"{self._index[self.archs[first]]} ({len(self.archs) - len(self._index)} "
                                             "repeated archs)")

    def __len__(self) -> int:
        return len(self.archs)

    def index_of(self, arch: nb201.Arch | str) -> int:
        """The arch's row; a string is read with ``nb201.parse``."""
        arch = nb201.parse(arch) if isinstance(arch, str) else arch
        try:
            return self._index[arch]
        except (KeyError, TypeError):  # TypeError: an unhashable non-arch
            raise NotFound(f"{arch!r} is not an NB201 arch of {self.path}; pass an nb201.Arch or its string "
                           "('|…|+|…|+|…|')") from None

    @cached_property
    def _numeric(self) -> dict[str, np.ndarray]:
        cols = [c for c in self._rows[0] if c not in {"arch_str", "naslib_op_indices", "isomorph_unique_str"}]
        with parsing(self.path, ORIGIN):
            return {c: np.array([float(r[c]) for r in self._rows]) for c in cols}

    def column(self, name: str) -> np.ndarray:
        """A numeric column for all archs in index order."""
        try:
            return self._numeric[name]
        except KeyError:
            raise NotFound(f"{self.path} has no column {name!r}; columns: {', '.join(self._numeric)}") from None

    def column_text(self, name: str) -> list[str]:
        """A text column (e.g. ``naslib_op_indices``) for all archs in index order."""
        if name not in self._rows[0]:
            raise NotFound(f"{self.path} has no column {name!r}")
        return [r[name] for r in self._rows]

    def truth(self, task: str) -> GroundTruth:
        """The ground truth for ``task`` (a dataset) under this table's metric and epochs."""
        return GroundTruth(task, self.metric, self.epochs)

    def truth_text(self, task: str) -> str:
        return self.truth(task).describe()

    def archs_for(self, task: str) -> list[nb201.Arch]:
        """Every arch has ground truth on every dataset: all 15,625 in index order."""
        self.truth(task)
        return self.archs

    def accuracy(self, arch: nb201.Arch | str, truth: GroundTruth | str) -> float:
        truth = self.truth(truth) if isinstance(truth, str) else truth
        return float(self.column(truth.column)[self.index_of(arch)])

    def accuracies(self, archs: list[nb201.Arch] | list[str], truth: GroundTruth | str) -> np.ndarray:
        """Accuracies for ``archs`` (archs or their strings) under ``truth`` (a GroundTruth, or a task name)."""
        truth = self.truth(truth) if isinstance(truth, str) else truth
        col = self.column(truth.column)
        return np.array([col[self.index_of(a)] for a in archs])

    def params_m(self, arch: nb201.Arch | str, dataset: str) -> float:
        """Parameters (millions) of the benchmark's full network (C=16, N=5) for ``dataset``.

        Counted from the built network, not read from the table: the table's params
        column is wrong for 150 archs (see docs/protocol.md).
        """
        if dataset not in _NUM_CLASSES:
            raise ValueError(f"NB201 has no dataset {dataset!r}; datasets: {', '.join(_NUM_CLASSES)}")
        return nb201.count_params(arch, num_classes=_NUM_CLASSES[dataset]) / 1e6
