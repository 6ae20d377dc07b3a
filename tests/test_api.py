"""swapnas.score / swapnas.rank on torchvision-style models (built here, no weights): every proxy
either scores a model that has what it requires, or refuses it with the reason, without running."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

import swapnas
from swapnas.api import REQUIREMENTS, as_batch
from swapnas.requirements import applies
from swapnas.patterns import SaturationWarning
from swapnas.proxies import get_proxy, list_proxies
from swapnas.scoring import with_bases
from tests.tv_models import ViT, mobilenet, resnet

MODELS = {"resnet": resnet, "mobilenet_v2": mobilenet, "mobilenet_v3": lambda: mobilenet(act=nn.Hardswish),
          "vit": lambda: ViT(image=64, patch=16)}
PER_ARCH = [n for n in list_proxies() if not get_proxy(n).parts]
OPTIONS = {"swap_reg": {"mu": 100.0, "sigma": 1e4}}


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(8, 3, 64, 64, generator=g), torch.randint(0, 10, (8,), generator=g)


def _claims(name: str, model: nn.Module) -> bool:
    """The proxy's model requirements hold (its input requirements do on these float images)."""
    needs = [(q, applies(q, r)) for q in with_bases([get_proxy(name)]) for r in q.requires]
    return all(REQUIREMENTS[need][0](model) for q, need in needs if need in REQUIREMENTS)


#: a ViT's only conv map (its patch embedding) has fewer positions than channels: MeCo's λ_min is 0 up to rounding
SINGULAR = {("vit", "meco"): "every hooked map has no more observations than channels"}


@pytest.mark.parametrize("kind", list(MODELS))
def test_every_proxy_scores_what_it_claims_and_refuses_the_rest(kind, data, one_torch_thread) -> None:
    torch.manual_seed(0)
    model = MODELS[kind]()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    claimed = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaturationWarning)
        for name in PER_ARCH:
            if (kind, name) in SINGULAR:  # session 51: refused in its pass, not by a declared requirement
                with pytest.raises(swapnas.UnsupportedModel, match=SINGULAR[kind, name]):
                    swapnas.score(model, data, [name], options=OPTIONS)
            elif _claims(name, model):
                value = swapnas.score(model, data, [name], options=OPTIONS)[name]
                assert math.isfinite(value), (kind, name)
                claimed += 1
            else:
                with pytest.raises(swapnas.UnsupportedModel, match=f"{name} cannot score"):
                    swapnas.score(model, data, [name], options=OPTIONS)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the user's model is untouched
    assert claimed >= {"resnet": 25, "mobilenet_v2": 19, "mobilenet_v3": 19, "vit": 13}[kind]


def test_score_repeats_init_and_inputs(data) -> None:
    model = resnet()
    x, y = data
    a = swapnas.score(model, x, ["swap", "params"], repeats=2, seed=3)
    b = swapnas.score(model, torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8),
                      ["swap", "params"], repeats=2, seed=3)
    assert a == b and a["params"] == sum(p.numel() for p in model.parameters())
    as_is = swapnas.score(model, x, ["swap"], init="none")["swap"]
    assert as_is == swapnas.swap_score(model.train(), x)
    with pytest.raises(ValueError, match="needs? labels"):
        swapnas.score(model, x, ["snip"])
    with pytest.raises(ValueError, match="init must be one of"):
        swapnas.score(model, x, init="kaiming")
    with pytest.raises(ValueError, match="1 with init='none'"):
        swapnas.score(model, x, init="none", repeats=2)
    with pytest.raises(TypeError, match="inputs must be a tensor"):
        swapnas.score(model, "images")
    with pytest.raises(ValueError, match="disagree on the number of samples"):
        as_batch((x, y[:3]))


