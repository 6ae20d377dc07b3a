"""restored_buffers, called directly: a buffer resized in place, a buffer changed in place with a view of it held, a
buffer registered as None, and tracked BatchNorm statistics."""

from __future__ import annotations

import torch
from torch import nn

from swapnas.buffers import restored_buffers


class _InPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(2)
        self.register_buffer("grown", torch.arange(3.0))
        self.register_buffer("count", torch.zeros(2))
        self.register_buffer("absent", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.grown.resize_(5).fill_(7.0)  # resized in place: the same tensor, a new storage
        self.count.add_(1.0)  # changed in place
        return self.bn(x)


def test_buffers_changed_in_place_are_restored_in_their_own_tensors_and_storage() -> None:
    model = _InPlace()
    grown, count, view = model.grown, model.count, model.count[:1]
    count_ptr, stats = count.data_ptr(), model.bn.running_mean.clone()
    with restored_buffers(model):
        assert model.bn.track_running_stats is False
        model(torch.randn(4, 2))
        assert model.grown.shape == (5,) and float(model.count[0]) == 1.0
    assert model.grown is grown and model.grown.shape == (3,) and torch.equal(model.grown, torch.arange(3.0))
    assert model.count is count and count.data_ptr() == count_ptr and torch.equal(count, torch.zeros(2))
    assert float(view[0]) == 0.0  # a view taken before the pass sees the restored value: the storage was kept
    assert model._buffers["absent"] is None and "absent" in model._buffers
    assert model.bn.track_running_stats is True and torch.equal(model.bn.running_mean, stats)
    model.grown.add_(1.0)  # still a sound tensor of its own
    assert torch.equal(model.grown, torch.arange(1.0, 4.0))
