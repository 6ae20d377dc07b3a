"""The space registry and protocol (``swapnas.spaces`` and ``swapnas.spaces.protocol``), from their mutation run
(session 48): what a space lacks, each refusal of a registered space whole, which spaces search runs on, the network
version, the modules that build a space's networks, and the arch helpers every space uses (``as_arch``,
``tuple_field``, ``CanonicalString``)."""

from __future__ import annotations

import random
import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest

from swapnas import spaces
from swapnas.spaces import SPACES, SearchableSpace, Space, SpaceError, protocol

from . import toy_space
from .message_tools import refusal

SPACE_MEMBERS = ["NAME", "SCORING_DEFAULTS", "build", "default_size_prior", "format_arch", "iso_key", "mutate",
                 "param_range_k", "parse", "sample"]


def test_what_a_module_lacks() -> None:
    assert spaces.missing_members(types.ModuleType("empty"), Space) == sorted(SPACE_MEMBERS)
    assert spaces.missing_members(types.ModuleType("empty"), SearchableSpace) == \
        sorted(SPACE_MEMBERS + ["FINAL_NETS", "cell_edges", "crossover"])
    assert spaces.missing_members(toy_space, SearchableSpace) == []
    half = types.ModuleType("half")
    half.NAME, half.parse, half._private = "half", str, 1  # type: ignore[attr-defined]
    assert spaces.missing_members(half, Space) == sorted(set(SPACE_MEMBERS) - {"NAME", "parse"})
    nb101 = spaces.get_space("nb101")
    assert spaces.missing_members(nb101, SearchableSpace) == ["FINAL_NETS", "cell_edges", "crossover"]
    assert spaces.missing_members(nb101, Space) == []


def _register(monkeypatch: pytest.MonkeyPatch, name: str, module: types.ModuleType | None, path: str) -> None:
    if module is not None:
        monkeypatch.setitem(sys.modules, path, module)
    monkeypatch.setitem(SPACES, name, path)


def _toy_copy(name: str, **drop: bool) -> types.ModuleType:
    module = types.ModuleType(f"copy_of_toy_{name}")
    for member in vars(toy_space):
        if not member.startswith("__") and member not in drop:
            setattr(module, member, getattr(toy_space, member))
    module.NAME = name  # type: ignore[attr-defined]
    return module


def test_each_refusal_of_a_registered_space(monkeypatch: pytest.MonkeyPatch) -> None:
    assert refusal(ValueError, lambda: spaces.get_space("nb999")) == \
        f"unknown space 'nb999'; available: {', '.join(SPACES)}"
    _register(monkeypatch, "gone", None, "no_such_module_anywhere")
    message = refusal(SpaceError, lambda: spaces.get_space("gone"))
    assert message == ("space 'gone' is registered as 'no_such_module_anywhere', which cannot be imported "
                       "(ModuleNotFoundError: No module named 'no_such_module_anywhere'); fix its line in "
                       "swapnas.spaces.SPACES or the module")
    _register(monkeypatch, "half", _toy_copy("half", build=True, sample=True), "half_path")
    assert refusal(SpaceError, lambda: spaces.get_space("half")) == \
        "space 'half' (half_path) lacks build, sample (see swapnas.spaces.protocol.Space)"
    _register(monkeypatch, "renamed", _toy_copy("toy"), "renamed_path")
    assert refusal(SpaceError, lambda: spaces.get_space("renamed")) == (
        "space 'renamed' (renamed_path) has NAME 'toy': its line in swapnas.spaces.SPACES must use the same name "
        "('toy': 'renamed_path')")
    assert issubclass(SpaceError, ValueError) and issubclass(SpaceError, TypeError)


def test_which_spaces_search_runs_on(monkeypatch: pytest.MonkeyPatch) -> None:
    built_in = spaces.searchable_spaces()
    assert built_in[:3] == ["nb201", "darts", "flexibert"]  # a searchable space added later comes after them
    _register(monkeypatch, "gone", None, "no_such_module_anywhere")
    _register(monkeypatch, "toy", toy_space, "tests.toy_space")
    _register(monkeypatch, "flat", _toy_copy("flat", crossover=True, cell_edges=True), "flat_path")
    assert spaces.searchable_spaces() == [*built_in, "toy"]  # the broken one left out
    assert spaces.searchable_space("toy") is toy_space
    assert refusal(SpaceError, lambda: spaces.searchable_space("flat")) == (
        "space 'flat' cannot be searched: it defines no cell drawing or crossover (it lacks cell_edges, crossover: see "
        "swapnas.spaces.protocol.SearchableSpace); its archs can be scored and correlated;"
        f" searchable: {', '.join(built_in)}, toy")
    assert refusal(SpaceError, lambda: spaces.searchable_space("nb101")).startswith(
        "space 'nb101' cannot be searched: it defines no final networks, cell drawing or crossover (it lacks "
        "FINAL_NETS, cell_edges, crossover")


