"""Session 66 mutation testing of the session's lines: each test kills a hand-made mutant that survived the tests
of the session (the mutant it kills is named in its docstring); the two ``test_defect_*`` tests failed on the code
as found (1d147f0): a partial metric fixing a lambda broke the code check of every stored run, and
``saturation.one_per_call`` yielded a set of its own, not the call's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import swapnas
from swapnas import session
from swapnas.api import UnsupportedModel
from swapnas.proxies import get_proxy
from swapnas.spaces import get_space


from tests.conftest import _data_dir

_DATA = _data_dir()  # the real bundle (None: the bundle tests below skip)


def test_rank_raises_a_batch_refusal_met_while_scoring_proxies_one_by_one() -> None:
    """Kills A2 (api._scored_row: the per-proxy loop's ``if exc.of_batch: raise`` dropped). swap refuses these
    models (no activation) before epe_nas refuses the batch, so the proxies are scored one by one; the batch's
    refusal must still be raised, not a None per model."""
    torch.manual_seed(0)
    models = {f"m{i}": nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(144, 3)) for i in range(2)}
    batch = (torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2]))
    with pytest.raises(UnsupportedModel, match="^epe_nas cannot score this batch") as e:
        swapnas.rank(models, batch, "swap,epe_nas")
    assert e.value.of_batch


def test_configure_takes_a_given_sigma_with_the_spaces_mu(monkeypatch) -> None:
    """Kills S5 (session._with_prior: ``sigma=d_sigma`` whatever was given) and S6 (``mu=d_mu``): an unconfigured
    swap_reg given sigma alone (or mu alone) keeps it, the other from the space's rule."""
    from tests.test_session_scoring_mutants import recording_prepare
    recording_prepare(monkeypatch)
    mu, sigma = get_space("nb201").default_size_prior({"C": 16, "N": 1}, 10)

    def prior(**given) -> tuple:
        (p,) = session.configure("nb201", "cifar10", [get_proxy("swap_reg")], **given)[2]
        return p.options["mu"], p.options["sigma"]

    assert prior(sigma=0.5) == (mu, 0.5)
    assert prior(mu=3.0) == (3.0, sigma)


# --- proxies/code.py: option_text and code_digest ----------------------------------------------------------------

def _helper(x, scale=1.0):
    return x * scale


def test_code_digest_of_a_partial_of_a_builtin_is_none() -> None:
    """Kills C3 (code_digest's partial branch: a digest where its function has none). A partial over a function
    without readable source has no digest, as the function has none."""
    import functools
    import swapnas.proxies.code as code
    assert code.code_digest(max) is None
    assert code.code_digest(functools.partial(max, 3)) is None
    assert code.code_digest(functools.partial(_helper, scale=2.0)) is not None


@pytest.mark.parametrize("with_numpy, plain", [
    ((np.str_("a"),), ("a",)),               # C9: tuples' numpy scalars not converted
    ([np.float32(0.1)], [float(np.float32(0.1))]),
    ({"a": np.str_("b")}, {"a": "b"}),       # C8: dicts' numpy scalars not converted
    ({np.str_("k"): 1}, {"k": 1}),
])
def test_numpy_scalars_inside_containers_key_as_the_python_values_they_hold(with_numpy, plain) -> None:
    """Kills C8 and C9 (_numbers leaving dicts / tuples and lists as they are): the container's text would write the
    numpy str unquoted (``(a,)`` against ``('a',)``) and a float32 by its short str."""
    from swapnas.proxies.code import option_text
    assert option_text(with_numpy) == option_text(plain)


def test_arrays_of_equal_bytes_and_other_dtypes_get_other_keys() -> None:
    """Kills C12 (the dtype left out of an array's key): zeros in float32 and in int32 have the same bytes."""
    from swapnas.proxies.code import option_text
    assert option_text(np.zeros(4, np.float32)) != option_text(np.zeros(4, np.int32))
    assert option_text(torch.zeros(4)) != option_text(torch.zeros(4, dtype=torch.int32))


def test_partials_with_other_keywords_get_other_keys() -> None:
    """Kills C13 (a partial option keyed without its keywords)."""
    import functools
    from swapnas.proxies.code import option_text
    assert option_text(functools.partial(_helper, scale=1.0)) != option_text(functools.partial(_helper, scale=2.0))


def _transform_metric(model, batch, transform=None):
    return float(transform(1.0))


def test_defect_a_partial_metric_fixing_a_lambda_is_not_refused_by_the_code_check(tmp_path) -> None:
    """(failed on 1d147f0): code_digest of a functools.partial digests its fixed arguments with option_text, which
    raises for a lambda ("option ?=__main__.<lambda> ...": no option is involved). code_digest's contract is None
    where the source cannot be read, and warn_changed_code (every stored run) now ends in that ValueError where
    before session 66 the metric ran (its digest None)."""
    import functools
    import warnings
    from swapnas.code_changes import warn_changed_code
    from swapnas.proxies import register
    from swapnas.proxies.code import code_digest
    from swapnas.proxies.registry import _REGISTRY
    from swapnas.store import ScoreStore
    fn = functools.partial(_transform_metric, transform=lambda v: v * 2)
    assert code_digest(fn) is None  # no digest (its lambda has no key of its own), not a ValueError
    try:
        register("mutants_partial_lambda", structural=True)(fn)
        with ScoreStore(tmp_path / "s.sqlite") as store, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warn_changed_code(store, [get_proxy("mutants_partial_lambda")])
    finally:
        _REGISTRY.pop("mutants_partial_lambda", None)


# --- proxies/registry.py: _cell_again ------------------------------------------------------------------------------

def test_a_main_function_cannot_replace_a_library_metric_of_the_same_qualname() -> None:
    """Kills R2 (_cell_again with any() for all()) and R4 (its __main__ check dropped): only a __main__ function
    registered again replaces a __main__ one; one defined in __main__ under a library metric's name and qualname is
    still refused as registered twice."""
    from swapnas.proxies import register
    from tests.registry_tools import registry_snapshot
    old = get_proxy("params").fn

    def impostor(model, batch):
        return 0.0

    impostor.__qualname__, impostor.__module__ = old.__qualname__, "__main__"
    with registry_snapshot():
        with pytest.raises(ValueError, match="registered twice"):
            register("params", structural=True)(impostor)


def test_another_main_function_under_a_taken_name_is_refused() -> None:
    """Kills R3 (_cell_again's qualname check dropped): a notebook's *other* function registered under a name its
    first function holds is a clash, not the cell run again."""
    from swapnas.proxies import register
    from tests.registry_tools import registry_snapshot

    def first(model, batch):
        return 1.0

    def second(model, batch):
        return 2.0

    for f in (first, second):
        f.__module__ = "__main__"
    with registry_snapshot():
        register("mutants_cell_metric", structural=True)(first)
        with pytest.raises(ValueError, match="registered twice"):
            register("mutants_cell_metric", structural=True)(second)


# --- scoring.float32_default ---------------------------------------------------------------------------------------

def test_float32_default_nested_keeps_float32_until_the_outer_block_ends() -> None:
    """Kills F2 (the default given back at every block's end, not the last one's): an inner block's end (another
    thread's, or a nested call) must not put the caller's float64 back under a block still running."""
    from swapnas.scoring import float32_default
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with float32_default():
            with float32_default():
                assert torch.get_default_dtype() == torch.float32
            assert torch.get_default_dtype() == torch.float32
        assert torch.get_default_dtype() == torch.float64
    finally:
        torch.set_default_dtype(before)


def test_float32_default_gives_the_default_back_after_an_error() -> None:
    """Kills F3 (the count and default given back only on a normal exit): after a block ended by an exception the
    caller's float64 is back, and a later block still gives it back."""
    from swapnas.scoring import _Float32Holders, float32_default
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with pytest.raises(RuntimeError), float32_default():
            raise RuntimeError("boom")
        assert torch.get_default_dtype() == torch.float64 and _Float32Holders.count == 0
        with float32_default():
            pass
        assert torch.get_default_dtype() == torch.float64
    finally:
        torch.set_default_dtype(before)


# --- scoring._SATURATION_SHOWN: per protocol -----------------------------------------------------------------------

@pytest.mark.bundle
@pytest.mark.skipif(_DATA is None, reason="needs the data bundle: set SWAPNAS_DATA")
def test_a_later_run_on_another_dataset_with_the_same_batch_size_warns_of_its_own_saturation(monkeypatch) -> None:
    """Kills F7 (the saturation key without the protocol's fingerprint, only batch size and network): session 66's
    case was 'a later run in a notebook, on another dataset'; the session's test changes the batch size only."""
    import warnings
    from swapnas import SaturationWarning, scoring
    from swapnas.benchmarks import get_benchmark
    from swapnas.correlation import run_correlation
    from swapnas.session import configure
    from swapnas.store import ScoreStore
    data_dir = str(_DATA)
    monkeypatch.setattr(scoring, "_SATURATION_SHOWN", {})
    bench = get_benchmark("nb201", data_dir)
    shown = []
    for task in ("cifar10", "cifar100"):
        protocol, batch, proxies = configure("nb201", task, "swap", batch_size=8, repeats=1, data_dir=data_dir)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            run = run_correlation(bench=bench, task=task, proxies=proxies, n_archs=2, protocol=protocol, batch=batch,
                                  store=ScoreStore(":memory:"), device=torch.device("cpu"), progress=False)
        assert run.results[0].saturated == 2
        shown.append(sum(issubclass(x.category, SaturationWarning) for x in w))
    assert shown == [1, 1]


# --- module_tools.model_lock ---------------------------------------------------------------------------------------

def test_an_unhashable_models_lock_is_one_lock_for_every_call() -> None:
    """Kills ML2 (a fresh lock for a model that cannot be a dict key): a model with __eq__ and no __hash__ must get
    the same lock on every call, or two threads' hooks on it are not kept apart."""
    from swapnas.module_tools import model_lock

    class Unhashable(nn.Linear):
        def __eq__(self, other):
            return self is other
        __hash__ = None  # type: ignore[assignment]

    m = Unhashable(2, 2)
    assert model_lock(m) is model_lock(m)
    plain = nn.Linear(2, 2)
    assert model_lock(plain) is model_lock(plain) and model_lock(plain) is not model_lock(nn.Linear(2, 2))


def test_a_read_only_stores_repr_says_so(tmp_path) -> None:
    """Kills SR1 (ScoreStore.__repr__ without its read-only note)."""
    from swapnas.store import ScoreStore
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as store:
        assert repr(store) == f"ScoreStore({str(path)!r})"
    with ScoreStore(path, read_only=True) as store:
        assert repr(store) == f"ScoreStore({str(path)!r}, opened for reading)"


# --- progress.py ---------------------------------------------------------------------------------------------------

def test_a_bar_given_a_stream_draws_on_it_without_a_stderr(monkeypatch) -> None:
    """Kills PG2 (_drawable disabling every bar when sys.stderr is None, also one given a file of its own)."""
    import io
    import sys
    from swapnas.progress import PlainBar
    monkeypatch.setattr(sys, "stderr", None)
    buf = io.StringIO()
    for _ in PlainBar(range(3), "t", 3, file=buf, mininterval=0):
        pass
    assert "3/3" in buf.getvalue()


def test_the_auto_bar_without_a_stderr_does_not_fail(monkeypatch) -> None:
    """Kills PG3 (Bar, the tqdm.auto one of correlate / search / train, without _drawable): with sys.stderr None it
    ended in tqdm's AttributeError, as PlainBar did."""
    import sys
    from swapnas.progress import Bar
    monkeypatch.setattr(sys, "stderr", None)
    assert list(Bar(range(3), "t", 3, mininterval=0)) == [0, 1, 2]


def test_a_log_record_said_while_a_bar_is_drawn_starts_a_line_of_its_own() -> None:
    """Kills PG7 (BarSafeHandler writing to its stream as logging's StreamHandler does, not through say): the record
    must not be glued to the end of the bar's text on the same stream."""
    import io
    import logging
    from swapnas.progress import BarSafeHandler, PlainBar
    buf = io.StringIO()
    bar = PlainBar(total=5, desc="scoring", file=buf, mininterval=0)
    bar.update(1)
    handler = BarSafeHandler(buf)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.emit(logging.LogRecord("swapnas.x", logging.WARNING, "f.py", 1, "a note", None, None))
    bar.close()
    text = buf.getvalue()
    at = text.index("WARNING swapnas.x: a note")
    assert at == 0 or text[at - 1] in "\r\n", repr(text)
    assert "scoring" not in text[:at].rsplit("\r", 1)[-1].rsplit("\n", 1)[-1], repr(text)


# --- cli: `except Warning` and the log handler (subprocesses: logging.basicConfig acts once per process) ------------

_CLI_SCRIPT = r'''
import json, logging, sys
from pathlib import Path
import swapnas.cli as c
out = Path(sys.argv[1])
parsed = c._parsed
def raising(args):
    out.mkdir(parents=True, exist_ok=True)
    (out / "scores.sqlite").write_bytes(b"")
    raise UserWarning("made an error by -W error")
def patched(argv):
    a = parsed(argv)
    a.func = raising
    return a
c._parsed = patched
rc = c.main(["--json", "correlate", "--archs", "2", "--out", str(out)])
print("HANDLERS", [type(h).__name__ for h in logging.getLogger().handlers], "RC", rc, file=sys.stderr)
'''


def _cli(tmp_path):
    import os
    import subprocess
    import sys as _sys
    from pathlib import Path
    src = str(Path(swapnas.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run([_sys.executable, "-c", _CLI_SCRIPT, str(tmp_path / "o")], capture_output=True, text=True,
                          env=env, timeout=120)


def test_a_warning_raised_as_an_error_names_the_store_that_keeps_the_scores_and_the_cli_logs_through_bars(tmp_path):
    """Kills CL2 (the `except Warning` message without the kept store) and CL3 (the command line's log handler not
    BarSafeHandler): one subprocess, a scoring command whose run raises a Warning after its store exists."""
    import json
    r = _cli(tmp_path)
    doc = json.loads(r.stdout)
    assert doc["exit"] == 2 and doc["error"].startswith("a warning was raised as an error"), doc
    assert "UserWarning: made an error by -W error; every finished score is kept in the store" in doc["error"], doc
    assert "HANDLERS ['BarSafeHandler'] RC 2" in r.stderr, r.stderr[-500:]


def test_another_librarys_warning_is_shown_as_python_formats_it_without_a_blank_line() -> None:
    """Kills CB2 (brief_warning's other-library branch without the rstrip: formatwarning's newline and say's made a
    blank line after each)."""
    import io
    import warnings
    from swapnas.callers import brief_warning
    buf = io.StringIO()
    brief_warning(DeprecationWarning("old"), DeprecationWarning, "/elsewhere/lib.py", 3, file=buf)
    assert buf.getvalue() == warnings.formatwarning(DeprecationWarning("old"), DeprecationWarning, "/elsewhere/lib.py",
                                                    3)


# --- reprs and search_arch's notes ---------------------------------------------------------------------------------

def test_correlate_run_repr_leaves_out_the_bootstraps_draws() -> None:
    """Kills RS4 (CorrelateRun.bootstrap back in the repr): its draws are one list per resample."""
    from swapnas.results import CorrelateRun
    run = CorrelateRun({"space": "nb201"}, "acc", "", [], {}, [], [], 1.0,
                       bootstrap={"resamples": 1000, "seed": 0, "draws": [[i] * 50 for i in range(1000)]})
    assert len(repr(run)) < 2000 and "draws" not in repr(run)


def test_batch_repr_says_its_note() -> None:
    """Kills BU1 (Batch.__repr__ without the note)."""
    from swapnas import Batch
    batch = Batch(torch.randn(4, 3, 8, 8), torch.randint(0, 10, (4,)), 10, "cifar10", "x.npz:x", 4, note="synthetic")
    assert repr(batch) == ("Batch(cifar10: inputs (4, 3, 8, 8) float32, targets (4,) int64, 10 classes, loss ce, "
                           "4 real, from x.npz:x; synthetic)")


@pytest.mark.bundle
@pytest.mark.skipif(_DATA is None, reason="needs the data bundle: set SWAPNAS_DATA")
def test_a_benchmarks_repr_names_its_file() -> None:
    """Kills BD1 (Described.__repr__ without the data file)."""
    from swapnas.benchmarks import get_benchmark
    bench = get_benchmark("nb201", str(_DATA))
    assert repr(bench).startswith("<NB201Benchmark nb201: space nb201, tasks ")
    assert repr(bench).endswith(f", from {bench.path}>") and str(bench.path) != "?"


@pytest.mark.bundle
@pytest.mark.skipif(_DATA is None, reason="needs the data bundle: set SWAPNAS_DATA")
def test_search_arch_says_a_missing_ground_truth_as_a_log_record(tmp_path, monkeypatch, capsys, caplog) -> None:
    """Kills SC2 (search_command's no-ground-truth note print()ed from search_arch too, not a log record)."""
    import logging
    from swapnas.cli import search_command

    def missing(result, data_dir):
        raise FileNotFoundError("no table here")

    monkeypatch.setitem(search_command.SEARCH_EXTRAS, "nb201", missing)
    with caplog.at_level(logging.WARNING, logger="swapnas"):
        swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", population=4, sample=2, max_evals=4, batch_size=4,
                            refine=0, workers=1, data_dir=str(_DATA), no_progress=True)
    assert "no nb201 ground truth for the found arch (no table here)" in caplog.text
    assert "ground truth" not in capsys.readouterr().err


# --- -v's debug lines (session 66) ---------------------------------------------------------------------------------

@pytest.mark.bundle
@pytest.mark.skipif(_DATA is None, reason="needs the data bundle: set SWAPNAS_DATA")
def test_correlate_says_its_run_and_its_time_at_debug(caplog) -> None:
    """Kills CO1 (correlate_proxies' 'scored in' debug line dropped) and CO2 (its opening debug line dropped)."""
    import logging
    from swapnas.benchmarks import get_benchmark
    from swapnas.correlation import run_correlation
    from swapnas.session import configure
    from swapnas.store import ScoreStore
    data_dir = str(_DATA)
    protocol, batch, proxies = configure("nb201", "cifar10", "params", batch_size=4, repeats=1, data_dir=data_dir)
    with caplog.at_level(logging.DEBUG, logger="swapnas"):
        run_correlation(bench=get_benchmark("nb201", data_dir), task="cifar10", proxies=proxies, n_archs=2,
                        protocol=protocol, batch=batch, store=ScoreStore(":memory:"), device=torch.device("cpu"),
                        progress=False)
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(m.startswith("nb201/cifar10: 2 archs, proxies params@") and f"batch {batch.digest}" in m
               for m in said), said
    assert any(m.startswith("nb201/cifar10: scored in ") and m.endswith("0 archs reused whole from the store")
               for m in said), said


@pytest.mark.bundle
@pytest.mark.skipif(_DATA is None, reason="needs the data bundle: set SWAPNAS_DATA")
def test_a_search_says_each_cycle_at_debug(tmp_path, caplog) -> None:
    """Kills DR1 (evolve's per-cycle debug line dropped)."""
    import logging
    with caplog.at_level(logging.DEBUG, logger="swapnas"):
        swapnas.search_arch("nb201", "cifar10", out=tmp_path / "s", population=4, sample=2, max_evals=5, batch_size=4,
                            refine=0, workers=1, data_dir=str(_DATA), no_progress=True)
    assert any(r.getMessage().startswith("cycle 1/") and " evaluated, best " in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_a_second_stage_of_another_fitness_is_configured_without_swap_regs_prior(small_bundle) -> None:
    """Kills FT1 (stage_configure passing the first stage's μ/σ on for a fitness other than swap_reg): configure
    refuses μ/σ without swap_reg since session 66, so the second stage of `--fitness swap --mu … --sigma …` failed."""
    from swapnas.scoring import Protocol  # noqa: F401 - (the first stage's, below)
    from swapnas.search.fitness import stage_configure
    from swapnas.search.final import final_net
    from swapnas.session import configure
    final = final_net("nb201", "cifar10")
    first, _, _ = configure("nb201", "cifar10", [get_proxy("swap")], batch_size=4, repeats=1,
                            data_dir=str(small_bundle))
    sizes = dict(mu=300.0, sigma=9e4, target_params=None, tolerance=0.1, prior=None, progress=False)
    make = stage_configure("nb201", "cifar10", get_proxy("swap"), final, first, (300.0, 9e4), sizes, seed=7,
                           data_dir=str(small_bundle))
    protocol, _, (proxy,) = make(batch_size=8, repeats=2, net={"N": 2})
    assert proxy.name == "swap" and (protocol.batch_size, protocol.repeats) == (8, 2)


def test_a_rank_inside_a_rank_has_its_own_saturation_set() -> None:
    """Kills SA2 (one_per_call reusing an enclosing block's set): each rank call is warned once, also one made inside
    another (a metric that ranks); the outer set is back after the inner block."""
    from swapnas.saturation import call_shown, one_per_call
    assert call_shown() is None
    with one_per_call():
        outer = call_shown()
        outer.add("swap")
        with one_per_call():
            assert call_shown() == set() and call_shown() is not outer
        assert call_shown() is outer
    assert call_shown() is None


def test_defect_one_per_call_yields_the_calls_own_set() -> None:
    """(failed on 1d147f0): one_per_call yields ``_CALL.get() or set()``; the call's set is empty at entry,
    so ``or`` yields a new set, not the one call_shown() returns: a caller of ``with one_per_call() as shown`` reads
    a set that nothing fills (rank ignores the yielded value, so no caller is hurt today)."""
    from swapnas.saturation import call_shown, one_per_call
    with one_per_call() as shown:
        assert shown is call_shown()


def test_a_class_option_is_keyed_by_its_name_and_code_digest() -> None:
    """Kills C20 (classes left to their str, ``<class '…'>``: no digest, so an edited class kept its key)."""
    from swapnas.proxies.code import code_digest, option_text
    assert option_text(nn.ReLU) == f"torch.nn.modules.activation.ReLU#{code_digest(nn.ReLU)}"
    assert code_digest(nn.ReLU) is not None


@pytest.mark.parametrize("given", [{"sigma": -1.0}, {"mu": float("nan")}, {"sigma": 0.0}])
def test_configure_checks_a_given_prior(monkeypatch, given) -> None:
    """Kills P2 (session.configure without check_prior, moved to size_prior in session 66)."""
    from tests.test_session_scoring_mutants import recording_prepare
    recording_prepare(monkeypatch)
    with pytest.raises(ValueError, match=r"^--(mu|sigma) must be a finite number"):
        session.configure("nb201", "cifar10", "swap_reg", **given)
