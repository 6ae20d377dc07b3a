"""A training run's random streams (``swapnas.train.rng.RunRng``), from its mutation run (session 47): where each
stream starts, what a checkpoint stores and loads, and the global generator lent to a block and given back."""

from __future__ import annotations

import random

import numpy as np
import torch

from swapnas.train.rng import RunRng

CPU = torch.device("cpu")


def test_the_streams_start_where_the_seed_puts_the_global_ones() -> None:
    rng = RunRng(7, CPU)
    assert torch.equal(rng.cpu.get_state(), torch.Generator().manual_seed(7).get_state())
    assert rng.cuda_index is None and (rng.cuda == [] or not torch.cuda.is_available())
    state = rng.state()
    assert set(state) == {"python", "numpy", "torch", "cuda"}
    assert state["python"] == random.Random(7).getstate()
    want = np.random.RandomState(7).get_state()
    assert state["numpy"][0] == want[0] and state["numpy"][1] == want[1].tolist() and state["numpy"][2:] == want[2:]
    assert torch.equal(state["torch"], rng.cpu.get_state()) and state["cuda"] == [g.get_state() for g in rng.cuda]
    big = RunRng(2**32 + 5, CPU).state()["numpy"]  # NumPy's seed is taken modulo 2**32
    assert big[1] == np.random.RandomState(5).get_state()[1].tolist()


def test_a_stored_state_continues_the_stream() -> None:
    rng = RunRng(3, CPU)
    torch.rand(4, generator=rng.cpu)
    saved = rng.state()
    ahead = torch.rand(5, generator=rng.cpu)
    other = RunRng(99, CPU)
    other.load(saved)
    assert torch.equal(torch.rand(5, generator=other.cpu), ahead)
    other.load({**saved, "cuda": None})  # a checkpoint of a CPU run (or one that seeded the global generators)
    assert torch.equal(torch.rand(5, generator=other.cpu), ahead)


def test_the_global_generator_is_the_runs_inside_the_block_and_the_callers_after() -> None:
    rng = RunRng(11, CPU)
    torch.manual_seed(123)
    caller = torch.get_rng_state()
    with rng.installed():
        inside = torch.rand(3)
    assert torch.equal(inside, torch.rand(3, generator=torch.Generator().manual_seed(11)))
    assert torch.equal(torch.get_rng_state(), caller)  # the caller's state given back
    g = torch.Generator().manual_seed(11)
    torch.rand(3, generator=g)
    assert torch.equal(rng.cpu.get_state(), g.get_state())  # the run's stream advanced by the block's draws
    with rng.installed():
        assert torch.equal(torch.rand(2), torch.rand(2, generator=g))


def test_the_streams_advance_even_when_the_block_fails() -> None:
    rng = RunRng(5, CPU)
    try:
        with rng.installed():
            torch.rand(4)
            raise RuntimeError("the block fails")
    except RuntimeError:
        pass
    g = torch.Generator().manual_seed(5)
    torch.rand(4, generator=g)
    assert torch.equal(rng.cpu.get_state(), g.get_state())


def test_a_run_on_a_named_gpu_keeps_that_gpus_stream_for_drop_path() -> None:
    assert RunRng(0, torch.device("cuda:1")).cuda_index == 1  # known without asking CUDA (none on this machine)
    assert RunRng(0, torch.device("cuda:0")).cuda_index == 0
    assert RunRng(0, torch.device("meta")).cuda_index is None
