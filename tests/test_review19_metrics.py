"""Session 19 review of the metric implementations (docs/reliability.md, "Session 19 review: metric implementations").

1. flops (and az_nas_complexity, which is flops) and synflow leave every module's train/eval flag as they found it.
2. zico, lswag_grad, zen and te_nas_ntk say that gradients / feature maps are not finite when the network
   overflows, instead of "no gradient varies", "Δ = nan" or a raw LinAlgError; the old messages stay for the
   cases they describe.
3. epe_nas version 2: for more than 100 classes the authors' rule (per-sample e_t, single-sample classes left
   out, mean pairwise |e_i − e_j|), checked against a naive numpy re-implementation; C ≤ 100 unchanged.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from swapnas.data import Batch
from swapnas.proxies import get_proxy

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class SmallNet(nn.Module):
    """conv-BN-ReLU twice, global average pool, linear head."""

    def __init__(self, classes: int = 10, bn: bool = True) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.b1 = nn.BatchNorm2d(4) if bn else nn.Identity()
        self.c2 = nn.Conv2d(4, 4, 3, padding=1)
        self.b2 = nn.BatchNorm2d(4) if bn else nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.b1(self.c1(x)))
        x = torch.relu(self.b2(self.c2(x)))
        return self.fc(self.pool(x).flatten(1))


def net(classes: int = 10, bn: bool = True, seed: int = 0) -> SmallNet:
    torch.manual_seed(seed)
    return SmallNet(classes, bn).train()


def batch(n: int = 8, classes: int = 10, labels: list[int] | None = None, seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 8, 8, generator=g)
    y = torch.randint(0, classes, (n,), generator=g) if labels is None else torch.tensor(labels)
    return Batch(x, y, classes, "toy", "test", 0)


def run(name: str, model: nn.Module, b: Batch) -> float:
    p = get_proxy(name)
    return p.fn(model, b, **p.options)


# ----------------------------------------------------------------------------- 1. train/eval flags


@pytest.mark.parametrize("name", ["flops", "az_nas_complexity", "synflow"])
def test_modes_are_restored(name: str) -> None:
    model = net()
    model.b2.eval()  # a mix: the net and b1 in train mode, b2 in eval mode
    model.fc.eval()
    before = [m.training for m in model.modules()]
    assert any(before) and not all(before)
    run(name, model, batch())
    assert [m.training for m in model.modules()] == before


def test_flops_value_does_not_depend_on_modes() -> None:
    assert run("flops", net(), batch()) == run("flops", net().eval(), batch()) > 0


# ----------------------------------------------------------------------------- 2. non-finite values


def overflowing() -> SmallNet:
    """No BatchNorm and weights × 1e30: the second conv's output is inf."""
    model = net(bn=False)
    with torch.no_grad():
        model.c1.weight.mul_(1e30)
        model.c2.weight.mul_(1e30)
    return model


@pytest.mark.parametrize("name", ["zico", "lswag_grad", "te_nas_ntk"])
def test_overflow_says_gradients_not_finite(name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}: the gradients are not finite"):
        run(name, overflowing(), batch())


def test_overflow_zen_says_feature_maps_not_finite() -> None:
    with pytest.raises(ValueError, match="^zen: the feature maps are not finite"):
        run("zen", overflowing(), batch())


@pytest.mark.parametrize("name", ["zico", "lswag_grad"])
def test_nan_input_says_gradients_not_finite(name: str) -> None:
    b = batch()
    x = b.inputs.clone()
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="gradients are not finite"):
        run(name, net(bn=False), Batch(x, b.targets, 10, "toy", "test", 0))


@pytest.mark.parametrize("name", ["zico", "lswag_grad"])
def test_identical_splits_keep_the_old_message(name: str) -> None:
    b = batch(n=4)
    twice = Batch(torch.cat([b.inputs, b.inputs]), torch.cat([b.targets, b.targets]), 10, "toy", "test", 0)
    with pytest.raises(ValueError, match="varies across the mini-batch splits"):
        run(name, net(), twice)


