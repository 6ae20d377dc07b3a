"""The plots (report.scatter_plot / search_curve / draw_cells, grid.heatmap) leave matplotlib's state alone.

They draw on ``matplotlib.figure.Figure`` objects: no backend switch, no pyplot import, no
figure left in pyplot's registry, so a notebook user's backend and figures are untouched.
Checked in a fresh interpreter, where nothing else has imported pyplot yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import json, sys
from pathlib import Path
import matplotlib
matplotlib.use("pdf")  # the "user's" backend: set before any plot, must survive them
from swapnas.results import ProxyResult
from swapnas.report import draw_cells, scatter_plot, search_curve
from swapnas.grid import GridColumn, heatmap

out = Path(sys.argv[1])
r = ProxyResult("swap", "k", "nb201", "cifar10", 3, 1, 0.5, 0.4, (0.1, 0.9), 0.2, 0.3, 0.01, True)
paths = [
    scatter_plot([1.0, 2.0, None, 5.0], [50.0, 60.0, 70.0, 80.0], r, "ground truth", out),
    search_curve([{"evaluations": 1, "population_mean": 0.5}], [{"evaluation": 1, "fitness": 0.5},
                 {"evaluation": 2, "fitness": 0.7}], out / "curve.png", title="t"),
    draw_cells({"normal": [("c_{k-2}", "0", "skip_connect"), ("c_{k-1}", "0", "nor_conv_3x3"),
                           ("0", "c_{k}", "")]}, out / "cell.png"),
    heatmap([GridColumn("nb201", "cifar10", "gt", {}, "", 3, 1.0,
                        [{"proxy": "swap", "spearman": 0.5, "n": 3, "failures": 0, "seconds_per_arch": 0.1}])],
            out / "grid.png"),
]
pyplot = "matplotlib.pyplot" in sys.modules  # read before get_backend(), which may import pyplot itself
print(json.dumps({"pyplot": pyplot, "backend": matplotlib.get_backend(),
                  "sizes": [Path(p).stat().st_size for p in paths]}))
"""


@pytest.mark.slow  # runs a subprocess
def test_plots_keep_backend_and_never_import_pyplot(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("MPLBACKEND", None)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["pyplot"] is False
    assert got["backend"] == "pdf"
    assert all(size > 0 for size in got["sizes"])
    for name in ("scatter_swap.png", "curve.png", "cell.png", "grid.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
