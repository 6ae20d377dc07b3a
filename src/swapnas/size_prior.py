"""Network sizes (parameters, FLOPs) and the regularised SWAP-Score's size prior: Ψ' = Ψ · exp(−(Θ − μ)² / σ),
Θ the scored network's size."""

from __future__ import annotations

import functools
import math
import numbers
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode


def count_params_k(model: nn.Module, exclude: str = "auxiliary") -> float:
    """Parameters of ``model`` in THOUSANDS, skipping names containing ``exclude`` (a non-empty name part: "" is in
    every name, so it counted nothing until session 57)."""
    if not isinstance(model, nn.Module):  # (session 65: "'str' object has no attribute 'parameters'")
        raise TypeError(f"count_params_k counts the parameters of an nn.Module, not {model!r}")
    if not isinstance(exclude, str) or not exclude:
        raise ValueError(f"exclude is a part of the names of the parameters not counted, e.g. 'auxiliary', not "
                         f"{exclude!r}")
    if any(nn.parameter.is_lazy(p) for p in model.parameters()):
        raise ValueError(f"{type(model).__name__} has lazy modules (nn.LazyLinear …), whose sizes a first pass sets: "
                         "call the model once on an input first")
    return sum(p.numel() for n, p in model.named_parameters() if exclude not in n) / 1e3


def _sdpa_flops(query: torch.Size, key: torch.Size, value: torch.Size, *args: object, out_shape: object = None,
                **kwargs: object) -> int:
    from torch.utils import flop_counter
    return int(flop_counter.sdpa_flop_count(query, key, value))


@functools.cache
def _more_formulas() -> dict[Any, Callable[..., int]]:
    """Attention kernels FlopCounterMode has no formula for (torch 2.13: the CPU one), counted as its GPU kernels
    are. torch.utils.flop_counter is imported here, when FLOPs are first counted, not with swapnas (0.16 s of every
    process's start-up, session 56's profile: it imports triton where installed)."""
    from torch.utils import flop_counter
    cpu_attention = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    return {cpu_attention: _sdpa_flops} if cpu_attention and hasattr(flop_counter, "sdpa_flop_count") else {}


#: [blocks open, the flag before the first]: the flag is process-wide, and blocks of several threads overlap
_FASTPATH: list = [0, True]
_FASTPATH_LOCK = threading.Lock()


