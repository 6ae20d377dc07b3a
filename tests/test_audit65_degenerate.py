"""Session 65 audit of degenerate networks and boundary sizes through every metric (each test failed on the code as
found): a model wrapped in nn.Sequential under AZ-NAS, one sample per class under epe_nas, one-output classifiers
under cross-entropy and vkdnw, a float64 copy under az_nas_trainability, nwot's and te_nas_ntk's messages, and SWAP
proxies' advice on activations none of them counts."""

from __future__ import annotations

import hashlib
import math

import pytest
import torch
from torch import nn

import swapnas
from swapnas import UnsupportedModel


def _cnn(width: int = 4, depth: int = 2) -> nn.Sequential:
    layers: list[nn.Module] = []
    c = 3
    for _ in range(depth):
        layers += [nn.Conv2d(c, width, 3, padding=1), nn.ReLU()]
        c = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 3))


def _mlp(out: int = 3, width: int = 16, act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    return nn.Sequential(nn.Linear(8, width), act(), nn.Linear(width, width), act(), nn.Linear(width, out))


def _img(s: int = 8) -> torch.Tensor:
    return torch.randn(s, 3, 8, 8, generator=torch.Generator().manual_seed(0))


def _vec(s: int = 8) -> torch.Tensor:
    return torch.randn(s, 8, generator=torch.Generator().manual_seed(0))


# --- 1. a model wrapped in nn.Sequential: AZ-NAS reads the input image alone -------------------------------------

@pytest.mark.parametrize("width,depth", [(4, 2), (16, 3)])
def test_az_nas_expressivity_of_a_model_wrapped_in_sequential_is_the_models_not_the_inputs(width, depth):
    """nn.Sequential(model) found one block (the model), so its only 4-D map was the input image: expressivity was
    the batch's channel entropy (1.0962 for every network), silently; swap_expr took it in."""
    torch.manual_seed(0)
    net = _cnn(width, depth)
    x = _img()
    bare = swapnas.score(net, x, "az_nas_expressivity")["az_nas_expressivity"]
    for wrapped in (nn.Sequential(net), nn.Sequential(net, nn.Softmax(dim=1)), nn.Sequential(nn.Sequential(net))):
        assert swapnas.score(wrapped, x, "az_nas_expressivity")["az_nas_expressivity"] == bare


def test_best_outside_a_space_scores_a_model_wrapped_in_sequential_as_the_model():
    """swap_darts (`best` outside a space) refused nn.Sequential(model) with "progressivity needs at least two
    block feature maps, found 1", no way out named (options={'az_nas_progressivity': {'blocks': '0'}} works)."""
    torch.manual_seed(0)
    net = _cnn()
    x = _img()
    bare = swapnas.score(net, x, "swap_darts")["swap_darts"]
    assert swapnas.score(nn.Sequential(net, nn.Softmax(dim=1)), x, "swap_darts")["swap_darts"] == bare


# --- 2. epe_nas with one sample per class: k·C for every network ----------------------------------------------

@pytest.mark.parametrize("s", [1, 4])
def test_epe_nas_with_one_sample_per_class_is_refused_as_the_same_for_every_network(s):
    """Each single-sample class adds log(1 + k): with S = 1, or S distinct labels, epe_nas was S·1e-5 for every
    network (the C > 100 rule refuses the same batch with a clear message)."""
    x, y = _vec(s), torch.arange(s)
    for net in (_mlp(), _mlp(width=64)):
        with pytest.raises(UnsupportedModel, match="every class of the batch has one sample.*some class has 2 or more"):
            swapnas.score(net, (x, y), "epe_nas")
    y[-1] = 0  # one class drawn twice: scored, and no longer one value for every network
    if s > 1:
        values = {swapnas.score(net, (x, y), "epe_nas")["epe_nas"] for net in (_mlp(), _mlp(width=64))}
        assert len(values) == 2


# --- 3. a single-output model under cross-entropy: every gradient is 0 ----------------------------------------

@pytest.mark.parametrize("proxy", ["grad_norm", "snip", "fisher", "grasp", "plain", "zico"])
def test_a_one_output_classifier_under_cross_entropy_is_refused_with_the_way_out(proxy):
    """Cross-entropy over one class is 0 for every input: each gradient metric gave 0.0 for every network (zico:
    "no layer's gradient varies", without the cause)."""
    x, y = _vec(), torch.zeros(8, dtype=torch.long)
    with pytest.raises(UnsupportedModel, match=r"a cross-entropy loss over one output \(output \(\d, 1\)\) is 0 for "
                       r"every input.*float targets of the output's shape with loss 'mse'"):
        swapnas.score(_mlp(out=1), (x, y), proxy)
    targets = torch.randn(8, 1, generator=torch.Generator().manual_seed(1))  # float targets: read as regression (mse)
    assert swapnas.score(_mlp(out=1), (x, targets), proxy)[proxy] != 0.0  # the way out named works


def test_vkdnw_of_a_single_output_model_under_ce_is_refused():
    """vkdnw needs no labels and defaults to the ce loss: a one-output model (a regressor, a scorer) got 0.0."""
    with pytest.raises(UnsupportedModel, match="Fisher information of one output is 0"):
        swapnas.score(_mlp(out=1), _vec(), "vkdnw")
    assert swapnas.score(_mlp(out=2), _vec(), "vkdnw")["vkdnw"] > 0


# --- 4. one network and one batch in float64 scores another value ---------------------------------------------

def test_float64_copy_of_a_model_and_batch_draws_az_nas_trainabilitys_probes_as_float32():
    """az_nas_trainability's probes were seeded with the inputs' dtype name (7 % apart); the float32 probes are
    unchanged (a golden value of the code as found)."""
    from swapnas.proxies.az_nas import probe_generator

    x = _img()
    draw = torch.randn(4, generator=probe_generator(x))
    assert torch.equal(draw, torch.randn(4, generator=probe_generator(x.double())))
    assert torch.equal(torch.randn(4, generator=probe_generator(torch.arange(8))),
                       torch.randn(4, generator=probe_generator(torch.arange(8))))
    old = hashlib.sha256(f"az_nas|0|{tuple(x.shape)}|torch.float32".encode())
    old.update(x.to(torch.float64).numpy().tobytes())
    golden = torch.Generator().manual_seed(int.from_bytes(old.digest()[:8], "little") & (2**63 - 1))
    assert torch.equal(draw, torch.randn(4, generator=golden))
    torch.manual_seed(0)
    net = _cnn()
    y = torch.arange(8) % 3
    a = swapnas.score(net, (x, y), "az_nas_trainability", init="none")["az_nas_trainability"]
    b = swapnas.score(net.double(), (x.double(), y), "az_nas_trainability", init="none")["az_nas_trainability"]
    assert b == pytest.approx(a, rel=1e-6)


# --- 5. nwot blames shared codes where the kernel's rank bound is the cause -----------------------------------

def test_nwot_singular_kernel_says_the_rank_bound_when_every_code_differs():
    """K_H = Σ [c, 1-c][c, 1-c]ᵀ has rank <= N_A + 1: 32 ReLU units and S = 34 distinct codes (te_nas_lr = 34) is
    singular, and the message said only "some samples share an activation code"."""
    torch.manual_seed(0)
    net, x = _mlp(), _vec(34)
    assert swapnas.score(net, x, "te_nas_lr", init="none")["te_nas_lr"] == 34.0  # every code distinct
    with pytest.raises(UnsupportedModel) as info:
        swapnas.score(net, x, "nwot", init="none")
    assert str(info.value).endswith("(here no two of the 34 samples share a code: with 32 ReLU units K_H has rank at "
                                    "most 33, so it is singular for more than 33 samples; pass at most 33 samples or "
                                    "score a wider network)")
    assert math.isfinite(swapnas.score(net, x[:33], "nwot", init="none")["nwot"])


# --- 6. te_nas_ntk on a model without parameters: torch's words ------------------------------------------------

@pytest.mark.parametrize("model", [nn.Identity(), nn.Sequential(), nn.Sequential(nn.ReLU())])
def test_te_nas_ntk_of_a_model_without_parameters_says_so(model):
    with pytest.raises(UnsupportedModel) as info:
        swapnas.score(model, _vec(), "te_nas_ntk")
    assert str(info.value).endswith("(the model has no trainable parameter: a metric that differentiates with respect "
                                    "to the parameters cannot score it)")


# --- 7. swap_ext's refusal of a Tanh / Sigmoid model advises swap_ext -------------------------------------------

@pytest.mark.parametrize("act", [nn.Tanh, nn.Sigmoid, nn.Hardtanh])
def test_swap_ext_and_swap_fn_refusals_do_not_advise_the_proxy_that_just_failed(act):
    with pytest.raises(UnsupportedModel) as ext:
        swapnas.score(_mlp(act=act), _vec(), "swap_ext")
    assert "use swap_ext" not in str(ext.value)
    assert ("As a proxy: swap_ext counts the sign-keeping activation modules named above; use swap_fn for activations "
            "called as functions. Where the model calls none, no SWAP proxy counts its activations: score it with a "
            "proxy that needs no activation (params, grad_norm, synflow, …).") in str(ext.value)
    with pytest.raises(UnsupportedModel) as fn:
        swapnas.score(_mlp(act=act), _vec(), "swap_fn")
    assert "use swap_ext" not in str(fn.value) and "use swap_fn" not in str(fn.value)
    assert ("As a proxy: no SWAP proxy counts this model's activations (swap_fn hooks the most): score it with a proxy "
            "that needs no activation (params, grad_norm, synflow, …).") in str(fn.value)
