"""Session 68 audit of what an output records of how it was made (each test failed on the code as found): scores
reused from a store that records other code, the code outside a git checkout, train's thread count, the command a
Python call records."""
from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import pytest
import torch

from swapnas.cli import main
from tests.conftest import SMALL_BUNDLE

FAST = ["--space", "nb301", "--dataset", "cifar10", "--archs", "5", "--batch-size", "8", "--repeats", "1",
        "--seed", "0", "--workers", "1", "--no-progress", "-q"]


def _size_a(model, batch) -> float:
    """Parameters of the scored network (the code of the first run)."""
    return float(sum(p.numel() for p in model.parameters()))


def _size_b(model, batch) -> float:
    """Parameters of the scored network, doubled (the same name and version, edited code)."""
    return 2.0 * float(sum(p.numel() for p in model.parameters()))


def test_outputs_record_that_reused_scores_were_made_by_other_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   scratch_registry) -> None:
    """A correlate on a store whose scores were made by edited code (the same version) reused them with a
    ProxyCodeWarning on the terminal alone: results.json and report.md named this code's commit and nothing else."""
    from swapnas import code_changes
    from swapnas.proxies.registry import _REGISTRY, register

    store, outs = tmp_path / "s.sqlite", []
    for i, fn in enumerate((_size_a, _size_b)):
        monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())  # a new process
        _REGISTRY.pop("prov_probe", None)  # the same name and version, edited between the two runs
        register("prov_probe", version="1", keeps_model=True, structural=True, multi_input=True)(fn)
        out = tmp_path / f"o{i}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert main(["correlate", *FAST, "--proxies", "prov_probe", "--data-dir", str(SMALL_BUNDLE),
                         "--store", str(store), "--out", str(out)]) == 0
        outs.append(json.loads((out / "results.json").read_text()))
    first, second = outs
    assert second["scores"] == first["scores"] and second["reused_archs"] == 5  # the first code's numbers, reused
    assert first["reused_from_other_code"] == {}
    recorded = second["reused_from_other_code"]
    assert list(recorded) == ["prov_probe@1"]
    report = (tmp_path / "o1" / "report.md").read_text()
    assert f"the store records other code than this run's for prov_probe@1 (recorded {recorded['prov_probe@1']})" \
        in report


def test_other_code_names_each_proxy_base_and_network_whose_record_differs(tmp_path: Path) -> None:
    """The names an output records: a metric, the base it derives from (swap_reg's swap) and the space's networks,
    each where the store's record is not the running code's, read anew on each call (the warnings say it once per
    process)."""
    from swapnas.code_changes import other_code
    from swapnas.proxies import get_proxy
    from swapnas.proxies.code import code_digest, modules_digest
    from swapnas.spaces import network_modules
    from swapnas.store import ScoreStore

    with ScoreStore(tmp_path / "s.sqlite") as store:
        proxies = [get_proxy("swap_reg"), get_proxy("params")]
        assert other_code(store, proxies, "nb201", "1") == {}  # records nothing: nothing to say
        store.accept_code("swap@1", "0" * 16)
        store.accept_code("params@1", code_digest(get_proxy("params").fn))
        store.accept_code("net:nb201@1", modules_digest(network_modules("nb201")))
        assert list(other_code(store, proxies, "nb201", "1")) == ["swap@1"]
        store.accept_code("net:nb201@1", "1" * 16)
        assert list(other_code(store, proxies, "nb201", "1")) == ["net:nb201@1", "swap@1"]
        assert list(other_code(store, proxies, "nb201", "1")) == ["net:nb201@1", "swap@1"]  # again: not once only
        assert other_code(store, proxies, "toy", "1") == {"swap@1": other_code(store, proxies, "nb201", "1")["swap@1"]}


def test_provenance_identifies_the_code_outside_a_git_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wheel, a `pip install .`, a copied tree: `source` was left out and `swapnas` is 0.1.0 for every state of the
    code, so runs of different code recorded identical provenance; ``code`` digests the package's source files."""
    import hashlib

    import swapnas
    from swapnas import results

    monkeypatch.setattr(results, "_git", lambda *a: None)  # not a checkout
    results.source_revision.cache_clear()
    try:
        prov = results.provenance("cpu")
    finally:
        results.source_revision.cache_clear()
    assert "source" not in prov
    root, naive = Path(swapnas.__file__).parent, hashlib.sha256()
    for f in sorted(root.rglob("*.py"), key=lambda f: str(f.relative_to(root))):
        naive.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    assert prov["code"] == naive.hexdigest()[:16]


