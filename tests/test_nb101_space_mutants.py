"""The NAS-Bench-101 space's sampling, mutation, build and size (``swapnas.spaces.nb101``; the cached
``_params_pruned`` and ``param_range_k`` were judged in session 39), from its mutation run (session 48): each draw
against the same draws made here, each leaving the generator where they leave it, and the build and counts against
networks built here."""

from __future__ import annotations

import random

import pytest
import torch

from swapnas import patterns
from swapnas.spaces import nb101
from swapnas.spaces.nb101 import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT, Arch
from swapnas.spaces.nb101_net import Network

from .message_tools import refusal
from .net_tools import size

SMALL = Arch(((0, 1, 1), (0, 0, 1), (0, 0, 0)), (INPUT, CONV3X3, OUTPUT))
DEAD = Arch(((0, 1, 0, 1, 0), (0, 0, 0, 0, 0), (0, 0, 0, 1, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0)),
            (INPUT, CONV1X1, MAXPOOL3X3, CONV3X3, OUTPUT))


def _my_raw(rng: random.Random) -> tuple[tuple, tuple]:
    rows = []
    for i in range(7):
        rows.append(tuple(int(rng.random() < 0.5) if j > i else 0 for j in range(7)))
    ops = (INPUT,) + tuple(rng.choice([CONV1X1, CONV3X3, MAXPOOL3X3]) for _ in range(5)) + (OUTPUT,)
    return tuple(rows), ops


def test_the_spaces_constants() -> None:
    assert (nb101.NAME, nb101.RANGE_SAMPLE, nb101.RANGE_SEED) == ("nb101", 500, 0)


def test_a_raw_draw_and_sampling_against_the_same_draws() -> None:
    for seed in range(30):
        mine, rng = random.Random(seed), random.Random(seed)
        assert nb101._random_raw(rng) == _my_raw(mine) and rng.random() == mine.random()
        mine, rng = random.Random(seed), random.Random(seed)
        while True:
            matrix, ops = _my_raw(mine)
            if nb101.is_valid(matrix, ops):
                want = nb101.prune(Arch(matrix, ops))
                break
        got = nb101.sample(rng)
        assert got == want and got.is_pruned and rng.random() == mine.random()
    raws = [nb101._random_raw(random.Random(s)) for s in range(200)]
    assert {op for _, ops in raws for op in ops[1:-1]} == {CONV1X1, CONV3X3, MAXPOOL3X3}
    edges = sum(sum(map(sum, m)) for m, _ in raws) / len(raws)
    assert 9.0 < edges < 12.0  # 21 entries at 1/2


def test_slots_and_the_spread_cell() -> None:
    for seed in range(20):
        for n in (2, 3, 5, 7):
            mine, rng = random.Random(seed), random.Random(seed)
            want = [0] + sorted(mine.sample(range(1, 6), n - 2)) + [6]
            assert nb101._random_slots(n, rng) == want and rng.random() == mine.random()
    for seed in range(20):
        mine, rng = random.Random(seed), random.Random(seed)
        slots = [0] + sorted(mine.sample(range(1, 6), 3)) + [6]
        ops = [INPUT] + [mine.choice([CONV1X1, CONV3X3, MAXPOOL3X3]) for _ in range(5)] + [OUTPUT]
        matrix = [[0] * 7 for _ in range(7)]
        for a, sa in enumerate(slots):
            ops[sa] = DEAD.ops[a]
            for b, sb in enumerate(slots):
                matrix[sa][sb] = DEAD.matrix[a][b]
        assert nb101._spread(DEAD, rng) == (matrix, ops) and rng.random() == mine.random()
        spread = Arch(*nb101._spread(DEAD, random.Random(seed)))  # type: ignore[arg-type]
        assert nb101.prune(spread) == nb101.prune(DEAD) and spread.num_vertices == 7


def _my_mutation(arch: Arch, rng: random.Random) -> Arch:
    target = nb101.graph_hash(arch)
    matrix, ops = nb101._spread(arch, rng)
    edges = [(i, j) for i in range(7) for j in range(i + 1, 7)]
    while True:
        m2, o2 = [row[:] for row in matrix], ops[:]
        k = rng.randrange(21 + 5)
        if k < 21:
            i, j = edges[k]
            m2[i][j] = 1 - m2[i][j]
        else:
            v = k - 20
            o2[v] = rng.choice([o for o in (CONV1X1, CONV3X3, MAXPOOL3X3) if o != o2[v]])
        if not nb101.is_valid(m2, o2):
            continue
        matrix, ops = m2, o2
        child = nb101.prune(Arch(m2, tuple(o2)))  # type: ignore[arg-type]
        if nb101.graph_hash(child) != target:
            return child


