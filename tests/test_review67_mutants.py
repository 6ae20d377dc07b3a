"""Session 67's mutation run over the session's changed lines (147 hand-made mutants, a helper's tally): each test
kills one or more mutants the other tests left alive (ids in brackets) and passes on the unmutated code. Fast, CPU
only, no bundle."""

from __future__ import annotations

import sqlite3
import types
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.test_audit67_config import _closed_port
from tests.test_audit67_cuda import GENOTYPE, NO_CUDA
from tests.test_audit67_cuda import cuda_like_cross_entropy  # noqa: F401 - a fixture (usefixtures)


# --- train/data._error_text, load_data [td1 td3 td4 td6] ------------------------------------------------------------

TRACEBACK = ('Caught KeyError in DataLoader worker process 0.\n'
             'Original Traceback (most recent call last):\n'
             '  File "/x/worker.py", line 308, in _worker_loop\n'
             '    data = fetcher.fetch(index)\n'
             '  File "/x/mine.py", line 3, in __getitem__\n'
             '    return {"cat": 0, "dog": 1}[self.names[i]]\n'
             '           ~~~~~~~~~~~~~~~~~~~~^^^^^^^^^^^^^^^\n'
             'ValueError: no label for: 3.JPEG\n'
             'its folder has no class')


def test_error_text_is_the_exception_lines_after_the_last_frame_and_its_code() -> None:
    """[td3 td6] the last frame's File line and its code/marker lines (which may hold ': ') are not the message."""
    from swapnas.train.data import _error_text

    assert _error_text(TRACEBACK) == "ValueError: no label for: 3.JPEG\nits folder has no class"


def test_error_text_without_a_frame_is_the_last_line() -> None:
    """[td4]"""
    from swapnas.train.data import _error_text

    assert _error_text("Caught OSError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):"
                       "\nOSError: disk read failed\n") == "OSError: disk read failed"


def test_unwrapped_worker_error_whose_code_line_holds_a_colon_keeps_its_message() -> None:
    """[td3 td6] end to end: the code line `{"a": 1}` came before the type's ': ' split."""
    from swapnas.train.data import _unwrapped
    from torch._utils import ExceptionWrapper

    try:
        raise ValueError("no label") if {"a": 1} else None
    except ValueError:
        wrapper = ExceptionWrapper(where="in DataLoader worker process 0")
    with pytest.raises(ValueError) as caught:
        wrapper.reraise()
    got = _unwrapped(caught.value)
    assert type(got) is ValueError and str(got) == "no label", str(got)


def test_load_data_refuses_a_blank_data_root() -> None:
    """[td1] "  " is as empty as "" (its strip() was dropped by the mutant: the folder '  ' was looked for)."""
    from swapnas.train.data import load_data

    with pytest.raises(ValueError, match="empty"):
        load_data("cifar10", data_root="   ")


# --- results._module_run [rs4] ---------------------------------------------------------------------------------------

def test_another_packages_cli_main_is_not_python_m_swapnas(monkeypatch) -> None:
    from swapnas import results

    monkeypatch.setattr(results, "_CALLED_AS", types.SimpleNamespace(get=lambda: None))
    monkeypatch.setattr("sys.argv", ["/opt/other/cli/__main__.py", "grid"])
    assert results.command_line() == "/opt/other/cli/__main__.py grid"
    monkeypatch.setattr("sys.argv", ["/site/swapnas/cli/__main__.py", "grid"])
    assert results.command_line() == "python -m swapnas grid"


# --- api.score's default device: buffers count [ap2] ------------------------------------------------------------------

