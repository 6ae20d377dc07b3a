"""Tests written against the survivors of session 39's mutation runs of the dataclasses' methods (docs/reliability.md,
"Session 39"): the EA's settings (each bound, accepted and refused, each refusal whole, the evaluation budget), the
NB201 ground truth's refusal, the archs of NB201, NB101, FlexiBERT and TransNAS (each refusal whole, numpy integers
stored as ints), the training recipe (each bound, each refusal whole) and a training run's notes (to the log or to
stderr).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from swapnas.benchmarks import GroundTruth
from swapnas.search.evolution import EAConfig
from swapnas.spaces import flexibert, nb201, transnas_macro, transnas_micro
from swapnas.spaces.nb101_cell import CONV3X3, INPUT, OUTPUT, Arch
from swapnas.train.loop import _Run
from swapnas.train.recipe import TrainConfig

from .message_tools import exact
from .test_nb101 import TWELVE_EDGES

_SAMPLE = "--sample K must be in 1..population=3 (got {}): lower --sample or raise --population"


@pytest.mark.parametrize(("settings", "message"), [
    ({"population": 1, "sample": 1}, "--population must be >= 2 (got 1)"),
    ({"population": 3, "sample": 0}, _SAMPLE.format(0)),
    ({"population": 3, "sample": 4}, _SAMPLE.format(4)),
    ({"mutations": 0}, "--mutations must be >= 1 and --cycles >= 0 (got 0, 40)"),  # cycles fine: either refuses
    ({"cycles": -1}, "--mutations must be >= 1 and --cycles >= 0 (got 5, -1)"),
    ({"crossover": -0.25}, "--crossover probability must be in [0, 1] (got -0.25)"),
    ({"crossover": 1.5}, "--crossover probability must be in [0, 1] (got 1.5)"),
])
def test_ea_settings_out_of_bounds_are_refused_whole(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=exact(message)):
        EAConfig(**settings)


@pytest.mark.parametrize("settings", [
    {"population": 2, "sample": 1},  # the smallest population, a tournament of one
    {"population": 3, "sample": 3},  # the tournament is the whole population
    {"mutations": 1, "cycles": 0},
    {"crossover": 0.0},
    {"crossover": 1.0},
])
def test_ea_settings_on_their_bounds_are_accepted(settings: dict) -> None:
    config = EAConfig(**settings)
    assert {name: getattr(config, name) for name in settings} == settings


def test_ea_budget_is_the_population_plus_each_cycles_mutations() -> None:
    assert EAConfig().max_evaluations == 20 + 40 * 5 == 220  # docs/search.md's default budget
    budget = EAConfig(population=7, sample=2, mutations=4, cycles=3).max_evaluations
    assert budget == 19 and isinstance(budget, int)


def test_nb201_ground_truth_refusal_names_every_choice() -> None:
    with pytest.raises(ValueError, match=exact(
            "NB201 has no ground truth for dataset='cifar10', metric='valid', epochs=100; datasets: cifar10, cifar100, "
            "imagenet16-120; metric: valid or test; epochs: 200 or 12")):
        GroundTruth("cifar10", "valid", 100)


def test_nb101_cell_with_too_many_edges_is_refused_whole() -> None:
    with pytest.raises(ValueError, match=exact("NB101 allows at most 9 edges after pruning, this cell has 12: "
                                               "remove edges")):
        Arch(tuple(map(tuple, TWELVE_EDGES)), (INPUT,) + (CONV3X3,) * 5 + (OUTPUT,))


@pytest.mark.parametrize(("ops", "message"), [
    ("ops", "an NB201 Arch: ops must be a tuple or list, got str 'ops'"),
    (("none",) * 3, "an NB201 arch has 6 edges, got 3 ops: ('none', 'none', 'none')"),
    (("none",) * 5 + ("conv_5x5",),
     "unknown NB201 op 'conv_5x5'; valid ops: none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"),
])
def test_nb201_arch_refusals_are_whole(ops: object, message: str) -> None:
    with pytest.raises(ValueError, match=exact(message)):
        nb201.Arch(ops)  # type: ignore[arg-type]


_LAYER = flexibert.Layer("SA", "SDP", 2, 512, 1)


@pytest.mark.parametrize(("fields", "message"), [
    (("SA", "SDP", 2.0, 512, 1), "FlexiBERT heads must be an int, got float 2.0"),
    (("SA", "SDP", 2, "512", 1), "FlexiBERT feed-forward width must be an int, got str '512'"),
    (("SA", "SDP", 2, 512, True), "FlexiBERT feed-forward layer count must be an int, got bool True"),
    (("XX", "SDP", 2, 512, 1), "unknown FlexiBERT operation type 'XX'; valid: SA, LT, DSC"),
    (("SA", "SDP", 3, 512, 1), "FlexiBERT heads must be one of (2, 4, 8) (got 3)"),
    (("SA", "SDP", 2, 768, 1), "FlexiBERT feed-forward width must be one of (512, 1024) (got 768)"),
    (("SA", "SDP", 2, 512, 2), "FlexiBERT feed-forward layer count must be one of (1, 3) (got 2)"),
])
def test_flexibert_layer_refusals_name_the_field_whole(fields: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=exact(message)):
        flexibert.Layer(*fields)


@pytest.mark.parametrize(("hidden", "layers", "message"), [
    (256, "layers", "a FlexiBERT Arch: layers must be a tuple or list, got str 'layers'"),
    (256.0, (_LAYER, _LAYER), "FlexiBERT hidden size must be an int, got float 256.0"),
    (256, (_LAYER, "x"), "a FlexiBERT Arch's layers must be Layer objects; layer 2 is str 'x'"),
])
def test_flexibert_arch_refusals_are_whole(hidden: object, layers: object, message: str) -> None:
    with pytest.raises(ValueError, match=exact(message)):
        flexibert.Arch(hidden, layers)  # type: ignore[arg-type]


def test_flexibert_numpy_integers_are_stored_as_ints() -> None:
    layer = flexibert.Layer("SA", "SDP", np.int64(2), np.int32(512), np.int16(3))
    arch = flexibert.Arch(np.int64(128), [layer, layer])  # type: ignore[arg-type]
    assert [type(v) for v in (arch.hidden, layer.heads, layer.ff, layer.n_ff)] == [int] * 4
    assert arch == flexibert.parse("h128|SA.SDP.h2.f512x3|SA.SDP.h2.f512x3") and type(arch.layers) is tuple


@pytest.mark.parametrize(("codes", "message"), [
    ("1234", "a TransNAS macro Arch: codes must be a tuple or list, got str '1234'"),
    ((1.0, 2, 3, 4), "TransNAS macro module codes must be ints 1..4, got (1.0, 2, 3, 4)"),
    ((True, 2, 3, 4), "TransNAS macro module codes must be ints 1..4, got (True, 2, 3, 4)"),
    ((1, 2, 3), "TransNAS macro skeleton '123' has 3 modules; the macro space has 4 to 6"),
    ((5, 2, 3, 4), "TransNAS macro skeleton '5234' module code 5 is not one of 1 normal, 2 channels x2, "
                   "3 resolution /2, 4 both"),
])
def test_transnas_macro_refusals_are_whole(codes: object, message: str) -> None:
    with pytest.raises(ValueError, match=exact(message)):
        transnas_macro.Arch(codes)  # type: ignore[arg-type]


_MICRO_OPS = "TransNAS micro op codes are 0..3 (0 none, 1 skip_connect, 2 conv_1x1, 3 conv_3x3); got "


@pytest.mark.parametrize(("ops", "message"), [
    ("012301", "a TransNAS micro Arch: ops must be a tuple or list, got str '012301'"),
    ((0, 1, 2), "a TransNAS micro cell has 6 edges, got 3 ops: (0, 1, 2)"),
    ((0, 1, 2, 3, 1, 1.0), _MICRO_OPS + "1.0 in (0, 1, 2, 3, 1, 1.0)"),
    ((0, 1, 2, 3, 1, True), _MICRO_OPS + "True in (0, 1, 2, 3, 1, True)"),
    ((0, 1, 2, 3, 1, 4), _MICRO_OPS + "4 in (0, 1, 2, 3, 1, 4)"),
])
def test_transnas_micro_refusals_are_whole(ops: object, message: str) -> None:
    with pytest.raises(ValueError, match=exact(message)):
        transnas_micro.Arch(ops)  # type: ignore[arg-type]


_AUX_BATCH = ("batch_size 1 (--batch-size): the auxiliary head's BatchNorm needs at least 2 images per batch in "
              "training mode; give --batch-size 2 or more, or --auxiliary-weight 0 (no auxiliary head)")


@pytest.mark.parametrize(("settings", "message"), [
    ({"lr": math.nan, "momentum": math.inf}, "TrainConfig fields must be finite numbers: lr, momentum"),
    ({"lr": 0.0}, "need --lr > 0, --momentum in [0, 1), --weight-decay >= 0 (got 0.0, 0.9, 0.0003)"),
    ({"momentum": -0.5}, "need --lr > 0, --momentum in [0, 1), --weight-decay >= 0 (got 0.025, -0.5, 0.0003)"),
    ({"momentum": 1.0}, "need --lr > 0, --momentum in [0, 1), --weight-decay >= 0 (got 0.025, 1.0, 0.0003)"),
    ({"schedule": "linear"}, "schedule must be one of cosine, step (got 'linear')"),
    ({"lr_gamma": 1.5}, "--lr-gamma must be in (0, 1] (got 1.5)"),
    ({"drop_path": 1.0}, "--drop-path and --label-smoothing must be in [0, 1) (got 1.0, 0.0)"),
    ({"label_smoothing": 1.0}, "--drop-path and --label-smoothing must be in [0, 1) (got 0.2, 1.0)"),
    ({"C": 0}, "--channels (C) and --layers must be >= 1 (got 0, 20)"),
    ({"batch_size": 1}, _AUX_BATCH),
])
def test_training_recipe_refusals_are_whole(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=exact(message)):
        TrainConfig(**settings)


def test_training_recipe_names_every_field_that_is_not_an_integer() -> None:
    with pytest.raises(TypeError, match=exact("TrainConfig fields must be integers: epochs=1.0, C=36.0")):
        TrainConfig(epochs=1.0, C=36.0)  # type: ignore[arg-type]


def test_training_recipe_takes_every_setting_on_its_bound() -> None:
    bounds = {"momentum": 0.0, "weight_decay": 0.0, "lr_gamma": 1.0, "drop_path": 0.0, "label_smoothing": 0.0, "C": 1,
              "layers": 1, "cutout": 0, "grad_clip": 0.0, "auxiliary_weight": 0.0, "batch_size": 1, "epochs": 1}
    config = TrainConfig(**bounds)
    assert {name: getattr(config, name) for name in bounds} == bounds


def test_a_training_runs_note_goes_to_the_log_or_to_stderr(caplog: pytest.LogCaptureFixture,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    quiet, loud = object.__new__(_Run), object.__new__(_Run)  # only `lines` is read: no model, data or optimiser
    quiet.lines, loud.lines = False, True
    with caplog.at_level(logging.INFO, logger="swapnas.train.loop"):
        quiet.say("epoch 3: loss 1.25")
        loud.say("resumed at epoch 4")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("swapnas.train.loop", logging.INFO, "epoch 3: loss 1.25")]
    assert capsys.readouterr().err == "resumed at epoch 4\n"
