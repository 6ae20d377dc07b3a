"""The ``swapnas`` command line: every parser (:mod:`.parsers`, shared options as parent parsers
in :mod:`.args`) and the commands (:mod:`.commands`), a thin layer over the library's ``run_*``
functions."""

from __future__ import annotations

import argparse
import codecs
import io
import errno
import json
import logging
import os
import re
import signal
import sys
import threading
from concurrent.futures import BrokenExecutor
from pathlib import Path
from typing import Any, NoReturn

from .._version import __version__
from ..address_space import low_address_space
from ..callers import with_brief_warnings
from ..errors import NotFound, near_names, printable
from ..malloc import keep_freed_memory
from ..progress import BarSafeHandler
from ..stops import STOP_SIGNALS
from ..stops import stop_as_interrupt as _stop  # (SIGTERM and SIGHUP as Ctrl-C: the command's handler)
from .args import (
    EXIT_ERROR,
    EXIT_FAILED_ARCHS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    global_parent,
    store_path,
)
from .json_stdout import stdout_to_stderr
from .parsers import (
    add_conformance,
    add_correlate,
    add_export,
    add_grid,
    add_proxies,
    add_search,
    add_store,
    add_train,
)


class _Parser(argparse.ArgumentParser):
    """The command line's parser: keeps its last error's text for ``--json`` (:func:`_parsed`)."""

    last_error = ""
    #: the words the last parse read (a subcommand's parser: the words after the subcommand)
    words: list[str] = []

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        _Parser.words = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        """As argparse's, but words no option takes are an error of the (sub)command they were given to, with its
        usage and the nearest of its options (session 64: the top parser's usage of every command, no hint)."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            owner: argparse.ArgumentParser = self
            while (subs := owner._subparsers) is not None:  # the command's parser, a store action's below it
                action = next(a for a in subs._group_actions if isinstance(a, argparse._SubParsersAction))
                chosen = getattr(parsed, action.dest or "", None)
                if chosen not in action.choices:
                    break
                owner = action.choices[chosen]
            flag = next((w.split("=")[0] for w in extras if w.startswith("--")), "")
            near = near_names(flag, [o for o in owner._option_string_actions if o.startswith("--")], cutoff=0.75)
            owner.error(f"unrecognized arguments: {' '.join(extras)}{f'; did you mean {near}?' if near else ''}")
        return parsed

    def error(self, message: str) -> NoReturn:
        flag = re.fullmatch(r"argument (--[\w-]+): expected one argument", message)
        words = _Parser.words  # --shard -1/2 and --out -y get the hint; a value missing before the next flag does not
        known = self._option_string_actions
        if flag is not None and any(w == flag[1] and v.startswith("-") and v.split("=")[0] not in known
                                    for w, v in zip(words, words[1:])):
            message += f" (a value that starts with '-' reads as an option: write {flag[1]}=VALUE)"
        _Parser.last_error = f"{self.prog}: {message}"
        super().error(message)


def build_parser(parser_class: type[argparse.ArgumentParser] = _Parser) -> argparse.ArgumentParser:
    """Every command's parser; ``parser_class`` for the top parser and the subcommands' (:func:`swapnas.search_arch`
    passes one whose errors raise instead of exiting)."""
    parser = parser_class(
        prog="swapnas", description="Training-free NAS with the SWAP-Score.", parents=[global_parent(top=True)],
        epilog=f"exit codes: {EXIT_OK} done; {EXIT_ERROR} bad input or missing data (the message says what to fix); "
        f"{EXIT_FAILED_ARCHS} finished, but some archs failed (outputs written; --allow-failures: 0; a search ranks "
        f"them last, says how many, and exits {EXIT_OK}); "
        f"{EXIT_INTERRUPTED} interrupted by Ctrl-C, SIGTERM or SIGHUP (rerun the same command to resume)")
    parser.add_argument("--version", action="version", version=f"swapnas {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_correlate, add_grid, add_search, add_train, add_conformance, add_proxies, add_export, add_store):
        add(sub)
    return parser


def command() -> int:
    """The ``swapnas`` script (and ``python -m swapnas``): :func:`main` with swapnas's own warnings shown as one
    ``swapnas: warning: …`` line each (Python names the script's line, which says nothing to its user). A second
    Ctrl-C while the first is handled ends it with exit 130 too (session 52: a traceback from the handler's end)."""
    _printable_anywhere()
    if low := low_address_space():
        print(f"swapnas: warning: {low}", file=sys.stderr)
    streams = sys.stdout, sys.stderr
    sys.stderr = err = _Unbreakable(sys.stderr)
    if sys.stdout is not None:
        sys.stdout = _Watched(sys.stdout)
    try:
        return with_brief_warnings(main)
    except KeyboardInterrupt:  # outside main's own handler (after its command, or a second Ctrl-C): said, not silent
        print("swapnas: interrupted; what was finished is kept: rerun the same command to resume or to check its "
              "outputs", file=sys.stderr)  # every finished score is in the store: each one is committed as it arrives
        return EXIT_INTERRUPTED
    finally:  # the caller's streams back (a test, a script calling command()), unless one failed (exit would flush it)
        if sys.stderr is err and not err.failed:
            sys.stderr = streams[1]
        if isinstance(sys.stdout, _Watched) and sys.stdout.failed is None:
            sys.stdout = streams[0]


def _printable_anywhere() -> None:
    """Text a console stream's encoding cannot hold (ρ, Ψ, — written to a file or a pipe on Windows, whose encoding
    is cp1252) is written as ``\\u03c1`` escapes: it ended ``swapnas proxies > list.txt`` with UnicodeEncodeError. The
    bytes of a name a C locale left undecoded go out as they came (``surrogateescape``: a non-ASCII --out was echoed
    as ``\\udccf`` escapes; session 58)."""
    codecs.register_error("swapnas_escape", _escape)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="swapnas_escape")


def _escape(exc: UnicodeError) -> tuple[str | bytes, int]:
    """An encoding error handler: a name's undecoded bytes (lone surrogates U+DC80..U+DCFF) as those bytes, anything
    else the encoding cannot hold as a backslash escape."""
    if isinstance(exc, UnicodeEncodeError):
        chunk = exc.object[exc.start:exc.end]
        if all(0xDC80 <= ord(c) <= 0xDCFF for c in chunk):
            return bytes(ord(c) - 0xDC00 for c in chunk), exc.end
    return codecs.backslashreplace_errors(exc)


class _Guarded:
    """A console stream whose failing writes and flushes (the errors in ``catches``) go to :meth:`_failed`; the rest
    is the stream's own."""

    catches: tuple[type[Exception], ...] = (OSError,)

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except self.catches as exc:
            self._failed(exc)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except self.catches as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        raise exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Unbreakable(_Guarded):
    """The command's stderr (messages, warnings, the progress bar), whose failing writes are dropped: when its reader
    goes away (``2>&1 | head``), it is closed (``2>&-``) or full (``2>/dev/full``), the run goes on to its outputs
    (session 58: the progress bar's BrokenPipeError ended a run with exit 0 and no results, a closed stderr ended it
    before it started)."""

    catches = (OSError, ValueError)  # (ValueError: a stream closed under us)

    def __init__(self, stream: Any) -> None:
        super().__init__(stream if stream is not None else open(os.devnull, "w", encoding="utf-8"))
        self.failed = stream is None

    def _failed(self, exc: Exception) -> None:
        self.failed = True


class _Watched(_Guarded):
    """The command's stdout, which remembers a failed write (``failed``): the error is then said as stdout's, not as
    a file of the run's (session 58: ``>/dev/full`` said "No space left on device; every finished score is kept …",
    and with --json the error's own JSON failed again, in a traceback)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.failed: Exception | None = None

    def _failed(self, exc: Exception) -> None:
        self.failed = exc
        raise exc


def main(argv: list[str] | None = None) -> int:
    """Run one command; SIGTERM, and SIGHUP (its terminal closed; session 58: it ended a run with no word and left
    its worker processes running), stop it like Ctrl-C while it runs (each where its handler is the default)."""
    main_thread = threading.current_thread() is threading.main_thread()
    own = [s for s in STOP_SIGNALS if main_thread and signal.getsignal(s) in (signal.SIG_DFL, _stop)]
    for sig in own:  # (the command's own start installed it already: swapnas.stops.quiet_start_interrupt)
        signal.signal(sig, _stop)
    try:
        return _main(argv)
    finally:
        for sig in own:
            signal.signal(sig, signal.SIG_DFL)


def _parsed(argv: list[str] | None) -> argparse.Namespace:
    """The arguments; a bad one is argparse's usage and error (exit 2), and with --json anywhere on the line also
    ``{"error": …, "exit": 2}`` on stdout (session 56: stdout was empty for every error argparse finds)."""
    try:
        return _home_expanded(build_parser().parse_args(argv))
    except SystemExit as exc:
        given = sys.argv[1:] if argv is None else argv  # --json as argparse reads it: --js, --jso too (session 62)
        if exc.code == EXIT_ERROR and any(len(a) > 2 and "--json".startswith(a) for a in given):
            print(json.dumps({"error": _Parser.last_error, "exit": EXIT_ERROR}))
        raise


#: the flags and arguments that name a file or folder to write or read (``--data-dir`` and the training data's are
#: expanded where they are read)
_PATHS = ("out", "store", "into", "sources", "image_root", "truth")


def _home_expanded(args: argparse.Namespace) -> argparse.Namespace:
    """``~`` at the start of a path the shell left as it is (quoted, or ``--out=~/x``) is the home folder, as
    ``--data-dir`` has it (session 58: ``--out '~/x'`` made a folder named ``~`` here, which ``rm -rf ~`` would
    then remove the home folder for)."""
    for name in _PATHS:
        value = getattr(args, name, None)
        if isinstance(value, str) and value.startswith("~"):
            setattr(args, name, os.path.expanduser(value))
        elif isinstance(value, list):
            setattr(args, name, [os.path.expanduser(v) if isinstance(v, str) and v.startswith("~") else v
                                 for v in value])
    return args


def _main(argv: list[str] | None) -> int:
    args = _parsed(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s",
                        handlers=[BarSafeHandler(sys.stderr)])  # (a log line on a line of its own, bars or not)
    # -v: swapnas's own debug lines; other libraries' stay at INFO (matplotlib's font search printed ~200 lines)
    logging.getLogger("swapnas").setLevel(logging.DEBUG if args.verbose else logging.NOTSET)
    try:
        if getattr(args, "executor", None) == "local":  # this process scores too when --workers is 1
            keep_freed_memory()  # here, not in the jobs: swapnas.search_arch leaves its caller's allocator alone
        with stdout_to_stderr(getattr(args, "json", False)):  # stdout: the JSON document alone (session 63)
            return args.func(args)
    except Warning as exc:  # (session 66: a traceback, and under --json no document)
        kept = _kept_scores(args)
        return _fail(args, "a warning was raised as an error (python -W error or PYTHONWARNINGS): "
                     f"{type(exc).__name__}: {exc}" + (f"; every finished score is kept in {kept}" if kept else "")
                     + f"; to go on, rerun with that warning shown, not raised (-W default::{type(exc).__name__})",
                     EXIT_ERROR)
    except (FileNotFoundError, ValueError, NotFound, IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
        return _fail(args, f"{exc}", EXIT_ERROR)  # bad input: the message says what; another KeyError is a bug
    except BrokenExecutor as exc:  # the scoring processes cannot run here at all (pool_retry gives up)
        return _fail(args, f"{exc}", EXIT_ERROR)
    except BrokenPipeError:  # `swapnas proxies | head`: the reader left; not an error of ours
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:  # a file that cannot be read or written (permissions, read-only or full disk, long name)
        text = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else f"{exc}"
        if exc.errno == errno.EFBIG:  # (session 59: said bare, and often a shell's limit)
            text += " (larger than the process's file-size limit, `ulimit -f`, or the file system's largest file)"
        elif exc.errno == errno.EMFILE:
            text += (" (the process's limit on open files: raise it, `ulimit -n 4096`"
                     f"{', or use --workers 1' if getattr(args, 'workers', 1) != 1 else ''})")
        if _stdout_broken():  # (session 58: `>/dev/full` was said as if a file of the run could not be written)
            text = f"standard output cannot be written ({exc.strerror or exc})"
        kept = _kept_scores(args)
        return _fail(args, text + (f"; every finished score is kept in {kept}: fix this, then rerun the same command, "
                                   "which reuses them" if kept else ""), EXIT_ERROR)
    except KeyboardInterrupt:
        if getattr(args, "command", None) == "train":
            saved = Path(args.out, "checkpoint.pt")
            return _fail(args, "interrupted; " + (f"the state is in {saved}: rerun the same command to resume"
                                                  if saved.is_file() else "no checkpoint was written"),
                         EXIT_INTERRUPTED, prefix="swapnas: ")
        if not (kept := _kept_scores(args)) and getattr(args, "command", None) in _SCORING:  # before its store
            return _fail(args, "interrupted before a score was stored: rerun the same command", EXIT_INTERRUPTED,
                         prefix="swapnas: ")
        if not kept:  # export, store: nothing to resume (session 58: "… to resume" said so)
            return _fail(args, "interrupted; no file was left half-written (an export or a salvage writes its file "
                         "once whole, a merge each source whole): rerun the same command", EXIT_INTERRUPTED,
                         prefix="swapnas: ")
        return _fail(args, f"interrupted; every finished score is in {kept}, rerun the same command to resume",
                     EXIT_INTERRUPTED, prefix="swapnas: ")


#: the commands that keep their scores in a store (--store, default OUT/scores.sqlite)
_SCORING = ("correlate", "grid", "search", "conformance")


def _kept_scores(args: argparse.Namespace) -> str:
    """The store a scoring command's finished scores are in ('' for other commands): named in its error messages
    (session 55: a folder made read-only mid-run ended in a bare "Operation not permitted")."""
    if getattr(args, "command", None) not in _SCORING or not getattr(args, "out", None):
        return ""
    path = store_path(args)  # a store never made keeps nothing (session 59: one under an impossible --out was named;
    return f"the store {path}" if os.path.isfile(path) else ""  # isfile answers False, never raises, for bad paths)


def _fail(args: argparse.Namespace, message: str, code: int, prefix: str = "swapnas: error: ") -> int:
    """``code``, the message printed on stderr and, with --json, as ``{"error": …, "exit": code}`` on stdout (a
    script reading stdout gets one JSON document whatever happened)."""
    print(prefix + printable(message), file=sys.stderr)  # (control characters from a file: session 67)
    if getattr(args, "json", False) and not _stdout_broken():
        try:
            print(json.dumps({"error": message, "exit": code}), flush=True)
        except OSError:  # stdout fails at this first write (a full disk): the message is on stderr
            _let_go_of_stdout()
    return code


def _stdout_broken() -> bool:
    """Whether a write to stdout failed (full, closed, its reader gone: :class:`_Watched`); then it is let go."""
    if getattr(sys.stdout, "failed", None) is None:
        return False
    _let_go_of_stdout()
    return True


def _let_go_of_stdout() -> None:
    """stdout replaced by the null device: Python's exit would flush the failed one again and print a traceback."""
    sys.stdout = open(os.devnull, "w", encoding="utf-8")

__all__ = ["build_parser", "command", "main"]