def test_score_runs_a_model_of_buffers_alone_where_its_buffers_are(scratch_registry) -> None:
    import swapnas
    from swapnas.proxies import register

    seen: list[str] = []

    @register("where_probe_m")
    def probe(model, batch) -> float:
        seen.append(str(batch.inputs.device))
        return 1.0

    class Buffers(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("w", torch.ones(3, device="meta"))

        def forward(self, x):
            return x

    swapnas.score(Buffers(), (torch.randn(4, 3, 2, 2), torch.tensor([0, 1, 2, 0])), proxies="where_probe_m")
    assert seen == ["meta"], seen


# --- proxies/_common.output_loss bounds [pc2 pc3 pc5] ----------------------------------------------------------------

@pytest.mark.usefixtures("cuda_like_cross_entropy")
@pytest.mark.parametrize("label", [3, -1])
def test_a_label_equal_to_the_classes_or_negative_is_the_cpus_index_error(label) -> None:
    from swapnas.proxies._common import output_loss

    with pytest.raises(IndexError, match=f"Target {label} is out of bounds"):
        output_loss(torch.randn(4, 3), torch.tensor([0, 1, 2, label]))


@pytest.mark.usefixtures("cuda_like_cross_entropy")
def test_ignored_labels_pass_the_bounds_check() -> None:
    from swapnas.proxies._common import output_loss

    assert torch.isfinite(output_loss(torch.randn(2, 3, 5), torch.tensor([[0, -100, 2, -100, 1]] * 2)))


# --- devices / train [tl1 tl3 tl5] -----------------------------------------------------------------------------------

@NO_CUDA
def test_train_refuses_a_torch_cuda_device_on_a_machine_without_cuda(tmp_path: Path) -> None:
    """[tl1] swapnas.train.train (public) checks a torch.device as run_train does (no torch assertion in RunRng)."""
    from swapnas.train import RECIPES, synthetic_data, train

    config = replace(RECIPES["cifar10"], C=4, layers=2, batch_size=2, epochs=1)
    with pytest.raises(ValueError, match="CUDA is not available"):
        train(GENOTYPE, config, synthetic_data(4, "cifar10"), tmp_path / "o", device=torch.device("cuda"),
              max_steps=1, progress=False)


def test_a_training_step_with_amp_off_is_not_run_under_a_callers_autocast() -> None:
    """[tl3] the review's evaluate() test, for the training step."""
    from swapnas.train import RECIPES
    from swapnas.train.loop import _train_step

    seen: list[torch.dtype] = []
    model = nn.Linear(6, 4)
    model.register_forward_hook(lambda mod, i, o: seen.append(o.dtype))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    config = replace(RECIPES["cifar10"], auxiliary_weight=0.0, grad_clip=0.0)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _train_step(model, torch.randn(4, 6), torch.tensor([0, 1, 2, 3]), opt, scaler, nn.CrossEntropyLoss(),
                    config, False)
    assert seen == [torch.float32], seen


def test_amp_on_is_float16_autocast() -> None:
    """[tl5] AMP (with its GradScaler) is float16; checked on the CPU's autocast."""
    from swapnas.train.loop import _amp

    with _amp(torch.device("cpu"), True):
        try:
            state = torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")
        except TypeError:  # torch < 2.4
            state = torch.is_autocast_cpu_enabled(), torch.get_autocast_cpu_dtype()
    assert state == (True, torch.float16), state


# --- cli/executor_options [eo1] --------------------------------------------------------------------------------------

def test_blank_swapnas_workers_is_unset(monkeypatch) -> None:
    from swapnas.cli.executor_options import default_workers

    monkeypatch.delenv("SWAPNAS_WORKERS", raising=False)
    unset = default_workers(torch.device("cpu"))
    monkeypatch.setenv("SWAPNAS_WORKERS", "  ")
    assert default_workers(torch.device("cpu")) == unset


# --- ray_address $RAY_ADDRESS [ra1 ra3 ra4 ra5 ra6] -------------------------------------------------------------------

def test_ray_address_from_the_environment_is_probed_and_named(monkeypatch) -> None:
    """[ra1 ra4 ra5 ra6] (the audit's own test needs the data bundle and is skipped without it)."""
    from swapnas.ray_address import check_ray_address

    port = _closed_port()
    monkeypatch.setenv("RAY_ADDRESS", f" 127.0.0.1:{port} ")
    with pytest.raises(ValueError) as caught:
        check_ray_address(None, timeout=2.0)
    text = str(caught.value)
    assert f"at $RAY_ADDRESS 127.0.0.1:{port} (" in text and "unset RAY_ADDRESS" in text, text
    assert "--address" not in text, text


def test_a_given_address_is_checked_not_ray_address(monkeypatch) -> None:
    """[ra3] --address auto (left to Ray) beside a dead $RAY_ADDRESS: the given address is the one used."""
    from swapnas.ray_address import check_ray_address

    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_closed_port()}")
    check_ray_address("auto", timeout=2.0)
    with pytest.raises(ValueError, match=r"at --address 127\.0\.0\.1:\d+ .*leave --address out"):
        check_ray_address(f"127.0.0.1:{_closed_port()}", timeout=2.0)


# --- bundle / data [bu2 da2] ------------------------------------------------------------------------------------------

def test_a_blank_data_dir_is_refused() -> None:
    from swapnas.bundle import resolve_data_dir

    with pytest.raises(ValueError, match="empty"):
        resolve_data_dir("  ")


