"""``swapnas export`` (export.py): each refusal whole, the keys of spaces without NASLib's encoding, failures skipped
without ending the export, an existing --out replaced, nested folders made, and the store left as it was (session
41's mutation run: docs/reliability.md)."""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from pathlib import Path

from swapnas.export import export
from swapnas.spaces import nb201
from swapnas.store import Record, ScoreKey, ScoreStore

from .message_tools import refusal

NB201 = ("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|",
         "|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|")
FLEXI = "h256|SA.WMA.h8.f1024x3|LT.DCT.h4.f512x1|LT.DFT.h2.f1024x1|LT.DFT.h8.f512x3"


def _ok(value: float) -> Record:
    return Record("ok", value, 0.0, [value], 0.5, None, None)


def _put(path: Path, rows: list[tuple[ScoreKey, Record]], protocols: dict[str, dict] | None = None) -> Path:
    with ScoreStore(path) as store:
        for key, rec in rows:
            store.put(key, rec)
        for fp, desc in (protocols or {}).items():
            store.add_protocol(fp, desc)
    return path


def _key(space: str = "nb201", arch: str = NB201[0], protocol: str = "fp1", repeats: int = 1,
         net: str = '{"C": 4}') -> ScoreKey:
    return ScoreKey(space, arch, "swap@1", protocol, 0, 8, repeats, net)


def test_unknown_format_and_a_folder_named_whole(tmp_path):
    store = _put(tmp_path / "s.sqlite", [(_key(), _ok(1.0))])
    assert refusal(ValueError, lambda: export(store, tmp_path / "x", "json")) == (
        "unknown export format 'json'; choose one of csv, naslib-zc")
    for fmt, name in (("csv", "scores.csv"), ("naslib-zc", "zc.json")):
        assert refusal(ValueError, lambda: export(store, tmp_path, fmt)) == (
            f"--out {tmp_path} is a folder; give the file to write, e.g. {tmp_path / name}")


def test_an_existing_out_file_is_replaced_and_nested_folders_are_made(tmp_path):
    store = _put(tmp_path / "s.sqlite", [(_key(), _ok(1.0))])
    old = tmp_path / "old.csv"
    old.write_text("stale\n")
    assert export(store, old) == old
    assert [r["arch"] for r in csv.DictReader(old.open())] == [NB201[0]]
    deep = tmp_path / "a" / "b" / "zc.json"
    # a fingerprint without its protocol's row (this store has none) names itself where the dataset would be
    assert json.loads(export(store, deep, "naslib-zc").read_text())["nb201"] == {"protocol fp1": {
        nb201.to_naslib(nb201.parse(NB201[0])): {"swap": {"score": 1.0, "time": 0.5}}}}


def test_the_store_is_read_without_a_write(tmp_path):
    store = _put(tmp_path / "s.sqlite", [(_key(), _ok(1.0))])
    with sqlite3.connect(store) as db:  # a store made before the proxy_code table: a writable open would add it
        db.execute("DROP TABLE proxy_code")
    export(store, tmp_path / "out.csv")
    with sqlite3.connect(store) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "proxy_code" not in tables and "scores" in tables


def test_a_space_without_naslib_keys_and_an_unknown_space_keep_our_strings(tmp_path):
    store = _put(tmp_path / "s.sqlite", [(_key("flexibert", FLEXI), _ok(2.0)), (_key("mine", "cell-7"), _ok(3.0))])
    doc = json.loads(export(store, tmp_path / "zc.json", "naslib-zc").read_text())
    assert doc["flexibert"] == {"protocol fp1": {FLEXI: {"swap": {"score": 2.0, "time": 0.5}}}}
    assert doc["mine"] == {"protocol fp1": {"cell-7": {"swap": {"score": 3.0, "time": 0.5}}}}


def test_a_failed_score_is_written_as_naslib_writes_it_and_the_rest_exported(tmp_path):
    # rows come in (space, proxy, …, arch) order: the first one fails; NASLib's code writes -1e8 for a failed metric
    # and takes synflow's log after that substitution
    first, second = sorted(NB201)
    failed = Record("failed", None, None, [], 0.1, None, "boom")
    synflow = ScoreKey("nb201", first, "synflow@1", "fp1", 0, 8, 1, '{"C": 4}')
    store = _put(tmp_path / "s.sqlite", [(_key(arch=first), failed), (_key(arch=second), _ok(4.0)), (synflow, failed)])
    doc = json.loads(export(store, tmp_path / "zc.json", "naslib-zc").read_text())
    key = {a: nb201.to_naslib(nb201.parse(a)) for a in NB201}
    assert doc["nb201"]["protocol fp1"] == {
        key[first]: {"swap": {"score": -1e8, "time": 0.1}, "synflow": {"score": -math.log(1e8), "time": 0.1}},
        key[second]: {"swap": {"score": 4.0, "time": 0.5}}}
    assert doc["provenance"]["conventions"]["failed"].startswith("-1e8 (synflow: -ln 1e8), the value NASLib's code")


