"""Helpers shared by the training-free metrics (not a proxy itself).

Everything here works on the device of the tensors it is given, registers hooks
only inside context managers that always remove them, and never touches
``.grad`` attributes: gradients are taken with :func:`torch.autograd.grad`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data import Batch

#: Layers whose weights the pruning-at-initialisation saliencies score (Abdelfattah et al., 2021).
WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)

Hook = Callable[[nn.Module, tuple, torch.Tensor], torch.Tensor | None]


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """Conv and Linear modules of ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]


def layer_weights(model: nn.Module) -> list[torch.Tensor]:
    """The ``weight`` tensors of the Conv/Linear layers (biases excluded), each once: a weight two layers share is one
    weight (session 69: it was listed per layer, so its gradient counted twice in snip, grad_norm, plain, grasp,
    synflow and zico, where ``params`` counts it once; no space's network shares one); error if none."""
    weights = list({id(m.weight): m.weight for m in weight_layers(model) if isinstance(m.weight, torch.Tensor)}
                   .values())
    if not weights:
        raise ValueError("the model has no Conv/Linear layer: there are no weights to score")
    return weights


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode inside the block; every module's ``training`` flag restored after it, even on error."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes.items():
            m.training = mode


def output_loss(output: torch.Tensor, targets: torch.Tensor, loss: str = "ce", temperature: float = 1.0) -> torch.Tensor:
    """The batch's training loss on a model output.

    ``ce``: mean cross-entropy of ``output / temperature`` against integer targets, for
    (S, classes) logits with (S,) targets, token logits (S, classes, L) with (S, L) targets
    (-100: not scored, e.g. the unmasked positions of a masked-token batch) or dense
    (S, classes, H, W) logits with (S, H, W) targets. ``mse`` / ``l1``: mean squared / absolute error against float targets of the
    output's shape (regression and image-to-image tasks; ``temperature`` is not used).
    """
    if loss == "ce":
        if not (output.dim() - targets.dim() == 1 and output.dim() in (2, 3, 4)):
            raise ValueError(f"a label-based metric needs (S, classes) logits with (S,) labels, (S, classes, L) with "
                             f"(S, L) or (S, classes, H, W) logits with (S, H, W) labels; got output {tuple(output.shape)}, "
                             f"targets {tuple(targets.shape)}")
        if output.shape[1] == 1:  # (session 65: grad_norm, snip, fisher, grasp, plain were 0.0 for every network)
            raise ValueError(f"a cross-entropy loss over one output (output {tuple(output.shape)}) is 0 for every "
                             "input, so every gradient of it is 0: score a classifier of 2 or more outputs, or give a "
                             "one-output (regression) head float targets of the output's shape with loss 'mse'")
        classes = output.shape[1]  # (session 67: on CUDA a label beyond them is a device-side assert, which kills
        bad = targets[(targets != -100) & ((targets < 0) | (targets >= classes))]  # the process's CUDA; CPU's words)
        if bad.numel():
            raise IndexError(f"Target {int(bad[0])} is out of bounds.")
        return F.cross_entropy(output / temperature, targets)
    if loss in ("mse", "l1"):
        if output.shape != targets.shape:
            raise ValueError(f"a {loss} loss needs targets of the output's shape; got output {tuple(output.shape)}, "
                             f"targets {tuple(targets.shape)}")
        return F.mse_loss(output, targets) if loss == "mse" else F.l1_loss(output, targets)
    raise ValueError(f"unknown loss {loss!r}; Batch.loss must be 'ce', 'mse' or 'l1'")


def batch_loss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss: str = "ce",
               temperature: float = 1.0) -> torch.Tensor:
    """:func:`output_loss` of ``model(inputs)``."""
    return output_loss(model(inputs), targets, loss, temperature)


def loss_grads(model: nn.Module, batch: Batch) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Conv/Linear weights and the gradients of the batch's loss (``batch.loss``) with respect to them."""
    weights = layer_weights(model)
    loss = batch_loss(model, batch.inputs, batch.targets, batch.loss)
    grads = torch.autograd.grad(loss, weights, allow_unused=True)
    return weights, [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads)]


@contextlib.contextmanager
def forward_hooks(model: nn.Module, kinds: Sequence[type[nn.Module]], hook: Hook) -> Iterator[int]:
    """Register ``hook`` on every module of the given types; yields how many; always removes them."""
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, tuple(kinds))]
    try:
        yield len(handles)
    finally:
        for h in handles:
            h.remove()


