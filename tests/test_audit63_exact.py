"""Session 63 audit of SWAP's exactness against a naive count (a Python set of each neuron's S-bit column): one-neuron
and empty maps, a second activation on one tensor that is not a repeat, activations positive on both sides of 0,
and an (S, L) map beside a padding mask."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import swapnas
from swapnas.patterns import EXTENDED_ACTIVATIONS, NoActivationError, pack_patterns


def naive_psi(model, inputs, kinds=(nn.ReLU,), dims=(4,), pre=False, live=None):
    """Reference: every hooked call's map (output > 0, or input > 0 with pre=True), columns as bytes, a set."""
    mats = []

    def take(x, out):
        if isinstance(x, torch.Tensor) and x.dim() in dims:
            o = (x if pre else out).detach()
            if live is not None and tuple(o.shape[:2]) == tuple(live.shape):
                o = o.masked_fill(~live.view(*live.shape, *[1] * (o.dim() - 2)), 0)
            mats.append((o > 0).reshape(o.shape[0], -1).numpy())

    mods = [m for m in model.modules() if isinstance(m, kinds)]
    hs = [m.register_forward_pre_hook(lambda m, a: take(a[0], None) if pre else None) for m in mods]
    hs += [m.register_forward_hook(lambda m, a, o: None if pre else take(a[0], o)) for m in mods]
    with torch.no_grad():
        model(**inputs) if isinstance(inputs, dict) else model(inputs)
    for h in hs:
        h.remove()
    cols = np.concatenate(mats, axis=1).T
    return len({c.tobytes() for c in np.ascontiguousarray(cols)})


# --- 1. a hooked map of ONE neuron per sample crashes the packed path (S > 20; pack_patterns for S > 8) -------------

class RegressionHead(nn.Module):
    """An MLP whose last layer is one ReLU unit (a non-negative regression output): a (S, 1) hooked map."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1), nn.ReLU())

    def forward(self, x):
        return self.net(x)


@pytest.mark.parametrize("s", [21, 32, 64, 65])
def test_a_one_neuron_map_is_counted_not_a_crash(s):
    torch.manual_seed(0)
    model = RegressionHead()
    x = torch.randn(s, 4)
    want = naive_psi(model, x, kinds=EXTENDED_ACTIVATIONS, dims=(2, 3, 4))
    # RuntimeError: self.stride(0) must be divisible by 4 to view Byte as Int (packed.t().contiguous() of a (1, W)
    # tensor keeps stride 1 on its size-1 dim)
    assert swapnas.swap_score(model, x, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4)) == want


@pytest.mark.parametrize("s", [9, 17, 33, 65])
def test_pack_patterns_of_one_neuron(s):
    torch.manual_seed(1)
    maps = torch.randn(s, 1, 1, 1)
    rows = pack_patterns(maps)
    assert rows.shape[0] == 1


# --- 2. an empty hooked map (0 neurons per sample) crashes: the packed path for S > 8, the warning for S <= 20 -------

class EmptyBranch(nn.Module):
    """A ReLU on a 0-channel slice (a channel split that leaves one branch empty) beside a real map."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 1)
        self.a, self.b = nn.ReLU(), nn.ReLU()

    def forward(self, x):
        h = self.c(x)
        return self.a(h[:, :0]).sum() + self.b(h).sum()


@pytest.mark.parametrize("s", [33, 70])
def test_an_empty_map_adds_nothing(s):
    torch.manual_seed(2)
    model = EmptyBranch()
    x = torch.randn(s, 3, 3, 3)
    assert swapnas.swap_score(model, x) == naive_psi(model, x)


