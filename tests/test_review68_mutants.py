"""Session 68's mutation run: tests that kill the mutants of the session's changed lines which the session's and
the existing tests let live (each names the mutant it kills; ids from the helper's list, kept outside the
repository). Each passes on the code and fails on its mutant."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tests.test_audit68_provenance import _size_a, _size_b  # the first code's metric and the edited one
from tests.test_leftovers68 import code_record_timed

NB201_ARCH = "|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|none~2|"


# ------------------------------------------------------------------ --truth CSV
def test_truth_row_with_more_cells_names_the_header_and_both_fixes(tmp_path: Path) -> None:
    """Kills csv_truth-4 ("more" → "other"), csv_truth-5 (len(header)+1) and csv_truth-6 (the "written with a
    point (87.05)" fix dropped): the message is pinned whole."""
    from swapnas.benchmarks.csv_truth import CsvBenchmark

    truth = tmp_path / "truth.csv"
    truth.write_text(f"arch,accuracy\n{NB201_ARCH},87,05\n")
    with pytest.raises(ValueError) as info:
        CsvBenchmark(truth, "nb201", "cifar10")
    assert str(info.value) == (f"--truth {truth}: line 2 has more cells than its header line (2: arch,accuracy): a "
                               "value holding a comma (a decimal comma, 87,05) is quoted or written with a point "
                               "(87.05)")


# ------------------------------------------------------------------ other_code
def test_other_code_takes_a_legacy_digest_of_the_running_code_as_this_code(tmp_path: Path) -> None:
    """Kills code_changes-4 and code_changes-7 (the legacy digests left out of what counts as the running code): a
    store that recorded a metric's or the space's networks' code by its legacy digest (before the digest's form
    changed) holds this code's scores, as the warnings (:func:`_changed_since`) take it; other_code said "other code"."""
    from swapnas.code_changes import other_code
    from swapnas.proxies import get_proxy
    from swapnas.proxies.code import legacy_code_digest, legacy_modules_digest
    from swapnas.spaces import network_modules
    from swapnas.store import ScoreStore

    with ScoreStore(tmp_path / "s.sqlite") as store:
        store.accept_code("params@1", legacy_code_digest(get_proxy("params").fn))
        store.accept_code("net:nb201@1", legacy_modules_digest(network_modules("nb201")))
        assert other_code(store, [get_proxy("params")], "nb201", "1") == {}


def test_other_code_says_when_the_store_recorded_the_code_as_a_local_minute(tmp_path: Path) -> None:
    """Kills code_changes-10 (the recorded time given as its raw float): the output records the local minute, as
    `store check` and the warnings write it."""
    from swapnas.code_changes import other_code
    from swapnas.proxies import get_proxy
    from swapnas.store import ScoreStore, local_minute

    with ScoreStore(tmp_path / "s.sqlite") as store:
        store.accept_code("params@1", "0" * 16)
        when = store.recorded_code()["params@1"][1]
        assert other_code(store, [get_proxy("params")], "nb201", "1") == {"params@1": local_minute(when)}


# ------------------------------------------------------------------ export naslib-zc
def _store_with(path: Path, n: int, where: str = "rowid = 1", **columns: object) -> None:
    from tests.test_faults_store import _fake_store

    _fake_store(path, n)
    with sqlite3.connect(path) as db:
        for column, text in columns.items():
            db.execute(f"UPDATE scores SET {column} = ? WHERE {where}", (text,))


def correlate_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], runs: list) -> list[dict]:
    """Correlates of nb301 on one store in ``tmp_path``, ``prov_probe`` registered anew as each run's function before
    it (a new process each, with other code): each run's results.json. ``runs``: (function, extra flags) pairs."""
    import json
    import warnings

    from swapnas import code_changes
    from swapnas.cli import main
    from swapnas.proxies.registry import _REGISTRY, register
    from tests.conftest import SMALL_BUNDLE

    fast = ["--space", "nb301", "--dataset", "cifar10", "--batch-size", "8", "--repeats", "1", "--workers", "1",
            "--no-progress", "-q", "--data-dir", str(SMALL_BUNDLE), *flags]
    store, docs = tmp_path / "s.sqlite", []
    for i, (fn, extra) in enumerate(runs):
        monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())  # a new process
        _REGISTRY.pop("prov_probe", None)
        register("prov_probe", version="1", keeps_model=True, structural=True, multi_input=True)(fn)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert main(["correlate", *fast, *extra, "--store", str(store), "--out", str(tmp_path / f"o{i}")]) == 0
        docs.append(json.loads((tmp_path / f"o{i}" / "results.json").read_text()))
    return docs


