"""Set-level proxies over archs whose parts failed: left out, or (``fill_failed``) given the part's worst value.

VKDNW_agg follows the authors' code: a failed Jacov (constant Jacobian rows) is filled with the lowest Jacov
over the set before ranking (``fillna(min)``); any other failed part leaves the arch out. The expected values
are worked out by hand from average ranks (ties share) and the dense (ℵ, VKDNW) rank.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from swapnas.correlation import set_level_records
from swapnas.proxies import get_proxy
from swapnas.proxies.registry import register_set
from swapnas.store import Record

PARTS = {
    "vkdnw_layers": [66.0, 21.0, 66.0, 111.0],
    "vkdnw": [1.0, 2.0, 1.5, 0.5],  # with ℵ: dense single ranks 2, 1, 3, 4
    "flops": [10.0, 30.0, 20.0, 20.0],  # ranks 1, 4, 2.5, 2.5
    "jacob_cov": [-5.0, -1.0, -3.0, -2.0],
    "az_nas_expressivity": [0.1, 0.2, 0.3, 0.4],  # ranks 1, 2, 3, 4
    "az_nas_trainability": [4.0, 3.0, 2.0, 1.0],  # ranks 4, 3, 2, 1
}


def _records(failed: dict[str, int]) -> dict[str, list[Record]]:
    """Records of PARTS, with part → the index of the arch on which it failed."""
    out = {}
    for name, values in PARTS.items():
        out[name] = [Record("failed", None, None, [], 1.0, None, "boom") if failed.get(name) == i
                     else Record("ok", v, 0.0, [v], 1.0, None, None) for i, v in enumerate(values)]
    return out


def test_failed_jacov_gets_the_lowest_jacov_of_the_set_and_the_arch_is_ranked(caplog) -> None:
    p = get_proxy("vkdnw_agg")
    assert p.fill_failed == ("jacob_cov",) and p.key == "vkdnw_agg@2"
    with caplog.at_level(logging.WARNING):
        recs = set_level_records(p, _records({"jacob_cov": 2}))
    assert [r.status for r in recs] == ["ok"] * 4
    # Jacov filled: [-5, -1, -5, -2] -> ranks 1.5, 4, 1.5, 3; products of the five ranks per arch
    expected = np.log(np.array([2 * 1 * 1.5 * 1 * 4, 1 * 4 * 4 * 2 * 3, 3 * 2.5 * 1.5 * 3 * 2,
                                4 * 2.5 * 3 * 4 * 1]) / 4**5)
    np.testing.assert_allclose([r.value for r in recs], expected, rtol=1e-12)
    assert "jacob_cov failed on 1 of 4 archs" in caplog.text


def test_another_failed_part_leaves_the_arch_out_and_names_the_part() -> None:
    recs = set_level_records(get_proxy("vkdnw_agg"), _records({"vkdnw": 2}))
    assert [r.status for r in recs] == ["ok", "ok", "failed", "ok"]
    assert recs[2].error == "part failed: vkdnw: boom"
    # ranked among the other three: single 2, 1, 3; FLOPs 1, 3, 2; Jacov 1, 3, 2; expressivity 1, 2, 3;
    # trainability 3, 2, 1
    expected = np.log(np.array([2 * 1 * 1 * 1 * 3, 1 * 3 * 3 * 2 * 2, 3 * 2 * 2 * 3 * 1]) / 3**5)
    np.testing.assert_allclose([recs[i].value for i in (0, 1, 3)], expected, rtol=1e-12)


def test_a_part_failed_everywhere_leaves_every_arch_out() -> None:
    recs = _records({})
    recs["jacob_cov"] = [Record("failed", None, None, [], 1.0, None, "constant") for _ in range(4)]
    out = set_level_records(get_proxy("vkdnw_agg"), recs)
    assert [r.status for r in out] == ["failed"] * 4 and out[0].error == "part failed: jacob_cov: constant"


def test_fill_failed_must_name_a_part(scratch_registry: None) -> None:
    with pytest.raises(ValueError, match=r"fill_failed \['params'\] are not among its parts"):
        register_set("fill_test_bad", ("flops", "jacob_cov"), lambda parts: parts[0], description="x",
                     fill_failed=("params",))


def test_a_set_level_proxy_needs_a_part(scratch_registry: None) -> None:
    with pytest.raises(ValueError, match=r"fill_test_empty: a set-level proxy combines at least one part"):
        register_set("fill_test_empty", (), lambda parts: parts[0], description="x")
