"""Review of session 59 by mutation testing: each test kills mutants of the session's new code that no earlier
test noticed (the mutant is named in each docstring)."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import sqlite3
import sys
import types
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

import swapnas
from swapnas import cli, code_changes, executors, results, session, store_merge
from swapnas.proxy_choice import _layers_calling_functions, auto_proxy
from swapnas.api_failures import hint
from swapnas import out_checks
from swapnas.out_checks import out_folder
from swapnas.data import Batch
from swapnas.files import save_figure, write_atomic
from swapnas.proxies import get_proxy
from swapnas.proxies.code import NetworkCodeWarning, ProxyCodeWarning
from swapnas.requirements import UnsupportedModel
from swapnas.scoring import Protocol
from swapnas.session import out_of_memory, score_archs, scoring_net
from swapnas.store import Record, ScoreStore
from swapnas.store_files import StoreError
from swapnas.store_merge import merge_stores
from swapnas.store_tools import salvage_store
from swapnas.swap_checks import uncompile

from .test_session59 import _DictOut, _ShortOfMemory, _compiled, _small_store, ok_record


# --- session: _whole_numbers -------------------------------------------------------------------------------------

def test_a_whole_float_is_made_an_integer_by_the_scored_networks_default_before_the_builds() -> None:
    """session._whole_numbers: ``scored = {}``, ``default = params[name].default`` and ``.get("XXnet")`` (the
    scored network's default decides, as in check_net: a build default of None beside SCORING_DEFAULTS' 16)."""
    def build(arch: object, C: object = None) -> None:
        return None

    mod = types.SimpleNamespace(build=build, SCORING_DEFAULTS={"net": {"C": 16}})
    got = session._whole_numbers(mod, {"C": 16.0})
    assert got == {"C": 16} and type(got["C"]) is int


def test_a_whole_float_for_a_true_or_false_option_is_refused_as_given() -> None:
    """session._whole_numbers: ``isinstance(default, int)`` (a bool default made 1.0 the integer 1, echoed "not 1")."""
    with pytest.raises(ValueError, match=r"auxiliary is true or false \(default False\), not 1\.0$"):
        scoring_net("darts", "cifar10", {"auxiliary": 1.0})


def test_an_option_that_is_no_build_parameter_is_echoed_as_given() -> None:
    """session._whole_numbers: ``if name in params else 0`` (nb201's ``task``, no build parameter, was made an
    integer and echoed ``task=1``)."""
    with pytest.raises(ValueError, match=r"^--net option\(s\) task are not options of the nb201 network"):
        scoring_net("nb201", "cifar10", {"task": 1.0})  # (session 62: task is an option of spaces with tasks only)


# --- session: out_of_memory's pattern, _say_out_of_memory ---------------------------------------------------------

def _failed(error: str | None) -> Record:
    return Record("failed", None, None, [], 0.1, None, error)


@pytest.mark.parametrize("error", [
    "base proxy 'swap' failed: MemoryError: ",  # the optional prefix dropped or broken
    "torch.OutOfMemoryError: HIP out of memory. Tried to allocate 2.00 GiB",  # (?:torch\.)? or OutOfMemoryError dropped
    "OutOfMemoryError: XPU out of memory",  # OutOfMemoryError dropped
    "RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB",  # |CUDA out of memory dropped
    "RuntimeError: MPS backend out of memory (MPS allocated: 1.00 GB)",  # |MPS backend out of memory dropped
])
def test_each_way_of_running_out_of_memory_is_recognised(error: str) -> None:
    """_OUT_OF_MEMORY: each alternative dropped (OutOfMemoryError, CUDA, MPS), ``(?:torch\\.)?`` dropped and the
    ``base proxy '…' failed:`` prefix dropped or made to fail."""
    assert out_of_memory(_failed(error))


@pytest.mark.parametrize("error", ["ValueError: the loss was expected to raise MemoryError: it did not",
                                   "MemoryErrorish: a name that only begins as one"])
def test_an_error_that_only_mentions_a_memory_error_is_the_archs(error: str) -> None:
    """_OUT_OF_MEMORY: the ``^`` anchor dropped, and the ``\\b`` after the exception's name dropped."""
    assert not out_of_memory(_failed(error))


