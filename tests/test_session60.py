"""Session 60: items left as found by session 59 and the session's audits (each test fails on the code before its
change)."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import os
import sqlite3
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.axes import Axes
from torch import nn

import swapnas
from swapnas import store as store_module
from swapnas import store_merge

from swapnas.api_failures import hint
from swapnas.correlation import _filled_archs, set_level_records
from swapnas.data import Batch
from swapnas.executors import PoolExecutor
from swapnas.inits import gaussian_init
from swapnas.open_files import check_open_files, restore_open_files
from swapnas.padding import _right_padded
from swapnas.patterns import EXTENDED_ACTIVATIONS, swap_score
from swapnas.saturation import SaturationWarning, warn_if_saturated
from swapnas.proxies import get_proxy
from swapnas.proxies.code import NetworkCodeWarning, ProxyCodeWarning, legacy_code_digest
from swapnas.cli.search_command import _search_text
from swapnas.report import failure_lines, run_notes, scatter_plot
from swapnas.results import CorrelateRun, ProxyResult
from swapnas.scoring import Protocol
from swapnas.stats import correlate as stats_correlate
from swapnas.search import EAConfig, run_search, write_result
from swapnas.session import score_archs
from swapnas.store import Record, ScoreStore
from swapnas.store_files import StoreError
from swapnas.store_merge import merge_stores

from tests.test_session59 import _ShortOfMemory, ok_record
from tests.script_tools import load_script
from tests.test_set_level_fill import _records


def test_failures_for_want_of_memory_scored_now_are_counted_and_those_stored_before_are_not(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Session 59 left: the warning counted the failures reused from a read-only store too, and said "not stored, so a
    rerun scores them again" of them (``tests/test_session59.py``'s read-only test asserts it no longer does). This one
    pins what the change kept, and passes on the code before it too: an arch given twice is counted once, and an old
    stored one, scored again and fine now, not at all."""
    protocol = Protocol("nb201", "cifar10", 2, repeats=1, seed=0, net={"C": 4, "N": 1})
    batch = Batch(torch.zeros(2, 3, 4, 4), torch.zeros(2, dtype=torch.int64), 10, "cifar10", "test", 2)
    short = Record("failed", None, None, [], 0.1, None, "MemoryError: ")
    params = get_proxy("params")
    with ScoreStore(tmp_path / "t.sqlite") as store, warnings.catch_warnings(), \
            caplog.at_level("WARNING", logger="swapnas"):
        store.add_protocol(protocol.fingerprint, protocol.describe())
        store.put(protocol.key("b", params), short)  # stored by an older swapnas: scored again, not counted
        warnings.simplefilter("ignore", ProxyCodeWarning)
        warnings.simplefilter("ignore", NetworkCodeWarning)
        got = score_archs(["a", "b", "a"], "nb201", [params], protocol, batch, store, torch.device("cpu"),
                          progress=False, executor=_ShortOfMemory({"a": short, "b": ok_record}))
    assert got["params"] == [short, ok_record, short] and "1 score(s) ran out of memory" in caplog.text


@pytest.mark.parametrize("what", ["score", "swap_score"])
def test_a_model_that_is_no_module_says_what_it_is_and_the_way_out(what: str) -> None:
    """Session 59 left: ``torch.compile(torch.compile(m))`` is a function ("got function", no way out given)."""
    call = swapnas.score if what == "score" else swap_score
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    x = torch.randn(4, 2)
    with pytest.raises(TypeError, match=rf"^{what} takes a torch.nn.Module.* got function made by torch.compile "
                       r"\(compiling a compiled module, or a function, gives a function that holds no module\): pass "
                       r"the module, or torch.compile\(module\) once$"):
        call(torch.compile(torch.compile(model)), x)
    with pytest.raises(TypeError, match=rf"^{what} takes a torch.nn.Module.* got method of a Sequential \(pass the "
                       r"module itself\)$"):
        call(model.forward, x)
    with pytest.raises(TypeError, match=rf"^{what} takes a torch.nn.Module.* got int$"):
        call(3, x)  # type: ignore[arg-type]