def test_mutation_against_the_same_draws() -> None:
    archs = [nb101.sample(random.Random(s)) for s in range(25)] + [DEAD, SMALL, nb101.parse("nb101:01.00|IO")]
    for seed, arch in enumerate(archs):
        mine, rng = random.Random(seed), random.Random(seed)
        child = nb101.mutate(arch, rng)
        assert child == _my_mutation(arch, mine) and rng.random() == mine.random()
        assert child.is_pruned and nb101.graph_hash(child) != nb101.graph_hash(arch)


def test_mutation_gives_up_after_its_steps() -> None:
    assert refusal(RuntimeError, lambda: nb101.mutate(SMALL, random.Random(0), max_steps=0)) == \
        "mutate found no valid different cell for nb101:011.001.000|I3O in 0 steps"
    single = nb101.parse("nb101:01.00|IO")  # one step cannot change it: a flip makes an op vertex isolated or invalid
    assert refusal(RuntimeError, lambda: nb101.mutate(single, random.Random(1), max_steps=1)) == \
        "mutate found no valid different cell for nb101:01.00|IO in 1 steps"
    assert nb101.graph_hash(nb101.mutate(single, random.Random(1), max_steps=10_000)) != nb101.graph_hash(single)

    class OnlyTheOneEdge(random.Random):
        """Every step flips edge 0→6, the cell's only one: invalid each time, so every step is spent."""

        def randrange(self, *args: int) -> int:  # type: ignore[override]
            return 5  # (0, 6) in the 21 upper-triangular entries, row by row

    assert refusal(RuntimeError, lambda: nb101.mutate(single, OnlyTheOneEdge(0))) == \
        "mutate found no valid different cell for nb101:01.00|IO in 10000 steps"


def test_build_takes_an_arch_or_its_string_builds_the_pruned_cell_and_passes_the_sizes() -> None:
    with torch.device("meta"):
        net = nb101.build(DEAD, num_classes=7, C=8, stacks=2, cells=1)
        assert net.arch is DEAD and net.stem[0].out_channels == 8 and net.classifier.out_features == 7
        cells = [m for m in net.cells if isinstance(m, nb101.Cell)]
        assert len(cells) == 2 and cells[0].ops == (INPUT, CONV3X3, OUTPUT)
        assert cells[0].matrix == ((0, 1, 0), (0, 0, 1), (0, 0, 0))
        assert net.classifier.in_features == 16
        default = nb101.build("nb101:011.001.000|I3O")
        assert default.arch == SMALL and default.stem[0].out_channels == 128 and default.classifier.out_features == 10
        assert len([m for m in default.cells if isinstance(m, nb101.Cell)]) == 9
        assert default.classifier.in_features == 512
        three = nb101.build(SMALL, cells=3, stacks=1)
        assert len(three.cells) == 3 and three.classifier.in_features == 128
    assert refusal(TypeError, lambda: nb101.build(None)) == (  # type: ignore[arg-type]
        "nb101: expected an arch or its string, got NoneType (a nb101 Arch, or a string nb101's parse reads)")


@pytest.mark.parametrize("options", [{}, {"num_classes": 100}, {"C": 16, "stacks": 3, "cells": 1},
                                     {"num_classes": 5, "C": 8, "stacks": 2, "cells": 2}])
def test_counts_without_a_build(options: dict) -> None:
    for arch in (SMALL, DEAD, nb101.sample(random.Random(4))):
        with torch.device("meta"):
            pruned = nb101.prune(arch)
            want = size(Network(arch, pruned.matrix, pruned.ops, **options))
        assert nb101.count_params(arch, **options) == want == nb101.count_params(str(arch), **options)
    positional = (5, 8, 2, 2)
    with torch.device("meta"):
        want = size(Network(None, SMALL.matrix, SMALL.ops, num_classes=5, C=8, stacks=2, cells=2))
    assert nb101.count_params(SMALL, *positional) == want


def test_the_size_prior_follows_the_shared_rule_on_the_range() -> None:
    net = {"C": 16, "stacks": 3, "cells": 1}
    assert nb101.default_size_prior(net, num_classes=100) == \
        patterns.prior_from_range(*nb101.param_range_k(num_classes=100, **net))
    assert nb101.default_size_prior(net) == patterns.prior_from_range(*nb101.param_range_k(**net))
    assert nb101.default_size_prior(net) != nb101.default_size_prior(net, num_classes=100)
