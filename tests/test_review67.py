"""Session 67 review of the session's diff (each test failed on the code as reviewed; R1 and R3 passed before the
session, which made them): a Ray GPU cluster driven from a machine without CUDA, a store made again where an
unrecorded one was checked, training with AMP off under a caller's autocast, an empty data_root, report.md's plot
links for names with '#', ')' or '%'."""

from __future__ import annotations

import sqlite3
import types
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


# ---------------------------------------------------------------------------------------------------- R1 (high)
@pytest.mark.skipif(torch.cuda.is_available(), reason="shows a CPU-only driver of a GPU cluster")
def test_score_archs_takes_a_cuda_device_scored_by_a_remote_executor_on_a_cpu_only_driver() -> None:
    """`--executor ray --address HEAD:6379 --ray-gpus 1` (or --device cuda) on a laptop/head node without CUDA:
    executor_plan gives torch.device('cuda') unchecked on purpose ("this machine need not have one when --address
    is a cluster"), and the Ray workers score on their own GPUs. Session 67 made score_archs run every torch.device
    through resolve_device, which refuses it: "device 'cuda' asked for, but CUDA is not available here" before any
    work (correlate, grid and search alike). Before session 67 this worked."""
    from swapnas.api_inputs import as_batch
    from swapnas.executor_local import Executor, score_item
    from swapnas.proxies import get_proxy
    from swapnas.scoring import Protocol
    from swapnas.session import score_archs
    from swapnas.store import ScoreStore

    class GpuCluster(Executor):  # RayExecutor(num_gpus_per_task=1)'s contract; the remote scoring done here on cpu
        name = "ray"

        def device_for(self, device: torch.device) -> torch.device:
            return torch.device("cuda")

        def score(self, task, device, items):
            for arch, known in items:
                yield arch, score_item(task, task.batch, torch.device("cpu"), arch, known)

    batch, _ = as_batch((torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])))
    protocol = Protocol(space="nb201", dataset="cifar10", batch_size=4, seed=0)
    with ScoreStore(":memory:") as store:
        recs = score_archs([NB201_ARCH], "nb201", [get_proxy("params")], protocol, batch, store,
                           torch.device("cuda"), progress=False, executor=GpuCluster())
    assert [r.status for r in recs["params"]] == ["ok"]


# ---------------------------------------------------------------------------------------------------- R2 (medium)
def test_a_store_made_again_where_an_unrecorded_store_was_checked_records_its_code(tmp_path: Path) -> None:
    """_checked compares the recorded row with the one seen at the first check; a store at PATH that recorded no
    code for the name then (scores made before stores recorded code; or a read-only store) left None, and the empty
    store made again at PATH also gives None: it is taken as checked, records no code, and the next process warns
    that its scores were made "before swapnas recorded code" (the defect session 67 mended for the usual case)."""
    from swapnas.code_changes import warn_changed_code
    from swapnas.proxies import get_proxy
    from swapnas.store import Record, ScoreKey, ScoreStore

    params = get_proxy("params")
    path = tmp_path / "scores.sqlite"
    with ScoreStore(path) as store:  # an old store: a params score and no code beside it
        store.put(ScoreKey("nb201", "a", params.key, "p0", 0, 8, 1, ""), Record("ok", 1.0, 0.0, [1.0], 0.0, None, None))
    db = sqlite3.connect(path)
    db.execute("DELETE FROM proxy_code")
    db.commit()
    db.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ScoreStore(path) as store:
            warn_changed_code(store, [params])  # warns: made before swapnas recorded code
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with ScoreStore(path) as store:  # `rm -rf OUT`, the cell run again
        warn_changed_code(store, [params])
        assert "params@1" in store.recorded_code()


# ---------------------------------------------------------------------------------------------------- R3 (low)
def test_training_with_amp_off_is_not_run_under_a_callers_autocast(monkeypatch) -> None:
    """train/loop._amp returns a nullcontext with AMP off (for torch 2.2-2.4's mps); before, torch.autocast(...,
    enabled=False) switched a caller's autocast off. Now train()/evaluate() called inside the caller's
    `torch.autocast("cpu", dtype=torch.bfloat16)` (or "cuda") runs its forward passes in bfloat16/float16 with
    amp=False (--no-amp's "no mixed precision"), and without a GradScaler. devices.without_autocast() would serve
    both ends (it skips a device type that cannot set up an autocast)."""
    from swapnas.train import loop

    x, y = torch.randn(4, 6), torch.tensor([0, 1, 2, 3])
    monkeypatch.setattr(loop, "_batches", lambda *a, **k: iter([(x, y)]))
    seen: list[torch.dtype] = []
    model = nn.Linear(6, 4)
    model.register_forward_hook(lambda mod, i, o: seen.append(o.dtype))
    data = types.SimpleNamespace(test=[0] * 4, num_classes=4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loop.evaluate(model, data, torch.device("cpu"), batch_size=4, use_amp=False)
    assert seen == [torch.float32], seen


# ---------------------------------------------------------------------------------------------------- R4 (low)
def test_load_data_refuses_an_empty_data_root(tmp_path: Path, monkeypatch) -> None:
    """Session 67 refused '' for --data-root and, from Python, data_dir='' and image_root='' (they read the current
    folder); run_train(data_root='') / load_data(data_root='') still read the current folder's
    cifar-10-batches-py/ (or train/ and val/): the same defect at the Python call site."""
    from swapnas.train.data import load_data

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="empty"):
        load_data("cifar10", "")


# ---------------------------------------------------------------------------------------------------- R5 (low)
@pytest.mark.parametrize("name", ["grad#2", "acc)1", "50%25"])
def test_report_md_links_a_plot_whatever_its_metric_is_named(name: str) -> None:
    """correlation_report wraps a plot name holding a space in <...>; a '#' (a URL fragment), an unbalanced ')' or
    a '%' (percent-decoded) in a name that check_name accepts still links another file, or no image at all. A
    percent-encoded destination (urllib.parse.quote) links every name."""
    import re
    from urllib.parse import unquote

    markdown_it = pytest.importorskip("markdown_it")
    from swapnas.report import correlation_report
    from swapnas.results import CorrelateRun, ProxyResult

    nan = float("nan")
    result = ProxyResult(name, f"{name}@1", "nb201", "cifar10", 4, 0, 0.4, 0.33, (nan, nan), nan, nan, 0.01, True)
    protocol = {"space": "nb201", "dataset": "cifar10", "batch_size": 16, "repeats": 4, "seed": 0, "init": "gaussian",
                "bn_train": True, "net": {"C": 16, "N": 1}, "batch_digest": "c9d2889e331436c7", "inputs": "real",
                "fingerprint": "cb44128d80809eae"}
    run = CorrelateRun(protocol, "NB201 valid accuracy (%)", "", [result], {name: [1.0, 2.0, 3.0, 4.0]},
                       [1.0, 2.0, 3.0, 4.0], ["a", "b", "c", "d"], 1.0)
    prov = {"command": "swapnas correlate", "swapnas": "0.1.0", "source": "x", "torch": "2", "numpy": "2",
            "scipy": "1", "created_utc": "2026-01-01T00:00:00Z"}
    plot = f"scatter_{name}.png"
    html = markdown_it.MarkdownIt("commonmark").render(correlation_report(run, prov, [plot]))
    src = re.search(r'<img src="([^"]*)"', html)
    assert src is not None, "the plot is not linked as an image"
    assert "#" not in src.group(1) and unquote(src.group(1)) == plot, src.group(1)
