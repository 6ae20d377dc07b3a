"""Bad input and faults: every one a clear error (exit 2, no traceback, nothing scored or stored) or a
recorded failure, checked up front; strict JSON outputs; messages that are true.

CLI cases run the real command line (``swapnas.cli.main``) on the committed small bundle; API cases
call the public functions. Each up-front CLI error asserts the exit code, the message, that no
traceback was printed and that no score store was written.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import random
import shutil
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from swapnas import patterns
from swapnas.api import as_batch, score
from swapnas.benchmarks import get_benchmark
from swapnas.benchmarks.csv_truth import CsvBenchmark
from swapnas.bundle import DataFileError
from swapnas.cli import main
from swapnas.conformance import load_naslib
from swapnas.data import load_batch
from swapnas.grid import GridColumn, write_grid
from swapnas.results import ProxyResult, strict_json
from swapnas.scoring import Protocol
from swapnas.search import EAConfig, final_net, run_search, target_prior, write_result
from swapnas.devices import resolve_device
from swapnas.session import check_archs, configure, scoring_net
from swapnas.spaces import SPACES, get_space, nb201
from swapnas.store import ScoreStore

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = ["--batch-size", "8", "--repeats", "1", "--device", "cpu", "--no-progress"]


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``swapnas ARGV`` (argparse errors exit through SystemExit)."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def correlate_args(small_bundle: Path, out: Path, *extra: str) -> list[str]:
    return ["correlate", "--space", "nb301", "--proxies", "swap,params", "--archs", "6", *FAST,
            "--data-dir", str(small_bundle), "--out", str(out), *extra]


def strict_load(text: str) -> object:
    """json.loads that fails the test on NaN / Infinity tokens."""
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))


def assert_bad_input(code: int, err: str, *phrases: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    for phrase in phrases:
        assert phrase in err, (phrase, err)


# ----------------------------------------------------------------------------- correlate: up front

CORRELATE_CASES = {
    "net_not_a_number": (["--net", "C=abc"], ["--net C=abc: the darts network cannot be built", "C takes an integer"]),
    "net_zero_channels": (["--net", "C=0"], ["--net C=0: the darts network cannot be built", "C is a size (default 8): it must be >= 1, not 0"]),
    "net_negative": (["--net", "layers=-2"], ["--net layers=-2: the darts network cannot be built", "layers is a size"]),
    "net_nan": (["--net", "C=nan"], ["--net values must be finite numbers", "C=nan"]),
    "net_bool_option": (["--net", "stem=3"], ["--net stem=3", "stem is true or false"]),
    "net_float_option": (["--net", "drop_path_prob=x"], ["drop_path_prob takes a number"]),
    "net_unknown_option": (["--net", "depth=3"], ["--net option(s) depth are not options of the darts network"]),
    "proxies_empty": (["--proxies", ""], ["--proxies needs at least one proxy name", "see `swapnas proxies`"]),
    "proxies_commas": (["--proxies", " , "], ["--proxies needs at least one proxy name"]),
    "proxies_unknown": (["--proxies", "zzz"], ["unknown proxy 'zzz'; available:"]),
    "sigma_negative": (["--proxies", "swap_reg", "--sigma", "-1"], ["argument --sigma: expected a finite number > 0"]),
    "sigma_zero": (["--proxies", "swap_reg", "--sigma", "0"], ["argument --sigma: expected a finite number > 0"]),
    "sigma_inf": (["--proxies", "swap_reg", "--sigma", "inf"], ["argument --sigma", "not a finite number"]),
    "mu_nan": (["--proxies", "swap_reg", "--mu", "nan"], ["argument --mu: expected a finite number"]),
    "mu_inf": (["--proxies", "swap_reg", "--mu=-inf"], ["argument --mu", "not a finite number"]),
    "device_tpu": (["--device", "tpu"], ["unknown device 'tpu'; accepted: auto, cpu, cuda, cuda:N"]),
    "archs_too_many": (["--archs", "99999999"], ["--archs 99999999: only 30 archs in nb301 cifar10; use --archs all"]),
    "archs_zero": (["--archs", "0"], ["--archs must be >= 1"]),
    "archs_word": (["--archs", "many"], ["--archs takes a number or 'all'"]),
    "seed_negative": (["--seed", "-1"], ["argument --seed: expected a seed in 0.."]),
    "seed_huge": (["--seed", str(2**64)], ["argument --seed: expected a seed in 0.."]),
    "batch_size_zero": (["--batch-size", "0"], ["argument --batch-size: expected a positive integer"]),
    "repeats_negative": (["--repeats", "-1"], ["argument --repeats: expected a positive integer"]),
    "channels_zero": (["--channels", "0"], ["argument --channels: expected a positive integer"]),
    "shard_out_of_range": (["--shard", "4/4"], ["--shard I/K needs 0 <= I < K"]),
    "ray_gpus_nan": (["--executor", "ray", "--ray-gpus", "nan"], ["--ray-gpus must be a finite number >= 0"]),
    "ray_gpus_inf": (["--executor", "ray", "--ray-gpus", "inf"], ["--ray-gpus must be a finite number >= 0"]),
    "ray_gpus_negative": (["--executor", "ray", "--ray-gpus", "-1"], ["--ray-gpus must be a finite number >= 0"]),
    "ray_cpus_zero": (["--executor", "ray", "--ray-cpus", "0"], ["argument --ray-cpus: expected a positive integer"]),
    "workers_zero": (["--workers", "0"], ["argument --workers: expected a positive integer"]),
    "threads_negative": (["--threads", "-2"], ["argument --threads: expected a positive integer"]),
    "prefetch_negative": (["--prefetch", "-1"], ["argument --prefetch: expected an integer >= 0"]),
    "ray_option_without_ray": (["--ray-gpus", "1"], ["--ray-gpus only applies with --executor ray"]),
    "mean_nan": (["--image-root", "x", "--mean", "nan,0.5,0.5"], ["argument --mean: expected three finite numbers"]),
    "std_zero": (["--image-root", "x", "--std", "0.2,0,0.2"], ["argument --std: expected three numbers > 0"]),
    "std_inf": (["--image-root", "x", "--std", "inf,1,1"], ["argument --std: expected three finite numbers"]),
    "num_classes_zero": (["--image-root", "x", "--num-classes", "0"], ["argument --num-classes"]),
    "task_unknown": (["--dataset", "mnist"], ["nb301 has no task 'mnist'"]),
}


@pytest.mark.parametrize("case", list(CORRELATE_CASES))
def test_correlate_bad_input_is_refused_up_front(case, small_bundle, tmp_path, capsys) -> None:
    extra, phrases = CORRELATE_CASES[case]
    out = tmp_path / "run"
    code, _, err = run_cli(correlate_args(small_bundle, out, *extra), capsys)
    assert_bad_input(code, err, *phrases)
    assert not (out / "scores.sqlite").exists() and not (out / "results.json").exists()


def test_unavailable_cuda_names_the_devices(small_bundle, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "run"
    code, _, err = run_cli(correlate_args(small_bundle, out, "--device", "cuda"), capsys)
    assert_bad_input(code, err, "device 'cuda' asked for, but CUDA is not available here", "available here: cpu")
    assert not (out / "scores.sqlite").exists()


def test_cuda_index_beyond_the_devices(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"this machine has 1 CUDA device\(s\); use --device cpu or auto \(available here: cpu, cuda:0"):
        resolve_device("cuda:3")
    assert resolve_device("cuda:0") == torch.device("cuda:0")


@pytest.mark.parametrize("name", ["tpu", "xla:0", "cuda:x", ""])
def test_resolve_device_names_the_accepted_devices(name) -> None:
    with pytest.raises(ValueError, match="accepted: auto, cpu, cuda, cuda:N, mps"):
        resolve_device(name)


def test_the_default_archs_may_exceed_a_small_benchmark(small_bundle, tmp_path, capsys) -> None:
    """Only a number given on the command line must exist: the default 1000 is 'at most'."""
    out = tmp_path / "run"
    code, text, err = run_cli(["correlate", "--space", "nb301", "--proxies", "params", *FAST,
                               "--data-dir", str(small_bundle), "--out", str(out)], capsys)
    assert code == 0, err
    assert json.loads((out / "results.json").read_text())["results"][0]["n"] == 30


# ----------------------------------------------------------------------------- other commands: up front

GRID = ["grid", "--benchmarks", "nb301", "--archs", "4", "--device", "cpu", "--no-progress"]
GRID_CASES = {
    "proxies_empty": (["--proxies", ""], ["--proxies needs at least one proxy name"]),
    "proxies_unknown": (["--proxies", "zzz"], ["unknown proxy 'zzz'"]),
    "seed_negative": (["--seed", "-5"], ["argument --seed: expected a seed"]),
    "repeats_zero": (["--repeats", "0"], ["argument --repeats: expected a positive integer"]),
    "archs_per_negative": (["--archs-per", "nb301=-1"], ["--archs-per nb301=-1: must be >= 1"]),
    "device_tpu": (["--device", "tpu"], ["unknown device 'tpu'"]),
    "benchmark_unknown": (["--benchmarks", "zzz"], ["unknown benchmark(s) zzz; known:"]),
}


@pytest.mark.parametrize("case", list(GRID_CASES))
def test_grid_bad_input(case, small_bundle, tmp_path, capsys) -> None:
    extra, phrases = GRID_CASES[case]
    out = tmp_path / "grid"
    argv = [*GRID, "--data-dir", str(small_bundle), "--out", str(out), *extra]
    code, _, err = run_cli(argv, capsys)
    assert_bad_input(code, err, *phrases)
    assert not (out / "scores.sqlite").exists()


SEARCH = ["search", "--space", "nb201", "--population", "4", "--sample", "2", "--cycles", "1", "--repeats", "1",
          "--batch-size", "8", "--device", "cpu", "--no-progress"]
#: (extra args, phrases, whether the error comes before the store is opened)
SEARCH_CASES = {
    "crossover_above_one": (["--crossover", "1.5"], ["argument --crossover: expected a probability in [0, 1]"], True),
    "crossover_nan": (["--crossover", "nan"], ["argument --crossover", "not a finite number"], True),
    "max_seconds_negative": (["--max-seconds", "-1"], ["argument --max-seconds: expected a finite number > 0"], True),
    "max_seconds_inf": (["--max-seconds", "inf"], ["argument --max-seconds", "not a finite number"], True),
    "target_params_nan": (["--target-params", "nanM"], ["argument --target-params: size must be a finite number > 0"],
                          True),
    "target_params_negative": (["--target-params=-4M"], ["argument --target-params: size must be"], True),
    "target_params_inf": (["--target-params", "inf"], ["argument --target-params: size must be"], True),
    "tolerance_zero": (["--tolerance", "0"], ["argument --tolerance: expected a finite number > 0"], True),
    "tolerance_nan": (["--tolerance", "nan"], ["argument --tolerance", "not a finite number"], True),
    "sigma_negative": (["--sigma", "-1"], ["argument --sigma: expected a finite number > 0"], True),
    "mu_inf": (["--mu", "inf"], ["argument --mu", "not a finite number"], True),
    "prior_nan": (["--prior", "0.5", "nan"], ["argument --prior", "not a finite number"], True),
    "prior_width_zero": (["--fitness", "swap_reg", "--prior", "0.5", "0"], ["--prior CENTRE WIDTH: WIDTH must be > 0"],
                         True),
    "max_params_zero": (["--max-params", "0M"], ["argument --max-params: size must be a finite number > 0"], True),
    "max_macs_nan": (["--max-macs", "nan"], ["argument --max-macs: size must be"], True),
    "max_evals_zero": (["--max-evals", "0"], ["argument --max-evals: expected a positive integer"], True),
    "cycles_negative": (["--cycles", "-1"], ["argument --cycles: expected an integer >= 0"], True),
    "population_one": (["--population", "1"], ["population must be >= 2"], True),
    "sample_above_population": (["--sample", "9"], ["sample K must be in 1..population=4"], True),
    "seed_negative": (["--seed", "-1"], ["argument --seed: expected a seed"], True),
    "score_seed_negative": (["--score-seed", "-1"], ["argument --score-seed: expected a seed"], True),
    "refine_negative": (["--refine", "-1"], ["argument --refine: expected an integer >= 0"], True),
    "refine_repeats_zero": (["--refine-repeats", "0"], ["argument --refine-repeats: expected a positive integer"],
                            True),
    "refine_net_text": (["--refine-net", "N=two"], ["--refine-net N=two: the nb201 network cannot be built",
                                                    "N takes an integer"], True),
    "refine_net_unknown": (["--refine-net", "depth=3"], ["--refine-net option(s) depth are not options of the nb201"],
                           True),
    "refine_batch_size_zero": (["--refine-batch-size", "0"],
                               ["argument --refine-batch-size: expected a positive integer"], True),
    "fitness_empty": (["--fitness", ""], ["unknown proxy ''"], True),
    "net_zero": (["--net", "C=0"], ["--net C=0: the nb201 network cannot be built", "C is a size"], True),
    "net_text": (["--net", "N=two"], ["--net N=two: the nb201 network cannot be built", "N takes an integer"], True),
    "dataset_unknown": (["--dataset", "mnist"], ["no final network defined for space 'nb201' on 'mnist'"], True),
    "target_outside_range": (["--target-params", "1000M"], ["--target-params 1000.0M is outside this space's range"],
                             False),
}


@pytest.mark.parametrize("case", list(SEARCH_CASES))
def test_search_bad_input(case, small_bundle, tmp_path, capsys) -> None:
    extra, phrases, up_front = SEARCH_CASES[case]
    out = tmp_path / "search"
    code, _, err = run_cli([*SEARCH, "--data-dir", str(small_bundle), "--out", str(out), *extra], capsys)
    assert_bad_input(code, err, *phrases)
    if up_front:
        assert not (out / "scores.sqlite").exists()
    assert not (out / "state.json").exists() and not (out / "result.json").exists()


CONFORMANCE = ["conformance", "--dataset", "cifar10", "--proxies", "params", "--no-progress"]
CONFORMANCE_CASES = {
    "archs_too_many": (["--archs", "99999999"], ["--archs 99999999: only 725 archs in NASLib's nb201/cifar10 file",
                                                  "use --archs all"], False),
    "device_tpu": (["--device", "tpu"], ["unknown device 'tpu'"], True),
    "seed_negative": (["--seed", "-1"], ["argument --seed: expected a seed"], True),
    "proxy_not_stored": (["--proxies", "swap"], ["NASLib stores no swap scores"], False),
}


@pytest.mark.parametrize("case", list(CONFORMANCE_CASES))
def test_conformance_bad_input(case, data_dir, tmp_path, capsys) -> None:
    """NASLib's file is mapped onto the full NB201 table: the real bundle."""
    extra, phrases, up_front = CONFORMANCE_CASES[case]
    out = tmp_path / "conf"
    code, _, err = run_cli([*CONFORMANCE, "--data-dir", str(data_dir), "--out", str(out), *extra], capsys)
    assert_bad_input(code, err, *phrases)
    assert not (out / "conformance.json").exists()
    if up_front:
        assert not (out / "scores.sqlite").exists()


