"""``swapnas.score`` / ``rank`` / ``swap_score`` on models and calls met in the wild (session 16 review).

Every case failed before: an MLP under ``auto``; a call inside ``torch.no_grad`` / ``inference_mode``; a
frozen model with gradient proxies; NaN scores ranked among the finite ones; a Hugging Face-style mapping of
inputs; a typo in ``options`` silently ignored; lazy BatchNorm; buffers the forward pass re-assigns; the
saturation ceiling of a model whose maps hold more samples than its input (tiles).
"""

from __future__ import annotations

import warnings
from collections import UserDict

import pytest
import torch
from torch import nn

import swapnas
from swapnas.api import UnsupportedModel, auto_proxy
from swapnas.patterns import SaturationWarning, swap_score


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 10))


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(8, 3, 8, 8, generator=g), torch.randint(0, 10, (8,), generator=g)


def test_auto_scores_an_mlp_with_swap_ext_and_a_cnn_with_swap() -> None:
    mlp = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
    assert auto_proxy([mlp]) == "swap_ext" and auto_proxy([_cnn()]) == "swap"
    x = torch.randn(16, 10)
    assert swapnas.score(mlp, x) == swapnas.score(mlp, x, "swap_ext")


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_score_inside_no_grad_and_inference_mode_equals_a_plain_call(mode) -> None:
    model, (x, y) = _cnn(), _data()
    plain = swapnas.score(model, (x, y), ["swap", "snip"])
    plain_psi = swap_score(model, x)
    with mode():
        xi, yi = x.clone(), y.clone()  # made inside the mode (inference tensors under inference_mode)
        assert swapnas.score(model, (xi, yi), ["swap", "snip"]) == plain
        assert swap_score(model, xi) == plain_psi


def test_gradient_proxies_ignore_what_the_caller_froze() -> None:
    free, frozen, (x, y) = _cnn(), _cnn(), _data()
    frozen.requires_grad_(False)
    names = ["snip", "grad_norm", "fisher", "synflow"]
    assert swapnas.score(frozen, (x, y), names) == swapnas.score(free, (x, y), names)
    assert not any(p.requires_grad for p in frozen.parameters())  # the caller's model is untouched


class _Overflow(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 1e30 * 1e30  # inf in float32


def test_a_non_finite_value_is_an_error_and_ranks_last() -> None:
    (x, y), good = _data(), _cnn()
    bad = nn.Sequential(_cnn(), _Overflow())
    with pytest.raises(UnsupportedModel, match="grad_norm gave (nan|inf) on Sequential"):
        swapnas.score(bad, (x, y), ["grad_norm"])
    small = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 10))
    rows = swapnas.rank({"bad": bad, "good": good, "small": small}, (x, y), ["grad_norm"])
    assert rows[-1]["model"] == "bad" and rows[-1]["grad_norm"] is None and "gave" in rows[-1]["error"]
    values = [r["grad_norm"] for r in rows[:2]]
    assert values == sorted(values, reverse=True)


class _Ids(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb, self.ff = nn.Embedding(50, 16), nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 4))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return (self.ff(self.emb(input_ids)) * attention_mask[..., None]).mean(1)


def test_a_mapping_of_inputs_is_scored_like_a_dict() -> None:
    ids = torch.randint(0, 50, (16, 6), generator=torch.Generator().manual_seed(2))
    kw = {"input_ids": ids, "attention_mask": torch.ones(16, 6)}
    model = _Ids()
    assert swapnas.score(model, UserDict(kw)) == swapnas.score(model, kw)
    assert swap_score(model, UserDict(kw), activations=(nn.GELU,), input_dims=(3,)) == \
        swap_score(model, kw, activations=(nn.GELU,), input_dims=(3,))


