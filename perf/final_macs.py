"""Time of one final-network multiply-add count: the space's ``final_flops`` (no build) against the full count.

``swapnas search --max-macs`` checks every arch it proposes (``search.final.final_macs``). Until session 23 that
built the final network on the meta device and counted one forward pass with ``FlopCounterMode``; NB201 and DARTS
now give the same count without a build (``nb201.final_flops``, ``spaces/darts_macs.py``). For ``--archs`` random
archs per final network this prints the mean seconds of each way (the fast one after its one-time set-up, which is
printed apart) and checks that both give the same count for every arch.

    OMP_NUM_THREADS=1 python perf/final_macs.py --archs 20
"""

from __future__ import annotations

import argparse
import random
import time

import torch

from swapnas.cli.args import positive_int
from swapnas.search.final import final_macs, final_net
from swapnas.spaces import get_space
from swapnas.size_prior import count_flops

FINALS = (("nb201", "cifar10"), ("nb201", "imagenet16-120"), ("darts", "cifar10"), ("darts", "imagenet"))


def full_count(mod: object, arch: object, final: dict) -> float:
    """The count before session 23: build the final network on the meta device, count one forward pass."""
    r = final["resolution"]
    with torch.device("meta"):
        model = final.get("builder", mod.build)(arch, **final["net"]).eval()  # type: ignore[attr-defined]
    return count_flops(model, torch.empty(1, 3, r, r, device="meta")) / 2 / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archs", type=positive_int, default=20, help="random archs per final network")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"{'final network':26} {'archs':>5} {'set-up s':>9} {'full s/arch':>12} {'fast s/arch':>12} {'ratio':>8}")
    for space, dataset in FINALS:
        mod, final = get_space(space), final_net(space, dataset)
        rng = random.Random(args.seed)
        archs = [mod.sample(rng) for _ in range(args.archs)]
        t0 = time.perf_counter()
        final_macs(mod, mod.sample(random.Random(args.seed + 1)), final)  # the layout and op counts are cached
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        fast = [final_macs(mod, a, final) for a in archs]
        t_fast = (time.perf_counter() - t0) / len(archs)
        t0 = time.perf_counter()
        full = [full_count(mod, a, final) for a in archs]
        t_full = (time.perf_counter() - t0) / len(archs)
        if fast != full:
            raise SystemExit(f"{space}/{dataset}: the counts differ: {fast} against {full}")
        print(f"{space + '/' + dataset:26} {len(archs):>5} {setup:>9.2f} {t_full:>12.4f} {t_fast:>12.6f} "
              f"{t_full / max(t_fast, 1e-9):>7.0f}×")


if __name__ == "__main__":
    main()
