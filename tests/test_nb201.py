"""NB201 space: parsing, enumeration, keys, and the network against the benchmark table."""

from __future__ import annotations

import csv
import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from swapnas.benchmarks import GroundTruth, NB201Benchmark
from swapnas.spaces import nb201

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_parse_format_round_trip_all() -> None:
    archs = list(nb201.all_archs())
    assert len(archs) == 15625 == len(set(archs))
    for a in archs[::97]:
        assert nb201.parse(nb201.format_arch(a)) == a
        assert nb201.parse(str(a)).key == str(a)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("|nor_conv_3x3~0|+|none~0|none~1|", "3 node groups"),
        ("|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|", "'conv_7x7'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "'none~1'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "'|none~0|'"),
        ("none~0+|none~0|none~1|+|none~0|none~1|none~2|", "'none~0'"),
        ("|none-0|+|none~0|none~1|+|none~0|none~1|none~2|", "'none-0'"),
        ("__import__('os')", "3 node groups"),
    ],
)
def test_malformed_strings_quote_the_bad_part(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match=bad.replace("|", r"\|").replace("(", r"\(")):
        nb201.parse(text)


def test_arch_value_rejects_unknown_ops() -> None:
    with pytest.raises(ValueError, match="unknown NB201 op 'conv'"):
        nb201.Arch(("conv",) * 6)


def test_sample_and_mutate_are_seeded_and_valid() -> None:
    a = [nb201.sample(random.Random(5)) for _ in range(2)]
    assert a[0] == a[1]
    rng = random.Random(1)
    for _ in range(50):
        m = nb201.mutate(a[0], rng)
        assert sum(x != y for x, y in zip(m.ops, a[0].ops)) == 1


@pytest.mark.bundle  # the full NB201 table: its 6,466 isomorphism classes
def test_iso_key_matches_the_benchmark_classes(data_dir) -> None:
    with open(data_dir / "nb201" / "nb201_all_15625.csv") as f:
        rows = list(csv.DictReader(f))
    keys = [nb201.iso_key(nb201.parse(r["arch_str"])) for r in rows]
    assert keys == [r["isomorph_unique_str"] for r in rows]
    assert len(set(keys)) == 6466


def test_iso_key_ignores_edges_that_cannot_reach_the_output() -> None:
    a = nb201.parse("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    b = nb201.parse("|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|none~2|")
    assert nb201.iso_key(a) == nb201.iso_key(b) != nb201.iso_key(nb201.parse(BEST))


def _count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _table_errors() -> set[int]:
    path = Path(__file__).parent / "data" / "nb201_params_table_errors.txt"
    return {int(line) for line in path.read_text().splitlines() if line and not line.startswith("#")}


@pytest.mark.slow  # > 5 s
@pytest.mark.bundle  # every arch of the full NB201 table and NASLib's file
def test_params_equal_the_benchmark_for_every_arch(data_dir) -> None:
    """The built network's size equals the table's for every arch but 150 pinned ones.

    ``count_params`` adds per-edge shares of six uniform networks (no build per arch); 100
    random archs are built individually as well (SWAPNAS_FULL=1 builds all 15,625). The table's params column is wrong for 150
    archs (one conv per cell too many or too few); NASLib's independent params
    agree with our builder on each of them that NASLib's file holds.
    """
    bench = NB201Benchmark(data_dir)
    full = os.environ.get("SWAPNAS_FULL") == "1"
    extra = range(len(bench)) if full else random.Random(0).sample(range(len(bench)), 100)
    with torch.device("meta"):
        for i in extra:
            assert _count(nb201.build(bench.archs[i])) == nb201.count_params(bench.archs[i])
    mismatched = set()
    for nc, col in ((10, "params_M_c10"), (100, "params_M_c100"), (120, "params_M_in16")):
        table = bench.column(col)
        ours = np.array([nb201.count_params(a, num_classes=nc) for a in bench.archs]) / 1e6
        mismatched |= set(np.flatnonzero(np.abs(ours - table) > 5e-6).tolist())
    assert mismatched == _table_errors()
    naslib = json.loads((data_dir / "nb201" / "naslib_zc_nasbench201.json").read_text())["cifar10"]
    by_key = {r: i for i, r in enumerate(bench.column_text("naslib_op_indices"))}
    checked = 0
    for key, rec in naslib.items():
        i = by_key[key]
        assert nb201.count_params(bench.archs[i]) / 1e6 == pytest.approx(rec["params"]["score"], abs=5e-6)
        checked += i in mismatched
    assert checked == 11


def test_network_forward_shapes() -> None:
    net = nb201.build(BEST, C=8, N=1, num_classes=100)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 100)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 100)
    zero = nb201.build("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", C=8, N=1)
    assert torch.isfinite(zero(torch.randn(2, 3, 16, 16))).all()


@pytest.mark.bundle  # the NB201 table (all 15,625 rows) and its published values
def test_ground_truth_protocol_and_values(data_dir) -> None:
    bench = NB201Benchmark(data_dir)
    best = nb201.parse(BEST)
    assert bench.accuracy(best, GroundTruth("cifar10", "test")) == pytest.approx(94.37, abs=0.01)
    assert max(bench.column(GroundTruth("cifar100", "test").column)) == pytest.approx(73.51, abs=0.01)
    assert max(bench.column(GroundTruth("imagenet16-120", "test").column)) == pytest.approx(47.31, abs=0.01)
    assert "x-valid" in GroundTruth("cifar10").describe() and "200 epochs" in GroundTruth("cifar10").describe()
    with pytest.raises(ValueError, match="epochs: 200 or 12"):
        GroundTruth("cifar10", "valid", 100)


def test_missing_table_names_file_and_origin(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nb201/nb201_all_15625.csv.*searched in.*SOURCES.md"):
        NB201Benchmark(tmp_path)


@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_benchmark_index_order_covers_the_space_once(data_dir) -> None:
    bench = NB201Benchmark(data_dir)
    assert len(bench.archs) == 15625 and set(bench.archs) == set(nb201.all_archs())
    assert bench.index_of(bench.archs[1234]) == 1234
    assert str(bench.archs[0]) == "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def test_count_params_equals_a_build_across_op_multisets() -> None:
    """``count_params`` adds per-edge shares instead of building: 40 of the 210 cell op multisets
    (the only thing a cell's size depends on) and 7 more at another depth agree with a real
    build (the bundle test below checks the benchmark's network for 100 archs)."""
    import itertools

    multisets = list(itertools.combinations_with_replacement(nb201.OPS, len(nb201.EDGES)))
    cases = [(ops, {"C": 3, "N": 1, "num_classes": 7}) for ops in random.Random(0).sample(multisets, 40)]
    cases += [(ops, {"C": 4, "N": 2, "num_classes": 10}) for ops in multisets[::30]]
    for ops, kw in cases:
        with torch.device("meta"):
            built = _count(nb201.Network(nb201.Arch(ops), **kw))
        assert nb201.count_params(nb201.Arch(ops), **kw) == built, (ops, kw)