def test_bad_options_seed_and_repeats_are_clear_errors() -> None:
    model, (x, _) = _cnn(), _data()
    with pytest.raises(ValueError, match="options for swapreg: no proxy of that name"):
        swapnas.score(model, x, ["swap"], options={"swapreg": {"mu": 1.0, "sigma": 1.0}})
    # options for a registered proxy not scored in this call are allowed (one dict for several calls)
    assert "swap" in swapnas.score(model, x, ["swap"], options={"swap_reg": {"mu": 1.0, "sigma": 1.0}})
    with pytest.raises(ValueError, match="has no option"):  # options keyed by an alias reach its target
        swapnas.score(model, x, ["best"], options={"best": {"bogus_option": 1}})
    with pytest.raises(TypeError, match="seed must be an int"):
        swapnas.score(model, x, seed=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="repeats must be an int"):
        swapnas.score(model, x, repeats=2.0)  # type: ignore[arg-type]


def test_lazy_batchnorm_scores_as_its_materialised_twin() -> None:
    x = torch.randn(10, 3, 5, 5, generator=torch.Generator().manual_seed(3))
    lazy = nn.Sequential(nn.LazyConv2d(4, 3), nn.LazyBatchNorm2d(), nn.ReLU())
    eager = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaturationWarning)
        assert swapnas.score(lazy, x, ["swap"]) == swapnas.score(eager, x, ["swap"])  # same N(0, 1) draws
        assert swap_score(lazy, x) > 0


class _Counter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("n", torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.n = self.n + 1  # a new tensor: the module's buffer is re-assigned
        self.register_buffer("cache", torch.ones(3))  # registered by the pass
        return torch.relu(self.conv(x))


def test_buffers_the_pass_reassigns_or_adds_are_put_back() -> None:
    model = _Counter()
    before = model.n
    swap_score(model, torch.randn(8, 3, 6, 6), activations=(nn.ReLU,), functions=True)
    assert model.n is before and float(model.n) == 0.0 and "cache" not in dict(model.named_buffers())


class _Reshuffle(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("cache", torch.zeros(3), persistent=False)
        self.register_buffer("stat", torch.zeros(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        del self.cache  # dropped and registered again, persistent this time
        self.register_buffer("cache", torch.ones(5))
        self.register_buffer("stat", torch.ones(3), persistent=False)
        self.stat.resize_(6).fill_(1.0)  # resized in place
        return torch.relu(self.conv(x))


def test_buffers_keep_their_shape_and_persistence_whatever_the_pass_did() -> None:
    model = _Reshuffle()
    keys, before = sorted(model.state_dict()), {n: b.clone() for n, b in model.named_buffers()}
    swap_score(model, torch.randn(8, 3, 6, 6), activations=(nn.ReLU,), functions=True)
    assert sorted(model.state_dict()) == keys == ["conv.bias", "conv.weight", "stat"]
    assert all(torch.equal(b, before[n]) for n, b in model.named_buffers())


class _Tiles(nn.Module):  # each image cut into 4 tiles that go through the trunk as samples (jigsaw-style)
    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tiles = x.unfold(2, 8, 8).unfold(3, 8, 8).permute(0, 2, 3, 1, 4, 5).reshape(x.shape[0] * 4, 3, 8, 8)
        return self.trunk(tiles)


def test_the_saturation_ceiling_counts_the_maps_samples_not_the_inputs() -> None:
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SaturationWarning)  # 16 tile samples: far below min(2**16, 8192)
        psi = swap_score(_Tiles(), torch.randn(4, 3, 16, 16))
    assert 16 < psi < 0.95 * 8192


class _KeywordAct(nn.Module):
    def __init__(self, keyword: bool) -> None:
        super().__init__()
        self.conv, self.act, self.keyword = nn.Conv2d(3, 6, 3), nn.ReLU(), keyword

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        return self.act(input=h) if self.keyword else self.act(h)


def test_an_activation_called_with_its_input_as_a_keyword_is_counted() -> None:
    x = torch.randn(9, 3, 6, 6, generator=torch.Generator().manual_seed(4))
    torch.manual_seed(1)
    positional = _KeywordAct(False)
    keyword = _KeywordAct(True)
    keyword.load_state_dict(positional.state_dict())
    assert swap_score(keyword, x) == swap_score(positional, x) > 0
