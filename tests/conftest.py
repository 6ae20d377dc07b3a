from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path | None:
    for cand in (os.environ.get("SWAPNAS_DATA"), REPO.parent / "shared" / "data"):
        if cand and Path(cand, "nb201", "nb201_all_15625.csv").is_file():
            return Path(cand)
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = _data_dir()
    if d is None:
        pytest.skip("swapnas data bundle not found: set SWAPNAS_DATA to shared/data")
    return d


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests (timing-free, but deterministic and quiet on 2 cores)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
