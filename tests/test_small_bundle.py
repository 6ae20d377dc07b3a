"""The committed small bundle (tests/data/bundle): small, readable by the loaders, and what
tests/data/make_bundle.py writes from the real bundle."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from swapnas.benchmarks import get_benchmark
from swapnas.benchmarks.nb201 import NB201Benchmark
from swapnas.data import DATASETS, load_batch
from swapnas.spaces import nb201

MAKE_BUNDLE = Path(__file__).parent / "data" / "make_bundle.py"
# NASLib's NB201 encoding (the real bundle's SOURCES.md), written out independently of the table
_NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
_NASLIB_EDGE_ORDER = (0, 1, 3, 2, 4, 5)


def _make_bundle():
    spec = importlib.util.spec_from_file_location("make_bundle", MAKE_BUNDLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_bundle", module)
    spec.loader.exec_module(module)
    return module


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "SOURCES.md")


def test_small_bundle_is_small_and_every_loader_reads_it(small_bundle) -> None:
    total = sum((small_bundle / f).stat().st_size for f in _files(small_bundle))
    assert total < 1_000_000
    for name in ("nb101", "nb301", "darts_swap", "transnas_micro", "transnas_macro"):
        bench = get_benchmark(name, small_bundle)
        for task in bench.tasks:
            archs = bench.archs_for(task)
            assert 10 <= len(archs) <= 40 and len(bench.accuracies(archs, task)) == len(archs)
    for dataset, info in DATASETS.items():
        b = load_batch(dataset, 8, data_dir=small_bundle)
        assert b.n_real == 8 and b.inputs.shape == (8, 3, info.resolution, info.resolution)


def test_small_nb201_files_agree_with_each_other(small_bundle) -> None:
    with open(small_bundle / "nb201" / "nb201_all_15625.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["index"]) for r in rows] == sorted({int(r["index"]) for r in rows})  # index order, no repeats
    archs = {r["naslib_op_indices"]: nb201.parse(r["arch_str"]) for r in rows}
    for r in rows:
        assert nb201.iso_key(archs[r["naslib_op_indices"]]) == r["isomorph_unique_str"]
    naslib = json.loads((small_bundle / "nb201" / "naslib_zc_nasbench201.json").read_text())
    for dataset, records in naslib.items():
        assert set(records) == set(archs), dataset  # every NASLib key has its table row and back
    for key, arch in archs.items():
        ops = tuple(int(v) for v in key.strip("()").split(","))
        assert tuple(_NASLIB_OPS.index(arch.ops[e]) for e in _NASLIB_EDGE_ORDER) == ops
    # NB201Benchmark needs all 15,625 rows: once it reads a subset table, the NB201 tests marked
    # `bundle` only for the table (test_cli, test_conformance, test_grid, ...) can use this bundle
    with pytest.raises(ValueError, match="expected 15625"):
        NB201Benchmark(small_bundle)


@pytest.mark.bundle  # compares with the real bundle
def test_small_bundle_is_what_make_bundle_writes(data_dir, small_bundle, tmp_path) -> None:
    mb = _make_bundle()
    mb.build(data_dir, tmp_path)
    assert _files(tmp_path) == _files(small_bundle)
    for rel in _files(tmp_path):
        assert (tmp_path / rel).read_bytes() == (small_bundle / rel).read_bytes(), rel
    # the same layout and formats as the real bundle: files, npz keys and dtypes, csv header, JSON nesting
    assert set(_files(small_bundle)) <= set(_files(data_dir))
    for rel in _files(small_bundle):
        small, real = small_bundle / rel, data_dir / rel
        if rel.endswith(".npz"):
            with np.load(small) as s, np.load(real) as r:
                assert s.files == r.files, rel
                for k in s.files:
                    assert s[k].dtype == r[k].dtype and s[k].shape[1:] == r[k].shape[1:], (rel, k)
            with zipfile.ZipFile(small) as zs:
                assert {i.compress_type for i in zs.infolist()} == {zipfile.ZIP_DEFLATED}
        elif rel.endswith(".csv"):
            assert small.read_text().splitlines()[0] == real.read_text().splitlines()[0], rel
        elif rel.endswith(".json"):
            s, r = json.loads(small.read_text()), json.loads(real.read_text())
            while isinstance(s, dict):  # same keys at every level down to the records
                assert set(s) <= set(r), rel
                first = next(iter(s))
                s, r = s[first], r[first]
                if isinstance(s, dict) and "val_accuracy" in s:
                    assert s == r, rel  # records copied whole
                    break
