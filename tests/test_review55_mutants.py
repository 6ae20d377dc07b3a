"""Session 55's mutation run: each test kills mutants of the session's code that the other tests let live
(accept-code, the store's recorded code, merge, compare_spearman, source_revision, the naslib-zc failure pass,
near_names, nb201_space_table's command line)."""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from swapnas.errors import NotFound, did_you_mean, near_names
from swapnas.proxies import get_proxy
from swapnas.store import Record, ScoreKey, ScoreStore, local_minute

from .script_tools import load_script


def _codes(path: Path, codes: dict[str, str]) -> Path:
    with ScoreStore(path) as store:
        for name, digest in codes.items():
            assert store.code_changed(name, digest) is None
    return path


# ---------------------------------------------------------------- code_changes.accept_code / running_digests

def test_accept_code_of_a_name_in_a_store_that_records_none_says_so(tmp_path) -> None:
    from swapnas.code_changes import accept_code

    path = _codes(tmp_path / "e.sqlite", {})
    with pytest.raises(NotFound) as caught:
        accept_code(path, ["swap"])
    assert caught.value.args[0] == (
        f"{path} records no code of 'swap'; it records none (it holds no score)")


def test_accept_code_without_a_near_name_adds_no_suggestion(tmp_path) -> None:
    from swapnas.code_changes import accept_code

    path = _codes(tmp_path / "s.sqlite", {"swap@1": "0" * 16})
    with pytest.raises(NotFound) as caught:
        accept_code(path, ["zzzzzz"])
    assert caught.value.args[0] == f"{path} records no code of 'zzzzzz'; it records swap@1"


def test_accept_code_reports_the_date_the_old_code_was_recorded_and_lists_names_sorted(tmp_path) -> None:
    """The date is the old record's, not today's; the names come sorted whatever order the store holds them in."""
    from swapnas.code_changes import accept_code, accept_text, running_digests

    swap, params = f"swap@{get_proxy('swap').version}", f"params@{get_proxy('params').version}"
    path = _codes(tmp_path / "s.sqlite", {swap: running_digests(swap)[0], params: running_digests(params)[0],
                                          "synflow@" + get_proxy("synflow").version: "0" * 16})
    with sqlite3.connect(path) as db:  # recorded long ago
        db.execute("UPDATE proxy_code SET created = 1e9")
    report = accept_code(path)
    assert report.unchanged == [params, swap]  # the store holds swap first
    assert report.accepted == {"synflow@" + get_proxy("synflow").version:
                               local_minute(1e9)}
    assert f"  already the code that runs now: {params}, {swap}" in accept_text(report)


def test_running_digest_of_a_proxy_whose_name_starts_with_net() -> None:
    """Only 'net:' marks a network: a metric named net… is a proxy."""
    from swapnas.code_changes import running_digests
    from swapnas.proxies import register
    from swapnas.proxies.code import code_digest

    from .registry_tools import registry_snapshot

    def netscore(model, batch) -> float:
        return 0.0

    with registry_snapshot():
        register("netscore", version="2")(netscore)
        assert running_digests("netscore@2")[0] == code_digest(get_proxy("netscore").fn)
        assert running_digests("netscore@1")[0] is None


# ---------------------------------------------------------------- store.recorded_code / merge's other_code

def test_recorded_code_of_a_read_only_store_made_before_the_table_is_empty(tmp_path) -> None:
    path = _codes(tmp_path / "s.sqlite", {"swap@1": "0" * 16})
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE proxy_code")
    with ScoreStore(path, read_only=True) as store:
        assert store.recorded_code() == {}


def test_merge_names_every_differing_code_sorted_over_all_sources(tmp_path) -> None:
    """A name found differing in an early source stays named when a later source agrees with INTO; several names
    are listed sorted and all in the text."""
    from swapnas.store_merge import merge_stores, merge_text

    names = [f"{p}@1" for p in ("zeta", "swap", "mine", "alpha", "nwot", "beta")]
    a = _codes(tmp_path / "a.sqlite", {n: "aaaa" for n in names})
    b = _codes(tmp_path / "b.sqlite", {n: "bbbb" for n in names})
    c = _codes(tmp_path / "c.sqlite", {names[0]: "aaaa"})
    merged = merge_stores([a, b, c], tmp_path / "into.sqlite", mixed_code=True)
    assert merged.other_code == sorted(names)
    assert f"the sources' scores of {', '.join(sorted(names))} were made by other code" in merge_text(merged)


# ---------------------------------------------------------------- stats.compare_spearman

