"""What the shell scripts behind the documented full-space and re-run figures run, and in which order: each script is
run with a stand-in ``swapnas`` first on PATH that logs its arguments (and writes an output where asked), so no arch is
scored (session 49; their commands' flags are checked in test_doc_commands.py)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # subprocesses

FAKE = """#!/usr/bin/env bash
# log one line per call, in one write (shards run side by side): the arguments, tab-separated; fail when one is $FAIL_ON
line=$(printf '%s\\t' "$@"); echo "$line" >> "$FAKE_LOG"
for a in "$@"; do [ -n "${FAIL_ON:-}" ] && [ "$a" = "$FAIL_ON" ] && exit 1; done
prev=""; for a in "$@"; do [ "$prev" = "--out" ] && mkdir -p "$a" && echo '{}' > "$a/results.json"; prev=$a; done
exit 0
"""


def _run(tmp_path: Path, script: str, *args: str, cwd: Path | None = None,
         **env: str) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "swapnas"
    fake.write_text(FAKE)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.log"
    log.write_text("")
    proc = subprocess.run(["bash", str(ROOT / script), *args], cwd=cwd or tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(log), **env})
    return proc, [line.rstrip("\t").split("\t") for line in log.read_text().splitlines()]


def _flag(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


def test_anchor_runs_score_every_shard_then_read_them_all_per_dataset(tmp_path: Path) -> None:
    proc, calls = _run(tmp_path, "scripts/nb201_anchor_runs.sh", "D", "S.sqlite", "O",
                       SHARDS="2", STEPS="full", DATASETS="cifar10 cifar100")
    assert proc.returncode == 0, proc.stderr
    assert len(calls) == 6
    for ds, block in (("cifar10", calls[:3]), ("cifar100", calls[3:])):
        shards, merge = block[:2], block[2]  # the two shards run side by side: either may log first
        assert sorted(_flag(c, "--shard") for c in shards) == ["0/2", "1/2"]
        assert all(_flag(c, "--workers") == "1" and _flag(c, "--out").startswith(f"O/full_{ds}_shard") for c in shards)
        assert "--shard" not in merge and _flag(merge, "--out") == f"O/full_{ds}"
        for c in block:  # one protocol for all: the NB201 fitness protocol, every score into the one store
            assert c[:2] == ["correlate", "--space"] and _flag(c, "--dataset") == ds
            assert (_flag(c, "--proxies"), _flag(c, "--archs"), _flag(c, "--store")) == ("best", "all", "S.sqlite")
            assert (_flag(c, "--init"), _flag(c, "--repeats"), _flag(c, "--seed")) == ("default", "1", "0")
            assert "--allow-failures" in c and _flag(c, "--data-dir") == "D"


def test_anchor_runs_steps_and_sample_sizes(tmp_path: Path) -> None:
    # no shards: step 1 is one run; anchors on the 1000-arch sample; vkdnw on 1000 archs for CIFAR-10, 100 otherwise
    proc, calls = _run(tmp_path, "scripts/nb201_anchor_runs.sh", "D", "S", "O",
                       DATASETS="cifar10 imagenet16-120", FULL="az_nas")
    assert proc.returncode == 0, proc.stderr
    outs = [(_flag(c, "--out"), _flag(c, "--proxies"), _flag(c, "--archs")) for c in calls]
    assert outs == [("O/full_cifar10", "az_nas", "all"), ("O/anchors_cifar10", "best,swap,az_nas", "1000"),
                    ("O/vkdnw_cifar10", "vkdnw_agg,best", "1000"),
                    ("O/full_imagenet16-120", "az_nas", "all"),
                    ("O/anchors_imagenet16-120", "best,swap,az_nas", "1000"),
                    ("O/vkdnw_imagenet16-120", "vkdnw_agg,best", "100")]
    # a subset of the steps, the last one skipped: the script still ends 0
    proc, calls = _run(tmp_path, "scripts/nb201_anchor_runs.sh", "D", "S", "O", STEPS="anchors", DATASETS="cifar10")
    assert proc.returncode == 0 and [_flag(c, "--out") for c in calls] == ["O/anchors_cifar10"]


def test_anchor_runs_stop_at_a_failed_run_and_name_their_missing_arguments(tmp_path: Path) -> None:
    proc, calls = _run(tmp_path, "scripts/nb201_anchor_runs.sh", "D", "S", "O", DATASETS="cifar10 cifar100",
                       FAIL_ON="O/anchors_cifar10")
    assert proc.returncode == 1 and [_flag(c, "--out") for c in calls] == ["O/full_cifar10", "O/anchors_cifar10"]
    proc, calls = _run(tmp_path, "scripts/nb201_anchor_runs.sh", "D", "S")
    assert proc.returncode != 0 and "out dir" in proc.stderr and calls == []


def test_rerun_documented_runs_each_job_once_and_reports_a_failure_without_stopping(tmp_path: Path) -> None:
    out = str(tmp_path / "rr")  # run from the repo root, as documented (it calls python scripts/compare_runs.py)
    proc, calls = _run(tmp_path, "scripts/rerun_documented.sh", cwd=ROOT, OUT=out, DATA="D", FAIL_ON="nb101")
    # every job ran (the failed one too), each into its own folder of OUT; the failure is named, the status is 1
    assert [(c[0], _flag(c, "--space")) for c in calls] == [("correlate", "nb201"), ("correlate", "nb101"),
                                                             ("correlate", "darts_swap"), ("search", "nb201")]
    assert [_flag(c, "--out") for c in calls] == [f"{out}/{n}" for n in ("readme_c100", "best_nb101",
                                                                          "best_darts_swap", "search_c10_seed8")]
    assert all("--no-progress" in c and _flag(c, "--data-dir") == "D" for c in calls)
    assert proc.returncode == 1 and f"FAILED  best_nb101 (exit 1; see {out}/best_nb101.log)" in proc.stderr
    assert "rerun_documented: some runs failed or differed" in proc.stderr
    done = sorted(p.parent.name for p in (tmp_path / "rr").glob("*/done"))
    assert done == ["best_darts_swap", "readme_c100", "search_c10_seed8"]  # a marker only after a finished run
    # a second call re-runs only the job that failed
    proc, calls = _run(tmp_path, "scripts/rerun_documented.sh", cwd=ROOT, OUT=out, DATA="D")
    assert [_flag(c, "--out") for c in calls] == [f"{out}/best_nb101"]