TRAIN = ["train", "--genotype", str(get_space("darts").sample(random.Random(0))), "--synthetic", "8",
         "--epochs", "1", "--device", "cpu", "--no-progress"]
TRAIN_CASES = {
    "lr_nan": (["--lr", "nan"], ["argument --lr", "not a finite number"]),
    "lr_negative": (["--lr", "-0.1"], ["need --lr > 0"]),
    "momentum_inf": (["--momentum", "inf"], ["argument --momentum", "not a finite number"]),
    "momentum_one": (["--momentum", "1"], ["--momentum in [0, 1)"]),
    "lr_gamma_cosine": (["--lr-gamma", "0.9"], ["--lr-gamma 0.9 applies to the step schedule only, and the cifar10 "
                                                "recipe's schedule is cosine: give --schedule step"]),
    "weight_decay_negative": (["--weight-decay", "-1"], ["--weight-decay >= 0"]),
    "drop_path_one": (["--drop-path", "1.5"], ["--drop-path and --label-smoothing must be in [0, 1)"]),
    "label_smoothing_nan": (["--label-smoothing", "nan"], ["argument --label-smoothing", "not a finite number"]),
    "lr_gamma_zero": (["--lr-gamma", "0"], ["--lr-gamma must be in (0, 1]"]),
    "grad_clip_negative": (["--grad-clip", "-1"], ["--cutout, --grad-clip and --auxiliary-weight must be >= 0"]),
    "epochs_zero": (["--epochs", "0"], ["--epochs and --batch-size must be >= 1"]),
    "batch_size_text": (["--batch-size", "many"], ["argument --batch-size: invalid int value"]),
    "channels_zero": (["--channels", "0"], ["--channels (C) and --layers must be >= 1"]),
    "synthetic_zero": (["--synthetic", "0"], ["argument --synthetic: expected an integer >= 2 (got 0)"]),
    "max_steps_zero": (["--max-steps", "0"], ["argument --max-steps: expected a positive integer"]),
    "eval_every_negative": (["--eval-every", "-1"], ["argument --eval-every: expected a positive integer"]),
    "workers_negative": (["--workers", "-1"], ["argument --workers: expected an integer >= 0"]),
    "seed_negative": (["--seed", "-1"], ["argument --seed: expected a seed"]),
    "device_tpu": (["--device", "tpu"], ["unknown device 'tpu'"]),
}