def test_compare_spearman_drops_a_nan_of_b_or_of_the_truth_and_signs_b_by_its_own_flag() -> None:
    from swapnas.stats import compare_spearman

    y = np.arange(20.0)
    b = y ** 3
    b[3] = np.nan
    assert compare_spearman(y, b, y, n_boot=20).n == 19
    truth = y.copy()
    truth[5] = np.nan
    got = compare_spearman(y, y ** 3, truth, n_boot=20)
    assert got.n == 19 and got.spearman_a == 1.0
    signed = compare_spearman(y, -y, y, higher_is_better=(True, False), n_boot=20)
    assert (signed.spearman_a, signed.spearman_b, signed.difference) == (1.0, 1.0, 0.0)


def test_compare_spearman_undefined_for_two_archs_or_a_constant_b_and_refuses_non_bool_signs() -> None:
    from swapnas.stats import compare_spearman

    two = compare_spearman([1.0, 2.0], [2.0, 1.0], [1.0, 2.0], n_boot=10)
    assert two.n == 2 and all(math.isnan(v) for v in (two.spearman_a, two.spearman_b, two.difference, two.p_value))
    y = np.arange(10.0)
    flat = compare_spearman(y, np.ones(10), y, n_boot=10)
    assert flat.n == 10 and math.isnan(flat.spearman_a) and math.isnan(flat.difference)
    with pytest.raises(ValueError, match=r"^higher_is_better is a bool, or a pair of them \(one per score\), not "
                                         r"\(1, 0\)$"):
        compare_spearman(y, y, y, higher_is_better=(1, 0))  # type: ignore[arg-type]


def test_compare_spearman_gives_no_interval_when_most_resamples_are_degenerate() -> None:
    """Three archs: a resample of archs {0, 1} only leaves b constant, of {1, 2} only leaves a constant, so about
    15 of 27 resamples are degenerate: under half finite, no interval (as correlate's)."""
    from swapnas.stats import compare_spearman

    got = compare_spearman([0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0], n_boot=1000, seed=0)
    assert got.n == 3 and not math.isnan(got.difference)
    assert math.isnan(got.p_value) and all(math.isnan(v) for v in got.difference_ci)


# ---------------------------------------------------------------- results.source_revision / _git

