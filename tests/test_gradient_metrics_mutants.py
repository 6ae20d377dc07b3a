"""Tests written against the survivors of session 37's mutation run of the gradient metrics' bodies (grasp,
jacob_cov, epe_nas, zico, synflow; ``scripts/undecorate.py`` lets mutmut mutate the registered functions). Expected
values come from independent computations: ``torch.autograd.functional.hessian`` on the weights, per-sample input
gradients, ``numpy.corrcoef`` and ``numpy.linalg.eigvalsh``; messages are checked whole."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from swapnas.data import Batch
from swapnas.proxies.epe_nas import class_term, epe_nas
from swapnas.proxies.grasp import grasp
from swapnas.proxies.jacob_cov import jacob_cov
from swapnas.proxies.synflow import synflow
from swapnas.proxies.zico import zico

from .message_tools import exact


def _mlp(seed: int = 0, outputs: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, outputs)).double()


def _batch(x: torch.Tensor, targets: torch.Tensor, num_classes: int = 3, loss: str = "ce") -> Batch:
    return Batch(x, targets, num_classes, "t", "t", 0, loss=loss)


def _inputs(n: int = 4, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 5, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _grasp_reference(model: nn.Module, x: torch.Tensor, y: torch.Tensor, temperature: float) -> float:
    """−θ·(H g) over the two weights, H and g of the loss as a function of the weights alone (biases fixed)."""
    names = ["0.weight", "2.weight"]
    params = dict(model.named_parameters())
    shapes = [params[n].shape for n in names]
    flat = torch.cat([params[n].detach().flatten() for n in names])

    def loss(theta: torch.Tensor) -> torch.Tensor:
        split = dict(params)
        split.update(zip(names, (t.view(s) for t, s in zip(theta.split([s.numel() for s in shapes]), shapes))))
        return F.cross_entropy(functional_call(model, split, (x,)) / temperature, y)

    grad = torch.autograd.functional.jacobian(loss, flat)
    hessian = torch.autograd.functional.hessian(loss, flat)
    return float(-(flat * (hessian @ grad)).sum())


def test_grasp_divides_the_logits_by_the_temperature_in_both_passes() -> None:
    x, y = _inputs(), torch.tensor([0, 1, 2, 1])
    for temperature in (1.0, 3.0):
        want = _grasp_reference(_mlp(), x, y, temperature)
        assert grasp(_mlp(), _batch(x, y), temperature=temperature) == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert _grasp_reference(_mlp(), x, y, 3.0) != pytest.approx(_grasp_reference(_mlp(), x, y, 1.0), rel=1e-3)


class Unused(nn.Module):
    """A Linear layer that the output does not depend on."""

    def __init__(self) -> None:
        super().__init__()
        self.linear, self.scale = nn.Linear(2, 2), nn.Parameter(torch.ones(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


def test_grasp_on_a_loss_no_weight_reaches() -> None:
    batch = _batch(torch.randn(3, 2), torch.tensor([0, 1, 0]), num_classes=2)
    with pytest.raises(ValueError, match=exact("grasp: the loss does not depend on any Conv/Linear weight")):
        grasp(Unused(), batch)


def _jacobian_rows(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    rows = []
    for sample in x:
        s = sample.clone().requires_grad_(True)
        rows.append(torch.autograd.grad(model(s[None]).sum(), s)[0].numpy())
    return np.stack(rows)


def test_jacob_cov_default_k_is_the_papers_1e_5() -> None:
    model, x = _mlp(), _inputs()
    lam = np.linalg.eigvalsh(np.corrcoef(_jacobian_rows(model, x)))
    want = float(-np.sum(np.log(lam + 1e-5) + 1 / (lam + 1e-5)))
    assert jacob_cov(model, _batch(x, torch.zeros(4, dtype=torch.long))) == pytest.approx(want, rel=1e-6)


def test_a_constant_jacobian_row_is_named_for_jacob_cov_and_epe_nas() -> None:
    model = nn.Linear(4, 2)
    nn.init.ones_(model.weight)  # every input gradient is (2, 2, 2, 2): constant
    batch = _batch(torch.randn(2, 4), torch.tensor([0, 0]), num_classes=2)
    message = "{}: row(s) [0, 1] are constant, so their correlation is undefined"
    with pytest.raises(ValueError, match=exact(message.format("jacob_cov Jacobians"))):
        jacob_cov(model, batch)
    with pytest.raises(ValueError, match=exact(message.format("epe_nas Jacobians"))):
        epe_nas(model, batch)


def test_epe_nas_class_term_of_one_sample_is_log_1_plus_k_and_one_column_rows_are_constant() -> None:
    assert class_term(np.full((1, 3), 2.0), 0.5) == pytest.approx(math.log(1.5), abs=1e-12)  # a constant lone row too
    with pytest.raises(ValueError, match="epe_nas Jacobians: row"):
        class_term(np.array([[1.0], [2.0], [3.0]]), 0.5)


def _epe_terms(rows: np.ndarray, labels: np.ndarray, k: float = 1e-5) -> dict[int, tuple[float, int]]:
    """e_t and n_t per class, by numpy."""
    out = {}
    for t in np.unique(labels):
        group = rows[labels == t]
        corr = np.ones((1, 1)) if len(group) == 1 else np.corrcoef(group)
        out[int(t)] = (float(np.log(np.abs(corr) + k).sum()), len(group))
    return out


def test_epe_nas_default_k_and_the_rule_switch_above_100_classes() -> None:
    model, x = _mlp(outputs=2), _inputs(6)
    labels = np.array([0, 0, 1, 1, 1, 2])
    terms = _epe_terms(_jacobian_rows(model, x), labels)
    few = sum(abs(e) for e, _ in terms.values())
    per = np.array([e / n for e, n in terms.values() if n > 1])
    many = float(np.abs(per[:, None] - per[None, :]).sum() / len(per))
    targets = torch.from_numpy(labels)
    assert epe_nas(model, _batch(x, targets, num_classes=100)) == pytest.approx(few, rel=1e-9)
    assert epe_nas(model, _batch(x, targets, num_classes=101)) == pytest.approx(many, rel=1e-9)
    assert few != pytest.approx(many, rel=1e-3)


def test_epe_nas_many_classes_without_a_pair() -> None:
    batch = _batch(_inputs(3), torch.tensor([0, 1, 2]), num_classes=1000)
    with pytest.raises(ValueError, match=exact(
            "epe_nas: with more than 100 classes the score needs a class with at least 2 samples in the batch "
            "(single-sample classes are left out, as in the authors' code); none has: use a larger --batch-size, so "
            "that some class is drawn twice. With one sample per class (e.g. TransNAS jigsaw's 1000 classes) the "
            "metric does not apply")):
        epe_nas(_mlp(), batch)


def _zico_reference(model: nn.Module, batch: Batch, splits: int) -> float:
    """Σ_l log Σ mean|g| / std(g) over the halves' gradients, by hand."""
    per_split = []
    for xs, ys in zip(batch.inputs.tensor_split(splits), batch.targets.tensor_split(splits)):
        out = model(xs)
        loss = F.mse_loss(out, ys) if batch.loss == "mse" else F.cross_entropy(out, ys)
        per_split.append(torch.autograd.grad(loss, [model[0].weight, model[2].weight]))
    total = 0.0
    for layer in zip(*per_split):
        g = torch.stack(layer)
        std = g.std(dim=0, unbiased=False)
        total += math.log(float((g.abs().mean(dim=0)[std > 0] / std[std > 0]).sum()))
    return total


