"""Session 68 audit of the files swapnas reads back, damaged or contradictory (each test failed on the code as
found): a --truth row with more cells than its header, a search state whose cycle or history contradicts itself,
store columns of another kind than a score's, a code record's time out of range, checkpoint entries of another
kind, a damaged genotype in a result.json."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import torch

from swapnas.cli import main

NB201_ARCHS = [
    "|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|none~2|",
    "|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_1x1~1|skip_connect~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|",
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|",
]
ACC = [87.05, 88.73, 90.38, 70.12, 89.5]


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return err


def _search(bundle: Path, out: Path, cycles: int = 2) -> list[str]:
    return ["search", "--space", "darts", "--dataset", "cifar10", "--fitness", "swap", "--population", "4",
            "--sample", "2", "--mutations", "2", "--cycles", str(cycles), "--repeats", "1", "--net", "C=4",
            "--refine", "0", "--device", "cpu", "--no-progress", "--data-dir", str(bundle), "--out", str(out)]


def _truth_correlate(bundle: Path, truth: Path, out: Path) -> list[str]:
    return ["correlate", "--space", "nb201", "--truth", str(truth), "--proxies", "params", "--archs", "all",
            "--data-dir", str(bundle), "--out", str(out), "--device", "cpu", "--no-progress"]


# ------------------------------------------------------------------ --truth CSV
def test_truth_row_with_more_cells_than_its_header_is_refused_not_cut(small_bundle, tmp_path, capsys) -> None:
    """Decimal commas (a spreadsheet in a German or French locale): `arch,87,05` was read as accuracy 87.0, the
    cell past the header dropped without a word, exit 0."""
    truth = tmp_path / "truth.csv"
    truth.write_text("arch,accuracy\n" + "".join(f"{a},{str(x).replace('.', ',')}\n"
                                                  for a, x in zip(NB201_ARCHS, ACC)))
    rc = main(_truth_correlate(small_bundle, truth, tmp_path / "o"))
    err = _err(capsys)
    assert rc == 2, "a row with more cells than the header was read silently (accuracy cut to its integer part)"
    assert "truth.csv" in err and "line 2" in err


# ------------------------------------------------------------------ OUT/state.json of a search
@pytest.fixture(scope="module")
def saved_search(tmp_path_factory, small_bundle) -> Path:
    out = tmp_path_factory.mktemp("search") / "out"
    assert main(_search(small_bundle, out)) == 0
    return out


def _copy_with_state(saved: Path, dest: Path, edit) -> Path:
    import shutil
    shutil.copytree(saved, dest, ignore=shutil.ignore_patterns(".lock"))
    doc = json.loads((dest / "state.json").read_text())
    edit(doc)
    (dest / "state.json").write_text(json.dumps(doc))
    return dest


@pytest.mark.parametrize("cycle", [-3, 0, 1.5, True])
def test_state_whose_cycle_contradicts_its_history_is_refused(saved_search, small_bundle, tmp_path, capsys,
                                                              cycle) -> None:
    """cycle -3 in a state whose history ran 2 cycles: the 'complete' search was resumed 'at cycle -3 of 2' and
    ran 5 more cycles (18 evaluations instead of 8), a different answer, exit 0."""
    out = _copy_with_state(saved_search, tmp_path / "o", lambda d: d["ea"].__setitem__("cycle", cycle))
    before = json.loads((saved_search / "result.json").read_text())
    rc = main(_search(small_bundle, out))
    err = _err(capsys)
    after = json.loads((out / "result.json").read_text())
    assert rc == 2 and "state.json" in err, f"rc {rc}: {len(after['history'])} evaluations vs {len(before['history'])}"


@pytest.mark.parametrize("what", ["population_arch", "rng_version", "rng_shape", "population_pair", "seen"])
def test_a_damaged_state_field_names_the_file_and_the_fix(saved_search, small_bundle, tmp_path, capsys,
                                                          what) -> None:
    """One damaged field of state.json ended in "swapnas: error: not enough values to unpack (expected 3, got 1)",
    "state with version 9 passed to Random.setstate() …" or the arch parser's message: no file, no fix (a truncated
    or non-JSON state.json gets "… state.json is damaged …; delete it to restart …")."""
    edits = {
        "population_arch": lambda d: d["ea"]["population"][0].__setitem__(0, "Genotype(normal=[('zzz', 0)]"),
        "rng_version": lambda d: d["ea"]["rng"].__setitem__(0, 9),
        "rng_shape": lambda d: d["ea"].__setitem__("rng", "x"),
        "population_pair": lambda d: d["ea"]["population"].__setitem__(0, "x"),
        "seen": lambda d: d["ea"].__setitem__("seen", "abc"),
    }
    out = _copy_with_state(saved_search, tmp_path / "o", edits[what])
    rc = main(_search(small_bundle, out, cycles=3))
    err = _err(capsys)
    assert rc == 2
    assert "state.json" in err and "delete" in err, err


@pytest.mark.parametrize("what", ["history_without_fitness", "history_without_arch", "history_of_strings",
                                  "history_fitness_null", "snapshots_of_strings"])
def test_a_state_with_damaged_history_or_snapshots_is_no_traceback(saved_search, small_bundle, tmp_path, capsys,
                                                                     what) -> None:
    """state.json's history/snapshots entries are not checked when it is read: a history entry without "fitness"
    ended the resumed (or read-back) search in KeyError: 'fitness', a string entry in "string indices must be
    integers", a null fitness in "'>' not supported between … NoneType": tracebacks, exit 1."""
    edits = {
        "history_without_fitness": lambda d: d["ea"]["history"][0].pop("fitness"),
        "history_without_arch": lambda d: d["ea"]["history"][0].pop("arch"),
        "history_of_strings": lambda d: d["ea"].__setitem__("history", ["x"] * len(d["ea"]["history"])),
        "history_fitness_null": lambda d: [h.__setitem__("fitness", None) for h in d["ea"]["history"]],
        "snapshots_of_strings": lambda d: d["ea"].__setitem__("snapshots", ["x"]),
    }
    for cycles in (2, 3):  # the finished search read back, and extended
        out = _copy_with_state(saved_search, tmp_path / f"o{cycles}", edits[what])
        try:
            rc = main(_search(small_bundle, out, cycles=cycles))
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"--cycles {cycles}: traceback: {type(exc).__name__}: {exc}")
        err = _err(capsys)
        assert rc == 2 and "state.json" in err, err


