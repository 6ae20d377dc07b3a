"""A proxy that no network of a space can be scored by is refused before any arch is scored (session 49: `swapnas
correlate --space flexibert --dataset glue` with the default proxies scored every arch and failed on each; a
FlexiBERT search with `--fitness swap_reg` spent its whole budget before it said that it had no answer)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import torch

from swapnas.fit_check import refuse_unfit
from swapnas.search import EAConfig, run_search
from swapnas.session import configure
from swapnas.store import ScoreStore
from tests.test_validation import run_cli

WHY = ("it counts nn.ReLU activation patterns and the model has no nn.ReLU module (swap_ext takes GELU, SiLU, ReLU6, "
       "Hardswish, … and token activations; swap_fn also activation functions such as F.relu and F.gelu)")
REASON = f"swap cannot score Encoder: {WHY}"


def test_a_proxy_no_network_of_the_space_meets_is_named_with_its_reason(small_bundle: Path) -> None:
    protocol, batch, proxies = configure("flexibert", "glue", "params,swap,az_nas_expressivity",
                                         data_dir=str(small_bundle), batch_size=4)
    with pytest.raises(ValueError) as exc:
        refuse_unfit("flexibert", proxies, protocol, batch, "--proxies")
    assert str(exc.value).startswith(f"{REASON}; az_nas_expressivity cannot score Encoder: it reads 4-D")
    assert str(exc.value).endswith(". No network of flexibert has what swap, az_nas_expressivity need: give --proxies "
                                   "other proxies (`swapnas proxies` lists them; `best` is each space's recommended "
                                   "fitness)")
    # session 50: proxies refused for one reason share one sentence (it was repeated whole for each)
    protocol, batch, proxies = configure("flexibert", "glue", "swap,az_nas_expressivity,swap_reg,nwot",
                                         data_dir=str(small_bundle), batch_size=4)
    with pytest.raises(ValueError) as exc:
        refuse_unfit("flexibert", proxies, protocol, batch, "--fitness")
    assert str(exc.value).startswith(f"swap, swap_reg, nwot cannot score Encoder: {WHY}; az_nas_expressivity cannot "
                                     "score Encoder: it reads 4-D")
    assert str(exc.value).count(WHY) == 1
    protocol, batch, proxies = configure("flexibert", "glue", "swap", data_dir=str(small_bundle), batch_size=4)
    with pytest.raises(ValueError, match=r"\. No network of flexibert has what swap needs: give --fitness other"):
        refuse_unfit("flexibert", proxies, protocol, batch, "--fitness")
    assert str(exc.value).endswith(". No network of flexibert has what swap, swap_reg, nwot, az_nas_expressivity need: "
                                   "give --fitness other proxies (`swapnas proxies` lists them; `best` is each space's "
                                   "recommended fitness)")
    for space, task, names in (("flexibert", "glue", "swap_ext,params,best"), ("nb201", "cifar10", "swap,nwot"),
                               ("darts", "cifar10", "swap,az_nas_expressivity")):
        protocol, batch, proxies = configure(space, task, names, data_dir=str(small_bundle), batch_size=4)
        refuse_unfit(space, proxies, protocol, batch, "--proxies")  # every network has what they need


def test_correlate_refuses_before_scoring(small_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = run_cli(["correlate", "--space", "flexibert", "--dataset", "glue", "--archs", "5", "--data-dir",
                            str(small_bundle), "--out", str(tmp_path / "out"), "--no-progress"], capsys)
    assert code == 2 and f"swap, swap_reg cannot score Encoder: {WHY}. No network" in err and err.count(WHY) == 1
    assert "give --proxies other proxies" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "results.json").exists()


def test_a_search_refuses_before_its_first_evaluation(small_bundle: Path, tmp_path: Path) -> None:
    with ScoreStore(tmp_path / "s.sqlite") as store, pytest.raises(ValueError, match="give --fitness other proxies"):
        run_search("flexibert", "glue", config=EAConfig(population=4, sample=2, mutations=2, cycles=1), seed=0,
                   store=store, out=tmp_path / "out", data_dir=str(small_bundle), progress=False, fitness="swap_reg",
                   device=torch.device("cpu"))
    assert sqlite3.connect(tmp_path / "s.sqlite").execute("SELECT COUNT(*) FROM scores").fetchone() == (0,)
    assert not (tmp_path / "out" / "state.json").exists()


def test_a_transnas_refusal_names_the_task_whose_head_lacks_it(small_bundle: Path) -> None:
    # session 51: "No network of transnas_micro has what zen needs", though zen scores its classification tasks
    protocol, batch, proxies = configure("transnas_micro", "autoencoder", "zen", data_dir=str(small_bundle),
                                         batch_size=4)
    with pytest.raises(ValueError, match=r"\. No network of transnas_micro \(autoencoder\) has what zen needs: give"):
        refuse_unfit("transnas_micro", proxies, protocol, batch, "--proxies")
    protocol, batch, proxies = configure("transnas_micro", "class_object", "zen", data_dir=str(small_bundle),
                                         batch_size=4)
    refuse_unfit("transnas_micro", proxies, protocol, batch, "--proxies")
