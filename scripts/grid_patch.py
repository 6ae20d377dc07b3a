"""Re-score some cells of a finished grid and write the grid again, without re-scoring the rest.

A grid (``swapnas grid``) takes hours on a CPU. When a metric's code changes (a new ``version``) or the
statistics change, the cells concerned can be re-scored by a smaller ``swapnas grid`` run over the same
columns (same archs, seed, protocol) and put into the old grid here. Every column of a patch must carry
the old column's protocol and arch count; every re-scored metric that kept its key must give the old ρ
exactly (that proves the same archs and protocol), and its other fields (ρ|params, τ, …) are taken
from the new run; a metric whose key changed (a new version) replaces the old cell, and the note says so.

    python scripts/grid_patch.py docs/generated/grid/grid.json runs/grid20/sizes/grid.json \\
        runs/grid20/epe_in16/grid.json --out docs/generated/grid --note "…"
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from swapnas.grid import GridColumn, write_grid


def load(path: str) -> list[GridColumn]:
    data = json.loads(Path(path).read_text())
    cols = data["columns"] if isinstance(data, dict) else data  # grids before session 19: a bare list
    return [GridColumn(**c) for c in cols]


def _same_protocol(a: dict, b: dict) -> bool:
    """Equal protocols; a field one of them lacks (added to the protocol since) is not compared."""
    return all(a[k] == b[k] for k in a.keys() & b.keys())


def patch(old: list[GridColumn], new: list[GridColumn], same_cells: list[int]) -> list[str]:
    """Put ``new``'s results into ``old`` (in place); one line per cell whose statistics changed (``same_cells[0]``
    counts every replaced cell)."""
    by_label = {c.label: c for c in old}
    changes = []
    for col in new:
        base = by_label.get(col.label)
        if base is None:
            raise SystemExit(f"{col.label}: not a column of the old grid")
        if not _same_protocol(base.protocol, col.protocol) or base.n_archs != col.n_archs:
            raise SystemExit(f"{col.label}: protocol or arch count differs from the old grid's "
                             f"({base.protocol}, {base.n_archs} vs {col.protocol}, {col.n_archs})")
        base.reused_archs = base.partly_reused_archs = 0  # the column now mixes two runs: neither's reuse count holds
        for r in col.results:
            i = next((k for k, o in enumerate(base.results) if o["proxy"] == r["proxy"]), None)
            if i is None:
                raise SystemExit(f"{col.label} {r['proxy']}: not in the old grid (a patch replaces cells, it adds none)")
            o = base.results[i]
            if o["key"] == r["key"]:
                rhos = (o["spearman"], r["spearman"])
                same = (rhos[0] is None and rhos[1] is None) or (None not in rhos and math.isclose(
                    rhos[0], rhos[1], rel_tol=0, abs_tol=1e-12))
                if not same or o["n"] != r["n"]:
                    raise SystemExit(f"{col.label} {r['proxy']}: same key {r['key']} but ρ {o['spearman']} / n {o['n']} "
                                     f"became {r['spearman']} / {r['n']}: not the same archs or protocol")
            fields = ("key", "n", "failures", "spearman", "spearman_given_params")
            if [_fmt(o[f]) for f in fields] != [_fmt(r[f]) for f in fields]:
                changes.append(f"{col.label} {r['proxy']}: {o['key']} ρ {_fmt(o['spearman'])}, ρ|params "
                               f"{_fmt(o['spearman_given_params'])}, n {o['n']} -> {r['key']} ρ {_fmt(r['spearman'])}, "
                               f"ρ|params {_fmt(r['spearman_given_params'])}, n {r['n']}")
            same_cells[0] += 1
            base.results[i] = r
    return changes


def _fmt(v: object) -> str:
    if isinstance(v, float) or v is None:
        return "NaN" if v is None or math.isnan(v) else f"{v:.3f}"
    return str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", help="grid.json of the grid to patch")
    ap.add_argument("patches", nargs="+", help="grid.json of runs over some of its columns")
    ap.add_argument("--out", required=True, help="folder for the patched grid.json, grid.md, grid.png, report.md")
    ap.add_argument("--command", default="", help="the command that made the old grid (shown in grid.md)")
    args = ap.parse_args()
    cols = load(args.old)
    replaced = [0]
    changes = [line for p in args.patches for line in patch(cols, load(p), replaced)]
    paths = write_grid(cols, Path(args.out), args.command)
    md = Path(args.out) / "grid.md"
    md.write_text(md.read_text() + "\nCells re-scored later (`python scripts/grid_patch.py "
                  + " ".join([args.old, *args.patches]) + f"`): {replaced[0]} cells, these changed "
                  "(old -> new; the others' statistics are identical, their seconds are the new run's):\n\n"
                  + "\n".join(f"- {line}" for line in changes) + "\n")
    print("\n".join([*changes, f"{replaced[0]} cells replaced, {len(changes)} changed"]))
    print("wrote", ", ".join(map(str, paths)))


if __name__ == "__main__":
    main()
