"""swapnas.conformance, from its mutation run (session 44): the key parsers' edges, NASLib files written here (unknown
metrics, duplicate and foreign keys, missing times), Spearman's edge cases, every field of a run, and the table,
header and report written out whole. Golden values come from plain loops or are typed out."""

from __future__ import annotations

import json
import math
import sqlite3
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from swapnas import conformance as conf
from swapnas.proxies import get_proxy
from swapnas.session import pick_archs
from swapnas.stats import correlate
from swapnas.store import Record, ScoreStore

from .message_tools import refusal
from .script_tools import naive_spearman

# --- NASLib keys --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["(1, 2, 3", "1, 2, 3)"])
def test_a_key_needs_both_brackets(bad: str) -> None:
    assert refusal(ValueError, lambda: conf.parse_int_tuple(bad, 3, 4)) == \
        f"NASLib key {bad!r} must look like '(i, j, …)'"


def test_nb201_keys_hold_op_indices_up_to_4() -> None:
    assert conf._nb201_key("(4, 0, 1, 2, 3, 4)") == (4, 0, 1, 2, 3, 4)
    assert refusal(ValueError, lambda: conf._nb201_key("(5, 0, 0, 0, 0, 0)")) == \
        "NASLib key '(5, 0, 0, 0, 0, 0)' has an op index above 4"


class _FakeTable:
    """Stands in for the NB201 table: two archs and their NASLib keys; records the data dir it was given."""

    seen: list = []
    path = Path("nb201_table.csv")
    archs = ["arch_a", "arch_b"]
    keys = ["(0, 0, 0, 0, 0, 1)", "(0, 0, 0, 0, 0, 2)"]

    def __init__(self, data_dir: str | None) -> None:
        _FakeTable.seen.append(data_dir)

    def column_text(self, name: str) -> list[str]:
        assert name == "naslib_op_indices"
        return self.keys


def test_the_nb201_table_is_read_from_the_data_dir_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "NB201Benchmark", _FakeTable)
    _FakeTable.seen = []
    assert conf._nb201_archs("/some/dir") == {(0, 0, 0, 0, 0, 1): "arch_a", (0, 0, 0, 0, 0, 2): "arch_b"}
    assert _FakeTable.seen == ["/some/dir"]
    monkeypatch.setattr(_FakeTable, "keys", ["(0, 0, 0, 0, 0, 1)", "(0,0,0,0,0,1)"])
    assert refusal(ValueError, lambda: conf._nb201_archs("/some/dir")) == \
        "nb201_table.csv: NASLib key (0,0,0,0,0,1) is given to two archs (arch_a and arch_b)"


def test_an_unknown_space_names_the_wired_ones() -> None:
    assert refusal(ValueError, lambda: conf.get_source("nb999")) == \
        "no NASLib scores wired up for space 'nb999'; available: nb201, nb101, nb301"


# --- NASLib files written here ------------------------------------------------------------------------------------

NB101_KEYS = ["(0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, "
              "1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 4, 4, 4, 1)",
              "(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, "
              "1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 2, 3, 3, 2, 1)"]


def _nb101_dir(root: Path) -> Path:
    """An NB101 NASLib file of two archs whose first metric (sorted) is one our registry lacks."""
    (root / "nb101").mkdir(parents=True)
    records = {NB101_KEYS[0]: {"aaa_unknown": 1.0, "flops": 624.5, "params": 4.1, "jacov": -32.2, "val_accuracy": 92.5},
               NB101_KEYS[1]: {"aaa_unknown": 2.0, "flops": 300.0, "params": "n/a", "jacov": -32.1,
                               "val_accuracy": 90.0}}
    (root / "nb101" / "naslib_zc_nasbench101.json").write_text(json.dumps({"nasbench101": {"cifar10": records}}))
    return root


def _nb201_dir(root: Path, keys: list[str]) -> Path:
    (root / "nb201").mkdir(parents=True)
    records = {k: {"val_accuracy": 80.0 + i, "params": {"score": 0.1 * (i + 1), "time": 0.5 + i},
                   "flops": {"score": 9.0 + i}} for i, k in enumerate(keys)}
    (root / "nb201" / "naslib_zc_nasbench201.json").write_text(json.dumps({"cifar10": records}))
    return root


