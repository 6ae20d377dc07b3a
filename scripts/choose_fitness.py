"""Choose the recommended fitness (``best``) on dev data only: greedy log-linear combination.

Reads ``swapnas correlate`` runs on dev sets (docs/protocol.md: NB201 CIFAR-10 validation of
the 1000-arch seed-0 sample, NB301, darts_swap) that scored candidate components, and builds
f = Σ w_i · T_i(component_i) by greedy forward selection: start from ln(swap) (w = 1; ``--anchor``
names another SWAP proxy, e.g. swap_ext on Transformers); at each
step try every unused component with every weight of a grid and keep the one that raises the
WORST Spearman ρ over the dev sets most; stop when the gain is below ``--min-gain``.
T = ln when a component is positive on every dev arch, else the identity (``--transform rank``: T = ln(rank / n)
inside the set judged for every component, AZ-NAS's aggregation; the incumbent stays a log-linear sum); an identity
component's weights are in units of 1 / (its std over the first dev run) so one grid fits all.
Every candidate is judged on all archs of every dev run: an arch whose fitness is not finite (a failed
component, ln 0) ranks last, as a search never returns it (``search/fitness.py`` ranks finite fitness
only), so a component's failures are neither dropped from its ρ nor counted for it. The runs must be
dev runs (docs/protocol.md, label hygiene; any other run is refused).

    python scripts/choose_fitness.py runs/dev_nb201_c10/results.json runs/dev_nb301/results.json \\
        runs/dev_darts_swap/results.json --out docs/generated/dev/fitness.md [--scan az_nas_progressivity]

Every figure this prints is in-sample (dev labels chose the weights).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
from scipy import stats

from swapnas.benchmarks.nb301 import DartsSwapBenchmark, NB301Benchmark

GRID = (-2.0, -1.0, -0.5, -0.25, -0.1, 0.1, 0.25, 0.5, 1.0, 2.0)


def load(paths: list[str]) -> list[dict]:
    """Each path is one dev run; ``a.json+b.json`` merges runs on the same archs (other proxies)."""
    runs = []
    for path in paths:
        docs = [json.loads(Path(p).read_text()) for p in path.split("+")]
        for p, d in zip(path.split("+"), docs):
            check_dev(d, p)
        if any(d["archs"] != docs[0]["archs"] for d in docs):
            raise SystemExit(f"{path}: the merged runs hold different archs")
        scores = {k: np.array([np.nan if v is None else v for v in vals], dtype=float)
                  for d in docs for k, vals in d["scores"].items()}
        runs.append({"path": path, "name": f"{docs[0]['protocol']['space']}:{Path(path.split('+')[0]).parent.name}",
                     "acc": np.array(docs[0]["accuracy"], dtype=float), "scores": scores})
    return runs


#: (dataset, archs, the starts a ground-truth text may have) of each space's dev runs (docs/protocol.md, label
#: hygiene); DARTS: the two dev benchmarks, NB301's 725 and darts_swap's 300, not a --truth file of one's own (session
#: 65: any DARTS run passed, the SWAP authors' other 700 archs, held back from the bundle, too)
DEV_RUNS = {"nb201": ("cifar10", 1000, ("NB201 valid accuracy (%), 200 epochs,",)),
            "flexibert": ("glue", 245, ("FlexiBERT-500 GLUE score (mean of the eight tasks)",)),
            "darts": ("cifar10", None, (NB301Benchmark.protocol, DartsSwapBenchmark.protocol))}


def dev_problems(doc: dict) -> list[str]:
    """Why a ``correlate`` results.json is not a dev run whose labels may steer a choice ([] if it is one)."""
    prot = doc["protocol"]
    if prot["space"] not in DEV_RUNS:
        return [f"space {prot['space']} has no dev set"]
    dataset, n, truth = DEV_RUNS[prot["space"]]
    return [what for what, bad in (
        (f"dataset {dataset}", prot["dataset"] != dataset),
        ("seed 0 (the dev sample)", n is not None and prot["seed"] != 0),
        (f"{n} archs", n is not None and len(doc["archs"]) != n),
        (f"ground truth {' or '.join(map(repr, truth))}…", not doc.get("ground_truth", "").startswith(truth)),
    ) if bad]


def check_dev(doc: dict, path: str) -> None:
    problems = dev_problems(doc)
    if problems:
        raise SystemExit(f"{path} is not a dev run (docs/protocol.md, label hygiene): it needs {', '.join(problems)}")


def rank_features(names: list[str]) -> tuple[dict[str, str], dict[str, float]]:
    """--transform rank: every component as ln(rank / n) within the set judged, unscaled."""
    return {n: "rank" for n in names}, {n: 1.0 for n in names}


def features(runs: list[dict], exclude: set[str]) -> tuple[list[str], dict[str, str], dict[str, float]]:
    names = sorted(set.intersection(*(set(r["scores"]) for r in runs)) - exclude)
    transform, scale = {}, {}
    for n in names:
        positive = all(np.all(r["scores"][n][np.isfinite(r["scores"][n])] > 0) for r in runs)
        transform[n] = "log" if positive else "lin"
        first = runs[0]["scores"][n]
        scale[n] = 1.0 if positive else float(np.nanstd(first[np.isfinite(first)])) or 1.0
    return names, transform, scale


def log_rank(v: np.ndarray, reverse: bool = False) -> np.ndarray:
    """ln(r / n): r the rank of each value among the n of ``v`` (1 = lowest, or highest with ``reverse``; ties get
    their average rank); a non-finite value gives −inf (AZ-NAS's aggregation, docs/protocol.md, session 44)."""
    ok = np.isfinite(v)
    out = np.full(len(v), -np.inf)
    out[ok] = np.log(stats.rankdata(-v[ok] if reverse else v[ok]) / len(v))
    return out


def value(run: dict, terms: dict[str, float], transform: dict[str, str]) -> np.ndarray:
    total = np.zeros(len(run["acc"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        for n, w in terms.items():
            v = run["scores"][n]
            if transform[n] == "rank":
                total = total + abs(w) * log_rank(v, reverse=w < 0)
            else:
                total = total + w * (np.log(v) if transform[n] == "log" else v)
    return total


def rho(run: dict, f: np.ndarray) -> float:
    """Spearman ρ of ``f`` over every arch of ``run``; a non-finite fitness ranks last (a search never picks it),
    so every candidate is judged on the same archs. −1 when fewer than 11 archs have a finite fitness."""
    ok = np.isfinite(f)
    if ok.sum() <= 10:
        return -1.0
    return float(stats.spearmanr(np.where(ok, f, -np.inf), run["acc"])[0])


def worst(runs: list[dict], terms: dict[str, float], transform: dict[str, str]) -> tuple[float, list[float]]:
    rhos = [rho(r, value(r, terms, transform)) for r in runs]
    return min(rhos), rhos


def greedy(runs: list[dict], names: list[str], transform: dict[str, str], scale: dict[str, float],
           min_gain: float, max_terms: int, anchor: str = "swap") -> list[tuple[dict[str, float], float, list[float]]]:
    terms = {anchor: 1.0}
    path = [(dict(terms), *worst(runs, terms, transform))]
    while len(terms) < max_terms:
        best = None
        for n in names:
            if n in terms:
                continue
            for g in GRID:
                trial = {**terms, n: g / scale[n]}
                w, rhos = worst(runs, trial, transform)
                if best is None or w > best[1]:
                    best = (trial, w, rhos)
        if best is None or best[1] < path[-1][1] + min_gain:
            break
        terms = best[0]
        path.append(best)
    return path


def joint(runs: list[dict], grid: dict[str, list[float]], transform: dict[str, str],
          top: int = 10, anchor: str = "swap") -> list[tuple[dict[str, float], float, list[float]]]:
    """Every combination of ln anchor (w = 1) + the raw weights of ``grid``, best worst-case ρ first
    (ties broken by the mean ρ over the dev runs)."""
    rows = []
    for ws in itertools.product(*grid.values()):
        terms = {anchor: 1.0, **{n: w for n, w in zip(grid, ws) if w}}
        w, rhos = worst(runs, terms, transform)
        rows.append((terms, w, rhos))
    rows.sort(key=lambda row: (-round(row[1], 6), -float(np.mean(row[2]))))
    return rows[:top]


def halves(runs: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    """Each dev run cut in two by a seeded permutation of its archs (half A, half B)."""
    rng = np.random.default_rng(seed)
    cut_a, cut_b = [], []
    for r in runs:
        order = rng.permutation(len(r["acc"]))
        for cut, idx in ((cut_a, order[: len(order) // 2]), (cut_b, order[len(order) // 2:])):
            cut.append({**r, "acc": r["acc"][idx], "scores": {k: v[idx] for k, v in r["scores"].items()}})
    return cut_a, cut_b


def parse_terms(text: str) -> dict[str, float]:
    """``swap=1,params=0.5`` -> {"swap": 1.0, "params": 0.5} (raw weights)."""
    try:
        return {k.strip(): float(v) for k, v in (part.split("=") for part in text.split(","))}
    except ValueError as exc:
        raise SystemExit(f"--incumbent {text!r}: expected NAME=w,NAME=w,… ({exc})") from None


def terms_text(terms: dict[str, float], transform: dict[str, str]) -> str:
    prefix = {"log": "ln ", "lin": "", "rank": "ln rank "}
    return " + ".join(f"{v:.4g}·{prefix[transform[n]]}{n}" for n, v in terms.items())


def split_check(runs: list[dict], names: list[str], transform: dict[str, str], scale: dict[str, float],
                args: argparse.Namespace, inc_transform: dict[str, str]) -> list[str]:
    """Each rule (greedy path; joint grid's first row) chosen on one half of every dev run and read on
    the other, beside the incumbent (a log-linear sum, read with ``inc_transform``) and the anchor alone:
    how much of a gain is over-fitting."""
    lines = ["", "Split-half check (seeds " + ", ".join(map(str, args.split_seeds)) + "; each rule chosen on one "
             "random half of every dev run, read on the other half; worst ρ over the dev runs):", "",
             "| seed | chosen on | rule | terms | worst ρ there | worst ρ on the other half | incumbent there | "
             "ln anchor alone there |", "|---|---|---|---|---|---|---|---|"]
    incumbent = parse_terms(args.incumbent) if args.incumbent else None
    grid = parse_grid(args.joint) if args.joint else None
    for seed in args.split_seeds:
        a, b = halves(runs, seed)
        for label, fit, held in (("A", a, b), ("B", b, a)):
            rules = [("greedy", greedy(fit, names, transform, scale, args.min_gain, args.max_terms, args.anchor)[-1])]
            if grid:
                rules.append(("joint", joint(fit, grid, transform, top=1, anchor=args.anchor)[0]))
            inc = f"{worst(held, incumbent, inc_transform)[0]:.3f}" if incumbent else "—"
            for rule, (terms, w, _) in rules:
                lines.append(f"| {seed} | {label} | {rule} | {terms_text(terms, transform)} | {w:.3f} | "
                             f"{worst(held, terms, transform)[0]:.3f} | {inc} | "
                             f"{worst(held, {args.anchor: 1.0}, transform)[0]:.3f} |")
    return lines


def parse_grid(text: str) -> dict[str, list[float]]:
    """``a=0,0.5,1;b=0,1`` -> {"a": [0, 0.5, 1], "b": [0, 1]}."""
    try:
        return {k.strip(): [float(x) for x in v.split(",")] for k, v in (part.split("=") for part in text.split(";"))}
    except ValueError as exc:
        raise SystemExit(f"--joint {text!r}: expected NAME=w,w,…;NAME=w,… ({exc})") from None


def joint_table(runs: list[dict], names: list[str], transform: dict[str, str],
                args: argparse.Namespace) -> tuple[list, list[str]]:
    """The joint grid's 10 best rows and their table."""
    grid = parse_grid(args.joint)
    unknown = sorted(set(grid) - set(names))
    if unknown:
        raise SystemExit(f"--joint: {unknown} not scored in every dev run (scored: {names})")
    top = joint(runs, grid, transform, anchor=args.anchor)
    lines = ["", "Joint grid over raw weights: " + "; ".join(f"{n} ∈ {{{', '.join(f'{w:g}' for w in g)}}}"
                                                         for n, g in grid.items()) +
             f" (with 1·ln {args.anchor}); the 10 best by worst ρ, ties by mean ρ:", "",
             "| rank | terms (raw weights) | " + " | ".join(r["name"] for r in runs) + " | worst |",
             "|---|---|" + "---|" * (len(runs) + 1)]
    for i, (terms, w, rhos) in enumerate(top, 1):
        text = terms_text(terms, transform)
        lines.append(f"| {i} | {text} | " + " | ".join(f"{x:.3f}" for x in rhos) + f" | {w:.3f} |")
    return top, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="results.json of correlate runs on DEV sets only")
    ap.add_argument("--exclude", default="swap_reg", help="components never used (comma-separated)")
    ap.add_argument("--min-gain", type=float, default=0.005)
    ap.add_argument("--max-terms", type=int, default=5)
    ap.add_argument("--scan", default=None, metavar="NAME",
                    help="also tabulate ρ of ln anchor + w·NAME for raw weights w = 0.5, 1, …, 4 (where to round to)")
    ap.add_argument("--joint", default=None, metavar="NAME=w,…;…",
                    help="also search every combination of these raw weights jointly (with 1·ln anchor) and "
                         "tabulate the 10 best by worst ρ (ties: mean ρ)")
    ap.add_argument("--anchor", default="swap",
                    help="the SWAP proxy every fitness starts from (1·ln anchor), e.g. swap_ext on Transformers")
    ap.add_argument("--split-seeds", type=lambda t: [int(x) for x in t.split(",")], default=None, metavar="S,S",
                    help="also choose by each rule on a random half of every dev run and read it on the other half")
    ap.add_argument("--incumbent", default=None, metavar="NAME=w,…",
                    help="the current fitness's raw weights, read on the same held-out halves for comparison")
    ap.add_argument("--transform", choices=("auto", "rank"), default="auto",
                    help="auto: ln of a component positive on every dev arch, else the component itself; rank: "
                         "ln(rank / n) of every component inside the set judged (AZ-NAS's aggregation)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    runs = load(args.runs)
    names, inc_transform, inc_scale = features(runs, set(args.exclude.split(",")))
    transform, scale = rank_features(names) if args.transform == "rank" else (inc_transform, inc_scale)
    lines = ["Dev runs (every figure in-sample): " + ", ".join(f"`{r['path']}`" for r in runs), "",
             "Single components, Spearman ρ per dev run (sign as registered; " + (
                 "T = ln(rank / n) inside the set judged" if args.transform == "rank"
                 else "T = ln if positive everywhere") + "):", "",
             "| component | T | " + " | ".join(r["name"] for r in runs) + " |", "|---|---|" + "---|" * len(runs)]
    for n in names:
        lines.append(f"| {n} | {transform[n]} | " + " | ".join(f"{rho(r, value(r, {n: 1.0}, transform)):.3f}"
                                                            for r in runs) + " |")
    if args.anchor not in names:
        raise SystemExit(f"--anchor {args.anchor!r} is not scored in every dev run (scored: {names})")
    path = greedy(runs, names, transform, scale, args.min_gain, args.max_terms, args.anchor)
    lines += ["", "Greedy path (worst ρ over the dev runs decides):", "",
              "| step | terms (raw weights) | " + " | ".join(r["name"] for r in runs) + " | worst |",
              "|---|---|" + "---|" * (len(runs) + 1)]
    for i, (terms, w, rhos) in enumerate(path):
        text = terms_text(terms, transform)
        lines.append(f"| {i} | {text} | " + " | ".join(f"{x:.3f}" for x in rhos) + f" | {w:.3f} |")
    if args.scan:
        weights = np.arange(0.5, 4.01, 0.5)
        lines += ["", f"Weight scan: ln {args.anchor} + w·{args.scan}", "",
                  "| w | " + " | ".join(r["name"] for r in runs) + " | worst |", "|---|" + "---|" * (len(runs) + 1)]
        for w in weights:
            rhos = worst(runs, {args.anchor: 1.0, args.scan: float(w)}, transform)[1]
            lines.append(f"| {w:g} | " + " | ".join(f"{x:.4f}" for x in rhos) + f" | {min(rhos):.4f} |")
    if args.split_seeds:
        lines += split_check(runs, names, transform, scale, args, inc_transform)
    top = []
    if args.joint:
        top, joint_lines = joint_table(runs, names, transform, args)
        lines += joint_lines
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps({"runs": args.runs, "transform": transform, "scale": scale,
                                                    "path": [{"terms": t, "worst": w, "rho": r} for t, w, r in path],
                                                    "joint": [{"terms": t, "worst": w, "rho": r} for t, w, r in top]},
                                                   indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