@pytest.mark.parametrize("net", ["[1, 2]", "7", '"C=4"'])
def test_naslib_export_refuses_a_net_that_is_json_but_no_object(tmp_path: Path, net: str) -> None:
    """Kills export-2 (json_problem(text, object)): a net that is a JSON list, number or string is no net options'
    object either; the naslib-zc settings would hold it as the net."""
    from swapnas.export import export

    store = tmp_path / "s.sqlite"
    _store_with(store, 2, "1", net=net)
    with pytest.raises(ValueError, match=r"are not a JSON object \(a JSON (list|int|str), not a dict\)"):
        export(store, tmp_path / "zc.json", "naslib-zc")
    assert not (tmp_path / "zc.json").exists()


def test_naslib_export_quotes_a_short_damaged_net_whole(tmp_path: Path) -> None:
    """Kills export-5 (the net's text cut at 8 characters, not 80): a net of 30 characters is quoted whole."""
    from swapnas.export import export

    store = tmp_path / "s.sqlite"
    bad = '{"C": 4, "N": 1, "broken": ]}'
    _store_with(store, 2, "1", net=bad)
    with pytest.raises(ValueError) as info:
        export(store, tmp_path / "zc.json", "naslib-zc")
    assert repr(bad) in str(info.value)


def test_naslib_export_counts_the_rows_of_another_kind(tmp_path: Path) -> None:
    """Kills export-7 (another_kind_error without the count) and store_files-10 (its "another kind than a score's"):
    the refusal says how many rows salvage leaves out."""
    from swapnas.export import export
    from swapnas.store import StoreError

    store = tmp_path / "s.sqlite"
    _store_with(store, 3, "rowid <= 2", value="abc")
    with pytest.raises(StoreError) as info:
        export(store, tmp_path / "zc.json", "naslib-zc")
    assert "holds 2 score rows " in str(info.value) and "a column of another kind than a score's" in str(info.value)


# ------------------------------------------------------------------ grid
def test_grid_task_of_another_benchmark_is_said_to_have_no_column_there() -> None:
    """Kills grid-2 (a task checked against the asked benchmarks' tasks, not every benchmark's): `--benchmarks nb201
    --tasks mnli` names a task that exists (FlexiBERT's), so the refusal is that no column matches, listing nb201's
    tasks, not that mnli is unknown."""
    from swapnas.grid import select_columns

    with pytest.raises(ValueError) as info:
        select_columns("nb201", "mnli")
    assert str(info.value) == ("no grid column matches benchmarks='nb201', tasks='mnli': nb201 has cifar10, cifar100, "
                               "imagenet16-120")


def test_grid_md_writes_a_filled_lines_names_as_written(scratch_registry) -> None:
    """Kills grid-5 (grid.md's FILLED line without md_text): the set-level metric's and its part's names are
    escaped as in correlate's report.md."""
    from swapnas.grid import markdown
    from swapnas.proxies.registry import register, register_set
    from tests.test_review64_mutants import _grid_column, _grid_result

    register("p*art*", description="a part", version="1")(lambda net, batch: 1.0)
    register_set("se<t>", ("p*art*",), lambda parts: np.asarray(parts[0]), description="a set", fill_failed=("p*art*",))
    text = markdown([_grid_column([_grid_result("se<t>", filled=2)])])
    (line,) = [x for x in text.splitlines() if "FILLED" in x]
    assert r"FILLED se\<t\>: 2 of its 10 scored archs have a part that failed (p\*art\*)" in line


# ------------------------------------------------------------------ open files
@pytest.mark.parametrize("hard,advice", [(32, "use --workers 2 (as many as fit), or --workers 1"),
                                         (24, "use --workers 1")])
