"""Would the search's second stage pick better with the first stage's fitness added to it? (NB201 dev data only.)

The second stage re-ranks the K fittest archs by ``best`` on C=16, N=2, S=20 (f2; N=5 since session 21, ``--cells 5``)
and returns the first (docs/search.md). This asks whether w · f1 + f2 (f1: the first stage's fitness, on C=16, N=1),
or a label-free mix of both inside the short list (session 46: rank sum, z sum; ``RULES``) picks better, in the
simulated searches of ``scripts/choose_stage2_net.py`` (same draws) on the NB201 CIFAR-10 dev sample and on its two
halves (index parity); every figure in-sample. Stage-2 scores are read from (or written to) ``--store``.

    python scripts/stage2_ensemble_dev.py runs/dev20_nb201_c10_best/results.json --weights-only --data-dir \\
        ../shared/data --store runs/dev20.sqlite --out docs/generated/dev/nb201_stage2_ensemble.md
    python scripts/stage2_ensemble_dev.py runs/dev46_nb201_c10_best/results.json --cells 5 --data-dir ../shared/data \\
        --store runs/dev46.sqlite --out docs/generated/dev/nb201_stage2_ensemble_n5.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from choose_stage2_net import DevRun, simulate_paired  # scripts/ is on sys.path when this file runs as a script
from scipy import stats

from swapnas.store import ScoreStore

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
KS = (5, 10, 20)


def _eligible(v2: np.ndarray) -> np.ndarray:
    """Positions of the short list whose stage-2 score did not fail (the search's rule: failures rank last)."""
    ok = np.flatnonzero(np.isfinite(v2))
    return ok if len(ok) else np.arange(len(v2))


def rank_sum(v1: np.ndarray, v2: np.ndarray) -> int:
    """Session 46's first rule: the highest rank_1 + rank_2 within the short list (mid-ranks for ties, higher =
    fitter); equal sums go to the higher stage-2 value, then to the first."""
    ok = _eligible(v2)
    total = stats.rankdata(v1[ok]) + stats.rankdata(v2[ok])
    best = np.flatnonzero(total == total.max())
    return int(ok[best[int(np.argmax(v2[ok][best]))]])


def _z(v: np.ndarray) -> np.ndarray:
    sd = v.std()
    return (v - v.mean()) / sd if sd > 0 else np.zeros_like(v)


def z_sum(v1: np.ndarray, v2: np.ndarray) -> int:
    """Session 46's second rule: the highest z_1 + z_2 (each value standardised over the short list)."""
    ok = _eligible(v2)
    return int(ok[int(np.argmax(_z(v1[ok]) + _z(v2[ok])))])


RULES = {"rank_1 + rank_2 (session 46)": rank_sum, "z_1 + z_2 (session 46)": z_sum}


def rows(run: DevRun, f2: dict[int, float], idx: np.ndarray, draws: int, ks: tuple[int, ...] = KS,
         rules: dict = RULES) -> list[str]:
    a, g1 = run.acc[idx], run.f1[idx]
    where = {int(j): i for i, j in enumerate(idx)}
    n, top5 = max(max(ks) + 1, round(0.2 * len(idx))), a >= np.quantile(a, 0.95)
    g2 = {where[j]: v for j, v in f2.items() if j in where}
    out = []
    for w in WEIGHTS:
        g = {i: w * g1[i] + v for i, v in g2.items()}
        cells = [simulate_paired(a, g1, g, k, n, draws, top5) for k in ks]
        out.append(f"| {w:g} · f1 + f2 | " + " | ".join(f"{c[0]:.3f} ({draws - c[2]})" for c in cells) + " |")
    for label, pick in rules.items():
        cells = [simulate_paired(a, g1, g2, k, n, draws, top5, pick) for k in ks]
        out.append(f"| {label} | " + " | ".join(f"{c[0]:.3f} ({draws - c[2]})" for c in cells) + " |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="results.json of `swapnas correlate --proxies best` on the NB201 CIFAR-10 dev sample")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--top", type=int, default=300, help="stage 2 on the TOP fittest dev archs (default 300)")
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--cells", type=int, default=2, help="N of the second stage's network (C=16, S=20; default 2, the "
                    "stage of sessions 9-20; the default search's since session 21: 5)")
    ap.add_argument("--ks", type=lambda t: tuple(int(x) for x in t.split(",")), default=KS, metavar="K,K",
                    help="short-list lengths, one column each (default 5,10,20; session 46 also asked 20,30,40)")
    ap.add_argument("--weights-only", action="store_true", help="only the w · f1 + f2 rows, without the session-46 "
                    "mixes and the 'Second stage' line: session 20's table (nb201_stage2_ensemble.md)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    run = DevRun("nb201", args.run, args.data_dir)
    f2 = run.stage2(args.top, {"N": args.cells}, 20, 1, args.data_dir, ScoreStore(args.store))[0]
    head = ["| second stage | " + " | ".join(f"K={k}" for k in args.ks) + " |", "|---" * (len(args.ks) + 1) + "|"]
    every = np.arange(len(run.archs))
    # session 20's table had no "Second stage" sentence
    stage = "" if args.weights_only else f"Second stage: `best` on C=16, N={args.cells}, S=20, R=1. "
    text = [f"{stage}Mean dev accuracy of the simulated searches' pick ({args.draws} draws of 20 % of the archs, the "
            f"draws of scripts/choose_stage2_net.py; the first row is the default second stage; in brackets the draws "
            f"kept: a draw whose short list reaches below the {args.top} archs with a second-stage score is left out). "
            f"Run: `{args.run}`.", ""]
    mixes = {} if args.weights_only else RULES
    for label, idx in (("all 1000", every), ("index % 2 = 0", every[every % 2 == 0]),
                       ("index % 2 = 1", every[every % 2 == 1])):
        text += [f"**{label}**:", "", *head, *rows(run, f2, idx, args.draws, args.ks, mixes), ""]
    Path(args.out).write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
