from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from torch import nn

from swapnas.benchmarks.nb101 import FILE, NB101Benchmark
from swapnas.spaces import nb101
from swapnas.spaces.nb101 import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT, Arch

# The benchmark's first record (hash 00005c14…, also NNI's and CTNAS's example): spec, hash, trainable params.
GOLDEN_MATRIX = ((0, 1, 0, 0, 1, 1, 0), (0, 0, 1, 0, 0, 0, 0), (0, 0, 0, 1, 0, 0, 1), (0, 0, 0, 0, 0, 1, 0),
                 (0, 0, 0, 0, 0, 1, 0), (0, 0, 0, 0, 0, 0, 1), (0,) * 7)
GOLDEN_OPS = (INPUT, CONV3X3, MAXPOOL3X3, CONV3X3, CONV3X3, CONV1X1, OUTPUT)
GOLDEN_HASH, GOLDEN_PARAMS = "00005c142e6f48ac74fdcf73e3439874", 8_555_530
# The nasbench README's Inception-like query and the isomorphic spec the benchmark returns (2,694,282 params).
INCEPTION = Arch(((0, 1, 1, 1, 0, 1, 0), (0, 0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 1, 0, 0),
                  (0, 0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 0, 1), (0,) * 7),
                 (INPUT, CONV1X1, CONV3X3, CONV3X3, CONV3X3, MAXPOOL3X3, OUTPUT))
INCEPTION_STORED = Arch(((0, 1, 1, 1, 1, 0, 0), (0, 0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 0, 1),
                         (0, 0, 0, 0, 0, 1, 0), (0, 0, 0, 0, 0, 0, 1), (0,) * 7),
                        (INPUT, CONV3X3, CONV1X1, MAXPOOL3X3, CONV3X3, CONV3X3, OUTPUT))


@pytest.fixture(scope="module")
def records(data_dir: Path) -> dict:
    return json.loads((data_dir / FILE).read_text())["nasbench101"]["cifar10"]


@pytest.fixture(scope="module")
def bench(data_dir: Path) -> NB101Benchmark:
    return NB101Benchmark(data_dir)


@pytest.fixture(scope="module")
def small_records(small_bundle: Path) -> dict:
    return json.loads((small_bundle / FILE).read_text())["nasbench101"]["cifar10"]


@pytest.fixture(scope="module")
def small_bench(small_bundle: Path) -> NB101Benchmark:
    return NB101Benchmark(small_bundle)


def _relabel(arch: Arch, order: list[int]) -> Arch:
    """The same cell with vertex order[k] moved to position k."""
    m = tuple(tuple(arch.matrix[a][b] for b in order) for a in order)
    return Arch(m, tuple(arch.ops[a] for a in order))


def _random_topological_order(arch: Arch, rng: random.Random) -> list[int]:
    n, order, placed = arch.num_vertices, [0], {0}
    while len(order) < n - 1:
        ready = [v for v in range(1, n - 1)
                 if v not in placed and all(u in placed for u in range(n) if arch.matrix[u][v])]
        v = rng.choice(ready)
        order.append(v)
        placed.add(v)
    return order + [n - 1]


# ----------------------------------------------------------------------------- strings


def test_golden_string_round_trip() -> None:
    a = Arch(GOLDEN_MATRIX, GOLDEN_OPS)
    assert str(a) == "nb101:0100110.0010000.0001001.0000010.0000010.0000001.0000000|I3M331O"
    assert nb101.parse(str(a)) == a and nb101.parse(" " + a.key + "\n") == a
    assert Arch([list(r) for r in GOLDEN_MATRIX], list(GOLDEN_OPS)) == a  # lists are normalised


def test_all_naslib_keys_parse_and_round_trip(small_records: dict) -> None:
    assert len(small_records) == 40  # the small bundle keeps NASLib's first 40 NB101 keys
    for key in small_records:
        a = nb101.parse_naslib(key)
        assert nb101.to_naslib(a) == key
        assert nb101.parse(key) == a
        assert nb101.parse(nb101.format_arch(a)) == a
        assert a.ops[0] == INPUT and a.ops[-1] == OUTPUT
        p = nb101.prune(a)
        assert nb101.prune(nb101.parse_naslib(nb101.to_naslib(p))) == p  # padded keys name the same cell


