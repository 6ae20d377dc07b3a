"""`swapnas conformance`: NASLib key mapping, the table on tiny subsets, resume, errors."""

from __future__ import annotations

import json
import math
import re
import sqlite3

import numpy as np
import pytest

from swapnas.bundle import DataFileError
from swapnas.cli import main
from swapnas.conformance import (
    NASLIB_PROTOCOL, SOURCES, load_naslib, parse_int_tuple, run_conformance, write_outputs,
)
from swapnas.spaces import darts_genotype as dg
from swapnas.spaces import nb101, nb201
from swapnas.store import ScoreStore

from .message_tools import exact

# NASLib's NB201 encoding (documented in the data bundle's SOURCES.md), written out independently of the
# table: edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) in its node numbering = our edges 1<-0, 2<-0, 3<-0, 2<-1,
# 3<-1, 3<-2; ops 0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3.
_NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
_NASLIB_EDGE_ORDER = (0, 1, 3, 2, 4, 5)


def _encode(arch: nb201.Arch) -> tuple[int, ...]:
    return tuple(_NASLIB_OPS.index(arch.ops[e]) for e in _NASLIB_EDGE_ORDER)


@pytest.fixture(scope="module")
def c10(data_dir):
    return load_naslib("nb201", "cifar10", str(data_dir))


@pytest.mark.bundle  # NASLib's full files: 725 / 725 / 724 keys
@pytest.mark.parametrize("dataset,count", [("cifar10", 725), ("cifar100", 725), ("imagenet16-120", 724)])
def test_every_naslib_key_maps_to_exactly_one_arch(data_dir, dataset, count) -> None:
    ns = load_naslib("nb201", dataset, str(data_dir))
    assert len(ns.keys) == len(ns.archs) == count
    assert len(set(ns.keys)) == len(set(ns.archs)) == count  # injective both ways
    for key, arch in zip(ns.keys, ns.archs):
        assert isinstance(arch, nb201.Arch)
        assert _encode(arch) == parse_int_tuple(key, 6, 4)  # round trip through the documented encoding
        assert nb201.parse(str(arch)) == arch
    assert "jacob_cov" in ns.scores and "jacov" not in ns.scores and ns.naslib_names["jacob_cov"] == "jacov"
    assert {"params", "flops", "synflow", "snip", "grasp", "fisher", "nwot"} <= set(ns.scores)
    assert all(len(v) == count for v in ns.scores.values()) and len(ns.accuracy) == count


@pytest.mark.bundle  # the NB201 table (NB201Benchmark needs all 15,625 rows)
def test_naslib_params_equal_our_builder(c10) -> None:
    for arch, value in list(zip(c10.archs, c10.scores["params"]))[:50]:
        assert nb201.count_params(arch) == round(value * 1e6)


def test_key_parser_rejects_bad_keys() -> None:
    assert parse_int_tuple(" (4, 3,3, 0, 0, 0) ", 6, 4) == (4, 3, 3, 0, 0, 0)
    for bad, why in (("4, 3, 3, 0, 0, 0", r"must look like '\(i, j, …\)'"),
                     ("(4, 3, 3, 0, 0)", "must hold 6 non-negative integers"),
                     ("(4, 3, 3, 0, 0, x)", "must hold 6 non-negative integers"),
                     ("(5, 3, 3, 0, 0, 0)", "has an op index above 4"),
                     ("(-1, 3, 3, 0, 0, 0)", "must hold 6 non-negative integers")):
        with pytest.raises(ValueError, match=rf"NASLib key {re.escape(repr(bad))} {why}"):
            parse_int_tuple(bad, 6, 4)


