"""The second review of session 63's mends: sparse buffers scored and put back, a zero's sign and a buffer's dtype
put back, the probe of a module deepcopy refuses leaving the caller's module alone, two-sided activations called as
functions not counted, an interrupt right after descriptor 1 moves putting stdout back, other spellings of the
standard output refused (another fitness's size prior: tests/test_review63.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import swapnas
from swapnas.patterns import EXTENDED_ACTIVATIONS

SRC = Path(swapnas.__file__).resolve().parents[1]


# --- R1 (regression of 2111484/0e1a7fb, buffers._unchanged): a sparse buffer makes swap_score raise ---------------

class _Graph(nn.Module):
    """A graph layer with its adjacency as a sparse buffer (GNN code does this); the pass leaves it alone."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("adj", torch.eye(4).to_sparse())
        self.lin = nn.Linear(4, 4)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(torch.sparse.mm(self.adj, self.lin(x).T).T)


def test_a_model_with_a_sparse_buffer_is_scored():
    """At 928d341 (version counters) Ψ = 4; now `torch.isclose`/`torch.equal` on a sparse tensor raise
    NotImplementedError ('aten::eq.Tensor' … 'SparseCPU') after the pass, for a buffer nobody changed."""
    torch.manual_seed(0)
    model = _Graph()
    adj = model.adj.to_dense().clone()
    assert swapnas.swap_score(model, torch.randn(8, 4), input_dims=(2,)) >= 1
    assert torch.equal(model.adj.to_dense(), adj)


def test_a_sparse_buffer_changed_by_the_pass_is_put_back():
    from swapnas.buffers import restored_buffers

    m = nn.Module()
    m.register_buffer("adj", torch.eye(3).to_sparse())
    with restored_buffers(m):
        m.adj.mul_(2)
    assert torch.equal(m.adj.to_dense(), torch.eye(3))


# --- R2 (regression, low): -0.0 written over +0.0 is judged unchanged (isclose and equal say -0.0 == 0.0) ---------

def test_the_sign_of_a_zero_buffer_is_put_back():
    """At 928d341 the version counter moved, so the value was written back; now 1 / buf is -inf after swap_score."""
    from swapnas.buffers import restored_buffers

    m = nn.Module()
    m.register_buffer("b", torch.zeros(2))
    with restored_buffers(m):
        m.b.neg_()
    assert not torch.signbit(m.b).any()


# --- R3 (regression, low): a .data write of another dtype now raises at the end of the pass -----------------------

def test_a_buffer_given_another_dtype_through_data_does_not_crash_the_restore():
    """`torch.isclose(float64, float32)` raises 'Double did not match Float' (928d341 left it, silently, changed)."""
    from swapnas.buffers import restored_buffers

    m = nn.Module()
    m.register_buffer("b", torch.ones(3))
    with restored_buffers(m):
        m.b.data = torch.full((3,), 2.0, dtype=torch.float64)
    assert m.b.dtype == torch.float32 and torch.equal(m.b, torch.ones(3))


# --- R4 (new in 2111484, act_functions._keeps_sign): the shallow copy's probe mutates the caller's module ---------

class _LockedCountingGELU(nn.Module):
    """An activation module with a lock (deepcopy refuses it) that keeps state: the probe, run on a shallow copy,
    shares its `_buffers` dict, its buffer tensors and its list with the caller's module."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.register_buffer("last", torch.zeros(0))
        self.seen: list = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with self.lock:
            self.calls += 1
            self.last = x.detach()
            self.seen.append(tuple(x.shape))
        return F.gelu(x)


def test_the_probe_of_a_module_deepcopy_refuses_leaves_the_callers_module_alone():
    """reliability.md (session 63): "the probe runs on a copy of the module … a module's state changed" was mended;
    for a module deepcopy refuses it is a shallow copy, and the caller's buffers and list change."""
    from swapnas.act_functions import activation_like

    net = nn.Sequential(nn.Linear(4, 8), _LockedCountingGELU())
    act = net[1]
    assert activation_like(net, EXTENDED_ACTIVATIONS) == [act]
    assert int(act.calls) == 0
    assert act.last.shape == (0,)
    assert act.seen == []


