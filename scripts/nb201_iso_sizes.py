"""How many NB201 isomorphism classes (``iso_key``, the benchmark's convention) hold networks of more
than one size: ``python scripts/nb201_iso_sizes.py DATA_DIR`` (the number docs/search.md quotes)."""

from __future__ import annotations

import collections
import csv
import sys
from pathlib import Path

from swapnas.spaces import nb201


def main(data_dir: str) -> None:
    sizes: dict[str, set[str]] = collections.defaultdict(set)
    with open(Path(data_dir) / "nb201" / "nb201_all_15625.csv", newline="") as f:
        for row in csv.DictReader(f):
            sizes[nb201.iso_key(nb201.parse(row["arch_str"]))].add(row["params_M_c10"])
    mixed = sum(len(v) > 1 for v in sizes.values())
    print(f"{len(sizes)} iso_key classes; {mixed} hold more than one params_M_c10")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
