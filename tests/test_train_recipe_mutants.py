"""``swapnas train``'s recipes (``swapnas.train.recipe``: the schedules, the network checks and builder, the size
count and the genotype reader), from its mutation run (session 47); the dataclass itself is session 39's
(``test_dataclass_mutants``). Schedules against their formulas written out per epoch, every refusal whole."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from torch import nn

from swapnas.spaces import darts
from swapnas.spaces import darts_genotype as dg
from swapnas.train import recipe
from swapnas.train.recipe import RECIPES, TrainConfig

from .message_tools import refusal
from .test_darts_genotype import DARTS_V2


def test_the_recipes_are_the_darts_papers() -> None:
    assert RECIPES["cifar10"] == TrainConfig()  # the dataclass's defaults are the CIFAR-10 recipe
    assert RECIPES["imagenet"] == TrainConfig(
        epochs=250, batch_size=128, lr=0.1, momentum=0.9, weight_decay=3e-5, schedule="step", lr_gamma=0.97,
        cutout=0, drop_path=0.0, auxiliary_weight=0.4, grad_clip=5.0, label_smoothing=0.1, C=48, layers=14)
    assert recipe.SCHEDULES == ("cosine", "step")


def test_the_cosine_schedule_falls_from_lr_to_zero_over_the_epochs() -> None:
    config = TrainConfig(epochs=4, lr=0.2)
    halfway = 0.2 * (1 + math.cos(math.pi / 4)) / 2
    assert [recipe.lr_at(config, e) for e in range(5)] == pytest.approx(
        [0.2, halfway, 0.1, 0.2 - halfway, 0.0], abs=1e-15)
    assert recipe.lr_at(config, 1) == pytest.approx(0.17071067811865476, rel=1e-15)


def test_the_step_schedule_multiplies_by_gamma_each_epoch() -> None:
    config = TrainConfig(epochs=9, lr=0.5, schedule="step", lr_gamma=0.5)
    assert [recipe.lr_at(config, e) for e in range(4)] == [0.5, 0.25, 0.125, 0.0625]
    assert recipe.lr_at(replace(config, lr_gamma=1.0), 7) == 0.5


def test_drop_path_grows_linearly_from_zero() -> None:
    config = TrainConfig(epochs=4, drop_path=0.2)
    assert [recipe.drop_path_at(config, e) for e in range(5)] == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2],
                                                                                 abs=1e-15)


def test_the_network_checks() -> None:
    recipe.check_network(TrainConfig(C=4, layers=2), "cifar10")
    recipe.check_network(TrainConfig(C=5, layers=1, auxiliary_weight=0.0), "cifar10")  # odd C: fine on CIFAR
    recipe.check_network(TrainConfig(C=4, layers=1), "imagenet")  # one cell: the ImageNet head takes any depth
    assert refusal(ValueError, lambda: recipe.check_network(TrainConfig(C=5), "imagenet")) == \
        "channels 5 (--channels): the ImageNet stem halves C; give an even --channels"
    assert refusal(ValueError, lambda: recipe.check_network(TrainConfig(C=4, layers=1), "cifar10")) == (
        "layers 1 (--layers): the CIFAR auxiliary head needs at least 2 cells (its input is the 8x8 map after the "
        "second reduction cell); give --layers 2 or more, or --auxiliary-weight 0 (no auxiliary head)")


@pytest.mark.parametrize(("dataset", "builder"), [("cifar10", "build"), ("imagenet", "build_imagenet")])
def test_the_model_is_the_spaces_final_network_for_the_dataset(monkeypatch, dataset: str, builder: str) -> None:
    seen: list = []
    monkeypatch.setitem(darts.FINAL_NETS, dataset, {**darts.FINAL_NETS[dataset],
                                                    **({"builder": lambda *a, **kw: seen.append((a, kw)) or "NET"}
                                                       if builder == "build_imagenet" else {})})
    monkeypatch.setattr(darts, "build", lambda *a, **kw: seen.append((a, kw)) or "NET")
    genotype = dg.parse(DARTS_V2)
    assert recipe.build_model(genotype, TrainConfig(C=6, layers=3), dataset, 7) == "NET"
    assert recipe.build_model(genotype, TrainConfig(C=6, layers=3, auxiliary_weight=0.0), dataset, 7) == "NET"
    assert seen == [((genotype,), {"C": 6, "layers": 3, "num_classes": 7, "auxiliary": True}),
                    ((genotype,), {"C": 6, "layers": 3, "num_classes": 7, "auxiliary": False})]
    assert refusal(ValueError, lambda: recipe.build_model(genotype, TrainConfig(C=5, layers=1), dataset, 7)) \
        .startswith("channels 5" if dataset == "imagenet" else "layers 1")


def test_the_real_models_have_their_recipes_heads() -> None:
    genotype = dg.parse(DARTS_V2)
    small = recipe.build_model(genotype, TrainConfig(C=4, layers=2), "cifar10", 10)
    bare = recipe.build_model(genotype, TrainConfig(C=4, layers=2, auxiliary_weight=0.0), "cifar10", 10)
    assert any(n.startswith("auxiliary_head") for n, _ in small.named_parameters())
    assert not any(n.startswith("auxiliary_head") for n, _ in bare.named_parameters())
    assert recipe.count_params_m(small) == recipe.count_params_m(bare)
    imagenet = recipe.build_model(genotype, TrainConfig(C=4, layers=2, auxiliary_weight=0.0), "imagenet", 5)
    assert type(imagenet) is not type(bare)


def test_the_size_leaves_the_auxiliary_head_out() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Linear(10, 10)  # 110
            self.auxiliary_head = nn.Linear(100, 10)  # 1010, not counted
            self.head_auxiliary_head = nn.Linear(2, 2)  # 6: the name does not start with it
    assert recipe.count_params_m(Net()) == pytest.approx(116 / 1e6, rel=1e-12)
    assert recipe.count_params_m(nn.Linear(1000, 1000)) == pytest.approx(1.001, rel=1e-12)


# --- load_genotype -------------------------------------------------------------------------------------------------

def test_a_genotype_string_is_parsed_with_its_whitespace() -> None:
    assert recipe.load_genotype(DARTS_V2) == dg.parse(DARTS_V2)
    assert recipe.load_genotype(f"  \n{DARTS_V2}\n ") == dg.parse(DARTS_V2)


def _write(path: Path, content: Any) -> str:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_a_file_holds_a_search_result_a_json_string_or_the_genotype(tmp_path: Path) -> None:
    want = dg.parse(DARTS_V2)
    assert recipe.load_genotype(_write(tmp_path / "r.json", {"space": "darts", "best": DARTS_V2})) == want
    assert recipe.load_genotype(_write(tmp_path / "old.json", {"best": DARTS_V2})) == want  # no space: darts
    assert recipe.load_genotype(_write(tmp_path / "s.json", json.dumps(DARTS_V2))) == want
    assert recipe.load_genotype(_write(tmp_path / "g.txt", DARTS_V2 + "\n")) == want
    assert recipe.load_genotype(" " + _write(tmp_path / "h.txt", DARTS_V2) + " ") == want


def test_a_file_outside_home_is_found_through_the_tilde(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    _write(tmp_path / "g.txt", DARTS_V2)
    assert recipe.load_genotype("~/g.txt") == dg.parse(DARTS_V2)


def test_what_is_no_genotype_is_refused(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    assert refusal(FileNotFoundError, lambda: recipe.load_genotype(missing)) == (
        f"--genotype {missing!r} is neither a 'Genotype(normal=[...], ...)' string nor an existing file (a "
        "result.json of `swapnas search --space darts`)")
    assert refusal(FileNotFoundError, lambda: recipe.load_genotype(str(tmp_path))).startswith(
        f"--genotype {str(tmp_path)!r} is neither")  # a folder
    nb201 = tmp_path / "nb201.json"
    assert refusal(ValueError, lambda: recipe.load_genotype(_write(nb201, {"space": "nb201", "best": "|x|"}))) == \
        f"{nb201} is a 'nb201' search result; `swapnas train` trains DARTS genotypes"
    for doc in ({"space": "darts"}, {"best": 3}, {"best": None}, {"genotype": 3}, {"best": None, "genotype": DARTS_V2}):
        path = tmp_path / "no_best.json"
        assert refusal(ValueError, lambda: recipe.load_genotype(_write(path, doc))) == \
            f"{path} has no 'best' genotype string (expected a result.json of `swapnas search`, or one of `swapnas " \
            "train` with its 'genotype')"
    trained = _write(tmp_path / "trained.json", {"genotype": DARTS_V2, "dataset": "cifar10"})  # swapnas train's
    assert recipe.load_genotype(trained) == recipe.load_genotype(DARTS_V2)
    for value in ([DARTS_V2], 3, None):
        path = tmp_path / "other.json"
        assert refusal(ValueError, lambda: recipe.load_genotype(_write(path, value))) == \
            f"{path} holds no DARTS genotype (expected a result.json of `swapnas search` or `swapnas train`)"


# --- TrainConfig's bounds, each alone (session 39 pinned the rest) -----------------------------------------------

@pytest.mark.parametrize(("settings", "message"), [
    ({"epochs": 0}, "--epochs and --batch-size must be >= 1 (got 0, 96)"),
    ({"batch_size": 0, "auxiliary_weight": 0.0}, "--epochs and --batch-size must be >= 1 (got 600, 0)"),
    ({"lr_gamma": 0.0, "schedule": "step"}, "--lr-gamma must be in (0, 1] (got 0.0)"),
    ({"cutout": -1}, "--cutout, --grad-clip and --auxiliary-weight must be >= 0 (got -1, 5.0, 0.4)"),
    ({"grad_clip": -0.5}, "--cutout, --grad-clip and --auxiliary-weight must be >= 0 (got 16, -0.5, 0.4)"),
    ({"auxiliary_weight": -0.1}, "--cutout, --grad-clip and --auxiliary-weight must be >= 0 (got 16, 5.0, -0.1)"),
])
def test_each_bound_of_the_recipe_alone_is_refused(settings: dict, message: str) -> None:
    assert refusal(ValueError, lambda: TrainConfig(**settings)) == message


def test_the_bounds_themselves_are_accepted() -> None:
    TrainConfig(epochs=1, batch_size=2, lr_gamma=1.0, cutout=0, grad_clip=0.0)  # two images: the auxiliary head runs
    TrainConfig(batch_size=1, auxiliary_weight=0.0)
    assert refusal(ValueError, lambda: TrainConfig(batch_size=1)).startswith("batch_size 1 (--batch-size): ")
