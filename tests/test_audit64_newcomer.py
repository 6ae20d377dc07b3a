"""Session 64 audit of a newcomer's first hour (each test failed on the code as found): `best` on a space without a
fitness of its own warns as one `swapnas: warning:` line and does not deny its FITNESS_PROTOCOL, --executor's help
agrees with --workers, a metric of one's own is accepted by the command its warning names, and accept-code of a
named metric it cannot accept fails."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.conftest import SMALL_BUNDLE as BUNDLE

REPO = Path(__file__).resolve().parents[1]


def _best_on_nb101() -> None:
    from swapnas.session import resolve_for

    warnings.simplefilter("always")
    resolve_for("nb101", "best")


def test_best_warning_on_a_space_without_fitness_is_a_brief_swapnas_line(capsys):
    """F1: `swapnas correlate --space nb101 --proxies best` (the README's `best` per space command) shows its
    warning in Python's raw format, naming the console script's line (`.../bin/swapnas:8: UserWarning: …` and
    `  sys.exit(command())`), not as the `swapnas: warning: …` line that `swapnas.cli.command` promises for
    swapnas's own warnings (`python -m swapnas` does print the brief line). Cause: session.resolve_for warns a
    plain UserWarning with stacklevel=user_stacklevel(), so neither test in callers.brief_warning matches."""
    from swapnas.callers import with_brief_warnings

    with_brief_warnings(_best_on_nb101)  # called from a file outside the package, as the console script is
    err = capsys.readouterr().err
    assert "recommends no fitness" in err
    assert err.startswith("swapnas: warning: "), err
    assert "UserWarning" not in err


@pytest.mark.slow
def test_best_warning_through_an_entry_script_is_brief(tmp_path):
    """F1 end to end: an entry script like pip's `swapnas` (`sys.exit(command())`) prints the warning raw."""
    entry = tmp_path / "entry.py"
    entry.write_text("import sys\nfrom swapnas.cli import command\nsys.exit(command())\n")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO / "src"))
    proc = subprocess.run(
        [sys.executable, str(entry), "correlate", "--space", "nb101", "--proxies", "best", "--archs", "3",
         "--workers", "1", "-q", "--inputs", "synthetic", "--data-dir", str(BUNDLE), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "recommends no fitness" in ln]
    assert lines, proc.stderr
    assert lines[0].startswith("swapnas: warning: "), proc.stderr
    assert "sys.exit(command())" not in proc.stderr


def test_best_warning_does_not_deny_the_space_its_fitness_protocol():
    """F2 (message): nb101 *has* a FITNESS_PROTOCOL (spaces/nb101.py: `best` scored under the default init), and
    docs/protocol.md's table gives nb101's `best` as swap_darts; the warning says '(no FITNESS_PROTOCOL)'."""
    from swapnas.spaces import get_space

    assert hasattr(get_space("nb101"), "FITNESS_PROTOCOL")
    with warnings.catch_warnings(record=True) as caught:
        _best_on_nb101()
    text = " ".join(str(w.message) for w in caught)
    assert "no FITNESS_PROTOCOL" not in text, text


def test_executor_help_does_not_say_local_scores_in_this_process():
    """F3 (help text): `--executor` says 'local: score in this process', but the local executor's default is one
    worker *process* per core (`--workers`, README 'All cores by default')."""
    from swapnas.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices["correlate"]  # type: ignore[union-attr]
    action = next(a for a in sub._actions if "--executor" in a.option_strings)
    assert "local: score in this process" not in (action.help or "")


ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
         "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
         "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"]
METRIC = '''"""logit_std: the spread of an untrained network's outputs."""
import torch
from swapnas.data import Batch
from swapnas.proxies.registry import register

@register("logit_std", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data",
          version="1", keeps_model=True)
def logit_std(model, batch: Batch) -> float:
    """Standard deviation of the logits over the batch and the classes."""
    with torch.no_grad():
        return float(model(batch.inputs).double().std()){TAIL}
'''
SCRIPT = ('import my_metric  # noqa: F401\nfrom swapnas.cli import command\n\n'
          'if __name__ == "__main__":\n    raise SystemExit(command())\n')


