"""Session 67 audit of the public API's type hints against run time (each test but the last failed on the code as
found; the last guards what held). The mypy tests read one shared ``mypy --strict --python-version 3.11`` run (about
20 s) of USER below, a user script that calls the package the documented and tested ways; each finding is one marked
line, and the test asserts mypy has nothing to say there (or that a revealed type is useful). The package is found as
an installed one is (on PYTHONPATH: its own modules' errors silenced, as for a pip-installed package with py.typed).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
import torch
from torch import nn

import swapnas

pytest.importorskip("mypy.api", reason="mypy comes with the test extra")

SRC = Path(swapnas.__file__).resolve().parents[1]

# every marked line is the documented or tested way of doing something; "# F:<name>" names the finding
USER = """\
import torch
from torch import nn
import swapnas
from swapnas.data import Batch
from swapnas.proxies.registry import register
from swapnas.spaces import darts, nb201
from swapnas.spaces.protocol import SearchableSpace, Space

a = [0.1, 0.4, 0.2, 0.9, 0.5]
b = [3.0, 1.0, 2.0, 5.0, 4.0]
truth = [10.0, 40.0, 20.0, 90.0, 50.0]
c = swapnas.correlate(a, truth)  # F:correlate_list
d = swapnas.compare_spearman(a, b, truth, higher_is_better=(True, False))  # F:compare_list

net_a = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
net_b = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
x = torch.randn(8, 3, 8, 8)
rows_md = swapnas.rank(nn.ModuleDict({"a": net_a, "b": net_b}), x)  # F:rank_moduledict
rows = swapnas.rank({"a": net_a, "b": net_b}, x, ["swap", "params"])
reveal_type(rows)  # F:rank_reveal

s1: Space = nb201  # F:space_nb201
s2: SearchableSpace = darts  # F:space_darts

@register("types_audit_std", higher_is_better=True, input_kind="data", version="1", keeps_model=True)
def types_audit_std(model: nn.Module, batch: Batch) -> float:
    \"\"\"Spread of the logits.\"\"\"
    return float(model(batch.inputs).std())
reveal_type(types_audit_std)  # F:register_reveal

from swapnas.patterns import prior_from_range  # F:prior_reexport

from swapnas.benchmarks import get_benchmark
from swapnas.correlation import run_correlation
from swapnas.session import configure
from swapnas.store import ScoreStore
bench = get_benchmark("nb201", "../shared/data")
protocol, batch, _ = configure("nb201", "cifar10", "params", seed=0, data_dir="../shared/data")
from pathlib import Path
protocol2, batch2, _ = configure("nb201", "cifar10", "params", seed=0,
                                 data_dir=Path("../shared/data"))  # F:configure_path
with ScoreStore("s.sqlite") as store:
    run = run_correlation(bench=bench, task="cifar10", proxies="params", n_archs=3, protocol=protocol, batch=batch,
                          store=store, device="cpu")  # F:run_corr_device