def test_the_open_file_refusal_offers_two_workers_where_two_fit(monkeypatch: pytest.MonkeyPatch, hard: int,
                                                                advice: str) -> None:
    """Kills open_files-5 (`fit > 2`): where exactly 2 workers fit under the hard limit, the refusal offers them;
    where 1 fits, --workers 1 alone."""
    import resource

    from swapnas.open_files import check_open_files

    monkeypatch.setattr(resource, "getrlimit", lambda which: (20, hard))
    monkeypatch.setattr(resource, "setrlimit", lambda which, value: pytest.fail("no limit is set"))
    with pytest.raises(ValueError) as info:
        check_open_files(8)
    assert str(info.value).endswith(f"; {advice}, which scores in this process")


# ------------------------------------------------------------------ correlate: partly reused scores


def test_correlate_records_other_code_of_scores_reused_beside_new_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      scratch_registry) -> None:
    """Kills correlation-2 (`if reused else {}`, the partly reused archs left out): a second correlate that adds a
    metric reuses every arch's stored score of the edited one (no arch is reused whole), so its results.json names
    the other code all the same."""
    docs = correlate_twice(tmp_path, monkeypatch, ["--archs", "3", "--seed", "0"],
                           [(_size_a, ["--proxies", "prov_probe"]), (_size_b, ["--proxies", "prov_probe,params"])])
    assert docs[1]["reused_archs"] == 0
    assert list(docs[1]["reused_from_other_code"]) == ["prov_probe@1"]


# ------------------------------------------------------------------ train checkpoints
def _ckpt(**changes):
    from tests.test_train_checkpoint_mutants import _checkpoint

    return _checkpoint(**changes)


@pytest.mark.parametrize("field,value", [("epoch", True), ("epoch", -1), ("step", -1), ("wall_seconds", -1.0),
                                         ("wall_seconds", "3"), ("partial", []), ("model", None)])
def test_a_checkpoint_entry_of_another_kind_or_negative_is_named(tmp_path: Path, field: str, value: object) -> None:
    """Kills checkpoint-1 (a bool taken as an int), checkpoint-2 (`< -1`), checkpoint-3 (wall_seconds not checked
    for < 0), checkpoint-4 (epoch not checked for < 0), checkpoint-5 (step not checked for < 0), checkpoint-6
    (partial may be a list), checkpoint-7 (wall_seconds may be text) and checkpoint-8 (model may be None): each is
    refused by load_checkpoint naming the entry, before a resume reads it."""
    import torch

    from swapnas.train.checkpoint import load_checkpoint

    path = tmp_path / "checkpoint.pt"
    torch.save(_ckpt(**{field: value}), path)
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    assert str(info.value).startswith(f"{path} is a damaged `swapnas train` checkpoint ({field} not of the kind")


def _run_states():
    import torch

    from swapnas.train.rng import RunRng

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, optimizer, RunRng(0, torch.device("cpu"))


def test_load_states_restores_the_runs_random_stream(tmp_path: Path) -> None:
    """Kills checkpoint-12 (rng.load skipped): the resumed run's torch stream is the checkpoint's, so a resume draws
    what the uninterrupted run would."""
    import torch

    from swapnas.train.checkpoint import load_states
    from swapnas.train.rng import RunRng

    model, optimizer, rng = _run_states()
    other = RunRng(0, torch.device("cpu"))
    torch.randn(5, generator=other.cpu)  # advanced past the seed's start
    ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scaler": {}, "rng": other.state()}
    load_states(ckpt, tmp_path / "c.pt", model, optimizer, None, rng)
    assert torch.equal(rng.cpu.get_state(), other.cpu.get_state())


@pytest.mark.parametrize("rng_state", [{}, {"torch": "x", "cuda": None}])
def test_load_states_of_an_unusable_random_state_names_the_checkpoint(tmp_path: Path, rng_state: dict) -> None:
    """Kills checkpoint-9 (only RuntimeError and ValueError caught): a random state without its torch entry
    (KeyError) or of another kind (TypeError) is the same refusal naming the file, not a traceback."""
    from swapnas.train.checkpoint import load_states

    model, optimizer, rng = _run_states()
    ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scaler": {}, "rng": rng_state}
    path = tmp_path / "c.pt"
    with pytest.raises(ValueError, match=rf"^cannot resume from {path}: its saved state does not fit"):
        load_states(ckpt, path, model, optimizer, None, rng)


