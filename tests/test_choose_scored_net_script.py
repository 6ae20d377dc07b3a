"""scripts/choose_scored_net.py, which chose the DARTS scored network (docs/generated/dev/darts_scored_net.md): the
worst ρ over the dev sets per candidate, the candidate with the best worst ρ, its table and JSON; the scoring is
replaced by a fake whose ρ per (candidate, dev set) is written here (session 49; only its dev guard had a test)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.script_tools import load_script

#: ρ of (swap, params) per candidate's S and dev set: the best worst ρ is the second candidate's (0.62 on nb301),
#: though the first leads on darts_swap and the third on nb301
RHOS = {(16, "nb301"): (0.55, 0.30), (16, "darts_swap"): (0.90, 0.80),
        (20, "nb301"): (0.62, 0.31), (20, "darts_swap"): (0.70, 0.79),
        (32, "nb301"): (0.70, 0.32), (32, "darts_swap"): (0.40, 0.81)}


def _fakes(script, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    calls: list[tuple] = []

    def get_benchmark(name: str, data_dir):
        return SimpleNamespace(name=name, space="darts", tasks=["cifar10"])

    def configure(space, task, proxies, *, seed, batch_size, repeats, net, data_dir):
        return SimpleNamespace(batch_size=batch_size), None, proxies.split(",")

    def run_correlation(*, bench, task, proxies, n_archs, protocol, batch, store, device, progress):
        calls.append((bench.name, n_archs, protocol.batch_size, tuple(proxies)))
        swap, params = RHOS[protocol.batch_size, bench.name]
        return SimpleNamespace(results=[SimpleNamespace(proxy="swap", spearman=swap, seconds_per_arch=0.5),
                                        SimpleNamespace(proxy="params", spearman=params, seconds_per_arch=0.1)])

    for name, fake in (("get_benchmark", get_benchmark), ("configure", configure),
                       ("run_correlation", run_correlation), ("ScoreStore", lambda path: None)):
        monkeypatch.setattr(script, name, fake)
    return calls


def test_the_candidate_with_the_best_worst_rho_is_chosen_and_tabled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("choose_scored_net", "t49sn")
    calls = _fakes(script, monkeypatch)
    out = tmp_path / "net.md"
    monkeypatch.setattr(sys, "argv", ["choose_scored_net.py", "--space", "darts", "--also", "params", "--candidates",
                                      "C=8,layers=5|16|1;C=16,layers=5|20|1;C=8,layers=8|32|2", "--store", "s.sqlite",
                                      "--out", str(out)])
    script.main()
    # every candidate on both dev sets (all their archs), the proxy first and the reported one beside it
    assert calls == [(d, None, s, ("swap", "params")) for s in (16, 20, 32) for d in ("nb301", "darts_swap")]
    printed = capsys.readouterr().out.splitlines()
    assert printed[:3] == ["C=8,layers=5|16|1: nb301 0.550, darts_swap 0.900 -> worst 0.550",
                           "C=16,layers=5|20|1: nb301 0.620, darts_swap 0.700 -> worst 0.620",
                           "C=8,layers=8|32|2: nb301 0.700, darts_swap 0.400 -> worst 0.400"]
    table = out.read_text().splitlines()
    assert table[0] == "Dev sets: nb301, darts_swap (in-sample: these labels chose the row in bold)."
    assert table[2] == ("| scored network | S | R | nb301 ρ(swap) | nb301 ρ(params) | darts_swap ρ(swap) | "
                        "darts_swap ρ(params) | worst ρ(swap) | s/arch (swap) |")
    assert table[4:] == ["| C=8,layers=5 | 16 | 1 | 0.550 | 0.300 | 0.900 | 0.800 | 0.550 | 0.500 |",
                         "| **C=16,layers=5** | 20 | 1 | 0.620 | 0.310 | 0.700 | 0.790 | **0.620** | 0.500 |",
                         "| C=8,layers=8 | 32 | 2 | 0.700 | 0.320 | 0.400 | 0.810 | 0.400 | 0.500 |"]
    assert len(table[3].split("|")) == len(table[2].split("|"))
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["chosen"] == "C=16,layers=5|20|1" and doc["dev"] == ["nb301", "darts_swap"] and doc["proxy"] == "swap"
    assert [r["worst"] for r in doc["rows"]] == [0.55, 0.62, 0.4] and doc["rows"][2]["R"] == 2
    assert printed[3:] == table


@pytest.mark.parametrize("bad", ["C=8|16", "C=8|x|1", "C=8|16|0", "C=8|16|1|2"])
def test_a_malformed_candidate_is_refused_before_any_scoring(
        bad: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = load_script("choose_scored_net", "t49sm")
    calls = _fakes(script, monkeypatch)
    monkeypatch.setattr(sys, "argv", ["choose_scored_net.py", "--space", "darts", "--candidates",
                                      f"C=8,layers=5|16|1;{bad}", "--store", "s", "--out", str(tmp_path / "o.md")])
    with pytest.raises(SystemExit) as exc:
        script.main()
    assert str(exc.value) == (f"--candidates: {bad!r} is not NET|S|R (e.g. C=8,layers=5|16|1: S and R whole numbers "
                              ">= 1)")
    assert calls == []  # the first, valid candidate was not scored either
