"""Review 60: tests for the mutants of session 60's change that its own tests (and the older suite) let survive."""

from __future__ import annotations

import errno
import os
import sqlite3
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import swapnas
from swapnas import store as store_module
from swapnas import store_files
from swapnas.inits import gaussian_init
from swapnas.open_files import check_open_files
from swapnas.padding import _right_padded, live_positions
from swapnas.report import run_notes
from swapnas.results import CorrelateRun, ProxyResult
from swapnas.store import ScoreStore
from swapnas.store_files import out_of_file_handles
from swapnas.swap_checks import not_a_module

from tests.script_tools import load_script
from tests.test_correlate_mutants import _run, calls  # noqa: F401  (calls: the fixture)
from tests.test_session60 import GELUActivation, _saturation


class _Handles:
    """``os.open`` / ``os.close`` for :func:`out_of_file_handles` with at most ``free`` handles open at once (real ones,
    on ``os.devnull``), beyond which an open fails with ``error``."""

    def __init__(self, free: int, error: int) -> None:
        self.free, self.error, self.live, self.opened = free, error, set[int](), 0

    def open(self, path: str, flags: int) -> int:
        if len(self.live) >= self.free:
            raise OSError(self.error, os.strerror(self.error))
        fd = os.open(path, flags)
        self.live.add(fd)
        self.opened += 1
        return fd

    def close(self, fd: int) -> None:
        self.live.remove(fd)
        os.close(fd)


