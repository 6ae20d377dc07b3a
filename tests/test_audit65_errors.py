"""Session 65 audit of the refusals' consistency across the command line and the Python API (each test failed on the
code as found): a bad option value refused before any pass (score and rank), every grid column's benchmark read before
any is scored, --inputs synthetic beside an image option told what load_batch tells, the command line's flags named
as flags, a file argument named, and score(device="auto")."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
import torch
from torch import nn

import swapnas
from tests.conftest import SMALL_BUNDLE
from tests.test_validation import run_cli

FAST = ["--batch-size", "8", "--repeats", "1", "--device", "cpu", "--no-progress", "--workers", "1"]


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


class CountingNet(nn.Module):
    """A small CNN that counts its forward passes (a pass = scoring work started)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Linear(4, 10))

    def forward(self, x):
        CountingNet.passes += 1
        return self.body(x)


CountingNet.passes = 0


# --- 1. (medium) a bad proxy option value is an UnsupportedModel after the pass; rank swallows it ------------------

@pytest.mark.parametrize("proxy, options", [
    ("swap_reg", {"mu": 1.0, "sigma": 0.0}),      # the CLI refuses --sigma 0 while parsing
    ("swap_reg", {"mu": float("nan"), "sigma": 1.0}),
    ("meco", {"samples": 0}),
    ("zico", {"splits": 0}),
])
def test_a_bad_option_value_is_a_value_error_before_any_pass(proxy, options):
    CountingNet.passes = 0
    x, y = torch.randn(8, 3, 8, 8), torch.arange(8) % 10
    with pytest.raises(ValueError) as info:
        swapnas.score(CountingNet(), (x, y), proxies=proxy, options={proxy: options})
    assert not isinstance(info.value, swapnas.UnsupportedModel), info.value  # the model is not the problem
    assert CountingNet.passes == 0  # refused up front, as swap_reg without mu/sigma is since session 51


def test_rank_refuses_a_bad_option_value_instead_of_ranking_every_model_unscored():
    x = torch.randn(8, 3, 8, 8)
    with pytest.raises(ValueError):
        swapnas.rank({"a": CountingNet(), "b": CountingNet()}, x, proxies="swap_reg",
                     options={"swap_reg": {"mu": 1.0, "sigma": 0.0}})


# --- 2. (medium) grid finds a later column's missing or damaged benchmark file after scoring earlier columns -------

@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_grid_checks_every_benchmark_file_before_scoring_any_column(tmp_path, capsys, damage):
    bundle = tmp_path / "bundle"
    shutil.copytree(SMALL_BUNDLE, bundle)
    micro = bundle / "transnas" / "naslib_zc_transbench101_micro.json"
    if damage == "missing":
        micro.unlink()
    else:
        micro.write_text('{"broken')
    out = tmp_path / "out"
    code, _, err = run_cli(["grid", "--benchmarks", "nb301,transnas_micro", "--proxies", "params", "--archs", "2",
                            "--seed", "0", "--repeats", "1", "--device", "cpu", "--no-progress", "--workers", "1",
                            "--data-dir", str(bundle), "--out", str(out)], capsys)
    assert code == 2 and "Traceback" not in err
    assert "naslib_zc_transbench101_micro.json" in err
    store = out / "scores.sqlite"
    rows = sqlite3.connect(store).execute("select count(*) from scores").fetchone()[0] if store.exists() else 0
    assert rows == 0, f"{rows} scores made before the bad input was refused"


# --- 3. (low-medium) --inputs synthetic with --num-classes: the advice ("give --image-root") is refused next ---------

def test_synthetic_inputs_with_an_image_option_is_told_what_load_batch_tells(tmp_path, capsys):
    common = ["correlate", "--space", "nb301", "--dataset", "cifar10", "--proxies", "params", "--archs", "2", *FAST,
              "--data-dir", str(SMALL_BUNDLE), "--inputs", "synthetic", "--num-classes", "5"]
    code, _, err = run_cli([*common, "--out", str(tmp_path / "a")], capsys)
    assert code == 2
    assert "give --image-root" not in err, err  # following it is refused in turn:
    # `... --image-root DIR` -> "--inputs synthetic draws N(0, 1) noise ...: --image-root, --num-classes ... drop it"
    assert "--inputs synthetic" in err and "--num-classes" in err


# --- 4. (low) the CLI says Python keywords; accept-code names a flag it does not have ------------------------------

