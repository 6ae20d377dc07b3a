"""Session-23 review of the perf scripts: what they measure, as the docs and the GPU run need it.

The scripts are loaded from perf/ by path; their heavy parts (data, scoring, the clock) are replaced by
fakes, so every test checks behaviour in well under a second, never a timing.
"""

from __future__ import annotations

import contextlib
import random
import re
import sys
import types
from collections import Counter

import pytest
import torch

from swapnas.spaces import nb201
from swapnas.store import Record
from tests.script_tools import PERF, FakeClock, load_perf


def _fake_sweep(monkeypatch: pytest.MonkeyPatch, seconds_per_arch: float = 0.001, start: float = 0.0) -> dict:
    """nb201_sweep with every heavy part faked; returns what it saw: the archs we scored (in calls), the
    archs scored the authors' way, the fake clock. The first call also costs ``start`` seconds (a pool's start)."""
    mod = load_perf("nb201_sweep")
    seen: dict = {"ours": [], "calls": 0, "sizes": [], "authors": [], "clock": FakeClock()}

    def score_archs(archs, space, proxies, protocol, batch, store, device, progress=False, executor=None):
        seen["ours"] += list(archs)
        seen["calls"] += 1
        seen["sizes"].append(len(archs))
        seen["clock"].now += seconds_per_arch * len(archs) + (start if seen["calls"] == 1 else 0.0)
        return {"swap": [Record("ok", 7.0, 0.0, [7.0], 0.0, None, None) for _ in archs]}

    monkeypatch.setattr(mod, "configure", lambda *a, **k: (None, types.SimpleNamespace(inputs=torch.zeros(1)), []))
    monkeypatch.setattr(mod, "score_archs", score_archs)
    monkeypatch.setattr(mod, "ScoreStore", lambda path: contextlib.nullcontext())
    monkeypatch.setattr(mod, "build_scored_net", lambda build, arch, *a: arch)
    monkeypatch.setattr(mod, "authors_style", lambda arch, x: seen["authors"].append(arch) or 7)
    monkeypatch.setattr(mod, "time", seen["clock"])
    seen["main"] = mod.main
    return seen


def _run_sweep(monkeypatch: pytest.MonkeyPatch, seen: dict, *argv: str) -> None:
    monkeypatch.setattr(sys, "argv", ["nb201_sweep.py", "--device", "cpu", *argv])
    seen["main"]()


def test_sweep_authors_subset_of_the_whole_space_is_a_random_draw(monkeypatch, capsys):
    """The GPU run scores all 15,625 archs and the authors'-style scorer its first 300: in product order those
    all have 'none' on the first two edges (half their ops 'none', a fifth of them convs), so the speed-up
    compared the authors' cost on cheap archs with ours on the whole space. They must be a random draw."""
    seen = _fake_sweep(monkeypatch)
    _run_sweep(monkeypatch, seen, "--archs", str(nb201.NUM_ARCHS), "--authors-archs", "300")
    assert sorted(map(str, seen["ours"])) == sorted(map(str, nb201.all_archs()))  # still the whole space, once each
    ops = Counter(op for a in seen["authors"] for op in a.ops)
    assert len(seen["authors"]) == 300
    assert ops["none"] / sum(ops.values()) < 0.3  # 0.2 expected at random; 0.51 in product order
    assert seen["authors"] == seen["ours"][:300]  # the first archs we scored, so both scored each of them
    assert "identical scores on 300/300 archs" in capsys.readouterr().out


def test_sweep_sample_of_the_space_is_unchanged(monkeypatch):
    """--archs N < 15,625 keeps drawing random.Random(0).sample, so the documented CPU figures' archs stay."""
    seen = _fake_sweep(monkeypatch)
    _run_sweep(monkeypatch, seen, "--archs", "100", "--authors-archs", "30")
    assert seen["ours"] == random.Random(0).sample(list(nb201.all_archs()), 100)
    assert seen["authors"] == seen["ours"][:30]
    assert seen["calls"] == 1  # no budget: one score_archs call, as documented


def test_sweep_budget_stops_between_chunks_and_reports_the_rate(monkeypatch, capsys):
    """Under `timeout`, a sweep that runs long printed nothing; --budget stops scoring before the next chunk
    would pass it, then prints the rate over the archs scored (and scores the authors' way among those)."""
    seen = _fake_sweep(monkeypatch, seconds_per_arch=0.02)  # 15,625 archs would take 312.5 s
    _run_sweep(monkeypatch, seen, "--archs", str(nb201.NUM_ARCHS), "--authors-archs", "300", "--budget", "100")
    done = len(seen["ours"])
    assert 0 < done < nb201.NUM_ARCHS and seen["calls"] > 1
    assert done * 0.02 <= 100  # no chunk was started that would end past the budget
    assert seen["authors"] == seen["ours"][:300]
    out = capsys.readouterr().out
    assert f"for {done} archs = 20.00 ms/arch" in out
    assert f"{done} of {nb201.NUM_ARCHS} archs" in out and "budget" in out


