"""Session 68: leftovers of session 67 (each test failed on the code as found)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from swapnas.proxies import get_proxy
from swapnas.proxies.registry import register, register_set
from swapnas.report import constant_lines, failure_lines, md_text
from swapnas.results import ProxyResult


def _result(name: str, **counts: int) -> ProxyResult:
    nan = float("nan")
    r = ProxyResult(name, get_proxy(name).key, "nb201", "cifar10", 4, 0, nan, nan, (nan, nan), nan, nan, 0.1, True)
    for k, v in counts.items():
        setattr(r, k, v)
    return r


def test_report_md_writes_the_names_of_filled_saturated_and_constant_lines_as_written(scratch_registry) -> None:
    """report.md escaped a metric's name in its FAILED lines but not in its FILLED, SATURATED and CONSTANT lines:
    `a*b*` came out in italics and `x|y` could end a table cell; the terminal keeps the names as they are."""
    register("p*art*", description="a part", version="1")(lambda net, batch: 1.0)
    register_set("se<t>", ("p*art*",), lambda parts: np.asarray(parts[0]), description="a set", fill_failed=("p*art*",))
    register("s_w*", description="a SWAP-like", version="1")(lambda net, batch: 1.0)
    filled = _result("se<t>", filled=2)
    saturated = _result("s_w*", saturated=3)
    md = failure_lines([filled, saturated], md_text)
    assert md[0].startswith(r"FILLED se\<t\>: 2 of its 4 scored archs have a part that failed (p\*art\*), counted")
    assert md[1].startswith(r"SATURATED s_w\*: 3 of 4 archs score >= 95% of the 2**S ceiling")
    plain = failure_lines([filled, saturated])
    assert plain[0].startswith("FILLED se<t>: 2 of its 4 scored archs have a part that failed (p*art*), counted")
    assert plain[1].startswith("SATURATED s_w*: 3 of 4")
    constant = _result("s_w*")
    assert constant_lines([constant], {"s_w*": [1.0] * 4}, md_text)[0].startswith(r"CONSTANT s_w\*: all 4 scored")
    assert constant_lines([constant], {"s_w*": [1.0] * 4})[0].startswith("CONSTANT s_w*: all 4 scored")


def test_a_derived_metrics_saturated_line_escapes_both_names() -> None:
    """swap_reg's line names its Ψ (swap) too; both go through ``show``."""
    from swapnas.report import saturated_line

    line = saturated_line("swap_reg", 1, 2, "4", "fix it", lambda s: f"<{s}>")
    assert line.startswith("SATURATED <swap_reg>: 1 of 2 archs have a Ψ (<swap>, which <swap_reg> is derived from)")
    assert "where that Ψ is one constant and <swap_reg> ranks them" in line


def test_grid_md_writes_the_names_of_its_cells_to_read_with_care_as_written(scratch_registry) -> None:
    """grid.md's "Cells to read with care" gave the FILLED and SATURATED lines' names as markdown too."""
    from swapnas.grid import markdown
    from tests.test_review64_mutants import _grid_column, _grid_result

    register("s_w*", description="a SWAP-like", version="1")(lambda net, batch: 1.0)
    text = markdown([_grid_column([_grid_result("s_w*", saturated=7)])])
    (line,) = [x for x in text.splitlines() if "SATURATED" in x]
    assert line.startswith(r"- nb201/cifar10 SATURATED s_w\*: 7 of 10 archs score >= 95% of the 2**S ceiling (S = 4; ")


def test_an_alias_refused_for_its_name_is_called_an_alias_without_a_version(scratch_registry) -> None:
    """register_alias("a@b", …) was refused as "proxy 'a@b' version '1'": an alias has no version."""
    from swapnas.proxies.registry import register_alias

    with pytest.raises(ValueError, match=r"^alias 'a@b': a name with '@', or a name starting 'net:', cannot be told "):
        register_alias("a@b", "swap")
    with pytest.raises(ValueError, match=r"^alias 'a/b': a name is 1 to 100 bytes"):
        register_alias("a/b", "swap")
    with pytest.raises(ValueError, match=r"^proxy 'p' version '2@x': a name or version with '@'"):
        register("p", description="d", version="2@x")(lambda net, batch: 1.0)


def test_a_set_level_metrics_version_is_checked_as_a_metrics_is(scratch_registry) -> None:
    """register_set checked its name but not its version: "2@x" was taken, though a key name@version then reads
    otherwise."""
    with pytest.raises(ValueError, match=r"^proxy 'agg' version '2@x': a name or version with '@'"):
        register_set("agg", ("swap",), lambda parts: np.asarray(parts[0]), description="d", version="2@x")
    with pytest.raises(KeyError):
        get_proxy("agg")


