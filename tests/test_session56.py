"""Session 56: items left as found in session 55 (each test fails on the code before its change)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import swapnas
from swapnas import cli
from swapnas.cli.args import EXIT_ERROR
from swapnas.files import out_lock, refuse_taken

_HOLD = """
import fcntl, sys, time
f = open(sys.argv[1], "a+")
fcntl.flock(f, fcntl.LOCK_EX)
f.truncate(0); f.write("4242 " + sys.argv[2]); f.flush()
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def held_out(tmp_path: Path):
    """An OUT whose lock another process holds (a plain flock, as :func:`swapnas.files.out_lock` takes it)."""
    if sys.platform == "win32":
        pytest.skip("the holder uses fcntl")
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(out / ".lock"), "search"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield out
    finally:
        proc.communicate("")


@pytest.mark.parametrize("argv", [
    ["correlate", "--space", "nb201", "--dataset", "cifar10", "--archs", "3", "--data-dir", "no_bundle"],
    ["grid", "--proxies", "params", "--archs", "3", "--data-dir", "no_bundle"],
    ["search", "--space", "nb201", "--dataset", "cifar10", "--data-dir", "no_bundle"],
    ["train", "--genotype", "no_such_genotype_file.txt", "--data-root", "no_images"],
])
def test_a_second_job_on_a_held_out_is_refused_before_its_inputs_load(held_out: Path, tmp_path: Path, capsys,
                                                                      monkeypatch, argv: list[str]) -> None:
    """Session 55 left as found: the refusal came after start-up (~10 s: benchmark, batch). The data (and train's
    genotype) here do not exist, so a command that loaded its inputs first would fail on them instead."""
    monkeypatch.chdir(tmp_path)
    rc = cli.main([*argv, "--out", str(held_out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == EXIT_ERROR
    assert f"another swapnas search is using {held_out} (pid 4242); wait for it or use another --out" in err
    assert (held_out / ".lock").read_text() == "4242 search"  # the holder's record is left as it was


def test_the_early_check_makes_nothing_and_passes_a_free_or_stale_out(tmp_path: Path) -> None:
    new = tmp_path / "new"
    refuse_taken(new, "correlate")
    assert not new.exists()  # no OUT made before the inputs are checked
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / ".lock").write_text("999999 grid")  # a killed job's file: no process holds it
    refuse_taken(stale, "correlate")
    assert (stale / ".lock").read_text() == "999999 grid"
    with out_lock(stale, "correlate"):  # and the real lock is still taken afterwards, then the check passes
        refuse_taken(stale, "correlate")  # the thread that holds it (re-entrant, as out_lock is)
        assert (stale / ".lock").read_text().endswith(" correlate")


def test_the_early_check_refuses_another_thread_of_this_process(tmp_path: Path) -> None:
    import threading
    out, got = tmp_path / "o", []
    with out_lock(out, "search"):
        def peek() -> None:
            try:
                refuse_taken(out, "correlate")
            except ValueError as exc:
                got.append(str(exc))
        t = threading.Thread(target=peek)
        t.start()
        t.join()
    assert len(got) == 1 and "another swapnas search is using" in got[0] and "another thread of this process" in got[0]


def test_a_shard_does_not_check_the_lock(held_out: Path) -> None:
    """Shards share OUT by design and take no lock: a shard beside a running job is not refused by the check."""
    from argparse import Namespace

    from swapnas.cli.commands import refuse_busy_out
    refuse_busy_out(Namespace(out=str(held_out), shard=(1, 2)), "correlate")
    with pytest.raises(ValueError, match="another swapnas search is using"):
        refuse_busy_out(Namespace(out=str(held_out), shard=None), "correlate")


def test_a_ctrl_c_outside_the_commands_handler_says_so(monkeypatch, capsys) -> None:
    """Session 55 left as found: a Ctrl-C that landed after a search wrote its outputs exited 130 without a word."""
    def finished_then_interrupted(argv: object = None) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "main", finished_then_interrupted)
    assert cli.command() == 130
    err = capsys.readouterr().err
    assert err == ("swapnas: interrupted; what was finished is kept: rerun the same command to resume or to check its "
                   "outputs\n")


def _wide() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 128, 1), nn.ReLU())