def test_a_search_counts_the_evaluations_it_read_from_the_store(small_bundle: Path, tmp_path: Path) -> None:
    """Session 59 left: a search on a store that held its scores said nothing of it (one whose archs had been
    stored as out of memory returned a worse arch "in 0.0 s")."""
    cfg = EAConfig(population=4, sample=2, mutations=2, cycles=2)
    common = dict(config=cfg, device=torch.device("cpu"), data_dir=str(small_bundle), progress=False,
                  net={"C": 4, "N": 1}, fitness="params")
    with ScoreStore(tmp_path / "s.sqlite") as store:
        first = run_search("nb201", "cifar10", store=store, out=tmp_path / "a", seed=0, **common)
        again = run_search("nb201", "cifar10", store=store, out=tmp_path / "b", seed=0, **common)
        other = run_search("nb201", "cifar10", store=store, out=tmp_path / "c", seed=1, **common)
    archs = [{h["arch"] for h in r.history} for r in (first, again, other)]
    assert all(len(a) == r.evaluations for a, r in zip(archs, (first, again, other)))  # (each arch once)
    assert (first.reused, again.reused, other.reused) == (0, again.evaluations, len(archs[2] & archs[0]))
    assert again.history == first.history
    assert _search_text(again).startswith(f"best nb201 arch (fitness {again.fitness:.6g}, {again.evaluations} "
                                          f"evaluations ({again.evaluations} read from the store), 2 cycles")
    # (the wording since session 61)
    assert _search_text(first).startswith(f"best nb201 arch (fitness {first.fitness:.6g}, {first.evaluations} "
                                          "evaluations, 2 cycles")
    write_result(again, tmp_path / "b")
    assert json.loads((tmp_path / "b" / "result.json").read_text())["reused"] == again.evaluations


def test_a_failed_merge_names_the_sources_merged_before_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 59 left: a merge that failed at its third source did not say that the first two went in whole."""
    protocol = Protocol("nb201", "cifar10", 8, repeats=1, seed=0, net={"C": 4, "N": 1})
    params = get_proxy("params")
    sources = []
    for i, arch in enumerate("abc"):
        with ScoreStore(tmp_path / f"s{i}.sqlite") as store:
            store.add_protocol(protocol.fingerprint, protocol.describe())
            store.put(protocol.key(arch, params), ok_record)
        sources.append(tmp_path / f"s{i}.sqlite")
    read = store_merge._read

    def third_unreadable(rows: Iterator[tuple], path: Path) -> Iterator[tuple]:
        if path.name == "s2.sqlite":
            raise store_merge._SourceError(f"the source store {path} could not be read to the end")
        return read(rows, path)

    monkeypatch.setattr(store_merge, "_read", third_unreadable)
    into = tmp_path / "m.sqlite"
    with pytest.raises(StoreError) as got:
        merge_stores(sources, into)
    assert str(got.value) == (f"the source store {sources[2]} could not be read to the end. Merged into {into} before "
                              f"it, each whole: {sources[0]}, {sources[1]}; the merge can be run again with every "
                              f"source (what {into} holds is kept)")
    with ScoreStore(into, read_only=True) as merged:
        assert [merged.get(protocol.key(arch, params)) for arch in "abc"] == [ok_record, ok_record, None]
    with pytest.raises(StoreError) as first:
        merge_stores([sources[2], sources[0]], tmp_path / "n.sqlite")
    assert str(first.value) == f"the source store {sources[2]} could not be read to the end"  # none before it
    connect = store_merge.connect_reader

    def third_gone(path: Path) -> sqlite3.Connection:  # (the review: an error opening a source was not annotated)
        if path.name == "s2.sqlite":
            raise StoreError(f"{path} is gone")
        return connect(path)

    monkeypatch.setattr(store_merge, "connect_reader", third_gone)
    with pytest.raises(StoreError, match=rf"^{re.escape(str(sources[2]))} is gone\. Merged into .*o\.sqlite before it, "
                       rf"each whole: {re.escape(str(sources[0]))}, {re.escape(str(sources[1]))};"):
        merge_stores(sources, tmp_path / "o.sqlite", mixed_code=True)  # (no code check first: it opens them all)


_HANDLES = """
import os, resource, sys
from swapnas.store_files import out_of_file_handles
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
held = []
try:
    while True:
        held.append(os.open(os.devnull, os.O_RDONLY))
except OSError:
    pass
print(out_of_file_handles())
os.close(held.pop())
print(out_of_file_handles())
for fd in held[-2:]:
    os.close(fd)
