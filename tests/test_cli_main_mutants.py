"""The command line's entry (``swapnas.cli``: ``build_parser``, ``main``), from its mutation run (session 47): the top
parser's text and subcommands, SIGTERM taken as Ctrl-C only while a command runs, the log levels, and each kind of
failure turned into its message and exit code, written out whole."""

from __future__ import annotations

import argparse
import errno
import io
import json
import logging
import signal
import sys
import threading
from concurrent.futures import BrokenExecutor
from pathlib import Path
from typing import Any

import pytest

import swapnas.cli as cli
from swapnas import __version__
from swapnas.cli.args import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from swapnas.errors import NotFound

COMMANDS = ["correlate", "grid", "search", "train", "conformance", "proxies", "export", "store"]


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def test_the_top_parser_names_the_program_its_exit_codes_and_every_command() -> None:
    parser = cli.build_parser()
    assert (parser.prog, parser.description) == ("swapnas", "Training-free NAS with the SWAP-Score.")
    assert parser.epilog == (
        "exit codes: 0 done; 2 bad input or missing data (the message says what to fix); 3 finished, but some archs "
        "failed (outputs written; --allow-failures: 0; a search ranks them last, says how many, and exits 0); 130 "
        "interrupted by Ctrl-C, SIGTERM or SIGHUP (rerun the same "
        "command to resume)")
    sub = _subparsers(parser)
    assert list(sub.choices) == COMMANDS and sub.dest == "command" and sub.required
    assert parser.parse_args(["-v", "proxies"]).verbose  # the global options come from global_parent(top=True)


def test_the_parser_class_is_used_for_the_top_parser_and_every_command() -> None:
    class Mine(argparse.ArgumentParser):
        pass
    parser = cli.build_parser(Mine)
    assert type(parser) is Mine and all(type(p) is Mine for p in _subparsers(parser).choices.values())
    assert type(cli.build_parser()) is cli._Parser  # an ArgumentParser keeping its last error for --json


def test_the_version_and_a_missing_command(capsys) -> None:
    parser = cli.build_parser()
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out == f"swapnas {__version__}\n"
    with pytest.raises(SystemExit) as info:
        parser.parse_args([])
    assert info.value.code == 2
    assert capsys.readouterr().err.endswith("swapnas: error: the following arguments are required: command\n")


def test_sigterm_stops_a_command_as_ctrl_c_does() -> None:
    with pytest.raises(KeyboardInterrupt):
        cli._stop(signal.SIGTERM, None)


@pytest.fixture(autouse=True)
def default_sigterm() -> Any:
    """SIGTERM as a fresh Python has it (Ray, once started by an earlier test, leaves a handler), given back after."""
    old = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGTERM, old)


@pytest.fixture
def inner(monkeypatch) -> list:
    """``_main`` replaced: the arguments it gets and the SIGTERM handler while it runs."""
    seen: list = []

    def fake(argv: list[str] | None) -> int:
        seen.append((argv, signal.getsignal(signal.SIGTERM)))
        return 7
    monkeypatch.setattr(cli, "_main", fake)
    return seen


def test_main_takes_sigterm_while_the_command_runs_and_gives_it_back(inner) -> None:
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert cli.main(["proxies"]) == 7
    assert inner == [(["proxies"], cli._stop)]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert cli.main() == 7 and inner[1][0] is None


def test_main_gives_sigterm_back_when_the_command_raises(monkeypatch) -> None:
    def fails(argv: list[str] | None) -> int:
        raise RuntimeError("a bug")
    monkeypatch.setattr(cli, "_main", fails)
    with pytest.raises(RuntimeError):
        cli.main([])
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_main_leaves_a_handler_of_the_callers_alone(inner) -> None:
    def mine(signum: int, frame: object) -> None:
        pass
    signal.signal(signal.SIGTERM, mine)  # the fixture puts the default back
    assert cli.main([]) == 7
    assert inner[0][1] is mine and signal.getsignal(signal.SIGTERM) is mine
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    cli.main([])
    assert inner[1][1] == signal.SIG_IGN and signal.getsignal(signal.SIGTERM) == signal.SIG_IGN


def test_main_in_another_thread_sets_no_handler(inner) -> None:
    got: list = []
    thread = threading.Thread(target=lambda: got.append(cli.main([])))
    thread.start()
    thread.join()
    assert got == [7] and inner[0][1] == signal.SIG_DFL


