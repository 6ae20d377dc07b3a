"""The package type-checks: mypy over src/swapnas with the settings in pyproject.toml ([tool.mypy])."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy comes with the test extra: pip install -e '.[test]'")
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_package_type_checks(tmp_path: Path) -> None:
    out, err, status = mypy_api.run(["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path),
                                     str(ROOT / "src" / "swapnas")])
    assert status == 0, out + err
    assert "Success: no issues found" in out
