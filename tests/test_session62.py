"""Session 62: code digests that Python 3.10 to 3.13 compute alike, and the stores that recorded the older form."""

from __future__ import annotations

import ast
import math
import sqlite3
import warnings
from pathlib import Path

import pytest
import torch

import swapnas

from swapnas.code_changes import accept_code, running_digests, running_form, warn_changed_code, warn_changed_network
from swapnas.proxies import get_proxy
from swapnas.proxies.code import (NetworkCodeWarning, ProxyCodeWarning, canonical, code_digest, legacy_code_digest,
                                  legacy_modules_digest, modules_digest)
from swapnas.padding import additive_mask, unmasked
from swapnas.spaces import network_modules
from swapnas.store import ScoreStore
from swapnas.store_merge import merge_stores
from tests.script_tools import load_script
from tests.test_session55 import _one_score_store, _store_with_codes

#: an f-string with quotes inside (3.11's ast.unparse writes f"{', '…}", 3.12's f'{', '…}'), a tuple in a
#: comprehension (3.10's writes `for (a, b) in`) and a nested field in a format (3.12.1 adds an empty text part)
TRICKY = "def f(xs):\n    return f\"{', '.join(a for a, b in xs)!r:>{9}}\"\n"


def _sha(text: str) -> str:
    import hashlib
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_the_canonical_form_is_the_one_python_3_10_to_3_13_give() -> None:
    """The digest of TRICKY's canonical form was computed under the 3.10.13, 3.11.7, 3.12.1 and 3.13.0 interpreters
    on the machine of session 62 (all four 12e5af2247404866; ast.unparse's text gave a3d62383b221dabd,
    4acf2a3755ef8b6a, 12d4a74877679e73 and 12d4a74877679e73)."""
    tree = ast.parse(TRICKY)
    assert _sha(canonical(tree)) == "12e5af2247404866"
    spec = tree.body[0].body[0].value.values[0].format_spec  # type: ignore[attr-defined]
    assert canonical(spec) == ("JoinedStr(values=[Constant(value='>'),"
                               "FormattedValue(value=Constant(value=9),conversion=-1)])")


def test_constants_are_written_alike_whatever_unicode_tables_the_interpreter_has() -> None:
    """The review: a str's repr escapes characters the interpreter's Unicode database lacks (U+1FAE0 and U+0870 are
    new in 3.11's, U+1FA75 in 3.12's, U+2EBF0 in 3.13's), so a literal holding one was written otherwise on 3.10. The
    golden digest was computed under 3.10.13, 3.11.7, 3.12.1 and 3.13.0 (all four fd14b8a3dc15c425; the repr of the
    string gave four different digests)."""
    text = 'x = "\\U0001FAE0 \\u0870 \\U0001FA75 \\U0002EBF0"\n'
    assert _sha(canonical(ast.parse(text))) == "fd14b8a3dc15c425"
    assert canonical(ast.Constant(value="\u00e9")) == "Constant(value='\\xe9')"


def test_an_f_strings_text_parts_are_joined_and_empty_ones_left_out() -> None:
    """3.12.1 gives ``f"{x:>{w}}"``'s format an empty last part; a text split in two reads as one."""
    w = ast.FormattedValue(value=ast.Name(id="w", ctx=ast.Load()), conversion=-1)
    one = ast.JoinedStr(values=[ast.Constant(value="a>"), w])
    split = ast.JoinedStr(values=[ast.Constant(value=""), ast.Constant(value="a"), ast.Constant(value=">"), w,
                                  ast.Constant(value="")])
    assert canonical(split) == canonical(one)
    assert canonical(ast.JoinedStr(values=[ast.Constant(value="a"), w, ast.Constant(value="b")])) != canonical(one)
    assert canonical(ast.JoinedStr(values=[ast.Constant(value=1), ast.Constant(value=2)])) == \
        "JoinedStr(values=[Constant(value=1),Constant(value=2)])"  # not text: kept apart


def test_fields_that_are_none_or_empty_are_left_out_and_the_rest_kept_in_order() -> None:
    assert canonical(ast.parse("x = 1")) == \
        "Module(body=[Assign(targets=[Name(id='x',ctx=Store())],value=Constant(value=1))])"
    assert canonical(ast.parse("f()")) != canonical(ast.parse("f(1)"))
    assert canonical(ast.parse("a - b")) != canonical(ast.parse("b - a"))
    assert canonical([]) == "[]" and canonical(None) == "None"


def _legacy_swap_store(path, legacy: str):
    store_path = _one_score_store(path)  # a score under swap@1 ...
    return _store_with_codes(store_path, {"swap@1": legacy})  # ... and its code recorded in the older form


def test_a_store_that_recorded_the_running_code_in_the_older_form_warns_of_nothing_and_records_the_new(
        tmp_path, monkeypatch) -> None:
    import swapnas.code_changes as code_changes

    swap = get_proxy("swap")
    assert swap.version == "1"
    new, legacy = code_digest(swap.fn), legacy_code_digest(swap.fn)
    assert new != legacy and running_digests("swap@1") == (new, legacy)
    path = _legacy_swap_store(tmp_path / "s.sqlite", legacy)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE proxy_code SET created = 1e9")
    with ScoreStore(path, read_only=True) as store, warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_changed_code(store, [swap])  # read-only: the running code's, and nothing written
        assert store.recorded_code()["swap@1"] == (legacy, 1e9)
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())  # another process
    with ScoreStore(path) as store, warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_changed_code(store, [swap])
        assert store.recorded_code()["swap@1"] == (new, 1e9)  # the new form, with the time it was first recorded
    other = _legacy_swap_store(tmp_path / "o.sqlite", "0" * 16)  # neither form: other code, as before
    with ScoreStore(other) as store, pytest.warns(ProxyCodeWarning, match="its function differs from the code"):
        warn_changed_code(store, [swap])
    with ScoreStore(other, read_only=True) as store:
        assert store.recorded_code()["swap@1"][0] == "0" * 16


