"""L-SWAG on every benchmark: ρ of ``lswag`` and of its gradient term ``lswag_grad`` per correlate run, beside
``best`` on the same archs (when its run is given), the paper's L-SWAG figure where it can be read (Casarin et
al., CVPR 2025, Table 3, last row: L-SWAG with its label-chosen layer interval; the other benchmarks' values are
only in its Fig. 3 heat map) and LIBRA's (its Table 1).

    python scripts/lswag_table.py "NB201 CIFAR-100=runs/lswag_nb201_cifar100/results.json" \\
        "TransNAS micro jigsaw=runs/lswag_transnas_micro_jigsaw/results.json,runs/best6_transnas_micro_jigsaw/results.json"

Each argument is ``LABEL=LSWAG_RUN[,BEST_RUN[#PROXY]]``: a ``correlate --proxies lswag_grad,lswag`` run and
optionally a run of ``best`` (``#PROXY`` names its proxy when the run scored several); LABEL's text before any " (" picks the published figures. Last, the counts:
rows where lswag beats ``best``, and where lswag / lswag_grad reach LIBRA at its published two decimals.
"""

from __future__ import annotations

import json
import sys

#: L-SWAG's published ρ (Table 3, last row; 1000 archs, validation accuracy, batch 64, 5 runs).
PUBLISHED = {"NB201 CIFAR-10": 0.79, "NB201 CIFAR-100": 0.83, "NB201 ImageNet16-120": 0.80,
             "TransNAS micro autoencoder": 0.31, "TransNAS micro jigsaw": 0.58, "TransNAS micro normal": 0.75,
             "TransNAS macro autoencoder": 0.79, "TransNAS macro jigsaw": 0.78, "TransNAS macro normal": 0.84}
#: LIBRA's published ρ (Table 1; proxies chosen on each benchmark's own validation accuracies).
TASKS = ("autoencoder", "room_layout", "class_object", "class_scene", "jigsaw", "normal", "segmentsemantic")
LIBRA = {"NB201 CIFAR-10": 0.89, "NB201 CIFAR-100": 0.90, "NB201 ImageNet16-120": 0.87, "NB101": 0.77, "NB301": 0.74,
         **{f"TransNAS micro {t}": v for t, v in zip(TASKS, (0.45, 0.57, 0.61, 0.79, 0.60, 0.76, 0.87))},
         **{f"TransNAS macro {t}": v for t, v in zip(TASKS, (0.83, 0.64, 0.92, 0.91, 0.82, 0.85, 0.83))}}


def spearman(path: str, expected: set[str] | None = None) -> tuple[dict[str, float], int, int]:
    """{proxy: ρ} of a correlate run (every proxy when ``expected`` is None), its fewest scored archs and most
    failures over the proxies."""
    with open(path) as fh:
        res = {r["proxy"]: r for r in json.load(fh)["results"]}
    if expected is not None and set(res) != expected:
        raise SystemExit(f"{path}: expected a run of {sorted(expected)}, found {sorted(res)}")
    # a ρ correlate could not compute (every arch failed) is null in results.json: nan, counted nowhere
    return ({k: float("nan") if r["spearman"] is None else float(r["spearman"]) for k, r in res.items()},
            min(r["n"] for r in res.values()),
            max(r["failures"] for r in res.values()))


def fmt(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    print("| benchmark | n | failed | ρ lswag_grad (Λ) | ρ lswag (Λ·Ψ) | ρ best | published L-SWAG | LIBRA |")
    print("|---|---|---|---|---|---|---|---|")
    beats, with_best, reach, reach_grad, with_libra = 0, 0, 0, 0, 0
    for spec in argv:
        label, sep, paths = spec.rpartition("=")
        if not sep:
            raise SystemExit(f"{spec!r}: expected LABEL=LSWAG_RUN[,BEST_RUN[#PROXY]]")
        own, _, best_path = paths.partition(",")
        r, n, failed = spearman(own, {"lswag_grad", "lswag"})
        best = None
        if best_path:
            best_path, _, name = best_path.partition("#")
            rhos = spearman(best_path)[0]
            if not name and len(rhos) != 1:
                raise SystemExit(f"{best_path}: several proxies {sorted(rhos)}; name one as {best_path}#PROXY")
            best = rhos[name] if name else next(iter(rhos.values()))
            with_best, beats = with_best + 1, beats + (r["lswag"] > best)
        key = label.split(" (")[0]
        libra = LIBRA.get(key)
        if libra is not None:
            with_libra += 1
            reach += round(r["lswag"], 2) >= libra
            reach_grad += round(r["lswag_grad"], 2) >= libra
        print(f"| {label} | {n} | {failed} | {r['lswag_grad']:.3f} | {r['lswag']:.3f} | {fmt(best)} | "
              f"{fmt(PUBLISHED.get(key), 2)} | {fmt(libra, 2)} |")
    print(f"\nlswag above best on {beats} of {with_best} rows with a best run; at or above LIBRA on {reach} of "
          f"{with_libra} (lswag_grad: {reach_grad})")


if __name__ == "__main__":
    main(sys.argv[1:])