def test_load_states_names_the_first_line_of_torchs_message_only(tmp_path: Path) -> None:
    """Kills checkpoint-11 (torch's whole message kept): load_state_dict's "Error(s) in loading state_dict …" is
    many lines; the refusal is one line."""
    from swapnas.train.checkpoint import load_states

    model, optimizer, rng = _run_states()
    weights = model.state_dict()
    weights["other.weight"] = weights.pop("weight")
    ckpt = {"model": weights, "optimizer": optimizer.state_dict(), "scaler": {}, "rng": rng.state()}
    with pytest.raises(ValueError) as info:
        load_states(ckpt, tmp_path / "c.pt", model, optimizer, None, rng)
    assert "\n" not in str(info.value) and "(Error(s) in loading state_dict for Linear:);" in str(info.value)


# ------------------------------------------------------------------ store rows read back
def _score_row(**over):
    from swapnas.store import ScoreStore

    row = dict(space="nb201", arch=NB201_ARCH, proxy="swap", protocol="p0", seed=0, batch_size=8, repeats=1,
               net="{}", status="ok", value=1.5, std=0.0, values_json="[1.5]", seconds=0.1, peak_mem_bytes=None,
               error=None, device="cpu", created=1.0e9)
    row.update(over)
    return [row[c] for c in ScoreStore.COLUMNS]


def test_a_page_record_whose_time_is_text_is_not_a_score_row() -> None:
    """Kills store_pages-3 (the created check dropped): salvage takes a leaf page's record as a score row only where
    its time is a number, as the reader takes it."""
    from swapnas.store_pages import score_like

    assert score_like(_score_row())
    assert not score_like(_score_row(created="yesterday"))
    assert not score_like(_score_row(created=None))


def test_values_nested_past_pythons_limit_are_a_problem_not_a_recursion_error(tmp_path: Path) -> None:
    """Kills store_files-19 (RecursionError not caught): a values_json nested past Python's limit is damage naming
    the store (session 67's review), not a RecursionError traceback."""
    from swapnas.store import StoreError
    from swapnas.store_files import json_problem, stored_values

    deep = "[" * 100_000 + "]" * 100_000
    assert json_problem(deep, list) == "RecursionError"
    with pytest.raises(StoreError, match=r"s\.sqlite is damaged \(a score's values are not readable: RecursionError\)"):
        stored_values(deep, tmp_path / "s.sqlite")


@pytest.mark.parametrize("column,value", [("arch", b"\xff"), ("net", b"{}"), ("seed", 1.5), ("repeats", 1.5),
                                          ("peak_mem_bytes", 1.5), ("created", "yesterday"), ("value", "abc"),
                                          ("error", b"x"), ("values_json", b"[]")])
def test_each_column_of_another_kind_is_counted(tmp_path: Path, column: str, value: object) -> None:
    """Kills store_files-1 (net not checked), store_files-2 (arch not checked), store_files-4 (a real seed taken), store_files-5 (a real peak memory
    taken) and store_files-6 (a text time taken): rows_of_another_kind counts a row with any one column of another
    kind than a score's, which `store check` names, salvage leaves out, and merge and export refuse."""
    from swapnas.store_files import rows_of_another_kind

    store = tmp_path / "s.sqlite"
    _store_with(store, 3, **{column: value})
    with sqlite3.connect(store) as db:
        assert db.execute(f"SELECT typeof({column}) FROM scores WHERE rowid = 1").fetchone()[0] == \
            {bytes: "blob", float: "real", str: "text"}[type(value)]
        assert rows_of_another_kind(db) == 1


def test_the_error_of_rows_of_another_kind_counts_them_in_words(tmp_path: Path) -> None:
    """Kills store_files-9 (`'s' * (n == 1)`) and store_files-10 (the message's "another kind than a score's")."""
    from swapnas.store_files import another_kind_error

    one, two, some = (str(another_kind_error(tmp_path / "s.sqlite", n)) for n in (1, 2, None))
    kind = "a column of another kind than a score's"
    assert "holds 1 score row " in one and kind in one and "(it leaves it out)" in one
    assert "holds 2 score rows " in two and kind in two and "(it leaves them out)" in two
    assert "holds score rows " in some and kind in some