# ------------------------------------------------------------------ the score store
def _corr(bundle: Path, out: Path, store: Path | None = None) -> list[str]:
    return ["correlate", "--space", "nb301", "--proxies", "swap,params", "--archs", "4", "--batch-size", "8",
            "--data-dir", str(bundle), "--out", str(out), "--device", "cpu", "--no-progress",
            *(["--store", str(store)] if store else [])]


@pytest.fixture(scope="module")
def scored_store(tmp_path_factory, small_bundle) -> Path:
    base = tmp_path_factory.mktemp("corr")
    assert main(_corr(small_bundle, base / "o")) == 0
    return base / "o" / "scores.sqlite"


def _edited_store(src: Path, dest: Path, sql: str) -> Path:
    import shutil
    shutil.copy(src, dest)
    with sqlite3.connect(dest) as c:
        c.executescript(sql)
    return dest


def test_a_stored_value_that_is_not_a_number_names_the_store(scored_store, small_bundle, tmp_path, capsys) -> None:
    """A score row whose value column holds text: correlate said only "could not convert string to float: 'abc'"
    (no store, no salvage advice), while `store check` of the same file said ok."""
    st = _edited_store(scored_store, tmp_path / "s.sqlite", "UPDATE scores SET value='abc' WHERE rowid=1")
    rc = main(_corr(small_bundle, tmp_path / "o", st))
    err = _err(capsys)
    assert rc == 2 and "s.sqlite" in err, err
    rc = main(["store", "check", str(st)])
    _err(capsys)
    assert rc == 2, "store check passed a store whose scores table holds a text score"


def test_a_stored_seconds_that_is_not_a_number_is_no_traceback(scored_store, small_bundle, tmp_path, capsys) -> None:
    """A score row whose `seconds` column holds text: correlate reused every score and then ended in numpy's
    "TypeError: the resolved dtypes are not compatible with add.reduce" traceback (the s/arch column's mean)."""
    st = _edited_store(scored_store, tmp_path / "s.sqlite", "UPDATE scores SET seconds='fast' WHERE rowid=1")
    try:
        rc = main(_corr(small_bundle, tmp_path / "o", st))
    except TypeError as exc:
        pytest.fail(f"traceback: {exc}")
    err = _err(capsys)
    assert rc == 0 or (rc == 2 and "s.sqlite" in err), err


@pytest.mark.parametrize("command", ["check", "merge", "export"])
def test_a_blob_in_a_key_column_is_no_traceback(scored_store, tmp_path, capsys, command) -> None:
    """A BLOB proxy name in the scores table (a store written by another tool, or damaged cells that still parse):
    `store check`, `store merge` and `export --format naslib-zc` ended in "TypeError: a bytes-like object is required,
    not 'str'" tracebacks; check is the command the docs send a user with a doubtful store to."""
    st = _edited_store(scored_store, tmp_path / "s.sqlite", "UPDATE scores SET proxy=x'ff' WHERE rowid=1")
    argv = {"check": ["store", "check", str(st)],
            "merge": ["store", "merge", str(st), "--into", str(tmp_path / "m.sqlite")],
            "export": ["export", str(st), "--format", "naslib-zc", "--out", str(tmp_path / "e.json")]}[command]
    try:
        rc = main(argv)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"traceback: {type(exc).__name__}: {exc}")
    err = _err(capsys)
    assert rc == 2 and "s.sqlite" in err, err


