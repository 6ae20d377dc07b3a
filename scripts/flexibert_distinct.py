"""How many distinct FlexiBERT networks the benchmark's records give (docs/transformers.md, "Benchmark").

Prints the records, the distinct archs (the benchmark's rows) and, per size reading, the distinct networks
built from them (``layer_specs``: hidden size and per-layer (op, param, heads, FF width, FF depth); the
``authors`` reading fixes hidden 256 and FF 1024, so archs that differ only there build one network, with an
init seeded by each arch's own string), and how often each head count occurs among the records' layers (8, in
the design space, occurs in none).

    python scripts/flexibert_distinct.py [DATA_DIR]    (default: ../shared/data)
"""

from __future__ import annotations

import sys
from collections import Counter

from swapnas.benchmarks.flexibert import FlexiBERTBenchmark
from swapnas.spaces import flexibert as fb


def main() -> None:
    bench = FlexiBERTBenchmark(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    print(f"{len(bench.records)} records, {len(bench.archs)} distinct archs")
    for sizes in fb.SIZES:
        groups = Counter((hidden, tuple(layers)) for hidden, layers in (fb.layer_specs(a, sizes) for a in bench.archs))
        shared = sum(n > 1 for n in groups.values())
        print(f"sizes={sizes}: {len(groups)} distinct networks ({shared} of them built from more than one arch)")
    heads = Counter(layer.heads for arch in bench.record_archs for layer in arch.layers)
    print("head counts over the records' layers:", ", ".join(f"{h}: {heads.get(h, 0)}" for h in fb.HEADS))


if __name__ == "__main__":
    main()
