"""Why do jacob_cov, plain and fisher agree with NASLib's NB101 / NB301 scores less than with themselves?

Session 43 read NASLib's zero-cost code of the time the NB101 / NB301 files were made (branch ``zerocost``,
commit 8c45f19d) and found four differences from `swapnas conformance`'s protocol. This script re-scores the
archs of a conformance run (its ``conformance.json``) under each difference, one at a time and all together,
and prints ρ(variant, NASLib) and ρ(variant, ours as the run stored it) for each metric:

- ``base``: our protocol (the run's: fixed batch of 64 bundled test images, our network); it must reproduce the
  run's stored scores (the script checks it).
- ``perarch``: a new batch for every arch, 32 images drawn from the bundled 2000 with a random crop (padding 4)
  and flip, as NASLib's loader does (a new iterator of a shuffled, augmented training loader per arch); its images
  are test images, NASLib's training images.
- ``poolbn`` (NB301): ``BatchNorm2d(C, affine=False)`` after every pooling op of the cells (NASLib's
  ``MaxPool``/``AvgPool`` with ``use_bn=True``; no parameters, so the params check cannot see it): the ``darts``
  network option ``pool_bn``, which the conformance network has since session 43; ``base`` is built without it.
- ``archai`` (NB101): the init of the NB101 network NASLib built (archai's ``_initialize_weights``: conv weights
  N(0, 2 / (k² C_out)), BatchNorm 1 / 0, classifier N(0, 0.01), zero biases).
- ``naslib``: all of the above for the space.

Each variant also gives ``fisher_fanin``, NASLib's fisher: each channel's Δ_c is copied into every weight of the
channel before the sum, i.e. weighted by the layer's fan-in (C_in · kh · kw; 512 for the classifier).

    OMP_NUM_THREADS=1 python scripts/conformance_gaps.py runs/conformance_nb301_60/conformance.json --space nb301 \
        --data-dir ../shared/data --out runs/gaps43_nb301.json

Analysis only: nothing here changes a metric, a default or a stored score.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from swapnas.bundle import Batch
from swapnas.conformance import NASLIB_ALSO, NASLIB_PROTOCOL, get_source, load_naslib, spearman
from swapnas.data import dataset_info, load_batch
from swapnas.proxies import get_proxy
from swapnas.scoring import arch_seed, build_scored_net
from swapnas.session import prepare
from swapnas.spaces import get_space

METRICS = ("jacob_cov", "plain", "snip", "grad_norm", "fisher", "fisher_fanin")
VARIANTS = {"nb101": ("base", "perarch", "archai", "naslib"), "nb301": ("base", "perarch", "poolbn", "naslib")}


def archai_init(model: nn.Module, seed: int) -> None:
    """archai's NB101 init, drawn from a generator seeded per arch."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2.0 / n))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.01)
                m.bias.zero_()


