"""Session 66 audit of the score store's keys and code digests (each test failed on the code as found, 6ab5333):
an array's or tensor's option text is cut short (different arrays shared a key, and a stored score), a function
option's text holds an address (no later process reused a score), a ``functools.partial`` metric had no code digest
(nothing recorded, a changed argument unsaid), equal values in other forms were keyed apart (an int for a real option,
numpy scalars in a tuple), and string options could spell another option set's key."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import swapnas
from swapnas.proxies import get_proxy, register
from swapnas.proxies.code import code_digest
from swapnas.session import score_archs
from swapnas.store import ScoreStore
from swapnas.store_tools import check_store
from tests.registry_tools import registry_snapshot
from tests.tiny_tasks import tiny_nb201_task

CPU = torch.device("cpu")
SRC = str(Path(swapnas.__file__).resolve().parents[1])


# --- an array- or tensor-valued option: two different values share one store key (stale scores served) -------

def _weights_sum(model, batch, weights=None):
    """The sum of the weights option (a stand-in for a metric with per-layer weights)."""
    return float(np.asarray(weights, dtype=float).sum())


def test_array_options_of_different_values_get_different_keys() -> None:
    with registry_snapshot():
        register("own_weights", structural=True, weights=None)(_weights_sum)
        p = get_proxy("own_weights")
        a = np.zeros(2000)
        b = a.copy()
        b[1000] = 5.0
        assert p.configure(weights=a).key != p.configure(weights=b).key
        t = torch.zeros(2000)
        u = t.clone()
        u[1000] = 5.0
        assert p.configure(weights=t).key != p.configure(weights=u).key


def test_a_store_does_not_serve_one_array_options_score_for_another(tmp_path: Path) -> None:
    protocol, batch, _, archs = tiny_nb201_task("params", batch_size=4, repeats=1, n_archs=2, seed=0)
    with registry_snapshot():
        register("own_weights", structural=True, weights=None)(_weights_sum)
        a = np.zeros(2000)
        b = a.copy()
        b[1000] = 5.0
        with ScoreStore(tmp_path / "s.sqlite") as store:
            first = score_archs(archs, "nb201", [get_proxy("own_weights").configure(weights=a)], protocol, batch,
                                store, CPU, progress=False)
            second = score_archs(archs, "nb201", [get_proxy("own_weights").configure(weights=b)], protocol, batch,
                                 store, CPU, progress=False)
    assert [r.value for r in first["own_weights"]] == [0.0, 0.0]
    assert [r.value for r in second["own_weights"]] == [5.0, 5.0]  # now: 0.0, the other array's stored score


# --- a function-valued option: its key holds a memory address, so no later process reuses a score ------------

def test_a_function_valued_option_gives_the_same_key_in_every_process(tmp_path: Path) -> None:
    (tmp_path / "own_fnopt.py").write_text(textwrap.dedent('''
        from swapnas.proxies import register, get_proxy
        def total(xs):
            return float(sum(xs))
        @register("own_fnopt", structural=True, combine=total)
        def own_fnopt(model, batch, combine=total):
            """Parameters combined by combine."""
            return combine(p.numel() for p in model.parameters())
        print(get_proxy("own_fnopt").key)
    '''))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, str(tmp_path)]), "OMP_NUM_THREADS": "1"}
    keys = [subprocess.run([sys.executable, "-c", "import own_fnopt"], env=env, capture_output=True, text=True,
                           check=True).stdout.strip() for _ in range(2)]
    assert keys[0] == keys[1], keys


# --- the code digest of a metric registered as a functools.partial: none, so no record and no warning ---------

def _scaled_params(model, batch, k):
    return k * sum(t.numel() for t in model.parameters())


def test_a_partial_metric_has_a_code_digest_that_follows_its_arguments() -> None:
    one, two = functools.partial(_scaled_params, k=1.0), functools.partial(_scaled_params, k=2.0)
    assert code_digest(one) is not None  # now None: the store records nothing and never warns
    assert code_digest(one) != code_digest(two)


def test_store_check_does_not_say_a_new_partial_metrics_scores_predate_code_records(tmp_path: Path) -> None:
    protocol, batch, _, archs = tiny_nb201_task("params", batch_size=4, repeats=1, n_archs=2, seed=0)
    path = tmp_path / "s.sqlite"
    with registry_snapshot():
        register("own_partial", structural=True)(functools.partial(_scaled_params, k=1.0))
        with ScoreStore(path) as store:
            score_archs(archs, "nb201", [get_proxy("own_partial")], protocol, batch, store, CPU, progress=False)
    report = check_store(path)
    # now: listed as "scores made before the store recorded code ... (a run warns that what made them cannot be
    # compared)": they were made a moment ago, by this swapnas, and no run warns
    assert "own_partial@1" not in report.unrecorded


# --- equal option values in other forms get other keys (scores not reused) -----------------------------------

def test_equal_proxy_option_values_share_a_key() -> None:
    zen = get_proxy("zen")
    assert zen.configure(alpha=1234567).key == zen.configure(alpha=1234567.0).key  # 1234567 vs 1.23457e+06
    with registry_snapshot():
        register("own_struct", structural=True, dims=None)(lambda model, batch, dims=None: 0.0)
        p = get_proxy("own_struct")  # numpy scalars in a tuple: numpy 2 writes np.float32(0.5), numpy 1 0.5
        assert p.configure(dims=(np.float32(0.5), np.int64(2))).key == p.configure(dims=(0.5, 2)).key
    swap_reg = get_proxy("swap_reg")
    assert swap_reg.configure(mu=300, sigma=1000000).key == swap_reg.configure(mu=300.0, sigma=1e6).key
    assert isinstance(swap_reg.configure(sigma=1000000).options["sigma"], float)
    assert type(get_proxy("vkdnw").configure(tensors=3).options["tensors"]) is int  # a whole-number option stays int


# --- str options can spell another option set's key ------------------------------------------------------------

def test_two_different_option_sets_never_share_a_key() -> None:
    with registry_snapshot():
        register("own_two", structural=True, a="x", b="y")(lambda model, batch, a="x", b="y": 0.0)
        p = get_proxy("own_two")
        assert p.configure(a="1,b=2", b="3").key != p.configure(a="1", b="2,b=3").key


def test_every_registered_proxys_key_is_written_as_stored_keys_always_were() -> None:
    """The keys of the package's metrics, at their defaults and configured, are the old formula's (floats ``{v:g}``,
    the rest ``str``): no stored score is lost to the new form."""
    from swapnas.proxies import list_proxies

    def old(p) -> str:
        opts = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(p.options.items()))
        return f"{p.name}@{p.version}" + (f"[{opts}]" if opts else "")

    proxies = [get_proxy(n) for n in list_proxies()]
    proxies += [get_proxy("swap_reg").configure(mu=123.456789, sigma=9e4), get_proxy("meco").configure(layers="all"),
                get_proxy("vkdnw").configure(tensors=3, inputs="data"), get_proxy("zen").configure(alpha=0.01)]
    for p in proxies:
        assert p.key == old(p)


def test_an_option_whose_text_holds_an_address_is_refused_by_name() -> None:
    """A value with no stable text of its own (an object, a lambda, a closure, a bound method) was keyed by its
    address: never found again in another process, and another value's once the address is reused. Refused."""
    def make(k):
        def scaled(x):
            return x * k
        return scaled

    with registry_snapshot():
        register("own_obj", structural=True, thing=None)(lambda model, batch, thing=None: 0.0)
        p = get_proxy("own_obj")
        for value in (object(), make(1), (lambda x: x), [1].count, (1, object())):
            with pytest.raises(ValueError, match=r"^option thing=.* at 0x[0-9a-f]+.*: its text holds a memory "
                                                 r"address, so the score store cannot key it"):
                p.configure(thing=value).key
