"""Session 54, a review for macOS and Windows: text files are UTF-8 whatever the platform's default (Windows':
cp1252, where ``correlate`` failed at its end writing the ρ of report.md), a console that cannot print ρ gets an
escape instead of an error, and a ``--truth`` file saved with a byte-order mark (Excel's "CSV UTF-8") is read."""

from __future__ import annotations

import ast
import io
import os
import sys
from pathlib import Path

import pytest

from swapnas.benchmarks.csv_truth import CsvBenchmark
from swapnas.cli import command

SRC = Path(__file__).resolve().parents[1] / "src" / "swapnas"
A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
B = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def text_opens_without_encoding(tree: ast.AST) -> list[int]:
    """Lines of ``open``/``Path.open``/``read_text``/``write_text`` calls in text mode that name no encoding (so they
    use the platform's: cp1252 on Windows)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        builtin = isinstance(func, ast.Name) and func.id == "open"
        method = isinstance(func, ast.Attribute) and func.attr in ("open", "read_text", "write_text") and not (
            isinstance(func.value, ast.Name) and func.value.id in ("os", "Image"))  # os.open: bytes; PIL's Image.open
        if not (builtin or method) or any(k.arg == "encoding" for k in node.keywords):
            continue
        if isinstance(func, ast.Attribute) and func.attr in ("read_text", "write_text"):
            lines.append(node.lineno)
            continue
        mode = next((k.value for k in node.keywords if k.arg == "mode"), None)
        place = 1 if builtin else 0  # open(path, mode) / path.open(mode)
        mode = mode or (node.args[place] if len(node.args) > place else None)
        if not (isinstance(mode, ast.Constant) and "b" in str(mode.value)):
            lines.append(node.lineno)
    return lines


def test_the_check_finds_text_opens_without_an_encoding() -> None:
    code = ("open(p)\nopen(p, 'rb')\nopen(p, 'w', encoding='utf-8')\np.open('a+')\np.open(mode='wb')\n"
            "p.read_text()\np.write_text(t, encoding='utf-8')\nos.open(p, 1)\nImage.open(p)\nopen(p, mode)\n")
    assert text_opens_without_encoding(ast.parse(code)) == [1, 4, 6, 10]


def test_every_text_file_swapnas_reads_or_writes_names_its_encoding() -> None:
    found = {str(p.relative_to(SRC)): lines for p in sorted(SRC.rglob("*.py"))
             if (lines := text_opens_without_encoding(ast.parse(p.read_text(encoding="utf-8"))))}
    assert found == {}, f"give these calls encoding='utf-8' (file: lines): {found}"


def test_a_console_that_cannot_print_rho_gets_escapes_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = io.BytesIO()
    cp1252 = io.TextIOWrapper(raw, encoding="cp1252")  # stdout redirected to a file or pipe on Windows
    monkeypatch.setattr(sys, "stdout", cp1252)
    monkeypatch.setattr(sys, "argv", ["swapnas", "proxies", "swap"])
    assert command() == 0
    cp1252.flush()
    assert "SWAP-Score \\u03a8: distinct sample-wise ReLU patterns" in raw.getvalue().decode("cp1252")


def test_a_truth_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(f"arch,val_acc\n{A},91.5\n{B},80\n".encode("utf-8-sig"))  # \ufeff before "arch"
    bench = CsvBenchmark(path, "nb201", "cifar10")
    assert (bench.arch_column, bench.accuracy_column) == ("arch", "val_acc")
    assert bench.accuracies([A, B], "cifar10").tolist() == [91.5, 80.0]


class _FakeMsvcrt:
    """msvcrt as on Windows: ``locking(fd, mode, nbytes)`` locks from the fd's position; ``held`` makes it refuse."""

    LK_UNLCK, LK_NBLCK = 0, 2

    def __init__(self, held: bool = False):
        self.held, self.calls = held, []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        self.calls.append((os.lseek(fd, 0, os.SEEK_CUR), mode, nbytes))
        if self.held:
            raise PermissionError(13, "Permission denied")


