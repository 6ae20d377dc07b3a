"""Executors: the local one (in order, or with networks built ahead in a thread) and the process pool, same records as in order."""

from __future__ import annotations

import threading

import pytest
import torch

from swapnas import executor_local, executors
from swapnas.cli import main
from swapnas.executors import LocalExecutor, ScoreTask
from swapnas.session import configure, score_archs
from swapnas.proxies import get_proxy
from swapnas.spaces import nb201
from swapnas.store import ScoreStore
from tests.tiny_tasks import record_table, tiny_nb201_task

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def setup():
    return tiny_nb201_task("swap,swap_reg", batch_size=16, repeats=2, n_archs=24, seed=1)



@pytest.mark.slow  # > 5 s
def test_prefetch_gives_the_same_store_as_in_order(setup, tmp_path, monkeypatch) -> None:
    protocol, batch, proxies, archs = setup
    with ScoreStore(tmp_path / "a.sqlite") as store:
        plain = score_archs(archs, "nb201", proxies, protocol, batch, store, CPU, progress=False)
    builders = set()
    real = executor_local._prebuild

    def spy(*args):
        builders.add(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(executor_local, "_prebuild", spy)
    with ScoreStore(tmp_path / "b.sqlite") as store:
        # a third of the archs already have their swap record: the builder skips them
        score_archs(archs[::3], "nb201", proxies[:1], protocol, batch, store, CPU, progress=False)
        ahead = score_archs(archs, "nb201", proxies, protocol, batch, store, CPU, progress=False,
                            executor=LocalExecutor(prefetch=3))
    assert record_table(ahead) == record_table(plain)
    assert builders and all(name.startswith("swapnas-build") for name in builders)


def test_prefetch_stays_off_for_proxies_that_rebuild(setup, monkeypatch) -> None:
    protocol, batch, _, archs = setup
    _, _, proxies = configure("nb201", "cifar10", "swap,flops", batch_size=16, repeats=1, net={"C": 4, "N": 1},
                              inputs="synthetic")
    task = ScoreTask("nb201", tuple(proxies), batch, protocol)
    called = []
    monkeypatch.setattr(executor_local, "_prebuild", lambda *a: called.append(a))
    out = list(LocalExecutor(prefetch=2).score(task, CPU, [(a, {}) for a in archs[:3]]))
    assert not called and [a for a, _ in out] == archs[:3]


def test_prefetch_ignores_structural_proxies(setup, monkeypatch) -> None:
    """A structural proxy runs on a meta build whatever else it declares: it neither blocks the
    builder thread nor, alone, starts it."""
    from dataclasses import replace

    protocol, batch, _, archs = setup
    swap, params = get_proxy("swap"), replace(get_proxy("params"), keeps_model=False)
    called = []
    monkeypatch.setattr(executor_local, "_prebuild", lambda *a: called.append(a[2]))
    for proxies, want in (((swap, params), archs[:3]), ((params,), [])):
        called.clear()
        task = ScoreTask("nb201", proxies, batch, protocol)
        out = list(LocalExecutor(prefetch=2).score(task, CPU, [(a, {}) for a in archs[:3]]))
        assert called == want and [a for a, _ in out] == archs[:3]


def test_a_failing_build_is_recorded_like_in_order(setup, monkeypatch) -> None:
    protocol, batch, proxies, archs = setup
    real = nb201.build

    def build(arch, **kw):
        if arch == archs[1]:
            raise RuntimeError("cannot build this one")
        return real(arch, **kw)

    monkeypatch.setattr(nb201, "build", build)
    task = ScoreTask("nb201", tuple(p for p in proxies if p.base is None), batch, protocol)
    items = [(a, {}) for a in archs[:3]]
    plain = {str(a): r["swap"] for a, r in LocalExecutor().score(task, CPU, items)}
    ahead = {str(a): r["swap"] for a, r in LocalExecutor(prefetch=2).score(task, CPU, items)}
    assert [(r.status, r.values, r.error) for r in ahead.values()] == \
        [(r.status, r.values, r.error) for r in plain.values()]
    assert ahead[str(archs[1])].status == "failed" and "cannot build this one" in ahead[str(archs[1])].error


def test_prefetch_option_errors(small_bundle, tmp_path, capsys) -> None:
    with pytest.raises(ValueError, match="prefetch must be >= 0"):
        LocalExecutor(prefetch=-1)
    # nb301: a table the small bundle holds (its NB201 table is a subset, which NB201Benchmark refuses)
    base = ["correlate", "--space", "nb301", "--proxies", "swap", "--archs", "2", "--batch-size", "8",
            "--data-dir", str(small_bundle), "--out", str(tmp_path)]
    assert main([*base, "--executor", "ray", "--prefetch", "2"]) == 2
    assert "--prefetch applies to --executor local" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main([*base, "--prefetch", "-1"])
    assert exit_.value.code == 2 and "argument --prefetch: expected an integer >= 0" in capsys.readouterr().err


@pytest.mark.slow  # spawns two worker processes
def test_pool_gives_the_same_records_as_in_process(setup, tmp_path) -> None:
    protocol, batch, proxies, archs = setup
    with ScoreStore(tmp_path / "a.sqlite") as store:
        plain = score_archs(archs[:8], "nb201", proxies, protocol, batch, store, CPU, progress=False)
    with ScoreStore(tmp_path / "b.sqlite") as store, executors.PoolExecutor(2) as pool:
        # half the archs have their swap record already: the workers reuse it (derived swap_reg too)
        score_archs(archs[:8:2], "nb201", proxies[:1], protocol, batch, store, CPU, progress=False)
        pooled = score_archs(archs[:8], "nb201", proxies, protocol, batch, store, CPU, progress=False, executor=pool)
        again = score_archs(archs[4:8], "nb201", proxies, protocol, batch, store, CPU, progress=False, executor=pool)
    assert record_table(pooled) == record_table(plain)
    assert record_table(again) == {k: v[4:] for k, v in record_table(plain).items()}


def test_worker_defaults_and_errors(monkeypatch, small_bundle, tmp_path, capsys) -> None:
    from swapnas.cli.executor_options import default_workers

    monkeypatch.delenv("SWAPNAS_WORKERS", raising=False)
    assert default_workers(CPU) == executors.usable_cores() >= 1
    assert default_workers(torch.device("cuda")) == 1
    monkeypatch.setenv("SWAPNAS_WORKERS", "3")
    assert default_workers(CPU) == 3
    assert isinstance(executors.make_executor("local", workers=3), executors.PoolExecutor)
    assert isinstance(executors.make_executor("local", workers=1), LocalExecutor)
    monkeypatch.setenv("SWAPNAS_WORKERS", "many")
    with pytest.raises(ValueError, match=r"\$SWAPNAS_WORKERS must be an integer in 1\.\.1024"):
        default_workers(CPU)
    with pytest.raises(ValueError, match="workers, threads and chunk_size >= 1"):
        executors.PoolExecutor(0)
    base = ["correlate", "--space", "nb301", "--proxies", "swap", "--archs", "2", "--batch-size", "8",
            "--data-dir", str(small_bundle), "--out", str(tmp_path)]
    assert main([*base, "--executor", "ray", "--workers", "2"]) == 2
    assert "--workers applies to --executor local" in capsys.readouterr().err
    assert main([*base, "--workers", "2", "--prefetch", "1"]) == 2
    assert "--prefetch applies to one in-process worker" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main([*base, "--workers", "0"])
    assert exit_.value.code == 2 and "argument --workers: expected a positive integer" in capsys.readouterr().err