@pytest.mark.parametrize("flag, value", [("--metric", "test"), ("--epochs", "12")])
def test_nb201_only_flags_are_named_as_flags_on_the_command_line(tmp_path, capsys, flag, value):
    code, _, err = run_cli(["correlate", "--space", "nb301", "--proxies", "params", "--archs", "2", *FAST, flag, value,
                            "--data-dir", str(SMALL_BUNDLE), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert f"{flag} {value}" in err, err  # now: "metric='test' exists only for nb201" / "epochs=12 ..."


def test_accept_code_on_a_foreign_database_names_no_store_flag(tmp_path, capsys):
    foreign = tmp_path / "foreign.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("create table t(x)")
    con.commit()
    con.close()
    code, _, err = run_cli(["store", "accept-code", str(foreign), "swap"], capsys)
    assert code == 2
    assert "--store" not in err, err  # `store accept-code STORE NAMES` takes the store as a positional argument


# --- 5. (low) file arguments: the file is named, a folder is called a folder ---------------------------------------

def test_a_genotype_file_that_holds_no_genotype_is_named(tmp_path, capsys):
    text = tmp_path / "notes.json"
    text.write_text("not json\n")
    code, _, err = run_cli(["train", "--genotype", str(text), "--synthetic", "8", "--out", str(tmp_path / "o")],
                           capsys)
    assert code == 2
    assert str(text) in err, err  # now: "DARTS genotype 'not json' must look like 'Genotype(normal=[...], ...)'"


def test_a_truth_folder_is_called_a_folder_not_missing(tmp_path, capsys):
    folder = tmp_path / "truth_dir"
    folder.mkdir()
    code, _, err = run_cli(["correlate", "--space", "darts", "--truth", str(folder), "--proxies", "params",
                            "--archs", "2", *FAST, "--data-dir", str(SMALL_BUNDLE), "--out", str(tmp_path / "o")],
                           capsys)
    assert code == 2
    assert "no such file" not in err and "folder" in err, err  # --store DIR says "is a folder; give a file"


# --- 6. (low) the same device word: the CLI's default, refused by score --------------------------------------------

def test_score_takes_device_auto_as_the_command_line_does():
    x = torch.randn(8, 3, 8, 8)
    torch.manual_seed(0)
    model = CountingNet()
    assert swapnas.score(model, x, proxies="params", device="auto") == swapnas.score(model, x, proxies="params")


def test_option_values_are_checked_by_their_default_and_range_with_the_proxy_named():
    from swapnas.proxies import get_proxy

    for name, options, error, message in [
        ("swap_reg", {"mu": 1.0, "sigma": 0.0}, ValueError, "swap_reg option sigma=0.0: must be in (0, ∞)"),
        ("swap_reg", {"mu": "1"}, TypeError, "swap_reg option mu='1': takes a number"),
        ("meco", {"samples": 2.5}, TypeError, "meco option samples=2.5: takes a whole number (an int)"),
        ("meco", {"layers": 3}, TypeError, "meco option layers=3: takes a str (default 'conv')"),
        ("zico", {"splits": 1}, ValueError, "zico option splits=1: must be in [2, ∞)"),
        ("vkdnw", {"smoothing": 1.0}, ValueError, "vkdnw option smoothing=1.0: must be in [0, 1)"),
        ("lswag_grad", {"stop": 101.0}, ValueError, "lswag_grad option stop=101.0: must be in (0, 100]"),
        ("lswag_grad", {"start": 100.0}, ValueError, "lswag_grad option start=100.0: must be in [0, 100)"),
        ("lswag_grad", {"start": 60.0, "stop": 40.0}, ValueError,
         "lswag_grad options start=60.0, stop=40.0: start must be below stop"),
        ("meco", {"layers": "bogus"}, ValueError, "meco option layers='bogus': takes one of 'all', 'conv', 'relu'"),
        ("swap_prog", {"w_swap": float("inf")}, ValueError, "swap_prog option w_swap=inf: must be a finite number"),
        ("swap_prog", {"w_swap": True}, TypeError, "swap_prog option w_swap=True: takes a number"),
    ]:
        with pytest.raises(error) as info:
            get_proxy(name).configure(**options)
        assert str(info.value) == message
    assert get_proxy("zico").configure(splits=2).options == {"splits": 2}  # the edges are taken
    assert get_proxy("lswag_grad").configure(start=0.0, stop=100.0).options["stop"] == 100.0
    assert get_proxy("vkdnw").configure(smoothing=0.0).options["smoothing"] == 0.0
    assert get_proxy("swap_reg").configure(mu=None, sigma=None).options == {"mu": None, "sigma": None}


def test_count_params_k_correlate_and_size_prior_refuse_what_is_no_model_no_numbers_or_no_size():
    """Were: AttributeError "'str' object has no attribute 'parameters'", numpy's "could not convert string to float",
    and f(-1) computed for a negative size."""
    import numpy as np

    with pytest.raises(TypeError, match=r"^count_params_k counts the parameters of an nn.Module, not 'm'$"):
        swapnas.count_params_k("m")
    with pytest.raises(TypeError, match=r"^scores must be numbers, one per arch \(a list or an array\), not 'abc'$"):
        swapnas.correlate("abc", [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"^truth must be numbers"):
        swapnas.correlate([1.0, 2.0, 3.0], ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"must be finite and >= 0, not -1.0$"):
        swapnas.size_prior(-1.0, 100.0, 50.0)
    assert swapnas.size_prior(0.0, 0.0, 1.0) == 1.0 and swapnas.correlate(np.arange(4.0), [1, 2, 3, 4]).spearman == 1.0
    assert swapnas.count_params_k(nn.Linear(3, 2)) == 0.008
