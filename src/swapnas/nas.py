"""SWAP-NAS end to end: fitness, size control, budget, resume and outputs.

The EA itself is :class:`swapnas.search.Evolution`; this module evaluates what it asks for
with :func:`scoring.score_arch` (every score goes to the SQLite store, so nothing is ever
scored twice, even across searches and crashes), keeps the search state in
``OUT/state.json`` after every cycle, and writes the result.

Fitness (``--fitness``): ``best`` by default, the recommended fitness of the space
(:func:`session.best_for`) under its ``FITNESS_PROTOCOL``; ``swap_reg`` is the paper's
SWAP-NAS: regularised SWAP of the space's proxy network (``SCORING_DEFAULTS``, or ``--net``),
with μ/σ from ``--mu/--sigma``, from ``--target-params`` (:func:`target_prior`) or from the
space's label-free default rule. The scores' seed (``score_seed``) is separate from the EA's
seed, so searches with different seeds share one store.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode
from tqdm import tqdm

from .proxies import get_proxy
from .scoring import score_arch
from .search import EAConfig, Evolution
from .session import best_for, configure, protocol_defaults, scoring_net
from .spaces import get_space
from .store import ScoreStore
from .swap import count_params_k, prior_from_range

#: The final (trained) network per space and dataset: build options and input resolution.
FINAL_NETS: dict[str, dict[str, dict]] = {
    "nb201": {
        "cifar10": {"net": {"C": 16, "N": 5, "num_classes": 10}, "resolution": 32},
        "cifar100": {"net": {"C": 16, "N": 5, "num_classes": 100}, "resolution": 32},
        "imagenet16-120": {"net": {"C": 16, "N": 5, "num_classes": 120}, "resolution": 16},
    },
    "darts": {
        "cifar10": {"net": {"C": 36, "layers": 20, "num_classes": 10}, "resolution": 32},
        # the mobile setting; the scored batch is the 64 px ImageNet stand-in (data.DATASETS)
        "imagenet": {"net": {"C": 48, "layers": 14, "num_classes": 1000}, "resolution": 224,
                     "builder": "darts_imagenet:build_imagenet"},
    },
}


def _builder(mod: ModuleType, final: dict):  # noqa: ANN202
    """The final network's build function (the space's ``build`` unless the entry names another)."""
    if "builder" not in final:
        return mod.build
    module, fn = final["builder"].split(":")
    return getattr(importlib.import_module(f"swapnas.spaces.{module}"), fn)


#: Size-prior rule (centre, width as fractions of the proxy net's size range) used by the search
#: when neither --mu/--sigma nor --target-params is given. NB201: chosen on CIFAR-10 search
#: results only (docs/search.md: the correlation prior 0.8/1.0 leads the EA to a deep-chain
#: cell at 91.63%); other spaces: the shared correlation rule.
SEARCH_PRIOR: dict[str, tuple[float, float]] = {"nb201": (1.0, 0.3)}


def final_net(space: str, dataset: str) -> dict:
    try:
        return FINAL_NETS[space][dataset]
    except KeyError:
        known = ", ".join(f"{s}/{d}" for s, ds in FINAL_NETS.items() for d in ds)
        raise ValueError(f"no final network defined for space {space!r} on {dataset!r}; known: {known}") from None


def final_size(mod: ModuleType, arch: Any, final: dict) -> float:
    """Parameters (millions) of the final network, auxiliary head excluded (meta device)."""
    with torch.device("meta"):
        return count_params_k(_builder(mod, final)(arch, **final["net"])) / 1e3


def final_macs(mod: ModuleType, arch: Any, final: dict) -> float:
    """Multiply-adds (millions) of one forward pass of one image through the final network.

    ``FlopCounterMode`` counts 2 FLOPs per multiply-add; DARTS-style papers quote
    multiply-adds as "FLOPs", so this is FlopCounterMode's total / 2.
    """
    r = final["resolution"]
    with torch.device("meta"):
        model = _builder(mod, final)(arch, **final["net"]).eval()
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(torch.empty(1, 3, r, r))
    return counter.get_total_flops() / 2 / 1e6


def target_prior(mod: ModuleType, proxy_net: dict, final: dict, target_m: float, tolerance: float = 0.1,
                 n: int = 100, seed: int = 0, num_classes: int = 10) -> tuple[float, float, dict]:
    """μ, σ for the scored proxy network that aim the search at a final size of ``target_m`` M params.

    Mapping (documented in docs/search.md): draw ``n`` random archs, count the proxy
    network's size Θ (thousands) and the final network's size P (millions), fit
    Θ ≈ a·P + b by least squares, set μ = a·target + b and σ = (tolerance·μ)², so an arch
    whose proxy is ``tolerance`` away from μ (relative) keeps f = 1/e.
    """
    if target_m <= 0 or tolerance <= 0:
        raise ValueError(f"--target-params and the tolerance must be > 0 (got {target_m}, {tolerance})")
    rng = random.Random(seed)
    archs = [mod.sample(rng) for _ in range(n)]
    with torch.device("meta"):
        theta = np.array([count_params_k(mod.build(a, num_classes=num_classes, **proxy_net)) for a in archs])
    sizes = np.array([final_size(mod, a, final) for a in archs])
    a, b = np.polyfit(sizes, theta, 1)
    r2 = float(np.corrcoef(sizes, theta)[0, 1] ** 2)
    if "builder" in final:  # no exact range for another builder: the sampled one
        lo, hi = float(sizes.min()), float(sizes.max())
    else:
        lo, hi = (v / 1e3 for v in mod.param_range_k(**final["net"]))  # exact, thousands -> millions
    if not lo <= target_m <= hi:
        raise ValueError(f"--target-params {target_m}M is outside this space's range: {lo:.3f}-{hi:.3f}M "
                         "for the final network")
    mu = float(a * target_m + b)
    info = {"slope_k_per_M": float(a), "intercept_k": float(b), "r2": r2, "n": n,
            "final_range_m": [lo, hi]}
    return mu, (tolerance * mu) ** 2, info


@dataclass
class SearchResult:
    space: str
    dataset: str
    best: str
    fitness: float
    params_m: float
    macs_m: float
    evaluations: int
    cycles: int
    wall_seconds: float
    seed: int
    config: dict
    protocol: dict
    mu: float | None
    sigma: float | None
    size_mapping: dict | None
    constraints: dict
    history: list[dict] = field(repr=False)
    snapshots: list[dict] = field(repr=False)
    extra: dict = field(default_factory=dict)
    fitness_proxy: str = "swap_reg"
    refine: dict | None = None


def _save(path: Path, doc: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)  # atomic: a crash leaves the previous state intact


def run_search(
    space: str, dataset: str, *, config: EAConfig, seed: int, store: ScoreStore, out: Path,
    device: torch.device, score_seed: int = 0, mu: float | None = None, sigma: float | None = None,
    target_params: float | None = None, tolerance: float = 0.1, prior: tuple[float, float] | None = None,
    max_params: float | None = None,
    max_macs: float | None = None, max_evals: int | None = None, max_seconds: float | None = None,
    net: dict | None = None, batch_size: int | None = None, repeats: int | None = None,
    data_dir: str | None = None, progress: bool = True, fitness: str = "best",
    refine: int | None = None, refine_repeats: int | None = None,
) -> SearchResult:
    """Run (or resume) a search; state in ``out/state.json``, scores in ``store``.

    ``fitness``: any proxy name (default the alias ``best``, the recommended fitness, scored
    under the space's ``FITNESS_PROTOCOL``); ``swap_reg`` is the paper's SWAP-NAS.
    Size prior: ``mu``/``sigma`` if given; else ``target_params`` (:func:`target_prior`); else,
    for ``swap_reg`` only, the rule ``prior`` = (centre, width) on the proxy net's size range
    (default ``SEARCH_PRIOR``, or the space's correlation rule). For ``swap_reg`` the prior is its
    factor f(Θ); for any other fitness it is added as ln f(Θ) = −(Θ−μ)²/σ (``best`` is a sum of
    logs, so this is the same multiplicative prior), and only when a size flag is given.
    ``refine`` = k > 1: a second stage re-scores the k fittest archs of the history with
    ``refine_repeats`` re-initialisations (same protocol otherwise) and returns the best of them;
    by default the space's ``FITNESS_PROTOCOL["refine"]`` (k, repeats) for ``best``, else none.
    """
    mod = get_space(space)
    final = final_net(space, dataset)
    chosen = get_proxy(best_for(space) if fitness == "best" else fitness)
    k_default, r_default = getattr(mod, "FITNESS_PROTOCOL", {}).get("refine", (0, 4)) if fitness == "best" else (0, 4)
    refine = k_default if refine is None else refine
    refine_repeats = r_default if refine_repeats is None else refine_repeats
    paper = chosen.name == "swap_reg"
    if chosen.parts:
        raise ValueError(f"--fitness {fitness}: a set-level proxy ranks a whole candidate set and has no per-arch "
                         "value; choose a per-arch or derived proxy (`swapnas proxies`)")
    proxy_net = scoring_net(space, dataset, net, protocol_defaults(space, [chosen])["net"])
    mapping = None
    if target_params is not None:
        if mu is not None or sigma is not None:
            raise ValueError("give either --target-params or --mu/--sigma, not both")
        mu, sigma, mapping = target_prior(mod, proxy_net, final, target_params, tolerance,
                                          num_classes=final["net"]["num_classes"])
    elif paper and mu is None and sigma is None and (prior or space in SEARCH_PRIOR):
        centre, width = prior or SEARCH_PRIOR[space]
        lo, hi = mod.param_range_k(num_classes=final["net"]["num_classes"], **proxy_net)
        mu, sigma = prior_from_range(lo, hi, centre, width)
        mapping = {"prior_centre": centre, "prior_width": width, "proxy_range_k": [lo, hi]}
    elif prior is not None:
        raise ValueError("--prior sets swap_reg's size rule; with another fitness give --target-params or --mu/--sigma")
    if not paper and (mu is None) != (sigma is None):
        raise ValueError("give both --mu and --sigma")
    protocol, batch, proxies = configure(space, dataset, [chosen], seed=score_seed, batch_size=batch_size,
                                         repeats=repeats, net=net, data_dir=data_dir, mu=mu, sigma=sigma)
    fitness_proxy = proxies[0]
    if paper:
        mu, sigma = fitness_proxy.options["mu"], fitness_proxy.options["sigma"]
    sign = 1.0 if fitness_proxy.higher_is_better else -1.0

    def size_term(arch: Any) -> float:
        if paper or mu is None:
            return 0.0
        with torch.device("meta"):
            theta = count_params_k(mod.build(arch, num_classes=batch.num_classes, **protocol.net))
        return -((theta - mu) ** 2) / sigma

    def value(arch: Any, rec: Any) -> float:
        return sign * rec.value + size_term(arch) if rec.ok else math.nan

    def feasible(arch: Any) -> bool:
        if max_params is not None and final_size(mod, arch, final) > max_params:
            return False
        return max_macs is None or final_macs(mod, arch, final) <= max_macs

    ea = Evolution(mod, config, seed, feasible)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "state.json"
    fitness_id = {"proxy": fitness_proxy.key, "size_prior": None if paper else [mu, sigma],
                  "protocol": protocol.fingerprint, "net": protocol.net_key,
                  "batch_size": protocol.batch_size, "repeats": protocol.repeats, "score_seed": score_seed,
                  "constraints": [max_params, max_macs]}
    if state_path.is_file():
        saved = json.loads(state_path.read_text())
        if saved.get("fitness") != fitness_id:
            raise ValueError(f"{state_path} holds a search with another fitness or constraints "
                             f"({saved.get('fitness')}); use another --out folder or the same settings")
        ea.load_state_dict(saved["ea"])
    batch_dev = batch.to(device)
    t0 = time.perf_counter()
    bar = tqdm(total=config.cycles + 1, initial=ea.cycle + bool(ea.population), desc=f"search {space}/{dataset}",
               unit="cycle", disable=not progress, dynamic_ncols=True)
    while not ea.done:
        if max_evals is not None and len(ea.history) >= max_evals:
            break
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            break
        archs = ea.ask()
        recs = [score_arch(a, mod.build, [fitness_proxy], batch_dev, protocol, device, store)[fitness_proxy.name]
                for a in archs]
        ea.tell(archs, [value(a, r) for a, r in zip(archs, recs)])
        _save(state_path, {"fitness": fitness_id, "ea": ea.state_dict()})
        bar.update(1)
        bar.set_postfix(best=f"{ea.best[1]:.4g}", evals=len(ea.history))
    bar.close()
    best, fit = ea.best
    shortlist = None
    if refine > 1 and refine_repeats > protocol.repeats:  # second stage: re-score the top-k with more repeats
        stage2 = replace(protocol, repeats=refine_repeats)
        ranked = sorted((h for h in ea.history if math.isfinite(h["fitness"])), key=lambda h: -h["fitness"])
        shortlist = []
        for h in ranked[:refine]:
            arch = mod.parse(h["arch"])
            rec = score_arch(arch, mod.build, [fitness_proxy], batch_dev, stage2, device, store)[fitness_proxy.name]
            shortlist.append({"arch": h["arch"], "fitness": h["fitness"], "refined": value(arch, rec)})
        top = max((c for c in shortlist if math.isfinite(c["refined"])), key=lambda c: c["refined"], default=None)
        if top is not None:
            best, fit = mod.parse(top["arch"]), top["refined"]
    return SearchResult(
        space, dataset, str(best), fit, final_size(mod, best, final), final_macs(mod, best, final),
        len(ea.history), ea.cycle, time.perf_counter() - t0, seed, asdict(config), protocol.describe(), mu, sigma,
        mapping, {"max_params_m": max_params, "max_macs_m": max_macs}, ea.history, ea.snapshots,
        fitness_proxy=fitness_proxy.key,
        refine=None if shortlist is None else {"k": refine, "repeats": refine_repeats, "shortlist": shortlist},
    )


def nb201_extras(result: SearchResult, data_dir: str | None) -> dict:
    """True validation / test accuracy of the found NB201 arch, its rank in the space and the regret."""
    from .benchmarks import get_benchmark
    from .spaces import nb201

    out: dict = {}
    for metric in ("valid", "test"):
        bench = get_benchmark("nb201", data_dir, metric=metric)
        col = bench.column(bench.truth(result.dataset).column)
        acc = float(col[bench.index_of(nb201.parse(result.best))])
        out[f"{metric}_accuracy"] = acc
        out[f"{metric}_optimum"] = float(col.max())
        out[f"{metric}_rank"] = int((col > acc).sum()) + 1
        out[f"{metric}_regret"] = float(col.max()) - acc
    return out


def write_result(result: SearchResult, out: Path) -> list[Path]:
    """``result.json``, ``search_curve.png`` and ``cell.png`` under ``out``."""
    from .report import draw_cells, search_curve

    path = out / "result.json"
    path.write_text(json.dumps(asdict(result), indent=1))
    mod = get_space(result.space)
    return [path, search_curve(result.snapshots, result.history, out / "search_curve.png",
                               f"{result.space}/{result.dataset} seed {result.seed}"),
            draw_cells(mod.cell_edges(mod.parse(result.best)), out / "cell.png")]
