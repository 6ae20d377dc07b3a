"""Session 70 mutation testing (helper `mutants`, 116 hand-made mutants of the session's lines: 85 killed by the tests
as they were, 3 equivalent, 28 gaps): tests that kill the gaps. Each passes on f1b2d43 and fails on the mutant named
in its docstring."""
from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from swapnas import scoring
from swapnas.store import Record

from .script_tools import load_perf
from .test_session70 import stale_store_runs


# ----------------------------------------------------------------------------- scoring.py: seconds and peaks


class _Peaks:
    """A stand-in PeakMemory reporting the next of ``peaks`` for each block (records the device it was given)."""

    def __init__(self, peaks: list[int | None]):
        self.peaks, self.devices = list(peaks), []

    def __call__(self, device):  # type: ignore[no-untyped-def]
        self.devices.append(device)
        outer = self

        class _Block:
            peak_bytes = None

            def __enter__(self):  # type: ignore[no-untyped-def]
                return self

            def __exit__(self, *exc):  # type: ignore[no-untyped-def]
                self.peak_bytes = outer.peaks.pop(0)

        return _Block()


def _base_run(monkeypatch: pytest.MonkeyPatch, peaks: list[int | None], sleep: float = 0.0, repeats: int = 3):
    nets = [torch.nn.Linear(1, 1) for _ in range(repeats)]
    monkeypatch.setattr(scoring, "_repeat_nets", lambda *a, **k: iter(nets))
    monkeypatch.setattr(scoring, "forward_rng", lambda *a, **k: contextlib.nullcontext())
    fake = _Peaks(peaks)
    monkeypatch.setattr(scoring, "PeakMemory", fake)

    def fn(model, batch):  # type: ignore[no-untyped-def]
        time.sleep(sleep)
        return 1.0

    values: list[float] = []
    p = SimpleNamespace(fn=fn, options={})
    out = scoring._base_values(p, "arch", None, SimpleNamespace(num_classes=10), None, torch.device("cpu"), None,
                               None, values)
    return out, values, fake


