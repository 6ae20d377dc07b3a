"""Tests written against the survivors of session 38's mutation run of ``swapnas.files`` (docs/reliability.md,
"Session 38"): a temporary name already taken (drawn again, the other file untouched), an OUT folder whose parents
do not exist yet, two threads locking two different folders, the other-thread refusal in full, and the refusal
when the holder wrote no pid.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from swapnas import files
from swapnas.files import out_lock, write_atomic

from .message_tools import exact
from .process_helpers import lock_in_thread


def test_a_temporary_name_already_taken_is_drawn_again_and_left_alone(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "scores.json"
    taken = tmp_path / f".scores.json.{os.getpid()}.aaaa.tmp"
    taken.write_bytes(b"another writer's")
    drawn = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(files.secrets, "token_hex", lambda n: next(drawn))
    write_atomic(target, lambda f: f.write(b"mine"))
    assert target.read_bytes() == b"mine"
    assert taken.read_bytes() == b"another writer's"  # not opened, not renamed
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, taken.name])


def test_the_lock_makes_the_out_folder_with_its_parents(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "nb201" / "seed0"
    with out_lock(out):
        assert (out / ".lock").read_text() == f"{os.getpid()} search"


def test_two_threads_lock_two_folders_and_not_one(tmp_path: Path) -> None:
    seen = []
    with lock_in_thread(tmp_path / "a"):
        with out_lock(tmp_path / "b"):  # another folder: free
            pass
        try:
            with out_lock(tmp_path / "a", "train"):
                pass
        except ValueError as e:
            seen.append(str(e))
    # the holder's job is named (a search holds it), not the asker's (session 52: a grid was told a grid held it)
    assert seen == [f"another swapnas search is using {tmp_path / 'a'} (another thread of this process, pid "
                    f"{os.getpid()}); wait for it or use another --out"]


def test_a_holder_that_wrote_no_pid_is_named_unknown(tmp_path: Path) -> None:
    with open(tmp_path / ".lock", "a+") as f:  # another open file: flock refuses it like another process
        fcntl.flock(f, fcntl.LOCK_EX)
        with pytest.raises(ValueError, match=exact(f"another swapnas search is using {tmp_path} (pid unknown); wait "
                                                   "for it or use another --out")):
            with out_lock(tmp_path):
                pass


def test_a_refusal_names_the_job_that_holds_out(tmp_path: Path) -> None:
    """The lock file holds the holder's pid and job; one of before session 52 holds the pid alone."""
    with out_lock(tmp_path, "correlate"):
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()} correlate"
    with open(tmp_path / ".lock", "w") as f:  # another process's lock: flock refuses another open file the same way
        f.write("4242 grid")
        f.flush()
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ValueError, match=exact(f"another swapnas grid is using {tmp_path} (pid 4242); wait for it "
                                                   "or use another --out")):
            with out_lock(tmp_path, "correlate"):
                pass