@pytest.mark.parametrize("case", list(TRAIN_CASES))
def test_train_bad_input(case, tmp_path, capsys) -> None:
    extra, phrases = TRAIN_CASES[case]
    out = tmp_path / "train"
    code, _, err = run_cli([*TRAIN, "--out", str(out), *extra], capsys)
    assert_bad_input(code, err, *phrases)
    assert not (out / "checkpoint.pt").exists()


def test_proxies_without_a_match_is_an_error(capsys) -> None:
    code, out, err = run_cli(["proxies", "zzz"], capsys)
    assert_bad_input(code, err, "no proxy matches 'zzz'; see `swapnas proxies`")
    assert out == ""
    code, out, _ = run_cli(["proxies", "best"], capsys)  # an alias alone is a match
    assert code == 0 and "alias best" in out


# ----------------------------------------------------------------------------- data files: name the file and its source


def copy_bundle(small_bundle: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "bundle"
    shutil.copytree(small_bundle, dst)
    return dst


def test_damaged_npz_names_the_file_not_pickles(small_bundle, tmp_path, capsys) -> None:
    bundle = copy_bundle(small_bundle, tmp_path)
    (bundle / "images" / "cifar10_test_2000_jpegq75.npz").write_bytes(b"not a zip archive at all" * 10)
    out = tmp_path / "run"
    code, _, err = run_cli(["correlate", "--space", "nb301", "--proxies", "params", "--archs", "3", *FAST,
                            "--data-dir", str(bundle), "--out", str(out)], capsys)
    assert_bad_input(code, err, "cifar10_test_2000_jpegq75.npz: not a readable .npz archive",
                     "it comes from the swapnas shared data bundle")
    assert "pickle" not in err and not (out / "scores.sqlite").exists()


def test_npz_without_the_array_names_what_it_holds(small_bundle, tmp_path) -> None:
    bundle = copy_bundle(small_bundle, tmp_path)
    np.savez(bundle / "images" / "cifar10_test_2000_jpegq75.npz", pictures=np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(DataFileError, match=r"no array 'x', 'y' \(it holds pictures\)"):
        load_batch("cifar10", 4, data_dir=bundle)


def test_truncated_npz(small_bundle, tmp_path) -> None:
    bundle = copy_bundle(small_bundle, tmp_path)
    path = bundle / "images" / "cifar10_test_2000_jpegq75.npz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataFileError, match="cifar10_test_2000_jpegq75.npz: not a readable .npz archive"):
        load_batch("cifar10", 4, data_dir=bundle)
    assert zipfile.is_zipfile(small_bundle / "images" / "cifar10_test_2000_jpegq75.npz")


def _truncate(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


@pytest.mark.parametrize("bench, rel, origin", [
    ("nb301", "nb301/naslib_zc_nasbench301.json", "NASLib"),
    ("nb101", "nb101/naslib_zc_nasbench101.json", "NASLib"),
    ("transnas_micro", "transnas/naslib_zc_transbench101_micro.json", "NASLib"),
    ("flexibert", "flexibert/flexibert_glue_500.json", "BERT_benchmark.json"),
])
def test_truncated_benchmark_json_names_the_file_and_its_source(bench, rel, origin, small_bundle, tmp_path) -> None:
    bundle = copy_bundle(small_bundle, tmp_path)
    _truncate(bundle / rel)
    with pytest.raises(DataFileError) as info:
        get_benchmark(bench, bundle)
    msg = str(info.value)
    assert rel in msg and "invalid JSON" in msg and origin in msg and "damaged, truncated" in msg


def test_bad_value_in_benchmark_json(small_bundle, tmp_path) -> None:
    bundle = copy_bundle(small_bundle, tmp_path)
    path = bundle / "nb301" / "naslib_zc_nasbench301.json"
    doc = json.loads(path.read_text())
    first = next(iter(doc["cifar10"]))
    doc["cifar10"][first]["val_accuracy"] = "n/a"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataFileError, match=r"naslib_zc_nasbench301.json: bad content \(ValueError: could not "
                                            r"convert string to float: 'n/a'\).*NASLib"):
        get_benchmark("nb301", bundle)


def test_bad_csv_value_names_the_file_line_and_source(small_bundle, tmp_path, capsys) -> None:
    bundle = copy_bundle(small_bundle, tmp_path)
    path = bundle / "darts" / "swap_darts_dev300.csv"
    lines = path.read_text().splitlines()
    head = lines[0].split(",")
    col = head.index("cifar10_accuracy")
    row = next(csv.reader([lines[1]]))
    row[col] = "ninety"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(row)
    path.write_text("\n".join([lines[0], buf.getvalue(), *lines[2:]]) + "\n")
    code, _, err = run_cli(["correlate", "--space", "darts_swap", "--proxies", "params", "--archs", "3", *FAST,
                            "--data-dir", str(bundle), "--out", str(tmp_path / "run")], capsys)
    assert_bad_input(code, err, "swap_darts_dev300.csv, line 2: could not convert string to float: 'ninety'",
                     "the SWAP authors' DARTS_archs_CIFAR10.csv")


def test_nb201_table_bad_value_and_short_table(tmp_path) -> None:
    (tmp_path / "nb201").mkdir()
    table = tmp_path / "nb201" / "nb201_all_15625.csv"
    archs = [str(nb201.Arch(ops)) for ops in itertools.product(nb201.OPS, repeat=6)]
    rows = [f"{a},{i % 100}.5" for i, a in enumerate(archs)]
    rows[7] = f"{archs[7]},oops"
    table.write_text("arch_str,cifar10_valid\n" + "\n".join(rows) + "\n")
    bench = get_benchmark("nb201", tmp_path)
    with pytest.raises(DataFileError, match=r"nb201_all_15625.csv: bad content .*'oops'.*NAS-Bench-201"):
        bench.column("cifar10_valid")
    table.write_text("arch_str,cifar10_valid\n" + "\n".join(rows[:10]) + "\n")
    with pytest.raises(DataFileError, match="nb201_all_15625.csv: 10 rows, expected 15625; the file is damaged"):
        get_benchmark("nb201", tmp_path)


def test_truth_csv_that_is_not_text(tmp_path) -> None:
    path = tmp_path / "truth.csv"
    path.write_bytes(b"\xff\xfe\x00\x00garbage\x80\x81")
    with pytest.raises(ValueError, match="--truth .*truth.csv: not a readable CSV file"):
        CsvBenchmark(path, "nb201", "cifar10")


def test_truncated_naslib_scores_for_conformance(small_bundle, tmp_path) -> None:
    bundle = copy_bundle(small_bundle, tmp_path)
    _truncate(bundle / "nb201" / "naslib_zc_nasbench201.json")
    with pytest.raises(DataFileError, match=r"naslib_zc_nasbench201.json: invalid JSON.*NASLib"):
        load_naslib("nb201", "cifar10", str(bundle))


# ----------------------------------------------------------------------------- API: inputs and types


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def test_swap_score_rejects_non_tensors_and_non_finite_inputs() -> None:
    net = Tiny()
    x = torch.randn(4, 3, 8, 8)
    with pytest.raises(TypeError, match="takes a torch.Tensor of inputs .* got list"):
        patterns.swap_score(net, x.tolist())
    with pytest.raises(TypeError, match="got ndarray"):
        patterns.swap_score(net, x.numpy())
    with pytest.raises(TypeError, match="takes a torch.nn.Module as model, got NoneType"):
        patterns.swap_score(None, x)
    bad = x.clone()
    bad[0, 0, 0, :3] = float("nan")
    bad[1, 1, 1, 1] = float("inf")
    with pytest.raises(ValueError, match=r"inputs hold 4 non-finite value\(s\) \(NaN/inf\) of 768"):
        patterns.swap_score(net, bad)
    with pytest.raises(ValueError, match="at least one sample"):
        patterns.swap_score(net, x[:0])
    good = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(0))  # S = 8: 2**8 > 144 neurons, no saturation
    with torch.no_grad():  # a valid call still counts: the conv map's distinct sign patterns (set of tuples)
        naive = len(set(map(tuple, (net.body[0](good) > 0).reshape(8, -1).T.tolist())))
    assert patterns.swap_score(net, good) == naive


def test_api_score_rejects_non_finite_inputs_and_non_models() -> None:
    net = Tiny()
    x = torch.randn(4, 3, 8, 8)
    bad = x.clone()
    bad[2, 0, 0, 0] = float("-inf")
    with pytest.raises(ValueError, match=r"inputs hold 1 non-finite value\(s\)"):
        score(net, bad)
    with pytest.raises(ValueError, match=r"inputs hold 1 non-finite value\(s\)"):
        as_batch((bad, torch.zeros(4, dtype=torch.long)))
    with pytest.raises(ValueError, match=r"labels hold 1 non-finite value\(s\)"):
        as_batch((x, torch.tensor([0.0, 1.0, float("nan"), 2.0])))
    with pytest.raises(TypeError, match="labels y of an \\(x, y\\) pair must be a tensor, not list"):
        as_batch((x, [0, 1, 2, 0]))
    with pytest.raises(TypeError, match="score takes a torch.nn.Module, got str"):
        score("resnet18", x)
    assert score(net, x)["swap"] >= 1


@pytest.mark.parametrize("space", list(SPACES))
def test_build_and_parse_refuse_non_archs(space) -> None:
    mod = get_space(space)
    for bad in (None, 3, ["a"]):
        with pytest.raises(TypeError, match=f"{space}: expected an arch or its string, got {type(bad).__name__}"):
            mod.build(bad)
        with pytest.raises(TypeError, match=f"{space}: expected an arch .*string, got {type(bad).__name__}"):
            mod.parse(bad)


def test_darts_imagenet_builder_refuses_non_archs() -> None:
    with pytest.raises(TypeError, match="darts: expected an arch or its string, got NoneType"):
        get_space("darts").build_imagenet(None)


@pytest.mark.parametrize("mu, sigma", [(0.0, float("nan")), (float("inf"), 1.0), (float("nan"), 1.0),
                                       (0.0, float("inf")), (0.0, -1.0), (0.0, 0.0)])
def test_size_prior_and_regularise_refuse_bad_mu_sigma(mu, sigma) -> None:
    with pytest.raises(ValueError, match="mu and sigma must be finite|sigma must be > 0"):
        patterns.size_prior(10.0, mu, sigma)
    with pytest.raises(ValueError, match="mu and sigma must be finite|sigma must be > 0"):
        patterns.regularise(5.0, Tiny(), mu, sigma)


def test_configure_checks_proxies_prior_and_net(small_bundle) -> None:
    with pytest.raises(ValueError, match="--proxies needs at least one proxy name"):
        configure("nb201", "cifar10", " ,", data_dir=str(small_bundle))
    with pytest.raises(ValueError, match="no proxies to score"):
        configure("nb201", "cifar10", [], data_dir=str(small_bundle))
    for mu, sigma, what in ((None, -1.0, "--sigma"), (float("nan"), None, "--mu"), (1.0, float("inf"), "--sigma")):
        with pytest.raises(ValueError, match=f"{what} must be a finite number"):
            configure("nb201", "cifar10", "swap_reg", mu=mu, sigma=sigma, data_dir=str(small_bundle))
    with pytest.raises(ValueError, match="--net C=0: the nb201 network cannot be built: C is a size"):
        scoring_net("nb201", "cifar10", {"C": 0})
    assert scoring_net("nb201", "cifar10", {"C": 4})["C"] == 4


def test_check_archs() -> None:
    check_archs(None, 10, "x")
    check_archs(10, 10, "x")
    with pytest.raises(ValueError, match="--archs 11: only 10 archs in nb201 cifar10; use --archs all"):
        check_archs(11, 10, "nb201 cifar10")


def _image_folder(root: Path) -> Path:
    from PIL import Image

    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 8, 3), 40 * i + 10, np.uint8)).save(root / c / f"{i}.png")
    return root


