"""L-SWAG's layer interval, chosen on dev data: which depth percentiles should Λ and Ψ cover?

The paper (Casarin et al., CVPR 2025, Sec. 3.1) sums Λ over layers [l̂, L̂] and counts Ψ over the activations up
to L̂, with l̂ and L̂ picked per benchmark in depth-percentile bins (Eq. 6: bin = ⌊100·l/D / 10⌋). Here the
interval is chosen on the dev sets only (docs/protocol.md). For every arch of each dev run given (a
``correlate --proxies lswag_grad,lswag`` results.json on a dev set) the run's scored network is rebuilt under
the run's protocol; one pass stores the ten per-bin sums of Λ's layer terms (:mod:`swapnas.proxies.lswag`) and
one forward pass the ten cumulative pattern counts Ψ_≤b (ReLU maps in hook order, repeated inputs once). Both
are checked against the run's stored whole-network values, arch by arch, and cached beside the run
(``lswag_bins.npz``). Then, for every interval [a, b] of bins (55):

    L-SWAG_[a,b] = ln Ψ_≤b + ln Σ_{a≤bin≤b} Λ_bin     (a monotone transform of the paper's product)

Tables: ρ of the whole-network L-SWAG and of the best interval per run; the interval with the best worst ρ
over the runs of one space (the repository's rule); and the split-half check: the interval chosen on a random
half of every run, read on the other half (seeds 0–4). ``--write`` adds the chosen interval's ``lswag_grad_iv``
(Λ over [a, b]) and ``swap_iv`` (Ψ_≤b) to a results.json beside each run, for ``scripts/choose_fitness.py``.
Every figure is in-sample (dev labels).

    python scripts/lswag_layers_dev.py runs/dev_nb201_c10_R1_default_lswag/results.json --data-dir ../shared/data
    python scripts/lswag_layers_dev.py runs/dev_darts_swap_C_8_layers_5_default_lswag/results.json \\
        runs/dev_nb301_C_8_layers_5_default_lswag/results.json --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from tqdm import tqdm

from swapnas.patterns import hooked_activations
from swapnas.proxies.lswag import inverse_std_term
from swapnas.proxies.zico import split_gradients
from swapnas.scoring import build_scored_net
from swapnas.session import stored_run
from swapnas.spaces import get_space

from choose_fitness import check_dev  # scripts/ is on sys.path when run as a script

BINS = 10
INTERVALS = [(a, b) for a in range(BINS) for b in range(a, BINS)]


def bin_of(index: int, depth: int) -> int:
    """The paper's depth-percentile bin (Eq. 6, PERC_BINS = 10) of layer ``index`` (0-based) of ``depth``."""
    return min(BINS - 1, int(100 * index / depth // (100 / BINS)))


def lam_bins(model: torch.nn.Module, batch) -> np.ndarray:
    """Λ's layer terms (Conv/Linear weights in module order) summed per depth bin; 0 where a bin has none."""
    lam = np.zeros(BINS)
    grads = split_gradients(model, batch, 2)
    for i, g in enumerate(grads):
        t = inverse_std_term(g)
        if t is not None:
            lam[bin_of(i, len(grads))] += t
    return lam


def psi_bins(model: torch.nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """Ψ_≤bin: distinct S-bit patterns over the ReLU maps (hook order) of bins 0..bin (S ≤ 20)."""
    s = inputs.shape[0]
    weights = torch.ldexp(torch.ones(1, s), torch.arange(s))
    maps: list[torch.Tensor] = []

    def sink(out: torch.Tensor) -> None:
        bits = (out.reshape(s, -1) > 0).float()
        maps.append(torch.bincount(torch.mm(weights, bits).view(-1).to(torch.int64), minlength=2**s) > 0)

    with hooked_activations(model, sink=sink, skip_repeats=True), torch.no_grad():
        model(inputs)
    psi, seen = np.zeros(BINS), torch.zeros(2**s, dtype=torch.bool)
    for b in range(BINS):
        for i, m in enumerate(maps):
            if bin_of(i, len(maps)) == b:
                seen |= m
        psi[b] = float(seen.sum())
    return psi


def _cache_fits(cached: dict[str, np.ndarray], doc: dict) -> bool:
    """The cached bins are this run's: same archs' accuracies, and Λ sums to its stored lswag_grad."""
    acc = np.array(doc["accuracy"], dtype=float)
    stored = np.array([np.nan if v is None else v for v in doc["scores"]["lswag_grad"]])
    if cached.get("acc") is None or cached["acc"].shape != acc.shape or not np.array_equal(cached["acc"], acc):
        return False
    sums = cached["lam"].sum(1)
    return bool(np.array_equal(np.isfinite(sums), np.isfinite(stored))
                and np.allclose(sums[np.isfinite(sums)], stored[np.isfinite(stored)], rtol=1e-6))


def bins_of_run(path: str, data_dir: str) -> dict[str, np.ndarray]:
    """Per-arch bins of a dev run (cached in ``lswag_bins.npz`` beside it), checked against its stored values."""
    cache = Path(path).parent / "lswag_bins.npz"
    doc = json.loads(Path(path).read_text())
    check_dev(doc, path)  # the interval is a choice: dev labels only
    if cache.exists():
        cached = dict(np.load(cache))
        if _cache_fits(cached, doc):
            return cached
        print(f"{cache} does not match {path} (another run wrote it): scoring again")
    prot, batch = stored_run(doc["protocol"], data_dir)
    space, cpu = get_space(prot.space), torch.device("cpu")
    lam, psi = np.full((len(doc["archs"]), BINS), np.nan), np.full((len(doc["archs"]), BINS), np.nan)
    for j, (arch, stored) in enumerate(tqdm(list(zip(doc["archs"], doc["scores"]["lswag_grad"])), desc=path)):
        if stored is None:  # the run's lswag_grad failed (no gradient varies): left out here too
            continue
        lam[j] = lam_bins(build_scored_net(space.build, space.parse(arch), prot, batch.num_classes, 0, cpu), batch)
        psi[j] = psi_bins(build_scored_net(space.build, space.parse(arch), prot, batch.num_classes, 0, cpu), batch.inputs)
        if not math.isclose(lam[j].sum(), stored, rel_tol=1e-6):
            raise SystemExit(f"{arch}: Λ {lam[j].sum()} differs from the run's stored lswag_grad {stored}")
    both = np.isfinite(lam[:, 0])
    stored_l = np.array([np.nan if v is None else v for v in doc["scores"]["lswag"]])
    if not np.allclose(np.exp(np.log(lam[both].sum(1)) + np.log(psi[both, -1])), stored_l[both], rtol=1e-6):
        raise SystemExit("Λ · Ψ differs from the run's stored lswag: not the run's protocol")
    np.savez(cache, lam=lam, psi=psi, acc=np.array(doc["accuracy"], dtype=float))
    return {"lam": lam, "psi": psi, "acc": np.array(doc["accuracy"], dtype=float)}


def interval_value(d: dict[str, np.ndarray], a: int, b: int) -> np.ndarray:
    """ln Ψ_≤b + ln Σ Λ over bins a..b per arch: −inf where those bins hold no layer term (Λ·Ψ = 0, ranked
    last, so every interval is judged on the same archs), NaN only where the run's lswag_grad failed."""
    lam = d["lam"][:, a:b + 1].sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(lam > 0, np.log(d["psi"][:, b]) + np.log(lam), np.where(np.isnan(lam), np.nan, -np.inf))


def rho(x: np.ndarray, acc: np.ndarray, idx: np.ndarray | None = None) -> float:
    ok = ~np.isnan(x) if idx is None else np.isin(np.arange(len(x)), idx) & ~np.isnan(x)
    return float(stats.spearmanr(x[ok], acc[ok])[0])


def choose(runs: list[dict], idx: list[np.ndarray | None]) -> tuple[tuple[int, int], float]:
    """The interval with the best worst ρ over the runs (restricted to ``idx`` per run)."""
    scored = {iv: min(rho(interval_value(d, *iv), d["acc"], i) for d, i in zip(runs, idx)) for iv in INTERVALS}
    best = max(scored, key=scored.get)
    return best, scored[best]


def split_rows(runs: list[dict], seeds: list[int]) -> list[str]:
    """The interval chosen on a random half of every run, read on the other half, against the whole network."""
    rows = ["| seed | chosen on | interval | worst ρ there | worst ρ on the other half | whole network there |",
            "|---|---|---|---|---|---|"]
    for seed in seeds:
        rng = np.random.default_rng(seed)
        orders = [rng.permutation(len(d["acc"])) for d in runs]
        halves = {"A": [o[: len(o) // 2] for o in orders], "B": [o[len(o) // 2:] for o in orders]}
        for name, other in (("A", "B"), ("B", "A")):
            iv, there = choose(runs, halves[name])
            held = min(rho(interval_value(d, *iv), d["acc"], i) for d, i in zip(runs, halves[other]))
            whole = min(rho(interval_value(d, 0, BINS - 1), d["acc"], i) for d, i in zip(runs, halves[other]))
            rows.append(f"| {seed} | {name} | {iv} | {there:.3f} | {held:.3f} | {whole:.3f} |")
    return rows


def write_interval(path: str, d: dict[str, np.ndarray], iv: tuple[int, int]) -> str:
    """A results.json beside the run with Λ over ``iv`` (``lswag_grad_iv``) and Ψ_≤b (``swap_iv``)."""
    doc = json.loads(Path(path).read_text())
    lam = d["lam"][:, iv[0]:iv[1] + 1].sum(1)
    out = Path(path).parent.with_name(Path(path).parent.name + "_iv") / "results.json"
    out.parent.mkdir(exist_ok=True)
    scores = {"lswag_grad_iv": [float(v) if np.isfinite(v) and v > 0 else None for v in lam],
              "swap_iv": [float(v) if np.isfinite(v) else None for v in d["psi"][:, iv[1]]]}
    out.write_text(json.dumps({"protocol": doc["protocol"], "interval_bins": list(iv), "archs": doc["archs"],
                               "accuracy": doc["accuracy"], "scores": scores}))
    return str(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="dev runs of lswag_grad,lswag (one space)")
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--out", default=None, help="markdown file to write (default: print only)")
    ap.add_argument("--split-seeds", default="0,1,2,3,4")
    ap.add_argument("--write", action="store_true", help="write the chosen interval's values beside each run")
    args = ap.parse_args()
    torch.set_num_threads(1)
    runs = [bins_of_run(p, args.data_dir) for p in args.runs]
    names = [Path(p).parent.name for p in args.runs]
    lines = ["L-SWAG's layer interval on dev data (`python scripts/lswag_layers_dev.py " + " ".join(args.runs) +
             "`); every figure is in-sample. Interval (a, b): Λ over depth bins a..b, Ψ over bins 0..b (10 bins).", "",
             "| dev run | whole network (0, 9) | best interval there | its ρ |", "|---|---|---|---|"]
    for name, d in zip(names, runs):
        per = {iv: rho(interval_value(d, *iv), d["acc"]) for iv in INTERVALS}
        top = max(per, key=per.get)
        lines.append(f"| {name} | {per[(0, BINS - 1)]:.3f} | {top} | {per[top]:.3f} |")
    iv, w = choose(runs, [None] * len(runs))
    per = [rho(interval_value(d, *iv), d["acc"]) for d in runs]
    lines += ["", f"**Chosen** (best worst ρ over the runs): interval {iv}, worst ρ {w:.3f} (" +
              ", ".join(f"{n} {r:.3f}" for n, r in zip(names, per)) + ").", "",
              "Split-half check (each interval chosen on a random half of every run, read on the other half):", "",
              *split_rows(runs, [int(x) for x in args.split_seeds.split(",")])]
    if args.write:
        lines += ["", "Written for choose_fitness.py: " + ", ".join(
            f"`{write_interval(p, d, iv)}`" for p, d in zip(args.runs, runs))]
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
