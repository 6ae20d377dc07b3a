"""Session 61: items left as found by session 60 and the session's audits (each test fails on the code before its
change unless it says so)."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import swapnas
from swapnas.padding import by_name, shared_mask_hint
from swapnas.patterns import swap_score
from tests.test_padding import _batch, _naive, _Tokens


def _quiet_psi(model: nn.Module, inputs: object) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return swap_score(model, inputs, input_dims=(3,))


@pytest.mark.parametrize("left", [False, True])
def test_an_attention_mask_by_position_is_read_by_the_name_forward_gives_it(left: bool) -> None:
    """``model(ids, mask)`` of a model whose forward names its second parameter ``attention_mask`` (Hugging Face's
    BertModel): before, a right-padded one was warned about and a left-padded one taken as token types, both counted
    at the pads (Ψ changed with what the pads held); now read as by keyword."""
    model = _Tokens()
    (ids0, mask), (ids_r, _) = _batch(0), _batch(None)
    if left:
        ids0, ids_r, mask = ids0.flip(1), ids_r.flip(1), mask.flip(1)
    want = _naive(model, ids0, mask)
    assert _quiet_psi(model, (ids0, mask)) == want == _quiet_psi(model, (ids_r, mask))
    assert _quiet_psi(model, {"input_ids": ids_r, "attention_mask": mask}) == want

    class Named(_Tokens):  # a mask by another name: warned of as by keyword (a left-padded one was not)
        def forward(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
            return super().forward(input_ids, mask)

    with pytest.warns(UserWarning, match=r"the inputs' 'mask' looks like a padding mask"):
        swap_score(Named(), (ids0, mask), input_dims=(3,))


def test_by_name_keeps_inputs_that_name_no_mask_or_do_not_bind() -> None:
    ids, mask = _batch(0)

    class Star(nn.Module):
        def forward(self, *xs: torch.Tensor) -> torch.Tensor:
            return xs[0]

    class Plain(nn.Module):
        def forward(self, input_ids: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
            return input_ids

    assert by_name(_Tokens(), (ids, mask)) == {"input_ids": ids, "attention_mask": mask}
    assert by_name(_Tokens(), [ids, mask]) == {"input_ids": ids, "attention_mask": mask}
    for model, inputs in ((Star(), (ids, mask)), (Plain(), (ids, mask)), (_Tokens(), (ids, mask, mask, mask))):
        assert by_name(model, inputs) is inputs  # *args, no mask by name, more inputs than forward takes
    named = {"input_ids": ids}
    assert by_name(_Tokens(), named) is named and by_name(_Tokens(), ids) is ids
    assert by_name(len, (ids,)) == (ids,)  # a builtin without a signature: as given


def _encoder() -> nn.Module:
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    return nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)


def test_one_mask_for_all_samples_is_refused_with_the_way_out() -> None:
    """An (L, L) causal mask passed as an input: the error gave the dims alone ([8, 5])."""
    x, causal = torch.randn(8, 5, 16), nn.Transformer.generate_square_subsequent_mask(5)
    way_out = (r"'mask' \(5, 5\) is one mask for all samples, but every input holds the S = 8 samples on dim 0: "
               r"build it inside the model \(a wrapper module whose forward passes mask=… or is_causal=True\)")
    with pytest.raises(ValueError, match=r"disagree on the number of samples \(dim 0\): \[8, 5\]; " + way_out):
        swap_score(_encoder(), (x, causal), input_dims=(3,))  # by position: named by forward's signature
    with pytest.raises(ValueError, match=r"give each the same S samples; " + way_out):
        swapnas.score(_encoder(), ({"src": x, "mask": causal}, None), proxies=["swap_ext"])
    assert shared_mask_hint({"src": x, "other": causal}, 8) == ""  # not named as a mask: the dims alone
    assert shared_mask_hint({"src": x, "mask": causal[:1].expand(8, 5)}, 8) == ""  # one row per sample
    assert shared_mask_hint((x, causal), 8) == ""  # by position, unnamed


def test_an_address_space_limit_is_warned_of_and_a_library_it_stops_is_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Under ``ulimit -v`` the command printed Python's 12-line traceback of ``import torch``, or OpenBLAS spun for
    minutes as scipy loaded (1 GiB), with no word about the limit."""
    import resource
    import sys

    from swapnas.address_space import LOW, low_address_space, out_of_address_space
    from swapnas.stops import quiet_start_interrupt
    mapped = ImportError("libtorch_cpu.so: failed to map segment from shared object")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert low_address_space() is None and out_of_address_space(mapped) is None  # no limit: Python's own error
    monkeypatch.setattr(resource, "getrlimit", lambda which: (LOW, resource.RLIM_INFINITY))
    assert low_address_space() is None  # at the threshold: quiet
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1000 * 2**20, resource.RLIM_INFINITY))
    assert low_address_space() == (
        "this process may use 1000 MiB of address space (ulimit -v): torch, scipy and OpenBLAS need about 1.5 GiB of "
        "it per process (below, a library fails to load, or OpenBLAS retries its buffer forever as it starts); raise "
        "it (ulimit -v unlimited) if the run stops or hangs")
    assert out_of_address_space(mapped) == (
        "libtorch_cpu.so: failed to map segment from shared object: this process may use 1000 MiB of address space "
        "(ulimit -v), too little to load torch and the libraries swapnas uses (about 1.5 GiB of it per process); "
        "raise it (ulimit -v unlimited, or a few GiB) and rerun: a run resumes from its store")
    assert out_of_address_space(MemoryError()).startswith("MemoryError: this process may use 1000 MiB")
    assert out_of_address_space(OSError("Cannot allocate memory for thread-local data")) is not None
    assert out_of_address_space(ImportError("No module named 'scipy'")) is None
    calls: list[type] = []
    monkeypatch.setattr(sys, "argv", ["/venv/bin/swapnas", "correlate"])
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: calls.append(kind))
    quiet_start_interrupt()
    sys.excepthook(ImportError, mapped, None)
    sys.excepthook(ImportError, ImportError("No module named 'scipy'"), None)
    assert capsys.readouterr().err == f"swapnas: {out_of_address_space(mapped)}\n"
    assert calls == [ImportError]  # the other import error: Python's traceback, as before