print(out_of_file_handles(), out_of_file_handles(2))
"""


@pytest.mark.skipif(not hasattr(os, "sysconf") or sys.platform == "win32", reason="POSIX open-file limits")
def test_a_store_that_cannot_be_opened_for_want_of_file_handles_says_the_limit(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 59 left: under `ulimit -n`, SQLite's "unable to open database file" named no cause."""
    got = subprocess.run([sys.executable, "-c", _HANDLES], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(swapnas.__file__).parents[1])}).stdout.split()
    assert got == ["True", "True", "False", "False"]  # none or 1 spare of 3 is out; 3 spare are not, nor 2 of 2
    store = ScoreStore(tmp_path / "s.sqlite")
    store.close()
    monkeypatch.setattr(store_module, "out_of_file_handles", lambda: True)
    assert str(store._error(sqlite3.OperationalError("unable to open database file"))) == (
        f"cannot open the score store {store.path} (unable to open database file): the process has as many files "
        "open as its limit allows; raise it, `ulimit -n 4096`, and rerun (the scores saved in it are kept)")
    monkeypatch.setattr(store_module, "out_of_file_handles", lambda: False)  # another cause: said as before
    assert str(store._error(sqlite3.OperationalError("unable to open database file"))).startswith(
        f"cannot use the score store {store.path} (unable to open database file); check the file and its disk")