def _outside_metric_store(tmp_path: Path) -> tuple[Path, dict, list[str]]:
    """The README's 'Add a metric … without editing the package' flow: my_metric.py + my_swapnas.py, one
    correlate run (own ground truth, synthetic inputs: no data bundle), then a change of the function's code."""
    (tmp_path / "my_metric.py").write_text(METRIC.replace("{TAIL}", ""))
    (tmp_path / "my_swapnas.py").write_text(SCRIPT)
    (tmp_path / "truth.csv").write_text("arch,accuracy\n" + "".join(f"{a},{70 + i}\n" for i, a in enumerate(ARCHS)))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=f"{REPO / 'src'}{os.pathsep}{tmp_path}")
    run = ["correlate", "--truth", "truth.csv", "--inputs", "synthetic", "--proxies", "logit_std", "--archs", "all",
           "--workers", "1", "--repeats", "1", "-q", "--out", "out"]
    first = subprocess.run([sys.executable, "my_swapnas.py", *run], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    (tmp_path / "my_metric.py").write_text(METRIC.replace("{TAIL}", "  # edited\n    pass"))  # code changed
    return tmp_path / "out" / "scores.sqlite", env, run


@pytest.mark.slow
def test_code_warning_of_an_outside_metric_names_a_command_that_can_accept_it(tmp_path):
    """F4: the ProxyCodeWarning of a metric registered outside the package advises `swapnas store accept-code
    STORE`, which cannot accept it ('not run by this process … accept it from the script that registers it');
    the warning is printed by that very script, so it could name `python my_swapnas.py store accept-code`."""
    store, env, run = _outside_metric_store(tmp_path)
    second = subprocess.run([sys.executable, "my_swapnas.py", *run], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "ProxyCodeWarning" in second.stderr
    plain = subprocess.run([sys.executable, "-m", "swapnas", "store", "accept-code", str(store)], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=60)
    assert "not run by this process" in plain.stdout + plain.stderr  # the advised command does not accept it
    assert "my_swapnas.py store accept-code" in second.stderr, second.stderr


@pytest.mark.slow
def test_accept_code_of_a_named_metric_it_cannot_accept_fails(tmp_path):
    """F5: `swapnas store accept-code STORE logit_std` (a metric named explicitly, which this process does not
    run) accepts nothing and exits 0 (`--json`: "accepted": {}); a named metric it records no code of exits 2.
    A request that did nothing should not report success."""
    store, env, _ = _outside_metric_store(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "swapnas", "store", "accept-code", str(store), "logit_std"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert "not run by this process" in proc.stdout + proc.stderr
    assert proc.returncode != 0, proc.stdout


def test_the_accepting_command_is_the_script_that_registers_an_outside_metric(monkeypatch):
    """F4's rule: a metric of the package is accepted by `swapnas`; one of one's own by the script this process was
    started as, where that is a script of one's own (not pytest's or a notebook kernel's file, not `python -m`)."""
    from swapnas import code_changes

    monkeypatch.setattr(sys, "argv", ["/home/me/my swapnas.py", "correlate"])
    assert code_changes._accepting_command(False) == "swapnas"
    assert code_changes._accepting_command(True) == "python '/home/me/my swapnas.py'"
    monkeypatch.setattr(sys, "argv", ["/home/me/run.py", "-v", "store", "check"])
    assert code_changes._accepting_command(True) == "python /home/me/run.py"
    for argv in (["/usr/lib/python3/site-packages/ipykernel_launcher.py", "correlate"],
                 ["/x/dist-packages/y.py", "grid"],
                 ["/x/swapnas/__main__.py", "correlate"], ["/usr/bin/swapnas", "correlate"], [""],
                 ["/home/me/run.py"], ["/home/me/run.py", "--seed", "3"]):  # (a script of search_arch's: the review)
        monkeypatch.setattr(sys, "argv", argv)
        assert code_changes._accepting_command(True).startswith("python YOUR_SCRIPT.py (the script that registers")
    monkeypatch.setattr(sys, "argv", [])
    assert code_changes._accepting_command(True).startswith("python YOUR_SCRIPT.py")


@pytest.mark.parametrize("argv, usage, said", [
    (["correlate", "--proxy", "swap"], "usage: swapnas correlate", "unrecognized arguments: --proxy swap; did you mean "
                                                                   "'--proxies'?"),
    (["correlate", "--data_dir", "x"], "usage: swapnas correlate", "did you mean '--data-dir'"),
    (["store", "accept-code", "s.sqlite", "--foo"], "usage: swapnas store accept-code",
     "unrecognized arguments: --foo"),
    (["correlate", "extra"], "usage: swapnas correlate", "unrecognized arguments: extra\n"),
])
def test_an_unknown_option_is_the_error_of_the_command_it_was_given_to(argv, usage, said, tmp_path, capsys):
    """F6: `swapnas correlate --proxy swap` printed the top parser's usage (every command) and no hint."""
    from swapnas.cli import main

    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "o")] if argv[0] == "correlate" else argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and usage in err and said in err, err
    assert "{correlate,grid,search" not in err, err


def test_an_unknown_option_under_json_is_one_document_naming_the_command(tmp_path, capsys):
    from swapnas.cli import main

    with pytest.raises(SystemExit):
        main(["correlate", "--json", "--proxy", "swap", "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert out.startswith('{"error": "swapnas correlate: unrecognized arguments: --proxy swap; did you mean '), out


def test_the_commands_an_accepting_script_is_run_with_are_the_command_lines():
    """code_changes cannot import the command line (a layer above it): its copy of the command names must not drift."""
    from swapnas.cli import build_parser
    from swapnas.code_changes import _COMMANDS

    parser = build_parser()
    assert sorted(parser._subparsers._group_actions[0].choices) == sorted(_COMMANDS)  # type: ignore[union-attr]


def test_a_target_size_given_as_a_whole_count_of_parameters_is_named():
    """F6: `--target-params 3500000` said "3500000.0M is outside this space's range: 1.370-5.144M"."""
    from swapnas.search.final import _check_target

    with pytest.raises(ValueError, match=r"^--target-params 3500000.0M is outside this space's range: 1.37-5.144M "
                                         r"for the final network \(sizes are read in millions: did you mean 3.5\?\)$"):
        _check_target(3500000.0, 1.37, 5.144)
    with pytest.raises(ValueError, match=r"for the final network$"):  # no count of parameters in range: no hint
        _check_target(9.0, 1.37, 5.144)
    _check_target(3.5, 1.37, 5.144)
