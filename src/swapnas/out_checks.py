"""OUT checked before a command runs: a folder that can be written, not another command's, not held by another
job (out of :mod:`.cli.commands` in session 56, when it passed 450 lines; out of :mod:`.cli` in session 65, when the
typed ``run_*`` functions and ``export`` took the same checks, :func:`api_out`: they replaced another command's
outputs, and ``out=""`` wrote into the current folder)."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

from .bundle import resolve_data_dir
from .files import refuse_taken

#: the file a command's --out folder always holds: a folder holding another command's is that run's (session 49)
OWN_FILES = {"correlate": "results.json", "grid": "grid.json", "conformance": "conformance.json",
             "search": "state.json", "train": "history.json"}


#: the other text files a command writes in OUT under fixed names: in a folder holding no :data:`OWN_FILES` entry
#: and none of these of swapnas's making (:func:`_ours`), one of them is someone's own file, which the run would
#: replace (session 58; since session 59 one of swapnas's making marks the folder as a run's, its other files too)
WRITES = {"correlate": ("results.csv", "report.md", "results.tex"), "grid": ("grid.md", "grid.tex", "report.md"),
          "conformance": ("conformance.md",), "search": ("result.json", "report.md"), "train": ("result.json",)}


def _ours(path: Path) -> bool:
    """Whether ``path`` reads as a swapnas output: a JSON document with swapnas's provenance, or a report that says
    which swapnas command made it in its first lines (a finished search whose state.json was deleted to restart it
    keeps its result.json and report.md: the review of session 58)."""
    try:
        if path.suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            return isinstance(doc, dict) and isinstance(doc.get("provenance"), dict) and "swapnas" in doc["provenance"]
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(4096)
    except (OSError, ValueError, RecursionError):  # (a JSON nested past Python's limit: session 67)
        return False
    return ("Made by `" in head and "(swapnas " in head) or (head.startswith(("% made by:", "Produced by:"))
                                                            and "swapnas" in head)  # (results.tex / grid.tex, grid.md)


def owner(folder: Path) -> str | None:
    """The command whose outputs ``folder`` holds (None: none of them)."""
    return next((c for c, f in OWN_FILES.items() if (folder / f).is_file()), None)


def _flags(args: argparse.Namespace | SimpleNamespace) -> tuple[str, str]:
    """How OUT and the store are named in a message: ``--out X`` on the command line, ``out=X`` from Python."""
    return getattr(args, "flags", ("--out ", "--store "))


def out_folder(args: argparse.Namespace | SimpleNamespace) -> Path:
    """``--out``, checked before anything runs: a folder to write (created later if missing), not a file, and one
    that can be made or written here (the nearest existing folder on its path is writable), so that no run scores
    every arch and then fails to write its outputs."""
    out, said = Path(args.out), _flags(args)[0]
    try:
        if out.exists() and not out.is_dir():
            raise ValueError(f"{said}{out} is a file; give a folder for the outputs (it is created if missing)")
        near = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    except OSError as exc:  # e.g. a name too long for the file system
        raise ValueError(f"{said}{out}: {exc.strerror}; give another folder for the outputs") from None
    if not near.is_dir():
        raise ValueError(f"{said}{out}: {near} is a file, so the folder cannot be made; give another folder")
    _refuse_long_names(out, near, said)
    try:  # a real write, not os.access: root passes the permission bits of /sys or a read-only mount
        tempfile.TemporaryFile(dir=near).close()
    except OSError as exc:
        raise ValueError(f"{said}{out}: {'it' if near == out else f'the folder {near}'} is not writable "
                         f"({exc.strerror}); give a folder you can write") from None
    command = getattr(args, "command", None)
    if command in OWN_FILES:
        _refuse_others_files(args, out, command)
    _refuse_in_bundle(args, out)
    return out


def _refuse_long_names(out: Path, near: Path, said: str = "--out ") -> None:
    """A folder name to be made under ``near`` longer than its file system takes (session 59: ``--out
    /tmp/new/<300 characters>/run`` passed the checks, then failed at the store's folder, naming a store never made)."""
    try:
        most = os.pathconf(near, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows) or no such limit: the OS says it later
        return
    if most <= 0:  # (-1: no limit)
        return
    for part in out.relative_to(near).parts if out != near else ():
        if len(os.fsencode(part)) > most:
            size = len(os.fsencode(part))
            raise ValueError(f"{said}{out}: the folder name {part[:40]}… is {size} bytes, more than the {most} a "
                             "name takes on this file system; give a shorter folder name")


def _refuse_others_files(args: argparse.Namespace | SimpleNamespace, out: Path, command: str) -> None:
    """OUT holding another command's outputs, or a file of the user's that ``command`` would replace."""
    said = _flags(args)[0]
    if (other := owner(out)) not in (None, command):
        raise ValueError(f"{said}{out} holds the outputs of `swapnas {other}` ({OWN_FILES[other]}): {command} would "
                         "replace its report and mix its scores into that folder's store; give another folder")
    present = [n for n in WRITES[command] if (out / n).exists()]
    ours = [n for n in present if _ours(out / n)]  # one of them ours: the folder is a run's (its results.csv too)
    if other is None and getattr(args, "shard", None) is None and not ours and present:
        mine = present[0]
        raise ValueError(f"{said}{out} holds {mine}, which `swapnas {command}` writes, but no {OWN_FILES[command]} of "
                         f"an earlier {command} run: it looks like a file of your own, which the run would replace; "
                         f"give another folder, or move {mine} away")


#: the data bundle's own folders (SOURCES.md): a run's outputs inside one of them, or in the bundle's top folder
#: itself, are refused; elsewhere under it (a bundle kept in a project's folder, `--data-dir .`) they are taken
BUNDLE_FOLDERS = ("darts", "flexibert", "images", "nb101", "nb201", "nb301", "transnas")


def _refuse_in_bundle(args: argparse.Namespace | SimpleNamespace, out: Path) -> None:
    """``--out`` or ``--store`` in the data bundle (``--data-dir``, ``$SWAPNAS_DATA`` or the user default): its top
    folder or one of its :data:`BUNDLE_FOLDERS` is refused: the bundle is only read, and is every later run's input
    (session 56's audit wrote into it as root); so is one in a folder that looks like a bundle (:func:`_bundle_holding`:
    session 62's audit wrote a train run into one, the command naming no bundle)."""
    for said, path, a_file in zip(_flags(args), (out, getattr(args, "store", None)), (False, True)):
        if path is not None and (bundle := _bundle_holding(Path(path), getattr(args, "data_dir", None),
                                                           a_file=a_file)) is not None:
            raise ValueError(f"{said}{path} is inside the data bundle {bundle}, which swapnas only reads: give a "
                             f"{'file' if a_file else 'folder'} outside it")


def _bundle_holding(path: Path, data_dir: str | None, a_file: bool) -> Path | None:
    """The bundle (the one the command reads, or a folder around ``path`` that looks like one: SOURCES.md beside two
    of its data folders) whose top folder is ``path`` (holds it, for ``a_file``) or one of whose data folders holds
    it; None where none does (a bundle kept in a project's folder leaves the project's other folders writable)."""
    where = path.resolve()
    around = [p for p in (where, *where.parents)
              if (p / "SOURCES.md").is_file() and sum((p / f).is_dir() for f in BUNDLE_FOLDERS) >= 2]
    return next((b for b in (_bundle(data_dir), *around) if b is not None and (
        where == b or (a_file and where.parent == b) or any(where.is_relative_to(b / f) for f in BUNDLE_FOLDERS))),
        None)


def _bundle(data_dir: str | None) -> Path | None:
    try:
        return resolve_data_dir(data_dir).resolve()
    except (OSError, ValueError):  # no bundle found: the command says so itself, if it reads one
        return None


def refuse_file_in_bundle(flag: str, path: str | os.PathLike) -> None:
    """A file a command writes (``export --out``, ``store salvage --out``) inside the data bundle the commands would
    read (``$SWAPNAS_DATA`` or the user default), or one that looks like a bundle, is refused as a run's ``--store``
    is (:func:`_bundle_holding`; session 62: the export replaced NASLib's file there, and every later conformance
    run failed on it)."""
    if (bundle := _bundle_holding(Path(path), None, a_file=True)) is not None:
        raise ValueError(f"{flag} {path} is inside the data bundle {bundle}, which swapnas only reads: give a file "
                         "outside it")


def api_out(command: str, out: str | os.PathLike, data_dir: str | os.PathLike | None = None,
            store: str | os.PathLike | None = None) -> Path:
    """:func:`out_folder` for a typed ``run_*`` function of ``command`` (session 65: ``run_train`` replaced a search's
    result.json, ``out=""`` wrote into the current folder): the command's checks, the message naming ``out=``."""
    if not isinstance(out, (str, os.PathLike)) or not os.fspath(out):
        raise ValueError(f"out={out!r}: give the output folder, a str or os.PathLike (not an empty one: that would be "
                         "the current folder)")
    return out_folder(SimpleNamespace(out=os.fspath(out), command=command, data_dir=data_dir, store=store,
                                      flags=("out=", "store=")))


def refuse_export_target(flag: str, out: str | os.PathLike) -> None:
    """An export's file inside the data bundle (:func:`refuse_file_in_bundle`), or one that replaces a file of another
    command's OUT (``--out`` on the command line; ``out=`` from :func:`swapnas.export.export` since session 65)."""
    refuse_file_in_bundle(flag, out)
    if Path(out).is_file() and (other := owner(Path(out).parent)) is not None:
        raise ValueError(f"{flag} {out} is in the output folder of `swapnas {other}` ({OWN_FILES[other]}) and would "
                         "replace one of its files: give another path for the export")


def refuse_busy_out(args: argparse.Namespace, what: str) -> None:
    """OUT held by another job (not a shard's: shards share OUT and take no lock) is refused as the command starts,
    before its inputs load (:func:`swapnas.files.refuse_taken`)."""
    if getattr(args, "shard", None) is None:
        refuse_taken(Path(args.out), what)


__all__ = ["OWN_FILES", "api_out", "out_folder", "owner", "refuse_busy_out", "refuse_export_target",
           "refuse_file_in_bundle"]