def test_a_warning_made_an_error_by_the_callers_filter_is_raised_as_itself() -> None:
    """Session 55 left as found: under ``-W error`` a SaturationWarning came back as UnsupportedModel ("swap could not
    score …: SaturationWarning: …"), so ``except SaturationWarning`` never caught it."""
    x = torch.randn(4, 3, 2, 2, generator=torch.Generator().manual_seed(0))  # S = 4 samples, 512 neurons (128 maps of 2×2): Ψ = 16 = 2**S, saturated
    with warnings.catch_warnings():
        warnings.simplefilter("error", swapnas.SaturationWarning)
        with pytest.raises(swapnas.SaturationWarning, match="100% of its ceiling"):
            swapnas.score(_wide(), x, ["swap"])
    with warnings.catch_warnings(record=True) as seen:  # the default filter: a score and the warning
        warnings.simplefilter("always")
        assert swapnas.score(_wide(), x, ["swap"]) == {"swap": 16.0}
    assert any(issubclass(w.category, swapnas.SaturationWarning) for w in seen)


def test_progress_bars_pick_the_notebook_bar_where_there_is_one() -> None:
    """Session 55 left as found: the scoring, search and size-prior bars were plain text in Jupyter (the training
    bars used ``tqdm.auto`` already): all take ``tqdm.auto``'s choice now (since session 65 through
    ``progress.Bar``, a subclass with a thread lock of its own)."""
    from tqdm.auto import tqdm

    import swapnas.search.driver
    import swapnas.search.final
    import swapnas.session
    import swapnas.train.loop
    from swapnas.progress import Bar
    assert issubclass(Bar, tqdm)
    for module in (swapnas.session, swapnas.search.driver, swapnas.search.final, swapnas.train.loop):
        assert module.Bar is Bar, module.__name__


def _naive_precision(score: list[float], truth: list[float], k: int) -> float:
    """Without ties: |top k by score ∩ top k by truth| / k, by sorting index lists."""
    by = sorted(range(len(score)), key=lambda i: -score[i])[:k]
    true = sorted(range(len(truth)), key=lambda i: -truth[i])[:k]
    return len(set(by) & set(true)) / k


def test_correlate_reports_p_at_10_percent_against_a_naive_count() -> None:
    """P@10% beside ρ (session 55 left as found: top-k precision was only in scripts/nb201_space_table.py)."""
    from swapnas.stats import correlate, top_k_precision
    rng = np.random.default_rng(3)
    truth = rng.normal(size=50)
    score = truth + rng.normal(scale=0.8, size=50)  # continuous: no ties
    c = correlate(score, truth)
    assert c.top10_precision == _naive_precision(list(score), list(truth), 5)
    assert 0 < c.top10_precision < 1  # (this draw: neither all nor none of the top 5 found)
    assert correlate(-score, truth, higher_is_better=False).top10_precision == c.top10_precision
    assert correlate(truth, truth).top10_precision == 1.0 and correlate(-truth, truth).top10_precision == 0.0
    nan_left_out = correlate(np.append(score, np.nan), np.append(truth, 99.0))  # a failed arch is not counted
    assert nan_left_out.top10_precision == c.top10_precision
    assert top_k_precision(score, truth, 0.1) == c.top10_precision
    with pytest.raises(ValueError, match="a fraction in"):
        top_k_precision(score, truth, 0.0)
    with pytest.raises(ValueError, match="one truth per score"):
        top_k_precision(score, truth[:3], 0.1)


def test_p_at_10_percent_in_the_table_and_the_report() -> None:
    from swapnas.report import results_table
    from swapnas.results import ProxyResult
    new = ProxyResult("swap", "swap@1", "nb201", "cifar10", 30, 0, 0.8, 0.6, (0.7, 0.9), 0.1, 0.5, 0.2, True,
                      top10_n=3, top10_precision=2 / 3)
    old = ProxyResult("params", "params@1", "nb201", "cifar10", 30, 0, 0.7, 0.5, (0.6, 0.8), 0.2, float("nan"), 0.01,
                      True, top10_n=3)  # read from a results.json of before session 56
    lines = results_table([new, old]).splitlines()
    head = lines[0].split()
    assert head[head.index("P@10%") - 2:head.index("P@10%") + 2] == ["top10%", "rho", "P@10%", "rho|params"]
    assert "0.100 (n=3)  0.667" in lines[2] and "0.200 (n=3)      -" in lines[3]
    assert "| 0.667 |" in results_table([new], markdown=True)


