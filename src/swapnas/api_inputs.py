"""What :func:`swapnas.score` and :func:`swapnas.rank` accept: inputs, read into a :class:`~swapnas.bundle.Batch`, and
the ``seed``, ``device`` and ``num_classes`` arguments, checked with errors that name them."""

from __future__ import annotations

import dataclasses
import random
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from .bundle import Batch
from .callers import user_stacklevel
from .padding import additive_mask, shared_mask_hint, unmasked
from .patterns import input_tensors, no_values
from .proxies import Proxy
from .requirements import applies
from .scoring import with_bases
from .devices import available_devices, unavailable
from .rng import seeded

#: the seeds torch's generators take (a negative one is mapped to 2**64 + seed)
SEED_RANGE = (-2**63, 2**64 - 1)


def check_seed(seed: int, repeats: int) -> None:
    """``seed`` and ``seed + repeats - 1`` (repeat r draws from ``seed + r``) must be seeds torch takes."""
    lo, hi = SEED_RANGE
    if not lo <= seed <= seed + repeats - 1 <= hi:
        raise ValueError(f"seed must be in [-2**63, 2**64 - repeats] = [{lo}, {hi - repeats + 1}] with repeats="
                         f"{repeats} (torch's seed range; repeat r draws from seed + r); got seed={seed}")


def as_device(device: Any) -> torch.device | None:
    """``device`` as a :class:`torch.device` (None: None, the model's), checked against this machine: a ValueError
    names ``device``, its value and the devices available here. ``"auto"``: as the command line's ``--device auto``,
    cuda where there is one, else cpu (session 65: refused)."""
    if device is None:
        return None
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    here = ", ".join(repr(d) for d in available_devices())
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        why = "an unknown device type" if "Expected one of" in str(exc) else str(exc).splitlines()[0]
        raise ValueError(f"device={device!r} is not a device torch can use here ({why}); give a torch.device or a "
                         f"device string such as 'cpu' or 'cuda:0' (available here: {here})") from None
    if dev.type == "meta":  # (session 67: refused later as if the caller's weights were on it)
        raise ValueError(f"device={device!r}: the meta device holds no values, so nothing can be scored on it; give "
                         f"a device with memory (available here: {here})")
    if (reason := unavailable(dev)) is not None:  # the command line's --device check (devices.resolve_device)
        raise ValueError(f"device={device!r}: {reason}; available here: {here}")
    return dev


def check_num_classes(num_classes: Any) -> None:
    """``num_classes`` (the labels' class count, the model's output size; None: from the labels) must be an int >= 1."""
    if num_classes is None:
        return
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(f"num_classes must be an int >= 1 (the number of classes, the model's output size) or None "
                        f"(counted from the labels), not {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1 (the number of classes, the model's output size), or None to "
                         f"count them from the labels; got {num_classes}")


def _is_multi(x: Any) -> bool:
    """A tuple/list/dict of tensors: the inputs of a model called as ``model(*xs)`` / ``model(**kw)``."""
    values = list(x.values()) if isinstance(x, Mapping) else x if isinstance(x, (tuple, list)) else None
    return values is not None and len(values) > 0 and all(isinstance(v, torch.Tensor) for v in values)


def _split(inputs: Any) -> tuple[Any, torch.Tensor | None]:
    """``inputs`` as (model inputs, labels or None); see :func:`as_batch` for the forms."""
    if isinstance(inputs, Mapping) and "labels" in inputs and len(inputs) > 1 and _is_multi(inputs):  # Hugging Face's
        return {k: v for k, v in inputs.items() if k != "labels"}, inputs["labels"]
    if isinstance(inputs, torch.Tensor) or isinstance(inputs, Mapping) and _is_multi(inputs):
        return inputs, None
    if isinstance(inputs, (tuple, list)) and len(inputs) == 2 and (
            isinstance(inputs[0], torch.Tensor) or _is_multi(inputs[0])):
        return inputs[0], inputs[1]
    if isinstance(inputs, (tuple, list)) and _is_multi(inputs):
        raise TypeError(f"inputs is a {type(inputs).__name__} of {len(inputs)} tensors: an (x, y) pair needs exactly "
                        "two; for a model called as model(x1, x2, …) pass ((x1, x2, …), y) or ((x1, x2, …), None)")
    raise TypeError("inputs must be a tensor, an (x, y) pair, a dict of tensors (model(**kw)), ((x1, x2, …), y), "
                    f"a Batch or a DataLoader, not {type(inputs).__name__}")


def _own_batch(batch: Batch, num_classes: int | None) -> Batch:
    """A caller's Batch, its class count replaced by ``num_classes`` where one is given, checked against its labels
    (the review of session 69: it was dropped unsaid)."""
    _check_finite(batch.inputs, "inputs")
    if num_classes is None:
        return batch
    if batch.loss == "ce" and not batch.targets.is_floating_point():
        _class_labels(batch.targets, num_classes)
    return dataclasses.replace(batch, num_classes=num_classes)