def relu_codes(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Binary ReLU codes: (S, N_A) bool, bit = unit is active (output > 0), all ``nn.ReLU`` units concatenated.

    Raises ``ValueError`` when the model has no ``nn.ReLU`` module or none ran, or when an activation holds NaN
    (its activations overflowed: a NaN unit has no code, and ``NaN > 0`` would read it as off).
    """
    codes: list[torch.Tensor] = []
    each_relu_code(model, inputs, codes.append)
    return torch.cat(codes, dim=1)


def each_relu_code(model: nn.Module, inputs: torch.Tensor, sink: Callable[[torch.Tensor], None]) -> None:
    """``sink`` given each ``nn.ReLU`` call's (S, units) bool code as it runs, none of them kept here (a kernel
    summed layer by layer holds one layer's code at a time: session 61); the errors of :func:`relu_codes`."""
    ran = [False]

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        out = output.detach()
        if out.is_floating_point() and bool(torch.isnan(out).any()):
            raise ValueError(f"an nn.ReLU output holds {int(torch.isnan(out).sum())} NaN value(s): the activations "
                             "overflowed (or the inputs hold NaN), so the units have no binary code")
        ran[0] = True
        sink((out > 0).reshape(output.shape[0], -1))

    with forward_hooks(model, (nn.ReLU,), hook) as n, torch.no_grad():
        if n == 0:
            raise ValueError("the model has no nn.ReLU module: there are no activation codes")
        model(inputs)
    if not ran[0]:
        raise ValueError("no nn.ReLU module ran in the forward pass: there are no activation codes")


def require_float_inputs(inputs: torch.Tensor, what: str, needs: str) -> None:
    """ValueError naming ``what`` when ``inputs`` are integers (a model that embeds token ids):
    ``needs`` says why the metric cannot run on such a model (an input gradient, synthetic inputs)."""
    if not inputs.is_floating_point():
        raise ValueError(f"{what} is not applicable to a model whose inputs are integer ids ({inputs.dtype}, e.g. "
                         f"token ids into nn.Embedding): it {needs}. On such a model use one that reads activations "
                         "or weights, e.g. swap_ext, l2_norm, zico, vkdnw_layers or params (docs/transformers.md)")


def input_jacobian(model: nn.Module, inputs: torch.Tensor, what: str = "this metric") -> torch.Tensor:
    """J: (S, D) rows ∂(Σ_k f_k)/∂x_i, the input gradient of the summed outputs, flattened per sample."""
    require_float_inputs(inputs, what, "differentiates the outputs with respect to the inputs")
    x = inputs.detach().clone().requires_grad_(True)
    out = model(x).sum()
    (grad,) = torch.autograd.grad(out, x, allow_unused=True) if out.requires_grad else (None,)
    if grad is None:
        raise ValueError(f"{what}: the outputs do not depend on the inputs (no path from the input to the output, "
                         "e.g. a cell whose edges are all 'none'), so the input gradient is undefined")
    return grad.reshape(grad.shape[0], -1)


def row_correlation(rows: np.ndarray, what: str) -> np.ndarray:
    """Pearson correlation matrix of the rows of ``rows`` (float64); error on a constant row, and on one row (its 1×1
    matrix is the same for every network: jacob_cov gave one value to every model of a 1-sample batch until
    session 57)."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.shape[0] < 2:
        raise ValueError(f"{what}: a correlation over the samples needs 2 or more of them (got {rows.shape[0]}): "
                         "give a batch of 2 or more samples")
    centred = rows - rows.mean(axis=1, keepdims=True)
    norms = np.sqrt((centred**2).sum(axis=1))
    if np.any(norms == 0):
        bad = np.flatnonzero(norms == 0).tolist()
        raise ValueError(f"{what}: row(s) {bad[:8]} are constant, so their correlation is undefined")
    unit = centred / norms[:, None]
    return np.clip(unit @ unit.T, -1.0, 1.0)


def is_global_pool(module: nn.Module) -> bool:
    """True for ``nn.AdaptiveAvgPool2d`` with output size 1 (global average pooling)."""
    if not isinstance(module, nn.AdaptiveAvgPool2d):
        return False
    size = module.output_size
    sizes = size if isinstance(size, tuple) else (size, size)
    return all(s == 1 for s in sizes)


def global_pool_input(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The feature map entering the last global average pool run by ``model(inputs)``.

    Finds every ``nn.AdaptiveAvgPool2d(1)`` by module type and records its input
    with a forward hook (removed afterwards); the last call in the forward pass
    wins. For an NB201 ``Network`` this is ``lastact(cells(stem(x)))``.

    Raises:
        ValueError: the model has no ``nn.AdaptiveAvgPool2d`` with output size 1,
            or it did not run (e.g. pooling is done functionally).
    """
    seen: list[torch.Tensor] = []

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if is_global_pool(module):
            seen.append(args[0])

    with forward_hooks(model, (nn.AdaptiveAvgPool2d,), hook):
        if not any(is_global_pool(m) for m in model.modules()):
            raise ValueError(
                f"{type(model).__name__} has no global average pool (nn.AdaptiveAvgPool2d with output size 1); "
                "this metric needs the feature map before global pooling"
            )
        model(inputs)
    if not seen:
        raise ValueError(
            f"the nn.AdaptiveAvgPool2d(1) of {type(model).__name__} did not run in the forward pass; "
            "this metric needs the feature map before global pooling"
        )
    return seen[-1]


def require_finite(tensors: Iterable[torch.Tensor], name: str, what: str = "gradients") -> None:
    """A ValueError unless every tensor is finite: NaN/inf (a network that overflows at its init, or inputs that
    are not finite) would otherwise end in another proxy's message (no variation, a singular matrix)."""
    if not all(bool(torch.isfinite(t).all()) for t in tensors):
        raise ValueError(f"{name}: the {what} are not finite (NaN/inf: the network overflows at this init, "
                         "or the inputs are not finite)")
