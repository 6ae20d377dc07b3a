"""``export --format naslib-zc`` writes one key per arch: archs NASLib's encoding writes alike are refused, an arch
it cannot encode keeps our string;
``store check`` calls a database whose scores table has other columns "not a store", not damaged."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

from swapnas.export import export
from swapnas.spaces import get_space
from swapnas.store import Record, ScoreKey, ScoreStore
from swapnas.store_tools import check_store
from tests.test_store_sharing import foreign_database


def _two_concats(tmp_path: Path) -> tuple[Path, str, str]:
    """A store with one DARTS genotype and the same cells with another normal concat, scored 1.0 and 2.0."""
    darts = get_space("darts")
    g = darts.sample(random.Random(0))
    a, b = str(g), str(darts.parse(str(dataclasses.replace(g, normal_concat=[2, 3, 4]))))
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as s:
        for arch, v in ((a, 1.0), (b, 2.0)):
            s.put(ScoreKey("darts", arch, "params@1", "fp0", 0, 16, 1, "{}"), Record("ok", v, 0.0, [v], 0.1, None, None))
    return path, a, b


def test_a_darts_arch_naslib_cannot_encode_is_written_under_its_own_string(tmp_path: Path) -> None:
    # NASLib's key has no concat: since session 25 to_naslib refuses a non-default one (it used to drop it, so two
    # genotypes shared one key and the export was refused); the export then keeps our string, as for a 'none' op
    darts = get_space("darts")
    path, a, b = _two_concats(tmp_path)
    with pytest.raises(ValueError, match="which the key cannot hold"):
        darts.to_naslib(darts.parse(b))
    doc = json.loads(export(path, tmp_path / "zc.json", "naslib-zc").read_text())["darts"]
    (doc,) = doc.values()  # one dataset
    assert doc == {darts.to_naslib(darts.parse(a)): {"params": {"score": 1.0, "time": 0.1}},
                   b: {"params": {"score": 2.0, "time": 0.1}}}


def test_two_archs_that_naslib_writes_alike_are_refused(tmp_path: Path, monkeypatch) -> None:
    from swapnas import export as exp

    path, _, _ = _two_concats(tmp_path)
    monkeypatch.setattr(exp, "_arch_key", lambda space, arch: "one NASLib key")  # an encoding that loses a difference
    with pytest.raises(ValueError, match="both written one NASLib key in NASLib's encoding"):
        export(path, tmp_path / "zc.json", "naslib-zc")
    assert export(path, tmp_path / "all.csv", "csv").read_text().count("\n") == 3  # csv keeps both


def test_store_check_on_a_scores_table_with_other_columns_is_not_a_store(tmp_path: Path) -> None:
    path = foreign_database(tmp_path / "other.sqlite", "CREATE TABLE scores (a INTEGER, b TEXT)")
    with pytest.raises(ValueError, match="not a swapnas score store .*a scores table with other columns"):
        check_store(path)
