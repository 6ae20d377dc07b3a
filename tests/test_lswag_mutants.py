"""lswag_grad's defaults, its layer interval's bounds, and its refusals (messages whole)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from swapnas.data import Batch
from swapnas.proxies.lswag import in_interval, lswag_grad


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 5))


def _batch(n: int, same: bool = False) -> Batch:
    g = torch.Generator().manual_seed(1)
    inputs = torch.randn(1 if same else n, 2, 6, 6, generator=g).expand(n, 2, 6, 6).contiguous()
    targets = torch.zeros(n, dtype=torch.long) if same else torch.randint(0, 5, (n,), generator=g)
    return Batch(inputs, targets, 5, "t", "t", 0)


def test_the_defaults_are_two_splits_over_the_whole_depth() -> None:
    batch = _batch(6)
    by_default = lswag_grad(_net(), batch)
    assert by_default == lswag_grad(_net(), batch, splits=2, start=0.0, stop=100.0)
    assert by_default != lswag_grad(_net(), batch, splits=3)
    assert by_default != lswag_grad(_net(), batch, start=50.0)  # the first of the two layers left out


def test_a_layer_is_in_the_interval_from_start_inclusive_to_stop_exclusive() -> None:
    assert in_interval(1, 2, 50.0, 100.0)  # layer 1 of 2 sits at 50 %
    assert not in_interval(1, 2, 0.0, 50.0)
    assert not in_interval(1, 2, 50.5, 100.0)
    assert in_interval(0, 2, 0.0, 0.5)


def test_as_many_splits_as_samples_is_allowed_and_fewer_samples_are_refused() -> None:
    assert isinstance(lswag_grad(_net(), _batch(3), splits=3), float)  # 3 samples of 2 channels
    with pytest.raises(ValueError) as err:
        lswag_grad(_net(), _batch(3), splits=4)
    assert str(err.value) == "lswag_grad needs splits >= 2 and at least that many samples (splits=4, batch=3)"


@pytest.mark.parametrize(("start", "stop"), [(50.0, 50.0), (0.0, 100.5)])
def test_an_empty_or_overlong_interval_is_refused(start: float, stop: float) -> None:
    with pytest.raises(ValueError) as err:
        lswag_grad(_net(), _batch(4), start=start, stop=stop)
    assert str(err.value) == ("lswag_grad needs 0 <= start < stop <= 100 (percent of depth); "
                              f"got start={start}, stop={stop}")


def test_gradients_that_do_not_vary_across_the_splits_are_refused() -> None:
    with pytest.raises(ValueError) as err:
        lswag_grad(_net(), _batch(4, same=True))  # both splits hold the same samples and labels
    assert str(err.value) == ("lswag_grad: no layer in [0.0, 100.0) % of the depth has a gradient whose magnitude "
                              "varies across the mini-batch splits")