def test_a_failure_under_another_setting_is_left_out_and_lower_is_better_fails_high(tmp_path):
    """The review of session 55: failures went through the one-setting checks, so a failed attempt under another
    --repeats ended an export that worked before; -1e8 made a failed te_nas_ntk (lower is better) the best."""
    first, second = sorted(NB201)
    failed = Record("failed", None, None, [], 0.1, None, "boom")
    store = _put(tmp_path / "s.sqlite", [
        (_key(arch=first), _ok(1.0)), (_key(arch=second), _ok(2.0)),
        (_key(arch=first, repeats=3), failed),                                    # another setting: left out
        (ScoreKey("nb201", second, "jacob_cov@1", "fp1", 0, 8, 3, '{"C": 4}'), failed),   # likewise
        (ScoreKey("nb201", first, "te_nas_ntk@1", "fp1", 0, 8, 1, '{"C": 4}'), failed),  # the dataset's setting
        (ScoreKey("nb201", first, "jacob_cov@1", "fp1", 0, 8, 1, '{"C": 4}'), failed)])
    doc = json.loads(export(store, tmp_path / "zc.json", "naslib-zc").read_text())
    key = {a: nb201.to_naslib(nb201.parse(a)) for a in NB201}
    assert doc["nb201"]["protocol fp1"] == {
        key[first]: {"swap": {"score": 1.0, "time": 0.5}, "te_nas_ntk": {"score": 1e8, "time": 0.1},
                     "jacov": {"score": -1e8, "time": 0.1}},
        key[second]: {"swap": {"score": 2.0, "time": 0.5}}}
    only_failures = _put(tmp_path / "f.sqlite", [(_key(arch=first, repeats=3), failed), (_key(arch=second), failed)])
    doc = json.loads(export(only_failures, tmp_path / "f.json", "naslib-zc").read_text())
    # failures alone: the setting of the first in the store's order (repeats before arch: repeats 1)
    assert doc["nb201"]["protocol fp1"] == {key[second]: {"swap": {"score": -1e8, "time": 0.1}}}


def test_two_settings_under_one_fingerprint_named_whole(tmp_path):
    one = _put(tmp_path / "one.sqlite", [(_key(net='{"C": 4}'), _ok(1.0)), (_key(net='{"C": 8}'), _ok(2.0))])
    setting = "proxy swap@1, protocol fp1, seed 0, batch_size 8, repeats 1, net"
    assert refusal(ValueError, lambda: export(one, tmp_path / "zc.json", "naslib-zc")) == (
        f"swap of {NB201[0]} is stored under two settings ({setting} {{\"C\": 4}}) and "
        f"({setting} {{\"C\": 8}}); NASLib's layout holds one score per dataset, arch and proxy: they differ in net "
        '({"C": 4} / {"C": 8}) under one protocol fingerprint (R and the network are not part of it: a search\'s '
        "two stages under one S, or runs of other --repeats, share one), which --protocol cannot choose: use --format "
        "csv, which keeps every row with its net column")
    two = _put(tmp_path / "two.sqlite", [(_key(), _ok(1.0)), (_key(repeats=4, net='{"C": 8}'), _ok(2.0))])
    assert refusal(ValueError, lambda: export(two, tmp_path / "zc.json", "naslib-zc")).endswith(
        'they differ in repeats (1 / 4) and net ({"C": 4} / {"C": 8}) under one protocol fingerprint (R and '
        "the network are not part of it: a search's two stages under one S, or runs of other --repeats, share one), "
        "which "
        "--protocol cannot choose: use --format csv, which keeps every row with its "
        "repeats and net columns")


def test_fingerprints_of_one_dataset_are_told_apart_by_what_differs(tmp_path):
    store = _put(tmp_path / "s.sqlite", [(_key(protocol="fpA"), _ok(1.0)), (_key(protocol="fpB"), _ok(2.0)),
                                         (_key(protocol="fpC"), _ok(3.0))],
                 {"fpA": {"dataset": "cifar10", "init": "default"}, "fpB": {"dataset": "cifar10", "init": "kaiming"},
                  "fpC": {"dataset": "cifar100", "init": "default"}})
    assert refusal(ValueError, lambda: export(store, tmp_path / "zc.json", "naslib-zc", protocol="cifar10")) == (
        "--protocol cifar10: the store has 2 protocol fingerprints of that dataset, fpA (cifar10, init default), "
        "fpB (cifar10, init kaiming); give one of them")
    assert export(store, tmp_path / "c100.csv", protocol="cifar100").read_text().count("\n") == 2