@pytest.mark.parametrize("kwargs, match", [
    ({"mean": (float("nan"), 0.5, 0.5)}, "--mean takes three finite numbers"),
    ({"std": (0.2, 0.0, 0.2)}, "--std must be > 0 in every channel"),
    ({"std": (0.2, float("inf"), 0.2)}, "--std takes three finite numbers"),
    ({"mean": (0.5, 0.5)}, "--mean takes three finite numbers"),
    # session 42: a bare number was a TypeError (len() of a float), bools passed as numbers
    ({"mean": 0.5}, r"--mean takes three finite numbers R,G,B \(got 0\.5\)$"),
    ({"mean": "0.5"}, r"--mean takes three finite numbers R,G,B \(got '0\.5'\)$"),
    ({"std": (True, 1, 1)}, "--std takes three finite numbers"),
])
def test_load_batch_checks_your_images_normalisation(kwargs, match, tmp_path) -> None:
    root = _image_folder(tmp_path / "imgs")
    with pytest.raises(ValueError, match=match):
        load_batch("cifar10", 4, image_root=root, **kwargs)
    batch = load_batch("cifar10", 4, image_root=root, std=(0.5, 0.5, 0.5))
    assert torch.isfinite(batch.inputs).all()


def test_load_batch_takes_numpy_numbers_for_your_images_normalisation(tmp_path) -> None:
    # session 42: numpy's float32 (not a float subclass) was refused as "not three finite numbers"
    root = _image_folder(tmp_path / "imgs")
    plain = load_batch("cifar10", 4, image_root=root, mean=(0.25, 0.5, 0.75), std=(0.5, 0.25, 0.5))
    for mean, std in [(tuple(np.float32(c) for c in (0.25, 0.5, 0.75)), np.array([0.5, 0.25, 0.5])),
                      ([0.25, 0.5, 0.75], (np.float64(0.5), 0.25, np.int64(1) / 2))]:
        assert torch.equal(load_batch("cifar10", 4, image_root=root, mean=mean, std=std).inputs, plain.inputs)


