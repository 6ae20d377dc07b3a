"""Write the tests' small data bundle (tests/data/bundle/) from the real swapnas data bundle.

The small bundle has the real bundle's layout and file formats (same paths, csv columns, JSON
nesting and records, npz keys and dtypes) but holds a fixed subset of each file, so most tests
run without the 22 MB bundle. The subset is chosen by file order only (no randomness) and the
files are written byte-deterministically, so running this again reproduces the committed files:

    python tests/data/make_bundle.py --src ../shared/data            # rewrite tests/data/bundle
    python tests/data/make_bundle.py --src ../shared/data --check    # exit 1 if the committed copy differs

What each file keeps (the sizes are also the values the switched tests expect):

- nb101/naslib_zc_nasbench101.json: the first ``N101`` keys in file order.
- nb301/naslib_zc_nasbench301.json: the first ``N301`` keys in file order.
- darts/swap_darts_dev300.csv: the header and the first ``N_DARTS`` rows (lines copied verbatim).
- nb201/naslib_zc_nasbench201.json: the first ``N201`` cifar10 keys that all three datasets hold,
  per dataset in that dataset's file order; nb201/nb201_all_15625.csv: the rows of those archs
  (matched on ``naslib_op_indices``), in index order, lines copied verbatim.
- transnas/naslib_zc_transbench101_micro.json: the first ``N_TRANSNAS`` keys (every task holds
  the same keys), per task in file order.
- transnas/naslib_zc_transbench101_macro.json: the first ``N_TRANSNAS`` class_object keys and the
  first ``N_MACRO_EXTRA`` jigsaw keys that class_object/class_scene lack (as in the real file,
  those two tasks hold fewer archs), per task in file order.
- flexibert/flexibert_glue_500.json: the first ``N_FLEXIBERT`` entries.
- images/cifar10_test_2000_jpegq75.npz: the first ``N_CIFAR10_PER_CLASS`` images of every class
  (the real file is sorted by class), ``class_names`` unchanged.
- images/foolbox_real_samples.npz: the first ``N_FOOLBOX_CIFAR10`` CIFAR-10, all 20 CIFAR-100 and
  the first ``N_IMAGENET`` ImageNet images (x16, x32, x64 and labels cut alike).

JSON is written with ``json.dumps`` defaults (the real files' separators); npz members are
deflated like the real files, with a fixed timestamp so the bytes do not depend on the day.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import io
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "bundle"

N101 = 40
N301 = 30
N_DARTS = 30
N201 = 30
N_TRANSNAS = 10
N_MACRO_EXTRA = 3
N_FLEXIBERT = 10
N_CIFAR10_PER_CLASS = 7  # 70 images: a 64-image batch is all real
N_FOOLBOX_CIFAR10 = 4
N_IMAGENET = 10

NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


def _read_json(path: Path):
    with open(path) as f:
        return json.load(f)


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def _write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        f.writelines(lines)


def _csv_lines(path: Path) -> list[str]:
    """The file's lines (with their endings); refuses files whose records span lines."""
    with open(path, newline="") as f:
        lines = f.readlines()
    with open(path, newline="") as f:
        n_records = sum(1 for _ in csv.reader(f))
    if n_records != len(lines):
        raise ValueError(f"{path}: {n_records} csv records on {len(lines)} lines; cannot copy lines verbatim")
    return lines


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An npz as np.savez_compressed writes it, but with a fixed member timestamp."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, buf.getvalue())


def _nb101(src: Path, dst: Path) -> None:
    rel = "nb101/naslib_zc_nasbench101.json"
    records = _read_json(src / rel)["nasbench101"]["cifar10"]
    _write_json(dst / rel, {"nasbench101": {"cifar10": {k: records[k] for k in list(records)[:N101]}}})


def _nb301(src: Path, dst: Path) -> None:
    rel = "nb301/naslib_zc_nasbench301.json"
    records = _read_json(src / rel)["cifar10"]
    _write_json(dst / rel, {"cifar10": {k: records[k] for k in list(records)[:N301]}})


def _darts(src: Path, dst: Path) -> None:
    rel = "darts/swap_darts_dev300.csv"
    lines = _csv_lines(src / rel)
    _write_lines(dst / rel, lines[: 1 + N_DARTS])


def _nb201(src: Path, dst: Path) -> None:
    rel_json, rel_csv = "nb201/naslib_zc_nasbench201.json", "nb201/nb201_all_15625.csv"
    data = _read_json(src / rel_json)
    common = set.intersection(*(set(data[d]) for d in NB201_DATASETS))
    chosen = [k for k in data["cifar10"] if k in common][:N201]
    keep = set(chosen)
    _write_json(dst / rel_json, {d: {k: v for k, v in data[d].items() if k in keep} for d in NB201_DATASETS})
    lines = _csv_lines(src / rel_csv)
    header = next(csv.reader([lines[0]]))
    col = header.index("naslib_op_indices")
    rows = [line for line in lines[1:] if next(csv.reader([line]))[col] in keep]
    if len(rows) != len(chosen):
        raise ValueError(f"{rel_csv}: {len(rows)} rows match the {len(chosen)} chosen NASLib keys")
    _write_lines(dst / rel_csv, [lines[0], *rows])


