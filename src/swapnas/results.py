"""What a correlation run returns: one :class:`ProxyResult` per proxy inside a :class:`CorrelateRun`."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, is_dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._version import __version__


@dataclass
class ProxyResult:
    proxy: str
    key: str
    space: str
    dataset: str
    n: int
    failures: int
    spearman: float
    kendall: float
    spearman_ci: tuple[float, float]
    top10_spearman: float
    spearman_given_params: float
    seconds_per_arch: float
    higher_is_better: bool
    errors: list[str] = field(default_factory=list)
    #: archs whose SWAP-Score Ψ is at >= 95 % of its 2**S ceiling (``swap``, ``swap_ext``, ``swap_fn``, and since
    #: session 63 a proxy derived from one: ``swap_reg``, ``best``, by the Ψ it is made of; 0 otherwise)
    saturated: int = 0
    #: archs in the top-10 % subset behind ``top10_spearman`` (None: a results.json written before it was recorded)
    top10_n: int | None = None
    #: P@10% (:func:`swapnas.stats.top_k_precision`; None: a results.json written before session 56)
    top10_precision: float | None = None
    #: scored archs of a set-level proxy with a part in its ``fill_failed`` that failed, counted at that part's worst
    #: value over the set (``vkdnw_agg``'s ``jacob_cov``), not left out (session 60: only a console line said so)
    filled: int = 0
    #: the options it was scored with, numbers at full precision (``key`` writes them to 6 significant digits, so
    #: ``swap_reg``'s default prior, μ = 306.6244…, was not given back by it: session 69); a value another run stored
    #: under the same key was scored with options equal to the key's digits; None: a results.json of before
    options: dict[str, Any] | None = None


@dataclass
class CorrelateRun:
    """One correlate run; its repr leaves out the per-arch lists (``scores``, ``accuracy``, ``archs``, ``params_m``:
    session 66, 2 MB for NB201's 15,625 at a notebook cell's end) and the bootstrap's draws."""

    protocol: dict
    ground_truth: str
    batch_note: str
    results: list[ProxyResult]
    scores: dict[str, list[float | None]] = field(repr=False)
    accuracy: list[float] = field(repr=False)
    archs: list[str] = field(repr=False)
    wall_seconds: float
    #: archs whose every score was stored (reused, nothing computed; 0: everything was scored now)
    reused: int = 0
    #: archs with some proxies' scores stored and others computed now (a proxy added or given a new version)
    partly_reused: int = 0
    #: where the archs were scored: the device, and "on Ray workers" with the Ray executor ("": not recorded)
    device: str = ""
    #: the rho CI's bootstrap: {"resamples", "seed", "interval", "draws"} (draws: what to redo it from, session 52)
    bootstrap: dict = field(default_factory=dict, repr=False)
    #: the benchmark's #params (millions) per arch, ρ|params's control (None: unknown)
    params_m: list[float | None] = field(default_factory=list, repr=False)
    #: where the run reused scores: the names (``swap@1``, ``net:nb201@1``) under which the store records other code
    #: than this run's, with when it recorded that code (:func:`swapnas.code_changes.other_code`; session 68)
    other_code: dict[str, str] = field(default_factory=dict)
    #: torch threads per scoring process (:func:`swapnas.executor_local.scoring_threads`; None: not recorded)
    threads: int | None = None



def finite_or_none(obj: Any) -> Any:
    """``obj`` with every NaN / inf float replaced by None (recursively through dicts, lists, tuples and
    dataclasses; numpy scalars and arrays become Python numbers and lists)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (np.generic, np.ndarray)):
        return finite_or_none(obj.tolist())
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    if is_dataclass(obj) and not isinstance(obj, type):
        return finite_or_none(asdict(obj))
    return obj


def strict_json(obj: Any, indent: int | None = 1) -> str:
    """Strict JSON text of ``obj`` (RFC 8259: no NaN / Infinity tokens): every non-finite number is
    written as ``null``. Every JSON file swapnas writes for its readers goes through here; the search's
    ``state.json``, which only a resumed search reads, keeps a failed arch's fitness as ``-Infinity`` (Python's
    json reads it back as −inf)."""
    return json.dumps(finite_or_none(obj), indent=indent, allow_nan=False)


def reused_parts(reused: int, n: int, partly: int = 0) -> list[str]:
    """``stored scores of R of N archs reused`` when some archs' every score was stored, and a note of the
    archs with only some proxies' scores stored (the others scored now); empty when neither."""
    parts = [f"stored scores of {reused} of {n} archs reused"] if reused else []
    if partly:
        parts.append(f"some proxies' stored scores of {partly} {'more ' if reused else f'of {n} '}archs reused, "
                     "the others scored now")
    return parts