@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_table_on_a_tiny_subset_and_resume(data_dir, tmp_path) -> None:
    small = {"C": 4, "N": 1}  # tests only: a conformance claim needs the full network
    kw = dict(space="nb201", dataset="cifar10", proxies="params,flops,l2_norm", n_archs=6, device="cpu",
              data_dir=str(data_dir), net=small, progress=False)
    db = tmp_path / "scores.sqlite"
    with ScoreStore(db) as store:
        run = run_conformance(store=store, **kw)
    assert run.protocol["net"] == small and run.protocol["batch_size"] == NASLIB_PROTOCOL["batch_size"] == 64
    assert run.protocol["init"] == "default" and run.protocol["bn_train"] and run.protocol["repeats"] == 1
    assert run.protocol["seed"] == 0 and run.protocol["inputs"] == "real"
    assert [r.proxy for r in run.results] == ["params", "flops", "l2_norm"]
    assert len(run.archs) == len(run.naslib_keys) == len(run.accuracy) == 6
    for r in run.results:
        assert r.n == 6 and r.failures == 0 and r.naslib_missing == 0 and r.errors == []
        for rho in (r.rho_ours_naslib, r.rho_ours_truth, r.rho_naslib_truth):
            assert -1 <= rho <= 1
        assert len(run.scores[r.proxy]) == len(run.naslib_scores[r.proxy]) == 6
    js, md = write_outputs(run, tmp_path / "out")
    doc = json.loads(js.read_text())
    assert {r["proxy"] for r in doc["results"]} == {"params", "flops", "l2_norm"}
    assert "rho(ours,NASLib)" in md.read_text() and "| params | params | 6 |" in md.read_text()
    # resume: the same subset, every score from the store, nothing rewritten
    con = sqlite3.connect(db)
    first = con.execute("SELECT arch, proxy, created FROM scores ORDER BY arch, proxy").fetchall()
    assert len(first) == 18
    with ScoreStore(db) as store:
        again = run_conformance(store=store, **kw)
    assert con.execute("SELECT arch, proxy, created FROM scores ORDER BY arch, proxy").fetchall() == first
    assert again.archs == run.archs and again.scores == run.scores


def test_naslibs_fisher_is_compared_with_both_of_our_readings(data_dir, tmp_path) -> None:
    with ScoreStore(tmp_path / "scores.sqlite") as store:
        run = run_conformance(space="nb201", dataset="cifar10", proxies="fisher_fanin,fisher", n_archs=4, store=store,
                              device="cpu", data_dir=str(data_dir), net={"C": 4, "N": 1}, progress=False)
    assert [(r.proxy, r.naslib_name) for r in run.results] == [("fisher_fanin", "fisher"), ("fisher", "fisher")]
    assert run.naslib_scores["fisher_fanin"] == run.naslib_scores["fisher"]
    ours, fanin = np.array(run.scores["fisher"]), np.array(run.scores["fisher_fanin"])
    assert (fanin > ours).all()  # every layer's fan-in is above 1 (the stem: 3 · 3 · 3)