def test_to_naslib_pads_small_cells_like_naslib() -> None:
    a = nb101.parse("nb101:011.001.000|I3O")
    key = nb101.to_naslib(a)
    values = [int(v) for v in key[1:-1].split(",")]
    assert len(values) == 56 and values[49:] == [0, 4, 4, 4, 4, 4, 1]
    assert values[0:7] == [0, 1, 0, 0, 0, 0, 1] and values[7:14] == [0, 0, 0, 0, 0, 0, 1]


@pytest.mark.parametrize("text, match", [
    ("011.001.000|I3O", "must look like 'nb101:"),
    ("nb101:011.001.000", "exactly one '|'"),
    ("nb101:011.0x1.000|I3O", "row '0x1'"),
    ("nb101:011.001.000|I5O", "op code '5'"),
    ("nb101:011.01.000|I3O", "square: row 1"),
    ("(0, 1, 0, 0, 1)", "expected n\\*n \\+ n"),
    ("(0, 1, a, 0)", "entry 'a'"),
    ("(0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 9, 1)", "op id 9"),
])
def test_parse_errors_quote_the_bad_part(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        nb101.parse(text)


# ----------------------------------------------------------------------------- validity and pruning


def test_prune_removes_vertices_off_every_path() -> None:
    # vertex 1: dead end (no path to output); vertex 2: unreachable from input; vertex 3 on the path
    m = ((0, 1, 0, 1, 0), (0, 0, 0, 0, 0), (0, 0, 0, 1, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    raw = Arch(m, (INPUT, CONV1X1, MAXPOOL3X3, CONV3X3, OUTPUT))
    assert not raw.is_pruned
    p = nb101.prune(raw)
    assert p.matrix == ((0, 1, 0), (0, 0, 1), (0, 0, 0)) and p.ops == (INPUT, CONV3X3, OUTPUT) and p.is_pruned
    assert nb101.prune((m, raw.ops)) == p
    assert nb101.graph_hash(raw) == nb101.graph_hash(p) and nb101.count_params(raw) == nb101.count_params(p)


def test_ten_edges_that_prune_to_nine_are_valid() -> None:
    # the benchmark counts edges on the pruned cell: 7 edges + 3 into a dead end
    m = ((0, 1, 1, 0, 0, 1), (0, 0, 0, 1, 1, 0), (0, 0, 0, 0, 1, 1), (0, 0, 0, 0, 1, 1), (0, 0, 0, 0, 0, 0),
         (0, 0, 0, 0, 0, 0))
    a = Arch(m, (INPUT, CONV3X3, CONV3X3, CONV1X1, MAXPOOL3X3, OUTPUT))
    assert a.num_edges == 9 and nb101.prune(a).num_edges == 6


_CHAIN = [[int(j == i + 1) for j in range(7)] for i in range(7)]
_OPS7 = [INPUT] + [CONV3X3] * 5 + [OUTPUT]
#: 12 edges, all on a path from input to output: too many after pruning
TWELVE_EDGES = [[0, 1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0],
                [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0] * 7]


@pytest.mark.parametrize("matrix, ops, match", [
    (TWELVE_EDGES, _OPS7, "at most 9 edges after pruning, this cell has 12"),
    ([[0, 1, 0], [0, 0, 1], [0, 1, 0]], [INPUT, CONV3X3, OUTPUT], "edge 2→1 goes backwards"),
    ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT], "output vertex cannot be reached"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, "conv5x5", OUTPUT], "unknown NB101 op 'conv5x5'"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [CONV3X3, CONV3X3, OUTPUT], "must start with 'input'"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, OUTPUT], "needs 3 ops"),
    ([[0, 2], [0, 0]], [INPUT, OUTPUT], r"entry \[0\]\[1\] = 2"),
    ([[0, 1, 0], [0, 0, 1]], [INPUT, CONV3X3, OUTPUT], "square: row 0 has 3"),
    ([[int(j == i + 1) for j in range(8)] for i in range(8)], [INPUT] + [CONV3X3] * 6 + [OUTPUT], "2 to 7 vertices"),
])
def test_invalid_specs_say_what_is_wrong(matrix: list, ops: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Arch(matrix, ops)
    assert not nb101.is_valid(matrix, ops)


def test_prune_of_raw_pair_rejects_unreachable_output() -> None:
    with pytest.raises(ValueError, match="output vertex cannot be reached"):
        nb101.prune(([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INPUT, CONV1X1, OUTPUT]))


# ----------------------------------------------------------------------------- graph hash


def test_graph_hash_matches_the_benchmark() -> None:
    assert nb101.graph_hash(Arch(GOLDEN_MATRIX, GOLDEN_OPS)) == GOLDEN_HASH
    assert nb101.iso_key(Arch(GOLDEN_MATRIX, GOLDEN_OPS)) == GOLDEN_HASH
    # the README's query and the stored (relabelled) spec are one benchmark entry
    assert nb101.graph_hash(INCEPTION) == nb101.graph_hash(INCEPTION_STORED)


def test_graph_hash_is_invariant_to_relabelling_and_sees_changes() -> None:
    rng = random.Random(3)
    golden = Arch(GOLDEN_MATRIX, GOLDEN_OPS)
    perm = _relabel(golden, [0, 4, 1, 2, 3, 5, 6])
    assert perm != golden and nb101.graph_hash(perm) == GOLDEN_HASH
    for _ in range(30):
        a = nb101.sample(rng)
        b = _relabel(a, _random_topological_order(a, rng))
        assert nb101.graph_hash(b) == nb101.graph_hash(a)
    other_op = Arch(GOLDEN_MATRIX, GOLDEN_OPS[:5] + (CONV3X3, OUTPUT))
    m = [list(r) for r in GOLDEN_MATRIX]
    m[0][5] = 0  # vertex 5 stays fed by 3 and 4
    other_edge = Arch(m, GOLDEN_OPS)
    assert len({nb101.graph_hash(x) for x in (golden, other_op, other_edge)}) == 3


# ----------------------------------------------------------------------------- sample and mutate


def test_sample_is_valid_pruned_and_seeded() -> None:
    archs = [nb101.sample(random.Random(s)) for s in range(100)]
    assert archs == [nb101.sample(random.Random(s)) for s in range(100)]
    for a in archs:
        assert a.is_pruned and a.num_edges <= 9 and 2 <= a.num_vertices <= 7
    assert len({a.num_vertices for a in archs}) >= 4


def test_mutate_gives_a_valid_different_cell() -> None:
    rng = random.Random(0)
    a = nb101.sample(rng)
    for _ in range(150):
        b = nb101.mutate(a, rng)
        assert b.is_pruned and b.num_edges <= 9
        assert nb101.graph_hash(b) != nb101.graph_hash(a)
        a = b
    assert nb101.mutate(a, random.Random(5)) == nb101.mutate(a, random.Random(5))
    single = nb101.parse("nb101:01.00|IO")  # no op vertex: one flip cannot change it, two can
    for s in range(10):
        assert nb101.graph_hash(nb101.mutate(single, random.Random(s))) != nb101.graph_hash(single)


# ----------------------------------------------------------------------------- network


def test_channel_split_gives_the_remainder_to_the_first_feeders() -> None:
    m = ((0, 1, 1, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    assert nb101.vertex_channels(64, 128, m) == [64, 43, 43, 42, 128]
    # vertex 1 feeds a 64-channel vertex and one of 64: takes the max; the output gets 2 feeders
    m2 = ((0, 1, 0, 0), (0, 0, 1, 1), (0, 0, 0, 1), (0, 0, 0, 0))
    assert nb101.vertex_channels(32, 128, m2) == [32, 64, 64, 128]
    m3 = ((0, 1, 1, 0), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0))
    assert nb101.vertex_channels(32, 128, m3) == [32, 128, 128, 128]


def test_scoring_net_forward_and_relu_modules() -> None:
    torch.manual_seed(0)
    rng = random.Random(1)
    archs = [Arch(GOLDEN_MATRIX, GOLDEN_OPS), INCEPTION, nb101.parse("nb101:01.00|IO")]
    archs += [nb101.sample(rng) for _ in range(8)]
    for a in archs:
        net = nb101.build(a, **nb101.SCORING_DEFAULTS["net"])
        seen: list[int] = []
        hooks = [m.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].dim()))
                 for m in net.modules() if isinstance(m, nn.ReLU)]
        out = net(torch.randn(2, 3, 32, 32))
        assert out.shape == (2, 10) and torch.isfinite(out).all()
        assert seen and set(seen) == {4}
        assert all(isinstance(m, nn.BatchNorm2d) for m in net.modules() if "BatchNorm" in type(m).__name__)
        for h in hooks:
            h.remove()
    assert nb101.build(str(archs[0]), num_classes=100, C=16, cells=1)(torch.randn(1, 3, 16, 16)).shape == (1, 100)