def test_compare_runs_compares_p_at_10_percent_where_both_runs_hold_it(tmp_path: Path, monkeypatch, capsys) -> None:
    from tests.test_report_scripts_gaps import _compare_files, _correlate_doc
    old, new = _correlate_doc(), _correlate_doc()
    new["results"] = [new["results"][0] | {"top10_precision": 0.5}]
    rc, lines = _compare_files(tmp_path, old, new, monkeypatch, capsys)  # a run of before session 56 beside a new one
    assert rc == 0
    assert "not compared  swap top10_precision: in one run only (added to the output since the other)" in lines
    other = _correlate_doc()
    other["results"] = [other["results"][0] | {"top10_precision": 0.25}]
    rc, lines = _compare_files(tmp_path, new, other, monkeypatch, capsys)
    assert rc == 1 and [x for x in lines if x.startswith("DIFFERENT  ")] == ["DIFFERENT  swap top10_precision: 0.5"]


# ---------------------------------------------------------------- LaTeX tables (session 55 left as found: none)

def test_latex_escape_typesets_every_special_character_as_itself() -> None:
    from swapnas.latex import escape
    assert escape("swap_reg 10% & #1 {a}~^$\\") == (r"swap\_reg 10\% \& \#1 \{a\}\textasciitilde{}"
                                                     r"\textasciicircum{}\$\textbackslash{}")
    assert escape("ρ|params — τ") == r"$\rho$$|$params --- $\tau$"
    assert escape("plain text, 1.5") == "plain text, 1.5"


def _cells(line: str) -> list[str]:
    import re
    return [c.strip() for c in re.split(r"(?<!\\)&", line.removesuffix(r" \\"))]


def test_the_correlate_latex_table_against_the_markdown_table() -> None:
    from swapnas.latex import correlate_table
    from swapnas.report import results_table
    from swapnas.results import ProxyResult
    results = [ProxyResult("swap_reg", "k", "nb201", "c100", 100, 0, 0.843, 0.674, (0.744, 0.907), -0.0302, 0.67,
                           0.58, True, top10_n=10, top10_precision=0.5),
               ProxyResult("params", "k", "nb201", "c100", 98, 2, 0.694, 0.525, (0.577, 0.784), 0.432, float("nan"),
                           0.03, True, top10_n=10, top10_precision=0.6)]
    tex = correlate_table(results, "swapnas correlate --archs 100")
    lines = tex.splitlines()
    assert lines[:3] == ["% made by: swapnas correlate --archs 100", r"\begin{tabular}{lrrrrrrr}", r"\toprule"]
    assert lines[3] == r"metric & $\rho$ & 95 \% CI & $\tau$ & top-10 \% $\rho$ & P@10 \% & $\rho$ $|$ \#params & n \\"
    assert lines[4] == r"\midrule" and lines[-2:] == [r"\bottomrule", r"\end{tabular}"] and tex.endswith("\n")
    rows = [_cells(x) for x in lines[5:7]]
    assert rows[0] == [r"swap\_reg", r"\textbf{0.843}", "[0.744, 0.907]", r"\textbf{0.674}", "$-0.030$", "0.500",
                       "0.670", "100"]
    assert rows[1] == ["params", "0.694", "[0.577, 0.784]", "0.525", r"\textbf{0.432}", r"\textbf{0.600}", "---", "98"]
    md = [_cells(x.strip("|").replace("|", "&")) for x in results_table(results, markdown=True).splitlines()[2:]]
    for row, want in zip(rows, md):  # the same numbers as report.md's table (its CI, n, and the ρ column)
        assert [c.replace(r"\textbf{", "").rstrip("}").strip("$") for c in row[1:3]] == [want[1], want[3]]
        assert row[7] == want[7]


