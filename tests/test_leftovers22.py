"""Leftovers of session 22, each pinned by a test that failed before its fix.

- FlexiBERT had no ``smallest_arch``, so ``swapnas search --space flexibert --max-macs`` below every final
  network was refused only after 1000 draws with a final-network size check each; it is now refused up front.
- Under Ray a task whose node died (``NodeDiedError``) stopped the whole run; it now costs its arch(s) failure
  records, as a crashed worker does.
- ``swapnas grid --archs N`` above a column's arch count scored all of that column's archs without a word; it now
  says so once per such column (the column's n, in grid.json, grid.md and the heat map, was already the true one).
"""

from __future__ import annotations

import random

import pytest

from swapnas.spaces import flexibert as fx
from tests.tiny_tasks import record_table, tiny_nb201_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: a small final network (16 tokens): the op ordering by MACs does not depend on the length, since the only
#: length-squared term (DCT's sequence transform, SA's scores) belongs to ops that already cost more
SMALL_FINAL = {"net": {"sizes": "design", "num_classes": 2, "resolution": 16}, "resolution": 16}


def _layer_options() -> list[fx.Layer]:
    return [fx.Layer(op, p, h, f, n) for op, params in fx.OPERATIONS.items() for p in params
            for h in fx.HEADS for f in fx.FF_DIMS for n in fx.FF_COUNTS]


def test_flexibert_smallest_arch_is_the_design_minimum() -> None:
    small = fx.smallest_arch()
    assert fx.format_arch(small) == "h128|LT.DFT.h8.f512x1|LT.DFT.h8.f512x1"


def test_flexibert_smallest_arch_has_the_fewest_params_under_every_size_option() -> None:
    # the exact parameter range (every hidden size and layer option; layers add their own) starts at it
    for opts in ({}, {"sizes": "design"}, {"sizes": "design", "objective": "mlm"},
                 {"sizes": "design", "layout": "flexibert", "num_classes": 3, "max_len": 128}):
        lo, _ = fx.param_range_k(**opts)
        assert fx.count_params(fx.smallest_arch(), **opts) / 1e3 == pytest.approx(lo, abs=1e-9), opts


def test_flexibert_smallest_arch_has_the_fewest_macs_of_every_layer_option() -> None:
    from swapnas.search.final import final_macs, final_size

    lo_macs, lo_params = final_macs(fx, fx.smallest_arch(), SMALL_FINAL), final_size(fx, fx.smallest_arch(),
                                                                                    SMALL_FINAL)
    # layers map (S, L, hidden) to the same shape and add their own cost: the 2-layer arch of every mixer and
    # head count (hidden 128, FF 512x1: [::4] steps over the FF choices) covers the mixers; the rest on random
    # archs (the slow test below tries every layer option on the real final network)
    rng = random.Random(0)
    archs = [fx.Arch(128, (la,) * 2) for la in _layer_options()[::4]] + [fx.sample(rng) for _ in range(4)]
    assert {(a.layers[0].op, a.layers[0].param, a.layers[0].heads) for a in archs[:18]} == \
        {(la.op, la.param, la.heads) for la in _layer_options()}
    sizes = [(final_macs(fx, a, SMALL_FINAL), final_size(fx, a, SMALL_FINAL)) for a in archs]
    assert all(m >= lo_macs and p >= lo_params for m, p in sizes)
    assert max(sizes) > (lo_macs, lo_params)


@pytest.mark.slow
def test_flexibert_smallest_arch_is_minimal_over_the_uniform_archs_of_the_real_final_network() -> None:
    from swapnas.search.final import final_macs, final_size

    final = fx.FINAL_NETS["glue"]
    small = fx.smallest_arch()
    lo = (final_macs(fx, small, final), final_size(fx, small, final))
    for h in fx.HIDDEN:
        for la in _layer_options():
            a = fx.Arch(h, (la,) * 2)
            macs, params = final_macs(fx, a, final), final_size(fx, a, final)
            assert macs >= lo[0] and params >= lo[1], fx.format_arch(a)