def test_rank_orders_models_and_keeps_the_ones_it_cannot_score(data) -> None:
    torch.manual_seed(0)
    models = {"wide": resnet(width=16), "narrow": resnet(width=4), "vit": ViT(image=64, patch=16)}
    rows = swapnas.rank(models, data, ["params", "nwot"])
    assert [r["model"] for r in rows] == ["wide", "narrow", "vit"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[-1]["nwot"] is None and "no nn.ReLU module" in rows[-1]["error"]
    assert rows[0]["params"] > rows[1]["params"]
    # the proxy that can score the ViT keeps its value (until session 49 one failing proxy voided the whole row)
    assert rows[-1]["params"] == swapnas.score(models["vit"], data, ["params"])["params"]


class _DictOut(nn.Module):
    """A CNN whose output is a dict: SWAP reads its activations, gradient proxies need a tensor output."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.body(x)}


def test_rank_keeps_what_a_model_can_be_scored_by_and_ranks_by_the_first_proxy() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 10, (16,))
    models = {"plain": nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10)),
              "dict": _DictOut()}
    own = {name: swapnas.score(m, (x, y), ["swap"])["swap"] for name, m in models.items()}
    assert own["dict"] > own["plain"]
    rows = swapnas.rank(models, (x, y), ["swap", "snip"])
    assert [(r["model"], r["rank"]) for r in rows] == [("dict", 1), ("plain", 2)]  # by swap, which both have
    assert rows[0]["swap"] == own["dict"] and rows[0]["snip"] is None and "error" not in rows[1]
    assert rows[0]["error"].startswith("snip could not score _DictOut: ") and ";" not in rows[0]["error"]
    rows = swapnas.rank(models, (x, y), ["snip", "swap"])  # by snip: the model without it is last, its swap kept
    assert [(r["model"], r["rank"], r["swap"]) for r in rows] == [("plain", 1, own["plain"]), ("dict", 2, own["dict"])]
    # a reason every proxy shares is given once
    scripted = torch.jit.script(models["plain"])
    (row,) = swapnas.rank({"s": scripted}, (x, y), ["swap", "params"])
    assert row["swap"] is None and row["params"] is None and row["error"].count("swapnas cannot score") == 1


def test_saturation_warns_and_names_the_ceiling() -> None:
    net = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU())
    with pytest.warns(SaturationWarning, match=r"of its ceiling min\(2\*\*S, neurons\) = 256 \(S = 8 samples.*more "
                                               r"samples \(S = 14, where 2\*\*S meets the 16384 hooked neurons\)"):
        swapnas.swap_score(net, torch.randn(8, 3, 16, 16))
    tiny = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU())  # 2 x 4 x 4 = 32 neurons, far below 2**16
    with pytest.warns(SaturationWarning, match=r"= 32 \(S = 16 samples, 32 hooked neurons\).*only counts neurons; "
                                               r"use fewer samples \(S = 5, where"):
        swapnas.swap_score(tiny, torch.randn(16, 3, 6, 6))
    pair = nn.Sequential(nn.Linear(1, 2, bias=False), nn.ReLU())  # two neurons of opposite sign on one sample
    with torch.no_grad():
        pair[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
    with pytest.warns(SaturationWarning, match=r"= 2 \(S = 1 samples, 2 hooked neurons\).*2\*\*S already meets"):
        assert swapnas.swap_score(pair, torch.ones(1, 1), input_dims=(2,)) == 2
    with torch.no_grad():  # 64 identical channels: 256 distinct patterns at most, far below 2**64 and 16,384 neurons
        net[0].weight.copy_(net[0].weight[:1].expand_as(net[0].weight))
        net[0].bias.fill_(0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SaturationWarning)
        assert swapnas.swap_score(net, torch.randn(64, 3, 16, 16)) <= 256


def test_extended_activations_and_functional_relu_message() -> None:
    x = torch.randn(16, 3, 8, 8)
    for act in (nn.Hardswish, nn.ELU, nn.SELU, nn.CELU, nn.Mish):
        net = nn.Sequential(nn.Conv2d(3, 4, 3), act())
        pre = (net[0](x) > 0).reshape(16, -1).T
        assert swapnas.swap_score(net, x, activations=swapnas.EXTENDED_ACTIVATIONS) == len(set(map(tuple, pre.tolist())))

    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.conv(x))

    with pytest.raises(swapnas.NoActivationError, match=r"called as functions \(F.relu, torch.relu, F.gelu, …\) are "
                       r"hooked with functions=True \(the proxy swap_fn\)"):
        swapnas.swap_score(Functional(), x)
    model = Functional()
    pre = (model.conv(x) > 0).reshape(16, -1).T
    assert swapnas.swap_score(model, x, functions=True) == len(set(map(tuple, pre.tolist())))
    with pytest.raises(swapnas.NoActivationError, match="it has GELU module"):
        swapnas.swap_score(nn.Sequential(nn.Conv2d(3, 4, 3), nn.GELU()), x)


class TwoInputs(nn.Module):
    """A model called as model(x, mask)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x) * mask)