def test_a_blank_image_root_is_refused_with_the_draw() -> None:
    from swapnas.data import _check_draw

    with pytest.raises(ValueError, match="image_root"):
        _check_draw(4, 0, "augment", "cifar10", " ")
    _check_draw(4, 0, "augment", "cifar10", None)


# --- code_changes._checked [cc2 cc6] ---------------------------------------------------------------------------------

def _old_store(path: Path) -> None:
    """A store with a params score and no code recorded beside it (scores older than code records)."""
    from swapnas.proxies import get_proxy
    from swapnas.store import Record, ScoreKey, ScoreStore

    with ScoreStore(path) as store:
        store.put(ScoreKey("nb201", "a", get_proxy("params").key, "p0", 0, 8, 1, ""),
                  Record("ok", 1.0, 0.0, [1.0], 0.0, None, None))
    db = sqlite3.connect(path)
    db.execute("DELETE FROM proxy_code")
    db.commit()
    db.close()


def test_a_store_that_records_no_code_is_compared_once_per_store_object(tmp_path: Path, monkeypatch) -> None:
    """[cc2] a read-only store (or one whose scores predate code records) keeps no row: the same store object is
    not compared again on every call (a search calls warn_changed_code every cycle)."""
    from swapnas.code_changes import warn_changed_code
    from swapnas.proxies import get_proxy
    from swapnas.store import ScoreStore

    params = get_proxy("params")
    path = tmp_path / "old.sqlite"
    _old_store(path)
    calls: list[str] = []
    real = ScoreStore.code_changed
    monkeypatch.setattr(ScoreStore, "code_changed", lambda self, *a, **k: calls.append(a[0]) or real(self, *a, **k))
    with ScoreStore(path) as store:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(3):
                warn_changed_code(store, [params])
    assert calls.count("params@1") == 1, calls


def test_a_changed_code_warns_once_per_store_file_not_per_store_object(tmp_path: Path) -> None:
    """[cc6] "once per store file and proxy in a process": the same file opened again (a new ScoreStore object,
    its record unchanged) is not warned about again."""
    from swapnas.code_changes import warn_changed_code
    from swapnas.proxies import get_proxy
    from swapnas.proxies.code import ProxyCodeWarning
    from swapnas.store import ScoreStore

    params = get_proxy("params")
    path = tmp_path / "scores.sqlite"
    with ScoreStore(path) as store:
        store.accept_code("params@1", "0" * 64)  # recorded by other code
    counts = []
    for _ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with ScoreStore(path) as store:
                warn_changed_code(store, [params])
        counts.append(sum(issubclass(w.category, ProxyCodeWarning) for w in caught))
    assert counts == [1, 0], counts


# --- proxies/registry.check_name [rg2 rg6 rg8 rg9 rg10 rg11] --------------------------------------------------------

@pytest.mark.parametrize("name", ["all", "x" * 101])
def test_register_refuses_all_and_a_name_over_100_bytes(name: str, scratch_registry) -> None:
    from swapnas.proxies import register

    with pytest.raises(ValueError, match="proxy name"):
        register(name)(lambda model, batch: 0.0)


def test_a_name_of_100_bytes_is_taken(scratch_registry) -> None:
    from swapnas.proxies import register

    register("x" * 100)(lambda model, batch: 0.0)


@pytest.mark.parametrize("version, error, says", [(2, TypeError, "name and version are strings"),
                                                  ("1@2", ValueError, "with '@'")])
def test_register_refuses_a_version_that_is_not_a_plain_string(version, error, says, scratch_registry) -> None:
    from swapnas.proxies import register

    with pytest.raises(error, match=says):
        register("fine_name_m", version=version)(lambda model, batch: 0.0)


def test_a_set_level_proxy_and_an_alias_are_named_as_a_metric_is(scratch_registry) -> None:
    from swapnas.proxies.registry import register_alias, register_set

    with pytest.raises(ValueError, match="proxy name"):
        register_set("a,b", ("params",), lambda parts: parts[0], description="x")
    with pytest.raises(ValueError, match="alias 'grad/norm': a name is"):  # (session 68: named an alias)
        register_alias("grad/norm", "params")


# --- report md_cell / md_text [rp1 rp2 rp3 rp4 rp5 rp7 rp9] ----------------------------------------------------------

def test_md_cell_escapes_tags_and_edge_underscores_and_keeps_inner_ones() -> None:
    from swapnas.report import md_cell

    assert md_cell("<b>") == "\\<b>"
    assert md_cell("_x_") == "\\_x\\_"
    assert md_cell("nor_conv_3x3|a*") == "nor_conv_3x3\\|a\\*"


