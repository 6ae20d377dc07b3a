"""Session 67: leftovers of session 66 (each test failed on the code as found)."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from swapnas import cli
from tests.test_faults_store import _damage_page, _fake_store


@pytest.mark.parametrize("action", ["accept-code", "merge"])
def test_a_damaged_store_given_as_an_argument_is_not_advised_a_fresh_store(
        tmp_path: Path, capsys: pytest.CaptureFixture, action: str) -> None:
    """`store accept-code STORE` and `store merge SOURCE` on a damaged store advised "start a fresh store with --store
    NEW.sqlite": a flag neither takes, and no cure for a store whose scores are wanted; the backup and the salvage
    stay."""
    store = tmp_path / "scores.sqlite"
    _fake_store(store, 300)
    _damage_page(store, "x-arch-00150-", 0x0D)
    argv = {"accept-code": [str(store)], "merge": [str(store), "--into", str(tmp_path / "m.sqlite")]}[action]
    assert cli.main(["--json", "store", action, *argv]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error == (f"the score store {store} is damaged (database disk image is malformed); restore it from a "
                     f"backup, or copy every readable score into a new store with `swapnas store salvage {store} "
                     "--out NEW.sqlite`")
    assert not (tmp_path / "m.sqlite").exists()


def test_a_source_damaged_mid_merge_is_not_advised_a_fresh_store(tmp_path: Path) -> None:
    """A source that fails to read to the end during the merge: its advice named --store NEW.sqlite too."""
    from swapnas import store_merge

    def damaged_rows() -> Iterator[tuple]:
        yield ("a",)
        raise sqlite3.DatabaseError("database disk image is malformed")

    source = tmp_path / "s.sqlite"
    with pytest.raises(store_merge._SourceError) as got:
        list(store_merge._read(damaged_rows(), source))
    assert str(got.value) == (f"the source store {source} could not be read to the end (database disk image is "
                              "malformed); nothing of it was merged: restore it from a backup, or copy every readable "
                              f"score into a new store with `swapnas store salvage {source} --out NEW.sqlite`, then "
                              "merge the salvaged store")


def test_a_worker_error_of_several_lines_keeps_them_all() -> None:
    """A DataLoader worker's error whose message has several lines was cut to its last line (the traceback's last
    line): "its header says 0 x 0 pixels" without the file it is about."""
    from swapnas.train.data import _unwrapped
    from tests.test_rereview66 import _as_torch_reraises

    message = "cannot read image 3.JPEG\nits header says 0 x 0 pixels"
    got = _unwrapped(_as_torch_reraises(ValueError(message)))
    assert type(got) is ValueError and str(got) == message
    one = _unwrapped(_as_torch_reraises(OSError("disk read failed")))
    assert type(one) is OSError and str(one) == "disk read failed"