"""


@pytest.fixture(scope="module")
def mypy_lines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """mypy's messages per finding name (the marked line's messages, errors and notes)."""
    where = tmp_path_factory.mktemp("types_mypy")
    user = where / "user_script.py"
    user.write_text(USER)
    marks = {i: m.group(1) for i, line in enumerate(USER.splitlines(), 1) if (m := re.search(r"# F:(\w+)", line))}
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    env.pop("MYPYPATH", None)
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-version", "3.11", "--cache-dir",
                          str(where / "cache"), "--no-error-summary", "--show-error-codes", user.name],
                         capture_output=True, text=True, env=env, cwd=where, timeout=600).stdout
    found: dict[str, list[str]] = {name: [] for name in marks.values()}
    for line in out.splitlines():
        m = re.match(rf"{re.escape(user.name)}:(\d+): (.*)", line)
        if m and int(m.group(1)) in marks:
            found[marks[int(m.group(1))]].append(m.group(2))
    return found


def _errors(found: dict[str, list[str]], name: str) -> list[str]:
    return [m for m in found[name] if m.startswith("error:")]


# --- F1 (medium): correlate / compare_spearman take lists at run time (their own error says "a list or an array",
# the package's tests pass lists, README: "on two score columns of results.csv"), but are annotated np.ndarray

def test_correlate_takes_lists_as_its_annotation_says(mypy_lines: dict[str, list[str]]) -> None:
    assert swapnas.correlate([0.1, 0.4, 0.2, 0.9, 0.5],  # run time: ok
                             [10.0, 40.0, 20.0, 90.0, 50.0]).spearman == pytest.approx(1.0)
    assert _errors(mypy_lines, "correlate_list") == [], mypy_lines["correlate_list"]


def test_compare_spearman_takes_lists_as_its_annotation_says(mypy_lines: dict[str, list[str]]) -> None:
    d = swapnas.compare_spearman([0.1, 0.4, 0.2, 0.9, 0.5], [3.0, 1.0, 2.0, 5.0, 4.0], [10.0, 40.0, 20.0, 90.0, 50.0],
                                 higher_is_better=(True, False))
    assert isinstance(d.difference, float)  # run time: ok
    assert _errors(mypy_lines, "compare_list") == [], mypy_lines["compare_list"]


# --- F2 (medium): the Space / SearchableSpace protocols (README "Add a space": a module with the members of
# spaces.protocol.Space) are met by none of the package's own space modules (nor tests/toy_space.py): build's
# `num_classes: int = ..., **net: Any` demands a build that takes any keyword

@pytest.mark.parametrize("name", ["space_nb201", "space_darts"])
def test_the_packages_own_spaces_meet_the_space_protocol(mypy_lines: dict[str, list[str]], name: str) -> None:
    assert _errors(mypy_lines, name) == [], mypy_lines[name]


# --- F3 (low-medium): rank takes an nn.ModuleDict at run time (tests/test_session57.py, reliability.md) but its
# annotation `Mapping[str, nn.Module] | Iterable[nn.Module]` refuses one (ModuleDict iterates over str keys)

def test_rank_takes_a_moduledict_as_its_annotation_says(mypy_lines: dict[str, list[str]]) -> None:
    rows = swapnas.rank(nn.ModuleDict({"a": nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()),  # type: ignore[arg-type]
                                       "b": nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())}), torch.randn(8, 3, 8, 8))
    assert sorted(r["model"] for r in rows) == ["a", "b"]  # run time: ok
    assert _errors(mypy_lines, "rank_moduledict") == [], mypy_lines["rank_moduledict"]


# --- F4 (low-medium): rank's result is Any (-> Any for both list[dict] and, with frame=True, a DataFrame)

def test_rank_result_is_typed(mypy_lines: dict[str, list[str]]) -> None:
    notes = [m for m in mypy_lines["rank_reveal"] if "Revealed type" in m]
    assert notes and notes[0] != 'note: Revealed type is "Any"', notes


# --- F6 (low): @register erases the decorated function's signature (Callable[..., float]): a user's metric reads
# `def (*Any, **Any) -> float`, so its calls are no longer checked

def test_register_keeps_the_metrics_signature(mypy_lines: dict[str, list[str]]) -> None:
    notes = [m for m in mypy_lines["register_reveal"] if "Revealed type" in m]
    assert notes and "*Any" not in notes[0], notes


# --- F7 (low): run_correlation (score_archs, run_grid) annotate device as torch.device, yet take "cpu" / "auto"
# (tests/test_rereview64.py passes device="auto" with a `# type: ignore[arg-type]`)

def test_run_correlation_device_annotation_takes_a_string(mypy_lines: dict[str, list[str]]) -> None:
    assert _errors(mypy_lines, "run_corr_device") == [], mypy_lines["run_corr_device"]


def test_configure_data_dir_annotation_takes_a_path(mypy_lines: dict[str, list[str]]) -> None:
    """session.configure / prepare annotate data_dir and image_root `str | None`; a Path works (load_batch and
    get_benchmark, which they feed, take `str | os.PathLike`)."""
    assert _errors(mypy_lines, "configure_path") == [], mypy_lines["configure_path"]


# --- F8 (low): README: size_prior.py is "re-exported by patterns.py"; tests/toy_space.py (README: "a complete
# example" of a space) imports prior_from_range from swapnas.patterns, which --strict refuses (not in its __all__)

def test_prior_from_range_is_explicitly_reexported_by_patterns(mypy_lines: dict[str, list[str]]) -> None:
    assert _errors(mypy_lines, "prior_reexport") == [], mypy_lines["prior_reexport"]


# --- what held (pass today): the runtime types of the key results match their annotations

def test_key_results_have_their_annotated_runtime_types() -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    x, y = torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,))
    psi = swapnas.swap_score(net, x)
    assert type(psi) is int
    assert type(swapnas.regularise(psi, net, 100.0, 1e4)) is float
    assert type(swapnas.count_params_k(net)) is float
    scores = swapnas.score(net, (x, y), ["swap", "params", "nwot", "snip"], repeats=2)
    assert all(type(v) is float for v in scores.values()), {k: type(v) for k, v in scores.items()}
    c = swapnas.correlate([1.0, 3.0, 2.0, 5.0, 4.0], [1.0, 2.0, 3.0, 4.0, 5.0], params=[1.0, 2.0, 2.0, 3.0, 1.0])
    assert type(c.n) is int and type(c.spearman) is float and all(type(v) is float for v in c.spearman_ci)
    assert isinstance(swapnas.Batch, type) and isinstance(swapnas.list_proxies("swap*"), list)
    assert isinstance(Mapping, type)
