"""Which inputs a space's networks read, checked against ``--dataset`` before a batch is loaded (session 64: with
``--truth``, darts was scored on a GLUE task's token ids and flexibert on Taskonomy images, every arch failing in
torch's own words, and flexibert with ``--dataset cifar10`` was told of image flags nobody gave)."""

from __future__ import annotations

from .data import DATASETS
from .spaces import get_space
from .taskonomy import is_task
from .tokens import GLUE_TASKS, is_token_task


def space_datasets(space: str) -> tuple[str, tuple[str, ...]]:
    """What ``space``'s networks read and the ``--dataset`` names that give it: a TransNAS space's Taskonomy tasks
    (its ``TASKS``), a FlexiBERT-like space's GLUE tasks (one whose final networks are per GLUE task), else images."""
    module = get_space(space)
    tasks = getattr(module, "TASKS", None)
    if tasks is not None:
        return "its Taskonomy tasks", tuple(tasks)
    if set(getattr(module, "FINAL_NETS", {}) or ()) and set(module.FINAL_NETS) <= set(GLUE_TASKS):
        return "token ids of a GLUE task", GLUE_TASKS
    return "images", tuple(DATASETS)


def check_dataset_for(space: str, dataset: str) -> None:
    """A ValueError where ``dataset`` gives inputs of a kind ``space``'s networks cannot read (an unknown name is
    left to the batch's loader, which lists every kind)."""
    reads, names = space_datasets(space)
    kind = "a GLUE task" if is_token_task(dataset) else "a Taskonomy task" if is_task(dataset) \
        else "an image dataset" if dataset in DATASETS else None
    if kind is not None and dataset not in names:
        raise ValueError(f"--dataset {dataset} is {kind}, and space {space}'s networks read {reads}: choose one of "
                         f"{', '.join(names)}")


__all__ = ["check_dataset_for", "space_datasets"]
