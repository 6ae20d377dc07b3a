"""nwot's memory: its Hamming kernel summed layer by layer (session 61) against all ReLU codes at once, the reference.

Session 61's big-model audit found ``nwot`` at 4.4 GB peak on a ResNet-50 at 224 px with S = 16, against 0.6 GB for a
plain forward pass: it concatenated every ReLU code into one (S, N_A) tensor and took the kernel in float64. The
proxy now adds each layer's kernel as the layer runs. This script checks both on a width-``W`` ResNet-style CNN
(stages of 3×3 conv–BN–ReLU blocks, ``--px`` inputs, S samples): the kernels must be equal element by element
(exact integers) with equal log-determinants, and it prints each way's peak resident memory, each measured in a
fresh process (``ru_maxrss``).

    OMP_NUM_THREADS=1 python perf/nwot_memory.py            # 112 px, S = 16, width 32
    OMP_NUM_THREADS=1 python perf/nwot_memory.py --px 224   # heavier
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

import torch
from torch import nn


def cnn(width: int) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, width, 7, 2, 3), nn.BatchNorm2d(width), nn.ReLU()]
    c = width
    for stage in range(4):
        out = width * 2 ** stage
        for block in range(3):
            layers += [nn.Conv2d(c, out, 3, 2 if block == 0 and stage else 1, 1), nn.BatchNorm2d(out), nn.ReLU()]
            c = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))


def one(way: str, px: int, samples: int, width: int) -> dict:
    """The kernel (every element, and its dtype), its log-determinant and this process's peak memory, one way."""
    from swapnas.proxies import nwot
    from swapnas.proxies._common import each_relu_code, relu_codes

    torch.manual_seed(0)
    model, x = cnn(width), torch.randn(samples, 3, px, px)
    if way == "all_at_once":
        kernel = nwot.hamming_kernel(relu_codes(model, x))
    else:
        summed = nwot._LayerSum()
        each_relu_code(model, x, summed)
        kernel = summed.kernel
    assert kernel is not None
    return {"way": way, "kernel": kernel.tolist(), "dtype": str(kernel.dtype),
            "logdet": float(torch.linalg.slogdet(kernel)[1]),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def same_kernels(a: dict, b: dict) -> bool:
    """Both ways' kernels equal element by element, of one dtype and shape, and their log-determinants equal (the
    kernels are whole numbers, exact in float64, which JSON carries exactly; session 66: only the sums and the
    log-determinants were compared)."""
    if a["dtype"] != b["dtype"]:
        return False
    ka, kb = (torch.tensor(r["kernel"], dtype=torch.float64) for r in (a, b))
    return torch.equal(ka, kb) and a["logdet"] == b["logdet"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--px", type=int, default=112)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--one", choices=["all_at_once", "layer_by_layer"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.px, args.samples, args.width)))
        return
    rows = []
    for way in ("all_at_once", "layer_by_layer"):
        command = [sys.executable, __file__, "--one", way, "--px", str(args.px), "--samples", str(args.samples),
                   "--width", str(args.width)]
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout))
    same = same_kernels(*rows)
    print(f"CNN width {args.width}, {args.px} px, S = {args.samples}: kernels {'equal' if same else 'DIFFER'}")
    for r in rows:
        print(f"  {r['way']:15s} peak RSS {r['peak_rss_mib']:6d} MiB  log|K| {r['logdet']!r}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