def _sizes(script: str, small: bool) -> dict[str, str]:
    """The NAME=value settings of a GPU script's full (or SMALL=1) branch."""
    text = (PERF / script).read_text()
    branch = re.search(r'if \[ "\$\{SMALL:-0\}" = 1 \]; then\n(.*?)\nelse\n(.*?)\nfi', text, re.DOTALL)
    assert branch is not None
    return dict(re.findall(r"(\w+)=(\d+)", branch.group(1 if small else 2)))


def _timeouts(script: str, small: bool) -> list[tuple[int, str]]:
    """(seconds, command line) of each `timeout` in a GPU script, for the full (or SMALL=1) sizes."""
    env = _sizes(script, small)
    lines = re.sub(r"\\\n\s*", " ", (PERF / script).read_text()).splitlines()
    return [(int(env.get(m.group(1).strip('"$'), m.group(1))), line)
            for line in lines if (m := re.match(r'\s*timeout ("\$\w+"|\d+) ', line))]


def test_gpu_search_sweep_fits_one_device_call():
    """The GPU script runs unattended as one command of at most 600 s: its steps' time limits must add up to
    less, and each sweep must stop itself (--budget) well before its `timeout` kills it without output."""
    steps = _timeouts("gpu_search_sweep.sh", small=False)
    assert len(steps) == 8
    assert sum(s for s, _ in steps) <= 560
    env = _sizes("gpu_search_sweep.sh", small=False)
    sweeps = [(s, line) for s, line in steps if "nb201_sweep.py" in line]
    assert len(sweeps) == 3
    for limit, line in sweeps:
        budget = re.search(r'--budget "\$(\w+)"', line)
        assert budget is not None, line
        assert 0 < int(env[budget.group(1)]) <= limit - 20, line


def test_sweep_with_a_pool_takes_its_rate_after_the_pools_start(monkeypatch, capsys):
    """With --workers W the first chunk (2 per worker) holds the pool's start: a probe of 8 per worker follows
    whatever it cost, then chunks of CHUNK while they end within the budget at the rate after the first chunk, and
    that rate is printed beside the end-to-end one."""
    seen = _fake_sweep(monkeypatch, seconds_per_arch=0.01, start=9.0)  # 9 s of start: an end-to-end projection stops
    _run_sweep(monkeypatch, seen, "--archs", str(nb201.NUM_ARCHS), "--authors-archs", "0", "--workers", "4",
               "--budget", "20")
    mod = load_perf("nb201_sweep")
    assert seen["sizes"][:2] == [8, 32] and set(seen["sizes"][2:]) == {mod.CHUNK}
    done = sum(seen["sizes"])
    assert 9.0 + 0.01 * done <= 20 < 9.0 + 0.01 * (done + mod.CHUNK)  # every chunk that fits, and no more
    out = capsys.readouterr().out
    assert "workers 4" in out
    assert f"pool start and the first 8 archs: 9.1 s; after them {done - 8} archs at 100.0 archs/s" in out


def test_sweep_with_a_pool_stops_after_its_start_when_that_took_the_budget(monkeypatch, capsys):
    seen = _fake_sweep(monkeypatch, seconds_per_arch=0.01, start=25.0)
    _run_sweep(monkeypatch, seen, "--archs", "500", "--authors-archs", "0", "--workers", "2", "--budget", "20")
    assert seen["sizes"] == [4]
    assert "budget reached: 4 of 500 archs scored" in capsys.readouterr().out


def test_gpu_throughput_fits_half_a_device_session():
    """perf/gpu_throughput.sh's time limits: one command of at most 450 s (half a session's 15 device-minutes,
    beside the machine's start and a rerun of part of it), each sweep stopping itself (--budget) well before its
    limit."""
    env = _sizes("gpu_throughput.sh", small=False)
    text = (PERF / "gpu_throughput.sh").read_text()
    workers = re.search(r'WORKERS="([\d ]+)"', text.split("else", 1)[1])
    assert workers is not None
    sweeps = 2 + len(workers.group(1).split())  # 2a, 2b and one per worker count (sweep() carries the limit)
    total = (int(env["COST_TO"]) + sweeps * int(env["SWEEP_TO"]) + int(env["MPS_TO"]) + int(env["SEARCH_TO"])
             + int(env["POOL_TO"]))
    assert total <= 450
    assert int(env["BUDGET"]) <= int(env["SWEEP_TO"]) - 20
    assert "--budget 15" in text and int(env["MPS_TO"]) - 15 >= 20
    assert 'echo quit | nvidia-cuda-mps-control' in text  # the daemon is stopped after its step
