"""SWAP-Scores of the same archs on CPU and on CUDA (same seeds, same batch).

Sign bits of activations near zero can flip between devices (different conv
kernels, TF32), so scores may differ slightly; this prints by how much.

    python perf/device_agreement.py --data-dir DIR [--archs 50]
"""

from __future__ import annotations

import argparse
import random

import numpy as np
import torch
from scipy import stats

from swapnas.proxies import resolve
from swapnas.scoring import score_arch
from swapnas.session import prepare
from swapnas.spaces import nb201


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--archs", type=int, default=50)
    args = ap.parse_args()
    if args.archs < 2:
        ap.error(f"--archs must be >= 2 (a rank correlation needs two archs; got {args.archs})")
    if not torch.cuda.is_available():
        raise SystemExit("device_agreement.py needs a CUDA device")
    d = nb201.SCORING_DEFAULTS
    protocol, batch = prepare(space="nb201", dataset="cifar10", batch_size=d["batch_size"], repeats=d["repeats"],
                              seed=0, init="gaussian", net=d["net"], inputs="real", data_dir=args.data_dir,
                              image_root=None, fill="augment")
    rng = random.Random(0)
    archs = [nb201.sample(rng) for _ in range(args.archs)]
    proxies = resolve("swap")
    res = {}
    for dev in ("cpu", "cuda"):
        device = torch.device(dev)
        b = batch.to(device)
        res[dev] = np.array([score_arch(a, nb201.build, proxies, b, protocol, device)["swap"].value for a in archs])
    rel = np.abs(res["cpu"] - res["cuda"]) / res["cpu"]
    print(f"{args.archs} archs, default protocol {d}: identical {int((rel == 0).sum())}, "
          f"max relative difference {rel.max():.2e}, median {np.median(rel):.2e}, "
          f"Spearman(cpu, cuda) {stats.spearmanr(res['cpu'], res['cuda'])[0]:.5f}")


if __name__ == "__main__":
    main()
