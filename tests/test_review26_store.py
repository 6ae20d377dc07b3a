"""Session-26 walkthrough: ``store check`` and ``export`` name what a protocol fingerprint covers.

Before: ``store check`` printed the first run's whole description under a fingerprint that nb201 and darts
scores on CIFAR-10 share (its space and network were another space's); ``store check --json`` gave each
description as a JSON string; ``export --format naslib-zc`` asked for ``--protocol`` naming bare hashes.
"""

from __future__ import annotations

import csv
import dataclasses
import json

import pytest

from swapnas.cli import main
from swapnas.scoring import PER_SCORE, Protocol, fingerprinted
from swapnas.store import Record, ScoreKey, ScoreStore
from swapnas.store_tools import check_store, check_text, salvage_store

BASE = Protocol(space="nb201", dataset="cifar10", batch_size=16, repeats=4, seed=0, net={"C": 16, "N": 1},
                batch_digest="abc")
OTHER = {"space": "darts", "dataset": "cifar100", "batch_size": 8, "repeats": 1, "seed": 3, "net": {"C": 8},
         "init": "default", "bn_train": False, "batch_digest": "def", "inputs": "noise", "classes": 7,
         "net_version": "2"}


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Protocol)])
def test_per_score_fields_are_exactly_those_the_fingerprint_leaves_out(field: str) -> None:
    changed = dataclasses.replace(BASE, **{field: OTHER[field]})
    assert (changed.fingerprint == BASE.fingerprint) == (field in PER_SCORE)
    assert (field in fingerprinted(changed.describe())) == (field not in PER_SCORE and field in changed.describe())


def _shared_store(path) -> tuple[str, str]:
    """nb201 and darts scores under one CIFAR-10 fingerprint (nb201 described first), and a CIFAR-100 one."""
    darts = dataclasses.replace(BASE, space="darts", net={"C": 8, "layers": 5}, repeats=1)
    c100 = dataclasses.replace(BASE, dataset="cifar100")
    with ScoreStore(path) as s:
        for p in (BASE, darts, c100):
            s.add_protocol(p.fingerprint, p.describe())
            s.put(ScoreKey(p.space, "a", "swap@1", p.fingerprint, p.seed, p.batch_size, p.repeats, p.net_key),
                  Record("ok", 1.0, 0.0, [1.0], 0.1, None, None))
            s.put(ScoreKey(p.space, "b", "swap@1", p.fingerprint, p.seed, p.batch_size, p.repeats, p.net_key),
                  Record("ok", 2.0, 0.0, [2.0], 0.1, None, None))
    assert BASE.fingerprint == darts.fingerprint != c100.fingerprint
    return BASE.fingerprint, c100.fingerprint


