"""Session 66 audit of the Python API as a Jupyter notebook uses it (each test failed on the code as found, 6ab5333):
``import swapnas`` warned of ipywidgets, bars were redrawn every 30 s in a kernel, an interrupted ``run_train`` left
its bar open, a later run in the process was not warned of its own saturation, reprs dumped every arch or a batch's
values or gave addresses, outputs named the kernel's launcher as their command, a Ctrl-C before a store's commit
left a write lock, a cell that registers a metric could not be run again, and no stderr ended a bar's call. The
kernel tests simulate one in a subprocess (``ipykernel.zmqshell`` in ``sys.modules``, an IPython shell, an
ipykernel-like ``OutStream`` as stderr) and skip without IPython.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import torch

SRC = Path(__file__).resolve().parents[1] / "src"


# a Jupyter kernel as tqdm.auto and a notebook user see it: ipykernel's shell module loaded, an IPython shell whose
# config names IPKernelApp, stderr an OutStream (no fileno, isatty() False); ipywidgets is not installed
_KERNEL = textwrap.dedent("""
    import io, sys, types
    sys.modules["ipykernel"] = types.ModuleType("ipykernel")
    sys.modules["ipykernel.zmqshell"] = types.ModuleType("ipykernel.zmqshell")
    sys.modules["ipywidgets"] = None  # not installed
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    c = Config(); c.IPKernelApp.connection_file = "kernel-1.json"
    shell = InteractiveShell.instance(config=c)
    class OutStream(io.TextIOBase):
        def __init__(self): self.buf = []
        def write(self, s): self.buf.append(s); return len(s)
        def flush(self): pass
        def isatty(self): return False
        def fileno(self): raise io.UnsupportedOperation("fileno")
    OutStream.__module__ = "ipykernel.iostream"
    err = OutStream(); sys.stderr = err
