"""Session 63 audit of the Python API's side effects: a buffer swap_score never wrote is not written back (a
pending backward, inference tensors, expanded buffers), auto's activation probe runs on a copy, and a DataLoader's
first batch is the same on every call also when its dataset draws from numpy or random."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

import swapnas


# --- F1: swap_score writes every buffer back in place, changed or not -----------------------------------------------

class _Scaled(nn.Module):
    """conv -> ReLU, then times a buffer (a per-channel scale / mask / normalisation constant)."""

    def __init__(self, scale: torch.Tensor | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.register_buffer("scale", torch.rand(1, 8, 1, 1) if scale is None else scale)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc((self.relu(self.conv(x)) * self.scale).mean((2, 3)))


def test_swap_score_leaves_a_buffer_it_did_not_change_untouched_so_a_pending_backward_still_runs():
    torch.manual_seed(0)
    model, x = _Scaled(), torch.randn(8, 3, 8, 8)
    version = model.scale._version
    loss = model(x).sum()  # the caller's graph saved `scale` for the backward of the multiplication
    swapnas.swap_score(model, x)
    assert model.scale._version == version  # nothing wrote to it …
    loss.backward()  # … so the caller's backward runs (on b2a4fbc: "modified by an inplace operation")


def test_swap_score_runs_on_a_model_whose_buffers_were_made_under_inference_mode():
    torch.manual_seed(0)
    with torch.inference_mode():
        model = _Scaled()
    x = torch.randn(8, 3, 8, 8)
    # the pass itself runs (no_grad); on b2a4fbc the restore after it raised
    # "Inplace update to inference tensor outside InferenceMode is not allowed"
    assert swapnas.swap_score(model, x) == swapnas.swap_score(model, x, restore_buffers=False)


def test_swap_score_runs_on_a_model_with_an_expanded_buffer():
    torch.manual_seed(0)
    model, x = _Scaled(torch.ones(1, 1, 1, 1).expand(1, 8, 1, 1)), torch.randn(8, 3, 8, 8)
    model(x)  # the model itself runs
    # on b2a4fbc: "unsupported operation: more than one element of the written-to tensor refers to a single memory
    # location" from the restore's copy_
    assert swapnas.swap_score(model, x) == swapnas.swap_score(model, x, restore_buffers=False)


# --- F2: score / rank ("auto") run the caller's own activation modules on a probe -------------------------------------

class QuickGELU(nn.Module):  # an activation module of another library (Hugging Face / CLIP style)
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return x * torch.sigmoid(1.702 * x)


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), QuickGELU(), nn.Conv2d(8, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 5))


def test_score_auto_never_runs_the_callers_own_modules():
    model, x = _net(), torch.randn(8, 3, 10, 10)
    own = model[1]
    seen: list[tuple] = []  # (the module the hook fired on is the caller's, its input's shape)
    own.register_forward_hook(lambda m, args, out: seen.append((m is own, tuple(args[0].shape))))
    swapnas.score(model, x)  # "auto": every proxy runs on a copy ("yours is never changed")
    swapnas.rank({"a": model, "b": _net()}, x)
    # (the hook firing on swapnas's copies is documented: docs/reliability.md, "Known and left")
    assert own.calls == 0 and [s for mine, s in seen if mine] == []  # b2a4fbc: 2 calls on a (1, 1, 2401) probe


def test_auto_does_not_depend_on_a_callers_hook():
    x = torch.randn(8, 3, 10, 10)
    plain, hooked = _net(), _net()

    def conv_maps_only(m, args, out):  # a feature hook that expects the model's own maps
        assert args[0].dim() == 4

    hooked[1].register_forward_hook(conv_maps_only)
    hooked(x)  # the hooked model runs fine
    assert swapnas.score(hooked, x) == swapnas.score(plain, x)  # b2a4fbc: {'swap': 155.0} vs {'swap_fn': 243.0}


# --- F3: a DataLoader's first batch is not the same on every call when the dataset draws from numpy / random --------

class _Augmented(Dataset):
    """A dataset whose augmentation draws from numpy's and Python's global RNGs (albumentations-style)."""

    def __init__(self) -> None:
        self.x = torch.randn(32, 3, 8, 8, generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = self.x[i].flip(-1) if np.random.rand() < 0.5 else self.x[i]
        return x * (1 + random.random()), i % 5


def test_a_loaders_first_batch_is_the_same_on_every_call_also_with_numpy_and_random_augmentation():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 5))
    loader = DataLoader(_Augmented(), batch_size=8, shuffle=True)  # num_workers=0, the default
    np.random.seed(0)
    random.seed(0)
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()
    values = [swapnas.score(model, loader, proxies="swap")["swap"] for _ in range(3)]
    assert len(set(values)) == 1  # b2a4fbc: e.g. [207.0, 209.0, 216.0]; with num_workers=2 they agree
    # … and, as for torch's RNG, the caller's numpy / random state is given back
    assert np.array_equal(np.random.get_state()[1], np_state) and random.getstate() == py_state


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