@pytest.mark.parametrize(("free", "error", "spare", "out"), [
    (2, errno.EMFILE, 3, True), (3, errno.EMFILE, 3, False), (2, errno.EMFILE, 2, False), (0, errno.EMFILE, 1, True),
    (1, errno.ENFILE, 3, True), (0, errno.EACCES, 3, False),
])
def test_out_of_file_handles_holds_its_spare_handles_at_once_and_closes_them(
        free: int, error: int, spare: int, out: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Out: fewer than ``spare`` (3 by default: the store, its -wal and -shm) can be open at once, for want of handles
    (EMFILE: the process's limit; ENFILE: the system's); another error (EACCES) is no want of handles."""
    handles = _Handles(free, error)
    monkeypatch.setattr(store_files, "os", types.SimpleNamespace(open=handles.open, close=handles.close,
                                                                 devnull=os.devnull, O_RDONLY=os.O_RDONLY))
    assert (out_of_file_handles() if spare == 3 else out_of_file_handles(spare)) is out
    assert handles.live == set() and handles.opened == min(free, spare)  # every one it opened is closed


def test_a_store_that_sqlite_cannot_open_says_the_file_limit_also_where_the_text_does_not_say_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file-handle cause is read from SQLite's error name (SQLITE_CANTOPEN…) as well as its text."""
    store = ScoreStore(tmp_path / "s.sqlite")
    store.close()
    exc = sqlite3.OperationalError("cannot open file")
    exc.sqlite_errorname = "SQLITE_CANTOPEN"
    monkeypatch.setattr(store_module, "out_of_file_handles", lambda: True)
    assert str(store._error(exc)) == (
        f"cannot open the score store {store.path} (cannot open file): the process has as many files open as its limit "
        "allows; raise it, `ulimit -n 4096`, and rerun (the scores saved in it are kept)")
    new = ScoreStore.__new__(ScoreStore)  # a store not yet on disk: nothing said kept
    new.path = str(tmp_path / "new.sqlite")
    assert str(new._error(exc)).endswith("raise it, `ulimit -n 4096`, and rerun")


class _Thing:
    def method(self) -> None:
        """A method of an object that is no module."""


def test_not_a_module_names_the_owner_only_where_it_is_a_module() -> None:
    assert not_a_module([].append) == "builtin_function_or_method"  # bound to a list: no module to pass
    assert not_a_module(_Thing().method) == "method"
    assert not_a_module(_Thing()) == "_Thing"
    assert not_a_module(nn.Linear(2, 2).forward) == "method of a Linear (pass the module itself)"


@pytest.mark.parametrize(("count", "rows", "neurons", "inputs", "advice"), [
    (16, 16, 16, 4, "use fewer inputs (1 input, S = 4 rows, where 2**S meets the 16 hooked neurons)"),  # balance == k
    (31, 12, 32, 4, "use fewer inputs (2 inputs, S = 6 rows, where 2**S meets the 32 hooked neurons)"),  # 5/3 -> 2
    (125, 12, 128, 4, "use fewer inputs (2 inputs, S = 6 rows, where 2**S meets the 128 hooked neurons)"),  # 7/3 -> 2
])
def test_the_rows_advice_rounds_the_inputs_where_2_to_the_s_meets_the_neurons(
        count: int, rows: int, neurons: int, inputs: int, advice: str) -> None:
    """k rows per input, balance = round(log2(neurons)): the inputs to use are round(balance / k); where one input's
    k rows already meet the neurons (balance == k), that is 1 input, not "Ψ only counts neurons"."""
    assert _saturation(count, rows, neurons, inputs).endswith(f"; {advice}")  # fewer: a smaller network lowers N


class SiLUActivation(nn.Module):
    """Hugging Face's SiLU module (``transformers.activations``), written here."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.silu(x)


SiLUActivation.__module__ = "transformers.activations"


def test_several_activation_modules_of_other_libraries_are_each_named_once() -> None:
    model = nn.Sequential(nn.Linear(4, 8), GELUActivation(), nn.Linear(8, 8), SiLUActivation(), nn.Linear(8, 8),
                          GELUActivation(), nn.Linear(8, 2))
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    with pytest.raises(swapnas.UnsupportedModel) as got:
        swapnas.score(model, x, "swap_ext")
    assert ("swap_fn for activations called as functions. This model's GELUActivation, SiLUActivation are activation "
            "modules of another library (Hugging Face's, timm's): swap_fn hooks them. (Calling swapnas.swap_score "
            "itself: ") in str(got.value)


def test_the_note_on_negated_scores_names_every_lower_is_better_metric() -> None:
    common = dict(key="k", space="nb201", dataset="cifar10", n=3, failures=0, spearman=0.5, kendall=0.4,
                  spearman_ci=(0.3, 0.6), top10_spearman=0.1, spearman_given_params=0.2, seconds_per_arch=1.0)
    results = [ProxyResult("te_nas_ntk", higher_is_better=False, **common),  # type: ignore[arg-type]
               ProxyResult("swap", higher_is_better=True, **common),  # type: ignore[arg-type]
               ProxyResult("zen_lower", higher_is_better=False, **common)]  # type: ignore[arg-type]
    run = CorrelateRun({}, "truth", "", results, {}, [1.0, 2.0, 3.0], [], 1.0)
    assert ("- Lower is better for te_nas_ntk, zen_lower: their scores are negated before every statistic, so a good "
            "one has ρ > 0 (and the plots' rank panel puts its best right); results.csv and the plots' score panel "
            "show the scores as stored.") in run_notes(run)


def test_the_space_tables_p_at_k_against_a_constant_truth_is_nan() -> None:
    mod = load_script("nb201_space_table", "r60c")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy: a constant input
        line = mod.row("p", np.arange(20, dtype=float), np.full(20, 93.0), 0)
    assert line == "| p | 20 | 0 | nan | nan | nan | nan | nan |"


def test_right_padded_takes_only_a_2d_mask_of_1s_then_0s_in_rows_that_start_with_a_token() -> None:
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert _right_padded(mask)
    assert not _right_padded(mask[:, :, None])  # 3-D
    assert not _right_padded(torch.tensor([[1, 0, -1], [1, 1, 1]]))  # falls, but not 0/1
    assert not _right_padded(torch.tensor([[1, 1, 0], [0, 0, 0]]))  # a row of pads only: not a mask by position
    assert not _right_padded(mask.to(torch.complex64))


def test_the_first_input_by_position_is_never_taken_for_a_mask() -> None:
    ids = torch.tensor([[1, 1, 0], [1, 1, 1]])  # ids of a two-token vocabulary, which look like a padded mask
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert live_positions((ids,)) is None
    with pytest.warns(UserWarning, match=r"^the inputs' 'item 1' looks like a padding mask"):
        assert live_positions((ids, ids)) is None


def test_a_pool_whose_hard_open_file_limit_is_just_enough_raises_the_soft_one_to_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    limits, set_to = [(24, 32)], []
    monkeypatch.setattr(resource, "getrlimit", lambda which: limits[0])
    monkeypatch.setattr(resource, "setrlimit", lambda which, value: set_to.append(value))
    check_open_files(2)  # needs 32
    assert set_to == [(32, 32)]
    limits[0] = (24, 31)
    with pytest.raises(ValueError, match=r"^--workers 2: this process may open at most 31 files \(the hard limit, "
                       r"`ulimit -Hn`, .*\), and 2 worker processes need about 32 "):  # (session 68: the hard one)
        check_open_files(2)
    assert set_to == [(32, 32)]


class ModelOutput(dict):
    """Hugging Face's model output (an OrderedDict there), written here."""


class _Tensor(nn.Module):
    def __init__(self, mapping: type | None = None) -> None:
        super().__init__()
        self.fc, self.mapping = nn.Linear(4, 3), mapping

    def forward(self, x: torch.Tensor) -> object:
        return self.fc(x) if self.mapping is None else self.mapping({"logits": self.fc(x)})


def test_the_output_hint_is_not_said_of_a_tensor_output_nor_out_0_of_a_mapping() -> None:
    from swapnas.api_failures import hint
    from swapnas.data import Batch
    from swapnas.proxies import get_proxy

    x, y = torch.randn(6, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 0, 1, 2])
    batch, p = Batch(x, y, 3, "mine", "test", 6), get_proxy("grad_norm")
    assert hint(p, _Tensor(), batch, RuntimeError("a Tensor of the wrong shape")) == ""  # the output is a tensor
    for kind in (types.MappingProxyType, ModelOutput):  # a Mapping, not a dict; a name in capitals
        name = kind.__name__
        assert hint(p, _Tensor(kind), batch, TypeError(f"cannot take the loss of a {name}")) == (
            f" (grad_norm needs the model to return its output tensor (logits), and it returns a {name}: wrap it to "
            "return out['logits'])")


