"""The review of session 63's diff: a buffer written through ``.data`` restored, ``--json export`` into the file stdout
goes to refused, two-sided activations not counted through their functions either, buffered noise kept off a
``--json`` stdout, an activation module deepcopy cannot copy still hooked, ``swap_fn`` skipping repeats as
``swap_ext`` does, only-empty maps counting no pattern at any S, and a resume refused for its size prior."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch
from torch import nn

import swapnas
from swapnas import patterns
from swapnas.act_functions import activation_like
from swapnas.patterns import EXTENDED_ACTIVATIONS, NoActivationError

REPO = Path(swapnas.__file__).resolve().parents[2]
CLI = "import sys; from swapnas.cli import command; sys.argv = ['swapnas', *sys.argv[1:]]; sys.exit(command())"


def _env(**extra: str) -> dict:
    """The environment of a user's shell: Python's own buffering (this sandbox sets PYTHONUNBUFFERED=1)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    return {**env, **extra}


# --- F1 (regression, buffers._untouched): a buffer written through .data is no longer restored ---------------------

class _EMA(nn.Module):
    """A running mean kept through ``.data`` (custom norm / EMA code), which bumps no version counter."""

    def __init__(self, assign: bool) -> None:
        super().__init__()
        self.assign = assign
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("mean", torch.zeros(4))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        new = 0.9 * self.mean + 0.1 * h.mean((0, 2, 3)).detach()
        if self.assign:
            self.mean.data = new
        else:
            self.mean.data.copy_(new)
        return self.act(h - self.mean.view(1, -1, 1, 1))


@pytest.mark.parametrize("assign", [False, True], ids=["data.copy_", "data="])
def test_swap_score_restores_a_buffer_written_through_data(assign):
    """swap_score's docstring: "(by default) buffers such as BatchNorm running statistics are restored afterwards".
    b2a4fbc restored it; HEAD skips every buffer whose version counter did not move, and `.data` writes move none."""
    torch.manual_seed(0)
    model = _EMA(assign)
    swapnas.swap_score(model, torch.randn(8, 3, 6, 6) + 1.0)
    assert torch.equal(model.mean, torch.zeros(4)), model.mean


# --- F2 (incomplete fix, json_stdout.refuse_out_on_stdout): `--out FILE > FILE` is not refused --------------------

@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
def test_json_export_into_the_file_stdout_is_redirected_to_is_refused(tmp_path):
    """The check compares --out with descriptor 1 *after* stdout_to_stderr moved it onto stderr, so the real stdout is
    never seen: `swapnas --json export S --out x.csv > x.csv` exits 0 and x.csv holds the table, the JSON document
    went to the replaced (unlinked) file. (/dev/stdout is refused only because it now resolves to stderr.)"""
    from tests.test_session55 import _one_score_store

    store = _one_score_store(tmp_path / "s.sqlite")
    target = tmp_path / "x.csv"
    with open(target, "w") as out:
        done = subprocess.run([sys.executable, "-c", CLI, "--json", "export", str(store), "--out", str(target)],
                              stdout=out, stderr=subprocess.PIPE, text=True, timeout=120, env=_env(), cwd=tmp_path)
    assert done.returncode == 2, (done.returncode, target.read_text()[:200])
    assert json.loads(target.read_text())["exit"] == 2


# --- F3 (incomplete fix, keeps_sign): swap_fn still counts a LeakyReLU / ELU positive on both sides of 0 -----------

@pytest.mark.parametrize("act", [lambda: nn.LeakyReLU(-0.5), lambda: nn.ELU(alpha=-1.0)], ids=["leaky-0.5", "elu-1"])
def test_swap_fn_does_not_count_two_sided_activations_through_their_functions(act):
    """keeps_sign leaves the module unhooked, so with functions=True nothing marks it as a hooked module and its own
    F.leaky_relu / F.elu call is taken as a function call: Ψ = 1 (every output > 0), as before the fix."""
    torch.manual_seed(18)
    x = torch.randn(8, 3, 4, 4)
    only = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), act())
    with pytest.raises(NoActivationError):  # as swap_ext says
        swapnas.swap_score(only, x, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4), functions=True)
    mixed = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), act())
    kw = {"activations": EXTENDED_ACTIVATIONS, "input_dims": (2, 3, 4)}
    assert swapnas.swap_score(mixed, x, functions=True, **kw) == swapnas.swap_score(mixed, x, **kw)


# --- F4 (json_stdout): buffered writes made during the block land on the real stdout -------------------------------

_NOISY = textwrap.dedent("""
    import ctypes, sys
    import swapnas.cli.commands as c
    listed = c.list_proxies
    def noisy(*a, **k):
        {noise}
        return listed(*a, **k)
    c.list_proxies = noisy
    from swapnas.cli import command
    sys.argv = ["swapnas", "--json", "proxies"]
    sys.exit(command())
""")


