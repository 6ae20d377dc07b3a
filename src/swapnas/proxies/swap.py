"""SWAP-Score and its regularised form as registered proxies."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..act_functions import activation_like_names
from ..data import Batch
from ..patterns import EXTENDED_ACTIVATIONS, ICLR_ACTIVATIONS, NoActivationError, swap_score
from ..size_prior import regularise
from .registry import register

#: the pass each Ψ proxy makes, as ``swap_score``'s (and ``hooked_activations``') settings, for code that needs the
#: same pass (scripts/model_zoo.py). The proxies spell them out, so that their code digests (and stores' records of
#: them) stay as they were; tests/test_swap.py checks the two agree.
PSI_SETTINGS: dict[str, dict[str, Any]] = {
    "swap": {"activations": ICLR_ACTIVATIONS, "input_dims": (4,), "functions": False},
    "swap_ext": {"activations": EXTENDED_ACTIVATIONS, "input_dims": (2, 3, 4), "functions": False},
    "swap_fn": {"activations": EXTENDED_ACTIVATIONS, "input_dims": (2, 3, 4), "functions": True},
}


def _psi(batch: Batch, model: nn.Module, **settings: Any) -> float:
    """Ψ of ``model`` on the batch; a model the settings find no activation in gets proxy advice (a proxy user
    picks proxies, not swap_score's arguments)."""
    try:
        return float(swap_score(model, batch.inputs, restore_buffers=False, **settings))
    except NoActivationError as exc:  # the proxies first; swap_score's own settings only for a direct call
        direct = f" (Calling swapnas.swap_score itself: {exc.advice})" if exc.advice else ""
        others = activation_like_names(model, EXTENDED_ACTIVATIONS)
        kind = "is an activation module" if len(others) == 1 else "are activation modules"
        theirs = f" This model's {', '.join(others)} {kind} of another library (Hugging Face's, timm's): swap_fn " \
            f"hooks {'it' if len(others) == 1 else 'them'}." if others else ""
        none = "score it with a proxy that needs no activation (params, grad_norm, synflow, …)"
        if settings.get("functions"):  # swap_fn hooks the most (session 65: it advised swap_ext and itself)
            proxies = f"no SWAP proxy counts this model's activations (swap_fn hooks the most): {none}."
        elif settings.get("activations"):
            proxies = ("swap_ext counts the sign-keeping activation modules named above; use swap_fn for activations "
                       f"called as functions.{theirs}" + ("" if others else f" Where the model calls none, no SWAP "
                                                           f"proxy counts its activations: {none}."))
        else:
            proxies = ("swap (and what is derived from it: swap_reg, lswag, …) counts nn.ReLU modules on 4-D maps; use "
                       "swap_ext (and lswag_ext, swap_ext_layers) for other activations and token maps, swap_fn for "
                       f"activations called as functions.{theirs}")
        raise NoActivationError(exc.finding, f"As a proxy: {proxies}{direct}") from exc


@register("swap", version="1", keeps_model=True, requires=("relu",), multi_input=True)
def swap(model: nn.Module, batch: Batch) -> float:
    """SWAP-Score Ψ: distinct sample-wise ReLU patterns (ICLR 2024)."""
    return _psi(batch, model)


@register("swap_ext", version="1", keeps_model=True, multi_input=True)
def swap_ext(model: nn.Module, batch: Batch) -> float:
    """SWAP-Score over every sign-preserving activation module (EXTENDED_ACTIVATIONS: GELU, SiLU,
    Hardswish, … beside ReLU) with 2-, 3- or 4-D inputs (linear and token activations too): the
    journal extension's SWAP, for Transformers and CNNs with other activations."""
    return _psi(batch, model, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4))


@register("swap_fn", version="2", keeps_model=True, multi_input=True)
def swap_fn(model: nn.Module, batch: Batch) -> float:
    """swap_ext that also hooks activation functions called outside modules (F.relu, torch.relu, F.gelu, F.silu,
    …) and sign-keeping activation modules of other kinds (NewGELUActivation, QuickGELUActivation, …): for
    models whose activations are functions or modules of their own (nn.TransformerEncoderLayer, Hugging Face
    models); equal to swap_ext on a model whose activations are all modules of its kinds.

    Version 2 (session 14) added the modules of other kinds; on models without them it equals version 1."""
    return _psi(batch, model, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4), functions=True)


@register("swap_reg", base="swap", version="1", mu=None, sigma=None)
def swap_reg(value: float, model: nn.Module, mu: float | None, sigma: float | None) -> float:
    """Regularised SWAP Ψ·exp(−(Θ−μ)²/σ), Θ = params of the scored net in thousands."""
    if mu is None or sigma is None:
        raise ValueError(
            "swap_reg needs mu and sigma (thousands of parameters of the scored network): in Python "
            "options={'swap_reg': {'mu': …, 'sigma': …}}; on the command line --mu/--sigma, or the space's defaults"
        )
    return regularise(value, model, mu, sigma)
