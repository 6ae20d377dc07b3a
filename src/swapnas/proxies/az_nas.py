"""az_nas: AZ-NAS, four zero-cost parts (expressivity, progressivity, trainability, complexity)
assembled by a log-rank sum over the candidate set.

Reference: J. Lee, B. Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network
Architecture Search", CVPR 2024 (published NAS-Bench-201 Spearman ρ over all
15,625 archs: CIFAR-10 0.913, CIFAR-100 0.900, ImageNet16-120 0.886).

Blocks (which feature maps the parts look at)
---------------------------------------------
The paper uses the feature maps f_0, …, f_L at the block (cell/stage) outputs;
on NB201 the authors take the stem output and the output of every entry of the
network's cell list (stem + 3N cells + 2 reduction blocks, 3N+3 maps). Here
the *block container* is

1. ``blocks="<dotted path>"``: that submodule (an ``nn.Sequential`` or
   ``nn.ModuleList``), if given; else (``blocks="auto"``, the default)
2. the shallowest ``nn.Sequential``/``nn.ModuleList`` whose attribute name is
   one of ``cells``, ``layers``, ``blocks``, ``stages``, ``features`` (first in
   module order on a tie): NB201, NB101 and DARTS ``cells``, TransNAS
   ``encoder.layers``, torchvision's ``features``; else
3. every ``nn.Sequential``/``nn.ModuleList`` at the shallowest depth that
   holds one with a block (e.g. ``layer1`` … ``layer4`` of a torchvision ResNet),
   in module order; else
4. the model's own children (a flat model whose layers are attributes, ``self.conv1``, ``self.conv2``, …; session
   52: it was refused, and so was ``best``, whose universal form reads expressivity and progressivity).

A model that is a *wrapper*, a module whose one block holds blocks of its own (``nn.Sequential(model)``,
``nn.Sequential(model, nn.Softmax(1))``, a holder of the model, a model whose one block is its ``stages``), is looked
through: the rules read what it wraps, rule 2 by the names the model gives them (session 65: the wrapper was the
container, its one block the whole model, so the image was the only map and expressivity the input's entropy for
every network).

The *blocks* are the container's children, except bare torch.nn layers that
only pool, activate, normalise, drop out, flatten or pass through (classes
defined in ``torch.nn.modules.{pooling, activation, batchnorm, normalization,
dropout, flatten}``, and ``nn.Identity``): NB101's max-pools between stacks are
not blocks. The feature maps are, in execution order, the first positional
input of the first block call (the stem output; the image if there is no stem)
and the output of every block call; only 4-D tensors (S, C, H, W) count. On
NB201 this gives exactly the authors' maps. A DARTS cell reads the two previous
cells' outputs; its pair (f_{l-1}, f_l) uses the derivative through f_{l-1}
only (the other input held fixed), which is what autograd gives.

Definitions
-----------
Expressivity, per map f (S, C, H, W): the S·H·W spatial positions are the
observations of a C-vector; Σ = (1/n) Σ_p (f_p − μ)(f_p − μ)ᵀ is their C×C
covariance, λ_i its eigenvalues, p_i = λ_i / Σ_j λ_j, and
E(f) = −Σ_i p_i log p_i (natural log), the entropy of the normalised spectrum.
``az_nas_expressivity`` = Σ_{l=0..L} E(f_l) (higher is better).

Progressivity: ``az_nas_progressivity`` = min_{l=1..L} (E(f_l) − E(f_{l−1}))
(higher is better; needs ≥ 2 maps).

Trainability, per consecutive pair (f_{l−1} → f_l): g_out is a Rademacher (±1)
probe of f_l's shape, g_in = J_lᵀ g_out the vector-Jacobian product
∂f_l/∂f_{l−1} (``torch.autograd.grad``). If f_l has a lower resolution by a
factor s, g_in is space-to-depth rearranged (C·s² channels, f_l's resolution).
With g_in, g_out flattened per position to (n, C_in) and (n, C_out), n = S·H·W,
M = g_inᵀ g_out / n (a Monte-Carlo estimate of the position-wise channel
Jacobian) and σ_l = its largest singular value (spectral norm). The pair scores
−σ_l − 1/(σ_l + ε) + 2, ε = 1e-6 (at most 0, at σ = 1), and
``az_nas_trainability`` = the mean over the L pairs (higher is better). The
probes come from a ``torch.Generator`` seeded with SHA-256 of (``seed`` option,
the batch's shape, dtype and input values), drawn on the CPU in pair order, so a
score is deterministic, device-independent and never touches the global RNG.

Complexity: ``az_nas_complexity`` = the ``flops`` proxy (FLOPs of one forward
of one sample; higher is better, as in the paper).

Assembly (set-level ``az_nas``): over the m scored candidates,
s_AZ(i) = Σ_parts log(rank_part(i) / m), ranks ascending (the best value gets
m, scipy ``rankdata``, ties averaged), all four parts being higher-is-better.

Deviations from the paper / the authors' code, and why
------------------------------------------------------
* Degenerate maps: a map with zero covariance (e.g. an NB201 cell whose output
  is identically zero) gets E = 0 (0·log 0 = 0) instead of the authors' NaN,
  which their code turns into −∞ for both expressivity and progressivity of the
  arch. Our store treats non-finite scores as failures; E = 0 is the lowest
  value an entropy can take, so such archs still rank at the bottom.
* Identity blocks: when g_in equals g_out exactly (the block returns its input,
  e.g. an NB201 cell that is a pure skip path) the authors score the arch's
  trainability −∞; here that pair scores the formula's value at σ = 0,
  2 − 1/ε = −999 998, the same as a dead (zero-Jacobian) block, for the same
  reason. Such archs still rank at (or next to) the bottom.
* Entropy: computed in float64 with eigenvalues clipped at 0 and
  0·log 0 = 0; the authors use float32 and p·log(p + 1e-8). The difference is
  far below the ranking resolution.
* Probes: Rademacher vectors from a seeded local generator rather than the
  global RNG (the authors' ``torch.bernoulli``); the estimator is the same.
* Inputs, initialisation and BN mode are the caller's: the authors score NB201
  with Gaussian-noise inputs (batch 64), Kaiming-normal (fan-in) init and
  BatchNorm in training mode; here ``--inputs synthetic`` gives the noise
  inputs (see docs/conformance.md, section AZ-NAS).
* Complexity: the authors read the benchmark's FLOPs; here FlopCounterMode
  counts convolutions and linear layers of the scored network.
* A block output modified in place by its parent after the block returns is
  seen modified by the trainability gradient (expressivity copies it first).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch
from torch import nn

from ..data import Batch
from ..swap_checks import NO_GRAD_BLOCK
from ._common import forward_hooks, require_float_inputs
from .flops import flops
from .registry import register, register_set

#: Attribute names that mark a network's main block sequence (rule 2 in the module docstring).
CONTAINER_NAMES: tuple[str, ...] = ("cells", "layers", "blocks", "stages", "features")
#: torch.nn submodules whose layers are never blocks (pooling, activation, normalisation, …).
_NOT_BLOCK_MODULES: tuple[str, ...] = tuple(
    f"torch.nn.modules.{m}" for m in ("pooling", "activation", "batchnorm", "normalization", "dropout", "flatten")
)
_CONTAINERS = (nn.Sequential, nn.ModuleList)
#: ε of the trainability term −σ − 1/(σ + ε) + 2 (the authors' value)
EPS = 1e-6
#: the pair score of a zero Jacobian (σ = 0), also given to identity blocks
DEAD_PAIR = 2.0 - 1.0 / EPS


def _is_block(module: nn.Module) -> bool:
    """Not an identity, and not a torch pooling/activation/… layer or a subclass of one."""
    torch_kinds = (c.__module__ for c in type(module).__mro__ if c.__module__.startswith("torch.nn.modules."))
    return not (isinstance(module, nn.Identity) or next(torch_kinds, None) in _NOT_BLOCK_MODULES)


def _block_children(container: nn.Module) -> list[nn.Module]:
    return [c for c in container.children() if _is_block(c)]


def _wrapper(module: nn.Module) -> bool:
    """One block child, which has blocks of its own (the module docstring's *wrapper*)."""
    children = _block_children(module)
    return len(children) == 1 and bool(_block_children(children[0]))


def block_modules(model: nn.Module, blocks: str = "auto") -> list[nn.Module]:
    """The blocks of ``model`` under the rule in the module docstring, in module order.

    Raises:
        ValueError: ``blocks`` names no container, or the model has neither a block container nor a block child.
    """
    if blocks != "auto":
        try:
            container = model.get_submodule(blocks)
        except AttributeError:
            raise ValueError(f"az_nas: the model has no submodule {blocks!r} (the blocks option)") from None
        if not isinstance(container, _CONTAINERS):
            raise ValueError(f"az_nas: submodule {blocks!r} is a {type(container).__name__}, "
                             "not an nn.Sequential or nn.ModuleList")
        found = _block_children(container)
        if not found:
            raise ValueError(f"az_nas: submodule {blocks!r} has no block (its children are pooling, activation, "
                             "normalisation or identity layers)")
        return found
    root, at = _unwrapped(model)  # names below are relative to the root ("" for it), rule 2 reads the model's own
    inside = [(n[len(at):].lstrip(".") if at else n, n, m) for n, m in model.named_modules()
              if (not at or n == at or n.startswith(at + ".")) and isinstance(m, _CONTAINERS) and _block_children(m)]
    containers = [(rel, m) for rel, _, m in inside]
    named = [(rel, m) for rel, n, m in inside if n.rsplit(".", 1)[-1] in CONTAINER_NAMES]
    if named:
        depth = min(_level(n) for n, _ in named)
        return _block_children(next(m for n, m in named if _level(n) == depth))
    if not containers and _block_children(root):
        return _block_children(root)
    if not containers:
        raise ValueError(
            f"az_nas: {type(model).__name__} has no hookable blocks: no nn.Sequential/nn.ModuleList holds a block "
            f"(looked for {', '.join(CONTAINER_NAMES)} first) and none of its own children is one; pass "
            "blocks='<submodule path>'"
        )
    depth = min(_level(n) for n, _ in containers)
    return [b for n, m in containers if _level(n) == depth for b in _block_children(m)]


def _level(name: str) -> int:
    """A submodule's depth under the root of :func:`block_modules` (-1: the root itself)."""
    return -1 if name == "" else name.count(".")


def _unwrapped(model: nn.Module) -> tuple[nn.Module, str]:
    """The module that ``model``'s wrappers hold (the module docstring), and its dotted name in ``model`` ("": the
    model is no wrapper). A list named as in rule 2 is kept, not looked through (its one block is a block: one cell)."""
    at = ""
    while _wrapper(model) and not (isinstance(model, _CONTAINERS) and at.rsplit(".", 1)[-1] in CONTAINER_NAMES):
        name, model = next((n, c) for n, c in model.named_children() if _is_block(c))
        at = f"{at}.{name}" if at else name
    return model, at


def block_features(model: nn.Module, inputs: torch.Tensor, blocks: str = "auto",
                   keep_graph: bool = False) -> list[torch.Tensor]:
    """[first block's input, every block call's output]: the 4-D maps, in execution order.

    With ``keep_graph`` the maps stay in the autograd graph (the inputs are made to require
    grad); otherwise they are detached copies taken under ``torch.no_grad``.

    Raises:
        ValueError: no blocks, or no block produced a 4-D map.
    """
    found = block_modules(model, blocks)
    ids = {id(b) for b in found}
    maps: list[torch.Tensor] = []
    calls, graphless = [0], []

    def keep(t: object) -> None:
        if isinstance(t, torch.Tensor) and t.dim() == 4:
            maps.append(t if keep_graph else t.detach().clone())

    def hook(module: nn.Module, args: tuple, output: object) -> None:
        if id(module) not in ids:
            return
        if calls[0] == 0 and args:
            keep(args[0])
        calls[0] += 1
        keep(output)
        if keep_graph and not torch.is_grad_enabled():
            graphless.append(type(module).__name__)

    if keep_graph:
        require_float_inputs(inputs, "az_nas_trainability", "follows gradients from the network input through its blocks")
    x = inputs.detach().clone().requires_grad_(True) if keep_graph else inputs
    with forward_hooks(model, tuple({type(b) for b in found}), hook), torch.set_grad_enabled(keep_graph):
        model(x)
    if calls[0] == 0:
        raise ValueError(f"az_nas: none of the {len(found)} blocks of {type(model).__name__} ran in the forward pass")
    if graphless:  # (session 64: read as a dead block, -499999.7 for -0.82)
        raise ValueError(f"az_nas: block {graphless[0]} of {type(model).__name__} ran without autograd, so no "
                         f"gradient through it can be followed ({NO_GRAD_BLOCK}); with checkpointing use "
                         "use_reentrant=False, else leave az_nas_trainability out")
    if not maps:
        raise ValueError(f"az_nas: the blocks of {type(model).__name__} produced no 4-D (S, C, H, W) feature map")
    return maps


def spectral_entropy(fmap: torch.Tensor) -> float:
    """E(f) = −Σ p_i log p_i, p the normalised eigenvalues of the channel covariance over positions.

    ``fmap`` is (S, C, H, W): the S·H·W positions are the observations. A map with zero
    covariance has E = 0.

    Raises:
        ValueError: the map holds NaN or ±inf.
    """
    if not torch.isfinite(fmap).all():
        raise ValueError("az_nas: a block's feature map holds NaN or inf: check the model's weights and the batch for "
                         "NaN or inf, or leave the az_nas metrics out for this model")
    c = fmap.shape[1]
    x = fmap.detach().double().permute(0, 2, 3, 1).reshape(-1, c)
    x = x - x.mean(dim=0, keepdim=True)
    lam = torch.linalg.eigvalsh(x.T @ x / x.shape[0]).clamp_min(0.0)
    total = lam.sum()
    if not total > 0:
        return 0.0
    p = lam[lam > 0] / total
    return float(-(p * p.log()).sum())


def _entropies(model: nn.Module, batch: Batch, blocks: str) -> list[float]:
    return [spectral_entropy(f) for f in block_features(model, batch.inputs, blocks)]


def probe_generator(inputs: torch.Tensor, seed: int = 0) -> torch.Generator:
    """A CPU generator seeded by SHA-256 of (seed, shape, input values): same batch, same probes. Float inputs hash as
    ``torch.float32`` whatever their dtype (session 65: a float64 copy of a model and its batch drew other probes, 7 %
    off; the float32 probes are those of before), other dtypes by their name."""
    dtype = torch.float32 if inputs.is_floating_point() else inputs.dtype
    h = hashlib.sha256(f"az_nas|{seed}|{tuple(inputs.shape)}|{dtype}".encode())
    h.update(inputs.detach().to("cpu", torch.float64).contiguous().numpy().tobytes())
    return torch.Generator().manual_seed(int.from_bytes(h.digest()[:8], "little") & (2**63 - 1))


def rademacher(shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
    """±1 entries, each with probability 1/2, drawn on the CPU in float64."""
    return torch.randint(0, 2, tuple(shape), generator=generator, dtype=torch.float64) * 2.0 - 1.0


def space_to_depth(g: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(S, C, H, W) → (S, C·sh·sw, h, w) with sh = H // h, sw = W // w (rows/cols beyond sh·h, sw·w dropped)."""
    s, c, big_h, big_w = g.shape
    if big_h < h or big_w < w:
        raise ValueError(f"az_nas: a block raises the resolution ({big_h}×{big_w} → {h}×{w}); "
                         "trainability needs blocks that keep or reduce it")
    sh, sw = big_h // h, big_w // w
    g = g[:, :, : sh * h, : sw * w].reshape(s, c, h, sh, w, sw)
    return g.permute(0, 1, 3, 5, 2, 4).reshape(s, c * sh * sw, h, w)


def pair_spectral_norm(g_in: torch.Tensor, g_out: torch.Tensor) -> float:
    """σ_max of M = g_inᵀ g_out / n, the (S, C, H, W) maps flattened to (n, C) per position."""
    if g_in.shape[0] != g_out.shape[0]:
        raise ValueError(f"az_nas: consecutive blocks see different batch sizes ({g_in.shape[0]} vs {g_out.shape[0]})")
    _, c_out, h, w = g_out.shape
    if g_in.shape[2:] != g_out.shape[2:]:
        g_in = space_to_depth(g_in, h, w)
    a = g_in.double().permute(0, 2, 3, 1).reshape(-1, g_in.shape[1])
    b = g_out.double().permute(0, 2, 3, 1).reshape(-1, c_out)
    return float(torch.linalg.matrix_norm(a.T @ b / a.shape[0], ord=2))


def pair_score(sigma: float) -> float:
    """−σ − 1/(σ + ε) + 2: 0 at σ = 1, lower as the block shrinks or amplifies gradients."""
    return -sigma - 1.0 / (sigma + EPS) + 2.0


@register("az_nas_expressivity", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data",
          version="1", keeps_model=True, blocks="auto", requires=("conv_blocks",))
def az_nas_expressivity(model: nn.Module, batch: Batch, blocks: str = "auto") -> float:
    """AZ-NAS expressivity: Σ over block maps of the entropy of the normalised covariance spectrum.

    See the module docstring for the blocks and the exact definition.

    Raises:
        ValueError: no blocks or no 4-D block output, or a map holds NaN/inf.
    """
    return float(sum(_entropies(model, batch, blocks)))


@register("az_nas_progressivity", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data",
          version="1", keeps_model=True, blocks="auto", requires=("conv_blocks",))
def az_nas_progressivity(model: nn.Module, batch: Batch, blocks: str = "auto") -> float:
    """AZ-NAS progressivity: min over consecutive block maps of the increase of their spectral entropy.

    Raises:
        ValueError: fewer than two block maps, or as for expressivity.
    """
    e = _entropies(model, batch, blocks)
    if len(e) < 2:
        raise ValueError(f"az_nas: progressivity needs at least two block feature maps, found {len(e)}")
    return float(min(b - a for a, b in zip(e, e[1:])))


@register("az_nas_trainability", higher_is_better=True, needs_grad=True, needs_labels=False, input_kind="data",
          version="1", keeps_model=True, blocks="auto", seed=0, requires=("conv_blocks",))
def az_nas_trainability(model: nn.Module, batch: Batch, blocks: str = "auto", seed: int = 0) -> float:
    """AZ-NAS trainability: mean over consecutive blocks of −σ − 1/(σ+ε) + 2, σ = ‖∂f_l/∂f_{l−1}‖₂.

    σ is estimated from one Rademacher probe per pair (seeded from ``seed`` and the batch);
    an identity block scores like a dead one. See the module docstring.

    Raises:
        ValueError: fewer than two block maps, a block that raises the resolution, a gradient that is not
            finite or a gain that overflows float64, or as for expressivity.
    """
    maps = block_features(model, batch.inputs, blocks, keep_graph=True)
    if len(maps) < 2:
        raise ValueError(f"az_nas: trainability needs at least two block feature maps, found {len(maps)}")
    gen = probe_generator(batch.inputs, seed)
    scores = []
    for pair, (f_in, f_out) in enumerate(zip(maps, maps[1:]), start=1):
        g_out = rademacher(f_out.shape, gen).to(device=f_out.device, dtype=f_out.dtype)
        g_in = None
        if f_in.requires_grad and f_out.requires_grad:
            (g_in,) = torch.autograd.grad(f_out, f_in, grad_outputs=g_out, retain_graph=True, allow_unused=True)
        if g_in is None:  # f_out does not depend on f_in
            g_in = torch.zeros_like(f_in)
        if not torch.isfinite(g_in).all():  # else the spectral norm's SVD fails with torch's own message
            raise ValueError(f"az_nas: the gradient of feature map {pair} with respect to map {pair - 1} holds NaN or "
                             "inf (a block's backward is not finite on this batch): leave az_nas_trainability out "
                             "for this model")
        if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
            scores.append(DEAD_PAIR)
        else:
            scores.append(pair_score(pair_spectral_norm(g_in.detach(), g_out)))
    del maps
    value = float(np.mean(scores))
    if not math.isfinite(value):
        raise ValueError(f"az_nas: non-finite trainability ({value}): a block's gradient gain σ overflows float64; "
                         "check the model's weights for huge values, or leave az_nas_trainability out for this model")
    return value


@register("az_nas_complexity", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data",
          version="1")
def az_nas_complexity(model: nn.Module, batch: Batch) -> float:
    """AZ-NAS complexity: FLOPs of one forward of one sample (the ``flops`` proxy)."""
    return flops(model, batch)


def log_rank_sum(parts: list[np.ndarray]) -> np.ndarray:
    """Σ_parts log(rank / m): ranks ascending over the m candidates (best gets m), ties averaged."""
    from scipy.stats import rankdata  # here, not at the top: scipy.stats alone takes ~1 s to import
    arrays = [np.asarray(p, dtype=float) for p in parts]
    if not arrays:
        raise ValueError("az_nas: no part scores to combine")
    m = len(arrays[0])
    if any(len(a) != m for a in arrays):
        raise ValueError(f"az_nas: part score arrays differ in length: {[len(a) for a in arrays]}")
    return np.sum([np.log(rankdata(a) / m) for a in arrays], axis=0)


register_set(
    "az_nas", ("az_nas_expressivity", "az_nas_progressivity", "az_nas_trainability", "az_nas_complexity"),
    log_rank_sum, version="1",
    description="AZ-NAS log-rank sum of expressivity, progressivity, trainability and FLOPs over the candidate set "
                "(Lee & Ham, CVPR 2024).",
)
