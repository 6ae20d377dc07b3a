"""L-SWAG (lswag_grad, lswag) against a naive recomputation: ``.backward()`` per half, numpy sums."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from swapnas.data import Batch
from swapnas.patterns import swap_score
from swapnas.proxies import get_proxy
from tests.script_tools import load_script
from tests.test_proxies import naive_loss_grads, run, tiny_batch, tiny_net

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def naive_layer_terms() -> list[float | None]:
    """Per Conv/Linear layer in module order: log Σ 1/std(|g|) over the two halves' gradients."""
    model, batch = tiny_net(), tiny_batch()
    halves = [naive_loss_grads(model, Batch(batch.inputs[s], batch.targets[s], 10, "t", "t", 0))
              for s in (slice(0, 4), slice(4, 8))]
    terms: list[float | None] = []
    for (_, g1), (_, g2) in zip(*halves):
        std = np.abs(np.abs(g1) - np.abs(g2)) / 2  # population std of two magnitudes
        ok = std > 0
        terms.append(math.log(float((1.0 / std[ok]).sum())) if ok.any() else None)
    return terms


def test_lswag_grad_golden_whole_network() -> None:
    terms = naive_layer_terms()
    assert sum(t is not None for t in terms) >= 3  # the golden value covers several layers
    assert run("lswag_grad") == pytest.approx(sum(t for t in terms if t is not None), rel=1e-6)


def test_lswag_grad_interval_keeps_the_later_layers_only() -> None:
    terms = naive_layer_terms()
    depth = len(terms)
    later = [t for i, t in enumerate(terms) if 100.0 * i / depth >= 50.0 and t is not None]
    p = get_proxy("lswag_grad").configure(start=50.0)
    value = p.fn(tiny_net(), tiny_batch(), **p.options)
    assert value == pytest.approx(sum(later), rel=1e-6)
    assert value != pytest.approx(run("lswag_grad"), rel=1e-3)


def test_lswag_is_the_product_of_its_bases() -> None:
    grad, psi = run("lswag_grad"), 137.0  # Ψ: any count (swap's own tests check it)
    assert get_proxy("lswag").fn((grad, psi), tiny_net()) == pytest.approx(grad * psi)
    assert get_proxy("lswag").base_names == ("lswag_grad", "swap")
    assert get_proxy("lswag_ext").fn((grad, psi), tiny_net()) == pytest.approx(grad * psi)
    assert get_proxy("lswag_ext").base_names == ("lswag_grad", "swap_ext")


@pytest.mark.parametrize("options, match", [({"splits": 9}, "at least that many samples"),
                                            ({"start": 60.0, "stop": 40.0}, "start < stop"),
                                            ({"stop": 120.0}, "stop <= 100")])
def test_lswag_grad_bad_options_name_the_fix(options: dict, match: str) -> None:
    p = get_proxy("lswag_grad")  # (not configure: since session 65 it refuses stop=120, "must be in [0, 100]")
    with pytest.raises(ValueError, match=match):
        p.fn(tiny_net(), tiny_batch(), **{**p.options, **options})


def test_lswag_grad_empty_interval_is_an_error() -> None:
    depth = len(naive_layer_terms())
    p = get_proxy("lswag_grad").configure(start=100.0 * (depth - 0.5) / depth, stop=100.0 * (depth - 0.25) / depth)
    with pytest.raises(ValueError, match="no layer in"):
        p.fn(tiny_net(), tiny_batch(), **p.options)


def _script(name: str):
    return load_script(name)


def _split_table(path: Path, held: dict[tuple[int, str], float]) -> None:
    """A split-half table in choose_fitness.py's format (joint rows from ``held``, a greedy row that must be skipped)."""
    head = ("| seed | chosen on | rule | terms | worst ρ there | worst ρ on the other half | incumbent there | "
            "ln anchor alone there |")
    rows = [head, "|---|---|---|---|---|---|---|---|"]
    for (seed, half), v in held.items():
        rows.append(f"| {seed} | {half} | greedy | 1·ln swap | 0.9 | 0.111 | 0.5 | 0.4 |")
        rows.append(f"| {seed} | {half} | joint | 1·ln swap + 0.5·ln params | 0.9 | {v:.3f} | 0.5 | 0.4 |")
    path.write_text("intro\n\n" + "\n".join(rows) + "\n")


