"""Session 52, a Python user's run (docs/reliability.md, "Session 52"): each test failed on the code before its fix."""

from __future__ import annotations

import json
import math
import warnings

import pytest
import torch
from torch import nn

import swapnas
from swapnas.cli.search_command import resume_line
from swapnas.search import EAConfig

from .message_tools import refusal


class FlatCNN(nn.Module):
    """A CNN whose layers are attributes: no nn.Sequential/nn.ModuleList for AZ-NAS's blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.bn, self.act = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()
        self.c2, self.pool, self.fc = nn.Conv2d(8, 8, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.act(self.c2(self.act(self.bn(self.c1(x)))))).flatten(1))


def test_best_scores_a_flat_cnn_as_its_parts_do() -> None:
    """`best` (swap_darts outside a space) was refused on a flat CNN: AZ-NAS found no blocks, and no option reached
    them. Its value is its formula over its parts' values (ln Ψ + ln expressivity + 0.25·progressivity
    + 0.5·ln #params)."""
    x = torch.randn(16, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.arange(16) % 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", swapnas.SaturationWarning)  # a small net: Ψ near its neuron count
        got = swapnas.score(FlatCNN(), (x, y), proxies=("best", "swap", "az_nas_expressivity",
                                                        "az_nas_progressivity", "params"))
    want = (math.log(got["swap"]) + math.log(got["az_nas_expressivity"]) + 0.25 * got["az_nas_progressivity"]
            + 0.5 * math.log(got["params"]))
    assert set(got) == {"swap_darts", "swap", "az_nas_expressivity", "az_nas_progressivity", "params"}
    assert got["swap_darts"] == pytest.approx(want, rel=1e-9)


def test_search_arch_refuses_arguments_of_the_wrong_type_by_name(tmp_path) -> None:
    assert refusal(TypeError, lambda: swapnas.search_arch(201, out=tmp_path)) == (
        "swapnas.search_arch: space must be a space name such as 'nb201', not 201")
    assert refusal(TypeError, lambda: swapnas.search_arch("nb201", 10, out=tmp_path)) == (
        "swapnas.search_arch: dataset must be a dataset or task name such as 'cifar10', or None for the space's "
        "default, not 10")
    assert refusal(TypeError, lambda: swapnas.search_arch("nb201", out=None)) == (  # type: ignore[arg-type]
        "swapnas.search_arch: out must be the output folder, a str or os.PathLike (the command's --out), not None")
    assert not any(tmp_path.iterdir())


def _saved(tmp_path, proxy: object) -> EAConfig:
    config = EAConfig(population=4, sample=2, mutations=2, cycles=3, crossover=0.0)
    fitness = {"size_prior": None} if proxy is None else {"proxy": proxy, "size_prior": None}
    state = {"fitness": fitness, "ea": {"cycle": 3, "history": [1] * 7, "seed": 0,
                                        "config": {"population": 4, "sample": 2, "mutations": 2, "cycles": 3,
                                                   "crossover": 0.0}}, "stage2": {}}
    (tmp_path / "state.json").write_text(json.dumps(state))
    return config


def test_a_finished_search_of_another_fitness_is_refused_before_it_is_said_to_be_read_back(tmp_path) -> None:
    """`search --fitness params` on OUT that holds a `--fitness swap` search printed "is complete: its answer is read
    back", then refused. The name@version is checked with the EA's settings; the options (swap_reg's prior) later."""
    from swapnas.search.evolution import state_mismatch

    config = _saved(tmp_path, "swap_reg@1[mu=306.6,sigma=21264.6]")
    ea = json.loads((tmp_path / "state.json").read_text())["ea"]
    if state_mismatch(ea, config, 0) is not None:  # the hand-made state must pass the EA's own check
        pytest.fail(state_mismatch(ea, config, 0))
    assert "is complete" in resume_line(tmp_path, config, 0, "swap_reg@1[mu=None,sigma=None]")
    assert refusal(ValueError, lambda: resume_line(tmp_path, config, 0, "params@1")) == (
        f"{tmp_path / 'state.json'} holds a search with another fitness or constraints: --fitness "
        "'swap_reg@1[mu=306.6,sigma=21264.6]' (now 'params@1'); use another --out folder or the same settings")
    _saved(tmp_path, None)  # a state without the proxy's key: the search's own check decides
    assert "is complete" in resume_line(tmp_path, config, 0, "params@1")


def test_inputs_the_model_cannot_take_are_said_to_fail_its_own_forward() -> None:
    """A 1-channel batch for a 3-channel CNN read "swap could not score Sequential: RuntimeError …" (the metric or
    the model blamed); with lazy modules it was torch's bare RuntimeError."""
    x = torch.randn(4, 1, 8, 8)
    conv = "Given groups=1, weight of size [4, 3, 3, 3], expected input[4, 1, 8, 8] to have 3 channels"
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    assert refusal(swapnas.UnsupportedModel, lambda: swapnas.score(net, x, "swap")).startswith(
        "swap could not score Sequential: its forward fails on these inputs (shape (4, 1, 8, 8)): RuntimeError: "
        f"{conv}")
    lazy = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    assert refusal(swapnas.UnsupportedModel, lambda: swapnas.score(lazy, x, "swap")).startswith(
        "Sequential's lazy modules take their shapes from one pass, and its forward fails on these inputs (shape "
        f"(4, 1, 8, 8)): RuntimeError: {conv}")
    # a model that runs, and a metric that fails on it, keeps the old text (tests/test_api.py, NoActivationError)


def test_float_class_labels_that_fail_a_loss_get_the_fix() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0.0, 1.0, 2.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the read's own warning ("float labels are read as …")
        message = refusal(swapnas.UnsupportedModel, lambda: swapnas.score(net, (x, y), "snip"))
    assert message == ("snip could not score Sequential: ValueError: a mse loss needs targets of the output's shape; "
                       "got output (4, 3), targets (4,) (float labels are read as regression targets: for class labels "
                       "pass y.long())")
    assert swapnas.score(net, (x, y.long()), "snip")["snip"] > 0


class TwoStacks(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cells = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1))
        self.other = nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.other(self.cells(x)))


def test_options_for_a_part_of_best_are_refused_unless_the_part_is_scored_by_name() -> None:
    """Session 52: {'az_nas_expressivity': {'blocks': …}} beside `best` was ignored without a word."""
    x = torch.randn(8, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    other = {"az_nas_expressivity": {"blocks": "other"}}
    assert refusal(ValueError, lambda: swapnas.score(TwoStacks(), x, "best", options=other)) == (
        "options for az_nas_expressivity: it is scored here only as a part of swap_darts, with its defaults; score it "
        "by name too (proxies=[…, 'az_nas_expressivity']) and swap_darts reads it with these options")
    names = ("best", "az_nas_expressivity", "swap", "az_nas_progressivity", "params")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", swapnas.SaturationWarning)
        default, given = swapnas.score(TwoStacks(), x, names), swapnas.score(TwoStacks(), x, names, options=other)
    assert given["az_nas_expressivity"] != default["az_nas_expressivity"]  # the blocks option took effect
    for got in (default, given):
        assert got["swap_darts"] == pytest.approx(math.log(got["swap"]) + math.log(got["az_nas_expressivity"])
                                                  + 0.25 * got["az_nas_progressivity"] + 0.5 * math.log(got["params"]))
    assert swapnas.score(TwoStacks(), x, "swap", options={"meco": {}})  # not a part: one dict may serve many calls
