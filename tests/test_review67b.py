"""Session 67, second review of the mends (each test failed on the code as reviewed): salvage of a crafted protocols or
proxy_code table, a protocol-5 pickle of numpy arrays, control characters in warnings and two printed lines, a store
row's JSON nested past Python's limit, metrics named like rank()'s row keys, markdown and LaTeX escapes left out, and
rank(frame=<a bool variable>) for a type checker."""

from __future__ import annotations

import html
import io
import json
import pickle
import random
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import swapnas

ESC = "\x1b]0;PWNED\x07\x1b[2J"  # an OSC title change and a clear-screen
SMALL_BUNDLE = Path(swapnas.__file__).resolve().parents[2] / "tests" / "data" / "bundle"


# ----------------------------------------------------------------- 1. salvage still hangs: protocols / proxy_code

_HANG_STORE = textwrap.dedent("""
    import sqlite3, sys
    from swapnas.store import ScoreStore
    path, table = sys.argv[1], sys.argv[2]
    ScoreStore(path).close()
    db = sqlite3.connect(path)
    ins = ("INSERT INTO protocols (rowid, fingerprint, description) VALUES (?, ?, ?)" if table == "protocols" else
           "INSERT INTO proxy_code (rowid, proxy, digest, created) VALUES (?, ?, ?, 1.0)")
    for i in range(1, 41):
        db.execute(ins, (i, f"p{i}@1", "d" * 1000))
    db.execute(ins, (9 * 10**18, "big@1", "e" * 1000))      # a crafted rowid in a middle leaf ...
    db.execute(ins, (9 * 10**18 + 1, "last@1", "f" * 3500))  # ... with a row after it in the last leaf
    db.commit()
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    data = open(path, "rb").read()
    page = data.find(b"e" * 1000) // size
    with open(path, "r+b") as f:  # that middle leaf's page header damaged; max(rowid) still reads
        f.seek(page * size)
        f.write(b"\\xff" * 8)
""")


