"""Time of a ``--truth`` CSV's #params: counted without a build (the space's ``final_params``) against a meta-device
build of every final network, on the SWAP authors' 300 DARTS archs (``darts/swap_darts_dev300.csv``).

``swapnas correlate --truth FILE`` reads every arch's #params for ρ|params, also on a rerun that scores nothing.
Since session 25 ``CsvBenchmark.params_m`` counts without a build where the space can. Prints both times (the
first includes the one-time layout of the final network) and checks the two give the same floats.

    OMP_NUM_THREADS=1 python perf/truth_sizes.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from swapnas.benchmarks.csv_truth import CsvBenchmark
from swapnas.patterns import count_params_k
from swapnas.spaces import darts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    args = ap.parse_args()
    bench = CsvBenchmark(Path(args.data_dir) / "darts" / "swap_darts_dev300.csv", "darts", "cifar10")
    archs = bench.archs_for("cifar10")
    t0 = time.perf_counter()
    counted = [bench.params_m(a, "cifar10") for a in archs]
    t1 = time.perf_counter()
    built = []
    for a in archs:
        with torch.device("meta"):
            built.append(count_params_k(darts.build(a, **darts.FINAL_NETS["cifar10"]["net"])) / 1e3)
    t2 = time.perf_counter()
    print(f"{len(archs)} archs: without a build {t1 - t0:.2f} s, with a meta-device build each {t2 - t1:.2f} s; "
          f"the same floats: {counted == built}")


if __name__ == "__main__":
    main()