def test_the_grid_latex_table_has_grid_mds_rows_order_and_bold_cells(tmp_path: Path) -> None:
    from swapnas.grid import write_grid
    from tests.test_grid_mutants import _column
    cols = [_column("cifar10", {"swap": 0.5, "params": 0.61, "zen": float("nan")}),
            _column("cifar100", {"swap": 0.7, "params": 0.4, "zen": 0.7})]
    write_grid(cols, tmp_path, "swapnas grid --archs 10")
    lines = (tmp_path / "grid.tex").read_text().splitlines()
    assert lines[0] == "% made by: swapnas grid --archs 10" and lines[1] == r"\begin{tabular}{lrrr}"
    body = [_cells(x) for x in lines[5:-2]]
    md = (tmp_path / "grid.md").read_text().splitlines()
    first = md.index("| metric | nb201/cifar10 | nb201/cifar100 | mean |")
    order = [x.split(" | ")[0][2:] for x in md[first + 2:first + 5]]
    assert [r[0] for r in body] == order == ["swap", "params", "zen"]  # by mean ρ, a missing cell as 0
    assert body == [["swap", "0.500", r"\textbf{0.700}", "0.600"], ["params", r"\textbf{0.610}", "0.400", "0.505"],
                    ["zen", "---", r"\textbf{0.700}", "0.700"]]  # ties both bold; the mean of the cells with ρ


def test_correlate_writes_results_tex_and_names_it(tmp_path: Path) -> None:
    from tests.test_correlate_mutants import _small_run
    from swapnas.correlation import write_outputs
    paths = write_outputs(_small_run([1.0, None, 2.5, 3.0]), tmp_path)
    tex = (tmp_path / "results.tex").read_text()
    assert paths[3] == tmp_path / "results.tex" and tex.count(r"\\") == 2 and "\\begin{tabular}" in tex
    assert "[results.tex](results.tex)" in (tmp_path / "report.md").read_text()
    with pytest.raises(ValueError, match="at least one row"):
        from swapnas.latex import tabular
        tabular(["a"], [])


def test_the_early_check_leaves_a_bad_out_to_the_commands_own_check(tmp_path: Path) -> None:
    """A name too long raised "File name too long" from the early check, before --out's own message (which names
    the flag) could say it (``tests/test_review21_cli.py``)."""
    refuse_taken(tmp_path / ("x" * 300), "correlate")  # no error here: out_folder's message names --out
    (tmp_path / "f").write_text("a file, not a folder")
    refuse_taken(tmp_path / "f", "correlate")


# ---------------------------------------------------------------- the session-56 audit of bad input


def test_export_refuses_to_replace_another_score_store(tmp_path: Path, capsys) -> None:
    """A standalone store (the README's --store runs/grid.sqlite) given as export's --out became a CSV file."""
    from tests.test_faults_store import _fake_store
    source, other = tmp_path / "a.sqlite", tmp_path / "grid.sqlite"
    _fake_store(source, 3)
    _fake_store(other, 2, tag="y")
    before = other.read_bytes()
    for fmt in ("csv", "naslib-zc"):
        assert cli.main(["export", str(source), "--format", fmt, "--out", str(other)]) == EXIT_ERROR
        assert (f"--out {other} is an SQLite database (a score store?), which the {fmt} export would replace: give a "
                "new file name for the export") in capsys.readouterr().err
    assert other.read_bytes() == before
    from swapnas.export import export  # refused by the library, not only by the command line
    with pytest.raises(ValueError, match="is an SQLite database"):
        export(source, other)
    assert cli.main(["export", str(source), "--out", str(tmp_path / "a.csv")]) == 0  # a new name is written