@pytest.mark.parametrize("table", ["protocols", "proxy_code"])
def test_salvage_of_a_crafted_small_table_ends(tmp_path, table):
    """The session-67 fix reads the scores' index to step over damage; _scan(db, "protocols"/"proxy_code") still
    steps one rowid at a time from the damaged leaf up to the crafted 9e18 (salvage_store lines 339-340): `swapnas
    store salvage` of such a store never ends (a sound salvage of it takes ~2 s)."""
    src, dest = tmp_path / "s.sqlite", tmp_path / "new.sqlite"
    subprocess.run([sys.executable, "-c", _HANG_STORE, str(src), table], check=True, timeout=60)
    try:
        subprocess.run([sys.executable, "-m", "swapnas", "store", "salvage", str(src), "--out", str(dest)],
                       capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`swapnas store salvage` of a store with a crafted {table} table did not end in 20 s")


# ----------------------------------------------------------------- 2. restricted unpickler refuses protocol 5

def test_a_protocol_5_pickle_of_numpy_arrays_reads(tmp_path):
    """pickle.HIGHEST_PROTOCOL (5; Python 3.14's default) pickles an ndarray as numpy._core.numeric._frombuffer
    (numpy.core.numeric._frombuffer under numpy 1.x): _DataUnpickler refuses a user's own --image-root /
    --data-root pickle with "refused, as it could run code" (it cannot: it builds an array from bytes)."""
    from swapnas.bundle import read_pickle
    path = tmp_path / "data_batch_1"
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    path.write_bytes(pickle.dumps({"data": data, "labels": [0, 1]}, protocol=5))
    got = read_pickle(path, ("data", "labels"))
    assert (got["data"] == data).all() and got["labels"] == [0, 1]


# ----------------------------------------------------------------- 3. control characters still reach the terminal

def test_swapnas_warnings_show_no_escape_sequences():
    """callers.brief_warning prints swapnas's warnings raw: `correlate --store theirs.sqlite` whose proxy_code table
    records `params@<ESC…>` printed "… was used with its version ^[]0;pwned^G^[[2J; …" (code_changes.
    _warn_other_version; reproduced end to end in the report)."""
    from swapnas.callers import brief_warning
    from swapnas.proxies.code import ProxyCodeWarning
    out = io.StringIO()
    brief_warning(ProxyCodeWarning(f"proxy 'params': x.sqlite was used with its version {ESC}"), ProxyCodeWarning,
                  swapnas.__file__, 1, file=out)
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue(), repr(out.getvalue())


def test_a_truth_csv_task_name_prints_no_escape_sequences(tmp_path, capsys):
    """cli/commands._csv_task prints `--truth X has the tasks …` with the CSV's task values raw on stderr."""
    from swapnas.cli import main
    from swapnas.spaces import nb201
    rng = random.Random(0)
    lines = ["arch,accuracy,task"] + [f"{nb201.sample(rng)},{i},cifar10" for i in range(6)] \
        + [f"{nb201.sample(rng)},{i},x{ESC}" for i in range(6)]
    csv = tmp_path / "truth.csv"
    csv.write_text("\n".join(lines) + "\n")
    main(["correlate", "--space", "nb201", "--truth", str(csv), "--archs", "3", "--proxies", "params",
          "--data-dir", str(SMALL_BUNDLE), "--out", str(tmp_path / "out"), "--no-progress", "--batch-size", "4",
          "--repeats", "1"])
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\x07" not in out + err


def test_a_genotype_files_dataset_prints_no_escape_sequences(tmp_path, capsys):
    """`swapnas train --genotype result.json` prints "the genotype was found by a search on {dataset}" with the
    downloaded file's "dataset" string raw (recipe.searched_on)."""
    from swapnas.cli import main
    from swapnas.spaces import get_space
    geno = tmp_path / "result.json"
    geno.write_text(json.dumps({"space": "darts", "best": str(get_space("darts").sample(random.Random(0))),
                                "dataset": f"imagenet{ESC}"}))
    main(["train", "--genotype", str(geno), "--synthetic", "2", "--device", "cuda:97", "--out", str(tmp_path / "t")])
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\x07" not in out + err, err


# ----------------------------------------------------------------- 4. JSON nested past the limit: store rows

def test_a_deeply_nested_values_json_in_a_store_is_not_a_recursion_error(tmp_path):
    """ScoreStore.get json.loads a row's values_json unguarded: `swapnas correlate --store theirs.sqlite` on a store
    with such a row ended in a 50-line RecursionError traceback (exit 1), session.py _usable -> store.get."""
    from swapnas.store import Record, ScoreKey, ScoreStore
    key = ScoreKey("nb201", "a", "params@1", "fp", 0, 8, 1, "{}")
    with ScoreStore(tmp_path / "s.sqlite") as s:
        s.put(key, Record("ok", 1.0, 0.0, [1.0], 0.1, None, None))
    db = sqlite3.connect(tmp_path / "s.sqlite")
    db.execute("UPDATE scores SET values_json = ?", ("[" * 100_000 + "]" * 100_000,))
    db.commit()
    db.close()
    with ScoreStore(tmp_path / "s.sqlite") as s:
        try:
            s.get(key)
        except RecursionError:
            pytest.fail("a store row's values_json nested past Python's limit raised RecursionError")
        except ValueError:
            pass  # (a StoreError / ValueError naming the damage is what a damaged row should give)


# ----------------------------------------------------------------- 5. reserved names: rank()'s row keys

@pytest.mark.parametrize("name", ["model", "rank"])
def test_a_metric_named_like_a_rank_row_key_does_not_overwrite_it(scratch_registry, name):
    """check_name reserves results.csv's columns (arch, accuracy, params_m) but not rank()'s row keys: a metric named
    `model` replaced every row's model name ([{'model': 1.0, 'rank': 1}, {'model': 1.0, 'rank': 1}]); one named
    `rank` lost its values to the rank."""
    import torch
    from torch import nn
    from swapnas.proxies import registry
    try:
        registry.register(name)(lambda model, batch: 0.25)
    except ValueError:
        return  # refused by name: fine
    models = {"a": nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU()), "b": nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU())}
    rows = swapnas.rank(models, torch.randn(2, 3, 8, 8), [name])
    assert sorted(r["model"] for r in rows) == ["a", "b"], rows
    assert [r[name] for r in rows] == [0.25, 0.25], rows


# ----------------------------------------------------------------- 6/7. markdown writers

markdown_it = pytest.importorskip("markdown_it")


def _shown(md_source: str) -> str:
    """The text a GFM-like renderer shows for ``md_source`` (tags dropped, entities decoded)."""
    rendered = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(md_source)
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def _result(proxy: str, higher_is_better: bool = True):
    from swapnas.results import ProxyResult
    nan = float("nan")
    return ProxyResult(proxy, f"{proxy}@1", "nb201", "cifar10", 4, 0, 0.4, 0.33, (0.1, 0.9), nan, nan, 0.01,
                       higher_is_better)


def test_report_md_lower_is_better_line_shows_the_name_as_written():
    """run_notes escapes names in "Proxies as scored" (md_text) but not in "Lower is better for …" (nor CONSTANT,
    filled or saturated lines): a lower-is-better metric `__x__` is bold there."""
    from swapnas.report import correlation_report
    from swapnas.results import CorrelateRun
    protocol = {"space": "nb201", "dataset": "cifar10", "batch_size": 16, "repeats": 4, "seed": 0, "init": "gaussian",
                "bn_train": True, "net": {"C": 16, "N": 1}, "batch_digest": "c9d2889e331436c7", "inputs": "real",
                "fingerprint": "cb44128d80809eae"}
    prov = {"command": "swapnas correlate", "swapnas": "0.1.0", "source": "x", "torch": "2", "numpy": "2",
            "scipy": "1", "created_utc": "2026-01-01T00:00:00Z"}
    r = _result("__x__", higher_is_better=False)
    run = CorrelateRun(protocol, "GT", "", [r], {r.proxy: [1.0, 2.0, 3.0, 4.0]}, [1.0, 2.0, 3.0, 4.0],
                       ["a", "b", "c", "d"], 1.0)
    line = next(x for x in correlation_report(run, prov, []).splitlines() if x.startswith("- Lower is better"))
    assert "Lower is better for __x__:" in _shown(line), _shown(line)