@pytest.mark.parametrize("t", ["x", None, b"\xff", [1]])
def test_a_stored_time_that_is_none_reads_as_nan(t: object) -> None:
    """Kills store_files-12 (only TypeError caught: a text time's ValueError escaped) and store_files-13 (0.0, the
    epoch, for no time)."""
    import math

    from swapnas.store_files import stored_time

    assert math.isnan(stored_time(t))
    assert stored_time(5) == 5.0 and stored_time("1.5") == 1.5


@pytest.mark.parametrize("peak,error", [(1.5, None), ("big", None), (None, b"boom"), (None, 3)])
def test_a_stored_record_with_a_peak_or_error_of_another_kind_is_damage(tmp_path: Path, peak: object,
                                                                       error: object) -> None:
    """Kills store_files-16 (the peak memory's kind not checked) and store_files-17 (the error's kind not checked):
    the reader's record is refused naming the store, as the values' kinds are."""
    from swapnas.store import StoreError
    from swapnas.store_files import stored_record

    ok = ("ok", 1.0, 0.0, "[1.0]", 0.1, 1024, None)
    assert stored_record(ok, "s.sqlite") == ("ok", 1.0, 0.0, [1.0], 0.1, 1024, None)
    with pytest.raises(StoreError, match=r"s\.sqlite holds score rows .*a column of another kind"):
        stored_record(("failed", None, None, None, 0.1, peak, error), "s.sqlite")


# ------------------------------------------------------------------ search state
def _state(**over):
    """A saved state after cycle 0 of a population of 2 (what Evolution.tell writes), ``over`` written over it."""
    arch = NB201_ARCH
    state = {"cycle": 0, "seen": {arch: 1.0},
             "history": [{"evaluation": 1, "cycle": 0, "arch": arch, "fitness": 1.0},
                         {"evaluation": 2, "cycle": 0, "arch": arch, "fitness": 2.0}],
             "snapshots": [{"evaluations": 2, "cycle": 0, "best": 2.0}],
             "population": [[arch, 1.0], [arch, 2.0]]}
    state.update(over)
    return state


H1 = {"evaluation": 1, "cycle": 0, "arch": NB201_ARCH, "fitness": 1.0}


@pytest.mark.parametrize("over,why", [
    ({"cycle": True}, "its cycle True is not a count of cycles"),
    ({"cycle": -1}, "its cycle -1 is not a count of cycles"),
    ({"cycle": 1.5}, "its cycle 1.5 is not a count of cycles"),
    ({"history": [dict(H1, fitness=True), dict(H1, evaluation=2)]},
     "its history is not the evaluations numbered 1, 2, … each with its arch and fitness"),
    ({"population": {NB201_ARCH: 1.0}},
     "its history, snapshots and population are not lists, or what it has seen is not a table"),
    ({"history": [H1, H1]}, "its history is not the evaluations numbered 1, 2, … each with its arch and fitness"),
    ({"snapshots": [{"evaluations": 2, "cycle": 3, "best": 2.0}]},
     "its cycle 0, its 1 snapshots of the population and the population of 2 disagree"),
    ({"snapshots": []}, "its cycle 0, its 0 snapshots of the population and the population of 2 disagree"),
    ({"population": [[NB201_ARCH, 1.0]] * 3}, "its population is not at most 2 [arch, fitness] pairs"),
    ({"population": [[NB201_ARCH, 1.0, 0], [NB201_ARCH, 2.0]]}, "its population is not at most 2 [arch, fitness] pairs"),
])
def test_state_problem_names_each_contradiction(over: dict, why: str) -> None:
    """Kills evolution-6 (a bool fitness taken), evolution-7 (an int fitness refused), evolution-8 (`cycle < -1`),
    evolution-9 (a float cycle taken), evolution-10 (a bool cycle taken), evolution-12 (the population's list kind not checked),
    evolution-15 (the evaluations' numbering not checked), evolution-16 (the snapshots' cycles not checked),
    evolution-18 (fewer snapshots than cycles taken), evolution-19 and evolution-20 (a population larger than
    --population taken) and evolution-21 (a population entry of 3 items taken): each contradiction is named."""
    from math import inf

    from swapnas.search.evolution import EAConfig, state_problem

    config = EAConfig(population=2, sample=2, mutations=1, cycles=3)
    assert state_problem(_state(), config) is None
    assert state_problem(_state(history=[dict(H1, fitness=3), dict(H1, evaluation=2, fitness=-inf)]), config) is None
    assert state_problem(_state(**over), config) == why