@pytest.mark.parametrize("argv", [
    ["correlate", "--space", "nb201", "--out", ""],
    ["grid", "--out", " "],
    ["search", "--space", "nb201", "--out", ""],
    ["train", "--genotype", "g.txt", "--out", ""],
    ["conformance", "--space", "nb201", "--out", ""],
    ["export", "s.sqlite", "--out", ""],
    ["store", "salvage", "s.sqlite", "--out", ""],
    ["correlate", "--space", "nb201", "--out", "o", "--store", ""],
    ["correlate", "--space", "nb201", "--out", "o", "--data-dir", ""],
])
def test_an_empty_path_is_refused_before_anything_is_written(tmp_path: Path, monkeypatch, capsys,
                                                            argv: list[str]) -> None:
    """``--out "$OUT"`` with OUT unset wrote a correlate's outputs and store into the current folder and exited 0;
    an empty --data-dir hid $SWAPNAS_DATA."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == EXIT_ERROR
    assert "expected a path, not an empty string (an unset shell variable?)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_json_gives_one_document_for_an_error_argparse_finds(capsys) -> None:
    """--json printed nothing on stdout when argparse refused an argument (a range, a choice, a missing flag)."""
    for argv, error in ((["--json", "correlate", "--archs", "0", "--out", "x"],
                         "swapnas correlate: argument --archs: --archs must be >= 1 (got 0)"),
                        (["correlate", "--json", "--bogus", "--out", "x"],  # (the command's, since session 64)
                         "swapnas correlate: unrecognized arguments: --bogus"),
                        (["--json", "corelate"], None)):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        out, err = capsys.readouterr()
        assert exc.value.code == EXIT_ERROR and "usage:" in err  # argparse's own lines, on stderr as before
        doc = json.loads(out)  # one document, nothing else on stdout
        assert doc["exit"] == EXIT_ERROR and (error is None or doc["error"] == error), doc
    with pytest.raises(SystemExit):
        cli.main(["correlate", "--archs", "0", "--out", "x"])
    assert capsys.readouterr().out == ""  # without --json: nothing on stdout


def test_store_check_json_of_a_damaged_store_is_one_document(tmp_path: Path, capsys) -> None:
    from tests.test_faults_store import _damage_page, _fake_store
    store = tmp_path / "scores.sqlite"
    _fake_store(store, 300)
    _damage_page(store, "x-arch-00150-", 0x0D)
    assert cli.main(["--json", "store", "check", str(store)]) == EXIT_ERROR
    out, err = capsys.readouterr()
    doc = json.loads(out)  # a second document on the next line made this fail
    assert doc["ok"] is False and doc["exit"] == EXIT_ERROR
    assert doc["error"].startswith(f"the score store {store} is damaged; restore it from a backup")
    assert err == f"swapnas: error: {doc['error']}\n"


def test_a_damaged_checkpoint_is_named_not_a_traceback(tmp_path: Path) -> None:
    """A text checkpoint raised IndexError (a traceback, exit 1), a cut one a bare "[Errno 22] Invalid argument"."""
    from swapnas.train.checkpoint import load_checkpoint
    ckpt = tmp_path / "checkpoint.pt"
    torch.save({"format": 0, "weights": torch.zeros(5000)}, ckpt)
    whole = ckpt.read_bytes()
    for content in (b"text\n", whole[:5000], whole[: len(whole) // 2]):
        ckpt.write_bytes(content)
        with pytest.raises(ValueError, match=f"{ckpt} is not a readable `swapnas train` checkpoint .*; use another "
                                             f"--out, or delete {ckpt} to start afresh"):
            load_checkpoint(ckpt)
    folder = tmp_path / "dir.pt"
    folder.mkdir()
    with pytest.raises(ValueError, match=f"{folder} is a folder, not a `swapnas train` checkpoint"):
        load_checkpoint(folder)


@pytest.mark.parametrize("flag, value, says", [
    ("--repeats", "99999999999999999999", "an integer in 1..10000, re-initialisations per arch"),
    ("--batch-size", "99999999999999999999", "an integer in 1..65536, samples per forward pass"),
    ("--cells", "99999999999999999999", "an integer in 1..1024"),
    ("--channels", "1025", "an integer in 1..1024"),
    ("--resolution", "100000", "an integer in 1..4096, pixels per side"),
    ("--threads", "99999999999999999999", "an integer in 1..1024, torch threads per process"),
    ("--prefetch", "99999999999999999999", "an integer in 0..1024, archs built ahead"),
    ("--workers", "99999", "an integer in 1..1024, scoring processes"),
])
def test_huge_sizes_are_refused_by_name(capsys, flag: str, value: str, says: str) -> None:
    """Session 56's audit: an SQLite OverflowError, a MemoryError, runs for hours, 99999 torch processes."""
    with pytest.raises(SystemExit) as exc:
        cli.main(["correlate", "--space", "nb201", "--out", "o", flag, value])
    assert exc.value.code == EXIT_ERROR
    assert f"argument {flag}: expected {says} (got {int(value)})" in capsys.readouterr().err
    ok = cli.build_parser().parse_args(["correlate", "--space", "nb201", "--out", "o", flag, "1"])
    assert getattr(ok, flag[2:].replace("-", "_")) == 1  # the floor still passes


def test_accept_code_refuses_an_empty_file_and_leaves_it(tmp_path: Path, capsys) -> None:
    """It answered "nothing recorded to accept" and made a 28 KB store of the empty file (check refuses it)."""
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert cli.main(["store", "accept-code", str(empty)]) == EXIT_ERROR
    assert f"{empty} is an empty file, not a score store" in capsys.readouterr().err
    assert empty.stat().st_size == 0


