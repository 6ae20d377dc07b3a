"""Session-25 review of the spaces and benchmarks: each test fails on the code before its fix (docs/reliability.md)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from swapnas.bundle import DataFileError, parsing
from swapnas.spaces import darts, darts_genotype as dg, transnas_macro, transnas_micro

NB201_A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
NB201_B = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def test_nb201_table_with_a_repeated_arch_is_refused_naming_the_rows(data_dir, tmp_path) -> None:
    """Before: the last of two rows with one arch_str won silently, and the other arch was 'not an NB201 arch'."""
    from swapnas.benchmarks.nb201 import NB201Benchmark

    (tmp_path / "nb201").mkdir()
    with open(data_dir / "nb201" / "nb201_all_15625.csv", newline="") as f:
        rows = list(csv.reader(f))
    col = rows[0].index("arch_str")
    rows[6][col] = rows[5][col]  # data rows 4 and 5
    with open(tmp_path / "nb201" / "nb201_all_15625.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    with pytest.raises(DataFileError, match=r"is on rows 4 and 5 \(1 repeated archs\)"):
        NB201Benchmark(tmp_path)


def _truth_csv(tmp_path, header: str, *lines: str):
    path = tmp_path / "truth.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def test_csv_truth_with_two_accuracy_columns_asks_which(tmp_path) -> None:
    """Before: two names with 'acc' fell back to the last numeric column, here the sizes (params_m)."""
    from swapnas.benchmarks.csv_truth import CsvBenchmark

    path = _truth_csv(tmp_path, "arch,valid_acc,test_acc,params_m", f"{NB201_A},91.0,93.5,1.2", f"{NB201_B},80.0,85.8,0.3")
    with pytest.raises(ValueError, match=r"several columns look like accuracies \(valid_acc, test_acc\); name the "
                                         "one to correlate with --accuracy-column"):
        CsvBenchmark(path, "nb201", "cifar10")
    bench = CsvBenchmark(path, "nb201", "cifar10", accuracy_column="test_acc")
    assert list(bench.accuracies([NB201_B, NB201_A], "cifar10")) == [85.8, 93.5]  # strings read with parse


def test_csv_truth_blank_accuracy_cell_is_named_by_its_line(tmp_path) -> None:
    """Before: "no such numeric column … (numeric columns: none)" for a column that exists."""
    from swapnas.benchmarks.csv_truth import CsvBenchmark

    path = _truth_csv(tmp_path, "arch,val_acc", f"{NB201_A},91.0", f"{NB201_B},")
    with pytest.raises(ValueError, match=r"--accuracy-column val_acc: line 3 of --truth .* holds '', not a finite "
                                         "number; fix or remove that row"):
        CsvBenchmark(path, "nb201", "cifar10", accuracy_column="val_acc")


def test_csv_truth_unknown_arch_is_a_key_error_naming_the_file(tmp_path) -> None:
    from swapnas.benchmarks.csv_truth import CsvBenchmark

    bench = CsvBenchmark(_truth_csv(tmp_path, "arch,acc", f"{NB201_A},91.0"), "nb201", "cifar10")
    with pytest.raises(KeyError, match="is not an arch of --truth .*truth.csv for task cifar10"):
        bench.accuracies([NB201_B], "cifar10")


def test_nb301_params_m_reads_naslib_keys_as_accuracies_does(data_dir) -> None:
    """Before: params_m(NASLib key) raised 'must look like Genotype(normal=[...], ...)'."""
    from swapnas.benchmarks import get_benchmark

    bench = get_benchmark("nb301", str(data_dir))
    key, arch = bench.keys[3], bench.archs[3]
    assert bench.params_m(key) == bench.params_m(arch) == bench.params_m(str(arch)) > 0


def test_numpy_integers_make_the_same_arch_as_python_ints() -> None:
    """Before: np.int64 codes were refused with a message showing an in-range value ('got np.int64(0)')."""
    micro = transnas_micro.Arch(tuple(np.arange(6) % 4))
    assert micro == transnas_micro.parse(str(micro)) and all(type(c) is int for c in micro.ops)
    macro = transnas_macro.Arch(list(np.array([1, 2, 3, 4])))
    assert macro == transnas_macro.parse(str(macro)) and all(type(c) is int for c in macro.codes)
    cell = [("sep_conv_3x3", np.int64(0)), ("sep_conv_3x3", np.int64(1))] * 4
    g = dg.Genotype(normal=cell, reduce=cell, normal_concat=list(np.arange(2, 6)))
    assert g == dg.parse(str(g)) and hash(g) == hash(dg.parse(str(g)))
    assert type(g.normal[0][1]) is int and type(g.normal_concat[0]) is int
    with pytest.raises(ValueError, match="got True"):  # a bool is still no op code
        transnas_micro.Arch((True, 0, 0, 0, 0, 0))


def test_to_naslib_refuses_a_concat_its_key_cannot_hold() -> None:
    """Before: the concat was dropped, so parse_naslib(to_naslib(g)) was another genotype."""
    cell = (("sep_conv_3x3", 0), ("sep_conv_3x3", 1)) * 4
    assert dg.parse_naslib(dg.to_naslib(dg.Genotype(cell, cell))) == dg.Genotype(cell, cell)
    with pytest.raises(ValueError, match=r"concatenates \(4, 5\) / \(2, 3, 4, 5\), which the key cannot hold"):
        dg.to_naslib(dg.Genotype(cell, cell, normal_concat=(4, 5)))


def test_a_csv_reader_error_names_the_data_file(tmp_path) -> None:
    """Before: `_csv.Error: field larger than field limit` without the file's name."""
    path = tmp_path / "t.csv"
    path.write_text("a\n" + "x" * 200_000 + "\n")
    with pytest.raises(DataFileError, match=r"t\.csv: bad content \(Error: field larger than field limit"):
        with parsing(path, "somewhere"), open(path, newline="") as f:
            list(csv.DictReader(f))


def test_darts_final_params_is_none_without_affine_edge_ops_and_the_build_counts(tmp_path) -> None:
    """Before: the layout counted the edge ops' BatchNorm scale and shift that affine_ops=False nets lack."""
    from swapnas.search.final import final_size

    cell = (("sep_conv_3x3", 0), ("dil_conv_5x5", 1)) * 4
    g = dg.Genotype(cell, cell)
    final = {"net": {"C": 8, "layers": 5, "affine_ops": False}, "resolution": 32}
    assert darts.final_params(g, final) is None and darts.final_flops(g, final) is None
    built = darts.build(g, **final["net"])
    expected = sum(p.numel() for n, p in built.named_parameters() if "auxiliary" not in n) / 1e6
    assert final_size(darts, g, final) == pytest.approx(expected)
    with_affine = {"net": {"C": 8, "layers": 5}, "resolution": 32}
    assert darts.final_params(g, with_affine) == sum(
        p.numel() for n, p in darts.build(g, **with_affine["net"]).named_parameters() if "auxiliary" not in n)
