"""The final (trained) network of a search and size control: its size, its multiply-adds, and
the size prior that aims the search at a final size.

Each searchable space declares its final networks (``FINAL_NETS``, per dataset) and may
declare a ``SEARCH_PRIOR`` rule; this module only reads them.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn

from ..progress import Bar, bar_interval
from ..size_prior import count_params_k, prior_from_range
from ..size_prior import count_flops
from ..spaces import get_space, searchable_spaces


def final_net(space: str, dataset: str) -> dict:
    """The final network of ``space`` on ``dataset``: build options and input resolution."""
    finals = getattr(get_space(space), "FINAL_NETS", {})
    if dataset not in finals and finals:  # the space's own (session 61: every space's 14 pairs were listed)
        lower = f" (did you mean {dataset.lower()!r}?)" if dataset.lower() in finals else ""
        raise ValueError(f"no final network defined for space {space!r} on {dataset!r}{lower}; {space}'s: "
                         f"{', '.join(finals)}")
    if dataset not in finals:
        known = ", ".join(f"{s}/{d}" for s in searchable_spaces() for d in get_space(s).FINAL_NETS)
        raise ValueError(f"no final network defined for space {space!r} on {dataset!r}; known: {known}")
    return finals[dataset]


def per_input(space: str, dataset: str, form: str) -> str:
    """``form`` naming one input of the final network's multiply-add count where it is no image (flexibert: "sequence
    of L tokens"); '' for an image."""
    return form.format(f"sequence of {final_net(space, dataset)['resolution']} tokens") if space == "flexibert" else ""


def _builder(mod: ModuleType, final: dict) -> Callable[..., nn.Module]:
    """The final network's build function (the space's ``build`` unless the entry names another)."""
    return final.get("builder", mod.build)


def final_size(mod: ModuleType, arch: Any, final: dict) -> float:
    """Parameters (millions) of the final network, auxiliary head excluded (meta device; or the space's
    ``final_params`` without a build, NB201 and DARTS since session 23)."""
    fast = getattr(mod, "final_params", None)
    count = fast(arch, final) if fast is not None else None
    if count is not None:
        return count / 1e3 / 1e3  # the same float as count_params_k(model) / 1e3
    with torch.device("meta"):
        return count_params_k(_builder(mod, final)(arch, **final["net"])) / 1e3


def final_macs(mod: ModuleType, arch: Any, final: dict) -> float:
    """Multiply-adds (millions) of one forward pass of one image through the final network
    (of one input ``mod.final_input(resolution)`` where the space defines it: token spaces).

    ``FlopCounterMode`` counts 2 FLOPs per multiply-add; DARTS-style papers quote
    multiply-adds as "FLOPs", so this is FlopCounterMode's total / 2. A space may give the same count
    without building the network (``final_flops``; NB201 and DARTS since session 23, ``spaces/darts_macs.py``).
    """
    fast = getattr(mod, "final_flops", None)
    flops = fast(arch, final) if fast is not None else None
    if flops is None:
        r = final["resolution"]
        with torch.device("meta"):
            model = _builder(mod, final)(arch, **final["net"]).eval()
            flops = count_flops(model, mod.final_input(r) if hasattr(mod, "final_input") else torch.empty(1, 3, r, r))
    return flops / 2 / 1e6


def target_prior(mod: ModuleType, proxy_net: dict, final: dict, target_m: float, tolerance: float = 0.1,
                 n: int = 100, seed: int = 0, num_classes: int = 10,
                 progress: bool = True) -> tuple[float, float, dict]:
    """μ, σ for the scored proxy network that aim the search at a final size of ``target_m`` M params.

    Mapping (documented in docs/search.md): draw ``n`` random archs, count the proxy
    network's size Θ (thousands) and the final network's size P (millions), fit
    Θ ≈ a·P + b by least squares, set μ = a·target + b and σ = (tolerance·μ)², so an arch
    whose proxy is ``tolerance`` away from μ (relative) keeps f = 1/e. The draw shows a progress
    bar (``progress``; darts: 15.8 s on session 23's CPU with a build per draw, 4.7 s since the final sizes are
    counted without one); ``info["seconds"]`` is the time it took.
    """
    t0 = time.perf_counter()
    if not (math.isfinite(target_m) and target_m > 0 and math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"--target-params and --tolerance must be finite numbers > 0 (got {target_m}, {tolerance})")
    exact = final_range(mod, final)  # None: no exact range (another builder): the sampled one, checked below
    if exact is not None:
        lo, hi = exact
        _check_target(target_m, lo, hi)
    rng = random.Random(seed)
    archs = [mod.sample(rng) for _ in range(n)]
    theta, sizes_m = [], []
    for arch in Bar(archs, desc="size prior (--target-params)", unit="arch", disable=not progress,
                     dynamic_ncols=True, mininterval=bar_interval()):
        with torch.device("meta"):
            theta.append(count_params_k(mod.build(arch, num_classes=num_classes, **proxy_net)))
        sizes_m.append(final_size(mod, arch, final))
    theta_k, sizes = np.array(theta), np.array(sizes_m)
    a, b = np.polyfit(sizes, theta_k, 1)
    r2 = float(np.corrcoef(sizes, theta_k)[0, 1] ** 2)
    if exact is None:
        lo, hi = float(sizes.min()), float(sizes.max())
        _check_target(target_m, lo, hi, "the sampled range:")
    mu = float(a * target_m + b)
    info = {"slope_k_per_M": float(a), "intercept_k": float(b), "r2": r2, "n": n,
            "final_range_m": [lo, hi], "target_m": target_m, "tolerance": tolerance, "seconds": time.perf_counter() - t0}
    return mu, (tolerance * mu) ** 2, info


