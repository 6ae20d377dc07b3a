"""Session 65: items left as found in session 64, each test failed on the code as found."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import SMALL_BUNDLE

SRC = Path(__file__).resolve().parents[1] / "src" / "swapnas"


def test_a_search_leaves_the_callers_multiprocessing_start_method_free(tmp_path):
    """Was: RuntimeError "context has already been set" from a caller's set_start_method("spawn") after search_arch
    (tqdm's default lock, made by every bar even a disabled one, is a multiprocessing RLock)."""
    code = (
        "import multiprocessing, swapnas\n"
        f"swapnas.search_arch('nb201', 'cifar10', out={str(tmp_path / 's')!r}, data_dir={str(SMALL_BUNDLE)!r}, "
        "population=3, cycles=1, mutations=1, refine=0, fitness='params', workers=1, no_progress=True, quiet=True)\n"
        "from swapnas.progress import Bar, PlainBar\n"
        "Bar(total=1, disable=True).close(); PlainBar(total=1, disable=True).close(); Bar.write('line')\n"
        "multiprocessing.set_start_method('spawn')\n"
        "print(multiprocessing.get_start_method())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-2:] == ["line", "spawn"]


def test_every_bar_of_the_package_is_one_of_progress_bars():
    """A module importing tqdm itself would bring the multiprocessing lock back."""
    importers = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "progress.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "tqdm" or n.startswith("tqdm.") for n in names):
                importers.append(str(path.relative_to(SRC)))
    assert importers == []


def test_search_offers_only_the_spaces_it_can_search(capsys):
    """Was: usage and help listed {nb101,nb201,darts,transnas_micro,transnas_macro,flexibert} (argparse's choices),
    and three of them were then refused; a name of no space got argparse's list of all six."""
    import pytest

    from swapnas.cli import main
    from swapnas.spaces import SPACES, searchable_spaces

    with pytest.raises(SystemExit):
        main(["search", "--help"])
    usage = capsys.readouterr().out
    offered = "{" + ",".join(searchable_spaces()) + "}"
    assert f"--space {offered}" in usage and set(searchable_spaces()) < set(SPACES)
    assert not any(name in usage.split("--dataset")[0] for name in set(SPACES) - set(searchable_spaces()))
    with pytest.raises(SystemExit):
        main(["search", "--space", "nb210", "--out", "unused"])
    assert capsys.readouterr().err.endswith("argument --space: unknown search space 'nb210'; did you mean 'nb201'? "
                                            "(searchable: nb201, darts, flexibert)\n")


def test_search_arch_verbose_logs_the_packages_debug_lines_for_the_call_only(tmp_path, monkeypatch, capsys):
    """Was: verbose=True was taken and changed nothing (the command's -v sets up logging in its main())."""
    import logging

    import swapnas
    from swapnas.cli import search_command

    seen = []

    def fake_run(args):
        seen.append(logging.getLogger("swapnas.search.driver").getEffectiveLevel())
        logging.getLogger("swapnas.search.driver").debug("a debug line")
        return [None]

    monkeypatch.setattr(search_command, "search_run", fake_run)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # the caller's logging set up nothing (pytest's aside)
    before = logging.getLogger("swapnas").level
    swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", verbose=True)
    assert seen == [logging.DEBUG]
    assert capsys.readouterr().err == "DEBUG swapnas.search.driver: a debug line\n"
    assert logging.getLogger("swapnas").level == before and logging.getLogger("swapnas").handlers == []
    swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s")
    assert seen[-1] == logging.getLogger().level and capsys.readouterr().err == ""
