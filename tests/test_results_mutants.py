"""swapnas.results: the cases session 42's mutation run of the module found untested (docs/reliability.md).

Each expected value is written out by hand: the whole console note of what the store gave, the JSON text, the
command line a shell would rerun.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import pytest

from swapnas.results import command_line, finite_or_none, reused_parts, reused_text, strict_json


@dataclass
class _Row:
    name: str
    rho: float
    parts: tuple[float, ...]


def test_a_dataclass_is_written_as_its_fields_with_null_for_non_finite() -> None:
    row = _Row("swap", float("nan"), (0.5, float("inf")))
    assert finite_or_none(row) == {"name": "swap", "rho": None, "parts": [0.5, None]}
    assert json.loads(strict_json([row])) == [{"name": "swap", "rho": None, "parts": [0.5, None]}]
    assert finite_or_none(_Row) is _Row  # the class itself is not an instance: left as it is


def test_strict_json_indents_by_one_space_unless_told() -> None:
    doc = {"a": [1, 2.5], "b": None}
    assert strict_json(doc) == '{\n "a": [\n  1,\n  2.5\n ],\n "b": null\n}'
    assert strict_json(doc, indent=None) == '{"a": [1, 2.5], "b": null}'


def test_reuse_notes_name_every_part_of_what_the_store_gave() -> None:
    assert reused_parts(0, 10) == [] and reused_text(0, 10) == ""
    assert reused_parts(3, 10) == ["stored scores of 3 of 10 archs reused"]  # partly defaults to none
    assert reused_text(3, 10) == " (stored scores of 3 of 10 archs reused)"
    assert reused_text(3, 10, 2) == (" (stored scores of 3 of 10 archs reused; some proxies' stored scores of 2 more "
                                     "archs reused, the others scored now)")
    assert reused_text(0, 10, 2) == " (some proxies' stored scores of 2 of 10 archs reused, the others scored now)"


@pytest.mark.parametrize("argv, expected", [
    ([], ""),
    (["/opt/x/__main__.py", "correlate"], "/opt/x/__main__.py correlate"),  # a __main__.py of another package
    (["/opt/swapnas/run.py", "a b"], "/opt/swapnas/run.py 'a b'"),  # another file in a folder named swapnas
    (["/site/swapnas/__main__.py", "grid"], "python -m swapnas grid"),
])
def test_command_line_names_python_m_swapnas_only_for_its_own_main(monkeypatch, argv, expected) -> None:
    monkeypatch.setattr(sys, "argv", argv)
    assert command_line() == expected


def test_provenance_time_is_utc_to_the_second_whatever_the_local_zone(monkeypatch) -> None:
    import calendar
    import time

    from swapnas.results import provenance

    monkeypatch.setenv("TZ", "EST+05")  # five hours behind UTC, no daylight saving
    time.tzset()
    try:
        before = time.time()
        stamp = provenance()["created_utc"]
        after = time.time()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert len(stamp) == 20 and stamp.endswith("Z") and stamp[10] == "T"
    utc = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    assert int(before) <= utc <= after


def test_version_of_a_package_not_installed_is_empty() -> None:
    from swapnas.results import _version

    assert _version("swapnas-no-such-package") == ""
    assert _version("numpy") and _version("numpy") == __import__("numpy").__version__
