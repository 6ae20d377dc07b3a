"""Session 66 audit of the Python API called from several threads of one process (each test failed on the code as
found, 6ab5333): ``swap_score`` of one model in two threads took each other's activations (or crashed), ``score`` of a
model another thread was scoring copied its hooks and was refused, ``score`` reseeded the process RNG in the middle of
a correlation's builds (other scores stored), concurrent ``score`` calls left the RNG seeded, two correlations under a
float64 default lost it and stored a failure, and a store used from another thread was called damaged.
"""

from __future__ import annotations

import sys
import threading
import warnings

import pytest
import torch
from torch import nn

import swapnas


@pytest.fixture
def fast_switching():
    """Threads switched every 10 µs (Python's default is 5 ms), so that races show in a few calls."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def _run_together(target, args_list):
    """``target(*args)`` for each args in its own thread, all released at once; the exceptions raised."""
    barrier, errors = threading.Barrier(len(args_list)), []

    def run(*args):
        barrier.wait()
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=a) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _nb201(data_dir, proxies, **kw):
    from swapnas.benchmarks import get_benchmark
    from swapnas.session import configure
    bench = get_benchmark("nb201", data_dir)
    protocol, batch, proxy_list = configure("nb201", "cifar10", proxies, seed=0, data_dir=data_dir, **kw)
    return bench, protocol, batch, proxy_list


def _correlate(setup, path, n_archs=4):
    from swapnas.correlation import run_correlation
    from swapnas.store import ScoreStore
    bench, protocol, batch, proxies = setup
    with ScoreStore(path) as store:
        return run_correlation(bench=bench, task="cifar10", proxies=proxies, n_archs=n_archs, protocol=protocol,
                               batch=batch, store=store, device=torch.device("cpu"), progress=False)


# --- 1 (high). swap_score on one model from two threads: each thread's hooks take the other's maps ---------------

def test_swap_score_of_one_model_from_two_threads_gives_each_thread_its_serial_value(fast_switching):
    """swap_score registers its hooks on the caller's model itself; a second thread's pass over the same model runs
    them too, so Ψ counts the other batch's patterns (204 and 200 serially; 246 under threads) or a hook fails
    (AssertionError in _DistinctPatterns.add). Nothing says swap_score is not thread-safe."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU()).eval()
    xa, xb = torch.randn(8, 3, 8, 8), torch.randn(8, 3, 8, 8) * 3 + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = {id(xa): swapnas.swap_score(net, xa), id(xb): swapnas.swap_score(net, xb)}
        got: list[tuple[int, int]] = []

        def many(x):
            for _ in range(20):
                got.append((want[id(x)], swapnas.swap_score(net, x)))

        errors = _run_together(many, [(xa,), (xb,)])
    assert not errors, errors[:1]
    assert [g for g in got if g[0] != g[1]] == []
    assert sum(len(m._forward_hooks) for m in net.modules()) == 0


# --- 2 (medium). score() of a model that swap_score is reading in another thread: refused --------------------------

def test_score_of_a_model_that_another_thread_swap_scores_is_not_refused(fast_switching):
    """score deep-copies the model with the hooks on it, swap_score's included: the copy's passes run swap_score's
    hook, which fails (KeyError on its own module ids), and score raises UnsupportedModel ("its forward fails on
    these inputs: KeyError: 1406…") for a model it scores fine otherwise."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU()).eval()
    xa, xb = torch.randn(8, 3, 8, 8), torch.randn(8, 3, 8, 8)
    stop, failures = threading.Event(), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = swapnas.score(net, xb, "swap", init="none")

        def scorer():
            while not stop.is_set():
                try:
                    assert swapnas.score(net, xb, "swap", init="none") == want
                except Exception as exc:  # noqa: BLE001
                    failures.append(exc)

        t = threading.Thread(target=scorer)
        t.start()
        try:
            for _ in range(200):
                swapnas.swap_score(net, xa)
        finally:
            stop.set()
            t.join()
    assert failures == []


# --- 3 (high). a correlate's stored scores change while another thread calls score() ------------------------------

def test_run_correlation_stores_the_same_scores_while_another_thread_calls_score(tmp_path, data_dir):
    """Builds under the protocol's default init draw from the process RNG under scoring._RNG_LOCK (which guards them
    from --prefetch's builder thread), but swapnas.score seeds and restores that RNG (rng.seeded) without the lock:
    a score() call in another thread reseeds / rewinds it in the middle of a build. nb201 `best` (swap_nb201, init
    'default'), 6 archs: 5 stored scores differed from the serial run's; a thread doing matmuls instead changed none."""
    setup = _nb201(data_dir, "best")
    ref = _correlate(setup, tmp_path / "ref.sqlite", n_archs=6)
    small = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 10))
    x, stop = torch.randn(8, 3, 8, 8), threading.Event()

    def other_request():
        while not stop.is_set():
            swapnas.score(small, x, "swap")

    t = threading.Thread(target=other_request)
    t.start()
    try:
        run = _correlate(setup, tmp_path / "run.sqlite", n_archs=6)
    finally:
        stop.set()
        t.join()
    assert run.scores == ref.scores