@pytest.mark.parametrize("noise", [
    'sys.__stdout__.write("noise through the original stdout object\\n")',  # a handle taken before the command ran
    pytest.param('ctypes.CDLL(None).printf(b"noise from C stdio\\n")',  # a C library's printf (fully buffered)
                 marks=pytest.mark.skipif(sys.platform == "win32", reason="libc printf")),
], ids=["python-handle", "c-stdio"])
@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
def test_json_stdout_holds_the_document_alone_with_buffered_noise(noise):
    """stdout_to_stderr flushes sys.stderr before putting descriptor 1 back, but neither the stdout object it
    replaced nor C's stdio buffer: their pending text is written to the real stdout, before the document (Python's
    buffer, flushed with it) or after it (C's, flushed at exit). Hidden here by PYTHONUNBUFFERED=1."""
    done = subprocess.run([sys.executable, "-c", _NOISY.format(noise=noise)], capture_output=True, text=True,
                          timeout=120, env=_env())
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)  # "Expecting value" / "Extra data" on HEAD
    assert "noise" in done.stderr


# --- F5 (regression, act_functions._keeps_sign): a module deepcopy cannot copy is no longer an activation ---------

class _LockedQuickGELU(nn.Module):
    """A QuickGELU that holds a lock (or any attribute deepcopy refuses: a process group, a file, a C handle)."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


def test_an_activation_module_that_cannot_be_deep_copied_is_still_hooked_by_swap_fn():
    """b2a4fbc: activation_like found it and swap_fn scored 57; HEAD: deepcopy raises inside the probe's try, the
    module is "not an activation", and swap_fn raises NoActivationError (or, beside other activations, silently
    scores a different Ψ)."""
    torch.manual_seed(18)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), _LockedQuickGELU())
    assert activation_like(model, EXTENDED_ACTIVATIONS) == [model[1]]
    assert swapnas.swap_score(model, torch.randn(8, 3, 4, 4), activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4),
                              functions=True) > 1


# --- F6 (performance regression, patterns._plain): swap_fn never skips a repeated activation ----------------------

class _ThreeEdges(nn.Module):
    """NB201's node: three ReLU-Conv edges leave one tensor (three equal nn.ReLU modules on one input)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.edges = nn.ModuleList(nn.Sequential(nn.ReLU(), nn.Conv2d(8, 8, 1)) for _ in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        return sum(e(h) for e in self.edges)


def test_swap_fn_skips_repeats_as_swap_ext_does(monkeypatch):
    """_plain wants exactly one forward hook and no pre-hook, but functions=True adds activation_calls' enter/leave
    hooks to every hooked module, so swap_fn takes all three maps (NB201 C=16 N=1: 20 maps, 14 on b2a4fbc). Ψ is
    the same; the work, swap_score's neuron count (its SaturationWarning's ceiling) and scripts/model_zoo.py's and
    scripts/saturation.py's N (skip_repeats=True with swap_fn's settings) are not."""
    added: list[int] = []
    real = patterns._DistinctPatterns.add
    monkeypatch.setattr(patterns._DistinctPatterns, "add", lambda self, out: (added.append(1), real(self, out))[1])
    torch.manual_seed(0)
    model, x = _ThreeEdges(), torch.randn(8, 3, 5, 5)
    counts = []
    for functions in (False, True):
        added.clear()
        swapnas.swap_score(model, x, activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4), functions=functions)
        counts.append(len(added))
    assert counts == [1, 1], counts


# --- F7 (patterns._count_distinct_rows): only empty maps count 1 pattern for S > 64, 0 up to 64 --------------------

class _OnlyEmpty(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(x[:, :0])


@pytest.mark.parametrize("s", [65, 130])
def test_only_empty_maps_count_no_pattern_at_any_s(s):
    """(0, W) packed rows with W > 1: `ranked[1:] != ranked[:-1]` sums to 0, and `+ 1` makes it 1."""
    assert swapnas.swap_score(_OnlyEmpty(), torch.randn(64, 3, 2, 2)) == 0
    assert swapnas.swap_score(_OnlyEmpty(), torch.randn(s, 3, 2, 2)) == 0


# --- F8 (resume_line): a fitness option given (--mu/--sigma) still announces "resuming" before the refusal ---------

@pytest.mark.slow
@pytest.mark.parametrize("fitness, said", [("swap_reg", "mu=2"), ("swap_prog", "size prior")])  # (a sum of logs: 69)
def test_a_resume_refused_for_its_size_prior_is_not_announced(fitness, said, tmp_path, capsys):
    """search.md (session 63): "The settings known before the scoring is set up (the EA's, the fitness, …) are
    checked before anything runs". --mu/--sigma are known (swap_reg's options; another fitness's size prior, the
    second review), yet the line said "resuming … unless its scoring protocol differs (checked next)" and then the
    search refused for them."""
    from swapnas.cli import main
    from tests.test_audit63_resume import _args

    args = _args(tmp_path / "out", "--fitness", fitness, "--refine", "0", "--sigma", "1")  # (the last flag counts)
    assert main([*args, "--mu", "1", "--max-evals", "6"]) == 0
    capsys.readouterr()
    assert main([*args, "--mu", "2"]) == 2
    err = capsys.readouterr().err
    assert said in err
    assert "resuming the search" not in err, err
