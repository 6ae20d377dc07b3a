"""The scoring processes' heap pad (swapnas.malloc): when it is set, and its environment variable."""

from __future__ import annotations

import ctypes
import os
import sys

import pytest

from swapnas import malloc

from .message_tools import refusal


@pytest.fixture
def mallopt_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Records the calls of mallopt instead of changing this test process's allocator."""
    calls: list[tuple[int, int]] = []

    class FakeLibc:
        def mallopt(self, option: int, value: int) -> int:
            calls.append((option, value))
            return 0 if value == 7 << 20 else 1  # a pad of 7 MiB: mallopt says no

    monkeypatch.setattr(ctypes, "CDLL", lambda name: FakeLibc())
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    for key in [k for k in os.environ if k.startswith("MALLOC_") or k == "SWAPNAS_MALLOC_PAD_MIB"]:
        monkeypatch.delenv(key)
    return calls


@pytest.fixture
def opened_libraries(mallopt_calls: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The names the C library is opened with (``mallopt_calls``' fake library still answers)."""
    names: list[object] = []
    fake = ctypes.CDLL
    monkeypatch.setattr(ctypes, "CDLL", lambda name: names.append(name) or fake(name))
    return names


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


def test_the_pad_read_from_the_environment(mallopt_calls: list, monkeypatch: pytest.MonkeyPatch) -> None:
    """(Session 48's mutation run, from here on.)"""
    assert malloc.pad_mib() == 64 == malloc.TOP_PAD_MIB
    for text, value in ((" 128 ", 128), ("0", 0), ("2047", 2047), ("   ", 64)):
        monkeypatch.setenv("SWAPNAS_MALLOC_PAD_MIB", text)
        assert malloc.pad_mib() == value
    monkeypatch.setenv("SWAPNAS_MALLOC_PAD_MIB", " 2048 ")
    assert refusal(ValueError, malloc.pad_mib) == (
        "SWAPNAS_MALLOC_PAD_MIB must be a whole number of MiB from 0 to 2047 (got '2048'); 0 leaves glibc's default")


def test_when_the_pad_is_set(mallopt_calls: list, opened_libraries: list, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux2")  # any Linux
    assert malloc.keep_freed_memory() is True and opened_libraries == [None] and mallopt_calls == [(-2, 64 << 20)]
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")  # no trailing underscore: not glibc's old tuning variable
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.pthread.mutex_spin_count=1")
    assert malloc.keep_freed_memory() is True
    monkeypatch.setenv("SWAPNAS_MALLOC_PAD_MIB", "7")
    assert malloc.keep_freed_memory() is False  # mallopt said no
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.top_pad=1")
    assert malloc.keep_freed_memory() is False
    monkeypatch.setenv("GLIBC_TUNABLES", "")
    monkeypatch.setenv("XMALLOC_TOP_PAD_", "1")  # the prefix is MALLOC_
    monkeypatch.setenv("SWAPNAS_MALLOC_PAD_MIB", "1")
    assert malloc.keep_freed_memory() is True
    assert mallopt_calls == [(-2, 64 << 20), (-2, 64 << 20), (-2, 7 << 20), (-2, 1 << 20)]


def test_a_c_library_that_cannot_be_opened(mallopt_calls: list, monkeypatch: pytest.MonkeyPatch) -> None:
    def fails(name: object) -> None:
        raise OSError("no libc")

    monkeypatch.setattr(ctypes, "CDLL", fails)
    assert malloc.keep_freed_memory() is False