def test_store_check_describes_a_fingerprint_by_what_it_covers(tmp_path, capsys) -> None:
    path = tmp_path / "s.sqlite"
    c10, c100 = _shared_store(path)
    text = check_text(check_store(path))
    line = next(x for x in text.splitlines() if x.startswith(f"  protocol {c10}:"))
    assert '"dataset": "cifar10"' in line and "nb201" not in line and '"C"' not in line and "repeats" not in line
    assert f"scored under {c10}: darts, seed 0, S=16, R=1" in text and f"scored under {c10}: nb201" in text
    assert "(space, net, seed, batch_size, repeats are not part of a fingerprint: see the 'scored under' lines)" in text
    assert main(["store", "check", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["protocols"][c100]["dataset"] == "cifar100"  # an object, not a JSON string


def test_store_check_keeps_a_description_json_cannot_read(tmp_path) -> None:
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as s:
        s._db.execute("INSERT INTO protocols VALUES ('fp', 'not json')")
        s._db.commit()
    assert check_store(path).protocols == {"fp": {"unreadable": "not json"}}


def test_export_names_each_fingerprint_by_its_dataset(tmp_path, capsys) -> None:
    path = tmp_path / "s.sqlite"
    c10, c100 = _shared_store(path)  # nb201 archs on CIFAR-10 and CIFAR-100
    out = tmp_path / "zc.json"  # since session 52 each dataset is a key of its own, as in NASLib's files
    assert main(["export", str(path), "--format", "naslib-zc", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert {s: sorted(doc[s]) for s in ("darts", "nb201")} == {"darts": ["cifar10"], "nb201": ["cifar10", "cifar100"]}
    assert main(["export", str(path), "--format", "naslib-zc", "--protocol", "imagenet16-120", "--out", str(out)]) == 2
    named = {c10: f"{c10} (cifar10)", c100: f"{c100} (cifar100)"}
    assert (f"no score of that protocol fingerprint or dataset in {path}; its fingerprints: "
            f"{', '.join(named[fp] for fp in sorted(named))}") in capsys.readouterr().err
    # a dataset name picks the store's only fingerprint of that dataset (nb201's and darts's scores on CIFAR-10)
    assert main(["export", str(path), "--format", "naslib-zc", "--protocol", "cifar10", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert sorted(doc) == ["darts", "nb201", "provenance"]
    assert all(list(doc[s]) == ["cifar10"] and len(doc[s]["cifar10"]) == 2 for s in ("darts", "nb201"))
    assert main(["export", str(path), "--protocol", "cifar100", "--out", str(tmp_path / "c100.csv")]) == 0
    assert {row["protocol"] for row in csv.DictReader((tmp_path / "c100.csv").open())} == {c100}


def test_two_fingerprints_of_one_dataset_are_told_apart_by_what_differs(tmp_path, capsys) -> None:
    path = tmp_path / "s.sqlite"
    noise = dataclasses.replace(BASE, inputs="noise")
    with ScoreStore(path) as s:
        for p in (BASE, noise):
            s.add_protocol(p.fingerprint, p.describe())
            s.put(ScoreKey(p.space, "a", "swap@1", p.fingerprint, 0, 16, 4, p.net_key),
                  Record("ok", 1.0, 0.0, [1.0], 0.1, None, None))
    assert main(["export", str(path), "--format", "naslib-zc", "--out", str(tmp_path / "zc.json")]) == 2
    err = capsys.readouterr().err
    assert f"{BASE.fingerprint} (cifar10, inputs real)" in err and f"{noise.fingerprint} (cifar10, inputs noise)" in err
    assert main(["export", str(path), "--protocol", "cifar10", "--out", str(tmp_path / "x.csv")]) == 2
    assert "the store has 2 protocol fingerprints of that dataset" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("damage", ["not json", "[1]", "drop"])
def test_export_and_salvage_read_a_store_whose_protocol_descriptions_are_damaged(tmp_path, capsys, damage) -> None:
    """Found in the review of the change above: export read every description (json.loads) to name fingerprints,
    so a not-JSON row or a dropped protocols table stopped even --format csv; salvage stopped on a not-JSON row."""
    path = tmp_path / "s.sqlite"
    c10, c100 = _shared_store(path)
    with ScoreStore(path) as s:
        if damage == "drop":
            s._db.execute("DROP TABLE protocols")
        else:
            s._db.execute("UPDATE protocols SET description = ? WHERE fingerprint = ?", (damage, c10))
        s._db.commit()
    assert main(["export", str(path), "--format", "csv", "--out", str(tmp_path / "s.csv")]) == 0
    assert main(["export", str(path), "--format", "naslib-zc", "--out", str(tmp_path / "zc.json")]) == 0
    doc = json.loads((tmp_path / "zc.json").read_text())  # an unreadable description: the fingerprint names itself
    assert sorted(doc["nb201"]) == sorted([f"protocol {c10}", f"protocol {c100}" if damage == "drop" else "cifar100"])
    if damage != "drop":
        assert check_store(path).protocols[c10] == {"unreadable": damage}
        salvage_store(path, tmp_path / "new.sqlite")
        with ScoreStore(tmp_path / "new.sqlite") as new:
            assert new.protocols()[c10] == {"unreadable": damage} and new.count() == 6
