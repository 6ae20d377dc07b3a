"""Session-25 review of the shared layer (store, store tools, scoring, malloc): each test fails on the code before
its fix (docs/reliability.md)."""

from __future__ import annotations

import random

import pytest
import torch

from swapnas.proxies import get_proxy
from swapnas.session import configure, score_archs
from swapnas.spaces import nb201
from swapnas.store import Record, ScoreKey, ScoreStore, StoreError
from swapnas.store_tools import check_store, check_text, salvage_store
from tests.test_store_sharing import foreign_database


def test_a_configured_base_beside_its_derived_proxy_is_refused_where_scores_are_stored(small_bundle) -> None:
    """Before: swap_nb201 computed from meco(samples=4) was stored under swap_nb201's usual key and reused later
    as if from the default meco."""
    protocol, batch, _ = configure("nb201", "cifar10", "swap", data_dir=str(small_bundle), net={"C": 4})
    proxies = [get_proxy("meco").configure(samples=4), get_proxy("swap_nb201")]
    arch = nb201.sample(random.Random(0))
    with ScoreStore(":memory:") as store:
        with pytest.raises(ValueError, match=r"meco is configured \(meco@\d\[layers=conv,samples=4\]\) and is also a "
                                             r"base of swap_nb201.*score swap_nb201 and the configured meco in two "
                                             "calls"):
            score_archs([arch], "nb201", proxies, protocol, batch, store, torch.device("cpu"), progress=False)
        assert store.count() == 0  # refused before anything was written
        records = score_archs([arch], "nb201", [get_proxy("meco").configure(samples=4)], protocol, batch, store,
                              torch.device("cpu"), progress=False)  # alone it is fine
        assert records["meco"][0].ok


def test_salvage_refuses_another_programs_scores_table(tmp_path) -> None:
    """Before: 'salvaged' it into an empty store, calling the unknown columns damage."""
    path = foreign_database(tmp_path / "foreign.sqlite", "CREATE TABLE scores (a, b)")
    with pytest.raises(StoreError, match=r"foreign\.sqlite is not a swapnas score store \(its scores table has the "
                                         r"columns a, b, not space, arch"):
        salvage_store(path, tmp_path / "out.sqlite")
    assert not (tmp_path / "out.sqlite").exists()


def test_salvage_to_a_path_it_cannot_write_says_so(tmp_path) -> None:
    """Before: a bare "[Errno 17] File exists: 'afile'"."""
    src = tmp_path / "good.sqlite"
    with ScoreStore(src) as s:
        s.put(ScoreKey("nb201", "a", "params@1", "fp", 0, 16, 1, "{}"), Record("ok", 1.0, 0.0, [1.0], 0.1, None, None))
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError, match=r"--out .*afile/x\.sqlite: cannot write there \(File exists\); give a path"):
        salvage_store(src, tmp_path / "afile" / "x.sqlite")


def test_store_check_lists_every_setting_scores_were_stored_under(tmp_path) -> None:
    """Before: one protocol line, describing the first run's network and repeats only (they are not in the
    fingerprint, so a second run's were never recorded)."""
    path = tmp_path / "s.sqlite"
    with ScoreStore(path) as s:
        s.add_protocol("fp", {"net": {"C": 4, "N": 1}, "repeats": 4})
        for arch in ("a", "b"):
            s.put(ScoreKey("nb201", arch, "swap@1", "fp", 0, 16, 4, '{"C": 4, "N": 1}'),
                  Record("ok", 1.0, 0.0, [1.0], 0.1, None, None))
        s.put(ScoreKey("nb201", "a", "swap@1", "fp", 0, 16, 2, '{"C": 8, "N": 2}'),
              Record("ok", 2.0, 0.0, [2.0], 0.1, None, None))
    text = check_text(check_store(path))
    assert '  scored under fp: nb201, seed 0, S=16, R=2, net {"C": 8, "N": 2}: 1 scores' in text
    assert '  scored under fp: nb201, seed 0, S=16, R=4, net {"C": 4, "N": 1}: 2 scores' in text


def test_glibc_tunables_leave_the_malloc_pad_alone(monkeypatch) -> None:
    """Before: only MALLOC_*_ variables counted as glibc's own tuning; GLIBC_TUNABLES was overridden."""
    import ctypes

    from swapnas import malloc

    import os

    for key in [k for k in os.environ if k.startswith("MALLOC_") or k == "SWAPNAS_MALLOC_PAD_MIB"]:
        monkeypatch.delenv(key)
    calls = []
    monkeypatch.setattr(ctypes, "CDLL", lambda name: type("C", (), {"mallopt": lambda *a: calls.append(a) or 1})())
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.top_pad=0")
    assert malloc.keep_freed_memory() is False and calls == []
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=512")  # another tunable: the pad is set
    assert malloc.keep_freed_memory() is (malloc.sys.platform.startswith("linux")) and len(calls) == int(
        malloc.sys.platform.startswith("linux"))