def test_flexibert_max_macs_below_the_smallest_final_network_is_refused_before_any_draw(
        small_bundle, tmp_path, capsys, monkeypatch) -> None:
    from swapnas.cli import main

    def no_draws(*args, **kwargs):
        raise AssertionError("the search drew an arch")
    monkeypatch.setattr(fx, "sample", no_draws)
    code = main(["search", "--space", "flexibert", "--dataset", "glue", "--max-macs", "0.001",
                 "--data-dir", str(small_bundle), "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--max-macs 0.001M is below the smallest final network of this space (41.943296M multiply-adds)" in err
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- Ray: a lost node


class _FakeRef:
    """What the stand-in for ``ray.remote(...).remote`` returns: the task's arguments, scored on ``ray.get``."""

    def __init__(self, box: list, chunk: list) -> None:
        self.box, self.chunk = box, chunk


class _FakePut:
    def __init__(self, value: object) -> None:
        self.value = value


class _NodeLosingRay:
    """Ray's driver calls as :meth:`RayExecutor.score` makes them (``put``, ``wait``, ``get``, ``cancel``), run in
    this process: ``get`` scores the chunk as ``_ray_score_chunk`` does, except that a chunk holding a ``killer``
    arch raises ``NodeDiedError`` (the node running it died on its last try) ``deaths`` times per killer."""

    def __init__(self, killers: set[str], deaths: int) -> None:
        self.killers, self.left = killers, {k: deaths for k in killers}
        self.tasks: list[list[str]] = []

    def remote(self, box: list, chunk: list) -> _FakeRef:
        self.tasks.append([str(arch) for arch, _ in chunk])
        return _FakeRef(box, chunk)

    def put(self, value: object) -> _FakePut:
        return _FakePut(value)

    def wait(self, refs: list, num_returns: int = 1) -> tuple[list, list]:
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref: _FakeRef) -> list:
        import torch
        from ray.exceptions import NodeDiedError

        from swapnas import executors

        hit = [str(arch) for arch, _ in ref.chunk if str(arch) in self.killers and self.left[str(arch)] > 0]
        if hit:
            for arch in hit:
                self.left[arch] -= 1
            raise NodeDiedError("Task failed due to the node (where this task was running) was dead or unavailable.")
        task, device_name, _threads = ref.box[0].value
        device = torch.device(device_name)
        return [executors.score_item(task, task.batch.to(device), device, arch, known) for arch, known in ref.chunk]

    def cancel(self, ref: _FakeRef) -> None:
        pass


def _node_losing_executor(monkeypatch, fake: _NodeLosingRay, chunk_size: int):
    """A :class:`RayExecutor` whose Ray calls go to ``fake``: its ``score`` is the real one, Ray's cluster is not
    started (``__init__`` only starts or joins one and sizes the tasks)."""
    ray = pytest.importorskip("ray")
    from swapnas.executors import RayExecutor

    for name in ("put", "wait", "get", "cancel"):
        monkeypatch.setattr(ray, name, getattr(fake, name))
    ex = object.__new__(RayExecutor)
    ex.address, ex.num_gpus_per_task, ex.cpus_per_task, ex.threads = None, 0.0, 1, 1
    ex.max_retries, ex.chunk_size, ex.max_in_flight, ex._owns = 2, chunk_size, 4, False
    ex._remote = fake
    return ex


@pytest.fixture(scope="module")
def tiny_nb201():
    return tiny_nb201_task("swap,params", batch_size=8, repeats=1, n_archs=6, seed=5)



def test_a_ray_node_lost_for_good_costs_its_arch_only_not_the_run(tiny_nb201, monkeypatch) -> None:
    """Before: ``NodeDiedError`` from ``ray.get`` propagated out of ``score_archs`` (the whole sweep crashed).
    Now it is handled as a dead worker: the chunk's archs are tried alone, and the arch whose node dies every
    time gets failure records naming the exception; the others get the in-process scores."""
    import torch

    from swapnas.session import score_archs
    from swapnas.store import ScoreStore

    protocol, batch, proxies, archs = tiny_nb201
    cpu = torch.device("cpu")
    with ScoreStore(":memory:") as store:
        plain = score_archs(archs, "nb201", proxies, protocol, batch, store, cpu, progress=False)
    killer = str(archs[4])
    fake = _NodeLosingRay({killer}, deaths=10**6)
    with ScoreStore(":memory:") as store, _node_losing_executor(monkeypatch, fake, chunk_size=3) as ex:
        lost = score_archs(archs, "nb201", proxies, protocol, batch, store, cpu, progress=False, executor=ex)
        assert store.count() == len(proxies) * len(archs)
    want = record_table(plain)
    for name in want:
        want[name][4] = ("failed", [])
    assert record_table(lost) == want
    for name in want:
        error = lost[name][4].error or ""
        assert "NodeDiedError" in error and "node" in error and "dead or unavailable" in error, error
    # the killer's chunk (archs 3-5) went again one arch per task; the killer alone once, then given up
    assert fake.tasks.count([killer]) == 1 and [str(archs[3])] in fake.tasks and [str(archs[5])] in fake.tasks


def test_a_ray_node_lost_once_costs_nothing(tiny_nb201, monkeypatch) -> None:
    """A node that died under a chunk of several archs: each is tried alone, on a live node, and scored."""
    import torch

    from swapnas.session import score_archs
    from swapnas.store import ScoreStore

    protocol, batch, proxies, archs = tiny_nb201
    cpu = torch.device("cpu")
    with ScoreStore(":memory:") as store:
        plain = score_archs(archs, "nb201", proxies, protocol, batch, store, cpu, progress=False)
    fake = _NodeLosingRay({str(archs[1])}, deaths=1)
    with ScoreStore(":memory:") as store, _node_losing_executor(monkeypatch, fake, chunk_size=3) as ex:
        lost = score_archs(archs, "nb201", proxies, protocol, batch, store, cpu, progress=False, executor=ex)
    assert record_table(lost) == record_table(plain)
    assert [str(archs[1])] in fake.tasks


# ----------------------------------------------------------------------------- grid: --archs above a column's archs


def _quick_scores(monkeypatch) -> None:
    """Scores, and the DARTS benchmarks' sizes, without building networks (the grid's arch counts, warnings and
    reports are under test, not the scoring; the slow test below scores for real)."""
    import importlib

    from swapnas.benchmarks.nb301 import GenotypeTable
    from swapnas.store import Record

    monkeypatch.setattr(GenotypeTable, "params_m", lambda self, arch, task="cifar10": float(len(str(arch))))

    correlate = importlib.import_module("swapnas.correlation")

    def score_archs(archs, space, proxies, protocol, batch, store, device, retry_failed=False, progress=True,
                    desc="", executor=None, counts=None, bases=False):
        from swapnas.scoring import with_bases

        if counts is not None:
            counts.update(reused=0, partly=0)
        return {p.name: [Record("ok", float(len(str(a))), 0.0, [float(len(str(a)))], 0.001, None, None)
                         for a in archs] for p in (with_bases(proxies) if bases else proxies)}
    monkeypatch.setattr(correlate, "score_archs", score_archs)


def test_grid_archs_above_a_columns_count_warns_per_column_and_reports_the_true_n(small_bundle, monkeypatch,
                                                                                    caplog) -> None:
    import json
    import logging

    import torch

    from dataclasses import asdict

    from swapnas.grid import markdown, run_grid
    from swapnas.results import strict_json
    from swapnas.store import ScoreStore

    _quick_scores(monkeypatch)
    columns = [("nb101", "cifar10"), ("nb301", "cifar10"), ("darts_swap", "cifar10")]  # 40, 30 and 30 archs
    with ScoreStore(":memory:") as store, caplog.at_level(logging.WARNING):
        cols = run_grid(columns, proxies="params", n_archs=35, n_archs_per={"nb101": 41, "darts_swap": 3}, seed=0,
                        repeats=1, store=store, device=torch.device("cpu"), data_dir=str(small_bundle),
                        progress=False)
    warned = [r.getMessage() for r in caplog.records if "archs" in r.getMessage()]
    assert warned == [  # was: nothing
        "nb101/cifar10 has 40 archs, fewer than --archs-per nb101=41 asks for: all 40 are scored, and its n "
        "is 40",
        "nb301/cifar10 has 30 archs, fewer than --archs 35 asks for: all 30 are scored, and its n is 30"]
    assert [(c.label, c.n_archs, [r["n"] for r in c.results]) for c in cols] == [
        ("nb101/cifar10", 40, [40]), ("nb301/cifar10", 30, [30]), ("darts_swap/cifar10", 3, [3])]
    # grid.json holds asdict of each column; grid.md is markdown(); the heat map labels each column n=<n_archs>
    assert [json.loads(strict_json(asdict(c)))["n_archs"] for c in cols] == [40, 30, 3]
    text = markdown(cols)
    assert "- **nb101/cifar10**: 40 archs;" in text and "- **nb301/cifar10**: 30 archs;" in text
    assert "41 archs" not in text and "35 archs" not in text


def test_grid_archs_all_or_within_every_column_says_nothing(small_bundle, monkeypatch, caplog) -> None:
    import logging

    import torch

    from swapnas.grid import run_grid
    from swapnas.store import ScoreStore

    _quick_scores(monkeypatch)
    # (--archs, --archs-per) -> the columns' arch counts (nb101 holds 40 archs, nb301 30; None = all)
    for n, per, want in ((None, {}, [40, 30]), (30, {}, [30, 30]), (41, {"nb101": 3, "nb301": None}, [3, 30])):
        caplog.clear()
        with ScoreStore(":memory:") as store, caplog.at_level(logging.WARNING):
            cols = run_grid([("nb101", "cifar10"), ("nb301", "cifar10")], proxies="params", n_archs=n,
                            n_archs_per=per, seed=0, repeats=1, store=store, device=torch.device("cpu"),
                            data_dir=str(small_bundle), progress=False)
        assert not [r for r in caplog.records if "archs" in r.getMessage()], (n, per)
        assert [(c.n_archs, c.results[0]["n"]) for c in cols] == [(k, k) for k in want], (n, per)


@pytest.mark.slow  # about 10 s: 30 DARTS networks built and scored
def test_grid_cli_archs_above_a_columns_count_scores_them_all_and_says_so(small_bundle, tmp_path, capsys,
                                                                         caplog) -> None:
    import json
    import logging

    from swapnas.cli import main

    out = tmp_path / "g"
    with caplog.at_level(logging.WARNING):  # the command line's stderr handler is pytest's here
        code = main(["grid", "--benchmarks", "nb101,nb301", "--archs", "31", "--archs-per", "nb101=3", "--proxies",
                     "params", "--device", "cpu", "--no-progress", "--data-dir", str(small_bundle), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    warned = [r.getMessage() for r in caplog.records if "archs" in r.getMessage()]
    assert warned == ["nb301/cifar10 has 30 archs, fewer than --archs 31 asks for: all 30 are scored, and its "
                      "n is 30"]
    cols = json.loads((out / "grid.json").read_text())["columns"]
    assert [(c["n_archs"], c["results"][0]["n"]) for c in cols] == [(3, 3), (30, 30)]
    assert "- **nb301/cifar10**: 30 archs;" in (out / "grid.md").read_text()


def test_grid_default_archs_is_at_most_and_warns_only_where_archs_per_asked(small_bundle, monkeypatch,
                                                                            caplog) -> None:
    import logging

    import torch

    from swapnas.cli import build_parser
    from swapnas.grid import run_grid
    from swapnas.store import ScoreStore

    args = build_parser().parse_args(["grid", "--out", "x"])
    assert args.archs == 1000 and type(args.archs).__name__ == "DefaultArchs"  # the default is "at most", as correlate's
    _quick_scores(monkeypatch)
    with ScoreStore(":memory:") as store, caplog.at_level(logging.WARNING):
        run_grid([("nb101", "cifar10"), ("nb301", "cifar10")], proxies="params", n_archs=1000,
                 n_archs_per={"nb101": 41}, seed=0, repeats=1, store=store, device=torch.device("cpu"),
                 data_dir=str(small_bundle), progress=False, archs_given=False)
    assert [r.getMessage() for r in caplog.records if "archs" in r.getMessage()] == [
        "nb101/cifar10 has 40 archs, fewer than --archs-per nb101=41 asks for: all 40 are scored, and its n is 40"]


def test_grid_archs_per_naming_no_column_leaves_no_out_folder(small_bundle, tmp_path, capsys) -> None:
    from swapnas.cli import main

    out = tmp_path / "g"
    code = main(["grid", "--benchmarks", "nb301", "--archs-per", "nb999=3", "--proxies", "params", "--archs", "2",
                 "--device", "cpu", "--no-progress", "--data-dir", str(small_bundle), "--out", str(out)])
    assert code == 2 and "--archs-per names benchmark(s) not in the grid: nb999" in capsys.readouterr().err
    assert not out.exists()  # was: OUT/scores.sqlite, empty, made before the check
