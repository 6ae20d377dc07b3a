"""A refused search leaves no empty store in OUT (session 51): the store a search makes in OUT is removed again when
the search stops before storing a score; a store with scores, a ``--store`` and a store OUT already had are kept."""

from __future__ import annotations

import pytest

from swapnas.cli import build_parser, main
from swapnas.cli.commands import store_for
from swapnas.cli.commands import store_in as _store_in
from swapnas.search import driver
from swapnas.store import Record, ScoreKey, ScoreStore, StoreError

KEY = ScoreKey("nb201", "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|", "params", "fp", 0, 16, 1, "net")


def _args(out, *extra: str):
    return build_parser().parse_args(["search", "--space", "nb201", "--out", str(out), *extra])


def test_a_search_refused_after_its_store_was_opened_leaves_no_store(small_bundle, tmp_path, monkeypatch,
                                                                     capsys) -> None:
    monkeypatch.setattr(driver, "_limits", lambda *a: {"feasible": lambda arch: False})  # no arch within the limit
    monkeypatch.setattr(driver, "random_sizes", lambda *a, **k: "SIZES")
    out = tmp_path / "o"
    assert main(["search", "--space", "nb201", "--fitness", "params", "--max-params", "1", "--cycles", "2",
                 "--population", "4", "--sample", "2", "--data-dir", str(small_bundle), "--out", str(out),
                 "--no-progress"]) == 2
    assert "random draws found 0 feasible distinct archs" in capsys.readouterr().err
    assert not out.exists()  # no store, and no OUT holding only its lock (session 61)


@pytest.mark.parametrize("stop", [KeyboardInterrupt, ValueError])
def test_an_empty_store_made_in_out_is_removed_when_the_search_stops(tmp_path, stop) -> None:
    with pytest.raises(stop), _store_in(_args(tmp_path)) as store:
        store.add_protocol("fp", {"net": "x"})  # a protocol is no score
        raise stop()
    assert not list(tmp_path.glob("scores.sqlite*"))


def test_a_store_with_a_score_is_kept_when_the_search_stops(tmp_path) -> None:
    with pytest.raises(KeyboardInterrupt), _store_in(_args(tmp_path)) as store:
        store.put(KEY, Record("ok", 1.0, 0.0, [1.0], 0.1, None, None))
        raise KeyboardInterrupt
    with ScoreStore(tmp_path / "scores.sqlite") as again:
        assert again.get(KEY) is not None and again.count() == 1


def test_a_given_store_and_a_store_out_had_are_kept_empty(tmp_path) -> None:
    given = tmp_path / "given.sqlite"
    with pytest.raises(ValueError), _store_in(_args(tmp_path, "--store", str(given))) as store:
        raise ValueError
    assert given.is_file()  # a --store may be shared with other runs: never removed
    with store_for(_args(tmp_path)):
        pass  # OUT's store made by an earlier run, still empty
    with pytest.raises(ValueError), _store_in(_args(tmp_path)) as store:
        assert store.count() == 0
        raise ValueError
    assert (tmp_path / "scores.sqlite").is_file()


def test_a_search_that_ends_keeps_its_empty_store(tmp_path) -> None:
    with _store_in(_args(tmp_path)):
        pass
    assert (tmp_path / "scores.sqlite").is_file()


def test_out_s_own_store_given_as_store_is_kept_and_so_is_one_that_cannot_be_read(tmp_path, monkeypatch) -> None:
    own = tmp_path / "scores.sqlite"  # named by --store: the user may share it with other runs
    with pytest.raises(ValueError), _store_in(_args(tmp_path, "--store", str(own))):
        raise ValueError
    assert own.is_file()
    own.unlink()

    def unreadable(self) -> int:
        raise StoreError("damaged")
    with pytest.raises(KeyboardInterrupt), _store_in(_args(tmp_path)) as store:
        monkeypatch.setattr(type(store), "count", unreadable)
        raise KeyboardInterrupt
    assert own.is_file()  # whether it holds scores is unknown: kept