class _PassThrough(TorchFunctionMode):
    """Every torch function called as it is; being active is its point (see :func:`unfused_attention`)."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        return func(*args, **(kwargs or {}))


@contextmanager
def unfused_attention() -> Iterator[None]:
    """PyTorch's fused fast path of ``nn.MultiheadAttention`` / ``nn.TransformerEncoderLayer`` off (it runs in eval
    mode without gradients, in one kernel FlopCounterMode cannot see: such an encoder counted 0 FLOPs until session
    51; SWAP's hooks cannot read the nested tensor it packs a padded batch into, session 53); the flag restored once
    the last block open in the process ends (two threads' blocks overlapping left it off before). Torch 2.2 has no
    such flag: there an active torch-function mode that changes no call keeps the fast paths off ("some Tensor
    argument has_torch_function"; until session 54 nothing did, and an encoder in eval mode counted 0 FLOPs)."""
    mha = getattr(torch.backends, "mha", None)
    if mha is None or not hasattr(mha, "set_fastpath_enabled"):
        with _PassThrough():
            yield
        return
    with _FASTPATH_LOCK:
        if _FASTPATH[0] == 0:
            _FASTPATH[1] = mha.get_fastpath_enabled()
            mha.set_fastpath_enabled(False)
        _FASTPATH[0] += 1
    try:
        yield
    finally:
        with _FASTPATH_LOCK:
            _FASTPATH[0] -= 1
            if _FASTPATH[0] == 0:
                mha.set_fastpath_enabled(_FASTPATH[1])


def count_flops(model: nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one forward pass of ``x`` (no gradient) as ``FlopCounterMode`` counts them: 2 per multiply-add of
    matmuls and convolutions (attention's too, on every device), element-wise ops ignored. The model's train/eval
    mode is the caller's."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False, custom_mapping=_more_formulas())
    with torch.no_grad(), unfused_attention(), counter:
        model(x)
    return int(counter.get_total_flops())


def check_prior(mu: float | None, sigma: float | None) -> None:
    """μ and σ of a size prior, where given: finite numbers, σ > 0 (ValueError naming ``--mu`` / ``--sigma``)."""
    if mu is not None and not (isinstance(mu, (int, float)) and math.isfinite(mu)):
        raise ValueError(f"--mu must be a finite number (thousands of params), got {mu!r}")
    if sigma is not None and not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"--sigma must be a finite number > 0 (thousands^2, unsquared), got {sigma!r}")


def size_prior(theta_k: float, mu: float, sigma: float) -> float:
    """f(Θ) = exp(−(Θ − μ)² / σ), Θ and μ in thousands of parameters.

    σ is not squared and there is no factor 2: f = 1/e at |Θ − μ| = √σ.
    """
    for name, value in (("theta_k", theta_k), ("mu", mu), ("sigma", sigma)):  # (session 64: a NaN Θ gave NaN, a
        if isinstance(value, bool) or not isinstance(value, numbers.Real):  # str torch's bare TypeError)
            raise TypeError(f"size_prior: {name} must be a number, not {value!r}"
                            + (" (a tensor's number: .item())" if isinstance(value, torch.Tensor) else ""))
    if not math.isfinite(theta_k) or theta_k < 0:  # (a negative size: session 65)
        raise ValueError(f"size_prior: theta_k (the network's size in thousands of parameters) must be finite and "
                         f">= 0, not {theta_k}")
    if not (math.isfinite(mu) and math.isfinite(sigma)):
        raise ValueError(f"mu and sigma must be finite numbers (got mu={mu}, sigma={sigma})")
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0 (got {sigma}); it is the width of the size prior")
    return math.exp(-((theta_k - mu) ** 2) / sigma)


#: Size-prior rule that reads no label when applied; its constants were chosen on the NB201 dev sample only
#: (CIFAR-10 validation accuracy of the 1000-arch seed-0 sample, docs/protocol.md, docs/results.md): μ sits at
#: PRIOR_CENTRE of the space's scored-net size range and √σ spans PRIOR_WIDTH of it.
PRIOR_CENTRE = 0.8
PRIOR_WIDTH = 1.0


def prior_from_range(lo_k: float, hi_k: float, centre: float = PRIOR_CENTRE,
                     width: float = PRIOR_WIDTH) -> tuple[float, float]:
    """μ = lo + centre·(hi − lo), σ = (width·(hi − lo))² from a space's size range (thousands)."""
    if not hi_k > lo_k:
        raise ValueError(f"the size range must have hi > lo (got lo={lo_k}, hi={hi_k} thousand params)")
    return lo_k + centre * (hi_k - lo_k), (width * (hi_k - lo_k)) ** 2


def regularise(score: float, model: nn.Module, mu: float, sigma: float) -> float:
    """Regularised SWAP-Score Ψ' = Ψ · exp(−(Θ − μ)² / σ).

    Θ is the parameter count of ``model`` in thousands, leaving out parameters whose name holds ``auxiliary``
    (DARTS's auxiliary head); μ (thousands of parameters) and σ (thousands², unsquared) set the
    target size and the width of the prior. A score that is not a number >= 0, or a ``mu``/``sigma`` that is not a
    number (``True``, a string, a dict of scores), is a TypeError or ValueError naming it (session 57). The value is
    a Python float (session 69: a numpy float32 score gave a float32).
    """
    for name, value in (("score", score), ("mu", mu), ("sigma", sigma)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            hint = " (score(...) returns a dict: pass score(...)['swap'])" if isinstance(value, dict) else ""
            raise TypeError(f"regularise's {name} is a number, not {value!r}{hint}")
    if not math.isfinite(score) or score < 0:
        raise ValueError(f"regularise's score is a SWAP-Score, a count >= 0, not {score}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"regularise counts the parameters of a torch.nn.Module, not {type(model).__name__}")
    return float(score) * size_prior(count_params_k(model), mu, sigma)