def reused_text(reused: int, n: int, partly: int = 0) -> str:
    """:func:`reused_parts` as `` (…; …)`` after a console line, else nothing."""
    parts = reused_parts(reused, n, partly)
    return f" ({'; '.join(parts)})" if parts else ""


#: the command a Python call stands for (:func:`run_as`), which outputs record instead of the process's command line
_CALLED_AS: ContextVar[str | None] = ContextVar("swapnas_called_as", default=None)


@contextmanager
def run_as(argv: list[str], call: str) -> Iterator[None]:
    """In the block, :func:`command_line` is ``swapnas ARGV`` with the Python ``call`` that ran it as a shell comment
    (``search_arch``: until session 54 its report.md said "Made by `my_script.py`", which reruns nothing; until session
    68 the call was in brackets, which a shell pasted the line into refused)."""
    script = " ".join((sys.argv[0] if sys.argv else "").split()) or "Python"  # one line: a comment ends at a newline
    token = _CALLED_AS.set(f"swapnas {shlex.join(argv)}  # run by {call} in {script}")
    try:
        yield
    finally:
        _CALLED_AS.reset(token)


def command_line() -> str:
    """This process's command line as a shell would rerun it (``swapnas …`` or ``python -m swapnas …``;
    arguments quoted where needed), or the command a Python call stands for (:func:`run_as`); in a Jupyter kernel
    (``ipykernel_launcher.py``, Colab's ``colab_kernel_launcher.py``), a note that none reruns the calls."""
    if (called := _CALLED_AS.get()) is not None:
        return called
    prog = sys.argv[0] if sys.argv else ""
    if "kernel_launcher" in Path(prog).name:  # (session 66: a notebook's outputs named the kernel's own command)
        return "(Python calls in a Jupyter kernel: no command line reruns them)"
    name = ("swapnas" if prog.endswith("swapnas") else _module_run(Path(prog)) or prog)
    return _decoded(" ".join(filter(None, [name, shlex.join(sys.argv[1:])])))


def _module_run(prog: Path) -> str | None:
    """``python -m swapnas`` for a ``__main__.py`` of swapnas (``swapnas/__main__.py`` or, session 67,
    ``swapnas/cli/__main__.py``: that file run directly fails on its relative imports), else None."""
    package = prog.parent.parts[-2:]
    ours = prog.name == "__main__.py" and (package[-1:] == ("swapnas",) or package == ("swapnas", "cli"))
    return "python -m swapnas" if ours else None