def test_the_out_of_memory_warning_counts_every_such_score_and_quotes_the_first(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """_say_out_of_memory: ``len(short)`` made 1, the quoted error made '' or shortened to 20 characters, and
    ``short[-1]`` quoted in place of ``short[0]``."""
    protocol = Protocol("nb201", "cifar10", 2, repeats=1, seed=0, net={"C": 4, "N": 1})
    batch = Batch(torch.zeros(2, 3, 4, 4), torch.zeros(2, dtype=torch.int64), 10, "cifar10", "test", 2)
    first = "MemoryError: the first arch could not allocate its 2 GiB of activations"
    executor = _ShortOfMemory({"a": _failed(first), "b": _failed("OutOfMemoryError: CUDA out of memory (the second)"),
                               "c": ok_record})
    with ScoreStore(tmp_path / "s.sqlite") as store, caplog.at_level("WARNING", logger="swapnas"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyCodeWarning)
        warnings.simplefilter("ignore", NetworkCodeWarning)
        score_archs(["a", "b", "c"], "nb201", [get_proxy("params")], protocol, batch, store, torch.device("cpu"),
                    progress=False, executor=executor)
    assert f"2 score(s) ran out of memory ({first}): they count as failed" in caplog.text


# --- code_changes._warn_other_version --------------------------------------------------------------------------------

def test_a_new_version_names_every_older_version_in_order_and_the_callers_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """_warn_other_version: ``others[0]`` in place of the joined list, ``list(...)`` in place of ``sorted(...)``
    (the store lists its codes in the order recorded) and the ``stacklevel`` dropped (the warning pointed into
    swapnas, not at the caller)."""
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    params = get_proxy("params")
    with ScoreStore(tmp_path / "s.sqlite") as store:
        store.accept_code("params@2", "d2")
        store.accept_code("params@1", "d1")
        with pytest.warns(ProxyCodeWarning, match=r"was used with its version 1, 2; this swapnas gives its "
                                                  r"definition version 3") as got:
            code_changes.warn_changed_code(store, [dataclasses.replace(params, version="3")])
    assert [w.filename for w in got if issubclass(w.category, ProxyCodeWarning)] == [__file__]


# --- results._cwd ----------------------------------------------------------------------------------------------------

def test_provenance_gives_the_folders_undecoded_bytes_as_the_utf8_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    """results._cwd: ``os.getcwd()`` without ``_decoded`` (a C locale's surrogates went into the JSON)."""
    monkeypatch.setattr(results.Path, "cwd", classmethod(lambda cls: Path("/tmp/E2 \udccf\udc81")))
    monkeypatch.setattr(results.Path, "home", classmethod(lambda cls: Path("/nowhere")))
    assert results.provenance()["cwd"] == "/tmp/E2 \u03c1"


# --- cli/out_checks: _refuse_long_names, _refuse_others_files ------------------------------------------------------

def _args(out: Path) -> argparse.Namespace:
    return argparse.Namespace(command="correlate", out=str(out), shard=None, data_dir=None, store=None)


def test_a_folder_name_is_measured_in_bytes_not_characters(tmp_path: Path) -> None:
    """_refuse_long_names: ``len(part)`` in place of ``len(os.fsencode(part))``, in the test and in the message."""
    if sys.getfilesystemencoding().lower().replace("-", "") != "utf8":
        pytest.skip("the file system encoding is not UTF-8")
    with pytest.raises(ValueError, match=r"is 400 bytes, more than the 255 a name takes"):
        out_folder(_args(tmp_path / "new" / ("\u03c1" * 200)))


def test_a_last_new_folder_one_byte_too_long_is_refused(tmp_path: Path) -> None:
    """_refuse_long_names: ``> most + 1`` (256 bytes passed) and ``parts[:-1]`` (the last new folder was not
    measured; the system's own lookup stops at the missing folder before it)."""
    with pytest.raises(ValueError, match=r"the folder name a{40}… is 256 bytes, more than the 255 a name takes"):
        out_folder(_args(tmp_path / "new" / ("a" * 256)))
    assert list(tmp_path.iterdir()) == []


def test_the_file_systems_own_name_limit_is_the_one_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """_refuse_long_names: ``most = 255`` in place of ``os.pathconf(near, "PC_NAME_MAX")``."""
    monkeypatch.setattr(out_checks.os, "pathconf", lambda path, name: 100)
    with pytest.raises(ValueError, match=r"is 150 bytes, more than the 100 a name takes on this file system"):
        out_folder(_args(tmp_path / ("a" * 150)))


@pytest.mark.parametrize("error", [ValueError("unrecognized configuration name"), AttributeError("pathconf")])
def test_no_name_limit_to_ask_for_leaves_the_name_to_the_system(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """_refuse_long_names: ``except (OSError,)`` (a platform without PC_NAME_MAX or without pathconf failed)."""
    def no_limit(path: object, name: str) -> int:
        raise error

    monkeypatch.setattr(out_checks.os, "pathconf", no_limit)
    assert out_folder(_args(tmp_path / "run")) == tmp_path / "run"


def test_of_two_files_of_the_users_the_first_the_command_writes_is_named(tmp_path: Path) -> None:
    """_refuse_others_files: ``mine = present[-1]``."""
    (tmp_path / "results.csv").write_text("arch,accuracy\n")
    (tmp_path / "results.tex").write_text("\\begin{tabular}\n")
    with pytest.raises(ValueError, match=r"holds results\.csv, which `swapnas correlate` writes"):
        out_folder(_args(tmp_path))


def test_a_folder_in_place_of_an_output_file_is_refused_as_the_run_starts(tmp_path: Path) -> None:
    """_refuse_others_files: ``(out / n).is_file()`` in place of ``exists()`` (a folder results.csv passed)."""
    (tmp_path / "results.csv").mkdir()
    with pytest.raises(ValueError, match=r"holds results\.csv, which `swapnas correlate` writes"):
        out_folder(_args(tmp_path))


# --- cli/__init__: _kept_scores, EMFILE ------------------------------------------------------------------------------

def test_a_folder_where_the_store_would_be_keeps_no_scores(tmp_path: Path) -> None:
    """_kept_scores: ``os.path.exists(path)`` in place of ``isfile``."""
    (tmp_path / "scores.sqlite").mkdir()
    assert cli._kept_scores(argparse.Namespace(command="correlate", out=str(tmp_path), store=None)) == ""


# --- executors: _ensure_pool's OSError ----------------------------------------------------------------------------

def test_a_pool_without_shared_locks_names_dev_shm_on_linux_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """PoolExecutor._ensure_pool: ``where = ""`` and the platform test inverted."""
    def no_semaphores(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(executors, "ProcessPoolExecutor", no_semaphores)
    with pytest.raises(ValueError) as got:
        executors.PoolExecutor(2)._ensure_pool()
    assert ("in /dev/shm, which must be writable" in str(got.value)) == sys.platform.startswith("linux")


# --- store_tools: salvage ---------------------------------------------------------------------------------------------

def test_a_failed_salvage_says_the_sqlite_error_not_the_work_files_store_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """salvage_store's ``except StoreError``: ``({exc}`` in place of ``({exc.__cause__ or exc}`` (the message named
    the removed work file and "another --store")."""
    source = _small_store(tmp_path / "s.sqlite")

    def disk_io(self: ScoreStore, *args: object, **kwargs: object) -> None:
        cause = sqlite3.OperationalError("disk I/O error")
        raise self._error(cause) from cause

    monkeypatch.setattr(ScoreStore, "insert_rows", disk_io)
    with pytest.raises(StoreError) as got:
        salvage_store(source, tmp_path / "v.sqlite")
    text = str(got.value)
    assert "(disk I/O error; a full disk" in text and "salvaged.sqlite" not in text and "--store" not in text


# --- store_merge: the new except branch and _merge_into ----------------------------------------------------------

def test_a_source_that_fails_mid_read_keeps_its_own_advice_when_into_has_its_file_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """merge_stores: ``if False`` and ``dest.name not in str(exc)`` (a source's error, naming a file of INTO's name,
    was relabelled --into)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    source = _small_store(tmp_path / "a" / "scores.sqlite")
    into = tmp_path / "b" / "scores.sqlite"
    read = store_merge._read

    def cut(rows: object, path: Path) -> object:
        def rows_then_damage() -> object:
            yield from rows  # type: ignore[misc]
            raise sqlite3.DatabaseError("database disk image is malformed")
        return read(rows_then_damage(), path)

    monkeypatch.setattr(store_merge, "_read", cut)
    with pytest.raises(StoreError) as got:
        merge_stores([source], into)
    text = str(got.value)
    assert f"the source store {source} could not be read" in text
    assert f"swapnas store salvage {source} --out NEW.sqlite" in text and "--into" not in text  # (session 67: no
    # fresh store advised for a source)


# --- swap_checks: eager, uncompile; api: _layers_calling_functions --------------------------------------------------

def test_a_compiled_module_deep_in_a_scored_copy_is_made_eager() -> None:
    """uncompile: ``[model]`` in place of ``model.modules()`` (only the top module's children were replaced)."""
    linear = nn.Linear(4, 2)
    model = nn.Sequential(nn.Sequential(_compiled(linear), nn.ReLU()), nn.Linear(2, 2))
    assert uncompile(model) is model
    assert model[0][0] is linear and not any(type(m).__name__ == "OptimizedModule" for m in model.modules())


def test_auto_counts_a_transformer_decoders_function_activations_beside_an_activation_module() -> None:
    """_layers_calling_functions: ``layers = (nn.TransformerEncoderLayer,)`` (a decoder layer's F.relu went
    uncounted)."""
    layer = nn.TransformerDecoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    assert _layers_calling_functions(layer)
    assert auto_proxy([nn.Sequential(layer, nn.Linear(16, 16), nn.GELU())]) == "swap_fn"


# --- api_failures: _float_weights, run_proxy's cast back, hint ------------------------------------------------------

class _IdsFirst(nn.Module):
    """An integer parameter (a lookup table) before float64 weights."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.arange(3), requires_grad=False)
        self.conv = nn.Conv2d(3, 4, 3).to(torch.float64)


def _batch(x: torch.Tensor) -> Batch:
    return Batch(x, torch.zeros(x.shape[0], dtype=torch.int64), 10, "custom", "test", x.shape[0])


def test_the_dtype_hint_names_the_first_float_weights_past_an_integer_parameter() -> None:
    """_float_weights: the ``if t.is_floating_point()`` filter dropped (the hint said pass x.to(torch.int64))."""
    said = hint(get_proxy("swap"), _IdsFirst(), _batch(torch.randn(2, 3, 8, 8)), RuntimeError("mat1 and mat2"))
    assert "the weights torch.float64: pass x.to(torch.float64)" in said


def test_a_model_without_weights_gets_no_dtype_hint() -> None:
    """_float_weights: ``torch.float32`` in place of None for a model without float weights (float64 inputs were
    told to become float32)."""
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    assert "pass x.to(" not in hint(get_proxy("swap"), nn.Flatten(), _batch(x), RuntimeError("boom"))


def test_synflow_on_a_bfloat16_model_returning_a_dict_casts_its_copy_back_to_bfloat16() -> None:
    """run_proxy: ``model.to(torch.float32)`` in place of ``model.to(given)`` (synflow's float64 copy was cast to
    float32, not back to the model's bfloat16, and the failure blamed on the bfloat16 inputs)."""
    with pytest.raises(UnsupportedModel) as got:
        swapnas.score(_DictOut().to(torch.bfloat16), torch.randn(4, 3, 8, 8).to(torch.bfloat16), "synflow")
    text = str(got.value)
    assert "its forward fails" not in text and "pass x.to(" not in text
    assert "synflow needs the model to return its output tensor" in text


# --- files: save_figure, write_atomic's OSError -------------------------------------------------------------------

class _Figure:
    def __init__(self) -> None:
        self.formats: list[str] = []

    def savefig(self, f: object, format: str) -> None:
        self.formats.append(format)
        f.write(b"<svg/>")  # type: ignore[attr-defined]


def test_save_figure_writes_the_format_of_its_suffix(tmp_path: Path) -> None:
    """save_figure: ``format="png"`` in place of the suffix's."""
    fig = _Figure()
    save_figure(fig, tmp_path / "plot.svg")
    assert fig.formats == ["svg"] and (tmp_path / "plot.svg").read_bytes() == b"<svg/>"


def test_an_os_error_naming_another_file_keeps_its_name(tmp_path: Path) -> None:
    """write_atomic: ``exc.filename is None or …`` and ``if exc.errno is not None`` (an error of another file,
    e.g. a font the figure reads, was said as the output's)."""
    def font_missing(f: object) -> None:
        raise OSError(errno.ENOENT, "No such file or directory", "/fonts/DejaVuSans.ttf")

    with pytest.raises(OSError) as got:
        write_atomic(tmp_path / "plot.png", font_missing)
    assert got.value.filename == "/fonts/DejaVuSans.ttf" and list(tmp_path.iterdir()) == []


def test_an_os_error_without_an_errno_is_raised_as_it_was(tmp_path: Path) -> None:
    """write_atomic: ``if exc.filename is None`` without the errno test (``OSError("…")`` became
    ``[Errno None] None: '…'``)."""
    def refused(f: object) -> None:
        raise OSError("the writer refused")

    with pytest.raises(OSError) as got:
        write_atomic(tmp_path / "plot.png", refused)
    assert str(got.value) == "the writer refused"
