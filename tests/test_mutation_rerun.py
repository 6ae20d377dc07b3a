"""scripts/mutation_rerun.py: mutmut's timeouts re-run without its limit, each classed by pytest's exit status.

A throw-away mutants folder holds one test that fails only under the mutant ``m.x_f__mutmut_1``, one that sleeps
under ``m.x_f__mutmut_3``, and mutmut's stats file naming the test as the one that entered ``m.x_f``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.script_tools import load_script

rerun_script = load_script("mutation_rerun")

TEST = '''import os, time

def test_f():
    mutant = os.environ["MUTANT_UNDER_TEST"]
    if mutant.endswith("__mutmut_3"):
        time.sleep(60)
    assert mutant != "m.x_f__mutmut_1"
'''


@pytest.fixture
def mutants(tmp_path: Path) -> Path:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_m.py").write_text(TEST)
    stats = {"tests_by_mangled_function_name": {"m.x_f": ["tests/test_m.py::test_f"]}}
    (tmp_path / "mutmut-stats.json").write_text(json.dumps(stats))
    return tmp_path


def test_covering_tests_strip_the_mutant_number() -> None:
    stats = {"tests_by_mangled_function_name": {"pkg.mod.xǁCǁadd": ["b::t", "a::t"], "pkg.mod.x_f": ["c::t"]}}
    assert rerun_script.covering_tests(stats, "pkg.mod.xǁCǁadd__mutmut_12") == ["a::t", "b::t"]
    with pytest.raises(SystemExit, match="no test entered pkg.mod.x_g"):
        rerun_script.covering_tests(stats, "pkg.mod.x_g__mutmut_1")


def test_each_mutant_is_classed_by_its_tests(mutants: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rerun_script.main(["m.x_f__mutmut_1", "m.x_f__mutmut_2", "m.x_f__mutmut_3", "--limit", "12", "--jobs", "3",
                       "--mutants-dir", str(mutants)])
    lines = capsys.readouterr().out.splitlines()
    assert sorted(lines[:3]) == ["killed: m.x_f__mutmut_1", "survived: m.x_f__mutmut_2", "timeout: m.x_f__mutmut_3"]
    assert lines[3:] == ["      1 killed (re-run)", "      1 survived (re-run)", "      1 timeout (re-run)"]
    assert not list(mutants.glob(".rerun_*"))  # no test list left behind