def test_load_skips_metrics_we_lack_and_keeps_the_rest(tmp_path: Path, no_default_data: None) -> None:
    ns = conf.load_naslib("nb101", "cifar10", str(_nb101_dir(tmp_path)))
    assert (ns.space, ns.dataset, ns.keys) == ("nb101", "cifar10", NB101_KEYS)
    assert ns.unsupported == ["aaa_unknown"]
    assert sorted(ns.scores) == ["flops", "jacob_cov", "params"]
    assert ns.naslib_names == {"flops": "flops", "jacob_cov": "jacov", "params": "params"}
    assert ns.scores["flops"].tolist() == [624.5, 300.0]
    assert ns.scores["params"][0] == 4.1 and math.isnan(ns.scores["params"][1])  # not a number: missing
    assert all(math.isnan(s) for s in ns.seconds.values())  # NB101's file stores no times
    assert ns.accuracy.tolist() == [92.5, 90.0]
    assert ns.describe() == \
        "NASLib val_accuracy (%) stored with the scores: naslib_zc_nasbench101.json[cifar10], 2 archs"


def test_load_maps_keys_through_the_given_data_dirs_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          no_default_data: None) -> None:
    monkeypatch.setattr(conf, "NB201Benchmark", _FakeTable)
    _FakeTable.seen = []
    root = str(_nb201_dir(tmp_path, list(_FakeTable.keys)))
    ns = conf.load_naslib("nb201", "cifar10", root)
    assert _FakeTable.seen == [root] and ns.archs == ["arch_a", "arch_b"]
    assert ns.scores["params"].tolist() == pytest.approx([0.1, 0.2])
    assert ns.seconds["params"] == pytest.approx(1.0) and math.isnan(ns.seconds["flops"])  # flops: no time stored


def test_load_refuses_foreign_and_repeated_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "NB201Benchmark", _FakeTable)
    foreign = _nb201_dir(tmp_path / "a", ["(0, 0, 0, 0, 0, 1)", "(0, 0, 0, 0, 0, 3)"])
    path = foreign / "nb201" / "naslib_zc_nasbench201.json"
    assert refusal(ValueError, lambda: conf.load_naslib("nb201", "cifar10", str(foreign))) == \
        f"{path}: NASLib key (0, 0, 0, 0, 0, 3) matches no nb201 arch"
    twice = _nb201_dir(tmp_path / "b", ["(0, 0, 0, 0, 0, 1)", "(0,0,0,0,0,1)"])
    path = twice / "nb201" / "naslib_zc_nasbench201.json"
    assert refusal(ValueError, lambda: conf.load_naslib("nb201", "cifar10", str(twice))) == \
        f"{path}: NASLib keys (0, 0, 0, 0, 0, 1) and (0,0,0,0,0,1) name the same arch"


def test_load_names_the_missing_file_and_the_datasets(tmp_path: Path) -> None:
    assert refusal(FileNotFoundError, lambda: conf.load_naslib("nb101", "cifar10", str(tmp_path))) == (
        f"missing data file 'nb101/naslib_zc_nasbench101.json' (searched in {tmp_path}); it comes from NASLib "
        "(automl/NASLib naslib/data/zc_*.json), in the swapnas data bundle (see SOURCES.md)")
    assert refusal(ValueError, lambda: conf.load_naslib("nb201", "cifar1000", str(tmp_path))) == \
        "NASLib stores no nb201 scores for dataset 'cifar1000'; it has cifar10, cifar100, imagenet16-120"


def test_select_proxies_all_by_default_and_whole_refusals(tmp_path: Path) -> None:
    ns = conf.load_naslib("nb101", "cifar10", str(_nb101_dir(tmp_path)))
    for names in (None, "all"):
        assert [p.name for p in conf.select_proxies(ns, names)] == ["flops", "jacob_cov", "params"]
    stored = "flops, jacob_cov (NASLib: jacov), params"
    for empty in ("", " , "):  # session 52: an empty --proxies scored every metric, as grid refuses it
        assert refusal(ValueError, lambda: conf.select_proxies(ns, empty)) == (
            f"--proxies needs at least one metric name, comma-separated, or 'all' (got {empty!r}); NASLib stores (and "
            f"we implement) for nb101/cifar10: {stored}")
    assert [p.name for p in conf.select_proxies(ns, "jacov, params")] == ["jacob_cov", "params"]
    stored = "flops, jacob_cov (NASLib: jacov), params"
    assert refusal(ValueError, lambda: conf.select_proxies(ns, "foo,params,bar")) == \
        f"unknown metric 'foo', 'bar'; NASLib stores (and we implement) for nb101/cifar10: {stored}"
    assert refusal(ValueError, lambda: conf.select_proxies(ns, "swap,params,meco")) == \
        f"NASLib stores no swap, meco scores for nb101/cifar10; it stores (and we implement): {stored}"


