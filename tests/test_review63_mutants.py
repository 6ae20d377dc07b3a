"""Session 63 mutation review: tests that kill the mutants of the session's changes that survived its own tests.

Each asserts documented behaviour (not the mutation); all fast and deterministic (no data bundle)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import types
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import swapnas
from swapnas.patterns import EXTENDED_ACTIVATIONS, NoActivationError
from tests.test_audit63_exact import TokScalar, naive_psi


# --- patterns.keeps_sign: a slope / alpha of 0 keeps the sign (>= 0, not > 0) ----------------------------------------

@pytest.mark.parametrize("act", [lambda: nn.LeakyReLU(0.0), lambda: nn.ELU(alpha=0.0)], ids=["leaky0", "elu0"])
def test_leaky_relu_of_slope_0_and_elu_of_alpha_0_are_counted(act):
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), act())
    x = torch.randn(8, 3, 4, 4)
    got = swapnas.swap_score(model, x, activations=EXTENDED_ACTIVATIONS)
    assert got == naive_psi(model, x, kinds=(nn.LeakyReLU, nn.ELU)) > 1


# --- patterns._plain: a PyTorch class's parameters / buffers make a second call on one tensor no repeat --------------

class _TwoPReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.a, self.b = nn.PReLU(init=0.25), nn.PReLU(init=-0.5)  # the second is > 0 on both sides of 0

    def forward(self, x):
        h = self.c(x)
        return (self.a(h) + self.b(h)).sum((1, 2, 3))


def test_pytorch_activations_with_other_parameters_on_one_tensor_both_count():
    torch.manual_seed(5)
    model = _TwoPReLU()
    x = torch.randn(8, 3, 4, 4)
    assert swapnas.swap_score(model, x, activations=(nn.PReLU,)) == naive_psi(model, x, kinds=(nn.PReLU,))


class _TwoBN(nn.Module):
    """Two BatchNorm2d (no affine) on one tensor, in eval mode, with other running means: other outputs."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.a, self.b = nn.BatchNorm2d(4, affine=False), nn.BatchNorm2d(4, affine=False)
        self.b.running_mean.fill_(0.6)

    def forward(self, x):
        h = self.c(x)
        return (self.a(h) + self.b(h)).sum((1, 2, 3))


def test_pytorch_modules_with_other_buffers_on_one_tensor_both_count():
    torch.manual_seed(6)
    model = _TwoBN().eval()
    x = torch.randn(8, 3, 4, 4)
    want = naive_psi(model, x, kinds=(nn.BatchNorm2d,))
    assert swapnas.swap_score(model, x, activations=(nn.BatchNorm2d,), restore_buffers=False) == want


# --- patterns._no_activation_message: a two-sided LeakyReLU is not offered as a kind to hook ------------------------

def test_the_no_activation_advice_for_a_negative_slope_says_not_counted_and_offers_no_wider_kinds():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.LeakyReLU(-0.5))
    with pytest.raises(NoActivationError) as caught:
        swapnas.swap_score(model, torch.randn(8, 3, 4, 4))  # default kinds: ReLU
    text = str(caught.value)
    assert "LeakyReLU module(s) with a negative slope or alpha are positive on both sides of 0" in text
    assert "not counted" in text
    assert "EXTENDED_ACTIVATIONS" not in text  # hooking it would count nothing either


# --- padding.without_padding: an (S, L) map beside the mask is counted whole, with a warning ------------------------

def test_an_s_by_l_map_beside_a_padding_mask_is_counted_whole_and_warned_of():
    s, length = 10, 12
    ids = torch.randint(1, 20, (s, length), generator=torch.Generator().manual_seed(1))
    lens = torch.randint(2, length + 1, (s,), generator=torch.Generator().manual_seed(2))
    live = torch.arange(length)[None] < lens[:, None]
    torch.manual_seed(47)
    model = TokScalar()
    batch = {"input_ids": ids.masked_fill(~live, 4), "attention_mask": live.long()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = swapnas.swap_score(model, batch, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4))
    said = [str(w.message) for w in caught if "has the padding mask's shape" in str(w.message)]
    assert len(said) == 1 and "counted whole (pads too)" in said[0]
    assert got == naive_psi(model, batch, kinds=(nn.ReLU,), dims=(2,))  # whole: the pads' columns too


# --- buffers._untouched: a NaN buffer is unchanged (version counter), not compared by value and written -------------

class _NaNScaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU()
        scale = torch.rand(1, 8, 1, 1)
        scale[0, 3] = float("nan")  # e.g. a "not measured" marker
        self.register_buffer("scale", scale)

    def forward(self, x):
        return (self.relu(self.conv(x)) * self.scale).nan_to_num().mean()


def test_a_buffer_holding_nan_is_not_written_back_so_a_pending_backward_still_runs():
    torch.manual_seed(0)
    model = _NaNScaled()
    x = torch.randn(4, 3, 6, 6)
    loss = model(x)  # the graph saved the buffer (its version now)
    swapnas.swap_score(model, x)
    loss.backward()  # RuntimeError "modified by an inplace operation" where the NaN buffer was copied back