def test_benchmark_network_sizes_match_published_counts() -> None:
    assert nb101.count_params(Arch(GOLDEN_MATRIX, GOLDEN_OPS)) == GOLDEN_PARAMS
    assert nb101.count_params(INCEPTION) == nb101.count_params(INCEPTION_STORED) == 2_694_282
    assert nb101.count_params("nb101:01.00|IO") == 882_570  # projections only
    with torch.device("meta"):
        net = nb101.build(INCEPTION)
    assert sum(p.numel() for p in net.parameters()) == 2_694_282
    assert sum(isinstance(m, nb101.Cell) for m in net.modules()) == 9


@pytest.mark.slow  # > 5 s
@pytest.mark.bundle  # every key of NASLib's full NB101 file
def test_param_count_equals_naslib_params_for_all_500(records: dict) -> None:
    # NASLib's 'params' is in millions, 6 decimals: ours equals it exactly for every key
    mismatches = [k for k, r in records.items()
                  if nb101.count_params(nb101.parse_naslib(k)) != round(r["params"] * 1e6)]
    assert mismatches == []


def test_default_size_prior_follows_the_nb201_rule() -> None:
    net = nb101.SCORING_DEFAULTS["net"]
    lo, hi = nb101.param_range_k(**net)
    assert (lo, hi) == (2.634, 156.058)  # 500 cells from sample(Random(0)); scored net C=16, 1 cell per stack
    mu, sigma = nb101.default_size_prior(net)
    assert mu == pytest.approx(lo + 0.8 * (hi - lo)) and sigma == pytest.approx((hi - lo) ** 2)


