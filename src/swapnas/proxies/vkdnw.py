"""vkdnw: Variance of Knowledge of Deep Network Weights, its layer count ℵ and its two rankings.

Reference: O. Týbl, L. Neumann, "Training-free Neural Architecture Search through
Variance of Knowledge of Deep Network Weights", CVPR 2025 (arXiv:2502.04975); the
authors' code is github.com/ondratybl/VKDNW. Only the paper's abstract and Table 1 were
available offline, so the details below are read from the authors' NB201 code
(``NB201/ZeroShotProxy/compute_vkdnw_score.py`` at 6901b65; the rankings from
``NB201/tss_utils.py`` and ``NB201/paper_preparation.ipynb``, which made Table 1).
Nothing is copied from it.

**VKDNW** (``vkdnw``, one value per network, higher is better). The Fisher information
matrix of the network's weights under the model's *own* predictive distribution (no
labels): for a classifier with logits z(x) and softmax probabilities p(x),

    F = (1/S) Σ_n J_nᵀ (diag p̃_n − p̃_n p̃_nᵀ) J_n,     J_n = ∂z(x_n)/∂θ  (K × P),

which is E_{y ~ p̃(·|x_n)}[∇_θ log p̃(y|x_n) ∇_θ log p̃(y|x_n)ᵀ] averaged over the batch.
p̃ = (1 − α) p + α/K is the softmax smoothed with α = ``smoothing`` = 0.05, as in the
authors' code (they factor diag p̃ − p̃p̃ᵀ by Cholesky; we use the matrix itself, which is
the same F). θ is the paper's subset of weights: **one scalar per parameter tensor, the
first entry (flat index 0) of each of the first ``tensors`` = 128 trainable parameter
tensors** in ``model.named_parameters()`` order (Conv/Linear weights and biases and
BatchNorm γ/β alike), as the authors' published NB201 runs do (their ablation "layers
taken from the beginning of the network"; their code's ``p=1`` sample per tensor). The
choice is deterministic, so no random draw is involved. With λ the P eigenvalues of F
(absolute values, i.e. its singular values, as the authors' SVD), q_k the k-th decile of
λ (k = 1..9, linear interpolation) and w_k = q_k / (Σ_j q_j + 1e-10),

    VKDNW = −Σ_k w_k log(w_k + 1e-10)          (in [0, log 9]; 0 when F = 0).

Protocol details, all following the authors' NB201 code:

* **BatchNorm in eval mode.** The authors switch the model to ``eval()`` before the
  Jacobian, so BatchNorm uses its running statistics (mean 0, variance 1 on a freshly
  built network) and every sample is processed independently. The proxy does the same
  and restores every module's train/eval flag afterwards; the running statistics are
  not changed. (It therefore does *not* follow the caller's BatchNorm mode.)
* **Random inputs.** The authors' published runs feed N(0, 1) noise of the batch's shape
  (their ablation shows real images give about the same ranking). ``inputs="random"``
  (default) draws it from a ``torch.Generator`` seeded with ``seed``; ``inputs="data"``
  uses the batch's images instead.
* Their init is Kaiming-normal (fan-in); the caller owns init here (see
  ``docs/conformance.md``).

Deviations from the authors' code, none of which changes a value beyond rounding on
NB201: the eigenvalues come from ``eigvalsh`` (absolute values) instead of an SVD; the
deciles are taken at exactly k/10 in float64 (theirs: float32 ``arange``); α is exactly
0.05 (theirs is a float16 0.05 = 0.049988); only trainable (``requires_grad``) tensors
are counted and chosen (theirs: all parameters; NB201 has no frozen ones); the noise
input comes from a seeded local generator (theirs: the global RNG).

Computation (ours, not the authors' ``vmap(jacrev)``): one forward pass records the
input and output of every module that owns a chosen tensor; a forward-mode derivative of
that module alone along the one-hot direction of the chosen entry gives ∂(module
output)/∂θ_t for the whole batch; one backward pass per output coordinate k gives the
per-sample ∂z_{n,k}/∂(module output) (valid because eval-mode samples are independent);
their contraction is J_n[k, t]. Cost: one forward, K backward passes (K = number of
classes: 10 for CIFAR-10 but 100/120 for CIFAR-100/ImageNet16-120) and one small module
forward per chosen tensor. A chosen tensor is differentiated through the module that owns
it, which must return a tensor and be called with positional arguments only (checked).

Other outputs: ``batch.loss`` 'ce' needs (S, K) logits. For 'mse'/'l1' the model is
read as a regression with (S, D) outputs and the Fisher of a unit-scale Gaussian
(Laplace) likelihood, F = (1/S) Σ_n J_nᵀ J_n (the scale does not change VKDNW). Dense
(S, C, H, W) outputs raise ``ValueError``: one backward pass per output coordinate would
be needed.

**ℵ** (``vkdnw_layers``): the paper's "number of trainable layers", computed as the
authors' code does: the number of trainable parameter tensors of the model (NB201
C=16/N=5: 21 + 45 × the number of conv edges, all 15 cells counted, dead edges included).

**Rankings** (set-level, over the scored candidates; higher is better):

* ``vkdnw_single`` = the paper's VKDNW_single: dense rank of the pairs (ℵ, VKDNW) in
  lexicographic order, ℵ the dominant key (the authors' ``rank(method="dense")`` of the
  tuple).
* ``vkdnw_agg`` = the paper's VKDNW_agg, the authors' sum of log-ranks:
  log(r_single/n) + Σ_m log(r_m/n) over m ∈ {FLOPs (``flops``), Jacov (``jacob_cov``),
  AZ-NAS expressivity and trainability (``az_nas_expressivity``,
  ``az_nas_trainability``)}, r_m the average rank (ties share) of m oriented so that
  better is larger (by each part's ``higher_is_better``), n the number of candidates.
  An arch whose Jacov fails (constant Jacobian rows: a cell with no path from input to
  output) gets the lowest Jacov value over the set, as the authors' code does
  (``fillna(min)`` before ranking; version 2, session 16: version 1 left such archs out);
  an arch whose other part fails is left out (the framework's rule for set-level proxies).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jvp

from ..data import Batch
from . import az_nas, flops, jacob_cov  # noqa: F401  (register vkdnw_agg's parts first, whatever the import order)
from ._common import forward_hooks, require_float_inputs
from .registry import get_proxy, register, register_set

#: the quantile levels summarised by VKDNW
DECILES: tuple[float, ...] = tuple(k / 10 for k in range(1, 10))
_EPS = 1e-10
INPUTS = ("random", "data")


def trainable_tensors(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """(name, parameter) of every trainable parameter tensor, in ``named_parameters()`` order."""
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def _owners(model: nn.Module) -> dict[int, tuple[nn.Module, str]]:
    """id(parameter) → (the first module that holds it directly, its attribute name)."""
    owners: dict[int, tuple[nn.Module, str]] = {}
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            owners.setdefault(id(p), (module, name))
    return owners


def _record_owner_calls(model: nn.Module, inputs: torch.Tensor, kinds: tuple[type, ...],
                        chosen: dict[int, list]) -> tuple[torch.Tensor, list[tuple[nn.Module, tuple, torch.Tensor]]]:
    """One forward pass: the (S, K) outputs and (module, args, output) of every call of a module in ``chosen``."""
    calls: list[tuple[nn.Module, tuple, torch.Tensor]] = []

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if id(module) not in chosen:
            return None
        if not isinstance(output, torch.Tensor):
            raise ValueError(f"vkdnw: {type(module).__name__} holds a chosen parameter but returns "
                             f"{type(output).__name__}, not a tensor")
        calls.append((module, args, output))
        return output.clone()  # later in-place ops act on the copy; ``output`` keeps its value and graph

    with forward_hooks(model, kinds, hook):
        out = model(inputs)
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"vkdnw needs (S, outputs) model outputs (logits of a classifier); got {shape}")
    return out, calls


def _entry_tangents(calls: list[tuple[nn.Module, tuple, torch.Tensor]], chosen: dict[int, list],
                    s: int) -> list[tuple[int, int, torch.Tensor, torch.Tensor]]:
    """(t, call, positions, values): the forward-mode derivative of each owning module's output along its
    chosen entries, kept at the (flattened) output positions where it is non-zero."""
    tangents: list[tuple[int, int, torch.Tensor, torch.Tensor]] = []
    for c, (module, args, output) in enumerate(calls):
        if output.dim() == 0 or output.shape[0] != s:
            raise ValueError(f"vkdnw: {type(module).__name__} holds a chosen parameter but its output "
                             f"{tuple(output.shape)} is not batched like the inputs ({s} samples)")
        frozen = tuple(a.detach() if isinstance(a, torch.Tensor) else a for a in args)
        for t, name, p in chosen[id(module)]:
            w = p.detach()
            direction = torch.zeros(w.numel(), dtype=w.dtype, device=w.device)
            direction[0] = 1.0
            direction = direction.reshape(w.shape)
            primal, tangent = jvp(  # type: ignore[misc]  # no has_aux: two values
                lambda v, m=module, n=name: functional_call(m, {n: v}, frozen), (w,), (direction,))
            ref = output.detach()
            if primal.shape != ref.shape or not torch.allclose(  # the first sample suffices to catch a mismatch
                    primal[:1], ref[:1], rtol=1e-4, atol=1e-6 * float(ref[:1].abs().max()) + 1e-12):
                raise ValueError(f"vkdnw: {type(module).__name__} did not reproduce its output from its "
                                 "positional inputs (called with keyword arguments, or stateful?)")
            flat = tangent.reshape(s, -1)
            where = flat.ne(0).any(dim=0).nonzero().squeeze(1)
            tangents.append((t, c, where, flat[:, where].double()))
    return tangents


def _contract(out: torch.Tensor, recorded: list[torch.Tensor],
              tangents: list[tuple[int, int, torch.Tensor, torch.Tensor]], n_params: int) -> torch.Tensor:
    """J (S, K, P) float64: one backward pass per output coordinate gives the per-sample
    ∂out[n, k]/∂(module output), contracted with the tangents."""
    s, k_out = out.shape
    jac = torch.zeros(s, k_out, n_params, dtype=torch.float64, device=out.device)
    for k in range(k_out if tangents and out.requires_grad else 0):
        grads = torch.autograd.grad(out[:, k].sum(), recorded, retain_graph=k < k_out - 1, allow_unused=True)
        for t, i, where, values in tangents:
            g = grads[i]
            if g is not None:
                jac[:, k, t] += (g.reshape(s, -1)[:, where].double() * values).sum(dim=1)
    return jac


def first_entry_jacobian(model: nn.Module, inputs: torch.Tensor,
                         params: Sequence[nn.Parameter]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample Jacobian J[n, k, t] = ∂out[n, k]/∂params[t].flatten()[0], and the outputs.

    Returns (J as float64 (S, K, P), outputs (S, K) detached). The model must treat the
    samples independently (e.g. BatchNorm in eval mode): the per-sample derivatives are
    read off one backward pass of the batch sum per output coordinate.
    """
    owners = _owners(model)
    chosen: dict[int, list[tuple[int, str, nn.Parameter]]] = {}
    for t, p in enumerate(params):
        module, name = owners[id(p)]
        chosen.setdefault(id(module), []).append((t, name, p))
    kinds = tuple({type(owners[id(p)][0]) for p in params})
    out, calls = _record_owner_calls(model, inputs, kinds, chosen)
    tangents = _entry_tangents(calls, chosen, out.shape[0])
    # module outputs the logits can depend on, and the tangents that go with them
    live = {c: i for i, c in enumerate(c for c, (_, _, o) in enumerate(calls) if o.requires_grad)}
    recorded = [calls[c][2] for c in live]
    tangents = [(t, live[c], where, values) for t, c, where, values in tangents if c in live]
    del calls
    return _contract(out, recorded, tangents, len(params)), out.detach()