# --- Spearman -----------------------------------------------------------------------------------------------------

def test_spearman_edges() -> None:
    assert conf.spearman(np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0])) == pytest.approx(0.5)  # 3 pairs suffice
    assert math.isnan(conf.spearman(np.array([1.0, 2.0]), np.array([2.0, 1.0])))
    x, y = [0.0, 0.5, 1.0, 0.25], [3.0, 2.0, 1.0, 2.5]  # a range of exactly 1 is not constant
    assert conf.spearman(np.array(x), np.array(y)) == pytest.approx(naive_spearman(x, y))
    assert conf.spearman(np.array(y), np.array(x)) == pytest.approx(naive_spearman(y, x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a constant side is nan before scipy is asked (no ConstantInputWarning)
        assert math.isnan(conf.spearman(np.array([1.0, 1.0, 1.0, 1.0]), np.array(y)))
        assert math.isnan(conf.spearman(np.array(y), np.array([2.0, 2.0, 2.0, 2.0])))
    # plain lists with a missing value: read as floats (None is nan), so ρ is nan rather than an error
    assert math.isnan(conf.spearman([1, None, 3, 4], [1.0, 2.0, 3.0, 4.0]))  # type: ignore[arg-type]
    assert math.isnan(conf.spearman([1.0, 2.0, 3.0, 4.0], [1, None, 3, 4]))  # type: ignore[arg-type]


# --- one metric's row ---------------------------------------------------------------------------------------------

def _rec(ok: bool, value: float | None, seconds: float | None, error: str | None = None) -> Record:
    return Record("ok" if ok else "failed", value, None, [], seconds, None, error)


def test_a_row_reads_only_archs_finite_on_both_sides() -> None:
    ours = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0])
    theirs = np.array([2.0, 1.0, 3.0, np.nan, 6.0, 4.0, 8.0])
    acc = np.array([10.0, 30.0, 20.0, 50.0, 40.0, 70.0, 60.0])
    recs = [_rec(True, 1.0, 2.0), _rec(True, 2.0, None), _rec(False, None, 9.0, "boom"), _rec(True, 4.0, 4.0),
            _rec(True, 5.0, 6.0), _rec(True, 6.0, 8.0), _rec(True, 7.0, 10.0)]
    naslib = SimpleNamespace(naslib_names={"jacob_cov": "jacov"},
                             seconds_over=lambda name, rows: 0.25 if (name, rows) == ("jacob_cov", [3, 1]) else 9.0)
    row = conf._row(get_proxy("jacob_cov"), recs, ours, theirs, acc, naslib, [3, 1])  # type: ignore[arg-type]
    keep = [0, 1, 4, 5, 6]
    assert row.proxy == "jacob_cov" and row.naslib_name == "jacov" and row.n == 5
    assert row.rho_ours_naslib == pytest.approx(naive_spearman(ours[keep].tolist(), theirs[keep].tolist()))
    assert row.rho_ours_truth == pytest.approx(naive_spearman(ours[keep].tolist(), acc[keep].tolist()))
    assert row.rho_naslib_truth == pytest.approx(naive_spearman(theirs[keep].tolist(), acc[keep].tolist()))
    assert (row.failures, row.naslib_missing, row.errors) == (1, 1, ["boom"])
    assert row.seconds_per_arch == pytest.approx(6.0)  # the ok records with a time: 2, 4, 6, 8, 10
    assert row.naslib_seconds_per_arch == 0.25 and row.higher_is_better is True
    # session 54: the CI of rho(ours, NASLib), stats.correlate's over the same archs (its golden values: test_stats)
    assert row.ci_ours_naslib == correlate(ours[keep], theirs[keep]).spearman_ci
    assert row.ci_ours_naslib[0] <= row.rho_ours_naslib <= row.ci_ours_naslib[1]
    row = conf._row(get_proxy("jacob_cov"), [_rec(True, 1.0, None)] * 3, ours[:3], theirs[:3], acc[:3], naslib,
                    [0, 1, 2])  # type: ignore[arg-type]
    assert math.isnan(row.seconds_per_arch)


# --- text ---------------------------------------------------------------------------------------------------------

def test_number_format() -> None:
    """The table's numbers are report.fixed's (session 52: its own copy printed ρ −0.0004 as "-0.000")."""
    row = conf.ConformanceRow("params", "params", 7, -0.0004, 0.5, float("nan"), 0, 0, 2.0, None, True)
    cells = conf.conformance_table([row]).splitlines()[-1].split()
    assert cells[3:8] == ["0.000", "[nan,", "nan]", "0.500", "nan"] and cells[-2:] == ["2.0000", "nan"]


