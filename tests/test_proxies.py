"""Tests of the registered training-free metrics.

1. Every registered proxy runs on a tiny NB201 net, returns a finite float, is
   deterministic, leaves no hooks or ``.grad`` behind, and has valid metadata.
2. Golden values: each metric below is recomputed by a deliberately different,
   naive implementation (``.backward()`` and ``.grad`` instead of
   ``autograd.grad``, numpy instead of torch, explicit loops and formulas),
   plus closed-form checks (hand-counted FLOPs, Euler's identity for SynFlow).
3. Failures raise clear errors instead of returning sentinels.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from swapnas.data import Batch
from swapnas.proxies import get_proxy, list_proxies
from swapnas.proxies._common import global_pool_input
from swapnas.scoring import gaussian_init
from swapnas.spaces import nb201

# conv 3x3, conv 1x1 (on a dead branch: node 2 feeds nothing), skip, avg-pool, 'none'
ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|"
KINDS = {"data", "ones", "random"}
CONV_LINEAR = (nn.Conv2d, nn.Linear)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_net(seed: int = 0) -> nn.Module:
    """A fresh NB201 net (C=8, N=1) with the protocol's N(0, 1) init, in train mode."""
    torch.manual_seed(seed)
    model = nb201.build(ARCH, C=8, N=1, num_classes=10)
    gaussian_init(model, torch.Generator().manual_seed(seed))
    return model.train()


