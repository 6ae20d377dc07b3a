"""Markdown tables from scripts/flexibert_study.py results (JSON files given on the command line).

    python scripts/flexibert_table.py runs/flexibert/dev_*.json          # one row per run, ρ vs GLUE
    python scripts/flexibert_table.py --tasks runs/flexibert/all.json    # ρ per GLUE task for one run
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _proto(d: dict) -> str:
    p = d["protocol"]
    return f"{p['net']['sizes']}, S={p['batch_size']}, L={p['net']['resolution']}, init {p['init']}, {p['inputs']}"


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--tasks", action="store_true", help="ρ per GLUE task, one column per file")
    args = ap.parse_args()
    print(tasks_table(args.files) if args.tasks else runs_table(args.files))


if __name__ == "__main__":
    main()
