"""Where the time of one scored arch goes, and what the lean path saves.

For NB201 archs under two protocols (the search's: C=16, N=1, S=16, R=4; the sweep's: C=16,
N=5, S=64, R=1) prints the median per-arch cost of building the network, the N(0,1) init, the
move to the device, a plain forward pass and swap_score, then `score_arch` end to end twice:
with a build per repeat (the old path) and with one build re-initialised per repeat (the lean
path, the default for SWAP). Both give identical scores (checked here).

    python perf/arch_cost.py [--device cpu] [--archs 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import time

import torch

from swapnas.cli.args import positive_int
from swapnas.module_tools import to_device
from swapnas.patterns import swap_score
from swapnas.scoring import gaussian_init, score_arch
from swapnas.session import configure
from swapnas.spaces import nb201

PROTOCOLS = [("search: C16 N1, S=16, R=4", {"C": 16, "N": 1}, 16, 4),
             ("sweep: C16 N5, S=64, R=1", {"C": 16, "N": 5}, 64, 1)]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _ms(fn, device: torch.device) -> tuple[float, object]:
    _sync(device)
    t = time.perf_counter()
    out = fn()
    _sync(device)
    return (time.perf_counter() - t) * 1e3, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--archs", type=positive_int, default=20)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the CLI's default, 1)")
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    archs = random.Random(0).sample(list(nb201.all_archs()), args.archs)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    name += f", {torch.get_num_threads()} threads"
    print(f"device {name} | torch {torch.__version__} | {args.archs} NB201 archs (random.Random(0)); "
          "medians per arch, ms")
    print(f"{'protocol':<27} {'build':>6} {'init':>6} {'.to()':>6} {'1 copy':>6} {'fwd':>7} {'swap':>7} "
          f"{'swap/fwd':>8} {'score_arch, build per repeat':>28} {'one build (lean)':>17}")
    for label, net, s, r in PROTOCOLS:
        protocol, batch, proxies = configure("nb201", "cifar10", "swap", batch_size=s, repeats=r, net=net,
                                             data_dir=args.data_dir)
        swap = proxies[0]
        rebuild = dataclasses.replace(swap, keeps_model=False)
        x = batch.inputs.to(device)
        dev_batch = batch.to(device)
        cols: dict[str, list[float]] = {k: [] for k in ("build", "init", "move", "flat", "fwd", "swap", "ratio", "old",
                                                        "lean")}
        for a in archs:
            t, model = _ms(lambda a=a: nb201.build(a, num_classes=10, **net), device)
            cols["build"].append(t)
            cols["init"].append(_ms(lambda m=model: gaussian_init(m, torch.Generator().manual_seed(0)), device)[0])
            t, moved = _ms(lambda m=model: m.to(device).train(), device)
            cols["move"].append(t)
            model = nb201.build(a, num_classes=10, **net)  # again, moved by swapnas's one-copy move
            gaussian_init(model, torch.Generator().manual_seed(0))
            t, model = _ms(lambda m=model: to_device(m, device).train(), device)
            cols["flat"].append(t)
            if not all(torch.equal(p, q) for p, q in zip([*moved.parameters(), *moved.buffers()],
                                                         [*model.parameters(), *model.buffers()])):
                raise SystemExit(f"the one-copy move differs from .to() on {a}")
            with torch.no_grad():
                model(x)  # warm-up
                cols["fwd"].append(_ms(lambda m=model: m(x), device)[0])
            t, score = _ms(lambda m=model: swap_score(m, x), device)
            cols["swap"].append(t)
            cols["ratio"].append(t / cols["fwd"][-1])
            if score != swap_score(moved, x):
                raise SystemExit(f"swap_score differs between the two moves on {a}")
            t_old, old = _ms(lambda a=a: score_arch(a, nb201.build, [rebuild], dev_batch, protocol, device), device)
            t_new, new = _ms(lambda a=a: score_arch(a, nb201.build, [swap], dev_batch, protocol, device), device)
            if old["swap"].values != new["swap"].values:
                raise SystemExit(f"lean path differs on {a}: {new['swap'].values} vs {old['swap'].values}")
            cols["old"].append(t_old)
            cols["lean"].append(t_new)
        med = {k: statistics.median(v) for k, v in cols.items()}
        print(f"{label:<27} {med['build']:>6.2f} {med['init']:>6.2f} {med['move']:>6.2f} {med['flat']:>6.2f} "
              f"{med['fwd']:>7.2f} {med['swap']:>7.2f} {med['ratio']:>8.2f} {med['old']:>28.2f} {med['lean']:>17.2f}")


if __name__ == "__main__":
    main()
