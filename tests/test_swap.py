"""swap_score against an independent naive float count, and its contract."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import swapnas
from swapnas.patterns import EXTENDED_ACTIVATIONS, NoActivationError, pack_patterns


def naive_swap(model: nn.Module, x: torch.Tensor, kinds=(nn.ReLU,), dims=(4,)) -> int:
    """Reference: float pattern matrix (neurons × samples), torch.unique(dim=0)."""
    cols = []

    def hook(m, args, out):
        if args[0].dim() in dims:
            cols.append((out.detach() > 0).float().reshape(out.shape[0], -1))

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    matrix = torch.cat(cols, dim=1).t()  # (V, S)
    return int(torch.unique(matrix, dim=0).shape[0])


class Net(nn.Module):
    """A random conv net with skip adds, pooling and a linear head (ReLUs on 4-D and 2-D inputs)."""

    def __init__(self, act: type[nn.Module] = nn.ReLU, width: int = 6):
        super().__init__()
        self.c1 = nn.Conv2d(3, width, 3, padding=1)
        self.a1 = act()
        self.c2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.a2 = act()
        self.fc = nn.Linear(width, 5)
        self.a3 = act()

    def forward(self, x):
        h = self.a1(self.c1(x))
        h = self.a2(self.bn(self.c2(h)) + h)
        return self.a3(self.fc(h.mean((2, 3))))


def _model(seed: int, **kw) -> nn.Module:
    torch.manual_seed(seed)
    return Net(**kw)


@pytest.mark.parametrize("s", [1, 8, 9, 15, 16, 17, 20, 21, 63, 64, 65, 200])
def test_equals_naive_count(s: int) -> None:
    torch.manual_seed(100 + s)
    model = _model(s)
    # few channels and 3x3 maps: many repeated patterns, so the count is a real test
    x = torch.randn(s, 3, 3, 3)
    got = swapnas.swap_score(model, x)
    assert got == naive_swap(model, x)
    assert 1 <= got <= min(6 * 9 * 2, 2**s)


class Siamese(nn.Module):
    """Every image is cut into 4 tiles that share one encoder: the hooked maps hold 4·S samples."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 1), nn.ReLU())

    def forward(self, x):
        s, c, h, w = x.shape
        tiles = x.reshape(s, c, 2, h // 2, 2, w // 2).permute(0, 2, 4, 1, 3, 5).reshape(4 * s, c, h // 2, w // 2)
        return self.enc(tiles).mean((1, 2, 3)).reshape(s, 4)


@pytest.mark.parametrize("s", [3, 5, 6])  # 12 / 20 tile samples use the table, 24 the sort
def test_samples_are_dim_zero_of_the_hooked_maps(s: int) -> None:
    torch.manual_seed(s)
    model, x = Siamese(), torch.randn(s, 3, 4, 4)
    assert swapnas.swap_score(model, x) == naive_swap(model, x)


def test_layers_with_different_sample_counts_rejected() -> None:
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.ReLU(), nn.ReLU()

        def forward(self, x):
            return self.a(x), self.b(x[:2])

    with pytest.raises(ValueError, match="disagree on the number of samples"):
        swapnas.swap_score(Two(), torch.randn(4, 3, 2, 2))


class Fan(nn.Module):
    """Three ReLU-Conv edges leave one tensor (as in NB201 / DARTS cells); then an in-place change."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.edges = nn.ModuleList(nn.Sequential(nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1)) for _ in range(3))
        self.six = nn.ReLU6()
        self.after = nn.ReLU()

    def forward(self, x):
        h = self.stem(x)
        out = sum(e(h) for e in self.edges) + self.six(h)  # ReLU6 on the same input: another module kind
        h.mul_(-1)  # changed in place: the next ReLU on h sees new patterns
        return out + self.after(h)


def test_repeated_inputs_are_taken_once_and_the_score_is_unchanged() -> None:
    from swapnas.patterns import hooked_activations

    torch.manual_seed(0)
    model, x = Fan(), torch.randn(12, 3, 5, 5)
    kinds = (nn.ReLU, nn.ReLU6)
    seen = []
    with hooked_activations(model, kinds, sink=seen.append, skip_repeats=True), torch.no_grad():
        model(x)
    assert len(seen) == 3  # edges' ReLUs once, ReLU6 once, the ReLU after the in-place change
    with hooked_activations(model, kinds, sink=seen.append), torch.no_grad():
        model(x)
    assert len(seen) == 3 + 5
    assert swapnas.swap_score(model, x, activations=kinds) == naive_swap(model, x, kinds)
    assert swapnas.swap_score(model, x) == naive_swap(model, x)


def test_small_batch_saturates_at_two_to_the_s() -> None:
    model = _model(0, width=16)
    x = torch.randn(2, 3, 8, 8)
    assert swapnas.swap_score(model, x) == naive_swap(model, x) <= 4


def test_channels_last_input_gives_the_same_score() -> None:
    model = _model(1)
    x = torch.randn(40, 3, 7, 7)
    ref = naive_swap(model, x)
    model_cl = model.to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    assert swapnas.swap_score(model_cl, x_cl) == ref


def test_four_d_filter_and_options() -> None:
    model = _model(2)
    x = torch.randn(70, 3, 5, 5)
    assert swapnas.swap_score(model, x) == naive_swap(model, x, dims=(4,))
    assert swapnas.swap_score(model, x, input_dims=(2, 3, 4)) == naive_swap(model, x, dims=(2, 4))
    # the 2-D head adds patterns of 5 neurons at most
    assert swapnas.swap_score(model, x, input_dims=(2, 4)) - swapnas.swap_score(model, x) <= 5


@pytest.mark.parametrize("act", [nn.GELU, nn.SiLU, nn.ReLU6, nn.LeakyReLU])
def test_extended_activations(act: type[nn.Module]) -> None:
    model = _model(3, act=act)
    x = torch.randn(33, 3, 5, 5)
    with pytest.raises(NoActivationError, match="no hooked activation fired"):
        swapnas.swap_score(model, x)  # default hooks nn.ReLU only
    got = swapnas.swap_score(model, x, activations=EXTENDED_ACTIVATIONS)
    assert got == naive_swap(model, x, kinds=(act,))


def test_global_union_not_per_layer_sum() -> None:
    # two identical ReLU layers: the union equals one layer's count, a per-layer sum would double it
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3)
    model = nn.Sequential(conv, nn.ReLU(), nn.Identity())

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.r1, self.r2 = conv, nn.ReLU(), nn.ReLU()

        def forward(self, x):
            h = self.conv(x)
            return self.r1(h) + self.r2(h)

    x = torch.randn(20, 3, 6, 6)
    assert swapnas.swap_score(Twice(), x) == swapnas.swap_score(model, x)


def test_model_left_untouched_and_hooks_removed() -> None:
    model = _model(4)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    swapnas.swap_score(model, torch.randn(8, 3, 5, 5))
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(not m._forward_hooks for m in model.modules())
    model.eval()
    swapnas.swap_score(model, torch.randn(8, 3, 5, 5))
    assert not model.training


class _Counter(nn.Module):
    """A module with a buffer its forward changes (not a BatchNorm)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        self.calls += 1
        return x


def test_buffers_kept_in_eval_mode_with_running_stats_and_custom_buffers() -> None:
    model = nn.Sequential(_model(5), _Counter())
    bn = model[0].bn
    with torch.no_grad():  # non-trivial running statistics, used as they are in eval mode
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    x = torch.randn(12, 3, 4, 4)
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    got = swapnas.swap_score(model, x)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert bn.track_running_stats
    assert got == naive_swap(model, x)  # the naive pass reads the same running statistics
    model.train()
    assert swapnas.swap_score(model, x) == naive_swap(model, x)
    assert int(model[1].calls) == 2 and bn.track_running_stats  # only the two naive passes counted


def test_hooks_removed_on_exception() -> None:
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.relu = nn.Conv2d(3, 2, 1), nn.ReLU()

        def forward(self, x):
            self.relu(self.conv(x))
            raise RuntimeError("boom")

    model = Broken()
    with pytest.raises(RuntimeError, match="boom"):
        swapnas.swap_score(model, torch.randn(4, 3, 4, 4))
    assert not model.relu._forward_hooks


def test_no_relu_raises_clear_error() -> None:
    with pytest.raises(NoActivationError, match="input_dims"):
        swapnas.swap_score(nn.Sequential(nn.Conv2d(3, 2, 1)), torch.randn(4, 3, 4, 4))


def test_empty_batch_rejected() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        swapnas.swap_score(_model(0), torch.randn(0, 3, 4, 4))


def test_pack_patterns_bits() -> None:
    maps = torch.tensor([[1.0, -1.0, 0.5], [1.0, 2.0, -3.0], [-1.0, 1.0, 1.0]])  # (S=3, V=3)
    words = pack_patterns(maps)
    assert words.shape == (3, 1) and words.dtype == torch.uint8  # the narrowest word for S <= 8
    # neuron v's bit s is 2**s when maps[s, v] > 0
    assert words.view(-1).tolist() == [0b011, 0b110, 0b101]
    # S = 65: two int64 words per neuron, samples 0-63 in the first (bit 63 is the sign bit), sample 64 in the second
    wide = pack_patterns(torch.ones(65, 2))
    assert wide.shape == (2, 2) and wide.dtype == torch.int64 and wide.tolist() == [[-1, 1], [-1, 1]]
    sparse = torch.full((65, 2), -1.0)
    sparse[0, 0] = sparse[64, 0] = sparse[63, 1] = 1.0
    assert pack_patterns(sparse).tolist() == [[1, 1], [-2**63, 0]]


def test_size_prior_and_regularise() -> None:
    model = nn.Linear(10, 10)  # 110 params = 0.11 thousand
    assert swapnas.count_params_k(model) == pytest.approx(0.11)
    assert swapnas.size_prior(5.0, 5.0, 4.0) == 1.0
    # f = 1/e at |theta - mu| = sqrt(sigma): sigma is not squared, no factor 2
    assert swapnas.size_prior(7.0, 5.0, 4.0) == pytest.approx(torch.e**-1)
    assert swapnas.regularise(100.0, model, mu=0.11, sigma=1.0) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="sigma"):
        swapnas.size_prior(1.0, 1.0, 0.0)


