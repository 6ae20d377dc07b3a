"""Session-25 newcomer walkthrough of the README: each test fails on the code before its fix
(docs/reliability.md)."""

from __future__ import annotations

import re

import pytest
import torch

from swapnas.bundle import require_file
from swapnas.cli import build_parser, main
from swapnas.proxies import get_proxy


def test_a_data_dir_one_folder_too_high_gets_the_right_folder_named(tmp_path) -> None:
    (tmp_path / "data" / "nb201").mkdir(parents=True)
    (tmp_path / "data" / "nb201" / "t.csv").write_text("x\n")
    with pytest.raises(FileNotFoundError, match=r"did you mean --data-dir .*/data \(the bundle folder itself"):
        require_file(tmp_path, "nb201/t.csv")


def test_a_proxy_name_typo_gets_a_suggestion() -> None:
    with pytest.raises(KeyError, match=r"unknown proxy 'swapreg'; did you mean 'swap_reg'"):
        get_proxy("swapreg")


@pytest.mark.parametrize("command", [["search", "--space", "nb201"], ["grid", "--benchmarks", "nb201"]])
def test_search_and_grid_without_the_bundle_make_no_out(command, tmp_path, monkeypatch, capsys) -> None:
    """Before: both exited 2 but left OUT with a store (and the search its lock) behind."""
    monkeypatch.delenv("SWAPNAS_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    out = tmp_path / "out"
    assert main([*command, "--out", str(out), "--no-progress"]) == 2
    assert "no data directory given" in capsys.readouterr().err and not out.exists()


def test_every_help_example_that_reads_the_bundle_names_it() -> None:
    """Before: the correlate, grid, search and conformance examples had no --data-dir and stopped at once."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in ("correlate", "grid", "search", "conformance"):
        examples = re.findall(r"^  (swapnas .*)$", sub.choices[name].epilog, flags=re.M)
        assert examples and all("--data-dir ../shared/data" in e for e in examples), (name, examples)


def test_a_darts_truth_csvs_sizes_are_the_built_networks(tmp_path) -> None:
    """Counted without a build now (300 DARTS builds took 27 s on a rerun with every score stored)."""
    import random

    from swapnas.benchmarks.csv_truth import CsvBenchmark
    from swapnas.patterns import count_params_k
    from swapnas.spaces import darts

    archs = [darts.sample(random.Random(s)) for s in range(3)]
    path = tmp_path / "t.csv"
    path.write_text("genotype,acc\n" + "".join(f"\"{a}\",{90 + i}\n" for i, a in enumerate(archs)))
    bench = CsvBenchmark(path, "darts", "cifar10")
    for a in archs:
        with torch.device("meta"):
            built = count_params_k(darts.build(a, **darts.FINAL_NETS["cifar10"]["net"])) / 1e3
        assert bench.params_m(a, "cifar10") == built
