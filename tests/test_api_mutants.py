"""``swapnas.score`` and ``swapnas.rank``'s inner parts (``swapnas.api``), from their mutation run (session 48): every
refusal and hint whole, the seeds each pass and read is drawn with (a shuffled loader's first batch, a lazy layer's
first weights, each repeat's dropout), a proxy's options reaching it, lazy buffers copied where they live, and one
saturation warning per call."""

from __future__ import annotations

import copy
import dataclasses
import sys
import types
import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from swapnas import api, api_failures
from swapnas.api_inputs import as_batch
from swapnas.patterns import SaturationWarning
from swapnas.proxies import get_proxy
from swapnas.proxies import registry

from .message_tools import refusal
from .test_api import TwoInputs


class Tiny(nn.Module):
    """A small CNN with a ReLU, a global pool and dropout (off unless asked)."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.relu = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.drop(self.relu(self.conv(x)))).flatten(1))


def _data(s: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(s, 3, 8, 8, generator=g), torch.randint(0, 3, (s,), generator=g)


def _net(seed: int = 0, dropout: float = 0.0) -> Tiny:
    torch.manual_seed(seed)
    return Tiny(dropout)


RELU_WHY = ("it counts nn.ReLU activation patterns and the model has no nn.ReLU module (swap_ext takes GELU, SiLU, "
            "ReLU6, Hardswish, … and token activations; swap_fn also activation functions such as F.relu and F.gelu)")


class Gelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin, self.act = nn.Linear(4, 4), nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.lin(x))


def test_a_model_a_proxy_cannot_score_is_named_with_the_reason() -> None:
    x = torch.randn(4, 4)
    assert refusal(api.UnsupportedModel, lambda: api.score(Gelu(), x, "swap")) == \
        f"swap cannot score Gelu: {RELU_WHY}"
    both = {"swap_reg": {"mu": 1.0, "sigma": 9.0}}
    assert refusal(api.UnsupportedModel, lambda: api.score(Gelu(), x, "swap_reg", options=both)) == \
        f"swap_reg cannot score Gelu: {RELU_WHY}"  # a derived proxy, refused for what its base needs
    assert refusal(api.UnsupportedModel, lambda: api.score(Gelu(), x, "zen")) == (
        "zen cannot score Gelu: it reads the features before a global average pool (nn.AdaptiveAvgPool2d), which the "
        "model lacks")


def test_the_calls_arguments_are_refused_whole() -> None:
    x, _ = _data()
    assert refusal(TypeError, lambda: api.score(3, x)) == "score takes a torch.nn.Module, got int"  # type: ignore[arg-type]
    assert refusal(ValueError, lambda: api.score(_net(), x, device="tpu")).startswith(
        "device='tpu' is not a device torch can use here (an unknown device type)")


def test_options_and_set_level_proxies_are_refused_whole() -> None:
    x, _ = _data()
    assert refusal(ValueError, lambda: api.score(_net(), x, "swap", options={"zzz": {}, "aaa": {}, "swap": {}})) == (
        "options for aaa, zzz: no proxy of that name (swapnas.list_proxies() lists them); options are keyed by proxy "
        "name, e.g. {'swap_reg': {'mu': 300.0, 'sigma': 9e4}}")
    assert refusal(ValueError, lambda: api.score(_net(), x, "swap,az_nas,te_nas")) == \
        "az_nas, te_nas rank a whole set of archs (no per-model value): use `swapnas correlate` or score their parts"



def test_an_option_without_a_default_is_refused_before_any_pass(monkeypatch) -> None:
    # session 51: swap_reg without mu or sigma was refused by its own function, after swap's pass
    x, _ = _data()
    calls: list[int] = []
    monkeypatch.setattr(api, "_values", lambda *a, **k: calls.append(1) or {})
    why = "Regularised SWAP Ψ·exp(−(Θ−μ)²/σ), Θ = params of the scored net in thousands"
    assert refusal(ValueError, lambda: api.score(_net(), x, "swap,swap_reg")) == (
        f"swap_reg needs mu and sigma, which have no default ({why}): give options={{'swap_reg': {{'mu': …, "
        "'sigma': …}}")
    assert refusal(ValueError, lambda: api.rank([_net()], x, "swap_reg", options={"swap_reg": {"mu": 3.0}})) == (
        f"swap_reg needs sigma, which has no default ({why}): give options={{'swap_reg': {{'sigma': …}}}}")
    assert calls == []
    assert api.score(_net(), x, "best,swap_reg", options={"swap_reg": {"mu": 3.0, "sigma": 9.0}}) == {}
    assert calls == [1]


def test_auto_is_read_beside_other_names() -> None:
    # session 51: "auto,params" and ["params", "auto"] raised KeyError "unknown proxy 'auto'"
    x, _ = _data()
    net = _net()
    alone = api.score(net, x)
    both = api.score(net, x, "auto,params")
    assert list(alone) == ["swap"] and list(both) == ["swap", "params"] and both["swap"] == alone["swap"]
    assert list(api.score(net, x, ["params", " auto "])) == ["params", "swap"]
    wide = nn.Sequential(nn.Conv2d(3, 12, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(12, 3))
    rows = api.rank({"a": net, "b": wide}, x, ["params", "auto"])
    sizes = [r["params"] for r in rows]  # ranked by the first name given: params, higher first
    assert sizes[0] > sizes[1] and set(rows[0]) == {"model", "params", "swap", "rank"}

def test_inputs_a_proxy_cannot_take_are_refused_whole() -> None:
    x, _ = _data()
    kw = {"x": x, "mask": torch.ones(8, 4, 6, 6)}
    takes = ", ".join(n for n in api.list_proxies() if get_proxy(n).multi_input)  # a newcomer's may join them
    assert {"l2_norm", "params", "swap", "swap_ext", "swap_fn", "vkdnw_layers"} <= set(takes.split(", "))
    assert refusal(api.UnsupportedModel, lambda: api.score(TwoInputs(), kw, "swap,snip,l2_norm,jacob_cov")) == (
        f"snip, jacob_cov call the model with one input tensor, and these inputs are a dict of tensors; proxies that "
        f"take several: {takes}")
    assert refusal(api.UnsupportedModel, lambda: api.score(TwoInputs(), kw, "swap_darts")) == (  # a derived one
        "swap_darts (through az_nas_expressivity, az_nas_progressivity) calls the model with one input tensor, and "
        f"these inputs are a dict of tensors; proxies that take several: {takes}")
    assert api.score(TwoInputs(), kw, "swap_ext_layers,l2_norm")["l2_norm"] > 0  # they read weights, not inputs
    assert refusal(ValueError, lambda: api.score(_net(), x, "grad_norm")) == \
        "grad_norm needs labels: pass inputs as an (x, y) pair or a DataLoader"
    assert refusal(ValueError, lambda: api.score(_net(), x, "swap,grad_norm,snip")) == \
        "grad_norm, snip need labels: pass inputs as an (x, y) pair or a DataLoader"


def test_labels_beyond_the_class_count_given_are_refused() -> None:
    x, y = _data()
    y[3] = 5
    assert refusal(ValueError, lambda: api.score(_net(), (x, y), "params", num_classes=3)) == (
        "class labels must run from 0 to num_classes - 1 = 2 (-100: ignored); these run from 0 to 5: remap them, e.g. "
        "y = torch.unique(y, return_inverse=True)[1], or give num_classes the model's output size")
    assert refusal(ValueError, lambda: api.rank({}, x, num_classes=0)).startswith("num_classes must be >= 1")
    assert api.rank({}, x) == []


def test_a_shuffled_loaders_first_batch_is_drawn_with_the_seed_and_the_callers_rng_kept() -> None:
    x, y = _data(40)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
    torch.manual_seed(7)
    xb, yb = next(iter(loader))
    net = _net()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    got = api.score(net, loader, "grad_norm", seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    assert got == api.score(net, (xb, yb), "grad_norm", seed=7)


def test_a_lazy_layers_first_weights_are_drawn_with_the_seed() -> None:
    x, _ = _data()
    torch.manual_seed(0)
    lazy = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(3))
    twin = copy.deepcopy(lazy)
    torch.manual_seed(11)
    with torch.no_grad():
        twin.eval()(x)
    twin.train()
    assert api.score(lazy, x, "l2_norm", init="none", seed=11) == api.score(twin, x, "l2_norm", init="none", seed=11)
    assert nn.parameter.is_lazy(lazy[3].weight)  # the caller's model stays as it was


def test_lazy_buffers_are_copied_where_they_live() -> None:
    lazy = nn.Sequential(nn.LazyBatchNorm2d(device="meta", dtype=torch.float64))
    copied = api._copy(lazy)
    buf = copied[0].running_mean
    assert nn.parameter.is_lazy(buf) and buf.device.type == "meta" and buf.dtype == torch.float64
    assert buf is not lazy[0].running_mean


def test_each_repeat_passes_with_its_own_seed() -> None:
    x, y = _data()
    net = _net(dropout=0.5)
    one = [api.score(net, (x, y), "grad_norm", seed=s)["grad_norm"] for s in (5, 6)]
    assert one[0] != one[1]
    both = api.score(net, (x, y), "grad_norm", repeats=2, seed=5)["grad_norm"]
    assert both == pytest.approx((one[0] + one[1]) / 2, rel=1e-12)


def test_a_proxys_options_reach_it() -> None:
    x, _ = _data()
    net = _net()
    default = api.score(net, x, "jacob_cov")["jacob_cov"]
    assert api.score(net, x, "jacob_cov", options={"jacob_cov": {"k": 1e-5}})["jacob_cov"] == default
    assert api.score(net, x, "jacob_cov", options={"jacob_cov": {"k": 10.0}})["jacob_cov"] != default


class Broken(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.relu = nn.Conv2d(3, 4, 3), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom")


def test_a_failing_or_non_finite_proxy_is_named_with_the_model() -> None:
    x, _ = _data()
    assert refusal(api.UnsupportedModel, lambda: api.score(Broken(), x, "swap_ext")) == \
        "swap_ext could not score Broken: its forward fails on these inputs (shape (8, 3, 8, 8)): RuntimeError: boom"
    batch, _ = as_batch(x)
    nan = dataclasses.replace(get_proxy("params"), fn=lambda model, batch: float("nan"))
    assert refusal(api.UnsupportedModel, lambda: api_failures.run_proxy(nan, Tiny(), batch)) == (
        "params gave nan on Tiny: its activations or gradients overflow or vanish at this init (a very deep network "
        "without normalisation?)")
    wrong = dataclasses.replace(get_proxy("params"), fn=lambda model, batch: float("inf"), options={})
    assert refusal(api.UnsupportedModel, lambda: api_failures.run_proxy(wrong, Tiny(), batch)).startswith(
        "params gave inf on Tiny")
    # a bad option value is refused before any pass since session 65; a proxy holding one (no configure) still fails
    assert refusal(ValueError, lambda: api.score(_net(), x, "swap_reg", options={
        "swap_reg": {"mu": 1.0, "sigma": -1.0}})) == "swap_reg option sigma=-1.0: must be in (0, ∞)"
    with pytest.MonkeyPatch.context() as mp:  # the derivation's own failure, with the option check out of the way
        mp.setattr(registry, "check_options", lambda name, options, defaults: options)
        assert refusal(api.UnsupportedModel, lambda: api.score(_net(), x, "swap_reg", options={
            "swap_reg": {"mu": 1.0, "sigma": -1.0}})).startswith("swap_reg could not score Tiny from its bases swap: ")


def _hint(exc: Exception, model: nn.Module, inputs: object, proxy: str = "swap_ext") -> str:
    batch, _ = as_batch(inputs)
    return api_failures.hint(get_proxy(proxy), model, batch, exc)


class Embedded(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb, self.bag = nn.Embedding(50, 4), nn.EmbeddingBag(7, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.emb(ids).mean(1)


def test_each_hint_whole() -> None:
    x, y = _data()
    y[0] = 12
    bounds = IndexError("index 12 is out of bounds for dimension 1 with size 3")
    assert _hint(bounds, _net(), (x, y)) == (
        " (the labels run from 0 to 12, and a model with C outputs takes class labels 0 … C-1: remap them, e.g. "
        "y = torch.unique(y, return_inverse=True)[1], or give the model more outputs)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "float labels are read as regression targets"
        assert _hint(bounds, _net(), (x, y.float())) == ""  # regression targets: no class labels to remap
    assert _hint(RuntimeError("index 12 is out of bounds"), _net(), (x, y)) == ""
    assert _hint(IndexError("list index"), _net(), (x, y)) == ""
    ids = torch.tensor([[0, 3, 60], [1, 2, 4]])
    out_of_range = IndexError("index out of range in self")
    assert _hint(out_of_range, Embedded(), ids) == (
        " (the ids run from 0 to 60, and the model's embeddings have 50, 7 rows: ids must be 0 … rows - 1; tokenize "
        "with the model's own vocabulary)")
    assert _hint(out_of_range, Embedded(), ids.float()) == ""  # float inputs are no ids
    assert _hint(RuntimeError("index out of range in self"), Embedded(), ids) == ""
    assert _hint(out_of_range, nn.Sequential(nn.Linear(3, 3)), ids) == (
        " (the inputs are torch.int64 and the model has no embedding to take integer ids: images need float inputs, "
        "e.g. x.float() / 255, then normalised)")
    assert _hint(ValueError("Expected more than 1 value per channel when training"), _net(), x) == \
        " (BatchNorm normalises by the batch in train mode, as every proxy runs it: pass S >= 2 samples)"
    assert _hint(TypeError("forward() missing 1 required positional argument: 'mask'"), TwoInputs(), x) == (
        " (the model takes more inputs than it was given: pass ((x1, x2, …), y) or ((x1, x2, …), None) for "
        "model(x1, x2, …), or a dict of tensors for model(**kw))")
    assert _hint(RuntimeError("x"), _net(), x.double()) == \
        " (the inputs are torch.float64 and the weights torch.float32: pass x.to(torch.float32))"
    assert _hint(RuntimeError("x"), _net(), torch.randn(2, 8, 8)) == \
        (" (a CNN takes (S, C, H, W) inputs and these are 3-D, (2, 8, 8): S one-channel images need x.unsqueeze(1), "
         "one sample of C channels x.unsqueeze(0))")  # session 50: the first reading alone was offered before
    assert _hint(RuntimeError("x"), _net(), x) == ""
    # session 49: channels-last images got the raw torch error alone
    assert _hint(RuntimeError("x"), _net(), torch.randn(2, 8, 8, 3)) == (
        " (the inputs (2, 8, 8, 3) look channels-last (S, H, W, C); a CNN takes (S, C, H, W): pass "
        "x.permute(0, 3, 1, 2))")
    for shape in ((2, 3, 8, 3), (2, 8, 8, 5), (2, 1, 8, 1), (2, 4, 8, 4)):  # channels first already, or no C last
        assert _hint(RuntimeError("x"), _net(), torch.randn(*shape)) == ""
    assert _hint(RuntimeError("x"), nn.Sequential(nn.Linear(3, 3)), torch.randn(2, 8, 8, 3)) == ""  # no CNN


class TupleOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.lin(x), x


def test_the_hint_for_a_model_that_returns_no_tensor() -> None:
    x, y = torch.randn(4, 4), torch.tensor([0, 1, 2, 0])
    want = (" (grad_norm needs the model to return its output tensor (logits), and it returns a tuple: wrap it to "
            "return e.g. out[0] or out['logits'])")
    bad = AttributeError("'tuple' object has no attribute 'dim'")  # (session 60: said only of an error naming it)
    assert _hint(bad, TupleOut(), (x, y), "grad_norm") == want
    assert _hint(bad, TupleOut(), x, "jacob_cov").startswith(" (jacob_cov needs the model to return")
    assert _hint(RuntimeError("produced no 4-D feature map"), TupleOut(), (x, y), "grad_norm") == ""
    assert _hint(RuntimeError("x"), TupleOut(), x, "swap_ext") == ""  # neither labels nor gradients: not asked
    assert _hint(RuntimeError("x"), Broken(), torch.randn(2, 3, 8, 8), "grad_norm") == ""  # the model fails itself
    assert "needs the model" not in refusal(api.UnsupportedModel, lambda: api.score(Broken(), (torch.randn(
        2, 3, 8, 8), torch.tensor([0, 1])), "grad_norm"))


def _saturation_warnings(repeats: int) -> list[str]:
    x = torch.randn(2, 3, 8, 8)  # S = 2: Ψ reaches its ceiling of 2**2 patterns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.score(_net(), x, "swap", repeats=repeats)
    return [str(w.message) for w in caught if issubclass(w.category, SaturationWarning)]


def test_one_saturation_warning_per_call() -> None:
    two = _saturation_warnings(2)
    assert len(two) == 1 and two[0].endswith(" [later repeats of this call (of 2) are not warned about]")
    one = _saturation_warnings(1)
    assert len(one) == 1 and "later repeats" not in one[0] and not one[0].endswith("]")


def test_more_hints_only_where_they_apply() -> None:
    x, _ = _data()
    assert _hint(TypeError("unsupported operand type(s)"), _net(), x) == ""  # a TypeError, but not a missing input
    assert _hint(RuntimeError("missing 1 required positional argument"), _net(), x) == ""
    assert _hint(RuntimeError("x"), nn.Sequential(nn.ReLU()), x) == ""  # no weights to compare the inputs' dtype with


def test_proxy_names_are_read_from_a_string_or_a_list() -> None:
    assert api._names(" swap , ,params ", []) == "swap,params"
    assert api._names(["swap", " params "], []) == "swap,params"
    for bad in ([1], 3, None):
        assert refusal(TypeError, lambda: api._names(bad, [])) == (  # type: ignore[arg-type]
            "proxies must be 'auto', a proxy name, a comma-separated string of names or a list of names "
            f"(swapnas.list_proxies() lists them), not {bad!r}")
    assert refusal(ValueError, lambda: api._names(" , ", [])) == \
        "no proxy named in ' , ': name one or more (swapnas.list_proxies() lists them), or 'auto'"


def test_a_model_without_parameters_is_scored_on_the_cpu() -> None:
    x, _ = _data()
    assert api.score(nn.Sequential(nn.ReLU()), x, "params") == {"params": 0.0}


def test_each_saturated_proxy_warns_once_per_call() -> None:
    x = torch.randn(2, 3, 8, 8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.score(_net(), x, "swap,swap_ext", repeats=2)
    texts = [str(w.message) for w in caught if issubclass(w.category, SaturationWarning)]
    assert len(texts) == 2 and all(t.endswith("(of 2) are not warned about]") for t in texts)


class Blocky(nn.Module):
    """Two conv blocks in ``features`` (the AZ-NAS parts' hookable blocks), a pool and a head."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()),
                                      nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()))
        self.pool, self.head = nn.AdaptiveAvgPool2d(1), nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)).flatten(1))


