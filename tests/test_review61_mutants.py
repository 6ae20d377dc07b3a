"""Session 61's mutation run: tests for the mutants of the session's lines that the other tests let live."""

from __future__ import annotations

import logging
import types
import warnings

import pytest
import torch
from torch import nn

import swapnas
from swapnas.padding import by_name, shared_mask_hint
from swapnas.proxies.registry import register
from tests.registry_tools import registry_snapshot
from tests.test_padding import _batch

MiB = 2**20


def _limit(monkeypatch: pytest.MonkeyPatch, soft: int) -> None:
    import resource
    monkeypatch.setattr(resource, "getrlimit", lambda which: (soft, resource.RLIM_INFINITY))


def test_an_address_space_of_one_and_a_half_gib_is_warned_of(monkeypatch: pytest.MonkeyPatch) -> None:
    """address_space: LOW = 1 GiB (1.5 GiB ran the 5-arch correlate at its limit: still below LOW, warned)."""
    from swapnas.address_space import LOW, low_address_space
    assert LOW == 2 * 2**30
    _limit(monkeypatch, 1536 * MiB)
    assert low_address_space().startswith("this process may use 1536 MiB of address space (ulimit -v): ")
    _limit(monkeypatch, LOW - 1)
    assert low_address_space() is not None


@pytest.mark.parametrize("error", [OSError, ValueError])
def test_a_limit_that_cannot_be_read_is_no_limit(monkeypatch: pytest.MonkeyPatch, error: type) -> None:
    """address_space.address_limit: `except (ImportError, OSError, ValueError)` narrowed to ImportError."""
    import resource

    from swapnas.address_space import address_limit, low_address_space, out_of_address_space

    def fails(which: int) -> tuple[int, int]:
        raise error("no such limit")
    monkeypatch.setattr(resource, "getrlimit", fails)
    assert address_limit() is None and low_address_space() is None
    assert out_of_address_space(ImportError("libtorch_cpu.so: failed to map segment from shared object")) is None


def test_a_memory_error_as_the_command_starts_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """stops.quiet_start_interrupt: `issubclass(kind, (ImportError, MemoryError))` narrowed to ImportError."""
    import sys

    from swapnas.address_space import out_of_address_space
    from swapnas.stops import quiet_start_interrupt
    _limit(monkeypatch, 1000 * MiB)
    calls: list[type] = []
    monkeypatch.setattr(sys, "argv", ["/venv/bin/swapnas", "correlate"])
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: calls.append(kind))
    quiet_start_interrupt()
    sys.excepthook(MemoryError, MemoryError(), None)
    sys.excepthook(ValueError, ValueError("failed to map segment"), None)  # not an import's error: Python's own
    assert capsys.readouterr().err == f"swapnas: {out_of_address_space(MemoryError())}\n"
    assert out_of_address_space(MemoryError()).startswith("MemoryError: this process may use 1000 MiB")
    assert calls == [ValueError]


class _Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class _Big(_Small):
    pass


def _hungry(model: nn.Module, batch: object) -> float:
    if isinstance(model, _Big):
        raise MemoryError()  # numpy's and Python's: no message, the type name alone says it
    return 1.0


_SAID = ("hungry61r{} ran out of memory scoring _Big on inputs of shape (8, 4) (MemoryError): the machine's limit, "
         "not the model's failure; use fewer samples or smaller inputs, score hungry61r alone, or free memory (swap "
         "needs the least: no gradients)")


def test_a_message_less_memory_error_is_told_as_out_of_memory_without_a_cause() -> None:
    """api_failures: the OOM check on the message alone (no type name); `from exc`; `splitlines()[0]` of ''; `why`."""
    from swapnas.requirements import UnsupportedModel
    with registry_snapshot():
        register("hungry61r")(_hungry)
        register("d61r", base="hungry61r")(lambda v, model: v)
        with pytest.raises(UnsupportedModel) as got:
            swapnas.score(_Big(), torch.randn(8, 4), proxies=["hungry61r"])
        assert str(got.value) == _SAID.format("")
        assert got.value.why == "ran out of memory (MemoryError)"  # (no empty ": ": the mutation run's nit)
        assert got.value.__cause__ is None and got.value.__suppress_context__
        with pytest.raises(UnsupportedModel) as got:  # a base scored for a derived metric says so
            swapnas.score(_Big(), torch.randn(8, 4), proxies=["d61r"])
        assert str(got.value) == _SAID.format(" (a part of d61r)")


