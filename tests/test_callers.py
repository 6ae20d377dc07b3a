"""A SaturationWarning names the user's line, whichever entry point reached swap_score (session 49: through
``swapnas.score`` it named ``src/swapnas/proxies/swap.py``)."""

from __future__ import annotations

import warnings

import torch
from torch import nn

import swapnas
from swapnas.callers import user_stacklevel
from swapnas.patterns import SaturationWarning


def _saturating() -> tuple[nn.Module, torch.Tensor]:
    return nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU()), torch.randn(16, 3, 6, 6)  # 32 neurons, far below 2**16


def _caught(call) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [w for w in caught if issubclass(w.category, SaturationWarning)]


def test_the_warning_points_at_the_callers_line_for_every_entry_point() -> None:
    net, x = _saturating()
    for call in (lambda: swapnas.swap_score(net, x), lambda: swapnas.score(net, x),
                 lambda: swapnas.rank({"a": net}, x)):
        (w,) = _caught(call)
        assert w.filename == __file__ and "lambda" in open(__file__).read().splitlines()[w.lineno - 1]


def test_a_frame_outside_the_package_is_level_one() -> None:
    assert user_stacklevel() == 1  # called from this module: its own frame


def _shown(category: type[Warning], filename: str) -> str:
    import io

    from swapnas.callers import brief_warning
    out = io.StringIO()
    brief_warning(category("the message"), category, filename, 7, out, None)
    return out.getvalue()


def test_the_command_line_and_workers_show_swapnas_warnings_as_one_line() -> None:
    # session 50: the `swapnas` script's warnings named `bin/swapnas:8` and `sys.exit(main())`, a pool worker's the
    # file of concurrent.futures
    from swapnas.callers import PACKAGE
    assert _shown(SaturationWarning, "/usr/lib/python3.11/concurrent/futures/process.py") == (
        "swapnas: warning: SaturationWarning: the message\n")
    assert _shown(UserWarning, f"{PACKAGE}/grid.py") == "swapnas: warning: the message\n"
    other = _shown(UserWarning, "/site-packages/torch/nn/modules/module.py")  # another library's: Python's format
    assert other.startswith("/site-packages/torch/nn/modules/module.py:7: UserWarning: the message")


def test_the_swapnas_command_shows_brief_warnings_and_restores_pythons(monkeypatch, capsys) -> None:
    from swapnas import cli
    from swapnas.callers import brief_warning

    before, seen = warnings.showwarning, []

    def fake_main() -> int:
        seen.append(warnings.showwarning)
        warnings.warn(SaturationWarning("saturated"), stacklevel=1)
        return 3

    monkeypatch.setattr(cli, "main", fake_main)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert cli.command() == 3
    assert seen == [brief_warning] and warnings.showwarning is before
    assert capsys.readouterr().err == "swapnas: warning: SaturationWarning: saturated\n"


def test_the_installed_script_and_python_m_run_the_command_with_brief_warnings() -> None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: tomllib is 3.11+; pytest depends on tomli there
        import tomli as tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    assert tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"] == {
        "swapnas": "swapnas.cli:command"}
    for main in (root / "src/swapnas/__main__.py", root / "src/swapnas/cli/__main__.py"):
        assert "sys.exit(command())" in main.read_text(), main
