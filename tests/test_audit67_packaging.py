"""Session 67 audit of packaging (each test but the last failed on the code as found; the last is a guard): what
`pip install swapnas` (a wheel, or a wheel built from the sdist) gives a user. Each test builds from a copy of the
checkout in tmp_path (no network, no build isolation: the setuptools that is installed), so the checkout itself gets
no build/ or *.egg-info. About 5 s in all."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

import swapnas
from swapnas import results

ROOT = Path(swapnas.__file__).resolve().parents[2]  # the checkout swapnas runs from (editable / PYTHONPATH=src)
if not (ROOT / "pyproject.toml").is_file():
    pytest.skip("swapnas does not run from a checkout here", allow_module_level=True)
pytest.importorskip("setuptools", minversion="77")  # pyproject.toml's build requirement

_JUNK = shutil.ignore_patterns(".git", "__pycache__", "build", "dist", "*.egg-info", ".pytest_cache", "runs")


def _copy(tmp: Path) -> Path:
    """The checkout's work tree (without .git and build outputs) under ``tmp``."""
    tree = tmp / "swapnas-src"
    shutil.copytree(ROOT, tree, ignore=_JUNK)
    return tree


def _backend(tree: Path, call: str, out: Path, errors_for_deprecations: bool = False) -> str:
    """``setuptools.build_meta.<call>(out)`` run in ``tree`` in a fresh interpreter; returns what it returned."""
    strict = ("import warnings; from setuptools.warnings import SetuptoolsDeprecationWarning; "
              "warnings.simplefilter('error', SetuptoolsDeprecationWarning); ") if errors_for_deprecations else ""
    code = f"{strict}from setuptools import build_meta as b; print(b.{call}({str(out)!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def _metadata(tree: Path, tmp: Path) -> email.message.Message:
    out = tmp / "meta"
    out.mkdir()
    info = _backend(tree, "prepare_metadata_for_build_wheel", out)
    return email.message_from_string((out / info / "METADATA").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The member names of the sdist built from a copy of the checkout."""
    tmp = tmp_path_factory.mktemp("sdist")
    tree = _copy(tmp)
    out = tmp / "dist"
    out.mkdir()
    name = _backend(tree, "build_sdist", out)
    with tarfile.open(out / name) as tar:
        top = name.removesuffix(".tar.gz")
        return [m.removeprefix(top + "/") for m in tar.getnames()]


def test_the_wheels_version_is_read_from_swapnas_version_py(tmp_path: Path) -> None:
    """The version lives in two places (pyproject.toml's static `version = "0.1.0"` and src/swapnas/_version.py):
    a bump of _version.py alone gives a wheel whose metadata (pip list, importlib.metadata) says 0.1.0 while
    `swapnas --version` and every output's provenance say the new one. Fix: `dynamic = ["version"]` with
    `[tool.setuptools.dynamic] version = {attr = "swapnas._version.__version__"}`."""
    tree = _copy(tmp_path)
    version_py = tree / "src" / "swapnas" / "_version.py"
    version_py.write_text(version_py.read_text(encoding="utf-8").replace(
        f'__version__ = "{swapnas.__version__}"', '__version__ = "9.8.7"'), encoding="utf-8")
    assert "9.8.7" in version_py.read_text(encoding="utf-8")
    assert _metadata(tree, tmp_path)["Version"] == "9.8.7"


def test_the_wheel_carries_the_apache_licence_text(tmp_path: Path) -> None:
    """Apache-2.0 §4(a): a redistribution must give its recipients a copy of the licence. The repository has no
    LICENSE file, so neither the wheel nor the sdist has one (METADATA: no License-File)."""
    licences = sorted(p.name for p in ROOT.iterdir() if p.name.upper().startswith(("LICENSE", "LICENCE", "COPYING")))
    assert licences, "no LICENSE file in the repository"
    assert "Apache License" in (ROOT / licences[0]).read_text(encoding="utf-8")
    assert _metadata(_copy(tmp_path), tmp_path).get_all("License-File")


def test_pyproject_builds_without_setuptools_deprecations(tmp_path: Path) -> None:
    """`license = { text = "Apache-2.0" }` is deprecated (setuptools >= 77): every build prints "By 2027-Feb-18,
    you need to update your project ... or your builds will no longer be supported", and `requires =
    ["setuptools>=64"]` lets pip's isolated build take the newest setuptools. Fix: `license = "Apache-2.0"`,
    `license-files = ["LICENSE"]`, `requires = ["setuptools>=77"]`."""
    out = tmp_path / "meta"
    out.mkdir()
    _backend(_copy(tmp_path), "prepare_metadata_for_build_wheel", out, errors_for_deprecations=True)


def test_the_sdist_ships_the_licence_and_citation(sdist: list[str]) -> None:
    assert any(m.upper().startswith(("LICENSE", "LICENCE")) for m in sdist), "no licence in the sdist"
    assert "CITATION.cff" in sdist


def test_the_sdist_ships_the_tests_whole_or_not_at_all(sdist: list[str]) -> None:
    """setuptools' default sdist takes tests/test*.py (about 280 files) but not tests/conftest.py, tests/__init__.py,
    the helper modules (message_tools.py, toy_space.py, ...) nor tests/data/: `pytest tests` in the unpacked sdist
    gives 150 collection errors. Either leave tests/ out (MANIFEST.in: `prune tests`) or ship it whole."""
    tests = [m for m in sdist if m.startswith("tests/") and m.endswith(".py")]
    if tests:
        assert {"tests/conftest.py", "tests/__init__.py", "tests/toy_space.py"} <= set(sdist)
        assert any(m.startswith("tests/data/bundle/") for m in sdist)


def test_python_m_swapnas_cli_records_a_command_that_reruns(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m swapnas.cli` (its module docstring: "the swapnas command"; tests/test_search.py runs it) records
    argv[0] as it is: `/…/site-packages/swapnas/cli/__main__.py correlate …` in results.json, and that file run
    directly fails ("attempted relative import with no known parent package")."""
    main = Path(swapnas.__file__).parent / "cli" / "__main__.py"
    monkeypatch.setattr(sys, "argv", [str(main), "correlate", "--archs", "5"])
    line = results.command_line()
    assert line.split()[0] in ("swapnas", "python"), line
    assert line.endswith("correlate --archs 5")


def test_the_built_wheel_holds_every_module_and_py_typed_and_nothing_else(tmp_path: Path) -> None:
    """(Passes today: a guard.) Every module under src/swapnas and py.typed, no tests/, scripts/ or docs/."""
    import zipfile

    tree = _copy(tmp_path)
    out = tmp_path / "wheel"
    out.mkdir()
    name = _backend(tree, "build_wheel", out)
    names = set(zipfile.ZipFile(out / name).namelist())
    src = tree / "src"
    wanted = {p.relative_to(src).as_posix() for p in (src / "swapnas").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".typed")}
    assert wanted <= names
    extra = {n for n in names if not n.startswith("swapnas/") and ".dist-info/" not in n}
    assert not extra, extra
    entry = zipfile.ZipFile(out / name).read(f"swapnas-{swapnas.__version__}.dist-info/entry_points.txt").decode()
    assert textwrap.dedent(entry).strip() == "[console_scripts]\nswapnas = swapnas.cli:command"
