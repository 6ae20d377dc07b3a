"""Session 64 audit of unusual forms of PyTorch models (each test failed on the code as found): the caller's
torch.autocast, a torch.compile'd submodule, the older hook-based weight_norm / spectral_norm / prune, dynamically
quantized layers, reentrant checkpointing, a sparse parameter and a torch.export'd module. The exact counts come from
an independent naive count (a Python set of per-neuron bit vectors)."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
import torch.nn.utils.prune as prune
from torch import nn
from torch.utils.checkpoint import checkpoint

import swapnas
from swapnas import NoActivationError, SaturationWarning, UnsupportedModel
from tests.test_audit63_exact import naive_psi  # the independent count (a Python set of each neuron's column)


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore", SaturationWarning)


def _compiled(module: nn.Module) -> nn.Module:
    try:
        return torch.compile(module, backend="eager")  # type: ignore[return-value]  # dynamo only: seconds on a CPU
    except RuntimeError as exc:  # a Python that dynamo does not support
        pytest.skip(f"torch.compile: {exc}")


# --- 1. swap_score on a model that HOLDS a torch.compile'd submodule -------------------------------------------------

def test_swap_score_counts_the_relus_inside_a_compiled_submodule_that_has_run() -> None:
    """swap_score unwraps a compiled *model* (swap_checks.eager) but not a compiled *submodule*: once that submodule's
    code has run (the model was used before scoring, or another instance of the same class was compiled in the
    process), dynamo's cached graph skips the hooks swap_score adds, and Ψ silently leaves its ReLUs out
    (here 95 against 180). swapnas.score is right (it scores an uncompiled copy)."""
    torch.manual_seed(0)
    x = torch.randn(8, 3, 6, 6)
    body = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU())
    eager = nn.Sequential(body, nn.Conv2d(6, 6, 3, padding=1), nn.ReLU())
    want = naive_psi(eager, x)
    model = nn.Sequential(_compiled(body), *eager[1:])
    with torch.no_grad():
        model(x)  # the model was used before it is scored
    assert swapnas.score(model, x, "swap", init="none", train=False)["swap"] == want  # (score is right)
    assert swapnas.swap_score(model, x) == want


def test_swap_score_of_a_model_whose_relus_are_all_in_a_compiled_submodule_is_no_misleading_error() -> None:
    """With every ReLU inside the compiled submodule, swap_score raised NoActivationError advising input_dims=(2, 3, 4)
    and functions=True, neither of which helps. Expected: the count (as swapnas.score gives), or an error that says
    the compiled submodule is the cause."""
    torch.manual_seed(0)
    x = torch.randn(8, 3, 6, 6)
    body = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU())
    want = naive_psi(nn.Sequential(body, nn.Flatten()), x)
    model = nn.Sequential(_compiled(body), nn.Flatten())
    with torch.no_grad():
        model(x)
    try:
        got = swapnas.swap_score(model, x)
    except NoActivationError as exc:
        assert "compile" in str(exc), str(exc)
    else:
        assert got == want


# --- 2. hook-based reparametrisations (old spectral_norm, weight_norm / prune after a no-grad pass) ------------------

def _cnn() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))


@pytest.mark.parametrize("form", ["spectral_norm", "weight_norm", "weight_norm_after_no_grad_pass", "prune",
                                  "prune_after_no_grad_pass", "spectral_norm_after_no_grad_pass"])
def test_the_gaussian_draw_is_not_silently_lost_on_hook_based_reparametrisations(form: str) -> None:
    """`score`'s N(0, 1) init writes into `conv.weight`, which the hook-based torch.nn.utils.spectral_norm /
    weight_norm / prune recompute from `weight_orig` (`weight_g`, `weight_v`) at every forward: the draw of that layer
    was lost and its caller's weights are scored beside the other layers' draws (swap 921/936 at seeds 0/1 where the
    plain and the parametrizations.spectral_norm model give 971/997). The copy is refused (UnsupportedModel) only
    where deepcopy happened to fail (weight_norm or prune before any no-grad pass). Now the drawn weights are scored
    (the plain model's value: with zero biases and no norm, a positive per-layer scale keeps every ReLU pattern; the
    first version took spectral_norm's σ from u, v of the old weight, a negative one at seed 1: 998 for 997), and the
    caller's model is left as it was."""
    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 4, (16,))
    base = _cnn()
    m = copy.deepcopy(base)
    if form.startswith("spectral_norm"):
        nn.utils.spectral_norm(m[2])
    elif form.startswith("weight_norm"):
        nn.utils.weight_norm(m[2])
    else:
        prune.l1_unstructured(m[2], "weight", 0.0)  # amount 0: nothing masked, the same function as the plain conv
    if form.endswith("no_grad_pass"):
        with torch.no_grad():
            m(x)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    hooks = dict(m[2]._forward_pre_hooks)
    for seed in (0, 1):
        want = swapnas.score(base, (x, y), "swap", seed=seed)["swap"]
        assert swapnas.score(m, (x, y), "swap", seed=seed)["swap"] == want, seed
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in before.items()) and m[2]._forward_pre_hooks == hooks
    got = swapnas.score(m, (x, y), ["synflow", "snip"], seed=0)  # gradients reach the baked weight (were an error)
    if not form.startswith("spectral_norm"):  # (its weight is the draw over σ: other magnitudes)
        assert got == pytest.approx(swapnas.score(base, (x, y), ["synflow", "snip"], seed=0), rel=1e-4)
    assert all(v > 0 for v in got.values()), got