def test_zico_defaults_to_two_splits_takes_the_batch_loss_and_runs_on_splits_samples() -> None:
    x = _inputs(4)
    labelled = _batch(x, torch.tensor([0, 1, 2, 1]))
    assert zico(_mlp(), labelled) == pytest.approx(_zico_reference(_mlp(), labelled, 2), rel=1e-9)
    regression = _batch(x, torch.randn(4, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64),
                        loss="mse")
    assert zico(_mlp(), regression) == pytest.approx(_zico_reference(_mlp(), regression, 2), rel=1e-9)
    exactly_two = _batch(x[:2], torch.tensor([0, 1]))
    assert zico(_mlp(), exactly_two) == pytest.approx(_zico_reference(_mlp(), exactly_two, 2), rel=1e-9)


def test_zico_messages() -> None:
    one = _batch(torch.randn(1, 5, dtype=torch.float64), torch.tensor([0]))
    with pytest.raises(ValueError, match=exact(
            "zico needs splits >= 2 and at least that many samples (splits=2, batch=1)")):
        zico(_mlp(), one)
    x = _inputs(2)
    twins = _batch(torch.cat([x, x]), torch.tensor([0, 1, 0, 1]))  # both halves give the same gradient
    with pytest.raises(ValueError, match=exact("zico: no layer's gradient varies across the mini-batch splits")):
        zico(_mlp(), twins)


def test_synflow_on_token_ids() -> None:
    embed = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 2))
    with pytest.raises(ValueError, match=exact(
            "synflow is not applicable to a model whose inputs are integer ids (torch.int64, e.g. token ids into "
            "nn.Embedding): it feeds an all-ones float input of the batch's shape. On such a model use one that reads "
            "activations or weights, e.g. swap_ext, l2_norm, zico, vkdnw_layers or params (docs/transformers.md)")):
        synflow(embed, _batch(torch.zeros(2, 3, dtype=torch.long), torch.tensor([0, 1]), num_classes=2))
