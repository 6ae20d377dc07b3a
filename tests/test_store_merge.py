"""``swapnas store merge`` (session 51: grid shards run on machines without a shared file system could only be
combined by hand in SQLite): every row of the sources into one store by the rule of a run's own writes, except that a
stored score stays."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from swapnas.store import Record, ScoreKey, ScoreStore, StoreError
from swapnas.store_merge import merge_stores, merge_text
from tests.test_validation import run_cli


def _key(arch: str, proxy: str = "swap") -> ScoreKey:
    return ScoreKey("nb201", arch, proxy, "fp1", 0, 16, 1, "C=16")


def _ok(value: float) -> Record:
    return Record("ok", value, 0.0, [value], 0.5, None, None)


FAILED = Record("failed", None, None, [], 0.1, None, "RuntimeError: out of memory")


def _store(path: Path, rows: dict[ScoreKey, Record], protocols: tuple[str, ...] = ("fp1",)) -> Path:
    with ScoreStore(path) as s:
        for fp in protocols:
            s.add_protocol(fp, {"dataset": "cifar10", "fp": fp})
        for key, rec in rows.items():
            s.put(key, rec)
    return path


def _values(path: Path) -> dict[tuple, tuple]:
    with ScoreStore(path, read_only=True) as s:
        return {(r["arch"], r["proxy"]): (r["status"], r["value"], r["error"]) for r in s.rows()}


def test_two_shards_into_a_new_store_and_a_failure_replaced_by_a_score(tmp_path: Path) -> None:
    a = _store(tmp_path / "a.sqlite", {_key("x"): _ok(3.0), _key("y"): FAILED})
    b = _store(tmp_path / "b.sqlite", {_key("y"): _ok(5.0), _key("z"): _ok(7.0), _key("x", "params"): _ok(9.0)},
               protocols=("fp1", "fp2"))
    merged = merge_stores([a, b], tmp_path / "new" / "all.sqlite")
    assert (merged.added, merged.replaced, merged.kept, merged.differing, merged.protocols) == (4, 1, 0, 0, 2)
    assert _values(tmp_path / "new" / "all.sqlite") == {
        ("x", "swap"): ("ok", 3.0, None), ("y", "swap"): ("ok", 5.0, None), ("z", "swap"): ("ok", 7.0, None),
        ("x", "params"): ("ok", 9.0, None)}
    assert _values(a)[("y", "swap")][0] == "failed"  # the sources are only read
    assert merge_text(merged) == (f"merged 2 stores into {tmp_path / 'new' / 'all.sqlite'}: 4 rows added, 1 failures "
                                  "replaced by scores, 0 already there; 2 protocols")


def test_a_score_in_the_target_stays_and_a_differing_one_is_counted(tmp_path: Path) -> None:
    into = _store(tmp_path / "into.sqlite", {_key("x"): _ok(3.0), _key("y"): _ok(4.0), _key("w"): FAILED})
    src = _store(tmp_path / "src.sqlite", {_key("x"): _ok(3.0), _key("y"): _ok(4.5), _key("w"): FAILED,
                                           _key("v"): FAILED})
    merged = merge_stores([src], into)
    assert (merged.added, merged.replaced, merged.kept, merged.differing) == (1, 0, 3, 1)
    assert _values(into)[("y", "swap")] == ("ok", 4.0, None) and _values(into)[("v", "swap")][0] == "failed"
    assert merge_text(merged).endswith(f"\n  1 score(s) a source gives another value were kept as {into} had them "
                                       "(other code or hardware made them: `swapnas export` both to compare)")
    again = merge_stores([src], into)  # merging twice changes nothing
    assert (again.added, again.replaced, again.kept, again.differing) == (0, 0, 4, 1)


def test_a_failure_in_one_source_and_a_score_in_a_later_one(tmp_path: Path) -> None:
    first = _store(tmp_path / "1.sqlite", {_key("x"): FAILED})
    second = _store(tmp_path / "2.sqlite", {_key("x"): _ok(2.0)})
    third = _store(tmp_path / "3.sqlite", {_key("x"): _ok(2.5)})
    merged = merge_stores([first, second, third], tmp_path / "m.sqlite")
    assert (merged.added, merged.replaced, merged.kept, merged.differing) == (1, 1, 1, 1)
    assert _values(tmp_path / "m.sqlite") == {("x", "swap"): ("ok", 2.0, None)}


def test_bad_sources_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    a = _store(tmp_path / "a.sqlite", {_key("x"): _ok(1.0)})
    with pytest.raises(StoreError, match="is given twice"):
        merge_stores([a, a], tmp_path / "m.sqlite")
    with pytest.raises(StoreError, match="is given twice"):
        merge_stores([a], a)
    text = tmp_path / "t.csv"
    text.write_text("arch,acc\n" + "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|,91.5\n" * 3)
    with pytest.raises(StoreError, match="is a text file"):
        merge_stores([a, text], tmp_path / "m.sqlite")
    with pytest.raises(StoreError, match="no score store at"):
        merge_stores([tmp_path / "none.sqlite"], tmp_path / "m.sqlite")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE scores (a, b)")
    with pytest.raises(StoreError, match="not a swapnas score store"):
        merge_stores([a, other], tmp_path / "m2.sqlite")
    assert not (tmp_path / "m.sqlite").exists() and not (tmp_path / "m2.sqlite").exists()


def test_the_command_line_merges_and_prints_json(tmp_path: Path, capsys) -> None:
    a = _store(tmp_path / "a.sqlite", {_key("x"): _ok(1.0)})
    b = _store(tmp_path / "b.sqlite", {_key("y"): _ok(2.0)})
    code, out, _ = run_cli(["store", "merge", str(a), str(b), "--into", str(tmp_path / "m.sqlite")], capsys)
    assert code == 0 and out.startswith("merged 2 stores into ")
    code, out, _ = run_cli(["store", "merge", str(a), "--into", str(tmp_path / "m.sqlite"), "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and (doc["added"], doc["kept"], doc["sources"]) == (0, 1, [str(a)])


def test_each_source_is_compared_with_what_the_target_keeps(tmp_path: Path) -> None:
    into = _store(tmp_path / "into.sqlite", {_key("x"): _ok(3.0)})
    one = _store(tmp_path / "1.sqlite", {_key("x"): _ok(4.0)})
    two = _store(tmp_path / "2.sqlite", {_key("x"): _ok(4.0)})
    merged = merge_stores([one, two], into)
    assert (merged.kept, merged.differing) == (2, 2) and _values(into)[("x", "swap")][1] == 3.0