def test_auxiliary_head_excluded_from_size() -> None:
    class WithAux(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(10, 10)
            self.auxiliary_head = nn.Linear(100, 100)

    assert swapnas.count_params_k(WithAux()) == pytest.approx(0.11)


def test_distinct_rows_multiword_matches_unique() -> None:
    from swapnas.patterns import _count_distinct_rows

    g = torch.Generator().manual_seed(0)
    rows = torch.randint(0, 3, (500, 3), generator=g)  # many duplicates, ties in every word
    assert _count_distinct_rows(rows) == torch.unique(rows, dim=0).shape[0]
    same_first = torch.tensor([[7, 1], [7, 2], [7, 1], [8, 1]])
    assert _count_distinct_rows(same_first) == 3


def test_swap_variants_dev_script_matches_a_naive_count_per_map() -> None:
    """scripts/swap_variants_dev.py (the dev study in docs/generated/dev/swap_variants.md) against
    tuples of booleans counted with Python sets and Counters."""
    import math
    from collections import Counter

    from tests.script_tools import load_script

    mod = load_script("swap_variants_dev")

    torch.manual_seed(0)
    relu = nn.ReLU()  # one module used twice on the same tensor: the second use is not a new map
    body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU())

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.relu = body, relu

        def forward(self, x):
            h = self.body(x)
            return self.relu(h) + self.relu(h)

    x = torch.randn(8, 3, 7, 7)
    maps = []
    with torch.no_grad():
        h1 = body[1](body[0](x))
        h2 = body[3](body[2](h1))
        maps = [h1, h2, torch.relu(h2)]
    pats = [Counter(tuple(bool(v) for v in col) for col in (m > 0).reshape(8, -1).t().tolist()) for m in maps]
    union = sum(pats, Counter())
    entropy = lambda c: -sum(n / sum(c.values()) * math.log(n / sum(c.values())) for n in c.values())  # noqa: E731
    got = mod.arch_variants(Twice(), x)
    assert got["maps"] == 3.0
    assert got["swap"] == len(union) == naive_swap(Twice(), x)
    assert got["layer_logsum"] == pytest.approx(sum(math.log(len(c)) for c in pats))
    assert got["layer_norm"] == pytest.approx(sum(len(c) / min(2**8, sum(c.values())) for c in pats) / 3)
    assert got["union_entropy"] == pytest.approx(entropy(union))
    assert got["layer_entropy"] == pytest.approx(sum(entropy(c) for c in pats))