# ------------------------------------------------------------------ store: code records and names
def test_a_code_records_text_time_reads_as_an_unreadable_time(tmp_path: Path) -> None:
    """Kills store-4 (recorded_code's time as stored: a text time reached local_minute, whose TypeError is no
    caught kind) and store-3 (local_minute's "an unreadable time (…)" text)."""
    import math

    from swapnas.code_changes import other_code
    from swapnas.proxies import get_proxy
    from swapnas.store import ScoreStore, local_minute

    path = tmp_path / "s.sqlite"
    code_record_timed(path, "params@1", "yesterday")
    with ScoreStore(path) as store:
        digest, when = store.recorded_code()["params@1"]
        assert digest == "0" * 16 and math.isnan(when)
        assert other_code(store, [get_proxy("params")], "nb201", "1") == {"params@1": "an unreadable time (nan)"}
    assert local_minute(1e300) == "an unreadable time (1e+300)"


def test_a_blob_space_names_no_network_code_to_record(tmp_path: Path) -> None:
    """Kills store-7 (a space of another kind taken): a BLOB space (a damaged row, which check names) is no
    `net:b'…'@1` name whose code the store lacks."""
    from swapnas.store import unrecorded_names

    store = tmp_path / "s.sqlite"
    _store_with(store, 3, space=b"\xffnb201")
    with sqlite3.connect(store) as db:
        names = unrecorded_names(db, [])
    assert names and not any("b'" in n for n in names), names


# ------------------------------------------------------------------ report.md
def test_report_md_escapes_the_names_of_its_saturated_and_constant_lines(scratch_registry) -> None:
    """Kills report-17 and report-18 (correlation_report's constant_lines / failure_lines without md_text): report.md
    itself, not only the helpers, writes `s_w*` as written (not in italics)."""
    from swapnas.proxies.registry import register
    from swapnas.report import correlation_report
    from swapnas.results import CorrelateRun
    from tests.test_leftovers68 import _result
    from tests.test_report_mutants import _protocol

    register("s_w*", description="a SWAP-like", version="1")(lambda net, batch: 1.0)
    register("c_o*", description="a constant", version="1")(lambda net, batch: 1.0)
    results = [_result("s_w*", saturated=3), _result("c_o*")]
    run = CorrelateRun(_protocol(), "GT accuracy (%)", "", results, {"c_o*": [1.0] * 4}, [], ["a0", "a1"], 1.0)
    text = correlation_report(run, {"command": "c", "created_utc": "T"}, [])
    assert r"- SATURATED s_w\*: 3 of 4 archs" in text
    assert r"- CONSTANT c_o\*: all 4 scored archs have the value 1" in text


def test_the_other_code_line_names_each_name_as_written_in_order() -> None:
    """Kills report-14 (the names unsorted), report-15 (a name not escaped for markdown) and report-16 (the line's
    bold lead-in)."""
    from swapnas.report import other_code_line

    line = other_code_line({"swap@1": "2026-01-02 03:04 +00:00", "net:nb201@1": "2026-01-01 00:00 +00:00",
                            "a*b@1": "t"})
    assert line == (r"**Reused scores made by other code**: the store records other code than this run's for a\*b@1 "
                    "(recorded t), net:nb201@1 (recorded 2026-01-01 00:00 +00:00), swap@1 (recorded 2026-01-02 03:04 "
                    "+00:00); its scores were reused as they are (the ProxyCodeWarning or NetworkCodeWarning of the run "
                    "says how to score them again or accept the code).")


