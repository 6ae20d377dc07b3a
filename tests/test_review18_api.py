"""Session 18 review: any model through ``score`` and ``rank``. Each test failed on the code before its fix."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import swapnas
from swapnas.scoring import gaussian_init


def _cnn(c: int = 8) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))


@pytest.mark.filterwarnings("ignore::swapnas.SaturationWarning")
def test_gaussian_init_keeps_contiguous_float32_draws_and_ignores_layout_and_dtype() -> None:
    torch.manual_seed(0)
    ref = _cnn()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():  # the formula before the fix, which every stored score was drawn with
        expected = [m.weight.clone().normal_(0.0, 1.0, generator=g) for m in ref.modules()
                    if isinstance(m, (nn.Conv2d, nn.Linear))]
    gaussian_init(ref, torch.Generator().manual_seed(3))
    drawn = [m.weight for m in ref.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert all(torch.equal(a, b) for a, b in zip(drawn, expected))  # bit-identical: stored scores keep
    last, wide = _cnn().to(memory_format=torch.channels_last), _cnn().double()
    for m in (last, wide):
        gaussian_init(m, torch.Generator().manual_seed(3))
    assert last[0].weight.is_contiguous(memory_format=torch.channels_last)
    for a, b, c in zip(ref.parameters(), last.parameters(), wide.parameters()):
        assert torch.equal(a, b) and torch.equal(a.double(), c)
    x, y = torch.randn(16, 3, 6, 6), torch.randint(0, 10, (16,))
    want = swapnas.score(_cnn(), (x, y), ["swap", "grad_norm"])
    got = swapnas.score(_cnn().to(memory_format=torch.channels_last), (x, y), ["swap", "grad_norm"])
    assert got == pytest.approx(want, rel=1e-5)  # the same weights; the kernels' sums differ in the last bits
    assert swapnas.score(_cnn().double(), x.double(), "swap") == {"swap": want["swap"]}


def test_rank_scores_every_model_on_the_one_batch_it_reads_from_a_loader_or_an_iterator() -> None:
    torch.manual_seed(0)
    net = _cnn()
    x, y = torch.randn(64, 3, 5, 5), torch.randint(0, 10, (64,))
    same = {f"copy_{i}": net for i in range(3)}  # one model three times: it must tie with itself
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    rows = swapnas.rank(same, loader, ["swap", "grad_norm"])
    assert len({(r["swap"], r["grad_norm"]) for r in rows}) == 1 and [r["rank"] for r in rows] == [1, 1, 1]
    one = iter([(x[:16], y[:16])])  # an iterator of one batch: the second model got "empty iterable"
    assert [r["rank"] for r in swapnas.rank(same, one, "swap")] == [1, 1, 1]
    batches = ((x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16))
    assert len({r["swap"] for r in swapnas.rank(same, batches, "swap")}) == 1
    state = torch.get_rng_state()  # a shuffled loader's first batch: the same on every call, the caller's RNG kept
    assert swapnas.score(net, loader, "grad_norm") == swapnas.score(net, loader, "grad_norm")
    assert torch.equal(state, torch.get_rng_state())


class _InPlaceInput(nn.Module):  # normalises its input in place, as deployment code often does
    def __init__(self) -> None:
        super().__init__()
        self.body = _cnn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.sub_(0.5)
        return self.body(x)


def test_a_model_that_changes_its_input_in_place_changes_neither_the_callers_tensor_nor_the_next_pass() -> None:
    torch.manual_seed(0)
    net, x = _InPlaceInput(), torch.randn(16, 3, 4, 4)
    x0 = x.clone()
    got = swapnas.score(net, x, ["swap", "swap_ext", "swap_fn"])
    assert torch.equal(x, x0)
    assert got["swap"] == got["swap_ext"] == got["swap_fn"]  # all three count the same ReLU modules
    assert swapnas.score(net, x, "swap") == {"swap": got["swap"]}
    each = [swapnas.score(net, x, "swap", seed=s)["swap"] for s in range(3)]
    assert swapnas.score(net, x, "swap", repeats=3)["swap"] == pytest.approx(sum(each) / 3)
    assert torch.equal(x, x0)


def test_a_torchscript_model_is_refused_before_any_pass_and_rank_goes_on() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(8, 10))
    x = torch.randn(16, 3, 6, 6)
    scripted = torch.jit.script(net).train()
    stats = {k: v.clone() for k, v in scripted.state_dict().items()}
    with pytest.raises(TypeError, match="score the eager module before scripting it"):
        swapnas.swap_score(scripted, x)  # crashed in buffers.py after the pass, BatchNorm's stats changed
    assert all(torch.equal(v, scripted.state_dict()[k]) for k, v in stats.items())
    traced = torch.jit.trace(_cnn().eval(), x, check_trace=False)
    holder = nn.Sequential(torch.jit.script(nn.Sequential(nn.Linear(4, 8), nn.ReLU())), nn.Linear(8, 2))
    for model in (scripted, traced):
        with pytest.raises(swapnas.UnsupportedModel, match="score the eager module before scripting it"):
            swapnas.score(model, x, ["params"])  # was a bare RuntimeError (requires_grad_)
    with pytest.raises(swapnas.UnsupportedModel, match="its submodule '0'"):
        swapnas.score(holder, torch.randn(16, 4), "swap_ext")
    rows = swapnas.rank({"scripted": scripted, "eager": net}, x, ["params", "swap"])
    assert [(r["model"], r["params"], r["rank"]) for r in rows] == [("eager", 330.0, 1), ("scripted", None, 2)]
    assert "TorchScript" in rows[1]["error"]


def _encoder(batch_first: bool) -> nn.Module:
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=batch_first)
    return nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)


class _Transposing(nn.Module):  # takes (S, L, E) and runs a seq-first encoder inside, then a ReLU head
    def __init__(self, batch_first: bool) -> None:
        super().__init__()
        self.batch_first, self.enc, self.head = batch_first, _encoder(batch_first), nn.Sequential(nn.Linear(16, 8),
                                                                                                    nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(x) if self.batch_first else self.enc(x.transpose(0, 1)).transpose(0, 1))


class _SeqFirstLSTM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn, self.head = nn.LSTM(16, 8), nn.Sequential(nn.Linear(8, 8), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0][-1])


def test_a_batch_first_false_module_is_refused_not_read_with_tokens_as_samples() -> None:
    torch.manual_seed(0)
    seq, x = _encoder(False), torch.randn(16, 8, 16)  # S = 16 samples of L = 8 tokens
    kw = {"activations": swapnas.EXTENDED_ACTIVATIONS, "input_dims": (2, 3, 4), "functions": True}
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer 'layers.0' has batch_first=False: its input "
                                         r"\(8, 16, 16\), the model's own, holds 16 samples on dim 1.*batch_first=True"):
        swapnas.swap_score(seq, x.transpose(0, 1), **kw)  # fed as it expects, (L, S, E): Ψ read 8 "samples"
    with pytest.raises(swapnas.UnsupportedModel, match="batch_first=False"):
        swapnas.score(_SeqFirstLSTM(), x.transpose(0, 1))
    inner, twin = _Transposing(False), _Transposing(True)
    twin.load_state_dict(inner.state_dict())
    # a model that feeds its seq-first encoder (L, S, E) correctly: the encoder's F.relu maps (L, S, F) are read
    # samples first, so it scores as its batch_first=True twin (they were refused, and before that read L as S)
    assert swapnas.swap_score(inner, x, **kw) == swapnas.swap_score(twin, x, **kw) > swapnas.swap_score(
        twin, x, activations=swapnas.EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4)) > 1  # more than the head alone


def test_a_map_whose_dim_0_is_not_the_samples_is_refused() -> None:
    class Transposed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin, self.relu = nn.Linear(8, 10), nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.relu(self.lin(x).t())  # (10, S): features on dim 0

    with pytest.raises(ValueError, match=r"a hooked map holds 10 rows on dim 0 and the inputs S = 6 samples"):
        swapnas.swap_score(Transposed(), torch.randn(6, 8), input_dims=(2,))


def test_no_activation_advice_names_what_was_found_and_the_route_that_works() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 3, 6, 6)
    prelu = nn.Sequential(nn.Conv2d(3, 4, 3), nn.PReLU(), nn.Sigmoid())
    with pytest.raises(swapnas.UnsupportedModel) as info:
        swapnas.score(prelu, x)
    text = str(info.value)
    assert "Conv3d" not in text and "input_dims=(5,)" not in text  # it told every such model to hook 5-D maps
    assert "PReLU is not hooked by default" in text and "activations=(nn.PReLU,)" in text
    assert "Sigmoid gives a positive output for every input" in text
    assert swapnas.swap_score(prelu, x, activations=(nn.PReLU,), input_dims=(2, 3, 4)) > 1  # the route named works
    for model, inputs in ((nn.Sequential(nn.Flatten(), nn.Linear(108, 3)), x),
                          (nn.LSTM(4, 8, batch_first=True), torch.randn(8, 5, 4))):
        with pytest.raises(swapnas.UnsupportedModel) as info:
            swapnas.score(model, inputs)
        text = str(info.value)
        assert "no activation module at all" in text and "SWAP has no activation to count" in text
        assert "Conv3d" not in text and ("computes its gates inside its kernel" in text) == isinstance(model, nn.LSTM)


def test_swap_reg_without_mu_sigma_tells_a_python_user_the_options_and_the_cli_its_flags() -> None:
    net, x = _cnn(), torch.randn(16, 3, 4, 4)
    with pytest.raises(ValueError) as info:  # session 51: a call's error, before any pass (was UnsupportedModel after)
        swapnas.score(net, x, "swap_reg")
    assert "options={'swap_reg': {'mu': …, 'sigma': …}}" in str(info.value)
    assert not isinstance(info.value, swapnas.UnsupportedModel)  # rank raises it: it holds for every model
    # the named route works: Ψ times the size prior exp(-(θ - μ)² / σ), θ in thousands of parameters
    psi, theta = swapnas.score(net, x, "swap")["swap"], sum(p.numel() for p in net.parameters()) / 1e3
    for mu, sigma in ((1.0, 1e3), (0.5, 0.1)):  # a factor of ~1, and one of ~0.2
        got = swapnas.score(net, x, "swap_reg", options={"swap_reg": {"mu": mu, "sigma": sigma}})["swap_reg"]
        assert got == pytest.approx(psi * math.exp(-((theta - mu) ** 2) / sigma), rel=1e-12)


class _Tokens(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb, self.ff, self.head = nn.Embedding(50, 16), nn.Sequential(nn.Linear(16, 64), nn.ReLU()), nn.Linear(64, 3)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.emb(input_ids)
        return self.head(self.ff(h * attention_mask.unsqueeze(-1) if attention_mask is not None else h).mean(1))


def test_an_attention_mask_in_the_labels_place_is_refused_and_mlm_labels_are_not() -> None:
    torch.manual_seed(0)
    net, ids = _Tokens(), torch.randint(0, 50, (16, 8))
    mask = torch.ones(16, 8, dtype=torch.long)
    mask[:, 3:] = 0
    # was read as labels y, and model(ids) ran without its mask: a bool mask is refused (no labels are bool),
    # 0/1 integers with padding-like rows are read as labels with a warning (per-token labels can look alike)
    with pytest.raises(ValueError, match=r"looks like an attention mask, not labels: pass "
                                         r"\({'input_ids': x, 'attention_mask'"):
        swapnas.score(net, (ids, mask.bool()), init="none")
    with pytest.raises(ValueError, match="attention mask"):
        swapnas.rank([net], (ids, mask.bool()), init="none")
    with pytest.warns(UserWarning, match=r"looks like an attention mask.*read as labels y here"):
        swapnas.score(net, (ids, mask), "swap_ext", init="none")
    labels = torch.zeros(16, 8, dtype=torch.long)  # per-token 0/1 labels, a batch without positives: no warning
    labels[0, 5] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", swapnas.SaturationWarning)  # this small net saturates: not the point here
        swapnas.score(net, (ids, labels), "swap_ext", init="none")
        swapnas.score(net, (torch.randint(0, 5, (16, 2)), torch.randint(0, 2, (16, 2))), "params", init="none")
    want = swapnas.swap_score(net, (ids, mask), activations=swapnas.EXTENDED_ACTIVATIONS, input_dims=(2, 3))
    assert swapnas.score(net, ((ids, mask), None), "swap_ext", init="none") == {"swap_ext": want}
    mlm = torch.full((16, 8), -100)  # MLM labels: token ids at a few places, -100 elsewhere
    mlm[:, 2] = ids[:, 2]
    # read as labels, not as a second input: the model runs on the ids alone (its mask changes the count)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", swapnas.SaturationWarning)  # 507 of 512: near the ceiling, not the point
        alone = swapnas.swap_score(net, ids, activations=swapnas.EXTENDED_ACTIVATIONS, input_dims=(2, 3))
    assert alone != want
    assert swapnas.score(net, (ids, mlm), "swap_ext", init="none") == {"swap_ext": alone}
    assert swapnas.score(net, (ids, torch.randint(0, 3, (16,))), "swap_ext", init="none") == {"swap_ext": alone}


def test_common_failures_get_a_hint_naming_the_fix() -> None:
    torch.manual_seed(0)
    net, x, y = _cnn(), torch.randn(8, 3, 6, 6), torch.randint(0, 10, (8,))
    with pytest.raises(swapnas.UnsupportedModel, match=r"out of bounds.*the labels run from 1\d to 1\d.*class labels 0 … C-1"):
        swapnas.score(net, (x, y + 10), "grad_norm")  # bare IndexError "Target 10 is out of bounds"
    bn = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 2),
                       nn.BatchNorm1d(2))
    with pytest.raises(swapnas.UnsupportedModel, match=r"value per channel.*pass S >= 2 samples"):
        swapnas.score(bn, torch.randn(1, 3, 6, 6), "swap")
    with pytest.raises(swapnas.UnsupportedModel, match=r"missing 1 required positional argument.*"
                                                        r"pass \(\(x1, x2, …\), y\) or \(\(x1, x2, …\), None\)"):
        swapnas.score(_TwoInputs(), torch.randn(8, 4), "swap_ext")


class _TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.relu = nn.Linear(4, 8), nn.Linear(4, 8), nn.ReLU()

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return self.relu(self.a(x1) + self.b(x2))


class _Axial(nn.Module):  # conv + ReLU, then attention along W over S·H sequences: a common axial layout
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.relu, self.attn = nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MultiheadAttention(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.conv(x))
        s, c, hh, w = h.shape
        seq = h.permute(3, 0, 2, 1).reshape(w, s * hh, c)
        return self.attn(seq, seq, seq)[0].sum(0)


def test_a_seq_first_module_on_folded_samples_without_hooked_maps_inside_is_scored() -> None:
    """The first guard refused any batch_first=False module whose dim 1 was not S: an axial attention over
    (W, S·H, C), scored before (its only hooked map is the ReLU's, samples first), was refused."""
    torch.manual_seed(0)
    net, x = _Axial(), torch.randn(8, 3, 6, 6)
    plain = nn.Sequential(net.conv, net.relu)  # the same hooked map without the attention after it
    assert swapnas.swap_score(net, x) == swapnas.swap_score(plain, x) > 1


def test_lazy_modules_are_materialised_with_the_seed_and_the_callers_rng_is_left_alone() -> None:
    """Lazy modules drew their first weights from the caller's RNG: with init="none" the score depended on the
    RNG's state, and score moved it."""
    def lazy() -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(32), nn.ReLU(), nn.Linear(32, 10))

    x = torch.randn(8, 3, 4, 4)
    torch.manual_seed(1)
    state = torch.get_rng_state()
    first = swapnas.score(lazy(), x, "swap_ext", init="none")
    after = torch.get_rng_state()
    torch.manual_seed(2)
    again = swapnas.score(lazy(), x, "swap_ext", init="none")
    torch.manual_seed(1)
    lazy()  # building draws the Linear's weights: the same draws in both runs above
    assert torch.equal(torch.get_rng_state(), after) and not torch.equal(state, after)
    assert first == again