def _decoded(text: str) -> str:
    """``text`` with the bytes a C locale left undecoded (lone surrogates: ``--out 'E2 ρ'`` under ``LC_ALL=C``) read
    as the UTF-8 they are: JSON wrote them as ``\\udccf`` escapes, which no UTF-8 reader reads back (session 58).
    Bytes that are not UTF-8 (a Latin-1 name) stay as they are: the text files write them back as those bytes
    (session 56), so the command can be rerun."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeDecodeError:
        return text


def _version(package: str) -> str:
    """An installed package's version, without importing it ("" if it is not installed)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def _git(*args: str) -> str | None:
    """``git -C <swapnas's folder> ARGS``'s output; None where git is missing or fails."""
    try:
        done = subprocess.run(  # no optional locks: `git status` would otherwise refresh the user's index
            ["git", "--no-optional-locks", "-C", str(Path(__file__).resolve().parent), *args], capture_output=True,
            text=True, encoding="utf-8", errors="replace", timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def source_revision() -> str:
    """The git commit swapnas's code runs from, where it runs from a git checkout that tracks it (an editable
    install), with ``+modified`` where its tracked files under ``src/swapnas`` differ from that commit; '' elsewhere
    (a wheel, a tree git does not track, no git). The version alone did not tell two sessions' code apart."""
    if _git("ls-files", "--error-unmatch", "__init__.py") is None:  # not this package's own checkout
        return ""
    head, changed = _git("rev-parse", "--short=12", "HEAD"), _git("status", "--porcelain", "--untracked-files=no",
                                                                  "--", ".")
    if not head:
        return ""
    return head + ("+modified" if changed else "")


def _cwd() -> dict[str, str]:
    """``{"cwd": the working folder}`` (:func:`_shown`); nothing where it was deleted under the process."""
    try:
        return {"cwd": _shown(Path.cwd())}
    except OSError:
        return {}


def _shown(path: Path) -> str:
    """An absolute ``path`` as text, ``~/…`` under the home folder (no user name in a shared file), its undecodable
    bytes escaped as the command's."""
    try:
        inside = path.relative_to(Path.home()).as_posix()
    except (ValueError, RuntimeError, KeyError, OSError):  # not under it, or no home folder known
        return _decoded(str(path))
    return _decoded("~" if inside == "." else f"~/{inside}")


#: the environment variables swapnas reads that change what a command reads or where it runs, paths among them
#: (session 68: a run's $SWAPNAS_DATA was recorded nowhere, though another bundle gives other numbers)
ENVIRONMENT = {"SWAPNAS_DATA": True, "XDG_DATA_HOME": True, "SWAPNAS_WORKERS": False, "RAY_ADDRESS": False}


def _environment() -> dict[str, dict[str, str]]:
    """``{"environment": each of :data:`ENVIRONMENT` that is set}``, an absolute path as :func:`_shown`; nothing where
    none is."""
    found = {k: os.environ[k].strip() for k in ENVIRONMENT if os.environ.get(k, "").strip()}
    shown = {k: _shown(Path(v)) if ENVIRONMENT[k] and Path(v).is_absolute() else _decoded(v) for k, v in found.items()}
    return {"environment": shown} if shown else {}


@functools.cache
def source_digest() -> str:
    """The sha256 (its first 16 hex digits) of swapnas's own source, every readable ``.py`` file under the package
    (dot files left out) by its path there and its bytes: which code made an output where no git commit says so (a
    wheel, a copied tree; session 68: two installs of other code gave equal provenance), and whether two checkouts
    ran the same code."""
    root, digest = Path(__file__).parent, hashlib.sha256()
    for f in sorted(root.rglob("*.py"), key=lambda f: f.relative_to(root).as_posix()):
        try:  # (the review: an editor's dangling `.#results.py` link ended a correlate after its scoring)
            text = f.read_bytes() if f.is_file() and not f.name.startswith(".") else None
        except OSError:
            text = None
        if text is not None:
            digest.update(f.relative_to(root).as_posix().encode() + b"\0" + text + b"\0")
    return digest.hexdigest()[:16]


def provenance(device: str | None = None, threads: int | None = None) -> dict:
    """Who made an output file: swapnas, torch, numpy, scipy and Python versions, the command line, the folder it ran
    in (``cwd``: the command's relative paths are relative to it; session 59), the settings it read from the
    environment (``environment``: :data:`ENVIRONMENT`, those set; session 68), the time (UTC); ``source``: the git
    commit of swapnas's code where it runs from a checkout (:func:`source_revision`), ``code``: the digest of its
    source files (:func:`source_digest`); ``device``, where the scores were made (given by the commands that
    score: correlate, conformance, grid and search since session 67); ``threads``, torch's, where the numbers depend
    on them (``train`` on a CPU: its sums are ordered by them; session 68; the scoring processes' of the commands
    that score: session 70)."""
    source = source_revision()
    return {"swapnas": __version__, **({"source": source} if source else {}), "code": source_digest(),
            "torch": torch.__version__, "numpy": np.__version__, "scipy": _version("scipy"),
            "python": platform.python_version(), "command": command_line(), **_cwd(), **_environment(),
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **({"device": device} if device else {}), **({"threads": threads} if threads is not None else {})}