def test_train_records_torchs_thread_count(tmp_path: Path) -> None:
    """`swapnas train` on a CPU gave another train_loss with OMP_NUM_THREADS=1 and 2 (the sums' order) and identical
    result.json files but for times: the thread count is recorded."""
    from swapnas.train import run_train

    g = ("Genotype(normal=[('skip_connect', 0), ('skip_connect', 1), ('skip_connect', 0), ('skip_connect', 1), "
         "('skip_connect', 0), ('skip_connect', 1), ('skip_connect', 0), ('skip_connect', 1)], normal_concat=[2, 3, 4, "
         "5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), "
         "('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, "
         "5])")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        result = run_train(g, out=tmp_path / "t", synthetic=8, epochs=1, C=4, layers=2, batch_size=4, seed=3,
                           device="cpu", progress=False)
    finally:
        torch.set_num_threads(before)
    assert result["provenance"]["threads"] == 1
    assert json.loads((tmp_path / "t" / "result.json").read_text())["provenance"]["threads"] == 1


def test_the_command_recorded_for_a_python_call_is_a_runnable_shell_line() -> None:
    """`swapnas search … (run by swapnas.search_arch in script.py)`: pasted into bash, a syntax error at `(`; the call
    is now a comment after the command."""
    from swapnas.results import command_line, run_as

    with run_as(["search", "--space", "nb201", "--out", "runs/x y", "--seed=1"], "swapnas.search_arch"):
        command = command_line()
    assert command.startswith("swapnas search --space nb201 --out 'runs/x y' --seed=1  # run by swapnas.search_arch")
    done = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
    assert done.returncode == 0, (command, done.stderr)


def test_a_search_says_which_reused_fitness_values_other_code_made() -> None:
    """A search that reused fitness values from a store recording other code said so on the terminal alone; its
    result.json records the names and its printout and report.md say it."""
    from swapnas.search.driver import search_notes
    from swapnas.search.result import SearchResult

    def result(**over: object) -> SearchResult:
        return SearchResult(space="nb201", dataset="cifar10", best="x", fitness=1.0, params_m=1.5, macs_m=220.0,
                            evaluations=12, cycles=40, wall_seconds=1.0, seed=0, config={"cycles": 40}, protocol={},
                            mu=None, sigma=None, size_mapping=None, constraints={}, history=[], snapshots=[],
                            fitness_proxy="swap@1", **over)  # type: ignore[arg-type]

    assert search_notes(result(reused=12)) == []
    assert search_notes(result(reused=12, reused_from_other_code={"swap@1": "2026-12-07 23:10+00:00"})) == [
        "12 fitness value(s) were reused from the store, which records other code than this run's for swap@1 "
        "(recorded 2026-12-07 23:10+00:00): see the run's ProxyCodeWarning or NetworkCodeWarning"]


def test_provenance_records_the_environment_swapnas_reads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Two runs of one command line under another $SWAPNAS_DATA (another bundle: other numbers) recorded the same
    provenance; the settings read from the environment are recorded, a path under the home folder as ~/…, unset or
    blank ones left out."""
    from swapnas.results import ENVIRONMENT, provenance

    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    assert "environment" not in provenance()
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SWAPNAS_DATA", str(tmp_path / "bundle b"))
    monkeypatch.setenv("SWAPNAS_WORKERS", " 2 ")
    monkeypatch.setenv("RAY_ADDRESS", " ")
    monkeypatch.setenv("XDG_DATA_HOME", "relative")
    assert provenance()["environment"] == {"SWAPNAS_DATA": "~/bundle b", "XDG_DATA_HOME": "relative",
                                           "SWAPNAS_WORKERS": "2"}


def test_every_environment_variable_swapnas_reads_is_recorded_or_changes_no_number() -> None:
    """The names :data:`ENVIRONMENT` records are those the package reads, but for the malloc settings (memory only)."""
    import re

    import swapnas
    from swapnas.results import ENVIRONMENT

    read = set()
    for f in Path(swapnas.__file__).parent.rglob("*.py"):
        read |= set(re.findall(r"os\.environ(?:\.get)?[\[(]\"([A-Z_]+)\"", f.read_text(encoding="utf-8")))
    assert read - {"SWAPNAS_MALLOC_PAD_MIB", "GLIBC_TUNABLES"} == set(ENVIRONMENT) - {"SWAPNAS_DATA"}


def test_grid_records_scores_reused_from_other_code(tmp_path: Path) -> None:
    """(Session 68's review) correlate and search recorded reused scores other code made; grid.json and grid.md did
    not."""
    import sqlite3

    argv = ["grid", "--benchmarks", "nb301", "--tasks", "cifar10", "--proxies", "params", "--archs", "4",
            "--data-dir", str(SMALL_BUNDLE), "--store", str(tmp_path / "g.sqlite"), "--no-progress", "-q"]
    assert main([*argv, "--out", str(tmp_path / "g1")]) == 0
    with sqlite3.connect(tmp_path / "g.sqlite") as db:
        db.execute("UPDATE proxy_code SET digest = 'deadbeef' WHERE proxy = 'params@1'")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([*argv, "--out", str(tmp_path / "g2")]) == 0
    (first,), (second,) = (json.loads((tmp_path / g / "grid.json").read_text())["columns"] for g in ("g1", "g2"))
    assert first["other_code"] == {} and list(second["other_code"]) == ["params@1"]
    assert "the store records other code than this run's for params@1" in (tmp_path / "g2" / "grid.md").read_text()