class Conv1D(nn.Module):
    """Hugging Face's ``transformers.pytorch_utils.Conv1D`` as GPT-2 uses it (written here: no transformers needed)."""

    def __init__(self, nf: int, nx: int) -> None:
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf).normal_(0.0, 0.02))
        self.bias = nn.Parameter(torch.full((nf,), 0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, x.reshape(-1, x.size(-1)), self.weight).reshape(*x.shape[:-1], self.nf)


Conv1D.__module__ = "transformers.pytorch_utils"


def test_the_gaussian_init_draws_hugging_faces_conv1d_and_leaves_a_head_tied_to_the_embedding() -> None:
    """The HF audit: GPT-2's maps (``Conv1D``) were never drawn, so seeds and repeats changed nothing; a language
    model's head tied to its embedding was drawn, and the embedding (kept by the docs) with it."""
    emb, head, block = nn.Embedding(10, 6), nn.Linear(6, 10), Conv1D(6, 6)
    head.weight = emb.weight
    model = nn.ModuleDict({"emb": emb, "block": block, "head": head, "plain": nn.Linear(6, 3)})
    table = emb.weight.detach().clone()
    gaussian_init(model, torch.Generator().manual_seed(0))
    expected = torch.Generator().manual_seed(0)  # drawn in module order, each N(0, 1) of its shape, biases 0
    assert torch.equal(block.weight, torch.empty(6, 6).normal_(0.0, 1.0, generator=expected))
    assert torch.equal(model["plain"].weight, torch.empty(3, 6).normal_(0.0, 1.0, generator=expected))
    assert torch.equal(emb.weight, table) and head.weight is emb.weight  # the tied weight keeps its values
    assert not block.bias.any() and not head.bias.any() and not model["plain"].bias.any()
    kin = type("Conv1D", (nn.Module,), {})  # a Conv1D of another library, not a Linear: kept
    other = kin()
    other.weight = nn.Parameter(torch.zeros(2, 2))
    gaussian_init(other, torch.Generator().manual_seed(0))
    assert not other.weight.any()
    gpt = nn.Sequential(Conv1D(16, 4), nn.ReLU(), Conv1D(16, 16), nn.ReLU())
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
    assert len({swapnas.score(gpt, x, "swap_ext", seed=s)["swap_ext"] for s in range(4)}) > 1  # (all equal before)


def _saturation(count: int, rows: int, neurons: int, inputs: int) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_saturated(count, rows, neurons, inputs)
    assert len(caught) == 1 and caught[0].category is SaturationWarning
    return str(caught[0].message)


@pytest.mark.parametrize(("count", "rows", "neurons", "inputs", "said", "advice"), [
    (128, 256, 128, 8, "S = 256 rows on dim 0 of the hooked maps, 32 for each of the 8 inputs",
     "even one input gives 32 rows, and 2**32 patterns pass the 128 hooked neurons, so Ψ only counts neurons at any "
     "number of inputs; a map's rows may not be samples at all (a mixture of experts routes tokens into dim 0): score "
     "maps with one row per input (swap_score's activations=..., input_dims=...) or a larger network"),
    (6280, 144, 6280, 16, "S = 144 rows on dim 0 of the hooked maps, 9 for each of the 16 inputs",
     "use fewer inputs (1 input, S = 9 rows, where 2**S meets the 6280 hooked neurons)"),
    (250, 8, 65536, 4, "S = 8 rows on dim 0 of the hooked maps, 2 for each of the 4 inputs",
     "use more inputs (8 inputs, S = 16 rows, where 2**S meets the 65536 hooked neurons) or a smaller scored network"),
    (250, 8, 256, 4, "S = 8 rows on dim 0 of the hooked maps, 2 for each of the 4 inputs",
     "2**S already meets the neuron count: use a smaller scored network or other inputs"),
    (62, 8, 64, 8, "S = 8 samples", "nearly every hooked neuron has a pattern of its own, so Ψ only counts neurons; "
     "use fewer samples (S = 6, where 2**S meets the 64 hooked neurons; more samples only raise Ψ towards the neuron "
     "count, and a smaller scored network only lowers that count)"),
])
def test_a_saturation_warning_on_maps_of_several_rows_per_input_counts_inputs(
        count: int, rows: int, neurons: int, inputs: int, said: str, advice: str) -> None:
    """The HF audit: a mixture of experts' maps hold routed tokens on dim 0 (256 rows for 8 inputs), and the warning
    said "S = 256 samples" and advised "use fewer samples (S = 7)" (the user gave 8)."""
    ceiling = min(2**rows, neurons)
    assert _saturation(count, rows, neurons, inputs) == (
        f"SWAP-Score {count} is {count / ceiling:.0%} of its ceiling min(2**S, neurons) = {ceiling} ({said}, "
        f"{neurons} hooked neurons): it cannot rank such networks; {advice}")


class _Tiles(nn.Module):
    """Each input cut into two rows before a wide ReLU layer (as a jigsaw's tiles, or routed tokens)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc, self.act = nn.Linear(16, 4096), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.fc(x.reshape(-1, 16)))


def test_swap_score_on_maps_of_two_rows_per_input_says_the_inputs() -> None:
    x = torch.randn(4, 32, generator=torch.Generator().manual_seed(0))
    with pytest.warns(SaturationWarning, match=r"\(S = 8 rows on dim 0 of the hooked maps, 2 for each of the 4 "
                      r"inputs, 4096 hooked neurons\): .* use more inputs \(6 inputs, S = 12 rows"):
        swap_score(_Tiles(), x, activations=(nn.ReLU,), input_dims=(2,))


class _SharedTable(nn.Module):
    """A ReLU MLP run once on a table shared by every sample (Swin V2's continuous position bias), then a GELU MLP."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(1, 3, 3, 2, generator=torch.Generator().manual_seed(0)))
        self.bias_mlp, self.relu = nn.Linear(2, 8), nn.ReLU()
        self.fc, self.gelu = nn.Linear(9 * 8, 16), nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.relu(self.bias_mlp(self.table)).reshape(1, -1)  # (1, 3, 3, 8): one row for all samples
        return self.gelu(self.fc(x + bias))


def test_a_map_computed_once_for_all_samples_is_refused_with_the_way_out() -> None:
    """The HF audit: Swin V2 was refused as "Likely a batch_first=False module": its position-bias map is computed once
    for every sample. Leaving such maps out was tried and taken back (the session's review: a model that runs its
    samples one at a time, or flattens them into one row, gave a wrong Ψ without a word): the refusal names them."""
    x = torch.randn(6, 72, generator=torch.Generator().manual_seed(1))
    model = _SharedTable()
    with pytest.raises(ValueError, match=r"^a hooked map holds 1 rows on dim 0 and the inputs S = 6 samples: SWAP "
                       r"reads dim 0 of every map as the samples \(or k·S tiles\)\. Likely a map computed once for all "
                       r"the samples \(a position-bias table, as Swin V2's MLP makes: leave its activation kind out, "
                       r"swap_score's activations=\.\.\.\), a model that runs its samples one at a time, or a "
                       r"batch_first=False module"):
        swap_score(model, x, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4))
    assert swap_score(model, x, activations=(nn.GELU,), input_dims=(2, 3, 4)) > 1  # the way out works
    with pytest.raises(ValueError, match=r"holds 2 rows on dim 0 and the inputs S = 6 samples: SWAP reads dim 0 of "
                       r"every map as the samples \(or k·S tiles\)\. Likely a batch_first=False module"):
        swap_score(nn.Sequential(_Rows(2), nn.ReLU()), x, activations=(nn.ReLU,), input_dims=(2,))


class _Rows(nn.Module):
    """Every input reshaped into ``rows`` rows."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(self.rows, -1)


def test_an_arch_scored_with_a_filled_part_is_counted_and_said_in_the_report() -> None:
    """The statistics audit: vkdnw_agg counted an arch whose jacob_cov failed as scored (n 80, fail 0), and only a
    console line said its part was filled; report.md and results.json said nothing."""
    p = get_proxy("vkdnw_agg")
    records = _records({"jacob_cov": 2})
    records["vkdnw_agg"] = set_level_records(p, records)
    assert _filled_archs(p, records) == 1
    records["vkdnw_agg"][2] = Record("failed", None, None, [], 1.0, None, "part failed: vkdnw: boom")
    assert _filled_archs(p, records) == 0  # (an arch left out is a failure, not filled)
    assert _filled_archs(get_proxy("swap"), {"swap": [ok_record]}) == 0
    common = dict(key="k", space="nb201", dataset="cifar10", n=80, failures=0, spearman=0.5, kendall=0.4,
                  spearman_ci=(0.3, 0.6), top10_spearman=0.1, spearman_given_params=0.2, seconds_per_arch=1.0,
                  higher_is_better=True)
    lines = failure_lines([ProxyResult("vkdnw_agg", filled=1, **common), ProxyResult("swap", **common)])
    assert lines == ["FILLED vkdnw_agg: 1 of its 80 scored archs has a part that failed (jacob_cov), counted at "
                     "that part's worst value over the set, as the proxy's published aggregation does, not left out"]
    two = failure_lines([ProxyResult("vkdnw_agg", filled=2, **common)])
    assert two[0].startswith("FILLED vkdnw_agg: 2 of its 80 scored archs have a part that failed")


def test_the_space_tables_p_at_k_of_a_constant_score_is_nan_as_correlates() -> None:
    """The statistics audit: correlate said nan, scripts/nb201_space_table.py 0.013 / 0.050 / 0.100 (the expected
    overlap of a random order) for the same constant score."""
    mod = load_script("nb201_space_table", "t60c")
    truth = np.arange(20, dtype=float)
    assert mod.row("te_nas_lr", np.full(20, 16.0), truth, 0) == "| te_nas_lr | 20 | 0 | nan | nan | nan | nan | nan |"
    assert mod.row("p", truth.copy(), truth, 1) == "| p | 20 | 1 | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 |"


def test_the_top_10_percent_subset_is_counted_also_where_its_rho_is_nan() -> None:
    """The statistics audit: top10_n was 0 for a constant score (or n < 3) beside a subset of 8 archs."""
    truth = np.arange(80, dtype=float)
    assert stats_correlate(np.full(80, 16.0), truth).top10_n == 8  # y >= its 90th percentile (71.1): 72 … 79
    assert np.isnan(stats_correlate(np.full(80, 16.0), truth).top10_spearman)
    assert stats_correlate(np.arange(80.0), np.full(80, 1.0)).top10_n == 80  # all tied at the cut
    assert stats_correlate(np.array([1.0, 2.0]), np.array([3.0, 4.0])).top10_n == 1
    assert stats_correlate(np.array([]), np.array([])).top10_n == 0
    assert stats_correlate(np.arange(80.0), truth).top10_n == 8


def test_report_says_which_metrics_are_negated(tmp_path: Path) -> None:
    """The statistics audit: report.md, results.tex and the plots never said that lower-is-better metrics are
    negated (te_nas_ntk ρ = +0.691 in the title, its raw score falling with accuracy on the left)."""
    common = dict(key="k", space="nb201", dataset="cifar10", n=3, failures=0, spearman=0.5, kendall=0.4,
                  spearman_ci=(0.3, 0.6), top10_spearman=0.1, spearman_given_params=0.2, seconds_per_arch=1.0)
    results = [ProxyResult("swap", higher_is_better=True, **common),
               ProxyResult("te_nas_ntk", higher_is_better=False, **common)]
    run = CorrelateRun({}, "truth", "", results, {"swap": [1.0, 2.0, 3.0], "te_nas_ntk": [3.0, 2.0, 1.0]},
                       [1.0, 2.0, 3.0], [], 1.0)
    notes = run_notes(run)
    assert ("- Lower is better for te_nas_ntk: its scores are negated before every statistic, so a good one has ρ > 0 "
            "(and the plots' rank panel puts its best right); results.csv and the plots' score panel show the scores "
            "as stored.") in notes
    assert not any("Lower is better" in line for line in run_notes(dataclasses.replace(run, results=results[:1])))
    seen: list[str] = []
    real = Axes.set_xlabel

    def spy(self: Axes, label: str, *args: object, **kwargs: object) -> object:
        seen.append(label)
        return real(self, label, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Axes, "set_xlabel", spy)
        scatter_plot([3.0, 2.0, 1.0], [1.0, 2.0, 3.0], results[1], "truth", tmp_path)
        scatter_plot([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], results[0], "truth", tmp_path)
    assert seen[0] == "te_nas_ntk score (lower is better)" and seen[2] == "swap score"


class GELUActivation(nn.Module):
    """Hugging Face's GELU module (``transformers.activations``), written here."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.gelu(x)


GELUActivation.__module__ = "transformers.activations"


def test_an_activation_module_of_another_library_is_named_with_the_proxy_that_hooks_it() -> None:
    """The HF audit: swap_ext on Llama/ConvNeXt said "it has no activation module at all" and advised grad_norm and
    synflow; on BERT it advised hooking the pooler's nn.Tanh."""
    model = nn.Sequential(nn.Linear(4, 8), GELUActivation(), nn.Linear(8, 2), nn.Tanh())
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    with pytest.raises(swapnas.UnsupportedModel) as got:
        swapnas.score(model, x, "swap_ext")
    text = str(got.value)
    assert "with a 2/3/4-D input; it has Tanh, GELUActivation module(s). As a proxy:" in text
    assert ("swap_fn for activations called as functions. This model's GELUActivation is an activation module of "
            "another library (Hugging Face's, timm's): swap_fn hooks it. (Calling swapnas.swap_score itself: "
            "Activations called as functions (F.relu, torch.relu, F.gelu, …) and activation modules of other libraries "
            "(GELUActivation) are hooked with functions=True (the proxy swap_fn). Tanh is not hooked") in text
    assert "no activation to count" not in text and swapnas.score(model, x, "swap_fn")["swap_fn"] > 0
    bare = nn.Sequential(nn.Linear(4, 8), GELUActivation())
    with pytest.raises(swapnas.NoActivationError, match=r"it has GELUActivation module\(s\)\. Activations called as "
                       r"functions \(F.relu, torch.relu, F.gelu, …\) and activation modules of other libraries "
                       r"\(GELUActivation\) are hooked with functions=True \(the proxy swap_fn\), with input_dims"):
        swap_score(bare, x)


class _Masked(nn.Module):
    """Token ids and an attention mask by position, as ``BertModel(ids, mask)`` takes them (its parameter not named as a
    mask: one so named is read by name since session 61, test_session61)."""

    def __init__(self) -> None:
        super().__init__()
        self.emb, self.fc, self.act = nn.Embedding(20, 8), nn.Linear(8, 8), nn.GELU()

    def forward(self, ids: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        return self.act(self.fc(self.emb(ids)))


def test_an_integer_attention_mask_by_position_that_pads_on_the_right_is_warned_about() -> None:
    """The HF audit: ``((ids, mask), None)`` scored 248 with pad id 0 and 247 with pad id 7, without a word (a bool
    mask by position was warned about; an integer one was taken as token type ids)."""
    ids = torch.randint(1, 20, (4, 6), generator=torch.Generator().manual_seed(0))
    mask = torch.ones(4, 6, dtype=torch.int64)
    mask[1, 4:] = 0
    with pytest.warns(UserWarning, match=r"the inputs' 'item 1' looks like a padding mask that SWAP cannot line up"):
        swap_score(_Masked(), (ids, mask), activations=(nn.GELU,), input_dims=(3,))
    type_ids = torch.zeros(4, 6, dtype=torch.int64)
    type_ids[:, 3:] = 1  # token type ids: a first segment of 0s, then 1s
    full = torch.ones(4, 6, dtype=torch.int64)  # a mask that pads nothing
    for quiet in (type_ids, full):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.simplefilter("ignore", SaturationWarning)
            swap_score(_Masked(), (ids, quiet), activations=(nn.GELU,), input_dims=(3,))
    assert not _right_padded(mask.float()) and not _right_padded(mask.bool()) and not _right_padded(mask[0])
    assert _right_padded(mask) and not _right_padded(torch.tensor([[1, 0, 1]])) and not _right_padded(mask * 2)


class _Attention(nn.Module):
    """One head of self-attention through ``F.scaled_dot_product_attention`` (as Hugging Face's "sdpa" models, timm's
    ViTs), then a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv, self.head = nn.Linear(8, 24), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, length, _ = x.shape  # two heads of 4: (S, heads, L, 4), the kernel's fused path on the CPU
        q, k, v = (t.reshape(s, length, 2, 4).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1))
        out = nn.functional.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(s, length, 8)
        return self.head(out.mean(dim=1))


def test_grasp_scores_a_model_with_scaled_dot_product_attention() -> None:
    """The HF audit: grasp failed on every Hugging Face attention model with "derivative for
    aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented" (refusing them was tried first; the
    review found plain modules calling the function, timm's, and asked for the math kernel, which back-propagates
    twice). Its code digest, what stores record, is the one before."""
    gen = torch.Generator().manual_seed(0)
    data = (torch.randn(6, 5, 8, generator=gen), torch.tensor([0, 1, 2, 0, 1, 2]))
    got = swapnas.score(_Attention(), data, "grasp")["grasp"]
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):  # the same by hand
        assert got == swapnas.score(_Attention(), data, "grasp")["grasp"] and math.isfinite(got)
    # (session 59's grasp, as stores recorded it until session 62)
    assert legacy_code_digest(get_proxy("grasp").fn) == "f8348c33ab5d395a"


class _Outputs(nn.Module):
    """A classifier returning a dict: ``{"logits": …}`` with ``head``, else a base model's hidden states."""

    def __init__(self, head: bool) -> None:
        super().__init__()
        self.head, self.fc, self.act = head, nn.Linear(4, 3), nn.ReLU()

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.act(self.fc(x))
        return {"logits": out} if self.head else {"last_hidden_state": out, "pooler_output": out}


def test_the_output_hint_names_logits_where_the_output_holds_them_and_is_not_added_to_unrelated_errors() -> None:
    """The HF audit: "out[0]" of a base model is its hidden states (label metrics then refuse them); the hint was
    appended to az_nas_trainability's "produced no 4-D feature map" too."""
    data = (torch.randn(6, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 0, 1, 2]))
    with pytest.raises(swapnas.UnsupportedModel, match=r"\(grad_norm needs the model to return its output tensor "
                       r"\(logits\), and it returns a dict: wrap it to return out\['logits'\]\)$"):
        swapnas.score(_Outputs(True), data, "grad_norm")
    with pytest.raises(swapnas.UnsupportedModel, match=r"and it returns a dict: it holds no logits \("
                       r"last_hidden_state, "
                       r"pooler_output\): score the model with a classification head, or with a metric that reads "
                       r"activations or weights \(swap_fn, l2_norm, vkdnw_layers, …\)\)$"):
        swapnas.score(_Outputs(False), data, "grad_norm")
    batch = Batch(data[0], data[1], 3, "mine", "test", 6)
    assert hint(get_proxy("grad_norm"), _Outputs(True), batch, RuntimeError("produced no 4-D feature map")) == ""
    assert hint(get_proxy("grad_norm"), _Outputs(True), batch, RuntimeError("bad state_dict")) == ""  # (the review)
    assert "wrap it" in hint(get_proxy("grad_norm"), _Outputs(True), batch, AttributeError("'dict' has no 'dim'"))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX open-file limits")