def test_rank_warns_of_the_model_that_ran_out_of_memory_only() -> None:
    """api.rank: `rows[-1]` read as `rows[0]` (each later model warned of too), and `stacklevel=2` as 1."""
    with registry_snapshot():
        register("hungry61r")(_hungry)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            rows = swapnas.rank({"big": _Big(), "small": _Small()}, torch.randn(8, 4), proxies=["hungry61r"])
    said = [w for w in seen if str(w.message).startswith("rank:")]
    assert [str(w.message) for w in said] == ["rank: scoring 'big' ran out of memory (its error says which metric): "
                                              "its None is no score, not a low one, and it ranks with the unscored"]
    assert said[0].filename == __file__  # the caller's line, not rank's own
    assert [(r["model"], r["hungry61r"]) for r in rows] == [("small", 1.0), ("big", None)]


def test_by_name_keeps_inputs_of_a_builtin_without_a_signature_or_that_bind_only_in_part() -> None:
    """by_name: `except (TypeError, ValueError)` as TypeError; `len(named) == len(inputs)` dropped; bind_partial."""
    ids, mask = _batch(0)
    assert by_name(max, (ids, mask)) == (ids, mask)  # inspect.signature(max): ValueError

    class Rest(nn.Module):  # a third input goes to *rest: as a dict it would be dropped
        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
            return input_ids

    class Three(nn.Module):  # two inputs for three parameters: no call binds them
        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> None:
            pass

    inputs = (ids, mask, ids)
    assert by_name(Rest(), inputs) is inputs
    assert by_name(Rest(), (ids, mask)) == {"input_ids": ids, "attention_mask": mask}
    assert by_name(Three(), (ids, mask)) == (ids, mask)
    assert isinstance(by_name(Three(), (ids, mask)), tuple)


def test_shared_mask_hint_skips_what_is_no_batched_tensor_and_names_the_mask_it_found() -> None:
    """shared_mask_hint: isinstance/t.dim() checks dropped, Mapping as dict, `{shared}=…` as `mask=…`."""
    x, causal = torch.randn(8, 5, 16), torch.zeros(5, 5, dtype=torch.bool)
    assert shared_mask_hint({"src": x, "attention_mask": None}, 8) == ""
    assert shared_mask_hint({"src": x, "attention_mask": torch.tensor(True)}, 8) == ""
    assert shared_mask_hint({"src": x, "src_mask": [[1] * 5] * 5}, 8) == ""
    hint = shared_mask_hint(types.MappingProxyType({"src": x, "src_mask": causal}), 8)
    assert hint == ("; 'src_mask' (5, 5) is one mask for all samples, but every input holds the S = 8 samples on dim "
                    "0: build it inside the model (a wrapper module whose forward passes src_mask=… or is_causal=True) "
                    "and score the wrapper with the other inputs")


def test_remapped_labels_are_noted_at_info_where_no_metric_reads_them(small_bundle, caplog) -> None:
    """data._logged: `logging.WARNING if labels or kind != "labels" else logging.INFO` as WARNING always."""
    from swapnas.data import load_batch, notes_once

    @notes_once
    def load(labels: bool) -> None:
        load_batch("imagenet16-120", 8, data_dir=small_bundle, labels=labels)

    with caplog.at_level(logging.INFO, logger="swapnas.data"):
        load(False)
        load(True)
    levels = [r.levelno for r in caplog.records if "labels outside" in r.getMessage()]
    assert levels == [logging.INFO, logging.WARNING]