def test_the_command_warns_as_it_starts_under_a_low_address_space_limit(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import resource
    import sys

    from swapnas.cli import command
    monkeypatch.setattr(sys, "argv", ["swapnas", "proxies"])
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1000 * 2**20, resource.RLIM_INFINITY))
    assert command() == 0
    err = capsys.readouterr().err
    assert err.startswith("swapnas: warning: this process may use 1000 MiB of address space (ulimit -v)")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert command() == 0 and "address space" not in capsys.readouterr().err


def test_a_merge_of_stores_made_by_other_code_is_refused_before_anything_is_written(tmp_path, capsys) -> None:
    """The grid audit: shards whose swap was scored by other code merged with exit 0 and one indented line; the merged
    store kept one code record, and a grid on it reported ρ 0.107 / 0.129 (the right figures 0.796 / 0.811) without a
    warning."""
    from swapnas.cli import main
    from swapnas.store import ScoreStore
    from swapnas.store_merge import merge_stores
    from tests.test_session55 import _one_score_store, _store_with_codes

    a = _store_with_codes(_one_score_store(tmp_path / "a.sqlite"), {"swap@1": "aaaa", "net:nb201@1": "nnnn"})
    b = _store_with_codes(tmp_path / "b.sqlite", {"swap@1": "bbbb", "net:nb201@1": "nnnn", "mine@1": "mmmm"})
    into = tmp_path / "into.sqlite"
    assert main(["store", "merge", str(a), str(b), "--into", str(into)]) == 2
    err = capsys.readouterr().err
    assert f"{b} records other metric code for swap@1 than {into} or {a}: merged, their scores would stand under one " \
           "code record" in err and "nothing was merged" in err and "pass --mixed-code" in err
    assert not into.exists()  # refused before INTO was made
    _store_with_codes(into, {"mine@1": "other"})
    with pytest.raises(Exception, match=rf"^{b} records other metric code for mine@1, swap@1 than {into} or {a}"):
        merge_stores([a, b], into)  # INTO's own record counts; every differing name, sorted
    with ScoreStore(into, read_only=True) as store:
        assert store.count() == 0 and {n: d for n, (d, _) in store.recorded_code().items()} == {"mine@1": "other"}
    assert merge_stores([a], into).added == 1  # agreeing code: merged as before
    assert main(["store", "merge", str(b), "--into", str(into), "--mixed-code"]) == 0
    assert "the sources' scores of mine@1, swap@1 were made by other code" in capsys.readouterr().out