def test_the_network_version(monkeypatch: pytest.MonkeyPatch) -> None:
    assert spaces.net_version("nb201") == "1"
    versioned = _toy_copy("versioned")
    versioned.NET_VERSION = 3  # type: ignore[attr-defined]
    _register(monkeypatch, "versioned", versioned, "versioned_path")
    assert spaces.net_version("versioned") == "3"
    assert refusal(ValueError, lambda: spaces.net_version("nb999")).startswith("unknown space 'nb999'")


def test_the_modules_that_build_a_spaces_networks() -> None:
    names = {name: [m.__name__ for m in spaces.network_modules(name)] for name in SPACES}
    assert names["nb201"] == ["swapnas.spaces.nb201", "swapnas.spaces.ops"]
    assert names["nb101"] == ["swapnas.spaces.nb101", "swapnas.spaces.nb101_cell", "swapnas.spaces.nb101_net",
                              "swapnas.spaces.ops"]
    assert names["darts"] == ["swapnas.spaces.darts", "swapnas.spaces.darts_genotype",
                              "swapnas.spaces.darts_imagenet", "swapnas.spaces.darts_macs", "swapnas.spaces.darts_net",
                              "swapnas.spaces.ops"]  # darts_macs too: the space's module names it
    assert names["transnas_micro"] == ["swapnas.spaces.ops", "swapnas.spaces.transnas",
                                       "swapnas.spaces.transnas_micro"]
    assert names["flexibert"] == ["swapnas.spaces.flexibert", "swapnas.spaces.flexibert_net"]
    assert all("swapnas.spaces.protocol" not in v for v in names.values())


def test_the_modules_of_a_space_outside_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    _register(monkeypatch, "toy", toy_space, "tests.toy_space")
    assert [m.__name__ for m in spaces.network_modules("toy")] == ["tests.toy_space"]


def test_an_arch_or_its_string() -> None:
    arch = toy_space.parse("conv3|conv1|skip")
    assert protocol.as_arch(arch, toy_space.Arch, toy_space.parse, "toy") is arch
    assert protocol.as_arch("conv3|conv1|skip", toy_space.Arch, toy_space.parse, "toy") == arch
    assert refusal(TypeError, lambda: protocol.as_arch(3, toy_space.Arch, toy_space.parse, "toy")) == \
        "toy: expected an arch or its string, got int (a toy Arch, or a string toy's parse reads)"


@dataclass(frozen=True)
class _Pair:
    codes: tuple


def test_a_field_is_stored_as_a_tuple_of_plain_ints() -> None:
    for given, stored in (([1, 2], (1, 2)), (range(2, 5), (2, 3, 4)), ((np.int64(3), (np.int8(4), 5)), (3, (4, 5))),
                          ((True, "a", 1.5), (True, "a", 1.5))):
        pair = _Pair(given)  # type: ignore[arg-type]
        protocol.tuple_field(pair, "codes", "a pair")
        assert pair.codes == stored and type(pair.codes) is tuple
        assert [type(v) for v in pair.codes] == [type(v) for v in stored]
    nested = _Pair((np.int32(7), (np.int16(8),)))
    protocol.tuple_field(nested, "codes", "a pair")
    assert type(nested.codes[0]) is int and type(nested.codes[1][0]) is int
    for bad in ("12", 5, None, {1: 2}):
        assert refusal(ValueError, lambda: protocol.tuple_field(_Pair(bad), "codes", "a pair")) == \
            f"a pair: codes must be a tuple or list, got {type(bad).__name__} {bad!r}"
    assert protocol._plain_ints(np.uint8(9)) == 9 and type(protocol._plain_ints(np.uint8(9))) is int
    assert protocol._plain_ints(True) is True and protocol._plain_ints("x") == "x"


def test_an_archs_string_and_key_are_its_modules_format() -> None:
    arch = toy_space.sample(random.Random(0))
    assert str(arch) == toy_space.format_arch(arch) == arch.key
    nb = spaces.get_space("nb201").sample(random.Random(0))
    assert str(nb) == spaces.get_space("nb201").format_arch(nb) == nb.key