def test_a_pool_raises_a_low_soft_open_file_limit_or_refuses_before_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 59 left, and worse: under `ulimit -n 24` with --workers 2 the workers printed tracebacks and the run
    hung after its error (killed by `timeout` after 300 s)."""
    import resource

    limits, set_to = [(24, 24)], []
    monkeypatch.setattr(resource, "getrlimit", lambda which: limits[0])
    monkeypatch.setattr(resource, "setrlimit", lambda which, value: set_to.append(value))
    with pytest.raises(ValueError, match=r"^--workers 2: this process may open at most 24 files \(the hard limit, "
                       r"`ulimit -Hn`, which only an administrator can raise\), and 2 worker processes need about 32 "
                       r"\(their pipes, and a file handle for each tensor sent to them\); use --workers 1, which "
                       r"scores in this process$"):  # (session 68: it advised `ulimit -n 4096`, which fails there)
        check_open_files(2)
    assert set_to == []
    for soft_hard, raised in [((24, 100), (100, 100)), ((24, 10**6), (4096, 10**6)),
                              ((24, resource.RLIM_INFINITY), (4096, resource.RLIM_INFINITY))]:
        limits[0] = soft_hard
        assert check_open_files(2) == soft_hard  # (the limits before, to put back)
        assert set_to.pop() == raised
    limits[0] = (5000, resource.RLIM_INFINITY)  # (the review: a soft limit above 4096 was lowered to it)
    assert check_open_files(1000) == (5000, resource.RLIM_INFINITY) and set_to.pop() == (8016, resource.RLIM_INFINITY)
    restore_open_files((5000, resource.RLIM_INFINITY))
    assert set_to.pop() == (5000, resource.RLIM_INFINITY)
    for enough in [(32, 32), (resource.RLIM_INFINITY, resource.RLIM_INFINITY), (31, 40)]:
        limits[0] = enough
        check_open_files(1 if enough[0] == 31 else 2)  # 1 worker needs 24
        assert set_to == []
    limits[0] = (79, 79)
    with pytest.raises(ValueError, match="8 worker processes need about 80"):
        check_open_files(8)
    executor = PoolExecutor(2)
    limits[0] = (24, 24)
    with pytest.raises(ValueError, match="--workers 2: this process may open at most 24 files"):
        executor._ensure_pool()
    assert executor._pool is None  # refused before any process started
    executor._nofile = (24, 100)  # as a pool that raised the limit holds it: closing puts it back
    executor.close()
    assert set_to == [(24, 100)] and executor._nofile is None


def test_a_mask_beside_decoder_inputs_and_their_own_mask_says_the_decoder_reason() -> None:
    """The review: with the usual seq2seq inputs the decoder's own mask came first, and the warning said "pass it by
    keyword as attention_mask" of a mask passed so."""

    class Seq2Seq(_Masked):
        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,  # type: ignore[override]
                    decoder_input_ids: torch.Tensor | None = None,
                    decoder_attention_mask: torch.Tensor | None = None) -> torch.Tensor:
            return super().forward(input_ids)

    ids = torch.randint(1, 20, (4, 6), generator=torch.Generator().manual_seed(0))
    mask = torch.ones(4, 6, dtype=torch.int64)
    mask[1, 4:] = 0
    inputs = {"input_ids": ids, "decoder_input_ids": ids, "decoder_attention_mask": mask, "attention_mask": mask}
    with pytest.warns(UserWarning, match=r"^the inputs' 'attention_mask' is not applied to the hooked maps: beside "
                      "decoder inputs"):
        swap_score(Seq2Seq(), inputs, activations=(nn.GELU,), input_dims=(3,))


