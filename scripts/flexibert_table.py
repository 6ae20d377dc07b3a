"""Markdown tables from scripts/flexibert_study.py results (JSON files given on the command line).

    python scripts/flexibert_table.py runs/flexibert/dev_*.json          # one row per run, ρ vs GLUE
    python scripts/flexibert_table.py --tasks runs/flexibert/all.json    # ρ per GLUE task for one run
    python scripts/flexibert_table.py --others runs/flexibert/all_others.json  # every metric per task, one run
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _proto(d: dict) -> str:
    p = d["protocol"]
    mlm = ", masked-token head" if p["net"].get("objective") == "mlm" else ""
    drop = f", dropout {p['net']['dropout']:g}" if p["net"].get("dropout") else ""
    layout = f", layout {p['net']['layout']}" if p["net"].get("layout", "v1") != "v1" else ""  # v1: the default
    return (f"{p['net']['sizes']}, S={p['batch_size']}, L={p['net']['resolution']}, init {p['init']}, {p['inputs']}"
            f"{mlm}{drop}{layout}")


def runs_table(files: list[str]) -> str:
    header = ("| run | half | n | ρ swap_ext | ρ params (scored net) | ρ params (design) | ρ depth | s/model (median) "
              "| peak MiB |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    for f in files:
        d = json.loads(Path(f).read_text())
        r = d["rho"]["glue"]
        lines.append(f"| {_proto(d)} | {d['half']} | {d['n']} | {r['swap_ext']:.3f} | {r['params']:.3f} | "
                     f"{r.get('params_design', float('nan')):.3f} | {r.get('depth', float('nan')):.3f} | "
                     f"{d['swap_ext_seconds_median']:.2f} | "
                     f"{d['swap_ext_peak_mib_max'] or float('nan'):.0f} |")
    return "\n".join(lines)


def tasks_table(files: list[str]) -> str:
    lines = ["| task | " + " | ".join(f"{json.loads(Path(f).read_text())['half']}: swap_ext / params / params (design) / depth"
                                      for f in files) + " |", "|---|" + "---|" * len(files)]
    data = [json.loads(Path(f).read_text()) for f in files]
    for task in [t for t in data[0]["rho"] if all(t in d["rho"] and "params" in d["rho"][t] for d in data)]:
        cells = [f"{d['rho'][task]['swap_ext']:.3f} / {d['rho'][task]['params']:.3f} / "
                 f"{d['rho'][task].get('params_design', float('nan')):.3f} / "
                 f"{d['rho'][task].get('depth', float('nan')):.3f}" for d in data]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


BASELINES = ("swap_ext", "params", "params_design", "depth")


def others_table(file: str) -> str:
    """Every metric of one run per GLUE task (rows: metrics by ρ on the GLUE mean), the best metric
    other than swap_ext and the size / depth baselines named per task, and the failed ones."""
    d = json.loads(Path(file).read_text())
    tasks = [t for t in d["rho"] if t != "glue_500_records"]
    names = sorted({n for t in tasks for n in d["rho"][t]}, key=lambda n: -d["rho"]["glue"].get(n, -2.0))
    lines = [f"{d['half']} ({d['n']} archs), {_proto(d)}; ρ with sign as registered", "",
             "| metric | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(f"{d['rho'][t][n]:.3f}" if n in d["rho"][t] else "—" for t in tasks)
                     + " |")
    best = []
    for t in tasks:
        others = {n: v for n, v in d["rho"][t].items() if n not in BASELINES}
        if others:
            n = max(others, key=others.get)
            best.append(f"{n} {others[n]:.3f}")
        else:
            best.append("—")
    lines.append("| *best other metric* | " + " | ".join(best) + " |")
    for name, why in sorted(d.get("failed", {}).items()):
        lines.append(f"\n- {name}: {why[:200]}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--tasks", action="store_true", help="ρ per GLUE task, one column per file")
    ap.add_argument("--others", action="store_true", help="every metric of one run (flexibert_study.py --others)")
    args = ap.parse_args()
    if args.others:
        print(others_table(args.files[0]))
    else:
        print(tasks_table(args.files) if args.tasks else runs_table(args.files))


if __name__ == "__main__":
    main()