def as_batch(inputs: Any, num_classes: int | None = None) -> tuple[Batch, bool]:
    """``inputs`` as a :class:`Batch` and whether it holds real labels (NaN / inf in it: ValueError).

    Forms: a tensor ``x``; an ``(x, y)`` pair; a dict of tensors (``model(**kw)``; a Hugging Face batch's ``"labels"``
    are ``y``); a pair of a tuple/list/dict of tensors (``model(*xs)`` / ``model(**kw)``) and ``y`` or None; a
    :class:`Batch`; a DataLoader / iterable (its first batch). A mask-like ``y`` (:func:`_mask_like`) is refused if
    bool, read as labels with a warning if 0/1 integers: a mask goes with the inputs (:mod:`swapnas.padding`).
    """
    check_num_classes(num_classes)
    if isinstance(inputs, Batch):
        return _own_batch(inputs, num_classes), True
    if type(inputs).__module__ == "numpy":
        raise TypeError(f"inputs is a numpy {type(inputs).__name__}: pass a torch tensor, e.g. "
                        "torch.from_numpy(x).float()")
    if isinstance(inputs, Iterable) and not isinstance(inputs, (str, bytes, torch.Tensor, tuple, list, Mapping)):
        first = next(iter(inputs), None)
        if first is None:
            raise ValueError("inputs is an empty iterable/DataLoader: it yielded no batch")
        if isinstance(first, (tuple, list)) and len(first) == 1:  # DataLoader(TensorDataset(x)) yields [x]
            first = first[0]
        return as_batch(tuple(first) if isinstance(first, (tuple, list)) else first, num_classes)
    x, y = _split(inputs)
    tensors = input_tensors(x)
    if tensors[0].ndim < 2:
        raise ValueError(f"inputs must be a batch: S samples along dim 0, then each sample's dims (got shape "
                         f"{tuple(tensors[0].shape)}); for one sample x, pass x.unsqueeze(0)")
    if tensors[0].shape[0] < 1:
        raise ValueError(f"inputs must hold S >= 1 samples along dim 0 (got shape {tuple(tensors[0].shape)})")
    if len(set(dims := [t.shape[0] for t in tensors])) > 1:
        raise ValueError(f"the input tensors disagree on the number of samples S (dim 0): {dims}; give each the same S "
                         f"samples{shared_mask_hint(x, int(dims[0]))}")
    if y is not None and not isinstance(y, torch.Tensor):
        raise TypeError(f"the labels y of an (x, y) pair must be a tensor, not {type(y).__name__}: torch.as_tensor(y)")
    if y is not None and y.dim() == 0:
        raise ValueError(f"the labels y need one entry per sample along dim 0 (shape (S,) for class labels); got a "
                         f"scalar tensor ({y.item()!r})")
    if y is not None and (kind := _mask_like(x, y)):  # model(x) would run without its mask, the mask read as labels
        text = _MASK_NOT_LABELS[kind == "additive"]
        if kind != "padding":
            raise ValueError(text)
        warnings.warn(f"{text}; it is read as labels y here (0/1 per token, padding-like rows)", stacklevel=3)
    _check_finite(x, "inputs")
    if y is not None:
        _check_finite(y, "labels")
    labels = y is not None
    s = tensors[0].shape[0]
    if y is None:
        y = torch.zeros(s, dtype=torch.long)
    elif y.shape[0] != s:
        raise ValueError(f"x and y disagree on the number of samples: {s} vs {y.shape[0]}; give one label per sample")
    if labels and not y.is_floating_point():
        y = _class_labels(y, num_classes)
    elif labels and y.dim() == 1 and bool((y == y.round()).all()):
        warnings.warn("float labels are read as regression targets (an mse loss); for class labels pass y.long()",
                      stacklevel=3)
    classes = num_classes if num_classes is not None else (
        int(y.max()) + 1 if labels and not y.is_floating_point() else 1)
    return Batch(x, y, classes, "user", "user", s, "", "ce" if not y.is_floating_point() else "mse"), labels


#: the label cross-entropy ignores (masked-token labels mark the unmasked tokens with it)
IGNORE_INDEX = -100


def _class_labels(y: torch.Tensor, num_classes: int | None) -> torch.Tensor:
    """Integer labels as int64 (the losses take no other integer type), checked to be classes 0 … C-1
    (``IGNORE_INDEX`` aside): a label beyond ``num_classes`` or below 0 would fail inside a loss or skew a metric."""
    y = y.long()
    used = y[y != IGNORE_INDEX]
    if used.numel():
        low, high = int(used.min()), int(used.max())
        if low < 0 or (num_classes is not None and high >= num_classes):
            top = f"num_classes - 1 = {num_classes - 1}" if num_classes is not None else "C - 1"
            raise ValueError(f"class labels must run from 0 to {top} ({IGNORE_INDEX}: ignored); these run from "
                             f"{low} to {high}: remap them, e.g. y = torch.unique(y, return_inverse=True)[1]"
                             + (", or give num_classes the model's output size" if num_classes is not None else ""))
    return y