def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false",
                           "-C", str(repo), *args], capture_output=True, check=True).stdout.decode("utf-8", "replace")


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A git repository with src/swapnas in it, and results' _git pointed at that folder."""
    from swapnas import results

    if shutil.which("git") is None:
        pytest.skip("no git here")
    repo = tmp_path / "repo"
    pkg = repo / "src" / "swapnas"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "results.py").write_text("")
    (repo / "README").write_text("x\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "café")
    monkeypatch.setattr(results, "__file__", str(pkg / "results.py"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not in a git repository: git runs in swapnas's folder, not here
    return repo, _git(repo, "rev-parse", "--short=12", "HEAD").strip()


def test_source_revision_reads_swapnas_own_folder_tracked_files_only(checkout) -> None:
    """Untracked files and changes outside src/swapnas leave the revision clean; a tracked change there marks it."""
    from swapnas import results

    repo, head = checkout
    revision = results.source_revision.__wrapped__
    assert len(head) == 12 and revision() == head
    (repo / "src" / "swapnas" / "new.py").write_text("x = 1\n")
    (repo / "README").write_text("changed\n")
    assert revision() == head
    (repo / "src" / "swapnas" / "__init__.py").write_text("y = 2\n")
    assert revision() == head + "+modified"


def test_git_output_is_decoded_leniently_and_status_leaves_the_index_alone(checkout) -> None:
    from swapnas import results

    repo, _ = checkout
    assert results._git("log", "-1", "--format=%B", "--encoding=ISO-8859-1") == "caf\ufffd"  # not UTF-8
    index = repo / ".git" / "index"
    before = index.read_bytes()
    old = time.time() - 1000  # stale stat data: a `git status` that may take locks rewrites the index
    os.utime(repo / "src" / "swapnas" / "__init__.py", (old, old))
    os.utime(repo / "README", (old, old))
    results.source_revision.__wrapped__()
    assert index.read_bytes() == before


def test_git_that_times_out_is_no_revision(monkeypatch) -> None:
    from swapnas import results

    def hangs(cmd, **kwargs):
        raise subprocess.TimeoutExpired(cmd, kwargs.get("timeout", 0))

    monkeypatch.setattr(results.subprocess, "run", hangs)
    assert results._git("status") is None


# ---------------------------------------------------------------- export: naslib-zc failures

def _put(path: Path, rows) -> Path:
    with ScoreStore(path) as store:
        for key, rec in rows:
            store.put(key, rec)
    return path


def test_naslib_failures_of_an_own_metric_and_beside_a_score_of_another_version(tmp_path) -> None:
    """A failed metric not registered here is -1e8; a failure of another version of a metric the arch has a score
    of leaves the score; two failed versions keep the first one's time."""
    from swapnas.export import export
    from swapnas.spaces import nb201

    arch = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"

    def key(proxy: str) -> ScoreKey:
        return ScoreKey("nb201", arch, proxy, "fp1", 0, 8, 1, '{"C": 4}')

    def failed(seconds: float) -> Record:
        return Record("failed", None, None, [], seconds, None, "boom")

    store = _put(tmp_path / "s.sqlite", [
        (key("mine@1"), failed(0.1)), (key("swap@1"), Record("ok", 3.0, 0.0, [3.0], 0.5, None, None)),
        (key("swap@2"), failed(0.2)), (key("jacob_cov@1"), failed(0.3)), (key("jacob_cov@2"), failed(0.7))])
    doc = json.loads(export(store, tmp_path / "zc.json", "naslib-zc").read_text())
    assert doc["nb201"]["protocol fp1"][nb201.to_naslib(nb201.parse(arch))] == {
        "mine": {"score": -1e8, "time": 0.1}, "swap": {"score": 3.0, "time": 0.5},
        "jacov": {"score": -1e8, "time": 0.3}}


# ---------------------------------------------------------------- errors.near_names, registry.about_unknown

def test_near_names_defaults_two_names_cutoff_and_the_choices_spelling() -> None:
    assert near_names("abc", ["abd", "abe", "abf"]).count(" or ") == 1  # at most two
    assert near_names("abcdefgh", ["abcdexyz"]) == "'abcdexyz'"  # ratio 0.625: over the cutoff 0.6
    assert did_you_mean("abcdefgh", ["abcdexyz"]) == "; did you mean 'abcdexyz'?"
    assert near_names("imagenet16-120", ["ImageNet16-120", "cifar10"]) == "'ImageNet16-120'"


def test_an_unknown_proxy_near_an_alias_is_pointed_to_it() -> None:
    from swapnas.proxies.registry import about_unknown

    assert about_unknown("bestt") == "'bestt'; did you mean 'best'?"


# ---------------------------------------------------------------- scripts/nb201_space_table.py

def _run_doc(tmp_path: Path, with_results: bool) -> Path:
    import random

    from swapnas.spaces import nb201

    archs = [str(nb201.sample(random.Random(i))) for i in range(6)]
    acc = [float(i) for i in range(6)]
    doc = {"protocol": {"dataset": "cifar10"}, "archs": archs, "accuracy": acc,
           "scores": {"te_nas": acc, "te_nas_ntk": [-a for a in acc], "te_nas_lr": acc}}
    if with_results:
        doc["results"] = [{"proxy": p, "higher_is_better": get_proxy(p).higher_is_better} for p in doc["scores"]]
    (tmp_path / "run").mkdir(exist_ok=True)
    path = tmp_path / "run" / "results.json"
    path.write_text(json.dumps(doc))
    return path


def test_space_table_reads_a_run_older_than_the_stored_sign(tmp_path, capsys) -> None:
    mod = load_script("nb201_space_table", "t55m")
    mod.main([str(_run_doc(tmp_path, with_results=False))])
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [r.split(" | ")[2] for r in rows[:3]] == ["te_nas", "te_nas_ntk", "te_nas_lr"]
    assert rows[1].startswith("| `run` | cifar10 | te_nas_ntk | 6 | 0 | 1.000 | 1.000 |")  # lower is better


def test_space_table_command_line_passes_no_parts(tmp_path, monkeypatch, capsys) -> None:
    import runpy

    path = str(_run_doc(tmp_path, with_results=True))
    script = str(Path(__file__).resolve().parents[1] / "scripts" / "nb201_space_table.py")
    shown = {}
    for argv in ([path], [path, "--no-parts"]):
        monkeypatch.setattr(sys, "argv", [script, *argv])
        runpy.run_path(script, run_name="__main__")
        shown[len(argv)] = [r.split(" | ")[2] for r in capsys.readouterr().out.splitlines()[2:]
                            if r.startswith("| `run`")]
    assert shown == {1: ["te_nas", "te_nas_ntk", "te_nas_lr", "params (C=16, N=5)"],
                     2: ["te_nas", "params (C=16, N=5)"]}
