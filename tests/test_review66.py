"""Session 66 review of the session's diff (each test failed on the code as reviewed, 052b9eb): a metric registered
again in the process reused the old function's scores without the changed-code check; callable objects, two lambdas
on a line and functions without readable source shared store keys; numpy scalars in a container were keyed unlike
the Python numbers they hold.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from torch import nn

from swapnas.proxies.code import code_digest, option_text


# --- a __main__ metric registered again in the same process skips the changed-code check -----------------

def test_a_metric_registered_again_in_the_same_process_is_still_checked_against_the_store(tmp_path):
    """registry._cell_again lets a notebook cell re-register its metric, but code_changes._CODE_CHECKED already holds
    (store, name@version) from the first definition's run: the edited function's scores are reused from the store with
    no ProxyCodeWarning (a fresh process warns). Before session 66 the re-registration raised, forcing a restart."""
    from swapnas.code_changes import warn_changed_code
    from swapnas.proxies import get_proxy, register
    from swapnas.proxies.code import ProxyCodeWarning
    from swapnas.proxies.registry import _REGISTRY
    from swapnas.store import ScoreStore

    def metric(model, batch):  # the cell's first version
        return 1.0

    first = metric

    def metric(model, batch):  # noqa: F811 - the cell edited and run again
        return 2.0

    for fn in (first, metric):
        fn.__module__ = "__main__"
    name, path = "review66_cell_metric", tmp_path / "s.sqlite"
    try:
        register(name)(first)
        with ScoreStore(path) as store:
            warn_changed_code(store, [get_proxy(name)])  # the first run records its code
        register(name)(metric)  # allowed since session 66
        with ScoreStore(path) as store, warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            warn_changed_code(store, [get_proxy(name)])
        assert any(issubclass(x.category, ProxyCodeWarning) for x in w), \
            "the edited metric's run reuses the old function's scores without a ProxyCodeWarning"
    finally:
        _REGISTRY.pop(name, None)


# --- callable options keyed by name alone: different values share a key (and stored scores) ---------

def test_callable_objects_with_different_settings_get_different_keys():
    """option_text keys any callable by module.qualname (+ code digest): an nn.Module (or any object with __call__)
    loses what told it apart. Before session 66 the key was its repr (architecture, settings)."""
    a, b = nn.Sequential(nn.Linear(3, 4)), nn.Sequential(nn.Linear(3, 8), nn.ReLU())
    assert option_text(a) != option_text(b)


def test_two_lambdas_on_one_line_do_not_share_a_key():
    """code_digest of a lambda digests its whole source line: both lambdas shared the digest and so the key. A lambda
    is refused (its text holds an address); a def'd function is keyed by its name and source, a built-in function and
    a class without Python source by their names."""
    f, g = (lambda x: x * 2), (lambda x: x * 3)
    for fn in (f, g):
        with pytest.raises(ValueError, match=r"its text holds a memory address"):
            option_text(fn, "f")

    def twice(x):
        return x * 2

    def thrice(x):
        return x * 3

    assert option_text(twice) != option_text(thrice) and option_text(twice).endswith(f"#{code_digest(twice)}")
    assert option_text(max) == "builtins.max" and option_text(int) == "builtins.int"
    assert option_text(np.float32) == "numpy.float32"

def test_a_function_without_readable_source_is_refused_or_told_apart():
    """A function typed at the prompt / exec'd / `python -c` has no code digest: its key is '__main__.h' whatever its
    body (the old key held an address: never reused). Two different functions must not share a key."""
    ns: dict = {"__name__": "__main__"}
    exec("def h(x):\n    return x * 2", ns)
    h1 = ns["h"]
    exec("def h(x):\n    return x * 3", ns)
    h2 = ns["h"]
    try:
        k1, k2 = option_text(h1, "f"), option_text(h2, "f")
    except ValueError:
        return  # refused, as an address-bearing value is: acceptable
    assert k1 != k2


# --- numpy scalars in a container are not keyed as the Python numbers they hold ---------------------------

@pytest.mark.parametrize("with_numpy, plain", [
    ((np.float64(0.5), "a"), (0.5, "a")),
    ({"a": np.int64(1)}, {"a": 1}),
    ((np.float64(0.123456789),), (0.123456789,)),
])
def test_numpy_scalars_in_a_container_key_as_their_python_numbers(with_numpy, plain):
    """option_text's docstring: 'numpy scalars as their Python numbers'. A container with one numpy scalar takes the
    non-plain path, which writes strs unquoted, dict keys unquoted and floats with {:g}: (np.float64(0.5), 'a') is
    '(0.5, a)' and (0.5, 'a') is "(0.5, 'a')", two keys for one option value."""
    assert option_text(with_numpy) == option_text(plain)
