"""Session 54, a NASLib user's review of ``export --format naslib-zc``: one setting per dataset (scores of two
networks and batches were written in one column without a word), NASLib's fisher under NASLib's name and ours
apart, synflow as NASLib stores it (its log), and each dataset's setting in the file's provenance."""

from __future__ import annotations

import json
import math
from pathlib import Path

from swapnas.cli import main
from swapnas.spaces import nb201
from swapnas.store import Record, ScoreKey, ScoreStore

A = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
B = "|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
KEY_A, KEY_B = (nb201.to_naslib(nb201.parse(a)) for a in (A, B))  # NASLib's op-index keys
PROTOCOL = {"space": "nb201", "dataset": "cifar10", "init": "gaussian", "bn_train": True, "batch_digest": "abc",
            "inputs": "real", "batch_size": 16, "repeats": 1, "seed": 0, "net": {}}


def _store(path: Path, scores: list[tuple[str, str, str, str, float]]) -> None:
    """(arch, proxy, fingerprint, net, value) rows, every fingerprint a cifar10 protocol."""
    with ScoreStore(path) as store:
        for arch, proxy, fp, net, value in scores:
            store.add_protocol(fp, {**PROTOCOL, "batch_digest": fp})
            store.put(ScoreKey("nb201", arch, proxy, fp, 0, 16, 1, net), Record("ok", value, 0.0, [value], 0.5,
                                                                                  None, None))


def test_two_settings_in_one_dataset_are_refused_and_protocol_picks_one(tmp_path: Path, capsys) -> None:
    """A conformance run (C=16, N=5, S=64) and a correlate (C=16, N=1, S=16) into one store: other archs and other
    metrics, so no (arch, proxy) had two scores, and both went into cifar10's column."""
    store, zc = tmp_path / "s.sqlite", tmp_path / "zc.json"
    _store(store, [(A, "params@1", "fp_conformance", '{"C": 16, "N": 5}', 802426.0),
                   (B, "nwot@1", "fp_correlate", '{"C": 16, "N": 1}', 170.0)])
    assert main(["export", str(store), "--format", "naslib-zc", "--out", str(zc)]) == 2
    err = capsys.readouterr().err
    conformance = '(protocol fp_conformance, seed 0, batch_size 16, repeats 1, net {"C": 16, "N": 5})'
    correlate = '(protocol fp_correlate, seed 0, batch_size 16, repeats 1, net {"C": 16, "N": 1})'
    assert (f"cifar10 of nb201 holds scores of two settings, {conformance} and {correlate}, e.g. params@1 of {A} and "
            f"nwot@1 of {B}; a NASLib zc file holds one setting per dataset: choose one with --protocol: ") in err \
        or (f"cifar10 of nb201 holds scores of two settings, {correlate} and {conformance}, e.g. nwot@1 of {B} and "
            f"params@1 of {A}; a NASLib zc file holds one setting per dataset: choose one with --protocol: ") in err
    assert not zc.exists()
    assert main(["-q", "export", str(store), "--format", "naslib-zc", "--protocol", "fp_correlate", "--out",
                 str(zc)]) == 0
    doc = json.loads(zc.read_text(encoding="utf-8"))
    assert doc["nb201"] == {"cifar10": {KEY_B: {"nwot": {"score": 170.0, "time": 0.5}}}}
    setting = doc["provenance"]["settings"]["nb201"]["cifar10"]
    assert (setting["protocol"], setting["net"], setting["batch_size"], setting["init"], setting["batch_digest"]) == (
        "fp_correlate", {"C": 16, "N": 1}, 16, "gaussian", "fp_correlate")


def test_fisher_and_synflow_are_written_as_naslib_writes_them(tmp_path: Path) -> None:
    store, zc = tmp_path / "s.sqlite", tmp_path / "zc.json"
    net = '{"C": 16, "N": 1}'
    _store(store, [(A, "fisher@1", "fp", net, 0.25), (A, "fisher_fanin@1", "fp", net, 60.0),
                   (A, "synflow@2", "fp", net, 4.6e27), (B, "synflow@2", "fp", net, 0.5),
                   (A, "jacob_cov@1", "fp", net, -40.0)])
    assert main(["-q", "export", str(store), "--format", "naslib-zc", "--out", str(zc)]) == 0
    doc = json.loads(zc.read_text(encoding="utf-8"))
    a, b = doc["nb201"]["cifar10"][KEY_A], doc["nb201"]["cifar10"][KEY_B]
    assert {k: v["score"] for k, v in a.items()} == {
        "fisher_swapnas": 0.25, "fisher": 60.0, "synflow": math.log(4.6e27), "jacov": -40.0}
    assert b["synflow"]["score"] == math.log(0.5)  # NASLib's log, negative below 1
    assert set(doc["provenance"]["conventions"]) == {"synflow", "fisher", "params, flops", "time", "failed", "proxies"}
    assert main(["-q", "export", str(store), "--out", str(tmp_path / "s.csv")]) == 0  # csv: the scores themselves
    assert "4.6e+27" in (tmp_path / "s.csv").read_text(encoding="utf-8")