class PatchFolder(nn.Module):
    """Conv + ReLU on (S, C, H, W), then MobileViT-style: 2 × 2 patches moved into dim 0 (4·S rows) before a GELU."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.relu, self.lin, self.gelu = nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Linear(4, 6), nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.conv(x))  # (S, 4, 4, 4)
        s = h.shape[0]
        patches = h.reshape(s, 4, 2, 2, 2, 2).permute(0, 3, 5, 2, 4, 1).reshape(s * 4, 4, 4)  # (4·S, tokens, C)
        return self.gelu(self.lin(patches))


def test_maps_with_patches_folded_into_the_samples_are_refused_with_the_way_out() -> None:
    torch.manual_seed(0)
    model, x = PatchFolder(), torch.randn(8, 3, 4, 4)
    with pytest.raises(ValueError, match=r"disagree on the number of samples \(dim 0\): 8 and 32; .*MobileViT.*"
                                         r"input_dims=\(4,\)"):
        swapnas.swap_score(model, x, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4))
    conv_only = swapnas.swap_score(model, x, activations=EXTENDED_ACTIVATIONS, input_dims=(4,))
    assert conv_only == naive_swap(model, x, kinds=EXTENDED_ACTIVATIONS, dims=(4,)) > 1


def test_psi_settings_are_the_pass_each_psi_proxy_makes() -> None:
    # PSI_SETTINGS (scripts' copy of each proxy's swap_score settings) must agree with the registered proxies; the
    # model makes the three passes differ: a ReLU module on a map, a GELU module on a vector, F.relu on a vector
    import torch.nn.functional as F

    from swapnas.patterns import swap_score
    from swapnas.proxies.swap import PSI_SETTINGS

    class Mixed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.relu = nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()
            self.fc1, self.gelu, self.fc2 = nn.Linear(4 * 5 * 5, 12), nn.GELU(), nn.Linear(12, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.relu(self.fc2(self.gelu(self.fc1(self.relu(self.conv(x)).flatten(1)))))

    torch.manual_seed(0)
    model, x = Mixed(), torch.randn(8, 3, 5, 5, generator=torch.Generator().manual_seed(1))
    values = {}
    for name, settings in PSI_SETTINGS.items():
        values[name] = swapnas.score(model, x, proxies=name, init="none")[name]
        assert values[name] == swap_score(model, x, **settings)
    assert len(set(values.values())) == 3, values  # three different passes, so the check above can fail
