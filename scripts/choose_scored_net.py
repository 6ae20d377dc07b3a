"""Choose a space's scored network by the WORST Spearman ρ over that space's dev sets.

Dev sets (docs/protocol.md, label hygiene): DARTS = NB301 (NASLib's 725) and ``darts_swap``
(the SWAP authors' 300); NB201 = CIFAR-10 validation accuracy of the 1000-arch seed-0 sample.
Each candidate is ``NET|S|R`` (``NET`` in ``--net`` syntax). Every candidate is scored on every
dev set into one store (resumable), and the table shows ρ per dev set and the worst of them;
the candidate with the highest worst-case ρ of ``--proxy`` wins.

    python scripts/choose_scored_net.py --space darts --dev nb301,darts_swap --proxy swap \\
        --candidates "C=8,layers=5|16|1;C=3,layers=1,stem=false|16|8" \\
        --data-dir ../shared/data --store runs/dev.sqlite --out docs/generated/dev/darts_scored_net.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from swapnas.benchmarks import get_benchmark
from swapnas.cli.args import net_options as _net
from swapnas.correlation import run_correlation
from swapnas.devices import resolve_device
from swapnas.session import configure
from swapnas.store import ScoreStore

DEV = {"darts": ("nb301", "darts_swap"), "nb201": ("nb201",)}
#: the NB201 dev set is exactly the 1000-arch seed-0 sample (docs/protocol.md, label hygiene)
NB201_DEV_ARCHS = 1000


def dev_sets(space: str, dev: str | None, archs: int | None) -> list[tuple[str, int | None]]:
    """(benchmark, archs to score) per dev set of ``space``; a benchmark or NB201 sample outside the dev sets is
    refused (their labels only report)."""
    names = dev.split(",") if dev else list(DEV[space])
    out = []
    for name in names:
        n = archs or (NB201_DEV_ARCHS if name == "nb201" else None)
        if name not in DEV[space] or (name == "nb201" and n != NB201_DEV_ARCHS):
            raise SystemExit(f"{name} with --archs {archs} is not a dev set of {space} (docs/protocol.md, label "
                             f"hygiene: {', '.join(DEV[space])}; NB201: its {NB201_DEV_ARCHS}-arch seed-0 sample)")
        out.append((name, n))
    return out


def parse_candidate(text: str) -> tuple[dict, int, int]:
    """``NET|S|R`` -> (network options, S, R); anything else is refused with the expected form."""
    parts = text.split("|")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) >= 1 for p in parts[1:]):
        raise SystemExit(f"--candidates: {text!r} is not NET|S|R (e.g. C=8,layers=5|16|1: S and R whole numbers >= 1)")
    return _net(parts[0]), int(parts[1]), int(parts[2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--space", required=True, choices=sorted(DEV))
    ap.add_argument("--dev", default=None, help="comma-separated dev benchmarks (default: the space's; others refused)")
    ap.add_argument("--candidates", required=True, help="NET|S|R;NET|S|R;…")
    ap.add_argument("--proxy", default="swap", help="the proxy the choice is made for")
    ap.add_argument("--also", default="swap_reg,params", help="proxies reported beside it")
    ap.add_argument("--archs", type=int, default=None, help="archs per DARTS dev set (default all; NB201: its 1000)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--store", required=True)
    ap.add_argument("--out", required=True, help="markdown table (a .json beside it)")
    args = ap.parse_args()
    sets = dev_sets(args.space, args.dev, args.archs)
    dev = [name for name, _ in sets]
    names = [args.proxy] + [p for p in args.also.split(",") if p and p != args.proxy]
    store = ScoreStore(args.store)
    device = resolve_device("cpu")
    rows = []
    candidates = [(cand, *parse_candidate(cand)) for cand in args.candidates.split(";")]  # all before any scoring
    for cand, net, s, r in candidates:
        rhos: dict[str, dict[str, float]] = {}
        secs = []
        for name, n in sets:
            bench = get_benchmark(name, args.data_dir)
            task = bench.tasks[0]
            protocol, batch, proxies = configure(bench.space, task, ",".join(names), seed=0, batch_size=s,
                                                 repeats=r, net=net, data_dir=args.data_dir)
            run = run_correlation(bench=bench, task=task, proxies=proxies, n_archs=n, protocol=protocol, batch=batch,
                                  store=store, device=device, progress=True)
            rhos[name] = {res.proxy: res.spearman for res in run.results}
            secs.append(next(res.seconds_per_arch for res in run.results if res.proxy == args.proxy))
        worst = min(rhos[d][args.proxy] for d in dev)
        rows.append({"candidate": cand, "net": net, "S": s, "R": r, "rho": rhos, "worst": worst,
                     "seconds_per_arch": float(np.mean(secs))})
        print(f"{cand}: " + ", ".join(f"{d} {rhos[d][args.proxy]:.3f}" for d in dev) + f" -> worst {worst:.3f}",
              flush=True)
    best = max(rows, key=lambda row: row["worst"])
    head = "| scored network | S | R | " + " | ".join(f"{d} ρ({p})" for d in dev for p in names) + \
           f" | worst ρ({args.proxy}) | s/arch ({args.proxy}) |"
    lines = [f"Dev sets: {', '.join(dev)} (in-sample: these labels chose the row in bold).", "", head,
             "|" + "---|" * (3 + len(dev) * len(names) + 2)]
    for row in rows:
        cells = [f"{row['rho'][d][p]:.3f}" for d in dev for p in names]
        mark = "**" if row is best else ""
        net_text = ",".join(f"{k}={v}" for k, v in row["net"].items())
        lines.append(f"| {mark}{net_text}{mark} | {row['S']} | {row['R']} | " + " | ".join(cells) +
                     f" | {mark}{row['worst']:.3f}{mark} | {row['seconds_per_arch']:.3f} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps({"dev": dev, "proxy": args.proxy, "rows": rows,
                                                    "chosen": best["candidate"]}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