def tiny_batch(n: int = 8, seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return Batch(x, y, 10, "cifar10", "test noise", 0)


def unlabelled(x: torch.Tensor, classes: int = 2) -> Batch:
    """A batch of ``x`` whose targets are all 0: for the metrics that read no label."""
    return Batch(x, torch.zeros(x.shape[0], dtype=torch.int64), classes, "t", "t", 0)


def run(name: str, model: nn.Module | None = None, batch: Batch | None = None) -> float:
    p = get_proxy(name)
    return p.fn(tiny_net() if model is None else model, tiny_batch() if batch is None else batch, **p.options)


# ----------------------------------------------------------------------------- 1. every proxy


@pytest.mark.parametrize("name", list_proxies())
def test_proxy_runs_finite_and_deterministic(name: str) -> None:
    p = get_proxy(name)
    if p.parts:  # set-level (te_nas): combines its parts' scores over a candidate set
        pool = [np.array([3.0, 1.0, 2.0, 2.0]), np.array([5.0, 9.0, 7.0, 7.0]), np.array([0.5, 0.1, 0.4, 0.2])]
        parts = [pool[i % 3] + i for i in range(len(p.parts))]  # one array per part
        values = [p.combine(parts).tolist() for _ in range(2)]
        assert len(values[0]) == 4 and all(math.isfinite(v) for v in values[0])
        values = [float(v[0]) for v in values]
    elif isinstance(p.base, str):  # derived (swap_reg): maps a base value, needs only the net's size
        values = [p.fn(123.0, tiny_net(), mu=40.0, sigma=100.0) for _ in range(2)]
    elif p.base is not None:  # derived from several bases (a log-linear combination): their values, one repeat
        vals = tuple(float(2 + i) for i in range(len(p.base_names)))
        values = [p.fn(vals, tiny_net(), **p.options) for _ in range(2)]
    else:
        models = [tiny_net(), tiny_net()]
        values = [p.fn(m, tiny_batch(), **p.options) for m in models]
        for m in models:
            assert all(not mod._forward_hooks and not mod._forward_pre_hooks for mod in m.modules()), "hook left"
            assert all(q.grad is None for q in m.parameters()), ".grad left behind"
    assert all(isinstance(v, float) for v in values), [type(v) for v in values]
    assert math.isfinite(values[0])
    assert values[0] == values[1]


@pytest.mark.parametrize("name", list_proxies())
def test_proxy_metadata(name: str) -> None:
    p = get_proxy(name)
    assert p.name == name
    assert isinstance(p.higher_is_better, bool)
    assert isinstance(p.needs_grad, bool) and isinstance(p.needs_labels, bool)
    assert p.input_kind in KINDS
    assert isinstance(p.version, str) and p.version
    assert p.description


def test_expected_metrics_registered() -> None:
    wanted = {"grad_norm", "snip", "grasp", "fisher", "jacob_cov", "synflow", "nwot", "epe_nas", "zen", "l2_norm",
              "plain", "params", "flops", "zico", "te_nas", "te_nas_ntk", "te_nas_lr", "meco", "swap",
              "swap_reg"}
    assert wanted <= set(list_proxies())
    assert get_proxy("synflow").input_kind == "ones" and get_proxy("zen").input_kind == "random"
    assert {n for n in wanted if get_proxy(n).needs_labels} == {"grad_norm", "snip", "grasp", "fisher", "plain",
                                                                "epe_nas", "zico"}


# ----------------------------------------------------------------------------- 2. golden values


def naive_loss_grads(model: nn.Module, batch: Batch) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight, grad) numpy pairs of every Conv/Linear layer via loss.backward()."""
    model.zero_grad()
    F.cross_entropy(model(batch.inputs), batch.targets).backward()
    out = []
    for m in model.modules():
        if isinstance(m, CONV_LINEAR):
            w = m.weight.detach().numpy().astype(np.float64)
            g = np.zeros_like(w) if m.weight.grad is None else m.weight.grad.numpy().astype(np.float64)
            out.append((w, g))
    return out


def naive_jacobian(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    x = x.clone().requires_grad_(True)
    model(x).sum().backward()
    return x.grad.numpy().reshape(len(x), -1).astype(np.float64)


def test_l2_norm_golden() -> None:
    total = 0.0
    for _, p in tiny_net().named_parameters():
        total += math.sqrt(float(np.sum(p.detach().numpy().astype(np.float64).ravel() ** 2)))
    assert run("l2_norm") == pytest.approx(total, rel=1e-9)


def test_gradient_saliencies_golden() -> None:
    pairs = naive_loss_grads(tiny_net(), tiny_batch())
    assert run("grad_norm") == pytest.approx(sum(np.sqrt((g**2).sum()) for _, g in pairs), rel=1e-5)
    assert run("snip") == pytest.approx(sum(np.abs(w * g).sum() for w, g in pairs), rel=1e-5)
    plain = sum((w * g).sum() for w, g in pairs)
    assert run("plain") == pytest.approx(plain, rel=1e-4, abs=1e-6)


def test_fisher_golden() -> None:
    """fisher sums each channel's Δ_c; fisher_fanin copies Δ_c into every weight of the channel and sums the
    weights, as Abdelfattah et al.'s code and NASLib do (``reshape_elements`` then ``sum_arr``)."""
    model, batch = tiny_net(), tiny_batch()
    acts: list[tuple[nn.Module, torch.Tensor]] = []

    def keep(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        out.retain_grad()
        acts.append((module, out))

    handles = [m.register_forward_hook(keep) for m in model.modules() if isinstance(m, CONV_LINEAR)]
    try:
        F.cross_entropy(model(batch.inputs), batch.targets).backward()
    finally:
        for h in handles:
            h.remove()
    total = per_weight = 0.0
    for module, a in acts:
        if a.grad is None:
            continue
        an, gn = a.detach().numpy().astype(np.float64), a.grad.numpy().astype(np.float64)
        n, c = an.shape[:2]
        delta = np.array([sum((an[i, ch] * gn[i, ch]).sum() ** 2 for i in range(n)) / (2 * n) for ch in range(c)])
        total += delta.sum()
        shape = tuple(module.weight.shape)
        per_weight += np.broadcast_to(delta.reshape(-1, *([1] * (len(shape) - 1))), shape).sum()
    assert len({type(m) for m, _ in acts}) == 2  # a Conv and a Linear layer: two kinds of fan-in
    assert run("fisher") == pytest.approx(total, rel=1e-5)
    assert run("fisher_fanin") == pytest.approx(per_weight, rel=1e-5)
    assert per_weight > 2 * total  # the weighting matters on this net


def test_grasp_golden_finite_differences() -> None:
    """H g by central differences of the loss gradient along g, in float64."""
    b = tiny_batch()
    batch = Batch(b.inputs.double(), b.targets, 10, "t", "t", 0)
    value = get_proxy("grasp").fn(tiny_net().double(), batch)
    model, eps = tiny_net().double(), 1e-6
    g = [torch.from_numpy(gr) for _, gr in naive_loss_grads(model, batch)]
    weights = [m.weight for m in model.modules() if isinstance(m, CONV_LINEAR)]
    theta = [w.detach().clone() for w in weights]

    def grads_at(step: float) -> list[np.ndarray]:
        with torch.no_grad():
            for w, t, gi in zip(weights, theta, g):
                w.copy_(t + step * gi)
        return [gr for _, gr in naive_loss_grads(model, batch)]

    plus, minus = grads_at(eps), grads_at(-eps)
    expected = sum(float(np.sum(-t.numpy() * (p - m) / (2 * eps))) for t, p, m in zip(theta, plus, minus))
    assert value == pytest.approx(expected, rel=1e-5)


def test_synflow_golden() -> None:
    model, batch = tiny_net(), tiny_batch()
    model = model.to(torch.float64).eval()
    model.load_state_dict({k: v.abs() if v.is_floating_point() else v for k, v in model.state_dict().items()})
    model(torch.ones(tuple(batch.inputs.shape), dtype=torch.float64)).sum().backward()
    total = 0.0
    for m in model.modules():
        if isinstance(m, CONV_LINEAR) and m.weight.grad is not None:
            total += float(np.sum(m.weight.detach().numpy() * m.weight.grad.numpy()))
    assert run("synflow") == pytest.approx(total, rel=1e-9)


def test_synflow_euler_identity() -> None:
    """Bias-free chain of L weight layers: R is 1-homogeneous in each layer, so SynFlow = L·R."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 5, 3, bias=False),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, 3, bias=False))
    batch = Batch(torch.randn(2, 3, 8, 8), torch.zeros(2, dtype=torch.int64), 3, "t", "t", 0)
    ref = nn.Sequential(*[m for m in net]).to(torch.float64).eval()
    ref.load_state_dict({k: v.double().abs() if v.is_floating_point() else v for k, v in net.state_dict().items()})
    with torch.no_grad():
        r = float(ref(torch.ones(2, 3, 8, 8, dtype=torch.float64)).sum())
    assert get_proxy("synflow").fn(net, batch) == pytest.approx(3 * r, rel=1e-9)


def naive_relu_codes(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """(S, units) binary codes of every nn.ReLU output, collected with plain hooks."""
    codes: list[np.ndarray] = []
    handles = [m.register_forward_hook(lambda mod, a, out: codes.append((out > 0).numpy().reshape(len(out), -1)))
               for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return np.concatenate(codes, axis=1)


def test_nwot_golden() -> None:
    model, batch = tiny_net(), tiny_batch()
    c = naive_relu_codes(model, batch.inputs)
    n, n_a = c.shape
    k = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            k[i, j] = n_a - np.count_nonzero(c[i] != c[j])
    sign, logdet = np.linalg.slogdet(k)
    assert sign > 0
    assert run("nwot") == pytest.approx(logdet, rel=1e-9)


def test_jacob_cov_golden() -> None:
    jac = naive_jacobian(tiny_net(), tiny_batch().inputs)
    lam = np.linalg.eigvalsh(np.corrcoef(jac))
    expected = -sum(math.log(v + 1e-5) + 1.0 / (v + 1e-5) for v in lam)
    assert run("jacob_cov") == pytest.approx(expected, rel=1e-6)


def test_epe_nas_golden() -> None:
    batch = tiny_batch()
    jac = naive_jacobian(tiny_net(), batch.inputs)
    labels = batch.targets.numpy()
    total = 0.0
    for t in sorted(set(labels.tolist())):
        rows = jac[labels == t]
        corr = np.corrcoef(rows) if len(rows) > 1 else np.ones((1, 1))
        total += abs(np.log(np.abs(np.atleast_2d(corr)) + 1e-5).sum())
    assert run("epe_nas") == pytest.approx(total, rel=1e-6)


def test_zico_golden() -> None:
    model, batch = tiny_net(), tiny_batch()
    halves = [naive_loss_grads(model, Batch(batch.inputs[s], batch.targets[s], 10, "t", "t", 0))
              for s in (slice(0, 4), slice(4, 8))]
    expected = 0.0
    for (_, g1), (_, g2) in zip(*halves):
        mean_abs = (np.abs(g1) + np.abs(g2)) / 2
        std = np.abs(g1 - g2) / 2  # population std of two values
        ok = std > 0
        if ok.any():
            expected += math.log(float((mean_abs[ok] / std[ok]).sum()))
    assert run("zico") == pytest.approx(expected, rel=1e-5)


def test_te_nas_golden() -> None:
    model, batch = tiny_net(), tiny_batch()
    rows = []
    for i in range(len(batch.inputs)):
        model.zero_grad()
        model(batch.inputs)[i].sum().backward()
        rows.append(np.concatenate([np.zeros(p.numel()) if p.grad is None else p.grad.numpy().ravel()
                                    for p in model.parameters()]))
    g = np.array(rows, dtype=np.float64)
    kappa = np.linalg.cond(g @ g.T)
    regions = len({row.tobytes() for row in naive_relu_codes(model, batch.inputs)})
    assert run("te_nas_ntk") == pytest.approx(kappa, rel=1e-4)
    assert run("te_nas_lr") == regions


def test_te_nas_rank_sum_over_the_set() -> None:
    p = get_proxy("te_nas")
    assert p.parts == ("te_nas_ntk", "te_nas_lr") and p.higher_is_better
    kappa = np.array([10.0, 1.0, 5.0, 5.0])  # lower is better: ranks 4, 1, 2.5, 2.5
    regions = np.array([16.0, 8.0, 16.0, 12.0])  # higher is better: ranks 1.5, 4, 1.5, 3
    assert p.combine([kappa, regions]).tolist() == [-5.5, -5.0, -4.0, -5.5]
    with pytest.raises(TypeError, match="set-level"):
        p.fn(tiny_net(), tiny_batch())


def test_meco_golden() -> None:
    model, batch = tiny_net(), tiny_batch()
    maps: list[np.ndarray] = []
    handles = [m.register_forward_hook(lambda mod, a, out: maps.append(out[0].detach().numpy().astype(np.float64)))
               for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model(batch.inputs[:1])
    finally:
        for h in handles:
            h.remove()
    total = 0.0
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        for f in maps:
            corr = np.nan_to_num(np.corrcoef(f.reshape(f.shape[0], -1)), nan=0.0)
            total += np.linalg.eigvalsh(corr).min()
    assert run("meco") == pytest.approx(total, rel=1e-6, abs=1e-9)


def test_zen_golden_and_feature_map() -> None:
    model = tiny_net()
    g = torch.Generator().manual_seed(0)
    x, eps = torch.randn(8, 3, 32, 32, generator=g), torch.randn(8, 3, 32, 32, generator=g)
    variances: list[np.ndarray] = []

    def bn_var(mod: nn.Module, args: tuple) -> None:
        a = args[0].detach().numpy().astype(np.float64)
        variances.append(a.transpose(1, 0, 2, 3).reshape(a.shape[1], -1).var(axis=1) + mod.eps)

    handles = [m.register_forward_pre_hook(bn_var) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    try:
        with torch.no_grad():
            f1 = model.lastact(model.cells(model.stem(x))).numpy().astype(np.float64)
    finally:
        for h in handles:
            h.remove()
    with torch.no_grad():
        f2 = model.lastact(model.cells(model.stem(x + 0.01 * eps))).numpy().astype(np.float64)
        assert torch.equal(global_pool_input(model, x), model.lastact(model.cells(model.stem(x))))
    delta = np.mean([np.linalg.norm((f1 - f2)[i]) for i in range(len(x))])
    expected = math.log(delta) + sum(math.log(math.sqrt(v.mean())) for v in variances)
    assert run("zen") == pytest.approx(expected, rel=1e-5)


def test_flops_hand_count() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(4, 10))
    batch = Batch(torch.randn(8, 3, 8, 8), torch.zeros(8, dtype=torch.int64), 10, "t", "t", 0)
    conv = 2 * (8 * 8 * 4) * (3 * 3 * 3)  # 2 FLOPs per multiply-add, per output element
    linear = 2 * 4 * 10
    assert get_proxy("flops").fn(net, batch) == conv + linear  # one sample, not the batch of 8


# ----------------------------------------------------------------------------- 3. failures raise


def test_zen_without_global_pool_raises() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 30 * 30, 10))
    with pytest.raises(ValueError, match="global average pool"):
        get_proxy("zen").fn(net, tiny_batch())


def test_nwot_singular_kernel_raises() -> None:
    batch = tiny_batch()
    dup = Batch(batch.inputs[[0, 0, 1, 2]], batch.targets[[0, 0, 1, 2]], 10, "t", "t", 0)
    with pytest.raises(ValueError, match="singular"):
        run("nwot", batch=dup)


def test_relu_metrics_without_relu_raise() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    for name in ("nwot", "te_nas_lr"):
        with pytest.raises(ValueError, match="ReLU"):
            get_proxy(name).fn(net, tiny_batch())


def test_zico_needs_two_samples() -> None:
    batch = tiny_batch(n=1)
    with pytest.raises(ValueError, match="splits"):
        run("zico", batch=batch)


# ----------------------------------------------------------------------------- 4. task losses


class _Dense(nn.Module):
    """A tiny image-to-image net: (S, 3, H, W) -> (S, out, H, W)."""

    def __init__(self, out: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _dense(out: int) -> nn.Module:
    torch.manual_seed(0)
    m = _Dense(out)
    gaussian_init(m, torch.Generator().manual_seed(0))
    return m.train()


def test_mse_batch_drives_gradient_metrics() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(6, 3, 8, 8, generator=g)
    batch = Batch(x, x.clone(), 3, "autoencoder", "test", 0, loss="mse")  # reconstruct the input
    model = _dense(3)
    model.zero_grad()
    F.mse_loss(model(x), x).backward()
    naive = sum(float(m.weight.grad.norm()) for m in model.modules() if isinstance(m, nn.Conv2d))
    assert run("grad_norm", _dense(3), batch) == pytest.approx(naive, rel=1e-5)
    l1 = Batch(x, x.clone(), 3, "autoencoder", "test", 0, loss="l1")
    assert run("grad_norm", _dense(3), l1) != pytest.approx(naive, rel=1e-3)


def test_dense_ce_and_single_group_epe() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 3, 8, 8, generator=g)
    seg = Batch(x, torch.randint(0, 5, (6, 8, 8), generator=g), 5, "segmentsemantic", "test", 0)
    model = _dense(5)
    model.zero_grad()
    F.cross_entropy(model(x), seg.targets).backward()
    naive = sum(float(m.weight.grad.norm()) for m in model.modules() if isinstance(m, nn.Conv2d))
    assert run("grad_norm", _dense(5), seg) == pytest.approx(naive, rel=1e-5)
    # dense labels: no class per sample, so EPE-NAS correlates all samples as one group
    jac = naive_jacobian(_dense(5), x)
    expected = abs(np.log(np.abs(np.corrcoef(jac)) + 1e-5).sum())
    assert run("epe_nas", _dense(5), seg) == pytest.approx(expected, rel=1e-6)


def test_loss_shape_errors() -> None:
    from swapnas.proxies._common import output_loss

    with pytest.raises(ValueError, match="targets of the output's shape"):
        output_loss(torch.zeros(2, 3, 4, 4), torch.zeros(2, 3), "mse")
    with pytest.raises(ValueError, match=r"\(S, classes\) logits"):
        output_loss(torch.zeros(2, 3, 4, 4), torch.zeros(2, dtype=torch.long), "ce")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        output_loss(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), "hinge")


def _synflow_terms(model: nn.Module, shape: tuple[int, ...]) -> list[torch.Tensor]:
    """θ ⊙ ∂R/∂θ of every Conv/Linear weight, computed here (float64, eval mode, |θ|, all-ones input)."""
    model = model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    out = model(torch.ones(shape, dtype=torch.float64))
    (out if isinstance(out, torch.Tensor) else out[0]).sum().backward()
    return [m.weight.detach() * m.weight.grad for m in model.modules()
            if isinstance(m, CONV_LINEAR) and m.weight.grad is not None]


@pytest.mark.parametrize("space", ["nb101", "nb201", "darts", "transnas_micro", "transnas_macro"])
def test_synflow_terms_are_never_negative_on_the_benchmark_spaces_networks(space: str) -> None:
    """So the absolute value (session 53) changed no stored synflow@1 score: Σ|t| = Σ t on these networks."""
    import random

    from swapnas.spaces import get_space

    mod = get_space(space)
    net = dict(mod.SCORING_DEFAULTS["net"])
    side = net.get("resolution", 32)
    for arch in (mod.sample(random.Random(i)) for i in range(2)):
        torch.manual_seed(0)
        terms = _synflow_terms(mod.build(arch, **net), (2, 3, side, side))
        assert terms and min(float(t.min()) for t in terms) >= 0.0


def test_synflow_sums_absolute_terms_where_layernorm_and_gelu_make_some_negative() -> None:
    """A ViT-like block (LayerNorm, GELU): signed terms sum below zero; SynFlow is Σ|θ ⊙ ∂R/∂θ| (NASLib's)."""

    def block() -> nn.Module:
        torch.manual_seed(3)
        return nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.GELU(), nn.Linear(16, 8), nn.LayerNorm(8),
                             nn.Linear(8, 4))

    terms = _synflow_terms(block(), (4, 5, 8))
    assert min(float(t.min()) for t in terms) < 0
    batch = Batch(torch.randn(4, 5, 8), torch.zeros(4, dtype=torch.int64), 4, "t", "t", 0)
    value = get_proxy("synflow").fn(block(), batch)
    assert value == pytest.approx(sum(float(t.abs().sum()) for t in terms), rel=1e-9)
    assert value > abs(sum(float(t.sum()) for t in terms))