""")


def _in_kernel(body: str) -> str:
    pytest.importorskip("IPython")
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", _KERNEL + textwrap.dedent(body)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_import_swapnas_in_a_jupyter_kernel_without_ipywidgets_warns_of_nothing():
    """``import swapnas`` imported ``tqdm.auto``, which in a kernel without ipywidgets (not a dependency) warns
    'TqdmWarning: IProgress not found. Please update jupyter and ipywidgets.' on the import, before any bar."""
    out = _in_kernel("""
        import warnings
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            import swapnas
        print("WARNINGS", [f"{x.category.__name__}: {x.message}" for x in w] + ["".join(err.buf)] * bool(err.buf))
    """)
    line = next(x for x in out.splitlines() if x.startswith("WARNINGS"))
    assert "IProgress" not in line and "TqdmWarning" not in line, line


def test_a_progress_bar_in_a_notebook_is_redrawn_while_the_call_runs():
    """bar_interval() read the kernel's stderr (isatty() False) as a log file: every bar of the package (rank's,
    correlate's, the search's, training's; the text bar or the ipywidgets one) was redrawn every 30 s, so a call
    shorter than that showed 0 % until it ended."""
    out = _in_kernel("""
        import time, torch, swapnas
        from torch import nn
        class Slow(nn.Module):
            def __init__(self, w):
                super().__init__(); self.c = nn.Conv2d(3, w, 3, padding=1); self.r = nn.ReLU()
            def forward(self, x):
                time.sleep(0.25); return self.r(self.c(x))
        swapnas.rank([Slow(2 + i) for i in range(5)], torch.randn(4, 3, 8, 8), ["swap"], progress=True)
        print("BAR", repr("".join(err.buf)))
    """)
    bar = next(x for x in out.splitlines() if x.startswith("BAR"))
    assert any(f"{k}/5" in bar for k in (1, 2, 3, 4)), f"only the start and the end were drawn: {bar}"


def test_an_interrupted_run_train_leaves_no_open_progress_bar(tmp_path, monkeypatch):
    """A notebook keeps the last traceback (sys.last_traceback): `_train_batches`' bar, a local closed only at the
    loop's end, stayed open after a Ctrl-C; the next run_train's bars were drawn one line lower and the stale
    'epoch 1/1: 0%' line was redrawn under them."""
    from tqdm import tqdm as std_tqdm

    from swapnas.train import loop
    from swapnas.train.run import run_train

    genotype = ("Genotype(normal=[('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 1), "
                "('skip_connect', 0), ('skip_connect', 1), ('skip_connect', 0), ('skip_connect', 2)], "
                "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
                "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
                "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
    step, calls = loop._train_step, []

    def interrupted_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C in the third batch
        return step(*args, **kwargs)

    monkeypatch.setattr(loop, "_train_step", interrupted_step)
    with pytest.raises(KeyboardInterrupt) as caught:
        run_train(genotype, out=tmp_path / "t", synthetic=32, workers=0, device="cpu", epochs=1, C=4, layers=2,
                  batch_size=4, amp=False, lines=False)
    kept = caught.value.__traceback__  # as IPython's sys.last_traceback keeps it  # noqa: F841
    open_bars = [b.desc for b in list(std_tqdm._instances) if not b.disable and b.desc.startswith("epoch")]
    assert open_bars == [], f"bars left open after the interrupt: {open_bars}"


def test_a_later_run_in_the_same_process_warns_of_its_own_saturation(data_dir, monkeypatch):
    """The first SaturationWarning per proxy was shown once per process: in a notebook, a second run_correlation
    (or search_arch, whose report has no SATURATED line) on another protocol, every arch saturated, warned of
    nothing, even under warnings.simplefilter('always')."""
    import swapnas
    from swapnas.benchmarks import get_benchmark
    from swapnas.correlation import run_correlation
    from swapnas.session import configure
    from swapnas.store import ScoreStore

    from swapnas import scoring

    monkeypatch.setattr(scoring, "_SATURATION_SHOWN", {})  # as in a fresh process
    bench = get_benchmark("nb201", data_dir)
    shown = []
    for s in (8, 6):
        protocol, batch, proxies = configure("nb201", "cifar10", "swap", batch_size=s, repeats=1,
                                             data_dir=str(data_dir))
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            run = run_correlation(bench=bench, task="cifar10", proxies=proxies, n_archs=3, protocol=protocol,
                                  batch=batch, store=ScoreStore(":memory:"), device=torch.device("cpu"), progress=False)
        assert run.results[0].saturated == 3
        shown.append(sum(issubclass(x.category, swapnas.SaturationWarning) for x in w))
    assert shown == [1, 1], f"SaturationWarnings shown by the two runs: {shown}"


def test_correlate_run_repr_does_not_dump_every_arch():
    """repr(CorrelateRun) held every arch, score, accuracy and size: 36 KB at 300 archs, ~2 MB for NB201's
    15,625 (the last expression of a notebook cell prints it); SearchResult keeps its lists out of its repr."""
    from swapnas.results import CorrelateRun

    n = 15625
    run = CorrelateRun({"space": "nb201"}, "NB201 valid accuracy", "", [], {"swap": [1.0] * n}, [90.0] * n,
                       ["|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
                        "skip_connect~2|"] * n, 1.0, params_m=[1.0] * n)
    assert len(repr(run)) < 5000, len(repr(run))


def test_batch_repr_is_not_a_tensor_dump():
    """repr(swapnas.load_batch(...)) printed ~12,000 characters of pixel values."""
    from swapnas import Batch

    batch = Batch(torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,)), 10, "cifar10", "x.npz:x", 64)
    assert len(repr(batch)) < 1500, len(repr(batch))


def test_score_store_and_benchmark_reprs_say_what_they_are(tmp_path, data_dir):
    """`<swapnas.store.ScoreStore object at 0x…>`, `<swapnas.benchmarks.nb201.NB201Benchmark object at 0x…>`."""
    from swapnas.benchmarks import get_benchmark
    from swapnas.store import ScoreStore

    with ScoreStore(tmp_path / "s.sqlite") as store:
        assert "s.sqlite" in repr(store), repr(store)
    assert "object at 0x" not in repr(get_benchmark("nb201", data_dir))


def test_write_outputs_from_a_notebook_does_not_record_the_kernel_launcher_as_the_command(tmp_path, monkeypatch,
                                                                                          data_dir):
    """From a notebook, results.json's command and report.md's 'Made by' were the kernel's own command line
    (`ipykernel_launcher.py -f …/kernel-….json`), which reruns nothing (search_arch records the command it stands
    for since session 54)."""
    import json

    from swapnas.benchmarks import get_benchmark
    from swapnas.correlation import run_correlation, write_outputs
    from swapnas.session import configure
    from swapnas.store import ScoreStore

    monkeypatch.setattr(sys, "argv", ["/venv/lib/python3.11/site-packages/ipykernel_launcher.py", "-f",
                                      "/root/.local/share/jupyter/runtime/kernel-1c2d.json"])
    bench = get_benchmark("nb201", data_dir)
    protocol, batch, proxies = configure("nb201", "cifar10", "params", batch_size=8, repeats=1, data_dir=str(data_dir))
    run = run_correlation(bench=bench, task="cifar10", proxies=proxies, n_archs=4, protocol=protocol, batch=batch,
                          store=ScoreStore(":memory:"), device=torch.device("cpu"), progress=False)
    write_outputs(run, tmp_path / "out")
    command = json.loads((tmp_path / "out" / "results.json").read_text())["provenance"]["command"]
    assert "kernel-1c2d.json" not in command, command
    made_by = [x for x in (tmp_path / "out" / "report.md").read_text().splitlines() if "Made by" in x]
    assert made_by and "kernel-1c2d.json" not in made_by[0], made_by


def test_a_ctrl_c_just_before_a_stores_commit_leaves_no_open_write_transaction(tmp_path):
    """ScoreStore.put rolled back on SQLite errors only: a KeyboardInterrupt between its INSERT and its commit left
    the connection in a write transaction, locking every other writer of the file out ('database is locked') for as
    long as the notebook keeps the store (or the traceback holding it), and the half-saved row was committed by
    the next put."""
    import sqlite3

    from swapnas.store import Record, ScoreKey, ScoreStore

    store = ScoreStore(tmp_path / "p.sqlite")

    def key(i: int) -> ScoreKey:
        return ScoreKey("nb201", f"arch{i}", "params", "fp", 0, 8, 1, "{}")

    record = Record("ok", 1.0, 0.0, [1.0], 0.1, None, None)
    store.put(key(0), record)

    def ctrl_c_before_commit(frame, event, arg):
        if event == "c_call" and getattr(arg, "__name__", "") == "commit":
            sys.setprofile(None)
            raise KeyboardInterrupt

    sys.setprofile(ctrl_c_before_commit)
    try:
        with pytest.raises(KeyboardInterrupt):
            store.put(key(1), record)
    finally:
        sys.setprofile(None)
    other = sqlite3.connect(tmp_path / "p.sqlite", timeout=0.5)
    try:
        other.execute("INSERT INTO protocols VALUES ('x', '{}')")  # another writer (a CLI run on the same store)
        other.commit()
    finally:
        other.close()
        store.close()


def test_rerunning_a_notebook_cell_that_registers_a_metric_takes_the_new_definition():
    """A researcher's own metric defined in a cell (README: 'Without editing the package') could not be edited and
    re-run: the second run of the cell raised "proxy 'nb_cell_metric' is registered twice", with no way out but a
    kernel restart."""
    import types

    from torch import nn

    import swapnas
    from swapnas.proxies.registry import _REGISTRY, register

    cell = textwrap.dedent("""
        @register("nb_cell_metric", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data",
                  version="1", keeps_model=True)
        def nb_cell_metric(model, batch):
            return VALUE
    """)
    main = types.ModuleType("__main__")  # a notebook's cells run in its user namespace, __name__ == "__main__"
    main.register = register
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU())
    try:
        exec(cell.replace("VALUE", "1.0"), main.__dict__)
        assert swapnas.score(model, torch.randn(2, 3, 8, 8), "nb_cell_metric") == {"nb_cell_metric": 1.0}
        exec(cell.replace("VALUE", "2.0"), main.__dict__)  # the cell edited and run again
        assert swapnas.score(model, torch.randn(2, 3, 8, 8), "nb_cell_metric") == {"nb_cell_metric": 2.0}
    finally:
        _REGISTRY.pop("nb_cell_metric", None)


def test_a_progress_bar_with_no_stderr_at_all_does_not_end_the_call(monkeypatch):
    """With ``sys.stderr`` None (pythonw, an embedded or GUI interpreter) ``rank(..., progress=True)`` raised
    AttributeError: 'NoneType' object has no attribute 'write' from tqdm (the command line puts the null device in
    its place since session 58; the API's bars do not)."""
    from torch import nn

    import swapnas

    models = [nn.Sequential(nn.Conv2d(3, w, 3), nn.ReLU()) for w in (2, 3)]
    monkeypatch.setattr(sys, "stderr", None)
    rows = swapnas.rank(models, torch.randn(4, 3, 8, 8), ["swap"], progress=True)
    assert len(rows) == 2 and all(r["swap"] > 0 for r in rows)  # both scored
