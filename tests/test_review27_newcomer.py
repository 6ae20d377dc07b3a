"""Session-27 newcomer review: adding a metric and a space by the docs.

Before: a space registered under a name other than its ``NAME`` was accepted (store keys and reports then
disagree); ``swapnas search`` on a space without a recommended fitness printed its warning twice; the docs'
count of registered proxies could go stale unnoticed; a relative ``--data-dir`` that does not exist was named
without the folder it was read from.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from swapnas.bundle import resolve_data_dir
from swapnas.cli import main
from swapnas.spaces import SPACES, SpaceError, get_space

REPO = Path(__file__).resolve().parents[1]


def test_a_space_registered_under_another_name_is_refused(monkeypatch) -> None:
    monkeypatch.setitem(SPACES, "toy2", "tests.toy_space")
    with pytest.raises(SpaceError, match=r"space 'toy2' \(tests.toy_space\) has NAME 'toy': its line in "
                                         r"swapnas.spaces.SPACES must use the same name \('toy': 'tests.toy_space'\)"):
        get_space("toy2")
    monkeypatch.setitem(SPACES, "toy", "tests.toy_space")
    assert get_space("toy").NAME == "toy"


def test_search_warns_once_that_a_space_recommends_no_fitness(small_bundle, tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.setitem(SPACES, "toy", "tests.toy_space")
    caplog.set_level("WARNING")
    code = main(["search", "--space", "toy", "--dataset", "cifar10", "--population", "3", "--sample", "2",
                 "--mutations", "1", "--cycles", "0", "--device", "cpu", "--data-dir", str(small_bundle),
                 "--out", str(tmp_path / "toy"), "--no-progress", "-q"])
    assert code == 0
    assert sum("recommends no fitness" in r.getMessage() for r in caplog.records) == 1


def test_no_doc_counts_the_registered_proxies() -> None:
    """Session 53: a newcomer's metric made this test (then a check of "all N registered proxies" against the
    registry) fail until five lines of four docs were edited, one a dated record in reliability.md. The docs now say
    "every registered proxy" (``swapnas proxies`` lists them); only reliability.md's records, history, may quote a
    count."""
    counts = [f"{path.name}: {m.group(0)}" for path in (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))
              if path.name != "reliability.md"
              for m in re.finditer(r"all \d+ registered proxies", " ".join(path.read_text().split()))]
    assert counts == [], "say 'every registered proxy' (`swapnas proxies` lists them): a count goes stale"


def test_a_relative_data_dir_that_does_not_exist_names_where_it_was_looked_for(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=re.escape(f"data directory ../nodata does not exist (looked for "
                                                          f"{(tmp_path / '..' / 'nodata').resolve()}: a relative")):
        resolve_data_dir("../nodata")
    with pytest.raises(FileNotFoundError, match=r"data directory /no/such/dir does not exist; it should hold"):
        resolve_data_dir("/no/such/dir")