# ----------------------------------------------------------------------------- outputs: strict JSON, true messages


def test_strict_json_writes_null_for_non_finite() -> None:
    doc = {"a": float("nan"), "b": [1.0, float("inf"), (float("-inf"), 2)], "c": np.float32(1.5),
           "d": np.array([np.nan, 3.0]), "e": {"f": np.float64("nan")}}
    text = strict_json(doc)
    assert strict_load(text) == {"a": None, "b": [1.0, None, [None, 2]], "c": 1.5, "d": [None, 3.0], "e": {"f": None}}


def test_correlate_undefined_correlation_is_strict_json_and_reuse_is_reported(small_bundle, tmp_path, capsys) -> None:
    """2 archs: every correlation is undefined (NaN) -> null; the reuse note only when scores were reused."""
    out = tmp_path / "run"
    argv = ["correlate", "--space", "nb301", "--proxies", "params,swap", "--archs", "2", *FAST,
            "--data-dir", str(small_bundle), "--out", str(out)]
    code, text, err = run_cli(argv, capsys)
    assert code == 0, err
    assert "stored scores" not in text  # nothing was stored before this run
    doc = strict_load((out / "results.json").read_text())
    assert all(r["spearman"] is None and r["kendall"] is None for r in doc["results"])
    assert doc["reused_archs"] == 0
    code, text, err = run_cli(argv, capsys)
    assert code == 0, err
    assert "(stored scores of 2 of 2 archs reused)" in text
    assert strict_load((out / "results.json").read_text())["reused_archs"] == 2