def test_zen_constant_features_keep_the_old_message() -> None:
    model = net(bn=False)
    with torch.no_grad():
        model.c2.weight.zero_()
        model.c2.bias.zero_()
    with pytest.raises(ValueError, match=r"does not change under input perturbation \(Δ = 0"):
        run("zen", model, batch())


@pytest.mark.parametrize("name", ["zico", "lswag_grad", "zen", "te_nas_ntk"])
def test_finite_networks_still_score(name: str) -> None:
    assert math.isfinite(run(name, net(), batch()))


# ----------------------------------------------------------------------------- 3. epe_nas, C > 100


def naive_input_jacobian(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Rows ∂(Σ_k f_k(x_i))/∂x_i, by .backward() on a leaf input."""
    x = x.clone().requires_grad_(True)
    model(x).sum().backward()
    return x.grad.detach().double().numpy().reshape(x.shape[0], -1)


def naive_corr(a: np.ndarray, b: np.ndarray) -> float:
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    cov = sum((u - ma) * (v - mb) for u, v in zip(a, b))
    va = sum((u - ma) ** 2 for u in a)
    vb = sum((v - mb) ** 2 for v in b)
    return float(cov / math.sqrt(va * vb))


def naive_class_sum(rows: list[np.ndarray], k: float = 1e-5) -> float:
    """Σ_i Σ_j log(|corr(J_i, J_j)| + k) over one class's Jacobians."""
    return sum(math.log(abs(naive_corr(a, b)) + k) for a in rows for b in rows)


def naive_epe(jac: np.ndarray, labels: list[int], classes: int) -> float:
    per_class: dict[int, list[np.ndarray]] = {}
    for row, label in zip(jac, labels):
        per_class.setdefault(label, []).append(row)
    if classes <= 100:
        return sum(abs(naive_class_sum(rows)) for rows in per_class.values())
    e = [naive_class_sum(rows) / len(rows) for rows in per_class.values() if len(rows) > 1]
    total = 0.0
    for ei in e:
        for ej in e:
            total += abs(ei - ej)
    return total / len(e)


# four classes with ≥ 2 samples, three with one (left out for C > 100)
LABELS = [0, 0, 0, 5, 5, 7, 9, 9, 9, 9, 11, 50, 50, 119]


def test_epe_nas_many_classes_golden() -> None:
    b = batch(n=len(LABELS), classes=120, labels=LABELS)
    model = net(classes=120)
    expected = naive_epe(naive_input_jacobian(copy.deepcopy(model), b.inputs), LABELS, 120)
    assert run("epe_nas", model, b) == pytest.approx(expected, rel=1e-6)
    # version 1's Σ_t |e_t| / C, for the record: not what the authors' code computes
    old = naive_epe(naive_input_jacobian(copy.deepcopy(model), b.inputs), LABELS, 10) / 120
    assert expected != pytest.approx(old, rel=1e-2)


def test_epe_nas_ten_classes_unchanged() -> None:
    labels = [t % 10 for t in LABELS]
    b = batch(n=len(labels), classes=10, labels=labels)
    model = net(classes=10)
    expected = naive_epe(naive_input_jacobian(copy.deepcopy(model), b.inputs), labels, 10)
    assert run("epe_nas", model, b) == pytest.approx(expected, rel=1e-6)


def test_epe_nas_single_group_is_not_divided_by_many_outputs() -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.randn(6, 3, 8, 8, generator=g)
    b = Batch(x, torch.randn(6, 120, generator=g), 120, "toy", "test", 0, loss="mse")  # regression, 120 outputs
    model = net(classes=120)
    expected = naive_epe(naive_input_jacobian(copy.deepcopy(model), x), [0] * 6, 10)  # one group: |e|
    assert run("epe_nas", model, b) == pytest.approx(expected, rel=1e-6)


def test_epe_nas_many_classes_needs_a_class_with_two_samples() -> None:
    b = batch(n=5, classes=120, labels=[1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="at least 2 samples"):
        run("epe_nas", net(classes=120), b)


def test_epe_nas_version_is_bumped() -> None:
    assert get_proxy("epe_nas").version == "2"
    assert get_proxy("epe_nas").key.startswith("epe_nas@2")