def test_md_text_escapes_backslashes_keeps_inner_underscores_and_joins_lines() -> None:
    from swapnas.report import md_text

    assert md_text("C:\\x") == "C:\\\\x"
    assert md_text("epe_nas failed") == "epe_nas failed"
    assert md_text("__init__") == "\\_\\_init\\_\\_"
    assert md_text("line one\n  line two") == "line one line two"


def _run(proxy: str, errors: list[str]):
    from swapnas.results import CorrelateRun, ProxyResult

    nan = float("nan")
    r = ProxyResult(proxy, f"{proxy}@1", "nb201", "cifar10", 4, len(errors), 0.4, 0.33, (0.1, 0.9), nan, nan, 0.01,
                    True)
    r.errors = list(errors)
    protocol = {"space": "nb201", "dataset": "cifar10", "batch_size": 16, "repeats": 4, "seed": 0, "init": "gaussian",
                "bn_train": True, "net": {"C": 16, "N": 1}, "batch_digest": "c9d2889e331436c7", "inputs": "real",
                "fingerprint": "cb44128d80809eae"}
    return CorrelateRun(protocol, "NB201 valid accuracy (%)", "", [r], {proxy: [1.0, 2.0, 3.0, 4.0]},
                        [1.0, 2.0, 3.0, 4.0], ["a", "b", "c", "d"], 1.0)


PROV = {"command": "swapnas correlate", "swapnas": "0.1.0", "source": "x", "torch": "2", "numpy": "2", "scipy": "1",
        "created_utc": "2026-01-01T00:00:00Z"}


def test_report_md_writes_a_failed_metrics_name_and_its_note_as_written() -> None:
    from swapnas.report import correlation_report

    text = correlation_report(_run("*em*", ["boom"]), PROV, [])
    failed = [line for line in text.splitlines() if "FAILED" in line]
    assert failed and all("FAILED \\*em\\* (" in line for line in failed), failed
    assert "\\*em\\* `*em*@1`" in text, "the 'Proxies as scored' note shows the name as emphasis"


# --- grid.md / grid.png [gr3 gr5 gr6] ---------------------------------------------------------------------------------

def _column(proxy: str, errors: list[str], task: str = "cifar10"):
    from swapnas.grid import GridColumn

    r = _run(proxy, errors).results[0]
    return GridColumn("nb201", task, "gt", _run(proxy, errors).protocol, "", 4, 1.0,
                      [{**r.__dict__, "spearman_ci": [0.1, 0.9]}], hidden=[], not_applicable={})


def test_grid_md_failure_list_writes_the_metrics_name_as_written(scratch_registry) -> None:
    from swapnas.grid import markdown
    from swapnas.proxies import register

    register("*f*")(lambda model, batch: 0.0)
    items = [line for line in markdown([_column("*f*", ["boom"])]).splitlines() if line.startswith("- ")
             and "boom" in line]
    assert items and all("\\*f\\*:" in line for line in items), items


def test_grid_heatmap_draws_a_dollar_in_a_metric_or_task_name(tmp_path: Path, scratch_registry) -> None:
    from swapnas.grid import heatmap
    from swapnas.proxies import register

    register("m$x^1^2$")(lambda model, batch: 0.0)  # as math: "Double superscript", raised when drawn
    heatmap([_column("m$x^1^2$", [], task="t$y^1^2$")], tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 0


# --- latex.escape [lx3-lx10 lx12-lx16] --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, tex", [
    ("×", r"$\times$"), ("µ", r"$\mu$"), ("ς", r"$\varsigma$"),  # symbols [lx3 lx12 lx16]
    ("λ", r"$\lambda$"), ("σ", r"$\sigma$"), ("ο", "o"), ("Ο", "O"),  # Unicode's LAMDA, small letters, omicron
    ("Ω", r"$\Omega$"), ("Η", "H"), ("Ρ", "P"), ("Α", "A"),  # capitals: LaTeX's, or the Latin lookalike
    ("é", "e"), ("€", "?"),  # accents dropped; else '?'
])
def test_escape_writes_each_kind_of_non_ascii_character(text: str, tex: str) -> None:
    from swapnas.latex import escape

    assert escape(text) == tex


def test_escape_of_an_accented_greek_letter_is_no_made_up_command() -> None:
    """[lx4] 'GREEK SMALL LETTER ALPHA WITH TONOS' is not the letter 'TONOS'."""
    from swapnas.latex import escape

    out = escape("ά")
    assert out.isascii() and "tonos" not in out.lower(), out


# --- store.local_minute [st1 st2 st3] ---------------------------------------------------------------------------------

