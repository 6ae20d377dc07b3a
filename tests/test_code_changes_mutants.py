"""Warnings when a store's scores were made by other code (code_changes.py), called directly: each warning whole
with its date, once per store and name in a process, never for an in-memory store or an unknown space, pointed at
the caller's caller, the network's warning as the proxies' (session 41's mutation run: docs/reliability.md)."""

from __future__ import annotations

import sqlite3
import time
import warnings
from types import SimpleNamespace

import pytest

from swapnas import code_changes
from swapnas.code_changes import warn_changed_code, warn_changed_network
from swapnas.spaces import network_modules
from swapnas.store import ScoreStore


def _mean(x):
    return x.mean()


def _max(x):
    return x.max()


def _min(x):
    return x.min()


@pytest.fixture
def utc(monkeypatch):
    """Local time is UTC (the warnings' dates), and this process has checked nothing yet."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
    yield
    monkeypatch.undo()
    time.tzset()


def _proxy(fn, name: str = "toy", version: str = "2") -> SimpleNamespace:
    return SimpleNamespace(name=name, version=version, fn=fn)


def _recorded_at_epoch(path, name: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE proxy_code SET created = 0 WHERE proxy = ?", (name,))


def _warned(call) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return list(caught)


# frames of "swapnas" (as score_archs and run_correlation are): a warning skips them and names the first line outside
_SWAPNAS_FRAMES: dict = {"__name__": "swapnas._frames_of_a_test", "warn_changed_code": warn_changed_code,
                         "warn_changed_network": warn_changed_network}
exec("def _inner(store, proxies, **kw):\n    warn_changed_code(store, proxies, **kw)\n\n"
     "def _outer(store, proxies, **kw):\n    _inner(store, proxies, **kw)\n\n"  # two frames, as run_correlation's
     "def _direct_inner(store):\n    warn_changed_network(store, 'nb201', '1')\n\n"
     "def _direct_outer(store):\n    _direct_inner(store)\n", _SWAPNAS_FRAMES)


def _caller(store, proxies, **kw):  # the warning points here: the first line outside swapnas
    _SWAPNAS_FRAMES["_outer"](store, proxies, **kw)


def _direct(store):
    _SWAPNAS_FRAMES["_direct_outer"](store)


def test_a_changed_proxy_warns_whole_once_with_the_date(tmp_path, utc):
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as store:
        assert _warned(lambda: warn_changed_code(store, [_proxy(_mean)])) == []  # first sight: recorded
    _recorded_at_epoch(path, "toy@2")
    code_changes._CODE_CHECKED.clear()  # a new process
    with ScoreStore(path) as store:
        caught = _warned(lambda: _caller(store, [_proxy(_max)]))
        assert [str(w.message) for w in caught] == [
            f"proxy 'toy': its function differs from the code recorded beside its scores in {path} (1970-01-01 "
            "00:00+00:00), under the same version 2, so those scores are reused as they are. If the change alters the "
            "values, give the proxy a new version (@register(..., version=\"3\")) to score them again. Until then "
            "every run on this store warns again; if the change leaves the values alone, "
            f"`{code_changes._accepting_command(True)} store accept-code {path}` records the code that runs now as "
            "the code of its scores; to score them anew with the code that runs now, give another --store"]
        # once per store, name and function in this process (session 66: a function registered again under the
        # name, a notebook's cell run again, is checked again)
        assert _warned(lambda: warn_changed_code(store, [_proxy(_max)])) == []
        assert len(_warned(lambda: warn_changed_code(store, [_proxy(_min)]))) == 1
        assert _warned(lambda: warn_changed_code(store, [_proxy(_min)])) == []


def test_a_read_only_store_compares_and_says_nothing_of_recording(tmp_path, utc):
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as store:
        warn_changed_code(store, [_proxy(_mean, version="v")])
    _recorded_at_epoch(path, "toy@v")
    code_changes._CODE_CHECKED.clear()
    with ScoreStore(path, read_only=True) as store:
        [w] = _warned(lambda: warn_changed_code(store, [_proxy(_max, version="v")]))
    assert '(@register(..., version="v.1")) to score them again. Until then every run' in str(w.message)


def test_a_proxy_checked_before_does_not_stop_the_next(tmp_path, utc):
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as store:
        warn_changed_code(store, [_proxy(_mean, "a"), _proxy(_mean, "b")])
    _recorded_at_epoch(path, "b@2")
    code_changes._CODE_CHECKED.clear()
    with ScoreStore(path) as store:
        warn_changed_code(store, [_proxy(_mean, "a")])
        caught = _warned(lambda: warn_changed_code(store, [_proxy(_mean, "a"), _proxy(_max, "b")]))
    assert [str(w.message)[:10] for w in caught] == ["proxy 'b':"]


def test_an_in_memory_store_is_never_compared(utc):
    with ScoreStore(":memory:") as store:
        warn_changed_code(store, [_proxy(_mean)])
        code_changes._CODE_CHECKED.clear()
        assert _warned(lambda: warn_changed_code(store, [_proxy(_max)])) == []
    assert code_changes._CODE_CHECKED == set()


def test_the_network_warning_whole_and_its_default_version(tmp_path, utc, monkeypatch):
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as store:
        warn_changed_code(store, [], space="nb201")
    assert code_changes._CODE_CHECKED == {(str(path), "net:nb201@1")}
    _recorded_at_epoch(path, "net:nb201@1")
    code_changes._CODE_CHECKED.clear()
    monkeypatch.setattr(code_changes, "modules_digest", lambda modules: "fedcba9876543210")
    names = ", ".join(m.__name__ for m in network_modules("nb201"))
    assert names.count(", ") >= 1
    with ScoreStore(path) as store:
        caught = _warned(lambda: _caller(store, [], space="nb201"))
        assert [str(w.message) for w in caught] == [
            f"space 'nb201': the code of the modules that build its networks ({names}) differs from the code "
            f"recorded beside the scores in {path} (1970-01-01 00:00+00:00), under the same network version 1, so "
            "those scores are reused as they are. If the networks changed, set NET_VERSION = \"2\" in the space's "
            "module to score them again. Until then every run on this store warns again; if only other code changed "
            f"(parsing, mutation, docs), `swapnas store accept-code {path}` records the code that runs now as the "
            "code of its scores; to score them anew with the code that runs now, give another --store"]
        warn_changed_network(store, "no_such_space", "1")  # an unknown space: nothing to digest, no error
    assert (str(path), "net:no_such_space@1") not in code_changes._CODE_CHECKED


def test_each_warning_points_at_the_callers_caller(tmp_path, utc, monkeypatch):
    # as score_archs calls warn_changed_code: both warnings point at the first line outside swapnas (session 50: a
    # user's script that called run_correlation got the line of correlate.py that called score_archs)
    path = tmp_path / "s.sqlite"
    digest = {"net": "0000000000000000"}
    monkeypatch.setattr(code_changes, "modules_digest", lambda modules: digest["net"])
    with ScoreStore(path) as store:
        warn_changed_code(store, [_proxy(_mean)], space="nb201")
    here = _caller.__code__.co_firstlineno + 1
    for net, fn in (("1111111111111111", _max), ("2222222222222222", _min)):
        code_changes._CODE_CHECKED.clear()
        digest["net"] = net
        with ScoreStore(path) as store:
            caught = _warned(lambda: _caller(store, [_proxy(fn)], space="nb201"))
        assert [(w.category.__name__, w.filename, w.lineno) for w in caught] == [
            ("NetworkCodeWarning", __file__, here), ("ProxyCodeWarning", __file__, here)]
    code_changes._CODE_CHECKED.clear()
    digest["net"] = "3333333333333333"
    with ScoreStore(path) as store:
        [w] = _warned(lambda: _direct(store))  # warn_changed_network alone: the first line outside swapnas too
    assert (w.filename, w.lineno) == (__file__, _direct.__code__.co_firstlineno + 1)