# --- 3. reentrant activation checkpointing ----------------------------------------------------------------------------

class _Ckpt(nn.Module):
    def __init__(self, reentrant: bool | None) -> None:
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU())
        self.b = nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.ReLU())
        self.h = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4))
        self.reentrant = reentrant

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.a(x)
        x = self.b(x) if self.reentrant is None else checkpoint(self.b, x, use_reentrant=self.reentrant)
        return self.h(x)


def test_az_nas_trainability_on_a_reentrant_checkpointed_block_is_not_a_silent_dead_block() -> None:
    """With torch.utils.checkpoint(use_reentrant=True) (Hugging Face's gradient checkpointing default; active in train
    mode, which score sets) the checkpointed block's output does not require grad, and az_nas_trainability reads it as
    "does not depend on its input": σ = 0, pair score −1/ε, value −499999.7 against −0.82 without checkpointing (the
    other gradient metrics raise torch's error naming use_reentrant=False; fisher's bare "does not require grad").
    Now an UnsupportedModel names the block and the fix; fisher's message gets the hint; use_reentrant=False scores
    as the plain model."""
    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 6, 6), torch.randint(0, 4, (16,))
    torch.manual_seed(1)
    plain = _Ckpt(None)
    ckpt = copy.deepcopy(plain)
    ckpt.reentrant = True
    want = swapnas.score(plain, (x, y), "az_nas_trainability")["az_nas_trainability"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(UnsupportedModel, match=r"block Conv2d of _Ckpt ran without autograd.*use_reentrant=Fal"):
            swapnas.score(ckpt, (x, y), "az_nas_trainability")
        with pytest.raises(UnsupportedModel, match=r"does not require grad \(if a part of the model ran without "
                                                   r"autograd"):
            swapnas.score(ckpt, (x, y), "fisher")
    ckpt.reentrant = False
    assert swapnas.score(ckpt, (x, y), "az_nas_trainability")["az_nas_trainability"] == pytest.approx(want, rel=1e-6)


# --- 4. dynamically quantized models (torch.ao.quantization.quantize_dynamic) -----------------------------------------

def _quantized() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
    q = torch.ao.quantization.quantize_dynamic(mlp, {nn.Linear}, dtype=torch.qint8)
    return q, torch.randn(16, 12), torch.randint(0, 4, (16,))


@pytest.mark.parametrize("proxy", ["params", "l2_norm", "flops"])
def test_a_quantized_model_is_not_silently_scored_zero(proxy: str) -> None:
    """A quantize_dynamic'd MLP (548 weights) scored params = 0.0, l2_norm = 0.0 and flops = 0.0 without a word (its
    packed weights are no nn.Parameter and its layers no nn.Linear); count_params_k gives 0.0 too, so swap_reg /
    regularise apply the size prior of an empty network. Now an UnsupportedModel names the quantized layers."""
    q, x, y = _quantized()
    with pytest.raises(UnsupportedModel, match="quantized model"):
        swapnas.score(q, (x, y), proxy, init="none")


def test_a_quantized_model_is_refused_naming_its_layers_and_the_way_out() -> None:
    """init="gaussian" drew nothing into quantized Linear layers (every seed scored the caller's weights, equal to
    init="none"). Now score refuses a quantized model under either init, naming the layers, and the swap_score call
    it names counts the quantized model's patterns exactly."""
    q, x, _ = _quantized()
    for init in ("gaussian", "none"):
        with pytest.raises(UnsupportedModel, match=r"a quantized model \(layers 0, 2, 4\).*score the float model"):
            swapnas.score(q, x, "swap_ext", init=init)
    rows = swapnas.rank({"q": q}, x, "swap_ext")
    assert rows[0]["swap_ext"] is None and "quantized" in rows[0]["error"]
    seen: set[tuple[bool, ...]] = set()

    def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        seen.update(map(tuple, (out > 0).reshape(out.shape[0], -1).t().tolist()))

    handles = [m.register_forward_hook(hook) for m in q.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        q(x)
    for h in handles:
        h.remove()
    assert swapnas.swap_score(q, x, activations=swapnas.EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4)) == len(seen)


# --- 5. (low) a sparse parameter: the refusal's advice ----------------------------------------------------------------

class _SparseLinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        w = torch.randn(8, 12)
        w[w.abs() < 0.8] = 0
        self.w = nn.Parameter(w.to_sparse())
        self.r = nn.ReLU()
        self.h = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.h(self.r(torch.sparse.mm(self.w, x.t()).t()))


def test_a_model_with_a_sparse_parameter_is_scored_or_refused_for_what_it_is() -> None:
    """swap_score scores it (exactly), but score refuses it with "cannot be copied (... unsupported memory format option
    Preserve); keep locks, files and other such attributes out of the module, and use torch.nn.utils.parametrizations",
    advice that does not apply (nn.Parameter's deepcopy clones with preserve_format, which sparse tensors lack).
    Now the copy is made (as _copy does for lazy buffers) and the model scored, its sparse parameter untouched."""
    torch.manual_seed(0)
    m, x, y = _SparseLinear(), torch.randn(16, 12), torch.randint(0, 4, (16,))
    w = m.w.detach().clone()
    got = swapnas.score(m, (x, y), "swap_ext", init="none")["swap_ext"]
    assert got == swapnas.swap_score(m, x, activations=swapnas.EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4))
    assert m.w.is_sparse and torch.equal(m.w.detach().to_dense(), w.to_dense())