@pytest.mark.parametrize("created", ["1e300", "'x'"])
def test_store_check_of_a_code_record_with_a_bad_time(scored_store, tmp_path, capsys, created) -> None:
    """proxy_code.created out of time_t's range: `store check` ended in "OverflowError: timestamp out of range for
    platform time_t" (a traceback); a text time: "could not convert string to float: 'x'", naming no store."""
    st = _edited_store(scored_store, tmp_path / "s.sqlite", f"UPDATE proxy_code SET created={created}")
    try:
        rc = main(["store", "check", str(st)])
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"traceback: {type(exc).__name__}: {exc}")
    err = _err(capsys)
    assert rc == 0 or (rc == 2 and "s.sqlite" in err), err


def test_naslib_export_of_a_blob_value_is_no_traceback(scored_store, tmp_path, capsys) -> None:
    """`export --format naslib-zc` of a store whose value is a BLOB: TypeError "Object of type bytes is not JSON
    serializable" escaped as a traceback."""
    st = _edited_store(scored_store, tmp_path / "s.sqlite", "UPDATE scores SET value=x'0102' WHERE rowid=1")
    try:
        rc = main(["export", str(st), "--format", "naslib-zc", "--out", str(tmp_path / "e.json")])
    except TypeError as exc:
        pytest.fail(f"traceback: {exc}")
    err = _err(capsys)
    assert rc == 2 and "s.sqlite" in err


def test_naslib_export_of_a_damaged_net_names_the_store(scored_store, tmp_path, capsys) -> None:
    """A score row's net column that is not JSON: "swapnas: error: Expecting property name enclosed in double
    quotes: line 1 column 2 (char 1)", naming neither the store nor the column."""
    st = _edited_store(scored_store, tmp_path / "s.sqlite", "UPDATE scores SET net='{{{'")
    rc = main(["export", str(st), "--format", "naslib-zc", "--out", str(tmp_path / "e.json")])
    err = _err(capsys)
    assert rc == 2 and "s.sqlite" in err, err


# ------------------------------------------------------------------ a train checkpoint
GENO = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), "
        "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, "
        "5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), "
        "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, "
        "5])")


def _train(out: Path, epochs: int) -> list[str]:
    return ["train", "--genotype", GENO, "--synthetic", "8", "--epochs", str(epochs), "--channels", "4", "--layers",
            "2", "--batch-size", "4", "--device", "cpu", "--workers", "0", "--no-progress", "--out", str(out)]


@pytest.mark.parametrize("field,value", [("model", None), ("model", "x"), ("optimizer", "x"), ("epoch", "1"),
                                         ("config", [])])
def test_a_checkpoint_with_a_wrong_typed_field_names_the_file(tmp_path, capsys, field, value) -> None:
    """A checkpoint of the right format whose `model` is not a state dict: TypeError "Expected state_dict to be
    dict-like, got <class 'NoneType'>" escaped as a traceback (exit 1)."""
    out = tmp_path / "t"
    assert main(_train(out, 1)) == 0
    capsys.readouterr()
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    ck[field] = value
    torch.save(ck, out / "checkpoint.pt")
    try:
        rc = main(_train(out, 2))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"traceback: {type(exc).__name__}: {exc}")
    err = _err(capsys)
    assert rc == 2 and "checkpoint.pt" in err, err


def test_a_search_result_whose_genotype_is_damaged_names_the_file(tmp_path) -> None:
    """`swapnas train --genotype result.json` whose 'best' is no genotype: the parser's message, no file named."""
    from swapnas.train.recipe import load_genotype

    path = tmp_path / "result.json"
    path.write_text(json.dumps({"space": "darts", "best": GENO.replace("sep_conv_3x3", "sep_conv_9x9", 1)}))
    with pytest.raises(ValueError, match=rf"^--genotype {path}: its genotype is not one: .*sep_conv_9x9"):
        load_genotype(str(path))


def test_a_truth_row_with_empty_cells_past_its_header_is_still_read(small_bundle, tmp_path, capsys) -> None:
    """A spreadsheet's trailing separators (`arch,87.05,`) hold nothing past the header: read as before."""
    truth = tmp_path / "truth.csv"
    truth.write_text("arch,accuracy\n" + "".join(f"{a},{x},,\n" for a, x in zip(NB201_ARCHS, ACC)))
    assert main(_truth_correlate(small_bundle, truth, tmp_path / "o")) == 0
    assert sorted(json.loads((tmp_path / "o" / "results.json").read_text())["accuracy"]) == sorted(ACC)


def test_store_check_and_salvage_agree_on_rows_of_another_kind(scored_store, tmp_path) -> None:
    """`store check` names the rows a reader refuses, and salvage leaves exactly those out."""
    from swapnas.store_tools import check_store, salvage_store

    st = _edited_store(scored_store, tmp_path / "s.sqlite",
                       "UPDATE scores SET value='abc' WHERE rowid=1; UPDATE scores SET proxy=x'ff' WHERE rowid=2")
    assert check_store(st).problems == [
        "2 scores with a column of another kind than a score's (text for a number, bytes for a name) (`swapnas store "
        "salvage` leaves them out)"]
    saved = salvage_store(st, tmp_path / "new.sqlite")
    assert saved.lost == 2 and check_store(tmp_path / "new.sqlite").ok
