"""A toy searchable space, the whole of what ``swapnas search --space toy`` needs.

An arch is three ops in a chain (``conv3|conv1|skip`` …) after a 3×3 stem, then global
pooling and a linear classifier. ``tests/test_spaces.py`` registers it with one line
(``SPACES["toy"] = "tests.toy_space"``) and runs a search on it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from torch import nn

from swapnas.patterns import count_params_k, prior_from_range
from swapnas.spaces.protocol import CanonicalString, as_arch

NAME = "toy"
OPS = ("conv3", "conv1", "skip")
DEPTH = 3
SCORING_DEFAULTS: dict = {"net": {"C": 4}, "batch_size": 8, "repeats": 1}
FINAL_NETS: dict[str, dict] = {"cifar10": {"net": {"C": 16, "num_classes": 10}, "resolution": 32}}


@dataclass(frozen=True)
class Arch(CanonicalString):  # str(arch) and arch.key: this module's format_arch
    ops: tuple[str, ...]


def format_arch(arch: Arch) -> str:
    return "|".join(arch.ops)


def parse(text: str) -> Arch:
    if not isinstance(text, str):  # tests/test_validation.py: a non-string is a TypeError naming the space
        raise TypeError(f"{NAME}: expected an arch string, got {type(text).__name__}")
    ops = tuple(text.strip().split("|"))
    if len(ops) != DEPTH or any(op not in OPS for op in ops):
        raise ValueError(f"a toy arch is {DEPTH} ops from {OPS} joined by '|', not {text!r}")
    return Arch(ops)


def sample(rng: random.Random) -> Arch:
    return Arch(tuple(rng.choice(OPS) for _ in range(DEPTH)))


def mutate(arch: Arch, rng: random.Random) -> Arch:
    i = rng.randrange(DEPTH)
    ops = list(arch.ops)
    ops[i] = rng.choice([op for op in OPS if op != ops[i]])
    return Arch(tuple(ops))


def crossover(a: Arch, b: Arch, rng: random.Random) -> Arch:
    return Arch(tuple(rng.choice(pair) for pair in zip(a.ops, b.ops)))


def iso_key(arch: Arch) -> str:
    return format_arch(arch)


def cell_edges(arch: Arch) -> dict[str, list[tuple[str, str, str]]]:
    return {"chain": [(str(i), str(i + 1), op) for i, op in enumerate(arch.ops)]}


def _op(op: str, c: int) -> nn.Module:
    if op == "skip":
        return nn.Identity()
    k = 3 if op == "conv3" else 1
    return nn.Sequential(nn.Conv2d(c, c, k, padding=k // 2, bias=False), nn.BatchNorm2d(c), nn.ReLU())


def build(arch: Arch | str, num_classes: int = 10, C: int = 4) -> nn.Module:
    arch = as_arch(arch, Arch, parse, NAME)  # an Arch, its string, or a TypeError naming the space
    return nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C), nn.ReLU(),
                         *(_op(op, C) for op in arch.ops), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(C, num_classes))


def param_range_k(num_classes: int = 10, C: int = 4) -> tuple[float, float]:
    sizes = [count_params_k(build(Arch((op,) * DEPTH), num_classes, C)) for op in OPS]
    return min(sizes), max(sizes)


def default_size_prior(net: dict, num_classes: int = 10) -> tuple[float, float]:
    return prior_from_range(*param_range_k(num_classes, **net))
