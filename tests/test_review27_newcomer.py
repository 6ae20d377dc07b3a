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
from swapnas.proxies import list_proxies
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


def test_the_docs_count_of_registered_proxies_is_the_registry_s() -> None:
    counts = {f"{path.name}:{m.group(0)}": int(m.group(1))
              for path in (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))
              for m in re.finditer(r"all (\d+) registered proxies", " ".join(path.read_text().split()))}
    assert counts, "the README and docs/grid.md name the number of registered proxies"
    wrong = {k: v for k, v in counts.items() if v != len(list_proxies())}
    assert wrong == {}, f"the registry has {len(list_proxies())} proxies: update {sorted(wrong)}"


def test_a_relative_data_dir_that_does_not_exist_names_where_it_was_looked_for(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=re.escape(f"data directory ../nodata does not exist (looked for "
                                                          f"{(tmp_path / '..' / 'nodata').resolve()}: a relative")):
        resolve_data_dir("../nodata")
    with pytest.raises(FileNotFoundError, match=r"data directory /no/such/dir does not exist; it should hold"):
        resolve_data_dir("/no/such/dir")