def test_a_job_interrupted_before_writing_leaves_no_out_it_made(tmp_path) -> None:
    """files.out_lock: `except BaseException` as `except Exception` (a Ctrl-C left OUT holding only `.lock`)."""
    from swapnas.files import out_lock
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt), out_lock(out):
        raise KeyboardInterrupt
    assert not out.exists()


def test_a_grid_of_no_columns_is_no_refusal(small_bundle, tmp_path) -> None:
    """grid.run_grid: `if columns and not applied` as `if not applied` (nothing asked: nothing refused)."""
    from swapnas.grid import run_grid
    from swapnas.store import ScoreStore
    with ScoreStore(tmp_path / "s.sqlite") as store:
        assert run_grid([], proxies="nwot", store=store, n_archs=3, seed=0, repeats=1, device=torch.device("cpu"),
                        data_dir=str(small_bundle), progress=False) == []


def _search(small_bundle, tmp_path, dataset: str = "cifar10", **kwargs):
    from swapnas.search.driver import run_search
    from swapnas.search.evolution import EAConfig
    from swapnas.store import ScoreStore
    with ScoreStore(tmp_path / "s.sqlite") as store:
        return run_search("nb201", dataset, config=EAConfig(population=4, sample=2, mutations=2, cycles=3), seed=0,
                          store=store, out=tmp_path / "out", device=torch.device("cpu"), data_dir=str(small_bundle),
                          progress=False, net={"C": 4, "N": 1}, fitness="params", **kwargs)


def test_a_search_stopped_at_exactly_its_max_evals_names_that_flag(small_bundle, tmp_path) -> None:
    """search.driver._stopped_by: `len(ea.history) >= max_evals` as `>` (4 of 4 evaluations: "--max-seconds")."""
    from swapnas.search.driver import search_notes
    cut = _search(small_bundle, tmp_path, max_evals=4)
    assert (cut.evaluations, cut.cycles, cut.stopped_by) == (4, 0, "--max-evals")
    assert search_notes(cut)[0].startswith("stopped after cycle 0 of 3 by --max-evals: ")


def test_a_search_stopped_by_time_without_max_evals_names_max_seconds() -> None:
    """search.driver._stopped_by: `max_evals is not None and` dropped (a comparison with None: TypeError)."""
    from swapnas.search.driver import _stopped_by
    assert _stopped_by(types.SimpleNamespace(done=False, history=[1, 2, 3, 4]), None) == "--max-seconds"
    assert _stopped_by(types.SimpleNamespace(done=False, history=[1, 2, 3, 4]), 5) == "--max-seconds"
    assert _stopped_by(types.SimpleNamespace(done=True, history=[1, 2, 3, 4]), 4) is None


def test_a_search_logs_its_batches_label_note_once(small_bundle, tmp_path, caplog) -> None:
    """search.driver: `@notes_once` dropped from run_search (its first and second stage's batches: the note twice)."""
    with caplog.at_level(logging.INFO, logger="swapnas.data"):
        _search(small_bundle, tmp_path, "imagenet16-120", refine=2, refine_batch_size=12)
    assert sum("labels outside" in r.getMessage() for r in caplog.records) == 1
    assert sum("real images available" in r.getMessage() for r in caplog.records) == 2  # other notes: each