def test_twins_of_one_dataset_are_also_told_apart_by_the_settings_scored_under_them(tmp_path):
    # session 50: two fingerprints of one dataset differed only in their batch digests; which run made each (S, R,
    # network, as a search's second stage differs from its first) was not said
    store = _put(tmp_path / "s.sqlite", [(_key(protocol="fpA"), _ok(1.0)), (_key(protocol="fpB", net='{"C": 8}'),
                                                                            _ok(2.0)),
                                         (_key(protocol="fpB", arch=NB201[1], repeats=4), _ok(2.5)),
                                         (_key(protocol="fpC"), _ok(3.0))],
                 {"fpA": {"dataset": "cifar10", "batch_digest": "a1"},
                  "fpB": {"dataset": "cifar10", "batch_digest": "b2"},
                  "fpC": {"dataset": "cifar100", "batch_digest": "c3"}})
    assert refusal(ValueError, lambda: export(store, tmp_path / "zc.json", "naslib-zc", protocol="cifar10")) == (
        '--protocol cifar10: the store has 2 protocol fingerprints of that dataset, fpA (cifar10, batch_digest a1, '
        'scored at S=8, R=1, net {"C": 4}), fpB (cifar10, batch_digest b2, scored at S=8, R=1, net {"C": 8} and '
        'S=8, R=4, net {"C": 4}); give one of them')
    assert refusal(ValueError, lambda: export(store, tmp_path / "zc.json", "naslib-zc", protocol="x")).endswith(
        "fpC (cifar100)")  # the only one of its dataset: nothing more is needed to tell it apart


def test_an_empty_store_says_so_when_a_protocol_is_asked(tmp_path):
    store = tmp_path / "empty.sqlite"
    ScoreStore(store).close()
    assert refusal(ValueError, lambda: export(store, tmp_path / "x.csv", protocol="fp1")) == (
        f"--protocol fp1: no score of that protocol fingerprint or dataset in {store}; its fingerprints: none (the "
        "store is empty)")


def test_two_archs_written_alike_are_named_whole(tmp_path, monkeypatch):
    from swapnas import export as exp

    store = _put(tmp_path / "s.sqlite", [(_key(arch=NB201[0]), _ok(1.0)), (_key(arch=NB201[1]), _ok(2.0))])
    monkeypatch.setattr(exp, "_arch_key", lambda space, arch: "(0, 0)")  # an encoding that loses a difference
    assert refusal(ValueError, lambda: export(store, tmp_path / "zc.json", "naslib-zc")) == (
        f"{NB201[0]} and {NB201[1]} are both written (0, 0) in NASLib's encoding (it does not encode what tells them "
        "apart): use --format csv, which keeps every arch")


def test_naslib_zc_is_keyed_by_dataset_in_naslibs_spelling_with_naslibs_proxy_names(tmp_path):
    """Session 52: the layout lacked the dataset level of NASLib's zc_<space>.json (a store of two datasets could
    not be exported in one file), wrote imagenet16-120 and jacob_cov where NASLib writes ImageNet16-120 and jacov."""
    rows = [(ScoreKey("nb201", NB201[0], "jacob_cov@1", "fpA", 0, 8, 1, "{}"), _ok(1.0)),
            (ScoreKey("nb201", NB201[0], "swap@1", "fpB", 0, 8, 1, "{}"), _ok(2.0)),
            (ScoreKey("transnas_micro", "64-41414-3_33_333", "swap@1", "fpC", 0, 8, 1, "{}"), _ok(3.0))]
    store = _put(tmp_path / "s.sqlite", rows, {"fpA": {"dataset": "cifar10"}, "fpB": {"dataset": "imagenet16-120"},
                                               "fpC": {"dataset": "jigsaw"}})
    doc = json.loads(export(store, tmp_path / "zc.json", "naslib-zc").read_text())
    key = nb201.to_naslib(nb201.parse(NB201[0]))
    assert doc["nb201"] == {"cifar10": {key: {"jacov": {"score": 1.0, "time": 0.5}}},
                            "ImageNet16-120": {key: {"swap": {"score": 2.0, "time": 0.5}}}}
    assert list(doc["transnas_micro"]) == ["jigsaw"] and sorted(doc) == ["nb201", "provenance", "transnas_micro"]


def test_the_csv_names_each_row_s_dataset_from_its_protocol(tmp_path):
    """Session 52: rows of two datasets in one store were told apart only by a fingerprint's hex."""
    rows = [(_key(protocol="fpA"), _ok(1.0)), (_key(arch=NB201[1], protocol="fpB"), _ok(2.0)),
            (_key(arch=NB201[1], protocol="fpX"), _ok(3.0))]
    store = _put(tmp_path / "s.sqlite", rows, {"fpA": {"dataset": "cifar10"}, "fpB": {"dataset": "cifar100"}})
    got = list(csv.DictReader(export(store, tmp_path / "s.csv").open()))
    assert list(got[0])[-1] == "dataset" and {r["protocol"]: r["dataset"] for r in got} == {
        "fpA": "cifar10", "fpB": "cifar100", "fpX": ""}