def augmented_batch(pool_x: torch.Tensor, pool_y: torch.Tensor, black: torch.Tensor, size: int,
                    seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``size`` images drawn without replacement, each randomly cropped (zero-pixel padding 4) and flipped."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(pool_x), generator=g)[:size]
    x = pool_x[idx]
    padded = black.view(1, 3, 1, 1).expand(size, 3, x.shape[2] + 8, x.shape[3] + 8).clone()
    padded[:, :, 4:-4, 4:-4] = x
    out = torch.empty_like(x)
    offs = torch.randint(0, 9, (size, 2), generator=g)
    flips = torch.rand(size, generator=g) < 0.5
    for i in range(size):
        dy, dx = int(offs[i, 0]), int(offs[i, 1])
        img = padded[i, :, dy:dy + x.shape[2], dx:dx + x.shape[3]]
        out[i] = img.flip(-1) if flips[i] else img
    return out, pool_y[idx]


def score(model: nn.Module, batch: Batch) -> dict[str, float]:
    """Every metric of :data:`METRICS`, the registered functions on one network (each takes its own gradients)."""
    return {m: float(get_proxy(m).fn(model, batch)) for m in METRICS}


def rho(a: list[float], b: list[float]) -> float:
    """The conformance table's Spearman ρ over the archs where both scores are finite."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(x) & np.isfinite(y)
    return spearman(x[ok], y[ok])


def jacov_spread(data_dir: str | None) -> None:
    """NASLib's stored jacov over each whole CIFAR-10 file: quantiles, maximum (at most −N for N images) and the
    share below −33 (NB201's degenerate cells)."""
    print("file: jacov 5 / 25 / 50 / 75 / 95 % quantiles, max, share below -33")
    for space in ("nb101", "nb201", "nb301"):
        v = load_naslib(space, "cifar10", data_dir).scores["jacob_cov"]
        v = v[np.isfinite(v)]
        q = " / ".join(f"{x:.3f}" for x in np.percentile(v, [5, 25, 50, 75, 95]))
        print(f"{space} ({len(v)} archs): {q}, max {v.max():.3f}, {np.mean(v < -33):.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("conformance", type=Path, nargs="?", help="a `swapnas conformance` run's conformance.json (seed 0)")
    ap.add_argument("--spread", action="store_true", help="only print NASLib's stored jacov spread per benchmark")
    ap.add_argument("--space", choices=sorted(VARIANTS))
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--variants", default=None, help="comma-separated; default all of the space's")
    ap.add_argument("--limit", type=int, default=None, help="the run's first N archs only (a quick check)")
    ap.add_argument("--out", type=Path, help="JSON of every score and every ρ")
    args = ap.parse_args(argv)
    if args.spread:
        jacov_spread(args.data_dir)
        return 0
    if args.conformance is None or args.space is None or args.out is None:
        ap.error("give a conformance.json, --space and --out (or --spread)")
    run = json.loads(args.conformance.read_text())
    if args.limit is not None:
        for k in ("archs", "accuracy"):
            run[k] = run[k][:args.limit]
        for k in ("scores", "naslib_scores"):
            run[k] = {m: v[:args.limit] for m, v in run[k].items()}
    src = get_source(args.space)
    space = get_space(src.space)
    variants = args.variants.split(",") if args.variants else list(VARIANTS[args.space])
    net = {k: v for k, v in src.net.items() if k != "pool_bn"}  # session 42's network, as the run scored it
    cfg = {**NASLIB_PROTOCOL, "seed": 0, "net": net, "labels": True}
    protocol, batch = prepare(space=src.space, dataset="cifar10", data_dir=args.data_dir, image_root=None, **cfg)
    with_bn = replace(protocol, net={**net, "pool_bn": True})
    pool = load_batch("cifar10", 2000, data_dir=args.data_dir, seed=0, fill="error")
    info = dataset_info("cifar10")
    black = -torch.tensor(info.mean) / torch.tensor(info.std)  # a zero pixel, normalised (NASLib pads before)
    archs = [space.parse(a) for a in run["archs"]]
    scores: dict[str, dict[str, list[float]]] = {v: {m: [] for m in METRICS} for v in variants}
    t0 = time.perf_counter()
    for i, arch in enumerate(archs):
        seed = arch_seed(0, protocol.space, str(arch), 0)
        for v in variants:
            bn = v in ("poolbn", "naslib") and args.space == "nb301"
            model = build_scored_net(space.build, arch, with_bn if bn else protocol, batch.num_classes, 0,
                                     torch.device("cpu"))
            if v in ("archai", "naslib") and args.space == "nb101":
                archai_init(model, seed)
            if v in ("perarch", "naslib"):
                x, y = augmented_batch(pool.inputs, pool.targets, black, 32, seed)
                scored = replace(batch, inputs=x, targets=y)
            else:
                scored = batch
            for m, val in score(model, scored).items():
                scores[v][m].append(val)
        print(f"{i + 1}/{len(archs)} archs, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    stored = run["scores"]
    if "base" in scores:
        for m in METRICS:
            if m in stored:
                ours, was = np.array(scores["base"][m], float), np.array(stored[m], float)
                rel = np.abs(ours - was) / np.maximum(np.abs(was), 1e-30)
                rel[np.isfinite(ours) != np.isfinite(was)] = np.inf  # a score on one side only: not reproduced
                diff = np.nanmax(rel)
                print(f"base reproduces the stored {m}: max relative difference {diff:.1e}")
    naslib = run["naslib_scores"]
    table: dict[str, dict[str, dict[str, float]]] = {}
    print(f"\n{'metric':<13}" + "".join(f"{v:>22}" for v in variants))
    print(" " * 13 + "".join(f"{'(NASLib / ours)':>22}" for _ in variants))
    theirs = {extra: name for name, extras in NASLIB_ALSO.items() for extra in extras}  # fisher_fanin -> fisher
    for m in METRICS:
        ref = naslib.get(theirs.get(m, m))
        ours = stored.get(theirs.get(m, m))
        cells = {v: {"rho_naslib": rho(scores[v][m], ref) if ref else float("nan"),
                     "rho_ours": rho(scores[v][m], ours) if ours else float("nan")} for v in variants}
        table[m] = cells
        print(f"{m:<13}" + "".join(f"{c['rho_naslib']:>13.3f} / {c['rho_ours']:.3f}" for c in cells.values()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"conformance": str(args.conformance), "space": args.space, "variants": variants,
                                    "archs": run["archs"], "scores": scores, "rho": table,
                                    "seconds": time.perf_counter() - t0}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