#: what an (x, y) pair whose y is a mask is told: an attention mask (1 at the tokens), or an additive one (-inf at the
#: pads), which goes by the model's own name for it (PyTorch's ``src_key_padding_mask``), not as ``attention_mask``
_MASK_NOT_LABELS = (
    "the second item looks like an attention mask, not labels: pass ({'input_ids': x, 'attention_mask': mask}, None) "
    "(the padded positions left out of SWAP), ((x, mask), None), or either with labels y",
    "the second item looks like an additive padding mask (0 at the tokens, -inf at the pads), not labels: pass "
    "((x, mask), None), or a dict of the inputs by the model's names for them (such as {'src': x, "
    "'src_key_padding_mask': mask}) and None (the padded positions left out of SWAP), or either with labels y")


def _mask_like(x: Any, y: torch.Tensor) -> str:
    """``"bool"`` for a bool ``y`` with at least two dims, whatever ``x`` is (token ids or embeddings: no loss takes
    bool labels, and a bool (S, L) tensor is a padding mask; session 52), ``"additive"`` for an additive mask shaped
    as ``x``'s (S, L) (:func:`~swapnas.padding.additive_mask`: refused as non-finite labels until session 62),
    ``"padding"`` for 0/1 integers shaped like
    integer ids ``x`` with each row of at least 3 a run of ones and a run of zeros
    holding a one (a mask never hides a whole row), else ``""``. MLM labels (-100 and token ids), per-sample labels and
    a batch of per-token labels with a row of zeros are not."""
    if y.dtype == torch.bool and y.dim() >= 2:
        return "bool"
    if additive_mask(y, x):
        return "additive"
    if (not isinstance(x, torch.Tensor) or x.is_floating_point() or y.is_floating_point() or y.shape != x.shape
            or y.dim() < 2 or y[0].numel() < 3):
        return ""
    rows = y.reshape(y.shape[0], -1)
    steps = rows.diff(dim=1)
    padding = (((rows == 0) | (rows == 1)).all() and (rows == 1).any(1).all()
               and ((steps <= 0).all(1) | (steps >= 0).all(1)).all())
    return "padding" if bool(padding) else ""


def _check_finite(inputs: Any, what: str) -> None:
    """``inputs`` hold values, all finite (an additive mask aside)."""
    if empty := no_values(input_tensors(inputs)):  # (session 62: blamed on the model, or a ZeroDivisionError)
        raise ValueError(f"{what} hold {empty}")
    for t in input_tensors(unmasked(inputs)):  # an additive mask named in a dict may hold -inf
        bad = int((~torch.isfinite(t)).sum()) if t.is_floating_point() else 0
        if bad:
            raise ValueError(f"{what} hold {bad} non-finite value(s) (NaN/inf) of {t.numel()}; every proxy would "
                             "score noise: clean or re-normalise the batch")


class ReadOnce:
    """``inputs`` read into one batch at first use (the RNG seeded with ``seed``, restored after) and kept:
    :func:`swapnas.rank` scores every model on the same batch, also from a shuffled DataLoader or a generator."""
    read: tuple[Batch, bool] | None

    def __init__(self, inputs: Any, num_classes: int | None, seed: int) -> None:
        check_num_classes(num_classes)  # now, not at the first read: rank refuses it even if no model gets that far
        self.inputs, self.num_classes, self.seed, self.read = inputs, num_classes, seed, None

    @property
    def counted(self) -> bool:
        """Whether the batch's class count is taken from its labels: no ``num_classes`` given, and the inputs are no
        :class:`Batch`, which carries its own."""
        return self.num_classes is None and not isinstance(self.inputs, Batch)

    def batch(self) -> tuple[Batch, bool]:
        if self.read is None:
            np_state, py_state = np.random.get_state(), random.getstate()
            try:  # numpy's and Python's RNGs too, as a DataLoader's workers have them seeded (restored after)
                np.random.seed(self.seed % 2**32)
                random.seed(self.seed)
                with seeded(self.seed):  # a shuffled DataLoader draws its order here
                    self.read = as_batch(self.inputs, self.num_classes)
            finally:
                np.random.set_state(np_state)
                random.setstate(py_state)
        return self.read


def warn_class_count(model: torch.nn.Module, batch: Batch, wanted: list[Proxy], counted: bool) -> None:
    """A warning where a metric whose rule depends on the class count (``class_pairs``: EPE-NAS's rule above 100
    classes) reads a count taken from the labels (``counted``: no ``num_classes`` given) of 100 or fewer while the
    model's last Linear layer has more outputs (session 69: a 200-class model scored on labels 0..3 got the other
    rule, unsaid)."""
    if not counted or batch.loss != "ce" or batch.targets.dim() != 1 or batch.num_classes > 100:
        return
    names = [p.name for p in wanted
             if any(applies(q, need) == "class_pairs" for q in with_bases([p]) for need in q.requires)]
    heads = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)] if names else []
    if heads and heads[-1] > 100:
        warnings.warn(f"{', '.join(names)}: num_classes was counted from the labels ({batch.num_classes}), and the "
                      f"model's last Linear layer has {heads[-1]} outputs: the rule for more than 100 classes applies "
                      f"with num_classes={heads[-1]} (give the model's output size)", stacklevel=user_stacklevel())