def test_grid_json_is_strict(tmp_path) -> None:
    nan = float("nan")
    protocol = Protocol(space="darts", dataset="cifar10", batch_size=8, repeats=1, seed=0, init="gaussian",
                        net={"C": 8}, batch_digest="0" * 16, inputs="real").describe()
    row = ProxyResult("swap", "swap", "nb301", "cifar10", 2, 0, nan, float("inf"), (nan, nan), nan, nan, nan, True)
    write_grid([GridColumn("nb301", "cifar10", "truth", protocol, "", 2, 0.1, [asdict(row)])], tmp_path)
    doc = strict_load((tmp_path / "grid.json").read_text())
    first = doc["columns"][0]["results"][0]
    assert first["spearman"] is None and first["kendall"] is None and first["spearman_ci"] == [None, None]


@pytest.mark.parametrize("proxy", ["params", "snip"])
def test_the_label_note_is_printed_once(small_bundle, tmp_path, capsys, caplog, proxy) -> None:
    """ImageNet16-120 with the bundled ImageNet-1k labels: the mapping note is logged once, not also printed;
    a warning only where a metric reads the labels (snip), else at INFO (session 26)."""
    truth = tmp_path / "truth.csv"
    archs = [str(nb201.sample(random.Random(i))) for i in range(3)]
    truth.write_text("arch,accuracy\n" + "".join(f"{a},{70 + i}\n" for i, a in enumerate(archs)))
    caplog.set_level(logging.INFO)
    code, text, err = run_cli(["correlate", "--space", "nb201", "--truth", str(truth), "--dataset", "imagenet16-120",
                               "--proxies", proxy, "--archs", "all", *FAST, "--data-dir", str(small_bundle),
                               "--out", str(tmp_path / "run")], capsys)
    assert code == 0, err
    logged = [r for r in caplog.records if "labels outside" in r.getMessage()]
    assert [r.levelno for r in logged] == [logging.WARNING if proxy == "snip" else logging.INFO]
    assert "labels outside" not in text and err.count("labels outside") <= 1  # on stderr at most the one log line
    assert "labels outside" in (tmp_path / "run" / "report.md").read_text()  # the report keeps it