def fisher_matrix(jac: torch.Tensor, outputs: torch.Tensor, loss: str = "ce", smoothing: float = 0.05) -> torch.Tensor:
    """F (P × P, float64) from per-sample Jacobians (S, K, P) and the outputs (S, K).

    ``ce``: (1/S) Σ_n J_nᵀ (diag p̃_n − p̃_n p̃_nᵀ) J_n with p̃ = (1 − smoothing)·softmax + smoothing/K;
    ``mse`` / ``l1``: (1/S) Σ_n J_nᵀ J_n (unit-scale Gaussian / Laplace likelihood).
    """
    s = jac.shape[0]
    if loss == "ce":
        k = outputs.shape[1]
        if k == 1:  # (session 65: 0.0 for every one-output network)
            raise ValueError("vkdnw: the 'ce' loss's Fisher information of one output is 0 (the softmax of one logit "
                             "is 1) whatever the network: score a classifier of 2 or more outputs, or a one-output "
                             "(regression) model under loss 'mse'")
        prob = (1.0 - smoothing) * torch.softmax(outputs.double(), dim=1) + smoothing / k
        weighted = torch.einsum("nkp,nk,nkq->pq", jac, prob, jac)
        mean_grad = torch.einsum("nkp,nk->np", jac, prob)
        return (weighted - mean_grad.T @ mean_grad) / s
    if loss in ("mse", "l1"):
        return torch.einsum("nkp,nkq->pq", jac, jac) / s
    raise ValueError(f"vkdnw: unknown loss {loss!r}; Batch.loss must be 'ce', 'mse' or 'l1'")