def test_a_base_metrics_seconds_are_every_repeats_passes_summed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant S01 (``seconds = …`` for ``seconds += …``: the last repeat's pass alone)."""
    (seconds, _), values, _ = _base_run(monkeypatch, [1, 2, 3], sleep=0.05, repeats=3)
    assert values == [1.0, 1.0, 1.0] and seconds >= 0.15


def test_a_base_metrics_peak_is_the_largest_of_its_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutants S02 (the last pass's peak), S03 (``min``) and S15 (peak starting at 0, not None)."""
    assert _base_run(monkeypatch, [100, 300, 200])[0][1] == 300
    assert _base_run(monkeypatch, [500, 300, 200])[0][1] == 500
    assert _base_run(monkeypatch, [None, 7, None])[0][1] == 7
    assert _base_run(monkeypatch, [None, None, None])[0][1] is None  # unknown: None, not 0


def test_a_base_metrics_peak_is_read_on_the_scoring_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant S14 (PeakMemory of the CPU whatever the device)."""
    nets = [torch.nn.Linear(1, 1)]
    monkeypatch.setattr(scoring, "_repeat_nets", lambda *a, **k: iter(nets))
    monkeypatch.setattr(scoring, "forward_rng", lambda *a, **k: contextlib.nullcontext())
    fake = _Peaks([5])
    monkeypatch.setattr(scoring, "PeakMemory", fake)
    dev = torch.device("meta")
    scoring._base_values(SimpleNamespace(fn=lambda m, b: 1.0, options={}), "a", None, SimpleNamespace(num_classes=10),
                         None, dev, None, None, [])
    assert fake.devices == [dev]


SLOW = 0.2


def _slow_structure() -> torch.nn.Module:
    time.sleep(SLOW)
    return torch.nn.Linear(2, 2)


def test_a_structural_metrics_seconds_leave_its_build_out() -> None:
    """Mutant S08 (the build timed with the metric): a structural metric's seconds are its own step's."""
    p = SimpleNamespace(fn=lambda model, batch: float(sum(t.numel() for t in model.parameters())), options={})
    rec = scoring._score_structural(p, _slow_structure, None, SimpleNamespace(repeats=2), torch.device("cpu"))
    assert rec.ok and rec.values == [6.0, 6.0] and rec.seconds < SLOW / 2


def test_a_failed_structural_metrics_seconds_are_the_wall_time_until_it_failed() -> None:
    """Mutant S07 (a failure's seconds from after the build): the docstring says the wall time until it failed."""
    def fail(model, batch):  # type: ignore[no-untyped-def]
        raise RuntimeError("no")

    rec = scoring._score_structural(SimpleNamespace(fn=fail, options={}), _slow_structure, None,
                                    SimpleNamespace(repeats=1), torch.device("cpu"))
    assert not rec.ok and rec.seconds >= SLOW


def _ok(values: list[float], seconds: float) -> Record:
    return Record("ok", sum(values) / len(values), 0.0, values, seconds, None, None)


def test_a_derived_metrics_seconds_are_all_its_bases_plus_its_step() -> None:
    """Mutant S13 (``max`` of the bases' seconds for their sum): a derived metric of two bases."""
    p = SimpleNamespace(base_names=["a", "b"], base=("a", "b"), fn=lambda vs, model: vs[0] + vs[1], options={})
    rec = scoring._score_derived(p, [_ok([1.0], 2.0), _ok([2.0], 3.0)], lambda: torch.nn.Linear(1, 1))
    assert rec.ok and rec.values == [3.0] and 5.0 <= rec.seconds < 5.0 + SLOW / 2
    failed = Record("failed", None, None, [], 3.0, None, "boom")
    rec = scoring._score_derived(p, [_ok([1.0], 2.0), failed], lambda: torch.nn.Linear(1, 1))
    assert not rec.ok and rec.seconds == 5.0


def test_a_derived_metric_whose_step_fails_counts_its_bases_seconds() -> None:
    """Mutant S12 (a failure of the derived step itself: its bases' seconds dropped)."""
    def broken() -> torch.nn.Module:
        raise RuntimeError("cannot build")

    p = SimpleNamespace(base_names=["a"], base="a", fn=lambda v, model: v, options={})
    rec = scoring._score_derived(p, [_ok([1.0], 4.0)], broken)
    assert not rec.ok and 4.0 <= rec.seconds < 4.0 + SLOW / 2 and "cannot build" in rec.error


def test_a_derived_metrics_seconds_leave_the_structures_build_out() -> None:
    """(S11, the build timed with the derived step; also killed by the session's swap_prog test.)"""
    p = SimpleNamespace(base_names=["a"], base="a", fn=lambda v, model: v, options={})
    rec = scoring._score_derived(p, [_ok([1.0], 1.0)], _slow_structure)
    assert rec.ok and 1.0 <= rec.seconds < 1.0 + SLOW / 2


# ----------------------------------------------------------------------------- memory.py


def test_a_cuda_peaks_source_is_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant M13 (``source`` "heap" for a CUDA block): the docstring says ``"cuda"``."""
    from swapnas.memory import PeakMemory

    for name, value in (("synchronize", None), ("memory_allocated", 10), ("reset_peak_memory_stats", None),
                        ("max_memory_allocated", 30)):
        monkeypatch.setattr(torch.cuda, name, lambda device=None, _v=value: _v)
    with PeakMemory(torch.device("cuda", 0)) as m:
        pass
    assert m.source == "cuda" and m.peak_bytes == 20


# ----------------------------------------------------------------------------- search: driver, state, final


def test_a_second_stage_with_one_re_score_left_returned_its_pick() -> None:
    """Mutant D02 (``all`` for ``any``): one re-score failed, another did not, the stage chose."""
    from swapnas.search.driver import stage_scored

    assert stage_scored({"shortlist": [{"refined": float("-inf")}, {"refined": 2.0}]})
    assert not stage_scored({"shortlist": [{"refined": float("-inf")}, {"refined": None}]})
    assert not stage_scored(None) and not stage_scored({"shortlist": []})


def test_a_fitness_of_a_million_is_written_whole() -> None:
    """Mutant D03 (``> 1e6``): exactly a million was "1e+06"."""
    from swapnas.search.driver import fitness_text

    assert fitness_text(1e6) == "1000000" and fitness_text(-1e6) == "-1000000" and fitness_text(999999.4) == "999999"


def test_exact_m_drops_trailing_zeros_and_a_bare_point() -> None:
    """Mutants X02 (``"2."``) and X03 (``"0.500000"``)."""
    from swapnas.search.final import exact_m

    assert [exact_m(x) for x in (2.0, 0.5, 0.073306, 1.5315464)] == ["2", "0.5", "0.073306", "1.531546"]


def test_the_mappings_seconds_and_the_second_stages_are_kept_apart(tmp_path: Path) -> None:
    """Mutant T04 (the mapping saved under "stage2"): a search with both a second stage and --target-params saved
    one over the other, and a rerun reported its own seconds for both."""
    from swapnas.search.state import _saved_seconds, timed_mapping

    state = tmp_path / "state.json"
    state.write_text("{}")
    mapping = {"target_m": 0.5, "mu": 1.0, "seconds": 2.0}
    assert _saved_seconds(state, "stage", 1.0) == 1.0
    assert timed_mapping(state, mapping)["seconds"] == 2.0
    assert _saved_seconds(state, "stage", 7.0) == 1.0  # a rerun: the first process's
    assert timed_mapping(state, {**mapping, "seconds": 9.0})["seconds"] == 2.0
    assert timed_mapping(state, {**mapping, "mu": 3.0, "seconds": 9.0})["seconds"] == 9.0  # another mapping: its own
    assert timed_mapping(state, None) is None and timed_mapping(state, {"a": 1}) == {"a": 1}


# ----------------------------------------------------------------------------- conformance, store_tools


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="(any platform; kept simple)")
def test_conformance_records_the_threads_it_scored_with(tmp_path: Path) -> None:
    """Mutant E09 (conformance.json's provenance without ``threads``)."""
    from swapnas import conformance

    run = SimpleNamespace(device="cpu")
    prov = {}

    def fake_prov(device, threads=None):  # type: ignore[no-untyped-def]
        prov.update(device=device, threads=threads)
        raise RuntimeError("stop here")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(conformance, "provenance", fake_prov)
        with pytest.raises(RuntimeError, match="stop here"):
            conformance.write_outputs(run, tmp_path / "conf")
    assert prov == {"device": "cpu", "threads": torch.get_num_threads()}


def test_a_store_of_one_mib_is_written_in_mib() -> None:
    """Mutant K01 (``>`` for ``>=``): 1 MiB exactly read "1024.0 KiB"."""
    from swapnas.store_tools import StoreCheck, check_text

    assert check_text(StoreCheck("s.sqlite", 2**20, [])).endswith("| 1.0 MiB")
    assert check_text(StoreCheck("s.sqlite", 2**20 - 52, [])).endswith("| 1023.9 KiB")


# ----------------------------------------------------------------------------- report.py: scatter titles


def _result(n: int, failures: int = 0, spearman: float = float("nan")):  # type: ignore[no-untyped-def]
    from swapnas.results import ProxyResult

    return ProxyResult(proxy="m", key="m@1", space="nb201", dataset="cifar10", n=n, failures=failures,
                       spearman=spearman, kendall=float("nan"), spearman_ci=(float("nan"), float("nan")),
                       top10_spearman=float("nan"), spearman_given_params=float("nan"), seconds_per_arch=0.1,
                       higher_is_better=True)


def test_a_scatter_title_says_why_rho_is_undefined() -> None:
    """Mutants R05 (three archs called "fewer than 3"), R07 (a constant ground truth unsaid) and R04 (failures
    "not drawn" where nothing is drawn)."""
    import numpy as np

    from swapnas.report import _left_out

    three = np.array([1.0, 1.0, 1.0])
    assert _left_out(_result(3), three, np.array([1.0, 2.0, 3.0])) == "; ρ undefined: one score for every arch"
    assert _left_out(_result(4), np.array([1.0, 2.0, 3.0, 4.0]), np.full(4, 5.0)) == \
        "; ρ undefined: one ground truth for every arch"
    assert _left_out(_result(2, failures=1), np.array([1.0, 2.0]), np.array([1.0, 2.0])) == \
        ", 1 failed (not drawn); ρ undefined: fewer than 3 archs"
    assert _left_out(_result(0, failures=3), np.array([]), np.array([])) == ""
    assert _left_out(_result(5, spearman=0.5), np.arange(5.0), np.arange(5.0)) == ""


# ----------------------------------------------------------------------------- perf/peak_memory.py



def _fake_store(path: Path, rows: list[tuple[str, int | None]]) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE scores (proxy TEXT, peak_mem_bytes INTEGER)")
        db.executemany("INSERT INTO scores VALUES (?, ?)", rows)
        db.commit()


def test_perf_peak_memory_counts_each_metrics_peaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Mutants P01 (an earlier invocation's store kept: its scores read back), P02 (a 4 KiB peak not counted as
    nothing), P03 (the min as the median) and P04 (``swap`` matching ``swap_reg@…`` rows)."""
    pm = load_perf("peak_memory")
    work = tmp_path / "w"
    seen, run = stale_store_runs(work / "this", lambda out: _fake_store(out / "scores.sqlite", [
        ("swap@1", 4096), ("swap@1", 3 * 2**20), ("swap@1", 2**20), ("swap_reg@1", 9 * 2**20), ("params@1", None)]))

    monkeypatch.setattr(pm.subprocess, "run", run)
    monkeypatch.setattr(sys, "argv", ["peak_memory.py", "--data-dir", "x", "--work", str(work), "--proxies",
                                      "swap,params"])
    pm.main()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| this")]
    assert seen == [False]
    assert rows == ["| this | swap | 3 | 1 | 0.00 | 1.00 | 3.00 |"]


# ----------------------------------------------------------------------------- search: write_result, the bar

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"


def _stage_result(refined: float):  # type: ignore[no-untyped-def]
    from swapnas.search.result import SearchResult

    refine = {"k": 1, "repeats": 1, "batch_size": 20, "net": {"C": 16, "N": 5},
              "shortlist": [{"arch": BEST, "fitness": 13.02, "refined": refined}]}
    return SearchResult("nb201", "cifar10", BEST, 13.02, 1.073, 153.3, 1, 0, 1.0, 0,
                        {"population": 5, "sample": 5, "mutations": 5, "cycles": 0, "crossover": 0.5}, {}, None,
                        None, None, {"max_params_m": None, "max_macs_m": None},
                        [{"evaluation": 1, "cycle": 0, "arch": BEST, "fitness": 13.02}],
                        [{"evaluations": 1, "cycle": 0, "best": 13.02, "population_mean": 13.02,
                          "population_min": 13.02}], fitness_proxy="swap_nb201@1", refine=refine)


def test_the_curve_is_called_the_first_stages_only_where_the_second_stage_chose(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant D13 (``stage = bool(result.refine)``): every re-score failed, the first stage's arch and fitness are
    returned, yet the curve was titled ", first stage" with a "second stage's pick" marker."""
    from swapnas.search import driver

    calls = []

    def curve(snapshots, history, path, title="", label="fitness", returned=None):  # type: ignore[no-untyped-def]
        calls.append((title, returned))
        return path

    monkeypatch.setattr(driver, "search_curve", curve)
    monkeypatch.setattr(driver, "draw_cells", lambda cells, path, caption="": path)
    driver.write_result(_stage_result(float("-inf")), tmp_path, "cpu", 1)
    driver.write_result(_stage_result(14.5), tmp_path, "cpu", 1)
    (failed_title, failed_mark), (chose_title, chose_mark) = calls
    assert "first stage" not in failed_title and failed_mark is None
    assert chose_title.endswith(", first stage") and chose_mark == BEST


def test_the_search_bar_counts_each_cycle_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant D11 (an update before the postfix as well as after): the bar counted 16/8 cycles."""
    import io
    import re

    from swapnas.proxies import get_proxy
    from swapnas.search import EAConfig, Evolution
    from swapnas.search.driver import Fitness, evolve
    from swapnas.spaces import nb201

    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    ea = Evolution(nb201, EAConfig(population=4, sample=2, mutations=2, cycles=8), 0)

    def score(archs):  # type: ignore[no-untyped-def]
        return [Record("ok", float(len(str(a))), 0.0, [], 0.0, None, None) for a in archs]

    evolve(ea, score, Fitness(get_proxy("params"), nb201, {}, 10), tmp_path / "state.json", {}, progress=True)
    draws = [d for d in re.split(r"[\r\n]", log.getvalue()) if "cycle=" in d]
    assert draws and "cycle=8/8" in draws[-1], draws
    done = re.search(r"\| (\d+)/(\d+) \[", draws[-1])  # (a bar past its total drops it: "18step")
    assert done and done.group(1) == done.group(2), draws


# ----------------------------------------------------------------------------- report.search_curve read back


def test_a_search_curve_read_back_from_json_counts_what_it_leaves_out(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutants R02 (the means not drawn left uncounted), R12 and R13 (a failed evaluation's -inf, null in a
    result.json read back, not taken as -inf: a TypeError)."""
    from swapnas import report

    figs = []
    monkeypatch.setattr(report, "save_figure", lambda fig, path: figs.append(fig) or path)
    history = [{"evaluation": i + 1, "cycle": 0, "arch": f"a{i}", "fitness": f}
               for i, f in enumerate([1.0, None, 2.0, 3.0])]
    snapshots = [{"evaluations": 3, "population_mean": None}, {"evaluations": 4, "population_mean": 2.0},
                 {"evaluations": 4, "population_mean": 2.5}]
    report.search_curve(snapshots, json.loads(json.dumps(history)), tmp_path / "c.png")
    (fig,) = figs
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "evaluated (1 failed, not drawn)" in legend
    assert "population mean (1 with a failed member not drawn)" in legend


# ----------------------------------------------------------------------------- scripts/nb201_iso_sizes.py


def test_nb201_iso_sizes_counts_a_table_entry_equal_to_another_archs_built_size(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Mutant N02 (an exact match left out of "within 1,000 parameters of the built size of an arch of their
    class"): C's table entry is D's built size to the parameter."""
    import csv
    import runpy

    from swapnas.search.final import final_net
    from swapnas.spaces import nb201

    c = "|none~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"
    d = "|none~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|none~2|"
    final = final_net("nb201", "cifar10")
    d_size = nb201.final_params(nb201.parse(d), final)
    assert d_size is not None and d_size != nb201.final_params(nb201.parse(c), final)
    (tmp_path / "nb201").mkdir()
    with open(tmp_path / "nb201" / "nb201_all_15625.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["index", "arch_str", "params_M_c10"])
        w.writerows([(0, c, f"{d_size / 1e6:.6f}"), (1, d, f"{d_size / 1e6:.6f}")])
    script = Path(scoring.__file__).resolve().parents[2] / "scripts" / "nb201_iso_sizes.py"
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path)])
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out.strip().endswith(
        "1 archs whose params_M_c10 differs from the built size, 1 of them within 1,000 parameters of the built size "
        "of an arch of their class")
