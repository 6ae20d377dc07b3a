"""Leave a model's buffers as they were after a pass: BatchNorm running statistics and every other buffer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.lazy import LazyModuleMixin

from .module_tools import all_modules


@contextlib.contextmanager
def restored_buffers(model: nn.Module) -> Iterator[None]:
    """Leave every buffer (e.g. BatchNorm running statistics) as it was.

    BatchNorm layers that track running statistics stop tracking for the duration (in
    training mode they normalise by the batch either way, in eval mode they read the running
    statistics either way, so outputs are unchanged). Every other buffer is put back: its
    value, and the tensor itself where the pass re-assigned it (``self.n = self.n + 1``, a
    cache re-registered for a longer input, a buffer resized in place) and whether it is persistent
    (in ``state_dict``); a buffer the pass registered is removed. A lazy
    module not yet materialised (``nn.LazyBatchNorm2d`` …) is left to the pass, which
    materialises it: its buffers then hold what that pass left.
    """
    mods = all_modules(model)
    lazy = {m for m in mods if isinstance(m, LazyModuleMixin) and m.has_uninitialized_params()}
    bns = [m for m in mods if isinstance(m, _BatchNorm) and m.track_running_stats and m not in lazy]
    saved = {m: {name: (b, None if b is None else b.detach().clone()) for name, b in m._buffers.items()}
             for m in mods if m not in lazy and m not in bns}
    transient = {m: set(m._non_persistent_buffers_set) for m in saved}  # which buffers stay out of state_dict
    for m in bns:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in bns:
            m.track_running_stats = True
        with torch.no_grad():
            for module, buffers in saved.items():
                for name in [n for n in module._buffers if n not in buffers]:  # registered by the pass
                    del module._buffers[name]
                for name, (buf, value) in buffers.items():
                    if buf is not None and value is not None and buf.dtype != value.dtype:  # (a .data of another
                        buf.data = value  # dtype: the second review of session 63)
                    elif buf is not None and value is not None and buf.shape != value.shape:  # resized in place
                        buf.set_(value.untyped_storage(), value.storage_offset(), value.shape, value.stride())
                    elif buf is not None and value is not None and not _unchanged(buf, value):
                        buf.copy_(value)  # only where changed (session 63): a write of an unchanged one moved its
                        # version, so a pending backward through it failed, and failed on inference or expanded ones
                    module._buffers[name] = buf
                module._non_persistent_buffers_set.clear()
                module._non_persistent_buffers_set.update(transient[module])


def _unchanged(buf: torch.Tensor, value: torch.Tensor) -> bool:
    """``buf`` holds ``value`` bit for bit (NaN where it held NaN, -0.0 where +0.0 is not the same): it is not written
    to, as a write moves its version counter. A sparse one is always written back (no comparison is defined)."""
    if buf.layout != torch.strided or value.layout != torch.strided:
        return False
    bits = _BITS.get(buf.element_size()) if buf.is_floating_point() or buf.is_complex() else None
    if bits is not None:
        return torch.equal(buf.view(bits), value.view(bits))
    if buf.is_floating_point() or buf.is_complex():  # (complex128: no integer of its width)
        return torch.equal(torch.view_as_real(buf).view(torch.int64), torch.view_as_real(value).view(torch.int64))
    return torch.equal(buf, value)


#: integer dtypes of each width, to compare floats bit for bit
_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
