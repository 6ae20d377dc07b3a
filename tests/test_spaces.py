"""Every registered space satisfies the Space protocol; a new searchable space is one module
plus one registry line (tests/toy_space.py, searched end to end)."""

from __future__ import annotations

import json
import random
import types

import pytest
import torch

from swapnas.cli import main
from swapnas.spaces import SPACES, SearchableSpace, Space, get_space, missing_members, searchable_spaces
from swapnas.patterns import count_params_k


@pytest.mark.parametrize("name", list(SPACES))
def test_space_protocol(name: str) -> None:
    mod = get_space(name)
    assert isinstance(mod, Space) and mod.NAME == name
    rng = random.Random(0)
    for _ in range(5):
        arch = mod.sample(rng)
        assert arch.key == str(arch) == mod.format_arch(arch)
        assert mod.parse(str(arch)) == arch
        child = mod.mutate(arch, rng)
        assert child != arch and isinstance(mod.iso_key(child), str)
    defaults = mod.SCORING_DEFAULTS
    assert {"net", "batch_size", "repeats"} <= set(defaults)
    net = dict(defaults["net"])
    lo, hi = mod.param_range_k(**net)
    mu, sigma = mod.default_size_prior(net)
    assert 0 < lo <= hi and sigma > 0 and mu > 0
    if name in searchable_spaces():
        assert isinstance(mod, SearchableSpace)
        other = mod.sample(rng)
        assert mod.parse(str(mod.crossover(arch, other, rng))) is not None
        edges = mod.cell_edges(arch)
        assert edges and all(len(e) == 3 for cell in edges.values() for e in cell)
        for final in mod.FINAL_NETS.values():
            assert {"net", "resolution"} <= set(final) and "num_classes" in final["net"]


def test_get_space_names_what_a_space_lacks(monkeypatch) -> None:
    half = types.ModuleType("half_space")
    half.NAME, half.parse = "half", str
    monkeypatch.setitem(__import__("sys").modules, "half_space", half)
    monkeypatch.setitem(SPACES, "half", "half_space")
    with pytest.raises(TypeError, match="lacks SCORING_DEFAULTS, build, default_size_prior"):
        get_space("half")
    assert "crossover" in missing_members(get_space("nb101"), SearchableSpace)


def test_toy_space_is_one_module_and_one_registry_line(small_bundle, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(SPACES, "toy", "tests.toy_space")  # the one registry line
    toy = get_space("toy")
    assert isinstance(toy, SearchableSpace) and "toy" in searchable_spaces()
    lo, hi = toy.param_range_k(C=4)
    with torch.device("meta"):
        sizes = {count_params_k(toy.build(a, C=4)) for a in (toy.parse("skip|skip|skip"), toy.parse("conv3|conv3|conv3"))}
    assert (lo, hi) == (min(sizes), max(sizes))
    out = tmp_path / "toy"
    code = main(["search", "--space", "toy", "--dataset", "cifar10", "--fitness", "swap", "--population", "4",
                 "--sample", "2", "--mutations", "2", "--cycles", "2", "--device", "cpu",
                 "--data-dir", str(small_bundle), "--out", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    result = json.loads((out / "result.json").read_text())
    assert result["space"] == "toy" and result["evaluations"] == 4 + 2 * 2
    assert toy.parse(result["best"]) is not None
    assert result["fitness"] == max(h["fitness"] for h in result["history"])
    assert (out / "cell.png").is_file() and (out / "search_curve.png").is_file()
    report = (out / "report.md").read_text()
    assert result["best"] in report and "](cell.png)" in report and "](search_curve.png)" in report
    assert result["provenance"]["swapnas"] and result["provenance"]["created_utc"]
