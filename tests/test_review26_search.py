"""Session 26's fresh-machine walkthrough: what `swapnas search` takes by default."""

from __future__ import annotations

import json
from pathlib import Path

import swapnas
from swapnas.cli import main

TINY = ["--fitness", "swap_ext", "--population", "3", "--sample", "2", "--mutations", "1", "--cycles", "1",
        "--device", "cpu", "--batch-size", "16", "--net", "resolution=8", "--no-progress"]


def test_a_flexibert_search_without_dataset_searches_glue(small_bundle: Path, tmp_path: Path, capsys) -> None:
    """Before: --dataset defaulted to cifar10 for every space, so `--space flexibert` alone stopped with
    'unknown dataset cifar10' (search_arch("flexibert") too)."""
    code = main(["search", "--space", "flexibert", *TINY, "--data-dir", str(small_bundle), "--out", str(tmp_path / "s")])
    assert code == 0, capsys.readouterr().err
    result = json.loads((tmp_path / "s" / "result.json").read_text())
    assert result["dataset"] == "glue" and "glue_score" in result["extra"]
    found = swapnas.search_arch("flexibert", out=tmp_path / "api", fitness="swap_ext", population=3, sample=2,
                                mutations=1, cycles=1, device="cpu", batch_size=16, net={"resolution": 8},
                                no_progress=True, data_dir=str(small_bundle))
    assert found.best == result["best"]


def test_nb201_and_darts_still_default_to_cifar10() -> None:
    from swapnas.cli import build_parser

    args = build_parser().parse_args(["search", "--out", "x"])
    assert args.dataset is None  # resolved per space when the search starts
    from swapnas.spaces import get_space
    assert [next(iter(get_space(s).FINAL_NETS)) for s in ("nb201", "darts", "flexibert")] == ["cifar10", "cifar10",
                                                                                                 "glue"]


def test_report_md_says_what_the_printout_says_about_a_stopped_search(small_bundle: Path, tmp_path: Path,
                                                                      capsys) -> None:
    """Before: report.md left out that --max-evals had stopped the search, and the size prior."""
    out = tmp_path / "stopped"
    code = main(["search", "--space", "nb201", "--fitness", "swap_prog", "--population", "4", "--sample", "2",
                 "--cycles", "5", "--max-evals", "5", "--refine", "0", "--device", "cpu", "--data-dir",
                 str(small_bundle), "--out", str(out), "--no-progress", "--mu", "300", "--sigma", "80"])
    assert code == 0, capsys.readouterr().err
    printed, report = capsys.readouterr().out, (out / "report.md").read_text()
    note = "stopped after cycle 1 of 5 by --max-evals"  # (the flag that stopped it: session 61)
    assert note in printed and f"**Note:** {note}" in report
    assert "size prior mu=300 sigma=80" in printed and "Size prior of the fitness: mu=300 sigma=80." in report
    assert main(["search", "--space", "nb201", "--fitness", "swap_prog", "--population", "4", "--sample", "2",
                 "--cycles", "5", "--refine", "0", "--device", "cpu", "--data-dir", str(small_bundle), "--out",
                 str(out), "--no-progress", "--mu", "300", "--sigma", "80"]) == 0  # resumed to the end: no note
    assert "**Note:**" not in (out / "report.md").read_text()
