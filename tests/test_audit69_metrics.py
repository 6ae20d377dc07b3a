"""Session 69 audit of the metrics recomputed by an independent implementation from their papers (21 base metrics
on three float64 networks agreed to 1e-14 or a documented difference; each test here failed on the code as found,
ddcabe7): EPE-NAS's class rule read from the labels of a model with more classes, and a weight two layers share."""
from __future__ import annotations

import copy
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import swapnas


def _wide_classifier(outputs: int = 200) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, outputs)).double()


_X = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
_Y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])


def test_epe_nas_on_a_model_of_more_classes_than_the_labels_count_is_warned_of_with_the_fix() -> None:
    """EPE-NAS takes another rule above 100 classes; ``score`` counted the classes from the labels (4) of a
    200-output model and scored it by the other rule (20.07 against 4.72 with ``num_classes=200``), unsaid."""
    model = _wide_classifier()
    with pytest.warns(UserWarning) as said:
        default = swapnas.score(model, (_X, _Y), proxies=["epe_nas", "swap"], init="none")["epe_nas"]
    assert [str(w.message) for w in said] == [
        "epe_nas: num_classes was counted from the labels (4), and the model's last Linear layer has 200 outputs: the "
        "rule for more than 100 classes applies with num_classes=200 (give the model's output size)"]
    assert said[0].filename == __file__  # the caller's line
    explicit = swapnas.score(model, (_X, _Y), proxies=["epe_nas"], init="none", num_classes=200)["epe_nas"]
    assert default != pytest.approx(explicit, rel=1e-3)  # the two rules differ: the warning is needed


@pytest.mark.parametrize(("outputs", "proxies", "num_classes"), [
    (200, ["swap", "snip"], None),  # no metric that reads the count
    (200, ["epe_nas"], 200),  # given: nothing counted
    (200, ["epe_nas"], 4),  # given, even if it is not the model's: the caller said so
    (100, ["epe_nas"], None),  # the model has no more than 100 classes: one rule either way
])
def test_no_class_count_warning_where_the_rule_cannot_change(outputs: int, proxies: list[str],
                                                              num_classes: int | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        swapnas.score(_wide_classifier(outputs), (_X, _Y), proxies=proxies, init="none", num_classes=num_classes)


class _Tied(nn.Module):
    """Two Linear layers sharing one weight tensor, and a head."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 6, bias=False)
        self.b = nn.Linear(6, 6, bias=False)
        self.b.weight = self.a.weight
        self.head = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.b(torch.relu(self.a(x)))))


def test_gradient_saliencies_count_a_weight_two_layers_share_once() -> None:
    """snip summed 2T + H (0.2810) against T + H = 0.1584, each weight once, while ``params`` counts the shared
    tensor once: the shared weight's whole gradient was listed per layer."""
    torch.manual_seed(0)
    model = _Tied().double()
    x = torch.randn(8, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    got = swapnas.score(model, (x, y), proxies=["snip", "grad_norm", "plain", "params"], init="none")
    ref = copy.deepcopy(model).train()
    F.cross_entropy(ref(x), y).backward()
    weights = [ref.a.weight, ref.head.weight]  # each weight tensor once
    assert got["params"] == 36 + 18 + 3
    assert got["snip"] == pytest.approx(float(sum((w.detach() * w.grad).abs().sum() for w in weights)), rel=1e-9)
    assert got["plain"] == pytest.approx(float(sum((w.detach() * w.grad).sum() for w in weights)), rel=1e-9)
    assert got["grad_norm"] == pytest.approx(float(sum(w.grad.norm() for w in weights)), rel=1e-9)


def test_layer_weights_lists_a_shared_weight_once_in_module_order() -> None:
    from swapnas.proxies._common import layer_weights

    model = _Tied()
    assert [id(w) for w in layer_weights(model)] == [id(model.a.weight), id(model.head.weight)]