def decile_entropy(eigenvalues: torch.Tensor) -> float:
    """−Σ_k w_k log(w_k + 1e-10), w = the 9 deciles of |λ| over their sum (+ 1e-10)."""
    lam = eigenvalues.detach().double().abs().reshape(-1)
    q = torch.quantile(lam, torch.tensor(DECILES, dtype=lam.dtype, device=lam.device))
    w = q / (q.sum() + _EPS)
    return float(-(w * torch.log(w + _EPS)).sum())


def _check_options(tensors: int, smoothing: float, inputs: str) -> None:
    if isinstance(tensors, bool) or not isinstance(tensors, int) or tensors < 1:
        raise ValueError(f"vkdnw: tensors must be a positive int (got {tensors!r})")
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"vkdnw: smoothing must be in [0, 1) (got {smoothing!r})")
    if inputs not in INPUTS:
        raise ValueError(f"vkdnw: inputs must be one of {INPUTS} (got {inputs!r})")


@register("vkdnw", higher_is_better=True, needs_grad=True, needs_labels=False, input_kind="random", version="1",
          requires=("no_attention", "float_inputs:inputs=random", "logits"),
          keeps_model=True, tensors=128, smoothing=0.05, inputs="random", seed=0)
def vkdnw(model: nn.Module, batch: Batch, tensors: int = 128, smoothing: float = 0.05, inputs: str = "random",
          seed: int = 0) -> float:
    """VKDNW: entropy of the deciles of the Fisher spectrum of one weight per tensor (Týbl & Neumann, CVPR 2025).

    F is the model's own-predictive-distribution Fisher (no labels) of the first entry of
    each of the first ``tensors`` trainable parameter tensors, over the batch, with
    BatchNorm in eval mode and, by default, N(0, 1) inputs of the batch's shape drawn
    with ``seed``; see the module docstring for the exact definition. Higher is better.

    Raises:
        ValueError: bad options, a model without trainable parameters, outputs that are
            not (S, outputs), or a non-finite Fisher matrix.
    """
    _check_options(tensors, smoothing, inputs)
    if batch.loss not in ("ce", "mse", "l1"):
        raise ValueError(f"vkdnw: unknown loss {batch.loss!r}; Batch.loss must be 'ce', 'mse' or 'l1'")
    params = [p for _, p in trainable_tensors(model)][:tensors]
    if not params:
        raise ValueError("vkdnw: the model has no trainable parameters")
    if inputs == "random":
        require_float_inputs(batch.inputs, "vkdnw", "feeds N(0, 1) float inputs of the batch's shape (its option "
                             "inputs='data' scores on the batch itself)")
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(tuple(batch.inputs.shape), generator=g, dtype=batch.inputs.dtype).to(batch.inputs.device)
    else:
        x = batch.inputs
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with torch.enable_grad():  # also under a caller's no_grad
            jac, out = first_entry_jacobian(model, x, params)
    finally:
        for m, mode in modes.items():
            m.training = mode
    fisher = fisher_matrix(jac, out, batch.loss, smoothing)
    if not torch.isfinite(fisher).all():
        raise ValueError("vkdnw: the Fisher matrix is not finite (the outputs or their gradients overflow)")
    return decile_entropy(torch.linalg.eigvalsh(fisher))