def _store_with(path: Path, n: int, where: str = "rowid = 1", **columns: str) -> None:
    """A store of ``n`` made-up scores, those ``where`` selects (the first) with ``columns`` written over as raw
    text."""
    from tests.test_faults_store import _fake_store

    _fake_store(path, n)
    with sqlite3.connect(path) as db:
        for column, text in columns.items():
            db.execute(f"UPDATE scores SET {column} = ? WHERE {where}", (text,))


def test_export_of_a_score_whose_net_is_no_json_object_names_the_store_and_the_csv_format(tmp_path: Path) -> None:
    """`export --format naslib-zc` of a store with a net that is no JSON object ended in json's bare "Expecting
    property name enclosed in double quotes"; the net is a key's text everywhere else, so csv still exports it."""
    from swapnas.export import export

    store = tmp_path / "s.sqlite"
    _store_with(store, 3, "1", net="{bad")
    with pytest.raises(ValueError) as info:
        export(store, tmp_path / "zc.json", "naslib-zc")
    assert str(info.value) == (f"{store} has scores whose net options, '{{bad', are not a JSON object "
                               "(JSONDecodeError), which the naslib-zc format writes in its settings: use --format "
                               "csv, which keeps every row as it is stored")
    assert not (tmp_path / "zc.json").exists()
    rows = (tmp_path / "s.csv").read_text() if export(store, tmp_path / "s.csv", "csv") else ""
    assert len(rows.splitlines()) == 4 and "{bad" in rows


@pytest.mark.parametrize("values", ['{"a": 1}', "[1,", '"text"'])
def test_scores_whose_values_are_no_json_list_are_damage_that_check_names_and_salvage_leaves_out(
        tmp_path: Path, values: str) -> None:
    """A score whose values_json held a JSON object was read back as one (a dict where a list of values belongs);
    `store check` called a store with unreadable values "ok", and `store salvage` copied them, so the salvaged store
    was called damaged in turn, with the advice to salvage it."""
    from swapnas.store import ScoreKey, ScoreStore, StoreError
    from swapnas.store_tools import check_store, salvage_store

    store = tmp_path / "s.sqlite"
    _store_with(store, 4, values_json=values)
    key = ScoreKey("fake", "x-arch-00000-" + "op" * 150, "swap", "p0", 0, 8, 1, "C=4")
    with ScoreStore(store, read_only=True) as s, pytest.raises(StoreError, match=r"a score's values are not readable"):
        s.get(key)
    assert check_store(store).problems == [
        "1 score with values that are not a readable JSON list (`swapnas store salvage` leaves it out)"]
    saved = salvage_store(store, tmp_path / "new.sqlite")
    assert (saved.recovered, saved.lost) == (3, 1)
    assert check_store(tmp_path / "new.sqlite").ok
    with ScoreStore(tmp_path / "new.sqlite", read_only=True) as s:
        assert s.get(key) is None and s.count() == 3


def test_the_open_file_refusal_names_the_hard_limit_and_the_workers_that_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """(Session 68's advice audit) the refusal came only where the hard limit is below the workers' need, yet it
    advised `ulimit -n 4096`, which the hard limit refuses; it names that limit and the workers that fit under it."""
    import resource

    from swapnas.open_files import check_open_files

    monkeypatch.setattr(resource, "getrlimit", lambda which: (20, 40))
    monkeypatch.setattr(resource, "setrlimit", lambda which, value: pytest.fail("no limit is set"))
    with pytest.raises(ValueError) as info:
        check_open_files(8)
    assert str(info.value) == (
        "--workers 8: this process may open at most 40 files (the hard limit, `ulimit -Hn`, which only an "
        "administrator can raise), and 8 worker processes need about 80 (their pipes, and a file handle for each "
        "tensor sent to them); use --workers 3 (as many as fit), or --workers 1, which scores in this process")