def test_score_auto_that_refuses_the_model_has_not_run_its_modules_first():
    """`swapnas.score(net, x, "auto")` refuses the model (it cannot be copied), after auto's probe changed it."""
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), _LockedCountingGELU())
    act = net[2]
    with pytest.raises(Exception, match="cannot be copied"):
        swapnas.score(net, torch.randn(4, 3, 6, 6), "auto")
    assert int(act.calls) == 0 and act.seen == []


# --- R5 (left by 2111484): a two-sided activation *function* call is still counted under swap_fn: Ψ = 1 ----------

class _FunctionalLeaky(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(8, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.lin(x), -0.5)


class MyLeakyReLU(nn.Module):  # a user's module, not nn.LeakyReLU: the probe rejects it, its call is still counted
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, -0.5)


@pytest.mark.parametrize("make", [_FunctionalLeaky, lambda: nn.Sequential(nn.Linear(8, 16), MyLeakyReLU())],
                         ids=["F.leaky_relu", "user-module"])
def test_swap_fn_does_not_count_a_two_sided_leaky_relu_call(make):
    """nn.LeakyReLU(-0.5) is not counted (NoActivationError saying why); F.leaky_relu(x, -0.5) gives Ψ = 1."""
    torch.manual_seed(0)
    with pytest.raises(swapnas.patterns.NoActivationError):
        swapnas.swap_score(make(), torch.randn(16, 8), activations=EXTENDED_ACTIVATIONS, input_dims=(2, 3, 4),
                           functions=True)


# --- R6 (json_stdout): an interrupt right after descriptor 1 moved leaves it on stderr, the document lost --------

@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
def test_an_interrupt_right_after_the_move_still_puts_stdout_back(tmp_path):
    """The comment says "(inside the try: an interrupt right after the move still puts it back)". An interrupt
    between `_moved_fd1()` and `_real.append(saved)` (simulated by an append that raises KeyboardInterrupt) makes
    the finally's `_real.pop()` raise IndexError (the interrupt masked), skip `os.dup2(saved, 1)`, and lose the
    document: fd 1 writes to stderr for the rest of the process."""
    code = textwrap.dedent("""
        import os, sys
        from swapnas.cli import json_stdout as js
        class Interrupted(list):
            def append(self, x):
                raise KeyboardInterrupt
        js._real = Interrupted()
        try:
            with js.stdout_to_stderr(True):
                js.print_json('{"a": 1}')
        except BaseException as e:
            sys.stderr.write(type(e).__name__ + "\\n")
        os.write(1, b"after\\n")
    """)
    out, err = tmp_path / "out", tmp_path / "err"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    with out.open("w") as o, err.open("w") as e:
        subprocess.run([sys.executable, "-c", code], stdout=o, stderr=e, env=env, timeout=120, check=False)
    assert "KeyboardInterrupt" in err.read_text()
    assert "after" in out.read_text()


# --- R7 (left by 2111484): F8 mended for swap_reg only: another fitness's --mu/--sigma is announced, then refused --

# (another fitness's size prior refused before the resume is announced: tests/test_review63.py, parametrized)


# --- R8 (json_stdout.refuse_out_on_stdout, nit): the by-name check misses spellings normpath keeps ---------------

@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and POSIX's // kept by normpath")
@pytest.mark.parametrize("name", ["//dev/stdout", "/proc/{pid}/fd/1"])
def test_other_spellings_of_the_standard_output_are_refused(tmp_path, name):
    """stdout and stderr to two files: inside stdout_to_stderr `/dev/stdout` is refused by name, but `//dev/stdout`
    (normpath keeps a leading //) and `/proc/<pid>/fd/1` resolve to stderr's file, are regular files, and pass:
    the export then goes into the stderr log."""
    code = textwrap.dedent(f"""
        import os, sys
        from swapnas.cli import json_stdout as js
        with js.stdout_to_stderr(True):
            try:
                js.refuse_out_on_stdout({name!r}.format(pid=os.getpid()))
                print("NOT REFUSED", file=sys.__stderr__)
            except ValueError:
                print("REFUSED", file=sys.__stderr__)
    """)
    out, err = tmp_path / "out", tmp_path / "err"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    with out.open("w") as o, err.open("w") as e:
        subprocess.run([sys.executable, "-c", code], stdout=o, stderr=e, env=env, timeout=120, check=False)
    assert "REFUSED" in err.read_text() and "NOT REFUSED" not in err.read_text(), err.read_text()
