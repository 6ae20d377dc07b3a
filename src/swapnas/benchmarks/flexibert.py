"""FlexiBERT-500 ground truth: GLUE scores of 500 trained FlexiBERT encoders (the SWAP authors' file).

Source: ``flexibert/flexibert_glue_500.json`` (AFL-3.0, SWAP_Universal ``datasets/BERT_benchmark.json``):
500 records, each a FlexiBERT arch (``hparams.model_hparam_overrides``) and its GLUE dev scores after
ELECTRA-style pre-training (100k steps, batch 128) and fine-tuning: ``cola, mnli, mrpc, qnli, qqp,
rte, sst, sts`` and their mean ``glue``.

Nine archs occur twice (two training runs each, up to 2 GLUE points apart): :meth:`archs_for` gives
the 491 distinct archs in order of first occurrence, each with the mean score of its records.
``params_m`` is the size of the encoder as designed (``sizes="design"``: the record's hidden size and
FF widths, two classes).
"""

from __future__ import annotations

import os

import numpy as np
import torch

from .described import Described
from ..bundle import parsing, read_json
from ..data import require_file, resolve_data_dir
from ..spaces import flexibert as fb
from ..errors import NotFound

ORIGIN = ("the SWAP authors' BERT_benchmark.json (pym1024/SWAP_Universal, FlexiBERT design space), in the swapnas "
          "data bundle (see SOURCES.md)")
TASKS: tuple[str, ...] = ("glue", "cola", "mnli", "mrpc", "qnli", "qqp", "rte", "sst", "sts")
_TASK_TEXT = {"glue": "GLUE score (mean of the eight tasks)", "cola": "CoLA (Matthews corr. ×100)",
              "mnli": "MNLI accuracy (%)", "mrpc": "MRPC (the file's score; its metric unstated: accuracy or F1)",
              "qnli": "QNLI accuracy (%)", "qqp": "QQP (the file's score; its metric unstated: accuracy or F1)",
              "rte": "RTE accuracy (%)", "sst": "SST-2 accuracy (%)", "sts": "STS-B (correlation ×100)"}


class FlexiBERTBenchmark(Described):
    """The 491 distinct FlexiBERT archs of the 500 records and their GLUE scores per task."""

    name = "flexibert"
    space = "flexibert"
    tasks: tuple[str, ...] = TASKS
    FILE = "flexibert/flexibert_glue_500.json"

    def __init__(self, data_dir: str | os.PathLike | None = None):
        self.path = require_file(resolve_data_dir(data_dir), self.FILE, ORIGIN)
        self.records = read_json(self.path, ORIGIN)
        self.record_archs, scores = [], []
        for i, r in enumerate(self.records):  # the error names the record (0-based) of a 500-record file
            with parsing(self.path, f"{ORIGIN}; the bad entry is record {i}"):
                self.record_archs.append(fb.from_record(r))
                scores.append({t: float(r["scores"][t]) for t in TASKS})
        self._scores_of = {t: [row[t] for row in scores] for t in TASKS}
        self.ids: dict[fb.Arch, list[int]] = {}
        for i, arch in enumerate(self.record_archs):
            self.ids.setdefault(arch, []).append(i)
        self.archs = list(self.ids)
        self._scores = {t: np.array([np.mean([self._scores_of[t][i] for i in self.ids[a]]) for a in self.archs])
                        for t in TASKS}
        self._index = {a: i for i, a in enumerate(self.archs)}

    def __len__(self) -> int:
        return len(self.archs)

    def _check(self, task: str) -> str:
        if task not in TASKS:
            raise ValueError(f"flexibert has ground truth only for {', '.join(TASKS)} (got task {task!r})")
        return task

    def archs_for(self, task: str = "glue") -> list[fb.Arch]:
        """The distinct archs, in order of first occurrence in the file."""
        self._check(task)
        return list(self.archs)

    def accuracies(self, archs: list[fb.Arch] | list[str], task: str = "glue") -> np.ndarray:
        """The task's score per arch (mean over an arch's records)."""
        scores = self._scores[self._check(task)]
        return np.array([scores[self.index_of(a)] for a in archs])

    def index_of(self, arch: fb.Arch | str) -> int:
        """The arch's position in :attr:`archs`; a string is read with ``flexibert.parse``."""
        arch = fb.parse(arch) if isinstance(arch, str) else arch
        try:
            return self._index[arch]
        except KeyError:
            raise NotFound(f"{arch} is not among the {len(self)} FlexiBERT archs of {self.path}; nearest(arch) gives "
                           "the closest one") from None

    def nearest(self, arch: fb.Arch | str) -> tuple[fb.Arch, int]:
        """The benchmark arch closest to ``arch`` (:func:`~swapnas.spaces.flexibert.distance`; ties: the
        smallest canonical string) and the distance; ``arch`` itself at 0 when it is in the benchmark."""
        arch = fb.parse(arch) if isinstance(arch, str) else arch
        found = min(self.archs, key=lambda b: (fb.distance(arch, b), str(b)))
        return found, fb.distance(arch, found)

    def truth_text(self, task: str = "glue") -> str:
        return (f"FlexiBERT-500 {_TASK_TEXT[self._check(task)]} after ELECTRA-style pre-training and GLUE "
                f"fine-tuning (the SWAP authors' BERT_benchmark.json; {len(self)} distinct archs, duplicates averaged)")

    def params_m(self, arch: fb.Arch, task: str = "glue") -> float:
        """Parameters (millions) of the encoder as designed (record's hidden size and FF widths)."""
        self._check(task)
        with torch.device("meta"):
            return fb.count_params(arch, sizes="design") / 1e6