@pytest.fixture
def swapnas_logger() -> Any:
    """The ``swapnas`` logger's level, put back after the test."""
    logger = logging.getLogger("swapnas")
    level = logger.level
    yield logger
    logger.setLevel(level)


@pytest.mark.parametrize(("verbose", "root", "own"), [(False, logging.WARNING, logging.NOTSET),
                                                      (True, logging.INFO, logging.DEBUG)])
def test_the_log_levels(monkeypatch, swapnas_logger, verbose, root, own) -> None:
    calls: list = []
    monkeypatch.setattr(cli.logging, "basicConfig", lambda **kw: calls.append(kw))
    assert cli._main(["-v", "proxies", "--json"] if verbose else ["proxies", "--json"]) == EXIT_OK
    (handler,) = calls[0].pop("handlers")  # (session 66: a log line on a line of its own, bars or not)
    assert calls == [{"level": root, "format": "%(levelname)s %(name)s: %(message)s"}]
    assert type(handler).__name__ == "BarSafeHandler" and handler.stream is sys.stderr
    assert swapnas_logger.level == own


def _raising(monkeypatch, exc: BaseException, **flags: object) -> None:
    """The parsed command raises ``exc`` (``flags``: the global flags parsed, e.g. json=True)."""
    def func(args: argparse.Namespace) -> int:
        raise exc
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.setattr(parser, "parse_args", lambda argv: argparse.Namespace(verbose=False, func=func, **flags))


@pytest.mark.parametrize(("exc", "message"), [
    (FileNotFoundError("no data directory given"), "no data directory given"),
    (ValueError("--seed must be >= 0"), "--seed must be >= 0"),
    (NotFound("unknown proxy 'x'"), "unknown proxy 'x'"),
    (NotFound(), ""),
    (IsADirectoryError(errno.EISDIR, "Is a directory", "d"), "[Errno 21] Is a directory: 'd'"),
    (NotADirectoryError(errno.ENOTDIR, "Not a directory", "f"), "[Errno 20] Not a directory: 'f'"),
    (FileExistsError(errno.EEXIST, "File exists", "g"), "[Errno 17] File exists: 'g'"),
    (PermissionError(errno.EACCES, "Permission denied", "h"), "h: Permission denied"),  # session 55: as OSError
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "i"), "[Errno 2] No such file or directory: 'i'"),
    (BrokenExecutor("the scoring processes died"), "the scoring processes died"),
    (OSError(errno.ENOSPC, "No space left on device", "big.sqlite"), "big.sqlite: No space left on device"),
    (OSError(errno.EROFS, "Read-only file system"), "[Errno 30] Read-only file system"),
    (OSError("plain"), "plain"),
])
def test_each_failure_is_one_line_and_exit_2(monkeypatch, capsys, exc, message) -> None:
    _raising(monkeypatch, exc)
    assert cli._main([]) == EXIT_ERROR
    assert capsys.readouterr() == ("", f"swapnas: error: {message}\n")


def test_a_keyerror_that_is_no_lookup_of_the_users_is_a_bug_with_its_traceback(monkeypatch, capsys) -> None:
    """Session 52: every KeyError was printed as bad input, a bug's bare 'x' too (`swapnas: error: 'x'`)."""
    _raising(monkeypatch, KeyError("x"))
    with pytest.raises(KeyError, match="x"):
        cli._main([])
    assert capsys.readouterr() == ("", "")
    assert str(NotFound("unknown proxy 'x'")) == "unknown proxy 'x'"  # no repr quotes, unlike KeyError's str()


def test_with_json_a_failure_is_also_one_json_document_on_stdout(monkeypatch, capsys) -> None:
    # session 50: --json promised one JSON document on stdout, and an error left stdout empty
    _raising(monkeypatch, ValueError("--seed must be >= 0"), json=True)
    assert cli._main([]) == EXIT_ERROR
    out, err = capsys.readouterr()
    assert err == "swapnas: error: --seed must be >= 0\n"
    assert json.loads(out) == {"error": "--seed must be >= 0", "exit": EXIT_ERROR} and out.count("\n") == 1
    _raising(monkeypatch, KeyboardInterrupt(), json=True)
    assert cli._main([]) == EXIT_INTERRUPTED
    assert json.loads(capsys.readouterr().out) == {  # a command without a store (since session 58: said so)
        "error": "interrupted; no file was left half-written (an export or a salvage writes its file once whole, a "
                 "merge each source whole): rerun the same command", "exit": EXIT_INTERRUPTED}
    _raising(monkeypatch, ValueError("x"), json=False)
    assert cli._main([]) == EXIT_ERROR and capsys.readouterr() == ("", "swapnas: error: x\n")