def _hf(name: str, weight: torch.Tensor | None, bias: bool = True) -> nn.Module:
    """A module of ``transformers`` named ``name`` with ``weight`` (and a bias of 1s, or none)."""
    kind = type(name, (nn.Module,), {"__module__": "transformers.pytorch_utils"})
    m = kind()
    m.register_parameter("weight", None if weight is None else nn.Parameter(weight))
    if bias:
        m.bias = nn.Parameter(torch.ones(2))
    return m


def test_the_gaussian_init_takes_a_conv1d_only_with_a_2d_weight_and_with_or_without_a_bias() -> None:
    three, none = _hf("Conv1D", torch.zeros(2, 2, 2)), _hf("Conv1D", None)
    bare = _hf("Conv1D", torch.zeros(2, 2), False)
    gaussian_init(nn.Sequential(three, none, bare), torch.Generator().manual_seed(0))
    assert not three.get_parameter("weight").any()  # not a Linear's: kept, its bias too
    assert three.get_parameter("bias").eq(1).all()
    drawn = torch.empty(2, 2).normal_(0.0, 1.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(bare.get_parameter("weight"), drawn)


def _three_sources(tmp_path: Path) -> list[Path]:
    from swapnas.proxies import get_proxy
    from swapnas.scoring import Protocol
    from tests.test_session59 import ok_record

    protocol, params, sources = Protocol("nb201", "cifar10", 8, repeats=1, seed=0, net={"C": 4, "N": 1}), \
        get_proxy("params"), []
    for i, arch in enumerate("abc"):
        with ScoreStore(tmp_path / f"s{i}.sqlite") as store:
            store.add_protocol(protocol.fingerprint, protocol.describe())
            store.put(protocol.key(arch, params), ok_record)
        sources.append(tmp_path / f"s{i}.sqlite")
    return sources


def test_a_damaged_source_after_others_keeps_its_own_advice_and_kind(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The source's error names --store in its advice (a fresh store): not rewritten as INTO's --into."""
    from swapnas import store_merge
    from swapnas.store_files import damaged_advice

    sources, read = _three_sources(tmp_path), store_merge._read

    def damaged(rows: object, path: Path) -> object:
        if path.name == "s1.sqlite":
            raise store_merge._SourceError(f"the source store {path} is damaged: {damaged_advice(path)}")
        return read(rows, path)  # type: ignore[arg-type]

    monkeypatch.setattr(store_merge, "_read", damaged)
    into = tmp_path / "m.sqlite"
    with pytest.raises(store_merge._SourceError) as got:
        store_merge.merge_stores(list(map(str, sources)), into)
    assert str(got.value) == (f"the source store {sources[1]} is damaged: {damaged_advice(sources[1])}. Merged into "
                              f"{into} before it, each whole: {sources[0]}; the merge can be run again with every "
                              f"source (what {into} holds is kept)")


def test_an_error_of_into_during_a_merge_names_the_sources_merged_before_it(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from swapnas import store_merge
    from swapnas.store_files import StoreError

    sources, real, inserts = _three_sources(tmp_path), ScoreStore.insert_rows, []

    def insert(self: ScoreStore, *args: object, **kwargs: object) -> object:
        inserts.append(1)
        if len(inserts) == 3:
            raise StoreError(f"the disk holding the score store {self.path} is full")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ScoreStore, "insert_rows", insert)
    into = tmp_path / "m.sqlite"
    with pytest.raises(StoreError) as got:
        store_merge.merge_stores(list(map(str, sources)), into)
    assert str(got.value) == (f"the disk holding the score store {into} is full. Merged into {into} before it, each "
                              f"whole: {sources[0]}, {sources[1]}; the merge can be run again with every source (what "
                              f"{into} holds is kept)")


@pytest.mark.usefixtures("calls")
def test_run_correlation_counts_the_archs_scored_with_a_filled_part() -> None:
    """corr_diff (swap - te_nas_ntk, a failed ntk filled) over the 9 picked archs: arch07's ntk failed, its swap did
    not (filled); arch05's swap failed (left out, not filled)."""
    run = _run()
    assert [(r.proxy, r.filled) for r in run.results] == [("swap", 0), ("te_nas_ntk", 0), ("corr_diff", 1)]


def test_a_search_whose_fitness_has_only_its_base_stored_reads_none_whole_from_the_store(small_bundle: Path,
                                                                                        tmp_path: Path) -> None:
    """swap_reg after a search by swap on the same store: each arch's swap is stored, its swap_reg is not (partly
    stored), so none of its evaluations is counted as read from the store."""
    from swapnas.search import EAConfig, run_search

    common = dict(config=EAConfig(population=2, sample=1, mutations=1, cycles=1), device=torch.device("cpu"),
                  data_dir=str(small_bundle), progress=False, net={"C": 4, "N": 1}, seed=0)
    with ScoreStore(tmp_path / "s.sqlite") as store, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = run_search("nb201", "cifar10", store=store, out=tmp_path / "a", fitness="swap",
                          **common)  # type: ignore[arg-type]
        derived = run_search("nb201", "cifar10", store=store, out=tmp_path / "b", fitness="swap_reg",
                             **common)  # type: ignore[arg-type]
    first = [h["arch"] for h in derived.history][:2]
    assert first == [h["arch"] for h in base.history][:2]  # (the same first population: their swap stored)
    assert (base.reused, derived.reused) == (0, 0)


def test_the_search_text_says_how_many_of_the_evaluations_were_read_from_the_store() -> None:
    from swapnas.cli.search_command import _search_text
    from tests.search_tools import search_result

    for reused in (1, 3):
        assert _search_text(search_result(reused=reused)).startswith(
            f"best nb201 arch (fitness 1, 8 evaluations ({reused} read from the store), 3 cycles, 1.0 s):\n")


def test_the_rows_advice_says_one_input_passes_the_neurons_where_2_to_the_k_passes_them() -> None:
    """k = 4 rows per input, balance = log2(8) = 3 < k: even one input saturates (not "use fewer inputs (1 input)")."""
    assert _saturation(8, 8, 8, 2).endswith("; even one input gives 4 rows, and 2**4 patterns pass the 8 hooked "
                                            "neurons, so Ψ only counts neurons at any number of inputs; a map's rows "
                                            "may not be samples at all (a mixture of experts routes tokens into dim 0)"
                                            ": score maps with one row per input (swap_score's activations=..., "
                                            "input_dims=...) or a larger network")


class GELU(nn.Module):
    """timm's own ``GELU`` module (``timm.layers.activations``: no subclass of nn.GELU), written here."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.gelu(x)


GELU.__module__ = "timm.layers.activations"


def test_an_activation_of_another_library_with_a_known_name_is_named_once() -> None:
    from swapnas.patterns import NoActivationError, swap_score

    with pytest.raises(NoActivationError, match=r"; it has GELU module\(s\)\. Pass "):
        swap_score(nn.Sequential(nn.Linear(4, 8), GELU()), torch.randn(6, 4))


@pytest.mark.usefixtures("scratch_registry")
def test_an_arch_is_filled_where_any_of_several_fill_parts_failed() -> None:
    from swapnas.correlation import _filled_archs
    from swapnas.proxies import get_proxy
    from swapnas.proxies.registry import register_set
    from swapnas.store import Record

    register_set("two_filled", ("swap", "te_nas_ntk"), lambda parts: parts[0] - parts[1], description="test",
                 fill_failed=("swap", "te_nas_ntk"))
    ok, bad = Record("ok", 1.0, 0.0, [1.0], 1.0, None, None), Record("failed", None, None, [], 1.0, None, "boom")
    records = {"swap": [ok, bad, bad], "te_nas_ntk": [ok, ok, bad], "two_filled": [ok, ok, ok]}
    assert _filled_archs(get_proxy("two_filled"), records) == 2  # one part failed, or both


class NewGELUActivation(nn.GELU):
    """Hugging Face's kind of GELU that is an nn.GELU (hooked by swap_ext), written here."""


NewGELUActivation.__module__ = "transformers.activations"


@pytest.mark.parametrize("act", [nn.GELU, NewGELUActivation])
def test_swap_names_no_module_of_another_library_where_swap_ext_hooks_every_one(act: type[nn.Module]) -> None:
    """swap hooks nn.ReLU on 4-D maps: this model's ReLU is on 2-D ones."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3), act(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2), nn.ReLU())
    with pytest.raises(swapnas.UnsupportedModel) as got:
        swapnas.score(model, torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(0)), "swap")
    assert "swap_fn for activations called as functions. (Calling swapnas.swap_score itself: " in str(got.value)


def test_correlate_ranks_from_three_archs_and_nothing_by_a_constant_truth() -> None:
    from swapnas.stats import correlate

    assert correlate(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]), n_boot=0).spearman == 1.0
    two = correlate(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert np.isnan(two.spearman) and np.isnan(two.kendall) and two.top10_n == 1
    flat = correlate(np.arange(20.0), np.full(20, 71.0))  # every arch as good: no ranking, no P@10%
    assert np.isnan([flat.spearman, flat.kendall, *flat.spearman_ci, flat.top10_precision]).all()
    assert flat.top10_n == 20


def test_beside_decoder_inputs_the_decoder_warning_is_said_of_the_encoders_mask_by_its_known_names() -> None:
    ids, pads = torch.tensor([[3, 4, 5], [3, 4, 5]]), torch.tensor([[False, False, True], [False, False, False]])
    with pytest.warns(UserWarning, match=r"^the inputs' 'src_key_padding_mask' is not applied to the hooked maps: "
                      "beside decoder inputs"):
        assert live_positions({"src": ids, "src_key_padding_mask": pads, "decoder_input_ids": ids}) is None
    mask = (~pads).long()
    with pytest.warns(UserWarning, match=r"^the inputs' 'decoder_attention_mask' looks like a padding mask that SWAP "
                      "cannot line up"):  # a name of its own: the general warning
        assert live_positions({"input_ids": ids, "attention_mask": torch.ones_like(mask), "decoder_input_ids": ids,
                               "decoder_attention_mask": mask}) is None


def test_a_head_tied_to_a_nested_embedding_keeps_its_values() -> None:
    emb, head = nn.Embedding(10, 6), nn.Linear(6, 10)
    head.weight = emb.weight
    model = nn.Sequential(nn.Sequential(emb), head)
    table = emb.weight.detach().clone()
    gaussian_init(model, torch.Generator().manual_seed(0))
    assert torch.equal(emb.weight, table) and not head.get_parameter("bias").any()
