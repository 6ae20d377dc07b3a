"""Which inputs a space's networks read, checked against ``--dataset`` before a batch is loaded (session 64: with
``--truth``, darts was scored on a GLUE task's token ids and flexibert on Taskonomy images, every arch failing in
torch's own words, and flexibert with ``--dataset cifar10`` was told of image flags nobody gave)."""

from __future__ import annotations

from .benchmarks import BENCHMARKS, benchmark_class
from .data import DATASETS
from .spaces import get_space
from .taskonomy import is_task
from .tokens import GLUE_TASKS, is_token_task


def _kind(dataset: str) -> str | None:
    return "a GLUE task" if is_token_task(dataset) else "a Taskonomy task" if is_task(dataset) \
        else "an image dataset" if dataset in DATASETS else None


def space_datasets(space: str) -> tuple[str, tuple[str, ...]] | None:
    """What ``space``'s networks read and the ``--dataset`` names that give it, judged by the datasets the space
    names itself (its final networks' ``FINAL_NETS``, its ``TASKS``) and its benchmarks' tasks: all images, all GLUE
    tasks or all Taskonomy tasks. None where those say nothing or mix kinds (a space of one's own: not checked)."""
    module = get_space(space)
    known = {*(getattr(module, "FINAL_NETS", None) or {}), *(getattr(module, "TASKS", None) or {}),
             *(task for name in BENCHMARKS if getattr(benchmark_class(name), "space", None) == space
               for task in getattr(benchmark_class(name), "tasks", ()))}
    kinds = {_kind(d) for d in known}
    if kinds == {"an image dataset"}:
        return "images", tuple(DATASETS)
    if kinds == {"a GLUE task"}:
        return "token ids of a GLUE task", GLUE_TASKS
    if kinds == {"a Taskonomy task"}:
        return "its tasks' inputs (Taskonomy)", tuple(getattr(module, "TASKS", None) or sorted(known))
    return None


def check_dataset_for(space: str, dataset: str) -> None:
    """A ValueError where ``dataset`` gives inputs of a kind ``space``'s networks cannot read (an unknown name is
    left to the batch's loader, which lists every kind)."""
    if (found := space_datasets(space)) is None:
        return
    reads, names = found
    kind = _kind(dataset)
    if kind is not None and dataset not in names:
        raise ValueError(f"--dataset {dataset} is {kind}, and space {space}'s networks read {reads}: choose one of "
                         f"{', '.join(names)}")


__all__ = ["check_dataset_for", "space_datasets"]