def test_a_ray_address_where_something_listens_and_sends_nothing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The grid audit: a TCP listener that accepts and never replies was left to Ray, which printed "Failed to connect
    to GCS" for minutes (killed at 280 s); a GCS sends its SETTINGS frame at once."""
    import socket
    import threading

    from swapnas import ray_address
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        accepted: list[socket.socket] = []
        threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
        port = server.getsockname()[1]
        with pytest.raises(ValueError) as got:
            ray_address.check_ray_address(f"127.0.0.1:{port}", timeout=0.3)
        for conn in accepted:
            conn.close()
    assert str(got.value) == (
        f"something at --address 127.0.0.1:{port} accepts connections but sent nothing back in 0.3 s, and a Ray "
        "cluster's GCS answers at once: it is no Ray cluster (or one that hangs); give the address `ray start --head` "
        "printed, or leave --address out to start Ray on this machine")

    class Partial:  # a few bytes, then silence: told apart by what came (not HTTP: left to Ray)
        def __init__(self) -> None:
            self.sent = False

        def sendall(self, data: bytes) -> None:
            pass

        def settimeout(self, seconds: float) -> None:
            pass

        def recv(self, n: int) -> bytes:
            if self.sent:
                raise TimeoutError("timed out")
            self.sent = True
            return b"\x00\x00"

    assert ray_address._first_reply(Partial(), 0.1) == (b"\x00\x00", False)  # type: ignore[arg-type]


def test_a_search_saved_for_another_space_is_refused_by_its_space(tmp_path) -> None:
    """The search audit: `--out` of an nb201 search reused with `--space darts` was refused naming --net and --repeats,
    flags the user never set (the saved identity had no space)."""
    from swapnas.search.driver import fitness_mismatch

    nb201 = {"space": "nb201", "proxy": "params@1", "size_prior": None, "protocol": "p1", "net": {"C": 16, "N": 1},
             "batch_size": 16, "repeats": 4, "score_seed": 0, "constraints": [None, None]}
    darts = {**nb201, "space": "darts", "protocol": "p2", "net": {"C": 8, "layers": 5}, "repeats": 1}
    state = tmp_path / "state.json"
    assert fitness_mismatch(state, nb201, darts) == (
        f"{state} holds a search with another fitness or constraints: --space 'nb201' (now 'darts'); use another "
        "--out folder or the same settings")
    before = {k: v for k, v in nb201.items() if k != "space"}  # saved before session 61: the space not in it
    assert fitness_mismatch(state, before, nb201) is None
    assert fitness_mismatch(state, before, {**nb201, "repeats": 2}) == (
        f"{state} holds a search with another fitness or constraints: --repeats 4 (now 2); use another --out folder "
        "or the same settings")


def test_a_search_says_which_budget_stopped_it_and_what_a_resumed_run_restored(small_bundle, tmp_path) -> None:
    """The search audit: result.json had no sign of a search cut short (only cycles < config's), its note said
    "--max-evals / --max-seconds" with one given, and a resumed run's "48 evaluations (4 of them read from the store)"
    left out the 23 restored from state.json."""
    import json

    from swapnas.cli.search_command import _search_text
    from swapnas.search.driver import run_search, search_notes
    from swapnas.search.evolution import EAConfig
    from swapnas.search import write_result
    from swapnas.store import ScoreStore
    from tests.search_tools import search_result

    cfg = EAConfig(population=4, sample=2, mutations=2, cycles=3)
    common = dict(config=cfg, device=torch.device("cpu"), data_dir=str(small_bundle), progress=False,
                  net={"C": 4, "N": 1}, fitness="params", seed=0, out=tmp_path / "a")
    with ScoreStore(tmp_path / "s.sqlite") as store:
        cut = run_search("nb201", "cifar10", store=store, max_evals=5, **common)
        assert (cut.stopped_by, cut.restored, cut.cycles) == ("--max-evals", 0, 1)
        assert search_notes(cut)[0].startswith("stopped after cycle 1 of 3 by --max-evals: rerun the same command")
        whole = run_search("nb201", "cifar10", store=store, **common)
    assert (whole.stopped_by, whole.restored, whole.reused, whole.cycles) == (None, cut.evaluations, 0, 3)
    assert not search_notes(whole)
    assert f"{whole.evaluations} evaluations ({cut.evaluations} restored from its saved state), 3 cycles" \
        in _search_text(whole)
    assert "evaluations (3 restored from its saved state, 2 read from the store)" in _search_text(
        search_result(restored=3, reused=2))
    write_result(cut, tmp_path / "a")
    saved = json.loads((tmp_path / "a" / "result.json").read_text())
    assert (saved["stopped_by"], saved["restored"]) == ("--max-evals", 0)
    old = search_result(cycles=1)  # a result.json written before stopped_by: both flags, as before
    assert search_notes(old)[0].startswith("stopped after cycle 1 of 3 by --max-evals / --max-seconds: ")
    assert search_notes(search_result(cycles=1, stopped_by="--max-seconds"))[0].startswith(
        "stopped after cycle 1 of 3 by --max-seconds: ")


