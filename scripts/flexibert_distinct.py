"""How many distinct FlexiBERT networks the benchmark's records give (docs/transformers.md, "Benchmark").

Prints the records, the distinct archs (the benchmark's rows) and, per size reading, the distinct networks
built from them (``layer_specs``: hidden size and per-layer (op, param, heads, FF width, FF depth); the
``authors`` reading fixes hidden 256 and FF 1024, so archs that differ only there build one network).

    python scripts/flexibert_distinct.py [DATA_DIR]    (default: ../shared/data)
"""

from __future__ import annotations

import sys

from swapnas.benchmarks.flexibert import FlexiBERTBenchmark
from swapnas.spaces import flexibert as fb


def main() -> None:
    bench = FlexiBERTBenchmark(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    print(f"{len(bench.records)} records, {len(bench.archs)} distinct archs")
    for sizes in fb.SIZES:
        networks = {(hidden, tuple(layers)) for hidden, layers in (fb.layer_specs(a, sizes) for a in bench.archs)}
        print(f"sizes={sizes}: {len(networks)} distinct networks")


if __name__ == "__main__":
    main()
