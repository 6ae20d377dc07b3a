"""NAS-Bench-101 ground truth: NASLib's 500 CIFAR-10 archs with their accuracy.

Source: ``nb101/naslib_zc_nasbench101.json`` (NASLib's NAS-Bench-Suite-Zero file,
``{"nasbench101": {"cifar10": {key: record}}}``). Each key is the raw 7×7 spec NASLib
sampled (unpruned); the 500 keys are 301 distinct pruned cells (292 up to isomorphism).
Each record's ``val_accuracy`` is NB101's CIFAR-10 validation accuracy (%) after 108
epochs of ONE of the benchmark's three training runs, as NASLib queried it: keys that
prune to the same cell carry different values. Records also hold NASLib's proxy
scores; its ``params`` (millions) equals :func:`nb101.count_params` for all 500 keys.
"""

from __future__ import annotations

import os

import numpy as np

from .described import Described
from ..bundle import damaged, parsing, read_json
from ..data import require_file, resolve_data_dir
from ..spaces import nb101
from ..errors import NotFound

FILE = "nb101/naslib_zc_nasbench101.json"
ORIGIN = "NASLib (automl/NASLib naslib/data/zc_nasbench101.json), in the swapnas data bundle (see SOURCES.md)"
TASKS: tuple[str, ...] = ("cifar10",)


class NB101Benchmark(Described):
    """NASLib's NB101 subset: archs (raw specs, file order), accuracy and stored proxy scores.

    Archs are matched exactly (unpruned, as NASLib stores them); :meth:`iso_indices`
    finds the entries of an isomorphic cell.

    Example:
        >>> bench = NB101Benchmark("../shared/data")                   # doctest: +SKIP
        >>> bench.accuracies(bench.archs_for("cifar10")[:2], "cifar10")  # doctest: +SKIP
        array([92.578125  , 92.46794581])
    """

    name = "nb101"
    space = "nb101"
    tasks = TASKS

    def __init__(self, data_dir: str | os.PathLike | None = None):
        self.path = require_file(resolve_data_dir(data_dir), FILE, ORIGIN)
        data = read_json(self.path, ORIGIN)
        try:
            records = data["nasbench101"]["cifar10"]
        except (KeyError, TypeError):
            raise damaged(self.path, ORIGIN, "it must hold {'nasbench101': {'cifar10': {key: record}}}") from None
        with parsing(self.path, ORIGIN):
            self.keys = list(records)
            self._records = [records[k] for k in self.keys]
            self.archs = [nb101.parse_naslib(k) for k in self.keys]
            self._acc = np.array([float(r["val_accuracy"]) for r in self._records])
        self._index = {a: i for i, a in enumerate(self.archs)}
        if len(self._index) != len(self.archs):
            raise ValueError(f"{self.path}: two NASLib keys name the same spec")
        self._hashes: list[str] | None = None
        self.protocol = self.truth_text("cifar10")

    def __len__(self) -> int:
        return len(self.archs)

    def _check_task(self, task: str) -> None:
        if task not in self.tasks:
            raise ValueError(f"NB101 ground truth has no task {task!r}; tasks: {', '.join(self.tasks)}")

    def archs_for(self, task: str) -> list[nb101.Arch]:
        """The archs with ground truth for ``task``, in file order."""
        self._check_task(task)
        return list(self.archs)

    def index_of(self, arch: nb101.Arch | str, task: str = "cifar10") -> int:
        """The arch's entry; a string (ours or a NASLib key) is read with ``nb101.parse``."""
        self._check_task(task)
        arch = nb101.parse(arch) if isinstance(arch, str) else arch
        try:
            return self._index[arch]
        except KeyError:
            pass
        hint = ""
        if isinstance(arch, nb101.Arch):
            iso = self.iso_indices(arch, task)
            if iso:
                hint = (f"; it is isomorphic to {len(iso)} stored entries (first: index {iso[0]}, "
                        f"{self.archs[iso[0]]}), see iso_indices()")
        raise NotFound(f"{arch} is not among the {len(self)} NB101 specs of {self.path}: ground truth exists only "
                       f"for NASLib's stored keys, matched as stored (unpruned){hint}") from None

    def iso_indices(self, arch: nb101.Arch, task: str = "cifar10") -> list[int]:
        """Indices of the entries whose pruned cell is isomorphic to ``arch`` (graph hash)."""
        self._check_task(task)
        if self._hashes is None:
            self._hashes = [nb101.graph_hash(a) for a in self.archs]
        h = nb101.graph_hash(arch)
        return [i for i, x in enumerate(self._hashes) if x == h]

    def accuracies(self, archs: list[nb101.Arch] | list[str], task: str = "cifar10") -> np.ndarray:
        """Stored validation accuracy (%) of each arch, in the given order."""
        return np.array([self._acc[self.index_of(a, task)] for a in archs])

    def truth_text(self, task: str = "cifar10") -> str:
        self._check_task(task)
        return ("NB101 CIFAR-10 validation accuracy (%) after 108 epochs as stored in NASLib's NAS-Bench-Suite-Zero "
                f"file ({len(self)} archs; one of the benchmark's 3 training runs per entry, as NASLib queried it)")

    def params_m(self, arch: nb101.Arch, task: str = "cifar10") -> float:
        """Parameters (millions) of the benchmark network (C=128, 3 stacks of 3 cells), counted from our builder."""
        self._check_task(task)
        return nb101.count_params(arch) / 1e6

    def naslib_score(self, task: str, proxy: str) -> dict[nb101.Arch, float]:
        """NASLib's stored score of ``proxy`` for every arch (for conformance checks)."""
        self._check_task(task)
        available = sorted(k for k in self._records[0] if k != "val_accuracy")
        if proxy not in available:
            raise NotFound(f"{self.path} stores no NB101 score {proxy!r}; stored: {', '.join(available)}")
        return {a: float(r[proxy]) for a, r in zip(self.archs, self._records)}
