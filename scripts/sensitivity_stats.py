"""The saturation figures behind docs/results.md's protocol study: where Ψ sits against its ceiling per S.

For each NB201 ``swapnas correlate`` run given (its ``results.json``, with a ``swap`` column), prints the
batch size S, the median Ψ over the run's archs (Ψ averaged over the run's repeats, as stored), the share of
archs within 1 % of the ceiling 2**S, and the range over the run's archs of N, the hooked neurons per
sample (the ReLU outputs on conv maps that ``swap`` counts, each activation input once, as ``swap_score``
takes them) of the run's scored network (its C and N cells; one sample at the run's dataset's resolution, no weights
needed).

    python scripts/sensitivity_stats.py runs/c10_C16_N1_S8_R4/results.json runs/c10_C16_N1_S16_R4/results.json ...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from swapnas.data import dataset_info
from swapnas.patterns import hooked_activations
from swapnas.spaces import nb201


def neurons_per_sample(arch: str, channels: int, cells: int, resolution: int = 32) -> int:
    """Hooked ReLU outputs on conv maps for one sample of ``resolution`` × ``resolution`` pixels (the run's dataset's:
    CIFAR 32, ImageNet16-120 16), each activation input counted once."""
    sizes: list[int] = []
    net = nb201.build(arch, C=channels, N=cells)
    with torch.no_grad(), hooked_activations(net, sink=lambda out: sizes.append(out[0].numel()), skip_repeats=True):
        net(torch.randn(1, 3, resolution, resolution))
    return sum(sizes)


def run_row(path: Path) -> str:
    data = json.loads(path.read_text())
    protocol = data["protocol"]
    if protocol.get("space") != "nb201" or "swap" not in data.get("scores", {}):
        sys.exit(f"{path}: needs an nb201 run with a swap column (got space {protocol.get('space')!r}, "
                 f"columns {sorted(data.get('scores', {}))})")
    s = int(protocol["batch_size"])
    net = protocol.get("net", {})
    channels, cells = int(net.get("C", 16)), int(net.get("N", 5))
    psi = np.array([v for v in data["scores"]["swap"] if v is not None], dtype=float)
    near = float(np.mean(psi >= 0.99 * 2 ** s))
    resolution = dataset_info(protocol.get("dataset", "cifar10")).resolution  # until session 49 always 32
    counts = [neurons_per_sample(a, channels, cells, resolution) for a in data["archs"]]
    return (f"| {s} | {channels} | {cells} | {len(psi)} | {np.median(psi):,.0f} | {2 ** s:,} | {near:.1%} | "
            f"{min(counts):,}–{max(counts):,} | `{path.parent.name}` |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=Path)
    args = parser.parse_args()
    print("| S | C | N | archs | median Ψ | 2**S | within 1 % of 2**S | hooked neurons per sample (min–max) | run |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in args.results:
        print(run_row(path), flush=True)


if __name__ == "__main__":
    main()
