"""FlexiBERT-500: ρ of swap_ext and #params vs GLUE (mean and eight tasks) on the dev / test halves.

Halves (fixed before any scoring): dev = ``pick_archs(archs, 245, seed=0)`` of the 491 distinct
archs (the archs ``swapnas correlate --space flexibert --archs 245 --seed 0`` scores), test = the
other 246. Defaults (S, L, size reading, init) are chosen on dev only; test and all are reported.

Scores are computed once per protocol (task ``glue``: every GLUE task uses the same token batch)
and correlated with each task's scores. Example::

    OMP_NUM_THREADS=1 python scripts/flexibert_study.py --half dev --data-dir ../shared/data \\
        --sizes authors --batch-size 32 --seq-len 128 --store runs/flexibert/scores.sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np
import torch
from scipy.stats import spearmanr

from swapnas.benchmarks import get_benchmark
from swapnas.benchmarks.flexibert import TASKS
from swapnas.executors import PoolExecutor
from swapnas.session import configure, pick_archs, score_archs
from swapnas.spaces import flexibert
from swapnas.store import ScoreStore

DEV_N, DEV_SEED = 245, 0


def halves(archs: list) -> dict[str, list]:
    dev = pick_archs(archs, DEV_N, DEV_SEED)
    chosen = set(dev)
    return {"dev": dev, "test": [a for a in archs if a not in chosen], "all": list(archs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--half", default="dev", choices=["dev", "test", "all"])
    ap.add_argument("--sizes", default="authors", choices=["authors", "design"])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=flexibert.SCORING_DEFAULTS["net"]["resolution"],
                    help="tokens per sequence (default: the space's, %(default)s)")
    ap.add_argument("--init", default="default", choices=["default", "gaussian"])
    ap.add_argument("--inputs", default="real", choices=["real", "synthetic"])
    ap.add_argument("--data-dir", default=os.environ.get("SWAPNAS_DATA") or "../shared/data",
                    help="the swapnas data bundle (default: $SWAPNAS_DATA, else ../shared/data, relative to the "
                         "repository root)")
    ap.add_argument("--store", default="runs/flexibert/scores.sqlite")
    ap.add_argument("--json", default=None, help="write the result here as well")
    ap.add_argument("--limit", type=int, default=None, help="only the first N archs of the half (timing runs)")
    ap.add_argument("--others", default="", help="other metrics scored beside swap_ext and params (comma-separated); "
                    "their ρ per task goes under rho[task][name] (sign as registered), failures under 'failed'")
    ap.add_argument("--workers", type=int, default=1, help="scoring processes (one thread each)")
    ap.add_argument("--objective", default="cls", choices=["cls", "mlm"],
                    help="the network's head and the batch's targets: [CLS] classifier with surrogate labels, or "
                         "masked-token prediction (15 %% of the words masked) for the label-based metrics")
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="dropout of the scored network in its training-mode pass (the authors' ELECTRA: 0.1); "
                         "the pass is seeded per arch, so the score is reproducible")
    ap.add_argument("--layout", default="v1", choices=["v1", "flexibert"],
                    help="the encoder layer layout (v1: this package's until session 15; flexibert: the FlexiBERT / "
                         "SWAP authors' code: LT without dense/residual/LayerNorm, unnormalised DCT, DSC conv init)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    bench = get_benchmark("flexibert", args.data_dir)
    archs = halves(bench.archs_for("glue"))[args.half][:args.limit]
    names = ",".join(["swap_ext", "params", *[n for n in args.others.split(",") if n]])
    protocol, batch, proxies = configure("flexibert", "glue", names, seed=0, batch_size=args.batch_size,
                                         net={"sizes": args.sizes, "resolution": args.seq_len,
                                              **({"objective": "mlm"} if args.objective == "mlm" else {}),
                                              **({"dropout": args.dropout} if args.dropout else {}),
                                              **({"layout": args.layout} if args.layout != "v1" else {})}, init=args.init,
                                         inputs=args.inputs, data_dir=args.data_dir)
    t0 = time.perf_counter()
    executor = PoolExecutor(args.workers) if args.workers > 1 else None
    records = score_archs(archs, "flexibert", proxies, protocol, batch, ScoreStore(args.store), torch.device("cpu"),
                          progress=False, executor=executor)
    swap = np.array([r.value for r in records["swap_ext"]], dtype=float)
    params = np.array([r.value for r in records["params"]], dtype=float)
    design = np.array([bench.params_m(a) for a in archs])  # the design's size, whatever the scored reading
    depth = np.array([len(a.layers) for a in archs])  # 2 or 4 layers: the plainest baseline
    rho = {t: {"swap_ext": float(spearmanr(swap, bench.accuracies(archs, t))[0]),
               "params": float(spearmanr(params, bench.accuracies(archs, t))[0]),
               "params_design": float(spearmanr(design, bench.accuracies(archs, t))[0]),
               "depth": float(spearmanr(depth, bench.accuracies(archs, t))[0])} for t in TASKS}
    failed: dict[str, str] = {}
    for p in proxies:
        if p.name in ("swap_ext", "params") or p.parts:
            continue
        recs = records[p.name]
        bad = [r.error for r in recs if not r.ok]
        if bad:
            failed[p.name] = f"{len(bad)} of {len(recs)} failed: {bad[0]}"
        ok = [i for i, r in enumerate(recs) if r.ok]
        if len(ok) > 10:
            v = np.array([recs[i].value for i in ok]) * (1.0 if p.higher_is_better else -1.0)
            for t in TASKS:
                rho[t][p.name] = float(spearmanr(v, bench.accuracies([archs[i] for i in ok], t))[0])
    if args.half == "all" and args.limit is None:  # the 500 records themselves (duplicated archs share their score), as the authors
        by_arch = dict(zip(archs, swap))
        rec_swap = [by_arch[a] for a in bench.record_archs]
        rho["glue_500_records"] = {"swap_ext": float(spearmanr(rec_swap, [r["scores"]["glue"] for r in bench.records])[0])}
    secs = [r.seconds for r in records["swap_ext"] if r.seconds is not None]
    peaks = [r.peak_mem_bytes for r in records["swap_ext"] if r.peak_mem_bytes is not None]
    out = {"half": args.half, "n": len(archs), "protocol": {k: v for k, v in protocol.describe().items()},
           "rho": rho, "swap_ext_seconds_median": float(np.median(secs)), "swap_ext_seconds_max": float(max(secs)),
           "swap_ext_peak_mib_max": max(peaks) / 2**20 if peaks else None,
           "process_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "wall_seconds": time.perf_counter() - t0, "distinct_swap_values": len(set(swap)), "failed": failed}
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
