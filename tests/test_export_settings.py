"""``swapnas export``: one score per (arch, proxy) in NASLib's layout, never a silent overwrite.

Regression tests for review findings (session 15): scores of one arch under two networks (same
protocol fingerprint) used to overwrite each other in naslib-zc; ``--protocol`` was ignored by csv and
accepted an unknown fingerprint; ``--out`` could name the store itself (replaced by the CSV) or a folder.
"""

from __future__ import annotations

import csv
import json

import pytest

from swapnas.cli import main
from swapnas.store import Record, ScoreKey, ScoreStore

ARCHS = ("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|",
         "|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|")


def _store(path, settings) -> None:
    """Scores of every arch under each (protocol, net, value offset) of ``settings``."""
    with ScoreStore(path) as store:
        for protocol, net, offset in settings:
            for i, arch in enumerate(ARCHS):
                key = ScoreKey("nb201", arch, "swap@1", protocol, 0, 8, 1, net)
                store.put(key, Record("ok", offset + i, 0.0, [offset + i], 0.5, None, None))


def test_two_networks_under_one_fingerprint_are_refused_with_the_fix(tmp_path, capsys) -> None:
    store = tmp_path / "s.sqlite"
    _store(store, [("fp1", '{"C": 4}', 100.0), ("fp1", '{"C": 8}', 200.0)])
    assert main(["export", str(store), "--format", "naslib-zc", "--out", str(tmp_path / "zc.json")]) == 2
    err = capsys.readouterr().err
    assert "two settings" in err and '{"C": 4}' in err and '{"C": 8}' in err and "--format csv" in err
    assert not (tmp_path / "zc.json").exists()
    assert main(["export", str(store), "--format", "csv", "--out", str(tmp_path / "s.csv")]) == 0
    assert len(list(csv.DictReader((tmp_path / "s.csv").open()))) == 4  # csv keeps every row


def test_protocol_picks_one_fingerprint_in_both_formats_and_an_unknown_one_is_named(tmp_path, capsys) -> None:
    store = tmp_path / "s.sqlite"
    _store(store, [("fp1", '{"C": 4}', 100.0), ("fp2", '{"C": 4}', 200.0)])
    zc = tmp_path / "zc.json"  # since session 52 each fingerprint's scores go under its dataset (here: unnamed)
    assert main(["export", str(store), "--format", "naslib-zc", "--out", str(zc)]) == 0
    assert sorted(json.loads(zc.read_text())["nb201"]) == ["protocol fp1", "protocol fp2"]
    assert main(["export", str(store), "--format", "naslib-zc", "--protocol", "fp2", "--out", str(zc)]) == 0
    doc = json.loads(zc.read_text())["nb201"]
    assert list(doc) == ["protocol fp2"] and sorted(v["swap"]["score"] for v in doc["protocol fp2"].values()) == [
        200.0, 201.0]
    assert main(["export", str(store), "--protocol", "fp1", "--out", str(tmp_path / "s.csv")]) == 0
    assert {r["protocol"] for r in csv.DictReader((tmp_path / "s.csv").open())} == {"fp1"}
    assert main(["export", str(store), "--protocol", "nope", "--out", str(tmp_path / "x.csv")]) == 2
    assert "its fingerprints: fp1, fp2" in capsys.readouterr().err


@pytest.mark.parametrize("which", ["store", "folder", "empty"])
def test_bad_out_or_store_is_refused_and_the_store_kept(tmp_path, capsys, which) -> None:
    store = tmp_path / "s.sqlite"
    _store(store, [("fp1", '{"C": 4}', 100.0)])
    out = {"store": store, "folder": tmp_path, "empty": tmp_path / "x.csv"}[which]
    src = store
    if which == "empty":
        src = tmp_path / "empty.sqlite"
        src.write_bytes(b"")
    assert main(["export", str(src), "--out", str(out)]) == 2
    assert {"store": "is the store itself", "folder": "is a folder", "empty": "an empty file"}[which] in \
        capsys.readouterr().err
    with ScoreStore(store) as kept:
        assert len(kept.rows()) == 2
