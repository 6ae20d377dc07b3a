"""NB201 ranking table: ρ, τ and top-k precision of stored scores over a set of archs.

Reads ``swapnas correlate`` results (``results.json``: archs, accuracy, scores) and prints, per
run and proxy, Spearman ρ, Kendall τ and top-k precision (|top-k by score ∩ top-k by
ground truth| / k, k = 1 % / 5 % / 10 % of the scored archs, tied archs sharing the places at the
cut: :func:`swapnas.stats.top_k_precision`, correlate's P@10%), with #params of the benchmark network
(C=16, N=5, counted without a build: ``nb201.count_params``) as a reference row.

    python scripts/nb201_space_table.py runs/full_nb201_*_best/results.json runs/cmp_nb201_*/results.json
    python scripts/nb201_space_table.py --no-parts runs/full11/anchors_*/results.json   # combined proxies only

``--no-parts`` leaves out the parts of a set-level proxy (az_nas's four, vkdnw_agg's) that the run lists beside it.
Each proxy's sign is the one its run stored (``higher_is_better`` of ``results.json``'s ``results``), so a metric of
one's own, not registered in this process, is read as well (until session 55 the sign came from the registry).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import stats

from swapnas.proxies import get_proxy, list_proxies
from swapnas.spaces import nb201
from swapnas.stats import top_k_precision

FRACTIONS = (0.01, 0.05, 0.10)


def row(name: str, score: np.ndarray, truth: np.ndarray, failures: int) -> str:
    rho = stats.spearmanr(score, truth)[0]
    tau = stats.kendalltau(score, truth)[0]
    constant = np.ptp(score) == 0 or np.ptp(truth) == 0  # ranks nothing: nan, as correlate's P@10% (session 60)
    prec = " | ".join("nan" if constant else f"{top_k_precision(score, truth, f):.3f}" for f in FRACTIONS)
    return f"| {name} | {len(score)} | {failures} | {rho:.3f} | {tau:.3f} | {prec} |"


def main(paths: list[str], no_parts: bool = False) -> None:
    print("| run | dataset | proxy | n | failed | Spearman ρ | Kendall τ | P@1% | P@5% | P@10% |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        doc = json.loads(Path(path).read_text())
        acc = np.array(doc["accuracy"], dtype=float)
        tag = f"`{Path(path).parent.name}` | {doc['protocol']['dataset']}"
        higher = {r["proxy"]: r.get("higher_is_better") for r in doc.get("results", [])}
        inner = {b for q in doc["scores"] if q in list_proxies() for b in get_proxy(q).parts} if no_parts else set()
        for name, vals in doc["scores"].items():
            if name in inner:
                continue
            stored = higher.get(name)  # a run older than the field: the registry's
            sign = 1.0 if (get_proxy(name).higher_is_better if stored is None else stored) else -1.0
            v = np.array([np.nan if x is None else x for x in vals], dtype=float) * sign
            ok = np.isfinite(v)
            print(f"| {tag} " + row(name, v[ok], acc[ok], int((~ok).sum())))
        classes = {"cifar10": 10, "cifar100": 100, "imagenet16-120": 120}[doc["protocol"]["dataset"]]
        params = np.array([nb201.count_params(a, C=16, N=5, num_classes=classes) for a in doc["archs"]], float)
        print(f"| {tag} " + row("params (C=16, N=5)", params, acc, 0))


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description="rho, tau and top-k precision of `swapnas correlate` runs on NB201")
    cli.add_argument("results", nargs="+", help="the runs' results.json files")
    cli.add_argument("--no-parts", action="store_true", help="leave out the parts of a set-level proxy")
    args = cli.parse_args()
    main(args.results, args.no_parts)
