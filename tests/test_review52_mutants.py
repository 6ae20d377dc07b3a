"""Session 52's mutation run over its own changes (docs/reliability.md, "Session 52"): a helper's 113 one-line
wrong edits left 24 alive; these tests fail on each of the ten that were real gaps."""
from __future__ import annotations

import sqlite3
import types
from pathlib import Path

import pytest
import torch

from swapnas.store_tools import salvage_store

from .test_store_tools_mutants import _store_with_page_size


@pytest.mark.parametrize("page_size", [512, 1024, 65536])
def test_cut_store_keeps_declared_page_size(tmp_path, page_size):
    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, page_size, 3000)
    whole = src.read_bytes()
    pages = len(whole) // page_size
    src.write_bytes(whole[:(pages * 2 // 3) * page_size + page_size // 3])
    report = salvage_store(src, tmp_path / "new.sqlite")
    assert report.header_rebuilt == page_size and report.recovered > 0


def test_garbage_magic_with_a_page_size_field_is_not_trusted(tmp_path):
    src = tmp_path / "s.sqlite"
    rows = _store_with_page_size(src, 4096, 300)
    data = bytearray(src.read_bytes())
    data[:16] = b"\xa5" * 16          # the magic is gone ...
    data[16:18] = (8192).to_bytes(2, "big")  # ... the page-size field says 8192 (garbage)
    src.write_bytes(bytes(data))
    report = salvage_store(src, tmp_path / "new.sqlite")
    assert report.header_rebuilt == 4096 and report.recovered == len(rows)


def _zero_pk_index(src: Path, page_size: int) -> None:
    with sqlite3.connect(src) as db:
        (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_scores_1'").fetchone()
    data = bytearray(src.read_bytes())
    data[(root - 1) * page_size:root * page_size] = bytes(page_size)
    src.write_bytes(bytes(data))


def test_lost_without_a_readable_index(tmp_path):
    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, 4096, 200)
    _zero_pk_index(src, 4096)
    clean = salvage_store(src, tmp_path / "a.sqlite")
    assert clean.damaged_stretches == 0 and clean.recovered == 200 and clean.lost == 0
    data = bytearray(src.read_bytes())
    page = data.find(b"arch-0100-") // 4096
    data[page * 4096:(page + 1) * 4096] = b"\xff" * 4096   # a table leaf unreadable: a damaged stretch
    src.write_bytes(bytes(data))
    damaged = salvage_store(src, tmp_path / "b.sqlite")
    assert damaged.damaged_stretches >= 1 and damaged.lost is None  # unknown, not 0


def test_outputs_lock_writes_its_job(tmp_path):
    from swapnas.files import outputs_lock
    with outputs_lock(tmp_path, "grid"):
        assert (tmp_path / ".lock").read_text().split(" ", 1)[1] == "grid"


def test_search_run_gives_resume_line_the_proxy_key(monkeypatch, tmp_path):
    from swapnas.cli import search_command
    from .test_search_command_mutants import _args
    seen = []
    monkeypatch.setattr(search_command, "_search_checks", lambda args: "params@1")
    monkeypatch.setattr(search_command, "out_folder", lambda args: tmp_path)

    def stop(out, config, seed, proxy_key=None, space=None, given=None):
        seen.append((proxy_key, space))
        assert given == {"score_seed": 0, "constraints": [None, None], "batch_size": None, "repeats": None,
                         "size_prior": None}
        raise ValueError("stop")
    monkeypatch.setattr(search_command, "resume_line", stop)
    with pytest.raises(ValueError, match="stop"):
        search_command.search_run(_args())
    assert seen == [("params@1", _args().space)]  # (and its space: session 61)


def test_fitness_mismatch_names_saved_only_keys_and_non_dicts():
    from swapnas.search.driver import fitness_mismatch
    p = Path("OUT/state.json")
    assert "old 1 (now None)" in fitness_mismatch(p, {"proxy": "a", "old": 1}, {"proxy": "a"})
    assert "constraints: 'swap'; use another" in fitness_mismatch(p, "swap", {"proxy": "swap"})


def test_shapes_of_several_inputs():
    from swapnas.api_failures import shapes as _shapes
    batch = types.SimpleNamespace(inputs=(torch.zeros(4, 3), torch.zeros(4, 5)))
    assert _shapes(batch) == "shapes (4, 3), (4, 5)"


def test_configure_passes_zero_on(monkeypatch):
    from swapnas import session
    from .test_session_scoring_mutants import recording_prepare
    calls = recording_prepare(monkeypatch)
    monkeypatch.setattr(session, "check_one_protocol", lambda *a: None)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):  # passed on, and refused by the Protocol (s. 65)
        session.configure("nb201", "cifar10", "swap", batch_size=0, repeats=0)
    assert calls[-1]["batch_size"] == 0 and calls[-1]["repeats"] == 0


def test_csv_unknown_arch_is_not_found(tmp_path):
    from swapnas.benchmarks.csv_truth import CsvBenchmark
    from swapnas.errors import NotFound
    from .test_review25_data import NB201_A, NB201_B, _truth_csv
    bench = CsvBenchmark(_truth_csv(tmp_path, "arch,acc", f"{NB201_A},91.0"), "nb201", "cifar10")
    with pytest.raises(NotFound, match="is not an arch of --truth"):
        bench.accuracies([NB201_B], "cifar10")


def test_cut_mid_page_keeps_the_rows_of_the_part_page(tmp_path):
    src = tmp_path / "s.sqlite"
    _store_with_page_size(src, 4096, 300)
    whole = src.read_bytes()
    (tmp_path / "page.sqlite").write_bytes(whole[:12 * 4096])
    src.write_bytes(whole[:12 * 4096 + 4000])  # all of page 13 but its last 96 bytes
    mid = salvage_store(src, tmp_path / "a.sqlite")
    clean = salvage_store(tmp_path / "page.sqlite", tmp_path / "b.sqlite")
    assert mid.recovered > clean.recovered > 0


def test_saturation_of_zero_is_silent():
    import warnings
    import numpy as np
    from swapnas.correlation import _saturated
    from swapnas.proxies import get_proxy
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from swapnas.store import Record
        records = {"swap": [Record("ok", v, 0.0, [v], 0.1, None, None) for v in (0.0, -1.0, np.nan, 16.0)]}
        assert _saturated(get_proxy("swap"), records, np.ones(4, bool), 4) == 1


def test_a_saved_search_of_another_fitness_and_seed_is_refused_for_its_fitness_as_the_search_would(tmp_path):
    """The search checks the fitness before the EA's settings (driver._resume, then load_state_dict): resume_line
    names what the search would name."""
    from swapnas.cli.search_command import resume_line

    from .test_review52_api import _saved

    config = _saved(tmp_path, "swap@1")
    with pytest.raises(ValueError, match=r"holds a search with another fitness or constraints: --fitness 'swap@1' "
                                         r"\(now 'params@1'\)"):
        resume_line(tmp_path, config, 3, "params@1")
    with pytest.raises(ValueError, match=r"^the saved search state was made with --seed 0 \(now 3\)"):
        resume_line(tmp_path, config, 3, "swap@1")


def test_the_earlier_run_s_plots_are_files_in_out_only(tmp_path):
    """A results.json naming a proxy with a path in it (edited, or not ours) never sends a removal outside OUT."""
    import json

    from swapnas.correlation import _plots_of_earlier_run

    out = tmp_path / "run"
    out.mkdir()
    (out / "results.json").write_text(json.dumps({"results": [{"proxy": "swap"}, {"proxy": "x/../../victim"}]}))
    assert _plots_of_earlier_run(out) == {out / "scatter_swap.png"}
    (out / "results.json").write_text("{not json")
    assert _plots_of_earlier_run(out) == set()


def test_a_grid_names_the_parts_it_hides(small_bundle, tmp_path, capsys):
    """The conformance/grid user's run: a part named in --proxies (te_nas_ntk) was scored and given no row."""
    import json

    from swapnas.cli import main

    out = tmp_path / "g"
    assert main(["grid", "--benchmarks", "darts_swap", "--proxies", "te_nas_ntk,te_nas,params", "--archs", "4",
                 "--workers", "1", "--data-dir", str(small_bundle), "--out", str(out), "--no-progress"]) in (0, 3)
    (col,) = json.loads((out / "grid.json").read_text())["columns"]
    assert col["hidden"] == ["te_nas_lr"]
    rows = [line.split("|")[1].strip() for line in (out / "grid.md").read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| metric")]
    assert "te_nas_ntk" in rows and "te_nas_lr" not in rows


def test_proxies_name_adds_what_the_one_line_table_cannot_say(capsys):
    """The conformance/grid user's run: `swapnas proxies NAME` printed the list's one line, nothing more."""
    from swapnas.cli import main

    assert main(["proxies", "az_nas_expressivity"]) == 0
    tail = capsys.readouterr().out.split("\n\n", 1)[1].splitlines()
    assert tail[0].startswith("az_nas_expressivity: AZ-NAS expressivity: Σ over block maps of the entropy")
    assert tail[1:] == ["options (with defaults): blocks='auto'",
                        "needs of a model or its inputs: conv_blocks (swapnas.requirements)",
                        "code: swapnas.proxies.az_nas.az_nas_expressivity (help() on its module explains it)"]
    assert main(["proxies", "te_nas"]) == 0 and "computed from: te_nas_ntk, te_nas_lr" in capsys.readouterr().out
    assert main(["proxies", "te_nas*"]) == 0 and "computed from" not in capsys.readouterr().out  # a list: the table