class SiLUActivation(nn.Module):
    """Hugging Face's SiLU module, written here."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.silu(x)


SiLUActivation.__module__ = "transformers.activations"


def test_activation_modules_of_other_libraries_are_named_also_with_functions_on() -> None:
    """The mutation run: with functions=True they were left out of what the model holds ("it has no activation module
    at all … SWAP has no activation to count"), though widening input_dims hooks them; and they were joined by a bare
    comma."""
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    model = nn.Sequential(nn.Linear(4, 8), GELUActivation(), nn.Linear(8, 8), SiLUActivation())
    with pytest.raises(swapnas.NoActivationError) as got:
        swap_score(model, x, functions=True, input_dims=(4,))
    assert got.value.finding.endswith("; it has GELUActivation, SiLUActivation module(s)")
    assert got.value.advice == "Pass input_dims=(2, 3, 4) to hook others."
    assert swap_score(model, x, functions=True, input_dims=(2, 3, 4)) > 0  # the advice works
    with pytest.raises(swapnas.NoActivationError, match=r"and activation modules of other libraries \(GELUActivation, "
                       r"SiLUActivation\) are hooked with functions=True"):
        swap_score(model, x)


def test_best_on_a_model_with_activation_modules_of_another_library_points_to_swap_fn() -> None:
    """The HF audit: `best`'s refusal pointed a Transformer to swap_ext_layers, which hooks none of Hugging Face's
    activation modules; it still does for other Transformers."""
    ids = torch.randint(0, 20, (6, 5), generator=torch.Generator().manual_seed(0))
    hf = nn.Sequential(nn.Embedding(20, 8), nn.Linear(8, 8), GELUActivation(), nn.Linear(8, 3))
    with pytest.raises(swapnas.UnsupportedModel, match=r"F\.gelu; this model's activations are modules of another "
                       r"library \(GELUActivation\): use swap_fn, which hooks them\)$"):
        swapnas.score(hf, ids, "best")
    assert swapnas.score(hf, ids, "swap_fn")["swap_fn"] > 0
    torch_own = nn.Sequential(nn.Embedding(20, 8), nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 3))
    with pytest.raises(swapnas.UnsupportedModel, match=r"activations as functions, F\.gelu\)$"):
        swapnas.score(torch_own, ids, "best")