def test_local_minute_is_date_space_minute_and_utc_offset(monkeypatch) -> None:
    import re
    import time

    from swapnas.store import local_minute

    if hasattr(time, "tzset"):
        monkeypatch.setenv("TZ", "Asia/Kolkata")
        time.tzset()
        try:
            assert local_minute(0) == "1970-01-01 05:30+05:30"
        finally:
            monkeypatch.undo()
            time.tzset()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d[+-]\d\d:\d\d", local_minute(1.7e9)), local_minute(1.7e9)


# --- proxy_choice.auto_proxy [ch2 ch3 ch5 ch6] ------------------------------------------------------------------------

def test_auto_proxy_answers_for_each_kind_of_model() -> None:
    from swapnas.proxy_choice import auto_proxy

    cnn = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    mlp = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    assert auto_proxy(cnn) == "swap"  # [ch2]
    assert auto_proxy(nn.Sequential(nn.Conv2d(3, 4, 3), nn.GELU())) == "swap_ext"
    assert auto_proxy(mlp) == "swap_ext"  # [ch3] ReLUs on no conv map
    assert auto_proxy(nn.ModuleList([cnn, mlp])) == "swap_ext"  # [ch5] models in a ModuleList: one answer for all
    assert auto_proxy(nn.ModuleDict({"a": cnn, "b": mlp})) == "swap_ext"
    assert auto_proxy([cnn, cnn]) == "swap"
    assert auto_proxy(nn.Linear(3, 3)) == "swap_fn"  # [ch6] no activation module at all


# --- correlation / session: a device's name [co1 se1] -----------------------------------------------------------------

SMALL_BUNDLE = Path(__file__).resolve().parent / "data" / "bundle"


def test_run_correlation_records_the_device_auto_resolved_to(tmp_path: Path) -> None:
    """[co1] device="auto": the run records where it scored (results.json's device), not "auto"."""
    from swapnas.benchmarks import get_benchmark
    from swapnas.correlation import run_correlation
    from swapnas.session import configure
    from swapnas.store import ScoreStore

    bench = get_benchmark("darts_swap", str(SMALL_BUNDLE))
    protocol, batch, _ = configure(bench.space, "cifar10", "params", seed=0, data_dir=str(SMALL_BUNDLE))
    with ScoreStore(tmp_path / "s.sqlite") as store:
        run = run_correlation(bench=bench, task="cifar10", proxies=["params"], n_archs=3, protocol=protocol,
                              batch=batch, store=store, device="auto", progress=False)
    assert run.device == ("cuda" if torch.cuda.is_available() else "cpu"), run.device


def test_score_archs_takes_a_device_name() -> None:
    """[se1] score_archs(device="cpu") scores (a run_* caller's name)."""
    from swapnas.api_inputs import as_batch
    from swapnas.proxies import get_proxy
    from swapnas.scoring import Protocol
    from swapnas.session import score_archs
    from swapnas.store import ScoreStore

    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    batch, _ = as_batch((torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])))
    protocol = Protocol(space="nb201", dataset="cifar10", batch_size=4, seed=0, repeats=1)
    with ScoreStore(":memory:") as store:
        recs = score_archs([arch], "nb201", [get_proxy("params"), get_proxy("swap")], protocol, batch, store, "cpu",
                           progress=False)
    assert [r.status for p in ("params", "swap") for r in recs[p]] == ["ok", "ok"], recs


# --- grid.json provenance [pv1] ---------------------------------------------------------------------------------------

def test_grid_json_names_the_device_it_is_given(tmp_path: Path, scratch_registry) -> None:
    import json

    from swapnas.grid import write_grid
    from swapnas.proxies import register

    register("plain_m")(lambda model, batch: 0.0)
    write_grid([_column("plain_m", [])], tmp_path / "g", "swapnas grid", "cpu on Ray workers")
    assert json.loads((tmp_path / "g" / "grid.json").read_text())["provenance"]["device"] == "cpu on Ray workers"


# --- code_changes.warn_changed_network [cc8] --------------------------------------------------------------------------

def test_a_store_made_again_at_a_used_path_records_its_network_code(tmp_path: Path) -> None:
    """The session's fix for proxies, for a space's network code: the new store at the path records net:nb201@1."""
    from swapnas.code_changes import warn_changed_network
    from swapnas.store import ScoreStore

    path = tmp_path / "scores.sqlite"
    with ScoreStore(path) as store:
        warn_changed_network(store, "nb201", "1")
        assert "net:nb201@1" in store.recorded_code()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with ScoreStore(path) as store:
        warn_changed_network(store, "nb201", "1")
        assert "net:nb201@1" in store.recorded_code()
