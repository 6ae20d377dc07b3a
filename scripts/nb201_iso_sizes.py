"""How many NB201 isomorphism classes (``iso_key``, the benchmark's convention) hold networks of more
than one size: ``python scripts/nb201_iso_sizes.py DATA_DIR`` (the numbers docs/search.md quotes), by the
benchmark's ``params_M_c10`` and by the built network's count (``nb201.final_params``, the CIFAR-10 final
network: that column is wrong for 150 archs, docs/protocol.md), and how many of those 150 table entries
equal the built size of another arch of their class."""

from __future__ import annotations

import collections
import csv
import sys
from pathlib import Path

from swapnas.search.final import final_net
from swapnas.spaces import nb201


def main(data_dir: str) -> None:
    final = final_net("nb201", "cifar10")
    table: dict[str, set[str]] = collections.defaultdict(set)
    built: dict[str, set[int]] = collections.defaultdict(set)
    wrong: list[tuple[str, int]] = []  # (class, the table's size in parameters) where the table differs
    with open(Path(data_dir) / "nb201" / "nb201_all_15625.csv", newline="") as f:
        for row in csv.DictReader(f):
            arch = nb201.parse(row["arch_str"])
            key, size = nb201.iso_key(arch), nb201.final_params(arch, final)
            assert size is not None
            table[key].add(row["params_M_c10"])
            built[key].add(size)
            theirs = round(float(row["params_M_c10"]) * 1e6)
            if abs(theirs - size) > 1000:  # (the table's errors are ±28 k or ±243 k; it rounds to the parameter)
                wrong.append((key, theirs))
    mixed = sum(len(v) > 1 for v in table.values())
    mixed_built = sum(len(v) > 1 for v in built.values())
    another = sum(any(abs(theirs - s) <= 1000 for s in built[key]) for key, theirs in wrong)
    print(f"{len(table)} iso_key classes; {mixed} hold more than one params_M_c10; {mixed_built} more than one "
          f"built size; {len(wrong)} archs whose params_M_c10 differs from the built size, {another} of them within "
          "1,000 parameters of the built size of an arch of their class")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
