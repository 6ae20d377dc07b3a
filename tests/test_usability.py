"""What a user meets: help, global flags, --quiet/--json, validated flags, exit codes, outputs
(results.csv, report.md, provenance), export, --truth FILE.csv, where the data is found."""

from __future__ import annotations

import argparse
import csv
import json
import re
import sqlite3
import subprocess
import sys

import pytest

from swapnas.bundle import resolve_data_dir, user_data_dir
from swapnas.cli import build_parser, main
from swapnas.cli.args import EXIT_FAILED_ARCHS
from swapnas.proxies import register

#: a cheap correlate run on the small bundle (NB301: a table the fixture holds whole)
def _run(small_bundle, out, *extra: str) -> list[str]:
    return ["correlate", "--space", "nb301", "--proxies", "swap,params", "--archs", "6", "--batch-size", "8",
            "--data-dir", str(small_bundle), "--out", str(out), "--no-progress", *extra]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_help_shows_defaults_an_example_and_help_for_every_flag() -> None:
    for name, sub in _subparsers().items():
        text = sub.format_help()
        assert "example:" in text and f"swapnas {name}" in text.split("example:")[1], name
        assert "%%" not in text, name
        bare = [a.option_strings for a in sub._actions if a.option_strings and not a.help]
        assert bare == [], f"{name}: options without help: {bare}"
    correlate = _subparsers()["correlate"].format_help()
    assert re.search(r"--archs ARCHS\s+number of archs .*\(default:\s+1000\)", correlate, re.S)


def test_global_flags_before_or_after_the_subcommand(small_bundle, tmp_path) -> None:
    parser = build_parser()
    after = parser.parse_args(_run(small_bundle, tmp_path) + ["-v", "--quiet"])
    before = parser.parse_args(["-v", "--json", *_run(small_bundle, tmp_path)])
    assert after.verbose and after.quiet and not after.json
    assert before.verbose and before.json and not before.quiet


def test_numeric_flags_are_validated(capsys, tmp_path) -> None:
    for argv, message in ((["correlate", "--batch-size", "0"], "expected a positive integer (got 0)"),
                          (["correlate", "--repeats", "-1"], "expected a positive integer (got -1)"),
                          (["search", "--population", "0"], "expected a positive integer (got 0)"),
                          (["search", "--cycles", "-2"], "expected an integer >= 0 (got -2)")):
        with pytest.raises(SystemExit) as exit_:
            main([*argv, "--out", str(tmp_path)])
        assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_json_quiet_and_the_outputs(small_bundle, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(_run(small_bundle, out, "--json")) == 0
    doc = json.loads(capsys.readouterr().out)  # stdout is one JSON document and nothing else
    assert [r["proxy"] for r in doc["results"]] == ["swap", "params"]
    assert doc["provenance"]["swapnas"] and doc["provenance"]["command"] and doc["provenance"]["created_utc"]
    assert main(_run(small_bundle, out, "--quiet")) == 0
    quiet = capsys.readouterr().out.strip().splitlines()
    assert len(quiet) == 1 and quiet[0].startswith("wrote ")
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["arch"] for r in rows] == doc["archs"]
    assert [float(r["swap"]) for r in rows] == doc["scores"]["swap"]
    report = (out / "report.md").read_text()
    assert "| proxy | spearman | kendall |" in report and "| swap |" in report and "| params |" in report
    links = re.findall(r"\]\(([^)]+)\)", report)
    assert {"scatter_swap.png", "scatter_params.png", "results.json", "results.csv"} <= set(links)
    assert all((out / link).is_file() for link in links)


@pytest.fixture
def failing_proxy(scratch_registry):
    @register("always_fails_test", version="1")
    def always_fails(model, batch) -> float:
        raise RuntimeError("this proxy always fails")

    return "always_fails_test"


def test_failed_archs_exit_3_unless_allowed(small_bundle, tmp_path, capsys, failing_proxy) -> None:
    argv = _run(small_bundle, tmp_path)
    argv[argv.index("swap,params")] = f"params,{failing_proxy}"
    assert main(argv) == EXIT_FAILED_ARCHS
    captured = capsys.readouterr()
    assert "FAILED always_fails_test (6 archs in all" in captured.out and "exit 3" in captured.err
    assert (tmp_path / "results.json").is_file()  # written before the exit code
    assert main([*argv, "--allow-failures"]) == 0