def final_range(mod: ModuleType, final: dict) -> tuple[float, float] | None:
    """The final network's exact size range (millions of params): the space's ``param_range_k`` on the final
    network's options, or for a final network with its own builder (DARTS ImageNet) the sizes of the space's
    ``smallest_arch`` and ``largest_arch``; None where the space names neither."""
    if "builder" not in final:
        lo, hi = mod.param_range_k(**final["net"])
        return lo / 1e3, hi / 1e3  # thousands -> millions
    if hasattr(mod, "smallest_arch") and hasattr(mod, "largest_arch"):
        return final_size(mod, mod.smallest_arch(), final), final_size(mod, mod.largest_arch(), final)
    return None


def exact_m(x: float) -> str:
    """A count in millions to the unit (6 decimals, trailing zeros dropped): a bound that a refused value must visibly
    lie outside of (session 70: 0.073306 printed 0.073, so "0.0733M is below … 0.073M")."""
    return f"{x:.6f}".rstrip("0").rstrip(".")


def check_max_params(mod: ModuleType, final: dict, max_params: float | None) -> None:
    """``--max-params`` (millions) against the final network's exact size range (:func:`final_range`, where the
    space has one): a limit below its smallest network leaves no arch."""
    if max_params is None or (span := final_range(mod, final)) is None:
        return
    lo, hi = span
    if max_params < lo:
        raise ValueError(f"--max-params {max_params:g}M is below the smallest final network of this space "
                         f"({exact_m(lo)}M; its range is {exact_m(lo)}-{exact_m(hi)}M): no arch is feasible; raise "
                         "the limit")


def check_max_macs(mod: ModuleType, final: dict, max_macs: float | None) -> None:
    """``--max-macs`` (millions) against the space's smallest final network, where the space names it
    (``smallest_arch``): a limit below it leaves no arch, which the search would otherwise learn only
    after 1000 draws of a final-network size check each (minutes)."""
    if max_macs is None or not hasattr(mod, "smallest_arch"):
        return
    lo = final_macs(mod, mod.smallest_arch(), final)
    if max_macs < lo:
        raise ValueError(f"--max-macs {max_macs:g}M is below the smallest final network of this space "
                         f"({exact_m(lo)}M multiply-adds): no arch is feasible; raise the limit")


def check_target_params(mod: ModuleType, final: dict, target_m: float | None, max_params: float | None = None) -> None:
    """``--target-params`` (millions) against the final network's exact size range (:func:`final_range`; where the
    space has none, :func:`target_prior` checks the sampled range then) and against ``--max-params``, before any
    work."""
    if target_m is None or not math.isfinite(target_m):
        return
    if max_params is not None and target_m > max_params:
        raise ValueError(f"--target-params {target_m:g}M is above --max-params {max_params:g}M: no feasible arch has "
                         "that size; lower the target or raise the limit")
    span = final_range(mod, final)
    if span is not None:
        _check_target(target_m, *span)


def _check_target(target_m: float, lo: float, hi: float, what: str = "this space's range:") -> None:
    if not lo <= target_m <= hi:  # a count of parameters given whole is named (session 64: "3500000.0M is outside")
        whole = f" (sizes are read in millions: did you mean {target_m / 1e6:g}?)" if lo <= target_m / 1e6 <= hi else ""
        raise ValueError(f"--target-params {target_m}M is outside {what} {exact_m(lo)}-{exact_m(hi)}M for the final "
                         f"network{whole}")


def range_prior(mod: ModuleType, proxy_net: dict, num_classes: int,
                rule: tuple[float, float]) -> tuple[float, float, dict]:
    """μ, σ from a (centre, width) ``rule`` over the proxy network's exact size range."""
    centre, width = rule
    lo, hi = mod.param_range_k(num_classes=num_classes, **proxy_net)
    mu, sigma = prior_from_range(lo, hi, centre, width)
    return mu, sigma, {"prior_centre": centre, "prior_width": width, "proxy_range_k": [lo, hi]}


def random_sizes(mod: ModuleType, final: dict, max_params: float | None, max_macs: float | None,
                 draws: int = 200, tries: int = 1000) -> str:
    """What the final networks of ``draws`` random archs (``random.Random(0)``) measure against the limits given: the
    smallest, the 1 % and 5 % quantiles and the median (the EA's initial population is drawn at random, up to
    ``tries`` draws in a row for each new arch, so a limit that few random archs meet leaves it without a population
    even where smaller archs exist); "" without a limit."""
    rng = random.Random(0)
    archs = [mod.sample(rng) for _ in range(draws)]
    parts = []
    for flag, limit, unit, measure in (("--max-params", max_params, "M params", final_size),
                                       ("--max-macs", max_macs, "M multiply-adds", final_macs)):
        if limit is not None:
            v = sorted(measure(mod, a, final) for a in archs)
            fit = sum(x <= limit for x in v)
            parts.append(f"{flag} {limit:g}M: of {draws} random archs' final networks {fit} fit; the smallest has "
                         f"{v[0]:.3f}{unit}, 1 % have <= {v[draws // 100]:.3f}, 5 % <= {v[draws // 20]:.3f}, half <= "
                         f"{v[draws // 2]:.3f}")
    return "; ".join(parts) + (f". The initial population is drawn at random (up to {tries} draws in a row for each "
                               "new arch), so smaller archs exist that it rarely reaches: a limit that 1 % of random "
                               "archs meet leaves it enough") if parts else ""