# ------------------------------------------------------------------ names, search driver
def test_a_name_starting_net_is_refused() -> None:
    """Kills registry-3 (the `net:` check dropped): a store records the networks' code as `net:SPACE@1`, so a metric
    or alias named `net:…` cannot be told apart from them."""
    from swapnas.proxies.registry import check_name

    with pytest.raises(ValueError, match=r"^proxy 'net:nb201' version '1': a name or version with '@', or a name "
                                         r"starting 'net:'"):
        check_name("net:nb201")
    with pytest.raises(ValueError, match=r"^alias 'net:x': a name with '@', or a name starting 'net:'"):
        check_name("net:x", None)


def test_a_search_state_whose_random_state_overflows_is_unreadable(tmp_path: Path) -> None:
    """Kills evolution-2 (OverflowError not caught): a random state with a word past 32 bits is Random's
    OverflowError, which is the same refusal naming the state file."""
    from tests.test_audit68_upgrade import refused_state

    def edit(state: dict) -> None:
        version, internal, gauss = state["rng"]
        state["rng"] = [version, [2 ** 70] * len(internal), gauss]

    path, message = refused_state(tmp_path, edit)
    assert message.startswith(f"the search state {path} is written by another version of swapnas, or damaged "
                                      "(UnreadableState: its random state is not Python's (")


def test_a_search_whose_every_evaluation_failed_names_its_state_file() -> None:
    """Pins check_failures' last words: the refusal names the state file it is given (driver-4 itself, at run_search's
    call, is killed by the end-to-end test below)."""
    from swapnas.proxies import get_proxy
    from swapnas.search.driver import check_failures

    with pytest.raises(ValueError, match=r"and another --out or o/state\.json deleted$"):
        check_failures([{"fitness": float("-inf")}] * 2, get_proxy("swap"), Path("o") / "state.json")


def test_a_search_records_other_code_only_where_it_reused_fitness_values(tmp_path: Path) -> None:
    """Kills driver-5 (never recorded) and driver-6 (recorded where nothing was reused: the store's other code made
    none of this run's fitness values)."""
    from collections import Counter
    from types import SimpleNamespace

    from swapnas.proxies import get_proxy
    from swapnas.store import ScoreStore

    try:  # (the lead's newer code: `_others`, which also counts fitness values restored from the state)
        from swapnas.search.driver import _others

        def _other_code(store, proxy, protocol, reused):
            return _others(store, proxy, protocol, reused, 0)
    except ImportError:
        from swapnas.search.driver import _other_code
    protocol = SimpleNamespace(space="nb201", net_version="1")
    with ScoreStore(tmp_path / "s.sqlite") as store:
        store.accept_code("swap@1", "0" * 16)
        assert _other_code(store, get_proxy("swap"), protocol, Counter()) == {}
        assert list(_other_code(store, get_proxy("swap"), protocol, Counter(archs=2))) == ["swap@1"]


def test_the_fitness_name_of_a_metric_no_longer_registered_is_not_negated() -> None:
    """Kills driver-10 (get_proxy of any name): a result.json of a metric this process has not registered (a user's
    metric) still draws its curve and notes, its fitness taken as the metric itself."""
    from types import SimpleNamespace

    from swapnas.search.driver import fitness_name

    assert fitness_name(SimpleNamespace(fitness_proxy="gone_metric@1")) == ("gone_metric", False)
    assert fitness_name(SimpleNamespace(fitness_proxy="te_nas_ntk@1")) == ("te_nas_ntk", True)


# ------------------------------------------------------------------ provenance
def test_the_command_of_a_python_call_is_one_line_whatever_the_script_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kills results-1 (the script's name as is): a script path holding a newline would end the shell comment and
    leave the rest of the name as a command."""
    import sys

    from swapnas.results import command_line, run_as

    monkeypatch.setattr(sys, "argv", ["my\nscript  x.py"])
    with run_as(["correlate"], "api()"):
        assert command_line() == "swapnas correlate  # run by api() in my script x.py"


def test_provenance_writes_paths_under_home_with_a_tilde(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Kills results-4 (cwd as an absolute path: a user name in a shared file), results-5 (the home folder itself as
    `~/.`) and results-8 ($XDG_DATA_HOME not shortened)."""
    from swapnas.results import provenance

    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "share"))
    monkeypatch.chdir(home / "work")
    prov = provenance()
    assert prov["cwd"] == "~/work" and prov["environment"]["XDG_DATA_HOME"] == "~/share"
    monkeypatch.chdir(home)
    assert provenance()["cwd"] == "~"