def test_json_export_to_a_dash_gives_the_advice_that_works_under_json(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    """(Session 68's advice audit) `--json export S --out -` advised "/dev/stdout for standard output", which --json
    then refused; it gives --json's own advice at once."""
    import json

    from swapnas import cli
    from swapnas.store import ScoreStore

    store = tmp_path / "s.sqlite"
    ScoreStore(store).close()
    assert cli.main(["--json", "export", str(store), "--format", "csv", "--out", "-"]) == 2
    assert json.loads(capsys.readouterr().out)["error"] == (
        "--out - is the standard output, and with --json the standard output holds the command's JSON document: "
        "give --out a file, or leave --json out")


def test_grid_suggests_and_lists_the_tasks_of_the_benchmarks_asked_for() -> None:
    """(Session 68's advice audit) `grid --benchmarks nb201 --tasks mnist` offered FlexiBERT's 'mnli', which the grid
    then refused for nb201; it lists nb201's tasks."""
    from swapnas.grid import select_columns

    with pytest.raises(ValueError) as info:
        select_columns("nb201", "mnist")
    assert str(info.value) == "unknown task(s) mnist; known: cifar10, cifar100, imagenet16-120"
    with pytest.raises(ValueError, match=r"^unknown task\(s\) jigsw; did you mean 'jigsaw'\?; known: autoencoder, "):
        select_columns("all", "jigsw")


def test_merge_refuses_a_source_whose_values_its_readers_do_not_take(tmp_path: Path) -> None:
    """(Session 68's review) merge refused sources with columns of another kind but copied values that are not a JSON
    list: a sound INTO was then called damaged by check and by the run that reused that key."""
    from swapnas.store import StoreError
    from swapnas.store_merge import merge_stores
    from swapnas.store_tools import check_store

    source, into = tmp_path / "shard.sqlite", tmp_path / "main.sqlite"
    _store_with(source, 3, values_json="{}")
    _store_with(into, 1)
    with pytest.raises(StoreError, match=rf"^the score store {source} holds 1 score row that its readers do not take"):
        merge_stores([source], into)
    assert check_store(into).ok


def test_empty_values_are_read_alike_by_the_reader_check_and_salvage(tmp_path: Path) -> None:
    """(Session 68's review) an empty values_json reads as [] in a run, yet check called it damaged and salvage left it
    out; one rule decides for all."""
    from swapnas.store import ScoreKey, ScoreStore
    from swapnas.store_tools import check_store, salvage_store

    store = tmp_path / "s.sqlite"
    _store_with(store, 2, values_json="")
    key = ScoreKey("fake", "x-arch-00000-" + "op" * 150, "swap", "p0", 0, 8, 1, "C=4")
    with ScoreStore(store, read_only=True) as s:
        assert s.get(key).values == []  # type: ignore[union-attr]
    assert check_store(store).ok
    assert salvage_store(store, tmp_path / "new.sqlite").recovered == 2


def code_record_timed(path: Path, name: str, created: object) -> None:
    """A store at ``path`` recording the code of ``name`` (a digest of zeros) at the time ``created``, as written."""
    from swapnas.store import ScoreStore

    with ScoreStore(path) as s:
        s.accept_code(name, "0" * 16)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE proxy_code SET created = ?", (created,))


def test_a_code_record_whose_time_is_text_warns_of_an_unreadable_time(tmp_path: Path) -> None:
    """(Session 68's review) `code_changed` read the record's time with float(): "could not convert string to float:
    'abc'" ended the run, naming no store."""
    from swapnas.store import ScoreStore

    store = tmp_path / "s.sqlite"
    code_record_timed(store, "swap@1", "abc")
    with ScoreStore(store) as s:
        assert np.isnan(s.code_changed("swap@1", "1" * 16))  # type: ignore[arg-type]


def test_a_resume_cut_mid_epoch_with_fewer_epochs_is_advised_the_epochs_it_takes(tmp_path: Path) -> None:
    """(Session 68's review) a checkpoint saved in epoch 6 after batch 3 (epoch 5, step 3) asked with --epochs 3 was
    advised --epochs 5, which the next check refuses ("give --epochs 6 or more")."""
    from dataclasses import replace

    from tests.test_train_checkpoint_mutants import CONFIG, _checkpoint, _resume

    path = tmp_path / "checkpoint.pt"
    for step, advice in ((3, "give --epochs 6 or more (it trains on)"),
                         (0, "give --epochs 5 (its result is written again at once) or more (it trains on)")):
        with pytest.raises(ValueError) as info:
            _resume(_checkpoint(epoch=5, step=step), path, config=replace(CONFIG, epochs=3))
        assert f"it has 5 epochs done, more than the 3 asked; {advice}, or use another --out" in str(info.value)


def test_the_source_digest_leaves_out_what_cannot_be_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(Session 68's review) an editor's dangling `.#results.py` link in the package ended every output's provenance
    in "No such file or directory"."""
    import shutil

    import swapnas
    from swapnas import results

    copy = tmp_path / "swapnas"
    shutil.copytree(Path(swapnas.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(results, "__file__", str(copy / "results.py"))
    results.source_digest.cache_clear()
    try:
        clean = results.source_digest()
        (copy / ".#results.py").symlink_to(copy / "gone.py")
        results.source_digest.cache_clear()
        assert results.source_digest() == clean
    finally:
        results.source_digest.cache_clear()