# --- 4 (high). float32_default is process-wide: other threads' dtype, stored failures, the caller's default lost --

def test_concurrent_correlations_under_a_float64_default_store_no_failure_and_give_the_default_back(
        tmp_path, data_dir, fast_switching):
    """session.score_archs (and search_arch) run under scoring.float32_default, a torch.set_default_dtype of the whole
    process: two runs' save/restore interleaved and left the caller's float64 default float32 for good (2-7 of 8
    trials), and one run's restore landed in the other's build: a float64 network met the float32 batch and a failure
    ("Input type (torch.FloatTensor) and weight type (torch.DoubleTensor)") was stored, reused by every later run.
    (A thread that does not call swapnas still sees float32 while a run is under way: torch has one default.)"""
    setup = _nb201(data_dir, "swap,params", batch_size=8, repeats=1)
    ref = _correlate(setup, tmp_path / "ref.sqlite")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    bad: list = []
    try:
        for trial in range(4):
            results: dict = {}
            def run(i: int, trial: int = trial) -> None:
                results[i] = _correlate(setup, tmp_path / f"{trial}-{i}.sqlite")

            errors = _run_together(run, [(0,), (1,)])
            assert not errors, errors[:1]
            bad += [(trial, r.scores) for r in results.values() if r.scores != ref.scores]
            if torch.get_default_dtype() != torch.float64:
                bad.append((trial, "default dtype left", torch.get_default_dtype()))
                torch.set_default_dtype(torch.float64)
    finally:
        torch.set_default_dtype(before)
    assert bad == []


# --- 5 (medium) ---------------------------------------

def test_concurrent_score_calls_give_the_process_rng_back(fast_switching):
    """help(score): each repeat seeds the process RNG "(and gives its state back)"; two threads "take each other's
    draws". Beyond that, with three threads scoring a model whose passes draw nothing, the process RNG was left
    seeded with one of the calls' seeds (0, 100 or 200) in 25 of 30 trials: every later torch.rand of the program
    repeats the same numbers. (Holding scoring._RNG_LOCK around each seeded block would keep the calls apart.)"""
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 10))
    x = torch.randn(8, 3, 8, 8)
    left = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for trial in range(8):
            torch.manual_seed(1234 + trial)
            state = torch.get_rng_state()
            errors = _run_together(lambda s: [swapnas.score(net, x, "swap", repeats=2, seed=s) for _ in range(5)],
                                   [(0,), (100,), (200,)])
            assert not errors, errors[:1]
            left += not torch.equal(state, torch.get_rng_state())
    assert left == 0


# --- 6 (medium). a store used from another thread than the one that opened it is called "damaged" ----------------

def test_a_store_opened_in_one_thread_and_used_in_another_is_not_called_damaged(tmp_path, data_dir):
    """`with ScoreStore(p) as store: pool.submit(run_correlation, store=store, …)` (one worker thread): sqlite3's
    same-thread check raises ProgrammingError, which ScoreStore._error reported as "the score store … is damaged …;
    restore it from a backup, start a fresh store …, or … salvage": advice to throw away a sound store."""
    from concurrent.futures import ThreadPoolExecutor

    from swapnas.store import ScoreStore
    from swapnas.store_files import StoreError
    bench, protocol, batch, proxies = _nb201(data_dir, "params", batch_size=8, repeats=1)
    from swapnas.correlation import run_correlation
    with ScoreStore(tmp_path / "s.sqlite") as store, ThreadPoolExecutor(1) as pool:
        fut = pool.submit(run_correlation, bench=bench, task="cifar10", proxies=proxies, n_archs=3, protocol=protocol,
                          batch=batch, store=store, device=torch.device("cpu"), progress=False)
        with pytest.raises(StoreError, match=r"was opened in another thread, and SQLite connections stay in the "
                                             r"thread that made them \(the file is sound\): open it"):
            fut.result()
