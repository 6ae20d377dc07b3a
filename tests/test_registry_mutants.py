"""Tests written against the survivors of session 35's mutation run of ``swapnas.proxies.registry``
(docs/reliability.md, "Session 35"). The package registers its proxies when it is imported, before mutmut forks a
process per mutant, so no test had registered a proxy and read back every field of what it got: here each
registration is made inside the test (``scratch_registry``) and its ``Proxy`` compared field by field with one
written out in the test; then the alias and set-level refusals, ``get_proxy``'s message and ``resolve``'s order.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from swapnas.proxies.registry import (
    ALIASES,
    Proxy,
    _no_per_arch_value,
    get_proxy,
    list_proxies,
    register,
    register_alias,
    register_set,
    resolve,
)

from .message_tools import exact

pytestmark = pytest.mark.usefixtures("scratch_registry")


def documented(model, batch) -> float:
    """First paragraph,
    on two lines.

    Second paragraph, not kept."""
    return 1.0


def undocumented(model, batch) -> float:
    return 2.0


def combine(parts: list[np.ndarray]) -> np.ndarray:
    return np.sum(parts, axis=0)


def test_register_with_its_defaults_gives_every_field_its_default() -> None:
    register("_plain")(documented)
    assert get_proxy("_plain") == Proxy(name="_plain", fn=documented, higher_is_better=True, needs_grad=False,
                                        needs_labels=False, input_kind="data", version="1",
                                        description="First paragraph, on two lines.", base=None, keeps_model=False,
                                        structural=False, options={}, requires=(), multi_input=False)
    register("_bare")(undocumented)
    assert get_proxy("_bare").description == ""
    with pytest.raises(ValueError, match=exact("proxy '_plain' is registered twice")):
        register("_plain")(undocumented)


def test_register_keeps_every_setting_given() -> None:
    register("_set", higher_is_better=False, needs_grad=True, needs_labels=True, input_kind="random", version="3",
             keeps_model=True, structural=True, requires=["relu"], multi_input=True, width=4, scale=0.5)(undocumented)
    assert get_proxy("_set") == Proxy(name="_set", fn=undocumented, higher_is_better=False, needs_grad=True,
                                      needs_labels=True, input_kind="random", version="3", description="", base=None,
                                      keeps_model=True, structural=True, options={"width": 4, "scale": 0.5},
                                      requires=("relu",), multi_input=True)


def test_a_derived_proxy_needs_what_its_registered_bases_need() -> None:
    register("_grad", needs_grad=True)(undocumented)
    register("_labels", needs_labels=True)(undocumented)
    register("_derived", base=("_grad", "_labels", "_not_yet"))(documented)  # a base registered later is skipped
    derived = get_proxy("_derived")
    assert (derived.needs_grad, derived.needs_labels, derived.base) == (True, True, ("_grad", "_labels", "_not_yet"))
    register("_one", base="_labels")(documented)
    assert (get_proxy("_one").needs_grad, get_proxy("_one").needs_labels) == (False, True)


def test_register_set_gives_every_field() -> None:
    register("_first", input_kind="random")(undocumented)
    register("_second", needs_grad=True, needs_labels=True)(undocumented)
    register_set("_both", ["_first", "_second"], combine, description="the sum", fill_failed=["_first", "_second"])
    assert get_proxy("_both") == Proxy(name="_both", fn=_no_per_arch_value, higher_is_better=True, needs_grad=True,
                                       needs_labels=True, input_kind="random", version="1", description="the sum",
                                       parts=("_first", "_second"), combine=combine,
                                       fill_failed=("_first", "_second"))  # fill_failed may name every part
    register_set("_low", ("_second", "_first"), combine, description="d", higher_is_better=False, version="2")
    low = get_proxy("_low")
    assert (low.higher_is_better, low.version, low.input_kind, low.fill_failed) == (False, "2", "data", ())
    with pytest.raises(ValueError, match=exact("proxy '_both' is registered twice")):
        register_set("_both", ("_first",), combine, description="again")
    with pytest.raises(TypeError, match=exact("a set-level proxy has no per-arch value: score its parts and call its "
                                              "combine()")):
        low.fn(None, None)


def test_an_alias_may_not_take_a_proxys_name() -> None:
    register("_target")(undocumented)
    with pytest.raises(ValueError, match=exact("alias '_target' is a registered proxy's name")):
        register_alias("_target", "swap")


def unknown(name: str, tail: str = "") -> str:
    aliases = ", ".join(f"{a} (the recommended fitness of each space; without a space: {n})"
                        for a, n in sorted(ALIASES.items()))
    return f"unknown proxy {name!r}{tail}; available: {', '.join(list_proxies())}; aliases: {aliases}"


def message(name: str) -> str:
    with pytest.raises(KeyError) as e:
        get_proxy(name)
    return e.value.args[0]


def test_get_proxy_names_what_is_available_and_what_is_close(monkeypatch) -> None:
    register_alias("_second_alias", "swap")  # two aliases: the list is joined with ", "
    assert message("nothing_like_it") == unknown("nothing_like_it")  # no hint: there is no proxies/nothing_like_it.py
    assert message("_common") == unknown("_common")  # proxies/_common.py exists, and it is imported
    assert message("swapp") == unknown("swapp", "; did you mean 'swap' or 'swap_prog' or 'swap_expr'?")
    assert message("swap_re") == unknown("swap_re", "; did you mean 'swap_reg' or 'swap_ext' or 'swap_prog'?")  # 3
    assert message("vkdnw_") == unknown("vkdnw_", "; did you mean 'vkdnw' or 'vkdnw_agg'?")  # similarity ≥ 0.7 only
    monkeypatch.delitem(sys.modules, "swapnas.proxies._common")
    assert message("_common") == unknown("_common", " (proxies/_common.py exists: add `_common` to the `from . import "
                                                    "(…)` list in proxies/__init__.py)")


def test_without_aliases_the_message_ends_with_the_proxies() -> None:
    ALIASES.clear()  # scratch_registry puts them back
    assert message("nothing_like_it") == f"unknown proxy 'nothing_like_it'; available: {', '.join(list_proxies())}"


def test_resolve_all_and_the_parts_a_set_level_proxy_brings() -> None:
    assert resolve("all") == [get_proxy(n) for n in list_proxies()]
    parts = ["az_nas_expressivity", "az_nas_progressivity", "az_nas_trainability", "az_nas_complexity"]
    assert [p.name for p in resolve("az_nas")] == ["az_nas", *parts]
    assert [p.name for p in resolve("az_nas_trainability, az_nas,swap")] == [
        "az_nas_trainability", "az_nas", "swap", "az_nas_expressivity", "az_nas_progressivity", "az_nas_complexity"]
    both = [p.name for p in resolve("az_nas,vkdnw_agg")]  # parts the two share come once
    assert both == ["az_nas", "vkdnw_agg", *parts, "vkdnw_layers", "vkdnw", "flops", "jacob_cov"]


def test_configure_replaces_known_options_on_a_copy_and_names_unknown_ones_whole() -> None:
    p = Proxy("p", documented, options={"k": 2, "mu": 0.5})
    q = p.configure(k=3)
    assert (q.options, p.options, q.key, p.key) == ({"k": 3, "mu": 0.5}, {"k": 2, "mu": 0.5}, "p@1[k=3,mu=0.5]",
                                                      "p@1[k=2,mu=0.5]")
    with pytest.raises(ValueError, match=exact("proxy 'p' has no option(s) ['sigma', 'z']; its options are ['k', "
                                               "'mu']")):
        p.configure(z=1, sigma=2.0, k=4)