def _rows() -> list[conf.ConformanceRow]:
    return [conf.ConformanceRow("jacob_cov", "jacov", 12, 0.5, -0.25, float("nan"), 1, 2, 0.123456, 1.5, True,
                                ["boom", "bang"], (-0.0004, 0.81234)),
            conf.ConformanceRow("params", "params", 7, 1.0, 0.75, 0.75, 0, 0, float("nan"), 0.02, True)]


def test_the_table_whole_in_both_forms() -> None:
    head = ("proxy      naslib   n  rho(ours,NASLib)          95% CI  rho(ours,acc)  rho(NASLib,acc)  fail  "
            "naslib_missing  s/arch  naslib s/arch")
    assert conf.conformance_table(_rows()) == "\n".join([
        head, "---------  ------  --  ----------------  --------------  -------------  ---------------  ----  "
        "--------------  ------  -------------",
        "jacob_cov  jacov   12             0.500  [0.000, 0.812]         -0.250              nan     1               "
        "2  0.1235         1.5000",
        "params     params   7             1.000      [nan, nan]          0.750            0.750     0               "
        "0     nan         0.0200"])
    assert conf.conformance_table(_rows(), markdown=True) == "\n".join([
        "| proxy | naslib | n | rho(ours,NASLib) | 95% CI | rho(ours,acc) | rho(NASLib,acc) | fail | naslib_missing | "
        "s/arch | naslib s/arch |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        "| jacob_cov | jacov | 12 | 0.500 | [0.000, 0.812] | -0.250 | nan | 1 | 2 | 0.1235 | 1.5000 |",
        "| params | params | 7 | 1.000 | [nan, nan] | 0.750 | 0.750 | 0 | 0 | nan | 0.0200 |"])


PROTOCOL = {"space": "nb201", "dataset": "cifar100", "inputs": "real", "batch_digest": "abc123", "batch_size": 64,
            "repeats": 1, "init": "default", "bn_train": True, "net": {"C": 4, "N": 1}, "seed": 0}


def _run(**kw: object) -> conf.ConformanceRun:
    base = dict(protocol=PROTOCOL, reference="REF", ground_truth="GT", batch_note="20 real images, 44 filled",
                device="cpu", wall_seconds=12.34, results=_rows(), unsupported=["zen_x", "zz"], archs=["a", "b", "c"],
                naslib_keys=["k1", "k2", "k3"], accuracy=[1.0, 2.0, 3.0], scores={}, naslib_scores={}, reused=1,
                partly_reused=2)
    return conf.ConformanceRun(**{**base, **kw})  # type: ignore[arg-type]


HEAD = ["space nb201 | dataset cifar100 | inputs real (batch sha256 abc123)",
        "S=64 samples | repeats=1 (mean over re-inits) | init=default | train mode (BatchNorm, if any: batch "
        "statistics) | network C=4, N=1 | seed=0 (per-arch seeds from sha256(seed, arch))",
        "ground truth: GT"]


def test_the_header_whole() -> None:
    tail = ["reference: REF",
            "device cpu | 3 archs | wall 12.3 s (stored scores of 1 of 3 archs reused; some proxies' stored scores of "
            "2 more archs reused, the others scored now)",
            "NASLib metrics without an implementation here (skipped): zen_x, zz"]
    assert conf.header_text(_run()) == "\n".join([*HEAD, "NOTE: 20 real images, 44 filled", *tail])
    assert conf.header_text(_run(), note=False) == "\n".join([*HEAD, *tail])
    assert conf.header_text(_run(unsupported=[], reused=0, partly_reused=0, batch_note="")) == "\n".join(
        [*HEAD, "reference: REF", "device cpu | 3 archs | wall 12.3 s"])