def test_conformance_md_failure_lines_show_messages_as_written(tmp_path):
    """conformance.write_outputs calls failure_lines(run.results) without md_text: `<lambda>` is dropped as an HTML
    tag and `__init__` is bold in conformance.md (report.md and grid.md were mended, conformance.md not)."""
    from swapnas import conformance as conf
    row = conf.ConformanceRow("params", "params", 3, 1.0, 0.5, 0.5, 1, 0, 0.1, 0.1, True,
                              ["TypeError: <lambda> in __init__ failed"])
    run = conf.ConformanceRun(protocol={"space": "nb201", "dataset": "cifar10", "inputs": "real",
                                        "batch_digest": "abc", "batch_size": 8, "repeats": 1, "init": "default",
                                        "bn_train": True, "net": {"C": 4, "N": 1}, "seed": 0},
                              reference="REF", ground_truth="GT", batch_note="", device="cpu", wall_seconds=1.0,
                              results=[row], unsupported=[], archs=["a", "b", "c"], naslib_keys=["1", "2", "3"],
                              accuracy=[1.0, 2.0, 3.0], scores={}, naslib_scores={})
    conf.write_outputs(run, tmp_path / "conf")
    text = (tmp_path / "conf" / "conformance.md").read_text()
    line = next(x for x in text.splitlines() if x.startswith("- FAILED"))
    assert "TypeError: <lambda> in __init__ failed" in _shown(line), _shown(line)


@pytest.mark.parametrize("message", ["~~old~~ value", "a &lt;b&gt; &amp; c"])
def test_md_text_shows_tildes_and_entities_as_written(message):
    """md_text escapes `* _ < > [ \\ | ``` but not `~` (GFM strikethrough, also single tildes on GitHub: an NB201
    arch string's `~0|+|…~1` pairs) nor `&` (entity references are decoded)."""
    from swapnas.report import md_text
    assert _shown("- FAILED x: " + md_text(message)).strip() == "FAILED x: " + message


# ----------------------------------------------------------------- 8. LaTeX: the NFKD fallback is not escaped

@pytest.mark.parametrize("text", ["５０％", "＃1", "Ａ＆Ｂ", "x＿y"])
def test_latex_escape_of_fullwidth_characters_gives_no_raw_specials(text):
    """_beyond_ascii returns NFKD's ASCII unescaped: `５０％` -> `50%` (comments out the rest of the row), `＃1` ->
    `#1` (pdflatex: Illegal parameter number), `Ａ＆Ｂ` -> `A&B` (an extra column), `x＿y` -> `x_y` (math mode)."""
    from swapnas.latex import escape
    out = re.sub(r"\\[%#&_$]", "", escape(text))
    assert not re.search(r"[%#&_$]", out), escape(text)


@pytest.mark.parametrize("ch", ["ϟ", "ϛ", "ϡ"])
def test_latex_escape_of_archaic_greek_names_no_undefined_command(ch):
    """GREEK SMALL LETTER KOPPA/STIGMA/SAMPI/ARCHAIC SAMPI have four-word names: written `$\\koppa$`, `$\\stigma$`,
    `$\\sampi$` -- undefined in LaTeX (pdflatex stops: Undefined control sequence)."""
    from swapnas.latex import escape
    assert escape(ch) not in {r"$\koppa$", r"$\stigma$", r"$\sampi$"}, escape(ch)


# ----------------------------------------------------------------- 9. types: rank(frame=<bool>)

def test_rank_accepts_frame_as_a_bool_for_a_type_checker(tmp_path):
    """The overloads take frame=Literal[False] or Literal[True] only: `swapnas.rank(models, x, frame=as_frame)` with
    `as_frame: bool` is "No overload variant of "rank" matches" under mypy (it passed when rank was typed Any)."""
    api = pytest.importorskip("mypy.api")
    user = tmp_path / "user.py"
    user.write_text("import torch\nfrom torch import nn\nimport swapnas\n\n"
                    "def table(as_frame: bool) -> None:\n"
                    "    print(swapnas.rank({'a': nn.ReLU()}, torch.zeros(1), frame=as_frame))\n")
    out, err, code = api.run(["--python-version", "3.11", "--no-incremental", "--cache-dir", str(tmp_path / "c"),
                              str(user)])
    assert "No overload variant" not in out, out