def test_export_csv_and_naslib_layout(small_bundle, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(_run(small_bundle, out)) == 0
    store = out / "scores.sqlite"
    n = sqlite3.connect(store).execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    assert main(["export", str(store), "--format", "csv", "--out", str(tmp_path / "s.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert len(rows) == n == 12 and {r["proxy"].split("@")[0] for r in rows} == {"swap", "params"}
    assert main(["export", str(store), "--format", "naslib-zc", "--out", str(tmp_path / "zc.json")]) == 0
    zc = json.loads((tmp_path / "zc.json").read_text())
    assert list(zc["darts"]) == ["cifar10"]  # NASLib's zc files are keyed by dataset
    archs = zc["darts"]["cifar10"]
    assert len(archs) == 6 and all(set(v) == {"swap", "params"} and "score" in v["swap"] for v in archs.values())
    assert all(k.startswith("[[") for k in archs)  # NASLib's compact NB301 keys
    assert main(["export", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "x.csv")]) == 2
    assert "no score store at" in capsys.readouterr().err


def test_truth_csv_over_a_space(small_bundle, tmp_path, capsys) -> None:
    truth = small_bundle / "darts" / "swap_darts_dev300.csv"
    argv = ["correlate", "--space", "darts", "--truth", str(truth), "--proxies", "params", "--archs", "all",
            "--batch-size", "8", "--data-dir", str(small_bundle), "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    doc = json.loads((tmp_path / "results.json").read_text())
    rows = list(csv.DictReader(truth.open()))
    assert doc["ground_truth"].startswith(str(truth)) and "'cifar10_accuracy'" in doc["ground_truth"]
    assert "'genotype'" in doc["ground_truth"] and len(doc["archs"]) == len(rows)
    acc = {r["genotype"]: float(r["cifar10_accuracy"]) for r in rows}
    assert sorted(doc["accuracy"]) == sorted(acc.values())
    capsys.readouterr()
    assert main([*argv, "--accuracy-column", "nope"]) == 2
    assert "--accuracy-column nope: no such numeric column in --truth" in capsys.readouterr().err
    assert main(["correlate", "--space", "darts", "--data-dir", str(small_bundle), "--out", str(tmp_path)]) == 2
    assert "give --truth FILE.csv" in capsys.readouterr().err


def test_data_dir_flag_then_env_then_user_default(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SWAPNAS_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with pytest.raises(FileNotFoundError, match="pass --data-dir DIR, set \\$SWAPNAS_DATA, or put the bundle at"):
        resolve_data_dir(None)
    user_data_dir().mkdir(parents=True)
    assert resolve_data_dir(None) == tmp_path / "xdg" / "swapnas" / "data"
    monkeypatch.setenv("SWAPNAS_DATA", str(tmp_path))
    assert resolve_data_dir(None) == tmp_path
    assert resolve_data_dir(str(tmp_path / "xdg")) == tmp_path / "xdg"


@pytest.mark.slow  # a subprocess
def test_python_m_swapnas() -> None:
    out = subprocess.run([sys.executable, "-m", "swapnas", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("swapnas ")


def test_own_image_folder_opens_only_the_drawn_files(tmp_path, monkeypatch) -> None:
    import numpy as np
    from PIL import Image

    from swapnas import data

    rng = np.random.default_rng(0)
    files = []
    for c in ("cat", "dog", "eel"):
        (tmp_path / c).mkdir()
        for i in range(7):
            f = tmp_path / c / f"{i}.png"
            Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(f)
            files.append((f, ("cat", "dog", "eel").index(c)))
    opened = []
    real_open = data.Image.open
    monkeypatch.setattr(data.Image, "open", lambda f, *a: opened.append(f) or real_open(f, *a))
    batch = data.load_batch("cifar10", 5, image_root=tmp_path, seed=2, num_classes=3, resolution=16,
                            mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    assert len(opened) == 5 and batch.num_classes == 3 and tuple(batch.inputs.shape) == (5, 3, 16, 16)
    # the same images, in the same order, as opening every file and drawing from them
    order = np.random.default_rng(2).permutation(len(files))[:5]
    want = [np.asarray(real_open(files[i][0]).convert("RGB").resize((16, 16)), dtype=np.float32) / 255 for i in order]
    got = batch.inputs.permute(0, 2, 3, 1).numpy() * 0.25 + 0.5
    assert np.allclose(got, np.stack(want), atol=1e-5)
    assert batch.targets.tolist() == [files[i][1] for i in order]
    with pytest.raises(ValueError, match="need --image-root"):
        data.load_batch("cifar10", 5, num_classes=3)