def test_compare_splits_counts_wins_ties_and_means(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    mod = _script("compare_splits")
    old = {(0, "A"): 0.600, (0, "B"): 0.650, (1, "A"): 0.620}
    new = {(0, "A"): 0.610, (0, "B"): 0.650, (1, "A"): 0.500}
    _split_table(tmp_path / "old.md", old)
    _split_table(tmp_path / "new.md", new)
    assert mod.held_out(str(tmp_path / "old.md"), "joint") == {("0", "A"): 0.6, ("0", "B"): 0.65, ("1", "A"): 0.62}
    assert set(mod.held_out(str(tmp_path / "old.md"), "greedy").values()) == {0.111}
    monkeypatch.setattr(sys, "argv", ["compare_splits.py", str(tmp_path / "old.md"), str(tmp_path / "new.md")])
    mod.main()
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == "the second wins on 1 of 3 halves (1 ties); mean held-out worst ρ 0.587 against 0.623"
    _split_table(tmp_path / "other.md", {(0, "A"): 0.6})
    monkeypatch.setattr(sys, "argv", ["compare_splits.py", str(tmp_path / "old.md"), str(tmp_path / "other.md")])
    with pytest.raises(SystemExit, match="different halves"):
        mod.main()


def test_layer_bins_sum_to_the_proxies_and_match_their_interval_option() -> None:
    """scripts/lswag_layers_dev.py (docs/generated/dev/lswag_layers_*.md): its per-bin Λ sums to lswag_grad over
    every interval of bins (the proxy's start/stop in percent), and its cumulative Ψ ends at the SWAP-Score."""
    mod = _script("lswag_layers_dev")
    g = torch.Generator().manual_seed(3)
    batch = Batch(torch.randn(12, 3, 8, 8, generator=g), torch.randint(0, 10, (12,), generator=g), 10, "t", "t", 0)
    lam = mod.lam_bins(tiny_net(), batch)
    for a, b in ((0, 9), (0, 3), (4, 9), (2, 6)):
        p = get_proxy("lswag_grad").configure(start=10.0 * a, stop=10.0 * (b + 1))
        assert lam[a:b + 1].sum() == pytest.approx(p.fn(tiny_net(), batch, **p.options), rel=1e-9)
    psi = mod.psi_bins(tiny_net(), batch.inputs)
    assert psi[-1] == swap_score(tiny_net(), batch.inputs) < 2**12
    assert np.all(np.diff(psi) >= 0) and psi[0] < psi[-1]


@pytest.mark.parametrize("inputs", ["real", "synthetic"])
def test_stored_run_rebuilds_a_runs_protocol_and_batch(small_bundle: Path, inputs: str) -> None:
    """session.stored_run (the dev scripts' rebuild of a stored run): the protocol a run stores in results.json
    gives back that protocol (one repeat) and the same batch; a batch that is not the run's is an error."""
    from dataclasses import replace

    from swapnas.session import configure, stored_run

    protocol, batch, _ = configure("nb201", "cifar10", "swap", repeats=3, inputs=inputs, data_dir=str(small_bundle))
    again, batch2 = stored_run(protocol.describe(), str(small_bundle))
    assert again == replace(protocol, repeats=1) and again.fingerprint == protocol.fingerprint
    assert torch.equal(batch2.inputs, batch.inputs) and torch.equal(batch2.targets, batch.targets)
    with pytest.raises(ValueError, match="pass the data directory the run used"):
        stored_run({**protocol.describe(), "batch_digest": "0" * 16}, str(small_bundle))
