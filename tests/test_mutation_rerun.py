"""scripts/mutation_rerun.py: mutmut's timeouts re-run without its limit, each classed by pytest's exit status.

A throw-away mutants folder holds one test that fails only under the mutant ``m.x_f__mutmut_1``, one that sleeps
under ``m.x_f__mutmut_3`` (past its limit: 5 times the unmutated run's second, but at least 12 s), and mutmut's
stats file naming the test as the one that entered ``m.x_f``.
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


def test_covering_tests_of_a_mutants_function() -> None:
    stats = {"tests_by_mangled_function_name": {"pkg.mod.xǁCǁadd": ["b::t", "a::t"], "pkg.mod.x_f": ["c::t"]}}
    assert rerun_script.function_of("pkg.mod.xǁCǁadd__mutmut_12") == "pkg.mod.xǁCǁadd"
    assert rerun_script.covering_tests(stats, "pkg.mod.xǁCǁadd") == ["a::t", "b::t"]
    with pytest.raises(SystemExit, match="no test entered pkg.mod.x_g"):
        rerun_script.covering_tests(stats, "pkg.mod.x_g")
    assert rerun_script.covering_tests(stats, "pkg.mod.xǁCǁadd", only="^b") == ["b::t"]
    assert rerun_script.covering_tests(stats, "pkg.mod.x_f", only="store") == []


def test_each_mutant_is_classed_by_its_tests(mutants: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rerun_script.main(["m.x_f__mutmut_1", "m.x_f__mutmut_2", "m.x_f__mutmut_3", "--min-limit", "12", "--jobs", "3",
                       "--mutants-dir", str(mutants)])
    lines = capsys.readouterr().out.splitlines()
    assert sorted(lines[:3]) == ["killed: m.x_f__mutmut_1", "survived: m.x_f__mutmut_2", "timeout: m.x_f__mutmut_3"]
    assert lines[3:] == ["      1 killed (re-run)", "      1 survived (re-run)", "      1 timeout (re-run)"]
    assert not list(mutants.glob(".rerun_*"))  # no test list left behind


def test_tests_that_fail_on_the_unmutated_code_give_no_verdict(mutants: Path) -> None:
    (mutants / "tests" / "test_m.py").write_text("def test_f():\n    assert False\n")
    with pytest.raises(SystemExit, match=r"the tests of m\.x_f do not pass on the unmutated code \(killed\)"):
        rerun_script.main(["m.x_f__mutmut_2", "--jobs", "1", "--mutants-dir", str(mutants)])


def test_with_only_a_function_no_chosen_test_entered_is_named_and_its_mutants_not_run(mutants: Path,
                                                                                       capsys) -> None:
    stats = {"tests_by_mangled_function_name": {"m.x_f": ["tests/test_m.py::test_f"],
                                                "m.x_g": ["tests/test_other.py::test_g"]}}
    (mutants / "mutmut-stats.json").write_text(json.dumps(stats))
    # was: the whole re-run stopped at m.x_g, whose only test does not match
    rerun_script.main(["m.x_g__mutmut_1", "m.x_f__mutmut_1", "--only", "test_m", "--jobs", "1",
                       "--mutants-dir", str(mutants)])
    assert capsys.readouterr().out.splitlines() == [
        "not run: no test that entered m.x_g matches --only 'test_m'", "killed: m.x_f__mutmut_1",
        "      1 killed (re-run)", "      1 not run (re-run)"]