def test_a_slow_draw_of_the_initial_population_is_told(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    """The search audit: FlexiBERT under --max-macs 45M (its least 41.9M) sat at 0 % for 3 minutes, each of 1000
    draws building a network, without a word. The draws themselves are unchanged (the same archs)."""
    import logging

    from swapnas.search import evolution
    from swapnas.search.evolution import EAConfig, Evolution
    from swapnas.spaces import get_space

    mod = get_space("nb201")
    clock = iter(range(0, 10_000, 2))  # every reading 2 s later
    monkeypatch.setattr(evolution.time, "monotonic", lambda: float(next(clock)))

    def run(feasible) -> list:
        ea = Evolution(mod, EAConfig(population=4, sample=2, mutations=1, cycles=1), 0, feasible=feasible,
                       max_tries=30)
        return [str(a) for a in ea._fresh(lambda: mod.sample(ea.rng), 4, in_a_row=True)]

    with caplog.at_level(logging.WARNING, logger="swapnas.search.evolution"):
        rare = run(lambda arch: str(arch).count("none") >= 5)
    told = [r.getMessage() for r in caplog.records]
    assert len(told) == 1 and told[0].startswith(
        "drawing the initial population: ") and "the draws stop when 30 in a row find none new" \
        in told[0]
    caplog.clear()
    monkeypatch.setattr(evolution.time, "monotonic", lambda: 0.0)  # a fast draw: nothing said, the same archs
    with caplog.at_level(logging.WARNING, logger="swapnas.search.evolution"):
        assert run(lambda arch: str(arch).count("none") >= 5) == rare
    assert not caplog.records


def test_a_batch_note_is_logged_once_in_a_call_marked_notes_once(small_bundle, caplog) -> None:
    """The search audit: the ImageNet16-120 label note was logged twice by a search (its first stage's batch and its
    second stage's); outside such a call each load logs it, as before."""
    import logging

    from swapnas.data import load_batch, notes_once

    @notes_once
    def two_loads() -> None:
        load_batch("imagenet16-120", 8, data_dir=small_bundle, labels=True)
        load_batch("imagenet16-120", 12, data_dir=small_bundle, labels=True)

    def count() -> int:
        return sum("labels outside" in r.getMessage() for r in caplog.records)

    with caplog.at_level(logging.INFO, logger="swapnas.data"):
        two_loads()
        assert count() == 1
        caplog.clear()
        two_loads()  # a new call: said again
        assert count() == 1
        caplog.clear()
        load_batch("imagenet16-120", 8, data_dir=small_bundle, labels=True)
        load_batch("imagenet16-120", 8, data_dir=small_bundle, labels=True)
        assert count() == 2


def test_a_grid_column_where_no_metric_applies_is_warned_of_and_a_grid_where_none_does_is_refused(
        small_bundle, tmp_path, caplog) -> None:
    """The grid audit: `--benchmarks flexibert --tasks rte --proxies nwot` printed "at most 4 scores", made none and
    exited 0 with a table of dashes (grid.md alone said "not applicable"); correlate refuses the same request."""
    import logging

    from swapnas.grid import run_grid
    from swapnas.store import ScoreStore

    common = dict(n_archs=3, seed=0, repeats=1, device=torch.device("cpu"), data_dir=str(small_bundle),
                  progress=False)
    with ScoreStore(tmp_path / "s.sqlite") as store, caplog.at_level(logging.WARNING, logger="swapnas.grid"):
        with pytest.raises(ValueError, match=r"^none of the metrics asked for \(nwot\) applies to the networks of any "
                           r"column of the grid \(the warnings above say why"):
            run_grid([("flexibert", "rte")], proxies="nwot", store=store, **common)
        told = [r.getMessage() for r in caplog.records]
        assert len(told) == 1 and told[0].startswith("flexibert/rte: none of the metrics asked for applies to its "
                                                     "networks, its cells stay empty: nwot: cannot score Encoder")
        caplog.clear()
        cols = run_grid([("nb301", "cifar10"), ("flexibert", "rte")], proxies="nwot", store=store, **common)
        assert [c.not_applicable for c in cols] == [{}, {"nwot": cols[1].not_applicable["nwot"]}]
        assert len(caplog.records) == 1 and "flexibert/rte" in caplog.records[0].getMessage()


def test_another_space_s_recommended_fitness_is_named_as_such(caplog) -> None:
    """The search audit: `--space darts --fitness swap_nb201` ran NB201's dev-chosen weights without a word."""
    import logging

    from swapnas.search.fitness import choose_fitness
    from swapnas.session import best_for

    with caplog.at_level(logging.WARNING, logger="swapnas.search.fitness"):
        chosen, _ = choose_fitness("darts", best_for("nb201"))
        assert chosen.name == best_for("nb201") != best_for("darts")
        assert [r.getMessage() for r in caplog.records] == [
            f"--fitness {best_for('nb201')} is the recommended fitness of nb201, chosen on its dev data, not on "
            f"darts's; on darts --fitness best is {best_for('darts')}"]
        caplog.clear()
        for space, fitness in (("nb201", best_for("nb201")), ("darts", "best"), ("darts", "swap_reg")):
            choose_fitness(space, fitness)
        choose_fitness("darts", best_for("nb201"), warn=False)
    assert not caplog.records


def test_a_job_that_fails_before_writing_leaves_no_out_it_made(tmp_path) -> None:
    """The search audit: `--space flexibert --fitness swap` was refused with a clear message and left OUT holding only
    `.lock`. An OUT that was there before, or one the job wrote into, stays."""
    from swapnas.files import out_lock

    out = tmp_path / "new" / "out"
    with pytest.raises(ValueError, match="refused"), out_lock(out):
        raise ValueError("refused")
    assert not out.exists() and (tmp_path / "new").is_dir()  # (a parent it made stays: it may hold other jobs)
    with pytest.raises(KeyboardInterrupt), out_lock(out):
        (out / "state.json").write_text("{}")
        raise KeyboardInterrupt
    assert sorted(p.name for p in out.iterdir()) == [".lock", "state.json"]
    given = tmp_path / "given"
    given.mkdir()
    with pytest.raises(ValueError), out_lock(given):
        raise ValueError("refused")
    assert given.is_dir()
    with out_lock(tmp_path / "fine"):
        pass
    assert (tmp_path / "fine" / ".lock").is_file()  # a job that ends well keeps its OUT, as before


def test_a_folder_given_as_a_store_is_named_a_folder_and_a_source_is_not_offered_a_new_path(tmp_path, capsys) -> None:
    """The grid audit: a folder given as a merge's source got "no score store at …", and a junk source was told "or a
    new path for a new one", which no source can be."""
    from swapnas.cli import main
    from tests.test_session55 import _one_score_store

    run = tmp_path / "run"
    run.mkdir()
    _one_score_store(run / "scores.sqlite")
    (tmp_path / "empty").mkdir()
    (tmp_path / "junk.sqlite").write_bytes(b"junk")
    into = str(tmp_path / "into.sqlite")
    assert main(["store", "merge", str(run), "--into", into]) == 2
    err = capsys.readouterr().err
    assert f"{run} is a folder, not a score store: give {run / 'scores.sqlite'}, the store in it" in err
    assert main(["store", "check", str(tmp_path / "empty")]) == 2
    assert f"{tmp_path / 'empty'} is a folder, not a score store: give the store's file" in capsys.readouterr().err
    assert main(["store", "merge", str(tmp_path / "junk.sqlite"), "--into", into]) == 2
    err = capsys.readouterr().err
    assert "is not a swapnas score store" in err and "new path" not in err


def test_a_proxy_out_of_memory_is_said_so_without_a_second_pass_and_rank_warns(tmp_path) -> None:
    """The big-model audit: a proxy out of memory in `swapnas.score` ran the model's forward again to tell whether the
    inputs were to blame (so a memory failure read "its forward fails on these inputs (shape …)"), and its hints
    checked every weight while the failed graph was still held: out of memory again, a chained traceback. `rank`
    ranked such a model last without a word."""
    import warnings as warnings_module

    from swapnas.proxies.registry import register
    from swapnas.requirements import UnsupportedModel
    from tests.registry_tools import registry_snapshot

    calls: list[int] = []

    class Counted(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls.append(1)
            return self.fc(x)

    def hungry(model: nn.Module, batch: object) -> float:
        model(batch.inputs)  # type: ignore[attr-defined]
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
                           "memory: you tried to allocate 1811939328 bytes.\nmore lines")

    x = torch.randn(8, 4)
    with registry_snapshot():
        register("hungry61")(hungry)
        with pytest.raises(UnsupportedModel) as got:
            swapnas.score(Counted(), x, proxies=["hungry61"])
        assert len(calls) == 1  # the proxy's own pass only: no diagnostic pass after it
        assert str(got.value) == (
            "hungry61 ran out of memory scoring Counted on inputs of shape (8, 4) (RuntimeError: [enforce fail at "
            "alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried to allocate "
            "1811939328 bytes.): the machine's limit, not the model's failure; use fewer samples or smaller inputs, "
            "score hungry61 alone, or free memory (swap needs the least: no gradients)")
        assert got.value.__suppress_context__ and got.value.__context__.__traceback__ is None  # the graph let go
        with warnings_module.catch_warnings(record=True) as seen:
            warnings_module.simplefilter("always")
            rows = swapnas.rank({"a": Counted(), "b": Counted()}, x, proxies=["hungry61", "params"])
        said = [str(w.message) for w in seen if str(w.message).startswith("rank:")]
        assert said == [f"rank: scoring {m!r} ran out of memory (its error says which metric): its None is no score, "
                        "not a low one, and it ranks with the unscored" for m in ("a", "b")]
        assert [r["hungry61"] for r in rows] == [None, None] and all(r["params"] == 15 for r in rows)


def test_nwot_sums_its_kernel_layer_by_layer_to_the_same_integers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The big-model audit: nwot held every ReLU code at once, twice in float64 (4.4 GB on ResNet-50 at 224 px, S = 16,
    against 0.6 GB for the forward pass). Layer by layer it is the same kernel, exactly (`perf/nwot_memory.py` prints
    both ways' peak memory)."""
    from swapnas.proxies import nwot as nwot_module
    from swapnas.proxies._common import each_relu_code, relu_codes
    from swapnas.proxies.nwot import hamming_kernel

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU(), nn.Conv2d(6, 5, 3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(5 * 4 * 4, 7), nn.ReLU())
    x = torch.randn(12, 3, 8, 8)
    want = hamming_kernel(relu_codes(model, x))  # all codes at once (the independent reference)
    for exact in (nwot_module.EXACT_FLOAT32, 0):  # float32 per layer, and the float64 branch of wide layers
        monkeypatch.setattr(nwot_module, "EXACT_FLOAT32", exact)
        summed = nwot_module._LayerSum()
        each_relu_code(model, x, summed)
        assert summed.kernel is not None and torch.equal(summed.kernel, want)
    value = swapnas.score(model, x, proxies=["nwot"], init="none")["nwot"]
    assert value == float(torch.linalg.slogdet(want)[1])


def test_a_grid_refused_for_its_executor_prints_no_plan_first(small_bundle, tmp_path, capsys) -> None:
    """The grid audit: the plan ("grid: 1 column x …") was printed, then the executor's refusal."""
    from swapnas.cli import main

    assert main(["grid", "--benchmarks", "nb301", "--tasks", "cifar10", "--proxies", "params", "--archs", "3",
                 "--executor", "ray", "--workers", "2", "--data-dir", str(small_bundle), "--out",
                 str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err
    assert "--workers applies to --executor local" in err and "grid: 1 column" not in err


def test_the_review_s_findings_on_the_merge_refusal_resume_masks_and_limits(tmp_path, monkeypatch, capsys) -> None:
    """The review of the session's diff: a network's digest differs between Python 3.11 and 3.12 for the same code
    (f-strings with quotes inside), so a merge refused shards run under both: network code is noted, not refused; an
    empty INTO file or a folder as INTO lost their own handling to the pre-check; an nb201 OUT reused with --space
    darts and the default fitness was refused by --fitness (best resolves per space); an (L, …) mask of a batch of
    another size was called "one mask for all samples"; "cannot allocate memory in static TLS block" under a 64 GiB
    limit was blamed on the limit."""
    import json
    import resource

    from swapnas.address_space import out_of_address_space
    from swapnas.cli import main
    from swapnas.cli.search_command import resume_line
    from swapnas.search.evolution import EAConfig
    from swapnas.store_merge import merge_stores
    from tests.test_session55 import _one_score_store, _store_with_codes

    a = _store_with_codes(_one_score_store(tmp_path / "a.sqlite"), {"swap@1": "aaaa", "net:nb201@1": "n311"})
    b = _store_with_codes(tmp_path / "b.sqlite", {"swap@1": "aaaa", "net:nb201@1": "n312"})
    merged = merge_stores([a, b], tmp_path / "into.sqlite")
    assert merged.other_code == ["net:nb201@1"] and merged.added == 1  # noted after the merge, as before
    (tmp_path / "empty.sqlite").touch()
    assert merge_stores([a], tmp_path / "empty.sqlite").added == 1  # an empty file is made a store, as before
    (tmp_path / "folder").mkdir()
    assert main(["store", "merge", str(a), "--into", str(tmp_path / "folder")]) == 2
    assert "no score store at" not in capsys.readouterr().err
    # a search's OUT of another space, the fitness left at its default
    config = EAConfig(population=4, sample=2, mutations=1, cycles=1)
    state = {"fitness": {"space": "nb201", "proxy": "swap_nb201@1[w=1]"},
             "ea": {"cycle": 1, "history": [], "config": {"cycles": 1}, "seed": 0}}
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "state.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match=r"another fitness or constraints: --space 'nb201' \(now 'darts'\); use"):
        resume_line(tmp_path / "out", config, 0, "swap_fisher@1[w=2]", "darts")
    # masks and limits
    ids, mask = torch.zeros(4, 8, dtype=torch.long), torch.ones(5, 8, dtype=torch.long)
    from swapnas.padding import shared_mask_hint
    assert shared_mask_hint({"input_ids": ids, "attention_mask": mask}, 4) == ""  # a batch of another size
    monkeypatch.setattr(resource, "getrlimit", lambda which: (64 * 2**30, resource.RLIM_INFINITY))
    assert out_of_address_space(ImportError("libx.so: failed to map segment from shared object")) is None
    monkeypatch.setattr(resource, "getrlimit", lambda which: (2**30, resource.RLIM_INFINITY))
    assert out_of_address_space(ImportError("libgomp.so.1: cannot allocate memory in static TLS block")) is None
    assert out_of_address_space(ImportError("libx.so: failed to map segment from shared object")) is not None


def test_an_additive_padding_mask_by_position_is_read_as_by_keyword() -> None:
    """The review: a float key padding mask (-inf at the pads) passed by position was refused as non-finite input."""

    class Keyed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc, self.act = nn.Linear(8, 8), nn.ReLU()

        def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
            return self.act(self.fc(x))

    torch.manual_seed(0)
    model, x = Keyed(), torch.randn(4, 6, 8)
    pad = torch.zeros(4, 6)
    pad[:, 4:] = float("-inf")
    by_key = _quiet_psi(model, {"x": x, "key_padding_mask": pad})
    assert _quiet_psi(model, (x, pad)) == by_key != _quiet_psi(model, {"x": x})  # the pads left out, as by keyword