def test_a_networks_code_recorded_in_the_older_form_is_the_running_code(tmp_path) -> None:
    modules = network_modules("nb201")
    new, legacy = modules_digest(modules), legacy_modules_digest(modules)
    assert new != legacy and running_digests("net:nb201@1") == (new, legacy)
    path = _store_with_codes(_one_score_store(tmp_path / "s.sqlite"), {"net:nb201@1": legacy})
    with ScoreStore(path) as store, warnings.catch_warnings():
        warnings.simplefilter("error", NetworkCodeWarning)
        warn_changed_network(store, "nb201", "1")
        assert store.recorded_code()["net:nb201@1"][0] == new
    assert running_digests("net:nb201@7") == (None, None) and running_digests("swap@999") == (None, None)


def test_accept_code_counts_the_older_form_of_the_running_code_as_unchanged(tmp_path) -> None:
    swap = get_proxy("swap")
    path = _legacy_swap_store(tmp_path / "s.sqlite", legacy_code_digest(swap.fn))
    report = accept_code(path, ["swap"])
    assert report.unchanged == ["swap@1"] and report.accepted == {}


def test_running_form_reads_the_older_form_of_the_running_code_as_the_new_and_asks_once_per_name(monkeypatch) -> None:
    import swapnas.code_changes as code_changes

    asked: list[str] = []
    monkeypatch.setattr(code_changes, "running_digests", lambda name: asked.append(name) or ("new", "old"))
    cache: dict = {}
    assert running_form("swap@1", "old", cache) == "new" and running_form("swap@1", "new", cache) == "new"
    assert running_form("swap@1", "else", cache) == "else" and asked == ["swap@1"]
    monkeypatch.setattr(code_changes, "running_digests", lambda name: (None, None))
    assert running_form("gone@1", "old", {}) == "old"  # not run here: as recorded


def test_shards_recorded_before_and_after_the_new_form_merge_and_other_code_is_still_refused(tmp_path) -> None:
    swap = get_proxy("swap")
    old = _legacy_swap_store(tmp_path / "old.sqlite", legacy_code_digest(swap.fn))
    new = _store_with_codes(tmp_path / "new.sqlite", {"swap@1": code_digest(swap.fn)})
    merged = merge_stores([old, new], tmp_path / "into.sqlite")
    assert merged.added == 1 and merged.other_code == []
    other = _store_with_codes(tmp_path / "other.sqlite", {"swap@1": "0" * 16})
    with pytest.raises(Exception, match="records other metric code for swap@1"):
        merge_stores([old, other], tmp_path / "into2.sqlite")


def test_digest_versions_compares_each_interpreter_with_the_first() -> None:
    script = load_script("digest_versions")
    mine = script.digests()
    assert "proxies/code.py" in mine and set(mine["patterns.py"]) == {"unparse", "canonical"}
    other = {m: dict(forms) for m, forms in mine.items()}
    other["patterns.py"]["unparse"] = "x"
    lines, agree = script.compare({"a": mine, "b": other})
    assert agree and lines[1] == "  b: unparse (until session 62) 1 differ, canonical (since) 0 differ"
    other["stats.py"]["canonical"] = "y"
    lines, agree = script.compare({"a": mine, "b": other})
    assert not agree and lines[1].endswith("canonical (since) 1 differ: stats.py")
    assert script.main([]) == 0  # this interpreter against itself


def test_a_grid_refused_for_its_store_prints_no_plan_first(small_bundle, tmp_path, capsys) -> None:
    """Left from session 61: the plan ("grid: 1 column x …") was printed, then the store's refusal; it prints once
    the store is open and the executor started."""
    from swapnas.cli import main

    bad = tmp_path / "notes.sqlite"
    bad.write_text("not a score store\n" * 200)
    args = ["grid", "--benchmarks", "nb301", "--tasks", "cifar10", "--proxies", "params", "--archs", "2",
            "--data-dir", str(small_bundle), "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "g"), "--store", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "notes.sqlite" in err and "grid: 1 column" not in err
    assert main([*args, "--out", str(tmp_path / "h")]) == 0
    assert "swapnas: grid: 1 column x 1 proxy" in capsys.readouterr().err


class _PaddedEncoder(torch.nn.Module):
    """Token ids and PyTorch's additive key-padding mask (0 at the tokens, -inf at the pads), by position."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(50, 16)
        layer = torch.nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, activation=torch.nn.GELU())
        self.enc = torch.nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)

    def forward(self, ids: torch.Tensor, src_key_padding_mask: torch.Tensor) -> torch.Tensor:
        return self.enc(self.emb(ids), src_key_padding_mask=src_key_padding_mask)


def _ids_and_pads() -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(0, 50, (8, 6), generator=torch.Generator().manual_seed(0))
    pad = torch.zeros(8, 6)
    pad[:, 4:] = -math.inf
    return ids, pad


def test_an_additive_mask_by_position_is_read_as_by_name() -> None:
    """Left from session 61: ``((ids, mask), None)`` with a float mask, -inf at the pads, was refused as non-finite
    inputs (by name it was read since session 53)."""
    torch.manual_seed(0)
    model, (ids, pad) = _PaddedEncoder(), _ids_and_pads()
    by_position = swapnas.score(model, ((ids, pad), None), ["swap_ext"])["swap_ext"]
    assert by_position == swapnas.score(model, {"ids": ids, "src_key_padding_mask": pad}, ["swap_ext"])["swap_ext"]
    assert by_position == swapnas.score(model, ((ids, pad.bool()), None), ["swap_ext"])["swap_ext"]
    assert by_position != swapnas.score(model, ((ids, torch.zeros(8, 6)), None), ["swap_ext"])["swap_ext"]


def test_an_additive_mask_as_labels_is_refused_with_the_way_out() -> None:
    torch.manual_seed(0)
    model, (ids, pad) = _PaddedEncoder(), _ids_and_pads()
    with pytest.raises(ValueError, match=r"^the second item looks like an additive padding mask \(0 at the tokens, "
                                         r"-inf at the pads\), not labels: pass \(\(x, mask\), None\)"):
        swapnas.score(model, (ids, pad), ["swap_ext"])


def test_only_a_float_2d_mask_of_zeros_and_minus_inf_shaped_as_the_first_input_is_additive() -> None:
    ids, pad = _ids_and_pads()
    assert additive_mask(pad, ids) and not additive_mask(pad, ids[:, :5]) and not additive_mask(pad, pad[0])
    assert not additive_mask(torch.zeros(8, 6), ids)  # no pad: an input of zeros
    for bad in (math.nan, math.inf, -1.0):
        other = pad.clone()
        other[0, 0] = bad
        assert not additive_mask(other, ids)
    assert not additive_mask(pad.double().unsqueeze(-1), ids) and not additive_mask(pad.bool(), ids)
    assert unmasked((ids, pad)) == (ids,) and unmasked([pad, pad])[0] is pad  # the first input is never a mask
    emb = torch.randn(8, 6, 4)
    emb[0, 0, 0] = math.inf
    with pytest.raises(ValueError, match=r"^inputs hold 1 non-finite value\(s\)"):
        swapnas.score(_PaddedEncoder(), ((emb, pad), None), ["swap_ext"])


class _Transposing(torch.nn.Module):
    """(S, L, E) inputs transposed to (L, S, E) for a batch_first=False encoder inside."""

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.transpose(0, 1)).transpose(0, 1)


def test_a_sequence_first_encoder_as_the_model_is_refused_either_way_with_the_wrapper_as_the_way_out() -> None:
    """The newcomer's walk-through: ``nn.TransformerEncoder(layer)`` (batch_first=False, PyTorch's default) was refused
    for (L, S, E) and, after the message's "pass the inputs with the samples on dim 0", for (S, L, E) again."""
    torch.manual_seed(0)
    seq_first = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0), 2,
                                            enable_nested_tensor=False)
    for x in (torch.randn(10, 16, 32), torch.randn(16, 10, 32)):
        with pytest.raises(swapnas.UnsupportedModel, match="has batch_first=False: .*build such modules with "
                           r"batch_first=True .*\(a model that is itself such a module, e\.g\. nn\.TransformerEncoder"
                           r"\(layer\), goes in a wrapper module that transposes\)$"):
            swapnas.score(seq_first, x, ["swap_fn"])
    twin = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True), 2,
                                       enable_nested_tensor=False)
    twin.load_state_dict(seq_first.state_dict())
    x = torch.randn(16, 10, 32)
    assert swapnas.score(_Transposing(seq_first), x, ["swap_fn"], init="none") == \
        swapnas.score(twin, x, ["swap_fn"], init="none")


