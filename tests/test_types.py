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


USER_SCRIPT = """\
import torch
import swapnas

model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
x = torch.randn(4, 3, 8, 8)
scores = swapnas.score(model, x)
wrong: str = scores
psi: int = swapnas.swap_score(model, x)
"""


@pytest.mark.slow
def test_a_users_mypy_reads_the_packages_annotations(tmp_path: Path) -> None:
    """PEP 561: the installed package ships ``py.typed`` (until session 54 it did not, and a user's mypy stopped at
    ``import swapnas`` with "missing library stubs or py.typed marker"), so a user's script is checked against
    swapnas's annotations: here its one wrong line is found, typed from ``swapnas.score``'s return annotation."""
    (tmp_path / "user.py").write_text(USER_SCRIPT)
    # not the repository's config (it ignores missing imports); torch's own annotations skipped (they take 30 s)
    (tmp_path / "mypy.ini").write_text("[mypy]\n[mypy-torch.*]\nfollow_imports = skip\n")
    out, err, status = mypy_api.run(["--config-file", str(tmp_path / "mypy.ini"), "--cache-dir", str(tmp_path / "c"),
                                     "--no-error-summary", str(tmp_path / "user.py")])
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1, out + err
    assert errors[0].startswith(f"{tmp_path / 'user.py'}:7: error: Incompatible types in assignment "
                                '(expression has type "dict[str, float]", variable has type "str")'), out
