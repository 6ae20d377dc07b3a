"""Leftovers of session 22, each pinned by a test that failed before its fix.

- FlexiBERT had no ``smallest_arch``, so ``swapnas search --space flexibert --max-macs`` below every final
  network was refused only after 1000 draws with a final-network size check each; it is now refused up front.
"""

from __future__ import annotations

import random

import pytest

from swapnas.spaces import flexibert as fx

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: a small final network (16 tokens): the op ordering by MACs does not depend on the length, since the only
#: length-squared term (DCT's sequence transform, SA's scores) belongs to ops that already cost more
SMALL_FINAL = {"net": {"sizes": "design", "num_classes": 2, "resolution": 16}, "resolution": 16}


def _layer_options() -> list[fx.Layer]:
    return [fx.Layer(op, p, h, f, n) for op, params in fx.OPERATIONS.items() for p in params
            for h in fx.HEADS for f in fx.FF_DIMS for n in fx.FF_COUNTS]


def test_flexibert_smallest_arch_is_the_design_minimum() -> None:
    small = fx.smallest_arch()
    assert fx.format_arch(small) == "h128|LT.DFT.h8.f512x1|LT.DFT.h8.f512x1"


def test_flexibert_smallest_arch_has_the_fewest_params_under_every_size_option() -> None:
    # the exact parameter range (every hidden size and layer option; layers add their own) starts at it
    for opts in ({}, {"sizes": "design"}, {"sizes": "design", "objective": "mlm"},
                 {"sizes": "design", "layout": "flexibert", "num_classes": 3, "max_len": 128}):
        lo, _ = fx.param_range_k(**opts)
        assert fx.count_params(fx.smallest_arch(), **opts) / 1e3 == pytest.approx(lo, abs=1e-9), opts


def test_flexibert_smallest_arch_has_the_fewest_macs_of_every_layer_option() -> None:
    from swapnas.search.final import final_macs, final_size

    lo_macs, lo_params = final_macs(fx, fx.smallest_arch(), SMALL_FINAL), final_size(fx, fx.smallest_arch(),
                                                                                    SMALL_FINAL)
    # layers map (S, L, hidden) to the same shape and add their own cost: the 2-layer arch of every mixer and
    # head count (hidden 128, FF 512x1: [::4] steps over the FF choices) covers the mixers; the rest on random
    # archs (the slow test below tries every layer option on the real final network)
    rng = random.Random(0)
    archs = [fx.Arch(128, (la,) * 2) for la in _layer_options()[::4]] + [fx.sample(rng) for _ in range(4)]
    assert {(a.layers[0].op, a.layers[0].param, a.layers[0].heads) for a in archs[:18]} == \
        {(la.op, la.param, la.heads) for la in _layer_options()}
    sizes = [(final_macs(fx, a, SMALL_FINAL), final_size(fx, a, SMALL_FINAL)) for a in archs]
    assert all(m >= lo_macs and p >= lo_params for m, p in sizes)
    assert max(sizes) > (lo_macs, lo_params)


@pytest.mark.slow
def test_flexibert_smallest_arch_is_minimal_over_the_uniform_archs_of_the_real_final_network() -> None:
    from swapnas.search.final import final_macs, final_size

    final = fx.FINAL_NETS["glue"]
    small = fx.smallest_arch()
    lo = (final_macs(fx, small, final), final_size(fx, small, final))
    for h in fx.HIDDEN:
        for la in _layer_options():
            a = fx.Arch(h, (la,) * 2)
            macs, params = final_macs(fx, a, final), final_size(fx, a, final)
            assert macs >= lo[0] and params >= lo[1], fx.format_arch(a)


def test_flexibert_max_macs_below_the_smallest_final_network_is_refused_before_any_draw(
        small_bundle, tmp_path, capsys, monkeypatch) -> None:
    from swapnas.cli import main

    def no_draws(*args, **kwargs):
        raise AssertionError("the search drew an arch")
    monkeypatch.setattr(fx, "sample", no_draws)
    code = main(["search", "--space", "flexibert", "--dataset", "glue", "--max-macs", "0.001",
                 "--data-dir", str(small_bundle), "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--max-macs 0.001M is below the smallest final network of this space (41.9M multiply-adds)" in err
    assert not (tmp_path / "o").exists()
