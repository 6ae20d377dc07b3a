"""Tests written against the survivors of session 37's mutation run of the activation and structure metrics' bodies
(swap, swap_reg, nwot, zen, params; ``scripts/undecorate.py`` lets mutmut mutate the registered functions). Expected
values are computed by hand from the modules' outputs; messages are checked whole."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from swapnas.proxies.nwot import nwot
from swapnas.proxies.params import params
from swapnas.proxies.swap import swap, swap_reg
from swapnas.proxies.zen import zen

from .message_tools import exact
from .test_proxies import unlabelled


def _cnn(eps: float = 1e-5) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4, eps=eps), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


def _images(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(3, 3, 5, 5, generator=torch.Generator().manual_seed(1)).to(dtype)


@pytest.mark.filterwarnings("ignore::swapnas.patterns.SaturationWarning")  # 3 samples: a tiny score, not the point
def test_swap_leaves_the_buffers_to_the_scorer() -> None:
    """The proxy skips swap_score's buffer copy: the scorer re-initialises the network of every repeat (keeps_model
    allows a proxy to change buffers), so a pass in train mode moves BatchNorm's running mean."""
    model = _cnn()
    before = model[1].running_mean.clone()
    assert swap(model, unlabelled(_images())) > 0
    assert not torch.equal(model[1].running_mean, before) and int(model[1].num_batches_tracked) == 1


@pytest.mark.parametrize("mu, sigma", [(None, 100.0), (10.0, None), (None, None)])
def test_swap_reg_needs_both_mu_and_sigma(mu, sigma) -> None:
    with pytest.raises(ValueError, match=exact(
            "swap_reg needs mu and sigma (thousands of parameters of the scored network): in Python "
            "options={'swap_reg': {'mu': …, 'sigma': …}}; on the command line --mu/--sigma, or the space's defaults")):
        swap_reg(5.0, _cnn(), mu, sigma)


def test_nwot_on_two_samples_with_one_code() -> None:
    x = _images()[:1].repeat(2, 1, 1, 1)
    with pytest.raises(ValueError, match=exact(
            "nwot: the ReLU-code kernel K_H is singular (some samples share an activation code), so log|K_H| = -inf")):
        nwot(_cnn(), unlabelled(x))


def _zen_reference(model: nn.Sequential, shape: torch.Size, dtype: torch.dtype, train: bool) -> float:
    """log Δ + ½ log mean(σ² + eps) of the one BatchNorm, with x and ε drawn as the metric documents (alpha 0.01,
    seed 0)."""
    g = torch.Generator().manual_seed(0)
    x, e = torch.randn(shape, generator=g).to(dtype), torch.randn(shape, generator=g).to(dtype)
    with torch.no_grad():
        if train:
            var = model[0](x).double().var(dim=(0, 2, 3), unbiased=False)
        else:
            var = model[1].running_var.double()
        features = model[:3]
        delta = (features(x) - features(x + 0.01 * e)).double().flatten(1).norm(dim=1).mean().item()
    return math.log(delta) + 0.5 * math.log((var + model[1].eps).mean().item())


def test_zen_reads_the_batch_variance_in_train_mode_and_the_running_one_in_eval_mode() -> None:
    x = _images()
    assert zen(_cnn(eps=0.5), unlabelled(x)) == pytest.approx(
        _zen_reference(_cnn(eps=0.5), x.shape, x.dtype, train=True), rel=1e-6)
    frozen = _cnn(eps=0.5)
    frozen[1].running_var.copy_(torch.tensor([1.0, 4.0, 9.0, 16.0]))
    frozen.eval()
    want = _zen_reference(frozen, x.shape, x.dtype, train=False)
    assert zen(frozen, unlabelled(x)) == pytest.approx(want, rel=1e-6)
    assert frozen[1].running_var.tolist() == [1.0, 4.0, 9.0, 16.0]


def test_zen_draws_its_inputs_in_the_batchs_dtype() -> None:
    x = _images(torch.float64)
    model = _cnn().double()
    assert zen(model, unlabelled(x)) == pytest.approx(_zen_reference(_cnn().double(), x.shape, x.dtype, train=True),
                                                  rel=1e-12)


def test_zen_on_token_ids() -> None:
    with pytest.raises(ValueError, match=exact(
            "zen is not applicable to a model whose inputs are integer ids (torch.int64, e.g. token ids into "
            "nn.Embedding): it feeds N(0, 1) float inputs and their perturbation. On such a model use one that reads "
            "activations or weights, e.g. swap_ext, l2_norm, zico, vkdnw_layers or params (docs/transformers.md)")):
        zen(_cnn(), unlabelled(torch.zeros(2, 3, dtype=torch.long)))


class WithAuxiliary(nn.Module):
    """A DARTS-like network: an auxiliary head beside the main path (its parameters are not the scored size)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.auxiliary_head = nn.Linear(3, 4), nn.Linear(4, 10)
        self.cells = nn.ModuleDict({"auxiliary": nn.Linear(2, 2), "kept": nn.Linear(4, 1)})


def test_params_leaves_every_parameter_named_auxiliary_out() -> None:
    assert params(WithAuxiliary(), unlabelled(torch.zeros(1, 3))) == float(3 * 4 + 4 + 4 * 1 + 1)