def test_a_net_key_and_its_shortcut_with_two_values_are_refused() -> None:
    """``--net C=8 --channels 16`` scored C=16 and ``--net N=2 --cells 3`` N=3, without a word."""
    from argparse import Namespace

    from swapnas.cli.commands import _net_overrides
    with pytest.raises(ValueError, match="--net C=8 and --channels 16 set one size two ways: give one of them"):
        _net_overrides(Namespace(net={"C": 8}, channels=16, cells=None, space="nb201"))
    with pytest.raises(ValueError, match="--net N=2 and --cells 3 set one size two ways"):
        _net_overrides(Namespace(net={"N": 2}, channels=None, cells=3, space="nb201"))
    same = _net_overrides(Namespace(net={"C": 8, "N": 2}, channels=8, cells=2, space="nb201"))
    assert same == {"C": 8, "N": 2}  # the same value both ways is no conflict
    assert _net_overrides(Namespace(net={"N": 1}, channels=4, cells=None, space="nb201")) == {"N": 1, "C": 4}
    with pytest.raises(ValueError, match="--cells is an nb201 shortcut; for darts set the network with --net KEY="):
        _net_overrides(Namespace(net={}, channels=None, cells=3, space="darts"))


def test_outputs_are_written_whole_even_with_a_name_in_another_encoding(tmp_path: Path, monkeypatch) -> None:
    """Under ``LC_ALL=C`` a non-ASCII --out reached the report as surrogates: "surrogates not allowed", no file named,
    a 0-byte report.md. Now the name's own bytes are written back, atomically."""
    import os

    from swapnas.correlation import write_outputs
    from swapnas.files import write_text
    from tests.test_correlate_mutants import _small_run
    path = tmp_path / "r.md"
    write_text(path, "a \udcff b — ρ")
    assert path.read_bytes() == b"a \xff b " + "— ρ".encode()
    if sys.platform != "win32":
        out = tmp_path / os.fsdecode(b"out\xe9")  # a Latin-1 name: surrogates in the str
        monkeypatch.setattr(sys, "argv", ["swapnas", "correlate", "--out", str(out)])
        write_outputs(_small_run([1.0, None, 2.5, 3.0]), out)
        assert os.fsencode(str(out)) in (out / "report.md").read_bytes()  # (shell-quoted in the command)
        assert os.fsencode(str(out)) in (out / "results.tex").read_bytes()


def test_more_cpu_workers_than_cores_are_warned_about(monkeypatch, caplog) -> None:
    """Session 56's audit: ``--workers 6`` on 2 cores took 18 s where 2 workers took 5 (and 99999 overloaded it)."""
    import logging

    from swapnas.cli import executor_options
    monkeypatch.setattr(executor_options, "usable_cores", lambda: 2)
    parse = cli.build_parser().parse_args
    with caplog.at_level(logging.WARNING, logger="swapnas.cli.executor_options"):
        plan = executor_options.executor_plan(parse(["correlate", "--out", "o", "--device", "cpu", "--workers", "6"]))
        assert plan[1]["workers"] == 6  # a warning, not a refusal: the user may know better
        executor_options.executor_plan(parse(["correlate", "--out", "o", "--device", "cpu"]))  # 2 × 1 thread: quiet
        executor_options.executor_plan(parse(["correlate", "--out", "o", "--device", "cpu", "--workers", "1",
                                              "--threads", "2"]))  # 1 × 2: quiet
    assert [r.getMessage() for r in caplog.records] == [
        "6 scoring workers × 1 torch thread(s) on 2 usable core(s): each worker is a torch process, and more of them "
        "than cores only share the cores (slower, more memory); give --workers 2"]


def test_merge_and_salvage_still_report_after_the_one_document_check(tmp_path: Path, capsys) -> None:
    """The one-document change read ``args.store``, which merge (sources, --into) has not (a CI failure)."""
    from tests.test_faults_store import _fake_store
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    _fake_store(a, 2)
    _fake_store(b, 2, tag="y")
    assert cli.main(["--json", "store", "merge", str(a), str(b), "--into", str(tmp_path / "m.sqlite")]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 4
