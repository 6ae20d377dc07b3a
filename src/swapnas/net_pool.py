"""One network per arch, handed from proxy to proxy: a snapshot of a freshly built (and initialised) network's values
is put back instead of building the network again.

Every base proxy of an arch gets, per repeat, the network that :func:`~swapnas.scoring.build_scored_net` builds
for that repeat. On small networks a build costs as much as a cheap proxy's pass (a DARTS C=8 5-cell network: 40 ms
to build and initialise, 4.5 ms to put its tensors back; ``docs/performance.md``), so :func:`score_arch` keeps the
first build and, for each later proxy, copies the snapshot's values back into it, unless the network is no longer
the one that was built. A proxy may change values (``synflow`` takes the absolute value of every weight), gradients,
the train/eval mode and other plain settings: all are put back. It may not be relied on to leave the structure alone
(``synflow`` also converts the network to float64): the network is rebuilt when any module, parameter or buffer
tensor, tensor dtype/device/shape/storage, hook or other attribute differs from the snapshot's.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .module_tools import all_modules

#: a network with more parameter and buffer elements than this is not kept (a snapshot holds a copy of each)
MAX_ELEMENTS = 1 << 26

#: the plain values of a module's attributes (exact types: a subclass such as an IntEnum is compared by identity):
#: put back, not compared
_PLAIN = frozenset((bool, int, float, str, type(None), torch.dtype, torch.device))
_FOREACH_COPY = getattr(torch, "_foreach_copy_", None)


def _structure(mods: list[nn.Module]) -> list:
    """What a proxy must leave as it was for the network to be reused, as one flat list (the list of modules
    itself is compared apart): per module, its number of attributes; each attribute that is not a plain value
    (bool, number, string, None, dtype, device) by identity, and for a dict (parameters, buffers, children, each
    kind of hook) also its size; each parameter and buffer tensor's identity, storage, dtype and shape. (Plain
    values are put back, not compared.)"""
    out: list = []
    for m in mods:
        d = m.__dict__
        out.append(len(d))
        for v in d.values():
            if type(v) in _PLAIN:
                continue
            out.append(id(v))
            if isinstance(v, dict):
                out.append(len(v))
        for table in (m._parameters, m._buffers):
            for t in table.values():
                if t is not None:
                    out += (id(t), t.data_ptr(), t.dtype, t.shape, t.requires_grad)
    return out


class NetPool:
    """The network of one arch, kept between the proxies that score it (see the module's docstring). The snapshots
    hold the values of fresh builds, one per repeat; they outlive the network they were taken from, since any new
    build of the arch has the same tensors (checked: dtype and shape of each)."""

    def __init__(self) -> None:
        self._snaps: dict[int, list[torch.Tensor]] = {}
        self._kinds: list[tuple] = []
        self._forget()

    def _forget(self) -> None:
        """Let go of the network (not of the snapshots)."""
        self.model: nn.Module | None = None
        self._mods: list[nn.Module] = []
        self._shape: list = []
        self._tensors: list[torch.Tensor] = []
        self._plain: list[dict[str, Any]] = []

    def keep(self, repeat: int, model: nn.Module) -> None:
        """Snapshot ``model``, just built and initialised for ``repeat`` and not yet used by any proxy (or
        re-initialised in place for it), and hand it on from now on."""
        if model is not self.model:
            mods = all_modules(model)
            tensors = [t for m in mods for table in (m._parameters, m._buffers) for t in table.values()
                       if t is not None]
            if sum(t.numel() for t in tensors) > MAX_ELEMENTS:
                self.drop()
                return
            kinds = [(t.dtype, t.shape) for t in tensors]
            if kinds != self._kinds:
                self._snaps, self._kinds = {}, kinds
            self.model, self._mods, self._tensors = model, mods, tensors
            self._shape = _structure(mods)
            self._plain = [{k: v for k, v in m.__dict__.items() if type(v) in _PLAIN} for m in mods]
        with torch.no_grad():
            self._snaps[repeat] = [t.detach().clone() for t in self._tensors]

    def take(self, repeat: int) -> nn.Module | None:
        """The kept network with ``repeat``'s snapshot put back (values, no gradients, plain settings such as the
        train/eval mode), or None where there is no snapshot of ``repeat`` or the last proxy changed the network
        (which is then let go; the snapshots stay for the next build)."""
        model, snap = self.model, self._snaps.get(repeat)
        if model is None or snap is None:
            return None
        if all_modules(model) != self._mods or _structure(self._mods) != self._shape:
            self._forget()
            return None
        with torch.no_grad():
            if _FOREACH_COPY is not None:  # one call for every tensor (a private torch function: kept optional)
                _FOREACH_COPY(self._tensors, snap)
            else:
                for t, value in zip(self._tensors, snap):
                    t.copy_(value)
        for t in self._tensors:
            t.grad = None
        for m, plain in zip(self._mods, self._plain):
            m.__dict__.update(plain)
        return model

    def drop(self) -> None:
        """Let go of the network and every snapshot."""
        self._snaps, self._kinds = {}, []
        self._forget()
