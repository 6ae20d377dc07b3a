"""Anytime curves of the NB201 search study (`scripts/search_nb201.py`'s runs): test accuracy against evaluations.

    python scripts/search_curves.py runs/search_nb201/summary.json --data-dir ../shared/data --out runs/curves.png

For each dataset and each k evaluations (mean ± std over the study's seeds), the test accuracy of:
- the first stage's incumbent: the fittest arch among the search's first k evaluations (what a search stopped after
  k evaluations would return without its second stage);
- the best arch the search has visited by then, picked by the benchmark's validation accuracy (what training every
  visited arch would pick: how good the visited archs were, whatever the fitness made of them);
- random search that picks by validation accuracy among k random archs (the classic baseline; it trains every arch;
  the same draws as `search_table.py`);
and, after the last evaluation, the arch the search returned (its second stage's pick). Prints a markdown table
at a few k and draws one panel per dataset. Reads each run's ``<summary folder>/<dataset>_seed<seed>/result.json``.
Reporting only: nothing is chosen here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from swapnas.benchmarks import get_benchmark
from swapnas.spaces import nb201
from search_table import mean_std, random_archs  # scripts/ is on sys.path when run as a script

#: the evaluation counts the table shows (the last column is each run's own last evaluation)
CHECKPOINTS = (20, 50, 100, 150, 200)


def curves(history: list[dict], seed: int, dataset: str, valid, test) -> dict[str, np.ndarray]:
    """Per evaluation k = 1 … n of one run: test accuracy of the fitness incumbent, of the visited arch with the best
    validation accuracy, and of random search by validation accuracy over k random archs. Ties in fitness or
    validation accuracy go to the arch met first."""
    archs = [nb201.parse(h["arch"]) for h in history]
    fit = np.array([h["fitness"] if h["fitness"] is not None else -np.inf for h in history], dtype=float)
    v, t = valid.accuracies(archs, dataset), test.accuracies(archs, dataset)
    rand = random_archs(len(archs), seed)
    rv, rt = valid.accuracies(rand, dataset), test.accuracies(rand, dataset)
    out = {name: np.empty(len(archs)) for name in ("incumbent", "visited_best_valid", "random_best_valid")}
    for k in range(1, len(archs) + 1):
        out["incumbent"][k - 1] = t[int(np.argmax(fit[:k]))]
        out["visited_best_valid"][k - 1] = t[int(np.argmax(v[:k]))]
        out["random_best_valid"][k - 1] = rt[int(np.argmax(rv[:k]))]
    return out


def load_runs(summaries: list[str]) -> list[tuple[dict, dict]]:
    """(summary row, its result.json) for every run of the summaries."""
    runs = []
    for path in summaries:
        for row in json.loads(Path(path).read_text())["runs"]:
            result = Path(path).parent / f"{row['dataset']}_seed{row['seed']}" / "result.json"
            runs.append((row, json.loads(result.read_text())))
    return runs


def table(per_dataset: dict[str, list[tuple[dict[str, np.ndarray], float]]]) -> str:
    """Markdown: per dataset and curve, mean ± std over seeds at each checkpoint that every run reached, at each
    run's last evaluation and (the returned arch) after the second stage."""
    names = {"incumbent": "first-stage incumbent (fitness)", "visited_best_valid": "best visited arch by valid acc",
             "random_best_valid": "random search by valid acc"}
    lines = []
    for ds, runs in per_dataset.items():
        n_min = min(len(c["incumbent"]) for c, _ in runs)
        ks = [k for k in CHECKPOINTS if k <= n_min]
        lines += [f"**{ds}** ({len(runs)} seeds; {n_min}–{max(len(c['incumbent']) for c, _ in runs)} evaluations)", "",
                  "| test accuracy after k evaluations |" + "".join(f" k={k} |" for k in ks) + " last | returned (second stage) |",
                  "|---" * (len(ks) + 3) + "|"]
        for key, label in names.items():
            cells = [mean_std([c[key][k - 1] for c, _ in runs]) for k in ks]
            last = mean_std([c[key][-1] for c, _ in runs])
            returned = mean_std([r for _, r in runs]) if key == "incumbent" else "—"
            lines.append(f"| {label} |" + "".join(f" {c} |" for c in cells) + f" {last} | {returned} |")
        lines.append("")
    return "\n".join(lines)


def figure(per_dataset: dict[str, list[tuple[dict[str, np.ndarray], float]]], optimum: dict[str, float],
           out: Path) -> None:
    fig = Figure(figsize=(5 * len(per_dataset), 4), layout="constrained")
    axes = fig.subplots(1, len(per_dataset), squeeze=False)[0]
    styles = {"incumbent": ("first-stage incumbent (fitness)", "C0"),
              "visited_best_valid": ("best visited arch by valid acc (trains every visited arch)", "C2"),
              "random_best_valid": ("random search by valid acc (trains every arch)", "C1")}
    for ax, (ds, runs) in zip(axes, per_dataset.items()):
        n = min(len(c["incumbent"]) for c, _ in runs)
        k = np.arange(1, n + 1)
        for key, (label, colour) in styles.items():
            y = np.array([c[key][:n] for c, _ in runs])
            ax.plot(k, y.mean(0), color=colour, label=label)
            ax.fill_between(k, y.mean(0) - y.std(0), y.mean(0) + y.std(0), color=colour, alpha=0.15)
        returned = np.array([r for _, r in runs])
        ax.errorbar([n], [returned.mean()], yerr=[returned.std()], fmt="o", color="C3", capsize=3,
                    label="returned arch (second stage)")
        ax.axhline(optimum[ds], color="grey", linestyle=":", label="optimum")
        ax.set(title=f"NB201 {ds} ({len(runs)} seeds)", xlabel="evaluations", ylabel="test accuracy (%)")
        low = min(np.array([c["random_best_valid"][:n] for c, _ in runs]).mean(0)[min(n, 20) - 1], returned.min())
        ax.set_ylim(low - 1.0, optimum[ds] + 0.3)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.savefig(out, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("summary", nargs="+", help="summary.json files of search_nb201.py; their runs are read as one study")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", required=True, help="the figure (.png)")
    args = ap.parse_args()
    valid = get_benchmark("nb201", args.data_dir, metric="valid")
    test = get_benchmark("nb201", args.data_dir, metric="test")
    per_dataset: dict[str, list[tuple[dict[str, np.ndarray], float]]] = {}
    for row, result in load_runs(args.summary):
        c = curves(result["history"], row["seed"], row["dataset"], valid, test)
        per_dataset.setdefault(row["dataset"], []).append((c, float(test.accuracy(nb201.parse(result["best"]),
                                                                                   test.truth(row["dataset"])))))
    print(table(per_dataset))
    optimum = {ds: float(test.column(test.truth(ds).column).max()) for ds in per_dataset}
    figure(per_dataset, optimum, Path(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
