"""Every registered space satisfies the Space protocol; a new searchable space is one module
plus one registry line (tests/toy_space.py, searched end to end)."""

from __future__ import annotations

import json
import random
import types

import pytest
import torch

from swapnas.cli import main
from swapnas.spaces import (SPACES, SearchableSpace, Space, SpaceError, get_space, missing_members,
                            searchable_spaces)
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
        child = mod.crossover(arch, other, rng)
        assert mod.parse(str(child)) == child and str(child) == child.key  # a canonical arch of the space
        assert mod.crossover(arch, arch, rng) == arch  # nothing but the parents' choices
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


@pytest.mark.parametrize(("defaults", "message"), [
    ({"net": {"C": 4}, "batch_size": 8}, "SCORING_DEFAULTS lacks 'repeats': it holds the scored network's build "
                                         "options, the batch size and the repeats per arch, e.g. {'net': {}, "
                                         "'batch_size': 16, 'repeats': 1}"),
    ({"repeats": 1}, "SCORING_DEFAULTS lacks 'net', 'batch_size':"),
    (None, "SCORING_DEFAULTS lacks 'net', 'batch_size', 'repeats':"),
    ({"net": None, "batch_size": 8, "repeats": 1}, "SCORING_DEFAULTS['net'] is None: it takes the scored network's "
                                                  "build options as a dict, e.g. {'C': 16} ({} for none)"),
    ({"net": {"C": 4, "mult": 2, "depth": 3}, "batch_size": 8, "repeats": 1},
     "SCORING_DEFAULTS['net'] has 'mult', 'depth', which its build() does not take (it takes num_classes, C)"),
])
def test_get_space_checks_the_scoring_defaults_before_any_run(monkeypatch, defaults: dict | None, message: str) -> None:
    """Session 53: a newcomer's space without batch_size met a KeyError traceback mid-run, and a net option its
    build did not take stored every arch as a failure."""
    from tests import toy_space

    monkeypatch.setitem(SPACES, "toy", "tests.toy_space")
    assert get_space("toy") is toy_space
    monkeypatch.setattr(toy_space, "SCORING_DEFAULTS", defaults)
    with pytest.raises(SpaceError) as caught:
        get_space("toy")
    assert str(caught.value).startswith(f"space 'toy' (tests.toy_space): {message}")
    monkeypatch.setattr(toy_space, "build", lambda arch, **net: None)  # a build taking any option: not checked
    monkeypatch.setattr(toy_space, "SCORING_DEFAULTS",
                        {**(defaults or {}), "batch_size": 8, "repeats": 1, "net": {"x": 1}})
    assert get_space("toy") is toy_space


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
    assert str(toy.parse(result["best"])) == result["best"]  # the toy space's canonical string
    assert result["fitness"] == max(h["fitness"] for h in result["history"])
    assert result["best"] in {h["arch"] for h in result["history"] if h["fitness"] == result["fitness"]}
    assert (out / "cell.png").is_file() and (out / "search_curve.png").is_file()
    report = (out / "report.md").read_text()
    best = result["best"].replace("|", "\\|")  # a markdown table cell: its pipes escaped
    assert best in report and "](cell.png)" in report and "](search_curve.png)" in report
    assert result["provenance"]["swapnas"] and result["provenance"]["created_utc"]


def _plain_pools(net: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``net`` whose channels-last pools are torch's own (same settings)."""
    import copy

    from swapnas.spaces.ops import AvgPool2d, MaxPool2d

    net = copy.deepcopy(net)
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, AvgPool2d):
                setattr(module, name, torch.nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                                         count_include_pad=child.count_include_pad))
            elif isinstance(child, MaxPool2d):
                setattr(module, name, torch.nn.MaxPool2d(child.kernel_size, child.stride, child.padding))
    return net


def test_channels_last_pools_are_bit_identical_to_torch_pools() -> None:
    """The pools of the NB201, DARTS and NB101 networks run channels-last in forward-only CPU
    passes; every output equals torch's NCHW pooling bit for bit, on random shapes and on whole
    networks, and SWAP is unchanged."""
    import random

    import torch.nn.functional as F

    from swapnas.patterns import swap_score
    from swapnas.spaces import darts_genotype, darts_net, nb101, nb201
    from swapnas.spaces.ops import AvgPool2d, MaxPool2d

    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        s, c, h = (int(torch.randint(1, 40, (1,), generator=g)) for _ in range(3))
        x = torch.randn(s, c, h + 2, h + 2, generator=g) * 50
        for stride in (1, 2):
            with torch.no_grad():
                assert torch.equal(AvgPool2d(3, stride, 1, count_include_pad=False)(x),
                                   F.avg_pool2d(x, 3, stride, 1, count_include_pad=False))
                assert torch.equal(MaxPool2d(3, stride, 1)(x), F.max_pool2d(x, 3, stride, 1))
    rng = random.Random(0)
    genotype = next(gt for gt in iter(lambda: darts_genotype.sample(rng), None)
                    if {"avg_pool_3x3", "max_pool_3x3"} <= {op for op, _ in gt.normal + gt.reduce})
    cell = next(a for a in iter(lambda: nb101.sample(rng), None) if nb101.MAXPOOL3X3 in a.ops)
    nets = [nb201.build("|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_1x1~2|",
                        C=4, N=1),
            darts_net.build(genotype, C=4, layers=3),
            nb101.build(cell, C=8, stacks=1, cells=1)]
    x = torch.randn(6, 3, 16, 16, generator=g)
    for net in nets:
        plain = _plain_pools(net)
        assert any(isinstance(m, (AvgPool2d, MaxPool2d)) for m in net.modules())
        assert not any(isinstance(m, (AvgPool2d, MaxPool2d)) for m in plain.modules())
        with torch.no_grad():
            assert torch.equal(net.eval()(x), plain.eval()(x))
        assert swap_score(net.train(), x) == swap_score(plain.train(), x)