def test_out_is_locked_with_msvcrt_where_there_is_no_fcntl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no fcntl: until session 54 OUT was not locked there (a second job wrote into a busy OUT)."""
    from swapnas import files

    fake = _FakeMsvcrt()
    monkeypatch.setattr(files, "fcntl", None)
    monkeypatch.setattr(files, "msvcrt", fake)
    with files.out_lock(tmp_path / "out", "correlate"):
        assert (tmp_path / "out" / ".lock").read_text(encoding="utf-8") == f"{os.getpid()} correlate"
    assert fake.calls == [(2**20, 2, 1), (2**20, 0, 1)]  # one byte far past the pid text (the refused read it),
    # locked, then unlocked before the file closes
    (tmp_path / "out" / ".lock").write_text("4242 search", encoding="utf-8")
    monkeypatch.setattr(files, "msvcrt", _FakeMsvcrt(held=True))
    with pytest.raises(ValueError) as info, files.out_lock(tmp_path / "out", "grid"):
        pass
    assert str(info.value) == (f"another swapnas search is using {tmp_path / 'out'} (pid 4242); wait for it or use "
                               "another --out")
    monkeypatch.setattr(files, "msvcrt", None)  # neither: not locked, as before
    with files.out_lock(tmp_path / "out", "grid"):
        assert (tmp_path / "out" / ".lock").read_text(encoding="utf-8") == "4242 search"


def test_the_default_workers_stay_within_windows_61(monkeypatch: pytest.MonkeyPatch) -> None:
    """ProcessPoolExecutor on Windows refuses more than 61 workers: a 64-core machine's default was refused."""
    import torch

    from swapnas.cli import executor_options

    monkeypatch.delenv("SWAPNAS_WORKERS", raising=False)
    monkeypatch.setattr(executor_options, "usable_cores", lambda: 64)
    assert executor_options.default_workers(torch.device("cpu")) == 64
    monkeypatch.setattr(sys, "platform", "win32")
    assert executor_options.default_workers(torch.device("cpu")) == 61


def test_torch_without_a_numpy_bridge_is_named_on_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch 2.2 beside numpy 2 (what pip installs with it): every tensor/array conversion fails, until session 54
    deep inside a run (the batch's normalisation); ``import swapnas`` now stops with the fix."""
    import numpy as np
    import torch

    from swapnas.versions import check_numpy_bridge

    check_numpy_bridge()  # this machine's torch and numpy work together

    def no_numpy(*args: object) -> None:
        raise RuntimeError("Numpy is not available")

    monkeypatch.setattr(torch, "from_numpy", no_numpy)
    with pytest.raises(ImportError) as info:
        check_numpy_bridge()
    assert str(info.value) == (
        f"torch {torch.__version__} cannot convert between tensors and numpy {np.__version__} arrays (Numpy is not "
        "available), which swapnas needs: torch 2.2 was built against numpy 1.x, so pip install 'numpy<2', or a "
        "torch >= 2.3")


def test_training_takes_torch_22s_grad_scaler_where_torch_amp_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch 2.2 has no ``torch.amp.GradScaler``: every ``swapnas train`` stopped with an AttributeError there."""
    import warnings

    import torch

    from swapnas.train.loop import grad_scaler

    if hasattr(torch.amp, "GradScaler"):  # torch >= 2.3 (scripts/check_minimums.sh runs this on 2.2 too)
        assert type(grad_scaler(False)) is torch.amp.GradScaler
    old = torch.cuda.amp.GradScaler
    monkeypatch.delattr(torch.amp, "GradScaler", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # newer torch calls the old name deprecated
        scaler = grad_scaler(False)
    assert type(scaler) is old and not scaler.is_enabled()


def test_more_workers_than_windows_takes_are_refused_before_any_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from swapnas.cli import build_parser
    from swapnas.cli.executor_options import executor_plan

    args = build_parser().parse_args(["correlate", "--workers", "64", "--device", "cpu", "--out", "o"])
    assert executor_plan(args)[1]["workers"] == 64
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(ValueError, match=r"^64 scoring workers \(--workers or \$SWAPNAS_WORKERS\): Windows' process "
                                         r"pools take at most 61$"):
        executor_plan(args)
    monkeypatch.setenv("SWAPNAS_WORKERS", "62")
    with pytest.raises(ValueError, match="^62 scoring workers"):
        executor_plan(build_parser().parse_args(["correlate", "--device", "cpu", "--out", "o"]))


@pytest.mark.slow  # a fresh interpreter: the check runs where swapnas is first imported
def test_import_swapnas_runs_the_numpy_bridge_check() -> None:
    import subprocess

    code = ("import torch\n"
            "def broken(*args):\n    raise RuntimeError('Numpy is not available')\n"
            "torch.from_numpy = broken\nimport swapnas\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and run.stderr.strip().splitlines()[-1].startswith(
        "ImportError: torch ") and "pip install 'numpy<2', or a torch >= 2.3" in run.stderr


def test_a_genotype_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Windows editors save UTF-8 with a byte-order mark; ``swapnas train --genotype FILE`` read it as text."""
    from swapnas.spaces.darts_genotype import parse
    from swapnas.train.recipe import load_genotype

    from .test_darts_genotype import DARTS_V2

    path = tmp_path / "genotype.txt"
    path.write_bytes(DARTS_V2.encode("utf-8-sig"))
    assert load_genotype(str(path)) == parse(DARTS_V2)


def test_py_typed_is_package_data() -> None:
    """The marker ships in wheels only where pyproject.toml names it (an editable install reads src/ as it is)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
        import tomli as tomllib

    project = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["swapnas"] and (SRC / "py.typed").is_file()