@register("vkdnw_layers", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data",
          version="1", keeps_model=True, structural=True, multi_input=True)
def vkdnw_layers(model: nn.Module, batch: Batch) -> float:
    """ℵ, VKDNW's "number of trainable layers": the number of trainable parameter tensors.

    Counted like the authors' code (``len(model.named_parameters())``, trainable ones
    only): each Conv/Linear weight and bias and each BatchNorm γ and β is one.

    Raises:
        ValueError: the model has no trainable parameter.
    """
    n = len(trainable_tensors(model))
    if n == 0:
        raise ValueError("vkdnw_layers: the model has no trainable parameters")
    return float(n)


# ----------------------------------------------------------------------------- rankings over the set


def _parts_array(parts: list[np.ndarray], names: tuple[str, ...], what: str) -> list[np.ndarray]:
    if len(parts) != len(names):
        raise ValueError(f"{what} combines {len(names)} parts {names}, got {len(parts)} arrays")
    arrays = [np.asarray(x, dtype=np.float64).reshape(-1) for x in parts]
    sizes = {len(a) for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"{what}: the parts {names} have different lengths {[len(a) for a in arrays]}")
    for name, a in zip(names, arrays):
        if not np.isfinite(a).all():
            raise ValueError(f"{what}: part {name!r} has non-finite values")
    return arrays