def test_swap_score_takes_tuple_and_dict_model_inputs() -> None:
    net = TwoInputs()
    x, mask = torch.randn(16, 3, 8, 8), torch.ones(16, 1, 1, 1)
    want = swapnas.swap_score(nn.Sequential(net.conv, net.relu), x)
    assert swapnas.swap_score(net, (x, mask)) == swapnas.swap_score(net, {"x": x, "mask": mask}) == want
    with pytest.raises(ValueError, match="disagree on the number of samples"):
        swapnas.swap_score(net, (x, mask[:4]))
    with pytest.raises(TypeError, match="got tuple \\(of Tensor, float\\)"):
        swapnas.swap_score(net, (x, 1.0))


def test_score_takes_multi_input_models_and_refuses_single_input_proxies() -> None:
    net = TwoInputs()
    g = torch.Generator().manual_seed(0)
    x, mask, y = torch.randn(8, 3, 8, 8, generator=g), torch.ones(8, 1, 1, 1), torch.arange(8) % 4
    # independent count: the sign patterns of conv(x) (mask = 1) under the same init, as a set of tuples
    # (S = 8: at most 256 patterns over 144 neurons, and collisions happen: 109 distinct)
    twin = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    swapnas.gaussian_init(twin, torch.Generator().manual_seed(5))
    want = len(set(map(tuple, (twin[0](x) > 0).reshape(8, -1).T.tolist())))
    assert want < 144
    for inputs in (((x, mask), y), ((x, mask), None), {"x": x, "mask": mask}, ({"x": x, "mask": mask}, y)):
        got = swapnas.score(net, inputs, ["swap", "params"], seed=5)
        assert got == {"swap": want, "params": 4 * 3 * 9 + 4}
    with pytest.raises(swapnas.UnsupportedModel, match="nwot calls the model with one input tensor.*params, swap"):
        swapnas.score(net, ((x, mask), y), ["swap", "nwot"])
    with pytest.raises(TypeError, match=r"tuple of 3 tensors.*\(\(x1, x2, …\), y\)"):
        swapnas.score(net, (x, mask, x))
    with pytest.raises(ValueError, match="disagree on the number of samples S"):
        swapnas.score(net, ((x, mask[:4]), None))
    with pytest.raises(ValueError, match="non-finite"):
        swapnas.score(net, ((x, mask * float("nan")), None))


def test_rank_as_a_data_frame_or_a_clear_error(data, monkeypatch) -> None:
    models = {"wide": resnet(width=16), "narrow": resnet(width=4)}
    rows = swapnas.rank(models, data, ["params"])
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs pandas.*list of row dicts"):
            swapnas.rank(models, data, ["params"], frame=True)
        return
    df = swapnas.rank(models, data, ["params"], frame=True)
    assert list(df.index) == [1, 2] and df["model"].tolist() == [r["model"] for r in rows]
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)  # as if not installed
    with pytest.raises(ImportError, match="needs pandas"):
        swapnas.rank(models, data, ["params"], frame=True)


@pytest.mark.parametrize("name", ["jacob_cov", "epe_nas", "synflow", "vkdnw", "zen", "az_nas_trainability"])
def test_metrics_that_need_float_inputs_refuse_token_ids_with_the_reason(name) -> None:
    class Tokens(nn.Module):  # integer ids -> embedding -> a conv block and a global pool, so only the inputs are wrong
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(50, 3)
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.head = nn.Linear(4, 2)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            x = self.emb(ids).permute(0, 3, 1, 2)  # (S, 3, H, W)
            return self.head(self.pool(self.body(x)).flatten(1))

    ids = torch.randint(0, 50, (8, 6, 6), generator=torch.Generator().manual_seed(0))
    batch, _ = as_batch((ids, torch.arange(8) % 2))
    p = get_proxy(name)
    with pytest.raises(ValueError, match=f"{name} is not applicable to a model whose inputs are integer ids"):
        p.fn(Tokens(), batch, **p.options)