def test_a_slow_draw_of_children_is_not_told_as_the_initial_population(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    """evolution._fresh: `told = not in_a_row` as `told = False` (children warned of as the initial population)."""
    from swapnas.search import evolution
    from swapnas.search.evolution import EAConfig, Evolution
    from swapnas.spaces import get_space

    mod = get_space("nb201")
    clock = iter(range(0, 10_000, 20))  # every reading 20 s later: past SLOW_DRAWS_S at once
    monkeypatch.setattr(evolution.time, "monotonic", lambda: float(next(clock)))
    ea = Evolution(mod, EAConfig(population=4, sample=2, mutations=1, cycles=1), 0, max_tries=30)
    with caplog.at_level(logging.WARNING, logger="swapnas.search.evolution"):
        assert len(ea._fresh(lambda: mod.sample(ea.rng), 3)) == 3
        assert not caplog.records
        ea._fresh(lambda: mod.sample(ea.rng), 3, in_a_row=True)
    assert len(caplog.records) == 1


def test_the_slow_draw_warning_counts_draws_found_and_seconds(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    """evolution._fresh's warning: `len(out), n` swapped, `tries` as `misses`, the seconds as SLOW_DRAWS_S."""
    from swapnas.search import evolution
    from swapnas.search.evolution import EAConfig, Evolution
    from swapnas.spaces import get_space

    mod = get_space("nb201")
    clock = iter(range(10_000))  # every reading 1 s later: the 16th draw's reading passes 15 s
    monkeypatch.setattr(evolution.time, "monotonic", lambda: float(next(clock)))
    ea = Evolution(mod, EAConfig(population=4, sample=2, mutations=1, cycles=1), 0, max_tries=30)
    with caplog.at_level(logging.WARNING, logger="swapnas.search.evolution"):
        assert len(ea._fresh(lambda: mod.sample(ea.rng), 20, in_a_row=True)) == 20
    assert [r.getMessage() for r in caplog.records] == [
        "drawing the initial population: 15 of 20 feasible distinct archs after 15 draws (17 s; under size limits "
        "each draw's final network is sized); the draws stop when 30 in a row find none new"]  # (the review's wording)


def _toy_without_crossover(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from swapnas.spaces import SPACES
    from tests import toy_space
    module = types.ModuleType("copy_of_toy_lone")
    for member in vars(toy_space):
        if not member.startswith("__") and member != "crossover":
            setattr(module, member, getattr(toy_space, member))
    module.NAME = "lone"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lone_path", module)
    monkeypatch.setitem(SPACES, "lone", "lone_path")


def test_a_space_lacking_one_member_is_refused_naming_it_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """spaces.searchable_space: `if words[:-1] else words` as `if words else words` (" or crossover" for one)."""
    from swapnas.spaces import SpaceError, searchable_space, searchable_spaces
    _toy_without_crossover(monkeypatch)
    with pytest.raises(SpaceError) as got:
        searchable_space("lone")
    assert str(got.value) == (
        "space 'lone' cannot be searched: it defines no crossover (it lacks crossover: see "
        "swapnas.spaces.protocol.SearchableSpace); its archs can be scored and correlated; searchable: "
        f"{', '.join(searchable_spaces())}")


def test_a_fitness_recommended_on_three_spaces_names_them_all(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    """fitness._recommended_on: `" and ".join` as `", ".join` or `others[0]`; `except SpaceError: pass` as raise.
    (Spaces without a FITNESS_PROTOCOL of their own recommend nothing: the registry's alias is no space's choice,
    the closing reread; three spaces that recommend one fitness are made here.)"""
    from swapnas.search import fitness as fitness_module
    from swapnas.search.fitness import choose_fitness
    from swapnas.session import best_for
    from swapnas.spaces import SpaceError

    with caplog.at_level(logging.WARNING, logger="swapnas.search.fitness"):
        choose_fitness("nb201", "swap_darts")  # the registry's alias (nb101's `best`): no space recommends it
    assert not caplog.records
    shared = ("nb101", "transnas_micro", "transnas_macro")
    monkeypatch.setattr(fitness_module, "_own_fitness", lambda space: "swap_darts" if space in shared else None)
    with caplog.at_level(logging.WARNING, logger="swapnas.search.fitness"):
        choose_fitness("nb201", "swap_darts")
    assert [r.getMessage() for r in caplog.records] == [
        "--fitness swap_darts is the recommended fitness of nb101, transnas_micro and transnas_macro, chosen on "
        f"its dev data, not on nb201's; on nb201 --fitness best is {best_for('nb201')}"]

    def unloadable(space: str) -> str | None:
        if space == "nb101":
            raise SpaceError("space 'nb101' cannot be imported")
        return "swap_darts" if space in shared else None
    monkeypatch.setattr(fitness_module, "_own_fitness", unloadable)
    assert fitness_module._recommended_on("swap_darts", "nb201") == ["transnas_micro", "transnas_macro"]


def test_a_source_that_is_no_store_is_told_to_give_another_store_not_another_store_flag(tmp_path, capsys) -> None:
    """given_as: a source's `another --store` kept; INTO's `.replace("--store", flag)` as `text`."""
    import contextlib
    import sqlite3

    from swapnas.cli import main
    from tests.test_session55 import _one_score_store
    other = tmp_path / "other.sqlite"
    with contextlib.closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE t (x)")
        db.commit()
    assert main(["store", "merge", str(other), "--into", str(tmp_path / "into.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"swapnas: error: {other} is not a swapnas score store (it has no scores table")
    assert err.rstrip().endswith("; give another store") and "--store" not in err
    _one_score_store(tmp_path / "a.sqlite")
    assert main(["store", "merge", str(tmp_path / "a.sqlite"), "--into", str(other)]) == 2
    assert capsys.readouterr().err.rstrip().endswith("; give another --into")


def test_a_merge_of_stores_with_other_metric_code_is_refused_in_whole_words(tmp_path) -> None:
    """_refuse_other_code: "a later run would mix … without a warning" dropped (network code is noted, not refused,
    since the review: its digest differs between Python 3.11 and 3.12; test_session61)."""
    from swapnas.store import StoreError
    from swapnas.store_merge import merge_stores
    from tests.test_session55 import _one_score_store, _store_with_codes

    a = _store_with_codes(_one_score_store(tmp_path / "a.sqlite"), {"swap@1": "ssss", "net:nb201@1": "aaaa"})
    b = _store_with_codes(tmp_path / "b.sqlite", {"swap@1": "tttt", "net:nb201@1": "bbbb"})
    into = tmp_path / "into.sqlite"
    with pytest.raises(StoreError) as got:
        merge_stores([a, b], into)
    assert str(got.value) == (
        f"{b} records other metric code for swap@1 than {into} or {a}: merged, their scores would stand under one "
        "code record and a later run would mix the two codes' values without a warning; nothing was merged. Score "
        "those archs again with one code, merge into a store of its own, or, if the code change left the values as "
        "they were, pass --mixed-code (the first record is kept, and a run whose code differs from it warns; also "
        "where one swapnas's stores recorded its code in two forms, before and after session 62, and that code has "
        "changed since)")
    assert not into.exists()


def test_a_folder_holding_a_folder_named_scores_sqlite_is_not_offered_it(tmp_path, capsys) -> None:
    """store_tools.existing_store: `(p / "scores.sqlite").is_file()` as `.exists()`."""
    from swapnas.cli import main
    (tmp_path / "run" / "scores.sqlite").mkdir(parents=True)
    assert main(["store", "check", str(tmp_path / "run")]) == 2
    assert f"{tmp_path / 'run'} is a folder, not a score store: give the store's file (the --store of a " \
           "correlate/grid/search run, default OUT/scores.sqlite)" in capsys.readouterr().err


def test_a_mask_by_position_is_read_from_a_list_and_from_positional_only_parameters() -> None:
    """swap_score: by_name for tuples alone (a list's mask unread); by_name: POSITIONAL_ONLY left out."""
    from swapnas.patterns import swap_score
    from tests.test_padding import _naive, _Tokens

    class Only(_Tokens):
        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, /) -> torch.Tensor:  # type: ignore
            return super().forward(input_ids, attention_mask)

    ids, mask = _batch(0)
    assert by_name(Only(), (ids, mask)) == {"input_ids": ids, "attention_mask": mask}
    want = _naive(_Tokens(), ids, mask)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert swap_score(_Tokens(), [ids, mask], input_dims=(3,)) == want
        assert swap_score(Only(), (ids, mask), input_dims=(3,)) == want
