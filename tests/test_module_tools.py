"""module_tools: the module list without recursive generators, and the one-copy move of a built network."""

from __future__ import annotations

import torch
from torch import nn

from swapnas.module_tools import _ALIGN_BYTES, _movable, all_modules, flat_move, to_device
from swapnas.spaces import darts, darts_net, nb201


class _Shared(nn.Module):
    """A block used at two places, a child set to None, a tied weight and a shared buffer."""

    def __init__(self) -> None:
        super().__init__()
        block = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.a = block
        self.gap = None
        self.b = nn.Sequential(nn.Conv2d(4, 4, 1), block[1], nn.Sequential(block[2], nn.ReLU()))
        self.again = block  # the whole block under a second name
        self.enc = nn.Linear(4, 6)
        self.dec = nn.Linear(6, 4)
        self.dec.weight = nn.Parameter(self.enc.weight.detach().t().contiguous())
        self.tied = nn.Linear(4, 6, bias=False)
        self.tied.weight = self.enc.weight
        self.register_buffer("scale", torch.tensor(2.5))  # a 0-dim buffer
        self.register_buffer("empty", torch.zeros(0, 3))
        self.b[0].register_buffer("scale_too", self.scale)  # the same buffer in two modules

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.b(self.a(x)).mean(dim=(2, 3))
        return self.dec(self.enc(h)) * self.scale + self.tied(h).sum()


def _nets() -> list[nn.Module]:
    torch.manual_seed(0)
    cell = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|"
    return [_Shared(), nb201.build(cell, C=8, N=2), darts_net.build(darts.largest_arch(), C=8, layers=5)]


def test_all_modules_is_modules_in_order():
    for net in _nets():
        got, want = all_modules(net), list(net.modules())
        assert len(got) == len(want) and all(g is w for g, w in zip(got, want))


def test_all_modules_lists_a_shared_block_once_where_modules_does():
    net = _Shared()
    mods = all_modules(net)
    assert sum(m is net.a for m in mods) == 1 and sum(m is net.a[1] for m in mods) == 1
    assert mods.index(net.a) < mods.index(net.a[1]) < mods.index(net.b)  # at its first place in pre-order
    assert len(mods) == len(list(net.modules())) == 12


def _state(net: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [(n, t.detach().clone()) for n, t in (*net.named_parameters(remove_duplicate=False),
                                                  *net.named_buffers(remove_duplicate=False))]


def test_flat_move_keeps_every_value_object_and_sharing():
    for net in _nets():
        net.eval()  # no running statistics change between the two passes
        x = torch.randn(2, 3, 8, 8)
        before = _state(net)
        params = {id(p) for p in net.parameters()}
        with torch.no_grad():
            out = net(x)
        flat_move(all_modules(net), torch.device("cpu"))
        after = _state(net)
        assert [n for n, _ in after] == [n for n, _ in before]
        for (name, old), (_, new) in zip(before, after):
            assert new.shape == old.shape and new.dtype == old.dtype, name
            assert torch.equal(new, old), name
        assert {id(p) for p in net.parameters()} == params  # the same nn.Parameter objects
        with torch.no_grad():
            assert torch.equal(net(x), out)


def test_flat_move_puts_each_dtype_in_one_aligned_tensor():
    net = _nets()[1]
    flat_move(all_modules(net), torch.device("cpu"))
    tensors = [*net.parameters(), *net.buffers()]
    for dtype in {t.dtype for t in tensors}:
        same = [t for t in tensors if t.dtype == dtype]
        assert len({t.untyped_storage().data_ptr() for t in same}) == 1, dtype
        base = same[0].untyped_storage().data_ptr()  # (a CUDA allocation starts 512-byte aligned itself)
        assert all((t.data_ptr() - base) % _ALIGN_BYTES == 0 for t in same), dtype
    assert {t.dtype for t in tensors} == {torch.float32, torch.int64}  # num_batches_tracked


def test_flat_move_keeps_ties_between_modules():
    net = _Shared()
    flat_move(all_modules(net), torch.device("cpu"))
    assert net.tied.weight is net.enc.weight
    assert net.b[0].scale_too is net.scale and float(net.scale) == 2.5 and net.scale.dim() == 0
    assert net.empty.shape == (0, 3)
    assert net.b[1] is net.a[1] and net.b[1].running_var is net.a[1].running_var
    with torch.no_grad():
        net.enc.weight.add_(1.0)  # the tie is one tensor, not two equal ones
    assert torch.equal(net.tied.weight, net.enc.weight)


def test_a_module_with_its_own_move_or_an_odd_tensor_is_moved_by_to():
    lstm = nn.Sequential(nn.Linear(3, 3), nn.LSTM(3, 3))
    assert not _movable(all_modules(lstm))  # an RNN re-flattens its weights in its own _apply
    conv = nn.Conv2d(3, 8, 3)
    assert _movable(all_modules(conv))
    conv.weight.data = conv.weight.data.to(memory_format=torch.channels_last)
    assert not _movable(all_modules(conv))
    lin = nn.Linear(3, 3)
    lin(torch.randn(2, 3)).sum().backward()
    assert not _movable(all_modules(lin))  # a gradient would be left behind


def test_flat_move_returns_the_network_and_replaces_buffers_as_to_does():
    net = _nets()[1]
    bn = next(m for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    old, ptr = bn.running_mean, bn.running_mean.data_ptr()
    assert flat_move(all_modules(net), torch.device("cpu")) is net
    assert bn.running_mean is not old and old.data_ptr() == ptr  # a new tensor; the old one untouched, as with .to()


def test_flat_move_sends_every_dtype_to_the_device_asked_for():
    holder = nn.Module()
    holder.register_buffer("a", torch.ones(3))
    holder.register_buffer("steps", torch.tensor(4))
    holder.register_buffer("empty", torch.zeros(0))
    flat_move(all_modules(holder), torch.device("meta"))  # buffers only: the meta device takes them
    assert holder.a.is_meta and holder.steps.is_meta and holder.empty.is_meta
    assert holder.steps.dtype == torch.int64 and holder.empty.shape == (0,)


def test_to_device_sends_a_movable_network_to_cuda_in_one_copy_and_the_rest_to_to(monkeypatch):
    """(The CUDA copy itself needs a GPU: perf/arch_cost.py checks it there.) Which path each network takes."""
    from swapnas import module_tools

    calls: list = []
    monkeypatch.setattr(module_tools, "flat_move", lambda mods, device: calls.append(("flat", mods, device)) or "moved")
    cuda = torch.device("cuda")
    net = _nets()[1]
    assert to_device(net, cuda) == "moved"
    assert calls[0][0] == "flat" and calls[0][2] == cuda
    assert len(calls[0][1]) == len(list(net.modules())) and all(a is b for a, b in zip(calls[0][1], net.modules()))
    for other, device in ((nn.Sequential(nn.Linear(3, 3), nn.LSTM(3, 3)), cuda), (_nets()[1], torch.device("meta"))):
        other.to = lambda d, other=other: calls.append(("to", d)) or other  # type: ignore[method-assign]
        assert to_device(other, device) is other
        assert calls[-1] == ("to", device)
    assert len(calls) == 3


def test_to_device_on_the_cpu_leaves_the_tensors_where_they_are():
    net = _nets()[1]
    ptrs = [t.data_ptr() for t in (*net.parameters(), *net.buffers())]
    assert to_device(net, torch.device("cpu")) is net
    assert [t.data_ptr() for t in (*net.parameters(), *net.buffers())] == ptrs
