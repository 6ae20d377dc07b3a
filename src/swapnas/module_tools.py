"""Two cheap whole-network operations for the per-arch hot path: listing a network's modules, and moving a freshly
built network to a GPU in one copy.

A scoring pass of a small network is bound by Python and kernel-launch overhead rather than arithmetic (the GPU
measurements in docs/performance.md): ``nn.Module.modules()`` is a recursive generator (one frame per level for each
module yielded), and ``nn.Module.to`` copies each parameter and buffer on its own (one host-to-device copy each).
"""

from __future__ import annotations

import threading
import weakref

import torch
from torch import nn

#: element alignment of each tensor inside the flat device copy: 512 bytes for float32, as large as the caching
#: allocator's own blocks, so that no kernel sees a less aligned pointer than a separately allocated tensor would
_ALIGN_BYTES = 512


def all_modules(model: nn.Module) -> list[nn.Module]:
    """``list(model.modules())``, in the same order (pre-order, each module once), without the recursive
    generators: a few times faster on networks of hundreds of modules."""
    out: list[nn.Module] = []
    seen: set[int] = set()
    stack = [model]
    while stack:
        m = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        out.append(m)
        stack.extend(c for c in reversed(m._modules.values()) if c is not None)
    return out


def _movable(mods: list[nn.Module]) -> bool:
    """True if every module moves by ``nn.Module._apply`` itself (no module-specific move such as an RNN's flat
    weights) and every parameter and buffer is a dense contiguous CPU tensor owning no gradient."""
    if any(type(m)._apply is not nn.Module._apply for m in mods):
        return False
    tensors = [t for m in mods for t in (*m._parameters.values(), *m._buffers.values()) if t is not None]
    return all(t.device.type == "cpu" and t.layout == torch.strided and t.is_contiguous() and t.grad is None
               for t in tensors)


def device_of(model: nn.Module) -> torch.device:
    """Where ``model`` lives: its first parameter's device, or its first buffer's (session 67: a model of buffers
    alone was scored on cpu), else cpu."""
    return next((t.device for t in (*model.parameters(), *model.buffers())), torch.device("cpu"))


def to_device(model: nn.Module, device: torch.device) -> nn.Module:
    """``model.to(device)`` for a network built on the CPU: on a CUDA device every parameter and buffer is copied
    in one transfer per dtype (each a view of one device tensor, aligned as a separate allocation would be) instead of
    one transfer each. The values are bit for bit those of ``model.to(device)``; parameters stay the same
    ``nn.Parameter`` objects (as ``.to`` keeps them), shared ones stay shared. Falls back to ``model.to(device)``
    where that moves more than tensors (a module with its own ``_apply``) or a tensor is not a plain contiguous
    CPU tensor."""
    if device.type != "cuda":  # (the CPU: nothing to move; meta, MPS …: .to's own rules, e.g. for new Parameters)
        return model.to(device)
    mods = all_modules(model)
    return flat_move(mods, device) if _movable(mods) else model.to(device)


def flat_move(mods: list[nn.Module], device: torch.device) -> nn.Module:
    """Copy every parameter and buffer of ``mods`` (a network's :func:`all_modules`, the network first) to
    ``device`` in one transfer per dtype: each becomes a view of one tensor there, at an offset aligned to
    ``_ALIGN_BYTES``. Returns the network. (:func:`to_device` calls it for a CUDA device; on the CPU it gives fresh
    copies, which is how the tests check it.)"""
    slots: dict[int, tuple[torch.Tensor, list[tuple[nn.Module, str, bool]]]] = {}  # tensor id -> (tensor, places)
    for m in mods:
        for is_param, table in ((True, m._parameters), (False, m._buffers)):
            for name, t in table.items():
                if t is not None:
                    slots.setdefault(id(t), (t, []))[1].append((m, name, is_param))
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for t, _ in slots.values():
        by_dtype.setdefault(t.dtype, []).append(t)
    moved: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        for dtype, tensors in by_dtype.items():
            step = _ALIGN_BYTES // tensors[0].element_size()  # (no dtype is wider than 16 bytes)
            offsets, total = [], 0
            for t in tensors:
                offsets.append(total)
                total += -(-t.numel() // step) * step  # (an empty tensor takes no room)
            flat = torch.zeros(total, dtype=dtype)
            for t, off in zip(tensors, offsets):
                flat[off:off + t.numel()] = t.reshape(-1)
            on_device = flat.to(device)
            for t, off in zip(tensors, offsets):
                moved[id(t)] = on_device[off:off + t.numel()].view(t.shape)
    for t, places in slots.values():
        for m, name, is_param in places:
            if is_param:
                t.data = moved[id(t)]  # as nn.Module._apply does: the Parameter object stays
            else:
                m._buffers[name] = moved[id(t)]
    return mods[0]


_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_LOCK = threading.Lock()
_UNHASHABLE = threading.RLock()  # one for every model that cannot be a dict key (a __eq__ without __hash__)


def model_lock(model: nn.Module) -> threading.RLock:
    """``model``'s lock, held while swapnas has its hooks on the model (:func:`swapnas.patterns.hooked_activations`)
    and while ``swapnas.score`` copies it (session 66: ``swap_score`` of one model in two threads took each other's
    activations, and a copy taken meanwhile carried the other thread's hooks)."""
    with _LOCKS_LOCK:
        try:
            lock = _LOCKS.get(model)
            if lock is None:
                lock = _LOCKS[model] = threading.RLock()
        except TypeError:
            return _UNHASHABLE
    return lock

