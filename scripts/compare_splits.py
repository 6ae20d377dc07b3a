"""Compare two ``choose_fitness.py --split-seeds`` tables half by half: does a new component set carry over?

Each file is a markdown table written by ``scripts/choose_fitness.py`` with the same ``--split-seeds`` and the
same dev runs (so the same halves). For one rule (``joint`` or ``greedy``) this prints, per (seed, half), the
held-out worst ρ of the rule chosen on that half in each file, and how often and by how much the second wins.

    python scripts/compare_splits.py docs/generated/dev/darts_fitness_more.md \\
        docs/generated/dev/darts_fitness_lswag.md --rule joint
"""

from __future__ import annotations

import argparse
from pathlib import Path


def held_out(path: str, rule: str) -> dict[tuple[str, str], float]:
    """{(seed, half): held-out worst ρ} of ``rule`` from the split-half table of ``path``."""
    rows = {}
    for line in Path(path).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[2] == rule and cells[0].isdigit():
            rows[cells[0], cells[1]] = float(cells[5])
    if not rows:
        raise SystemExit(f"{path}: no split-half rows of rule {rule!r} (was it made with --split-seeds?)")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rule", default="joint", choices=("joint", "greedy"))
    args = ap.parse_args()
    old, new = held_out(args.old, args.rule), held_out(args.new, args.rule)
    if old.keys() != new.keys():
        raise SystemExit(f"the two tables hold different halves: {sorted(old)} vs {sorted(new)}")
    print(f"| seed | half | {args.old} | {args.new} |\n|---|---|---|---|")
    for key in sorted(old):
        print(f"| {key[0]} | {key[1]} | {old[key]:.3f} | {new[key]:.3f} |")
    wins = sum(new[k] > old[k] for k in old)
    ties = sum(new[k] == old[k] for k in old)
    mean_old, mean_new = (sum(d.values()) / len(d) for d in (old, new))
    print(f"\nthe second wins on {wins} of {len(old)} halves ({ties} ties); mean held-out worst ρ "
          f"{mean_new:.3f} against {mean_old:.3f}")


if __name__ == "__main__":
    main()
