"""Session-25 review of the jobs' outputs (correlate, conformance, the exit message): each test fails on the code
before its fix (docs/reliability.md)."""

from __future__ import annotations

import json
import types

import numpy as np

from swapnas.cli import main
from swapnas.store import ScoreStore
from tests.score_tools import fake_scores


def test_jigsaw_psi_above_2_to_the_s_is_not_called_saturated(data_dir, monkeypatch) -> None:
    """TransNAS jigsaw's encoder sees 9 tiles per image, so Ψ's ceiling is 2**(9·S), not 2**S. Before: a Ψ of
    83,275 at S = 16 (above 2**16 = 65,536) was reported SATURATED with the advice to raise --batch-size."""
    from swapnas import correlation as corr
    from swapnas.benchmarks import get_benchmark
    from swapnas.session import configure

    bench = get_benchmark("transnas_micro", str(data_dir))
    protocol, batch, proxies = configure("transnas_micro", "jigsaw", "swap", data_dir=str(data_dir),
                                         net={"C": 8, "resolution": 32})
    monkeypatch.setattr(corr, "score_archs", fake_scores([83275.0, 64000.0, 70000.0]))
    run = corr.run_correlation(bench=bench, task="jigsaw", proxies=proxies, n_archs=3, protocol=protocol, batch=batch,
                               store=ScoreStore(":memory:"), device="cpu", progress=False)
    assert protocol.batch_size == 16 and run.results[0].saturated == 0
    protocol, batch, proxies = configure("transnas_micro", "class_scene", "swap", data_dir=str(data_dir),
                                         net={"C": 8, "resolution": 32})  # (its own protocol: session 65)
    run = corr.run_correlation(bench=get_benchmark("transnas_micro", str(data_dir)), task="class_scene",
                               proxies=proxies, n_archs=3, protocol=protocol, batch=batch,
                               store=ScoreStore(":memory:"), device="cpu", progress=False)
    assert run.results[0].saturated == 3  # one image per sample there: 2**16 is the ceiling


def test_jigsaw_maps_hold_nine_rows_per_sample() -> None:
    """The constant behind the ceiling, read from the network itself."""
    import torch

    from swapnas.spaces import get_space

    mod = get_space("transnas_micro")
    net = mod.build(mod.parse("64-41414-3_33_333"), task="jigsaw", C=8)
    rows = []
    hook = next(m for m in net.modules() if isinstance(m, torch.nn.ReLU)).register_forward_hook(
        lambda m, i, o: rows.append(o.shape[0]))
    with torch.no_grad():
        net(torch.randn(2, 3, 96, 96))
    hook.remove()
    assert rows[0] == 2 * mod.MAP_ROWS_PER_SAMPLE["jigsaw"] == 18


def test_conformance_keeps_the_most_frequent_failure_first_and_records_provenance(data_dir, tmp_path,
                                                                                monkeypatch) -> None:
    """Before: conformance kept the five alphabetically first messages, so the cause of most failures could be
    dropped; its outputs carried no versions, command or time, and conformance.md no failure lines."""
    from swapnas import conformance as conf

    messages = ["B: common"] * 9 + [f"A{i}: rare" for i in range(1, 6)]
    monkeypatch.setattr(conf, "score_archs", fake_scores(messages))
    run = conf.run_conformance(space="nb201", dataset="cifar10", proxies="params", n_archs=14,
                               store=ScoreStore(":memory:"), data_dir=str(data_dir), net={"C": 4, "N": 1},
                               progress=False)
    assert run.results[0].errors == ["B: common", "A1: rare", "A2: rare", "A3: rare", "A4: rare"]
    js, md = conf.write_outputs(run, tmp_path)
    prov = json.loads(js.read_text())["provenance"]
    assert {"swapnas", "torch", "command", "created_utc", "device"} <= set(prov)
    text = md.read_text()
    assert "Made by `" in text and "## Failures and warnings" in text
    assert text.index("B: common") < text.index("A1: rare")


def test_the_exit_message_counts_a_set_level_metrics_failures_once_and_says_where_they_are(capsys) -> None:
    """Before: te_nas's failures were counted again beside its parts', and the message pointed to FAILED lines
    that --json and grid never print."""
    from swapnas.cli import commands

    rows = [types.SimpleNamespace(proxy=p, failures=f) for p, f in
            (("te_nas", 2), ("te_nas_ntk", 2), ("te_nas_lr", 0), ("swap", 1))]
    assert commands._failed_scores(rows) == 3
    args = types.SimpleNamespace(allow_failures=False)
    assert commands._exit_for(args, 3, "grid.md lists their messages") == 3
    assert "3 arch score(s) failed (grid.md lists their messages); exit 3" in capsys.readouterr().err


def test_correlate_lists_the_plots_it_wrote_not_every_scatter_in_out(data_dir, tmp_path, capsys) -> None:
    """Before: "2 plot(s) OUT/scatter_*.png", a pattern that also matched an earlier run's plots in OUT."""
    args = ["correlate", "--space", "nb201", "--dataset", "cifar10", "--archs", "4", "--net", "C=4",
            "--data-dir", str(data_dir), "--out", str(tmp_path)]
    assert main([*args, "--proxies", "params,flops,swap"]) == 0
    capsys.readouterr()
    assert main([*args, "--proxies", "params,swap"]) == 0
    out = capsys.readouterr().out
    assert "2 plot(s) in" in out and ": scatter_params.png, scatter_swap.png" in out
    # session 52: the earlier run's plot of flops, whose results.json this run replaced, is removed (it was left
    # beside the new report as if of this run)
    assert sorted(p.name for p in tmp_path.glob("scatter_*.png")) == ["scatter_params.png", "scatter_swap.png"]


def test_the_rho_given_params_note_names_both_nan_cases() -> None:
    from swapnas.report import run_notes
    from swapnas.stats import correlate

    c = correlate(np.array([3, 1, 4, 5, 2.0]), np.array([10, 20, 30, 40, 50.0]), np.array([1, 2, 3, 4, 5.0]))
    assert np.isnan(c.spearman_given_params)  # the ground truth ranks as #params, the proxy does not
    run = types.SimpleNamespace(bootstrap={}, results=[], archs=[], reused=0, partly_reused=0, other_code={})
    text = " ".join(run_notes(run))
    assert "NaN where the proxy, or the ground truth itself (then in every row), ranks as #params" in text