def test_a_search_whose_every_evaluation_failed_names_the_state_file_of_its_out(tmp_path: Path, capsys,
                                                                                scratch_registry) -> None:
    """Kills driver-4 (run_search gave check_failures OUT, not OUT/state.json): the refusal of a search whose every
    evaluation failed names the state file to delete."""
    from swapnas.cli import main
    from swapnas.proxies.registry import register
    from tests.conftest import SMALL_BUNDLE

    def boom(model, batch) -> float:
        raise RuntimeError("boom")

    register("boom_probe", version="1", keeps_model=True, structural=True, multi_input=True)(boom)
    out = tmp_path / "out"
    rc = main(["search", "--space", "nb201", "--dataset", "cifar10", "--fitness", "boom_probe", "--population", "2",
               "--sample", "2", "--mutations", "1", "--cycles", "1", "--repeats", "1", "--refine", "0",
               "--device", "cpu", "--no-progress", "--data-dir", str(SMALL_BUNDLE), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and f"and another --out or {out / 'state.json'} deleted" in err, err


# ------------------------------------------------------------------ the scatter plot's score axis
@pytest.mark.parametrize("scores,scale", [([1.0, 50.0], "linear"), ([1e-300, 1e-200, 1.0], "log10"),
                                          ([-1000.0, -1.0], "symlog"), ([0.0, 1.0, 1e300], "linear"),
                                          ([1.0, 1000.0], "log"), ([0.0, 1.0, 1000.0], "symlog")])
def test_score_scale_by_span_sign_and_float_range(scores: list, scale: str) -> None:
    """Kills report-22 (`> 10`: a span of 1.7 decades drawn on a log axis), report-23 (a smallest score below 1e-250
    not taken as past a log axis's range), report-25 (negative scores drawn on a log axis) and report-27 (zeros
    beside scores past float range on a symlog axis, which overflows)."""
    from swapnas.report import score_scale

    values = np.array(scores)
    drawn, got = score_scale(values)
    assert got == scale
    assert np.array_equal(drawn, np.log10(values) if scale == "log10" else values)


def test_a_symlog_score_axis_has_its_linear_part_to_the_least_score_and_decades_both_sides() -> None:
    """Kills report-30 (linthresh 10x the least nonzero score), report-31 (`/ 2`: more than 4 decades a side),
    report-32 (the decade nearest 0 labelled beside 0's), report-33 (no negative decades) and report-34 (minor
    ticks left on, whose labels overlapped)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    from swapnas.report import score_axis

    scores = np.array([0.0, 0.01, 3.0, 1e4])
    fig, ax = plt.subplots()
    try:
        ax.scatter(scores, np.ones_like(scores))
        score_axis(ax, scores, "symlog")
        assert ax.get_xscale() == "symlog" and ax.xaxis.get_transform().linthresh == 0.01
        assert list(ax.xaxis.get_major_locator()()) == [-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]
        assert isinstance(ax.xaxis.get_minor_locator(), NullLocator)
    finally:
        plt.close(fig)


# ------------------------------------------------------------------ a defect found on the way (failed on the code)
def test_grid_says_when_an_asked_task_has_no_column_among_the_asked_benchmarks(caplog) -> None:
    """A defect, not a mutant: `grid --benchmarks nb201 --tasks cifar10,mnli` ran nb201/cifar10 alone and dropped
    mnli (FlexiBERT's) without a word, where a benchmark left without a column is warned of."""
    import logging

    from swapnas.grid import check_archs_per, select_columns

    with caplog.at_level(logging.WARNING):
        assert select_columns("nb201", "cifar10,mnli") == [("nb201", "cifar10")]
        assert caplog.messages == ["--tasks: no benchmark asked for has mnli, which gets no column"]
        caplog.clear()
        assert len(select_columns("all", "cifar10")) > 1 and caplog.messages == []
    with pytest.raises(ValueError, match=r"^--archs-per names benchmark\(s\) not in the grid: nb301; add them to "
                       r"--benchmarks \(and --tasks\), or leave them out of --archs-per$"):  # (the advice audit)
        check_archs_per([("nb201", "cifar10")], {"nb301": 3})