@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_cli_params_on_full_network_agree_exactly(data_dir, tmp_path, capsys) -> None:
    out = tmp_path / "conf"
    args = ["conformance", "--space", "nb201", "--dataset", "cifar10", "--proxies", "params", "--archs", "8",
            "--device", "cpu", "--data-dir", str(data_dir), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "network C=16, N=5" in text and "init=default" in text and "S=64 samples" in text
    assert "train mode (BatchNorm, if any: batch statistics)" in text and "rho(ours,NASLib)" in text
    doc = json.loads((out / "conformance.json").read_text())
    (row,) = doc["results"]
    assert row["proxy"] == "params" and row["n"] == 8 and row["failures"] == 0
    assert row["rho_ours_naslib"] == 1.0  # our builder's param counts are NASLib's
    assert row["rho_ours_truth"] == row["rho_naslib_truth"]
    assert [round(v) for v in doc["scores"]["params"]] == [round(v * 1e6) for v in doc["naslib_scores"]["params"]]
    assert (out / "conformance.md").read_text().startswith("# Conformance")


@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_cli_rejects_a_metric_naslib_does_not_store(data_dir, tmp_path, capsys) -> None:
    code = main(["conformance", "--proxies", "swap", "--archs", "2", "--device", "cpu", "--data-dir", str(data_dir),
                 "--out", str(tmp_path), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert "NASLib stores no swap scores" in err and "jacob_cov" in err


# ----------------------------------------------------------------------------- NB101 and NB301 (session 42)


_NASLIB_FILES = {"nb201": "naslib_zc_nasbench201.json", "nb101": "naslib_zc_nasbench101.json",
                 "nb301": "naslib_zc_nasbench301.json"}


def _naive_doc(root, space: str) -> tuple[dict, dict]:
    """NASLib's whole file and its CIFAR-10 records, read by hand: NB101's file nests them under "nasbench101"."""
    doc = json.loads((root / space / _NASLIB_FILES[space]).read_text())
    return doc, (doc["nasbench101"] if space == "nb101" else doc)["cifar10"]


def _naive_records(root, space: str) -> dict:
    return _naive_doc(root, space)[1]


@pytest.mark.parametrize("space, count, parse_back", [("nb101", 40, nb101.to_naslib), ("nb301", 30, dg.to_naslib)])
def test_nb101_and_nb301_files_load_against_a_naive_read(small_bundle, space, count, parse_back) -> None:
    ns = load_naslib(space, "cifar10", str(small_bundle))
    records = _naive_records(small_bundle, space)
    assert ns.keys == list(records) and len(ns.keys) == len(set(ns.archs)) == count
    assert [parse_back(a) for a in ns.archs] == ns.keys  # the key written back from our arch is NASLib's own
    assert ns.accuracy.tolist() == [r["val_accuracy"] for r in records.values()]
    stored = {"epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacob_cov", "l2_norm", "params", "plain", "snip",
              "synflow"} | ({"nwot"} if space == "nb301" else set())  # NB101's file has no nwot
    # NASLib's fisher is compared with our fisher_fanin too (its reading: each channel weighted by its fan-in)
    assert set(ns.scores) == stored | {"fisher_fanin"} and ns.unsupported == []
    assert ns.naslib_names["jacob_cov"] == "jacov" and ns.naslib_names["fisher_fanin"] == "fisher"
    for ours, theirs in ns.naslib_names.items():
        if space == "nb101":  # bare numbers, no time
            assert ns.scores[ours].tolist() == [r[theirs] for r in records.values()]
            assert math.isnan(ns.seconds[ours])
        else:
            assert ns.scores[ours].tolist() == [r[theirs]["score"] for r in records.values()]
            assert ns.seconds[ours] == pytest.approx(np.mean([r[theirs]["time"] for r in records.values()]))


def test_naslib_entries_that_are_not_numbers_read_as_missing(small_bundle, tmp_path) -> None:
    doc, records = _naive_doc(small_bundle, "nb101")
    first, second, third = list(records)[:3]
    records[first]["synflow"] = float("inf")
    records[second]["synflow"] = True  # a bool is not a score
    del records[third]["synflow"]
    records[first]["zen_like"] = "text"  # not a metric: text
    (tmp_path / "nb101").mkdir()
    (tmp_path / "nb101" / _NASLIB_FILES["nb101"]).write_text(json.dumps(doc))
    ns = load_naslib("nb101", "cifar10", str(tmp_path))
    synflow = ns.scores["synflow"]
    assert np.isnan(synflow[:3]).all() and np.isfinite(synflow[3:]).all()
    assert "zen_like" not in ns.scores and ns.unsupported == []
    with pytest.raises(ValueError, match=exact("NASLib stores no nb101 scores for dataset 'cifar100'; it has cifar10")):
        load_naslib("nb101", "cifar100", str(tmp_path))


@pytest.mark.parametrize("space, net", [("nb101", "network C=128, stacks=3, cells=3"),
                                        ("nb301", "network C=32, layers=8, affine_ops=False, pool_bn=True")])
def test_cli_params_on_the_network_naslib_scored_agree_exactly(small_bundle, tmp_path, capsys, space, net) -> None:
    out = tmp_path / "conf"
    assert main(["conformance", "--space", space, "--proxies", "params", "--archs", "5", "--device", "cpu",
                 "--data-dir", str(small_bundle), "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert net in text and f"space {'darts' if space == 'nb301' else space} |" in text
    doc = json.loads((out / "conformance.json").read_text())
    (row,) = doc["results"]
    assert row["n"] == 5 and row["failures"] == 0 and row["rho_ours_naslib"] == pytest.approx(1.0, abs=1e-12)
    assert [round(v) for v in doc["scores"]["params"]] == [round(v * 1e6) for v in doc["naslib_scores"]["params"]]


def test_cli_offers_every_naslib_source() -> None:
    from swapnas.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    space = next(a for a in sub.choices["conformance"]._actions if a.dest == "space")
    assert list(space.choices) == list(SOURCES)


@pytest.mark.parametrize("space", ["nb201", "nb101", "nb301"])
@pytest.mark.parametrize("accuracy, why", [(None, "KeyError: val_accuracy"), ("high", "ValueError: could not convert")])
def test_a_record_without_a_numeric_accuracy_names_the_file(small_bundle, tmp_path, space, accuracy, why) -> None:
    # session 42: a record without val_accuracy ended the command with "error: val_accuracy" (the KeyError's text)
    doc, records = _naive_doc(small_bundle, space)
    record = records[list(records)[1]]
    if accuracy is None:
        del record["val_accuracy"]
    else:
        record["val_accuracy"] = accuracy
    (tmp_path / space).mkdir()
    (tmp_path / space / _NASLIB_FILES[space]).write_text(json.dumps(doc))
    with pytest.raises(DataFileError, match=rf"{_NASLIB_FILES[space]}: bad content \({why}.*NASLib"):
        load_naslib(space, "cifar10", str(tmp_path))
