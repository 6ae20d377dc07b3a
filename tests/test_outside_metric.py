"""A metric registered from outside the package works in ``swapnas.score`` and in the command line through a short
script of the user's, its scoring worker processes included (session 50: the docs described only an edit of the
package)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

from swapnas.spaces import nb201

METRIC = '''"""logit_std: the spread of an untrained network's outputs."""
from __future__ import annotations

import torch
from torch import nn

from swapnas.data import Batch
from swapnas.proxies.registry import register


@register("logit_std_outside", higher_is_better=True, needs_grad=False, needs_labels=False, input_kind="data",
          version="1", keeps_model=True)
def logit_std(model: nn.Module, batch: Batch) -> float:
    """Standard deviation of the logits over the batch and the classes."""
    with torch.no_grad():
        return float(model(batch.inputs).double().std())
'''

SCRIPT = '''import my_metric  # noqa: F401  (registers the metric, here and in every scoring worker)
from swapnas.cli import command

if __name__ == "__main__":
    raise SystemExit(command())
'''


def test_a_metric_of_ones_own_scores_through_a_script_and_its_workers(tmp_path: Path, small_bundle: Path) -> None:
    (tmp_path / "my_metric.py").write_text(METRIC)
    (tmp_path / "my_swapnas.py").write_text(SCRIPT)
    rng = random.Random(0)
    archs = list(dict.fromkeys(str(nb201.sample(rng)) for _ in range(8)))
    (tmp_path / "truth.csv").write_text("arch,acc\n" + "".join(f"{a},{80 + i}\n" for i, a in enumerate(archs)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "my_swapnas.py", "--json", "correlate", "--space", "nb201", "--truth", "truth.csv",
         "--proxies", "logit_std_outside,params", "--data-dir", str(small_bundle), "--out", "out", "--workers", "2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = {r["proxy"]: r for r in json.loads(done.stdout)["results"]}
    assert results["logit_std_outside"]["n"] == len(archs) and results["logit_std_outside"]["failures"] == 0


def test_the_docs_metric_registered_in_this_process_is_scored_by_score(tmp_path: Path, monkeypatch) -> None:
    import importlib

    import swapnas
    from swapnas.proxies import registry
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the registration leaves with the test
    (tmp_path / "my_metric.py").write_text(METRIC)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("my_metric")
    net, x = nn.Sequential(nn.Flatten(), nn.Linear(12, 5)), torch.randn(4, 3, 2, 2)
    with torch.no_grad():
        want = float(net(x).double().std())  # init="none": these weights
    assert swapnas.score(net, x, ["logit_std_outside"], init="none")["logit_std_outside"] == want
    sys.modules.pop("my_metric", None)