# --- 6. the caller's torch.autocast reaches swapnas's own exact arithmetic -------------------------------------------

def test_swap_score_under_the_callers_autocast_is_exact() -> None:
    """Up to 20 samples, _DistinctPatterns indexes its 2**S table with `torch.mm(weights, bits)` (sums of powers of two,
    exact in float32). Inside a caller's `torch.autocast` (mixed-precision evaluation code; CPU bfloat16 here, float16
    on CUDA) that mm runs in bfloat16 (8 significant bits): for 9 <= S <= 20 the indices round, so distinct patterns
    merge (here 57 against 64, silently: a ReLU-only model, whose maps are the input's signs, untouched by autocast)
    or an index runs past the table ("IndexError: index 65536 is out of bounds", which score reports with a hint about
    class labels). Expected: the exact count whatever the caller's autocast (e.g. the table arithmetic under
    torch.autocast(device_type, enabled=False))."""
    torch.manual_seed(0)
    x = torch.randn(16, 1, 8, 8)
    x[-1] = -1.0  # no pattern reaches 2**15: no index past the table, only merged ones
    model = nn.Sequential(nn.ReLU())
    want = naive_psi(model, x)
    assert swapnas.swap_score(model, x) == want
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert swapnas.swap_score(model, x) == want
        assert swapnas.score(model, x, "swap", init="none")["swap"] == want
        y = torch.randn(12, 1, 8, 8)
        assert swapnas.swap_score(model, y) == naive_psi(model, y)  # (an IndexError at S = 12)


def test_nwot_kernel_under_the_callers_autocast_is_the_same() -> None:
    """nwot's K_H = Σ N_l − r_i − r_j + 2 (c cᵀ) is documented exact (c cᵀ in float32 below 2**24 units); under a
    caller's bfloat16 autocast c cᵀ is rounded to 8 bits. On a ReLU-only model (codes = the input's signs, the same
    with or without autocast) nwot moved from 102.54986 to 102.54914."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.ReLU())
    x, y = torch.randn(16, 4, 16, 16), torch.randint(0, 2, (16,))
    want = swapnas.score(model, (x, y), "nwot", init="none")["nwot"]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = swapnas.score(model, (x, y), "nwot", init="none")["nwot"]
    assert got == want


# --- 7. a torch.export'd model (ExportedProgram.module()) -------------------------------------------------------------

def test_an_exported_model_is_counted_or_refused_naming_the_export() -> None:
    """`torch.export.export(m, (x,)).module()` runs aten ops (aten.relu, aten.conv2d) in a GraphModule: no nn.ReLU
    module and no F.relu call, so swap_score says "it has no activation module at all ... SWAP has no activation to
    count: score it with a proxy that needs none (params, grad_norm, synflow, …)", and synflow then fails with "the
    model has no Conv/Linear layer". Expected (as for TorchScript): the count, or a refusal that names torch.export
    and says to score the eager module."""
    torch.manual_seed(0)
    x = torch.randn(8, 3, 6, 6)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU())
    want = naive_psi(model, x)
    try:
        exported = torch.export.export(model, (x,)).module()
    except Exception as exc:  # noqa: BLE001 - a torch without export
        pytest.skip(f"torch.export: {exc}")
    for call in (lambda: swapnas.swap_score(exported, x, functions=True), lambda: swapnas.score(exported, x, "swap")):
        with pytest.raises((TypeError, UnsupportedModel), match=r"an exported module \(GraphModule.*score the eager"):
            call()
    traced = torch.fx.symbolic_trace(model)  # a graph of modules and functions: counted, not refused
    assert swapnas.swap_score(traced, x) == want