def _oriented(name: str, values: np.ndarray) -> np.ndarray:
    """``values`` signed so that larger is better (by the part's ``higher_is_better``)."""
    return values if get_proxy(name).higher_is_better else -values


def lexicographic_dense_rank(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Dense ranks 1, 2, … of the pairs (primary, secondary) in lexicographic ascending order."""
    primary, secondary = np.asarray(primary, dtype=np.float64), np.asarray(secondary, dtype=np.float64)
    order = np.lexsort((secondary, primary))
    ranks = np.empty(len(order), dtype=np.float64)
    rank, previous = 0, None
    for i in order:
        pair = (primary[i], secondary[i])
        if pair != previous:
            rank += 1
            previous = pair
        ranks[i] = rank
    return ranks


SINGLE_PARTS: tuple[str, ...] = ("vkdnw_layers", "vkdnw")
AGG_PARTS: tuple[str, ...] = ("vkdnw_layers", "vkdnw", "flops", "jacob_cov", "az_nas_expressivity",
                              "az_nas_trainability")


def single_rank(parts: list[np.ndarray]) -> np.ndarray:
    """VKDNW_single: dense rank of (ℵ, VKDNW) in lexicographic order (higher is better)."""
    layers, values = _parts_array(parts, SINGLE_PARTS, "vkdnw_single")
    return lexicographic_dense_rank(_oriented(SINGLE_PARTS[0], layers), _oriented(SINGLE_PARTS[1], values))


def agg_rank(parts: list[np.ndarray]) -> np.ndarray:
    """VKDNW_agg: log(r_single/n) + Σ log(r_m/n) over FLOPs, Jacov, AZ-NAS expressivity and trainability.

    ``parts`` are the score arrays of ``AGG_PARTS`` in that order: (ℵ, VKDNW) and then
    the further terms; fewer further terms (at least none) are accepted, so the same
    function ranks e.g. (ℵ, VKDNW, FLOPs) alone.
    """
    from scipy.stats import rankdata  # here, not at the top: scipy.stats alone takes ~1 s to import
    if not 2 <= len(parts) <= len(AGG_PARTS):
        raise ValueError(f"vkdnw_agg combines 2 to {len(AGG_PARTS)} parts {AGG_PARTS}, got {len(parts)} arrays")
    arrays = _parts_array(parts, AGG_PARTS[:len(parts)], "vkdnw_agg")
    n = len(arrays[0])
    if n == 0:
        return np.zeros(0)
    total = np.log(lexicographic_dense_rank(_oriented(AGG_PARTS[0], arrays[0]),
                                            _oriented(AGG_PARTS[1], arrays[1])) / n)
    for name, values in zip(AGG_PARTS[2:], arrays[2:]):
        total = total + np.log(rankdata(_oriented(name, values)) / n)
    return total


register_set(
    "vkdnw_single", SINGLE_PARTS, single_rank, version="1",
    description="VKDNW_single: dense rank of (ℵ trainable layers, VKDNW) in lexicographic order over the candidate "
                "set (Týbl & Neumann, CVPR 2025).",
)
register_set(
    "vkdnw_agg", AGG_PARTS, agg_rank, version="2", fill_failed=("jacob_cov",),
    description="VKDNW_agg: sum of log-ranks of VKDNW_single, FLOPs, Jacov, AZ-NAS expressivity and trainability "
                "over the candidate set (Týbl & Neumann, CVPR 2025).",
)