def test_ctrl_c_says_the_scores_are_kept_and_exits_130(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    _raising(monkeypatch, KeyboardInterrupt(), command="correlate", out="runs/x", store=None)
    assert cli._main([]) == EXIT_INTERRUPTED == 130  # no store yet (session 59): nothing is said to be kept
    assert capsys.readouterr().err == "swapnas: interrupted before a score was stored: rerun the same command\n"
    Path("runs/x").mkdir(parents=True)
    Path("runs/x/scores.sqlite").write_bytes(b"")
    assert cli._main([]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == (f"swapnas: interrupted; every finished score is in the store "
                                       f"{Path('runs/x/scores.sqlite')}, rerun the same command to resume\n")
    _raising(monkeypatch, KeyboardInterrupt(), command="export")  # nothing to resume (session 58)
    assert cli._main([]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == ("swapnas: interrupted; no file was left half-written (an export or a salvage "
                                       "writes its file once whole, a merge each source whole): rerun the same "
                                       "command\n")


def test_a_reader_that_left_is_no_error(monkeypatch) -> None:
    _raising(monkeypatch, BrokenPipeError(errno.EPIPE, "Broken pipe"))
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert cli._main([]) == EXIT_OK
    assert err.closed


def test_other_errors_are_not_caught(monkeypatch) -> None:
    for exc in (RuntimeError("a bug"), TypeError("a bug")):
        _raising(monkeypatch, exc)
        with pytest.raises(type(exc)):
            cli._main([])


def test_a_second_ctrl_c_while_the_first_is_handled_exits_130_without_a_traceback(monkeypatch, capsys) -> None:
    def interrupted_twice(argv: object = None) -> int:
        raise KeyboardInterrupt  # what escapes main() when Ctrl-C comes again inside its handler or its finally

    monkeypatch.setattr(cli, "main", interrupted_twice)
    assert cli.command() == EXIT_INTERRUPTED
    out, err = capsys.readouterr()  # session 56: one line, not silence (a Ctrl-C after the outputs were written)
    assert out == "" and err.startswith("swapnas: interrupted; ") and err.count("\n") == 1 and "rerun" in err


@pytest.mark.parametrize("command", ["correlate", "grid", "search", "conformance"])
def test_a_scoring_commands_file_error_and_ctrl_c_name_the_store_that_keeps_its_scores(monkeypatch, capsys,
                                                                                       command, tmp_path) -> None:
    """Session 55: a folder made read-only mid-run ended in a bare "[Errno 1] Operation not permitted: …"."""
    monkeypatch.chdir(tmp_path)  # the stores exist (session 59: one never made is not named)
    Path("runs/x").mkdir(parents=True)
    for made in ("runs/x/scores.sqlite", "s.sqlite"):
        Path(made).write_bytes(b"")
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    for store, named in ((None, "runs/x/scores.sqlite"), ("s.sqlite", "s.sqlite")):
        denied = PermissionError(errno.EPERM, "Operation not permitted", "runs/x/results.json")
        for exc in (denied, KeyboardInterrupt()):
            def func(args: argparse.Namespace, exc: BaseException = exc) -> int:
                raise exc
            monkeypatch.setattr(parser, "parse_args", lambda argv, s=store, f=func: argparse.Namespace(
                verbose=False, func=f, command=command, out="runs/x", store=s))
            cli._main([])
            err = capsys.readouterr().err
            if isinstance(exc, KeyboardInterrupt):
                assert err == (f"swapnas: interrupted; every finished score is in the store {named}, rerun the same "
                               "command to resume\n")
            else:
                assert err == ("swapnas: error: runs/x/results.json: Operation not permitted; every finished score is "
                               f"kept in the store {named}: fix this, then rerun the same command, which reuses them\n")
    monkeypatch.setattr(parser, "parse_args", lambda argv: argparse.Namespace(  # export: nothing scored, no store named
        verbose=False, func=lambda a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device", "o.csv")),
        command="export", out="o.csv", store="s.sqlite"))
    assert cli._main([]) == EXIT_ERROR and capsys.readouterr().err == "swapnas: error: o.csv: No space left on device\n"
