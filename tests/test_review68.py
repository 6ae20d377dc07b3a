"""Session 68's second review (each test failed on the code as reviewed; the blank-cell one pins the session's own
refusal, which the code as found had not): a resumed search's restored fitness values, conformance and metrics without
a digest in what outputs record of other code, a blank cell past a --truth header."""
from __future__ import annotations

import json
import sqlite3
import warnings
from pathlib import Path

import pytest

from swapnas.cli import main
from tests.conftest import SMALL_BUNDLE

SEARCH = ["search", "--space", "nb201", "--dataset", "cifar10", "--population", "4", "--sample", "2", "--mutations",
          "2", "--net", "C=4", "--refine", "0", "--fitness", "swap", "--no-progress", "--device", "cpu",
          "--data-dir", str(SMALL_BUNDLE)]


def _other_code_recorded(store: Path, name: str) -> None:
    """The store's record of ``name`` as another code's (what an edit of the metric between two runs leaves)."""
    with sqlite3.connect(store) as db:
        db.execute("UPDATE proxy_code SET digest = '0000000000000000' WHERE proxy = ?", (name,))
    db.close()


@pytest.mark.parametrize("cycles", ["0", "1"])  # the finished search read back; an extended one
def test_a_resumed_search_records_other_code_of_the_fitness_values_it_restored(tmp_path: Path, monkeypatch,
                                                                               cycles: str) -> None:
    """The run warns (ProxyCodeWarning: "those scores are reused as they are"), and the answer may be a fitness the
    other code made, yet result.json's reused_from_other_code is {} and report.md says nothing: only fitness values
    read from the store in this process count (``reused``), not those restored from state.json nor the second
    stage's."""
    from swapnas import code_changes

    store, out = tmp_path / "s.sqlite", tmp_path / "o"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([*SEARCH, "--cycles", "0", "--store", str(store), "--out", str(out)]) == 0
        _other_code_recorded(store, "swap@1")
        monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())  # a new process
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            assert main([*SEARCH, "--cycles", cycles, "--store", str(store), "--out", str(out)]) == 0
    # the extended search warns of the other code (the finished one read back scores nothing, so says nothing)
    assert any(issubclass(w.category, code_changes.ProxyCodeWarning) for w in seen) == (cycles == "1")
    result = json.loads((out / "result.json").read_text())
    assert result["restored"] == 4
    assert "swap@1" in result["reused_from_other_code"]


def test_other_code_claims_nothing_where_the_warnings_cannot_compare(tmp_path: Path) -> None:
    """A metric whose source cannot be read (registered by exec, `python -c`, a REPL: code_digest None) is never
    warned of (warn_changed_code compares nothing), yet other_code, and so results.json and report.md, say the
    store records other code for it, pointing to a warning the run never gave."""
    from tests.registry_tools import registry_snapshot

    with registry_snapshot():
        _no_source(tmp_path)


def _no_source(tmp_path: Path) -> None:
    from swapnas.code_changes import ProxyCodeWarning, other_code, warn_changed_code
    from swapnas.proxies import get_proxy
    from swapnas.proxies.code import code_digest
    from swapnas.proxies.registry import register
    from swapnas.store import ScoreStore

    ns: dict = {"register": register}
    exec("@register('review2_nosource')\ndef f(model, batch, **kw):\n    return 1.0\n", ns)  # noqa: S102
    p = get_proxy("review2_nosource")
    assert code_digest(p.fn) is None
    with ScoreStore(tmp_path / "s.sqlite") as s:
        s.code_changed("review2_nosource@1", "0123456789abcdef")  # recorded by a run of the metric from a file
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            warn_changed_code(s, [p])
        assert not [w for w in seen if issubclass(w.category, ProxyCodeWarning)]
        assert other_code(s, [p], "nb201", "1") == {}


@pytest.mark.bundle
def test_conformance_records_scores_reused_from_other_code(tmp_path: Path, monkeypatch) -> None:
    """conformance reuses stored scores (``reused`` in conformance.json) and warns of other code, but neither
    conformance.json nor conformance.md says so, where results.json, grid.json and the search's result.json now do:
    a comparison of *our* implementation with NASLib's is then reported under this code's commit."""
    from swapnas import code_changes
    from tests.conftest import _data_dir

    data = _data_dir()
    if data is None:
        pytest.skip("needs the real bundle (nb201's 15625-row csv)")
    out = tmp_path / "cf"
    args = ["conformance", "--space", "nb201", "--proxies", "synflow", "--archs", "3", "--data-dir", str(data),
            "--out", str(out), "--no-progress", "-q", "--device", "cpu"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(args) == 0
        _other_code_recorded(out / "scores.sqlite", "synflow@1")
        monkeypatch.setattr(code_changes, "_CODE_CHECKED", set())
        assert main(args) == 0
    doc = json.loads((out / "conformance.json").read_text())
    assert doc["reused"] == 3
    assert "synflow@1" in doc.get("reused_from_other_code", {})


A1 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|"
A2 = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|"
A3 = "|skip_connect~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|"


def test_a_blank_cell_past_the_header_is_no_decimal_comma(tmp_path: Path) -> None:
    """`arch,acc` rows ending `87.5,` are read (an empty cell past the header), but `87.5, ` (a space after the
    trailing comma, which a hand-written file has and every other cell has stripped: `_stripped`) is refused as
    "more cells than its header line ... a decimal comma": the check looks at the unstripped extra cells."""
    from swapnas.benchmarks.csv_truth import CsvBenchmark

    path = tmp_path / "truth.csv"
    path.write_text("arch,acc\n" + "".join(f"{a},{80 + i}.5, \n" for i, a in enumerate((A1, A2, A3))))
    bench = CsvBenchmark(path, "nb201", "cifar10")
    assert bench.accuracy_column == "acc"
