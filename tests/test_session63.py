"""Session 63: --json's stdout holds the document alone (what else is printed while a command runs goes to stderr),
and what the session's audits found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from swapnas import cli
from swapnas.cli import commands
from swapnas.cli.json_stdout import print_json, refuse_out_on_stdout, stdout_to_stderr
from tests.test_session55 import _one_score_store

#: `swapnas --json proxies` whose listing prints through Python, writes to descriptor 1 and runs a child program
NOISY = textwrap.dedent("""
    import os, subprocess, sys
    import swapnas.cli.commands as c
    listed = c.list_proxies
    def noisy(*a, **k):
        print("noise from print")
        os.write(1, b"noise from descriptor 1\\n")
        subprocess.run([sys.executable, "-c", "print('noise from a child')"], check=True)
        return listed(*a, **k)
    c.list_proxies = noisy
    from swapnas.cli import command
    sys.argv = ["swapnas", "--json", *sys.argv[1:]]
    sys.exit(command())
""")


def _run(code: str, *args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the order of what is written, as it is written (the review)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=env,
                          **kw)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
def test_json_stdout_is_the_document_alone_whatever_else_the_command_prints():
    done = _run(NOISY, "proxies")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # (session 62: the lines printed came before the document)
    assert "swap" in {row["name"] for row in doc["proxies"]}
    for noise in ("noise from print", "noise from descriptor 1", "noise from a child"):
        assert noise in done.stderr


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
def test_without_json_stdout_is_left_alone():
    done = _run(NOISY.replace('"--json", ', ""), "proxies")
    assert done.returncode == 0, done.stderr
    assert done.stdout.index("noise from print") < done.stdout.index("noise from a child") < done.stdout.index("name")
    assert "noise" not in done.stderr


def test_in_process_json_keeps_a_proxys_print_off_stdout(monkeypatch, capsys):
    listed = commands.list_proxies

    def noisy(*a, **k):
        print("a line a proxy printed")
        return listed(*a, **k)

    monkeypatch.setattr(commands, "list_proxies", noisy)
    assert cli.main(["--json", "proxies"]) == 0
    out, err = capsys.readouterr()
    assert "swap" in {row["name"] for row in json.loads(out)["proxies"]}
    assert "a line a proxy printed" in err


def test_documents_are_printed_when_the_block_ends_even_an_interrupted_one(capsys):
    stdout = sys.stdout
    with pytest.raises(KeyboardInterrupt), stdout_to_stderr(True):
        print("said on stderr")
        print_json('{"a": 1}')
        assert capsys.readouterr() == ("", "said on stderr\n")  # the document held until the block ends
        raise KeyboardInterrupt
    assert sys.stdout is stdout
    assert capsys.readouterr() == ('{"a": 1}\n', "")
    with stdout_to_stderr(False):
        print("plain")
        print_json("{}")
    assert capsys.readouterr().out == "plain\n{}\n"


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
def test_closed_stdout_under_json_is_an_error_not_a_silent_exit_0():
    code = "import sys; from swapnas.cli import command; sys.argv = ['swapnas', *sys.argv[1:]]; sys.exit(command())"
    done = _run(code, "--json", "proxies", preexec_fn=lambda: os.close(1))
    assert done.returncode == 2
    assert "the standard output is closed" in done.stderr
    assert _run(code, "proxies", preexec_fn=lambda: os.close(1)).returncode == 0  # (no document was asked for)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
def test_json_export_to_a_device_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"--out /dev/null is a device or a pipe, and with --json .* give --out a "
                                         r"file, or leave --json out"):
        refuse_out_on_stdout("/dev/null")
    refuse_out_on_stdout(str(tmp_path / "new.csv"))  # a new file, an existing one and a folder: the export's checks
    (tmp_path / "old.csv").write_text("x")
    refuse_out_on_stdout(str(tmp_path / "old.csv"))
    refuse_out_on_stdout(str(tmp_path))


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
def test_json_export_to_the_standard_output_itself_is_refused(tmp_path):
    store = tmp_path / "s.sqlite"
    _one_score_store(store)
    code = "import sys; from swapnas.cli import command; sys.argv = ['swapnas', *sys.argv[1:]]; sys.exit(command())"
    with open(tmp_path / "stdout.txt", "w") as out:  # stdout a regular file: /dev/stdout is that file
        done = subprocess.run([sys.executable, "-c", code, "--json", "export", str(store), "--out", "/dev/stdout"],
                              stdout=out, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 2
    assert "--out /dev/stdout is the standard output" in done.stderr
    assert json.loads((tmp_path / "stdout.txt").read_text())["exit"] == 2
    assert not Path(tmp_path / "stdout.txt").read_text().startswith("space,")


@pytest.mark.parametrize("std", [0.0, -0.02])
def test_flexibert_init_std_must_be_positive(std):
    from swapnas.session import check_net

    with pytest.raises(ValueError, match=r"init_std is the weights' standard deviation: it must be > 0"):
        check_net("flexibert", {"init_std": std})


def test_rank_shows_a_bar_of_the_models_only_when_asked(capsys):
    import torch
    from torch import nn

    import swapnas

    models = {f"m{i}": nn.Sequential(nn.Linear(4, 4 + i), nn.ReLU(), nn.Linear(4 + i, 2)) for i in range(3)}
    x = torch.randn(6, 4)
    quiet = swapnas.rank(models, x, "swap")
    assert capsys.readouterr().err == ""
    assert swapnas.rank(models, x, "swap", progress=True) == quiet
    err = capsys.readouterr().err
    assert "rank" in err and "3/3" in err and "model" in err


def test_the_store_scale_scripts_other_column_has_a_folder_ls_can_read():
    from tests.script_tools import load_perf

    script = load_perf("store_scale")
    assert script._folder("this checkout") == "this_checkout"
    assert script._folder("--src checkout") == "src_checkout"