def _transnas(src: Path, dst: Path) -> None:
    rel = "transnas/naslib_zc_transbench101_micro.json"
    data = _read_json(src / rel)
    first = next(iter(data.values()))
    keep = set(list(first)[:N_TRANSNAS])
    if not all(keep <= set(records) for records in data.values()):
        raise ValueError(f"{rel}: the first task's first keys are not held by every task")
    _write_json(dst / rel, {t: {k: v for k, v in records.items() if k in keep} for t, records in data.items()})

    rel = "transnas/naslib_zc_transbench101_macro.json"
    data = _read_json(src / rel)
    base = list(data["class_object"])[:N_TRANSNAS]
    extra = [k for k in data["jigsaw"] if k not in data["class_object"]][:N_MACRO_EXTRA]
    keep = set(base) | set(extra)
    _write_json(dst / rel, {t: {k: v for k, v in records.items() if k in keep} for t, records in data.items()})


def _flexibert(src: Path, dst: Path) -> None:
    rel = "flexibert/flexibert_glue_500.json"
    _write_json(dst / rel, _read_json(src / rel)[:N_FLEXIBERT])


def _images(src: Path, dst: Path) -> None:
    rel = "images/cifar10_test_2000_jpegq75.npz"
    with np.load(src / rel) as z:
        x, y, names = z["x"], z["y"], z["class_names"]
    idx = np.concatenate([np.flatnonzero(y == c)[:N_CIFAR10_PER_CLASS] for c in range(len(names))])
    idx.sort()
    _write_npz(dst / rel, {"x": x[idx], "y": y[idx], "class_names": names})

    rel = "images/foolbox_real_samples.npz"
    with np.load(src / rel) as z:
        arrays = {k: z[k] for k in z.files}
    cut = {"cifar10_x": N_FOOLBOX_CIFAR10, "cifar10_y": N_FOOLBOX_CIFAR10,
           "imagenet_x16": N_IMAGENET, "imagenet_x32": N_IMAGENET, "imagenet_x64": N_IMAGENET,
           "imagenet_y_in1k": N_IMAGENET}
    _write_npz(dst / rel, {k: (a[: cut[k]] if k in cut else a) for k, a in arrays.items()})


SOURCES = """\
# tests/data/bundle: the tests' small data bundle

Written by `tests/data/make_bundle.py` from the real swapnas data bundle (`shared/data`); do not
edit by hand, rerun the script (`--check` compares). Same paths and file formats as the real
bundle, a fixed subset of each file (see the script's docstring for what each file keeps).
Provenance and licences of every file: the real bundle's `SOURCES.md`.

Tests use it through the `small_bundle` fixture (tests/conftest.py). Tests whose assertions are
golden values of the full files (counts such as 15,625 / 725 / 500, published numbers) use the
real bundle (`data_dir` fixture) and are marked `@pytest.mark.bundle`.

Note: `nb201/nb201_all_15625.csv` here holds only the rows of the archs in the NB201 NASLib subset;
`NB201Benchmark` refuses a table without all 15,625 rows, so no test reads these two NB201 files yet.
"""


def build(src: Path, dst: Path) -> None:
    for part in (_nb101, _nb301, _darts, _nb201, _transnas, _flexibert, _images):
        part(src, dst)
    (dst / "SOURCES.md").write_text(SOURCES)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_src = os.environ.get("SWAPNAS_DATA") or str(HERE.parents[2] / "shared" / "data")
    p.add_argument("--src", default=default_src,
                   help="the real data bundle (default: $SWAPNAS_DATA, else ../shared/data)")
    p.add_argument("--out", default=str(DEFAULT_OUT),
                   help="where to write the small bundle (default: tests/data/bundle)")
    p.add_argument("--check", action="store_true", help="write to a temporary folder and compare with --out")
    args = p.parse_args(argv)
    src, out = Path(args.src), Path(args.out)
    if not (src / "nb201" / "nb201_all_15625.csv").is_file():
        print(f"{src} is not the swapnas data bundle (no nb201/nb201_all_15625.csv)", file=sys.stderr)
        return 2
    if not args.check:
        build(src, out)
        total = sum((out / f).stat().st_size for f in _files(out))
        print(f"wrote {len(_files(out))} files, {total / 1024:.0f} KiB, to {out}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        build(src, Path(tmp))
        want, have = _files(Path(tmp)), _files(out) if out.is_dir() else []
        differ = [f for f in want if f not in have or not filecmp.cmp(Path(tmp, f), out / f, shallow=False)]
        extra = [f for f in have if f not in want]
    for f in differ:
        print(f"differs or missing: {f}", file=sys.stderr)
    for f in extra:
        print(f"not written by this script: {f}", file=sys.stderr)
    if differ or extra:
        return 1
    print(f"{out} matches what {src} gives")
    return 0


if __name__ == "__main__":
    sys.exit(main())
