"""NAS-Bench-301 (DARTS space) ground truth: NASLib's 725 CIFAR-10 archs with their accuracy.

Source: ``nb301/naslib_zc_nasbench301.json`` (NASLib's NAS-Bench-Suite-Zero file). Its
``val_accuracy`` is NB301's CIFAR-10 validation accuracy as NASLib stores it (%); the
network whose size NASLib stores is ``darts_net.NETS["nb301"]`` (C=32, 8 cells).
"""

from __future__ import annotations

import json
import os

import numpy as np
import torch

from ..data import require_file, resolve_data_dir
from ..spaces import darts_genotype as dg
from ..spaces.darts_net import NETS, build
from ..swap import count_params_k

FILE = "nb301/naslib_zc_nasbench301.json"
ORIGIN = "NASLib (automl/NASLib naslib/data/zc_nasbench301.json), in the swapnas data bundle (see SOURCES.md)"


class NB301Benchmark:
    """NASLib's NB301 subset: genotypes in file order and their validation accuracy."""

    name = "nb301"
    space = "darts"
    tasks: tuple[str, ...] = ("cifar10",)
    protocol = ("NB301 CIFAR-10 validation accuracy (%) as stored in NASLib's NAS-Bench-Suite-Zero file "
                "(725 archs)")

    def __init__(self, data_dir: str | os.PathLike | None = None):
        self.path = require_file(resolve_data_dir(data_dir), FILE, ORIGIN)
        records = json.loads(self.path.read_text())["cifar10"]
        self.keys = list(records)
        self.archs = [dg.parse_naslib(k) for k in self.keys]
        self._acc = np.array([float(records[k]["val_accuracy"]) for k in self.keys])
        self._index = {a: i for i, a in enumerate(self.archs)}
        if len(self._index) != len(self.archs):
            raise ValueError(f"{self.path}: two NASLib keys name the same genotype")

    def __len__(self) -> int:
        return len(self.archs)

    def index_of(self, arch: dg.Genotype) -> int:
        try:
            return self._index[arch]
        except KeyError:
            raise KeyError(f"{arch} is not among the {len(self)} archs of {self.path}; "
                           "NB301 ground truth exists only for NASLib's stored archs") from None

    def _check(self, task: str) -> None:
        if task not in self.tasks:
            raise ValueError(f"NB301 has ground truth only for {', '.join(self.tasks)} (got task {task!r})")

    def archs_for(self, task: str = "cifar10") -> list[dg.Genotype]:
        self._check(task)
        return self.archs

    def truth_text(self, task: str = "cifar10") -> str:
        self._check(task)
        return self.protocol

    def accuracies(self, archs: list[dg.Genotype], task: str = "cifar10") -> np.ndarray:
        self._check(task)
        return np.array([self._acc[self.index_of(a)] for a in archs])

    def params_m(self, arch: dg.Genotype, task: str = "cifar10") -> float:
        """Parameters (millions) of the NB301 training network for ``arch``."""
        with torch.device("meta"):
            return count_params_k(build(arch, **NETS["nb301"])) / 1e3
