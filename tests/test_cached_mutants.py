"""Tests written against the survivors of session 39's mutation runs of the ``lru_cache``'d counts (docs/reliability.md,
"Session 39"; each mutant judged in a fresh process, because a forked mutant reads what the unmutated pass cached):
NB101's parameter range over its fixed sample, by every option and by its defaults; FlexiBERT's cached count under each
build option away from its default, against the network built; the DCT matrix at the authors' sequence length, against
scipy's DCT; TransNAS macro's parameter range by every option and by its defaults.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import scipy.fft
import torch

from swapnas.spaces import flexibert, nb101, transnas_macro
from swapnas.spaces.flexibert_net import _dct_matrix


def built_params(build: Callable[..., torch.nn.Module], arch: object, **options: object) -> int:
    """Parameters of ``build(arch, **options)`` built on the meta device: what a cached count must equal."""
    with torch.device("meta"):
        return sum(p.numel() for p in build(arch, **options).parameters())


@pytest.fixture
def small_range_sample(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """40 of the 500 sampled cells (the first 40 of the same draw), with param_range_k's cache emptied before and
    after, so that no other test reads a range of 40 cells."""
    monkeypatch.setattr(nb101, "RANGE_SAMPLE", 40)
    nb101.param_range_k.cache_clear()
    yield 40
    nb101.param_range_k.cache_clear()


def test_nb101_parameter_range_passes_every_option_to_the_network(small_range_sample: int) -> None:
    # classes, stacks and cells all away from the network's defaults (10, 3, 3): a count that dropped one of them
    # would count the default's network
    options = {"num_classes": 100, "C": 16, "stacks": 2, "cells": 1}
    rng = random.Random(nb101.RANGE_SEED)
    sizes = [built_params(nb101.build, nb101.sample(rng), **options) for _ in range(small_range_sample)]
    assert nb101.param_range_k(**options) == (min(sizes) / 1e3, max(sizes) / 1e3)


def test_nb101_parameter_range_defaults_to_the_benchmark_network(small_range_sample: int) -> None:
    # the benchmark's network: C = 128, 3 stacks of 3 cells, 10 classes (count_params' defaults, which equal
    # NASLib's 'params': test_nb101.py)
    rng = random.Random(nb101.RANGE_SEED)
    sizes = [nb101.count_params(nb101.sample(rng)) for _ in range(small_range_sample)]
    assert nb101.param_range_k() == (min(sizes) / 1e3, max(sizes) / 1e3)


@pytest.mark.parametrize("options", [
    {}, {"num_classes": 5}, {"max_len": 128}, {"layout": "flexibert"}, {"objective": "mlm"}, {"sizes": "design"},
    {"num_classes": 5, "max_len": 128, "layout": "flexibert", "sizes": "design"},
], ids=lambda o: ",".join(o) or "defaults")
def test_flexibert_cached_count_equals_the_network_under_each_option(options: dict) -> None:
    # an LT layer: under the `flexibert` layout it has no dense, residual or LayerNorm after its mixer
    arch = flexibert.parse("h128|LT.DCT.h2.f512x3|SA.WMA.h4.f1024x1")
    assert flexibert.count_params(arch, **options) == built_params(flexibert.build, arch, **options)


@pytest.mark.parametrize(("ortho", "norm"), [(True, "ortho"), (False, None)])
def test_dct_matrix_is_float32_rounding_of_the_exact_dct_at_length_512(ortho: bool, norm: str | None) -> None:
    # built in float64, then rounded to float32: off by at most half a float32 step, 6e-8 for entries in [1, 2) (the
    # bound allows one step); angles summed in float32 (up to π · 512) would be off by 9e-6 (orthonormal) and 3e-4
    # (unnormalised)
    exact = scipy.fft.dct(np.eye(512), norm=norm, axis=0)
    got = _dct_matrix(512, ortho)
    assert got.dtype == torch.float32 and got.shape == (512, 512)
    assert np.abs(got.double().numpy() - exact).max() < 1.2e-7


@pytest.fixture
def three_skeletons(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[transnas_macro.Arch, ...]]:
    """Three of the 3,256 skeletons in place of all, with param_range_k's cache emptied before and after."""
    archs = tuple(transnas_macro.parse(f"64-{s}-basic") for s in ("1114", "444311", "124134"))
    monkeypatch.setattr(transnas_macro, "_all", lambda: archs)
    transnas_macro.param_range_k.cache_clear()
    yield archs
    transnas_macro.param_range_k.cache_clear()


def test_transnas_macro_parameter_range_passes_every_option_and_defaults_to_the_benchmark_network(
        three_skeletons: tuple[transnas_macro.Arch, ...]) -> None:
    options = {"task": "segmentsemantic", "num_classes": 7, "C": 16}
    sizes = [built_params(transnas_macro.build, a, **options) for a in three_skeletons]
    assert transnas_macro.param_range_k(**options) == (min(sizes) / 1e3, max(sizes) / 1e3)
    default = [built_params(transnas_macro.build, a, task="class_object", C=64) for a in three_skeletons]
    assert transnas_macro.param_range_k() == (min(default) / 1e3, max(default) / 1e3)
