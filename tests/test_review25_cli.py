"""Session-25 review of the command line's arguments: each test fails on the code before its fix
(docs/reliability.md)."""

from __future__ import annotations

import logging

import pytest

from swapnas.cli import build_parser, main


def test_conformance_refuses_a_bad_proxy_before_out_exists(data_dir, tmp_path, capsys) -> None:
    """Before: OUT/scores.sqlite was made, then the proxy refused."""
    out = tmp_path / "m"
    assert main(["conformance", "--proxies", "zzz", "--archs", "4", "--data-dir", str(data_dir), "--out", str(out)]) == 2
    assert "unknown metric 'zzz'" in capsys.readouterr().err and not out.exists()


def test_correlate_refuses_a_size_prior_without_swap_reg(data_dir, tmp_path, capsys) -> None:
    """Before: --mu/--sigma were ignored without a word when --proxies had no swap_reg (search refuses the mix)."""
    out = tmp_path / "m"
    assert main(["correlate", "--space", "nb201", "--proxies", "swap", "--mu", "5", "--sigma", "5", "--archs", "4",
                 "--data-dir", str(data_dir), "--out", str(out)]) == 2
    assert "--mu/--sigma set swap_reg's size prior, and --proxies swap has no swap_reg" in capsys.readouterr().err
    assert not out.exists()


def test_a_second_population_flag_sets_the_default_sample_afresh() -> None:
    """Before: --population 3 --population 50 left K at 3, lowered by the first."""
    parse = build_parser().parse_args
    assert parse(["search", "--population", "3", "--population", "50", "--out", "x"]).sample == 5
    assert parse(["search", "--population", "3", "--out", "x"]).sample == 3
    assert parse(["search", "--sample", "2", "--population", "50", "--out", "x"]).sample == 2  # given: kept


def test_repeated_net_flags_merge_and_a_key_twice_is_refused(capsys) -> None:
    """Before: --net C=4 --net N=1 kept N=1 only; C=4,C=8 kept the last silently."""
    parse = build_parser().parse_args
    assert parse(["correlate", "--net", "C=4", "--net", "N=1", "--out", "x"]).net == {"C": 4, "N": 1}
    assert parse(["search", "--refine-net", "N=2", "--refine-net", "C=8", "--out", "x"]).refine_net == {"N": 2, "C": 8}
    assert parse(["correlate", "--out", "x"]).net == {}  # the default is not shared between parses
    for argv in (["--net", "C=4", "--net", "C=8"], ["--net", "C=4,C=8"]):
        with pytest.raises(SystemExit):
            parse(["correlate", *argv, "--out", "x"])
        assert "names C twice" in capsys.readouterr().err


def test_a_size_takes_one_unit() -> None:
    """Before: '5MMM' read as 5.0."""
    from swapnas.cli.args import millions

    assert millions("5M") == millions(" 5m ") == millions("5") == 5.0
    with pytest.raises(Exception, match="expected a size in millions like 4.0M"):
        millions("5MMM")


def test_verbose_shows_swapnas_debug_lines_not_every_librarys(tmp_path, monkeypatch) -> None:
    """Before: -v put the root logger at DEBUG (a small correlate printed ~200 lines of matplotlib's font search)."""
    root, ours = logging.getLogger(), logging.getLogger("swapnas")
    monkeypatch.setattr(root, "handlers", [])  # let basicConfig configure the root afresh
    monkeypatch.setattr(root, "level", root.level)  # given back after the test, as the handlers are
    monkeypatch.setattr(ours, "level", ours.level)
    main(["-v", "proxies", "zzz_none"])
    assert logging.getLogger().level == logging.INFO and logging.getLogger("swapnas").level == logging.DEBUG
    main(["proxies", "zzz_none"])
    assert logging.getLogger("swapnas").level == logging.NOTSET