class _CountsUnderInference(nn.Module):
    """A buffer made under inference_mode (an inference tensor), updated by the forward inside inference_mode."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        with torch.inference_mode():
            self.register_buffer("calls", torch.zeros(1))

    def forward(self, x):
        with torch.inference_mode():
            self.calls.add_(1)
        return self.relu(self.conv(x)).sum()


def test_an_inference_buffer_the_forward_changed_is_given_back_its_value():
    model = _CountsUnderInference()
    with torch.inference_mode():
        swapnas.swap_score(model, torch.randn(4, 3, 5, 5))
    assert model.calls.item() == 0.0


# --- api_inputs.ReadOnce: numpy's and random's RNGs seeded for the read; read once ----------------------------------

class _Augmented(torch.utils.data.Dataset):
    def __init__(self, source: str) -> None:
        self.x = torch.randn(32, 3, 8, 8, generator=torch.Generator().manual_seed(0))
        self.source = source

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        r = np.random.rand() if self.source == "numpy" else random.random()
        return self.x[i] + (r - 0.5) * 3, i % 5


@pytest.mark.parametrize("source", ["numpy", "random"])
def test_a_loaders_first_batch_does_not_depend_on_the_callers_numpy_or_random_state(source):
    from swapnas.api_inputs import ReadOnce

    loader = torch.utils.data.DataLoader(_Augmented(source), batch_size=8, shuffle=False)
    batches = []
    for state in (1, 2):
        np.random.seed(state)
        random.seed(state)
        batches.append(ReadOnce(loader, None, 0).batch()[0].inputs)
    assert torch.equal(batches[0], batches[1])


def test_rank_scores_every_model_on_the_generators_first_batch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    g = torch.Generator().manual_seed(9)

    def batches():
        while True:
            yield torch.randn(8, 4, generator=g), torch.randint(0, 2, (8,), generator=g)

    rows = swapnas.rank({"a": model, "b": model, "c": model}, batches(), "grad_norm", init="none")
    assert len({r["grad_norm"] for r in rows}) == 1, rows


def test_rank_frame_passes_progress_on(monkeypatch, capsys):
    fake = types.ModuleType("pandas")

    class DataFrame(list):
        def set_index(self, key):
            return self

    fake.DataFrame = DataFrame
    monkeypatch.setitem(sys.modules, "pandas", fake)
    models = {f"m{i}": nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)) for i in range(2)}
    swapnas.rank(models, torch.randn(6, 4), "swap", frame=True, progress=True)
    assert "2/2" in capsys.readouterr().err


# --- report.psi_of / _whose_psi: a derived proxy's SATURATED line names its Ψ ---

def test_a_derived_proxys_saturated_line_names_the_psi_it_is_made_of():
    from swapnas.proxies import get_proxy
    from swapnas.report import failure_lines, psi_of
    from swapnas.results import ProxyResult

    assert psi_of(get_proxy("swap_reg")) == "swap" and psi_of(get_proxy("swap")) == "swap"
    assert psi_of(get_proxy("params")) is None
    derived = ProxyResult("swap_reg", "k", "nb201", "cifar10", 8, 0, 0.5, 0.4, (0.3, 0.6), 0.1, 0.2, 0.1, True,
                          saturated=8)
    own = ProxyResult("swap", "k", "nb201", "cifar10", 8, 0, 0.5, 0.4, (0.3, 0.6), 0.1, 0.2, 0.1, True, saturated=3)
    lines = failure_lines([derived, own])
    assert any(line.startswith("SATURATED swap_reg: 8 of 8 archs have a Ψ (swap, which swap_reg is derived from) "
                               ">= 95%") for line in lines), lines
    assert any(line.startswith("SATURATED swap: 3 of 8 archs score >= 95%") for line in lines), lines


# --- report plots: user texts without mathtext; both panels say all failed -------------------------------------------

def _capture(monkeypatch):
    from swapnas import report

    figs = []
    real = report.save_figure
    monkeypatch.setattr(report, "save_figure", lambda fig, path: (figs.append(fig), real(fig, path))[1])
    return figs


def test_the_search_curves_title_is_drawn_as_written(tmp_path, monkeypatch):
    from swapnas.report import search_curve

    figs = _capture(monkeypatch)
    history = [{"evaluation": i, "fitness": float(i)} for i in range(1, 4)]
    snaps = [{"evaluations": 3, "population_mean": 2.0}]
    search_curve(snaps, history, tmp_path / "c.png", title="run $1 and $2 of out_$x$")
    (fig,) = figs
    titles = [t for t in fig.findobj(lambda a: hasattr(a, "get_parse_math")) if "$1" in t.get_text()]
    assert titles and not any(t.get_parse_math() for t in titles)


def test_both_panels_of_a_proxy_that_failed_everywhere_say_so(tmp_path, monkeypatch):
    from swapnas.report import scatter_plot
    from swapnas.results import ProxyResult

    figs = _capture(monkeypatch)
    nan = float("nan")
    result = ProxyResult("epe_nas", "epe_nas@1", "nb201", "cifar10", 0, 5, nan, nan, (nan, nan), nan, nan, nan, True)
    scatter_plot([None] * 5, [10.0, 92.0, 40.0, 55.0, 61.0], result, "acc", tmp_path)
    (fig,) = figs
    said = [ax for ax in fig.axes if any("no arch scored: 5 failed" in t.get_text() for t in ax.texts)]
    assert len(said) == 2


# --- search.driver.search_notes: a fitness name that is no registered proxy -----------------------------------------

def test_search_notes_of_an_unregistered_fitness_name_say_nothing_of_negation():
    from swapnas.search.driver import search_notes
    from tests.search_tools import search_result

    assert search_notes(search_result(fitness_proxy="no_such_proxy@1")) == []
    assert search_notes(search_result(fitness_proxy="swap@1")) == []


# --- session.score_archs: the bases only with bases=True -------------------------------------------------------------

def test_score_archs_returns_the_bases_records_only_when_asked(tmp_path):
    from swapnas.session import score_archs
    from swapnas.store import ScoreStore
    from tests.tiny_tasks import tiny_nb201_task

    protocol, batch, proxies, archs = tiny_nb201_task("swap_reg", batch_size=4, repeats=1, n_archs=2, seed=0)
    cpu = torch.device("cpu")
    with ScoreStore(tmp_path / "s.sqlite") as store:
        plain = score_archs(archs, "nb201", proxies, protocol, batch, store, cpu, progress=False)
        based = score_archs(archs, "nb201", proxies, protocol, batch, store, cpu, progress=False, bases=True)
    assert list(plain) == ["swap_reg"]
    assert sorted(based) == ["swap", "swap_reg"] and len(based["swap"]) == 2


# --- store_files.existing_store: a folder with a store, a text file, a missing path ---------------------------------

def test_existing_store_says_what_the_path_is(tmp_path):
    from swapnas.store_files import StoreError, existing_store

    (tmp_path / "scores.sqlite").write_bytes(b"SQLite format 3\x00" + bytes(200))
    with pytest.raises(StoreError, match=r"is a folder, not a score store: give .*scores\.sqlite, the store in it"):
        existing_store(tmp_path)
    (tmp_path / "notes.txt").write_text("hello\n" + "text " * 40)
    with pytest.raises(StoreError, match=r"is a text file \(its first line: 'hello'\)"):
        existing_store(tmp_path / "notes.txt")
    with pytest.raises(StoreError, match=r"no score store at"):
        existing_store(tmp_path / "missing.sqlite")
    assert existing_store(tmp_path / "scores.sqlite") == tmp_path / "scores.sqlite"


# --- cli --json: every command's document on stdout; what was printed before the block stays on stdout --------------

def test_json_export_and_store_print_their_document_on_stdout(tmp_path, capsys):
    from swapnas import cli
    from tests.test_session55 import _one_score_store

    store = tmp_path / "s.sqlite"
    _one_score_store(store)
    assert cli.main(["--json", "export", str(store), "--out", str(tmp_path / "e.csv")]) == 0
    assert json.loads(capsys.readouterr().out)["written"] == [str(tmp_path / "e.csv")]
    assert cli.main(["--json", "store", "check", str(store)]) == 0
    assert "error" not in json.loads(capsys.readouterr().out)


def _run(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout block-buffered, as on a pipe
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60,
                          env=env)


def test_what_was_printed_before_the_json_block_stays_on_stdout_and_no_descriptor_leaks():
    done = _run("""
        import os, sys
        from swapnas.cli.json_stdout import print_json, stdout_to_stderr
        real = sys.stdout
        print("before")  # buffered: a pipe
        fds = len(os.listdir("/proc/self/fd"))
        with stdout_to_stderr(True):
            real.write("through the old stdout object\\n")  # a handler that kept sys.stdout: to stderr
            real.flush()
            print_json('{"a": 1}')
        print("left", len(os.listdir("/proc/self/fd")) - fds)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["before", '{"a": 1}', "left 0"]
    assert "through the old stdout object" in done.stderr


def test_the_read_seed_governs_numpys_draws():
    from swapnas.api_inputs import ReadOnce

    loader = torch.utils.data.DataLoader(_Augmented("numpy"), batch_size=8, shuffle=False)
    one, two = (ReadOnce(loader, None, seed).batch()[0].inputs for seed in (1, 2))
    assert not torch.equal(one, two)
    assert torch.equal(one, ReadOnce(loader, None, 1).batch()[0].inputs)


# --- cli.search_command.resume_line: a flag not given (None) is not a difference -----------------------------------

def test_a_resume_without_batch_size_or_score_seed_given_is_not_refused(tmp_path, capsys):
    from swapnas.cli import main
    from tests.test_audit63_resume import _args

    out = tmp_path / "out"
    assert main(_args(out, "--max-evals", "6")) == 0
    capsys.readouterr()
    assert main(_args(out, "--max-evals", "6")) == 0
    assert "resuming the search saved in" in capsys.readouterr().err