# ----------------------------------------------------------------------------- benchmark


@pytest.mark.bundle  # golden counts of the full file: 500 keys, 301 pruned cells, 292 classes
def test_benchmark_table(bench: NB101Benchmark, records: dict) -> None:
    assert (bench.name, bench.space, bench.tasks, len(bench)) == ("nb101", "nb101", ("cifar10",), 500)
    archs = bench.archs_for("cifar10")
    assert [nb101.to_naslib(a) for a in archs] == list(records)
    acc = bench.accuracies(archs[:3], "cifar10")
    assert acc.tolist() == [records[k]["val_accuracy"] for k in list(records)[:3]] and acc[0] == 92.578125
    assert bench.index_of(archs[7], "cifar10") == 7
    assert len({nb101.prune(a) for a in archs}) == 301 and len({nb101.iso_key(a) for a in archs}) == 292
    assert "108 epochs" in bench.truth_text("cifar10") and "500 archs" in bench.truth_text("cifar10")
    assert bench.params_m(archs[0], "cifar10") == pytest.approx(records[list(records)[0]]["params"], abs=1e-9)
    synflow = bench.naslib_score("cifar10", "synflow")
    assert len(synflow) == 500 and synflow[archs[1]] == records[list(records)[1]]["synflow"]


def test_benchmark_errors(small_bench: NB101Benchmark, small_records: dict, tmp_path: Path) -> None:
    bench = small_bench
    raw = next(a for a in bench.archs_for("cifar10") if not a.is_pruned)
    with pytest.raises(KeyError, match="isomorphic to .* stored entries"):
        bench.index_of(nb101.prune(raw), "cifar10")
    assert raw in [bench.archs[i] for i in bench.iso_indices(nb101.prune(raw))]
    with pytest.raises(KeyError, match=f"not among the {len(small_records)} NB101 specs"):
        bench.index_of(nb101.parse("nb101:0111.0001.0001.0000|I3MO"), "cifar10")
    with pytest.raises(ValueError, match="no task 'cifar100'"):
        bench.archs_for("cifar100")
    with pytest.raises(KeyError, match="stores no NB101 score 'zen'.*synflow"):
        bench.naslib_score("cifar10", "zen")
    with pytest.raises(FileNotFoundError, match="nb101/naslib_zc_nasbench101.json"):
        NB101Benchmark(tmp_path)