def test_auto_proxy_is_swap_on_relu_nets_and_swap_ext_otherwise(data) -> None:
    """The default proxies="auto": the paper's swap on an all-ReLU CNN, swap_ext on a model with
    other activations (a ViT, a token model), the same answer for every model of a ranking."""
    x = data[0][:, :, :16, :16]
    cnn = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
    assert nn.parameter.is_lazy(cnn[-1].weight)  # score materialises a copy's lazy modules; the model stays lazy
    tokens = nn.Sequential(nn.Embedding(50, 8), nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4))
    ids = torch.randint(0, 50, (8, 6), generator=torch.Generator().manual_seed(1))
    assert swapnas.api.auto_proxy([cnn]) == "swap" and swapnas.api.auto_proxy([cnn, ViT(image=64, patch=16)]) == "swap_ext"
    assert swapnas.score(cnn, x) == swapnas.score(cnn, x, ["swap"]) and set(swapnas.score(cnn, x)) == {"swap"}
    assert swapnas.score(tokens, ids) == swapnas.score(tokens, ids, "swap_ext")
    with pytest.raises(swapnas.UnsupportedModel, match="swap_ext takes GELU"):
        swapnas.score(tokens, ids, ["swap"])  # what the default was before "auto"
    assert nn.parameter.is_lazy(cnn[-1].weight)
    rows = swapnas.rank({"cnn": cnn, "vit": ViT(image=16, patch=8)}, x)
    assert all("swap_ext" in r and "swap" not in r and r["swap_ext"] > 0 for r in rows)


def test_rank_is_by_the_first_proxy_as_given_even_when_derived() -> None:
    """Regression (review, session 15): ``resolve`` puts derived proxies last, and ``rank`` used to rank
    by the first *resolved* name, so "swap_reg,params" ranked by params. Orders are checked by hand."""
    torch.manual_seed(0)

    def net(width: int, depth: int) -> nn.Module:
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))

    models = {"small_deep": net(4, 3), "big_shallow": net(64, 0), "mid": net(16, 1)}
    x = torch.randn(16, 3, 16, 16)
    options = {"swap_reg": {"mu": 5.0, "sigma": 100.0}}
    for order in (["swap_reg", "params"], ["params", "swap_reg"]):
        rows = swapnas.rank(models, x, order, options=options)
        by = order[0]
        values = [r[by] for r in rows]
        assert values == sorted(values, reverse=True) and [r["rank"] for r in rows] == [1, 2, 3]
    assert len({tuple(r["model"] for r in swapnas.rank(models, x, o, options=options))
                for o in (["swap_reg", "params"], ["params", "swap_reg"])}) == 2  # the two orders differ here


def test_a_proxy_that_finds_no_activation_names_proxies_first_and_swap_scores_settings_after() -> None:
    # session 49: a fresh user's MLP got "Pass input_dims=(2, 3, 4)" first, an argument score() does not take
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 32), nn.ReLU(), nn.Linear(32, 10))
    x = torch.randn(16, 3, 8, 8)
    with pytest.raises(swapnas.NoActivationError) as direct:
        swapnas.swap_score(mlp, x)
    finding = "no hooked activation fired: the model called no ReLU module with a 4-D input; it has ReLU module(s)"
    assert direct.value.finding == finding and str(direct.value) == f"{finding}. {direct.value.advice}"
    assert direct.value.advice.startswith("Pass input_dims=(2, 3, 4) to hook others.")
    with pytest.raises(swapnas.UnsupportedModel) as exc:
        swapnas.score(mlp, x, ["swap"])
    assert str(exc.value) == (
        f"swap could not score Sequential: NoActivationError: {finding}. As a proxy: swap (and what is derived from "
        "it: swap_reg, lswag, …) counts nn.ReLU modules on 4-D maps; use swap_ext (and lswag_ext, swap_ext_layers) for "
        "other activations and token maps, swap_fn for activations called as functions. (Calling swapnas.swap_score "
        f"itself: {direct.value.advice})")
    assert swapnas.score(mlp, x, ["swap_ext"])["swap_ext"] > 0  # the advice works
