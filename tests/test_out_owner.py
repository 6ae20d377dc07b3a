"""A command refuses an --out folder that holds another command's outputs, and `swapnas export` a file of such a
folder (session 49: a correlate run into a search's folder replaced its report.md and mixed its scores into the
search's store; `export --out RUN/results.csv` replaced a correlate run's per-arch table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from swapnas.out_checks import OWN_FILES, owner
from tests.test_validation import run_cli


def _folder(tmp_path: Path, command: str) -> Path:
    out = tmp_path / f"{command}_out"
    out.mkdir()
    (out / OWN_FILES[command]).write_text("{}")
    (out / "report.md").write_text("the other run's report\n")
    return out


def test_owner_names_the_command_by_its_own_file(tmp_path: Path) -> None:
    assert owner(tmp_path) is None
    for command in OWN_FILES:
        assert owner(_folder(tmp_path, command)) == command


@pytest.mark.parametrize("command, argv", [
    ("correlate", ["correlate", "--space", "darts_swap", "--proxies", "params", "--archs", "3"]),
    ("search", ["search", "--space", "nb201", "--cycles", "1", "--population", "3", "--sample", "2"]),
    ("grid", ["grid", "--benchmarks", "nb201", "--tasks", "cifar10", "--proxies", "params", "--archs", "3"]),
])
def test_a_folder_of_another_command_is_refused_before_anything_runs(
        command: str, argv: list[str], small_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    other = "search" if command != "search" else "correlate"
    out = _folder(tmp_path, other)
    code, _, err = run_cli([*argv, "--data-dir", str(small_bundle), "--out", str(out), "--no-progress"], capsys)
    assert code == 2 and (f"--out {out} holds the outputs of `swapnas {other}` ({OWN_FILES[other]}): {command} "
                          "would replace its report and mix its scores into that folder's store; give another "
                          "folder") in err
    assert (out / "report.md").read_text() == "the other run's report\n" and not (out / "scores.sqlite").exists()


def test_a_rerun_into_its_own_folder_goes_on(small_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["correlate", "--space", "darts_swap", "--proxies", "params", "--archs", "3", "--data-dir",
            str(small_bundle), "--out", str(tmp_path / "run"), "--no-progress"]
    assert run_cli(argv, capsys)[0] == 0 and run_cli(argv, capsys)[0] == 0


def test_export_refuses_to_replace_a_file_of_a_commands_folder(small_bundle: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    assert run_cli(["correlate", "--space", "darts_swap", "--proxies", "params", "--archs", "3", "--data-dir",
                    str(small_bundle), "--out", str(run), "--no-progress"], capsys)[0] == 0
    table = (run / "results.csv").read_text()
    code, _, err = run_cli(["export", str(run / "scores.sqlite"), "--out", str(run / "results.csv")], capsys)
    assert code == 2 and (f"--out {run / 'results.csv'} is in the output folder of `swapnas correlate` (results.json) "
                          "and would replace one of its files: give another path for the export") in err
    assert (run / "results.csv").read_text() == table
    assert run_cli(["export", str(run / "scores.sqlite"), "--out", str(run / "export.csv")], capsys)[0] == 0  # new
