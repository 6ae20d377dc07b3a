"""A proxy that gives every arch one value (session 51: synflow 0.0 on TransNAS macro autoencoder) had nan ρ, τ and
CI with no failure and no word; now a CONSTANT line says why, on the console and in report.md."""

from __future__ import annotations

from pathlib import Path

from swapnas.proxies.registry import register
from swapnas.report import constant_lines
from swapnas.results import ProxyResult
from tests.test_validation import FAST, run_cli


def _result(proxy: str, n: int) -> ProxyResult:
    nan = float("nan")
    return ProxyResult(proxy, f"{proxy}@1", "nb301", "cifar10", n, 0, nan, nan, (nan, nan), nan, nan, 0.1, True)


def test_only_a_proxy_with_one_value_over_two_or_more_archs_gets_the_line() -> None:
    scores = {"flat": [2.5, 2.5, None, 2.5], "one": [7.0], "varied": [1.0, 2.0, 1.0], "nan": [float("nan"), 3.0, 3.0]}
    results = [_result("flat", 3), _result("one", 1), _result("varied", 3), _result("nan", 2)]
    assert constant_lines(results, scores) == [
        "CONSTANT flat: all 3 scored archs have the value 2.5, so it cannot rank them (ρ and τ undefined)",
        "CONSTANT nan: all 2 scored archs have the value 3, so it cannot rank them (ρ and τ undefined)"]


def test_correlate_says_so_on_the_console_and_in_the_report(small_bundle: Path, tmp_path: Path, capsys,
                                                            scratch_registry) -> None:
    @register("flat_test", version="1", keeps_model=True, structural=True)
    def flat_test(model, batch) -> float:
        return 4.0

    code, out, _ = run_cli(["correlate", "--space", "nb301", "--proxies", "flat_test,params", "--archs", "5", *FAST,
                            "--workers", "1", "--data-dir", str(small_bundle), "--out", str(tmp_path / "o")], capsys)
    line = "CONSTANT flat_test: all 5 scored archs have the value 4, so it cannot rank them (ρ and τ undefined)"
    assert code == 0 and line in out and "CONSTANT params" not in out
    assert f"- {line}" in (tmp_path / "o" / "report.md").read_text()
