from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# CLI runs in tests score in-process unless a test asks for --workers (a spawned pool costs seconds
# to start); the default (one worker per core) is checked in test_executors.py
os.environ.setdefault("SWAPNAS_WORKERS", "1")
#: the committed small bundle (same layout and formats as shared/data, a subset; tests/data/make_bundle.py)
SMALL_BUNDLE = Path(__file__).resolve().parent / "data" / "bundle"


def _data_dir() -> Path | None:
    for cand in (os.environ.get("SWAPNAS_DATA"), REPO.parent / "shared" / "data"):
        if cand and Path(cand, "nb201", "nb201_all_15625.csv").is_file() and Path(cand).resolve() != SMALL_BUNDLE:
            return Path(cand)
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data bundle (shared/data); tests using it are marked ``bundle`` and skip without it."""
    d = _data_dir()
    if d is None:
        pytest.skip("swapnas data bundle not found: set SWAPNAS_DATA to shared/data")
    return d


@pytest.fixture
def no_default_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No data directory but the one a call is given: a dropped ``data_dir`` fails instead of finding the bundle."""
    monkeypatch.delenv("SWAPNAS_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "no_xdg"))


@pytest.fixture(scope="session")
def small_bundle() -> Path:
    """The committed small bundle: the real bundle's layout and file formats, a few archs / images per file."""
    return SMALL_BUNDLE


def _reorder(items: list, order: str) -> None:
    """SWAPNAS_TEST_ORDER=reverse|shuffle:SEED (a dev check, scripts/test_order_check.sh): every test must pass
    in any order, so one that leans on what an earlier test left behind (the global RNG, the registry) fails."""
    import random

    if order == "reverse":
        items.reverse()
    elif order.startswith("shuffle:") and order[8:].isdigit():
        random.Random(int(order[8:])).shuffle(items)
    else:
        raise pytest.UsageError(f"SWAPNAS_TEST_ORDER={order!r}: give 'reverse' or 'shuffle:SEED' (e.g. shuffle:1)")


def pytest_collection_modifyitems(config, items) -> None:
    # a test that reads the real bundle is a `bundle` test even where its decorator was forgotten,
    # so `-m "not bundle"` never selects one
    for item in items:
        if "data_dir" in getattr(item, "fixturenames", ()) and item.get_closest_marker("bundle") is None:
            item.add_marker(pytest.mark.bundle)
    if os.environ.get("SWAPNAS_TEST_ORDER"):
        _reorder(items, os.environ["SWAPNAS_TEST_ORDER"])


@pytest.fixture
def scratch_registry():
    """A test that registers proxies (or replaces one): the registry is restored afterwards, whatever happened."""
    from tests.registry_tools import registry_snapshot

    with registry_snapshot():
        yield


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests (timing-free, but deterministic and quiet on 2 cores)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def figures(monkeypatch):
    """Every Figure the plotting functions (``swapnas.report``'s, ``swapnas.grid``'s) save, in order (the file is
    still written): the figure tests of sessions 68 and 70 read what was drawn."""
    import swapnas.grid as grid_mod
    import swapnas.report as report_mod

    saved = []
    for mod in (report_mod, grid_mod):
        orig = mod.save_figure

        def cap(fig, path, _orig=orig):
            saved.append(fig)
            return _orig(fig, path)

        monkeypatch.setattr(mod, "save_figure", cap)
    return saved