def test_only_empty_maps_is_no_zero_division():
    class OnlyEmpty(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.ReLU()

        def forward(self, x):
            return self.a(x[:, :0])

    try:  # 0 (no pattern) or NoActivationError are both fine; ZeroDivisionError (saturation warning) is not
        assert swapnas.swap_score(OnlyEmpty(), torch.randn(5, 3, 2, 2)) == 0
    except NoActivationError:
        pass


# --- 3. skip_repeats drops an activation whose output differs, though its input and (type, extra_repr) are equal ---

class ShiftReLU(nn.ReLU):
    """An nn.ReLU subclass (so hooked by 'swap') whose threshold is a plain attribute, not in extra_repr."""

    def __init__(self, t):
        super().__init__()
        self.t = t

    def forward(self, x):
        return F.relu(x - self.t)


class SubclassTwice(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.a, self.b = ShiftReLU(0.0), ShiftReLU(0.7)

    def forward(self, x):
        h = self.c(x)
        return (self.a(h) + self.b(h)).sum((1, 2, 3))


def test_relu_subclasses_with_other_state_on_one_tensor_both_count():
    torch.manual_seed(15)
    model = SubclassTwice()
    x = torch.randn(8, 3, 5, 5)
    assert swapnas.swap_score(model, x) == naive_psi(model, x)  # 76 against 91


class HookMasked(nn.Module):
    """Two ReLU modules on one tensor; a forward hook of the model's own (registered before scoring, as a pruning or
    masking hook is: score() copies such hooks as part of the model) changes the second one's output."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.a, self.b = nn.ReLU(), nn.ReLU()
        self.register_buffer("sign", torch.tensor([1.0, -1.0, 1.0, -1.0]).view(1, 4, 1, 1))
        self.b.register_forward_hook(lambda m, a, o: o * self.sign - 0.2)

    def forward(self, x):
        h = self.c(x)
        return (self.a(h) + self.b(h)).sum((1, 2, 3))


def test_an_output_changing_hook_on_the_second_activation_counts():
    torch.manual_seed(42)
    model = HookMasked()
    x = torch.randn(8, 3, 5, 5)
    want = naive_psi(model, x)
    assert swapnas.swap_score(model, x) == want
    assert swapnas.score(model, x, "swap", init="none")["swap"] == want


class Thresh(nn.Module):
    """A user's activation kind (activations=(Thresh,)) whose setting is a buffer."""

    def __init__(self, t):
        super().__init__()
        self.register_buffer("t", torch.tensor(float(t)))

    def forward(self, x):
        return F.relu(x - self.t)


class TwoThresh(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.a, self.b = Thresh(0.0), Thresh(0.8)

    def forward(self, x):
        h = self.c(x)
        return (self.a(h) + self.b(h)).sum((1, 2, 3))


def test_a_user_kind_with_buffer_settings_on_one_tensor_both_count():
    torch.manual_seed(43)
    model = TwoThresh()
    x = torch.randn(33, 3, 5, 5)
    assert swapnas.swap_score(model, x, activations=(Thresh,)) == naive_psi(model, x, kinds=(Thresh,))  # 100 vs 168


# --- 4. LeakyReLU / ELU with a negative slope / alpha: output > 0 is not input > 0 (README says it is) -------------

@pytest.mark.parametrize("act", [lambda: nn.LeakyReLU(-0.5), lambda: nn.ELU(alpha=-1.0)], ids=["leaky-0.5", "elu-1"])
def test_activations_positive_on_both_sides_of_0_are_not_counted(act):
    """Ψ was 1 (every output > 0) where the README says each extended kind is positive exactly where its input is."""
    torch.manual_seed(18)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), act())
    x = torch.randn(8, 3, 4, 4)
    got = swapnas.swap_score(model, x, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4))
    assert got == naive_psi(model, x, kinds=(nn.ReLU,), dims=(2, 3, 4)) > 1  # the ReLU's alone
    with pytest.raises(NoActivationError):
        swapnas.swap_score(nn.Sequential(nn.Conv2d(3, 4, 3), act()), x, activations=EXTENDED_ACTIVATIONS)
    keeping = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.LeakyReLU(0.1), nn.Conv2d(4, 4, 3), nn.ELU(0.5))
    assert swapnas.swap_score(keeping, x, activations=EXTENDED_ACTIVATIONS) == naive_psi(
        keeping, x, kinds=(nn.LeakyReLU, nn.ELU), dims=(4,))


# --- 5. a 2-D (S, L) hooked map beside an attention_mask: pads counted, Ψ depends on the pad ids, no warning --------

class TokScalar(nn.Module):
    """ids -> embedding -> Linear(., 1) -> ReLU on (S, L): one activation per token."""

    def __init__(self):
        super().__init__()
        self.e = nn.Embedding(20, 6)
        self.l = nn.Linear(6, 1)
        self.a = nn.ReLU()

    def forward(self, input_ids, attention_mask=None):
        return self.a(self.l(self.e(input_ids)).squeeze(-1)).sum(1)


def test_a_per_token_2d_map_leaves_pads_out_or_warns():
    s, length = 10, 12
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 20, (s, length), generator=g)
    lens = torch.randint(2, length + 1, (s,), generator=torch.Generator().manual_seed(2))
    live = torch.arange(length)[None] < lens[:, None]
    torch.manual_seed(47)
    model = TokScalar()
    scores = set()
    for pad in (0, 4):
        batch = {"input_ids": ids.masked_fill(~live, pad), "attention_mask": live.long()}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = swapnas.swap_score(model, batch, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4))
        warned = any("pad" in str(w.message) for w in caught)
        scores.add(got)
        assert warned or got == naive_psi(model, batch, kinds=EXTENDED_ACTIVATIONS, dims=(2, 3, 4), live=live)
    assert len(scores) == 1 or warned  # 6 with pad id 0, 11 with pad id 4, silently
