"""The scoring processes' heap pad (swapnas.malloc): when it is set, and its environment variable."""

from __future__ import annotations

import ctypes
import os
import sys

import pytest

from swapnas import malloc


@pytest.fixture
def mallopt_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Records the calls of mallopt instead of changing this test process's allocator."""
    calls: list[tuple[int, int]] = []

    class FakeLibc:
        def mallopt(self, option: int, value: int) -> int:
            calls.append((option, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: FakeLibc())
    monkeypatch.setattr(sys, "platform", "linux")
    for key in [k for k in os.environ if k.startswith("MALLOC_") or k == "SWAPNAS_MALLOC_PAD_MIB"]:
        monkeypatch.delenv(key)
    return calls


def test_the_default_pad_is_set_as_m_top_pad_in_bytes(mallopt_calls: list[tuple[int, int]]) -> None:
    assert malloc.keep_freed_memory() is True
    assert mallopt_calls == [(-2, malloc.TOP_PAD_MIB * 1024 * 1024)]


def test_the_environment_variable_sets_or_turns_off_the_pad(mallopt_calls: list[tuple[int, int]],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWAPNAS_MALLOC_PAD_MIB", "16")
    assert malloc.keep_freed_memory() is True
    monkeypatch.setenv("SWAPNAS_MALLOC_PAD_MIB", "0")
    assert malloc.keep_freed_memory() is False
    assert mallopt_calls == [(-2, 16 << 20)]


def test_glibc_tuning_in_the_environment_or_another_platform_leaves_malloc_alone(
        mallopt_calls: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX_", "2")
    assert malloc.keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX_")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert malloc.keep_freed_memory() is False
    assert mallopt_calls == []


@pytest.mark.parametrize("text", ["-1", "lots", "2048", "1.5"])
def test_a_bad_pad_is_refused_with_what_to_write(mallopt_calls: list[tuple[int, int]],
                                                 monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("SWAPNAS_MALLOC_PAD_MIB", text)
    with pytest.raises(ValueError, match=r"SWAPNAS_MALLOC_PAD_MIB must be a whole number of MiB from 0 to 2047 "
                                         rf"\(got '{text}'\)"):
        malloc.keep_freed_memory()
    assert mallopt_calls == []


def test_a_c_library_without_mallopt_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWAPNAS_MALLOC_PAD_MIB", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: object())
    for key in [k for k in os.environ if k.startswith("MALLOC_")]:
        monkeypatch.delenv(key)
    assert malloc.keep_freed_memory() is False