def test_target_prior_progress_and_time(capsys) -> None:
    final = final_net("nb201", "cifar10")
    net = nb201.SCORING_DEFAULTS["net"]
    *_, info = target_prior(nb201, net, final, 0.8, n=6, progress=False)
    assert info["seconds"] > 0 and "size prior" not in capsys.readouterr().err
    target_prior(nb201, net, final, 0.8, n=6, progress=True)
    assert "size prior (--target-params)" in capsys.readouterr().err
    for bad in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="--target-params and --tolerance must be finite numbers > 0"):
            target_prior(nb201, net, final, bad, n=6)
    with pytest.raises(ValueError, match="outside this space's range"):  # before the 30-s draw
        target_prior(nb201, net, final, 50.0, n=10**9)


@pytest.mark.slow  # ~7 s: the target prior's 100 meta builds and a small search
def test_search_counts_the_prior_in_its_wall_time_and_writes_strict_json(small_bundle, tmp_path, capsys) -> None:
    out = tmp_path / "s"
    with ScoreStore(out / "scores.sqlite") as store:
        result = run_search("nb201", "cifar10", config=EAConfig(4, 2, 2, 1), seed=0, store=store, out=out,
                            device=torch.device("cpu"), target_params=0.8, net={"C": 4}, batch_size=8, repeats=1,
                            data_dir=str(small_bundle), progress=False)
    assert "size prior" not in capsys.readouterr().err
    assert result.wall_seconds >= result.size_mapping["seconds"] > 0
    result.fitness = float("nan")  # a search whose every score failed: NaN fitness
    result.history[0]["fitness"] = float("-inf")
    write_result(result, out)
    doc = strict_load((out / "result.json").read_text())
    assert doc["fitness"] is None and doc["history"][0]["fitness"] is None