def test_a_derived_proxy_that_fails_or_is_not_finite_names_its_bases(monkeypatch) -> None:
    x, _ = _data()
    monkeypatch.setattr(registry, "check_options", lambda name, options, defaults: options)  # (refused up front: s. 65)
    assert refusal(api.UnsupportedModel, lambda: api.score(Blocky(), x, "swap_prog", options={
        "swap_prog": {"w_swap": "heavy"}})).startswith(
        "swap_prog could not score Blocky from its bases swap, az_nas_progressivity: TypeError: ")
    assert refusal(api.UnsupportedModel, lambda: api.score(Blocky(), x, "swap_prog", options={
        "swap_prog": {"w_swap": float("nan")}})) == \
        "swap_prog gave [nan] on Blocky from its bases swap, az_nas_progressivity"


def test_rank_reads_the_loader_with_the_seed() -> None:
    x, y = _data(40)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
    net = _net()
    for seed in (7, None):
        torch.manual_seed(seed or 0)
        xb, yb = next(iter(loader))
        kwargs = {} if seed is None else {"seed": seed}
        row, = api.rank([net], loader, "grad_norm", **kwargs)
        assert row["grad_norm"] == api.score(net, (xb, yb), "grad_norm", seed=seed or 0)["grad_norm"]


def test_rank_orders_by_the_first_proxys_direction_and_puts_the_unscored_last() -> None:
    x, _ = _data()
    nets = {f"net{i}": _net(i) for i in range(3)}
    rows = api.rank(nets, x, "te_nas_ntk", init="none")  # lower is better; each net's own weights
    values = [r["te_nas_ntk"] for r in rows]
    assert values == sorted(values) and [r["rank"] for r in rows] == [1, 2, 3]
    rows = api.rank({"broken": Broken(), **nets}, x, "jacob_cov", init="none")
    scored = [r["jacob_cov"] for r in rows[:3]]
    assert scored == sorted(scored, reverse=True) and min(scored) < 0  # negative values: the unscored still last
    assert rows[3]["model"] == "broken" and rows[3]["rank"] == 4 and rows[3]["jacob_cov"] is None


class _FakeFrame:
    """What ``rank(..., frame=True)`` hands pandas, recorded."""

    def __init__(self, rows: list) -> None:
        self.rows, self.index = rows, None

    def set_index(self, column: str) -> _FakeFrame:
        self.index = column
        return self


def test_a_frame_is_the_rows_indexed_by_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = _data()
    net = _net()
    fake = types.ModuleType("pandas")
    fake.DataFrame = _FakeFrame  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pandas", fake)
    frame = api.rank({"a": net}, (x, y), "grad_norm", frame=True, seed=3)
    assert frame.index == "rank" and frame.rows == api.rank({"a": net}, (x, y), "grad_norm", seed=3)
    monkeypatch.setitem(sys.modules, "pandas", None)  # not installed
    assert refusal(ImportError, lambda: api.rank({"a": net}, x, frame=True)) == (
        "rank(..., frame=True) needs pandas (pip install pandas); without it, rank returns a list of row dicts")
