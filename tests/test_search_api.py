"""swapnas.search_arch: `swapnas search` as a Python function (the command's parser, checks and outputs)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import swapnas
from swapnas.cli import main
from swapnas.files import out_lock
from swapnas.results import command_line

from .process_helpers import lock_in_thread

#: a tiny NB201 search on the small bundle, as keywords and as the command's flags
OPTIONS = {"fitness": "swap", "population": 4, "sample": 2, "mutations": 2, "cycles": 2, "repeats": 1,
           "net": {"C": 4}, "refine": 0, "device": "cpu", "no_progress": True, "seed": 3}
FLAGS = ["--fitness", "swap", "--population", "4", "--sample", "2", "--mutations", "2", "--cycles", "2", "--repeats",
         "1", "--net", "C=4", "--refine", "0", "--device", "cpu", "--no-progress", "--seed", "3"]


def test_search_arch_returns_what_the_command_writes(small_bundle: Path, tmp_path: Path, capsys) -> None:
    result = swapnas.search_arch("nb201", "cifar10", out=tmp_path / "py", data_dir=str(small_bundle), **OPTIONS)
    assert main(["search", "--space", "nb201", "--dataset", "cifar10", *FLAGS, "--data-dir", str(small_bundle),
                 "--out", str(tmp_path / "cli")]) == 0
    written = {run: json.loads((tmp_path / run / "result.json").read_text()) for run in ("py", "cli")}
    assert written["py"]["history"] == written["cli"]["history"]  # the same search, through the same parser
    assert result.best == written["py"]["best"] == written["cli"]["best"]
    assert [h["arch"] for h in result.history] == [h["arch"] for h in written["py"]["history"]]
    assert result.evaluations == len(result.history) and result.seed == 3
    assert (tmp_path / "py" / "scores.sqlite").is_file()  # the store defaults to OUT/scores.sqlite, as the command's
    assert capsys.readouterr().out.count("wrote ") == 1  # only the command prints; the function returns
    # session 54: the outputs record the command the call stands for (they said the caller's script: `pytest`)
    command = written["py"]["provenance"]["command"]
    assert command.startswith(f"swapnas search --space nb201 --dataset cifar10 --out {tmp_path / 'py'} ")
    assert command.endswith(f"  # run by swapnas.search_arch in {sys.argv[0]}") and "--data-dir=" in command
    assert f"Made by `{command}`" in (tmp_path / "py" / "report.md").read_text()
    assert command_line() == written["cli"]["provenance"]["command"] != command  # the process's again after it


def test_search_arch_resumes_from_its_state(small_bundle: Path, tmp_path: Path) -> None:
    args = {**OPTIONS, "data_dir": str(small_bundle)}
    partial = swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", max_evals=5, **args)  # stops after a cycle
    resumed = swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", **args)
    whole = swapnas.search_arch("nb201", "cifar10", out=tmp_path / "w", **args)
    assert len(partial.history) < len(resumed.history)
    assert resumed.history[:len(partial.history)] == partial.history and resumed.history == whole.history
    with pytest.raises(ValueError, match="holds a search with another fitness"):  # the state is read, not replaced
        swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", **{**args, "fitness": "params"})


@pytest.mark.parametrize(("options", "message"), [
    ({"max_params": -1}, "argument --max-params: size must be a finite number > 0 (got -1)"),
    ({"population": 1}, "--population must be >= 2 (got 1)"),
    ({"tolerance": 0.2}, "--tolerance 0.2 is the relative width of --target-params, which is not given"),
])
def test_search_arch_bad_input_raises_value_error_naming_it(small_bundle: Path, tmp_path: Path, options: dict,
                                                            message: str) -> None:
    with pytest.raises(ValueError) as info:
        swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", data_dir=str(small_bundle),
                            **{**OPTIONS, **options})
    assert message in str(info.value)
    assert not (tmp_path / "s" / "result.json").exists()


def test_search_arch_unknown_fitness_is_a_key_error_listing_the_proxies(small_bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(KeyError) as info:  # as swapnas.score's for an unknown proxy
        swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", data_dir=str(small_bundle),
                            **{**OPTIONS, "fitness": "no_such_proxy"})
    assert "unknown proxy 'no_such_proxy'" in str(info.value) and "swap_reg" in str(info.value)


def test_search_arch_unknown_option_is_a_type_error_listing_the_options(tmp_path: Path) -> None:
    with pytest.raises(TypeError) as info:
        swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", max_param=5.0)
    assert "unknown option(s) max_param" in str(info.value) and "max_params" in str(info.value)


def test_search_arch_keywords_become_the_commands_tokens() -> None:
    from swapnas.api_search import _actions, _tokens
    from swapnas.cli import build_parser

    actions = _actions(build_parser())
    assert _tokens(actions, "max_params", 5.0) == ["--max-params=5.0"]
    assert _tokens(actions, "net", {"C": 16, "N": 5}) == ["--net=C=16,N=5"]
    assert _tokens(actions, "prior", (0.8, 0.5)) == ["--prior", "0.8", "0.5"]
    assert _tokens(actions, "prior", (-1e-05, 0.5)) == ["--prior", "-0.00001", "0.5"]  # no exponent's "-" left
    assert _tokens(actions, "no_progress", True) == ["--no-progress"]
    assert _tokens(actions, "no_progress", False) == [] and _tokens(actions, "mu", None) == []
    assert _tokens(actions, "crossover", 0) == ["--crossover=0"]  # 0 is a value, not False
    assert _tokens(actions, "data_dir", "-d") == ["--data-dir=-d"]  # a global option; a value with a leading "-"


def test_search_arch_without_data_raises_file_not_found_saying_where_to_point_it(tmp_path: Path, monkeypatch) -> None:
    # the docstring's third error type: the command reports missing data as bad input (exit 2)
    monkeypatch.delenv("SWAPNAS_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError) as info:
        swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", **OPTIONS)
    assert "no data directory given: pass --data-dir DIR, set $SWAPNAS_DATA" in str(info.value)


@pytest.mark.parametrize(("options", "message"), [
    ({"refine": False}, "refine takes a value (--refine K), not False"),  # was dropped: the default stage ran
    ({"cycles": True}, "cycles takes a value (--cycles"),
    ({"no_progress": 0}, "no_progress is a flag: pass True or False (got 0)"),  # was "unrecognized arguments: 0"
])
def test_search_arch_a_bool_for_a_value_or_a_non_bool_for_a_flag_is_a_type_error(small_bundle: Path, tmp_path: Path,
                                                                                 options: dict, message: str) -> None:
    with pytest.raises(TypeError) as info:
        swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", data_dir=str(small_bundle),
                            **{**OPTIONS, **options})
    assert message in str(info.value)
    assert not (tmp_path / "s").exists()  # refused before the search takes OUT


def test_search_arch_values_that_start_with_a_minus_reach_the_command(small_bundle: Path, tmp_path: Path) -> None:
    """``--mu -1e-05`` reads as an option to argparse ("expected one argument"); the function passes ``--mu=-1e-05``."""
    result = swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", data_dir=str(small_bundle),
                                 **{**OPTIONS, "fitness": "swap_reg", "mu": -1e-05, "sigma": 1.0})
    assert (result.mu, result.sigma) == (-1e-05, 1.0)


def test_search_arch_gives_the_callers_torch_threads_back(small_bundle: Path, tmp_path: Path) -> None:
    """The command sets --threads (default 1) in its process, which is the caller's here."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", data_dir=str(small_bundle), **OPTIONS)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_two_threads_cannot_search_into_one_out(tmp_path: Path) -> None:
    """OUT's lock was re-entrant in the whole process, so a second thread's search_arch wrote the same state.json."""
    seen = []
    with lock_in_thread(tmp_path, twice=True):  # re-entrant in its own thread
        try:
            with out_lock(tmp_path):
                seen.append("entered")
        except ValueError as exc:
            seen.append(str(exc))
    assert len(seen) == 1 and "another swapnas search is using" in seen[0] and "another thread of this process" in seen[0]
    with out_lock(tmp_path):  # released: this thread may take it now
        pass
