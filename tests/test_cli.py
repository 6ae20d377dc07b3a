"""`swapnas correlate` end to end on a few archs, resume, and error paths."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from scipy.stats import rankdata

from swapnas.cli import main

SMALL = ["--archs", "12", "--batch-size", "16", "--repeats", "1", "--channels", "4", "--cells", "1",
         "--device", "cpu", "--no-progress"]


@pytest.mark.bundle  # the NB201 table: NB201Benchmark needs all 15,625 rows
def test_correlate_writes_table_json_and_plots(data_dir, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    args = ["correlate", "--space", "nb201", "--dataset", "cifar100", "--proxies", "swap,swap_reg,params",
            "--data-dir", str(data_dir), "--out", str(out), *SMALL]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "spearman" in text and "ground truth: NB201 valid accuracy" in text and "S=16 samples" in text
    doc = json.loads((out / "results.json").read_text())
    rows = {r["proxy"]: r for r in doc["results"]}
    assert set(rows) == {"swap", "swap_reg", "params"}
    for r in rows.values():
        for k in ("proxy", "space", "dataset", "n", "spearman", "kendall", "spearman_ci", "seconds_per_arch"):
            assert k in r
        assert r["n"] == 12 and r["failures"] == 0 and r["dataset"] == "cifar100"
        assert -1 <= r["spearman"] <= 1 and r["spearman_ci"][0] <= r["spearman_ci"][1]
        assert (out / f"scatter_{r['proxy']}.png").stat().st_size > 1000
    db = sqlite3.connect(out / "scores.sqlite")
    assert db.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 36
    first = db.execute("SELECT created FROM scores ORDER BY arch, proxy").fetchall()
    # rerun: everything comes from the store, nothing is rewritten
    assert main(args) == 0
    assert db.execute("SELECT created FROM scores ORDER BY arch, proxy").fetchall() == first
    assert json.loads((out / "results.json").read_text())["results"] == doc["results"]


def test_missing_data_dir_is_a_clear_error(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("SWAPNAS_DATA", raising=False)
    code = main(["correlate", "--out", str(tmp_path), "--data-dir", str(tmp_path / "nope"), *SMALL])
    assert code == 2
    assert "data directory" in capsys.readouterr().err


def test_bad_archs_argument(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["correlate", "--out", "x", "--archs", "many"])
    assert exit_.value.code == 2 and "number or 'all'" in capsys.readouterr().err


def test_proxies_lists_metadata(capsys) -> None:
    assert main(["proxies"]) == 0
    text = capsys.readouterr().out
    assert "swap_reg" in text and "higher_better" in text


@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_shards_fill_the_store_then_the_table_reuses_it(data_dir, tmp_path, capsys) -> None:
    store = tmp_path / "s.sqlite"
    base = ["correlate", "--proxies", "swap", "--data-dir", str(data_dir), "--store", str(store), *SMALL]
    for i in range(3):
        assert main([*base, "--out", str(tmp_path / f"shard{i}"), "--shard", f"{i}/3"]) == 0
        assert f"scored shard {i}/3: 4 archs" in capsys.readouterr().out
    db = sqlite3.connect(store)
    assert db.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 12
    stamps = db.execute("SELECT arch, created FROM scores ORDER BY arch").fetchall()
    assert main([*base, "--out", str(tmp_path / "all")]) == 0
    assert db.execute("SELECT arch, created FROM scores ORDER BY arch").fetchall() == stamps
    assert json.loads((tmp_path / "all" / "results.json").read_text())["results"][0]["n"] == 12
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main([*base, "--out", str(tmp_path), "--shard", "3/3"])
    assert exit_.value.code == 2
    assert "argument --shard: --shard I/K needs 0 <= I < K (got 3/3)" in capsys.readouterr().err


@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_set_level_te_nas_is_ranked_over_the_scored_archs(data_dir, tmp_path) -> None:
    out = tmp_path / "te"
    args = ["correlate", "--proxies", "te_nas", "--data-dir", str(data_dir), "--out", str(out), *SMALL]
    assert main(args) == 0
    doc = json.loads((out / "results.json").read_text())
    names = [r["proxy"] for r in doc["results"]]
    assert names == ["te_nas", "te_nas_ntk", "te_nas_lr"]  # as asked, then the parts it brought
    kappa = np.array(doc["scores"]["te_nas_ntk"])
    regions = np.array(doc["scores"]["te_nas_lr"])
    expected = -(rankdata(kappa) + rankdata(-regions))
    assert np.allclose(doc["scores"]["te_nas"], expected)
    # only the parts are stored: the set-level value depends on the candidate set
    db = sqlite3.connect(out / "scores.sqlite")
    assert {r[0].split("@")[0] for r in db.execute("SELECT DISTINCT proxy FROM scores")} == {"te_nas_ntk", "te_nas_lr"}


@pytest.mark.bundle  # the NB201 table (all 15,625 rows) is read before the executor is checked
def test_executor_ray_without_ray_is_a_clear_error(data_dir, tmp_path, capsys, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    base = ["correlate", "--proxies", "params", "--data-dir", str(data_dir), "--out", str(tmp_path), *SMALL]
    assert main([*base, "--executor", "ray"]) == 2
    assert "pip install 'ray>=2.9'" in capsys.readouterr().err
    assert main(["grid", "--benchmarks", "nb201", "--tasks", "cifar10", "--proxies", "params", "--archs", "2",
                 "--data-dir", str(data_dir), "--out", str(tmp_path / "g"), "--executor", "ray"]) == 2
    assert "pip install 'ray>=2.9'" in capsys.readouterr().err
    assert main([*base, "--address", "auto"]) == 2  # a Ray option without --executor ray
    assert "--address only applies with --executor ray" in capsys.readouterr().err


def test_proxies_lists_what_a_derived_proxy_needs_through_its_bases(capsys) -> None:
    assert main(["proxies", "lswag*"]) == 0
    rows = {line.split()[0]: line.split()[2:4] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["lswag"] == ["True", "True"] and rows["lswag_ext"] == ["True", "True"]  # lswag_grad's needs