def test_the_report_whole_in_a_new_nested_folder(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    js, md = conf.write_outputs(_run(), out)
    assert (js, md) == (out / "conformance.json", out / "conformance.md")
    doc = json.loads(js.read_text())
    text = md.read_text()
    made = f"Made by `{doc['provenance']['command']}` ("
    assert text.startswith("# Conformance with NASLib's stored zero-cost scores\n\n" + made)
    body = text.split(").\n\n", 1)[1]
    assert body == ("```\n" + conf.header_text(_run()) + "\n```\n\n" + conf.conformance_table(_rows(), markdown=True)
                    + "\n\n" + conf.CI_NOTE
                    + "\n\n## Failures and warnings\n\n- FAILED jacob_cov (1 archs in all; message 1 of 2): boom\n"
                    "- FAILED jacob_cov (1 archs in all; message 2 of 2): bang\n")
    js, md = conf.write_outputs(_run(results=_rows()[1:]), out)
    assert md.read_text().endswith("```\n\n" + conf.conformance_table(_rows()[1:], markdown=True) + "\n\n"
                                   + conf.CI_NOTE + "\n")
    assert conf.CI_NOTE.startswith("95% CI: percentile bootstrap of rho(ours,NASLib) over the n archs (1000 paired ")


# --- a whole run (the NB201 table) --------------------------------------------------------------------------------

SMALL = {"C": 4, "N": 1}  # tests only: a conformance claim needs the full network


@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_a_run_fills_every_field(data_dir: Path, tmp_path: Path, no_default_data: None,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    kw = dict(proxies="params,flops", n_archs=3, device="cpu", data_dir=str(data_dir), net=SMALL)
    with ScoreStore(tmp_path / "s.sqlite") as store:
        run = conf.run_conformance(store=store, **kw)  # space and dataset: nb201 / cifar10 by default
        bar = capsys.readouterr().err
        assert "conformance nb201/cifar10" in bar and "3/3" in bar  # the progress bar, on by default
        naslib = conf.load_naslib("nb201", "cifar10", str(data_dir))
        picked = pick_archs(naslib.archs, 3, 0)
        assert run.archs == [str(a) for a in picked]
        idx = [naslib.archs.index(a) for a in picked]
        assert run.naslib_keys == [naslib.keys[i] for i in idx]
        assert run.accuracy == [float(naslib.accuracy[i]) for i in idx]
        assert run.reference == ("NASLib stored zero-cost scores naslib_zc_nasbench201.json[nb201/cifar10] (725 archs, "
                                 "NAS-Bench-Suite-Zero); all rho are Spearman on raw values")
        assert run.ground_truth == naslib.describe()
        assert (run.protocol["space"], run.protocol["dataset"], run.batch_note) == ("nb201", "cifar10", "")
        assert run.device == "cpu" and run.unsupported == [] and (run.reused, run.partly_reused) == (0, 0)
        assert 0.0 <= run.wall_seconds < 600.0
        # another seed draws other weights and images, never other archs; its scores are new
        other = conf.run_conformance(store=store, seed=1, progress=False, **kw)
        assert other.archs == run.archs and (other.reused, other.partly_reused) == (0, 0)
        again = conf.run_conformance(store=store, space="nb201", dataset="cifar10", progress=False, **kw)
        assert (again.reused, again.partly_reused) == (3, 0)
        more = conf.run_conformance(store=store, progress=False, **{**kw, "proxies": "params,flops,l2_norm"})
        assert (more.reused, more.partly_reused) == (0, 3)
        with pytest.raises(ValueError) as info:
            conf.run_conformance(store=store, progress=False, **{**kw, "n_archs": 726})
        assert str(info.value) == (f"--archs 726: only 725 archs in NASLib's nb201/cifar10 file {naslib.path}; use "
                                   "--archs all (or a number up to 725)")


@pytest.mark.bundle  # the NB201 table (all 15,625 rows)
def test_a_run_notes_its_batch_and_keeps_a_stored_failure_unless_asked(data_dir: Path, tmp_path: Path) -> None:
    kw = dict(dataset="cifar100", proxies="params", n_archs=2, device="cpu", data_dir=str(data_dir), net=SMALL,
              progress=False)
    db = tmp_path / "s.sqlite"
    with ScoreStore(db) as store:
        run = conf.run_conformance(store=store, **kw)
    assert run.batch_note.startswith("cifar100: 20 real images available, batch needs 64; 44 filled")
    assert run.protocol["dataset"] == "cifar100" and run.results[0].failures == 0
    with sqlite3.connect(db) as con:
        con.execute("UPDATE scores SET status = 'failed', value = NULL, error = 'stored failure' WHERE arch = ?",
                    (run.archs[0],))
    with ScoreStore(db) as store:
        kept = conf.run_conformance(store=store, **kw)
        assert (kept.results[0].failures, kept.results[0].errors, kept.scores["params"][0]) == \
            (1, ["stored failure"], None)
        retried = conf.run_conformance(store=store, retry_failed=True, **kw)
    assert retried.results[0].failures == 0 and retried.scores["params"] == run.scores["params"]
