"""DARTS-space ground truth: NB301 (NASLib's 725 archs) and the SWAP authors' DARTS archs.

Both are tables genotype → CIFAR-10 accuracy over the ``darts`` space and share
:class:`GenotypeTable`; they differ only in the file they read.

- ``nb301``: ``nb301/naslib_zc_nasbench301.json`` (NASLib's NAS-Bench-Suite-Zero file). Its
  ``val_accuracy`` is NB301's CIFAR-10 validation accuracy as NASLib stores it (%); the
  network whose size NASLib stores is ``darts_net.NETS["nb301"]`` (C=32, 8 cells).
- ``darts_swap``: ``darts/swap_darts_dev300.csv``, 300 of the 1000 DARTS genotypes the SWAP
  authors trained on CIFAR-10 (normal cell = reduce cell), columns ``row,genotype,cifar10_accuracy``.
  The authors' training network is not published; its size is taken as that of the NB301
  training network (same C=32, 8 cells), which only serves as the ρ|params covariate.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import torch

from .described import Described
from ..bundle import damaged, parsing, read_json
from ..data import require_file, resolve_data_dir
from ..size_prior import count_params_k
from ..spaces import darts_genotype as dg
from ..spaces.darts_net import NETS, build
from ..errors import NotFound


def _genotype(arch: dg.Genotype | str) -> dg.Genotype:
    """A genotype, or a string read with ``darts.parse`` (``Genotype(normal=[…], …)``) or, starting with ``[``,
    ``darts.parse_naslib`` (NASLib's NB301 key)."""
    if isinstance(arch, str):
        return dg.parse_naslib(arch) if arch.lstrip().startswith("[") else dg.parse(arch)
    return arch


class GenotypeTable(Described):
    """DARTS genotypes (in file order) with one CIFAR-10 accuracy each."""

    name = ""
    space = "darts"
    tasks: tuple[str, ...] = ("cifar10",)
    protocol = ""

    def __init__(self, path: Path, archs: list[dg.Genotype], acc: list[float]):
        self.path, self.archs, self._acc = path, archs, np.array(acc, dtype=float)
        self._index = {a: i for i, a in enumerate(self.archs)}
        if len(self._index) != len(self.archs):
            raise ValueError(f"{self.path}: two rows name the same genotype")

    def __len__(self) -> int:
        return len(self.archs)

    def index_of(self, arch: dg.Genotype | str) -> int:
        """The genotype's row; a string is read with ``darts.parse`` (``Genotype(normal=[…], …)``) or,
        starting with ``[``, ``darts.parse_naslib`` (NASLib's NB301 key)."""
        arch = _genotype(arch)
        try:
            return self._index[arch]
        except KeyError:
            raise NotFound(f"{arch} is not among the {len(self)} archs of {self.path}; "
                           f"{self.name} ground truth exists only for its stored archs") from None

    def _check(self, task: str) -> None:
        if task not in self.tasks:
            raise ValueError(f"{self.name} has ground truth only for {', '.join(self.tasks)} (got task {task!r})")

    def archs_for(self, task: str = "cifar10") -> list[dg.Genotype]:
        self._check(task)
        return self.archs

    def truth_text(self, task: str = "cifar10") -> str:
        self._check(task)
        return self.protocol

    def accuracies(self, archs: list[dg.Genotype] | list[str], task: str = "cifar10") -> np.ndarray:
        self._check(task)
        return np.array([self._acc[self.index_of(a)] for a in archs])

    def params_m(self, arch: dg.Genotype | str, task: str = "cifar10") -> float:
        """Parameters (millions) of the NB301 training network (C=32, 8 cells) for ``arch`` (a string as in
        :meth:`index_of`)."""
        self._check(task)
        with torch.device("meta"):
            return count_params_k(build(_genotype(arch), **NETS["nb301"])) / 1e3


class NB301Benchmark(GenotypeTable):
    """NASLib's NB301 subset: genotypes in file order and their validation accuracy, which NASLib's query took from
    NAS-Bench-301's surrogate model: a prediction, not a trained network's accuracy (the ground truth's text, which
    label-hygiene checks and stored results.json files match, keeps its wording; docs/spaces.md says so)."""

    name = "nb301"
    protocol = ("NB301 CIFAR-10 validation accuracy (%) as stored in NASLib's NAS-Bench-Suite-Zero file "
                "(725 archs)")
    FILE = "nb301/naslib_zc_nasbench301.json"
    ORIGIN = "NASLib (automl/NASLib naslib/data/zc_nasbench301.json), in the swapnas data bundle (see SOURCES.md)"

    def __init__(self, data_dir: str | os.PathLike | None = None):
        path = require_file(resolve_data_dir(data_dir), self.FILE, self.ORIGIN)
        records = read_json(path, self.ORIGIN)
        with parsing(path, self.ORIGIN):
            records = records["cifar10"]
            self.keys = list(records)
            archs = [dg.parse_naslib(k) for k in self.keys]
            acc = [float(records[k]["val_accuracy"]) for k in self.keys]
        super().__init__(path, archs, acc)


class DartsSwapBenchmark(GenotypeTable):
    """The SWAP authors' DARTS archs (300-row dev split) and their trained CIFAR-10 accuracy."""

    name = "darts_swap"
    protocol = ("CIFAR-10 accuracy (%) of the SWAP authors' trained DARTS archs (their DARTS_archs_CIFAR10.csv; "
                "this 300-row dev split, normal cell = reduce cell); training recipe not published")
    FILE = "darts/swap_darts_dev300.csv"
    ORIGIN = "the SWAP authors' DARTS_archs_CIFAR10.csv (pym1024/SWAP), in the swapnas data bundle (see SOURCES.md)"

    def __init__(self, data_dir: str | os.PathLike | None = None):
        path = require_file(resolve_data_dir(data_dir), self.FILE, self.ORIGIN)
        archs, acc, self.rows = [], [], []
        with parsing(path, self.ORIGIN), path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = {"row", "genotype", "cifar10_accuracy"} - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"{path}: missing column(s) {sorted(missing)}; expected row,genotype,cifar10_accuracy")
            for line, rec in enumerate(reader, start=2):
                try:
                    archs.append(dg.parse(rec["genotype"]))
                    acc.append(float(rec["cifar10_accuracy"]))
                    self.rows.append(int(rec["row"]))
                except (ValueError, KeyError, TypeError) as exc:
                    raise damaged(f"{path}, line {line}", self.ORIGIN, str(exc)) from None
        super().__init__(path, archs, acc)