def _zc_store(path, rows) -> None:
    """A store of (space, arch, proxy key, status, value) rows under one protocol (fingerprint "fp", cifar10)."""
    from swapnas.store import Record, ScoreKey
    from tests.test_review54_mutants import PROTOCOL

    with ScoreStore(path) as store:
        store.add_protocol("fp", {**PROTOCOL, "batch_digest": "fp"})
        for space, arch, proxy, status, value in rows:
            record = Record(status, value, 0.0 if value is not None else None, [] if value is None else [value], 0.5,
                            None, None if status == "ok" else "boom")
            store.put(ScoreKey(space, arch, proxy, "fp", 0, 16, 1, '{"C": 16, "N": 1}'), record)


def test_naslib_zc_refuses_two_versions_or_options_of_a_metric_in_one_dataset(tmp_path, capsys) -> None:
    """The export audit: archs scored under swap_reg@1[mu=…] and under other options (or another version) went into
    one column of the naslib-zc file, named nowhere."""
    import json

    from swapnas.cli import main
    from tests.test_review54_mutants import A, B, KEY_A

    store, out = tmp_path / "s.sqlite", tmp_path / "zc.json"
    _zc_store(store, [("nb201", A, "swap_reg@1[mu=300,sigma=9]", "ok", 2.0),
                      ("nb201", B, "swap_reg@1[mu=900,sigma=50]", "ok", 3.0)])
    assert main(["-q", "export", str(store), "--format", "naslib-zc", "--out", str(out)]) == 2
    assert ("swap_reg in cifar10 of nb201 is stored under two keys, swap_reg@1[mu=300,sigma=9] (e.g. "
            f"{A}) and swap_reg@1[mu=900,sigma=50] (e.g. {B})") in capsys.readouterr().err and not out.exists()
    assert main(["-q", "export", str(store), "--out", str(tmp_path / "all.csv")]) == 0  # csv keeps both
    mixed = tmp_path / "m.sqlite"  # a failure under another version is left out, as one under another setting
    _zc_store(mixed, [("nb201", A, "swap@1", "ok", 5.0), ("nb201", B, "swap@2", "failed", None)])
    assert main(["-q", "export", str(mixed), "--format", "naslib-zc", "--out", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert list(doc["nb201"]["cifar10"]) == [KEY_A] and doc["nb201"]["cifar10"][KEY_A]["swap"]["score"] == 5.0
    assert doc["provenance"]["settings"]["nb201"]["cifar10"]["proxies"] == {"swap": "swap@1"}


def test_nb101_is_exported_in_the_layout_of_naslibs_zc_nasbench101(tmp_path) -> None:
    """The export audit: NASLib's zc_nasbench101.json nests its datasets under "nasbench101" and holds each score
    alone; the export wrote NB201's {"score", "time"} records at the top level and said it was that file's layout."""
    import json
    import random

    from swapnas.cli import main
    from swapnas.conformance import SOURCES, _stored
    from swapnas.spaces import nb101

    arch = nb101.sample(random.Random(0))
    store, out = tmp_path / "s.sqlite", tmp_path / "zc.json"
    _zc_store(store, [("nb101", str(arch), "params@1", "ok", 4154.0), ("nb101", str(arch), "synflow@2", "ok", 1.0)])
    assert main(["-q", "export", str(store), "--format", "naslib-zc", "--out", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["nb101"] == {"nasbench101": {"cifar10": {nb101.to_naslib(arch): {"params": 4154.0, "synflow": 0.0}}}}
    records = doc["nb101"]  # read back as swapnas conformance reads NASLib's file
    for part in (*SOURCES["nb101"].top, SOURCES["nb101"].datasets["cifar10"]):
        records = records[part]
    assert list(records) == [nb101.to_naslib(arch)]
    assert _stored(records[nb101.to_naslib(arch)]["params"])[0] == 4154.0


def _bundle_without_images(small_bundle, tmp_path):
    import shutil

    bundle = tmp_path / "bundle"
    bundle.mkdir(parents=True)
    for part in ("SOURCES.md", "nb301"):  # (the small bundle's NB201 table is too short for its benchmark)
        (shutil.copytree if (small_bundle / part).is_dir() else shutil.copy)(small_bundle / part, bundle / part)
    return bundle


@pytest.mark.parametrize("command", [["grid", "--benchmarks", "nb301", "--tasks", "cifar10"],
                                     ["conformance", "--space", "nb301"]])
def test_a_grid_or_conformance_without_its_images_leaves_no_out(small_bundle, tmp_path, capsys, command) -> None:
    """The export audit: both left OUT holding an empty scores.sqlite when the images were missing (a search removed
    its empty store since session 51: the same ``store_in`` now)."""
    from swapnas.cli import main

    out = tmp_path / "o"
    assert main([*command, "--proxies", "params", "--archs", "2", "--data-dir",
                 str(_bundle_without_images(small_bundle, tmp_path)), "--out", str(out), "--no-progress"]) == 2
    assert "missing data file 'images/cifar10_test_2000_jpegq75.npz'" in capsys.readouterr().err
    assert not out.exists()
    shard = tmp_path / "s"  # a shard's OUT and store are shared with other shards: its store stays
    if command[0] == "grid":
        assert main([*command, "--proxies", "params", "--archs", "2", "--shard", "1/2", "--data-dir",
                     str(_bundle_without_images(small_bundle, tmp_path / "again")), "--out", str(shard)]) == 2
        assert (shard / "scores.sqlite").is_file()


def test_export_and_salvage_refuse_to_write_into_the_data_bundle(small_bundle, tmp_path, monkeypatch, capsys) -> None:
    """The export audit: ``export --out BUNDLE/nb201/naslib_zc_nasbench201.json`` replaced NASLib's file, and every
    later conformance run failed on it; other commands refused such an OUT already."""
    from swapnas.cli import main

    bundle = _bundle_without_images(small_bundle, tmp_path)
    monkeypatch.setenv("SWAPNAS_DATA", str(bundle))
    store = _one_score_store(tmp_path / "s.sqlite")
    target = bundle / "nb301" / "naslib_zc_nasbench301.json"
    before = target.read_bytes()
    assert main(["export", str(store), "--format", "naslib-zc", "--out", str(target)]) == 2
    assert f"--out {target} is inside the data bundle {bundle.resolve()}, which swapnas only reads" in \
        capsys.readouterr().err and target.read_bytes() == before
    assert main(["store", "salvage", str(store), "--out", str(bundle / "x.sqlite")]) == 2
    assert not (bundle / "x.sqlite").exists()
    assert main(["-q", "export", str(store), "--out", str(tmp_path / "x.csv")]) == 0  # outside it: written


def test_conformance_reads_best_as_the_spaces_recommended_fitness() -> None:
    """The export audit: ``--proxies best`` on nb201 said NASLib stores no swap_darts scores (best there is
    swap_nb201)."""
    import types

    from swapnas.conformance import select_proxies
    from swapnas.session import best_for

    naslib = types.SimpleNamespace(space="nb201", dataset="cifar10", scores={"params": None, "synflow": None},
                                   naslib_names={"params": "params", "synflow": "synflow"})
    with pytest.raises(ValueError, match=rf"^NASLib stores no {best_for('nb201')} scores for nb201/cifar10"):
        select_proxies(naslib, "best")
    assert best_for("nb201") != "swap_darts"


def test_export_out_spellings_that_mean_something_else_are_refused(tmp_path, capsys, monkeypatch) -> None:
    """The export audit: ``--out -`` wrote a file named ``-``, ``--out newdir/`` a file named ``newdir``, and a path
    under a file said "(File exists)"."""
    from swapnas.cli import main

    monkeypatch.chdir(tmp_path)  # (a failing run must leave no '-' in the suite's folder: the mutation run)

    store = _one_score_store(tmp_path / "s.sqlite")
    for out, said in ((tmp_path / "new", "names a folder"), ("-", "names standard output")):
        spelt = f"{out}/" if out != "-" else out
        assert main(["export", str(store), "--out", spelt]) == 2
        assert f"--out {spelt} {said}: give the file to write" in capsys.readouterr().err
    assert not (tmp_path / "new").exists() and not Path("-").exists()
    assert main(["export", str(store), "--out", str(store / "x.csv")]) == 2
    assert f"--out {store / 'x.csv'}: {store} is a file, so the folder cannot be made" in capsys.readouterr().err
    (tmp_path / "there").mkdir()
    assert main(["-q", "export", str(store), "--out", str(tmp_path / "there") + "/"]) == 2  # a folder: as before
    assert "is a folder; give the file to write" in capsys.readouterr().err


def test_salvage_of_an_empty_file_says_it_is_empty(tmp_path, capsys) -> None:
    """The export audit: it said "an SQLite file without a scores table … copy its -wal beside it"."""
    from swapnas.cli import main

    empty = tmp_path / "e.sqlite"
    empty.write_bytes(b"")
    assert main(["store", "salvage", str(empty), "--out", str(tmp_path / "n.sqlite")]) == 2
    assert f"{empty} is an empty file, not a swapnas score store (nothing to check or salvage)" in \
        capsys.readouterr().err and not (tmp_path / "n.sqlite").exists()


# ---------------------------------------------------------------------------------------------- swapnas train (audit)

def _tiny_train(out, **kw) -> dict:
    from tests.test_train import _run
    return _run(out, epochs=1, **kw)


def test_a_checkpoint_that_cannot_be_written_is_named_as_a_file_error(tmp_path, monkeypatch) -> None:
    """The train audit: under ``ulimit -f`` torch's zip writer turned the file's OSError into "RuntimeError:
    unexpected pos …" (exit 1, a traceback); the checkpoint is serialised in memory and written by write_atomic."""
    import errno
    import os

    from swapnas import files

    real = os.fdopen

    class _Full:
        def __init__(self, f) -> None:
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.f.close()

        def write(self, data) -> int:
            raise OSError(errno.EFBIG, "File too large")

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: _Full(real(fd, mode)))
    with pytest.raises(OSError) as got:
        _tiny_train(tmp_path / "o")
    assert got.value.errno == errno.EFBIG and got.value.filename == str(tmp_path / "o" / "checkpoint.pt")
    assert not list((tmp_path / "o").glob(".*.tmp"))


def test_an_interrupt_inside_torch_save_is_raised_as_itself(monkeypatch) -> None:
    def wrapped(obj, f) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise RuntimeError("[enforce fail at inline_container.cc] unexpected pos") from exc

    from swapnas.train import loop
    assert bytes(loop._serialised({"a": torch.ones(2)}))[:2] == b"PK"  # torch's zip format
    monkeypatch.setattr(torch, "save", wrapped)
    with pytest.raises(KeyboardInterrupt):
        loop._serialised({"a": 1})
    monkeypatch.setattr(torch, "save", lambda obj, f: (_ for _ in ()).throw(RuntimeError("other")))
    with pytest.raises(RuntimeError, match="^other$"):
        loop._serialised({"a": 1})


def test_a_fresh_start_removes_an_earlier_runs_outputs_and_killed_writes(tmp_path, monkeypatch) -> None:
    """The train audit: after the checkpoint was deleted (as a refusal advises), the earlier run's result.json stood
    beside the new run's history; a write killed part-way left its temporary file in OUT for good."""
    from swapnas.train import loop

    out = tmp_path / "o"
    first = _tiny_train(out)
    assert first["complete"] is False and (out / "result.json").is_file()  # (max_steps: a smoke run)
    assert first["provenance"]["swapnas"] == swapnas.__version__
    (out / "checkpoint.pt").unlink()
    (out / ".checkpoint.pt.123.abcd1234.tmp").write_bytes(b"")
    (out / "notes.tmp").write_text("mine")  # not one of the run's: kept
    monkeypatch.setattr(loop, "_run_epoch", lambda run, epoch: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        _tiny_train(out)
    assert sorted(p.name for p in out.iterdir()) == [".lock", "notes.tmp"]


def test_schedule_epochs_keeps_each_change_of_the_schedule(tmp_path, monkeypatch) -> None:
    """The train audit: 4, then 6, then 4 epochs again was reported [4, 6]."""
    import types

    from torch import nn

    from swapnas.train import loop
    from tests.test_train import TINY

    history = [{"schedule_epochs": e, "test_acc": 1.0} for e in (4, 6, 4, 4)]
    run = types.SimpleNamespace(out=tmp_path, history=history, genotype=None, model=nn.Linear(2, 2), wall=1.0,
                                data=types.SimpleNamespace(name="d", source="s"), max_steps=None, config=TINY,
                                eval_every=1, seed=0, device="cpu", use_amp=False)
    monkeypatch.setattr(loop, "format_genotype", lambda genotype: "G")
    assert loop._finish(run)["schedule_epochs"] == [4, 6, 4]


def test_cifar_files_with_bad_labels_or_pixels_are_refused_naming_the_file(tmp_path) -> None:
    """The train audit: a test label of 12 ended the first evaluation, an epoch in, with "Target 12 is out of
    bounds" (exit 1); float pixels in [0, 1] became black images; a wrong size said only "cannot reshape"."""
    import numpy as np

    from swapnas.train.data import CIFAR_FILES, load_cifar10

    def cifar(root, **change):
        import pickle

        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        for name in CIFAR_FILES:
            d = {"data": np.zeros((4, 3072), np.uint8), "labels": [0, 1, 2, 9]}
            d.update(change.get(name, {}))
            (folder / name).write_bytes(pickle.dumps(d))
        return root

    assert len(load_cifar10(cifar(tmp_path / "ok")).train) == 20
    four_d = {"data": np.arange(4 * 3072).reshape(4, 3, 32, 32) % 256, "labels": [0, 1, 2, 9]}  # (read as before)
    read = load_cifar10(cifar(tmp_path / "4d", test_batch=four_d)).test
    want = (np.arange(4 * 3072) % 256).astype(np.uint8).reshape(4, 3, 32, 32)
    assert torch.equal(read.images, torch.from_numpy(want))
    for name, change, said in (
            ("test_batch", {"labels": [0, 1, 12, 3]}, "labels must be CIFAR-10's classes, integers 0..9, found 12"),
            ("data_batch_2", {"labels": [0, -1, 2, 3]}, "found -1"),
            ("data_batch_1", {"labels": [0.5, 1, 2, 3]}, "found float64"),
            ("data_batch_3", {"data": np.full((4, 3072), 0.5, np.float32)}, "its data is float32 in [0, 1]"),
            ("data_batch_4", {"data": np.zeros((4, 3000), np.uint8)}, "its data is uint8 (4, 3000), not CIFAR-10's"),
            ("data_batch_5", {"labels": [0, 1]}, "4 images but labels of shape (2,)"),
            ("test_batch", {"data": np.zeros((0, 3072), np.uint8), "labels": []}, "(0, 3072)")):
        root = cifar(tmp_path / f"{name}{len(said)}", **{name: change})
        with pytest.raises(ValueError) as got:
            load_cifar10(root)
        assert str(got.value).startswith(f"{root / 'cifar-10-batches-py' / name}: ") and said in str(got.value)


def test_a_text_file_as_checkpoint_is_refused_in_words(tmp_path) -> None:
    """The train audit: ``echo hello > OUT/checkpoint.pt`` ended the rerun in "KeyError: 101" (exit 1)."""
    from swapnas.train.checkpoint import load_checkpoint

    path = tmp_path / "checkpoint.pt"
    path.write_text("hello\n")
    with pytest.raises(ValueError, match=r"is not a readable `swapnas train` checkpoint \(damaged, truncated"):
        load_checkpoint(path)


def test_train_json_says_an_interrupt_as_one_json_document(monkeypatch, tmp_path, capsys) -> None:
    """The train audit: ``swapnas --json train`` interrupted printed nothing on stdout (the command said it itself)."""
    import json

    from swapnas.cli import commands, main
    from tests.test_darts_genotype import DARTS_V2

    monkeypatch.setattr(commands, "run_train", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert main(["--json", "train", "--genotype", DARTS_V2, "--synthetic", "16", "--out", str(tmp_path / "o")]) == 130
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"error": "interrupted; no checkpoint was written", "exit": 130}
    assert captured.err == "swapnas: interrupted; no checkpoint was written\n"


# ------------------------------------------------------------------------------------ transformers and TransNAS (audit)

def test_a_net_task_other_than_the_ranked_one_is_refused() -> None:
    """The FlexiBERT/TransNAS audit: ``--dataset segmentsemantic --net task=class_object`` scored class_object's
    network against segmentsemantic's ground truth (label-free proxies exit 0); on a space without tasks ``task`` was
    a raw TypeError from build()."""
    from swapnas.session import scoring_net

    with pytest.raises(ValueError, match=r"^--net task=class_object builds another task's network than --dataset's, "
                                         r"segmentsemantic, which is ranked: give --dataset class_object$"):
        scoring_net("transnas_micro", "segmentsemantic", {"task": "class_object"})
    assert scoring_net("transnas_micro", "jigsaw", {"task": "jigsaw"})["task"] == "jigsaw"
    with pytest.raises(ValueError, match=r"^--net option\(s\) task are not options of the flexibert network"):
        scoring_net("flexibert", "cola", {"task": "cola"})


def test_a_transnas_stand_in_batch_of_an_impossible_resolution_is_refused(small_bundle) -> None:
    """The audit: resolution=100000 asked 1.9 TB in a traceback (exit 1); 4000 on jigsaw ran for minutes."""
    from swapnas.taskonomy import MAX_RESOLUTION, task_batch

    for bad in (0, MAX_RESOLUTION + 1, 100000):
        with pytest.raises(ValueError, match=rf"^resolution \(the stand-in images' side\) must be in 1\.\.1024 px, not "
                                             rf"{bad}: the benchmark's networks take 256 px"):
            task_batch("class_scene", 2, data_dir=small_bundle, resolution=bad)
    assert task_batch("class_scene", 2, data_dir=small_bundle, resolution=8).inputs.shape == (2, 3, 8, 8)


def test_inputs_without_values_are_refused_before_the_model_runs() -> None:
    """The audit: a (32, 0, E) batch gave "self.stride(0) must be divisible by 4" blamed on the model, or a
    ZeroDivisionError in the saturation check."""
    model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.GELU())
    with pytest.raises(ValueError, match=r"^inputs hold no values \(shape \(4, 0, 8\)\): each sample needs at least "
                                         r"one \(a sequence of length >= 1\)$"):
        swapnas.score(model, torch.randn(4, 0, 8))
    with pytest.raises(ValueError, match=r"^swap_score: an input holds no values \(shape \(4, 0, 8\)\)"):
        swapnas.swap_score(model, torch.randn(4, 0, 8), activations=swapnas.EXTENDED_ACTIVATIONS, input_dims=(3,))


def test_an_unknown_dataset_names_the_token_and_transnas_tasks_too() -> None:
    with pytest.raises(ValueError) as got:
        swapnas.load_batch("glu", 4)
    assert "did you mean 'glue'?" in str(got.value) and "cola" in str(got.value) and "jigsaw" in str(got.value)


def test_a_negative_float_option_is_not_called_a_size() -> None:
    """The audit: ``--net init_std=-1`` ended "(init_std=-1: sizes must be >= 1)"."""
    from swapnas.session import check_net

    with pytest.raises(ValueError) as got:
        check_net("flexibert", {"init_std": -1}, {"init_std": -1})
    assert "sizes must be >= 1" not in str(got.value) and "std" in str(got.value)
    with pytest.raises(ValueError, match="C is a size"):
        check_net("nb201", {"C": 0, "N": 1}, {"C": 0})


def test_mrpc_and_qqp_say_their_metric_is_not_stated() -> None:
    from swapnas.benchmarks.flexibert import _TASK_TEXT

    assert all("metric unstated" in _TASK_TEXT[t] for t in ("mrpc", "qqp"))


def test_a_row_whose_text_is_not_utf8_is_called_damage(tmp_path, capsys) -> None:
    """The export audit: flipped bytes in a row's text made the naslib-zc export say "cannot use the score store …
    (Could not decode to UTF-8 …); check the file and its disk", never that it is damaged or that salvage exists."""
    from swapnas.cli import main

    store = _one_score_store(tmp_path / "s.sqlite")
    with sqlite3.connect(store) as db:
        db.execute("UPDATE scores SET arch = CAST(x'7cff7e30' AS TEXT)")
    assert main(["export", str(store), "--format", "naslib-zc", "--out", str(tmp_path / "zc.json")]) == 2
    err = capsys.readouterr().err
    assert f"the score store {store} is damaged (Could not decode to UTF-8" in err and "salvage" in err


# ------------------------------------------------------------------------------- salvage past damaged interior pages

def _varint_bytes(value: int) -> bytes:
    """SQLite's varint written naively: 7 bits a byte, high bit set on all but the last; 9 bytes where the value needs
    more than 56 bits, the ninth holding 8."""
    if value >= 1 << 56:
        head = [((value >> (8 + 7 * k)) & 0x7F) | 0x80 for k in range(7, -1, -1)]
        return bytes(head + [value & 0xFF])
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def test_varints_read_as_sqlite_writes_them() -> None:
    from swapnas.store_pages import varint

    for value in (0, 1, 127, 128, 240, 2287, 16383, 16384, 2**32, 2**56 - 1, 2**56, 2**63 - 1, 2**64 - 1):
        raw = b"\x07" + _varint_bytes(value) + b"\x05"
        assert varint(raw, 1) == (value, 1 + len(_varint_bytes(value)))
    with pytest.raises(IndexError):
        varint(b"\x81\x82", 0)  # cut short


def test_leaf_rows_equal_what_sqlite_reads_with_overflow_pages_and_freed_pages_left_out(tmp_path) -> None:
    """Every kind of value and an overflowing text, against SQLite's own reading of the same file; rows deleted (their
    pages freed) are not read back."""
    from swapnas.store_pages import leaf_rows

    path = tmp_path / "t.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA page_size = 1024")
        db.execute("PRAGMA secure_delete = 0")  # freed pages keep their cells (some builds zero them: the mutation run)
        db.execute("CREATE TABLE t (a, b, c, d)")
        rows = [(i, -(2 ** (8 * (i % 8))) + i, i / 7, f"text {i}" * (300 if i == 5 else 1)) for i in range(300)]
        rows += [(None, 0, 1, b"\x00\xffblob"), (2**63 - 1, -(2**63), 1e300, "")]
        db.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
        db.execute("DELETE FROM t WHERE a BETWEEN 100 AND 250")
    with sqlite3.connect(path) as db:
        want = sorted(db.execute("SELECT * FROM t").fetchall(), key=repr)
        assert db.execute("PRAGMA freelist_count").fetchone()[0] > 0  # the deleted rows' pages were freed
    got = sorted(leaf_rows(path, 1024, lambda values: len(values) == 4), key=repr)
    assert got == want and len(got) == 302 - 151


def test_salvage_reads_the_rows_below_a_damaged_interior_page(tmp_path) -> None:
    """The export audit: with the scores table's root page zeroed, salvage said "0 scores recovered, 48 lost", every
    row intact on its leaf page."""
    from swapnas.store import Record, ScoreKey
    from swapnas.store_tools import salvage_store, salvage_text

    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as store:
        for i in range(400):
            key = ScoreKey("nb201", f"|arch {i}|" + "x" * 40, "swap@1", "fp", i % 3, 16, 1, '{"C": 16, "N": 1}')
            status = "failed" if i % 7 == 0 else "ok"
            store.put(key, Record(status, None if status == "failed" else i * 1.5, 0.0, [], 0.25, i,
                                  "boom" if status == "failed" else None))
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode = DELETE")
        want = sorted(db.execute("SELECT * FROM scores").fetchall(), key=repr)
        root, page_size = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'scores'").fetchone()[0], \
            db.execute("PRAGMA page_size").fetchone()[0]
    raw = bytearray(path.read_bytes())
    raw[(root - 1) * page_size:root * page_size] = bytes(page_size)  # the table's root, an interior page
    path.write_bytes(bytes(raw))
    report = salvage_store(path, tmp_path / "new.sqlite")
    with sqlite3.connect(tmp_path / "new.sqlite") as db:
        assert sorted(db.execute("SELECT * FROM scores").fetchall(), key=repr) == want
    assert report.recovered == 400 and report.from_pages == 400 and report.lost == 0
    assert "400 of the scores read from the table's leaf pages" in salvage_text(report)


def test_training_a_genotype_searched_on_another_dataset_is_said(monkeypatch, tmp_path, capsys) -> None:
    """The train audit: a DARTS ImageNet search's result.json trained on the cifar10 recipe by default, without a
    word."""
    import json

    from swapnas.cli import commands, main
    from swapnas.train.recipe import searched_on
    from tests.test_darts_genotype import DARTS_V2

    found = tmp_path / "result.json"
    found.write_text(json.dumps({"space": "darts", "dataset": "imagenet", "best": DARTS_V2}))
    assert searched_on(str(found)) == "imagenet" and searched_on(DARTS_V2) is None
    monkeypatch.setattr(commands, "run_train", lambda *a, **k: (_ for _ in ()).throw(ValueError("stopped here")))
    assert main(["train", "--genotype", str(found), "--synthetic", "16", "--out", str(tmp_path / "o")]) == 2
    assert ("swapnas: warning: the genotype was found by a search on imagenet; it is trained here with the cifar10 "
            "recipe and data (--dataset imagenet for its own, where it is one)") in capsys.readouterr().err
    assert main(["train", "--genotype", str(found), "--dataset", "imagenet", "--synthetic", "16", "--out",
                 str(tmp_path / "o")]) == 2
    assert "warning" not in capsys.readouterr().err


def test_running_form_of_a_space_that_does_not_load_is_the_record(monkeypatch) -> None:
    """A merge reads stores: a registered space whose module fails to load here leaves its records as they are."""
    import swapnas.code_changes as code_changes
    from swapnas.spaces import SpaceError

    def broken(name):
        raise SpaceError("space 'mine' cannot be loaded")
    monkeypatch.setattr(code_changes, "running_digests", broken)
    assert running_form("net:mine@1", "abc", {}) == "abc"


def test_salvage_reads_leaf_pages_with_the_wal_applied(tmp_path) -> None:
    """The review: a store killed with pages in its -wal: the leaf pass read the main file's older versions of them
    (114 of 400 rows came back with old values, "0 lost"); it reads a copy with the -wal checkpointed in."""
    import shutil

    from swapnas.store import Record, ScoreKey
    from swapnas.store_tools import salvage_store

    live, damaged = tmp_path / "live", tmp_path / "damaged"
    live.mkdir()
    damaged.mkdir()
    path = live / "s.sqlite"
    with ScoreStore(path) as store:
        for i in range(400):
            key = ScoreKey("nb201", f"|arch {i}|" + "x" * 40, "swap@1", "fp", i % 3, 16, 1, '{"C": 16, "N": 1}')
            store.put(key, Record("ok", i * 1.5, 0.0, [], 0.25, i, None))
    db = sqlite3.connect(path)  # a later run, killed: its pages only in the -wal
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute("UPDATE scores SET value = 1000.0 + length(arch) WHERE seed = 0")
    db.commit()
    want = sorted(db.execute("SELECT * FROM scores").fetchall(), key=repr)
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'scores'").fetchone()[0]
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    for name in ("s.sqlite", "s.sqlite-wal"):
        shutil.copyfile(live / name, damaged / name)
    db.close()
    assert (damaged / "s.sqlite-wal").stat().st_size > 0
    raw = bytearray((damaged / "s.sqlite").read_bytes())
    raw[(root - 1) * page_size:root * page_size] = bytes(page_size)
    (damaged / "s.sqlite").write_bytes(bytes(raw))
    report = salvage_store(damaged / "s.sqlite", tmp_path / "new.sqlite")
    with sqlite3.connect(tmp_path / "new.sqlite") as db:
        assert sorted(db.execute("SELECT * FROM scores").fetchall(), key=repr) == want
    assert report.from_pages == 400 and report.lost == 0


def test_a_store_another_connection_has_open_is_not_removed(tmp_path) -> None:
    """The review: a grid without --shard, stopped before its first score, removed OUT's store while a shard (same
    OUT, no lock by design) had it open; the shard's scores went into a removed file."""
    import argparse

    from swapnas.cli.commands import store_in
    from swapnas.store import Record, ScoreKey

    final = argparse.Namespace(store=None, shard=None, out=str(tmp_path / "out"))
    with pytest.raises(KeyboardInterrupt), store_in(final):
        shard = ScoreStore(tmp_path / "out" / "scores.sqlite").__enter__()  # a shard opens OUT's store meanwhile
        raise KeyboardInterrupt
    shard.put(ScoreKey("nb201", "|a|", "swap@1", "fp", 0, 16, 1, "{}"), Record("ok", 1.0, 0.0, [1.0], 0.1, 1, None))
    shard.__exit__(None, None, None)
    with ScoreStore(tmp_path / "out" / "scores.sqlite", read_only=True) as store:
        assert store.count() == 1  # the shard's score is in the store OUT holds
    alone = argparse.Namespace(store=None, shard=None, out=str(tmp_path / "o"))
    with pytest.raises(KeyboardInterrupt), store_in(alone):
        raise KeyboardInterrupt
    assert not list((tmp_path / "o").glob("scores.sqlite*"))  # alone: removed, as before


def test_a_bundle_kept_in_a_project_folder_leaves_its_other_folders_writable(tmp_path, monkeypatch, capsys) -> None:
    """The review: with SWAPNAS_DATA=. in a project holding the bundle's folders, `export runs/s.sqlite --out
    runs/s.csv` was refused, where correlate's --out runs/x is accepted (the bundle's top folder and data folders
    only)."""
    from swapnas.cli import main

    project = tmp_path / "proj"
    (project / "nb301").mkdir(parents=True)
    (project / "runs").mkdir()
    store = _one_score_store(project / "runs" / "s.sqlite")
    monkeypatch.setenv("SWAPNAS_DATA", str(project))
    monkeypatch.chdir(project)
    assert main(["-q", "export", "runs/s.sqlite", "--out", "runs/s.csv"]) == 0
    assert main(["-q", "export", str(store), "--out", "s.csv"]) == 2  # the bundle's top folder
    assert main(["-q", "export", str(store), "--out", "nb301/s.csv"]) == 2
    assert capsys.readouterr().err.count("is inside the data bundle") == 2


def test_a_run_into_a_folder_that_looks_like_a_bundle_is_refused(small_bundle, tmp_path, monkeypatch, capsys) -> None:
    """The --json audit: `swapnas train --out BUNDLE/darts` (train names no bundle, and none was set in the
    environment) wrote its checkpoint and history into the data bundle."""
    import shutil

    from swapnas.cli import main
    from tests.test_darts_genotype import DARTS_V2

    monkeypatch.delenv("SWAPNAS_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "nowhere"))
    bundle = tmp_path / "data"
    shutil.copytree(small_bundle, bundle)
    out = bundle / "darts"
    assert main(["train", "--genotype", DARTS_V2, "--synthetic", "16", "--out", str(out)]) == 2
    assert f"--out {out} is inside the data bundle {bundle.resolve()}" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["swap_darts_dev300.csv"]
    store = _one_score_store(tmp_path / "s.sqlite")
    assert main(["export", str(store), "--out", str(bundle / "x.csv")]) == 2


def test_a_sigterm_while_the_command_starts_is_an_interrupt_said_as_json() -> None:
    """The --json audit: SIGTERM or SIGHUP in the ~2 s of torch's import killed the command (exit 143 / 129, no word,
    no JSON): from the first import of swapnas they stop it as Ctrl-C does."""
    import os
    import signal
    import subprocess
    import sys

    code = ("import os, signal, sys; sys.argv[0:1] = ['/venv/bin/swapnas', '--json']; import swapnas.stops as s; "
            "s.quiet_start_interrupt(); print(signal.getsignal(signal.SIGTERM) is s.stop_as_interrupt, flush=True); "
            "os.kill(os.getpid(), signal.SIGTERM); import time; time.sleep(30)")
    env = {**os.environ, "PYTHONPATH": str(Path(swapnas.__file__).parents[1])}
    p = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode in (130, -signal.SIGINT)  # (Python re-raises an unhandled Ctrl-C as SIGINT)
    assert p.stdout == 'True\n{"error": "interrupted while starting; nothing was run", "exit": 130}\n', p.stdout
    assert p.stderr == "swapnas: interrupted while starting; nothing was run\n"


def test_an_abbreviated_json_flag_gets_json_errors_too(capsys) -> None:
    """The --json audit: argparse takes `--js` for --json, but its own errors then printed no JSON."""
    import json

    from swapnas.cli import main

    for flag in ("--js", "--jso", "--json"):
        with pytest.raises(SystemExit):
            main([flag, "correlate", "--bogus", "--out", "x"])
        assert json.loads(capsys.readouterr().out) == {"error": "swapnas correlate: unrecognized arguments: --bogus",
                                                             "exit": 2}  # (the command's error since session 64)
    with pytest.raises(SystemExit):
        main(["correlate", "--bogus", "--out", "x"])
    assert capsys.readouterr().out == ""


def test_cifar_pixels_out_of_range_are_not_called_unit_floats(tmp_path) -> None:
    """The mutation run: int64 pixels of -1 were described as "in [0, 1]"."""
    import numpy as np

    from swapnas.train.data import _cifar_images

    with pytest.raises(ValueError) as got:
        _cifar_images(tmp_path / "b", np.full((4, 3072), -1, np.int64))
    assert "its data is int64, not CIFAR-10's pixel bytes" in str(got.value)
    with pytest.raises(ValueError, match=r"its data is float32 in \[0, 1\], not"):
        _cifar_images(tmp_path / "b", np.full((4, 3072), 0.5, np.float32))
    with pytest.raises(ValueError, match=r"its data is float32, not"):
        _cifar_images(tmp_path / "b", np.full((4, 3072), -0.5, np.float32))


@pytest.mark.slow
def test_a_checkpoint_past_the_file_size_limit_is_a_named_file_error(tmp_path) -> None:
    """The train audit's repro, under a real `ulimit -f` (the mutation run: the test above fakes the write's error,
    and a save straight into the file, torch's zip writer turning it into "unexpected pos", passed it)."""
    import subprocess
    import sys

    from tests.test_darts_genotype import DARTS_V2
    code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000)); from swapnas.cli import main; "
            f"sys.exit(main(['train', '--genotype', {DARTS_V2!r}, '--synthetic', '64', '--channels', '4', "
            f"'--layers', '3', '--batch-size', '8', '--epochs', '1', '--device', 'cpu', '--no-progress', "
            f"'--out', {str(tmp_path / 'o')!r}]))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert p.returncode == 2, p.stderr
    assert f"swapnas: error: {tmp_path / 'o' / 'checkpoint.pt'}: File too large" in p.stderr
    assert "Traceback" not in p.stderr and "unexpected pos" not in p.stderr
