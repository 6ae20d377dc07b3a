"""The DARTS space's interface (``swapnas.spaces.darts``), from its mutation run (session 47): the extreme genotypes,
the size range against networks built here, the drawing's edges written out, and the final network's counts
without a build against the counts of the built network (or None where they do not apply)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import torch

from swapnas import patterns
from swapnas.size_prior import count_flops
from swapnas.spaces import darts

from .test_darts_genotype import DARTS_V2

FINAL = {"net": {"C": 4, "layers": 3, "num_classes": 10}, "resolution": 16}


@pytest.fixture(autouse=True)
def fresh_layouts() -> Iterator[None]:
    """The final networks' layouts are cached per (builder, net, resolution): each test starts and ends without."""
    darts._final_layout.cache_clear()
    yield
    darts._final_layout.cache_clear()


def test_the_smallest_and_largest_genotypes_put_one_op_on_every_edge() -> None:
    for genotype, op in ((darts.smallest_arch(), "max_pool_3x3"), (darts.largest_arch(), "sep_conv_5x5")):
        cell = ((op, 0), (op, 1), (op, 0), (op, 1), (op, 0), (op, 1), (op, 0), (op, 1))
        assert genotype == darts.Genotype(cell, cell)
        assert genotype.normal_concat == genotype.reduce_concat == (2, 3, 4, 5)


def _params_k(genotype: darts.Genotype, num_classes: int, **net: object) -> float:
    model = darts.build(genotype, num_classes=num_classes, **net)
    return sum(p.numel() for p in model.parameters()) / 1e3


@pytest.mark.parametrize(("num_classes", "net"), [(10, {"C": 4, "layers": 2}), (7, {"C": 6, "layers": 5})])
def test_the_size_range_is_the_extreme_genotypes_built(num_classes: int, net: dict) -> None:
    lo, hi = darts.param_range_k(num_classes, **net)
    assert lo == pytest.approx(_params_k(darts.smallest_arch(), num_classes, **net), rel=1e-12)
    assert hi == pytest.approx(_params_k(darts.largest_arch(), num_classes, **net), rel=1e-12)
    rng = random.Random(num_classes)
    for _ in range(3):
        assert lo < _params_k(darts.sample(rng), num_classes, **net) < hi
    assert darts.default_size_prior(net, num_classes) == patterns.prior_from_range(lo, hi)
    assert darts.param_range_k(**{"C": 4, "layers": 2}) == darts.param_range_k(10, C=4, layers=2)
    assert darts.default_size_prior({"C": 4, "layers": 2}) == darts.default_size_prior({"C": 4, "layers": 2}, 10)


def test_the_drawings_edges() -> None:
    g = darts.parse(DARTS_V2)
    edges = darts.cell_edges(g)
    assert list(edges) == ["normal", "reduce"]
    names = ["c_{k-2}", "c_{k-1}", "0", "1", "2", "3"]
    for which, cell, concat in (("normal", g.normal, g.normal_concat), ("reduce", g.reduce, g.reduce_concat)):
        want = [(names[src], str(i // 2), op) for i, (op, src) in enumerate(cell)]
        want += [(str(n - 2), "c_{k}", "") for n in concat]
        assert edges[which] == want
    assert edges["normal"][0] == ("c_{k-2}", "0", "sep_conv_3x3") and edges["reduce"][-1] == ("3", "c_{k}", "")
    short = darts.Genotype(g.normal, g.reduce, (2, 5), (3,))
    assert [e for e in darts.cell_edges(short)["normal"] if e[1] == "c_{k}"] == [("0", "c_{k}", ""),
                                                                                ("3", "c_{k}", "")]
    assert [e for e in darts.cell_edges(short)["reduce"] if e[1] == "c_{k}"] == [("1", "c_{k}", "")]


def _built(genotype: darts.Genotype, final: dict) -> tuple[int, int]:
    """FLOPs and parameters (auxiliary head excluded) of the final network built for ``genotype``."""
    r = final["resolution"]
    model = final.get("builder", darts.build)(genotype, **final["net"]).eval()
    params = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("auxiliary_head"))
    return int(count_flops(model, torch.empty(1, 3, r, r))), params


@pytest.mark.parametrize("final", [FINAL, {"net": {"C": 4, "layers": 2, "num_classes": 5}, "resolution": 24,
                                           "builder": darts.build_imagenet}])
def test_the_final_counts_without_a_build_are_the_built_networks(final: dict) -> None:
    rng = random.Random(2)
    for genotype in (darts.sample(rng), darts.sample(rng), darts.parse(DARTS_V2)):
        flops, params = _built(genotype, final)
        assert darts.final_flops(genotype, final) == flops and darts.final_params(genotype, final) == params
        text = darts.format_arch(genotype)
        assert darts.final_flops(text, final) == flops and darts.final_params(text, final) == params


def test_the_final_counts_do_not_apply_without_affine_edges_or_with_an_unhashable_option() -> None:
    g = darts.parse(DARTS_V2)
    bare = {"net": {**FINAL["net"], "affine_ops": False}, "resolution": 16}
    assert darts.final_flops(g, bare) is None and darts.final_params(g, bare) is None
    listed = {"net": {**FINAL["net"], "extra": [1]}, "resolution": 16}
    assert darts.final_flops(g, listed) is None and darts.final_params(g, listed) is None
    affine = {"net": {**FINAL["net"], "affine_ops": True}, "resolution": 16}
    assert darts.final_flops(g, affine) == _built(g, affine)[0]


def test_the_layout_is_read_at_the_final_resolution() -> None:
    g = darts.parse(DARTS_V2)
    small, large = ({"net": FINAL["net"], "resolution": r} for r in (8, 16))
    assert darts.final_flops(g, large) == _built(g, large)[0] > darts.final_flops(g, small) == _built(g, small)[0]


def test_the_iso_key_is_the_genotypes() -> None:
    g = darts.parse(DARTS_V2)
    assert darts.iso_key(g) == g.iso_key
