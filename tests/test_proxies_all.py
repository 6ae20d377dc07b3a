"""``correlate --proxies all`` (session 51: refused on every space, the recommended fitness having its own protocol;
with ``--init`` given, refused again on a space whose networks some proxy cannot take)."""

from __future__ import annotations

from pathlib import Path

import pytest

from swapnas.benchmarks import get_benchmark
from swapnas.cli import build_parser
from swapnas.cli.commands import _configured
from swapnas.proxies import list_proxies
from swapnas.session import pins_for_all, resolve_for

OPEN = {"init": None, "repeats": None, "batch_size": None, "net": {}}


def test_all_is_pinned_to_the_swap_protocol_where_the_fitness_has_its_own() -> None:
    assert pins_for_all("nb101", resolve_for("nb101", "all"), OPEN) == (
        {**OPEN, "init": "gaussian"}, ["swap_darts"])  # NB101's fitness: default init; the rest: Gaussian
    pinned, moved = pins_for_all("nb201", resolve_for("nb201", "all"), OPEN)
    assert pinned == {**OPEN, "init": "gaussian", "repeats": 4} and moved == ["swap_nb201", "swap_prog"]
    given = {**OPEN, "init": "default", "repeats": 1}  # what the caller gives is kept: nothing is left to pin
    assert pins_for_all("nb201", resolve_for("nb201", "all"), given) == (given, [])
    assert pins_for_all("flexibert", resolve_for("flexibert", "all"), OPEN) == (OPEN, [])  # one protocol for all


def test_all_leaves_out_what_the_space_cannot_take_and_says_so(small_bundle: Path, capsys, tmp_path) -> None:
    args = build_parser().parse_args(["correlate", "--space", "flexibert", "--dataset", "glue", "--proxies", "all",
                                      "--data-dir", str(small_bundle), "--out", str(tmp_path), "--batch-size", "4"])
    bench = get_benchmark("flexibert", str(small_bundle))
    protocol, batch, proxies = _configured(args, bench, "glue")
    names = {p.name for p in proxies}
    err = capsys.readouterr().err
    for gone in ("swap", "synflow", "meco", "zen", "az_nas_expressivity"):
        assert gone not in names and f"{gone}," in err.replace(" cannot", ",").replace(":", ",")
    assert "az_nas" not in names and "te_nas" not in names  # set-level: some of their parts are left out
    assert err.endswith("(and az_nas, te_nas, vkdnw_agg, vkdnw_single, which rank with some of them)\n")
    assert {"swap_ext", "params", "l2_norm", "vkdnw_layers", "swap_ext_layers", "meco_all"} <= names
    assert err.startswith("swapnas: note: --proxies all leaves out what no network of flexibert can take: ")
    assert len(names) < len(list_proxies()) and protocol.init == "default"
    quiet = build_parser().parse_args(["correlate", "--space", "flexibert", "--dataset", "glue", "--proxies", "all",
                                       "--data-dir", str(small_bundle), "--out", str(tmp_path), "--batch-size", "4",
                                       "-q"])
    assert {p.name for p in _configured(quiet, bench, "glue")[2]} == names and capsys.readouterr().err == ""


def test_all_on_nb301_notes_the_fitness_moved_to_the_swap_protocol(small_bundle: Path, capsys, tmp_path) -> None:
    args = build_parser().parse_args(["correlate", "--space", "nb301", "--proxies", "all", "--data-dir",
                                      str(small_bundle), "--out", str(tmp_path), "--batch-size", "16"])
    # (16: some class drawn twice; at 4 distinct labels epe_nas is left out since session 65, its value one for all)
    protocol, _, proxies = _configured(args, get_benchmark("nb301", str(small_bundle)), "cifar10")
    assert protocol.init == "gaussian" and len(proxies) == len(list_proxies())
    assert capsys.readouterr().err == (
        "swapnas: note: --proxies all scores every metric under the darts SWAP protocol, swap_darts, swap_expr, "
        "swap_fisher too (their own: --proxies swap_darts,swap_expr,swap_fisher)\n")


def test_named_proxies_are_still_refused_whole(small_bundle: Path, tmp_path) -> None:
    args = build_parser().parse_args(["correlate", "--space", "flexibert", "--dataset", "glue", "--proxies",
                                      "swap_ext,synflow", "--data-dir", str(small_bundle), "--out", str(tmp_path),
                                      "--batch-size", "4"])
    with pytest.raises(ValueError, match="^synflow cannot score Encoder: "):
        _configured(args, get_benchmark("flexibert", str(small_bundle)), "glue")


def test_a_network_the_protocols_differ_in_is_the_swap_protocol_s_under_the_caller_s_overrides(monkeypatch) -> None:
    from swapnas import session

    swap = {"init": "gaussian", "repeats": 1, "batch_size": 16, "net": {"C": 16, "N": 1}}
    fit = {**swap, "net": {"C": 8, "N": 5}}
    monkeypatch.setattr(session, "_swap_protocol", lambda space: swap)
    monkeypatch.setattr(session, "protocol_groups", lambda space, proxies: [(swap, ["a"]), (fit, ["b", "c"])])
    assert session.pins_for_all("x", [], {**OPEN, "net": {"N": 2}}) == ({**OPEN, "net": {"C": 16, "N": 2}}, ["b", "c"])


def test_all_on_a_transnas_task_names_the_task_in_its_note(small_bundle: Path, capsys, tmp_path) -> None:
    args = build_parser().parse_args(["correlate", "--space", "transnas_micro", "--dataset", "autoencoder",
                                      "--proxies", "all", "--init", "gaussian", "--data-dir", str(small_bundle),
                                      "--out", str(tmp_path), "--batch-size", "4"])
    _, _, proxies = _configured(args, get_benchmark("transnas_micro", str(small_bundle)), "autoencoder")
    err = capsys.readouterr().err
    assert "swapnas: note: --proxies all leaves out what no network of transnas_micro (autoencoder) can take: " in err
    assert {"zen", "vkdnw", "vkdnw_agg", "vkdnw_single"}.isdisjoint(p.name for p in proxies)
