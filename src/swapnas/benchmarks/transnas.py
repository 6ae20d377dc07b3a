"""TransNAS-Bench-101 ground truth: NASLib's NAS-Bench-Suite-Zero subsets, per task.

Source: ``transnas/naslib_zc_transbench101_{micro,macro}.json`` (NASLib, see the data
bundle's SOURCES.md), shaped ``{task: {naslib_key: record}}``. Micro: the same 711 cells
for all seven tasks; macro: 662 skeletons for class_object/class_scene and 725 for the
other tasks. A record's ``val_accuracy`` is the task's validation metric as NASLib
stores it (``TASKS[task].metric``: top-1 % for class_*/jigsaw, negative L2 loss for
room_layout, SSIM for autoencoder/normal, pixel accuracy % for segmentsemantic);
higher is better for every task. The records also hold NASLib's zero-cost scores
(``{score, time}`` for params, flops, snip, ...), available via :meth:`naslib_score`.

``params_m`` is the size of our builder's benchmark network (C=64). With NASLib's head
sizes (``naslib_heads=True``: 100 object / 63 scene classes) it equals NASLib's stored
``params`` (millions) for every arch of both files on every task; with the benchmark's
own 75 / 47 classes (the default) class_object/class_scene are smaller by
(100−75)·(C_enc+1) and (63−47)·(C_enc+1).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import numpy as np

from .described import Described
from ..bundle import parsing, read_json
from ..data import require_file, resolve_data_dir
from ..spaces import transnas as tn
from ..spaces import transnas_macro, transnas_micro
from ..errors import NotFound

ORIGIN = ("NASLib (automl/NASLib naslib/data/zc_transbench101_{micro,macro}.json), in the swapnas data bundle "
          "(see SOURCES.md)")


class _TransNASBenchmark(Described):
    """Archs (file order), metric values and NASLib proxy scores for one TransNAS space."""

    space_module: ModuleType
    name: str
    space: str
    file: str
    tasks: tuple[str, ...] = tn.TASK_NAMES

    def __init__(self, data_dir: str | os.PathLike | None = None):
        self.path = require_file(resolve_data_dir(data_dir), self.file, ORIGIN)
        raw = read_json(self.path, ORIGIN)
        missing = [t for t in self.tasks if not isinstance(raw, dict) or t not in raw]
        if missing:
            raise ValueError(f"{self.path} lacks task(s) {', '.join(missing)}; expected all of {', '.join(self.tasks)}")
        self._records: dict[str, dict] = {t: raw[t] for t in self.tasks}
        self._archs: dict[str, list] = {}
        self._index: dict[str, dict] = {}
        self._acc: dict[str, np.ndarray] = {}
        for task, records in self._records.items():
            with parsing(self.path, ORIGIN):
                archs = [self.space_module.parse_naslib(k) for k in records]
                self._acc[task] = np.array([float(r["val_accuracy"]) for r in records.values()])
            index = {a: i for i, a in enumerate(archs)}
            if len(index) != len(archs):
                raise ValueError(f"{self.path}: two NASLib keys of task {task} name the same arch")
            self._archs[task], self._index[task] = archs, index

    def _check(self, task: str) -> str:
        if task not in self._records:
            raise ValueError(f"unknown TransNAS-Bench-101 task {task!r}; choose one of {', '.join(self.tasks)}")
        return task

    def __len__(self) -> int:
        """Distinct archs over all tasks."""
        return len(set().union(*self._index.values()))

    def archs_for(self, task: str) -> list:
        """The task's archs in file order."""
        return list(self._archs[self._check(task)])

    def index_of(self, arch: Any, task: str) -> int:
        """The arch's entry for ``task``; a string (ours or a NASLib key) is read with the space's ``parse``."""
        index = self._index[self._check(task)]
        arch = self.space_module.parse(arch) if isinstance(arch, str) else arch
        try:
            return index[arch]
        except KeyError:
            raise NotFound(f"{arch} is not among the {len(self._archs[task])} {self.name} archs of task {task} in "
                           f"{self.path}; ground truth exists only for NASLib's stored archs "
                           "(see archs_for(task))") from None

    def accuracies(self, archs: list, task: str) -> np.ndarray:
        """The stored ``val_accuracy`` (the task's metric, see :meth:`truth_text`) of each arch."""
        acc = self._acc[self._check(task)]
        return np.array([acc[self.index_of(a, task)] for a in archs])

    def truth_text(self, task: str) -> str:
        """The task's metric as the file stores it: its best epoch's, the TransNAS-Bench-101 API's default mode, which
        NASLib's query used (the text keeps its wording, which stored results.json files match; docs/spaces.md)."""
        info = tn.task_info(self._check(task))
        return (f"TransNAS-Bench-101 {self.name.split('_')[1]} {task}: {info.metric} "
                f"(benchmark field {info.benchmark_key}), as stored in NASLib's NAS-Bench-Suite-Zero file "
                f"({len(self._archs[task])} archs)")

    @property
    def protocol(self) -> str:
        return f"TransNAS-Bench-101 {self.name} validation metrics per task, as stored by NASLib ({self.file})"

    def params_m(self, arch: Any, task: str, naslib_heads: bool = False) -> float:
        """Parameters (millions) of the benchmark network (C=64) for ``arch`` on ``task``.

        ``naslib_heads=True`` sizes the class_object/class_scene heads as NASLib does
        (100/63 classes instead of the benchmark's 75/47); then it equals NASLib's ``params``.
        """
        info = tn.task_info(self._check(task))
        n = info.naslib_size if naslib_heads else info.size
        return self.space_module.count_params(arch, task, num_classes=n, C=tn.BENCH_C) / 1e6

    def proxies(self, task: str) -> list[str]:
        """Names of the NASLib scores stored for ``task``."""
        first = next(iter(self._records[self._check(task)].values()))
        return sorted(k for k, v in first.items() if isinstance(v, dict) and "score" in v)

    def naslib_score(self, task: str, proxy: str) -> dict:
        """NASLib's stored ``proxy`` score for each of the task's archs."""
        records = self._records[self._check(task)]
        if proxy not in self.proxies(task):
            raise NotFound(f"NASLib stores no {proxy!r} score for {self.name} {task}; "
                           f"available: {', '.join(self.proxies(task))}")
        return {a: float(r[proxy]["score"]) for a, r in zip(self._archs[task], records.values())}


class TransNASMicroBenchmark(_TransNASBenchmark):
    """NASLib's 711 micro cells × 7 tasks."""

    space_module = transnas_micro
    name = space = transnas_micro.NAME
    file = "transnas/naslib_zc_transbench101_micro.json"


class TransNASMacroBenchmark(_TransNASBenchmark):
    """NASLib's 662–725 macro skeletons per task."""

    space_module = transnas_macro
    name = space = transnas_macro.NAME
    file = "transnas/naslib_zc_transbench101_macro.json"
