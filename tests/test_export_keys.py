"""``export --format naslib-zc`` writes one key per arch: archs NASLib's encoding writes alike are refused;
``store check`` calls a database whose scores table has other columns "not a store", not damaged."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from swapnas.export import export
from swapnas.spaces import get_space
from swapnas.store import Record, ScoreKey, ScoreStore
from swapnas.store_tools import check_store
from tests.test_store_sharing import foreign_database


def test_two_darts_archs_that_naslib_writes_alike_are_refused(tmp_path: Path) -> None:
    darts = get_space("darts")
    g = darts.sample(random.Random(0))
    a, b = str(g), str(darts.parse(str(dataclasses.replace(g, normal_concat=[2, 3, 4]))))
    assert a != b and darts.to_naslib(darts.parse(a)) == darts.to_naslib(darts.parse(b))  # concat is not encoded
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as s:
        for arch, v in ((a, 1.0), (b, 2.0)):
            s.put(ScoreKey("darts", arch, "params@1", "fp0", 0, 16, 1, "{}"), Record("ok", v, 0.0, [v], 0.1, None, None))
    with pytest.raises(ValueError, match="both written .* in NASLib's encoding"):
        export(path, tmp_path / "zc.json", "naslib-zc")
    assert export(path, tmp_path / "all.csv", "csv").read_text().count("\n") == 3  # csv keeps both


def test_store_check_on_a_scores_table_with_other_columns_is_not_a_store(tmp_path: Path) -> None:
    path = foreign_database(tmp_path / "other.sqlite", "CREATE TABLE scores (a INTEGER, b TEXT)")
    with pytest.raises(ValueError, match="not a swapnas score store .*a scores table with other columns"):
        check_store(path)
